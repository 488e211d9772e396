"""Repeatable runs: one seed for Python, NumPy and whichever framework is loaded."""

from __future__ import annotations

import os
import random
import sys

import numpy as np


def seed_everything(seed: int, *, deterministic: bool = True) -> int:
    """Seed Python, NumPy and every deep-learning framework that is already imported.

    With ``deterministic=True`` the frameworks are also asked for deterministic GPU
    kernels (cuDNN, TensorFlow op determinism), so the same seed gives the same numbers on
    the same machine. Import your track first (``tlhelpers.keras`` or ``tlhelpers.torch``),
    or call that track's ``seed_everything``, which imports it for you.
    Returns the seed, so a notebook can print what it used.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    seed = int(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        _seed_torch(seed, deterministic)
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        _seed_keras(seed, deterministic)
    return seed


def _seed_torch(seed: int, deterministic: bool) -> None:
    import torch

    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        # warn_only: ops without a deterministic kernel warn instead of failing a lesson.
        torch.use_deterministic_algorithms(True, warn_only=True)


def _seed_keras(seed: int, deterministic: bool) -> None:
    import keras

    keras.utils.set_random_seed(seed)  # Python, NumPy and the backend's generators
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # GPU kernels (cuDNN convolutions, scatter ops) are where TensorFlow is
        # nondeterministic; on a CPU seeding suffices, and op determinism there only costs
        # speed and prints a spurious C++ error from tf.data.
        if tf.config.list_physical_devices("GPU"):
            tf.config.experimental.enable_op_determinism()
