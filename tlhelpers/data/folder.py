"""Bring your own data: a folder of images, or arrays you already have, as a course Dataset.

Both return the same plain :class:`Dataset` as the built-in datasets, so every helper and
both framework adapters work on your data unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .dataset import Dataset
from .errors import DatasetError

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def _size_pair(image_size: int | Sequence[int] | None) -> tuple[int, int] | None:
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)):
        image_size = (int(image_size), int(image_size))
    if (len(image_size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in image_size)):
        raise DatasetError(f"image_size must be a positive int or (height, width), got {image_size!r}.")
    return int(image_size[0]), int(image_size[1])


def from_folder(path: str | Path, image_size: int | Sequence[int] | None = (32, 32), *,
                channels: int = 3, class_names: Sequence[str] | None = None,
                extensions: Sequence[str] = IMAGE_EXTENSIONS, skip_unreadable: bool = False,
                name: str | None = None, split: str = "all", description: str | None = None) -> Dataset:
    """Read ``path/<class>/<image>`` files into a Dataset (one subfolder per class).

    Images are converted to RGB (``channels=3``) or grey (``channels=1``) with Pillow and
    resized to ``image_size`` = (height, width) with bicubic resampling; ``None`` keeps
    the original size, which must then be the same for all. Classes are the subfolder
    names in sorted order, unless ``class_names`` gives the order (and the subset) to use.
    Files are read in sorted order, so the result is the same on every machine.

    Raises :class:`DatasetError` for a missing folder, no class folders, a class without
    images, or unreadable files (listed; pass ``skip_unreadable=True`` to skip them).
    """
    from PIL import Image, UnidentifiedImageError

    root = Path(path).expanduser()
    if not root.exists():
        raise DatasetError(f"path {str(root)!r} does not exist; expected a folder with one "
                           "subfolder of images per class.")
    if not root.is_dir():
        raise DatasetError(f"path {str(root)!r} is a file; expected a folder with one subfolder "
                           "of images per class.")
    if channels not in (1, 3):
        raise DatasetError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}.")
    size = _size_pair(image_size)
    exts = tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)

    found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if class_names is None:
        class_names = found
    else:
        class_names = list(class_names)
        missing = [c for c in class_names if c not in found]
        if missing:
            raise DatasetError(f"class folder(s) {missing} not found in {str(root)!r}; it has {found}.")
    if not class_names:
        raise DatasetError(f"{str(root)!r} has no class subfolders; expected path/<class>/<image>.")

    images, labels, bad = [], [], []
    for label, cls in enumerate(class_names):
        files = sorted(p for p in (root / cls).iterdir()
                       if p.is_file() and p.suffix.lower() in exts and not p.name.startswith("."))
        if not files:
            raise DatasetError(f"class folder {str(root / cls)!r} holds no images with extensions "
                               f"{', '.join(exts)}.")
        for file in files:
            try:
                with Image.open(file) as img:
                    img = img.convert("RGB" if channels == 3 else "L")
                    if size is not None and img.size != (size[1], size[0]):
                        img = img.resize((size[1], size[0]), Image.Resampling.BICUBIC)
                    arr = np.asarray(img, dtype=np.float32) / 255.0
            except (UnidentifiedImageError, OSError, ValueError) as err:
                bad.append(f"{file} ({type(err).__name__})")
                continue
            images.append(arr if channels == 3 else arr[..., None])
            labels.append(label)
    if bad and not skip_unreadable:
        shown = "; ".join(bad[:5]) + (f"; … {len(bad) - 5} more" if len(bad) > 5 else "")
        raise DatasetError(f"{len(bad)} file(s) could not be read as images: {shown}. "
                           "Remove them or pass skip_unreadable=True.")
    for label, cls in enumerate(class_names):
        if label not in labels:
            raise DatasetError(f"class {cls!r} has no readable images.")
    shapes = {a.shape for a in images}
    if len(shapes) > 1:
        raise DatasetError(f"images have different sizes {sorted(shapes)[:4]}…; pass image_size=(h, w).")
    return Dataset(
        x=np.stack(images).astype(np.float32), y=np.asarray(labels, dtype=np.int64),
        class_names=list(class_names), name=name or root.name, split=split,
        description=description or f"images read from {root}",
        synthetic=False, source="folder",
        meta={"path": str(root), "skipped": bad, "image_size": size, "channels": channels},
    )


def _normalise_images(x: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """NHWC float32 in [0, 1] from common layouts and dtypes, with notes on what was done."""
    notes: list[str] = []
    if x.ndim == 3:
        x = x[..., None]
        notes.append("grey (N, H, W) -> (N, H, W, 1)")
    if x.ndim != 4:
        raise DatasetError(f"x must be images (N, H, W), (N, H, W, C) or (N, C, H, W), or a list of "
                           f"strings; got an array of shape {x.shape}.")
    if x.shape[-1] not in (1, 3) and x.shape[1] in (1, 3):
        x = np.transpose(x, (0, 2, 3, 1))
        notes.append("channels first (N, C, H, W) -> channels last (N, H, W, C)")
    if x.shape[-1] == 4:
        x = x[..., :3]
        notes.append("alpha channel dropped")
    if x.shape[-1] not in (1, 3):
        raise DatasetError(f"x must have 1 or 3 channels, got shape {x.shape}.")
    if x.dtype == np.bool_:
        x = x.astype(np.float32)
    elif np.issubdtype(x.dtype, np.integer):
        lo, hi = (int(x.min()), int(x.max())) if x.size else (0, 0)
        top = 65535 if x.dtype == np.uint16 else 255
        if lo < 0 or hi > top:
            raise DatasetError(f"integer images must lie in [0, {top}], got [{lo}, {hi}].")
        x = x.astype(np.float32) / top
        notes.append(f"integers 0-{top} -> float32 0-1")
    elif np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
        if x.size and not np.isfinite(x).all():
            raise DatasetError("x contains NaN or infinite values.")
        lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        if lo < 0 or hi > 1:
            raise DatasetError(f"float images must lie in [0, 1], got [{lo:.4g}, {hi:.4g}]; "
                               "divide 0-255 data by 255 (or pass uint8 arrays).")
    else:
        raise DatasetError(f"x has dtype {x.dtype}; expected numbers or a list of strings.")
    return np.ascontiguousarray(x), notes


def from_arrays(x: Any, y: Any, class_names: Sequence[str] | None = None, *, name: str = "custom",
                split: str = "train", description: str | None = None, synthetic: bool = False) -> Dataset:
    """Wrap arrays you already have as a Dataset, normalising them to the course's form.

    ``x``: images as ``(N, H, W)`` grey, ``(N, H, W, C)`` or ``(N, C, H, W)`` with C in
    {1, 3} (RGBA loses alpha), uint8 0–255 (→ float32 0–1) or float in [0, 1]; or a list of
    N strings for text. ``y``: N integer labels, N one-hot rows, or N class-name strings
    (mapped to ``class_names``, sorted if not given). ``class_names`` defaults to
    ``"0" … "K-1"``.
    """
    notes: list[str] = []
    if isinstance(x, (list, tuple)) and x and all(isinstance(t, str) for t in x):
        xs: Any = list(x)
    else:
        x = np.asarray(x)
        if x.dtype.kind in "US":
            xs = [str(t) for t in x.tolist()]
        else:
            xs, notes = _normalise_images(x)

    y = np.asarray(y)
    if y.ndim == 2 and y.shape[0] == len(xs) and y.shape[1] > 1:
        y = y.argmax(axis=1)
        notes.append("one-hot labels -> class indices")
    if y.ndim != 1:
        raise DatasetError(f"y must be N labels (1-D) or N one-hot rows, got shape {y.shape}.")
    if len(y) != len(xs):
        raise DatasetError(f"x has {len(xs)} examples but y has {len(y)} labels.")
    if y.dtype.kind in "US":
        labels = [str(v) for v in y.tolist()]
        names = list(class_names) if class_names is not None else sorted(set(labels))
        lookup = {c: i for i, c in enumerate(names)}
        unknown = sorted(set(labels) - set(lookup))
        if unknown:
            raise DatasetError(f"labels {unknown[:5]} are not in class_names {names}.")
        y = np.asarray([lookup[v] for v in labels], dtype=np.int64)
        class_names = names
    else:
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
                raise DatasetError("y must hold whole-number class indices; got non-integer floats.")
        elif y.dtype.kind not in "iub":
            raise DatasetError(f"y has dtype {y.dtype}; expected integer class indices or names.")
        y = y.astype(np.int64)
        if len(y) and y.min() < 0:
            raise DatasetError(f"class indices must be >= 0, got {int(y.min())}.")
        k = int(y.max()) + 1 if len(y) else 0
        if class_names is None:
            class_names = [str(i) for i in range(k)]
        elif len(class_names) < k:
            raise DatasetError(f"y has labels up to {k - 1} but only {len(class_names)} class_names.")
    return Dataset(x=xs, y=y, class_names=list(class_names), name=name, split=split,
                   description=description or "arrays supplied by the user",
                   synthetic=synthetic, source="arrays", meta={"normalised": notes})
