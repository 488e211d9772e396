"""The NumPy reference divergences (tlhelpers.divergence) and the framework-neutral parts of
adaptation (tlhelpers.adapt): closed forms, estimator bias, the permutation test's level,
CORAL's conventions, PAD, and a clear error for every kind of bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tlhelpers import adapt as A
from tlhelpers import divergence as D

MMD_ESTIMATORS = (D.mmd2_biased, D.mmd2_unbiased, D.mmd2_linear)


def gaussians(rng, n, mean=0.0, std=1.0):
    return rng.normal(mean, std, size=(n, 1))


# --------------------------------------------------------------------------------------
# Kernel and bandwidth conventions (COURSE.md §5 item 12: inverted bandwidth, unsquared distances)
# --------------------------------------------------------------------------------------

def test_gaussian_kernel_uses_squared_distance_over_twice_squared_bandwidth():
    k = D.gaussian_kernel([[0.0, 0.0]], [[3.0, 4.0]], bandwidth=2.0)  # ‖x − y‖ = 5
    assert k.shape == (1, 1)
    assert k[0, 0] == pytest.approx(math.exp(-25.0 / 8.0), rel=1e-12)
    multi = D.gaussian_kernel([[0.0]], [[1.0]], bandwidth=[1.0, 2.0])
    assert multi[0, 0] == pytest.approx((math.exp(-0.5) + math.exp(-1 / 8)) / 2, rel=1e-12)


def test_sq_distances_match_the_definition_and_are_never_negative():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    expected = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(D.sq_distances(x, y), expected, rtol=1e-10)
    assert (D.sq_distances(x + 1e4, x + 1e4) >= 0).all()


def test_median_heuristic_is_the_median_squared_distance_of_the_pooled_sample():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(5, 2)) + 3
    z = np.concatenate([x, y])
    d2 = [((z[i] - z[j]) ** 2).sum() for i in range(len(z)) for j in range(i + 1, len(z))]
    assert D.median_bandwidth(x, y) == pytest.approx(math.sqrt(np.median(d2)), rel=1e-12)
    # σ scales with the data (a σ⁻¹ or σ² slip would not)
    assert D.median_bandwidth(3 * x, 3 * y) == pytest.approx(3 * D.median_bandwidth(x, y), rel=1e-12)
    sigmas = D.kernel_bandwidths(x, y)
    assert sigmas == pytest.approx([m * D.median_bandwidth(x, y) for m in D.DEFAULT_MULTIPLIERS])
    assert D.kernel_bandwidths(x, y, bandwidth=[0.3, 3]) == [0.3, 3.0]


def test_mmd_is_invariant_to_scaling_data_and_bandwidth_together():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=(25, 3)) + 0.5
    for f in MMD_ESTIMATORS:
        assert f(10 * x, 10 * y) == pytest.approx(f(x, y), rel=1e-9)
        assert f(10 * x, 10 * y, bandwidth=20.0) == pytest.approx(f(x, y, bandwidth=2.0), rel=1e-9)


# --------------------------------------------------------------------------------------
# Analytic test: two 1-D Gaussians
# --------------------------------------------------------------------------------------

def test_closed_form_for_two_gaussians():
    # identical distributions: 0; far apart: k(x, x') terms only
    assert D.mmd2_two_gaussians(0, 1, 0, 1, 1.0) == pytest.approx(0.0, abs=1e-15)
    far = D.mmd2_two_gaussians(0, 1, 1e3, 2, 1.0)
    assert far == pytest.approx(1 / math.sqrt(3) + 1 / math.sqrt(9), rel=1e-12)
    # multi-kernel: the mean over bandwidths
    assert D.mmd2_two_gaussians(0, 1, 1, 1.5, [0.5, 2.0]) == pytest.approx(
        (D.mmd2_two_gaussians(0, 1, 1, 1.5, 0.5) + D.mmd2_two_gaussians(0, 1, 1, 1.5, 2.0)) / 2)


@pytest.mark.parametrize("bandwidth", [1.0, [0.5, 1.0, 2.0]])
def test_estimators_converge_to_the_closed_form(bandwidth):
    truth = D.mmd2_two_gaussians(0.0, 1.0, 1.0, 1.5, bandwidth)
    rng = np.random.default_rng(3)
    n, reps = 400, 20
    runs = {f.__name__: [] for f in MMD_ESTIMATORS}
    for _ in range(reps):
        x, y = gaussians(rng, n), gaussians(rng, n, 1.0, 1.5)
        for f in MMD_ESTIMATORS:
            runs[f.__name__].append(f(x, y, bandwidth=bandwidth))
    for name, values in runs.items():
        mean, sem = np.mean(values), np.std(values, ddof=1) / math.sqrt(reps)
        bias = 2.0 / n if name == "mmd2_biased" else 0.0  # V-statistic bias <= (1/m + 1/n)
        assert abs(mean - truth) < 4 * sem + bias, (name, mean, truth, sem)
    # the linear-time statistic pays for its speed with variance
    assert np.std(runs["mmd2_linear"]) > 2 * np.std(runs["mmd2_unbiased"])


def test_under_the_null_unbiased_is_centred_on_zero_and_biased_is_positive():
    rng = np.random.default_rng(4)
    n, reps = 25, 300
    u, v = [], []
    for _ in range(reps):
        x, y = gaussians(rng, n), gaussians(rng, n)
        u.append(D.mmd2_unbiased(x, y, bandwidth=1.0))
        v.append(D.mmd2_biased(x, y, bandwidth=1.0))
    u, v = np.array(u), np.array(v)
    sem = u.std(ddof=1) / math.sqrt(reps)
    assert abs(u.mean()) < 4 * sem
    assert 0.2 < (u < 0).mean() < 0.8          # negative about half the time
    assert (v > 0).all() and v.mean() > 10 * sem  # the V-statistic's upward bias


def test_unbiased_and_biased_differ_exactly_by_the_diagonal_terms():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(9, 2))
    kxx, kyy, kxy = (D.gaussian_kernel(a, b, 1.0) for a, b in ((x, x), (y, y), (x, y)))
    m, n = 6, 9
    u = (kxx.sum() - m) / (m * (m - 1)) + (kyy.sum() - n) / (n * (n - 1)) - 2 * kxy.mean()
    assert D.mmd2_unbiased(x, y, bandwidth=1.0) == pytest.approx(u, rel=1e-12)
    assert D.mmd2_biased(x, y, bandwidth=1.0) == pytest.approx(kxx.mean() + kyy.mean() - 2 * kxy.mean(), rel=1e-12)


def test_linear_time_statistic_pairs_consecutive_samples():
    x = np.array([[0.0], [1.0], [5.0], [6.0], [9.0]])  # last sample unpaired
    y = np.array([[0.5], [2.0], [4.0], [7.0]])

    def k(a, b):
        return math.exp(-((a - b) ** 2) / 2)

    h = [k(0, 1) + k(0.5, 2) - k(0, 2) - k(1, 0.5), k(5, 6) + k(4, 7) - k(5, 7) - k(6, 4)]
    assert D.mmd2_linear(x, y, bandwidth=1.0) == pytest.approx(np.mean(h), rel=1e-12)


# --------------------------------------------------------------------------------------
# Permutation test
# --------------------------------------------------------------------------------------

def test_permutation_test_statistic_p_value_and_seed():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(30, 4)), rng.normal(size=(40, 4)) + 1.0
    res = D.mmd_permutation_test(x, y, n_permutations=199, seed=3)
    assert res.statistic == pytest.approx(D.mmd2_unbiased(x, y), rel=1e-10)
    assert res.n_permutations == 199 and res.null.shape == (199,)
    assert res.p_value == pytest.approx(1 / 200)  # +1 correction: never 0
    assert D.mmd_permutation_test(x, y, n_permutations=199, seed=3).p_value == res.p_value
    biased = D.mmd_permutation_test(x, y, n_permutations=19, estimator="biased")
    assert biased.statistic == pytest.approx(D.mmd2_biased(x, y), rel=1e-10)


def test_permutation_null_matches_recomputed_statistics():
    """Each null value is the MMD² of some relabelling of the pooled sample."""
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(5, 2)), rng.normal(size=(4, 2))
    res = D.mmd_permutation_test(x, y, n_permutations=30, seed=0, bandwidth=1.0)
    z = np.concatenate([x, y])
    from itertools import combinations
    every = sorted(D.mmd2_unbiased(z[list(c)], z[[i for i in range(9) if i not in c]], bandwidth=1.0)
                   for c in combinations(range(9), 5))
    for value in res.null:
        assert min(abs(value - e) for e in every) < 1e-10
    expected = (1 + (res.null >= res.statistic).sum()) / 31
    assert res.p_value == pytest.approx(expected)


def test_permutation_test_has_its_level_under_the_null():
    rng = np.random.default_rng(8)
    p = [D.mmd_permutation_test(rng.normal(size=(15, 2)), rng.normal(size=(15, 2)),
                                n_permutations=99, seed=s).p_value for s in range(100)]
    rejections = np.mean(np.array(p) <= 0.05)
    assert rejections <= 0.12  # nominal 0.05; binomial sd over 100 tests ≈ 0.022
    assert np.mean(p) == pytest.approx(0.5, abs=0.1)


# --------------------------------------------------------------------------------------
# CORAL (item 13) and PAD (item 14)
# --------------------------------------------------------------------------------------

def test_covariance_is_centred_with_n_minus_1():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(12, 3)) + 100.0
    np.testing.assert_allclose(D.covariance(x), np.cov(x, rowvar=False), rtol=1e-10)


def test_coral_distance_value_and_invariances():
    rng = np.random.default_rng(10)
    xs, xt = rng.normal(size=(50, 4)), 2.0 * rng.normal(size=(60, 4))
    d = 4
    diff = np.cov(xs, rowvar=False) - np.cov(xt, rowvar=False)
    assert D.coral_distance(xs, xt) == pytest.approx((diff**2).sum() / (4 * d * d), rel=1e-12)
    assert D.coral_distance(xs, xt + 5.0) == pytest.approx(D.coral_distance(xs, xt), rel=1e-9)  # means ignored
    assert D.coral_distance(xs, xs) == 0.0
    # scaling one domain by a: C -> a²C
    assert D.coral_distance(xs, 3 * xs) == pytest.approx(64 * (np.cov(xs, rowvar=False) ** 2).sum() / (4 * d * d))


def test_pad_from_error():
    assert D.pad_from_error(0.0) == 2.0
    assert D.pad_from_error(0.25) == pytest.approx(1.0)
    assert D.pad_from_error(0.5) == 0.0
    assert D.pad_from_error(0.7) == 0.0  # clipped, not negative


# --------------------------------------------------------------------------------------
# Bad input: clear errors that name the argument
# --------------------------------------------------------------------------------------

GOOD = np.zeros((4, 3)) + np.arange(12).reshape(4, 3)
PAIR_FUNCTIONS = [D.sq_distances, D.median_bandwidth, D.kernel_bandwidths, D.mmd2_biased, D.mmd2_unbiased,
                  D.mmd2_linear, D.mmd_permutation_test, D.coral_distance, D.proxy_a_distance,
                  lambda s, t: D.gaussian_kernel(s, t, 1.0)]


@pytest.mark.parametrize("f", PAIR_FUNCTIONS)
def test_every_pair_function_rejects_bad_features(f):
    with pytest.raises(ValueError, match="same number of features"):
        f(GOOD, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="source.*(n_samples, n_features)"):
        f(np.arange(5.0), GOOD)
    nan = GOOD.copy()
    nan[1, 1] = np.nan
    with pytest.raises(ValueError, match="target contains NaN"):
        f(GOOD, nan)
    with pytest.raises(ValueError, match="target"):
        f(GOOD, np.zeros((0, 3)))


@pytest.mark.parametrize("f", [D.mmd2_unbiased, D.mmd2_linear, D.coral_distance, D.mmd_permutation_test])
def test_estimators_that_need_two_samples_say_so(f):
    with pytest.raises(ValueError, match="source has 1 sample.*at least 2"):
        f(GOOD[:1], GOOD)
    assert np.isfinite(D.mmd2_biased(GOOD[:1], GOOD))  # the V-statistic is defined for one sample


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), [], [1.0, 0.0], "wide"])
def test_non_positive_bandwidths_are_rejected(bad):
    for f in (D.mmd2_biased, D.mmd2_unbiased, D.mmd2_linear):
        with pytest.raises(ValueError, match="bandwidth"):
            f(GOOD, GOOD + 1, bandwidth=bad)
    with pytest.raises(ValueError, match="bandwidth"):
        D.gaussian_kernel(GOOD, GOOD, bad)
    with pytest.raises(ValueError, match="bandwidth"):
        D.mmd2_two_gaussians(0, 1, 0, 1, bad)
    with pytest.raises(ValueError, match="multipliers"):
        D.mmd2_unbiased(GOOD, GOOD + 1, multipliers=bad if bad != "wide" else [])


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="median heuristic gave bandwidth 0"):
        D.median_bandwidth(np.zeros((5, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="n_permutations"):
        D.mmd_permutation_test(GOOD, GOOD, n_permutations=0)
    with pytest.raises(ValueError, match="estimator"):
        D.mmd_permutation_test(GOOD, GOOD, estimator="linear")
    with pytest.raises(ValueError, match="features.*at least 2"):
        D.covariance(GOOD[:1])
    with pytest.raises(ValueError, match="features contains NaN"):
        D.covariance(np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="features.*(n_samples, n_features)"):
        D.covariance(np.arange(3.0))
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="error"):
            D.pad_from_error(bad)
    for name, args in (("std1", (0, 0, 0, 1, 1.0)), ("std2", (0, 1, 0, -1, 1.0)), ("mean1", (np.nan, 1, 0, 1, 1.0))):
        with pytest.raises(ValueError, match=name):
            D.mmd2_two_gaussians(*args)


# --------------------------------------------------------------------------------------
# tlhelpers.adapt: the shared batch plan, schedules, checks and AdaBN's moments
# --------------------------------------------------------------------------------------

def test_paired_batches_cover_the_source_each_epoch_and_stream_the_target():
    s, t = A.paired_batches(10, 7, batch_size=3, epochs=2, seed=0)
    assert s.shape == t.shape == (2, 3, 3)          # 10 // 3 full batches per epoch
    for epoch in s:
        assert len(set(epoch.ravel())) == 9          # no source example twice in an epoch
    stream = t.ravel()
    assert sorted(stream[:7]) == list(range(7))      # the target in shuffled passes
    again = A.paired_batches(10, 7, batch_size=3, epochs=2, seed=0)
    assert (again[0] == s).all() and (again[1] == t).all()
    assert not (A.paired_batches(10, 7, batch_size=3, epochs=2, seed=1)[0] == s).all()


def test_schedules_weights_and_taps():
    assert A.lr_factor(None, 0.3) == 1.0
    assert A.lr_factor("cosine", 0.0) == 1.0 and A.lr_factor("cosine", 0.5) == pytest.approx(0.5)
    assert A.lr_factor(lambda p: 1 / (1 + 10 * p) ** 0.75, 1.0) == pytest.approx(11 ** -0.75)
    assert A.weight_at(0.3, 0.9) == 0.3 and A.weight_at(lambda p: 2 * p, 0.25) == 0.5
    assert A.check_taps("logits") == ("logits",) and A.check_taps(["features", "logits"]) == ("features", "logits")


def test_adapt_helpers_reject_bad_arguments():
    with pytest.raises(ValueError, match="batch_size=8 is larger"):
        A.paired_batches(10, 5, 8, 1, 0)
    with pytest.raises(ValueError, match="n_target"):
        A.paired_batches(10, 0, 2, 1, 0)
    with pytest.raises(ValueError, match="epochs"):
        A.paired_batches(10, 5, 2, 0, 0)
    for bad in ((), "pixels", ("features", "features"), None):
        with pytest.raises(ValueError, match="taps"):
            A.check_taps(bad)
    for bad in (-1.0, float("nan"), "x", lambda p: -p - 1):
        with pytest.raises(ValueError, match="weight"):
            A.weight_at(bad, 0.5)
    for bad in ("linear", 3, lambda p: float("inf")):
        with pytest.raises(ValueError, match="schedule"):
            A.lr_factor(bad, 0.5)
    with pytest.raises(ValueError, match="same shape"):
        A.check_images((4, 8, 8, 3), (4, 8, 8, 1))
    with pytest.raises(ValueError, match="target is empty"):
        A.check_images((4, 8, 8, 3), (0, 8, 8, 3))
    with pytest.raises(ValueError, match="source must hold a batch"):
        A.check_images((4,), (4, 8))


def test_channel_moments_equal_those_of_the_concatenated_batches():
    rng = np.random.default_rng(11)
    batches = [rng.normal(3.0, 2.0, size=(n, 4, 4, 5)) for n in (7, 1, 30)]
    moments = A.ChannelMoments()
    for b in batches:
        moments.update(b)
    everything = np.concatenate(batches).reshape(-1, 5)
    np.testing.assert_allclose(moments.mean, everything.mean(0), rtol=1e-12)
    np.testing.assert_allclose(moments.var, everything.var(0), rtol=1e-10)
    assert moments.count == len(everything)
    with pytest.raises(ValueError, match="no activations"):
        _ = A.ChannelMoments().var
