"""The course's backbones, framework-neutral: the ImageNet model zoo table and the
course-pretrained ``course_cnn``: what they are, where their weights live.

Two kinds of backbone exist in both tracks (``tlhelpers.keras.backbones`` and
``tlhelpers.torch.backbones``, same names):

* ``course_cnn`` — a small residual CNN for 32×32 RGB digits, *pretrained by the course*
  on SynDigits and shipped in ``tlhelpers/weights/``, so every lesson has a real
  pretrained backbone offline. The weights are reproducible::

      python -m tlhelpers.keras.pretrain
      python -m tlhelpers.torch.pretrain

  (recipe in :mod:`tlhelpers.pretraining`), which trains ``course_cnn`` + a 10-way head on
  SynDigits and writes the backbone
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

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


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


def course_record_path(framework: str, folder: Path | str | None = None) -> Path:
    """Path of the JSON record written beside the ``course_cnn`` weights by the pretraining."""
    framework = _check_framework(framework)
    return Path(folder or WEIGHTS_DIR) / f"{_WEIGHT_STEM}.{framework}.json"


def course_weights_info(framework: str) -> dict[str, Any]:
    """The JSON record written beside the ``course_cnn`` weights by ``pretrain``."""
    record = course_record_path(framework)
    if not record.is_file():
        raise WeightsUnavailableError(
            f"no record of the course-pretrained {framework} weights at {record}; "
            f"create them with: python -m tlhelpers.{framework}.pretrain")
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


def check_block_count(k: int) -> int:
    """``k`` as a number of course_cnn blocks to transfer (0 … 4), or a clear error."""
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= len(COURSE_CNN_BLOCKS):
        raise ValueError(f"k must be an integer from 0 to {len(COURSE_CNN_BLOCKS)} "
                         f"(blocks: {', '.join(COURSE_CNN_BLOCKS)}), got {k!r}.")
    return k
