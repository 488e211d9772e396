"""Fitting images to a model: resizing and grey/RGB conversion of float images in [0, 1].

Used by :meth:`Dataset.to_backbone`, :meth:`Dataset.to_shape`, ``from_arrays(image_size=,
channels=)`` and the real-dataset readers, so every path resizes the same way: Pillow's
bilinear filter on 32-bit float planes (no rounding to 8 bits; when shrinking, Pillow widens
the filter, so it also anti-aliases), and ITU-R BT.601 luma for RGB → grey, as Pillow's
``convert("L")`` does.
"""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def resize_images(images: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Float32 NHWC images in [0, 1] resized to ``size`` = side or (height, width)."""
    from PIL import Image

    h, w = (size, size) if isinstance(size, (int, np.integer)) else size
    images = np.asarray(images, dtype=np.float32)
    if images.shape[1:3] == (h, w):
        return images
    out = np.empty((len(images), h, w, images.shape[3]), dtype=np.float32)
    for i, img in enumerate(images):
        for c in range(img.shape[2]):
            plane = Image.fromarray(np.ascontiguousarray(img[:, :, c]), mode="F")
            out[i, :, :, c] = np.asarray(plane.resize((w, h), Image.Resampling.BILINEAR))
    return np.clip(out, 0.0, 1.0, out=out)


def to_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """NHWC images with 1 or 3 ``channels``: grey is repeated to RGB, RGB becomes luma."""
    have = images.shape[-1]
    if have == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=-1)
    return (images @ LUMA)[..., None].astype(np.float32)
