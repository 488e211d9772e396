r"""Explanations, framework-neutral: the arithmetic of saliency and Grad-CAM once the
tracks have the gradients, map normalisation and overlays, and the statistics of the
model-randomisation sanity check.

Both tracks (``tlhelpers.keras.explain``, ``tlhelpers.torch.explain``) do the part that
needs autodiff — a forward pass in inference mode, the gradient of one class's **logit**
— and hand channels-last NumPy arrays to the functions here:

* **Vanilla gradient saliency** (Simonyan et al., ICLR Workshop 2014):
  :math:`M_{ij} = \max_c |\partial y^{\text{logit}}_k / \partial x_{ijc}|` —
  :func:`saliency_from_gradients`.
* **Grad-CAM** (Selvaraju et al., ICCV 2017): with :math:`A^k` the ``K`` feature maps of a
  convolutional layer and :math:`y_c` the class's logit, channel weights
  :math:`\alpha_k = \frac{1}{hw}\sum_{ij} \partial y_c / \partial A^k_{ij}` (spatially
  averaged gradients) and :math:`L = \mathrm{ReLU}(\sum_k \alpha_k A^k)` — the ReLU keeps
  only what speaks *for* the class — upsampled to the input bilinearly —
  :func:`gradcam_from_gradients`, :func:`upsample`.

Why logits and inference mode (COURSE.md §5 item 22): the gradient of a softmax
probability mixes in every other class (:math:`\partial p_c = p_c(\partial y_c - \sum_j
p_j \partial y_j)`) and vanishes when the model is confident; train mode makes BatchNorm
use the batch's statistics and dropout drop units, so the map of one image would depend on
the others in its batch and change from call to call.

**Sanity check** (Adebayo et al., NeurIPS 2018, "Sanity Checks for Saliency Maps"):
re-initialise the model's weights from the top down, one block more at a time (*cascading*)
or one block alone (*independent*), and compare each map with the original one by the
Spearman rank correlation and the SSIM of the normalised maps. A method whose maps stay the
same while the model is destroyed explains the image, not the model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from . import checks

__all__ = [
    "check_logits",
    "check_randomization",
    "gradcam_from_gradients",
    "map_similarity",
    "normalize_maps",
    "overlay",
    "randomization_check",
    "rank_correlation",
    "resolve_targets",
    "saliency_from_gradients",
    "show_explanations",
    "structural_similarity",
    "upsample",
]


def _batch(a: Any, ndim: int, name: str) -> np.ndarray:
    try:
        a = np.asarray(a)
    except (TypeError, ValueError) as err:
        checks.fail(name, "a numeric array", checks.Received(f"{type(a).__name__} ({err})"))
    if a.dtype.kind not in "biuf":
        checks.fail(name, "a numeric array", checks.Received(f"an array of dtype {a.dtype}"))
    a = a.astype(np.float64)
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}.")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return a


def resolve_targets(target: Any, logits: np.ndarray) -> np.ndarray:
    """The class to explain for each image: ``None`` → the predicted class (argmax of the
    logits), an int → that class for every image, a sequence → one class per image."""
    logits = _batch(logits, 2, "logits")
    n, num_classes = logits.shape
    if target is None:
        return logits.argmax(axis=1).astype(np.int64)
    if isinstance(target, (bool, np.bool_)):
        raise ValueError(f"target must be a class index, a sequence of them, or None, got {target!r}.")
    t = np.asarray(target)
    if t.ndim == 0:
        t = np.full(n, t)
    if t.ndim != 1 or len(t) != n or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"target must be None, a class index, or {n} class indices (one per image), "
                         f"got {target!r}.")
    if t.min() < 0 or t.max() >= num_classes:
        raise ValueError(f"target must hold class indices from 0 to {num_classes - 1} (the model has "
                         f"{num_classes} outputs), got {t.min() if t.min() < 0 else t.max()}.")
    return t.astype(np.int64)


def check_logits(outputs: np.ndarray) -> None:
    """Refuse model outputs that are probabilities (rows in [0, 1] summing to 1): gradients
    must be taken of the logits (COURSE.md §5 item 22)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim != 2 or outputs.shape[1] < 2:
        raise ValueError(f"model must output one logit per class, shape (N, num_classes), got {outputs.shape}.")
    if outputs.min() >= 0 and outputs.max() <= 1 and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-5):
        raise ValueError("model outputs probabilities (every row lies in [0, 1] and sums to 1): saliency and "
                         "Grad-CAM need the gradient of the class's logit, before the softmax. Explain the "
                         "model without its final softmax.")


def check_randomization(method: Any, cascade: Any, seed: Any) -> None:
    """The tracks' ``randomization_check`` options, checked before any model runs."""
    checks.one_of(method, "method", ("gradcam", "saliency"))
    checks.flag(cascade, "cascade")
    checks.non_negative_int(seed, "seed")


def saliency_from_gradients(gradients: Any) -> np.ndarray:
    """Vanilla gradient saliency: ``max`` over channels of ``|d logit / d input|``.

    ``gradients``: ``(N, H, W, C)``. Returns ``(N, H, W)``, not normalised.
    """
    return np.abs(_batch(gradients, 4, "gradients")).max(axis=-1)


def gradcam_from_gradients(activations: Any, gradients: Any) -> np.ndarray:
    """Grad-CAM at the layer's resolution: ``ReLU(sum_k mean_ij(dy/dA_k) * A_k)``.

    ``activations`` and ``gradients``: ``(N, h, w, K)`` channels-last, the gradient being
    that of the class's logit with respect to the activations. Returns ``(N, h, w)``, not
    normalised (see :func:`upsample`, :func:`normalize_maps`).
    """
    a = _batch(activations, 4, "activations")
    g = _batch(gradients, 4, "gradients")
    if a.shape != g.shape:
        raise ValueError(f"activations {a.shape} and gradients {g.shape} must have the same shape.")
    weights = g.mean(axis=(1, 2), keepdims=True)           # alpha_k, one per channel
    return np.maximum((weights * a).sum(axis=-1), 0.0)


def upsample(maps: Any, size: int | tuple[int, int]) -> np.ndarray:
    """Bilinear resize of ``(N, h, w)`` maps to ``size`` with half-pixel centres — what
    ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)``,
    ``tf.image.resize(method="bilinear")`` and OpenCV's ``resize`` compute when enlarging."""
    m = _batch(maps, 3, "maps")
    if isinstance(size, (int, np.integer)) and not isinstance(size, (bool, np.bool_)) and size < 1:
        raise ValueError(f"size must be positive, got {size!r}.")
    out_h, out_w = checks.image_size(size, "size")

    def weights(n_in: int, n_out: int) -> np.ndarray:
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        frac = src - lo
        w = np.zeros((n_out, n_in))
        w[np.arange(n_out), lo] += 1 - frac
        w[np.arange(n_out), hi] += frac
        return w

    wy, wx = weights(m.shape[1], out_h), weights(m.shape[2], out_w)
    return np.einsum("yh,nhw,xw->nyx", wy, m, wx)


def normalize_maps(maps: Any, eps: float = 1e-12) -> np.ndarray:
    """Each map scaled to [0, 1] by its own minimum and maximum; a constant map becomes 0."""
    eps = checks.number(eps, "eps", minimum=0.0)
    m = _batch(maps, 3, "maps")
    lo = m.min(axis=(1, 2), keepdims=True)
    span = m.max(axis=(1, 2), keepdims=True) - lo
    return np.where(span > eps, (m - lo) / np.maximum(span, eps), 0.0)


# --------------------------------------------------------------------------------------
# Comparing maps (the sanity check's statistics)
# --------------------------------------------------------------------------------------

def _pairs(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    a, b = _batch(a, 3, "a"), _batch(b, 3, "b")
    if a.shape != b.shape:
        raise ValueError(f"maps a {a.shape} and b {b.shape} must have the same shape (N, H, W).")
    return a, b


def rank_correlation(a: Any, b: Any) -> np.ndarray:
    """Spearman rank correlation between ``a[i]`` and ``b[i]`` over pixels, ``(N,)``
    (``scipy.stats.spearmanr``). A constant map shares no ranking: 0."""
    from scipy.stats import spearmanr

    a, b = _pairs(a, b)
    out = np.zeros(len(a))
    for i in range(len(a)):
        x, y = a[i].ravel(), b[i].ravel()
        if np.ptp(x) > 0 and np.ptp(y) > 0:
            out[i] = spearmanr(x, y).statistic
    return out


def structural_similarity(a: Any, b: Any) -> np.ndarray:
    """SSIM (``skimage.metrics.structural_similarity``) between each pair of maps, after
    :func:`normalize_maps`, ``(N,)``; window 7 (or the largest odd size that fits)."""
    from skimage.metrics import structural_similarity as ssim

    a, b = _pairs(a, b)
    a, b = normalize_maps(a), normalize_maps(b)
    win = min(7, *a.shape[1:])
    win -= 1 - win % 2
    if win < 3:
        raise ValueError(f"maps of {a.shape[1]}x{a.shape[2]} pixels are too small for SSIM (3x3 at least).")
    return np.array([ssim(x, y, data_range=1.0, win_size=win) for x, y in zip(a, b)])


def map_similarity(a: Any, b: Any) -> dict[str, float]:
    """Mean Spearman rank correlation and mean SSIM between two batches of maps."""
    return {"spearman": float(rank_correlation(a, b).mean()), "ssim": float(structural_similarity(a, b).mean())}


def randomization_check(explain: Callable[[], np.ndarray],
                        randomized: Callable[[Sequence[str]], AbstractContextManager],
                        blocks: Sequence[str], *, cascade: bool = True):
    """Adebayo et al.'s model-randomisation test, given a track's two pieces.

    Args:
        explain: computes the maps ``(N, H, W)`` of the model as it is *now*.
        randomized: ``randomized(names)`` is a context manager in which the blocks
            ``names`` are re-initialised (and restored on exit).
        blocks: block names from the output towards the input (``"head"`` first).
        cascade: randomise ``blocks[:k]`` for k = 1, 2, … (cascading); ``False``: each
            block alone (independent).

    Returns a ``pandas.DataFrame``, one row per step, first the unchanged model: columns
    ``randomized`` (which blocks), ``spearman`` and ``ssim`` (means over the images,
    against the original maps). They should fall well below 1 as soon as the head is
    re-initialised.
    """
    import pandas as pd

    for fn, name in ((explain, "explain"), (randomized, "randomized")):
        if not callable(fn):
            checks.fail(name, "a function", fn)
    if not isinstance(cascade, bool):
        raise ValueError(f"cascade must be True or False, got {cascade!r}.")
    if isinstance(blocks, str):
        checks.fail("blocks", "a list of block names", blocks, f"Write [{blocks!r}].")
    blocks = list(blocks)
    if not blocks:
        raise ValueError("blocks must name at least one block to randomise.")
    original = explain()
    rows = [{"randomized": "none", **map_similarity(original, original)}]
    for k, block in enumerate(blocks, start=1):
        names = blocks[:k] if cascade else [block]
        with randomized(names):
            maps = explain()
        rows.append({"randomized": " + ".join(names) if cascade else block, **map_similarity(original, maps)})
    table = pd.DataFrame(rows)
    table.attrs["method"] = ("cascading" if cascade else "independent") + " randomisation (Adebayo et al. 2018)"
    return table


# --------------------------------------------------------------------------------------
# Showing maps
# --------------------------------------------------------------------------------------

def overlay(image: Any, heatmap: Any, *, alpha: float = 0.45, cmap: str = "jet") -> np.ndarray:
    """An RGB image ``(H, W, 3)`` in [0, 1]: ``image`` (``(H, W)`` or ``(H, W, C)`` in [0, 1])
    blended with the normalised ``heatmap`` ``(H, W)`` coloured by ``cmap``."""
    import matplotlib

    img = _batch(image, np.ndim(image) if np.ndim(image) in (2, 3) else 3, "image")
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    heat = _batch(heatmap, 2, "heatmap")
    alpha = checks.number(alpha, "alpha", minimum=0.0, maximum=1.0)
    if cmap not in matplotlib.colormaps:
        checks.fail("cmap", "a Matplotlib colormap name such as 'jet' or 'viridis'", cmap)
    if img.ndim != 3 or img.shape[-1] != 3 or heat.shape != img.shape[:2]:
        raise ValueError(f"image (H, W[, C]) and heatmap (H, W) must match, got {np.shape(image)} and {heat.shape}.")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}.")
    colour = matplotlib.colormaps[cmap](normalize_maps(heat[None])[0])[..., :3]
    return np.clip((1 - alpha) * img + alpha * colour, 0, 1)


def show_explanations(images: Any, maps: Mapping[str, Any], *, labels: Sequence[str] | None = None,
                      n: int = 6, alpha: float = 0.45, title: str = ""):
    """A grid: one row per image, the image then each method's map over it.

    ``maps``: ``{method name: (N, H, W)}``; ``labels``: a caption per image (e.g.
    "pneumonia, p = 0.93"). Returns the figure.
    """
    import matplotlib.pyplot as plt

    images = _batch(images, 4, "images")
    if not isinstance(maps, Mapping) or not maps:
        raise ValueError("maps must be a non-empty mapping {method name: maps (N, H, W)}.")
    n = min(checks.positive_int(n, "n"), len(images))
    for name, m in maps.items():
        if np.shape(m)[:1] != images.shape[:1] or np.shape(m)[1:] != images.shape[1:3]:
            checks.fail("maps", f"one (H, W) = {images.shape[1:3]} map per image ({len(images)})",
                        checks.Received(f"maps[{name!r}] of shape {np.shape(m)}"))
    if labels is not None and (isinstance(labels, str) or len(labels) < n):
        checks.fail("labels", f"one caption per image shown ({n})", labels)
    if not isinstance(title, str):
        checks.fail("title", "a string", title)
    cols = 1 + len(maps)
    fig, axes = plt.subplots(n, cols, figsize=(1.9 * cols, 1.9 * n + 0.4), squeeze=False)
    for i in range(n):
        img = images[i]
        axes[i, 0].imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_title(labels[i] if labels is not None else "image", fontsize=8)
        for j, (name, m) in enumerate(maps.items(), start=1):
            axes[i, j].imshow(overlay(img, np.asarray(m)[i], alpha=alpha))
            axes[i, j].set_title(name, fontsize=8)
        for ax in axes[i]:
            ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
