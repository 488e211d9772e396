"""Explanations in PyTorch: vanilla gradient saliency, Grad-CAM, feature maps, and the
model-randomisation sanity check. Mirrors :mod:`tlhelpers.keras.explain` name for name.

Every function here runs the model **in eval mode** (BatchNorm on its running statistics,
dropout off) and puts each submodule back in the mode it was in; takes gradients of the
class's **logit** with ``torch.autograd.grad`` (nothing accumulates in the parameters'
``.grad``); and returns NumPy arrays in the course's channels-last layout. The arithmetic
after the gradients — Grad-CAM's channel weights and ReLU, saliency's max over channels,
the bilinear upsampling — is the core's (:mod:`tlhelpers.explain`), the same in both tracks.

Images: a Dataset or NHWC NumPy array in [0, 1] (the course's form, transposed here), or
an NCHW tensor. ``layer``: a module name from ``model.named_modules()`` (e.g.
``"backbone.stage3"`` for a ``build_classifier(course_cnn())`` model) or the module itself;
by default the last module whose output is a feature map larger than 1×1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import checks
from .. import explain as core
from ..checks import positive_int
from . import finetune
from .backbones import _check_images, _classifier_outputs, _model_device, _to_nchw
from .training import predict

__all__ = [
    "default_layer",
    "feature_maps",
    "gradcam",
    "input_gradients",
    "layer_gradients",
    "randomization_blocks",
    "randomization_check",
    "randomized",
    "saliency",
]


def _check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        checks.fail("model", "a torch.nn.Module", checks.Received(type(model).__name__))



@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode inside, and every submodule's own mode restored afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


def _images(model: nn.Module, images: Any) -> torch.Tensor:
    """The contract's image checks (finite, in [0, 1], the shape the model takes), as NCHW."""
    _check_images(images, model, "images")
    return _to_nchw(images, getattr(model, "input_shape", None), what="images")


def _find_layer(model: nn.Module, layer: Any) -> tuple[str, nn.Module]:
    modules = dict(model.named_modules())
    if isinstance(layer, nn.Module):
        for name, m in modules.items():
            if m is layer:
                return name, m
        raise ValueError(f"layer is a {type(layer).__name__} that is not part of model.")
    if not isinstance(layer, str) or layer not in modules or layer == "":
        names = [n for n, m in modules.items() if n and not isinstance(m, (nn.BatchNorm2d, nn.Identity))]
        raise ValueError(f"layer must name a submodule of model; {layer!r} is not one. Submodules: "
                         f"{', '.join(names[:40])}{' …' if len(names) > 40 else ''}.")
    return layer, modules[layer]


def default_layer(model: nn.Module, images: Any) -> str:
    """The name of the last module (in execution order) whose output is a feature map
    ``(N, C, h, w)`` with ``h * w > 1`` — Grad-CAM's usual choice, the last convolutional
    block. Found with forward hooks on one image."""
    _check_model(model)
    x = _images(model, images)[:1].to(_model_device(model))
    seen: list[str] = []
    handles = []
    for name, module in model.named_modules():
        if name:
            def hook(_m, _inp, out, name=name):
                if isinstance(out, torch.Tensor) and out.ndim == 4 and out.shape[2] * out.shape[3] > 1:
                    seen.append(name)
            handles.append(module.register_forward_hook(hook))
    try:
        with _eval_mode(model), torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    if not seen:
        raise ValueError("model has no submodule whose output is a feature map (N, C, h, w) larger than 1x1; "
                         "Grad-CAM needs a convolutional layer. Pass layer= explicitly.")
    return seen[-1]


def _batches(n: int, batch_size: int) -> Iterator[slice]:
    for i in range(0, n, batch_size):
        yield slice(i, i + batch_size)


def _gradients(model: nn.Module, images: Any, target: Any, layer: Any, batch_size: int
               ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """Forward in eval mode, gradient of the target logits with respect to the layer's
    output (or the input when ``layer`` is None). Returns NHWC (activations, gradients),
    logits and targets."""
    _classifier_outputs(model)
    batch_size = positive_int(batch_size, "batch_size")
    x_all = _images(model, images)
    if layer is not None:
        _, module = _find_layer(model, layer)
    per_image = target is not None and np.ndim(target) == 1
    if per_image and len(target) != len(x_all):
        raise ValueError(f"target must be None, a class index, or {len(x_all)} class indices (one per image), "
                         f"got {len(target)} of them.")
    device = _model_device(model)
    acts, grads, logits_all, targets_all = [], [], [], []
    with _eval_mode(model), torch.enable_grad():
        for sl in _batches(len(x_all), batch_size):
            x = x_all[sl].to(device).requires_grad_(True)
            captured: list[torch.Tensor] = []
            handle = None
            if layer is not None:
                handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out))
            try:
                logits = model(x)
            finally:
                if handle is not None:
                    handle.remove()
            out = logits.detach().float().cpu().numpy()
            core.check_logits(out)
            t = core.resolve_targets(np.asarray(target)[sl] if per_image else target, out)
            score = logits.gather(1, torch.as_tensor(t, device=device)[:, None]).sum()
            if layer is None:
                (g,) = torch.autograd.grad(score, x)
                grads.append(g.permute(0, 2, 3, 1).float().cpu().numpy())
            else:
                if len(captured) != 1 or not isinstance(captured[0], torch.Tensor) or captured[0].ndim != 4:
                    raise ValueError(f"layer {layer!r} must run once per forward pass and output a feature map "
                                     f"(N, C, h, w); it ran {len(captured)} time(s)"
                                     + (f" with output shape {tuple(captured[0].shape)}." if captured and
                                        isinstance(captured[0], torch.Tensor) else "."))
                (g,) = torch.autograd.grad(score, captured[0])
                acts.append(captured[0].detach().permute(0, 2, 3, 1).float().cpu().numpy())
                grads.append(g.permute(0, 2, 3, 1).float().cpu().numpy())
            logits_all.append(out)
            targets_all.append(t)
    return (np.concatenate(acts) if acts else None, np.concatenate(grads), np.concatenate(logits_all),
            np.concatenate(targets_all))


def input_gradients(model: nn.Module, images: Any, target: Any = None, *,
                    batch_size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(gradients NHWC, logits, targets)``: the gradient of each image's target logit with
    respect to the image, in eval mode. ``target``: None (predicted class), a class, or one
    class per image."""
    _, grads, logits, targets = _gradients(model, images, target, None, batch_size)
    return grads, logits, targets


def layer_gradients(model: nn.Module, images: Any, layer: Any, target: Any = None, *,
                    batch_size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(activations, gradients, logits, targets)``: the layer's output and the gradient of
    each image's target logit with respect to it, both ``(N, h, w, K)``, in eval mode."""
    return _gradients(model, images, target, layer, batch_size)


def saliency(model: nn.Module, images: Any, target: Any = None, *, batch_size: int = 64) -> np.ndarray:
    """Vanilla gradient saliency ``(N, H, W)``: ``max_c |d logit / d x|`` (Simonyan et al. 2014)."""
    grads, _, _ = input_gradients(model, images, target, batch_size=batch_size)
    return core.saliency_from_gradients(grads)


def gradcam(model: nn.Module, images: Any, target: Any = None, *, layer: Any = None,
            batch_size: int = 64) -> np.ndarray:
    """Grad-CAM maps ``(N, H, W)`` at the input's resolution (Selvaraju et al. 2017).

    The gradient of each image's target logit with respect to ``layer``'s output gives one
    weight per channel (its spatial mean); the ReLU of the weighted sum of the channels,
    upsampled bilinearly to the image, is the map. Not normalised: see
    :func:`tlhelpers.explain.normalize_maps` to show it.
    """
    _classifier_outputs(model)
    x = _images(model, images)
    layer = default_layer(model, x) if layer is None else layer
    acts, grads, _, _ = layer_gradients(model, x, layer, target, batch_size=batch_size)
    return core.upsample(core.gradcam_from_gradients(acts, grads), tuple(x.shape[2:]))


def feature_maps(model: nn.Module, images: Any, layer: Any, *, batch_size: int = 64) -> np.ndarray:
    """The output of ``layer`` for each image, ``(N, h, w, K)`` channels-last, in eval mode
    without gradients (for :func:`tlhelpers.plots.show_feature_maps`)."""
    _check_model(model)
    _, module = _find_layer(model, layer)
    x_all = _images(model, images)
    device = _model_device(model)
    out: list[np.ndarray] = []
    captured: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda _m, _i, o: captured.append(o))
    try:
        with _eval_mode(model), torch.no_grad():
            for sl in _batches(len(x_all), positive_int(batch_size, "batch_size")):
                captured.clear()
                model(x_all[sl].to(device))
                if len(captured) != 1 or captured[0].ndim != 4:
                    raise ValueError(f"layer {layer!r} must run once per forward pass and output a feature map.")
                out.append(captured[0].permute(0, 2, 3, 1).float().cpu().numpy())
    finally:
        handle.remove()
    return np.concatenate(out)


# --------------------------------------------------------------------------------------
# The model-randomisation sanity check (Adebayo et al. 2018)
# --------------------------------------------------------------------------------------

def _block_modules(model: nn.Module) -> dict[str, list[nn.Module]]:
    """Modules owning parameters, grouped by block, blocks from the output to the input.

    A model with a course backbone has its backbone's blocks and ``"head"``
    (:func:`tlhelpers.torch.finetune.block_names`); any other model has one block per
    module that owns parameters.
    """
    modules = dict(model.named_modules())
    try:
        blocks = finetune.block_parameters(model)
    except ValueError:
        owners = [name for name, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))]
        return {name: [modules[name]] for name in reversed(owners)}
    out: dict[str, list[nn.Module]] = {}
    for block in reversed(list(blocks)):
        owners = dict.fromkeys(p.rpartition(".")[0] for p in blocks[block])
        out[block] = [modules[name] for name in owners]
    return out


def randomization_blocks(model: nn.Module) -> tuple[str, ...]:
    """The blocks :func:`randomized` knows, from the output towards the input."""
    _check_model(model)
    return tuple(_block_modules(model))


def _reinitialise(module: nn.Module) -> None:
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()            # Conv/Linear: Kaiming-uniform; BatchNorm: 1, 0 and fresh statistics
        return
    for p in module.parameters(recurse=False):
        if p.ndim >= 2:
            nn.init.kaiming_uniform_(p, a=5 ** 0.5)
        else:
            nn.init.zeros_(p)


@contextmanager
def randomized(model: nn.Module, blocks: Sequence[str], *, seed: int = 0) -> Iterator[nn.Module]:
    """Inside: ``blocks`` of ``model`` re-initialised (each module's ``reset_parameters``,
    seeded, without touching the global random state). On exit every parameter and buffer
    is restored exactly."""
    _check_model(model)
    seed = checks.non_negative_int(seed, "seed")
    known = _block_modules(model)
    if isinstance(blocks, str) or not blocks or any(b not in known for b in blocks):
        raise ValueError(f"blocks must be a non-empty list of block names from {list(known)}, got {blocks!r}.")
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(int(seed))
            for block in blocks:
                for module in known[block]:
                    _reinitialise(module)
        yield model
    finally:
        model.load_state_dict(saved)


def randomization_check(model: nn.Module, images: Any, *, method: str = "gradcam", target: Any = None,
                        layer: Any = None, cascade: bool = True, seed: int = 0, batch_size: int = 64):
    """Adebayo et al.'s model-randomisation test of ``method`` (``"gradcam"`` or
    ``"saliency"``): see :func:`tlhelpers.explain.randomization_check` for the table.

    The class explained stays the original model's prediction (or ``target``), and
    Grad-CAM's layer is fixed on the original model, so only the weights change.
    """
    _classifier_outputs(model)
    core.check_randomization(method, cascade, seed)
    batch_size = positive_int(batch_size, "batch_size")
    x = _images(model, images)
    targets = core.resolve_targets(target, predict(model, x, batch_size=batch_size))
    if method == "gradcam" and layer is None:
        layer = default_layer(model, x)

    def explain() -> np.ndarray:
        if method == "saliency":
            return saliency(model, x, targets, batch_size=batch_size)
        return gradcam(model, x, targets, layer=layer, batch_size=batch_size)

    return core.randomization_check(explain, lambda names: randomized(model, names, seed=seed),
                                    randomization_blocks(model), cascade=cascade)
