"""Counting, freezing and unfreezing parameters of PyTorch modules.

Vocabulary shared by both tracks: *trainable* parameters have ``requires_grad=True``,
*frozen* parameters are ``nn.Parameter``s with ``requires_grad=False``, and *state* is
the floating-point buffers a module tracks without gradients (BatchNorm's running mean and
variance).
"""

from __future__ import annotations

import types

from torch import nn

from .. import checks
from ..params import ParamCounts




def _check_module(module: object) -> None:
    if not isinstance(module, nn.Module):
        checks.fail("model", "a torch.nn.Module", checks.Received(type(module).__name__))


def count_parameters(model: nn.Module) -> ParamCounts:
    """Trainable parameters, frozen parameters and state of ``model``."""
    _check_module(model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    state = sum(b.numel() for b in model.buffers() if b.is_floating_point())
    return ParamCounts(trainable, frozen, state)


def _stay_in_eval(self: nn.Module, mode: bool = True) -> nn.Module:
    """Replacement ``train()`` for a frozen module: stay in eval, pass the mode on to children.

    Children frozen too have this method as well and stay in eval; a child unfrozen later
    follows ``mode`` again.
    """
    self.training = False
    for child in self.children():
        child.train(mode)
    return self


def freeze(model: nn.Module) -> nn.Module:
    """Freeze ``model``: no gradients, and BatchNorm/Dropout in inference mode for good.

    ``requires_grad_(False)`` alone is not enough: a frozen backbone left in train mode
    still updates BatchNorm running statistics on every forward pass. And ``eval()`` alone
    does not last: the usual ``model.train()`` at the top of a training loop would switch
    the backbone back. So the frozen module ignores later ``train()`` calls until
    :func:`unfreeze`.
    """
    _check_module(model)
    model.requires_grad_(False)
    model.eval()
    for module in model.modules():
        module.train = types.MethodType(_stay_in_eval, module)
    return model


def unfreeze(model: nn.Module, *, from_layer: int | str | None = None,
             bn_trainable: bool = False) -> nn.Module:
    """Undo :func:`freeze`, optionally only from child ``from_layer`` (index or name) on.

    BatchNorm layers stay frozen, statistics and affine weights alike, unless
    ``bn_trainable=True``: fine-tuning on a small target set would otherwise overwrite the
    statistics the pretrained weights rely on. Remember to give the optimizer the newly
    trainable parameters.
    """
    _check_module(model)
    bn_trainable = checks.flag(bn_trainable, "bn_trainable")
    if from_layer is not None and (isinstance(from_layer, bool) or not isinstance(from_layer, (int, str))):
        checks.fail("from_layer", "a layer index (int) or a layer name (str)", from_layer)
    for module in model.modules():
        module.__dict__.pop("train", None)
    model.requires_grad_(True)
    model.train(model.training)
    if from_layer is not None:
        children = list(model.named_children())
        if not children:
            raise ValueError("from_layer needs a model with child modules.")
        names = [name for name, _ in children]
        if isinstance(from_layer, str):
            if from_layer not in names:
                raise ValueError(f"from_layer={from_layer!r} is not a child of the model; "
                                 f"children are: {', '.join(names)}.")
            start = names.index(from_layer)
        else:
            if not -len(children) <= from_layer < len(children):
                raise ValueError(f"from_layer={from_layer} is out of range for {len(children)} children.")
            start = from_layer % len(children)
        for _, child in children[:start]:
            freeze(child)
    if not bn_trainable:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                freeze(module)
    return model
