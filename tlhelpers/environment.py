"""The environment report that Lesson 00 shows and bug reports should include."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field
from importlib import metadata

from .paths import data_dir
from .profiles import current_profile

PACKAGES = ("tlhelpers", "numpy", "scikit-learn", "matplotlib", "keras", "tensorflow",
            "tensorflow-cpu", "torch", "torchvision", "nbgrader")


def package_version(name: str) -> str | None:
    """Installed version of a distribution, read from metadata (nothing is imported)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@dataclass
class EnvReport:
    """A two-column table: what, and its value. Renders as text and as HTML."""

    rows: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, str]:
        return dict(self.rows)

    def __str__(self) -> str:
        width = max(len(k) for k, _ in self.rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in self.rows)

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>{v}</td></tr>"
                       for k, v in self.rows)
        return f"<table>{body}</table>"


def env_report(track: str | None = None) -> EnvReport:
    """Python, package versions, accelerator, profile and data cache.

    ``track`` (``"keras"`` or ``"torch"``) also asks that framework which devices it
    sees; without it no framework is imported.
    """
    if track not in (None, "keras", "torch"):
        raise ValueError(f"track must be 'keras', 'torch' or None, got {track!r}.")
    rows: list[tuple[str, str]] = [
        ("Python", f"{platform.python_version()} ({sys.executable})"),
        ("Platform", platform.platform()),
    ]
    for name in PACKAGES:
        version = package_version(name)
        if version is not None:
            rows.append((name, version))
    if track == "keras":
        from .keras.device import describe_devices
        rows.append(("Keras devices", describe_devices()))
    elif track == "torch":
        from .torch.device import describe_devices
        rows.append(("PyTorch devices", describe_devices()))
    rows.append(("Profile", str(current_profile())))
    rows.append(("Data cache (TLH_DATA_DIR)", str(data_dir(create=False))))
    return EnvReport(rows)
