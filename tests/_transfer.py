"""Shared, framework-parametrised experiments behind the transfer claims and parity tests.

Everything is seeded and sized for CI (the 100-image few-label setting is small anyway).
Frameworks are imported lazily, so a torch-only test never imports TensorFlow.
"""

from __future__ import annotations

import functools
import importlib

import numpy as np

SEEDS = (0, 1, 2)
LABELS_PER_CLASS = 10


def track(framework: str):
    """(backbones, training, seed_everything) of a track."""
    pkg = importlib.import_module(f"tlhelpers.{framework}")
    backbones = importlib.import_module(f"tlhelpers.{framework}.backbones")
    training = importlib.import_module(f"tlhelpers.{framework}.training")
    return backbones, training, pkg.seed_everything


@functools.lru_cache(maxsize=1)
def digits():
    """Digits train, Digits test, Digits-M test (embedded, fixed splits)."""
    from tlhelpers.data import load_dataset

    return (load_dataset("digits", "train"), load_dataset("digits", "test"),
            load_dataset("digits-m", "test"))


def probe_accuracies(framework: str, backbone) -> dict[str, list[float]]:
    """Frozen features + logistic regression on ``LABELS_PER_CLASS`` Digits per class.

    One fit per seed in :data:`SEEDS` (the seed picks the labelled images); accuracy on
    the Digits test set and on the Digits-M test set (same digits' domain, shifted).
    """
    from tlhelpers.metrics import fit_linear_probe

    B, _, _ = track(framework)
    train, test, test_m = digits()
    f_test = B.extract_features(backbone, test, progress=False)
    f_test_m = B.extract_features(backbone, test_m, progress=False)
    out: dict[str, list[float]] = {"digits": [], "digits_m": []}
    for seed in SEEDS:
        sub = train.per_class(LABELS_PER_CLASS, seed)
        clf = fit_linear_probe(B.extract_features(backbone, sub, progress=False), sub.y)
        out["digits"].append(float(clf.score(f_test, test.y)))
        out["digits_m"].append(float(clf.score(f_test_m, test_m.y)))
    return out


@functools.lru_cache(maxsize=4)
def pretrained_probe(framework: str) -> dict[str, list[float]]:
    B, _, _ = track(framework)
    return probe_accuracies(framework, B.course_cnn(pretrained=True))


@functools.lru_cache(maxsize=4)
def random_probe(framework: str) -> dict[str, list[float]]:
    """The same protocol on randomly initialised backbones (one init per seed)."""
    B, _, seed_everything = track(framework)
    accs = []
    for seed in SEEDS:
        seed_everything(seed)
        backbone = B.course_cnn(pretrained=False)
        accs.append(_probe_one(framework, backbone, seed))
    return {"digits": accs}


def _probe_one(framework: str, backbone, seed: int) -> float:
    from tlhelpers.metrics import linear_probe_accuracy

    B, _, _ = track(framework)
    train, test, _ = digits()
    sub = train.per_class(LABELS_PER_CLASS, seed)
    return linear_probe_accuracy(B.extract_features(backbone, sub, progress=False), sub.y,
                                 B.extract_features(backbone, test, progress=False), test.y)


def train_end_to_end(framework: str, seed: int, *, pretrained: bool, epochs: int = 30,
                     lr: float = 1e-3) -> float:
    """Digits test accuracy of course_cnn + head trained end to end on the 100 images.

    ``pretrained=False``: from scratch (BatchNorm learns its statistics).
    ``pretrained=True``: fine-tuning the course-pretrained backbone (BatchNorm kept in
    inference mode, as the course recommends). Same data, epochs, optimizer and seed.
    """
    B, T, seed_everything = track(framework)
    train, test, _ = digits()
    sub = train.per_class(LABELS_PER_CLASS, seed)
    seed_everything(seed)
    backbone = B.course_cnn(pretrained=pretrained)
    model = B.build_classifier(backbone, 10, freeze_backbone=False, bn_inference=pretrained)
    T.fit(model, sub, epochs=epochs, batch_size=20, lr=lr, seed=seed, progress=False)
    return T.evaluate(model, test)["accuracy"]


def mean_std(values) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0
