"""The PyTorch track of tlhelpers. Its modules mirror :mod:`tlhelpers.keras` name for name.

torchvision is optional: nothing here needs it, and the ImageNet backbones use it only
where it imports (COURSE.md §7).
"""

from .. import _quiet  # noqa: F401

import torch  # noqa: E402,F401

from ..environment import EnvReport  # noqa: E402
from ..environment import env_report as _env_report  # noqa: E402
from ..seeding import seed_everything as _seed_everything  # noqa: E402
from . import backbones, data, layers, training, transfer  # noqa: E402
from . import adapt, dann, divergence  # noqa: E402
from . import finetune  # noqa: E402
from . import distill  # noqa: E402
from . import text  # noqa: E402
from . import calibration, explain  # noqa: E402
from .data import to_dataloader  # noqa: E402
from .device import describe_devices, get_device, gpu_names, mixed_precision  # noqa: E402
from .params import ParamCounts, count_parameters, freeze, unfreeze  # noqa: E402


def seed_everything(seed: int, *, deterministic: bool = True) -> int:
    """Seed Python, NumPy and PyTorch (see :func:`tlhelpers.seed_everything`)."""
    return _seed_everything(seed, deterministic=deterministic)


def env_report() -> EnvReport:
    """The environment report (:func:`tlhelpers.env_report`) with the devices PyTorch sees."""
    return _env_report(devices=("PyTorch devices", describe_devices()))


__all__ = [
    "adapt", "dann", "divergence",
    "finetune",
    "distill",
    "text",
    "calibration", "explain",
    "to_dataloader",
    "backbones",
    "data",
    "layers",
    "training",
    "transfer",
    "ParamCounts",
    "count_parameters",
    "describe_devices",
    "env_report",
    "freeze",
    "get_device",
    "gpu_names",
    "mixed_precision",
    "seed_everything",
    "unfreeze",
]
