"""Backbones for the PyTorch track: the course-pretrained ``course_cnn``, the ImageNet zoo
(through torchvision, where it imports), a classifier head on top, and feature extraction.

Mirrors :mod:`tlhelpers.keras.backbones` name for name. Every backbone here takes float
images in **[0, 1], channels first (N, C, H, W)** and normalises them *inside* the model,
so there is no preprocessing step to forget or to get wrong:

* ``course_cnn``: ``x -> 2x - 1`` (first thing in ``forward``);
* ImageNet backbones: ImageNet mean/std normalisation, as every torchvision model expects.

Helpers that take data (:func:`extract_features`, and ``fit``/``evaluate`` in
:mod:`tlhelpers.torch.training`) accept the course's plain form — a
:class:`tlhelpers.data.Dataset` or a NumPy array **(N, H, W, C)**, like in the Keras
track — and transpose it; a ``torch.Tensor`` is taken as already ``(N, C, H, W)``.

A backbone maps images to a feature vector (global average pooling); its size is the
``out_features`` attribute, also given by :func:`feature_dim`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import checks
from ..checks import positive_int
from ..data.cache import data_dir
from ..zoo import (BACKBONES, COURSE_CNN, IMAGENET_ZOO, BackboneUnavailableError,
                   WeightsUnavailableError, canonical_name, course_weights_path)
from .params import _stay_in_eval, freeze

__all__ = [
    "BACKBONES",
    "Classifier",
    "CourseCNN",
    "ImageNetBackbone",
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

def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=COURSE_CNN["bn_epsilon"], momentum=COURSE_CNN["bn_momentum"])


def _he_normal_(weight: torch.Tensor) -> torch.Tensor:
    """Keras's ``he_normal``: a normal truncated at 2 sigma, rescaled so that the standard
    deviation is sqrt(2 / fan_in) — the same initialisation in both tracks."""
    fan_in = weight[0].numel()
    std = (2.0 / fan_in) ** 0.5 / 0.87962566103423978
    with torch.no_grad():
        return nn.init.trunc_normal_(weight, 0.0, std, -2 * std, 2 * std)


class ResidualBlock(nn.Module):
    """Basic residual block: conv3x3(stride)-BN-ReLU-conv3x3-BN + shortcut, then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = _bn(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.bn2 = _bn(out_channels)
        self.project = stride != 1 or in_channels != out_channels
        if self.project:
            self.proj_conv = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
            self.proj_bn = _bn(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        shortcut = self.proj_bn(self.proj_conv(x)) if self.project else x
        return torch.relu(h + shortcut)


class CourseCNN(nn.Module):
    """The course's small residual CNN (see :func:`course_cnn`)."""

    def __init__(self) -> None:
        super().__init__()
        h, w, c = COURSE_CNN["input_shape"]
        self.input_shape = (c, h, w)
        stem = COURSE_CNN["stem_channels"]
        self.stem_conv = nn.Conv2d(c, stem, 3, 1, padding=1, bias=False)
        self.stem_bn = _bn(stem)
        channels = stem
        for i, (out, stride) in enumerate(zip(COURSE_CNN["stage_channels"],
                                              COURSE_CNN["stage_strides"]), start=1):
            setattr(self, f"stage{i}", ResidualBlock(channels, out, stride))
            channels = out
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_features = channels
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                _he_normal_(m.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"course_cnn takes images of shape (N, {', '.join(map(str, self.input_shape))}) "
                             f"(N, C, H, W) in [0, 1], got {tuple(x.shape)}.")
        x = x * COURSE_CNN["input_scale"] + COURSE_CNN["input_offset"]
        x = torch.relu(self.stem_bn(self.stem_conv(x)))
        x = self.stage3(self.stage2(self.stage1(x)))
        return torch.flatten(self.pool(x), 1)


def course_cnn(pretrained: bool = True, *, weights: str | os.PathLike | None = None) -> CourseCNN:
    """The course's small residual CNN for 32×32 RGB images: images -> 128 features.

    Architecture (identical in the Keras track, parameter for parameter):
    ``2x - 1`` input scaling; stem 3×3 conv (32) + BN + ReLU; three stages of one basic
    residual block each (32, 64, 128 channels, stride 2 each: 32→16→8→4 pixels, 1×1
    projection shortcuts); global average pooling. 308 448 learnable parameters and
    1 408 BatchNorm statistics. Random initialisation as in the Keras track:
    convolutions He-normal (truncated at 2 sigma), BatchNorm scale 1 and shift 0.

    Args:
        pretrained: load the course-pretrained weights shipped in ``tlhelpers/weights/``
            (trained on SynDigits by ``python -m tlhelpers.torch.pretrain``;
            see :func:`tlhelpers.zoo.course_weights_info`). ``False``: random initialisation.
        weights: a ``.pt`` state_dict file to load instead of the shipped one.

    Input: float images in [0, 1], shape ``(N, 3, 32, 32)``. Output: ``(N, 128)``.
    The model is returned in eval mode.
    """
    pretrained = checks.flag(pretrained, "pretrained")
    if weights is not None and not isinstance(weights, (str, os.PathLike)):
        checks.fail("weights", "a path to a .pt file", weights)
    model = CourseCNN()
    if weights is not None or pretrained:
        path = Path(weights) if weights is not None else course_weights_path("torch")
        if not path.is_file():
            raise WeightsUnavailableError(
                f"course_cnn weights not found at {path}. The shipped weights come with the "
                "tlhelpers package; recreate them with: "
                "python -m tlhelpers.torch.pretrain")
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def save_backbone_weights(backbone: nn.Module, path: str | os.PathLike) -> Path:
    """Save a backbone's ``state_dict`` (``.pt``), as ``course_cnn(weights=path)`` reads it."""
    if not isinstance(backbone, nn.Module):
        checks.fail("backbone", "a torch.nn.Module", checks.Received(type(backbone).__name__))
    if not isinstance(path, (str, os.PathLike)):
        checks.fail("path", "a file path ending in '.pt'", path)
    path = Path(path)
    if path.suffix != ".pt":
        raise ValueError(f"path must end in '.pt', got {path.name!r}.")
    state = {k: v.detach().cpu().clone() for k, v in backbone.state_dict().items()}
    torch.save(state, path)
    return path


# --------------------------------------------------------------------------------------
# ImageNet backbones (torchvision)
# --------------------------------------------------------------------------------------

class ImageNetBackbone(nn.Module):
    """A torchvision ImageNet model as a feature extractor for [0, 1] images.

    ``forward``: ImageNet mean/std normalisation, the network's convolutional part,
    global average pooling, flattening. ``out_features`` is the feature size.
    """

    MEAN = (0.485, 0.456, 0.406)
    STD = (0.229, 0.224, 0.225)

    def __init__(self, body: nn.Module, out_features: int, name: str) -> None:
        if not isinstance(body, nn.Module):
            checks.fail("body", "a torch.nn.Module", checks.Received(type(body).__name__))
        out_features = checks.positive_int(out_features, "out_features")
        if not isinstance(name, str):
            checks.fail("name", "a backbone name (str)", name)
        super().__init__()
        self.body = body
        self.out_features = out_features
        self.name = name
        self.input_shape = (3, None, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"{self.name} takes images of shape (N, 3, H, W) in [0, 1], got {tuple(x.shape)}.")
        mean = torch.tensor(self.MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return self.body((x - mean) / std)


def _import_torchvision():
    try:
        import torchvision  # noqa: F401
        from torchvision import models
    except Exception as err:  # ImportError, or a CUDA build that fails on import
        raise BackboneUnavailableError(
            "the PyTorch ImageNet backbones need torchvision, which does not import here "
            f"({type(err).__name__}: {err}). Install the torchvision build that matches torch "
            f"{torch.__version__} (see https://pytorch.org/get-started/locally/), or use "
            "course_cnn(), which needs no torchvision.") from err
    return models


def _feature_body(name: str, net: nn.Module) -> tuple[nn.Module, int]:
    """The torchvision network without its classifier, pooled to a feature vector."""
    if name == "resnet50":
        dim = net.fc.in_features
        net.fc = nn.Identity()
        return net, dim
    if name == "vgg16":
        return nn.Sequential(net.features, nn.AdaptiveAvgPool2d(1), nn.Flatten()), 512
    # mobilenet_v2, efficientnet_b0, densenet121: forward pools + flattens before .classifier
    last = net.classifier[-1] if isinstance(net.classifier, nn.Sequential) else net.classifier
    dim = last.in_features
    net.classifier = nn.Identity()
    return net, dim


def _torch_hub_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def _load_imagenet_state(name: str, weights_enum) -> dict:
    url = weights_enum.url
    file = url.rsplit("/", 1)[-1]
    candidates = [data_dir() / file, _torch_hub_dir() / file]
    for path in candidates:
        if path.is_file():
            return torch.load(path, map_location="cpu", weights_only=True)
    try:
        return weights_enum.get_state_dict(progress=True)
    except Exception as err:
        raise WeightsUnavailableError(
            f"ImageNet weights for torchvision {name} are not on this machine and could not be "
            f"downloaded ({type(err).__name__}: {err}). Download\n  {url}\nand save it as\n  "
            f"{candidates[0]}\n(or {candidates[1]}), then run this again. Without weights, "
            f"imagenet_backbone({name!r}, pretrained=False) builds the architecture with "
            "random weights.") from err


def imagenet_backbone(name: str, pretrained: bool = True) -> ImageNetBackbone:
    """An ImageNet architecture from torchvision as a feature extractor.

    Args:
        name: one of ``tlhelpers.zoo.IMAGENET_ZOO`` (``"mobilenet_v2"``, ``"resnet50"``,
            ``"efficientnet_b0"``, ``"densenet121"``, ``"vgg16"``; Keras spellings such
            as ``"MobileNetV2"`` work too).
        pretrained: load torchvision's ``IMAGENET1K_V1`` weights, looked for in
            :func:`tlhelpers.data_dir` and torch's hub cache, then downloaded; if that
            fails a :class:`~tlhelpers.zoo.WeightsUnavailableError` says which file to put
            where. ``False``: random weights.

    Raises :class:`~tlhelpers.zoo.BackboneUnavailableError` where torchvision does not
    import. Returns a module from [0, 1] images ``(N, 3, H, W)`` (224×224 is what the
    weights were trained at) to ``(N, out_features)``, in eval mode.
    """
    pretrained = checks.flag(pretrained, "pretrained")
    name = canonical_name(name)
    if name == "course_cnn":
        raise ValueError("name='course_cnn' is not an ImageNet backbone; use course_cnn() "
                         f"or get_backbone('course_cnn'). ImageNet names: {', '.join(IMAGENET_ZOO)}.")
    models = _import_torchvision()
    entry = IMAGENET_ZOO[name]
    net = getattr(models, entry.torchvision_builder)(weights=None)
    if pretrained:
        weights_enum = models.get_model_weights(entry.torchvision_builder).IMAGENET1K_V1
        net.load_state_dict(_load_imagenet_state(name, weights_enum))
    body, dim = _feature_body(name, net)
    return ImageNetBackbone(body, dim, name).eval()


def get_backbone(name: str, pretrained: bool = True, **kwargs: Any) -> nn.Module:
    """Any course backbone by name: ``"course_cnn"`` or an ImageNet one (see :data:`BACKBONES`)."""
    pretrained = checks.flag(pretrained, "pretrained")
    name = canonical_name(name)
    if name == "course_cnn":
        return course_cnn(pretrained, **kwargs)
    return imagenet_backbone(name, pretrained, **kwargs)


# --------------------------------------------------------------------------------------
# Heads and features
# --------------------------------------------------------------------------------------

def feature_dim(backbone: nn.Module) -> int:
    """Size of the feature vector a backbone produces (its ``out_features``)."""
    if not isinstance(backbone, nn.Module):
        checks.fail("backbone", "a torch.nn.Module", checks.Received(type(backbone).__name__))
    dim = getattr(backbone, "out_features", None)
    if not isinstance(dim, int):
        raise ValueError(f"backbone must have an integer out_features attribute (the feature size); "
                         f"{type(backbone).__name__} has {dim!r}.")
    return dim


class Classifier(nn.Module):
    """``backbone`` -> optional dropout -> linear ``head`` giving logits."""

    def __init__(self, backbone: nn.Module, num_classes: int, dropout: float = 0.0) -> None:
        num_classes = checks.integer(num_classes, "num_classes", minimum=2,
                                     maximum=checks.LIMITS["num_classes"])
        dropout = checks.fraction(dropout, "dropout")
        feature_dim(backbone)
        super().__init__()
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.head = nn.Linear(feature_dim(backbone), num_classes)
        nn.init.xavier_uniform_(self.head.weight)  # Keras's Dense default: Glorot-uniform, zero bias
        nn.init.zeros_(self.head.bias)
        self.input_shape = getattr(backbone, "input_shape", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.backbone(x)))


def _keep_bn_in_eval(module: nn.Module) -> None:
    """BatchNorm layers of ``module`` use and keep their statistics, whatever ``train()`` says.

    Their affine weights keep their ``requires_grad``: like a Keras backbone called with
    ``training=False``, a fine-tuned backbone still learns BatchNorm's scale and shift.
    :func:`tlhelpers.torch.unfreeze` lifts this.
    """
    import types

    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()
            m.train = types.MethodType(_stay_in_eval, m)


def build_classifier(backbone: nn.Module, num_classes: int, *, freeze_backbone: bool = True,
                     dropout: float = 0.0, bn_inference: bool = True) -> Classifier:
    """Backbone + a new head giving ``num_classes`` logits.

    Args:
        backbone: a module from images to feature vectors with ``out_features``
            (e.g. :func:`course_cnn`).
        num_classes: number of classes (>= 2); the head is one ``nn.Linear`` (``.head``)
            with no activation (use ``nn.CrossEntropyLoss``).
        freeze_backbone: :func:`tlhelpers.torch.freeze` the backbone: no gradients, and
            eval mode that survives ``model.train()`` (COURSE.md §5 item 16). Give the
            optimizer only the trainable parameters.
        dropout: dropout rate on the features before the head (0 = none).
        bn_inference: when the backbone is not frozen (fine-tuning), keep its BatchNorm
            layers in eval mode (the PyTorch twin of Keras's ``training=False``): the
            pretrained statistics are used and never updated, while scale and shift still
            learn. ``False``: BatchNorm trains with the rest (batch statistics, running
            statistics re-estimated on the target), as a backbone trained from scratch
            needs. For fine-tuning a pretrained backbone neither is right everywhere:
            Lesson 01 (section 7) measures both on few and many labels and on a close and
            a shifted target; measure it on your data. Re-estimating the statistics on the
            target is also a domain-adaptation method (AdaBN, Li et al. 2016).
    """
    if not isinstance(backbone, nn.Module):
        checks.fail("backbone", "a torch.nn.Module", checks.Received(type(backbone).__name__))
    num_classes = checks.integer(num_classes, "num_classes", minimum=2,
                                 maximum=checks.LIMITS["num_classes"])
    dropout = checks.fraction(dropout, "dropout")
    freeze_backbone = checks.flag(freeze_backbone, "freeze_backbone")
    bn_inference = checks.flag(bn_inference, "bn_inference")
    feature_dim(backbone)
    if freeze_backbone:
        freeze(backbone)
    elif bn_inference:
        _keep_bn_in_eval(backbone)
    model = Classifier(backbone, int(num_classes), float(dropout))
    return model


def _classifier_outputs(model: Any) -> int | None:
    """How many classes ``model`` scores (None when it does not say); the contract's error
    for a non-module or a course backbone, which outputs features, not class logits."""
    if not isinstance(model, nn.Module):
        checks.fail("model", "a torch.nn.Module", checks.Received(type(model).__name__))
    if isinstance(model, (CourseCNN, ImageNetBackbone)):
        checks.classifier_expected("model", model.out_features)
    head = model.head if isinstance(model, Classifier) else model
    if isinstance(head, nn.Linear):
        return head.out_features
    if isinstance(head, nn.Sequential) and len(head) and isinstance(head[-1], nn.Linear):
        return head[-1].out_features  # a head of several layers (e.g. the Ganin digits network's)
    return None


def _check_images(data: Any, model: nn.Module, what: str = "data", *, with_labels: bool = False,
                  num_classes: int | None = None) -> None:
    """The contract's image (and label) checks (:mod:`tlhelpers.checks`), for NumPy arrays in
    the course's NHWC form and for NCHW tensors alike."""
    x, y = getattr(data, "x", data), getattr(data, "y", None)
    if with_labels and isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    tensor = isinstance(x, torch.Tensor)
    if tensor:
        x = x.detach().float().cpu().numpy()
    if isinstance(y, torch.Tensor):
        y = y.cpu().numpy()
    expected = checks.model_input_shape(model)
    if with_labels:
        checks.image_data(data if y is None else (x, y), what, expected=expected,
                          num_classes=num_classes, channels_first=tensor)
    else:
        checks.image_batch(x, what, expected=expected, channels_first=tensor)


def _model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    if p is None:
        p = next(model.buffers(), None)
    return p.device if p is not None else torch.device("cpu")


def _to_nchw(data: Any, expected: tuple | None = None, what: str = "data") -> torch.Tensor:
    """Images of ``data`` as a float32 ``(N, C, H, W)`` tensor (on the CPU), shape-checked.

    ``data``: a Dataset or NumPy array in the course's NHWC form (transposed here), or a
    ``torch.Tensor`` already ``(N, C, H, W)``. ``expected``: ``(C, H, W)``; ``None`` entries
    match anything.
    """
    x = getattr(data, "x", data)
    if getattr(data, "is_text", False) or isinstance(x, list):
        raise ValueError(f"{what} must hold images (a Dataset of images or an array), got text.")
    if isinstance(x, torch.Tensor):
        t = x.detach().to(torch.float32)
        if t.ndim == 3:
            t = t[None]
        layout = "(N, C, H, W) as a torch.Tensor"
    else:
        a = np.asarray(x, dtype=np.float32)
        if a.ndim == 3:
            a = a[None]
        if a.ndim != 4:
            raise ValueError(f"{what} must be a batch of images (N, H, W, C), got shape {a.shape}.")
        if expected is not None and expected[0] is not None and a.shape[-1] != expected[0] \
                and a.shape[1] == expected[0]:
            raise ValueError(f"{what} is a NumPy array of shape {a.shape}, which looks channels-first; "
                             "NumPy images are channels-last (N, H, W, C) like Dataset.x in both "
                             "tracks. Pass a torch.Tensor for (N, C, H, W).")
        t = torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))
        layout = "(N, H, W, C) as a NumPy array"
    if t.ndim != 4:
        raise ValueError(f"{what} must be a batch of images, got shape {tuple(t.shape)}.")
    if expected is not None and any(e is not None and e != s for e, s in zip(expected, t.shape[1:])):
        c, h, w = expected
        raise ValueError(f"{what} has images of shape (C, H, W) = {tuple(t.shape[1:])} (read as "
                         f"{layout}), but the backbone takes ({c}, {h}, {w}).")
    return t


def extract_features(backbone: nn.Module, data: Any, batch_size: int = 256,
                     progress: bool = True) -> np.ndarray:
    """Features of every image of ``data`` (a Dataset, an NHWC NumPy array in [0, 1], or an
    NCHW tensor).

    Runs the backbone in eval mode (BatchNorm uses its statistics, dropout is off) under
    ``torch.inference_mode()`` — no gradients, nothing updated — batch by batch with a
    progress bar, then restores the backbone's previous mode. Returns ``(N, D)`` float32.
    """
    from tqdm.auto import tqdm

    from .training import _forward_batches

    batch_size = positive_int(batch_size, "batch_size")
    dim = feature_dim(backbone)
    _check_images(data, backbone)
    x = _to_nchw(data, getattr(backbone, "input_shape", None))
    device = _model_device(backbone)
    was_training = backbone.training
    backbone.eval()
    try:
        out = _forward_batches(backbone, x, batch_size, device, lambda starts: tqdm(
            starts, desc="features", unit="batch", disable=not progress, leave=False))
    finally:
        backbone.train(was_training)
    return out.numpy() if out is not None else np.empty((0, dim), dtype=np.float32)
