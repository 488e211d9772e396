"""Lesson 03's small core helpers: the classifier two-sample test, the divergence table, the
gap-closed table and importance weights (NumPy / scikit-learn, no framework)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tlhelpers import adapt, divergence


def test_classifier_two_sample_test_separates_a_shift_and_not_one_distribution():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(300, 4)), rng.normal(size=(300, 4)), rng.normal(0.6, 1, size=(300, 4))
    shifted = divergence.classifier_two_sample_test(a, c, seed=0)
    same = divergence.classifier_two_sample_test(a, b, seed=0)
    assert shifted.accuracy > 0.65 and shifted.p_value < 1e-6 and shifted.n_test == 300
    assert same.p_value > 0.01
    assert shifted.pad == pytest.approx(divergence.pad_from_error(1 - shifted.accuracy))
    # same classifier and split as proxy_a_distance: the same distance
    assert shifted.pad == pytest.approx(divergence.proxy_a_distance(a, c, seed=0))
    with pytest.raises(ValueError, match="same number of features"):
        divergence.classifier_two_sample_test(a, c[:, :3])


def test_divergence_table_ranks_growing_shifts_and_fixes_one_bandwidth():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(200, 3))
    domains = {f"{m}": rng.normal(m, 1, size=(200, 3)) for m in (0.0, 0.5, 1.0, 2.0)}
    accuracy = {"0.0": 0.9, "0.5": 0.8, "1.0": 0.6, "2.0": 0.3}
    table = divergence.divergence_table(ref, domains, accuracy)
    assert list(table.index) == list(domains)
    assert table["MMD²"].is_monotonic_increasing and table["accuracy (%)"].iloc[0] == 90.0
    assert table.attrs["spearman"]["MMD²"] == pytest.approx(-1.0)
    sigma = [1.0, 2.0]
    assert table.loc["0.5", "MMD²"] != divergence.divergence_table(ref, domains, bandwidth=sigma).loc["0.5", "MMD²"]
    constant = divergence.divergence_table(ref, domains, {k: 0.5 for k in domains})
    assert all(np.isnan(v) for v in constant.attrs["spearman"].values())
    with pytest.raises(ValueError, match="no value"):
        divergence.divergence_table(ref, domains, {"0.0": 0.9})


def test_gap_closed_table_per_seed():
    runs = pd.DataFrame([("source only", 0, .6), ("adapted", 0, .7), ("train on target", 0, .9),
                         ("source only", 1, .5), ("adapted", 1, .8), ("train on target", 1, .9)],
                        columns=["method", "seed", "accuracy"])
    table = adapt.gap_closed_table(runs)
    assert list(table.index) == ["source only", "adapted", "train on target"]
    assert table.loc["adapted", "gap closed, mean (%)"] == pytest.approx(100 * (1 / 3 + 3 / 4) / 2)
    assert table.loc["train on target", "gap closed, mean (%)"] == pytest.approx(100.0)
    assert table.loc["adapted", "accuracy, mean (%)"] == pytest.approx(75.0)
    with pytest.raises(ValueError, match="no rows for method"):
        adapt.gap_closed_table(runs.query("method != 'train on target'"))


def test_importance_weights_follow_the_density_ratio():
    rng = np.random.default_rng(2)
    source = rng.normal(0, 1, size=(2000, 1))
    target = rng.normal(1, 1, size=(2000, 1))
    x = np.array([[-1.0], [0.0], [1.0], [2.0]])
    w = adapt.importance_weights(source, target, x)
    assert np.all(np.diff(w) > 0)  # p_T/p_S = exp(x - 1/2) grows with x
    ratio = np.exp(x[:, 0] - 0.5)
    assert np.allclose(w / w[1], ratio / ratio[1], rtol=0.25)
    assert adapt.importance_weights(source, target, source[:50]).mean() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="max_weight"):
        adapt.importance_weights(source, target, x, max_weight=1)
