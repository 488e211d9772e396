"""Lesson 02's sentences that its markdown states outright, asserted at CI size in both tracks
(seeded; thresholds well inside what was measured, see the notes below).

Everything else the lesson concludes is computed and printed by the notebook from its own run.
Protocol (the lesson's): labelled Digits drawn from Digits train minus a 10-per-class validation
split; Digits test for target accuracy; SynDigits test for source accuracy; full fine-tuning of
the pretrained course_cnn (BatchNorm frozen), Adam at 1e-3, batches of 32.

Claims:
1. Plain fine-tuning forgets the source task: with 10 labels per class and 20 epochs, the
   source head on the fine-tuned backbone loses at least 10 points of SynDigits accuracy
   (measured: 97.5% -> 67.7%, torch, seed 0).
2. EWC keeps more of the source task than plain fine-tuning with every seed, at a target cost
   of at most 8 points (measured, torch seed 0: λ=1000 keeps 94.8% against 67.7%, target 92.8%
   against 96.4%).
3. On a 10:1 step-imbalanced target without a correction, the rare classes' recall is below
   the common ones' with every seed. (That class weights raise balanced accuracy is NOT asserted:
   measured at this size it held for both torch seeds, +0.8 and +5.2 points, but for one Keras
   seed of two, +2.2 and -4.1, while Keras's fit ran through model.fit; with the traced step
   both Keras seeds gained, +1.6 and +4.9, torch +0.8 and +5.2. The lesson prints it per seed.)
4. The tracks agree within 3 points on the source classifier's SynDigits accuracy, and within
   5 points on the source accuracy EWC keeps. (Plain fine-tuning's target accuracy is NOT
   asserted to agree. Through model.fit, Keras seed 1 measured 74.6% against torch's 94.8%;
   with the traced step, Keras 94.6% / 93.8% against torch 96.4% / 94.8% for seeds 0 / 1.)
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, recall_score

from tlhelpers import experiments, imbalance
from tlhelpers.data import load_dataset

SEEDS = (0, 1)
FEW, MANY, EPOCHS_FEW, EPOCHS_MANY = 10, 50, 20, 8
EWC_STRENGTH = 1000.0


def _head_weights(track, model):
    return model.get_layer("head").get_weights() if track == "keras" else \
        {k: v.clone() for k, v in model.head.state_dict().items()}


def _set_head(track, model, weights):
    if track == "keras":
        model.get_layer("head").set_weights(weights)
    else:
        model.head.load_state_dict(weights)


def _backbone(track, model):
    if track == "keras":
        return next(layer for layer in __import__("tlhelpers.keras", fromlist=["walk_layers"]).walk_layers(model)
                    if layer.name == "course_cnn")
    return model.backbone


def measure(track: str) -> dict:
    tl = importlib.import_module(f"tlhelpers.{track}")
    backbones, training, ft = tl.backbones, tl.training, tl.finetune
    pool, _ = experiments.carve_validation(load_dataset("digits", "train"), per_class=10)
    test = load_dataset("digits", "test")
    source_train = load_dataset("syndigits", "train", n=2000, seed=0)
    source_test = load_dataset("syndigits", "test", n=1000, seed=0)
    accuracy = lambda model, data=test: training.evaluate(model, data)["accuracy"]  # noqa: E731

    def classifier(seed):
        tl.seed_everything(seed)
        model = backbones.build_classifier(backbones.course_cnn(pretrained=True), 10, freeze_backbone=False)
        return ft.unfreeze(model, top_k=4)

    # The source task's classifier and EWC's Fisher (the lesson's section 7).
    tl.seed_everything(0)
    source_model = backbones.build_classifier(backbones.course_cnn(pretrained=True), 10)
    training.fit(source_model, source_train, epochs=5, batch_size=64, lr=1e-2, seed=0, progress=False)
    head = _head_weights(track, source_model)
    ft.unfreeze(source_model, top_k=4)
    names = {n for block, named in ft.block_parameters(source_model).items() if block != "head" for n in named}
    fisher = {n: f for n, f in ft.fisher_diagonal(source_model, source_train.subset(np.arange(500))).items() if n in names}
    learnable = {n: v for named in ft.block_parameters(source_model).values() for n, v in named.items()}
    anchor = ft.snapshot({n: learnable[n] for n in names})

    def source_accuracy(model):
        view = backbones.build_classifier(_backbone(track, model), 10, freeze_backbone=False)
        _set_head(track, view, head)
        return accuracy(view, source_test)

    out: dict = {"source_before": accuracy(source_model, source_test), "plain": {}, "ewc": {}, "imbalance": {}}
    for seed in SEEDS:
        labelled = pool.per_class(FEW, seed=seed)
        for method in ("plain", "ewc"):
            model = classifier(seed)
            penalty = None
            if method == "ewc":
                live = {n: v for named in ft.block_parameters(model).values() for n, v in named.items() if n in names}
                penalty = lambda live=live: ft.ewc_penalty(live, fisher, anchor, EWC_STRENGTH)  # noqa: E731
            ft.fit(model, labelled, epochs=EPOCHS_FEW, batch_size=32, lr=1e-3, seed=seed, penalty=penalty)
            out[method][seed] = (accuracy(model), source_accuracy(model))

        # 3. the 10:1 target, without and with class weights
        data = pool.per_class(MANY, seed=seed)
        data = data.subset(imbalance.step_imbalance(data.y, 10, seed=seed))
        for method in ("none", "weights"):
            model = classifier(seed)
            weights = ft.class_weights(data.y, 10) if method == "weights" else None
            ft.fit(model, data, epochs=EPOCHS_MANY, batch_size=32, lr=1e-3, seed=seed, class_weight=weights)
            predicted = training.predict(model, test).argmax(1)
            recall = recall_score(test.y, predicted, average=None)
            out["imbalance"][method, seed] = (balanced_accuracy_score(test.y, predicted), recall[:5].mean(), recall[5:].mean())
    return out


@pytest.fixture(scope="module")
def numbers():
    measured = {track: measure(track) for track in ("keras", "torch")}
    for track, out in measured.items():  # shown with pytest -s
        print(track, out)
    return measured


TRACKS = [pytest.param("keras", marks=pytest.mark.keras), pytest.param("torch", marks=pytest.mark.torch)]


@pytest.mark.parametrize("track", TRACKS)
def test_plain_fine_tuning_forgets_the_source(numbers, track):
    n = numbers[track]
    after = np.mean([source for _, source in n["plain"].values()])
    assert n["source_before"] - after >= 0.10, f"{track}: source accuracy {n['source_before']:.3f} -> {after:.3f}"


@pytest.mark.parametrize("track", TRACKS)
def test_ewc_keeps_the_source_at_a_small_target_cost(numbers, track):
    n = numbers[track]
    for seed in SEEDS:
        (t_plain, s_plain), (t_ewc, s_ewc) = n["plain"][seed], n["ewc"][seed]
        assert s_ewc > s_plain + 0.05, f"{track}, seed {seed}: EWC source {s_ewc:.3f} vs plain {s_plain:.3f}"
        assert t_ewc >= t_plain - 0.08, f"{track}, seed {seed}: EWC target {t_ewc:.3f} vs plain {t_plain:.3f}"


@pytest.mark.parametrize("track", TRACKS)
def test_rare_classes_are_recalled_less_without_a_correction(numbers, track):
    runs = numbers[track]["imbalance"]
    for seed in SEEDS:
        _, common, rare = runs["none", seed]
        assert rare < common - 0.05, f"{track}, seed {seed}: rare recall {rare:.3f}, common {common:.3f}"


@pytest.mark.keras
@pytest.mark.torch
def test_tracks_agree_on_the_source_and_on_what_ewc_keeps(numbers):
    k, t = numbers["keras"], numbers["torch"]
    assert abs(k["source_before"] - t["source_before"]) <= 0.03, f"source: keras {k['source_before']} torch {t['source_before']}"
    kept = {track: np.mean([source for _, source in numbers[track]["ewc"].values()]) for track in ("keras", "torch")}
    assert abs(kept["keras"] - kept["torch"]) <= 0.05, f"source accuracy kept by EWC: {kept}"
