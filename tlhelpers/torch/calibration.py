"""Temperature scaling in PyTorch (Guo et al., ICML 2017). Mirrors
:mod:`tlhelpers.keras.calibration` name for name; the maths and the NumPy/SciPy reference
are in :mod:`tlhelpers.calibration` (ECE, reliability diagram, ``fit_temperature`` on logits).

    T = fit_temperature(model, validation)          # on VALIDATION data, never test
    calibrated = TemperatureScaled(model, T)        # logits / T: same argmax, same AUC
    # or in one step: calibrated = calibrate(model, validation)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .. import calibration as core
from ..checks import positive_int
from .backbones import _check_images, _classifier_outputs
from .training import predict

__all__ = ["TemperatureScaled", "calibrate", "fit_temperature", "fit_temperature_to_logits"]


class TemperatureScaled(nn.Module):
    """``model``'s logits divided by ``temperature``: probabilities change, rankings do not.

    Attributes: ``base`` (the wrapped model, not copied) and ``temperature`` (a float).
    """

    def __init__(self, model: nn.Module, temperature: float) -> None:
        _classifier_outputs(model)
        temperature = core._temperature(temperature)
        super().__init__()
        self.base = model
        self.temperature = core._temperature(temperature)
        self.input_shape = getattr(model, "input_shape", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) / self.temperature

    def extra_repr(self) -> str:
        return f"temperature={self.temperature:.4f}"


def fit_temperature_to_logits(logits: Any, labels: Any, *, max_iter: int = 100) -> float:
    """The NLL-minimising temperature for these logits, by ``torch.optim.LBFGS`` over
    ``log T`` in float64 (strong-Wolfe line search), clipped to
    :data:`tlhelpers.calibration.TEMPERATURE_BOUNDS`. Same answer as
    :func:`tlhelpers.calibration.fit_temperature` (the parity test holds them together).
    """
    max_iter = positive_int(max_iter, "max_iter")
    z_np, y_np = core._logits_and_labels(
        logits.detach().cpu().numpy() if isinstance(logits, torch.Tensor) else logits,
        labels.cpu().numpy() if isinstance(labels, torch.Tensor) else labels, "labels")
    z, y = torch.from_numpy(z_np), torch.from_numpy(y_np)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=1.0, max_iter=max_iter,
                                  tolerance_grad=1e-12, tolerance_change=1e-15, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    optimizer.step(closure)
    lo, hi = core.TEMPERATURE_BOUNDS
    return float(np.clip(float(log_t.detach().exp()), lo, hi))


def fit_temperature(model: nn.Module, data: Any, *, batch_size: int = 256) -> float:
    """The temperature that minimises the NLL of ``model``'s logits on ``data`` (a Dataset
    or ``(x, y)``: the *validation* set). The model runs in eval mode, without gradients."""
    x, y = core.images_and_labels(data)
    _check_images((x, y), model, "data", with_labels=True, num_classes=_classifier_outputs(model))
    batch_size = positive_int(batch_size, "batch_size")
    return fit_temperature_to_logits(predict(model, x, batch_size=batch_size), y)


def calibrate(model: nn.Module, data: Any, *, batch_size: int = 256) -> TemperatureScaled:
    """``TemperatureScaled(model, fit_temperature(model, data))``."""
    return TemperatureScaled(model, fit_temperature(model, data, batch_size=batch_size))
