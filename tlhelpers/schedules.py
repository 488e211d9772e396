"""Training-length arithmetic and learning-rate schedules, as plain functions of the step.

Framework-neutral: both tracks wrap these, so a schedule gives the same learning rate at
every step in Keras and in PyTorch.
"""

from __future__ import annotations

import math

__all__ = ["steps_to_epochs"]


def steps_to_epochs(n_examples: int, steps: int, batch_size: int) -> int:
    """Epochs that give at least ``steps`` optimizer steps on ``n_examples`` examples."""
    return max(1, math.ceil(steps / math.ceil(n_examples / batch_size)))
