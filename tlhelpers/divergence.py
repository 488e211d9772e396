"""Domain divergences, framework-neutral NumPy/scikit-learn reference implementations.

How far apart are two samples of features? Lesson 01 uses the proxy A-distance to read
the domain-adaptation bound; Lesson 03 adds MMD and CORAL. The tracks' differentiable
versions (``tlhelpers.{keras,torch}.divergence``) are held to these by parity tests.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = ["proxy_a_distance"]


def _as_2d(name: str, x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"{name} must have shape (n_samples, n_features), got {x.shape}.")
    return x.reshape(len(x), -1)


def proxy_a_distance(source, target, *, test_size: float = 0.5, seed: int = 0, C: float = 1.0) -> float:
    """Proxy A-distance between two feature sets (Ben-David et al. 2007; Ganin et al. 2016).

    A linear domain classifier learns to tell source from target features on one half of the
    data; its error ε on the *other* half gives PAD = 2(1 − 2ε), clipped to [0, 2]. Training
    error would reward memorisation (PAD near 2 for any two samples), and without clipping a
    classifier worse than chance would give a negative "distance". Both domains are
    subsampled to the same size so that ε = 0.5 means indistinguishable.
    """
    xs, xt = _as_2d("source", source), _as_2d("target", target)
    if xs.shape[1] != xt.shape[1]:
        raise ValueError(f"source and target need the same number of features, got {xs.shape[1]} and {xt.shape[1]}.")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size}.")
    rng = np.random.default_rng(seed)
    n = min(len(xs), len(xt))
    if n < 4:
        raise ValueError(f"need at least 4 examples per domain, got {n}.")
    xs = xs[rng.choice(len(xs), n, replace=False)]
    xt = xt[rng.choice(len(xt), n, replace=False)]
    x = np.concatenate([xs, xt])
    d = np.concatenate([np.zeros(n), np.ones(n)])
    x_fit, x_held, d_fit, d_held = train_test_split(x, d, test_size=test_size, stratify=d, random_state=seed)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    clf.fit(x_fit, d_fit)
    error = 1.0 - clf.score(x_held, d_held)
    return float(np.clip(2.0 * (1.0 - 2.0 * error), 0.0, 2.0))
