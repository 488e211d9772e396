"""Temperature scaling in Keras (Guo et al., ICML 2017). Mirrors
:mod:`tlhelpers.torch.calibration` name for name; the maths and the NumPy/SciPy reference
are in :mod:`tlhelpers.calibration` (ECE, reliability diagram, ``fit_temperature`` on logits).

    T = fit_temperature(model, validation)          # on VALIDATION data, never test
    calibrated = TemperatureScaled(model, T)        # logits / T: same argmax, same AUC
    # or in one step: calibrated = calibrate(model, validation)

Fitting ``T`` is a one-parameter convex problem on logits, with nothing to gain from
TensorFlow: Keras has no L-BFGS optimizer, so :func:`fit_temperature_to_logits` is the
core's SciPy L-BFGS-B (the PyTorch track runs ``torch.optim.LBFGS``; a parity test holds
the two to the same temperature).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from .. import calibration as core
from .. import checks
from .backbones import _classifier_outputs
from .training import predict

__all__ = ["TemperatureScaled", "calibrate", "fit_temperature", "fit_temperature_to_logits"]


class TemperatureScaled(keras.Model):
    """``model``'s logits divided by ``temperature``: probabilities change, rankings do not.

    Attributes: ``base`` (the wrapped model, not copied) and ``temperature`` (a float).
    """

    def __init__(self, model: keras.Model, temperature: float, **kwargs: Any) -> None:
        _classifier_outputs(model)
        temperature = core._temperature(temperature)
        kwargs.setdefault("name", f"{model.name}_temperature_scaled")
        super().__init__(**kwargs)
        self.base = model
        self.temperature = core._temperature(temperature)

    def call(self, inputs, training=False):
        return self.base(inputs, training=training) / self.temperature


def fit_temperature_to_logits(logits: Any, labels: Any) -> float:
    """The NLL-minimising temperature for these logits (:func:`tlhelpers.calibration.fit_temperature`)."""
    core._logits_and_labels(logits, labels, "labels")
    return core.fit_temperature(np.asarray(logits), labels)


def fit_temperature(model: keras.Model, data: Any, *, batch_size: int = 256) -> float:
    """The temperature that minimises the NLL of ``model``'s logits on ``data`` (a Dataset
    or ``(x, y)``: the *validation* set), from ``predict`` (``training=False``)."""
    x, y = core.images_and_labels(data)
    checks.image_data((x, y), "data", expected=checks.model_input_shape(model),
                      num_classes=_classifier_outputs(model))
    batch_size = checks.positive_int(batch_size, "batch_size")
    return fit_temperature_to_logits(predict(model, x, batch_size=batch_size), y)


def calibrate(model: keras.Model, data: Any, *, batch_size: int = 256) -> TemperatureScaled:
    """``TemperatureScaled(model, fit_temperature(model, data))``."""
    return TemperatureScaled(model, fit_temperature(model, data, batch_size=batch_size))
