"""Backbones for the Keras track: the course-pretrained ``course_cnn``, the ImageNet zoo,
a classifier head on top, and feature extraction.

Mirrors :mod:`tlhelpers.torch.backbones` name for name. Every backbone here takes float
images in **[0, 1], channels last (N, H, W, C)** — the plain form of
:class:`tlhelpers.data.Dataset` — and normalises them *inside* the model, so there is no
preprocessing step to forget or to get wrong:

* ``course_cnn``: ``x -> 2x - 1`` (a ``Rescaling`` layer, first in the model);
* ImageNet backbones: the application's own preprocessing (``"tf"``, ``"caffe"``,
  ``"torch"`` modes, or EfficientNet's built-in normalisation) applied to ``255 * x``.

A backbone maps images to a feature vector (global average pooling); its size is
``backbone.output_shape[-1]``, also given by :func:`feature_dim`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers

from .. import checks
from ..checks import positive_int
from ..data.cache import data_dir
from ..zoo import (BACKBONES, COURSE_CNN, IMAGENET_ZOO, WeightsUnavailableError,
                   canonical_name, course_weights_path)
from .layers import InferenceMode
from .params import freeze

__all__ = [
    "BACKBONES",
    "ImageNetPreprocess",
    "build_classifier",
    "course_cnn",
    "extract_features",
    "feature_dim",
    "get_backbone",
    "imagenet_backbone",
    "save_backbone_weights",
]


# --------------------------------------------------------------------------------------
# course_cnn
# --------------------------------------------------------------------------------------

def _bn(name: str) -> layers.BatchNormalization:
    # Keras momentum is the weight of the *old* statistics: 1 - torch's momentum.
    return layers.BatchNormalization(epsilon=COURSE_CNN["bn_epsilon"],
                                     momentum=1.0 - COURSE_CNN["bn_momentum"], name=name)


def _conv(filters: int, kernel: int, stride: int, name: str, x):
    """A bias-free convolution padded like PyTorch's ``padding=kernel // 2``.

    Keras's ``padding="same"`` pads a stride-2 convolution asymmetrically (0 before, 1
    after); explicit symmetric zero padding makes both tracks compute the same function.
    """
    pad = kernel // 2
    if pad:
        x = layers.ZeroPadding2D(pad, name=f"{name}_pad")(x)
    return layers.Conv2D(filters, kernel, strides=stride, padding="valid", use_bias=False,
                         kernel_initializer="he_normal", name=name)(x)


def _residual_block(x, filters: int, stride: int, name: str):
    """Basic residual block: conv3x3(stride)-BN-ReLU-conv3x3-BN + shortcut, then ReLU."""
    h = _conv(filters, 3, stride, f"{name}_conv1", x)
    h = _bn(f"{name}_bn1")(h)
    h = layers.ReLU(name=f"{name}_relu1")(h)
    h = _conv(filters, 3, 1, f"{name}_conv2", h)
    h = _bn(f"{name}_bn2")(h)
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = _conv(filters, 1, stride, f"{name}_proj_conv", x)
        shortcut = _bn(f"{name}_proj_bn")(shortcut)
    h = layers.Add(name=f"{name}_add")([h, shortcut])
    return layers.ReLU(name=f"{name}_out")(h)


def course_cnn(pretrained: bool = True, *, weights: str | os.PathLike | None = None,
               name: str = "course_cnn") -> keras.Model:
    """The course's small residual CNN for 32×32 RGB images: images -> 128 features.

    Architecture (identical in the PyTorch track, parameter for parameter):
    ``2x - 1`` input scaling; stem 3×3 conv (32) + BN + ReLU; three stages of one basic
    residual block each (32, 64, 128 channels, stride 2 each: 32→16→8→4 pixels, 1×1
    projection shortcuts); global average pooling. 308 448 learnable parameters and
    1 408 BatchNorm statistics. Random initialisation as in the PyTorch track:
    convolutions He-normal (truncated at 2 sigma), BatchNorm scale 1 and shift 0.

    Args:
        pretrained: load the course-pretrained weights shipped in ``tlhelpers/weights/``
            (trained on SynDigits by ``python -m tlhelpers.keras.pretrain``;
            see :func:`tlhelpers.zoo.course_weights_info`). ``False``: random initialisation.
        weights: a ``.weights.h5`` file to load instead of the shipped one.
        name: the model's name.

    Input: float images in [0, 1], shape ``(N, 32, 32, 3)``. Output: ``(N, 128)``.
    """
    pretrained = checks.flag(pretrained, "pretrained")
    if weights is not None and not isinstance(weights, (str, os.PathLike)):
        checks.fail("weights", "a path to a .weights.h5 file", weights)
    h, w, c = COURSE_CNN["input_shape"]
    inputs = keras.Input((h, w, c), name="image")
    x = layers.Rescaling(COURSE_CNN["input_scale"], COURSE_CNN["input_offset"], name="scale")(inputs)
    x = _conv(COURSE_CNN["stem_channels"], 3, 1, "stem_conv", x)
    x = _bn("stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for i, (filters, stride) in enumerate(zip(COURSE_CNN["stage_channels"],
                                              COURSE_CNN["stage_strides"]), start=1):
        x = _residual_block(x, filters, stride, f"stage{i}")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    model = keras.Model(inputs, x, name=name)
    if weights is not None or pretrained:
        path = Path(weights) if weights is not None else course_weights_path("keras")
        if not path.is_file():
            raise WeightsUnavailableError(
                f"course_cnn weights not found at {path}. The shipped weights come with the "
                "tlhelpers package; recreate them with: "
                "python -m tlhelpers.keras.pretrain")
        model.load_weights(str(path))
    return model


def save_backbone_weights(backbone: keras.Model, path: str | os.PathLike) -> Path:
    """Save a backbone's weights (``.weights.h5``), as ``course_cnn(weights=path)`` reads them."""
    if not isinstance(backbone, keras.Model):
        checks.fail("backbone", "a Keras model", checks.Received(type(backbone).__name__))
    if not isinstance(path, (str, os.PathLike)):
        checks.fail("path", "a file path ending in '.weights.h5'", path)
    path = Path(path)
    if not path.name.endswith(".weights.h5"):
        raise ValueError(f"path must end in '.weights.h5' (Keras's weights format), got {path.name!r}.")
    backbone.save_weights(str(path))
    return path


# --------------------------------------------------------------------------------------
# ImageNet backbones
# --------------------------------------------------------------------------------------

# How each application wants its [0, 255] input prepared.
_PREPROCESS_MODE = {"mobilenet_v2": "tf", "resnet50": "caffe", "vgg16": "caffe",
                    "densenet121": "torch", "efficientnet_b0": "none"}
_MOBILENET_ROWS = (96, 128, 160, 192, 224)


@keras.saving.register_keras_serializable(package="tlhelpers")
class ImageNetPreprocess(layers.Layer):
    """Map [0, 1] RGB images to what a ``keras.applications`` model expects.

    Modes, as in ``keras.applications.imagenet_utils.preprocess_input`` applied to
    ``255 * x``: ``"tf"`` → [-1, 1]; ``"caffe"`` → BGR, minus the ImageNet mean (0–255
    scale); ``"torch"`` → ImageNet mean/std normalisation; ``"none"`` → ``255 * x``
    (EfficientNet normalises inside itself).
    """

    _MEAN = (0.485, 0.456, 0.406)
    _STD = (0.229, 0.224, 0.225)
    _CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

    def __init__(self, mode: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in ("tf", "caffe", "torch", "none"):
            raise ValueError(f"mode must be 'tf', 'caffe', 'torch' or 'none', got {mode!r}.")
        self.mode = mode

    def call(self, x):
        ops = keras.ops
        if self.mode == "tf":
            return x * 2.0 - 1.0
        if self.mode == "caffe":
            bgr = ops.flip(x, axis=-1) * 255.0
            return bgr - ops.convert_to_tensor(self._CAFFE_MEAN_BGR, dtype=x.dtype)
        if self.mode == "torch":
            mean = ops.convert_to_tensor(self._MEAN, dtype=x.dtype)
            std = ops.convert_to_tensor(self._STD, dtype=x.dtype)
            return (x - mean) / std
        return x * 255.0

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}


def _keras_home() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()


def _weights_file(name: str, input_shape: tuple[int, int, int]) -> tuple[str, str]:
    """(file name, URL) of the no-top ImageNet weights Keras uses for ``name``."""
    entry = IMAGENET_ZOO[name]
    if name != "mobilenet_v2":
        return entry.keras_weights_file, entry.keras_weights_url
    rows = input_shape[0] if input_shape[0] in _MOBILENET_ROWS else 224
    file = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5"
    return file, entry.keras_weights_url.rsplit("/", 1)[0] + "/" + file


# MD5s Keras itself checks the no-top weight files against (keras.applications' file_hash);
# MobileNetV2's are unpublished: its file is parsed as HDF5, then trusted on first use.
_KERAS_MD5 = {
    "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5": "4d473c1dd8becc155b73f8504c6f6626",
    "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5": "6d6bbae143d832006294945121d1f1fc",
    "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5": "30ee3e1110167f948a6b9946edeeb738",
    "efficientnetb0_notop.h5": "50bc09e76180e00e4465e1a485ddc09d",
}
_WEIGHTS_FOLDER = "keras-applications"


def _download(file: str, url: str) -> str:
    """Download with the course's downloader (per-file deadline, verified, atomic, a clear
    error) into ``data_dir()/keras-applications``; separate so tests can stub it."""
    from ..data.download import fetch
    from ..data.readers import check_hdf5

    return str(fetch(url, file, md5=_KERAS_MD5.get(file), dataset=_WEIGHTS_FOLDER,
                     validate=check_hdf5))


def _find_or_fetch(name: str, input_shape: tuple[int, int, int]) -> str:
    file, url = _weights_file(name, input_shape)
    candidates = [data_dir() / file, _keras_home() / "models" / file,
                  data_dir() / _WEIGHTS_FOLDER / file]
    for path in candidates:
        if path.is_file():
            return str(path)
    try:
        return _download(file, url)
    except Exception as err:  # no network, proxy, partial download ...
        raise WeightsUnavailableError(
            f"ImageNet weights for {IMAGENET_ZOO[name].keras_class} are not on this machine and "
            f"could not be downloaded ({type(err).__name__}: {err}). Download\n  {url}\nand save it "
            f"as\n  {candidates[0]}\n(or {candidates[1]}), then run this again. Without "
            f"weights, imagenet_backbone({name!r}, pretrained=False) builds the architecture "
            "with random weights.") from err


def _check_input_shape(input_shape, name: str) -> tuple[int, int, int]:
    try:
        shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != 3 or shape[-1] != 3 or min(shape[:2]) < 32 \
            or max(shape[:2]) > checks.LIMITS["image_side"]:
        checks.fail("input_shape", f"(height, width, 3) with height and width from 32 to "
                                   f"{checks.LIMITS['image_side']} for {name}", input_shape)
    return shape


def imagenet_backbone(name: str, pretrained: bool = True, *,
                      input_shape: tuple[int, int, int] | None = None) -> keras.Model:
    """An ImageNet architecture from ``keras.applications`` as a feature extractor.

    Args:
        name: one of ``tlhelpers.zoo.IMAGENET_ZOO`` (``"mobilenet_v2"``, ``"resnet50"``,
            ``"efficientnet_b0"``, ``"densenet121"``, ``"vgg16"``; Keras spellings such
            as ``"MobileNetV2"`` work too).
        pretrained: load ImageNet weights. They are looked for in
            :func:`tlhelpers.data_dir` and in Keras's cache ``~/.keras/models``, then
            downloaded; if that fails a :class:`~tlhelpers.zoo.WeightsUnavailableError`
            says which file to put where. ``False``: random weights (no file needed).
        input_shape: ``(H, W, 3)``, default ``(224, 224, 3)``; at least 32×32.

    Returns a model from [0, 1] RGB images ``(N, H, W, 3)`` to pooled features
    ``(N, features)``; the application's preprocessing is inside it.
    """
    pretrained = checks.flag(pretrained, "pretrained")
    name = canonical_name(name)
    if name == "course_cnn":
        raise ValueError("name='course_cnn' is not an ImageNet backbone; use course_cnn() "
                         f"or get_backbone('course_cnn'). ImageNet names: {', '.join(IMAGENET_ZOO)}.")
    entry = IMAGENET_ZOO[name]
    shape = _check_input_shape(input_shape or (entry.input_size, entry.input_size, 3), name)
    weights = _find_or_fetch(name, shape) if pretrained else None
    app = getattr(keras.applications, entry.keras_class)
    base = app(include_top=False, weights=weights, input_shape=shape, pooling="avg")
    inputs = keras.Input(shape, name="image")
    x = ImageNetPreprocess(_PREPROCESS_MODE[name], name="preprocess")(inputs)
    features = base(x)
    return keras.Model(inputs, features, name=f"{name}_backbone")


def get_backbone(name: str, pretrained: bool = True, **kwargs: Any) -> keras.Model:
    """Any course backbone by name: ``"course_cnn"`` or an ImageNet one (see :data:`BACKBONES`)."""
    pretrained = checks.flag(pretrained, "pretrained")
    name = canonical_name(name)
    if name == "course_cnn":
        return course_cnn(pretrained, **kwargs)
    return imagenet_backbone(name, pretrained, **kwargs)


# --------------------------------------------------------------------------------------
# Heads and features
# --------------------------------------------------------------------------------------

def feature_dim(backbone: keras.Model) -> int:
    """Size of the feature vector a backbone produces."""
    if not isinstance(backbone, keras.Model):
        checks.fail("backbone", "a Keras model", checks.Received(type(backbone).__name__))
    shape = backbone.output_shape
    if len(shape) != 2 or shape[-1] is None:
        raise ValueError(f"backbone must output flat feature vectors (N, D), got {shape}.")
    return int(shape[-1])


def _classifier_outputs(model: Any) -> int | None:
    """How many classes ``model`` scores; the contract's error for a non-model or a backbone
    (a model ending in global pooling outputs features, not class logits)."""
    if not isinstance(model, keras.Model):
        checks.fail("model", "a Keras model", checks.Received(type(model).__name__))
    last = model.layers[-1] if model.layers else None
    while isinstance(last, keras.Model) and last.layers:
        last = last.layers[-1]
    if isinstance(last, (layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D)):
        checks.classifier_expected("model", model.output_shape[-1])
    try:
        return int(model.output_shape[-1])
    except (AttributeError, TypeError, ValueError, IndexError):
        return None


def build_classifier(backbone: keras.Model, num_classes: int, *, freeze_backbone: bool = True,
                     dropout: float = 0.0, bn_inference: bool = True,
                     name: str | None = None) -> keras.Model:
    """Backbone + a new head giving ``num_classes`` logits.

    Args:
        backbone: a model from images to feature vectors (e.g. :func:`course_cnn`).
        num_classes: number of classes (>= 2); the head is one ``Dense`` layer named
            ``"head"`` with no activation (use ``from_logits=True`` losses).
        freeze_backbone: freeze the backbone's weights (:func:`tlhelpers.keras.freeze`);
            only the head trains. Compile (again) after changing ``trainable``.
        dropout: dropout rate on the features before the head (0 = none).
        bn_inference: run the backbone with ``training=False`` (through
            :class:`tlhelpers.keras.layers.InferenceMode`, since Keras 3's ``fit`` overrides a
            plain ``backbone(x, training=False)`` of an unfrozen nested model), so its
            BatchNorm layers use and keep their pretrained statistics even while the
            backbone is fine-tuned (COURSE.md §5 item 15); scale and shift still learn.
            ``False``: BatchNorm trains with the rest (batch statistics, moving statistics
            re-estimated on the target), as a backbone trained from scratch needs. For
            fine-tuning a pretrained backbone neither is right everywhere: Lesson 01
            (section 7) measures both on few and many labels and on a close and a shifted
            target; measure it on your data. Re-estimating the statistics on the target is
            also a domain-adaptation method (AdaBN, Li et al. 2016).
    """
    if not isinstance(backbone, keras.Model):
        checks.fail("backbone", "a Keras model", checks.Received(type(backbone).__name__))
    num_classes = checks.integer(num_classes, "num_classes", minimum=2,
                                 maximum=checks.LIMITS["num_classes"])
    dropout = checks.fraction(dropout, "dropout")
    freeze_backbone = checks.flag(freeze_backbone, "freeze_backbone")
    bn_inference = checks.flag(bn_inference, "bn_inference")
    feature_dim(backbone)  # checks the backbone outputs feature vectors
    if freeze_backbone:
        freeze(backbone)
    inputs = keras.Input(backbone.input_shape[1:], name="image")
    # Not a bare backbone(inputs, training=False): in Keras 3, fit() overrides that flag for
    # an unfrozen nested model (keras-team/keras#20285); the InferenceMode wrapper does not.
    x = InferenceMode(backbone, name=f"{backbone.name}_inference")(inputs) if bn_inference \
        else backbone(inputs)
    if dropout:
        x = layers.Dropout(float(dropout), name="dropout")(x)
    # Glorot-uniform weights, zero bias: the same initialisation as the PyTorch track.
    logits = layers.Dense(int(num_classes), name="head")(x)
    return keras.Model(inputs, logits, name=name or f"{backbone.name}_classifier")


def _as_images(data, backbone: keras.Model) -> np.ndarray:
    """The images of ``data`` (a Dataset or an array) as float32 NHWC, shape-checked."""
    x = getattr(data, "x", data)
    if getattr(data, "is_text", False) or isinstance(x, list):
        raise ValueError("data must hold images (a Dataset of images or an array), got text.")
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        x = x[None]
    expected = tuple(backbone.input_shape[1:])
    if x.ndim != 4 or any(e is not None and e != s for e, s in zip(expected, x.shape[1:])):
        hint = ""
        if x.ndim == 4 and x.shape[1] == expected[-1] and x.shape[-1] != expected[-1]:
            hint = " The array looks channels-first: Keras backbones take (N, H, W, C)."
        elif x.ndim == 4 and x.shape[-1] == expected[-1]:
            hint = " Resize the images (e.g. with tf.image.resize) or build the backbone for this size."
        raise ValueError(f"data has images of shape {tuple(x.shape[1:])}, but backbone "
                         f"{backbone.name!r} takes {expected} (H, W, C).{hint}")
    return x


def extract_features(backbone: keras.Model, data, batch_size: int = 256,
                     progress: bool = True) -> np.ndarray:
    """Features of every image of ``data`` (a Dataset or an NHWC array in [0, 1]).

    Runs the backbone in inference mode (BatchNorm uses its statistics, dropout is off,
    nothing is updated) batch by batch, with a progress bar. Returns ``(N, D)`` float32.
    """
    from tqdm.auto import tqdm

    batch_size = positive_int(batch_size, "batch_size")
    feature_dim(backbone)
    checks.image_batch(data, "data", expected=checks.model_input_shape(backbone))
    x = _as_images(data, backbone)
    dim = feature_dim(backbone)
    from .training import _inference_function  # training imports this module

    forward = _inference_function(backbone)  # traced once per backbone, for every batch size
    starts = range(0, len(x), batch_size)
    # Fetched once at the end, so a GPU never waits for the host between batches.
    outputs = [forward(x[i:i + batch_size]) for i in tqdm(
        starts, desc=f"features ({backbone.name})", unit="batch", disable=not progress, leave=False)]
    if not outputs:
        return np.empty((0, dim), dtype=np.float32)
    return np.concatenate([np.asarray(o, dtype=np.float32) for o in outputs])

