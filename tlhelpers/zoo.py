"""The course's backbones, framework-neutral: the ImageNet model zoo table and the
course-pretrained ``course_cnn``, with the command that pretrains it.

Two kinds of backbone exist in both tracks (``tlhelpers.keras.backbones`` and
``tlhelpers.torch.backbones``, same names):

* ``course_cnn`` — a small residual CNN for 32×32 RGB digits, *pretrained by the course*
  on SynDigits and shipped in ``tlhelpers/weights/``, so every lesson has a real
  pretrained backbone offline. The weights are reproducible::

      python -m tlhelpers.zoo pretrain --framework keras
      python -m tlhelpers.zoo pretrain --framework torch

  which trains ``course_cnn`` + a 10-way head on SynDigits and writes the backbone
  weights plus a JSON record (data, seed, epochs, optimizer, accuracies, wall time,
  versions) beside them.
* ImageNet backbones (MobileNetV2, ResNet50, EfficientNetB0, DenseNet121, VGG16) through
  ``keras.applications`` / ``torchvision``, with ImageNet weights when they can be
  downloaded or are pre-placed in :func:`tlhelpers.data_dir`.

:data:`IMAGENET_ZOO` describes the ImageNet architectures without any weights or
framework: parameter counts (verified by ``tests/test_backbones_keras.py``, which builds
the Keras models with ``weights=None``), weight-layer count, default input size, feature
size and the published ImageNet top-1 accuracy of each framework's weights, with its source.

This module imports neither TensorFlow nor PyTorch at import time.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

FRAMEWORKS = ("keras", "torch")

#: Where the course-pretrained weights live (installed as package data).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights are neither on disk nor downloadable right now.

    The message names the file, the URL to fetch it from and the exact path(s) to put it
    at, so a classroom without internet can be prepared by copying files.
    """


class BackboneUnavailableError(RuntimeError):
    """The library a backbone needs (torchvision for the PyTorch ImageNet zoo) is missing."""


# --------------------------------------------------------------------------------------
# course_cnn: one architecture, two frameworks
# --------------------------------------------------------------------------------------

#: The architecture of ``course_cnn``; both tracks build exactly this.
COURSE_CNN: dict[str, Any] = {
    "input_shape": (32, 32, 3),       # H, W, C (the torch model takes N, C, H, W)
    # Inside the model, first: x -> 2x - 1 (maps [0, 1] images to [-1, 1]).
    "input_scale": 2.0,
    "input_offset": -1.0,
    "stem_channels": 32,              # 3x3 conv, stride 1, no bias -> BN -> ReLU
    "stage_channels": (32, 64, 128),  # one basic residual block per stage
    "stage_strides": (2, 2, 2),       # 32 -> 16 -> 8 -> 4 pixels
    "bn_epsilon": 1e-5,               # torch's default; Keras set to match
    "bn_momentum": 0.1,               # torch convention (Keras momentum = 1 - 0.1 = 0.9)
    "features": 128,                  # global average pooling of the last stage
}

#: The blocks of ``course_cnn`` in input-to-output order. Layer names start with the block
#: name in both tracks: Keras ``stem_conv``, ``stage1_conv1`` …; torch ``stem_conv`` …, ``stage1``.
COURSE_CNN_BLOCKS: tuple[str, ...] = ("stem", "stage1", "stage2", "stage3")

_WEIGHT_STEM = "course_cnn_syndigits"


def course_weights_path(framework: str) -> Path:
    """Path of the shipped ``course_cnn`` weights for ``framework`` (``"keras"`` or ``"torch"``)."""
    framework = _check_framework(framework)
    suffix = ".weights.h5" if framework == "keras" else ".pt"
    return WEIGHTS_DIR / f"{_WEIGHT_STEM}.{framework}{suffix}"


def course_weights_info(framework: str) -> dict[str, Any]:
    """The JSON record written beside the ``course_cnn`` weights by ``pretrain``."""
    path = course_weights_path(framework)
    record = path.with_name(f"{_WEIGHT_STEM}.{framework}.json")
    if not record.is_file():
        raise WeightsUnavailableError(
            f"no record of the course-pretrained {framework} weights at {record}; "
            f"create them with: python -m tlhelpers.zoo pretrain --framework {framework}")
    return json.loads(record.read_text())


def _check_framework(framework: str) -> str:
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {', '.join(map(repr, FRAMEWORKS))}, "
                         f"got {framework!r}.")
    return framework


# --------------------------------------------------------------------------------------
# The ImageNet zoo, described without weights
# --------------------------------------------------------------------------------------

KERAS_SOURCE = "https://keras.io/api/applications/ (Keras Applications table, top-1 on ImageNet val)"
TORCH_SOURCE = ("https://pytorch.org/vision/stable/models.html (torchvision IMAGENET1K_V1 "
                "weights, acc@1 on ImageNet-1K val)")


@dataclass(frozen=True)
class ZooEntry:
    """One ImageNet architecture as the two frameworks ship it.

    Parameter counts are learnable parameters (BatchNorm moving statistics excluded);
    ``*_backbone_params`` are those of the feature extractor (no classifier, global
    average pooling), which is what ``imagenet_backbone`` returns. ``weight_layers``
    counts convolution and fully connected layers (the ImageNet classifier included).
    """

    name: str                     # course name, = torchvision builder name
    keras_class: str              # keras.applications.<keras_class>
    torchvision_builder: str      # torchvision.models.<torchvision_builder>
    input_size: int               # default (pretraining) input side, pixels
    features: int                 # feature size after global average pooling
    weight_layers: int            # conv + dense layers, classifier included
    keras_params: int             # include_top=True, learnable
    keras_backbone_params: int    # include_top=False, learnable
    keras_state: int              # BatchNorm/Normalization statistics (non-learnable)
    torch_params: int             # torchvision num_params (classifier included)
    torch_backbone_params: int    # torchvision model without its classifier
    keras_top1: float             # published ImageNet top-1 of the Keras weights
    torch_top1: float             # published ImageNet top-1 of torchvision IMAGENET1K_V1
    keras_weights_file: str       # no-top weight file Keras downloads
    keras_weights_url: str
    note: str = ""


_K = "https://storage.googleapis.com/tensorflow/keras-applications/"

IMAGENET_ZOO: dict[str, ZooEntry] = {
    e.name: e for e in (
        ZooEntry("mobilenet_v2", "MobileNetV2", "mobilenet_v2", 224, 1280, 53,
                 3_504_872, 2_223_872, 34_112, 3_504_872, 2_223_872, 71.3, 71.878,
                 "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
                 _K + "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"),
        ZooEntry("resnet50", "ResNet50", "resnet50", 224, 2048, 54,
                 25_583_592, 23_534_592, 53_120, 25_557_032, 23_508_032, 74.9, 76.13,
                 "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                 _K + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                 note="Keras's ResNet50 (v1, Caffe weights) has conv biases; torchvision's is "
                      "v1.5 without them, hence the different counts."),
        ZooEntry("efficientnet_b0", "EfficientNetB0", "efficientnet_b0", 224, 1280, 82,
                 5_288_548, 4_007_548, 42_023, 5_288_548, 4_007_548, 77.1, 77.692,
                 "efficientnetb0_notop.h5",
                 "https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5",
                 note="Keras state includes the built-in input Normalization layer (7 values)."),
        ZooEntry("densenet121", "DenseNet121", "densenet121", 224, 1024, 121,
                 7_978_856, 6_953_856, 83_648, 7_978_856, 6_953_856, 75.0, 74.434,
                 "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
                 _K + "densenet/densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5"),
        ZooEntry("vgg16", "VGG16", "vgg16", 224, 512, 16,
                 138_357_544, 14_714_688, 0, 138_357_544, 14_714_688, 71.3, 71.592,
                 "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                 _K + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                 note="the backbone is the convolutional part with global average pooling; "
                      "the 124M-parameter fully connected classifier is dropped."),
    )
}

#: Every backbone name ``get_backbone`` accepts (course_cnn first).
BACKBONES: tuple[str, ...] = ("course_cnn", *IMAGENET_ZOO)


def canonical_name(name: str) -> str:
    """The course name of a backbone: case, ``-``/``_`` and Keras spellings are forgiven.

    ``"MobileNetV2"``, ``"mobilenet-v2"`` and ``"mobilenet_v2"`` all give ``"mobilenet_v2"``.
    Raises ``ValueError`` naming the valid backbones for anything else.
    """
    if not isinstance(name, str):
        raise ValueError(f"name must be a backbone name (str), got {name!r}; "
                         f"valid names: {', '.join(BACKBONES)}.")
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    for valid in BACKBONES:
        if key == re.sub(r"[^a-z0-9]", "", valid):
            return valid
    raise ValueError(f"unknown backbone name {name!r}; valid names: {', '.join(BACKBONES)}.")


def zoo_table():
    """The ImageNet zoo as a pandas DataFrame, one row per architecture.

    Columns: parameters (M) per framework, weight layers, input size, feature size and
    the published top-1 of each framework's weights; sources in ``KERAS_SOURCE`` and
    ``TORCH_SOURCE``.
    """
    import pandas as pd

    rows = []
    for e in IMAGENET_ZOO.values():
        rows.append({
            "backbone": e.name,
            "keras": e.keras_class,
            "params (M), Keras": round(e.keras_params / 1e6, 2),
            "params (M), torchvision": round(e.torch_params / 1e6, 2),
            "backbone params (M)": round(e.keras_backbone_params / 1e6, 2),
            "conv+dense layers": e.weight_layers,
            "input": f"{e.input_size}x{e.input_size}",
            "features": e.features,
            "ImageNet top-1 %, Keras": e.keras_top1,
            "ImageNet top-1 %, torchvision V1": e.torch_top1,
        })
    return pd.DataFrame(rows).set_index("backbone")


def zoo_records() -> list[dict[str, Any]]:
    """:data:`IMAGENET_ZOO` as plain dictionaries (for JSON or a quick print)."""
    return [asdict(e) for e in IMAGENET_ZOO.values()]


# --------------------------------------------------------------------------------------
# Pretraining course_cnn on SynDigits
# --------------------------------------------------------------------------------------

def augment_digits(x: np.ndarray, rng: np.random.Generator, *, max_shift: int = 3,
                   zoom: tuple[float, float] = (1.0, 1.4), max_rotation: float = 10.0,
                   p_blur: float = 0.5, p_gray: float = 0.2, p_invert: float = 0.2,
                   p_thick: float = 0.3, p_ink: float = 0.5, p_lowres: float = 0.6,
                   lowres_size: int = 8, lowres_levels: int | None = 17) -> np.ndarray:
    """Random, label-preserving changes to a batch of NHWC images in [0, 1] (a new array).

    Per image: a zoom by a factor drawn from ``zoom`` and a rotation of up to
    ``max_rotation`` degrees about the centre, a translation of up to ``max_shift``
    pixels (edges repeated), a Gaussian blur (sigma 0.5, 1 or 1.5 px) with probability
    ``p_blur``, conversion to grey with ``p_gray`` and colour inversion with ``p_invert``.

    Then three changes that make the source look like the *image formation* of the real
    target, in the spirit of SynNumbers, which Ganin et al. designed to resemble SVHN —
    without any target image or label. The UCI scanner behind sklearn's Digits drew
    size-normalised binary bitmaps of the ink and counted the ink pixels in 4×4 blocks
    (8×8 images, 17 levels, white ink on black); the course loader upsamples them
    bicubically to 32×32. So: strokes thickened by a 3×3 grey dilation of the ink
    (:func:`thicken_strokes`) with ``p_thick``; a binary white-ink-on-black bitmap
    (:func:`ink_mask`) with ``p_ink``; and, with ``p_lowres``, the image seen through a
    ``lowres_size``×``lowres_size`` sensor with ``lowres_levels`` grey levels and brought
    back with the loader's interpolation (:func:`low_resolution`). The zoom range starts
    at 1 because those digits fill their frame.

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


#: Defaults of ``python -m tlhelpers.zoo pretrain`` (the shipped weights used these).
PRETRAIN_DEFAULTS: dict[str, Any] = {
    "n_train": 20_000, "n_test": 2_000, "epochs": 4, "batch_size": 128, "lr": 2e-3,
    "seed": 0,
}


def pretrain(framework: str, *, n_train: int = PRETRAIN_DEFAULTS["n_train"],
             n_test: int = PRETRAIN_DEFAULTS["n_test"], epochs: int = PRETRAIN_DEFAULTS["epochs"],
             batch_size: int = PRETRAIN_DEFAULTS["batch_size"], lr: float = PRETRAIN_DEFAULTS["lr"],
             seed: int = PRETRAIN_DEFAULTS["seed"], out_dir: str | Path | None = None,
             progress: bool = True) -> dict[str, Any]:
    """Pretrain ``course_cnn`` + a 10-way head on SynDigits; save the backbone and a record.

    Recipe (the same in both frameworks): SynDigits train (``n_train`` images, ``seed``),
    :func:`augment_digits` with its defaults (geometry, blur, colour, thicker strokes,
    binary ink, an 8×8 17-level sensor) redrawn every epoch from one generator seeded
    with ``seed`` (it runs in NumPy, so both frameworks see identical images), Adam with
    learning rate ``lr`` decayed to 0 by a per-step cosine schedule, cross-entropy on
    logits, batch ``batch_size``. Then the
    head is dropped and the backbone weights are written to ``out_dir`` (default
    :data:`WEIGHTS_DIR`) with a JSON record: data, seed, epochs, optimizer, accuracy on
    SynDigits test and on the real Digits test set, wall time, framework and versions.
    Returns the record.
    """
    framework = _check_framework(framework)
    from .data import load_dataset

    start = time.perf_counter()
    train = load_dataset("syndigits", "train", n=n_train, seed=seed)
    test = load_dataset("syndigits", "test", n=n_test, seed=seed)
    digits = load_dataset("digits", "test")
    digits_train = load_dataset("digits", "train")
    data_seconds = time.perf_counter() - start

    if framework == "keras":
        from .keras import backbones as B
        from .keras import training as T
        from .keras import seed_everything
        import keras
        versions = {"keras": keras.__version__, "tensorflow": __import__("tensorflow").__version__}
    else:
        from .torch import backbones as B
        from .torch import training as T
        from .torch import seed_everything
        import torch
        versions = {"torch": torch.__version__}
    seed_everything(seed)
    backbone = B.course_cnn(pretrained=False)
    model = B.build_classifier(backbone, 10, freeze_backbone=False, bn_inference=False)
    rng = np.random.default_rng(seed)
    train_start = time.perf_counter()
    history = T.fit(model, train, epochs=epochs, batch_size=batch_size, lr=lr,
                    schedule="cosine", augment=lambda x: augment_digits(x, rng),
                    seed=seed, progress=progress)
    train_seconds = time.perf_counter() - train_start
    syn_acc = T.evaluate(model, test)["accuracy"]
    dig_acc = T.evaluate(model, digits)["accuracy"]
    probe = [probe_accuracy(B.extract_features, backbone, digits_train.per_class(10, s), digits)
             for s in range(3)]

    out = Path(out_dir) if out_dir is not None else WEIGHTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    weights = out / course_weights_path(framework).name
    B.save_backbone_weights(backbone, weights)
    record = {
        "backbone": "course_cnn",
        "architecture": {k: list(v) if isinstance(v, tuple) else v for k, v in COURSE_CNN.items()},
        "framework": framework,
        "weights_file": weights.name,
        "weights_bytes": weights.stat().st_size,
        "data": {"train": {"name": "syndigits", "split": "train", "n": len(train), "seed": seed},
                 "test": {"name": "syndigits", "split": "test", "n": len(test), "seed": seed},
                 "target_test": {"name": "digits", "split": "test", "n": len(digits)}},
        "seed": seed,
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": {"name": "adam", "lr": lr, "schedule": "cosine decay to 0, per step",
                      "weight_decay": 0.0},
        "augmentation": "tlhelpers.zoo.augment_digits (zoom 1.0-1.4, rotation <=10 deg, "
                        "shift <=3 px, blur p=0.5, grey p=0.2, invert p=0.2, thicker strokes "
                        "p=0.3, binary white ink on black p=0.5, 8x8 sensor (area mean, 17 "
                        "levels, bicubic back to 32x32) p=0.6), redrawn every epoch",
        "head": "Dense/Linear 128 -> 10 logits (discarded)",
        "history": {k: [round(float(v), 4) for v in vals] for k, vals in history.items()},
        "syndigits_test_accuracy": round(float(syn_acc), 4),
        "digits_test_accuracy": round(float(dig_acc), 4),
        "digits_test_note": "whole network (backbone + SynDigits head), no Digits labels: "
                            "source-only accuracy on the real target",
        "digits_linear_probe_10_per_class": {
            "accuracy_per_seed": [round(float(a), 4) for a in probe],
            "mean": round(float(np.mean(probe)), 4),
            "protocol": "frozen backbone features -> tlhelpers.probes.linear_probe_accuracy "
                        "(StandardScaler + LogisticRegression(C=1)) fitted on Digits train "
                        ".per_class(10, seed), seeds 0-2; Digits test"},
        "wall_seconds": {"data": round(data_seconds, 1), "train": round(train_seconds, 1),
                         "total": round(time.perf_counter() - start, 1)},
        "versions": {"python": platform.python_version(), "numpy": np.__version__, **versions},
        "machine": f"{platform.machine()}, {_cpu_count()} CPU cores",
        "command": f"python -m tlhelpers.zoo pretrain --framework {framework} --epochs {epochs} "
                   f"--n-train {n_train} --seed {seed}",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (out / f"{_WEIGHT_STEM}.{framework}.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def probe_accuracy(extract, backbone, train, test, *, C: float = 1.0) -> float:
    """Accuracy on ``test`` of a linear probe fitted on frozen-backbone features of ``train``.

    ``extract`` is the track's ``extract_features``; the probe is
    :func:`tlhelpers.probes.linear_probe_accuracy` (standardised features, logistic
    regression): the course's linear head for few-label experiments.
    """
    from .probes import linear_probe_accuracy

    return linear_probe_accuracy(extract(backbone, train, progress=False), train.y,
                                 extract(backbone, test, progress=False), test.y, C=C)


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tlhelpers.zoo",
                                     description="The course's backbones: pretrain course_cnn, list the zoo.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pretrain", help="pretrain course_cnn on SynDigits and write its weights")
    p.add_argument("--framework", choices=FRAMEWORKS, required=True)
    p.add_argument("--epochs", type=int, default=PRETRAIN_DEFAULTS["epochs"])
    p.add_argument("--n-train", type=int, default=PRETRAIN_DEFAULTS["n_train"])
    p.add_argument("--n-test", type=int, default=PRETRAIN_DEFAULTS["n_test"])
    p.add_argument("--batch-size", type=int, default=PRETRAIN_DEFAULTS["batch_size"])
    p.add_argument("--lr", type=float, default=PRETRAIN_DEFAULTS["lr"])
    p.add_argument("--seed", type=int, default=PRETRAIN_DEFAULTS["seed"])
    p.add_argument("--out-dir", default=None, help=f"default: {WEIGHTS_DIR}")
    sub.add_parser("table", help="print the ImageNet zoo table")
    args = parser.parse_args(argv)
    if args.command == "table":
        print(zoo_table().to_string())
        return 0
    record = pretrain(args.framework, n_train=args.n_train, n_test=args.n_test, epochs=args.epochs,
                      batch_size=args.batch_size, lr=args.lr, seed=args.seed, out_dir=args.out_dir)
    print(json.dumps({k: record[k] for k in ("framework", "weights_file", "syndigits_test_accuracy",
                                              "digits_test_accuracy", "wall_seconds")}, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def check_block_count(k: int) -> int:
    """``k`` as a number of course_cnn blocks to transfer (0 … 4), or a clear error."""
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= len(COURSE_CNN_BLOCKS):
        raise ValueError(f"k must be an integer from 0 to {len(COURSE_CNN_BLOCKS)} "
                         f"(blocks: {', '.join(COURSE_CNN_BLOCKS)}), got {k!r}.")
    return k


def steps_to_epochs(n_examples: int, steps: int, batch_size: int) -> int:
    """Epochs that give at least ``steps`` optimizer steps on ``n_examples`` examples."""
    import math

    return max(1, math.ceil(steps / math.ceil(n_examples / batch_size)))
