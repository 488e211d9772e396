"""From the plain course :class:`~tlhelpers.data.Dataset` to a ``tf.data`` pipeline.

Mirrors :mod:`tlhelpers.torch.data` (same argument names and meaning): images stay
channels-last float32 in [0, 1], labels become int64 class indices (use a sparse
categorical loss), text becomes ``tf.string``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from .. import checks
from ..checks import positive_int
from ..data.dataset import Dataset


def _check(ds: Dataset, batch_size: int, seed: int) -> None:
    if not isinstance(ds, Dataset):
        raise TypeError(f"ds must be a tlhelpers.data.Dataset, got {type(ds).__name__}; "
                        "wrap arrays with tlhelpers.data.from_arrays(x, y).")
    batch_size = positive_int(batch_size, "batch_size")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if ds.is_text:
        return
    checks.image_batch(ds.x, "ds", allow_empty=True)


def to_tf_dataset(ds: Dataset, batch_size: int = 64, *, shuffle: bool = False, seed: int = 0,
                  augment: Callable[[Any], Any] | None = None,
                  drop_remainder: bool = False) -> tf.data.Dataset:
    """A batched, prefetched ``tf.data.Dataset`` of ``(x, y)`` pairs.

    Args:
        ds: the course dataset (images ``(N, H, W, C)`` float32, or texts).
        batch_size: examples per batch.
        shuffle: reshuffle every epoch (seeded by ``seed``, so runs repeat).
        seed: shuffling seed.
        augment: optional function applied to each *batch* of images on the fly, e.g. a
            ``keras.Sequential`` of ``RandomFlip``/``RandomRotation`` layers (called with
            ``training=True``) or any ``tf`` function; never applied to text.
        drop_remainder: drop the last, smaller batch (mirrors ``drop_last`` in PyTorch).
    """
    _check(ds, batch_size, seed)
    shuffle, drop_remainder = checks.flag(shuffle, "shuffle"), checks.flag(drop_remainder, "drop_remainder")
    if augment is not None and not callable(augment):
        checks.fail("augment", "a function or layer applied to each batch", augment)
    y = np.asarray(ds.y, dtype=np.int64)
    if ds.is_text:
        x = tf.constant(list(ds.x), dtype=tf.string)
    else:
        x = np.asarray(ds.x, dtype=np.float32)
    pipe = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        pipe = pipe.shuffle(len(y), seed=int(seed), reshuffle_each_iteration=True)
    pipe = pipe.batch(int(batch_size), drop_remainder=drop_remainder)
    if augment is not None and not ds.is_text:
        import keras

        if isinstance(augment, keras.layers.Layer):
            layer = augment
            fn = lambda xb, yb: (layer(xb, training=True), yb)  # noqa: E731
        else:
            fn = lambda xb, yb: (augment(xb), yb)  # noqa: E731
        pipe = pipe.map(fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return pipe.prefetch(tf.data.AUTOTUNE)
