"""Proxy A-distance and learning-curve utilities (framework-neutral)."""

import numpy as np
import pytest

from tlhelpers import curves
from tlhelpers.divergence import proxy_a_distance


def test_pad_is_near_zero_for_one_distribution_and_near_two_for_separated_ones():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 5)), rng.normal(size=(400, 5))
    assert proxy_a_distance(a, b) < 0.3
    assert proxy_a_distance(a, b + 6.0) > 1.9


def test_pad_uses_held_out_error_not_training_error():
    # 200 points in 300 dimensions: a linear classifier separates *any* two samples on its
    # training data, so PAD from training error would be 2 for identical distributions.
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(200, 300)), rng.normal(size=(200, 300))
    assert proxy_a_distance(a, b) < 0.6


def test_pad_is_clipped_and_validates_input():
    rng = np.random.default_rng(2)
    for seed in range(5):
        assert 0.0 <= proxy_a_distance(rng.normal(size=(20, 2)), rng.normal(size=(20, 2)), seed=seed) <= 2.0
    with pytest.raises(ValueError, match="same number of features"):
        proxy_a_distance(np.zeros((10, 2)), np.zeros((10, 3)))
    with pytest.raises(ValueError, match="test_size"):
        proxy_a_distance(np.zeros((10, 2)), np.zeros((10, 2)), test_size=1.5)
    with pytest.raises(ValueError, match="n_samples"):
        proxy_a_distance(np.zeros(10), np.zeros(10))


def test_measure_summarize_gap_and_plot():
    methods = {"good": lambda n, s: min(1.0, 0.5 + 0.01 * n + 0.001 * s), "bad": lambda n, s: 0.2}
    runs = curves.measure(methods, [1, 10], seeds=[0, 1, 2], progress=False)
    assert len(runs) == 12 and set(runs.columns) == {"method", "labels_per_class", "seed", "accuracy"}
    table = curves.summarize(runs)
    assert table.loc[("bad", 10), "accuracy mean (%)"] == pytest.approx(20.0)
    assert table.loc[("good", 1), "runs"] == 3
    assert curves.gap(runs, "good", "bad").loc[10] == pytest.approx(100 * (0.6 + 0.001) - 20)
    ax = curves.plot(runs)
    assert ax.get_xlabel().startswith("labelled") and "3 seeds" in ax.get_title()
    with pytest.raises(ValueError, match="fraction"):
        curves.measure({"x": lambda n, s: 70.0}, [1], [0], progress=False)
    with pytest.raises(ValueError, match="budgets"):
        curves.measure(methods, [0], [0], progress=False)
    with pytest.raises(ValueError, match="no method"):
        curves.gap(runs, "good", "nope")


def test_linear_probe_learns_separable_features_and_checks_input():
    from tlhelpers.metrics import linear_probe_accuracy

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 50)
    x = rng.normal(size=(150, 4)) + 4 * np.eye(3, 4)[y]
    assert linear_probe_accuracy(x[::2], y[::2], x[1::2], y[1::2]) > 0.95
    with pytest.raises(ValueError, match="n_samples"):
        linear_probe_accuracy(x[:, 0], y, x, y)
    with pytest.raises(ValueError, match="two classes"):
        linear_probe_accuracy(x, np.zeros(150), x, y)
