"""Lesson 03's sentences that its markdown states outright, asserted at CI size in both
tracks (seeded; the protocol is the lesson's: Digits train minus a 10-per-class validation
split as the labelled source, Digits-M train as the unlabelled target, Digits-M test for
accuracy; course_cnn pretrained on SynDigits, every layer trained, Adam at 1e-3, 3 epochs).

Everything else the lesson concludes is computed and printed by the notebook from its run.

Claims:
1. The permutation test rejects Digits vs Digits-M and does not reject two halves of Digits
   (course_cnn features, 100 vs 100, one fixed split and seed).
2. With no shift the biased MMD² stays clearly above 0 and the unbiased one averages about 0;
   the linear-time estimate spreads more than the unbiased one.
3. On the rotated moons the unbiased MMD² (source model's features) ranks the shifts in the
   order of the accuracy drop (Spearman ≤ −0.7 over 0…90°).
4. An adaptation method beats source only on Digits → Digits-M with every seed: AdaBN (the
   cheapest to assert; the notebook measures CORAL and DAN too).
5. Negative transfer under label shift: when 90 % of the target is upper moon, DAN falls below
   source only, and below its own accuracy on the balanced target, with every seed. (Whether
   DAN beats source only on the balanced target depends on the seed in Keras: not asserted.)
6. The tracks agree: source-only Digits-M accuracy within 8 points, and both see AdaBN's gain.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from tlhelpers import divergence, experiments
from tlhelpers.data import load_dataset

SEEDS = (0, 1)
ANGLES = (0, 15, 30, 45, 60, 90)
MOON_FIT = dict(epochs=20, batch_size=64, lr=3e-3, progress=False)


def _moon_predict(track, model, x):
    if track == "torch":
        import torch
        model.eval()
        with torch.no_grad():
            return model(torch.as_tensor(x, dtype=torch.float32)).argmax(1).numpy()
    return np.asarray(model.predict(x, verbose=0)).argmax(1)


def _with_proportions(data, share_upper, n, seed):
    rng = np.random.default_rng(seed)
    k = int(round(share_upper * n))
    idx = np.r_[rng.choice(np.flatnonzero(data.y == 0), k, replace=False),
                rng.choice(np.flatnonzero(data.y == 1), n - k, replace=False)]
    return data.x[idx], data.y[idx]


def measure(track: str) -> dict:
    tl = importlib.import_module(f"tlhelpers.{track}")
    backbones, adapt, dann, training = tl.backbones, tl.adapt, tl.dann, tl.training
    out: dict = {}
    pool, _ = experiments.carve_validation(load_dataset("digits", "train"), per_class=10)
    target, target_test = load_dataset("digits-m", "train"), load_dataset("digits-m", "test")

    # 1-2: divergences of pretrained features
    backbone = backbones.course_cnn(pretrained=True)
    fs = backbones.extract_features(backbone, pool, progress=False)
    ft = backbones.extract_features(backbone, target, progress=False)
    rng = np.random.default_rng(1)
    i = rng.permutation(len(fs))
    sigmas = [divergence.median_bandwidth(fs, ft) * m for m in divergence.DEFAULT_MULTIPLIERS]
    out["p_shift"] = divergence.mmd_permutation_test(fs[i[:100]], ft[rng.choice(len(ft), 100, replace=False)],
                                                     n_permutations=200, seed=0, bandwidth=sigmas).p_value
    out["p_halves"] = divergence.mmd_permutation_test(fs[i[:100]], fs[i[100:200]], n_permutations=200, seed=0,
                                                      bandwidth=sigmas).p_value
    null = {"biased": [], "unbiased": [], "linear": []}
    for _ in range(20):
        j = rng.permutation(len(fs))
        a, b = fs[j[:100]], fs[j[100:200]]
        null["biased"].append(divergence.mmd2_biased(a, b, bandwidth=sigmas))
        null["unbiased"].append(divergence.mmd2_unbiased(a, b, bandwidth=sigmas))
        null["linear"].append(divergence.mmd2_linear(a, b, bandwidth=sigmas))
    out["null"] = {k: np.asarray(v) for k, v in null.items()}

    # 3, 5: moons
    moons = load_dataset("moons", "train", n=1000)
    moons_test = load_dataset("moons", "test", n=1000, seed=1)

    def moon_model(seed, method=None, target_x=None):
        tl.seed_everything(seed)
        model = dann.mlp_classifier(2, 2, hidden=(32, 32))
        if method is None:
            adapt.fit_adapt(model, moons, moons.x, seed=seed, **MOON_FIT)
        else:
            adapt.dan(model, moons, target_x, weight=1.0, seed=seed, **MOON_FIT)
        return model

    source_only = {s: moon_model(s) for s in SEEDS}
    graded = {a: load_dataset("moons-rotated", "test", n=1000, seed=2, angle=a) for a in ANGLES}
    features = lambda x: dann.domain_features(source_only[0], x, x[:2])[0]  # the source model's hidden features
    table = divergence.divergence_table(features(moons_test.x), {a: features(d.x) for a, d in graded.items()},
                                        {a: float((_moon_predict(track, source_only[0], d.x) == d.y).mean())
                                         for a, d in graded.items()})
    out["spearman"] = table.attrs["spearman"]
    pool_r = load_dataset("moons-rotated", "train", n=2000, seed=3, angle=30)
    eval_r = load_dataset("moons-rotated", "test", n=2000, seed=3, angle=30)
    out["negative"] = {}
    for share in (0.5, 0.9):
        tx, _ = _with_proportions(pool_r, share, 800, 0)
        ex, ey = _with_proportions(eval_r, share, 800, 1)
        out["negative"][share] = {s: (float((_moon_predict(track, moon_model(s, "dan", tx), ex) == ey).mean()),
                                      float((_moon_predict(track, source_only[s], ex) == ey).mean())) for s in SEEDS}

    # 4, 6: AdaBN against source only on Digits -> Digits-M
    out["adabn"] = {}
    for s in SEEDS:
        tl.seed_everything(s)
        model = backbones.build_classifier(backbones.course_cnn(pretrained=True), 10, freeze_backbone=False,
                                           bn_inference=False)
        adapt.fit_adapt(model, pool, target, epochs=3, batch_size=64, lr=1e-3, seed=s, progress=False)
        before = training.evaluate(model, target_test)["accuracy"]
        adapt.adabn(model, target)
        out["adabn"][s] = (training.evaluate(model, target_test)["accuracy"], before)
    return out


@pytest.fixture(scope="module")
def numbers():
    cache: dict[str, dict] = {}

    def get(track: str) -> dict:
        if track not in cache:
            cache[track] = measure(track)
        return cache[track]
    return get


TRACKS = [pytest.param("keras", marks=pytest.mark.keras), pytest.param("torch", marks=pytest.mark.torch)]


@pytest.mark.parametrize("track", TRACKS)
def test_permutation_test_rejects_the_shift_and_not_two_halves(numbers, track):
    n = numbers(track)
    assert n["p_shift"] <= 1 / 201 + 1e-12, n["p_shift"]
    assert n["p_halves"] > 0.05, n["p_halves"]


@pytest.mark.parametrize("track", TRACKS)
def test_biased_mmd_is_positive_without_shift_and_the_unbiased_one_is_not(numbers, track):
    null = numbers(track)["null"]
    se = null["unbiased"].std(ddof=1) / np.sqrt(len(null["unbiased"]))
    assert abs(null["unbiased"].mean()) < 3 * se + 1e-4, (null["unbiased"].mean(), se)
    assert null["biased"].min() > 0 and null["biased"].mean() > null["unbiased"].mean() + 5 * se
    assert null["linear"].std() > 2 * null["unbiased"].std()


@pytest.mark.parametrize("track", TRACKS)
def test_mmd_ranks_the_rotations_by_the_accuracy_drop(numbers, track):
    assert numbers(track)["spearman"]["MMD²"] <= -0.7, numbers(track)["spearman"]


@pytest.mark.parametrize("track", TRACKS)
def test_adabn_beats_source_only_with_every_seed(numbers, track):
    runs = numbers(track)["adabn"]
    assert all(after > before for after, before in runs.values()), runs


@pytest.mark.parametrize("track", TRACKS)
def test_dan_hurts_under_label_shift(numbers, track):
    neg = numbers(track)["negative"]
    assert all(dan < src for dan, src in neg[0.9].values()), neg[0.9]
    assert all(neg[0.9][s][0] < neg[0.5][s][0] for s in SEEDS), neg


@pytest.mark.keras
@pytest.mark.torch
def test_tracks_agree_on_source_only_and_adabn(numbers):
    k, t = numbers("keras")["adabn"], numbers("torch")["adabn"]
    mean = lambda runs, i: np.mean([v[i] for v in runs.values()])
    assert abs(mean(k, 1) - mean(t, 1)) < 0.08, (k, t)
    assert mean(k, 0) > mean(k, 1) and mean(t, 0) > mean(t, 1)
