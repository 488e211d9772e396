"""A SYNTHETIC stand-in for a chest X-ray dataset (PneumoniaMNIST-like), for offline use.

This is **not medical data** and nothing learned on it says anything about patients. It
exists so that Lesson 07's pipeline — class imbalance, AUC/ROC, confusion matrices,
saliency — runs without a network, with a task that is neither trivial nor hopeless.
With a network, the lesson uses the real PneumoniaMNIST instead.

Each image is a procedurally drawn frontal chest radiograph: dark background, the soft
tissue of the trunk, two dark lung fields, the spine/mediastinum and a heart shadow
bulging to the image's right (the patient's left), rib arcs over the lungs, clavicles,
exposure and contrast that vary per image, smooth "scatter" and pixel noise. Anatomy
varies per image (position, size, lung shape, heart size, rib spacing).

Label ``"pneumonia"`` adds opacities inside the lung fields: patchy consolidations
(blobs modulated by smooth noise) and/or lower-zone haze, with a strength drawn from a
wide range so that some are faint. ``"normal"`` images also carry faint confounders
(vessel-like blobs near the hila, soft-tissue shadows), so the classes overlap: a small
CNN should do well but not perfectly. About 74 % of the images are pneumonia (set by
``pneumonia_fraction``), the imbalance of PneumoniaMNIST.

Images are drawn at twice the output size and area-downsampled; grey ``(N, S, S, 1)``
float32 in [0, 1], ``S`` = 28 by default (MedMNIST's size) or e.g. 64.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.ndimage import gaussian_filter

from ._common import SPLITS, check_n, check_split, integer, memory, number, split_rng
from .dataset import Dataset

NAME = "medical-standin"
CLASS_NAMES = ["normal", "pneumonia"]
DEFAULT_PNEUMONIA_FRACTION = 0.74
_CHUNK = 256


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _ellipse(u, v, cu, cv, au, av, softness):
    """Soft ellipse mask (1 inside, 0 outside) for per-image centres/axes of shape (B, 1, 1)."""
    r = np.sqrt(((u - cu) / au) ** 2 + ((v - cv) / av) ** 2)
    return _sigmoid((1.0 - r) / softness)


def _blobs(u, v, rng, b, k, where_u, where_v, sigma):
    """Sum over up to ``k`` Gaussian blobs per image; blob j is active when ``where_*`` says so."""
    cu = rng.uniform(*where_u, (b, k))
    cv = rng.uniform(*where_v, (b, k))
    s = rng.uniform(*sigma, (b, k))
    out = np.zeros((b,) + u.shape[1:], dtype=np.float32)
    for j in range(k):
        d2 = (u - cu[:, j, None, None]) ** 2 + (v - cv[:, j, None, None]) ** 2
        out += np.exp(-d2 / (2 * s[:, j, None, None] ** 2)).astype(np.float32)
    return out, cu


def _draw(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """One chunk of radiographs for ``labels`` at ``size`` (drawn at 2× and downsampled)."""
    b, big = len(labels), 2 * size
    ax = np.linspace(-1, 1, big, dtype=np.float32)
    v0, u0 = np.meshgrid(ax, ax, indexing="ij")       # v: down, u: right
    # Per-image pose: shift and scale of the whole chest.
    du = rng.uniform(-0.06, 0.06, (b, 1, 1))
    dv = rng.uniform(-0.05, 0.07, (b, 1, 1))
    sc = rng.uniform(0.9, 1.08, (b, 1, 1))
    u = ((u0[None] - du) / sc).astype(np.float32)
    v = ((v0[None] - dv) / sc).astype(np.float32)

    body = _ellipse(u, v, 0, 0.25, rng.uniform(0.95, 1.08, (b, 1, 1)), 1.3, 0.06)
    shoulders = _ellipse(u, v, 0, -0.6, 1.15, 0.35, 0.1)
    trunk = np.maximum(body, shoulders)

    lung_h = rng.uniform(0.62, 0.74, (b, 1, 1))
    lung_w = rng.uniform(0.3, 0.36, (b, 1, 1))
    lung_v = rng.uniform(-0.1, 0.02, (b, 1, 1))
    right = _ellipse(u, v, -0.43, lung_v, lung_w, lung_h, 0.07)        # image left
    left = _ellipse(u, v, 0.44, lung_v + 0.03, lung_w * 0.95, lung_h * 0.96, 0.07)
    # Diaphragm domes cut the lung bases: highest mid-lung, lower at the costophrenic angles.
    base = lung_v + 0.8 * lung_h + 0.9 * (np.abs(u) - 0.42) ** 2
    dome = _sigmoid((base - v) / 0.04)
    lungs = np.maximum(right, left) * dome

    spine = _sigmoid((0.09 - np.abs(u - 0.01)) / 0.02) * trunk
    heart = _ellipse(u, v, rng.uniform(0.1, 0.18, (b, 1, 1)), lung_v + 0.36,
                     rng.uniform(0.26, 0.36, (b, 1, 1)), rng.uniform(0.22, 0.3, (b, 1, 1)), 0.1)
    clav = (np.exp(-((v - (-0.62 + 0.22 * np.abs(u) ** 1.5 + lung_v)) ** 2) / (2 * 0.025 ** 2))
            * _sigmoid((0.8 - np.abs(u)) / 0.05) * _sigmoid((np.abs(u) - 0.08) / 0.03))

    spacing = rng.uniform(0.14, 0.19, (b, 1, 1))
    phase = rng.uniform(0, 1, (b, 1, 1))
    rib_v = v - 0.35 * np.abs(u) ** 2                     # arcs falling laterally
    ribs = np.maximum(np.cos(2 * np.pi * (rib_v / spacing + phase)), 0) ** 3

    # Normal variation that looks a little like disease: hilar vessel blobs, soft tissue.
    hila, _ = _blobs(u, v, rng, b, 3, (-0.3, 0.3), (-0.15, 0.25), (0.05, 0.1))
    confound = rng.uniform(0.0, 0.12, (b, 1, 1)) * hila
    soft, _ = _blobs(u, v, rng, b, 2, (-0.6, 0.6), (0.1, 0.5), (0.15, 0.3))
    confound += rng.uniform(0.0, 0.08, (b, 1, 1)) * soft

    # Pneumonia: patchy consolidation and/or lower-zone haze, only inside the lungs.
    sick = (labels == 1)[:, None, None]
    patch_blobs, _ = _blobs(u, v, rng, b, 4, (-0.6, 0.6), (-0.2, 0.55), (0.07, 0.2))
    active = rng.uniform(0, 1, (b, 1, 1)) < 0.8
    texture = gaussian_filter(rng.standard_normal((b, big, big)).astype(np.float32), (0, big / 28, big / 28))
    texture /= texture.std(axis=(1, 2), keepdims=True) + 1e-6
    patchy = np.clip(patch_blobs, 0, 1) * (1 + 0.6 * texture) * active
    haze = _sigmoid((v - (lung_v + rng.uniform(0.05, 0.35, (b, 1, 1)))) / 0.12) * (~active | (rng.uniform(0, 1, (b, 1, 1)) < 0.3))
    strength = rng.uniform(0.06, 0.34, (b, 1, 1))
    opacity = sick * strength * np.clip(patchy + 0.8 * haze, 0, 1.5) * lungs

    img = (0.04 + 0.42 * trunk + 0.2 * spine + 0.08 * heart * trunk + 0.15 * clav * trunk
           - rng.uniform(0.26, 0.38, (b, 1, 1)) * lungs * (1 - 0.75 * heart)
           + rng.uniform(0.04, 0.09, (b, 1, 1)) * ribs * lungs
           + confound * lungs + opacity)
    scatter = gaussian_filter(rng.standard_normal((b, big, big)).astype(np.float32), (0, big / 8, big / 8))
    img += 0.25 * scatter * trunk
    # Exposure and contrast vary per image, then pixel noise.
    gamma = rng.uniform(0.75, 1.3, (b, 1, 1))
    img = np.clip(img, 0, 1) ** gamma * rng.uniform(0.85, 1.1, (b, 1, 1))
    img = img.reshape(b, size, 2, size, 2).mean(axis=(2, 4))
    img += rng.normal(0, 1, img.shape) * rng.uniform(0.01, 0.035, (b, 1, 1))
    return np.clip(img, 0, 1).astype(np.float32)


def make_medical_standin(split: str = "train", *, n: int | None = None, seed: int = 0,
                         image_size: int = 28,
                         pneumonia_fraction: float = DEFAULT_PNEUMONIA_FRACTION) -> Dataset:
    """SYNTHETIC chest-radiograph-like images ``(n, S, S, 1)``, ``["normal", "pneumonia"]``.

    Args:
        split: ``"train"`` or ``"test"`` (independent random streams).
        n: number of images (default 4 000 train / 1 000 test).
        seed: everything is a function of ``(seed, split)``.
        image_size: side ``S`` (28 like MedMNIST; 64 for a closer look).
        pneumonia_fraction: share of pneumonia images; exactly ``round(fraction * n)``.
    """
    split_index = check_split(split, SPLITS, name=NAME)
    n = check_n(n, name=NAME)
    if n is None:
        n = 4_000 if split == "train" else 1_000
    image_size = integer(image_size, "image_size", minimum=16, maximum=256)
    pneumonia_fraction = number(pneumonia_fraction, "pneumonia_fraction", minimum=0.0,
                                maximum=1.0, exclusive_min=True, exclusive_max=True)
    memory(n, (image_size, image_size, 1))
    start = time.perf_counter()
    rng = split_rng(seed, split_index, salt=11)
    n_sick = int(round(pneumonia_fraction * n))
    y = rng.permutation(np.r_[np.zeros(n - n_sick), np.ones(n_sick)]).astype(np.int64)
    x = np.empty((n, image_size, image_size, 1), dtype=np.float32)
    for lo in range(0, n, _CHUNK):
        x[lo:lo + _CHUNK, ..., 0] = _draw(y[lo:lo + _CHUNK], int(image_size), rng)
    seconds = time.perf_counter() - start
    return Dataset(
        x=x, y=y, class_names=list(CLASS_NAMES), name=NAME, split=split,
        description=("SYNTHETIC stand-in, not medical data: procedurally drawn chest-radiograph-like "
                     f"images ({image_size}x{image_size} grey) with lungs, ribs, heart and noise; "
                     "'pneumonia' adds patchy lung opacities of varying strength. "
                     f"{n_sick} of {n} are pneumonia ({n_sick / n:.0%}), mimicking PneumoniaMNIST's "
                     "imbalance. For running Lesson 07 offline only."),
        synthetic=True, source="embedded",
        meta={"seed": int(seed), "image_size": int(image_size), "pneumonia_fraction": float(pneumonia_fraction),
              "generation_seconds": round(seconds, 3), "domain": "synthetic chest radiographs",
              "stands_in_for": "PneumoniaMNIST"},
    )
