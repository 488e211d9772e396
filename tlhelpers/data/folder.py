"""Bring your own data: a folder of images, or arrays you already have, as a course Dataset.

Both return the same plain :class:`Dataset` as the built-in datasets, so every helper and
both framework adapters work on your data unchanged. Both take ``image_size=`` and
``channels=`` to fit the images to a backbone; :meth:`Dataset.to_backbone` does the same
for a dataset you already hold.

A copy of one of the course's *real* datasets (a re-saved MedMNIST ``.npz``, an unpacked
MNIST-M folder, USPS as HDF5) loads with ``load_dataset(name, split, path=...)`` instead,
which keeps the dataset's licence and citation.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._common import flag, image_size as check_image_size, memory
from .dataset import Dataset
from .errors import DatasetError
from .images import resize_images, to_channels

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def _check_channels(channels: Any, allow_none: bool = False) -> int | None:
    if channels is None and allow_none:
        return None
    if isinstance(channels, (bool, np.bool_)) or channels not in (1, 3):
        raise DatasetError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}.")
    return int(channels)


def _check_class_names(class_names: Any) -> list[str] | None:
    if class_names is None:
        return None
    if isinstance(class_names, (str, bytes)) or not isinstance(class_names, (Sequence, np.ndarray)):
        raise DatasetError(f"class_names must be a list of names, got {class_names!r}.")
    names = [str(c) for c in class_names]
    duplicates = sorted({c for c in names if names.count(c) > 1})
    if duplicates:
        raise DatasetError(f"class_names must be distinct, got {duplicates} more than once in "
                           f"{names}.")
    return names


def _extensions(extensions: Any) -> tuple[str, ...]:
    if isinstance(extensions, str):  # "png" is one extension, not the letters p, n, g
        extensions = (extensions,)
    if not isinstance(extensions, (Sequence, set, frozenset)) or not extensions \
            or not all(isinstance(e, str) and e.strip(".") for e in extensions):
        raise DatasetError(f"extensions must be a file extension or a list of them, such as "
                           f"'png' or ('.png', '.jpg'), got {extensions!r}.")
    return tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)


def _read_labels_file(file: Path, root: Path) -> list[tuple[str, str]]:
    """``(image file, label)`` pairs from lines ``<file> <label>`` (MNIST-M's layout) or CSV."""
    if not file.is_file():
        raise DatasetError(f"labels_file {str(file)!r} does not exist; expected a text file with "
                           "one '<image file> <label>' line per image.")
    pairs = []
    for lineno, line in enumerate(file.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        parts = [p for p in re.split(r"[,\t ]+", line.strip()) if p]
        if len(parts) != 2:
            raise DatasetError(f"{file.name}, line {lineno}: expected '<image file> <label>', "
                               f"got {line[:80]!r}.")
        pairs.append((parts[0], parts[1]))
    if pairs and not (root / pairs[0][0]).is_file() and pairs[0][1].lower() in ("label", "class"):
        pairs = pairs[1:]  # a CSV header such as "file,label"
    if not pairs:
        raise DatasetError(f"labels_file {str(file)!r} lists no images.")
    return pairs


def _label_indices(labels: list[str], class_names: list[str] | None) -> tuple[list[int], list[str]]:
    if class_names is None:
        if all(re.fullmatch(r"\d+", v) for v in labels):
            k = max(int(v) for v in labels) + 1
            class_names = [str(i) for i in range(k)]
            return [int(v) for v in labels], class_names
        class_names = sorted(set(labels))
    lookup = {c: i for i, c in enumerate(class_names)}
    unknown = sorted(set(labels) - set(lookup))
    if unknown:
        raise DatasetError(f"labels {unknown[:5]} are not in class_names {class_names}.")
    return [lookup[v] for v in labels], class_names


def from_folder(path: str | Path, image_size: int | Sequence[int] | None = (32, 32), *,
                channels: int = 3, class_names: Sequence[str] | None = None,
                extensions: str | Sequence[str] = IMAGE_EXTENSIONS, skip_unreadable: bool = False,
                labels_file: str | Path | None = None,
                name: str | None = None, split: str = "all", description: str | None = None) -> Dataset:
    """Read ``path/<class>/<image>`` files into a Dataset (one subfolder per class).

    Images are converted to RGB (``channels=3``) or grey (``channels=1``) with Pillow and
    resized to ``image_size`` = (height, width) with bicubic resampling; ``None`` keeps
    the original size, which must then be the same for all. Classes are the subfolder
    names in sorted order, unless ``class_names`` gives the order (and the subset) to use.
    Files are read in sorted order, so the result is the same on every machine.

    A *flat* folder of images with a ``labels_file`` (lines ``<file> <label>``, or
    ``file,label`` CSV: the layout MNIST-M ships in) is read too: pass
    ``labels_file="mnist_m_train_labels.txt"`` (relative to ``path`` or absolute).

    Raises :class:`DatasetError` for a missing folder, no class folders, a class without
    images, or unreadable files (listed; pass ``skip_unreadable=True`` to skip them).
    Warns when the folder holds a single class (usually a folder one level too deep).
    """
    from PIL import Image, UnidentifiedImageError

    if not isinstance(path, (str, Path)):
        raise DatasetError(f"path must be a folder (str or Path), got {path!r}.")
    root = Path(path).expanduser()
    if not root.exists():
        raise DatasetError(f"path {str(root)!r} does not exist; expected a folder with one "
                           "subfolder of images per class.")
    if not root.is_dir():
        raise DatasetError(f"path {str(root)!r} is a file; expected a folder with one subfolder "
                           "of images per class.")
    channels = _check_channels(channels)
    size = None if image_size is None else check_image_size(image_size, "image_size")
    exts = _extensions(extensions)
    skip_unreadable = flag(skip_unreadable, "skip_unreadable")
    class_names = _check_class_names(class_names)

    def is_image(p: Path) -> bool:
        return p.is_file() and p.suffix.lower() in exts and not p.name.startswith(".")

    if labels_file is not None:
        file = Path(labels_file).expanduser()
        pairs = _read_labels_file(file if file.is_absolute() else root / file, root)
        missing = [f for f, _ in pairs if not (root / f).is_file()]
        if missing:
            raise DatasetError(f"labels_file lists {len(missing)} image(s) not in {str(root)!r}, "
                               f"e.g. {missing[:3]}.")
        label_idx, class_names = _label_indices([lab for _, lab in pairs], class_names)
        listing = [(root / f, lab) for (f, _), lab in zip(pairs, label_idx)]
    else:
        found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        inferred = class_names is None
        if inferred:
            class_names = found
        else:
            missing = [c for c in class_names if c not in found]
            if missing:
                raise DatasetError(f"class folder(s) {missing} not found in {str(root)!r}; it has {found}.")
        if not class_names:
            flat = sum(1 for p in root.iterdir() if is_image(p))
            hint = (f" It holds {flat} images directly: for a flat folder with a labels file "
                    "(MNIST-M's layout) pass labels_file='<file with one \"<image> <label>\" "
                    "line per image>'." if flat else "")
            raise DatasetError(f"{str(root)!r} has no class subfolders; expected "
                               f"path/<class>/<image>.{hint}")
        listing = []
        for label, cls in enumerate(class_names):
            files = sorted(p for p in (root / cls).iterdir() if is_image(p))
            if not files:
                raise DatasetError(f"class folder {str(root / cls)!r} holds no images with "
                                   f"extensions {', '.join(exts)}.")
            listing += [(file, label) for file in files]
        if inferred and len(class_names) == 1:
            warnings.warn(f"{str(root)!r} holds a single class ({class_names[0]!r}): a classifier "
                          "needs at least two. Is path one level too deep? Expected "
                          "path/<class>/<image>.", stacklevel=2)
    if size is not None:
        memory(len(listing), (*size, channels), "image_size")

    images, labels, bad = [], [], []
    for file, label in listing:
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
    if labels_file is None:
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
        meta={"path": str(root), "skipped": bad, "image_size": size, "channels": channels,
              "labels_file": None if labels_file is None else str(labels_file)},
    )


def _differently_sized(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and len({np.shape(t) for t in x}) > 1


def _resize_each(x: Sequence[Any], size: tuple[int, int] | None,
                 value_range: Sequence[float] | None) -> np.ndarray:
    """A list of differently sized images, each normalised and resized to ``size``."""
    if size is None:
        shapes = sorted({np.shape(t) for t in x}, key=str)
        raise DatasetError(f"x must hold images of one size, got {len(shapes)} shapes "
                           f"({', '.join(map(str, shapes[:4]))}); pass image_size=(h, w) to "
                           "resize them.")
    memory(len(x), (*size, 3), "image_size")
    parts = [_normalise_images(np.asarray(t)[None], value_range)[0] for t in x]
    if len({p.shape[-1] for p in parts}) > 1:
        parts = [to_channels(p, 3) for p in parts]
    return np.concatenate([resize_images(p, size) for p in parts])


def _normalise_images(x: np.ndarray, value_range: Sequence[float] | None
                      ) -> tuple[np.ndarray, list[str]]:
    """NHWC float32 in [0, 1] from common layouts and dtypes, with notes on what was done."""
    notes: list[str] = []
    if x.ndim == 3:
        x = x[..., None]
        notes.append("grey (N, H, W) -> (N, H, W, 1)")
    if x.ndim != 4:
        raise DatasetError(f"x must be images (N, H, W), (N, H, W, C) or (N, C, H, W), or a list of "
                           f"strings; got an array of shape {x.shape}.")
    if x.shape[-1] not in (1, 3, 4) and x.shape[1] in (1, 3):
        x = np.transpose(x, (0, 2, 3, 1))
        notes.append("channels first (N, C, H, W) -> channels last (N, H, W, C)")
    if x.shape[-1] == 4:
        x = x[..., :3]
        notes.append("alpha channel dropped")
    if x.shape[-1] not in (1, 3):
        raise DatasetError(f"x must have 1 or 3 channels, got shape {x.shape}.")
    if x.dtype.kind not in "biuf":
        raise DatasetError(f"x has dtype {x.dtype}; expected numbers or a list of strings.")
    if x.dtype == np.bool_:
        return x.astype(np.float32), notes
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if x.dtype.kind == "f" and not (np.isfinite(lo) and np.isfinite(hi)):
        raise DatasetError("x must hold finite values, got NaN or infinite values.")
    if value_range is not None:
        a, b = value_range
        if lo < a or hi > b:
            raise DatasetError(f"x must lie in value_range=[{a:g}, {b:g}], got [{lo:g}, {hi:g}].")
        notes.append(f"values {a:g}-{b:g} -> float32 0-1")
        return ((x.astype(np.float32) - np.float32(a)) / np.float32(b - a)), notes
    if x.dtype == np.uint8 or (x.dtype.kind in "iu" and x.dtype.itemsize > 2 and 0 <= lo and hi <= 255):
        if lo < 0 or hi > 255:  # pragma: no cover - uint8 cannot
            raise DatasetError(f"integer images must lie in [0, 255], got [{lo:g}, {hi:g}].")
        notes.append("integers 0-255 -> float32 0-1")
        return x.astype(np.float32) / np.float32(255.0), notes
    if x.dtype.kind in "iu":
        top = "65535" if x.dtype == np.uint16 else f"{hi:g}"
        raise DatasetError(
            f"x holds {x.dtype} images with values in [{lo:g}, {hi:g}]; the course cannot guess "
            f"their scale (8 bits is 0-255; 16-bit sensors often store 12 bits, 0-4095). Pass "
            f"value_range=(0, max), e.g. value_range=(0, {top}), or floats in [0, 1].")
    x = x.astype(np.float32)
    if lo < 0 or hi > 1:
        raise DatasetError(f"float images must lie in [0, 1], got [{lo:.4g}, {hi:.4g}]; "
                           "divide 0-255 data by 255 (or pass uint8 arrays), or pass "
                           "value_range=(lo, hi).")
    return x, notes


def _labels(y: Any, n: int, notes: list[str]) -> np.ndarray:
    """Labels as given by users: (N,), (N, 1), one-hot (N, K) or names; soft labels refused."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
        notes.append("labels (N, 1) -> (N,)")
    elif y.ndim == 2 and y.shape[0] == n and y.shape[1] > 1:
        if y.dtype.kind not in "biuf" or not (np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()):
            raise DatasetError(
                "y must be class indices (N,) or one-hot rows (N, K) of 0s with a single 1; got "
                f"rows of shape {y.shape} that are not one-hot (soft labels or probabilities?). "
                "Pass y.argmax(axis=1) if the largest entry is the class.")
        y = y.argmax(axis=1)
        notes.append("one-hot labels -> class indices")
    if y.ndim != 1:
        raise DatasetError(f"y must be N labels (1-D) or N one-hot rows, got shape {y.shape}.")
    if len(y) != n:
        raise DatasetError(f"x has {n} examples but y has {len(y)} labels.")
    return y


def from_arrays(x: Any, y: Any, class_names: Sequence[str] | None = None, *, name: str = "custom",
                split: str = "train", description: str | None = None, synthetic: bool = False,
                image_size: int | Sequence[int] | None = None, channels: int | None = None,
                value_range: Sequence[float] | None = None) -> Dataset:
    """Wrap arrays you already have as a Dataset, normalising them to the course's form.

    ``x``: images as ``(N, H, W)`` grey, ``(N, H, W, C)`` or ``(N, C, H, W)`` with C in
    {1, 3} (RGBA loses alpha), uint8 0–255 (→ float32 0–1) or float in [0, 1]; other
    scales (uint16, 12-bit, ``[-1, 1]``) with ``value_range=(lo, hi)``; a list of images
    (of different sizes only with ``image_size``); or a list of N strings for text.
    ``y``: N integer labels (also ``(N, 1)``, MedMNIST's layout), N one-hot rows, or N
    class-name strings (mapped to ``class_names``, sorted if not given). ``class_names``
    defaults to ``"0" … "K-1"`` and must be distinct.
    ``image_size`` / ``channels``: resize to (height, width) and convert to 1 or 3
    channels, e.g. to fit 28×28 grey digits to a 32×32 RGB backbone.
    """
    notes: list[str] = []
    size = None if image_size is None else check_image_size(image_size, "image_size")
    channels = _check_channels(channels, allow_none=True)
    if value_range is not None:
        try:
            a, b = (float(v) for v in value_range)
        except (TypeError, ValueError):
            a = b = float("nan")
        if not (np.isfinite(a) and np.isfinite(b) and a < b) or isinstance(value_range, str):
            raise DatasetError(f"value_range must be (lo, hi) with lo < hi, got {value_range!r}.")
        value_range = (a, b)
    names = _check_class_names(class_names)
    if isinstance(x, (list, tuple)) and x and all(isinstance(t, str) for t in x):
        xs: Any = list(x)
    else:
        each = _differently_sized(x)  # then normalised and resized one by one
        x = _resize_each(x, size, value_range) if each else np.asarray(x)
        if x.dtype.kind in "US":
            xs = [str(t) for t in x.tolist()]
        else:
            xs, notes = _normalise_images(x, None if each else value_range)
            if each:
                notes.append(f"images of different sizes resized one by one to {size}")
            if size is not None and xs.shape[1:3] != size:
                memory(len(xs), (*size, xs.shape[-1]), "image_size")
                xs = resize_images(xs, size)
                notes.append(f"resized to {size[0]}x{size[1]}")
            if channels is not None and xs.shape[-1] != channels:
                xs = to_channels(xs, channels)
                notes.append(f"converted to {channels} channel(s)")
            xs = np.ascontiguousarray(xs, dtype=np.float32)

    y = _labels(y, len(xs), notes)
    if y.dtype.kind in "US":
        labels = [str(v) for v in y.tolist()]
        names = names if names is not None else sorted(set(labels))
        lookup = {c: i for i, c in enumerate(names)}
        unknown = sorted(set(labels) - set(lookup))
        if unknown:
            raise DatasetError(f"labels {unknown[:5]} are not in class_names {names}.")
        y = np.asarray([lookup[v] for v in labels], dtype=np.int64)
    else:
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
                raise DatasetError("y must hold whole-number class indices; got non-integer floats "
                                   "(soft labels or probabilities?).")
        elif y.dtype.kind not in "iub":
            raise DatasetError(f"y has dtype {y.dtype}; expected integer class indices or names.")
        y = y.astype(np.int64)
        if len(y) and y.min() < 0:
            raise DatasetError(f"class indices must be >= 0, got {int(y.min())}.")
        k = int(y.max()) + 1 if len(y) else 0
        if names is None:
            names = [str(i) for i in range(k)]
        elif len(names) < k:
            raise DatasetError(f"y has labels up to {k - 1} but only {len(names)} class_names.")
    return Dataset(x=xs, y=y, class_names=names, name=name, split=split,
                   description=description or "arrays supplied by the user",
                   synthetic=synthetic, source="arrays", meta={"normalised": notes})


__all__ = ["IMAGE_EXTENSIONS", "from_arrays", "from_folder"]
