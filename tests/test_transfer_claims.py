"""The measured claims lesson 01 makes about the course-pretrained backbone, asserted in
both tracks at CI size (seeded; three label draws / seeds each; tolerances from measured
spreads, see the numbers printed with ``-s``).

Setting: 10 labelled real Digits per class (100 images, ``Dataset.per_class(10, seed)``,
seeds 0, 1, 2), Digits test set (500 images), Digits-M test set (500 images).

1. Features: the course-pretrained backbone, frozen, with a linear head (standardised
   features + logistic regression) beats the same architecture, same initialisation
   scheme, *randomly initialised* and frozen, with the same head on the same 100 images.
2. Fine-tuning: course-pretrained backbone + head trained end to end beats the same
   network trained from scratch, same data, epochs, optimizer and seed.
3. Domain shift ("source-only"): the frozen pretrained backbone + a linear head fitted on
   Digits scores clearly lower on Digits-M (same digits blended with photo patches) than
   on Digits, and the gap is stable across the three seeds.

4. Parity: the two tracks' pretrained backbones, in the setting of claim 1, land within
   3 accuracy points of each other (mean of the 3 seeds).

Measured (shipped weights, seeds 0-2, Keras / PyTorch, this 2-core CPU). The weights use
the recipe ``tlhelpers.pretraining.RECIPE`` ("sensor+ink": an ink bitmap and an 8x8,
17-level sensor, each on half of the SynDigits images), chosen a priori from the documented
acquisition of Digits and checked on a validation split of Digits *train*
(``benchmarks/source_recipe.py``); the numbers below were measured on Digits test only
after that choice. In brackets, the weights they replace (commit 8b561d6's recipe, whose
settings had been tuned on the Digits test set), re-measured with the same protocol:
  claim 1: pretrained-frozen [.928 .926 .936] 93.0% / [.928 .920 .938] 92.9%
           (was [.944 .938 .944] 94.2% / [.928 .922 .948] 93.3%) vs
           random-frozen [.808 .770 .826] 80.1% / [.852 .758 .830] 81.3%:
           +12.9 / +11.5 points (was +14.1 / +11.9);
  claim 2: fine-tuned [.946 .928 .956] 94.3% / [.946 .940 .946] 94.4% (was 94.1% / 94.3%)
           vs scratch [.872 .832 .880] 86.1% / [.872 .852 .850] 85.8%, 30 epochs:
           +8.2 / +8.6 points (was +8.0 / +8.6);
  claim 3: Digits minus Digits-M 19.7 ± 1.1 / 21.9 ± 1.4 points (was 20.2 ± 2.0 / 19.2 ± 0.9);
  claim 4: 93.0% vs 92.9%, 0.1 points apart (was 0.9).
The honest recipe costs about a point of 10-label probe accuracy against the test-tuned one
in the Keras track and less in PyTorch; all four claims still hold with their thresholds.
(Before any target-formation augmentation, commit 5da1b23: 88.8% / 91.3% pretrained-frozen.)

What is *not* claimed, because it was measured false here: a 15-point advantage of the
frozen pretrained backbone + linear head over random frozen features (+12.9 / +11.5; a
random-init frozen course_cnn is a strong baseline on these clean digits — logistic
regression on raw pixels already reaches ~86% with 100 labels), nor 15 points over the
same network trained from scratch on the 100 images (+8.2 / +8.6 after fine-tuning).
"""

from __future__ import annotations

import numpy as np
import pytest

import _transfer as X

FRAMEWORKS = [pytest.param("keras", marks=pytest.mark.keras, id="keras"),
              pytest.param("torch", marks=pytest.mark.torch, id="torch")]

# Thresholds (accuracy fractions), inside what was measured in both tracks (smallest margin:
# claim 1 in PyTorch, 1.5 points; the runs are seeded, so the margins cover platforms, not seeds).
MIN_FEATURE_GAIN = 0.10        # claim 1: pretrained-frozen minus random-frozen, mean of 3 seeds
MIN_FINETUNE_GAIN = 0.05       # claim 2: fine-tuned minus scratch, mean of 3 seeds
MIN_SHIFT_GAP = 0.10           # claim 3: Digits minus Digits-M, mean of 3 seeds
MAX_SHIFT_GAP_STD = 0.05       # claim 3: its standard deviation over the seeds
MAX_PARITY_GAP = 0.03          # claim 4: |keras - torch|, mean of 3 seeds
END_TO_END_EPOCHS = 30


def _needs(framework: str) -> None:
    pytest.importorskip("keras" if framework == "keras" else "torch")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_pretrained_features_beat_random_features(framework):
    _needs(framework)
    pre = X.pretrained_probe(framework)["digits"]
    rnd = X.random_probe(framework)["digits"]
    gain = np.mean(pre) - np.mean(rnd)
    print(f"[{framework}] 10/class linear probe on Digits: pretrained {np.round(pre, 3)} "
          f"vs random init {np.round(rnd, 3)}; gain {gain:+.3f}")
    assert np.mean(pre) > 0.9
    assert gain >= MIN_FEATURE_GAIN, (pre, rnd)
    assert min(pre) > max(rnd) - 0.02  # not carried by one lucky draw


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_fine_tuned_pretrained_beats_scratch(framework):
    _needs(framework)
    scratch = [X.train_end_to_end(framework, s, pretrained=False, epochs=END_TO_END_EPOCHS)
               for s in X.SEEDS]
    tuned = [X.train_end_to_end(framework, s, pretrained=True, epochs=END_TO_END_EPOCHS)
             for s in X.SEEDS]
    gain = np.mean(tuned) - np.mean(scratch)
    print(f"[{framework}] 100 Digits, {END_TO_END_EPOCHS} epochs end to end: fine-tuned pretrained "
          f"{np.round(tuned, 3)} vs scratch {np.round(scratch, 3)}; gain {gain:+.3f}")
    assert gain >= MIN_FINETUNE_GAIN, (tuned, scratch)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_source_only_accuracy_drops_on_digits_m(framework):
    _needs(framework)
    acc = X.pretrained_probe(framework)
    gaps = np.asarray(acc["digits"]) - np.asarray(acc["digits_m"])
    mean, std = X.mean_std(gaps)
    print(f"[{framework}] head fitted on Digits: Digits {np.round(acc['digits'], 3)}, "
          f"Digits-M {np.round(acc['digits_m'], 3)}; gap {mean:.3f} ± {std:.3f}")
    assert (gaps > 0).all()
    assert mean >= MIN_SHIFT_GAP, gaps
    assert std <= MAX_SHIFT_GAP_STD, gaps


@pytest.mark.keras
@pytest.mark.torch
def test_pretrained_backbones_land_within_three_points():
    _needs("keras")
    _needs("torch")
    k = np.mean(X.pretrained_probe("keras")["digits"])
    t = np.mean(X.pretrained_probe("torch")["digits"])
    print(f"10/class linear probe on Digits: keras {k:.3f}, torch {t:.3f}; apart {abs(k - t):.3f}")
    assert abs(k - t) <= MAX_PARITY_GAP, (k, t)
