"""Silence framework start-up noise before any framework is imported.

TensorFlow prints several lines of C++ logging and oneDNN notices on import. Both
variables must be set *before* ``import tensorflow`` (COURSE.md §7), so this module is
imported first by :mod:`tlhelpers` and by both tracks. User settings are respected.
"""

from __future__ import annotations

import os

QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    # The Keras track runs Keras 3 on TensorFlow.
    "KERAS_BACKEND": "tensorflow",
}


def quiet_environment() -> None:
    """Set the quiet-start-up variables unless the user already chose values."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


quiet_environment()
