"""The framework-neutral half of Lesson 01's experiments (tlhelpers.experiments) and the
seed-by-seed comparison of tlhelpers.curves: no framework imported."""

import numpy as np
import pandas as pd
import pytest

from tlhelpers import curves, experiments
from tlhelpers.data import load_dataset
from tlhelpers.data.dataset import Dataset


def _toy(n_per_class=20, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n_per_class)
    x = rng.random((len(y), 4, 4, 1)).astype("float32")
    return Dataset(x, y, [str(c) for c in range(classes)], "toy", "train", "toy data")


def test_grid_pool_averages_equal_cells_and_keeps_the_layout():
    maps = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    pooled = experiments.grid_pool(maps, 2)
    assert pooled.shape == (2, 2 * 2 * 3)
    top_left = maps[0, :2, :2].mean(axis=(0, 1))
    assert np.allclose(pooled[0, :3], top_left)
    assert np.allclose(experiments.grid_pool(maps, 1), maps.mean(axis=(1, 2)))
    assert np.allclose(experiments.grid_pool(maps, 4), maps.reshape(2, -1))
    for bad in (3, 0, True, 2.0):
        with pytest.raises(ValueError, match="grid"):
            experiments.grid_pool(maps, bad)
    with pytest.raises(ValueError, match="maps"):
        experiments.grid_pool(maps[0], 2)


def test_carve_validation_is_disjoint_stratified_and_seeded():
    data = _toy()
    pool, val = experiments.carve_validation(data, per_class=5, seed=1)
    assert len(val) == 15 and np.bincount(val.y).tolist() == [5, 5, 5]
    assert len(pool) == 45
    pooled = {tuple(v.ravel()) for v in pool.x}
    assert not any(tuple(v.ravel()) in pooled for v in val.x)
    again, _ = experiments.carve_validation(data, per_class=5, seed=1)
    assert np.array_equal(again.x, pool.x)
    with pytest.raises(ValueError, match="too few"):
        experiments.carve_validation(data, per_class=20)
    with pytest.raises(ValueError, match="per_class"):
        experiments.carve_validation(data, per_class=0)


def test_target_runs_trains_each_configuration_once():
    calls = []

    def train_fn(train, test, **kw):
        calls.append(kw)
        hist = {"loss": [1.0, 0.5], "accuracy": [0.5, 1.0]}
        if kw["validation"] is not None:
            hist.update(val_loss=[1.2, 0.9], val_accuracy=[0.4, 0.6])
        return experiments.TargetRun(0.5 + 0.1 * kw["seed"], hist)

    data = _toy()
    runs = experiments.TargetRuns(train_fn, {"T": (data, data)}, epochs={2: 7}, validation={"T": data})
    runs.run("T", 2, 0, k=0, bn="frozen")
    runs.run("T", 2, 0, k=0, bn="adapt")            # BN does not apply to scratch: the same run
    runs.run("T", 2, 0, k=4, fine_tune=False, bn="adapt")
    runs.run("T", 2, 0, k=4, bn="frozen")
    runs.run("T", 2, 0, k=4, bn="adapt")
    assert len(calls) == 4 and all(c["epochs"] == 7 for c in calls)
    runs.run("T", 2, 0, k=0, watch=True)             # asked with validation: trained again, with it
    assert len(calls) == 5 and calls[-1]["validation"] is data
    runs.run("T", 2, 1, k=0)
    table = runs.table()
    assert set(table["bn"]) == {"n/a", "frozen", "adapt"}
    assert set(table["method"]) == {"scratch", "frozen backbone + trained head", "fine-tuning (BN frozen)",
                                    "fine-tuning (BN adapting)"}
    assert table["train_accuracy"].eq(1.0).all()
    assert sorted(runs.histories(target="T", k=0)) == [0, 1]
    with pytest.raises(ValueError, match="several runs"):
        runs.histories(target="T")
    for kwargs, match in (({"target": "X"}, "unknown target"), ({"source": "X"}, "unknown source"),
                          ({"labels_per_class": 3}, "epoch budget"), ({"bn": "moving"}, "bn must")):
        args = {"target": "T", "labels_per_class": 2, "seed": 0, **kwargs}
        with pytest.raises(ValueError, match=match):
            runs.run(args.pop("target"), args.pop("labels_per_class"), args.pop("seed"), **args)


def test_background_photos_relabels_digits_m_by_photo():
    test = load_dataset("digits-m", "test")
    photos = experiments.background_photos(test)
    assert np.array_equal(photos.y, test.meta["patches"][:, 0])
    assert photos.class_names == list(test.meta["photos"]) and photos.num_classes == 9
    assert np.array_equal(photos.x, test.x)
    with pytest.raises(ValueError, match="Digits-M"):
        experiments.background_photos(load_dataset("digits", "test"))


def test_block_probes_and_describe_depth():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(2), 30)
    informative = rng.normal(size=(60, 2, 2, 3)) + 3 * y[:, None, None, None]
    noise = rng.normal(size=(60, 2, 2, 3))
    maps = {"early": informative, "late": noise}
    table = experiments.block_probes({"task": (maps, y, maps, y)}, grid=1)
    assert list(table.index) == ["early", "late"] and list(table.columns) == ["task"]
    assert table.loc["early", "task"] == 100.0
    (line,) = experiments.describe_depth(table)
    assert line.startswith("task: highest after early (100.0%)")


def test_preprocessing_mismatch_measures_both_sides():
    rng = np.random.default_rng(0)
    data = _toy(30, 2)
    data.x = (data.x * 0.2 + data.y[:, None, None, None] * 0.5).astype("float32")
    features = lambda x: np.asarray(x).reshape(len(x), -1)  # noqa: E731
    table = experiments.preprocessing_mismatch(features, data, data, {"right": lambda x: x, "shifted": lambda x: x + 5})
    assert table.shape == (2, 2)
    assert table.loc["right"].eq(100.0).all()
    assert table.loc["shifted"].iloc[0] < table.loc["shifted"].iloc[1]
    del rng


def test_bound_terms_and_shift_table():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(2), 100)
    source = rng.normal(size=(200, 3)) + 3 * y[:, None]
    target = source + np.array([0.0, 0.0, 6.0])
    terms = experiments.bound_terms((source, y), (source, y), (target, y), (target, y))
    assert terms["λ = ε_S(h*) + ε_T(h*)"] == pytest.approx(
        terms["ε_S(h*): joint classifier's source error"] + terms["ε_T(h*): joint classifier's target error"])
    assert terms["½ d̂_HΔH: half the proxy A-distance"] > 90
    rhs = terms["ε_S(h): source error"] + terms["½ d̂_HΔH: half the proxy A-distance"] + terms["λ = ε_S(h*) + ε_T(h*)"]
    assert terms["right-hand side: ε_S(h) + ½ d̂_HΔH + λ"] == pytest.approx(rhs)
    table = experiments.shift_table((source, y), {"same": (source, y), "moved": (target, y),
                                                  "far": (source + 20 * np.array([1.0, 0.0, 0.0]), y)})
    assert table.loc["same", "proxy A-distance"] < 0.3 < table.loc["moved", "proxy A-distance"]
    assert -1 <= table.attrs["spearman"] <= 1


def test_source_summary_reads_what_the_record_holds():
    summary = experiments.source_summary({"data": {"train": {"name": "syndigits", "n": 10}}, "epochs": 2,
                                          "selection": {"rule": "label-free", "candidates": ["a", "b"]},
                                          "syndigits_test_accuracy": 0.5}, 123)
    assert summary["pretrained on"] == "syndigits, 10 images"
    assert summary["how the recipe was selected"] == "rule: label-free; candidates: a, b"
    assert summary["what the source knows about the target"] == "not recorded"
    assert summary["SynDigits test accuracy (%)"] == 50.0
    assert summary["Digits test accuracy, no Digits label used (%)"] == "not recorded"
    assert summary["learnable parameters"] == 123


def test_compare_is_seed_by_seed_and_says_when_seeds_disagree():
    agree = curves.compare({0: 0.9, 1: 0.8, 2: 0.85}, {0: 0.8, 1: 0.7, 2: 0.8}, ("a", "b"))
    assert agree.wins == 3 and agree.n == 3 and agree.holds and agree.consistent
    assert agree.diff == pytest.approx(100 * (0.1 + 0.1 + 0.05) / 3)
    assert "flip" not in str(agree) and "ahead with 3 of 3 seeds" in str(agree)
    split = curves.compare({0: 0.9, 1: 0.7}, {0: 0.8, 1: 0.8, 5: 0.1}, ("a", "b"))
    assert split.n == 2 and split.wins == 1 and not split.consistent and "flip" in str(split)
    assert "one seed" in str(curves.compare({0: 0.9}, {0: 0.8}))
    with pytest.raises(ValueError, match="share no seed"):
        curves.compare({0: 0.9}, {1: 0.8})
    runs = pd.DataFrame({"method": ["a", "a", "b"], "seed": [0, 1, 0], "accuracy": [0.5, 0.6, 0.7]})
    assert curves.by_seed(runs, method="a") == {0: 0.5, 1: 0.6}
    with pytest.raises(ValueError, match="several runs"):
        curves.by_seed(runs.assign(seed=0), method="a")


def test_seed_summary_gives_mean_and_spread_per_group():
    table = curves.seed_summary({("m", "a"): {0: 0.5, 1: 0.7}, ("m", "b"): {0: 0.9}})
    assert table.loc[("m", "a"), "mean (%)"] == pytest.approx(60.0)
    assert table.loc[("m", "a"), "std (%)"] == pytest.approx(100 * np.std([0.5, 0.7], ddof=1))
    assert table.loc[("m", "b"), "std (%)"] == 0.0 and table.loc[("m", "b"), "seeds"] == 1
    with pytest.raises(ValueError, match="no run"):
        curves.seed_summary({"x": {}})
