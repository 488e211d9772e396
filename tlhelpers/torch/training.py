"""A small ``fit`` / ``evaluate`` / ``predict`` trio for classifiers, mirroring Keras's
``model.fit`` / ``model.evaluate`` and :mod:`tlhelpers.keras.training` name for name, so
both tracks train with the same recipe and report the same numbers.

``fit``: Adam (decoupled weight decay when asked, i.e. AdamW), cross-entropy on
**logits**, accuracy as a fraction, optional per-step cosine learning-rate decay,
optional augmentation redrawn every epoch, one progress bar over epochs. Only parameters
with ``requires_grad`` are optimised, and ``model.train()`` is called each epoch — a
backbone frozen with :func:`tlhelpers.torch.freeze` stays in eval mode regardless.

Data: a :class:`tlhelpers.data.Dataset` or an ``(x, y)`` pair with NumPy images in the
course's NHWC form (transposed here) or NCHW ``torch.Tensor`` images; or (without
augmentation) a ``DataLoader`` yielding ``(images NCHW, labels)``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import checks
from ..checks import positive_int
from .backbones import _check_images, _classifier_outputs, _model_device, _to_nchw
from .device import current_mixed_precision, get_device

__all__ = ["evaluate", "fit", "predict"]



def _split(data: Any, what: str) -> tuple[Any, np.ndarray]:
    if hasattr(data, "x") and hasattr(data, "y"):
        x, y = data.x, data.y
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    else:
        raise ValueError(f"{what} must be a Dataset, an (x, y) pair or a DataLoader, "
                         f"got {type(data).__name__}.")
    y = y.cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    y = y.astype(np.int64).reshape(-1)
    if len(x) != len(y):
        raise ValueError(f"{what} has {len(x)} images but {len(y)} labels.")
    return x, y


def _is_loader(data: Any) -> bool:
    return isinstance(data, torch.utils.data.DataLoader)


def fit(model: nn.Module, data: Any, *, epochs: int = 1, batch_size: int = 64,
        lr: float = 1e-3, weight_decay: float = 0.0, schedule: str | None = None,
        augment: Callable[[np.ndarray], np.ndarray] | None = None, validation: Any = None,
        seed: int | None = None, progress: bool = True,
        device: torch.device | str | None = None) -> dict[str, list[float]]:
    """Train a classifier that outputs logits; returns the per-epoch history.

    Args:
        model: a module from images to logits (e.g. from ``build_classifier``).
        data: training data (Dataset, ``(x, y)`` pair, or a ``DataLoader``).
        epochs, batch_size, lr: the usual; Adam with ``eps=1e-7`` (Keras's default, so
            both tracks run the same optimizer).
        weight_decay: decoupled weight decay (AdamW); 0 for plain Adam.
        schedule: ``None`` (constant ``lr``) or ``"cosine"``: per-step decay from ``lr`` to 0.
        augment: ``f(x) -> x'`` applied to the whole NHWC NumPy training array at the start
            of every epoch (e.g. ``lambda x: tlhelpers.data.augment.augment_digits(x, rng)``).
        validation: data evaluated after every epoch (adds ``val_loss``/``val_accuracy``).
        seed: seeds the shuffling and torch's generator (dropout) for a repeatable run.
        progress: one progress bar over the epochs.
        device: where to train (default :func:`tlhelpers.torch.get_device`); the model is
            moved there.

    Returns ``{"loss": [...], "accuracy": [...]}`` (+ ``val_*``), accuracy as a fraction.
    """
    from tqdm.auto import tqdm

    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    checks.one_of(schedule, "schedule", (None, "cosine"))
    # The argument contract (tlhelpers.checks), the same in both tracks, before torch runs.
    lr = checks.positive_number(lr, "lr")
    weight_decay = checks.number(weight_decay, "weight_decay", minimum=0.0)
    seed = None if seed is None else checks.non_negative_int(seed, "seed")
    outputs = _classifier_outputs(model)
    if device is not None and not isinstance(device, (str, torch.device)):
        checks.fail("device", "a torch.device or a device name such as 'cuda'", device)
    for what, given in (("data", data), ("validation", validation)):
        if given is not None and not _is_loader(given):
            _check_images(given, model, what, with_labels=True, num_classes=outputs)
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters (everything is frozen).")
    if seed is not None:
        torch.manual_seed(int(seed))
    rng = np.random.default_rng(seed)

    if _is_loader(data):
        if augment is not None:
            raise ValueError("augment works on arrays; put augmentation into the DataLoader's dataset instead.")
        x_np = y = None
        steps = len(data)
    else:
        x, y = _split(data, "data")
        if isinstance(x, torch.Tensor):
            if augment is not None:
                raise ValueError("augment works on NumPy NHWC arrays; pass the Dataset or NumPy images.")
            x_np = None
            x_tensor = _to_nchw(x, getattr(model, "input_shape", None))
        else:
            x_np = np.asarray(x, dtype=np.float32)
            _to_nchw(x_np[:1], getattr(model, "input_shape", None))  # shape check only
        steps = math.ceil(len(y) / batch_size)

    optimizer = torch.optim.AdamW(params, lr=lr, eps=1e-7, weight_decay=weight_decay)
    total = max(1, steps * epochs)
    scheduler = None
    if schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total)))
    loss_fn = nn.CrossEntropyLoss()

    def batches():
        if _is_loader(data):
            for xb, yb in data:
                yield _to_device(xb, device, torch.float32), _to_device(yb, device, torch.int64)
            return
        order = rng.permutation(len(y))
        labels = torch.from_numpy(y)
        if x_np is not None:
            x_epoch = augment(x_np) if augment is not None else x_np
            if x_epoch.shape != x_np.shape:
                raise ValueError(f"augment changed the shape of the images: {x_np.shape} -> {x_epoch.shape}.")
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            if x_np is not None:
                xb = torch.from_numpy(np.ascontiguousarray(x_epoch[idx].transpose(0, 3, 1, 2)))
            else:
                xb = x_tensor[torch.from_numpy(idx)]
            yield _to_device(xb, device, torch.float32), _to_device(labels[torch.from_numpy(idx)], device)

    # Mixed precision only where tlhelpers.torch.mixed_precision() turned it on (a CUDA GPU).
    precision = current_mixed_precision(device)
    autocast = precision.autocast if precision is not None else contextlib.nullcontext
    scaler = torch.amp.GradScaler("cuda") if precision is not None and precision.dtype is torch.float16 \
        else None

    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    bar = tqdm(range(epochs), desc="fit", unit="epoch", disable=not progress, leave=False)
    for _ in bar:
        model.train()
        # Running sums stay on the device: no host-device synchronisation per step.
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        seen = 0
        for xb, yb in batches():
            with autocast():
                logits = model(xb)
                loss = loss_fn(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            if scheduler is not None:
                scheduler.step()
            n = len(yb)
            loss_sum += loss.detach().double() * n
            correct += (logits.detach().argmax(1) == yb).sum()
            seen += n
        history["loss"].append(float(loss_sum) / max(seen, 1))
        history["accuracy"].append(int(correct) / max(seen, 1))
        if validation is not None:
            val = evaluate(model, validation, batch_size=max(batch_size, 256))
            history.setdefault("val_loss", []).append(val["loss"])
            history.setdefault("val_accuracy", []).append(val["accuracy"])
        bar.set_postfix({k: f"{v[-1]:.3f}" for k, v in history.items()})
    model.eval()
    return history


def predict(model: nn.Module, data: Any, batch_size: int = 256) -> np.ndarray:
    """The model's outputs (logits) for every image of ``data``, in eval mode, no gradients."""
    batch_size = positive_int(batch_size, "batch_size")
    if not isinstance(model, nn.Module):
        checks.fail("model", "a torch.nn.Module", checks.Received(type(model).__name__))
    if not _is_loader(data):
        _check_images(data[0] if isinstance(data, (tuple, list)) and len(data) == 2 else data,
                      model)
    if _is_loader(data):
        chunks = [xb for xb, _ in data]
        x = torch.cat(chunks) if chunks else torch.empty(0)
    else:
        x = data[0] if isinstance(data, (tuple, list)) and len(data) == 2 else data
        x = getattr(x, "x", x)
        # feature vectors (N, d) (e.g. the 2-D moons) as they are; images NHWC -> NCHW
        x = torch.as_tensor(np.asarray(x, np.float32)) if getattr(x, "ndim", None) == 2 \
            else _to_nchw(x, getattr(model, "input_shape", None))
    device = _model_device(model)
    was_training = model.training
    model.eval()
    try:
        out = _forward_batches(model, x, batch_size, device)
    finally:
        model.train(was_training)
    return out.numpy() if out is not None else np.empty((0,), dtype=np.float32)


def _to_device(t: torch.Tensor, device: torch.device, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``t`` on ``device``; to a CUDA GPU through pinned memory, without blocking the host."""
    kwargs = {"dtype": dtype} if dtype is not None else {}
    if device.type == "cuda" and t.device.type == "cpu":
        t = t if t.is_pinned() else t.pin_memory()
        return t.to(device, non_blocking=True, **kwargs)
    return t.to(device, **kwargs)


def _forward_batches(model: nn.Module, x: torch.Tensor, batch_size: int, device: torch.device,
                     progress: Callable[[range], Any] = lambda starts: starts) -> torch.Tensor | None:
    """``model(x)`` batch by batch under ``inference_mode`` (and the active mixed precision),
    as float32 on the CPU. Results are gathered on the device and copied once at the end,
    so a GPU never waits for the host between batches. ``None`` for no images."""
    precision = current_mixed_precision(device)
    autocast = precision.autocast if precision is not None else contextlib.nullcontext
    out = []
    with torch.inference_mode(), autocast():
        for i in progress(range(0, len(x), batch_size)):
            out.append(model(_to_device(x[i:i + batch_size], device, torch.float32)).float())
    return torch.cat(out).cpu() if out else None


def evaluate(model: nn.Module, data: Any, batch_size: int = 256) -> dict[str, float]:
    """Mean cross-entropy (from logits) and accuracy (a fraction) on ``data``."""
    batch_size = positive_int(batch_size, "batch_size")
    outputs = _classifier_outputs(model)
    if not _is_loader(data):
        _check_images(data, model, with_labels=True, num_classes=outputs)
    if _is_loader(data):
        y = torch.cat([yb for _, yb in data]).numpy().astype(np.int64)
        logits = predict(model, data, batch_size)
    else:
        x, y = _split(data, "data")
        logits = predict(model, x, batch_size)
    logits = logits.astype(np.float64)
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(f"model must output (N, num_classes) logits, got shape {logits.shape}.")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_prob = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_prob[np.arange(len(y)), y].mean())
    accuracy = float((logits.argmax(axis=1) == y).mean())
    return {"loss": loss, "accuracy": accuracy}
