"""The recipe that pretrains ``course_cnn`` on SynDigits, framework-neutral.

The course ships a backbone it pretrained itself, so every lesson has a real pretrained
network offline. Each track trains it with its own ``fit``::

    python -m tlhelpers.keras.pretrain      # writes course_cnn_syndigits.keras.weights.h5 + .json
    python -m tlhelpers.torch.pretrain      # writes course_cnn_syndigits.torch.pt + .json

This module holds what the two share and what must not differ between them: the default
hyper-parameters, the data, the augmentation stream (NumPy, one generator, so both
frameworks see identical images), the evaluation protocol and the JSON record written
beside the weights. It imports no framework; the tracks import it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .data.augment import augment_digits
from .zoo import COURSE_CNN, WEIGHTS_DIR, course_record_path, course_weights_path

#: Defaults of ``python -m tlhelpers.<track>.pretrain`` (the shipped weights used these).
PRETRAIN_DEFAULTS: dict[str, Any] = {
    "n_train": 20_000, "n_test": 2_000, "epochs": 4, "batch_size": 128, "lr": 2e-3,
    "seed": 0,
}

AUGMENTATION = ("tlhelpers.data.augment.augment_digits (zoom 1.0-1.4, rotation <=10 deg, "
                "shift <=3 px, blur p=0.5, grey p=0.2, invert p=0.2, thicker strokes "
                "p=0.3, binary white ink on black p=0.5, 8x8 sensor (area mean, 17 "
                "levels, bicubic back to 32x32) p=0.6), redrawn every epoch")


@dataclass
class PretrainingData:
    """SynDigits train/test for pretraining, and the real Digits sets it is reported on."""

    train: Any
    test: Any
    digits_train: Any
    digits_test: Any
    seconds: float


def pretraining_data(n_train: int, n_test: int, seed: int) -> PretrainingData:
    """The datasets of the recipe (SynDigits drawn with ``seed``; Digits as shipped)."""
    from .data import load_dataset

    start = time.perf_counter()
    train = load_dataset("syndigits", "train", n=n_train, seed=seed)
    test = load_dataset("syndigits", "test", n=n_test, seed=seed)
    digits_test = load_dataset("digits", "test")
    digits_train = load_dataset("digits", "train")
    return PretrainingData(train, test, digits_train, digits_test, time.perf_counter() - start)


def augmentation_stream(seed: int) -> Callable[[np.ndarray], np.ndarray]:
    """``x -> augment_digits(x, rng)`` with one generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    return lambda x: augment_digits(x, rng)


def probe_accuracy(extract, backbone, train, test, *, C: float = 1.0) -> float:
    """Accuracy on ``test`` of a linear probe fitted on frozen-backbone features of ``train``.

    ``extract`` is the track's ``extract_features``; the probe is
    :func:`tlhelpers.metrics.linear_probe_accuracy` (standardised features, logistic
    regression): the course's linear head for few-label experiments.
    """
    from .metrics import linear_probe_accuracy

    return linear_probe_accuracy(extract(backbone, train, progress=False), train.y,
                                 extract(backbone, test, progress=False), test.y, C=C)


def write_record(framework: str, out: Path, *, data: PretrainingData, hyper: dict[str, Any],
                 history: dict[str, list[float]], syndigits_accuracy: float,
                 digits_accuracy: float, probe: list[float], train_seconds: float,
                 total_seconds: float, versions: dict[str, str]) -> dict[str, Any]:
    """Write the JSON record of one pretraining beside its weights and return it."""
    weights = out / course_weights_path(framework).name
    record = {
        "backbone": "course_cnn",
        "architecture": {k: list(v) if isinstance(v, tuple) else v for k, v in COURSE_CNN.items()},
        "framework": framework,
        "weights_file": weights.name,
        "weights_bytes": weights.stat().st_size,
        "data": {"train": {"name": "syndigits", "split": "train", "n": len(data.train), "seed": hyper["seed"]},
                 "test": {"name": "syndigits", "split": "test", "n": len(data.test), "seed": hyper["seed"]},
                 "target_test": {"name": "digits", "split": "test", "n": len(data.digits_test)}},
        "seed": hyper["seed"],
        "epochs": hyper["epochs"],
        "batch_size": hyper["batch_size"],
        "optimizer": {"name": "adam", "lr": hyper["lr"], "schedule": "cosine decay to 0, per step",
                      "weight_decay": 0.0},
        "augmentation": AUGMENTATION,
        "head": "Dense/Linear 128 -> 10 logits (discarded)",
        "history": {k: [round(float(v), 4) for v in vals] for k, vals in history.items()},
        "syndigits_test_accuracy": round(float(syndigits_accuracy), 4),
        "digits_test_accuracy": round(float(digits_accuracy), 4),
        "digits_test_note": "whole network (backbone + SynDigits head), no Digits labels: "
                            "source-only accuracy on the real target",
        "digits_linear_probe_10_per_class": {
            "accuracy_per_seed": [round(float(a), 4) for a in probe],
            "mean": round(float(np.mean(probe)), 4),
            "protocol": "frozen backbone features -> tlhelpers.metrics.linear_probe_accuracy "
                        "(StandardScaler + LogisticRegression(C=1)) fitted on Digits train "
                        ".per_class(10, seed), seeds 0-2; Digits test"},
        "wall_seconds": {"data": round(data.seconds, 1), "train": round(train_seconds, 1),
                         "total": round(total_seconds, 1)},
        "versions": {"python": platform.python_version(), "numpy": np.__version__, **versions},
        "machine": f"{platform.machine()}, {_cpu_count()} CPU cores",
        "command": f"python -m tlhelpers.{framework}.pretrain --epochs {hyper['epochs']} "
                   f"--n-train {hyper['n_train']} --seed {hyper['seed']}",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    course_record_path(framework, out).write_text(json.dumps(record, indent=2) + "\n")
    return record


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def main(framework: str, pretrain: Callable[..., dict[str, Any]], argv: list[str] | None = None) -> int:
    """The command line of ``python -m tlhelpers.<framework>.pretrain``."""
    parser = argparse.ArgumentParser(prog=f"python -m tlhelpers.{framework}.pretrain",
                                     description=f"Pretrain course_cnn on SynDigits with {framework} "
                                                 "and write its weights and record.")
    d = PRETRAIN_DEFAULTS
    parser.add_argument("--epochs", type=int, default=d["epochs"])
    parser.add_argument("--n-train", type=int, default=d["n_train"])
    parser.add_argument("--n-test", type=int, default=d["n_test"])
    parser.add_argument("--batch-size", type=int, default=d["batch_size"])
    parser.add_argument("--lr", type=float, default=d["lr"])
    parser.add_argument("--seed", type=int, default=d["seed"])
    parser.add_argument("--out-dir", default=None, help=f"default: {WEIGHTS_DIR}")
    args = parser.parse_args(argv)
    record = pretrain(n_train=args.n_train, n_test=args.n_test, epochs=args.epochs,
                      batch_size=args.batch_size, lr=args.lr, seed=args.seed, out_dir=args.out_dir)
    print(json.dumps({k: record[k] for k in ("framework", "weights_file", "syndigits_test_accuracy",
                                              "digits_test_accuracy", "wall_seconds")}, indent=2))
    return 0
