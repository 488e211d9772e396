"""Plots the lessons share: image grids, convolution filters, feature maps.

Arrays follow the course's plain form: images ``(N, H, W, C)`` in [0, 1]; filters
``(kh, kw, in, out)`` (Keras's layout — the PyTorch track converts); feature maps
``(H, W, channels)``. Every function labels what it draws and returns the figure.
"""

from __future__ import annotations

import math

import numpy as np


def _grid(n: int, cols: int | None = None) -> tuple[int, int]:
    cols = cols or min(n, 8)
    return math.ceil(n / cols), cols


def show_images(images, labels=None, class_names=None, *, n: int = 16, title: str = "", cols: int | None = None):
    """A grid of the first ``n`` images with their class names."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C), got {images.shape}.")
    n = min(n, len(images))
    rows, cols = _grid(n, cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.45 * rows + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = images[i]
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None,
                  vmin=0, vmax=1)
        if labels is not None:
            label = int(labels[i])
            ax.set_title(class_names[label] if class_names is not None else str(label), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_filters(kernels, *, title: str = "First-layer filters", max_filters: int = 32):
    """Convolution filters ``(kh, kw, in, out)`` as small images, each scaled to its own range.

    RGB filters (3 input channels) are shown in colour, others as their channel mean.
    """
    import matplotlib.pyplot as plt

    kernels = np.asarray(kernels, dtype=np.float64)
    if kernels.ndim != 4:
        raise ValueError(f"kernels must have shape (kh, kw, in, out), got {kernels.shape}.")
    n = min(max_filters, kernels.shape[-1])
    rows, cols = _grid(n)
    fig, axes = plt.subplots(rows, cols, figsize=(1.1 * cols, 1.1 * rows + 0.5), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        k = kernels[..., i]
        k = k if k.shape[-1] == 3 else k.mean(axis=-1)
        lo, hi = k.min(), k.max()
        ax.imshow((k - lo) / (hi - lo + 1e-12), cmap=None if k.ndim == 3 else "gray", interpolation="nearest")
    fig.suptitle(f"{title} ({kernels.shape[0]}×{kernels.shape[1]}, {n} of {kernels.shape[-1]})")
    fig.tight_layout()
    return fig


def show_feature_maps(maps, *, title: str = "Feature maps", max_maps: int = 16):
    """The channels of one image's activations ``(H, W, channels)``, each with its own colour scale."""
    import matplotlib.pyplot as plt

    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (H, W, channels), got {maps.shape}.")
    n = min(max_maps, maps.shape[-1])
    rows, cols = _grid(n)
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols, 1.2 * rows + 0.5), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(maps[..., i], cmap="viridis")
            ax.set_title(f"ch {i}", fontsize=7)
    fig.suptitle(f"{title} ({maps.shape[0]}×{maps.shape[1]}, {n} of {maps.shape[-1]} channels)")
    fig.tight_layout()
    return fig
