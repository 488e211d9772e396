"""Test-suite set-up: quiet frameworks, one thread per worker, the smoke profile."""

import os
import sys
from pathlib import Path

os.environ.setdefault("TLH_PROFILE", "smoke")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
import tlhelpers  # noqa: E402,F401  (sets the TensorFlow quiet variables before any import)

sys.path.insert(0, str(Path(__file__).parent))
# nbgrader shells out to alembic: this environment's bin/ must be on PATH.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
