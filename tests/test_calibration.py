"""Calibration, framework-neutral (tlhelpers.calibration): the expected calibration error of
Guo et al. 2017 (equal-width, right-closed bins of the top-label confidence), the reliability
table, temperature scaling on logits, and clear errors for bad input. No framework imported."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import tlhelpers.calibration as C


def ece_by_loop(y, prob_matrix, n_bins):
    """An independent ECE: walk the bins ((m-1)/M, m/M] one by one."""
    conf, pred = prob_matrix.max(axis=1), prob_matrix.argmax(axis=1)
    total = 0.0
    for m in range(1, n_bins + 1):
        lo, hi = (m - 1) / n_bins, m / n_bins
        inside = (conf > lo) & (conf <= hi) if m > 1 else (conf >= 0) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs((pred[inside] == y[inside]).mean() - conf[inside].mean())
    return total


def overconfident(n=4000, classes=3, true_t=2.5, seed=0):
    """Logits whose labels were drawn from softmax(logits / true_t): over-confident by true_t."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 3, (n, classes))
    p = C.softmax(z, true_t)
    y = np.array([rng.choice(classes, p=row) for row in p])
    return z, y


def test_core_imports_no_framework():
    import subprocess

    code = ("import sys, tlhelpers.calibration, tlhelpers.explain, tlhelpers.metrics; "
            "print('tensorflow' in sys.modules, 'torch' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False"], out


def test_ece_by_hand():
    # confidences 0.9 (right), 0.9 (wrong), 0.6 (right), 0.3 as p_pos -> conf 0.7 for class 0 (right)
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.9, 0.6, 0.3])
    # 10 bins: (0.8, 0.9] holds two at conf 0.9, accuracy 0.5; (0.5, 0.6] one, acc 1; (0.6, 0.7] one, acc 1
    expected = 0.5 * abs(0.5 - 0.9) + 0.25 * abs(1 - 0.6) + 0.25 * abs(1 - 0.7)
    assert C.expected_calibration_error(y, p, n_bins=10) == pytest.approx(expected, abs=1e-12)
    # the binary vector is read as the matrix [1 - p, p]
    assert C.expected_calibration_error(y, np.stack([1 - p, p], 1), n_bins=10) == pytest.approx(expected)


def test_bins_are_right_closed():
    # confidence exactly 0.6 belongs to (0.5, 0.6] with 10 bins, not to (0.6, 0.7]
    table = C.reliability_diagram(np.array([0, 0]), np.array([[0.6, 0.4], [0.7, 0.3]]), n_bins=10)
    assert table.loc[5, "count"] == 1 and table.loc[6, "count"] == 1
    assert table["count"].sum() == 2 and table["weight"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("n_bins", [5, 15])
def test_ece_matches_an_independent_loop(n_bins):
    z, y = overconfident(n=600, seed=1)
    p = C.softmax(z)
    assert C.expected_calibration_error(y, p, n_bins=n_bins) == pytest.approx(ece_by_loop(y, p, n_bins), abs=1e-12)


def test_calibrated_probabilities_have_small_ece_and_overconfidence_shows_as_negative_gaps():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 20_000)
    y = (rng.uniform(0, 1, p.shape) < p).astype(int)      # calibrated by construction
    assert C.expected_calibration_error(y, p) < 0.02
    sharp = np.where(p > 0.5, np.sqrt(p), 1 - np.sqrt(1 - p))   # pushed towards 0/1: over-confident
    table = C.reliability_diagram(y, sharp)
    used = table[table["count"] > 50]
    assert (used["gap"] < 0).mean() > 0.8
    assert C.expected_calibration_error(y, sharp) > 0.05


def test_temperature_recovers_the_true_temperature_and_lowers_ece_without_changing_auc():
    z, y = overconfident(true_t=2.5)
    t = C.fit_temperature(z, y)
    assert t == pytest.approx(2.5, rel=0.1)
    # the fitted T is the NLL minimum over a grid
    grid = np.linspace(1.0, 4.0, 301)
    assert t == pytest.approx(grid[np.argmin([C.nll(z, y, g) for g in grid])], abs=0.011)
    before, after = C.softmax(z), C.apply_temperature(z, t)
    assert C.expected_calibration_error(y, after) < 0.5 * C.expected_calibration_error(y, before)
    np.testing.assert_array_equal(before.argmax(1), after.argmax(1))
    # binary: a single logit z means [0, z]; the AUC of the positive class does not move
    zb, yb = overconfident(n=2000, classes=2, seed=3)
    logit = zb[:, 1] - zb[:, 0]
    tb = C.fit_temperature(logit, yb)
    assert tb > 1.5
    assert roc_auc_score(yb, C.softmax(logit, tb)[:, 1]) == pytest.approx(roc_auc_score(yb, logit), abs=1e-12)


def test_underconfident_logits_get_t_below_one_and_separable_data_stays_in_bounds():
    z, y = overconfident(true_t=0.5, seed=2)
    assert C.fit_temperature(z, y) < 0.7
    # separable: the NLL keeps falling as T -> 0; the fit stops, inside the bounds, where it is ~0
    z = np.array([[-1.0, 1.0], [1.0, -1.0]] * 10)
    y = np.array([1, 0] * 10)
    t = C.fit_temperature(z, y)
    assert C.TEMPERATURE_BOUNDS[0] <= t < 0.2 and C.nll(z, y, t) < 1e-6


def test_softmax_and_nll():
    z = np.array([[0.0, np.log(3.0)], [2.0, 2.0]])
    np.testing.assert_allclose(C.softmax(z), [[0.25, 0.75], [0.5, 0.5]])
    np.testing.assert_allclose(C.softmax(z[:, 1] - z[:, 0]), C.softmax(z))     # one binary logit
    assert C.nll(z, [1, 0]) == pytest.approx(-(np.log(0.75) + np.log(0.5)) / 2)
    assert C.softmax(np.array([[1000.0, 0.0]]))[0, 0] == 1.0                  # no overflow


@pytest.mark.parametrize("y_prob, match", [
    (np.array([0.2, 1.3]), r"y_prob must hold probabilities in \[0, 1\]"),
    (np.array([-0.1, 0.5]), "look like logits"),
    (np.array([[0.5, 0.6], [0.2, 0.8]]), "must sum to 1"),
    (np.array([0.2, np.nan]), "NaN"),
    (np.array([0.1, 0.2, 0.3]), r"shape \(2,\)"),
    (np.array([[1.0], [0.0]]) * 0.5, None),   # (N, 1) is the positive class: accepted
])
def test_ece_bad_probabilities(y_prob, match):
    if match is None:
        assert 0 <= C.expected_calibration_error([0, 1], y_prob) <= 1
        return
    with pytest.raises(ValueError, match=match):
        C.expected_calibration_error(np.array([0, 1]), y_prob)


def test_other_bad_input():
    with pytest.raises(ValueError, match="n_bins"):
        C.expected_calibration_error([0, 1], [0.2, 0.8], n_bins=0)
    with pytest.raises(ValueError, match="y_true holds class 3"):
        C.expected_calibration_error([0, 3], [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match="y_true must hold integer class indices"):
        C.expected_calibration_error([0.5, 1], [0.2, 0.8])
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        C.softmax([[1.0, 2.0]], 0.0)
    with pytest.raises(ValueError, match="temperature"):
        C.apply_temperature([[1.0, 2.0]], -1)
    with pytest.raises(ValueError, match="logits must have shape"):
        C.fit_temperature(np.zeros((4, 2, 2)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="NaN"):
        C.fit_temperature([[0.0, np.inf]], [1])
    with pytest.raises(ValueError, match="class indices below 2"):
        C.fit_temperature([[0.0, 1.0], [1.0, 0.0]], [0, 2])
    with pytest.raises(ValueError, match="a Dataset or an \\(x, y\\) pair"):
        C.images_and_labels(np.zeros((3, 4)))


def test_plot_reliability_is_labelled():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    z, y = overconfident(n=500)
    fig = C.plot_reliability(y, {"before": C.softmax(z), "after": C.softmax(z, 2.5)}, n_bins=10)
    ax = fig.axes[0]
    assert "confidence" in ax.get_xlabel() and "accuracy" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lab.startswith("before (ECE") for lab in labels) and any("after (ECE" in lab for lab in labels)
    plt.close(fig)
