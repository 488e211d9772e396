"""Devices and mixed precision for the PyTorch track."""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import torch


def get_device() -> torch.device:
    """The best device available: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def gpu_names() -> list[str]:
    """Names of the CUDA GPUs PyTorch can use (empty on a CPU-only machine)."""
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def describe_devices() -> str:
    """One line for the environment report."""
    device = get_device()
    if device.type == "cuda":
        names = gpu_names()
        return f"{len(names)} CUDA GPU(s): {', '.join(names)}"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU only ({torch.get_num_threads()} threads)"


@dataclass
class MixedPrecision:
    """Autocast settings for a training loop.

    Use ``with mp.autocast(): loss = ...`` around the forward pass and
    ``mp.scaler.scale(loss).backward(); mp.scaler.step(opt); mp.scaler.update()`` for the
    update. Disabled, both are no-ops, so one loop serves every device.
    """

    device: torch.device
    dtype: torch.dtype | None
    scaler: torch.amp.GradScaler

    @property
    def enabled(self) -> bool:
        return self.dtype is not None

    def autocast(self):
        if not self.enabled:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)


_ACTIVE: MixedPrecision | None = None  # set by mixed_precision(); read by training and features


def mixed_precision(enabled: bool = True, device: torch.device | str | None = None) -> MixedPrecision:
    """Mixed-precision settings for ``device`` (default: :func:`get_device`).

    CUDA uses bfloat16 where the GPU supports it (no loss scaling needed) and float16 with
    a gradient scaler otherwise. On a CPU the request is refused with a warning: autocast
    there is slower than float32 for the small models of this course.

    Like Keras's global dtype policy, the settings stay in force until the next call:
    :func:`tlhelpers.torch.training.fit`, ``predict`` and ``extract_features`` then run
    under autocast on that device (``mixed_precision(False)`` turns it off).
    """
    global _ACTIVE
    from .. import checks

    enabled = checks.flag(enabled, "enabled")
    device = _device(device) if device is not None else get_device()
    dtype = None
    if enabled and device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    elif enabled:
        warnings.warn(f"mixed precision needs a CUDA GPU; staying in float32 on {device.type}.",
                      stacklevel=2)
    scaler = torch.amp.GradScaler(device.type if device.type == "cuda" else "cpu",
                                  enabled=dtype is torch.float16)
    settings = MixedPrecision(device=device, dtype=dtype, scaler=scaler)
    _ACTIVE = settings if settings.enabled else None
    return settings


def _device(device: torch.device | str) -> torch.device:
    """``device`` as a ``torch.device``, or the contract's error (a number, an unknown name)."""
    from .. import checks

    if not isinstance(device, (str, torch.device)):
        checks.fail("device", "a torch.device or a device name such as 'cuda'", device)
    try:
        return torch.device(device)
    except RuntimeError:
        checks.fail("device", "a device name such as 'cpu', 'cuda' or 'mps'", device)


def current_mixed_precision(device: torch.device | str) -> MixedPrecision | None:
    """The settings :func:`mixed_precision` turned on, if they are for ``device``'s type."""
    device = _device(device)
    if _ACTIVE is not None and _ACTIVE.device.type == device.type:
        return _ACTIVE
    return None
