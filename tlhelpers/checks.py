"""The argument contract of tlhelpers: one place that says how every public function
treats bad input, so that both tracks and the data layer reject it the same way.

The contract (``tests/test_bad_inputs_*.py`` holds every public function to it, and fails
when a new public function has no bad-input cases registered):

* **Where.** A public function checks its arguments first, before any TensorFlow or
  PyTorch call, so the error comes from tlhelpers and not from deep inside a framework.
  The checks that need no framework live here, in the core, and both tracks call them.
* **What.** Types (a number is a real number: not a string, not a bool; a flag is a
  bool, so ``pretrained="no"`` is refused rather than read as true), ranges (``lr > 0``,
  ``0 <= dropout < 1``), sizes (at least one image; at most :data:`LIMITS`, checked
  *before* anything is allocated), images (finite, the shape the model takes) and labels
  (whole numbers in ``[0, num_classes)``).
* **How.** An :class:`ArgumentError` whose message names the argument, says what was
  expected and what was received — ``"lr must be a finite number > 0, got -0.1."`` — and,
  where there is one, how to fix it. ``ArgumentError`` is both a ``ValueError`` and a
  ``TypeError`` (as NumPy's ``AxisError`` is both a ``ValueError`` and an ``IndexError``),
  so callers may catch either; the data layer's :class:`~tlhelpers.data.DatasetError` is
  an ``ArgumentError`` too (older checks elsewhere in the core raise a plain ``ValueError``
  worded the same way). Both tracks raise the same type for the same input.
* **Warnings.** A value that is legal but almost surely a mistake gives a ``UserWarning``
  that says what to check, and the call goes on: images outside [0, 1]
  (:class:`ImageRangeWarning` — a lesson may feed 0–255 images on purpose, to show what
  wrong scaling costs), a folder with a single class.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "LIMITS",
    "ArgumentError",
    "ImageRangeWarning",
    "Received",
    "classifier_expected",
    "fail",
    "flag",
    "fraction",
    "image_batch",
    "image_data",
    "image_size",
    "integer",
    "labels",
    "memory",
    "model_input_shape",
    "non_negative_int",
    "number",
    "one_of",
    "positive_int",
    "positive_number",
]


class ArgumentError(ValueError, TypeError):
    """A bad argument to a tlhelpers function; the message names it and says what to pass."""


class ImageRangeWarning(UserWarning):
    """Images outside [0, 1]: legal (a lesson may show what wrong scaling does), almost always
    a mistake. ``warnings.simplefilter("error", ImageRangeWarning)`` makes it an error."""


#: The largest values the course accepts, refused up front (before any allocation).
LIMITS: dict[str, int] = {
    "image_side": 4096,        # pixels per side of an image (height or width)
    "num_classes": 100_000,    # classes of a classifier head (ImageNet-21k has 21,841)
    "units": 1 << 16,          # units of a dense layer
    "examples": 10_000_000,    # examples a generator may draw
    "bytes": 4 << 30,          # one array of images the course builds in memory (4 GiB)
}

# Images this close to [0, 1] only overshoot (resampling); further out they are on another
# scale (0-255, or normalised): the warning then says which.
_IMAGE_TOLERANCE = 0.1


class Received(str):
    """A description of what was received, shown as is (``fail`` shows other values' repr)."""


def fail(name: str, expected: str, got: Any, hint: str = "") -> None:
    """Raise the contract's error: ``"<name> must be <expected>, got <got>. <hint>"``."""
    shown = got if isinstance(got, Received) else _show(got)
    raise ArgumentError(f"{name} must be {expected}, got {shown}." + (f" {hint}" if hint else ""))


def _show(value: Any) -> str:
    """A short description of a received value: its repr, or its type and shape for arrays."""
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, (int, float, np.generic)):
        return f"{type(value).__name__} of shape {tuple(shape)}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def integer(value: Any, name: str, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
    """``value`` as a Python int within ``[minimum, maximum]`` (bools and floats refused)."""
    expected = "an integer" + _bounds(minimum, maximum)
    if not _is_int(value):
        fail(name, expected, value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        fail(name, expected, value,
             f"The largest allowed value is {maximum:,}." if maximum is not None
             and value > maximum else "")
    return int(value)


def _bounds(minimum, maximum) -> str:
    if minimum == 1 and maximum is None:
        return " >= 1"
    if minimum is not None and maximum is not None:
        return f" from {minimum:,} to {maximum:,}"
    if minimum is not None:
        return f" >= {minimum:,}"
    if maximum is not None:
        return f" <= {maximum:,}"
    return ""


def positive_int(value: Any, name: str, *, maximum: int | None = None) -> int:
    """``value`` as a Python int if it is a positive integer (not a bool), else a clear error."""
    if not _is_int(value) or value < 1:
        fail(name, "a positive integer", value)
    return integer(value, name, minimum=1, maximum=maximum)


def non_negative_int(value: Any, name: str, *, maximum: int | None = None) -> int:
    """``value`` as a Python int ``>= 0`` (seeds, counts that may be zero)."""
    return integer(value, name, minimum=0, maximum=maximum)


def number(value: Any, name: str, *, minimum: float | None = None, maximum: float | None = None,
           exclusive_min: bool = False, exclusive_max: bool = False) -> float:
    """``value`` as a finite float within the bounds; ints are numbers, strings and bools are not."""
    lo = "" if minimum is None else f"{'>' if exclusive_min else '>='} {minimum:g}"
    hi = "" if maximum is None else f"{'<' if exclusive_max else '<='} {maximum:g}"
    expected = "a finite number" + (f" {lo}" if lo else "") + (" and" if lo and hi else "") \
        + (f" {hi}" if hi else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                      np.floating)):
        fail(name, expected, value,
             "Pass a number, not a string." if isinstance(value, str) else "")
    out = float(value)
    if not math.isfinite(out):
        fail(name, expected, value)
    if minimum is not None and (out < minimum or (exclusive_min and out == minimum)):
        fail(name, expected, value)
    if maximum is not None and (out > maximum or (exclusive_max and out == maximum)):
        fail(name, expected, value)
    return out


def positive_number(value: Any, name: str) -> float:
    """A finite number > 0 (learning rates, temperatures); an int such as ``lr=1`` is fine."""
    return number(value, name, minimum=0.0, exclusive_min=True)


def fraction(value: Any, name: str) -> float:
    """A rate in [0, 1) such as dropout."""
    return number(value, name, minimum=0.0, maximum=1.0, exclusive_max=True)


def flag(value: Any, name: str) -> bool:
    """``value`` if it is a bool; ``"no"``, ``0`` or ``None`` are refused, not read as truth values."""
    if not isinstance(value, (bool, np.bool_)):
        fail(name, "True or False", value)
    return bool(value)


def one_of(value: Any, name: str, choices: Sequence[Any]) -> Any:
    """``value`` if it is one of ``choices``."""
    try:
        ok = value in choices
    except TypeError:
        ok = False
    if not ok:
        fail(name, "one of " + ", ".join(repr(c) for c in choices), value)
    return value


def image_size(value: Any, name: str = "image_size") -> tuple[int, int]:
    """An image size as ``(height, width)``: a positive int or a pair, at most ``LIMITS["image_side"]``."""
    pair = (value, value) if _is_int(value) else value
    expected = f"a positive int or (height, width), each at most {LIMITS['image_side']}"
    if isinstance(pair, (str, bytes)) or not isinstance(pair, (Sequence, np.ndarray)) \
            or len(pair) != 2 or not all(_is_int(s) and s > 0 for s in pair):
        fail(name, expected, value)
    if max(pair) > LIMITS["image_side"]:
        fail(name, expected, value, f"The largest allowed side is {LIMITS['image_side']} pixels.")
    return int(pair[0]), int(pair[1])


def memory(n: int, shape: Sequence[int], name: str = "n", *, itemsize: int = 4) -> None:
    """Refuse, before allocating, ``n`` float32 examples of ``shape`` beyond ``LIMITS["bytes"]``.

    The message gives the largest ``n`` that fits at this shape, so the learner can ask
    for a sample (``n=``) or a smaller ``image_size``.
    """
    per = itemsize * int(np.prod([int(s) for s in shape]))
    if n * per > LIMITS["bytes"]:
        largest = LIMITS["bytes"] // per
        fail(name, f"small enough for memory: at most {largest:,} examples of shape "
                   f"{tuple(int(s) for s in shape)} ({LIMITS['bytes'] >> 30} GiB)",
             Received(f"{n:,} examples ({n * per / 2**30:,.1f} GiB)"),
             "Ask for fewer examples (n=...) or a smaller image_size.")


# ---------------------------------------------------------------------------- models

def model_input_shape(model: Any) -> tuple[int | None, int | None, int | None] | None:
    """The image shape ``(H, W, C)`` a Keras or PyTorch model takes (None: any), without
    importing either framework; None when the model does not say.

    Keras models give ``input_shape = (None, H, W, C)``; the course's PyTorch models give
    ``input_shape = (C, H, W)`` (channels first, no batch axis).
    """
    shape = getattr(model, "input_shape", None)
    if not isinstance(shape, tuple):
        return None
    modules = [cls.__module__ for cls in type(model).__mro__]
    if any(m.startswith("torch.") for m in modules) and len(shape) == 3:
        c, h, w = shape
        return h, w, c
    if any(m.startswith("keras") for m in modules) and len(shape) == 4:
        return shape[1], shape[2], shape[3]
    return None


def classifier_expected(name: str, features: Any) -> None:
    """The error for a backbone passed where a classifier (logits) is needed."""
    fail(name, "a classifier that outputs class logits",
         Received(f"a backbone that outputs {features} features"),
         "Put a head on it first: build_classifier(backbone, num_classes).")


# ---------------------------------------------------------------------------- images

def _as_array(x: Any, name: str) -> np.ndarray:
    if isinstance(x, (list, tuple)):
        if x and all(isinstance(t, str) for t in x):
            fail(name, "images", Received(f"{len(x)} strings"),
                 "Text goes to a text model, not to an image model.")
        shapes = {np.shape(t) for t in x}
        if len(shapes) > 1:
            shown = ", ".join(str(s) for s in sorted(shapes, key=str)[:4])
            fail(name, "images of one size", Received(f"images of {len(shapes)} different shapes: {shown}"),
                 "Resize them to one size first, e.g. tlhelpers.data.from_arrays(..., "
                 "image_size=(h, w)) takes a list of differently sized images.")
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as err:
        fail(name, "an array of images", Received(f"{type(x).__name__} ({err})"))
    if arr.dtype.kind not in "biuf":
        fail(name, "numeric images", Received(f"an array of dtype {arr.dtype}"))
    return arr


def image_batch(x: Any, name: str = "data", *, expected: Sequence[int | None] | None = None,
                channels_first: bool = False, allow_empty: bool = False) -> np.ndarray:
    """A batch of images checked against the course's form; returns it as float32.

    ``x``: an array (or list of equally sized arrays) of images ``(N, H, W, C)`` in [0, 1]
    (``(N, C, H, W)`` with ``channels_first``); a single image ``(H, W, C)`` becomes a
    batch of one. ``expected``: the ``(H, W, C)`` the model takes, None entries matching
    anything. Refused: text, an empty batch (unless ``allow_empty``), non-finite values,
    and a shape the model does not take, with how to fix it. Values outside [0, 1] give an
    :class:`ImageRangeWarning` saying what they look like (0–255, already normalised).
    """
    arr = _as_array(getattr(x, "x", x), name)
    if arr.ndim == 3:
        arr = arr[None]
    layout = "(N, C, H, W)" if channels_first else "(N, H, W, C)"
    if arr.ndim != 4:
        fail(name, f"a batch of images {layout}", Received(f"an array of shape {arr.shape}"))
    if len(arr) == 0 and not allow_empty:
        fail(name, "at least one image", Received("0 images"))
    arr = arr.astype(np.float32, copy=False)
    if arr.size:
        _check_values(arr, name)
    if expected is not None:
        _check_shape(arr, name, tuple(expected), channels_first)
    return arr


def _check_values(arr: np.ndarray, name: str) -> None:
    lo, hi = float(arr.min()), float(arr.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        fail(name, "finite image values in [0, 1]", Received(f"{bad:,} NaN or infinite values"))
    if lo >= 0.0 and hi <= 1.0:
        return
    if lo >= -_IMAGE_TOLERANCE and hi <= 1.0 + _IMAGE_TOLERANCE:
        hint = "clip them with np.clip(x, 0, 1)"
    elif hi > 10.0:
        hint = ("0-255 images? Divide them by 255 (tlhelpers.data.from_arrays does it for "
                "uint8); results on them do not mean what they would on [0, 1] images")
    elif lo < 0.0:
        hint = ("already normalised? Backbones normalise [0, 1] images themselves, so these "
                "are normalised twice; pass them unnormalised")
    else:
        hint = "rescale them to [0, 1]"
    warnings.warn(ImageRangeWarning(
        f"{name} has values in [{lo:.4g}, {hi:.4g}], outside the [0, 1] every course model "
        f"expects: {hint}."), stacklevel=3)


def _check_shape(arr: np.ndarray, name: str, expected: tuple, channels_first: bool) -> None:
    got = arr.shape[1:]
    hwc = (got[1], got[2], got[0]) if channels_first else got
    if all(e is None or e == s for e, s in zip(expected, hwc)):
        return
    want = "(" + ", ".join("any" if e is None else str(e) for e in expected) + ")"
    h, w, c = expected
    if not channels_first and c is not None and got[0] == c and got[-1] != c:
        hint = ("The array looks channels-first; NumPy images are channels-last (N, H, W, C) "
                "in both tracks (np.transpose(x, (0, 2, 3, 1))).")
    else:
        hint = ("Fit the images to the backbone with dataset.to_backbone(backbone) (resize and "
                "grey->RGB), or tlhelpers.data.from_arrays(x, y, image_size=(h, w), channels=c).")
    fail(name, f"images of shape (H, W, C) = {want}, the shape the model takes",
         Received(f"images of shape (H, W, C) = {hwc}"), hint)


def image_data(data: Any, name: str = "data", *, expected: Sequence[int | None] | None = None,
               num_classes: int | None = None, channels_first: bool = False
               ) -> tuple[np.ndarray, np.ndarray]:
    """Training or test data — a Dataset or an ``(x, y)`` pair — checked as images
    (:func:`image_batch`) and labels (:func:`labels`) that the model can take."""
    if hasattr(data, "x") and hasattr(data, "y"):
        x, y = data.x, data.y
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    else:
        fail(name, "a Dataset or an (x, y) pair of images and labels",
             Received(type(data).__name__) if not isinstance(data, str) else data)
    if np.ndim(x) == 3 and not isinstance(x, (list, tuple)):
        fail(name, "a batch of images (N, H, W, C) and N labels",
             Received(f"images of shape {np.shape(x)}"))
    x = image_batch(x, name, expected=expected, channels_first=channels_first)
    return x, labels(y, f"the labels of {name}", n=len(x), num_classes=num_classes)


# ---------------------------------------------------------------------------- labels

def labels(y: Any, name: str = "labels", *, n: int | None = None,
           num_classes: int | None = None) -> np.ndarray:
    """Class indices as int64 ``(N,)``: whole numbers in ``[0, num_classes)``.

    ``(N, 1)`` columns are flattened. Refused: soft or one-hot rows (pass class indices),
    fractions, negative labels (``-1`` would silently be scored as the last class), labels
    the model has no output for, and a count different from ``n``.
    """
    arr = np.asarray(getattr(y, "y", y))
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        fail(name, "one class index per example, shape (N,)", Received(f"an array of shape {arr.shape}"),
             "For one-hot rows pass y.argmax(axis=1).")
    if arr.dtype.kind not in "biuf":
        fail(name, "integer class indices", Received(f"an array of dtype {arr.dtype}"))
    if arr.dtype.kind == "f" and arr.size and not (np.isfinite(arr).all()
                                                    and (arr == np.round(arr)).all()):
        fail(name, "whole-number class indices", Received("fractional or non-finite values"))
    out = arr.astype(np.int64)
    if n is not None and len(out) != n:
        fail(name, f"{n} labels, one per image", Received(f"{len(out)} labels"))
    if out.size:
        lo, hi = int(out.min()), int(out.max())
        if lo < 0:
            fail(name, "class indices >= 0", Received(f"a label {lo}"))
        if num_classes is not None and hi >= num_classes:
            fail(name, f"class indices from 0 to {num_classes - 1} (the model has "
                       f"{num_classes} outputs)", Received(f"a label {hi}"))
    return out
