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
from tlhelpers import data as D
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
}

#: Public callables that take arguments but have no bad-input cases, and why.
EXEMPT = {
    "tlhelpers.profiles.Profile": "a record made by current_profile(), not built by learners",
    "tlhelpers.data.EmbeddedSpec": "a registry record in tlhelpers.data, not called by learners",
}


@pytest.mark.parametrize("key, case", case_params(CASES))
def test_bad_input(key, case, tmp_path, monkeypatch):
    monkeypatch.setenv("TLH_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TLH_OFFLINE", "1")
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    check(case, run(case, Ctx(tmp_path, monkeypatch)))


def test_every_public_function_has_cases():
    api = public_callables(["tlhelpers", "tlhelpers.data"])
    missing = missing_cases(api, CASES, EXEMPT, prefix="")
    assert not missing, ("public functions without three bad-input cases (add them to "
                         f"CASES, or a reason to EXEMPT): {missing}")
