"""Transferring the first k blocks of a pretrained course_cnn (Yosinski et al. 2014) and
the target-training recipes that lesson 01's experiments share. Mirrors
:mod:`tlhelpers.keras.transfer`.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import checks
from ..data import Dataset
from ..schedules import steps_to_epochs
from ..zoo import COURSE_CNN_BLOCKS
from ..zoo import check_block_count as _check_k
from .backbones import build_classifier, course_cnn
from .params import freeze
from .training import evaluate, fit



def _block_modules(model: nn.Module, block: str) -> list[nn.Module]:
    return [module for name, module in model.named_children() if name == block or name.startswith(f"{block}_")]


def transfer_blocks(k: int, *, fine_tune: bool, source: nn.Module | None = None,
                    seed: int | None = None) -> nn.Module:
    """A course_cnn whose first ``k`` blocks are copied from ``source``, the rest freshly initialised.

    ``source`` defaults to the course-pretrained backbone. Copied blocks are frozen (eval
    mode, no gradients: Yosinski's "AnB") unless ``fine_tune`` ("AnB+"). ``k=0`` is a
    network trained from scratch; ``k=4`` transfers the whole backbone.
    """
    k = _check_k(k)
    fine_tune = checks.flag(fine_tune, "fine_tune")
    seed = None if seed is None else checks.non_negative_int(seed, "seed")
    if source is not None and (not isinstance(source, nn.Module) or not all(
            _block_modules(source, block) for block in COURSE_CNN_BLOCKS[:k])):
        checks.fail("source", "a course_cnn backbone (with blocks stem, stage1, stage2, stage3)",
                    checks.Received(f"{type(source).__name__} without them"),
                    "Nothing would be transferred.")
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
    return target.train()



def train_on_target(train: Dataset, test: Dataset, *, k: int = 0, fine_tune: bool = True,
                    steps: int = 100, lr: float = 1e-3, batch_size: int = 32, seed: int = 0,
                    source: nn.Module | None = None) -> float:
    """Test accuracy of a course_cnn with ``k`` transferred blocks trained on ``train``.

    ``k=0``: from scratch. ``k=4, fine_tune=True``: full fine-tuning. The budget is a number
    of optimizer steps, so small and large label budgets get comparable training.
    """
    for what, ds in (("train", train), ("test", test)):
        if not isinstance(ds, Dataset):
            checks.fail(what, "a tlhelpers.data.Dataset", checks.Received(type(ds).__name__))
    steps, batch_size = checks.positive_int(steps, "steps"), checks.positive_int(batch_size, "batch_size")
    lr = checks.positive_number(lr, "lr")
    backbone = transfer_blocks(k, fine_tune=fine_tune, source=source, seed=seed)
    model = build_classifier(backbone, train.num_classes, freeze_backbone=False, bn_inference=False)
    fit(model, train, epochs=steps_to_epochs(len(train), steps, batch_size), batch_size=batch_size,
        lr=lr, seed=seed, progress=False)
    return evaluate(model, test)["accuracy"]


def block_outputs(backbone: nn.Module, images) -> dict[str, "np.ndarray"]:
    """The activations after each block of a course_cnn, as NHWC NumPy arrays (eval mode).

    Read with forward hooks, so the model's own forward pass (input scaling included) runs
    unchanged. Keys are the block names: stem, stage1, stage2, stage3.
    """
    import numpy as np

    from .backbones import CourseCNN, _check_images, _to_nchw

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
    try:
        backbone.eval()
        with torch.no_grad():
            backbone(x.to(next(backbone.parameters()).device))
    finally:
        for hook in hooks:
            hook.remove()
        backbone.train(was_training)
    return {block: captured[block].permute(0, 2, 3, 1).cpu().numpy() for block in COURSE_CNN_BLOCKS}
