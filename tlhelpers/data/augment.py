"""Label-preserving augmentation of NHWC digit images in [0, 1], in NumPy.

Framework-neutral on purpose: the same generator state gives the same images, so the
Keras and PyTorch tracks (and their pretraining of ``course_cnn``) see the same stream.
``augment_digits`` is the course's augmentation for digits; ``thicken_strokes``,
``ink_mask`` and ``low_resolution`` model how the real Digits images were made (see
:func:`augment_digits`).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["augment_digits", "ink_mask", "low_resolution", "thicken_strokes"]


def augment_digits(x: np.ndarray, rng: np.random.Generator, *, max_shift: int = 3,
                   zoom: tuple[float, float] = (0.9, 1.3), max_rotation: float = 10.0,
                   p_blur: float = 0.5, p_gray: float = 0.2, p_invert: float = 0.2,
                   p_thick: float = 0.0, p_ink: float = 0.0, p_lowres: float = 0.0,
                   lowres_size: int = 8, lowres_levels: int | None = 17) -> np.ndarray:
    """Random, label-preserving changes to a batch of NHWC images in [0, 1] (a new array).

    Per image: a zoom by a factor drawn from ``zoom`` and a rotation of up to
    ``max_rotation`` degrees about the centre, a translation of up to ``max_shift``
    pixels (edges repeated), a Gaussian blur (sigma 0.5, 1 or 1.5 px) with probability
    ``p_blur``, conversion to grey with ``p_gray`` and colour inversion with ``p_invert``.

    Then, off by default, three changes that make a source look like the *image
    formation* of the real Digits, in the spirit of SynNumbers, which Ganin et al. designed
    to resemble SVHN — without any target image or label. The UCI scanner behind sklearn's
    Digits drew size-normalised binary bitmaps of the ink and counted the ink pixels in 4×4
    blocks (8×8 images, 17 levels, white ink on black); the course loader upsamples them
    bicubically to 32×32. So: strokes thickened by a 3×3 grey dilation of the ink
    (:func:`thicken_strokes`) with ``p_thick``; a binary white-ink-on-black bitmap
    (:func:`ink_mask`) with ``p_ink``; and, with ``p_lowres``, the image seen through a
    ``lowres_size``×``lowres_size`` sensor with ``lowres_levels`` grey levels and brought
    back with the loader's interpolation (:func:`low_resolution`). Which of them the
    course's SynDigits pretraining uses was chosen without the Digits test set
    (:mod:`tlhelpers.pretraining`).

    The same generator state gives the same images, so the Keras and PyTorch pretrainings
    see the same stream.
    """
    from scipy.ndimage import gaussian_filter

    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of images (N, H, W, C), got shape {x.shape}.")
    n, h, w, c = x.shape
    scale = rng.uniform(zoom[0], zoom[1], n)
    angle = np.deg2rad(rng.uniform(-max_rotation, max_rotation, n))
    geo = _zoom_rotate(x, scale, angle)
    s = int(max_shift)
    out = np.empty_like(x)
    if s > 0:
        padded = np.pad(geo, ((0, 0), (s, s), (s, s), (0, 0)), mode="edge")
        dy = rng.integers(0, 2 * s + 1, n)
        dx = rng.integers(0, 2 * s + 1, n)
        for oy in range(2 * s + 1):          # group by offset: (2s+1)^2 vectorised crops
            for ox in range(2 * s + 1):
                idx = np.flatnonzero((dy == oy) & (dx == ox))
                if idx.size:
                    out[idx] = padded[idx, oy:oy + h, ox:ox + w]
    else:
        out[:] = geo
    sigma = np.where(rng.random(n) < p_blur, rng.choice([0.5, 1.0, 1.5], n), 0.0)
    for sg in (0.5, 1.0, 1.5):
        idx = np.flatnonzero(sigma == sg)
        if idx.size:
            out[idx] = gaussian_filter(out[idx], sigma=(0, sg, sg, 0), mode="nearest")
    gray = np.flatnonzero(rng.random(n) < p_gray)
    if gray.size:
        out[gray] = out[gray].mean(axis=-1, keepdims=True)
    inv = np.flatnonzero(rng.random(n) < p_invert)
    if inv.size:
        out[inv] = 1.0 - out[inv]
    np.clip(out, 0.0, 1.0, out=out)
    thick = np.flatnonzero(rng.random(n) < p_thick)
    if thick.size:
        out[thick] = thicken_strokes(out[thick])
    ink = np.flatnonzero(rng.random(n) < p_ink)
    if ink.size:
        out[ink] = ink_mask(out[ink])
    low = np.flatnonzero(rng.random(n) < p_lowres)
    if low.size:
        out[low] = low_resolution(out[low], lowres_size, levels=lowres_levels)
    return out


def thicken_strokes(x: np.ndarray, size: int = 3) -> np.ndarray:
    """Thicker ink: a ``size``×``size`` grey dilation where the ink is the bright side of an
    image (its mean above its median: background dominates the median), else an erosion."""
    from scipy.ndimage import grey_dilation, grey_erosion

    x = np.asarray(x, dtype=np.float32)
    luma = x.mean(axis=-1).reshape(len(x), -1)
    bright = luma.mean(axis=1) > np.median(luma, axis=1)
    out = np.empty_like(x)
    for sel, op in ((bright, grey_dilation), (~bright, grey_erosion)):
        idx = np.flatnonzero(sel)
        if idx.size:
            out[idx] = op(x[idx], size=(1, size, size, 1), mode="nearest")
    return out


def ink_mask(x: np.ndarray) -> np.ndarray:
    """Binary white-ink-on-black versions of NHWC images: luma thresholded halfway between
    each image's darkest and brightest pixel, the ink being the side that covers less of
    the image (a bitmap, as the UCI scanner made before its 4×4 block counts)."""
    x = np.asarray(x, dtype=np.float32)
    luma = x.mean(axis=-1)
    flat = luma.reshape(len(x), -1)
    mid = ((flat.min(axis=1) + flat.max(axis=1)) / 2)[:, None, None]
    above = luma > mid
    bright_ink = above.reshape(len(x), -1).mean(axis=1) < 0.5
    mask = np.where(bright_ink[:, None, None], above, ~above).astype(np.float32)
    return np.repeat(mask[..., None], x.shape[-1], axis=-1)


def low_resolution(x: np.ndarray, size: int = 8, *, levels: int | None = 17) -> np.ndarray:
    """NHWC images in [0, 1] seen through a ``size``×``size`` sensor, back at their size.

    Area-average down to ``size``×``size`` pixels, quantise to ``levels`` grey levels
    (``None``: no quantisation), then upsample with the interpolation the Digits loader
    uses (scikit-image ``resize``, bicubic spline, ``mode="edge"``), clipped to [0, 1].
    With the defaults this is exactly how the real Digits images were made from their
    8×8, 17-level scans: an *image-formation* model of the target, no target data.
    """
    x = np.asarray(x, dtype=np.float32)
    n, h, w, c = x.shape
    if h % size or w % size:
        raise ValueError(f"image side {h}x{w} is not a multiple of size={size}.")
    small = x.reshape(n, size, h // size, size, w // size, c).mean(axis=(2, 4))
    if levels is not None:
        small = np.round(small * (levels - 1)) / np.float32(levels - 1)
    up_h, up_w = _upsampler(size, h), _upsampler(size, w)
    big = np.einsum("ia,nabc,jb->nijc", up_h, small, up_w, optimize=True)
    return np.clip(big, 0.0, 1.0).astype(np.float32)


@functools.lru_cache(maxsize=8)
def _upsampler(small: int, big: int) -> np.ndarray:
    """The (big, small) matrix of skimage's bicubic ``resize`` along one axis.

    Spline interpolation is separable, so resizing an image is ``U @ image @ U.T``; the
    matrix is read off by resizing the unit vectors (no clipping, so it stays linear).
    """
    from skimage.transform import resize

    eye = np.eye(small, dtype=np.float64)[:, :, None]
    cols = resize(eye, (small, big, 1), order=3, mode="edge", anti_aliasing=False,
                  preserve_range=True, clip=False)[:, :, 0]
    return np.ascontiguousarray(cols.T, dtype=np.float32)


def _zoom_rotate(x: np.ndarray, scale: np.ndarray, angle: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Zoom image i by ``scale[i]`` and rotate it by ``angle[i]`` radians about its centre.

    Bilinear interpolation, edges repeated; vectorised over the batch in chunks.
    """
    n, h, w, _ = x.shape
    cy, cx = (h - 1) / 2, (w - 1) / 2
    gy, gx = np.meshgrid(np.arange(h, dtype=np.float32) - cy, np.arange(w, dtype=np.float32) - cx,
                         indexing="ij")
    out = np.empty_like(x)
    for start in range(0, n, chunk):
        sl = slice(start, start + chunk)
        cos = (np.cos(angle[sl]) / scale[sl]).astype(np.float32)[:, None, None]
        sin = (np.sin(angle[sl]) / scale[sl]).astype(np.float32)[:, None, None]
        # output pixel p samples the input at R(p - centre) / scale + centre
        sy = np.clip(cos * gy - sin * gx + cy, 0, h - 1)
        sx = np.clip(sin * gy + cos * gx + cx, 0, w - 1)
        y0 = np.minimum(np.floor(sy).astype(np.intp), h - 2)
        x0 = np.minimum(np.floor(sx).astype(np.intp), w - 2)
        fy = (sy - y0).astype(np.float32)[..., None]
        fx = (sx - x0).astype(np.float32)[..., None]
        flat = x[sl].reshape(-1, x.shape[-1])            # (chunk*h*w, C): one gather per corner
        base = (np.arange(len(cos))[:, None, None] * h + y0) * w + x0
        top = flat[base] * (1 - fx) + flat[base + 1] * fx
        bottom = flat[base + w] * (1 - fx) + flat[base + w + 1] * fx
        out[sl] = top * (1 - fy) + bottom * fy
    return out
