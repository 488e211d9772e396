"""Transferring the first k blocks of a pretrained course_cnn (Yosinski et al. 2014), the
target-training run that Lesson 01's experiments share, and block outputs for probing.
Mirrors :mod:`tlhelpers.torch.transfer`; the framework-neutral bookkeeping is in
:mod:`tlhelpers.experiments`.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from .. import checks
from ..data import Dataset
from ..experiments import TargetRun, TargetRuns, check_bn
from ..zoo import COURSE_CNN_BLOCKS, course_weights_path
from ..zoo import check_block_count as _check_k
from .backbones import build_classifier, course_cnn
from .training import evaluate, fit

__all__ = ["block_outputs", "target_runs", "train_on_target", "transfer_blocks"]


def _block_layers(model: keras.Model, block: str) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if layer.name.startswith(f"{block}_") and layer.weights]


_PRETRAINED: dict[tuple, keras.Model] = {}


def _pretrained_source() -> keras.Model:
    """The course-pretrained backbone, built once per weights file (it is only read from).

    Lesson 01 transfers from it ~60 times; building it and loading its weights each time
    cost as much as ~25 training steps.
    """
    path = course_weights_path("keras")
    key = (str(path), path.stat().st_mtime_ns if path.is_file() else None)
    if key not in _PRETRAINED:
        _PRETRAINED.clear()
        _PRETRAINED[key] = course_cnn(pretrained=True)
    return _PRETRAINED[key]


def transfer_blocks(k: int, *, fine_tune: bool, bn: str = "frozen", source: keras.Model | None = None,
                    seed: int | None = None) -> keras.Model:
    """A course_cnn whose first ``k`` blocks are copied from ``source``, the rest freshly initialised.

    ``source`` defaults to the course-pretrained backbone. Copied blocks are frozen (no
    weight updates; frozen BatchNorm layers run in inference mode in Keras 3: Yosinski's
    "AnB") unless ``fine_tune`` ("AnB+"); the BatchNorm layers of fine-tuned copied blocks
    follow ``bn`` (:data:`tlhelpers.experiments.BN_CHOICES`): ``"frozen"`` keeps their
    pretrained statistics, scale and shift (``trainable = False``, so inference mode),
    ``"adapt"`` lets them train. ``k=0`` is a network trained from scratch; ``k=4``
    transfers the whole backbone.
    """
    k = _check_k(k)
    fine_tune = checks.flag(fine_tune, "fine_tune")
    seed = None if seed is None else checks.non_negative_int(seed, "seed")
    if source is not None and (not isinstance(source, keras.Model) or not all(
            _block_layers(source, block) for block in COURSE_CNN_BLOCKS[:k])):
        checks.fail("source", "a course_cnn backbone (with blocks stem, stage1, stage2, stage3)",
                    checks.Received(f"{type(source).__name__} {getattr(source, 'name', '')!r} "
                                    "without them"), "Nothing would be transferred.")
    check_bn(bn)
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    target = course_cnn(pretrained=False)
    if k:
        source = source if source is not None else _pretrained_source()
        for block in COURSE_CNN_BLOCKS[:k]:
            for dst, src in zip(_block_layers(target, block), _block_layers(source, block)):
                dst.set_weights(src.get_weights())
                if not fine_tune or (bn == "frozen" and isinstance(dst, keras.layers.BatchNormalization)):
                    dst.trainable = False
    return target


def train_on_target(train: Dataset, test: Dataset, *, k: int = 0, fine_tune: bool = True,
                    bn: str = "frozen", epochs: int = 30, batch_size: int = 32, lr: float = 1e-3,
                    seed: int = 0, source: keras.Model | None = None,
                    validation: Dataset | None = None) -> TargetRun:
    """Train a course_cnn with ``k`` transferred blocks and a new head on ``train``.

    ``k=0``: from scratch. ``k=4, fine_tune=True``: full fine-tuning, BatchNorm as ``bn``
    says. Adam, cross-entropy, ``epochs`` passes over ``train`` in batches of
    ``batch_size`` (or all of it, if smaller). ``validation``: a labelled set whose loss
    and accuracy are recorded every epoch. Returns the accuracy on ``test`` and the
    per-epoch history.
    """
    for what, ds in (("train", train), ("test", test)):
        if not isinstance(ds, Dataset):
            checks.fail(what, "a tlhelpers.data.Dataset", checks.Received(type(ds).__name__))
    if validation is not None and not isinstance(validation, Dataset):
        checks.fail("validation", "a tlhelpers.data.Dataset or None", checks.Received(type(validation).__name__))
    epochs, batch_size = checks.positive_int(epochs, "epochs"), checks.positive_int(batch_size, "batch_size")
    lr = checks.positive_number(lr, "lr")
    backbone = transfer_blocks(k, fine_tune=fine_tune, bn=bn, source=source, seed=seed)
    model = build_classifier(backbone, train.num_classes, freeze_backbone=False, bn_inference=False)
    history = fit(model, train, epochs=epochs, batch_size=min(batch_size, len(train)), lr=lr, seed=seed,
                  validation=validation, progress=False)
    return TargetRun(evaluate(model, test)["accuracy"], history)


def target_runs(targets, **kwargs: Any) -> TargetRuns:
    """:class:`tlhelpers.experiments.TargetRuns` training with :func:`train_on_target`."""
    return TargetRuns(train_on_target, targets, **kwargs)


_BLOCK_OUTPUT_LAYERS = {"stem": "stem_relu", "stage1": "stage1_out", "stage2": "stage2_out", "stage3": "stage3_out"}


def block_outputs(backbone: keras.Model, images) -> dict[str, np.ndarray]:
    """The activations after each block of a course_cnn, as NHWC NumPy arrays (inference mode).

    Keys are the block names: stem, stage1, stage2, stage3.
    """
    if not isinstance(backbone, keras.Model) or not all(
            name in {layer.name for layer in backbone.layers} for name in _BLOCK_OUTPUT_LAYERS.values()):
        checks.fail("backbone", "a course_cnn backbone", checks.Received(type(backbone).__name__))
    x = checks.image_batch(images, "images", expected=checks.model_input_shape(backbone))
    probe = keras.Model(backbone.input, [backbone.get_layer(_BLOCK_OUTPUT_LAYERS[b]).output
                                          for b in COURSE_CNN_BLOCKS])
    outputs = probe.predict(x, batch_size=256, verbose=0)
    return {block: np.asarray(out) for block, out in zip(COURSE_CNN_BLOCKS, outputs)}
