"""Both tracks' differentiable divergences against the NumPy reference (values within 1e-5,
gradients against finite differences of the reference), and the two tracks' adaptation
loops against each other (same weights, same batches → the same numbers)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = [pytest.mark.keras, pytest.mark.torch]

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

import _adapt_toy as toy  # noqa: E402
import tensorflow as tf  # noqa: E402
import tlhelpers.keras  # noqa: E402,F401
import tlhelpers.torch  # noqa: E402,F401
from tlhelpers import divergence as D  # noqa: E402
from tlhelpers.keras import adapt as KA  # noqa: E402
from tlhelpers.keras import divergence as KD  # noqa: E402
from tlhelpers.keras import training as KT  # noqa: E402
from tlhelpers.torch import adapt as TA  # noqa: E402
from tlhelpers.torch import divergence as TD  # noqa: E402
from tlhelpers.torch import training as TT  # noqa: E402

LOSSES = ("mmd2_biased", "mmd2_unbiased", "mmd2_linear", "coral_distance")


def keras_value(name, x, y, **kw):
    return float(getattr(KD, name)(x, y, **kw))


def torch_value(name, x, y, **kw):
    return float(getattr(TD, name)(torch.tensor(x), torch.tensor(y), **kw))


def data(m=13, n=17, d=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, d)), rng.normal(0.5, 1.3, size=(n, d))


def test_same_public_names_in_both_tracks():
    assert set(KD.__all__) == set(TD.__all__)
    shared = {"sq_distances", "median_bandwidth", "kernel_bandwidths", "gaussian_kernel", "covariance", *LOSSES}
    assert shared <= set(KD.__all__) and shared <= set(D.__all__)
    assert set(KA.__all__) == set(TA.__all__) == {"AdaptationModel", "adabn", "dan", "deep_coral", "fit_adapt"}


@pytest.mark.parametrize("name, kw", [(name, kw) for name in LOSSES
                                      for kw in ({}, {"bandwidth": [0.7, 2.0]}, {"multipliers": (1.0,)})
                                      if name != "coral_distance" or not kw])
def test_losses_match_the_reference_in_float64(name, kw):
    for m, n in ((13, 17), (8, 8), (2, 3)):
        x, y = data(m, n)
        ref = getattr(D, name)(x, y, **kw)
        assert torch_value(name, x, y, **kw) == pytest.approx(ref, rel=1e-5, abs=1e-12)
        assert keras_value(name, x, y, **kw) == pytest.approx(ref, rel=1e-5, abs=1e-12)


@pytest.mark.parametrize("name", LOSSES)
def test_float32_stays_within_1e_5_of_the_float64_reference(name):
    x, y = data(40, 30, 16)
    ref = getattr(D, name)(x, y)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    assert abs(float(getattr(TD, name)(torch.tensor(x32), torch.tensor(y32))) - ref) < 1e-5
    assert abs(keras_value(name, x32, y32) - ref) < 1e-5


def test_kernel_pieces_match_the_reference():
    x, y = data()
    np.testing.assert_allclose(TD.sq_distances(torch.tensor(x), torch.tensor(y)).numpy(), D.sq_distances(x, y), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(KD.sq_distances(x, y)), D.sq_distances(x, y), rtol=1e-10)
    for xx, yy in (data(), data(6, 7), data(1, 2)):  # even and odd pair counts
        ref = D.median_bandwidth(xx, yy)
        assert float(TD.median_bandwidth(torch.tensor(xx), torch.tensor(yy))) == pytest.approx(ref, rel=1e-10)
        assert float(KD.median_bandwidth(xx, yy)) == pytest.approx(ref, rel=1e-10)
    np.testing.assert_allclose(TD.gaussian_kernel(torch.tensor(x), torch.tensor(y), [1.0, 3.0]).numpy(),
                               D.gaussian_kernel(x, y, [1.0, 3.0]), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(KD.gaussian_kernel(x, y, [1.0, 3.0])), D.gaussian_kernel(x, y, [1.0, 3.0]),
                               rtol=1e-10)
    np.testing.assert_allclose(TD.covariance(torch.tensor(x)).numpy(), D.covariance(x), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(KD.covariance(x)), D.covariance(x), rtol=1e-10)


def numeric_gradient(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        grad[idx] = (f(up) - f(down)) / (2 * h)
    return grad


@pytest.mark.parametrize("name", LOSSES)
def test_gradients_match_finite_differences_of_the_reference(name):
    x, y = data(5, 6, 3, seed=1)
    kw = {} if name == "coral_distance" else {"bandwidth": [1.0, 2.5]}
    ref = getattr(D, name)
    expected = (numeric_gradient(lambda a: ref(a, y, **kw), x), numeric_gradient(lambda b: ref(x, b, **kw), y))
    xt, yt = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    getattr(TD, name)(xt, yt, **kw).backward()
    xk, yk = tf.Variable(x), tf.Variable(y)
    with tf.GradientTape() as tape:
        value = getattr(KD, name)(xk, yk, **kw)
    gk = tape.gradient(value, [xk, yk])
    for got in ((xt.grad.numpy(), yt.grad.numpy()), (gk[0].numpy(), gk[1].numpy())):
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-8)


def test_median_bandwidth_carries_no_gradient():
    """The default kernel's gradient is that of fixed bandwidths equal to the batch's median ones."""
    x, y = data(6, 7, 3, seed=2)
    sigmas = D.kernel_bandwidths(x, y)
    for fixed in ({}, {"bandwidth": sigmas}):
        xt = torch.tensor(x, requires_grad=True)
        TD.mmd2_unbiased(xt, torch.tensor(y), **fixed).backward()
        xk = tf.Variable(x)
        with tf.GradientTape() as tape:
            value = KD.mmd2_unbiased(xk, y, **fixed)
        if not fixed:
            g_torch, g_keras = xt.grad.numpy(), tape.gradient(value, xk).numpy()
        else:
            np.testing.assert_allclose(g_torch, xt.grad.numpy(), rtol=1e-9)
            np.testing.assert_allclose(g_keras, tape.gradient(value, xk).numpy(), rtol=1e-9)
    assert not TD.median_bandwidth(torch.tensor(x, requires_grad=True), torch.tensor(y)).requires_grad


def test_keras_losses_work_in_a_compiled_function_with_unknown_batch_size():
    x, y = data(12, 9, 4)
    spec = tf.TensorSpec([None, 4], tf.float64)

    @tf.function(input_signature=[spec, spec])
    def losses(a, b):
        return [getattr(KD, name)(a, b) for name in LOSSES]

    for name, value in zip(LOSSES, losses(tf.constant(x), tf.constant(y))):
        assert float(value) == pytest.approx(getattr(D, name)(x, y), rel=1e-9)
    with pytest.raises(tf.errors.InvalidArgumentError, match="target contains NaN"):
        losses(tf.constant(x), tf.constant(np.full((9, 4), np.nan)))


@pytest.mark.parametrize("track", ["torch", "keras"])
def test_track_losses_reject_bad_input_with_the_reference_messages(track):
    def call(name, x, y, **kw):
        if track == "torch":
            return getattr(TD, name)(torch.tensor(x), torch.tensor(y), **kw)
        return getattr(KD, name)(x, y, **kw)

    x, y = data(6, 6, 3)
    for name in LOSSES:
        with pytest.raises(ValueError, match="same number of features, got 3 and 2"):
            call(name, x, y[:, :2])
        bad = y.copy()
        bad[0, 0] = np.nan
        with pytest.raises(ValueError, match="target contains NaN"):
            call(name, x, bad)
        with pytest.raises(ValueError, match="source.*n_samples, n_features"):
            call(name, x[0], y)
        with pytest.raises(ValueError, match="target is empty"):
            call(name, x, y[:0])
    for name in ("mmd2_unbiased", "mmd2_linear", "coral_distance"):
        with pytest.raises(ValueError, match="source has 1 sample.*at least 2"):
            call(name, x[:1], y)
    for name in ("mmd2_biased", "mmd2_unbiased", "mmd2_linear"):
        for bandwidth in (0.0, -2.0, float("nan"), []):
            with pytest.raises(ValueError, match="bandwidth"):
                call(name, x, y, bandwidth=bandwidth)
        with pytest.raises(ValueError, match="multipliers"):
            call(name, x, y, multipliers=(1.0, -1.0))
    if track == "torch":
        with pytest.raises(TypeError, match="source must be a torch.Tensor"):
            TD.mmd2_unbiased(x, torch.tensor(y))
        with pytest.raises(TypeError, match="floating-point"):
            TD.coral_distance(torch.ones(3, 2, dtype=torch.int64), torch.ones(3, 2))
    else:
        with pytest.raises(TypeError, match="floating-point"):
            KD.coral_distance(np.ones((3, 2), np.int64), np.ones((3, 2)))


@pytest.mark.parametrize("track", ["torch", "keras"])
@pytest.mark.parametrize("name", ["sq_distances", "median_bandwidth", "kernel_bandwidths", "gaussian_kernel"])
def test_track_kernel_pieces_reject_bad_input(track, name):
    module = TD if track == "torch" else KD
    args = (1.0,) if name == "gaussian_kernel" else ()

    def call(x, y):
        if track == "torch":
            x, y = torch.tensor(x), torch.tensor(y)
        return getattr(module, name)(x, y, *args)

    x, y = data(6, 6, 3)
    with pytest.raises(ValueError, match="same number of features"):
        call(x, y[:, :2])
    with pytest.raises(ValueError, match="source contains NaN"):
        call(np.full_like(x, np.nan), y)
    with pytest.raises(ValueError, match="target.*n_samples, n_features"):
        call(x, y[0])
    with pytest.raises(ValueError, match="features.*at least 2"):
        module.covariance(torch.tensor(x[:1]) if track == "torch" else x[:1])


# --------------------------------------------------------------------------------------
# The adaptation loop: same weights and batches in both tracks give the same numbers
# --------------------------------------------------------------------------------------

def test_both_tracks_train_to_the_same_numbers():
    """Same initial weights, same batches (tlhelpers.adapt.paired_batches), same recipe."""
    xs, ys, xt, _ = toy.toy_domains()
    tm = toy.torch_classifier(seed=0)
    km = toy.keras_classifier(tm)
    kw = dict(epochs=2, batch_size=16, lr=1e-2, seed=0, progress=False, weight=5.0)
    ht = TA.dan(tm, (xs, ys), xt, **kw)
    hk = KA.dan(km, (xs, ys), xt, **kw)
    assert set(ht) == set(hk)
    for key in ("loss", "class_loss", "align_loss"):
        np.testing.assert_allclose(ht[key], hk[key], rtol=2e-3, err_msg=key)
    np.testing.assert_allclose(TT.predict(tm, xt), KT.predict(km, xt), atol=2e-3)


def test_both_tracks_adabn_to_the_same_statistics():
    _, _, xt, _ = toy.toy_domains()
    tm = toy.torch_classifier(seed=1)
    km = toy.keras_classifier(tm)
    TA.adabn(tm, xt, batch_size=20)
    KA.adabn(km, xt, batch_size=20)
    bn_t, bn_k = tm.backbone.bn, km.get_layer("tiny").get_layer("bn")
    np.testing.assert_allclose(bn_t.running_mean.numpy(), bn_k.moving_mean.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(bn_t.running_var.numpy(), bn_k.moving_variance.numpy(), rtol=1e-5)
    np.testing.assert_allclose(TT.predict(tm, xt), KT.predict(km, xt), atol=1e-5)
