"""Profiles: one switch, ``TLH_PROFILE``, sizes every experiment in the course.

* ``smoke`` — CI: seconds per notebook, proves the code runs.
* ``standard`` — a CPU laptop: a few minutes per notebook, results that mean something.
* ``full`` — a GPU: real datasets and ImageNet backbones when they are available.

A notebook never hard-codes a size. It asks::

    epochs = by_profile(smoke=1, standard=5, full=30)

so the three sizes sit side by side where the experiment is, and the profile picks one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import TypeVar

PROFILES = ("smoke", "standard", "full")
ENV_VAR = "TLH_PROFILE"

T = TypeVar("T")


@dataclass(frozen=True)
class Profile:
    """The active profile and why it was chosen."""

    name: str
    reason: str

    @property
    def is_smoke(self) -> bool:
        return self.name == "smoke"

    @property
    def is_full(self) -> bool:
        return self.name == "full"

    def pick(self, *, smoke: T, standard: T, full: T) -> T:
        """Return the value given for this profile."""
        return {"smoke": smoke, "standard": standard, "full": full}[self.name]

    def __str__(self) -> str:
        return f"{self.name} ({self.reason})"


def gpu_visible() -> bool:
    """Whether a CUDA GPU is visible, decided without importing a framework.

    A framework that is already imported is asked directly; otherwise the NVIDIA
    driver is asked through ``nvidia-smi``. ``CUDA_VISIBLE_DEVICES=""`` or ``-1`` hides GPUs.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "cuda"):
        return bool(torch.cuda.is_available())
    tf = sys.modules.get("tensorflow")
    if tf is not None and hasattr(tf, "config"):
        return bool(tf.config.list_physical_devices("GPU"))
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def current_profile() -> Profile:
    """The profile in force: ``TLH_PROFILE`` if set, else ``full`` with a GPU, else ``standard``."""
    raw = os.environ.get(ENV_VAR)
    if raw is not None and raw.strip():
        name = raw.strip().lower()
        if name not in PROFILES:
            raise ValueError(
                f"{ENV_VAR}={raw!r} is not a profile; expected one of {', '.join(PROFILES)}."
            )
        return Profile(name, f"set by {ENV_VAR}")
    if gpu_visible():
        return Profile("full", "default: a GPU is visible")
    return Profile("standard", "default: no GPU visible")


def by_profile(*, smoke: T, standard: T, full: T) -> T:
    """Pick the size of an experiment for the active profile.

    >>> epochs = by_profile(smoke=1, standard=5, full=30)
    """
    return current_profile().pick(smoke=smoke, standard=standard, full=full)
