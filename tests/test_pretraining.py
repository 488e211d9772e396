"""The SynDigits pretraining recipe and how it was chosen (tlhelpers.pretraining,
benchmarks/source_recipe.py).

The source recipe must be chosen without the Digits test set, which the lessons report on.
These tests hold the rule to what it says (the a-priori recipe unless it loses to the
recipe with no target knowledge on a validation split of Digits *train*; the test-tuned
reference never eligible), prove that the check never loads a Digits test image, and check
that the shipped weights' records carry the selection behind their recipe.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from tlhelpers import pretraining as P
from tlhelpers import zoo
from tlhelpers.data.augment import augment_digits

REFERENCE = next(iter(P.REFERENCES))


def test_augment_digits_knows_nothing_of_the_target_by_default():
    defaults = inspect.signature(augment_digits).parameters
    for step in P.TARGET_FORMATION_STEPS:
        assert defaults[step].default == 0, step
    assert P.target_formation_steps(P.BASELINE) == 0


def test_candidates_add_one_a_priori_step_at_a_time():
    steps = [P.target_formation_steps(name) for name in P.CANDIDATES]
    assert steps == list(range(len(P.CANDIDATES)))
    for name, kwargs in P.CANDIDATES.items():
        for key, value in kwargs.items():
            assert key in P.TARGET_FORMATION_STEPS and value == 0.5, (name, key, value)
    assert P.A_PRIORI in P.CANDIDATES and P.BASELINE in P.CANDIDATES
    assert not set(P.REFERENCES) & set(P.CANDIDATES)
    # the documented acquisition: an ink bitmap and the 8x8 sensor, no stroke width
    assert P.recipe_kwargs(P.A_PRIORI) == {"p_lowres": 0.5, "p_ink": 0.5}


@pytest.mark.parametrize("name", [*P.CANDIDATES, *P.REFERENCES])
def test_every_recipe_is_a_repeatable_stream(name):
    x = np.random.default_rng(0).random((6, 32, 32, 3), dtype=np.float32)
    a = P.augmentation_stream(3, name)(x)
    b = P.augmentation_stream(3, name)(x)
    assert a.shape == x.shape and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, b)  # one seed, one stream: both tracks see the same images
    described = P.describe_augmentation(P.recipe_kwargs(name))
    assert ("sensor" in described) == bool(P.recipe_kwargs(name).get("p_lowres"))
    assert ("ink" in described) == bool(P.recipe_kwargs(name).get("p_ink"))


def test_unknown_recipe_is_a_clear_error():
    with pytest.raises(ValueError, match="recipe must be one of"):
        P.recipe_kwargs("sensor+magic")


def test_choose_keeps_the_a_priori_recipe_unless_it_loses_to_the_baseline():
    assert P.choose({P.A_PRIORI: 0.90, P.BASELINE: 0.90}) == P.A_PRIORI
    assert P.choose({P.A_PRIORI: 0.91, P.BASELINE: 0.90, REFERENCE: 0.99}) == P.A_PRIORI
    assert P.choose({P.A_PRIORI: 0.89, P.BASELINE: 0.90, REFERENCE: 0.99}) == P.BASELINE
    with pytest.raises(ValueError, match="needs a score"):
        P.choose({P.A_PRIORI: 0.9, REFERENCE: 0.95})


def test_validation_split_is_the_lessons_draw_and_leaves_the_rest_for_scoring():
    from tlhelpers.data import load_dataset

    train = load_dataset("digits", "train")
    fit = P.validation_split(train, 1)
    assert fit.sum() == 100 and (~fit).sum() == len(train) - 100
    np.testing.assert_array_equal(np.sort(train.meta["index"][fit]),
                                  np.sort(train.per_class(10, 1).meta["index"]))
    assert np.bincount(train.y[fit]).tolist() == [10] * 10


@pytest.mark.torch
def test_the_check_never_reads_a_digits_test_image(monkeypatch, tmp_path):
    pytest.importorskip("torch")
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))  # the repository
    import tlhelpers.data as data
    from benchmarks import source_recipe
    from tlhelpers.torch import backbones

    real, loaded = data.load_dataset, []

    def guarded(name, split="train", **kwargs):
        loaded.append((name, split))
        if name == "digits" and split != "train":
            raise AssertionError(f"the selection check loaded digits {split!r}")
        return real(name, split, **kwargs)

    def random_weights(framework, commit, folder):  # no git needed: any full-size weights do
        return backbones.save_backbone_weights(backbones.course_cnn(pretrained=False),
                                               folder / f"{commit}.pt")

    monkeypatch.setattr(data, "load_dataset", guarded)
    monkeypatch.setattr(source_recipe, "historic_weights", random_weights)
    result = source_recipe.check(["torch"])
    assert ("digits", "train") in loaded
    assert "No Digits test image or label" in result["data"]
    rows = {e["recipe"]: e for e in result["candidates"]}
    assert set(rows) == set(P.CANDIDATES) | set(P.REFERENCES)
    assert not rows[REFERENCE]["eligible"]
    assert result["chosen"] in (P.A_PRIORI, P.BASELINE)
    for name in (P.A_PRIORI, P.BASELINE, REFERENCE):
        probe = rows[name]["validation_probe"]["torch"]
        assert len(probe["per_seed"]) == 3 and 0.0 <= probe["mean"] <= 1.0
        assert 0.0 <= rows[name]["pad"]["torch"] <= 2.0


# --- the shipped weights ----------------------------------------------------------------

@pytest.fixture(scope="module")
def selection():
    found = P.shipped_selection()
    assert found is not None, "weights/recipe_selection.json is missing: python -m benchmarks.source_recipe"
    return found


def test_shipped_selection_follows_its_own_rule(selection):
    assert selection["rule"] == P.SELECTION_RULE
    assert "No Digits test image or label" in selection["data"]
    rows = {e["recipe"]: e for e in selection["candidates"]}
    assert set(rows) == set(P.CANDIDATES) | set(P.REFERENCES)
    means = {k: e["validation_probe_mean"] for k, e in rows.items() if "validation_probe_mean" in e}
    assert P.choose(means) == selection["chosen"] == P.RECIPE
    for name in (P.A_PRIORI, P.BASELINE):
        assert set(rows[name]["validation_probe"]) == set(zoo.FRAMEWORKS)


@pytest.mark.parametrize("framework", zoo.FRAMEWORKS)
def test_shipped_records_carry_the_selection(framework, selection):
    record = zoo.course_weights_info(framework)
    assert record["recipe"] == P.RECIPE
    assert record["selection"] == selection
    assert record["augmentation"] == P.describe_augmentation(P.recipe_kwargs(P.RECIPE))
    assert record["target_knowledge"] == P.TARGET_KNOWLEDGE
    assert f"--recipe {P.RECIPE}" in record["command"]


@pytest.mark.parametrize("framework", [pytest.param("keras", marks=pytest.mark.keras),
                                       pytest.param("torch", marks=pytest.mark.torch)])
def test_pretrain_writes_weights_and_a_record_that_loads(framework, tmp_path):
    pytest.importorskip(framework)
    import importlib

    pretrain = importlib.import_module(f"tlhelpers.{framework}.pretrain")
    backbones = importlib.import_module(f"tlhelpers.{framework}.backbones")
    record = pretrain.pretrain(n_train=40, n_test=20, epochs=1, batch_size=20, recipe=P.BASELINE,
                               out_dir=tmp_path, progress=False)
    assert record["recipe"] == P.BASELINE and record["framework"] == framework
    assert record["augmentation"] == P.describe_augmentation({})
    assert record["selection"] == P.shipped_selection()
    assert len(record["digits_linear_probe_10_per_class"]["accuracy_per_seed"]) == 3
    weights = tmp_path / zoo.course_weights_path(framework).name
    assert weights.is_file() and zoo.course_record_path(framework, tmp_path).is_file()
    backbones.course_cnn(weights=weights)  # loads
    with pytest.raises(ValueError, match="recipe must be one of"):
        pretrain.pretrain(n_train=40, recipe="thick-only", out_dir=tmp_path, progress=False)
