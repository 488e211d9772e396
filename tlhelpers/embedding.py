"""2-D pictures of a feature space: t-SNE or PCA of source and target features together.

Framework-neutral (NumPy in, NumPy and matplotlib out); the tracks' ``dann.domain_features``
give the features. Both domains are embedded **in one run**, so their positions can be
compared: a t-SNE fitted per domain would place them in unrelated coordinates.

* :func:`embed` — ``(N, d)`` features → ``(N, 2)`` points, seeded (scikit-learn's
  ``TSNE`` with PCA initialisation, or ``PCA``).
* :func:`plot_domains` — source and target on one scatter plot, marker = domain, colour =
  class; returns the axes and the points.

t-SNE keeps neighbourhoods, not distances or cluster sizes (Wattenberg et al., "How to use
t-SNE effectively", Distill 2016): read it for *which* points mix, and check a claim
such as "the domains overlap" with a number (the discriminator's accuracy, the proxy
A-distance of :func:`tlhelpers.divergence.proxy_a_distance`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["METHODS", "embed", "plot_domains"]

METHODS = ("tsne", "pca")


def _features(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (examples, features), got shape {a.shape}.")
    if len(a) == 0:
        raise ValueError(f"{name} is empty: there is nothing to embed.")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} holds NaN or infinite values.")
    return a


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}.")
    return int(seed)


def embed(features: Any, *, method: str = "tsne", seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """``(N, d)`` features → ``(N, 2)`` coordinates.

    ``method="tsne"``: ``sklearn.manifold.TSNE(perplexity, init="pca", random_state=seed)``
    (perplexity is lowered to (N − 1)/3 for small N, as t-SNE needs N > 3·perplexity);
    ``"pca"``: the first two principal components (deterministic). Same ``seed``, same picture.
    """
    x = _features(features, "features")
    seed = _check_seed(seed)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    if len(x) < 3:
        raise ValueError(f"features must hold at least 3 examples to embed in 2-D, got {len(x)}.")
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, svd_solver="full").fit_transform(x)
    from sklearn.manifold import TSNE

    try:
        perplexity = float(perplexity)
    except (TypeError, ValueError):
        perplexity = float("nan")
    if not perplexity > 0 or not np.isfinite(perplexity):
        raise ValueError(f"perplexity must be a finite number > 0, got {perplexity!r}.")
    perplexity = min(perplexity, max(1.0, (len(x) - 1) / 3.0))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)


def _subsample(n: int, max_points: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_points is None or n <= max_points:
        return np.arange(n)
    return np.sort(rng.choice(n, max_points, replace=False))


def plot_domains(source_features: Any, target_features: Any, *, source_labels: Any = None,
                 target_labels: Any = None, method: str = "tsne", seed: int = 0,
                 max_points: int | None = 500, ax: Any = None, title: str | None = None,
                 class_names: list[str] | None = None) -> tuple[Any, np.ndarray]:
    """Embed source and target features together (:func:`embed`) and draw them.

    Marker and edge = domain (source ○, target ×); colour = class when labels are given
    (target labels are only *drawn*, never used to fit anything). At most ``max_points``
    per domain, drawn at random with ``seed``. Returns ``(ax, points)``, where ``points``
    is the ``(n_source + n_target, 2)`` embedding, source rows first.
    """
    import matplotlib.pyplot as plt

    xs, xt = _features(source_features, "source_features"), _features(target_features, "target_features")
    if xs.shape[1] != xt.shape[1]:
        raise ValueError(f"source_features and target_features must have the same width, got {xs.shape[1]} "
                         f"and {xt.shape[1]}.")
    seed = _check_seed(seed)
    if max_points is not None and (isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer))
                                   or max_points < 2):
        raise ValueError(f"max_points must be an integer >= 2 or None, got {max_points!r}.")
    rng = np.random.default_rng(seed)
    i_s, i_t = _subsample(len(xs), max_points, rng), _subsample(len(xt), max_points, rng)
    labels = []
    for name, y, x, idx in (("source_labels", source_labels, xs, i_s), ("target_labels", target_labels, xt, i_t)):
        if y is None:
            labels.append(None)
            continue
        y = np.asarray(y).reshape(-1)
        if len(y) != len(x):
            raise ValueError(f"{name} has {len(y)} labels for {len(x)} examples.")
        labels.append(y[idx].astype(int))
    points = embed(np.concatenate([xs[i_s], xt[i_t]]), method=method, seed=seed)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    cmap = plt.get_cmap("tab10")
    for d, (name, marker, sl, y) in enumerate((("source", "o", slice(0, len(i_s)), labels[0]),
                                              ("target", "x", slice(len(i_s), None), labels[1]))):
        p = points[sl]
        if y is None:
            ax.scatter(p[:, 0], p[:, 1], s=12, marker=marker, color=cmap(d), alpha=0.6, label=name)
            continue
        colours = cmap(y % 10)
        if marker == "o":
            ax.scatter(p[:, 0], p[:, 1], s=14, marker="o", facecolors="none", edgecolors=colours, alpha=0.7,
                       label=name)
        else:
            ax.scatter(p[:, 0], p[:, 1], s=14, marker="x", color=colours, alpha=0.7, label=name)
    if any(y is not None for y in labels):
        classes = np.unique(np.concatenate([y for y in labels if y is not None]))
        for c in classes[:10]:
            ax.scatter([], [], color=cmap(c % 10), marker="s",
                       label=class_names[c] if class_names is not None and c < len(class_names) else f"class {c}")
    axis = "t-SNE" if method == "tsne" else "PC"
    ax.set_xlabel(f"{axis} 1")
    ax.set_ylabel(f"{axis} 2")
    ax.set_title(title or f"features, {'t-SNE' if method == 'tsne' else 'PCA'} of both domains together")
    ax.legend(fontsize=7, loc="best", ncol=2)
    return ax, points
