"""The SynDigits pretraining recipe and its selection (tlhelpers.pretraining).

The source recipe must be chosen without the Digits test set, which the lessons report on:
these tests hold the selection rule to what it says (lowest label-free score, ties to the
recipe that knows less about the target, the test-tuned reference never eligible), prove
that a selection run never loads a Digits test image, and check that the shipped weights'
records carry the selection that chose their recipe.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from tlhelpers import pretraining as P
from tlhelpers import zoo
from tlhelpers.data.augment import augment_digits


def test_augment_digits_knows_nothing_of_the_target_by_default():
    defaults = inspect.signature(augment_digits).parameters
    for step in P.TARGET_FORMATION_STEPS:
        assert defaults[step].default == 0, step
    assert P.target_formation_steps("generic") == 0


def test_candidates_add_one_a_priori_step_at_a_time():
    steps = [P.target_formation_steps(name) for name in P.CANDIDATES]
    assert steps == list(range(len(P.CANDIDATES)))
    for name, kwargs in P.CANDIDATES.items():
        for key, value in kwargs.items():
            assert key in P.TARGET_FORMATION_STEPS and value == 0.5, (name, key, value)
    assert not set(P.REFERENCES) & set(P.CANDIDATES)


@pytest.mark.parametrize("name", [*P.CANDIDATES, *P.REFERENCES])
def test_every_recipe_is_a_label_preserving_stream(name):
    x = np.random.default_rng(0).random((6, 32, 32, 3), dtype=np.float32)
    a = P.augmentation_stream(3, name)(x)
    b = P.augmentation_stream(3, name)(x)
    assert a.shape == x.shape and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, b)  # one seed, one stream: both tracks see the same images
    described = P.describe_augmentation(P.recipe_kwargs(name))
    assert ("sensor" in described) == bool(P.recipe_kwargs(name).get("p_lowres"))


def test_unknown_recipe_is_a_clear_error():
    with pytest.raises(ValueError, match="recipe must be one of"):
        P.recipe_kwargs("sensor+magic")


def test_score_is_the_label_free_part_of_the_bound():
    assert P.selection_score(0.1, 1.0) == pytest.approx(0.6)
    assert P.selection_score(0.0, 2.0) == pytest.approx(1.0)


def test_choose_takes_the_lowest_score_and_breaks_ties_towards_less_target_knowledge():
    ref = next(iter(P.REFERENCES))
    scores = {"generic": 1.00, "sensor": 0.70, "sensor+ink": 0.60, "sensor+ink+thick": 0.50}
    assert P.choose(scores) == "sensor+ink+thick"
    scores["sensor+ink"] = 0.52  # within the tie margin: the simpler recipe wins
    assert P.choose(scores) == "sensor+ink"
    scores["sensor"] = 0.50 + P.SELECTION_TIE  # still within the margin (inclusive)
    assert P.choose(scores) == "sensor"
    assert P.choose({**scores, ref: 0.0}) == "sensor"  # a reference is never chosen
    with pytest.raises(ValueError, match="eligible"):
        P.choose({ref: 0.1})


@pytest.mark.torch
def test_selection_never_reads_a_digits_test_image(monkeypatch, tmp_path):
    pytest.importorskip("torch")
    import tlhelpers.data as data
    from tlhelpers.torch.pretrain import track

    real = data.load_dataset
    loaded = []

    def guarded(name, split="train", **kwargs):
        loaded.append((name, split))
        if name == "digits" and split != "train":
            raise AssertionError(f"the selection loaded digits {split!r}")
        return real(name, split, **kwargs)

    monkeypatch.setattr(data, "load_dataset", guarded)
    out = tmp_path / "selection.json"
    result = P.select(track(), n_train=40, n_test=24, epochs=1, batch_size=20, lr=2e-3, seeds=(0,),
                      recipes=["sensor", next(iter(P.REFERENCES))], out=out,
                      progress=False)
    assert ("digits", "train") in loaded and ("syndigits", "train") in loaded
    assert out.is_file() and result["chosen"] == "sensor"
    assert "No Digits test image or label" in result["data"]
    rows = {e["recipe"]: e for e in result["candidates"]}
    for e in rows.values():
        s = e["score"]["mean"]
        assert s == pytest.approx(e["source_error"]["mean"] + e["pad"]["mean"] / 2, abs=1e-3)
    assert not rows[next(iter(P.REFERENCES))]["eligible"]
