"""The environment report that Lesson 00 shows and bug reports should include."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field
from importlib import metadata

from .data.cache import data_dir
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


def env_report(devices: tuple[str, str] | None = None) -> EnvReport:
    """Python, package versions, profile and data cache; no framework is imported.

    Each track's ``env_report()`` (``tlhelpers.keras.env_report``,
    ``tlhelpers.torch.env_report``) adds the row ``devices`` = (label, what the framework
    sees): the core never imports a track.
    """
    if devices is not None and not (isinstance(devices, tuple) and len(devices) == 2):
        raise ValueError(f"devices must be a (label, description) pair, got {devices!r}.")
    rows: list[tuple[str, str]] = [
        ("Python", f"{platform.python_version()} ({sys.executable})"),
        ("Platform", platform.platform()),
    ]
    for name in PACKAGES:
        version = package_version(name)
        if version is not None:
            rows.append((name, version))
    if devices is not None:
        rows.append(devices)
    rows.append(("Profile", str(current_profile())))
    rows.append(("Data cache (TLH_DATA_DIR)", str(data_dir(create=False))))
    return EnvReport(rows)


def warnings_to_stdout() -> None:
    """Print Python warnings to standard output instead of standard error, for this kernel.

    nbgrader scores a test cell zero when the cell writes anything to stderr, so a harmless
    library warning raised while a test calls a learner's *correct* function (a Keras-2-style
    ``input_shape=``, ``torch.tensor`` on a tensor…) would cost all its points. Every lesson
    calls this in its set-up cell: warnings stay visible, on stdout, and every check in a
    test cell is an explicit assertion. Python's ``warnings`` filters still apply.
    """
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = show
