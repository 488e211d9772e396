"""Bad inputs to every public function of ``tlhelpers`` and ``tlhelpers.data`` (the core).

Each case says how the input must end: a clear error naming the argument (raised by
tlhelpers, see ``bad_inputs.check``), a warning, or acceptance as valid. A public
function added without three error cases fails ``test_every_public_function_has_cases``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import Case, bad, case_params, check, missing_cases, public_callables, run, valid, warns

import tlhelpers
from tlhelpers import adapt as A
from tlhelpers import calibration as CAL
from tlhelpers import dann as DN
from tlhelpers import data as D
from tlhelpers import distill as KD
from tlhelpers import divergence as DV
from tlhelpers import embedding as EM
from tlhelpers import explain as EX
from tlhelpers import finetune as FT
from tlhelpers import imbalance as IM
from tlhelpers import metrics as MT
from tlhelpers import schedules as SC
from tlhelpers import text as TX
from tlhelpers.data import medmnist as MED
from tlhelpers.data.errors import DatasetUnavailableError


@dataclass
class Ctx:
    """What a core case may use: a scratch folder and the environment."""

    tmp: Path
    monkeypatch: pytest.MonkeyPatch

    def env(self, **values: str) -> "Ctx":
        for key, value in values.items():
            self.monkeypatch.setenv(key, value)
        return self

    def folder(self, layout: dict[str, int], size=(8, 8)) -> Path:
        """Images under ``tmp/root``: ``{"cats": 2, "": 3}`` (``""`` = flat in the root)."""
        from PIL import Image

        root = self.tmp / "root"
        for sub, count in layout.items():
            (root / sub).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                Image.fromarray(np.full((*size, 3), 40 * i, np.uint8)).save(root / sub / f"{i}.png")
        return root


def images(n=4, size=8, scale=1.0):
    return np.random.default_rng(0).random((n, size, size, 3)).astype(np.float32) * scale


def ds(n=4):
    return D.from_arrays(images(n), np.arange(n) % 2)


def logits(n=3, classes=3, softmax=False):
    z = np.random.default_rng(1).normal(size=(n, classes))
    return np.exp(z) / np.exp(z).sum(1, keepdims=True) if softmax else z


def named(count, size=3):
    return [{"w": np.ones(size)} for _ in range(count)]


def report():
    stats = KD.LatencyStats(1.0, 0.9, 1.1, 5, 1, 1)
    return KD.CompressionReport("m", 10, 10, 100, 90, stats, 1)


#: A binary validation set: labels and the positive class's probability.
Y = np.array([0, 1, 0, 1, 1, 0, 1, 0])
P = np.array([0.2, 0.8, 0.4, 0.6, 0.9, 0.3, 0.45, 0.55])
P2 = np.stack([1 - P, P], axis=1)


def boot(**kw):
    return MT.bootstrap_ci(MT.roc_auc, Y, P, **{"n_resamples": 20, **kw})


def maps(n=2, size=8, fill=None):
    m = np.random.default_rng(4).random((n, size, size))
    return m if fill is None else np.full_like(m, fill)


def swatch(size=8):
    return np.random.default_rng(5).random((size, size, 3))


def medical(n=12):
    return D.from_arrays(np.zeros((n, 8, 8), np.uint8), np.arange(n) % 2)


def token_states(n=2, length=5, d=4):
    """Token states (N, L, d) and a mask (N, L) whose second text is two tokens shorter."""
    mask = np.ones((n, length))
    mask[1, -2:] = 0
    return np.random.default_rng(5).normal(size=(n, length, d)), mask


def lora_args(x=(5, 6), w=(4, 6), a=(2, 6), b=(4, 2)):
    """x, weight, bias, A, B of the LoRA reference with these shapes (zeros: only shapes matter)."""
    return np.zeros(x), np.zeros(w), np.zeros(w[0]), np.zeros(a), np.zeros(b)


def adapter_args(d=8, m=2, **shapes):
    """h, W_down, b_down, W_up, b_up of the adapter reference; ``shapes`` overrides one of them."""
    sizes = dict(h=(3, d), w_down=(m, d), b_down=(m,), w_up=(d, m), b_up=(d,), **shapes)
    return [np.zeros(sizes[k]) for k in ("h", "w_down", "b_down", "w_up", "b_up")]


TWEETS = ["@united lost my bag #fail", "love the new iPhone"]


def _runs():
    """A small table of adaptation runs, as gap_closed_table takes it."""
    import pandas as pd

    return pd.DataFrame({"method": ["source only", "train on target", "AdaBN"] * 2, "seed": [0, 0, 0, 1, 1, 1],
                         "accuracy": [0.6, 0.9, 0.7, 0.62, 0.91, 0.71]})


CASES: dict[str, list[Case]] = {
    "tlhelpers.profiles.by_profile": [
        bad("missing full", lambda c: tlhelpers.by_profile(smoke=1, standard=2), "full"),
        bad("unknown keyword", lambda c: tlhelpers.by_profile(smoke=1, standard=2, full=3, fast=4),
            "fast"),
        bad("TLH_PROFILE=fast", lambda c: c.env(TLH_PROFILE="fast") and
            tlhelpers.by_profile(smoke=1, standard=2, full=3), "TLH_PROFILE"),
        bad("positional sizes", lambda c: tlhelpers.by_profile(1, 2, 3), "by_profile"),
    ],
    "tlhelpers.data.cache.data_dir": [
        bad("create='no'", lambda c: tlhelpers.data_dir(create="no"), "create"),
        bad("TLH_DATA_DIR is a file", lambda c: (c.tmp / "f").write_text("x") and
            c.env(TLH_DATA_DIR=str(c.tmp / "f")) and tlhelpers.data_dir(), "TLH_DATA_DIR",
            error=DatasetUnavailableError),
        bad("TLH_DATA_DIR under a file", lambda c: (c.tmp / "f").write_text("x") and
            c.env(TLH_DATA_DIR=str(c.tmp / "f" / "sub")) and tlhelpers.data_dir(), "TLH_DATA_DIR",
            error=DatasetUnavailableError),
        valid("relative TLH_DATA_DIR", lambda c: c.env(TLH_DATA_DIR="tlh-cache-test") and
              tlhelpers.data_dir(create=False)),
    ],
    "tlhelpers.environment.env_report": [
        bad("devices a string", lambda c: tlhelpers.env_report(devices="GPU"), "devices"),
        bad("devices one item", lambda c: tlhelpers.env_report(devices=("GPU",)), "devices"),
        bad("devices three items", lambda c: tlhelpers.env_report(devices=("a", "b", "c")),
            "devices"),
    ],
    "tlhelpers.seeding.seed_everything": [
        bad("negative", lambda c: tlhelpers.seed_everything(-1), "seed"),
        bad("string", lambda c: tlhelpers.seed_everything("1"), "seed"),
        bad("float", lambda c: tlhelpers.seed_everything(1.5), "seed"),
        bad("bool", lambda c: tlhelpers.seed_everything(True), "seed"),
    ],
    "tlhelpers.data.load_dataset": [
        bad("name not a string", lambda c: D.load_dataset(5), "name"),
        bad("unknown name", lambda c: D.load_dataset("mnits"), "mnits"),
        bad("unknown split", lambda c: D.load_dataset("digits", "validation"), "split"),
        bad("split None", lambda c: D.load_dataset("digits", None), "split"),
        bad("n=0", lambda c: D.load_dataset("syndigits", n=0), "n"),
        bad("n fractional", lambda c: D.load_dataset("syndigits", n=2.5), "n"),
        bad("n a string", lambda c: D.load_dataset("moons", n="100"), "n"),
        bad("n too large for memory", lambda c: D.load_dataset("syndigits", n=10**9), "n"),
        bad("n larger than a fixed split", lambda c: D.load_dataset("digits", n=10**6), "n"),
        bad("seed negative", lambda c: D.load_dataset("digits", seed=-1), "seed"),
        bad("fallback not embedded", lambda c: D.load_dataset("digits", fallback="mnist"),
            "fallback"),
        bad("unknown option", lambda c: D.load_dataset("digits", angle=30), "angle"),
        bad("noise a string", lambda c: D.load_dataset("moons", n=10, noise="0.1"), "noise"),
        bad("angle a string", lambda c: D.load_dataset("moons-rotated", n=10, angle="30"), "angle"),
        bad("angle NaN", lambda c: D.load_dataset("moons-rotated", n=10, angle=float("nan")),
            "angle"),
        bad("image_size absurd", lambda c: D.load_dataset("syndigits", n=4, image_size=10**5),
            "image_size"),
        bad("distractors a string", lambda c: D.load_dataset("syndigits", n=4, distractors="no"),
            "distractors"),
        bad("min_contrast a string", lambda c: D.load_dataset("syndigits", n=4,
                                                              min_contrast="0.3"), "min_contrast"),
        bad("medical fraction a string", lambda c: D.load_dataset(
            "medical-standin", n=4, pneumonia_fraction="a"), "pneumonia_fraction"),
        bad("digits channels 2", lambda c: D.load_dataset("digits", channels=2), "channels"),
        bad("real: path missing", lambda c: D.load_dataset("breastmnist", path=c.tmp / "nope.npz"),
            "path"),
        bad("real: timeout negative", lambda c: D.load_dataset("mnist", timeout=-1), "timeout"),
        bad("real: deadline a string", lambda c: D.load_dataset("mnist", deadline="60"),
            "deadline"),
        bad("real: image_size absurd", lambda c: D.load_dataset("imagenette", image_size=10**5),
            "image_size"),
        bad("real: download 'no'", lambda c: D.load_dataset("mnist", download="no"), "download"),
    ],
    "tlhelpers.data.load_embedded": [
        bad("a real dataset", lambda c: D.load_embedded("mnist"), "mnist"),
        bad("split a number", lambda c: D.load_embedded("digits", 3), "split"),
        bad("n negative", lambda c: D.load_embedded("moons", n=-1), "n"),
        bad("unknown option", lambda c: D.load_embedded("moons", colour="red"), "colour"),
    ],
    "tlhelpers.data.folder.from_arrays": [
        bad("soft labels", lambda c: D.from_arrays(images(2), [[0.3, 0.7], [0.6, 0.4]]), "y"),
        bad("fractional labels", lambda c: D.from_arrays(images(2), [0.5, 1.0]), "y"),
        bad("negative label", lambda c: D.from_arrays(images(2), [-1, 1]), "class indices"),
        bad("labels too short", lambda c: D.from_arrays(images(3), [0, 1]), "y"),
        bad("duplicate class names", lambda c: D.from_arrays(images(2), [0, 1],
                                                             class_names=["a", "a"]), "class_names"),
        bad("class names a string", lambda c: D.from_arrays(images(2), [0, 1], class_names="ab"),
            "class_names"),
        bad("uint16 without a range", lambda c: D.from_arrays(
            np.full((2, 8, 8), 4095, np.uint16), [0, 1]), "value_range"),
        bad("0-255 floats", lambda c: D.from_arrays(images(2, scale=255), [0, 1]), "255"),
        bad("NaN", lambda c: D.from_arrays(np.full((2, 8, 8, 3), np.nan), [0, 1]), "x"),
        bad("differently sized list", lambda c: D.from_arrays(
            [np.zeros((8, 8)), np.zeros((9, 9))], [0, 1]), "image_size"),
        bad("2 channels", lambda c: D.from_arrays(np.zeros((2, 8, 8, 2)), [0, 1]), "x"),
        bad("channels=2", lambda c: D.from_arrays(images(2), [0, 1], channels=2), "channels"),
        bad("image_size=0", lambda c: D.from_arrays(images(2), [0, 1], image_size=0), "image_size"),
        bad("image_size absurd", lambda c: D.from_arrays(images(2), [0, 1], image_size=10**5),
            "image_size"),
        bad("value_range reversed", lambda c: D.from_arrays(images(2), [0, 1], value_range=(1, 0)),
            "value_range"),
        bad("value_range too narrow", lambda c: D.from_arrays(
            np.full((2, 8, 8), 4095, np.uint16), [0, 1], value_range=(0, 255)), "value_range"),
        valid("(N, 1) labels", lambda c: D.from_arrays(images(2), np.array([[0], [1]]))),
        valid("uint16 with value_range", lambda c: D.from_arrays(
            np.full((2, 8, 8), 4095, np.uint16), [0, 1], value_range=(0, 4095))),
        valid("differently sized list with image_size", lambda c: D.from_arrays(
            [np.zeros((8, 8)), np.zeros((9, 9, 3))], [0, 1], image_size=8)),
    ],
    "tlhelpers.data.folder.from_folder": [
        bad("missing folder", lambda c: D.from_folder(c.tmp / "nowhere"), "path"),
        bad("path a number", lambda c: D.from_folder(5), "path"),
        bad("a file", lambda c: (c.tmp / "f.png").write_bytes(b"x") and D.from_folder(c.tmp / "f.png"),
            "path"),
        bad("flat folder without labels", lambda c: D.from_folder(c.folder({"": 3})), "labels_file"),
        bad("labels_file missing", lambda c: D.from_folder(c.folder({"": 3}), labels_file="no.txt"),
            "labels_file"),
        bad("channels=2", lambda c: D.from_folder(c.folder({"a": 1, "b": 1}), channels=2), "channels"),
        bad("image_size=(0, 4)", lambda c: D.from_folder(c.folder({"a": 1, "b": 1}),
                                                         image_size=(0, 4)), "image_size"),
        bad("image_size absurd", lambda c: D.from_folder(c.folder({"a": 1, "b": 1}),
                                                         image_size=10**5), "image_size"),
        bad("extensions empty", lambda c: D.from_folder(c.folder({"a": 1, "b": 1}), extensions=""),
            "extensions"),
        bad("duplicate class names", lambda c: D.from_folder(c.folder({"a": 1, "b": 1}),
                                                             class_names=["a", "a"]), "class_names"),
        warns("a single class", lambda c: D.from_folder(c.folder({"cats": 2})), "single class"),
        valid("extensions='png'", lambda c: D.from_folder(c.folder({"a": 1, "b": 1}),
                                                          extensions="png")),
    ],
    "tlhelpers.data.dataset.Dataset": [
        bad("x and y lengths differ", lambda c: D.Dataset(images(3), [0, 1], ["a", "b"], "d", "train",
                                                          ""), "y"),
        bad("label out of range", lambda c: D.Dataset(images(2), [0, 2], ["a", "b"], "d", "train", ""),
            "y"),
        bad("negative label", lambda c: D.Dataset(images(2), [0, -1], ["a", "b"], "d", "train", ""),
            "y"),
        bad("duplicate class names", lambda c: D.Dataset(images(2), [0, 1], ["a", "a"], "d", "train",
                                                         ""), "class_names"),
        bad("x a number", lambda c: D.Dataset(5, [0], ["a", "b"], "d", "train", ""), "x"),
    ],
    "tlhelpers.data.dataset.Dataset.to_shape": [
        bad("image_size=0", lambda c: ds().to_shape(0), "image_size"),
        bad("channels=2", lambda c: ds().to_shape(channels=2), "channels"),
        bad("image_size absurd", lambda c: ds().to_shape(10**5), "image_size"),
        bad("text dataset", lambda c: D.from_arrays(["a", "b"], [0, 1]).to_shape(8), "dataset"),
    ],
    "tlhelpers.data.dataset.Dataset.to_backbone": [
        bad("a string", lambda c: ds().to_backbone("course_cnn"), "backbone"),
        bad("None", lambda c: ds().to_backbone(None), "backbone"),
        bad("a number", lambda c: ds().to_backbone(32), "backbone"),
    ],
    "tlhelpers.data.dataset.Dataset.per_class": [
        bad("n=0", lambda c: ds().per_class(0), "n"),
        bad("n a string", lambda c: ds().per_class("2"), "n"),
        bad("more than a class has", lambda c: ds().per_class(5), "class"),
    ],
    # ------------------------------------------------------------------ method modules
    "tlhelpers.adapt.paired_batches": [
        bad("batch_size > source", lambda c: A.paired_batches(4, 10, 8, 1, 0), "batch_size"),
        bad("n_source=0", lambda c: A.paired_batches(0, 10, 2, 1, 0), "n_source"),
        bad("epochs a float", lambda c: A.paired_batches(10, 10, 2, 1.0, 0), "epochs"),
    ],
    "tlhelpers.adapt.lr_factor": [
        bad("unknown schedule", lambda c: A.lr_factor("step", 0.5), "schedule"),
        bad("schedule returns NaN", lambda c: A.lr_factor(lambda p: float("nan"), 0.5), "schedule"),
        bad("schedule returns negative", lambda c: A.lr_factor(lambda p: -1.0, 0.5), "schedule"),
    ],
    "tlhelpers.adapt.gap_closed_table": [
        bad("not a table", lambda c: A.gap_closed_table([0.5, 0.6]), "runs"),
        bad("no accuracy column", lambda c: A.gap_closed_table(_runs().drop(columns="accuracy")), "runs"),
        bad("no source-only rows", lambda c: A.gap_closed_table(_runs().query("method != 'source only'")), "runs"),
    ],
    "tlhelpers.adapt.importance_weights": [
        bad("max_weight=1", lambda c: A.importance_weights(np.zeros((8, 2)), np.ones((8, 2)), np.zeros((4, 2)),
                                                           max_weight=1), "max_weight"),
        bad("max_weight a string", lambda c: A.importance_weights(np.zeros((8, 2)), np.ones((8, 2)),
                                                                  np.zeros((4, 2)), max_weight="20"), "max_weight"),
        bad("widths differ", lambda c: A.importance_weights(np.zeros((8, 2)), np.ones((8, 3)), np.zeros((4, 2))),
            "source_fit"),
    ],
    "tlhelpers.adapt.weight_at": [
        bad("negative", lambda c: A.weight_at(-1.0, 0.0), "weight"),
        bad("a string", lambda c: A.weight_at("1", 0.0), "weight"),
        bad("a function returning None", lambda c: A.weight_at(lambda p: None, 0.0), "weight"),
    ],
    "tlhelpers.adapt.source_labels": [
        bad("label -1", lambda c: A.source_labels((images(3), [0, 1, -1]), 3, 2), "source"),
        bad("soft labels", lambda c: A.source_labels((images(2), [0.5, 0.5]), 2, 2), "source"),
        bad("not a pair", lambda c: A.source_labels(images(2), 2), "source"),
    ],
    "tlhelpers.adapt.check_inputs": [
        bad("NaN", lambda c: A.check_inputs(images(2) * np.nan, "target"), "target"),
        bad("empty", lambda c: A.check_inputs(images(0), "target"), "target"),
        bad("text", lambda c: A.check_inputs(["a", "b"], "target"), "target"),
    ],
    "tlhelpers.dann.gap_closed": [
        bad("accuracy in percent", lambda c: DN.gap_closed(60, 70, 90), "source_only"),
        bad("target not above source", lambda c: DN.gap_closed(0.9, 0.9, 0.8), "train_on_target"),
        bad("a string", lambda c: DN.gap_closed("0.5", 0.6, 0.9), "source_only"),
    ],
    "tlhelpers.distill.FeatureHint": [
        bad("method unknown", lambda c: KD.FeatureHint("a", "b", method="mse"), "method"),
        bad("student_layer empty", lambda c: KD.FeatureHint("", "b"), "student_layer"),
        bad("weight NaN", lambda c: KD.FeatureHint("a", "b", weight=float("nan")), "weight"),
    ],
    "tlhelpers.distill.kd_loss": [
        bad("temperature=0", lambda c: KD.kd_loss(logits(), logits(), temperature=0, alpha=0), "temperature"),
        bad("alpha=1.5", lambda c: KD.kd_loss(logits(), logits(), temperature=2, alpha=1.5), "alpha"),
        bad("teacher probabilities", lambda c: KD.kd_loss(logits(), logits(softmax=True), temperature=2,
                                                          alpha=0), "teacher_logits"),
        bad("label = classes", lambda c: KD.kd_loss(logits(), logits(), [0, 1, 3], temperature=2,
                                                    alpha=0.5), "labels"),
    ],
    "tlhelpers.distill.kd_loss_grad": [
        bad("temperature negative", lambda c: KD.kd_loss_grad(logits(), logits(), temperature=-1, alpha=0),
            "temperature"),
        bad("labels missing", lambda c: KD.kd_loss_grad(logits(), logits(), temperature=2, alpha=0.5),
            "labels"),
        bad("classes differ", lambda c: KD.kd_loss_grad(logits(), logits(classes=4), temperature=2,
                                                        alpha=0), "teacher"),
    ],
    "tlhelpers.distill.soft_target_loss": [
        bad("temperature a string", lambda c: KD.soft_target_loss(logits(), logits(), "2"), "temperature"),
        bad("rows differ", lambda c: KD.soft_target_loss(logits(3), logits(2), 2.0), "student_logits"),
        bad("NaN", lambda c: KD.soft_target_loss(logits() * np.nan, logits(), 2.0), "student_logits"),
    ],
    "tlhelpers.distill.softmax_t": [
        bad("temperature=0", lambda c: KD.softmax_t(logits(), 0), "temperature"),
        bad("temperature True", lambda c: KD.softmax_t(logits(), True), "temperature"),
        bad("a string", lambda c: KD.softmax_t("logits"), "logits"),
    ],
    "tlhelpers.distill.log_softmax_t": [
        bad("temperature negative", lambda c: KD.log_softmax_t(logits(), -2), "temperature"),
        bad("temperature NaN", lambda c: KD.log_softmax_t(logits(), float("nan")), "temperature"),
        bad("a string", lambda c: KD.log_softmax_t("logits"), "logits"),
    ],
    "tlhelpers.distill.entropy": [
        bad("negative probabilities", lambda c: KD.entropy([[-0.5, 1.5]]), "probabilities"),
        bad("rows not summing to 1", lambda c: KD.entropy([[0.2, 0.2]]), "probabilities"),
        bad("a string", lambda c: KD.entropy("p"), "probabilities"),
    ],
    "tlhelpers.distill.attention_map": [
        bad("2-D", lambda c: KD.attention_map(np.zeros((2, 3))), "features"),
        bad("a string", lambda c: KD.attention_map("maps"), "features"),
        bad("NaN", lambda c: KD.attention_map(np.full((1, 2, 2, 3), np.nan)), "features"),
    ],
    "tlhelpers.distill.attention_transfer_loss": [
        bad("spatial sizes differ", lambda c: KD.attention_transfer_loss(np.zeros((1, 4, 4, 2)),
                                                                        np.zeros((1, 3, 3, 2))),
            "student_features"),
        bad("batch sizes differ", lambda c: KD.attention_transfer_loss(np.zeros((2, 4, 4, 2)),
                                                                      np.zeros((1, 4, 4, 2))),
            "student_features"),
        bad("2-D", lambda c: KD.attention_transfer_loss(np.zeros((2, 4)), np.zeros((2, 4, 4, 2))),
            "student_features"),
    ],
    "tlhelpers.distill.hint_loss": [
        bad("shapes differ", lambda c: KD.hint_loss(np.zeros((1, 2, 2, 3)), np.zeros((1, 2, 2, 4))),
            "regressed"),
        bad("a string", lambda c: KD.hint_loss("maps", np.zeros((1, 2, 2, 3))), "regressed"),
        bad("NaN", lambda c: KD.hint_loss(np.full((1, 2), np.nan), np.zeros((1, 2))), "regressed"),
    ],
    "tlhelpers.distill.magnitude_masks": [
        bad("sparsity=1", lambda c: KD.magnitude_masks({"w": np.ones(4)}, 1.0), "sparsity"),
        bad("scope unknown", lambda c: KD.magnitude_masks({"w": np.ones(4)}, 0.5, scope="local"), "scope"),
        bad("no weights", lambda c: KD.magnitude_masks({}, 0.5), "weights"),
    ],
    "tlhelpers.distill.sparsity_of": [
        bad("empty", lambda c: KD.sparsity_of([]), "sparsity_of"),
        bad("a string", lambda c: KD.sparsity_of("weights"), "weights"),
        bad("None", lambda c: KD.sparsity_of(None), "weights"),
    ],
    "tlhelpers.distill.student_parameter_count": [
        bad("width=0", lambda c: KD.student_parameter_count(0), "width"),
        bad("num_classes=1", lambda c: KD.student_parameter_count(16, 1), "num_classes"),
        bad("width a string", lambda c: KD.student_parameter_count("16"), "width"),
    ],
    "tlhelpers.distill.median_latency": [
        bad("run not callable", lambda c: KD.median_latency(5), "run"),
        bad("repeats=0", lambda c: KD.median_latency(lambda: None, repeats=0), "repeats"),
        bad("warmup negative", lambda c: KD.median_latency(lambda: None, warmup=-1), "warmup"),
        bad("batch_size=0", lambda c: KD.median_latency(lambda: None, batch_size=0), "batch_size"),
    ],
    "tlhelpers.distill.file_bytes": [
        bad("missing file", lambda c: KD.file_bytes(c.tmp / "nope.pt"), "path"),
        bad("a folder", lambda c: KD.file_bytes(c.tmp), "path"),
        bad("None", lambda c: KD.file_bytes(None), "path"),
    ],
    "tlhelpers.distill.zlib_bytes": [
        bad("missing file", lambda c: KD.zlib_bytes(c.tmp / "nope.pt"), "path"),
        bad("a folder", lambda c: KD.zlib_bytes(c.tmp), "path"),
        bad("a number", lambda c: KD.zlib_bytes(5), "path"),
    ],
    "tlhelpers.distill.format_reports": [
        bad("no reports", lambda c: KD.format_reports([]), "reports"),
        bad("not reports", lambda c: KD.format_reports(["a"]), "reports"),
        bad("baseline out of range", lambda c: KD.format_reports([report()], baseline=3), "baseline"),
    ],
    "tlhelpers.distill.plot_compression": [
        bad("no reports", lambda c: KD.plot_compression([]), "reports"),
        bad("not reports", lambda c: KD.plot_compression([1, 2]), "reports"),
        bad("title a number", lambda c: KD.plot_compression([report()], title=5), "title"),
    ],
    "tlhelpers.divergence.mmd2_unbiased": [
        bad("widths differ", lambda c: DV.mmd2_unbiased(np.zeros((3, 2)), np.zeros((3, 4))), "source"),
        bad("one sample", lambda c: DV.mmd2_unbiased(np.zeros((1, 2)), np.zeros((3, 2))), "source"),
        bad("bandwidth a string", lambda c: DV.mmd2_unbiased(np.zeros((3, 2)), np.ones((3, 2)),
                                                             bandwidth="1"), "bandwidth"),
    ],
    "tlhelpers.divergence.mmd2_biased": [
        bad("NaN", lambda c: DV.mmd2_biased(np.full((3, 2), np.nan), np.zeros((3, 2))), "source"),
        bad("empty target", lambda c: DV.mmd2_biased(np.zeros((3, 2)), np.zeros((0, 2))), "target"),
        bad("bandwidth True", lambda c: DV.mmd2_biased(np.zeros((3, 2)), np.ones((3, 2)), bandwidth=True),
            "bandwidth"),
    ],
    "tlhelpers.divergence.mmd2_linear": [
        bad("one sample", lambda c: DV.mmd2_linear(np.zeros((3, 2)), np.zeros((1, 2))), "target"),
        bad("1-D", lambda c: DV.mmd2_linear(np.zeros(3), np.zeros(3)), "source"),
        bad("multipliers empty", lambda c: DV.mmd2_linear(np.zeros((3, 2)), np.ones((3, 2)),
                                                          multipliers=()), "multipliers"),
    ],
    "tlhelpers.divergence.sq_distances": [
        bad("widths differ", lambda c: DV.sq_distances(np.zeros((2, 3)), np.zeros((2, 2))), "source"),
        bad("a string", lambda c: DV.sq_distances("x", np.zeros((2, 2))), "source"),
        bad("infinite", lambda c: DV.sq_distances(np.zeros((2, 2)), np.full((2, 2), np.inf)), "target"),
    ],
    "tlhelpers.divergence.median_bandwidth": [
        bad("one sample in all", lambda c: DV.median_bandwidth(np.zeros((1, 2)), np.zeros((0, 2))), "target"),
        bad("all samples equal", lambda c: DV.median_bandwidth(np.zeros((3, 2)), np.zeros((3, 2))),
            "bandwidth"),
        bad("3-D", lambda c: DV.median_bandwidth(np.zeros((2, 2, 2)), np.zeros((2, 2))), "source"),
    ],
    "tlhelpers.divergence.kernel_bandwidths": [
        bad("bandwidth=0", lambda c: DV.kernel_bandwidths(np.zeros((2, 2)), np.ones((2, 2)), 0), "bandwidth"),
        bad("multipliers negative", lambda c: DV.kernel_bandwidths(np.zeros((2, 2)), np.ones((2, 2)),
                                                                   multipliers=(-1.0,)), "multipliers"),
        bad("bandwidth a string", lambda c: DV.kernel_bandwidths(np.zeros((2, 2)), np.ones((2, 2)), "x"),
            "bandwidth"),
    ],
    "tlhelpers.divergence.gaussian_kernel": [
        bad("bandwidth None", lambda c: DV.gaussian_kernel(np.zeros((2, 2)), np.ones((2, 2)), None),
            "bandwidth"),
        bad("widths differ", lambda c: DV.gaussian_kernel(np.zeros((2, 2)), np.ones((2, 3)), 1.0), "source"),
        bad("bandwidth NaN", lambda c: DV.gaussian_kernel(np.zeros((2, 2)), np.ones((2, 2)), float("nan")),
            "bandwidth"),
    ],
    "tlhelpers.divergence.mmd2_two_gaussians": [
        bad("std=0", lambda c: DV.mmd2_two_gaussians(0, 0, 1, 1, 1.0), "std1"),
        bad("mean a string", lambda c: DV.mmd2_two_gaussians("0", 1, 1, 1, 1.0), "mean1"),
        bad("bandwidth negative", lambda c: DV.mmd2_two_gaussians(0, 1, 1, 1, -1.0), "bandwidth"),
    ],
    "tlhelpers.divergence.mmd_permutation_test": [
        bad("n_permutations=0", lambda c: DV.mmd_permutation_test(np.zeros((3, 2)), np.ones((3, 2)),
                                                                  n_permutations=0), "n_permutations"),
        bad("estimator unknown", lambda c: DV.mmd_permutation_test(np.zeros((3, 2)), np.ones((3, 2)),
                                                                   estimator="linear"), "estimator"),
        bad("widths differ", lambda c: DV.mmd_permutation_test(np.zeros((3, 2)), np.ones((3, 3))), "source"),
        bad("seed negative", lambda c: DV.mmd_permutation_test(np.zeros((3, 2)), np.ones((3, 2)), seed=-1),
            "seed"),
    ],
    "tlhelpers.divergence.covariance": [
        bad("one sample", lambda c: DV.covariance(np.zeros((1, 3))), "features"),
        bad("NaN", lambda c: DV.covariance(np.full((3, 2), np.nan)), "features"),
        bad("1-D", lambda c: DV.covariance(np.zeros(3)), "features"),
    ],
    "tlhelpers.divergence.coral_distance": [
        bad("widths differ", lambda c: DV.coral_distance(np.zeros((3, 2)), np.zeros((3, 3))), "source"),
        bad("one sample", lambda c: DV.coral_distance(np.zeros((3, 2)), np.zeros((1, 2))), "target"),
        bad("NaN", lambda c: DV.coral_distance(np.zeros((3, 2)), np.full((3, 2), np.nan)), "target"),
    ],
    "tlhelpers.divergence.pad_from_error": [
        bad("error above 1", lambda c: DV.pad_from_error(1.5), "error"),
        bad("error negative", lambda c: DV.pad_from_error(-0.1), "error"),
        bad("a string", lambda c: DV.pad_from_error("0.1"), "error"),
    ],
    "tlhelpers.divergence.classifier_two_sample_test": [
        bad("test_size=1.5", lambda c: DV.classifier_two_sample_test(np.zeros((8, 2)), np.ones((8, 2)), test_size=1.5),
            "test_size"),
        bad("widths differ", lambda c: DV.classifier_two_sample_test(np.zeros((8, 2)), np.ones((8, 3))), "source"),
        bad("NaN", lambda c: DV.classifier_two_sample_test(np.full((8, 2), np.nan), np.ones((8, 2))), "source"),
    ],
    "tlhelpers.divergence.divergence_table": [
        bad("no domains", lambda c: DV.divergence_table(np.zeros((8, 2)), {}), "domains"),
        bad("domains a list", lambda c: DV.divergence_table(np.zeros((8, 2)), [np.ones((8, 2))]), "domains"),
        bad("accuracy misses a domain", lambda c: DV.divergence_table(
            np.random.default_rng(0).random((8, 2)), {"a": np.ones((8, 2))}, {"b": 0.5}), "accuracy"),
    ],
    "tlhelpers.divergence.proxy_a_distance": [
        bad("test_size=1", lambda c: DV.proxy_a_distance(np.zeros((8, 2)), np.ones((8, 2)), test_size=1.0),
            "test_size"),
        bad("widths differ", lambda c: DV.proxy_a_distance(np.zeros((8, 2)), np.ones((8, 3))), "source"),
        bad("too few examples", lambda c: DV.proxy_a_distance(np.zeros((2, 2)), np.ones((2, 2))), "examples"),
        bad("NaN", lambda c: DV.proxy_a_distance(np.full((8, 2), np.nan), np.ones((8, 2))), "source"),
    ],
    "tlhelpers.embedding.embed": [
        bad("method unknown", lambda c: EM.embed(np.zeros((5, 2)), method="umap"), "method"),
        bad("two examples", lambda c: EM.embed(np.zeros((2, 2)), method="pca"), "features"),
        bad("NaN", lambda c: EM.embed(np.full((5, 2), np.nan), method="pca"), "features"),
        bad("perplexity=0", lambda c: EM.embed(np.random.default_rng(0).random((5, 2)), perplexity=0),
            "perplexity"),
        bad("seed negative", lambda c: EM.embed(np.zeros((5, 2)), method="pca", seed=-1), "seed"),
    ],
    "tlhelpers.embedding.plot_domains": [
        bad("widths differ", lambda c: EM.plot_domains(np.zeros((5, 2)), np.zeros((5, 3)), method="pca"),
            "source_features"),
        bad("labels one short", lambda c: EM.plot_domains(np.zeros((5, 2)), np.zeros((5, 2)),
                                                          source_labels=[0] * 4, method="pca"),
            "source_labels"),
        bad("max_points=1", lambda c: EM.plot_domains(np.zeros((5, 2)), np.zeros((5, 2)), max_points=1,
                                                      method="pca"), "max_points"),
    ],
    "tlhelpers.finetune.discriminative_multipliers": [
        bad("decay=0", lambda c: FT.discriminative_multipliers(["a", "b"], 0.0), "decay"),
        bad("blocks empty", lambda c: FT.discriminative_multipliers([], 0.5), "blocks"),
        bad("blocks repeated", lambda c: FT.discriminative_multipliers(["a", "a"], 0.5), "blocks"),
    ],
    "tlhelpers.finetune.resolve_top_k": [
        bad("both given", lambda c: FT.resolve_top_k(["a", "b"], 1, "a"), "top_k"),
        bad("from_block unknown", lambda c: FT.resolve_top_k(["a", "b"], from_block="c"), "from_block"),
        bad("top_k too large", lambda c: FT.resolve_top_k(["a", "b"], 3), "top_k"),
    ],
    "tlhelpers.finetune.top_k_at_epoch": [
        bad("epoch negative", lambda c: FT.top_k_at_epoch(-1, 3), "epoch"),
        bad("every=0", lambda c: FT.top_k_at_epoch(0, 3, every=0), "every"),
        bad("start too large", lambda c: FT.top_k_at_epoch(0, 3, start=4), "start"),
    ],
    "tlhelpers.finetune.ewc_penalty": [
        bad("strength negative", lambda c: FT.ewc_penalty(*named(3), -1.0), "strength"),
        bad("fisher misses a name", lambda c: FT.ewc_penalty(named(1)[0], {}, named(1)[0], 1.0), "fisher"),
        bad("anchor misses a name", lambda c: FT.ewc_penalty(named(1)[0], named(1)[0], {}, 1.0), "anchor"),
    ],
    "tlhelpers.finetune.l2sp_penalty": [
        bad("alpha negative", lambda c: FT.l2sp_penalty(*named(3), -0.1, 0.01), "alpha"),
        bad("beta a string", lambda c: FT.l2sp_penalty(*named(3), 0.1, "0.01"), "beta"),
        bad("anchor misses a name", lambda c: FT.l2sp_penalty(named(1)[0], {}, named(1)[0], 0.1, 0.01),
            "anchor"),
    ],
    "tlhelpers.imbalance.class_counts": [
        bad("empty", lambda c: IM.class_counts([]), "labels"),
        bad("negative", lambda c: IM.class_counts([0, -1]), "labels"),
        bad("fractional", lambda c: IM.class_counts([0.5, 1]), "labels"),
        bad("num_classes too small", lambda c: IM.class_counts([0, 3], num_classes=2), "num_classes"),
    ],
    "tlhelpers.imbalance.class_weights": [
        bad("a class without examples", lambda c: IM.class_weights([0, 2], num_classes=3), "labels"),
        bad("2-D", lambda c: IM.class_weights([[0, 1], [1, 0]]), "labels"),
        bad("num_classes=0", lambda c: IM.class_weights([0, 1], num_classes=0), "num_classes"),
    ],
    "tlhelpers.imbalance.sample_weights": [
        bad("empty", lambda c: IM.sample_weights([]), "labels"),
        bad("strings", lambda c: IM.sample_weights(["cat", "dog"]), "labels"),
        bad("negative", lambda c: IM.sample_weights([1, -2]), "labels"),
    ],
    "tlhelpers.imbalance.balanced_indices": [
        bad("num_samples=0", lambda c: IM.balanced_indices([0, 1], 0), "num_samples"),
        bad("seed negative", lambda c: IM.balanced_indices([0, 1], seed=-1), "seed"),
        bad("labels negative", lambda c: IM.balanced_indices([0, -1]), "labels"),
    ],
    "tlhelpers.imbalance.step_imbalance": [
        bad("ratio below 1", lambda c: IM.step_imbalance([0, 1, 0, 1], 0.5), "ratio"),
        bad("minority out of range", lambda c: IM.step_imbalance([0, 1, 0, 1], 2, minority=[5]), "minority"),
        bad("ratio a string", lambda c: IM.step_imbalance([0, 1, 0, 1], "10"), "ratio"),
        bad("seed negative", lambda c: IM.step_imbalance([0, 1, 0, 1], 2, seed=-1), "seed"),
    ],
    "tlhelpers.schedules.steps_to_epochs": [
        bad("n_examples=0", lambda c: SC.steps_to_epochs(0, 10, 2), "n_examples"),
        bad("steps negative", lambda c: SC.steps_to_epochs(10, -1, 2), "steps"),
        bad("batch_size a float", lambda c: SC.steps_to_epochs(10, 10, 2.0), "batch_size"),
    ],
    "tlhelpers.schedules.warmup_cosine": [
        bad("step a float", lambda c: SC.warmup_cosine(1.5, 10), "step"),
        bad("warmup_steps too many", lambda c: SC.warmup_cosine(0, 10, warmup_steps=10), "warmup_steps"),
        bad("peak_lr negative", lambda c: SC.warmup_cosine(0, 10, peak_lr=-1), "peak_lr"),
    ],
    "tlhelpers.schedules.one_cycle": [
        bad("pct_start=1", lambda c: SC.one_cycle(0, 10, pct_start=1.0), "pct_start"),
        bad("anneal unknown", lambda c: SC.one_cycle(0, 10, anneal="step"), "anneal"),
        bad("total_steps=0", lambda c: SC.one_cycle(0, 0), "total_steps"),
    ],
    "tlhelpers.schedules.slanted_triangular": [
        bad("cut_frac too small", lambda c: SC.slanted_triangular(0, 5, cut_frac=0.01), "cut_frac"),
        bad("ratio a string", lambda c: SC.slanted_triangular(0, 100, ratio="32"), "ratio"),
        bad("step negative", lambda c: SC.slanted_triangular(-1, 100), "step"),
    ],
    "tlhelpers.schedules.get_schedule": [
        bad("unknown", lambda c: SC.get_schedule("step"), "schedule"),
        bad("None", lambda c: SC.get_schedule(None), "schedule"),
        bad("a number", lambda c: SC.get_schedule(0.1), "schedule"),
    ],
    "tlhelpers.schedules.schedule_values": [
        bad("unknown schedule", lambda c: SC.schedule_values("step", 10), "schedule"),
        bad("total_steps=0", lambda c: SC.schedule_values("one_cycle", 0), "total_steps"),
        bad("unknown option", lambda c: SC.schedule_values("one_cycle", 10, warmup=3), "warmup"),
    ],
    "tlhelpers.schedules.plot_schedules": [
        bad("empty", lambda c: SC.plot_schedules({}), "schedules"),
        bad("a list", lambda c: SC.plot_schedules([0.1, 0.2]), "schedules"),
        bad("2-D values", lambda c: SC.plot_schedules({"a": np.zeros((2, 2))}), "schedules"),
    ],
    "tlhelpers.schedules.dann_lambda": [
        bad("progress above 1", lambda c: SC.dann_lambda(1.5), "progress"),
        bad("progress a string", lambda c: SC.dann_lambda("0.5"), "progress"),
        bad("gamma=0", lambda c: SC.dann_lambda(0.5, gamma=0), "gamma"),
    ],
    "tlhelpers.schedules.dann_lr": [
        bad("progress negative", lambda c: SC.dann_lr(-0.1), "progress"),
        bad("alpha negative", lambda c: SC.dann_lr(0.5, alpha=-1), "alpha"),
        bad("beta NaN", lambda c: SC.dann_lr(0.5, beta=float("nan")), "beta"),
    ],    # ------------------------------------------------------------------ clinical metrics
    "tlhelpers.metrics.fit_linear_probe": [
        bad("1-D features", lambda c: MT.fit_linear_probe(np.zeros(4), [0, 1, 0, 1]), "features"),
        bad("NaN features", lambda c: MT.fit_linear_probe(np.full((4, 2), np.nan), [0, 1, 0, 1]), "features"),
        bad("one class", lambda c: MT.fit_linear_probe(np.eye(4), [1, 1, 1, 1]), "labels"),
        bad("C negative", lambda c: MT.fit_linear_probe(np.eye(4), [0, 1, 0, 1], C=-1), "C"),
        bad("strings", lambda c: MT.fit_linear_probe([["a", "b"], ["c", "d"]], [0, 1]), "features"),
    ],
    "tlhelpers.metrics.linear_probe_accuracy": [
        bad("test widths differ", lambda c: MT.linear_probe_accuracy(np.eye(4), [0, 1, 0, 1], np.eye(3),
                                                                     [0, 1, 0]), "test_features"),
        bad("test labels one short", lambda c: MT.linear_probe_accuracy(np.eye(4), [0, 1, 0, 1], np.eye(4),
                                                                        [0, 1, 0]), "test_labels"),
        bad("rows and labels differ", lambda c: MT.linear_probe_accuracy(np.eye(4), [0, 1], np.eye(4),
                                                                         [0, 1, 0, 1]), "features"),
        bad("C a string", lambda c: MT.linear_probe_accuracy(np.eye(4), [0, 1, 0, 1], np.eye(4),
                                                             [0, 1, 0, 1], C="1"), "C"),
    ],
    "tlhelpers.metrics.positive_class_scores": [
        bad("hard predictions", lambda c: MT.positive_class_scores(Y, (P > 0.5).astype(int)), "y_score"),
        bad("pos_label a name without class_names", lambda c: MT.positive_class_scores(
            Y, P, pos_label="malignant"), "class_names"),
        bad("pos_label=2", lambda c: MT.positive_class_scores(Y, P, pos_label=2), "pos_label"),
        bad("three classes", lambda c: MT.positive_class_scores([0, 1, 2], [0.1, 0.5, 0.9]), "y_true"),
    ],
    "tlhelpers.metrics.roc_auc": [
        bad("hard labels", lambda c: MT.roc_auc(Y, Y), "y_score"),
        bad("a single class", lambda c: MT.roc_auc(np.ones(8, int), P), "y_true"),
        bad("logits as a matrix", lambda c: MT.roc_auc(Y, np.stack([-P * 3, P * 3], 1)), "y_score"),
        bad("lengths differ", lambda c: MT.roc_auc(Y, P[:5]), "y_score"),
        bad("NaN", lambda c: MT.roc_auc(Y, P * np.nan), "y_score"),
        bad("strings", lambda c: MT.roc_auc(Y, ["0.2"] * 8), "y_score"),
        bad("soft labels", lambda c: MT.roc_auc(P, Y * 0.9 + 0.05), "y_true"),
        valid("logits", lambda c: MT.roc_auc(Y, np.log(P / (1 - P)))),
        valid("a probability matrix", lambda c: MT.roc_auc(Y, P2)),
    ],
    "tlhelpers.metrics.roc_curve": [
        bad("a single class", lambda c: MT.roc_curve(np.zeros(8, int), P), "y_true"),
        bad("three columns", lambda c: MT.roc_curve(Y, np.full((8, 3), 1 / 3)), "y_score"),
        bad("(N, 2) labels", lambda c: MT.roc_curve(np.stack([1 - Y, Y], 1), P), "y_true"),
    ],
    "tlhelpers.metrics.pr_curve": [
        bad("hard labels", lambda c: MT.pr_curve(Y, Y.astype(bool)), "y_score"),
        bad("a single class", lambda c: MT.pr_curve(np.ones(8, int), P), "y_true"),
        bad("rows not summing to 1", lambda c: MT.pr_curve(Y, np.stack([P, P], 1)), "y_score"),
    ],
    "tlhelpers.metrics.average_precision": [
        bad("hard labels", lambda c: MT.average_precision(Y, 1 - Y), "y_score"),
        bad("label -1", lambda c: MT.average_precision(Y - 1, P), "y_true"),
        bad("pos_label True", lambda c: MT.average_precision(Y, P, pos_label=True), "pos_label"),
    ],
    "tlhelpers.metrics.threshold_for_sensitivity": [
        bad("target in percent", lambda c: MT.threshold_for_sensitivity(Y, P, 90), "target"),
        bad("target=0", lambda c: MT.threshold_for_sensitivity(Y, P, 0), "target"),
        bad("target a string", lambda c: MT.threshold_for_sensitivity(Y, P, "0.9"), "target"),
    ],
    "tlhelpers.metrics.threshold_for_specificity": [
        bad("target negative", lambda c: MT.threshold_for_specificity(Y, P, -0.1), "target"),
        bad("target NaN", lambda c: MT.threshold_for_specificity(Y, P, float("nan")), "target"),
        bad("hard labels", lambda c: MT.threshold_for_specificity(Y, Y), "y_score"),
    ],
    "tlhelpers.metrics.youden_threshold": [
        bad("a single class", lambda c: MT.youden_threshold(np.zeros(8, int), P), "y_true"),
        bad("lengths differ", lambda c: MT.youden_threshold(Y[:3], P), "y_score"),
        bad("class name unknown", lambda c: MT.youden_threshold(Y, P, pos_label="tumour",
                                                                class_names=["normal", "pneumonia"]), "pos_label"),
    ],
    "tlhelpers.metrics.metrics_at_threshold": [
        bad("threshold in percent", lambda c: MT.metrics_at_threshold(Y, P, 50), "threshold"),
        bad("threshold negative on probabilities", lambda c: MT.metrics_at_threshold(Y, P, -0.5), "threshold"),
        bad("threshold a string", lambda c: MT.metrics_at_threshold(Y, P, "0.5"), "threshold"),
        bad("threshold NaN", lambda c: MT.metrics_at_threshold(Y, P, float("nan")), "threshold"),
        valid("a logit threshold on logits", lambda c: MT.metrics_at_threshold(Y, np.log(P / (1 - P)), -0.5)),
    ],
    "tlhelpers.metrics.confusion_matrix": [
        bad("scores, not classes", lambda c: MT.confusion_matrix(Y, P), "y_pred"),
        bad("lengths differ", lambda c: MT.confusion_matrix(Y, Y[:4]), "y_pred"),
        bad("num_classes too small", lambda c: MT.confusion_matrix([0, 2], [0, 1], num_classes=2), "num_classes"),
    ],
    "tlhelpers.metrics.bootstrap_indices": [
        bad("n_resamples=0", lambda c: MT.bootstrap_indices(Y, 0), "n_resamples"),
        bad("n_resamples absurd", lambda c: MT.bootstrap_indices(Y, 10**9), "n_resamples"),
        bad("seed negative", lambda c: MT.bootstrap_indices(Y, 10, seed=-1), "seed"),
        bad("stratified='yes'", lambda c: MT.bootstrap_indices(Y, 10, stratified="yes"), "stratified"),
    ],
    "tlhelpers.metrics.bootstrap_ci": [
        bad("n_resamples=0", lambda c: boot(n_resamples=0), "n_resamples"),
        bad("confidence in percent", lambda c: boot(confidence=95), "confidence"),
        bad("metric not callable", lambda c: MT.bootstrap_ci(Y, P, MT.roc_auc), "metric"),
        bad("seed a string", lambda c: boot(seed="0"), "seed"),
        bad("hard labels", lambda c: MT.bootstrap_ci(MT.roc_auc, Y, Y, n_resamples=20), "y_score"),
        bad("lengths differ", lambda c: MT.bootstrap_ci(MT.roc_auc, Y, P[:4], n_resamples=20), "y_score"),
    ],
    "tlhelpers.metrics.clinical_report": [
        bad("scores a bare array", lambda c: MT.clinical_report(Y, P, n_resamples=20), "scores"),
        bad("a threshold missing", lambda c: MT.clinical_report(Y, {"a": P, "b": P}, thresholds={"a": 0.5},
                                                                n_resamples=20), "thresholds"),
        bad("threshold in percent", lambda c: MT.clinical_report(Y, {"a": P}, thresholds=50,
                                                                 n_resamples=20), "threshold"),
        bad("n_resamples=0", lambda c: MT.clinical_report(Y, {"a": P}, n_resamples=0), "n_resamples"),
        bad("confidence=1", lambda c: MT.clinical_report(Y, {"a": P}, confidence=1, n_resamples=20),
            "confidence"),
        bad("a single class", lambda c: MT.clinical_report(np.ones(8, int), {"a": P}, n_resamples=20), "y_true"),
    ],
    "tlhelpers.metrics.format_report": [
        bad("a dict", lambda c: MT.format_report({"AUC": 0.9}), "report"),
        bad("digits negative", lambda c: MT.format_report(MT.clinical_report(Y, {"a": P}, n_resamples=20),
                                                          digits=-1), "digits"),
        bad("digits a string", lambda c: MT.format_report(MT.clinical_report(Y, {"a": P}, n_resamples=20),
                                                          digits="3"), "digits"),
    ],
    "tlhelpers.metrics.plot_roc": [
        bad("no scores", lambda c: MT.plot_roc(Y, {}), "scores"),
        bad("hard labels", lambda c: MT.plot_roc(Y, {"a": Y}), "y_score"),
        bad("title a number", lambda c: MT.plot_roc(Y, P, title=5), "title"),
        bad("operating point in percent", lambda c: MT.plot_roc(Y, {"a": P}, operating_points={"a": 50}),
            "threshold"),
    ],
    "tlhelpers.metrics.plot_pr": [
        bad("no scores", lambda c: MT.plot_pr(Y, {}), "scores"),
        bad("a single class", lambda c: MT.plot_pr(np.zeros(8, int), P), "y_true"),
        bad("title a number", lambda c: MT.plot_pr(Y, P, title=5), "title"),
    ],
    "tlhelpers.metrics.plot_confusion_matrix": [
        bad("rates, not counts", lambda c: MT.plot_confusion_matrix(np.eye(2) * 0.5), "cm"),
        bad("not square", lambda c: MT.plot_confusion_matrix(np.ones((2, 3), int)), "cm"),
        bad("class_names one short", lambda c: MT.plot_confusion_matrix(np.ones((2, 2), int), ["a"]),
            "class_names"),
    ],
    # ------------------------------------------------------------------ calibration
    "tlhelpers.calibration.expected_calibration_error": [
        bad("logits", lambda c: CAL.expected_calibration_error(Y, np.log(P / (1 - P))), "y_prob"),
        bad("hard predictions", lambda c: CAL.expected_calibration_error(Y, (P > 0.5).astype(float)), "y_prob"),
        bad("one-hot predictions", lambda c: CAL.expected_calibration_error(Y, np.eye(2)[Y]), "y_prob"),
        bad("arguments swapped", lambda c: CAL.expected_calibration_error(P, Y), "y_true"),
        bad("n_bins=0", lambda c: CAL.expected_calibration_error(Y, P, n_bins=0), "n_bins"),
        bad("n_bins a string", lambda c: CAL.expected_calibration_error(Y, P, n_bins="15"), "n_bins"),
        bad("lengths differ", lambda c: CAL.expected_calibration_error(Y, P[:5]), "y_prob"),
        bad("strings", lambda c: CAL.expected_calibration_error(Y, ["0.5"] * 8), "y_prob"),
        valid("a single class", lambda c: CAL.expected_calibration_error(np.ones(8, int), P)),
    ],
    "tlhelpers.calibration.reliability_diagram": [
        bad("n_bins absurd", lambda c: CAL.reliability_diagram(Y, P, n_bins=10**9), "n_bins"),
        bad("NaN", lambda c: CAL.reliability_diagram(Y, P * np.nan), "y_prob"),
        bad("label above the columns", lambda c: CAL.reliability_diagram(Y + 1, P2), "y_true"),
    ],
    "tlhelpers.calibration.confidence_and_correct": [
        bad("rows not summing to 1", lambda c: CAL.confidence_and_correct(Y, np.stack([P, P], 1)), "y_prob"),
        bad("one column of logits", lambda c: CAL.confidence_and_correct(Y, (P * 4 - 2)[:, None]), "y_prob"),
        bad("2-D labels", lambda c: CAL.confidence_and_correct(np.eye(2)[Y], P), "y_true"),
    ],
    "tlhelpers.calibration.softmax": [
        bad("temperature=0", lambda c: CAL.softmax(P2, 0), "temperature"),
        bad("temperature a string", lambda c: CAL.apply_temperature(P2, "1.5"), "temperature"),
        bad("3-D", lambda c: CAL.softmax(np.zeros((2, 2, 2))), "logits"),
        bad("strings", lambda c: CAL.softmax([["a", "b"]]), "logits"),
    ],
    "tlhelpers.calibration.nll": [
        bad("softmax probabilities as logits", lambda c: CAL.nll(P2, Y), "logits"),
        bad("lengths differ", lambda c: CAL.nll(np.zeros((3, 2)), Y), "y_true"),
        bad("temperature negative", lambda c: CAL.nll(np.zeros((8, 2)), Y, -1.0), "temperature"),
    ],
    "tlhelpers.calibration.fit_temperature": [
        bad("softmax probabilities as logits", lambda c: CAL.fit_temperature(P2, Y), "logits"),
        bad("label = classes", lambda c: CAL.fit_temperature(np.zeros((8, 2)), Y * 2), "y_true"),
        bad("infinite logits", lambda c: CAL.fit_temperature(np.full((8, 2), np.inf), Y), "logits"),
        bad("no logits", lambda c: CAL.fit_temperature(np.zeros((0, 2)), []), "logits"),
    ],
    "tlhelpers.calibration.images_and_labels": [
        bad("images only", lambda c: CAL.images_and_labels(np.zeros((3, 4))), "data"),
        bad("labels one short", lambda c: CAL.images_and_labels((np.zeros((3, 4)), [0, 1])), "data"),
        bad("soft labels", lambda c: CAL.images_and_labels((np.zeros((2, 4)), [0.5, 0.5])), "labels"),
    ],
    "tlhelpers.calibration.plot_reliability": [
        bad("no curves", lambda c: CAL.plot_reliability(Y, {}), "probabilities"),
        bad("logits", lambda c: CAL.plot_reliability(Y, {"model": P * 4 - 2}), "y_prob"),
        bad("title a number", lambda c: CAL.plot_reliability(Y, P, title=5), "title"),
        bad("n_bins=0", lambda c: CAL.plot_reliability(Y, P, n_bins=0), "n_bins"),
    ],
    # ------------------------------------------------------------------ explanations
    "tlhelpers.explain.resolve_targets": [
        bad("target = classes", lambda c: EX.resolve_targets(3, logits()), "target"),
        bad("target a class name", lambda c: EX.resolve_targets("pneumonia", logits()), "target"),
        bad("targets one short", lambda c: EX.resolve_targets([0, 1], logits()), "target"),
        bad("1-D logits", lambda c: EX.resolve_targets(None, np.zeros(3)), "logits"),
    ],
    "tlhelpers.explain.saliency_from_gradients": [
        bad("3-D", lambda c: EX.saliency_from_gradients(np.zeros((2, 4, 4))), "gradients"),
        bad("NaN", lambda c: EX.saliency_from_gradients(np.full((1, 4, 4, 3), np.nan)), "gradients"),
        bad("strings", lambda c: EX.saliency_from_gradients("grads"), "gradients"),
    ],
    "tlhelpers.explain.gradcam_from_gradients": [
        bad("channels differ", lambda c: EX.gradcam_from_gradients(np.zeros((1, 2, 2, 3)), np.zeros((1, 2, 2, 4))),
            "activations"),
        bad("3-D activations", lambda c: EX.gradcam_from_gradients(np.zeros((2, 2, 3)), np.zeros((1, 2, 2, 3))),
            "activations"),
        bad("NaN gradients", lambda c: EX.gradcam_from_gradients(np.zeros((1, 2, 2, 3)),
                                                                 np.full((1, 2, 2, 3), np.nan)), "gradients"),
    ],
    "tlhelpers.explain.upsample": [
        bad("size=0", lambda c: EX.upsample(maps(), 0), "size"),
        bad("size a string", lambda c: EX.upsample(maps(), "32"), "size"),
        bad("size absurd", lambda c: EX.upsample(maps(), 10**6), "size"),
        bad("4-D maps", lambda c: EX.upsample(np.zeros((1, 2, 2, 1)), 4), "maps"),
    ],
    "tlhelpers.explain.normalize_maps": [
        bad("NaN", lambda c: EX.normalize_maps(maps(fill=np.nan)), "maps"),
        bad("2-D", lambda c: EX.normalize_maps(np.zeros((4, 4))), "maps"),
        bad("eps negative", lambda c: EX.normalize_maps(maps(), eps=-1.0), "eps"),
    ],
    "tlhelpers.explain.rank_correlation": [
        bad("shapes differ", lambda c: EX.rank_correlation(maps(), maps(size=4)), "maps"),
        bad("2-D", lambda c: EX.rank_correlation(np.zeros((4, 4)), np.zeros((4, 4))), "a"),
        bad("NaN", lambda c: EX.rank_correlation(maps(), maps(fill=np.nan)), "b"),
    ],
    "tlhelpers.explain.structural_similarity": [
        bad("too small", lambda c: EX.structural_similarity(maps(size=2), maps(size=2)), "maps"),
        bad("shapes differ", lambda c: EX.structural_similarity(maps(n=1), maps(n=2)), "maps"),
        bad("strings", lambda c: EX.structural_similarity("a", maps()), "a"),
    ],
    "tlhelpers.explain.map_similarity": [
        bad("shapes differ", lambda c: EX.map_similarity(maps(), maps(size=4)), "maps"),
        bad("infinite", lambda c: EX.map_similarity(maps(fill=np.inf), maps()), "a"),
        bad("4-D", lambda c: EX.map_similarity(np.zeros((1, 8, 8, 1)), np.zeros((1, 8, 8, 1))), "a"),
    ],
    "tlhelpers.explain.randomization_check": [
        bad("explain not callable", lambda c: EX.randomization_check(maps(), lambda names: None, ["head"]),
            "explain"),
        bad("blocks a string", lambda c: EX.randomization_check(maps, lambda names: None, "head"), "blocks"),
        bad("blocks empty", lambda c: EX.randomization_check(maps, lambda names: None, []), "blocks"),
        bad("cascade='yes'", lambda c: EX.randomization_check(maps, lambda names: None, ["head"],
                                                              cascade="yes"), "cascade"),
    ],
    "tlhelpers.explain.overlay": [
        bad("sizes differ", lambda c: EX.overlay(swatch(), np.zeros((5, 5))), "heatmap"),
        bad("alpha a string", lambda c: EX.overlay(swatch(), np.zeros((8, 8)), alpha="0.5"), "alpha"),
        bad("alpha above 1", lambda c: EX.overlay(swatch(), np.zeros((8, 8)), alpha=2), "alpha"),
        bad("cmap unknown", lambda c: EX.overlay(swatch(), np.zeros((8, 8)), cmap="rainbowz"), "cmap"),
        bad("NaN heatmap", lambda c: EX.overlay(swatch(), np.full((8, 8), np.nan)), "heatmap"),
    ],
    "tlhelpers.explain.show_explanations": [
        bad("3-D images", lambda c: EX.show_explanations(swatch(), {"s": maps(1)}), "images"),
        bad("no maps", lambda c: EX.show_explanations(swatch()[None], {}), "maps"),
        bad("maps of another size", lambda c: EX.show_explanations(swatch()[None], {"s": maps(1, 4)}), "maps"),
        bad("n=0", lambda c: EX.show_explanations(swatch()[None], {"s": maps(1)}, n=0), "n"),
        bad("labels one short", lambda c: EX.show_explanations(np.stack([swatch()] * 2), {"s": maps(2)},
                                                               labels=["a"]), "labels"),
    ],
    # ------------------------------------------------------------------ MedMNIST
    "tlhelpers.data.medmnist.medmnist_file": [
        bad("unknown name", lambda c: MED.medmnist_file("chestmnist"), "name"),
        bad("size 32", lambda c: MED.medmnist_file("breastmnist", 32), "size"),
        bad("size True", lambda c: MED.medmnist_file("breastmnist", True), "size"),
    ],
    "tlhelpers.data.medmnist.load_medmnist": [
        bad("split unknown", lambda c: MED.load_medmnist("breastmnist", "valid"), "split"),
        bad("name capitalised", lambda c: MED.load_medmnist("BreastMNIST"), "name"),
        bad("size a string", lambda c: MED.load_medmnist("breastmnist", size="64"), "size"),
        bad("download='no'", lambda c: MED.load_medmnist("breastmnist", size=64, download="no"), "download"),
        bad("n=0", lambda c: MED.load_medmnist("breastmnist", size=64, n=0), "n"),
        bad("seed negative", lambda c: MED.load_medmnist("breastmnist", size=64, seed=-1), "seed"),
    ],
    "tlhelpers.data.medmnist.load_medical": [
        bad("fallback='no'", lambda c: MED.load_medical(fallback="no"), "fallback"),
        bad("n an int", lambda c: MED.load_medical(n=100), "n"),
        bad("n split unknown", lambda c: MED.load_medical(n={"validation": 10}), "n"),
        bad("n of one image", lambda c: MED.load_medical(n={"train": 1}), "train"),
        bad("name unknown", lambda c: MED.load_medical("chestmnist"), "name"),
    ],
    "tlhelpers.data.medmnist.split_dataset": [
        bad("arrays", lambda c: MED.split_dataset((np.zeros((4, 8, 8)), [0, 1, 0, 1])), "ds"),
        bad("val in percent", lambda c: MED.split_dataset(medical(), val=15), "val"),
        bad("nothing left to train", lambda c: MED.split_dataset(medical(), val=0.5, test=0.5), "val"),
        bad("groups one short", lambda c: MED.split_dataset(medical(), groups=np.arange(11)), "groups"),
        bad("too small to stratify", lambda c: MED.split_dataset(medical(4), val=0.25, test=0.25), "ds"),
    ],
    # ------------------------------------------------------------------ text (Lesson 06)
    "tlhelpers.text.tokenize": [
        bad("a single string", lambda c: TX.tokenize("love the new iPhone"), "texts"),
        bad("no texts", lambda c: TX.tokenize([]), "texts"),
        bad("None among the texts", lambda c: TX.tokenize(["fine", None]), "texts"),
        bad("an empty text", lambda c: TX.tokenize(["fine", ""]), "texts"),
        bad("max_length=0", lambda c: TX.tokenize(TWEETS, max_length=0), "max_length"),
        bad("max_length a string", lambda c: TX.tokenize(TWEETS, max_length="128"), "max_length"),
        valid("a NumPy array of texts", lambda c: TX.tokenize(np.array(TWEETS))),
        valid("a pandas Series of texts", lambda c: TX.tokenize(__import__("pandas").Series(TWEETS))),
    ],
    "tlhelpers.text.tokenizer": [
        bad("max_length=0", lambda c: TX.tokenizer(0), "max_length"),
        bad("max_length=513", lambda c: TX.tokenizer(513), "max_length"),
        bad("max_length=True", lambda c: TX.tokenizer(True), "max_length"),
        bad("max_length 64.0", lambda c: TX.tokenizer(64.0), "max_length"),
        valid("max_length a NumPy int", lambda c: TX.tokenizer(np.int64(64))),
    ],
    "tlhelpers.text.wordpieces": [
        bad("a list of texts", lambda c: TX.wordpieces(TWEETS), "text"),
        bad("None", lambda c: TX.wordpieces(None), "text"),
        bad("an empty string", lambda c: TX.wordpieces(""), "text"),
        bad("only spaces", lambda c: TX.wordpieces("   "), "text"),
        valid("handles, hashtags and a URL", lambda c: TX.wordpieces("@united #fail http://t.co/x")),
    ],
    "tlhelpers.text.truncation_report": [
        bad("a single string", lambda c: TX.truncation_report("love the new iPhone"), "texts"),
        bad("no texts", lambda c: TX.truncation_report([]), "texts"),
        bad("max_length=0", lambda c: TX.truncation_report(TWEETS, max_length=0), "max_length"),
        bad("max_length=600", lambda c: TX.truncation_report(TWEETS, max_length=600), "max_length"),
        valid("a tuple of texts", lambda c: TX.truncation_report(tuple(TWEETS), max_length=8)),
    ],
    "tlhelpers.text.masked_mean_pool": [
        bad("pooled (N, d) instead of token states",
            lambda c: TX.masked_mean_pool(np.zeros((2, 4)), np.ones((2, 5))), "hidden"),
        bad("mask one token short",
            lambda c: TX.masked_mean_pool(token_states()[0], np.ones((2, 4))), "mask"),
        bad("mask of strings",
            lambda c: TX.masked_mean_pool(token_states()[0], np.full((2, 5), "1 ")), "mask"),
        bad("NaN token states",
            lambda c: TX.masked_mean_pool(np.full((2, 5, 4), np.nan), token_states()[1]), "hidden"),
        bad("eps=0", lambda c: TX.masked_mean_pool(*token_states(), eps=0), "eps"),
        valid("a boolean mask", lambda c: TX.masked_mean_pool(token_states()[0],
                                                              token_states()[1].astype(bool))),
    ],
    "tlhelpers.text.gelu": [
        bad("a word", lambda c: TX.gelu("one"), "x"),
        bad("None", lambda c: TX.gelu(None), "x"),
        bad("NaN", lambda c: TX.gelu([0.0, np.nan]), "x"),
        bad("a dict", lambda c: TX.gelu({"x": 1.0}), "x"),
        valid("a Python float", lambda c: TX.gelu(1.0)),
    ],
    "tlhelpers.text.lora_reference": [
        bad("alpha=0", lambda c: TX.lora_reference(*lora_args(), alpha=0), "alpha"),
        bad("alpha a string", lambda c: TX.lora_reference(*lora_args(), alpha="16"), "alpha"),
        bad("rank 0", lambda c: TX.lora_reference(*lora_args(a=(0, 6), b=(4, 0)), alpha=1), "rank"),
        bad("x of another width", lambda c: TX.lora_reference(*lora_args(x=(5, 7)), alpha=16), "x"),
        bad("A in Keras's layout", lambda c: TX.lora_reference(*lora_args(a=(6, 2)), alpha=16), "a"),
        bad("B with another rank", lambda c: TX.lora_reference(*lora_args(b=(4, 3)), alpha=16), "b"),
        bad("weight 1-D", lambda c: TX.lora_reference(*lora_args(w=(6,)), alpha=16), "weight"),
        valid("no bias, alpha an int", lambda c: TX.lora_reference(
            np.zeros((5, 6)), np.zeros((4, 6)), None, np.zeros((2, 6)), np.zeros((4, 2)), alpha=16)),
    ],
    "tlhelpers.text.adapter_reference": [
        bad("W_down in Keras's layout", lambda c: TX.adapter_reference(*adapter_args(w_down=(8, 2))),
            "w_down"),
        bad("b_up of the bottleneck's size", lambda c: TX.adapter_reference(*adapter_args(b_up=(2,))),
            "b_up"),
        bad("W_up of another width", lambda c: TX.adapter_reference(*adapter_args(w_up=(7, 2))), "w_up"),
        bad("NaN states", lambda c: TX.adapter_reference(np.full((3, 8), np.nan),
                                                         *adapter_args()[1:]), "h"),
        valid("one vector", lambda c: TX.adapter_reference(np.zeros(8), *adapter_args()[1:])),
    ],
    "tlhelpers.text.param_kind": [
        bad("None", lambda c: TX.param_kind(None), "name"),
        bad("a number", lambda c: TX.param_kind(3), "name"),
        bad("an empty name", lambda c: TX.param_kind(""), "name"),
        valid("a LoRA weight's name", lambda c: TX.param_kind(
            "encoder.bert.encoder.layer.0.attention.self.query.lora_A")),
    ],
    "tlhelpers.text.trained_layers": [
        bad("freeze unknown", lambda c: TX.trained_layers("last", 6), "freeze"),
        bad("freeze None", lambda c: TX.trained_layers(None, 6), "freeze"),
        bad("num_layers=0", lambda c: TX.trained_layers("last2", 0), "num_layers"),
        bad("num_layers a string", lambda c: TX.trained_layers("last2", "6"), "num_layers"),
        valid("num_layers a NumPy int", lambda c: TX.trained_layers("last1", np.int64(6))),
    ],
    "tlhelpers.text.cached_embeddings": [
        bad("a single string", lambda c: TX.cached_embeddings("fine", np.zeros, tag="t"), "texts"),
        bad("no texts", lambda c: TX.cached_embeddings([], np.zeros, tag="t"), "texts"),
        bad("compute an array", lambda c: TX.cached_embeddings(TWEETS, np.zeros((2, 3)), tag="t"),
            "compute"),
        bad("tag empty", lambda c: TX.cached_embeddings(TWEETS, np.zeros, tag=""), "tag"),
        bad("cache='yes'", lambda c: TX.cached_embeddings(TWEETS, np.zeros, tag="t", cache="yes"),
            "cache"),
        valid("stored and read back", lambda c: [TX.cached_embeddings(
            TWEETS, lambda t: np.ones((len(t), 3)), tag="test") for _ in range(2)]),
    ],
}

#: Public callables that take arguments but have no bad-input cases, and why.
EXEMPT = {
    "tlhelpers.profiles.Profile": "a record made by current_profile(), not built by learners",
    "tlhelpers.data.EmbeddedSpec": "a registry record in tlhelpers.data, not called by learners",
    "tlhelpers.distill.CompressionReport": "a record returned by the tracks' compression_report",
    "tlhelpers.distill.LatencyStats": "a record returned by median_latency",
    "tlhelpers.divergence.PermutationTest": "a record returned by mmd_permutation_test",
    "tlhelpers.divergence.ClassifierTest": "a record returned by classifier_two_sample_test",
    "tlhelpers.metrics.BootstrapCI": "a record returned by bootstrap_ci",
    "tlhelpers.data.medmnist.MedicalSplits": "a record returned by load_medical and split_dataset",
}

#: The framework-neutral halves of the method modules (both tracks call them).
METHOD_MODULES = [f"tlhelpers.{m}" for m in ("adapt", "dann", "distill", "divergence", "embedding",
                                             "finetune", "imbalance", "schedules", "text")]
#: Lesson 07's core modules: clinical metrics, calibration, explanations, MedMNIST.
CLINICAL_MODULES = ["tlhelpers.metrics", "tlhelpers.calibration", "tlhelpers.explain",
                    "tlhelpers.data.medmnist"]


@pytest.mark.parametrize("key, case", case_params(CASES))
def test_bad_input(key, case, tmp_path, monkeypatch):
    monkeypatch.setenv("TLH_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TLH_OFFLINE", "1")
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    check(case, run(case, Ctx(tmp_path, monkeypatch)))


def test_every_public_function_has_cases():
    api = public_callables(["tlhelpers", "tlhelpers.data"] + METHOD_MODULES + CLINICAL_MODULES)
    # check_* functions are the contract's own checks (raising on bad input is what they do),
    # exercised by the cases of the functions that call them.
    api = {k: v for k, v in api.items() if not k.rsplit(".", 1)[-1].startswith("check_")}
    missing = missing_cases(api, CASES, EXEMPT, prefix="")
    assert not missing, ("public functions without three bad-input cases (add them to "
                         f"CASES, or a reason to EXEMPT): {missing}")
