"""Where the course keeps downloaded data and weights (``TLH_DATA_DIR``)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_VAR = "TLH_DATA_DIR"


def data_dir(create: bool = True) -> Path:
    """The data cache: ``TLH_DATA_DIR`` if set, else the user's cache directory.

    An instructor preparing a classroom without internet copies the dataset and weight
    files here (each under its original file name) and every notebook finds them.
    """
    raw = os.environ.get(ENV_VAR)
    path = Path(raw).expanduser() if raw else Path(platformdirs.user_cache_dir("tlhelpers"))
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
