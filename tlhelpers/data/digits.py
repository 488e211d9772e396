"""Digits: the real handwritten digits that ship with scikit-learn, at 32×32 RGB.

``sklearn.datasets.load_digits`` holds 1 797 handwritten digits (UCI "Optical
Recognition of Handwritten Digits": 8×8 images, 17 grey levels 0–16, white ink on black,
like MNIST). They are the course's offline *real* target domain, so they are brought to
the shape of the other digit sets: values divided by 16, upsampled 8→32 with bicubic
interpolation (scikit-image ``resize``, ``order=3``, clipped back to [0, 1]) and the
grey channel repeated three times.

The train/test split is fixed for everyone: a stratified split with 500 test images
(``sklearn.model_selection.train_test_split(test_size=500, stratify=y, random_state=0)``),
leaving 1 297 for training. ``seed`` only picks a smaller stratified sample when ``n``
asks for fewer images.
"""

from __future__ import annotations

import functools

import numpy as np

from ._common import SPLITS, check_n, check_split, integer, memory, stratified_take
from .dataset import Dataset
from .errors import DatasetError

NAME = "digits"
CLASS_NAMES = [str(d) for d in range(10)]
TEST_SIZE = 500
SPLIT_SEED = 0


@functools.lru_cache(maxsize=4)
def _digits32(image_size: int) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, i_train, x_test, y_test, i_test), grey ``(N, S, S)``; cached per size.

    ``i_*`` are the indices into ``sklearn.datasets.load_digits()``.
    """
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split
    from skimage.transform import resize

    raw = sk_load_digits()
    images = raw.images.astype(np.float32) / 16.0
    n = len(images)
    big = resize(images, (n, image_size, image_size), order=3, mode="edge",
                 anti_aliasing=False, preserve_range=True)
    big = np.clip(big, 0, 1).astype(np.float32)
    index = np.arange(n)
    train, test = train_test_split(index, test_size=TEST_SIZE, stratify=raw.target,
                                   random_state=SPLIT_SEED)
    train, test = np.sort(train), np.sort(test)
    y = raw.target.astype(np.int64)
    return big[train], y[train], train, big[test], y[test], test


def load_digits(split: str = "train", *, n: int | None = None, seed: int = 0,
                image_size: int = 32, channels: int = 3) -> Dataset:
    """The real sklearn digits as ``(N, S, S, channels)`` float32 in [0, 1].

    Args:
        split: ``"train"`` (1 297 images) or ``"test"`` (500), a fixed stratified split.
        n: a smaller stratified sample of the split (chosen by ``seed``); all when None.
        seed: only used when ``n`` is smaller than the split.
        image_size: output side (default 32, the size of SynDigits / SVHN / MNIST-M crops).
        channels: 3 (grey repeated, to match colour domains) or 1.
    """
    check_split(split, SPLITS, name=NAME)
    if isinstance(channels, bool) or channels not in (1, 3):
        raise DatasetError(f"channels must be 1 or 3, got {channels!r}.")
    image_size = integer(image_size, "image_size", minimum=8, maximum=512)
    memory(1297, (image_size, image_size, channels), "image_size")
    xtr, ytr, itr, xte, yte, ite = _digits32(int(image_size))
    grey, y, index = (xtr, ytr, itr) if split == "train" else (xte, yte, ite)
    n = check_n(n, name=NAME, maximum=len(y))
    x = np.repeat(grey[..., None], channels, axis=-1)
    ds = Dataset(
        x=x, y=y.copy(), class_names=list(CLASS_NAMES), name=NAME, split=split,
        description=("Digits (real): the 1 797 handwritten 8x8 digits bundled with scikit-learn "
                     "(UCI optical recognition of handwritten digits), upsampled bicubically to "
                     f"{image_size}x{image_size}; fixed stratified split 1 297 train / 500 test."),
        synthetic=False, source="embedded",
        meta={"origin": "sklearn.datasets.load_digits", "upsampling": "skimage resize order=3",
              "split_seed": SPLIT_SEED, "test_size": TEST_SIZE, "image_size": int(image_size),
              "domain": "real handwritten digits", "index": index.copy(),
              "per_example": ("index",)},
    )
    return stratified_take(ds, n, seed)
