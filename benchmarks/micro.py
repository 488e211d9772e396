"""Micro-benchmarks: each course helper against the plain framework, same model and data.

Every pair is measured in one process, interleaved (helper, plain, plain, helper, ...),
repeated, and summarised by the median; the ratio is the helper's throughput over the
plain code's (1.0 = as fast; the goal for training is >= 0.95). Each track runs in its
own interpreter: TensorFlow's and PyTorch's thread pools slow each other down when
both live in one process.

* training: ``tlhelpers.<track>.training.fit`` against a hand-written ``model.compile``
  + ``model.fit`` (Keras) or the usual PyTorch loop over a ``DataLoader``; a fresh model
  per run (as the lessons do), so one-off costs (tracing, compiling) count.
* feature extraction: ``extract_features`` against ``model.predict`` (Keras) or a
  ``no_grad`` loop (PyTorch), on a fresh backbone and again on a warm one.
* data adapters: one epoch through ``to_tf_dataset`` / ``to_dataloader`` against a
  plain ``tf.data`` pipeline / ``DataLoader``.
* data loading: ``load_dataset`` for every embedded dataset and split at the profile's
  size, and for every real dataset already in the cache (nothing is downloaded).

    python -m benchmarks --micro [--profile smoke|standard] [--repeat 5]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

from .report import Table

Row = dict  # {"group", "name", "track", "n", "helper_s", "plain_s"}


def _pair(helper: Callable[[], None], plain: Callable[[], None], setup: Callable[[], None],
          repeat: int) -> tuple[float, float]:
    """Median seconds of ``helper()`` and ``plain()``, interleaved; ``setup()`` before each.

    One untimed round first, so process-wide first-use costs (thread pools, kernels,
    imports inside the frameworks) fall on neither side.
    """
    for fn in (helper, plain):
        setup()
        fn()
    times: dict[str, list[float]] = {"helper": [], "plain": []}
    for r in range(repeat):
        order = (("helper", helper), ("plain", plain))
        for name, fn in (order if r % 2 == 0 else order[::-1]):
            setup()
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return median(times["helper"]), median(times["plain"])


# --------------------------------------------------------------------------- Keras
def _keras(repeat: int, profile: str) -> list[Row]:
    import numpy as np

    import keras
    import tensorflow as tf
    from tlhelpers.data import load_dataset
    from tlhelpers.keras import backbones, data, training

    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    few = train.per_class(10, seed=0)
    epochs = {"smoke": 1, "standard": 3, "full": 5}[profile]
    rows: list[Row] = []
    state: dict = {}

    def fresh_classifier() -> None:
        keras.utils.set_random_seed(0)
        state["model"] = backbones.build_classifier(backbones.course_cnn(), 10, freeze_backbone=False)

    def plain_fit(ds, n_epochs):
        model = state["model"]
        model.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-7),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
        model.fit(ds.x, ds.y, batch_size=32, epochs=n_epochs, shuffle=True, verbose=0)

    for label, ds, n_epochs in ((f"{len(train)} images x {epochs} epochs", train, epochs),
                                (f"{len(few)} images x 30 epochs (Lesson 01)", few, 30)):
        h, p = _pair(lambda: training.fit(state["model"], ds, epochs=n_epochs, batch_size=32, seed=0,
                                          progress=False),
                     lambda: plain_fit(ds, n_epochs), fresh_classifier, repeat)
        rows.append({"group": "training", "name": f"fit vs model.fit, {label}", "track": "keras",
                     "n": len(ds) * n_epochs, "helper_s": h, "plain_s": p})

    both = np.concatenate([train.x, test.x])

    def fresh_backbone() -> None:
        state["backbone"] = backbones.course_cnn()

    h, p = _pair(lambda: backbones.extract_features(state["backbone"], both, progress=False),
                 lambda: state["backbone"].predict(both, batch_size=256, verbose=0), fresh_backbone, repeat)
    rows.append({"group": "features", "name": "extract_features vs model.predict, fresh backbone",
                 "track": "keras", "n": len(both), "helper_s": h, "plain_s": p})
    fresh_backbone()
    backbones.extract_features(state["backbone"], both, progress=False)
    state["backbone"].predict(both, batch_size=256, verbose=0)
    h, p = _pair(lambda: backbones.extract_features(state["backbone"], both, progress=False),
                 lambda: state["backbone"].predict(both, batch_size=256, verbose=0), lambda: None, repeat)
    rows.append({"group": "features", "name": "extract_features vs model.predict, warm backbone",
                 "track": "keras", "n": len(both), "helper_s": h, "plain_s": p})

    def helper_epoch():
        for _ in data.to_tf_dataset(train, batch_size=64, shuffle=True, seed=0):
            pass

    def plain_epoch():
        pipe = tf.data.Dataset.from_tensor_slices((train.x, train.y)).shuffle(len(train), seed=0)
        for _ in pipe.batch(64).prefetch(tf.data.AUTOTUNE):
            pass

    h, p = _pair(helper_epoch, plain_epoch, lambda: None, repeat)
    rows.append({"group": "data adapters", "name": "to_tf_dataset vs tf.data, one epoch",
                 "track": "keras", "n": len(train), "helper_s": h, "plain_s": p})
    return rows


# --------------------------------------------------------------------------- PyTorch
def _torch(repeat: int, profile: str) -> list[Row]:
    import numpy as np

    import torch
    from torch.utils.data import DataLoader, TensorDataset
    from tlhelpers.data import load_dataset
    from tlhelpers.torch import backbones, data, training

    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    few = train.per_class(10, seed=0)
    epochs = {"smoke": 1, "standard": 3, "full": 5}[profile]
    rows: list[Row] = []
    state: dict = {}

    def fresh_classifier() -> None:
        torch.manual_seed(0)
        state["model"] = backbones.build_classifier(backbones.course_cnn(), 10, freeze_backbone=False)

    def plain_fit(ds, n_epochs):
        model = state["model"]
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=1e-3, eps=1e-7)
        x = torch.from_numpy(np.ascontiguousarray(ds.x.transpose(0, 3, 1, 2)))
        loader = DataLoader(TensorDataset(x, torch.from_numpy(ds.y.astype(np.int64))), batch_size=32,
                            shuffle=True)
        for _ in range(n_epochs):
            model.train()
            for xb, yb in loader:
                loss = torch.nn.functional.cross_entropy(model(xb), yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        model.eval()

    for label, ds, n_epochs in ((f"{len(train)} images x {epochs} epochs", train, epochs),
                                (f"{len(few)} images x 30 epochs (Lesson 01)", few, 30)):
        h, p = _pair(lambda: training.fit(state["model"], ds, epochs=n_epochs, batch_size=32, seed=0,
                                          progress=False),
                     lambda: plain_fit(ds, n_epochs), fresh_classifier, repeat)
        rows.append({"group": "training", "name": f"fit vs plain loop, {label}", "track": "torch",
                     "n": len(ds) * n_epochs, "helper_s": h, "plain_s": p})

    both = np.concatenate([train.x, test.x])

    def plain_features():
        model = state["backbone"].eval()
        x = torch.from_numpy(np.ascontiguousarray(both.transpose(0, 3, 1, 2)))
        with torch.no_grad():
            np.concatenate([model(x[i:i + 256]).numpy() for i in range(0, len(x), 256)])

    def fresh_backbone() -> None:
        state["backbone"] = backbones.course_cnn()

    h, p = _pair(lambda: backbones.extract_features(state["backbone"], both, progress=False),
                 plain_features, fresh_backbone, repeat)
    rows.append({"group": "features", "name": "extract_features vs no_grad loop", "track": "torch",
                 "n": len(both), "helper_s": h, "plain_s": p})

    def helper_epoch():
        for _ in data.to_dataloader(train, batch_size=64, shuffle=True, seed=0):
            pass

    def plain_epoch():
        x = torch.from_numpy(np.ascontiguousarray(train.x.transpose(0, 3, 1, 2)))
        for _ in DataLoader(TensorDataset(x, torch.from_numpy(train.y.astype(np.int64))), batch_size=64,
                            shuffle=True):
            pass

    h, p = _pair(helper_epoch, plain_epoch, lambda: None, repeat)
    rows.append({"group": "data adapters", "name": "to_dataloader vs DataLoader, one epoch",
                 "track": "torch", "n": len(train), "helper_s": h, "plain_s": p})
    return rows


# --------------------------------------------------------------------------- data loading
def _loading(repeat: int, profile: str) -> list[Row]:
    from tlhelpers.data import EMBEDDED, DatasetUnavailableError, load_dataset
    from tlhelpers.data.registry import REAL_DATASETS, load_real

    rows: list[Row] = []
    for name in EMBEDDED:
        for split in ("train", "test"):
            times, n = [], 0
            for _ in range(repeat):
                t = time.perf_counter()
                ds = load_dataset(name, split)
                times.append(time.perf_counter() - t)
                n = len(ds)
            rows.append({"group": "data loading", "name": f"{name} {split} (embedded)", "track": "-",
                         "n": n, "helper_s": median(times), "plain_s": None, "first_s": times[0]})
    for name, info in sorted(REAL_DATASETS.items()):
        for split in info.splits:
            times, n = [], 0
            try:
                for _ in range(repeat):
                    t = time.perf_counter()
                    ds = load_real(name, split, download=False, progress=False)
                    times.append(time.perf_counter() - t)
                    n = len(ds)
            except DatasetUnavailableError:
                continue  # not in the cache: nothing to time, nothing downloaded
            rows.append({"group": "data loading", "name": f"{name} {split} (cached real)", "track": "-",
                         "n": n, "helper_s": median(times), "plain_s": None, "first_s": times[0]})
    return rows


WORKERS = {"keras": _keras, "torch": _torch, "loading": _loading}


def run(profile: str, repeat: int, parts: list[str] | None = None) -> list[Table]:
    rows: list[Row] = []
    for part in parts or list(WORKERS):
        env = {**os.environ, "TLH_PROFILE": profile}
        out = subprocess.run([sys.executable, "-m", "benchmarks.micro", "--worker", part, str(repeat), profile],
                             env=env, capture_output=True, text=True, check=False,
                             cwd=Path(__file__).resolve().parents[1])
        if out.returncode != 0:
            raise RuntimeError(f"micro-benchmark {part} failed:\n{out.stderr[-3000:]}")
        rows += json.loads(out.stdout.strip().splitlines()[-1])
        print(f"micro-benchmarks: {part} done", file=sys.stderr, flush=True)
    compare = Table(
        title=f"Course helpers against the plain framework (median of {repeat}, interleaved)",
        columns=["benchmark", "track", "images", "helper (images/s)", "plain (images/s)",
                 "helper/plain"],
        notes=["helper/plain: the helper's throughput over the plain code's; >= 0.95 is the goal "
               "for training, > 1 means the helper is faster.",
               "training: a fresh model per run, so one-off costs (Keras tracing, compiling) count."])
    loading = Table(title=f"load_dataset at the profile's size (median of {repeat} loads in one process)",
                    columns=["dataset and split", "examples", "seconds (median)", "seconds (first load)",
                             "examples/s"])
    for r in rows:
        if r["plain_s"] is None:
            loading.rows.append([r["name"], r["n"], round(r["helper_s"], 3), round(r["first_s"], 3),
                                 round(r["n"] / r["helper_s"]) if r["helper_s"] > 0 else "-"])
        else:
            h, p = r["n"] / r["helper_s"], r["n"] / r["plain_s"]
            compare.rows.append([r["name"], r["track"], r["n"], round(h, 1), round(p, 1), round(h / p, 2)])
    return [t for t in (compare, loading) if t.rows]


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--worker":
        part, repeat, profile = argv[1], int(argv[2]), argv[3]
        print(json.dumps(WORKERS[part](repeat, profile)))
        return 0
    raise SystemExit("use python -m benchmarks --micro")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
