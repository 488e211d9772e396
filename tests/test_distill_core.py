"""The NumPy references of distillation and compression (tlhelpers.distill): the temperature
softmax, the KD loss against an independent computation (scipy's KL, scikit-learn's log
loss) and its exact gradient, feature hints, magnitude masks, the latency timer, the
report, and a clear error for every kind of bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import softmax as scipy_softmax
from scipy.stats import entropy as scipy_kl
from sklearn.metrics import log_loss

from tlhelpers import distill as D

TEMPERATURES = (1.0, 2.0, 4.0, 8.0)
ALPHAS = (0.0, 0.1, 0.5, 1.0)


def logits(n=7, c=5, scale=3.0, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, scale, (n, c)), rng.normal(0, scale, (n, c)), rng.integers(0, c, n)


# --------------------------------------------------------------------------------------
# Temperature softmax
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("t", TEMPERATURES)
def test_softmax_t_is_scipys_softmax_of_scaled_logits(t):
    z, _, _ = logits()
    p = D.softmax_t(z, t)
    np.testing.assert_allclose(p, scipy_softmax(z / t, axis=1), rtol=1e-12)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-12)
    assert (p.argmax(1) == z.argmax(1)).all()  # temperature never changes the ranking
    np.testing.assert_allclose(np.exp(D.log_softmax_t(z, t)), p, rtol=1e-12)


def test_softmax_t_is_stable_and_softens_with_temperature():
    z = np.array([[1000.0, 0.0, -1000.0], [2.0, 1.0, 0.1]])
    p = D.softmax_t(z, 1.0)
    assert np.isfinite(p).all() and p[0, 0] == pytest.approx(1.0)
    h = [D.entropy(D.softmax_t(z[1:], t))[0] for t in (0.5, 1, 2, 4, 8, 1e6)]
    assert all(a < b for a, b in zip(h, h[1:])), f"entropy must grow with T: {h}"
    assert h[-1] == pytest.approx(math.log(3), rel=1e-6)  # T -> inf: uniform
    assert D.entropy([[1.0, 0.0]])[0] == 0.0


# --------------------------------------------------------------------------------------
# The KD loss and its gradient
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("t", TEMPERATURES)
@pytest.mark.parametrize("alpha", ALPHAS)
def test_kd_loss_matches_an_independent_computation(t, alpha):
    zs, zt, y = logits()
    p_t, p_s = scipy_softmax(zt / t, axis=1), scipy_softmax(zs / t, axis=1)
    kl = np.mean([scipy_kl(a, b) for a, b in zip(p_t, p_s)])      # batchmean
    ce = log_loss(y, scipy_softmax(zs, axis=1), labels=range(5))   # hard term at T = 1
    expected = alpha * ce + (1 - alpha) * t * t * kl
    assert D.kd_loss(zs, zt, y, temperature=t, alpha=alpha) == pytest.approx(expected, rel=1e-10)
    assert D.soft_target_loss(zs, zt, t) == pytest.approx(t * t * kl, rel=1e-10)


def test_kd_loss_limits():
    zs, zt, y = logits()
    assert D.kd_loss(zs, zs, y, temperature=3.0, alpha=0.0) == pytest.approx(0.0, abs=1e-12)
    assert D.kd_loss(zs, zt, None, temperature=2.0, alpha=0.0) == D.soft_target_loss(zs, zt, 2.0)
    # Shifting a row of logits by a constant changes no probability.
    assert D.kd_loss(zs + 5.0, zt - 2.0, y, temperature=2.0, alpha=0.3) == \
        pytest.approx(D.kd_loss(zs, zt, y, temperature=2.0, alpha=0.3), rel=1e-10)


@pytest.mark.parametrize("t", TEMPERATURES)
@pytest.mark.parametrize("alpha", (0.0, 0.3, 1.0))
def test_kd_loss_grad_is_the_exact_gradient(t, alpha):
    zs, zt, y = logits(n=4, c=3)
    grad = D.kd_loss_grad(zs, zt, y, temperature=t, alpha=alpha)
    eps = 1e-6
    numeric = np.zeros_like(zs)
    for idx in np.ndindex(zs.shape):
        up, down = zs.copy(), zs.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (D.kd_loss(up, zt, y, temperature=t, alpha=alpha)
                        - D.kd_loss(down, zt, y, temperature=t, alpha=alpha)) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, atol=1e-8)


def test_t_squared_makes_the_high_temperature_gradient_independent_of_t():
    """Hinton et al. §2: for T much larger than the logits, ∂soft/∂z_s ≈ (z_s − z_t)/(C·N)
    for zero-mean logits — the same at every T thanks to T²."""
    zs, zt, _ = logits(scale=0.5)
    zs, zt = zs - zs.mean(1, keepdims=True), zt - zt.mean(1, keepdims=True)
    limit = (zs - zt) / (zs.shape[1] * len(zs))
    for t, tol in ((50.0, 0.05), (200.0, 0.01)):
        g = D.kd_loss_grad(zs, zt, temperature=t, alpha=0.0)
        assert np.linalg.norm(g - limit) / np.linalg.norm(limit) < tol


# --------------------------------------------------------------------------------------
# Feature hints
# --------------------------------------------------------------------------------------

def test_attention_map_is_a_unit_vector_of_channel_mean_squares():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4, 5, 6))
    q = D.attention_map(a)
    assert q.shape == (3, 20)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, rtol=1e-12)
    expected = (a ** 2).sum(-1).reshape(3, -1)
    np.testing.assert_allclose(q, expected / np.linalg.norm(expected, axis=1, keepdims=True), rtol=1e-12)
    # Channel order, channel count and scale do not matter; the spatial pattern does.
    np.testing.assert_allclose(D.attention_map(3 * a[..., ::-1]), q, rtol=1e-12)
    assert D.attention_transfer_loss(a, 2 * a) == pytest.approx(0.0, abs=1e-15)
    assert D.attention_transfer_loss(a, np.concatenate([a, a], -1)) == pytest.approx(0.0, abs=1e-15)
    assert D.attention_transfer_loss(a, a[:, ::-1]) > 1e-4


def test_hint_loss_is_mean_squared_error():
    a, b = np.ones((2, 3, 3, 4)), np.zeros((2, 3, 3, 4))
    assert D.hint_loss(a, b) == 1.0
    assert D.hint_loss(a, a) == 0.0


# --------------------------------------------------------------------------------------
# Magnitude pruning
# --------------------------------------------------------------------------------------

def weights(seed=0):
    rng = np.random.default_rng(seed)
    return {"conv": rng.normal(0, 1.0, (3, 3, 4, 8)), "dense": rng.normal(0, 0.1, (32, 10))}


@pytest.mark.parametrize("s", (0.0, 0.3, 0.5, 0.9, 0.99))
def test_global_masks_reach_the_sparsity_and_keep_the_largest_weights(s):
    w = weights()
    masks = D.magnitude_masks(w, s, scope="global")
    total = sum(v.size for v in w.values())
    assert sum(int((~m).sum()) for m in masks.values()) == round(s * total)
    kept = np.concatenate([np.abs(w[k])[masks[k]] for k in w])
    dropped = np.concatenate([np.abs(w[k])[~masks[k]] for k in w])
    if dropped.size:
        assert dropped.max() <= kept.min()
    pruned = {k: v * masks[k] for k, v in w.items()}
    assert D.sparsity_of(pruned) == pytest.approx(round(s * total) / total)


def test_global_and_layerwise_scopes_differ_as_documented():
    w = weights()
    g = D.magnitude_masks(w, 0.5, scope="global")
    layer = D.magnitude_masks(w, 0.5, scope="layer")
    for k, v in w.items():
        assert (~layer[k]).sum() == round(0.5 * v.size)
    # The dense kernel's weights are 10x smaller: global pruning takes most of them.
    assert (~g["dense"]).mean() > 0.8 and (~g["conv"]).mean() < 0.2
    assert all(m.dtype == bool and m.shape == w[k].shape for k, m in g.items())
    assert all(m.all() for m in D.magnitude_masks(w, 0.0).values())


# --------------------------------------------------------------------------------------
# Latency, the report, the student, the paper's numbers
# --------------------------------------------------------------------------------------

def test_median_latency_excludes_warmup_and_divides_by_batch(monkeypatch):
    calls = []
    clock = iter(np.cumsum([0.0] + [0.004, 0.001] * 100))  # start/stop pairs: 4 ms runs
    monkeypatch.setattr(D.time, "perf_counter", lambda: float(next(clock)))
    stats = D.median_latency(lambda: calls.append(1), batch_size=2, repeats=9, warmup=3)
    assert len(calls) == 12 and stats.repeats == 9 and stats.warmup == 3
    assert stats.median_ms == pytest.approx(2.0) and stats.q1_ms <= stats.median_ms <= stats.q3_ms


def report(name, params, size, ms, acc=0.9, nonzero=None):
    lat = D.LatencyStats(ms, ms * 0.9, ms * 1.1, 10, 2, 1)
    return D.CompressionReport(name, params, params if nonzero is None else nonzero, size, size // 2,
                               lat, threads=1, accuracy=acc, file_format="x")


def test_report_ratios_table_and_plot():
    big, small = report("teacher", 1000, 4000, 2.0), report("student", 100, 1000, 0.5, nonzero=25)
    assert small.sparsity == 0.75
    r = small.ratios(big)
    assert r == {"parameters": 10.0, "file": 4.0, "zlib": 4.0, "latency": 4.0}
    table = D.format_reports([big, small])
    assert "| model |" in table and "params_x" in table and table.count("\n") == 3
    assert "latency_ms" in D.format_reports([big], baseline=None) and "params_x" not in D.format_reports([big], None)
    fig = D.plot_compression([big, small])
    axes = fig.axes
    assert len(axes) == 2 and "kB" in axes[0].get_xlabel() and "ms" in axes[1].get_xlabel()
    assert "accuracy" in axes[0].get_ylabel()
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_student_is_10_to_50_times_smaller_than_course_cnn():
    course = 308_448 + 128 * 10 + 10
    assert D.student_parameter_count() == 24_346
    for width in (8, 16):
        assert 10 <= course / D.student_parameter_count(width, 10) <= 50


def test_hinton_reference_numbers():
    assert D.HINTON_2015_MNIST["errors"] == {"teacher": 67, "student": 146, "distilled": 74}
    assert D.HINTON_2015_MNIST["temperature"] == 20.0


# --------------------------------------------------------------------------------------
# Bad input: a clear error naming the argument
# --------------------------------------------------------------------------------------

BAD_T = (0.0, -1.0, float("nan"), float("inf"), "2", True, None)


@pytest.mark.parametrize("t", BAD_T)
def test_bad_temperature(t):
    zs, zt, y = logits()
    for call in (lambda: D.softmax_t(zs, t), lambda: D.kd_loss(zs, zt, y, temperature=t, alpha=0.5),
                 lambda: D.soft_target_loss(zs, zt, t), lambda: D.kd_loss_grad(zs, zt, y, temperature=t, alpha=0.5)):
        with pytest.raises((ValueError, TypeError), match="temperature"):
            call()


@pytest.mark.parametrize("a", (-0.1, 1.5, float("nan"), "0.5", True))
def test_bad_alpha(a):
    zs, zt, y = logits()
    for fn in (D.kd_loss, D.kd_loss_grad):
        with pytest.raises((ValueError, TypeError), match="alpha"):
            fn(zs, zt, y, temperature=2.0, alpha=a)


def test_bad_logits_and_labels():
    zs, zt, y = logits()
    for fn in (D.kd_loss, D.kd_loss_grad):
        with pytest.raises(ValueError, match="same number of classes"):
            fn(zs, zt[:, :4], y, temperature=2.0, alpha=0.5)
        with pytest.raises(ValueError, match="same examples"):
            fn(zs, zt[:5], y, temperature=2.0, alpha=0.5)
        with pytest.raises(ValueError, match="student_logits"):
            fn(zs[0], zt, y, temperature=2.0, alpha=0.5)
        with pytest.raises(ValueError, match="teacher_logits"):
            fn(zs, np.full_like(zt, np.nan), y, temperature=2.0, alpha=0.5)
        with pytest.raises(ValueError, match="labels"):
            fn(zs, zt, y + 5, temperature=2.0, alpha=0.5)
        with pytest.raises(ValueError, match="labels"):
            fn(zs, zt, y.astype(float), temperature=2.0, alpha=0.5)
        with pytest.raises(ValueError, match="labels"):
            fn(zs, zt, None, temperature=2.0, alpha=0.5)
    with pytest.raises(ValueError, match="same number of classes"):
        D.soft_target_loss(zs, zt[:, :3], 2.0)


@pytest.mark.parametrize("s", (1.0, -0.1, 1.5, float("nan"), "0.5"))
def test_bad_sparsity(s):
    with pytest.raises((ValueError, TypeError), match="sparsity"):
        D.magnitude_masks(weights(), s)
    with pytest.raises((ValueError, TypeError), match="sparsity"):
        D.check_sparsity(s)


def test_bad_inputs_of_the_other_helpers():
    with pytest.raises(ValueError, match="scope"):
        D.magnitude_masks(weights(), 0.5, scope="channel")
    with pytest.raises(ValueError, match="weights"):
        D.magnitude_masks({}, 0.5)
    with pytest.raises(ValueError, match="weights"):
        D.magnitude_masks([np.ones(3)], 0.5)
    with pytest.raises(ValueError, match="features"):
        D.attention_map(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="spatial"):
        D.attention_transfer_loss(np.ones((2, 4, 4, 3)), np.ones((2, 8, 8, 3)))
    with pytest.raises(ValueError, match="student_features"):
        D.attention_transfer_loss(np.ones((2, 4, 4)), np.ones((2, 4, 4, 3)))
    with pytest.raises(ValueError, match="same shape"):
        D.hint_loss(np.ones((2, 4, 4, 3)), np.ones((2, 4, 4, 5)))
    with pytest.raises(ValueError, match="sparsity_of"):
        D.sparsity_of([])
    with pytest.raises(ValueError, match="repeats"):
        D.median_latency(lambda: None, repeats=0)
    with pytest.raises(ValueError, match="warmup"):
        D.median_latency(lambda: None, warmup=-1)
    with pytest.raises(ValueError, match="batch_size"):
        D.median_latency(lambda: None, batch_size=0)
    with pytest.raises(TypeError, match="run"):
        D.median_latency("model")
    with pytest.raises(ValueError, match="reports"):
        D.format_reports([])
    with pytest.raises(ValueError, match="baseline"):
        D.format_reports([report("a", 1, 1, 1.0)], baseline=3)
    with pytest.raises(ValueError, match="accuracy"):
        D.plot_compression([report("a", 1, 1, 1.0, acc=None)])
    with pytest.raises(ValueError, match="same number of classes"):
        D.check_same_classes(10, 5)


def test_bad_feature_hints():
    with pytest.raises(ValueError, match="method"):
        D.FeatureHint("block2", "stage2", method="gram")
    with pytest.raises(ValueError, match="student_layer"):
        D.FeatureHint("", "stage2")
    with pytest.raises(ValueError, match="teacher_layer"):
        D.FeatureHint("block2", None)
    with pytest.raises(ValueError, match="weight"):
        D.FeatureHint("block2", "stage2", weight=-1.0)
    assert D.FeatureHint("a", "b").loss_weight == D.ATTENTION_WEIGHT == 500.0
    assert D.FeatureHint("a", "b", "fitnets").loss_weight == 1.0


def test_the_core_imports_no_framework():
    import subprocess
    import sys

    code = ("import sys, tlhelpers.distill; "
            "bad = [m for m in ('tensorflow', 'torch', 'keras', 'matplotlib') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
