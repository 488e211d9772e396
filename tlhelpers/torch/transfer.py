"""Transferring the first k blocks of a pretrained course_cnn (Yosinski et al. 2014), the
target-training run that Lesson 01's experiments share, and block outputs for probing.
Mirrors :mod:`tlhelpers.keras.transfer`; the framework-neutral bookkeeping is in
:mod:`tlhelpers.experiments`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .. import checks
from ..data import Dataset
from ..experiments import TargetRun, TargetRuns, check_bn
from ..zoo import COURSE_CNN_BLOCKS
from ..zoo import check_block_count as _check_k
from .backbones import _to_nchw, build_classifier, course_cnn
from .params import freeze
from .training import evaluate, fit

__all__ = ["block_outputs", "target_runs", "train_on_target", "transfer_blocks"]


def _block_modules(model: nn.Module, block: str) -> list[nn.Module]:
    return [module for name, module in model.named_children() if name == block or name.startswith(f"{block}_")]


def transfer_blocks(k: int, *, fine_tune: bool, bn: str = "frozen", source: nn.Module | None = None,
                    seed: int | None = None) -> nn.Module:
    """A course_cnn whose first ``k`` blocks are copied from ``source``, the rest freshly initialised.

    ``source`` defaults to the course-pretrained backbone. Copied blocks are frozen (no
    gradients, eval mode: Yosinski's "AnB") unless ``fine_tune`` ("AnB+"); the BatchNorm
    layers of fine-tuned copied blocks follow ``bn`` (:data:`tlhelpers.experiments.BN_CHOICES`):
    ``"frozen"`` keeps their pretrained statistics, scale and shift (eval mode, no
    gradients), ``"adapt"`` lets them train. ``k=0`` is a network trained from scratch;
    ``k=4`` transfers the whole backbone.
    """
    k = _check_k(k)
    fine_tune = checks.flag(fine_tune, "fine_tune")
    seed = None if seed is None else checks.non_negative_int(seed, "seed")
    if source is not None and (not isinstance(source, nn.Module) or not all(
            _block_modules(source, block) for block in COURSE_CNN_BLOCKS[:k])):
        checks.fail("source", "a course_cnn backbone (with blocks stem, stage1, stage2, stage3)",
                    checks.Received(f"{type(source).__name__} without them"),
                    "Nothing would be transferred.")
    check_bn(bn)
    if seed is not None:
        torch.manual_seed(int(seed))
    target = course_cnn(pretrained=False)
    if k:
        source = source if source is not None else course_cnn(pretrained=True)
        for block in COURSE_CNN_BLOCKS[:k]:
            for dst, src in zip(_block_modules(target, block), _block_modules(source, block)):
                dst.load_state_dict(src.state_dict())
                if not fine_tune:
                    freeze(dst)
                elif bn == "frozen":
                    for module in dst.modules():
                        if isinstance(module, nn.modules.batchnorm._BatchNorm):
                            freeze(module)
    return target.train()


def train_on_target(train: Dataset, test: Dataset, *, k: int = 0, fine_tune: bool = True,
                    bn: str = "frozen", epochs: int = 30, batch_size: int = 32, lr: float = 1e-3,
                    seed: int = 0, source: nn.Module | None = None,
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


def block_outputs(backbone: nn.Module, images) -> dict[str, np.ndarray]:
    """The activations after each block of a course_cnn, as NHWC NumPy arrays (eval mode).

    Read with forward hooks, so the model's own forward pass (input scaling included) runs
    unchanged. Keys are the block names: stem, stage1, stage2, stage3.
    """
    from .backbones import CourseCNN, _check_images

    if not isinstance(backbone, CourseCNN):
        checks.fail("backbone", "a course_cnn backbone", checks.Received(type(backbone).__name__))
    _check_images(images, backbone, "images")
    x = _to_nchw(np.asarray(getattr(images, "x", images), dtype=np.float32), getattr(backbone, "input_shape", None))
    captured: dict[str, torch.Tensor] = {}
    hooks = [backbone.stage1.register_forward_pre_hook(lambda m, args: captured.__setitem__("stem", args[0]))]
    for block in COURSE_CNN_BLOCKS[1:]:
        hooks.append(getattr(backbone, block).register_forward_hook(
            lambda m, args, out, block=block: captured.__setitem__(block, out)))
    was_training = backbone.training
    outputs: dict[str, list[np.ndarray]] = {block: [] for block in COURSE_CNN_BLOCKS}
    try:
        backbone.eval()
        with torch.inference_mode():
            for i in range(0, len(x), 256):
                backbone(x[i:i + 256].to(next(backbone.parameters()).device))
                for block in COURSE_CNN_BLOCKS:
                    outputs[block].append(captured[block].permute(0, 2, 3, 1).cpu().numpy())
    finally:
        for hook in hooks:
            hook.remove()
        backbone.train(was_training)
    return {block: np.concatenate(chunks) for block, chunks in outputs.items()}
