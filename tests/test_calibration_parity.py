"""Temperature scaling in both tracks (tlhelpers.{keras,torch}.calibration), held to the core's
SciPy reference: the same temperature from the same logits (torch's LBFGS and SciPy's L-BFGS-B),
a wrapped model whose logits are divided by T (same argmax, same ranking), fitted on the data it
is given, without touching the wrapped model; clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = [pytest.mark.keras, pytest.mark.torch]

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

import tlhelpers.calibration as core  # noqa: E402
from tlhelpers.keras import calibration as KC  # noqa: E402
from tlhelpers.torch import calibration as TC  # noqa: E402


def logits_and_labels(n=1500, classes=4, true_t=2.0, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 3, (n, classes))
    p = core.softmax(z, true_t)
    y = (p.cumsum(1) > rng.uniform(0, 1, (n, 1))).argmax(1)
    return z.astype(np.float32), y


def test_same_public_names():
    assert KC.__all__ == TC.__all__


@pytest.mark.parametrize("true_t", [0.6, 2.0])
def test_both_tracks_fit_the_reference_temperature(true_t):
    z, y = logits_and_labels(true_t=true_t)
    ref = core.fit_temperature(z, y)
    assert KC.fit_temperature_to_logits(z, y) == pytest.approx(ref, rel=1e-9)
    assert TC.fit_temperature_to_logits(z, y) == pytest.approx(ref, rel=1e-5)
    assert TC.fit_temperature_to_logits(torch.tensor(z), torch.tensor(y)) == pytest.approx(ref, rel=1e-5)
    # binary, one logit per example
    zb, yb = logits_and_labels(classes=2, true_t=true_t, seed=1)
    logit = zb[:, 1] - zb[:, 0]
    assert TC.fit_temperature_to_logits(logit, yb) == pytest.approx(core.fit_temperature(logit, yb), rel=1e-5)


def small_models(classes=3, seed=0):
    """The same linear model in both tracks (logits = x W + b) on 4x4x1 images."""
    rng = np.random.default_rng(seed)
    w, b = rng.normal(0, 2, (16, classes)).astype(np.float32), rng.normal(0, 1, classes).astype(np.float32)
    k = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(classes)])
    k.layers[-1].set_weights([w, b])
    t = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, classes))
    with torch.no_grad():
        t[1].weight.copy_(torch.tensor(w.T))
        t[1].bias.copy_(torch.tensor(b))
    # labels drawn from softmax(logits / 3): the models are over-confident
    x = rng.uniform(0, 1, (600, 4, 4, 1)).astype(np.float32)
    logits = x.reshape(len(x), -1) @ w + b
    p = core.softmax(logits, 3.0)
    y = (p.cumsum(1) > rng.uniform(0, 1, (len(x), 1))).argmax(1)
    return k, t, x, y, logits


def test_models_are_calibrated_on_the_data_given_and_keep_their_ranking():
    k, t, x, y, logits = small_models()
    ref = core.fit_temperature(logits, y)
    assert ref > 1.5
    tk_, tt_ = KC.fit_temperature(k, (x, y)), TC.fit_temperature(t, (x, y))
    assert tk_ == pytest.approx(ref, rel=1e-4) and tt_ == pytest.approx(ref, rel=1e-4)
    # on other data, another temperature: the data argument is used
    assert KC.fit_temperature(k, (x[:100], y[:100])) != pytest.approx(tk_, rel=1e-3)
    ck, ct = KC.calibrate(k, (x, y)), TC.calibrate(t, (x, y))
    assert ck.base is k and ct.base is t
    out_k = np.asarray(ck(x[:50]))
    with torch.no_grad():
        out_t = ct(torch.tensor(x[:50].transpose(0, 3, 1, 2))).numpy()
    np.testing.assert_allclose(out_k, logits[:50] / ck.temperature, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out_t, logits[:50] / ct.temperature, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(out_k.argmax(1), logits[:50].argmax(1))
    # calibrated probabilities are better calibrated than the raw ones
    assert core.expected_calibration_error(y, core.softmax(logits, ref)) < \
        core.expected_calibration_error(y, core.softmax(logits))
    # the wrapped model is untouched
    np.testing.assert_allclose(np.asarray(k(x[:5])), logits[:5], rtol=1e-4, atol=1e-4)


def test_bad_input():
    k, t, x, y, _ = small_models()
    for C, model in ((KC, k), (TC, t)):
        with pytest.raises(ValueError, match="temperature must be a positive number"):
            C.TemperatureScaled(model, 0.0)
        with pytest.raises(TypeError, match="model must be"):
            C.TemperatureScaled("model", 1.0)
        with pytest.raises(ValueError, match="a Dataset or an \\(x, y\\) pair"):
            C.fit_temperature(model, x)
        with pytest.raises(ValueError, match="images but"):
            C.fit_temperature(model, (x, y[:-1]))
        with pytest.raises(ValueError, match="class indices below 3"):
            C.fit_temperature_to_logits(np.zeros((2, 3)), [0, 5])
