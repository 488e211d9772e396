"""What the text benchmarks share: the track's helpers, the tweets, the baselines and the
table. Everything is fixed before a run (recipes from the papers cited in each script);
nothing is selected on a test set."""

from __future__ import annotations

import importlib
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
#: Logistic-regression settings of every linear baseline (scikit-learn defaults, C = 1).
LR_KWARGS = dict(C=1.0, max_iter=2000)


def track_module(track: str):
    """``tlhelpers.<track>.text``, with the framework imported the course's way."""
    importlib.import_module(f"tlhelpers.{track}")
    return importlib.import_module(f"tlhelpers.{track}.text")


def set_threads(track: str, threads: int) -> None:
    if track == "torch":
        import torch

        torch.set_num_threads(threads)
    else:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {"accuracy": float(accuracy_score(y_true, y_pred)),
            "macro_f1": float(f1_score(y_true, y_pred, average="macro"))}


def tfidf_lr(train_x, train_y, test_x) -> np.ndarray:
    """The honest baseline: word 1-2-gram TF-IDF (sublinear tf) + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    clf = LogisticRegression(**LR_KWARGS).fit(vec.fit_transform(train_x), train_y)
    return clf.predict(vec.transform(test_x))


def features_lr(train_f, train_y, test_f) -> np.ndarray:
    """Feature-based transfer: the course's linear probe (standardised features, logistic
    regression with C = 1) on frozen sentence embeddings. Without the standardisation, C = 1
    on unit-norm embeddings regularises so hard that small sets get the majority class."""
    from tlhelpers.metrics import fit_linear_probe

    return fit_linear_probe(train_f, train_y, C=LR_KWARGS["C"]).predict(test_f)


def timed(fn: Callable, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def machine_line(track: str, threads: int) -> str:
    import os

    import resource

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024       # KiB on Linux
    return (f"{track} track, {platform.processor() or platform.machine()}, {threads} thread(s), "
            f"peak RSS {peak:.0f} MiB, load average {load:.1f} at the end, "
            f"{time.strftime('%Y-%m-%d %H:%M')}")


def write(name: str, text: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(text + "\n")
    print(text)
    print(f"\nwritten to {path}")
    return path


def mean_std(values: list[float]) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.3f} ± {v.std(ddof=1):.3f}" if len(v) > 1 else f"{v.mean():.3f}"
