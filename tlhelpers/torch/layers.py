"""Layers the course builds on: a dense adaptive head layer and an inference-mode wrapper."""

from __future__ import annotations

import torch
from torch import nn

from .. import checks

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "linear": nn.Identity}


class AdaptiveLayer(nn.Module):
    """``activation(x @ W + b)`` with Glorot(Xavier)-uniform ``W`` and zero ``b``: a new, trainable head layer.

    The course's version of the seeds' ``AdaptiveLayer``, mirroring the Keras track: same
    initialisation, same weight layout (``kernel`` is ``(in_features, units)``).
    """

    def __init__(self, in_features: int, units: int, activation: str = "relu"):
        super().__init__()
        in_features = checks.positive_int(in_features, "in_features", maximum=checks.LIMITS["units"])
        units = checks.positive_int(units, "units", maximum=checks.LIMITS["units"])
        if not isinstance(activation, str) or activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}.")
        self.in_features, self.units, self.activation_name = in_features, units, activation
        self.kernel = nn.Parameter(torch.empty(in_features, units))
        self.bias = nn.Parameter(torch.zeros(units))
        nn.init.xavier_uniform_(self.kernel)
        self.activation = ACTIVATIONS[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"expected inputs with {self.in_features} features, got shape {tuple(x.shape)}.")
        return self.activation(x @ self.kernel + self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, units={self.units}, activation={self.activation_name}"


class InferenceMode(nn.Module):
    """Runs the wrapped module in eval mode, whatever mode the parent is switched to.

    ``model.train()`` switches every submodule to training mode; wrapping a frozen
    backbone keeps its BatchNorm statistics and Dropout fixed through any training loop.
    """

    def __init__(self, inner: nn.Module):
        if not isinstance(inner, nn.Module):
            checks.fail("inner", "a torch.nn.Module", checks.Received(type(inner).__name__))
        super().__init__()
        self.inner = inner.eval()

    def train(self, mode: bool = True) -> "InferenceMode":
        super().train(mode)
        self.inner.eval()
        return self

    def forward(self, *args, **kwargs):
        return self.inner(*args, **kwargs)
