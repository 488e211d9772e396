"""Unsupervised domain adaptation in PyTorch: one "source batch + target batch" loop, and
AdaBN, Deep CORAL and DAN on top of it. Mirrors :mod:`tlhelpers.keras.adapt` name for name.

Every step draws a labelled source batch and an unlabelled target batch (the same batches
as the Keras track for a seed: :func:`tlhelpers.adapt.paired_batches`) and minimises

    CE(source logits, source labels) + w(p) · Σ_taps alignment(tap(source), tap(target))

(:mod:`tlhelpers.adapt` explains taps, weights and progress p). Source and target go
through the network as **one concatenated batch**, so BatchNorm layers in training mode
normalise with statistics of both domains, as in the reference implementations; without
an alignment the target is not used at all (source-only training).

* :func:`fit_adapt` — the loop, for any alignment; the others call it. Lesson 04's DANN
  plugs in as ``alignment=`` a module (a gradient-reversal layer + a domain classifier),
  whose parameters are trained with the classifier's; ``weight=`` a schedule gives
  Ganin et al.'s λ_p, ``schedule=`` their learning-rate annealing.
* :func:`deep_coral` — CORAL loss on the logits (Sun & Saenko 2016).
* :func:`dan` — multi-kernel MMD² on the features and the logits (Long et al. 2015).
* :func:`adabn` — no training: re-estimate every BatchNorm's statistics on the target
  (Li et al. 2016).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import checks
from ..adapt import (ChannelMoments, check_fit_options, check_images, check_inputs, check_taps,
                     lr_factor, paired_batches, source_labels, weight_at)
from ..checks import positive_int
from ..divergence import DEFAULT_MULTIPLIERS, _bandwidth_list
from . import divergence
from .backbones import CourseCNN, ImageNetBackbone, _model_device, _to_nchw
from .device import get_device
from .training import _split, evaluate

__all__ = ["AdaptationModel", "adabn", "dan", "deep_coral", "fit_adapt"]

Alignment = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class AdaptationModel(nn.Module):
    """A classifier (backbone → dropout → head, as ``build_classifier`` makes) with an
    alignment loss between source and target activations.

    ``forward(x)`` is the classifier's. :meth:`step_losses` computes one step's losses;
    :meth:`train_step` also takes the optimizer step. An ``alignment`` that is an
    ``nn.Module`` (a domain discriminator) is a submodule, so ``parameters()`` includes it.
    """

    def __init__(self, classifier: nn.Module, alignment: Alignment | None = None, *,
                 taps: Sequence[str] = ("features",), weight: float | Callable[[float], float] = 1.0) -> None:
        super().__init__()
        for part in ("backbone", "head"):
            if not isinstance(getattr(classifier, part, None), nn.Module):
                raise TypeError(f"classifier must have .backbone and .head modules (as build_classifier "
                                f"makes), got a {type(classifier).__name__} without .{part}.")
        if alignment is not None and not callable(alignment):
            raise TypeError(f"alignment must be callable(source, target) -> scalar tensor, got {alignment!r}.")
        self.classifier = classifier
        self.alignment = alignment
        self.taps = check_taps(taps)
        weight_at(weight, 0.0)
        self.weight = weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x)

    def activations(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"features": backbone output, "logits": head output}`` for a batch."""
        features = self.classifier.backbone(x)
        dropout = getattr(self.classifier, "dropout", None)
        logits = self.classifier.head(dropout(features) if dropout is not None else features)
        return {"features": features, "logits": logits}

    def step_losses(self, xs: torch.Tensor, ys: torch.Tensor, xt: torch.Tensor,
               progress: float = 0.0) -> dict[str, torch.Tensor]:
        """``loss``, ``class_loss``, ``align_loss`` (unweighted), the extras of
        :meth:`alignment_terms` and the source ``logits``."""
        if self.alignment is None:
            out = self.activations(xs)
            source, target = out, None
        else:
            out = self.activations(torch.cat([xs, xt]))
            m = len(xs)
            source = {k: v[:m] for k, v in out.items()}
            target = {k: v[m:] for k, v in out.items()}
        class_loss = nn.functional.cross_entropy(source["logits"], ys)
        extra: dict[str, torch.Tensor] = {}
        if target is None:
            align = torch.zeros((), dtype=class_loss.dtype, device=class_loss.device)
        else:
            align, extra = self.alignment_terms(source, target)
        loss = class_loss + weight_at(self.weight, progress) * align
        return {"loss": loss, "class_loss": class_loss, "align_loss": align, **extra, "logits": source["logits"]}

    def alignment_terms(self, source: dict[str, torch.Tensor],
                        target: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The unweighted alignment loss Σ_taps alignment(source[tap], target[tap]), and any
        extra quantities to log (none here; DANN adds the discriminator's accuracy)."""
        return sum(self.alignment(source[t], target[t]) for t in self.taps), {}

    def train_step(self, xs: torch.Tensor, ys: torch.Tensor, xt: torch.Tensor,
                   optimizer: torch.optim.Optimizer, progress: float = 0.0) -> dict[str, float]:
        """One optimizer step on a source batch and a target batch; returns the losses (and
        extras) and the source batch accuracy as floats."""
        out = self.step_losses(xs, ys, xt, progress)
        optimizer.zero_grad(set_to_none=True)
        out["loss"].backward()
        optimizer.step()
        logs = {k: float(v.detach()) for k, v in out.items() if k != "logits"}
        logs["accuracy"] = float((out["logits"].detach().argmax(1) == ys).float().mean())
        return logs


def _target_images(target: Any) -> Any:
    """Images of the target (labels, if any, are never used)."""
    if hasattr(target, "x"):
        return target.x
    if isinstance(target, (tuple, list)) and len(target) == 2:
        return target[0]
    return target


def _inputs(x: Any, model: nn.Module, what: str) -> torch.Tensor:
    """Images as an NCHW tensor (NHWC arrays are transposed, as everywhere in the course),
    or feature vectors ``(N, d)`` (e.g. the 2-D moons) as a float tensor."""
    if getattr(x, "ndim", None) != 2:
        return _to_nchw(x, getattr(model, "input_shape", None), what)
    t = x.detach().float().cpu() if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x, np.float32))
    expected = getattr(model, "input_shape", None)
    if expected is not None and (len(expected) != 1 or expected[0] not in (None, t.shape[1])):
        raise ValueError(f"{what} has inputs of shape {tuple(t.shape[1:])}, but the model takes {tuple(expected)}.")
    return t


def _classifier_classes(model: Any, name: str = "model") -> int | None:
    """The number of classes of a ``build_classifier``-style model (its head's last Linear
    layer); the contract's error for anything else, a backbone in particular."""
    if not isinstance(model, nn.Module):
        checks.fail(name, "a torch.nn.Module classifier", checks.Received(type(model).__name__))
    if isinstance(model, (CourseCNN, ImageNetBackbone)):
        checks.classifier_expected(name, model.out_features)
    if not (isinstance(getattr(model, "backbone", None), nn.Module)
            and isinstance(getattr(model, "head", None), nn.Module)):
        checks.fail(name, "a classifier with .backbone and .head modules (as build_classifier makes)",
                    checks.Received(f"a {type(model).__name__}"))
    linears = [m for m in model.head.modules() if isinstance(m, nn.Linear)]
    return linears[-1].out_features if linears else None


def _check_optimizer(optimizer: Any, adapter: nn.Module) -> torch.optim.Optimizer:
    """The caller's optimizer must hold every trainable parameter (a discriminator's too)."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}.")
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    missing = [n for n, p in adapter.named_parameters() if p.requires_grad and id(p) not in held]
    if missing:
        raise ValueError(f"optimizer does not hold {len(missing)} trainable parameter(s) of the model "
                         f"({', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}); build it on the "
                         "parameters of the AdaptationModel (a DANN's include its discriminator's).")
    return optimizer


def fit_adapt(model: nn.Module, source: Any, target: Any, *, alignment: Alignment | None = None,
              taps: Sequence[str] | None = None, weight: float | Callable[[float], float] | None = None,
              epochs: int = 1, batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 0.0,
              optimizer: torch.optim.Optimizer | None = None,
              schedule: str | Callable[[float], float] | None = None, validation: Any = None,
              seed: int | None = None, progress: bool = True,
              device: torch.device | str | None = None) -> dict[str, list[float]]:
    """Train ``model`` (a classifier from ``build_classifier``, in place) on labelled source
    and unlabelled target data.

    Args:
        model: backbone → dropout → head classifier giving logits; or an
            :class:`AdaptationModel` already holding its alignment (e.g. a ``DANN``), in
            which case ``alignment``, ``taps`` and ``weight`` are not given.
        source: labelled source data (a Dataset or an ``(x, y)`` pair, NHWC NumPy images, or
            feature vectors ``(N, d)`` for a model that takes them).
        target: target images (a Dataset, a pair or an array); their labels are never read.
        alignment: ``f(source_activations, target_activations) -> scalar`` added to the
            source cross-entropy for each tap, e.g. ``divergence.coral_distance``; ``None``
            trains on the source only (the target is not used).
        taps: which activations to align: ``"features"`` (default), ``"logits"`` or both.
        weight: the alignment weight w (default 1), or a function of the progress p ∈ [0, 1).
        epochs, batch_size, lr, weight_decay: as in :func:`tlhelpers.torch.training.fit`
            (AdamW, eps 1e-7); an epoch is ``len(source) // batch_size`` steps.
        optimizer: your own (e.g. SGD with momentum, or parameter groups with their own
            rates) instead of AdamW(``lr``, ``weight_decay``); it must hold every trainable
            parameter, the alignment's included.
        schedule: learning-rate multiplier: ``None``, ``"cosine"`` or a function of p
            (e.g. :func:`tlhelpers.schedules.dann_lr`). Each parameter group's rate is its
            own initial rate times the factor (as ``LambdaLR`` does), so groups keep their
            ratios; the optimizer and its state are never rebuilt.
        validation: labelled data evaluated after every epoch (``val_loss``, ``val_accuracy``).
        seed: seeds the batches and torch (dropout, a discriminator's initialisation).
        progress: one progress bar over the epochs.
        device: where to train (default :func:`tlhelpers.torch.get_device`).

    Returns the per-epoch means ``{"loss", "class_loss", "align_loss", "accuracy"}`` (+ the
    model's extras, e.g. a DANN's ``domain_accuracy``, + ``val_*``); ``align_loss`` is
    unweighted, accuracy is on the source batches.
    """
    from tqdm.auto import tqdm

    # The argument contract (tlhelpers.checks), the same in both tracks, before torch runs.
    check_fit_options(lr=lr, weight_decay=weight_decay, seed=seed, progress=progress, schedule=schedule)
    epochs, batch_size = positive_int(epochs, "epochs"), positive_int(batch_size, "batch_size")
    num_classes = _classifier_classes(model.classifier if isinstance(model, AdaptationModel) else model)
    check_inputs(source, "source")
    check_inputs(target, "target")
    if seed is not None:
        torch.manual_seed(int(seed))
    if isinstance(model, AdaptationModel):
        if alignment is not None or taps is not None or weight is not None:
            raise ValueError("model is already an AdaptationModel (e.g. a DANN) with its own alignment, taps "
                             "and weight; pass alignment, taps or weight only with a plain classifier.")
        adapter, model = model, model.classifier
    else:
        adapter = AdaptationModel(model, alignment, taps=("features",) if taps is None else taps,
                                  weight=1.0 if weight is None else weight)
    xs_np, _ = _split(source, "source")
    xt_np = _target_images(target)
    xs, xt = _inputs(xs_np, model, "source"), _inputs(xt_np, model, "target")
    check_images(xs.shape, xt.shape)
    ys = torch.from_numpy(source_labels(source, len(xs), num_classes))
    source_idx, target_idx = paired_batches(len(xs), len(xt), batch_size, epochs, seed)
    device = torch.device(device) if device is not None else get_device()
    adapter.to(device)
    params = [p for p in adapter.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters (everything is frozen).")
    if optimizer is None:
        optimizer = torch.optim.AdamW(params, lr=lr, eps=1e-7, weight_decay=weight_decay)
    optimizer = _check_optimizer(optimizer, adapter)
    base_lrs = [group.setdefault("initial_lr", group["lr"]) for group in optimizer.param_groups]
    steps = source_idx.shape[1]
    total = epochs * steps
    history: dict[str, list[float]] = {}
    bar = tqdm(range(epochs), desc="fit_adapt", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        adapter.train()
        sums: dict[str, float] = {}
        for step in range(steps):
            p = (epoch * steps + step) / total
            if schedule is not None:
                factor = lr_factor(schedule, p)
                for group, base in zip(optimizer.param_groups, base_lrs):
                    group["lr"] = base * factor
            i_s = torch.from_numpy(source_idx[epoch, step])
            i_t = torch.from_numpy(target_idx[epoch, step])
            logs = adapter.train_step(xs[i_s].to(device), ys[i_s].to(device), xt[i_t].to(device),
                                      optimizer, p)
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v
        for k, v in sums.items():
            history.setdefault(k, []).append(v / steps)
        if validation is not None:
            val = evaluate(model, validation, batch_size=max(batch_size, 256))
            history.setdefault("val_loss", []).append(val["loss"])
            history.setdefault("val_accuracy", []).append(val["accuracy"])
        bar.set_postfix({k: f"{v[-1]:.3f}" for k, v in history.items()})
    adapter.eval()
    return history


def deep_coral(model: nn.Module, source: Any, target: Any, *, weight: float = 1.0,
               taps: Sequence[str] = ("logits",), **fit_kwargs: Any) -> dict[str, list[float]]:
    """Deep CORAL (Sun & Saenko 2016): :func:`fit_adapt` with the CORAL loss
    ‖C_S − C_T‖²_F / (4d²) on the logits (their last layer, fc8) with weight λ."""
    return fit_adapt(model, source, target, alignment=divergence.coral_distance, taps=taps,
                     weight=weight, **fit_kwargs)


def dan(model: nn.Module, source: Any, target: Any, *, weight: float = 1.0,
        taps: Sequence[str] = ("features", "logits"), estimator: str = "unbiased",
        multipliers: Sequence[float] = DEFAULT_MULTIPLIERS, **fit_kwargs: Any) -> dict[str, list[float]]:
    """DAN (Long et al. 2015): :func:`fit_adapt` with multi-kernel MMD² on the top layers
    (features and logits here; fc6–fc8 in the paper), Gaussian kernels at the batch's
    median-heuristic bandwidth × ``multipliers``, equal kernel weights.

    ``estimator``: ``"unbiased"`` (the U-statistic, default) or ``"linear"`` (the paper's
    linear-time estimator: O(batch) but noisier); ``"biased"`` is accepted too.
    """
    estimators = {"unbiased": divergence.mmd2_unbiased, "linear": divergence.mmd2_linear,
                  "biased": divergence.mmd2_biased}
    checks.one_of(estimator, "estimator", sorted(estimators))
    _bandwidth_list(multipliers, "multipliers")  # now, not at the first training step
    return fit_adapt(model, source, target, alignment=partial(estimators[estimator], multipliers=multipliers),
                     taps=taps, weight=weight, **fit_kwargs)


def adabn(model: nn.Module, target: Any, *, batch_size: int = 256) -> nn.Module:
    """AdaBN (Li et al. 2016): replace every BatchNorm's statistics by the target's. In place.

    No gradient step. One pass over the target images in near-equal batches of at most
    ``batch_size``, with dropout off and BatchNorm normalising by batch statistics (as in
    training); every BatchNorm layer accumulates the exact mean and population variance
    of its input over all target images (:class:`tlhelpers.adapt.ChannelMoments`), which
    then replace its running statistics. Deeper layers thus see inputs normalised with
    batch rather than final statistics, as in the usual implementations; one batch
    (``batch_size >= len(target)``) gives exactly the layer-by-layer statistics, and
    batches of 256 stay within 1 % of them (variances, course_cnn on Digits-M). The learned
    scale and shift stay; labels of ``target`` are never read.

    Returns ``model`` (modified in place; keep a ``copy.deepcopy`` of the source-only
    model if you need it later).
    """
    batch_size = positive_int(batch_size, "batch_size")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    bns = [m for m in model.modules()
           if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None]
    if not bns:
        raise ValueError("model has no BatchNorm layers with running statistics: AdaBN has nothing to re-estimate.")
    check_inputs(target, "target")
    x = _to_nchw(_target_images(target), getattr(model, "input_shape", None), "target")
    if len(x) == 0:
        raise ValueError("target is empty: AdaBN needs target images.")
    device = _model_device(model)
    moments = {bn: ChannelMoments() for bn in bns}

    def batch_normalise(bn, inputs, output):
        """Record the input's moments; normalise it with its own batch statistics."""
        a = inputs[0]
        moments[bn].update(a.double().movedim(1, -1).cpu().numpy())  # channels last
        return nn.functional.batch_norm(a, None, None, bn.weight, bn.bias, training=True, eps=bn.eps)

    hooks = [bn.register_forward_hook(batch_normalise) for bn in bns]
    was_training = model.training
    try:
        model.eval()  # dropout off, nothing updated; the hooks give BatchNorm batch statistics
        with torch.no_grad():
            for idx in np.array_split(np.arange(len(x)), -(-len(x) // batch_size)):
                model(x[torch.from_numpy(idx)].to(device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    for bn in bns:
        bn.running_mean.copy_(torch.as_tensor(moments[bn].mean, dtype=bn.running_mean.dtype))
        bn.running_var.copy_(torch.as_tensor(moments[bn].var, dtype=bn.running_var.dtype))
    return model
