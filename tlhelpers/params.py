"""Parameter bookkeeping shared by both tracks (``tlhelpers.keras.params``, ``tlhelpers.torch.params``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParamCounts:
    """Trainable parameters, frozen (learnable but not trained) parameters, and state
    (statistics such as BatchNorm's running mean and variance, never trained by gradients)."""

    trainable: int
    frozen: int
    state: int

    @property
    def total(self) -> int:
        """Learnable parameters, trainable or frozen (state excluded)."""
        return self.trainable + self.frozen
