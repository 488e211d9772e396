"""Silence framework start-up noise before any framework is imported.

TensorFlow prints C++ logging on import. ``TF_CPP_MIN_LOG_LEVEL=2`` silences most of it,
but must be set *before* ``import tensorflow`` (COURSE.md §7), so this module is imported
first by :mod:`tlhelpers` and by both tracks. User settings are respected.

oneDNN stays on. TensorFlow announces it on import with a notice that
``TF_CPP_MIN_LOG_LEVEL`` set from Python does not silence; COURSE.md §7 turns oneDNN off
(``TF_ENABLE_ONEDNN_OPTS=0``) to avoid that line, but oneDNN's convolutions make the Keras
track's training steps 25–45 % faster on this machine's CPU (``benchmarks/results/``), for
round-off-level differences that stay repeatable run to run. So the tracks import
TensorFlow through :func:`quiet_tensorflow_import`, which hides the native start-up
output instead. A user who sets ``TF_ENABLE_ONEDNN_OPTS=0`` keeps it off.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    # The Keras track runs Keras 3 on TensorFlow.
    "KERAS_BACKEND": "tensorflow",
}


def quiet_environment() -> None:
    """Set the quiet-start-up variables unless the user already chose values."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


@contextmanager
def quiet_tensorflow_import() -> Iterator[None]:
    """Import TensorFlow (and Keras) inside this block with native stderr silenced.

    TensorFlow's C++ start-up notices go straight to file descriptor 2, past Python's
    ``sys.stderr``, so the descriptor itself is pointed at ``/dev/null`` for the import
    and restored afterwards. Python exceptions still propagate; after the import nothing
    is hidden. A no-op once TensorFlow is imported or when the log level asks for output.
    """
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") < "2":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable descriptor 2: nothing to hide
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


quiet_environment()
