"""Fine-tuning in PyTorch: block-wise unfreezing, discriminative learning rates, schedules,
gradual unfreezing, EWC and L2-SP, class weights, and a training loop that combines them.

Mirrors :mod:`tlhelpers.keras.finetune` name for name; the framework-neutral parts (block
names, rate multipliers, unfreezing order, penalty references) are in
:mod:`tlhelpers.finetune`, the schedules in :mod:`tlhelpers.schedules`, class weights in
:mod:`tlhelpers.imbalance`.

A model here is a course backbone (``course_cnn`` or an ImageNet backbone from
:mod:`tlhelpers.torch.backbones`), usually inside a classifier from ``build_classifier``.
Its parameters fall into the backbone's blocks (:data:`tlhelpers.finetune.BACKBONE_BLOCKS`)
and one more block, ``"head"``: everything outside the backbone.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import finetune as core
from .. import imbalance
from .. import checks
from ..checks import positive_int
from ..finetune import HEAD
from ..schedules import get_schedule
from . import params as _params
from .backbones import CourseCNN, ImageNetBackbone, _check_images, _model_device, _to_nchw
from .device import get_device
from .training import evaluate

__all__ = [
    "EWC",
    "L2SP",
    "Callback",
    "EarlyStopping",
    "GradualUnfreezing",
    "ReduceLROnPlateau",
    "balanced_sampler",
    "block_names",
    "block_parameters",
    "check_param_groups",
    "class_weights",
    "ewc_penalty",
    "fisher_diagonal",
    "fit",
    "l2sp_penalty",
    "lr_schedule",
    "param_groups",
    "snapshot",
    "unfreeze",
]


# --------------------------------------------------------------------------------------
# Blocks: which parameter belongs to which block
# --------------------------------------------------------------------------------------

def _vgg_block(index: int) -> str:
    # torchvision vgg16.features: max-pooling at 4, 9, 16, 23, 30 closes each block.
    return f"block{1 + sum(index > end for end in (4, 9, 16, 23))}"


def _mobilenet_block(index: int) -> str:
    # torchvision mobilenet_v2.features: 0 = stem conv, 1..17 = inverted residuals, 18 = last conv.
    if index == 0:
        return "stem"
    if index == 18:
        return "top"
    return f"stage{core.MOBILENET_V2_STAGES[index - 1]}"


def _efficientnet_block(index: int) -> str:
    # torchvision efficientnet_b0.features: 0 = stem, 1..7 = MBConv stages, 8 = head conv.
    return "stem" if index == 0 else "top" if index == 8 else f"stage{index}"


# Names relative to the backbone module (torchvision's module names; see _feature_body).
_RULES: dict[str, list[tuple[str, Callable[[re.Match], str]]]] = {
    "course_cnn": [(r"^(stem|stage1|stage2|stage3)[._]", lambda m: m[1])],
    "resnet50": [(r"^body\.(conv1|bn1)\.", lambda m: "stem"),
                 (r"^body\.layer([1-4])\.", lambda m: f"stage{m[1]}")],
    "vgg16": [(r"^body\.0\.(\d+)\.", lambda m: _vgg_block(int(m[1])))],
    "mobilenet_v2": [(r"^body\.features\.(\d+)\.", lambda m: _mobilenet_block(int(m[1])))],
    "efficientnet_b0": [(r"^body\.features\.(\d+)\.", lambda m: _efficientnet_block(int(m[1])))],
    "densenet121": [(r"^body\.features\.(conv0|norm0)\.", lambda m: "stem"),
                    (r"^body\.features\.(?:denseblock|transition)([1-4])\.", lambda m: f"stage{m[1]}"),
                    (r"^body\.features\.norm5\.", lambda m: "stage4")],
}


def _find_backbone(model: nn.Module) -> tuple[str, str]:
    """(architecture, name prefix) of the course backbone inside ``model``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    for name, module in model.named_modules():
        prefix = f"{name}." if name else ""
        if isinstance(module, CourseCNN):
            return "course_cnn", prefix
        if isinstance(module, ImageNetBackbone):
            return module.name, prefix
    raise ValueError("model must contain a course backbone (course_cnn or an ImageNet backbone from "
                     "tlhelpers.torch.backbones), whose blocks are known; got a "
                     f"{type(model).__name__} without one.")


def _block_of(arch: str, prefix: str, name: str) -> str | None:
    """The block of a parameter or module ``name``: a backbone block, HEAD, or None (backbone, no block)."""
    if not name.startswith(prefix):
        return HEAD
    relative = name[len(prefix):] + "."
    for pattern, block in _RULES[arch]:
        match = re.match(pattern, relative)
        if match:
            return block(match)
    return None


def block_parameters(model: nn.Module) -> dict[str, dict[str, nn.Parameter]]:
    """Every learnable parameter of ``model`` (frozen ones too), by block, input to output.

    Returns ``{block: {parameter name: parameter}}`` with the backbone's blocks in order and
    ``"head"`` last (when the model has parameters outside the backbone). Each parameter is
    in exactly one block.
    """
    arch, prefix = _find_backbone(model)
    blocks: dict[str, dict[str, nn.Parameter]] = {b: {} for b in core.BACKBONE_BLOCKS[arch]}
    for name, p in model.named_parameters():
        block = _block_of(arch, prefix, name)
        if block is None:
            raise RuntimeError(f"parameter {name!r} of the {arch} backbone matches no block; "
                               "the block table in tlhelpers.torch.finetune is incomplete.")
        blocks.setdefault(block, {})[name] = p
    return blocks


def block_names(model: nn.Module) -> tuple[str, ...]:
    """The blocks of ``model``, input to output (``"head"`` last when there is one)."""
    return tuple(block_parameters(model))


def _block_modules(model: nn.Module) -> dict[str, list[nn.Module]]:
    """The leaf modules of each block (layers with or without parameters, dropout included)."""
    arch, prefix = _find_backbone(model)
    blocks: dict[str, list[nn.Module]] = {b: [] for b in core.BACKBONE_BLOCKS[arch]}
    for name, module in model.named_modules():
        if next(module.children(), None) is None and name:
            block = _block_of(arch, prefix, name)
            if block is not None:
                blocks.setdefault(block, []).append(module)
    return blocks


def unfreeze(model: nn.Module, top_k: int | None = None, *,
             from_block: str | None = None, bn_trainable: bool = False) -> nn.Module:
    """Train the head and the top ``top_k`` blocks of the backbone; freeze the rest.

    Blocks, not layer indices: ``top_k=0`` trains the head alone (feature extraction),
    ``top_k=len(backbone blocks)`` fine-tunes everything; or name the lowest block to train,
    ``from_block="stage2"`` (Keras's ``fine_tune_at``, by block). Frozen blocks get
    :func:`tlhelpers.torch.freeze` (no gradients, eval mode that survives ``model.train()``).
    BatchNorm layers stay frozen in inference mode even in unfrozen blocks (their statistics
    and affine weights are kept) unless ``bn_trainable=True``: then those of the unfrozen
    blocks learn their scale and shift and normalise with batch statistics in training mode.

    Give the optimizer the newly trainable parameters (build it from
    :func:`param_groups` with ``include_frozen=True`` up front, or rebuild it). Returns ``model``.
    """
    if not isinstance(bn_trainable, bool):
        raise ValueError(f"bn_trainable must be True or False, got {bn_trainable!r}.")
    blocks = _block_modules(model)
    backbone = [b for b in blocks if b != HEAD]
    k = core.resolve_top_k(backbone, top_k, from_block)
    trainable = set(backbone[len(backbone) - k:]) | {HEAD}
    for block, modules in blocks.items():
        for module in modules:
            if block in trainable:
                _params.unfreeze(module, bn_trainable=bn_trainable or block == HEAD)
            else:
                _params.freeze(module)
    return model


# --------------------------------------------------------------------------------------
# Discriminative learning rates: one parameter group per block
# --------------------------------------------------------------------------------------

def param_groups(model: nn.Module, lr: float, *, decay: float = 1.0,
                 include_frozen: bool = False) -> list[dict[str, Any]]:
    """One optimizer parameter group per block, rates decaying towards the input.

    The head learns at ``lr``, the top backbone block at ``lr * decay``, the next at
    ``lr * decay**2`` … (:func:`tlhelpers.finetune.discriminative_multipliers`). Each group is
    ``{"name": block, "params": [...], "lr": rate, "lr_scale": rate / lr}``; pass the list
    to any ``torch.optim`` optimizer. Only trainable parameters are included unless
    ``include_frozen=True`` (for :class:`GradualUnfreezing`: frozen parameters have no
    gradient, so the optimizer skips them until they are unfrozen). Every included
    parameter is in exactly one group (checked by :func:`check_param_groups`).
    """
    base = core._number(lr, "lr", low=0.0, low_open=True)
    if not isinstance(include_frozen, bool):
        raise ValueError(f"include_frozen must be True or False, got {include_frozen!r}.")
    blocks = block_parameters(model)
    scale = core.discriminative_multipliers(list(blocks), decay)
    groups = []
    for block, named in blocks.items():
        chosen = [p for p in named.values() if include_frozen or p.requires_grad]
        if chosen:
            groups.append({"name": block, "params": chosen, "lr": base * scale[block],
                           "lr_scale": scale[block]})
    check_param_groups(model, groups)
    return groups


def check_param_groups(model: nn.Module, groups: Iterable[Mapping[str, Any]]) -> None:
    """Raise unless every trainable parameter of ``model`` is in exactly one group.

    COURSE.md §5 item 18: a parameter in two groups would be updated twice per step (torch
    refuses that too, with a less helpful message); a trainable parameter in none would
    silently never train. Parameters that are not the model's are refused as well.
    """
    _check_module(model)
    names = {id(p): n for n, p in model.named_parameters()}
    seen: dict[int, str] = {}
    for i, group in enumerate(groups):
        if not isinstance(group, Mapping) or "params" not in group:
            raise ValueError(f"groups[{i}] must be a dict with a 'params' list, got {type(group).__name__}.")
        label = f"group {i} ({group.get('name', 'unnamed')})"
        params = group["params"]
        params = [params] if isinstance(params, torch.Tensor) else list(params)
        for p in params:
            if id(p) not in names:
                raise ValueError(f"groups: {label} holds a parameter of shape {tuple(p.shape)} that is "
                                 "not a parameter of the model.")
            if id(p) in seen:
                raise ValueError(f"groups: parameter {names[id(p)]!r} is in two groups, {seen[id(p)]} "
                                 f"and {label}; every parameter must be in exactly one group.")
            seen[id(p)] = label
    missing = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in seen]
    if missing:
        raise ValueError(f"groups: trainable parameter(s) {', '.join(map(repr, missing[:3]))}"
                         f"{' …' if len(missing) > 3 else ''} are in no group and would never train.")


def _factor(fn: Callable[..., float], total_steps: int, options: dict[str, Any], step: int) -> float:
    return fn(step, total_steps, **options)


def lr_schedule(optimizer: torch.optim.Optimizer, schedule: str | Callable[..., float],
                total_steps: int, **options: Any) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` following a :mod:`tlhelpers.schedules` schedule; call ``.step()`` after
    every optimizer step.

    Each parameter group's own ``lr`` is its peak rate (so discriminative rates keep their
    ratios); ``options`` are the schedule's (``warmup_steps``, ``pct_start``, ``cut_frac`` …).
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}.")
    if "peak_lr" in options:
        raise ValueError("peak_lr is each parameter group's own lr here; set the groups' lr instead.")
    fn = get_schedule(schedule)
    total = positive_int(total_steps, "total_steps")
    fn(0, total, **options)  # checks the options now, with the schedule's own message
    return torch.optim.lr_scheduler.LambdaLR(optimizer, functools.partial(_factor, fn, total, dict(options)))


# --------------------------------------------------------------------------------------
# Callbacks (for fit) and gradual unfreezing
# --------------------------------------------------------------------------------------

class Callback:
    """What :func:`fit` calls, with Keras's names: ``on_train_begin(model, optimizer)``,
    ``on_epoch_begin(epoch)``, ``on_epoch_end(epoch, logs)``, ``on_train_end()``; set
    ``stop_training`` to stop after the current epoch."""

    stop_training = False

    def on_train_begin(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Called once, before the first epoch."""

    def on_epoch_begin(self, epoch: int) -> None:
        """Called before each epoch (0-based)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Called after each epoch with its metrics (``loss``, ``accuracy``, ``val_*``)."""

    def on_train_end(self) -> None:
        """Called once, after the last epoch."""


class GradualUnfreezing(Callback):
    """ULMFiT's gradual unfreezing (Howard & Ruder 2018, §3.3): the head alone first, then
    one more block from the top down every ``every`` epochs.

    The optimizer must already hold every parameter that will be unfrozen (COURSE.md §5
    item 17): build it from ``param_groups(model, lr, decay=..., include_frozen=True)``.
    Frozen parameters have no gradient, so torch skips them — no update, no weight decay,
    no optimizer state — until they are unfrozen; their Adam state then starts at step 1.
    Each change of stage checks that the optimizer holds every trainable parameter.

    In a hand-written loop call :meth:`set_epoch` before each epoch (or :meth:`step` after
    it, like an LR scheduler); :func:`fit` calls ``on_epoch_begin``.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None = None, *,
                 every: int = 1, start: int = 0, bn_trainable: bool = False) -> None:
        self.model = model
        self.optimizer = optimizer
        self.n_blocks = len([b for b in block_names(model) if b != HEAD])
        core.top_k_at_epoch(0, self.n_blocks, every=every, start=start)  # checks every, start
        if not isinstance(bn_trainable, bool):
            raise ValueError(f"bn_trainable must be True or False, got {bn_trainable!r}.")
        self.every, self.start, self.bn_trainable = every, start, bn_trainable
        self.epoch = 0
        self.top_k: int | None = None
        if optimizer is not None:
            self.set_epoch(0)

    def on_train_begin(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer

    def on_epoch_begin(self, epoch: int) -> None:
        self.set_epoch(epoch)

    def step(self) -> None:
        """Advance to the next epoch's stage (call after each epoch)."""
        self.set_epoch(self.epoch + 1)

    def set_epoch(self, epoch: int) -> None:
        """Unfreeze what ``epoch`` trains, and check the optimizer holds it."""
        k = core.top_k_at_epoch(epoch, self.n_blocks, every=self.every, start=self.start)
        self.epoch = epoch
        if k != self.top_k:
            unfreeze(self.model, k, bn_trainable=self.bn_trainable)
            self.top_k = k
            if self.optimizer is not None:
                held = {id(p) for g in self.optimizer.param_groups for p in g["params"]}
                lost = [n for n, p in self.model.named_parameters() if p.requires_grad and id(p) not in held]
                if lost:
                    raise ValueError(f"the optimizer does not hold the newly unfrozen parameter(s) "
                                     f"{', '.join(map(repr, lost[:3]))}: they would never train. Build it "
                                     "from param_groups(model, lr, include_frozen=True).")


def _improved(current: float, best: float | None, mode: str, min_delta: float) -> bool:
    if best is None:
        return True
    return current < best - min_delta if mode == "min" else current > best + min_delta


def _mode(monitor: str, mode: str) -> str:
    if not isinstance(monitor, str):
        checks.fail("monitor", "the name of a logged metric, e.g. 'val_loss'", monitor)
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}.")
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    return mode


class EarlyStopping(Callback):
    """Stop when ``monitor`` (e.g. ``"val_loss"``) has not improved for ``patience`` epochs,
    and put back the best epoch's weights (``restore_best_weights``): checkpointing the best
    model in memory. Same arguments as ``keras.callbacks.EarlyStopping``."""

    def __init__(self, monitor: str = "val_loss", *, patience: int = 3, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True) -> None:
        checks.flag(restore_best_weights, "restore_best_weights")
        self.monitor, self.mode = monitor, _mode(monitor, mode)
        self.patience = positive_int(patience, "patience")
        self.min_delta = core._number(min_delta, "min_delta", low=0.0)
        self.restore_best_weights = restore_best_weights
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.model: nn.Module | None = None

    def on_train_begin(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.model, self.best, self.best_epoch, self.stop_training = model, None, None, False

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise ValueError(f"monitor={self.monitor!r} is not a logged metric; logs have "
                             f"{', '.join(logs)} (val_* needs validation data).")
        if _improved(logs[self.monitor], self.best, self.mode, self.min_delta):
            self.best, self.best_epoch = logs[self.monitor], epoch
            if self.restore_best_weights:
                self.best_state = copy.deepcopy(self.model.state_dict())
        elif epoch - self.best_epoch >= self.patience:
            self.stop_training = True

    def on_train_end(self) -> None:
        if self.restore_best_weights and self.best_state is not None:
            self.model.load_state_dict(self.best_state)


class ReduceLROnPlateau(Callback):
    """Multiply every group's rate by ``factor`` when ``monitor`` has not improved for
    ``patience`` epochs: ``torch.optim.lr_scheduler.ReduceLROnPlateau`` as a :func:`fit`
    callback, with ``keras.callbacks.ReduceLROnPlateau``'s arguments."""

    def __init__(self, monitor: str = "val_loss", *, factor: float = 0.1, patience: int = 2,
                 min_lr: float = 0.0, mode: str = "auto") -> None:
        self.monitor, self.mode = monitor, _mode(monitor, mode)
        self.factor = core._number(factor, "factor", low=0.0, high=1.0, low_open=True, high_open=True)
        self.patience = positive_int(patience, "patience")
        self.min_lr = core._number(min_lr, "min_lr", low=0.0)
        self.scheduler = None

    def on_train_begin(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=self.mode, factor=self.factor, patience=self.patience, min_lr=self.min_lr)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise ValueError(f"monitor={self.monitor!r} is not a logged metric; logs have {', '.join(logs)}.")
        self.scheduler.step(logs[self.monitor])


# --------------------------------------------------------------------------------------
# EWC and L2-SP
# --------------------------------------------------------------------------------------

def _check_module(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")


def _check_data(model: Any, data: Any, what: str = "data") -> None:
    """The contract's checks of a classifier and its labelled images, before torch runs: a
    module that outputs logits (not a backbone), finite images of its input shape, labels in
    ``[0, classes)``."""
    if not isinstance(model, nn.Module):
        checks.fail("model", "a torch.nn.Module classifier", checks.Received(type(model).__name__))
    if isinstance(model, (CourseCNN, ImageNetBackbone)):
        checks.classifier_expected("model", model.out_features)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    _check_images(data, model, what, with_labels=True,
                  num_classes=linears[-1].out_features if linears else None)


def _images_labels(data: Any, model: nn.Module, what: str = "data") -> tuple[torch.Tensor, torch.Tensor]:
    if hasattr(data, "x") and hasattr(data, "y"):
        x, y = data.x, data.y
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    else:
        raise ValueError(f"{what} must be a Dataset or an (x, y) pair, got {type(data).__name__}.")
    x = _to_nchw(x, getattr(model, "input_shape", None), what)
    y = torch.as_tensor(np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)).long().reshape(-1)
    if len(x) != len(y) or len(y) == 0:
        raise ValueError(f"{what} must hold at least one image and one label per image, got "
                         f"{len(x)} images and {len(y)} labels.")
    return x, y


def fisher_diagonal(model: nn.Module, data: Any, *, batch_size: int = 64,
                    labels: str = "data") -> dict[str, torch.Tensor]:
    r"""Diagonal Fisher information of ``model`` on ``data``, one tensor per parameter.

    .. math:: F_i = \frac1N \sum_{n=1}^N \Bigl(\frac{\partial \log p_\theta(y_n \mid x_n)}
                                               {\partial \theta_i}\Bigr)^2

    the mean of **per-sample** squared gradients (COURSE.md §5 item 10: not the square of
    the batch-mean gradient, which is much smaller and mostly noise cancellation). Per-sample
    gradients come from ``torch.func`` (``vmap`` of ``grad``), with the model in eval mode
    (BatchNorm uses its statistics, so samples do not interact; dropout is off).

    ``labels="data"``: :math:`y_n` are the true labels (the "empirical Fisher", what most
    EWC code computes). ``labels="model"``: the expectation over the model's own predictive
    distribution, :math:`\sum_c p_\theta(c \mid x_n)\,(\partial_i \log p_\theta(c \mid x_n))^2`
    — the Fisher of Kirkpatrick et al. (2017), at ``num_classes`` times the cost (Kunstner
    et al., NeurIPS 2019, on why the two differ). Every learnable parameter is included,
    frozen ones too. Returns float32 tensors on the model's device, keyed like
    ``model.named_parameters()``.
    """
    from torch.func import functional_call, grad, vmap

    batch_size = positive_int(batch_size, "batch_size")
    if labels not in ("data", "model"):
        raise ValueError(f"labels must be 'data' (true labels) or 'model' (the model's predictive "
                         f"distribution), got {labels!r}.")
    _check_data(model, data)
    x, y = _images_labels(data, model)
    device = _model_device(model)
    params = {n: p.detach() for n, p in model.named_parameters()}
    buffers = {n: b.detach() for n, b in model.named_buffers()}

    def log_likelihood(p: dict, xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        logits = functional_call(model, (p, buffers), (xi[None],))
        return torch.log_softmax(logits, dim=-1)[0].gather(0, yi[None])[0]

    per_sample = vmap(grad(log_likelihood), in_dims=(None, 0, 0))
    fisher = {n: torch.zeros_like(p, dtype=torch.float32) for n, p in params.items()}
    was_training = model.training
    model.eval()
    try:
        for i in range(0, len(y), batch_size):
            xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
            if labels == "data":
                weighted = [(yb, None)]
            else:
                with torch.no_grad():
                    probs = torch.softmax(model(xb), dim=-1)
                weighted = [(torch.full_like(yb, c), probs[:, c]) for c in range(probs.shape[1])]
            for targets, weight in weighted:
                grads = per_sample(params, xb, targets)
                for n, g in grads.items():
                    sq = g.float() ** 2
                    if weight is not None:
                        sq = sq * weight.view(-1, *([1] * (sq.ndim - 1)))
                    fisher[n] += sq.sum(0)
    finally:
        model.train(was_training)
    return {n: f / len(y) for n, f in fisher.items()}


def snapshot(params: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Copies of ``params`` (name -> tensor): the anchor θ*, which later training must not move.

    ``detach().clone()``: a new tensor with its own memory (COURSE.md §5 item 11 — a
    ``detach()`` alone, or the dict of parameters itself, would follow the live weights and
    make the penalty zero forever).
    """
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a dict {{name: parameter}}, got {type(params).__name__}.")
    return {n: p.detach().clone() for n, p in params.items()}


def _check_same_names(named: Mapping[str, Any], other: Mapping[str, Any], what: str) -> None:
    if not isinstance(other, Mapping):
        raise ValueError(f"{what} must be a dict {{name: tensor}} like params, got {type(other).__name__}.")
    if named.keys() != other.keys():
        missing = sorted(set(named) - set(other))[:3]
        raise ValueError(f"{what} must have an entry for every parameter; missing {missing}, "
                         f"extra {sorted(set(other) - set(named))[:3]}.")
    for name, value in named.items():
        if tuple(other[name].shape) != tuple(value.shape):
            raise ValueError(f"{what}[{name!r}] must have the parameter's shape {tuple(value.shape)}, "
                             f"got {tuple(other[name].shape)}.")


def ewc_penalty(params: Mapping[str, torch.Tensor], fisher: Mapping[str, torch.Tensor],
                anchor: Mapping[str, torch.Tensor], strength: float) -> torch.Tensor:
    r"""EWC's penalty :math:`\frac{\lambda}{2}\sum_i F_i(\theta_i - \theta^*_i)^2` (Kirkpatrick
    et al., PNAS 2017, eq. 3), differentiable in ``params`` (name -> live parameter)."""
    lam = core.check_strength(strength, "strength")
    _check_same_names(params, fisher, "fisher")
    _check_same_names(params, anchor, "anchor")
    total = sum((fisher[n] * (p - anchor[n]) ** 2).sum() for n, p in params.items())
    return 0.5 * lam * total


def l2sp_penalty(params: Mapping[str, torch.Tensor], anchor: Mapping[str, torch.Tensor],
                 new_params: Mapping[str, torch.Tensor], alpha: float, beta: float) -> torch.Tensor:
    r"""L2-SP (Li, Grandvalet & Davoine, ICML 2018):
    :math:`\frac{\alpha}{2}\lVert w_S - w_S^0\rVert^2 + \frac{\beta}{2}\lVert w_{\bar S}\rVert^2`,
    ``params`` the pretrained part (live), ``anchor`` its starting point, ``new_params`` the
    parameters learnt from scratch (the head)."""
    a, b = core.check_strength(alpha, "alpha"), core.check_strength(beta, "beta")
    _check_same_names(params, anchor, "anchor")
    shift = sum(((p - anchor[n]) ** 2).sum() for n, p in params.items())
    size = sum((p ** 2).sum() for p in new_params.values())
    return 0.5 * a * shift + 0.5 * b * size


def _on_device(tensors: dict[str, torch.Tensor], params: Mapping[str, torch.Tensor]) -> None:
    for n, p in params.items():
        if tensors[n].device != p.device:
            tensors[n] = tensors[n].to(p.device)


class EWC:
    """Elastic Weight Consolidation (Kirkpatrick et al., PNAS 2017): remember the old task.

    ``EWC(source_model, source_data, strength=λ)`` computes the diagonal Fisher
    (:func:`fisher_diagonal`) of ``source_model`` on the old task and copies its weights as
    the anchor θ*; ``ewc()`` is then the penalty on the *live* parameters, for every
    parameter of ``source_model``. Fine-tune a model that shares them (the same backbone
    under a new head) with ``fit(..., penalty=ewc)``: a parameter of the old model that the
    new one does not train (the old head) costs nothing.
    """

    def __init__(self, model: nn.Module, data: Any, *, strength: float, batch_size: int = 64,
                 labels: str = "data") -> None:
        self.strength = core.check_strength(strength, "strength")
        _check_module(model)
        self.params = dict(model.named_parameters())
        self.fisher = fisher_diagonal(model, data, batch_size=batch_size, labels=labels)
        self.anchor = snapshot(self.params)

    def __call__(self) -> torch.Tensor:
        _on_device(self.fisher, self.params)
        _on_device(self.anchor, self.params)
        return ewc_penalty(self.params, self.fisher, self.anchor, self.strength)


class L2SP:
    """L2-SP (Li, Grandvalet & Davoine, ICML 2018): keep fine-tuned weights near the
    pretrained ones instead of near zero.

    ``L2SP(model, alpha=..., beta=...)``, created *before* fine-tuning, anchors every backbone
    block's parameters at their current (pretrained) values and treats the ``"head"`` block
    as new; ``l2sp()`` is the penalty on the live parameters. The paper's defaults are
    α = 0.1, β = 0.01.
    """

    def __init__(self, model: nn.Module, *, alpha: float = 0.1, beta: float = 0.01) -> None:
        self.alpha = core.check_strength(alpha, "alpha")
        self.beta = core.check_strength(beta, "beta")
        blocks = block_parameters(model)
        self.params = {n: p for b, named in blocks.items() if b != HEAD for n, p in named.items()}
        self.new_params = dict(blocks.get(HEAD, {}))
        self.anchor = snapshot(self.params)

    def __call__(self) -> torch.Tensor:
        _on_device(self.anchor, self.params)
        return l2sp_penalty(self.params, self.anchor, self.new_params, self.alpha, self.beta)


# --------------------------------------------------------------------------------------
# Class imbalance
# --------------------------------------------------------------------------------------

def class_weights(labels: Any, num_classes: int | None = None) -> torch.Tensor:
    """Balanced class weights :math:`N / (C\\,n_c)` (:func:`tlhelpers.imbalance.class_weights`)
    as a float32 tensor, e.g. for ``fit(class_weight=...)``."""
    return torch.as_tensor(imbalance.class_weights(labels, num_classes), dtype=torch.float32)


def balanced_sampler(labels: Any, num_samples: int | None = None, *,
                     seed: int | None = None) -> torch.utils.data.WeightedRandomSampler:
    """A ``WeightedRandomSampler`` that draws every class equally often (with replacement),
    for a ``DataLoader(dataset, sampler=...)``; ``num_samples`` defaults to len(labels)."""
    if seed is not None:
        checks.non_negative_int(seed, "seed")
    w = imbalance.sample_weights(labels)
    n = len(w) if num_samples is None else positive_int(num_samples, "num_samples")
    generator = torch.Generator().manual_seed(int(seed)) if seed is not None else None
    return torch.utils.data.WeightedRandomSampler(torch.as_tensor(w, dtype=torch.float64), n,
                                                  replacement=True, generator=generator)


# --------------------------------------------------------------------------------------
# Training with all of the above
# --------------------------------------------------------------------------------------

def fit(model: nn.Module, data: Any, *, epochs: int = 1, batch_size: int = 32, lr: float = 1e-3,
        weight_decay: float = 0.0, optimizer: torch.optim.Optimizer | None = None,
        schedule: str | Callable[..., float] | None = None, schedule_options: dict | None = None,
        penalty: Callable[[], torch.Tensor] | None = None, class_weight: Any = None,
        balanced: bool = False, callbacks: Iterable[Callback] = (), validation: Any = None,
        seed: int | None = None, device: torch.device | str | None = None) -> dict[str, list[float]]:
    """Fine-tune a classifier that outputs logits; returns the per-epoch history.

    Args:
        model: images -> logits (e.g. ``build_classifier``). Only what is trainable trains.
        data: a Dataset or an ``(x, y)`` pair (NHWC NumPy images or NCHW tensors).
        epochs, batch_size: the usual; the data are reshuffled every epoch.
        lr, weight_decay: of the default optimizer, AdamW (``eps=1e-7``, as in both tracks)
            over *all* the model's parameters, so blocks unfrozen later train too.
        optimizer: your own instead (e.g. ``AdamW(param_groups(model, lr, decay=0.5))``).
        schedule: a :mod:`tlhelpers.schedules` name or function, stepped per batch over the
            whole run; every group's rate is its peak. ``schedule_options`` go to it.
        penalty: a callable returning a scalar added to the loss (:class:`EWC`, :class:`L2SP`).
        class_weight: per-class loss weights (:func:`class_weights`): the loss is the batch
            mean of ``w[y] * cross-entropy``, as Keras's ``class_weight`` computes it.
        balanced: draw each epoch's examples so that every class is equally likely
            (:func:`tlhelpers.imbalance.balanced_indices`) instead of shuffling.
        callbacks: :class:`Callback` objects (:class:`GradualUnfreezing`,
            :class:`EarlyStopping`, :class:`ReduceLROnPlateau`).
        validation: data evaluated after every epoch (``val_loss``, ``val_accuracy``,
            without the penalty).
        seed: seeds shuffling, sampling and torch's generator.
        device: default :func:`tlhelpers.torch.get_device`.

    Returns ``{"loss": [...], "accuracy": [...]}`` (+ ``val_*``); ``loss`` includes the penalty.
    """
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    if seed is not None:
        checks.non_negative_int(seed, "seed")
    if optimizer is None:
        checks.positive_number(lr, "lr")
        checks.number(weight_decay, "weight_decay", minimum=0.0)
    _check_data(model, data)
    if validation is not None:
        _check_data(model, validation, "validation")
    if not isinstance(balanced, bool):
        raise ValueError(f"balanced must be True or False, got {balanced!r}.")
    if balanced and class_weight is not None:
        raise ValueError("balanced=True and class_weight both rebalance the classes; use one of them.")
    if penalty is not None and not callable(penalty):
        raise ValueError(f"penalty must be a callable returning a scalar tensor, got {type(penalty).__name__}.")
    callbacks = list(callbacks)
    device = torch.device(device) if device is not None else get_device()
    x, y = _images_labels(data, model)
    weights = None
    if class_weight is not None:
        weights = torch.as_tensor(np.asarray(class_weight.cpu() if isinstance(class_weight, torch.Tensor)
                                             else class_weight), dtype=torch.float32).reshape(-1)
        if len(weights) <= int(y.max()) or not torch.all(torch.isfinite(weights)) or torch.any(weights < 0):
            raise ValueError(f"class_weight must hold a finite weight >= 0 for each of the "
                             f"{int(y.max()) + 1} classes, got {weights.tolist()}.")
        weights = weights.to(device)
    model.to(device)
    if seed is not None:
        torch.manual_seed(int(seed))
    rng = np.random.default_rng(seed)
    if optimizer is None:
        optimizer = torch.optim.AdamW(model.parameters(), lr=core._number(lr, "lr", low=0.0, low_open=True),
                                      eps=1e-7, weight_decay=core._number(weight_decay, "weight_decay", low=0.0))
    steps = math.ceil(len(y) / batch_size)
    scheduler = None
    if schedule is not None:
        scheduler = lr_schedule(optimizer, schedule, steps * epochs, **(schedule_options or {}))
    for cb in callbacks:
        cb.on_train_begin(model, optimizer)

    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for epoch in range(epochs):
        for cb in callbacks:
            cb.on_epoch_begin(epoch)
        if not any(p.requires_grad for p in model.parameters()):
            raise ValueError("model has no trainable parameters (everything is frozen).")
        model.train()
        order = imbalance.balanced_indices(y.numpy(), seed=rng) if balanced else rng.permutation(len(y))
        loss_sum, correct = 0.0, 0
        for i in range(0, len(order), batch_size):
            idx = torch.from_numpy(order[i:i + batch_size])
            xb, yb = x[idx].to(device), y[idx].to(device)
            logits = model(xb)
            losses = nn.functional.cross_entropy(logits, yb, reduction="none")
            loss = (losses * weights[yb]).mean() if weights is not None else losses.mean()
            if penalty is not None:
                loss = loss + penalty()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            loss_sum += float(loss.detach()) * len(yb)
            correct += int((logits.detach().argmax(1) == yb).sum())
        logs = {"loss": loss_sum / len(order), "accuracy": correct / len(order)}
        if validation is not None:
            logs.update({f"val_{k}": v for k, v in evaluate(model, validation).items()})
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
        if any(getattr(cb, "stop_training", False) for cb in callbacks):
            break
    for cb in callbacks:
        cb.on_train_end()
    model.eval()
    return history
