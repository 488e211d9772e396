"""Digits-M: the real sklearn digits blended with photograph patches, like MNIST-M.

MNIST-M (Ganin & Lempitsky 2015; Ganin et al. JMLR 2016, §5.2.2) is MNIST with each
digit blended over a random patch of a colour photo from BSDS500 by the per-channel
absolute difference ``out = |patch − digit|``: where the (white) ink is, the photo's
colours are inverted; elsewhere the photo shows through. Same digits, very different
low-level statistics — a domain shift with the labels untouched.

Digits-M applies exactly that blend to :mod:`tlhelpers.data.digits` (32×32, the fixed
1 297 / 500 split), with patches from the colour photographs that ship with the
installed packages (no download): scikit-image's ``astronaut``, ``coffee``, ``chelsea``,
``rocket``, ``hubble_deep_field``, ``immunohistochemistry``, the left ``stereo_motorcycle``
view, and scikit-learn's ``china.jpg`` and ``flower.jpg``.

Each photo is resized so that its shorter side is 256 px (so a 32×32 patch shows some
texture, roughly the scale of MNIST-M's crops from 481×321 photos) and then **cut in two
at 70 % of its width**: training patches lie entirely in the left 70 %, test patches
entirely in the right 30 %. Train and test therefore never share a pixel of any photo,
while both see every photo. ``meta["patches"]`` records ``(photo, row, col)`` of every
patch so this can be checked.

Deterministic: the patch of every digit is a function of ``(seed, split)``.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from ._common import SPLITS, check_n, check_split, split_rng, stratified_take
from .dataset import Dataset
from .digits import load_digits
from .errors import DatasetError

NAME = "digits-m"
PHOTO_SIDE = 256     # shorter side of every photo after resizing
TRAIN_FRACTION = 0.7  # left part of each photo's width for train patches; the rest for test


def _photo_loaders() -> dict[str, object]:
    import skimage.data as skd

    def sklearn_image(file: str):
        def load():
            from sklearn.datasets import load_sample_image

            return load_sample_image(file)
        return load

    return {
        "astronaut": skd.astronaut,
        "coffee": skd.coffee,
        "chelsea": skd.chelsea,
        "rocket": skd.rocket,
        "hubble_deep_field": skd.hubble_deep_field,
        "immunohistochemistry": skd.immunohistochemistry,
        "motorcycle_left": lambda: skd.stereo_motorcycle()[0],
        "china.jpg": sklearn_image("china.jpg"),
        "flower.jpg": sklearn_image("flower.jpg"),
    }


@functools.lru_cache(maxsize=1)
def photos() -> tuple[tuple[str, np.ndarray], ...]:
    """The bundled colour photos, float32 RGB in [0, 1], shorter side :data:`PHOTO_SIDE`."""
    from skimage.transform import resize

    out = []
    for name, load in _photo_loaders().items():
        try:
            img = np.asarray(load())
        except Exception as err:  # a photo missing from this install is skipped, not fatal
            warnings.warn(f"Digits-M: photo {name!r} could not be loaded ({err}); skipping it.",
                          stacklevel=2)
            continue
        img = img[..., :3].astype(np.float32) / 255.0
        h, w = img.shape[:2]
        scale = PHOTO_SIDE / min(h, w)
        shape = (round(h * scale), round(w * scale), 3)
        img = resize(img, shape, order=1, anti_aliasing=True, preserve_range=True)
        out.append((name, np.clip(img, 0, 1).astype(np.float32)))
    if not out:
        raise DatasetError("Digits-M needs the photos bundled with scikit-image / scikit-learn; "
                           "none could be loaded.")
    return tuple(out)


def patch_region(width: int, split: str, patch: int) -> tuple[int, int]:
    """Allowed range ``[lo, hi]`` of a patch's left column in a photo of ``width`` for ``split``."""
    cut = int(round(width * TRAIN_FRACTION))
    if split == "train":
        return 0, cut - patch
    return cut, width - patch


def sample_patches(count: int, split: str, rng: np.random.Generator, patch: int = 32
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``count`` patches ``(count, patch, patch, 3)`` from ``split``'s side of every photo.

    Returns the patches and their origins ``(count, 3)``: photo index, row, column.
    """
    pool = photos()
    which = rng.integers(0, len(pool), count)
    origins = np.zeros((count, 3), dtype=np.int64)
    out = np.empty((count, patch, patch, 3), dtype=np.float32)
    for k, (_, img) in enumerate(pool):
        idx = np.flatnonzero(which == k)
        if not len(idx):
            continue
        h, w = img.shape[:2]
        lo, hi = patch_region(w, split, patch)
        rows = rng.integers(0, h - patch + 1, len(idx))
        cols = rng.integers(lo, hi + 1, len(idx))
        origins[idx] = np.stack([np.full(len(idx), k), rows, cols], axis=1)
        for i, r, c in zip(idx, rows, cols):
            out[i] = img[r:r + patch, c:c + patch]
    return out, origins


def make_digits_m(split: str = "train", *, n: int | None = None, seed: int = 0) -> Dataset:
    """Digits-M images ``(N, 32, 32, 3)`` float32 in [0, 1]: ``|photo patch − digit|``.

    Args:
        split: ``"train"`` (1 297 digits) or ``"test"`` (500): the Digits split, with patches
            from the disjoint left (train) / right (test) parts of the photos.
        n: a smaller stratified sample of the split; all when None.
        seed: picks the patches (and the sample when ``n`` is given).
    """
    import time

    split_index = check_split(split, SPLITS, name=NAME)
    start = time.perf_counter()
    digits = load_digits(split)
    n = check_n(n, name=NAME, maximum=len(digits))
    digits = stratified_take(digits, n, seed)
    rng = split_rng(seed, split_index, salt=3)
    patches, origins = sample_patches(len(digits), split, rng, patch=digits.x.shape[1])
    grey = digits.x[..., :1]
    x = np.abs(patches - grey).astype(np.float32)
    seconds = time.perf_counter() - start
    names = [name for name, _ in photos()]
    return Dataset(
        x=x, y=digits.y.copy(), class_names=list(digits.class_names), name=NAME, split=split,
        description=("Digits-M: the real sklearn handwritten digits (32x32) blended MNIST-M-style, "
                     "out = |photo patch - digit| per channel, with patches of photos bundled with "
                     "scikit-image and scikit-learn; train patches from the left 70% of each photo, "
                     "test patches from the right 30%."),
        synthetic=False, source="embedded",
        meta={"seed": int(seed), "photos": names, "photo_side": PHOTO_SIDE,
              "train_fraction": TRAIN_FRACTION, "patches": origins,
              "index": digits.meta["index"].copy(), "per_example": ("patches", "index"),
              "generation_seconds": round(seconds, 3),
              "domain": "real digits on photo patches (MNIST-M style)"},
    )
