"""Lesson 04's sentences that its markdown states outright, asserted at CI size in both
tracks (seeded; the protocol is the lesson's: two moons as the labelled source, the same
distribution rotated by 35° as the unlabelled target, a fresh rotated sample for accuracy;
an MLP with two ReLU layers of 32 as the features, a discriminator with one hidden layer of
32, ``fit_dann``'s recipe — SGD, momentum 0.9, μ0 = 0.05 annealed, λ_p — for 100 epochs;
source only is the same network and recipe with the domain loss weighted 0).

Claims:
1. On rotated moons DANN beats source only with every seed.
2. DANN's discriminator is being fooled: its accuracy rises while λ_p is small and falls back
   towards chance as λ_p grows (mean of the last 10 epochs below 70 % and below the best
   10-epoch mean; single epochs are noisy, so they are not compared).
3. The tracks agree: DANN's mean target accuracy within 5 points, source only's within 5.

Not asserted: DANN against source only on Digits → Digits-M. With the paper's recipe and a few
epochs the sign depends on the seed and the track (measured while writing the lesson: DANN
70.2 / 72.0 % against source only 74.8 / 73.6 % with PyTorch, 6 epochs, seeds 0 / 1); the
notebook prints the measured gap closed with its spread instead. Nor that DANN's features have a
lower proxy A-distance (a held-out *linear* domain classifier) than source only's: at this size it
was higher after DANN for 3 of 4 seed × track pairs (Keras 1.03 / 1.04 against 0.80 / 0.77, PyTorch
1.06 / 0.81 against 0.88 / 0.91, seeds 0 / 1) — DANN fools its own discriminator, not every
classifier; the notebook prints the distances of its run.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from tlhelpers.data import load_dataset

SEEDS = (0, 1, 2)
N, EPOCHS, ANGLE = 1000, 100, 35


def measure(track: str) -> dict:
    tl = importlib.import_module(f"tlhelpers.{track}")
    dann = tl.dann
    moons = load_dataset("moons", "train", n=N)
    target = load_dataset("moons-rotated", "train", n=N, seed=1, angle=ANGLE)
    test = load_dataset("moons-rotated", "test", n=2 * N, seed=2, angle=ANGLE)

    def predict(model, x):
        if track == "torch":
            import torch
            model.classifier.eval()
            with torch.no_grad():
                return model.classifier(torch.as_tensor(x, dtype=torch.float32)).argmax(1).numpy()
        return np.asarray(model.classifier.predict(x, batch_size=1024, verbose=0)).argmax(1)

    out: dict = {"accuracy": {}, "domain_accuracy": {}}
    for seed in SEEDS:
        for method, trade_off in (("source only", 0.0), ("DANN", 1.0)):
            tl.seed_everything(seed)
            model = dann.DANN(dann.mlp_classifier(2, 2, hidden=(32, 32)), trade_off=trade_off, hidden=(32,))
            history = dann.fit_dann(model, moons, target.x, epochs=EPOCHS, batch_size=64, lr=0.05, seed=seed,
                                    progress=False)
            out["accuracy"][method, seed] = float((predict(model, test.x) == test.y).mean())
            if trade_off:
                out["domain_accuracy"][seed] = np.asarray(history["domain_accuracy"])
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
def test_dann_beats_source_only_on_rotated_moons_with_every_seed(numbers, track):
    acc = numbers(track)["accuracy"]
    assert all(acc["DANN", s] > acc["source only", s] for s in SEEDS), acc


@pytest.mark.parametrize("track", TRACKS)
def test_the_discriminator_is_being_fooled(numbers, track):
    for seed, curve in numbers(track)["domain_accuracy"].items():
        smooth = np.convolve(curve, np.ones(10) / 10, mode="valid")
        assert smooth[-1] < 0.7, (seed, smooth[-1])
        assert smooth[-1] < smooth.max(), (seed, smooth)


@pytest.mark.keras
@pytest.mark.torch
def test_tracks_agree_on_rotated_moons(numbers):
    k, t = numbers("keras")["accuracy"], numbers("torch")["accuracy"]
    for method in ("source only", "DANN"):
        mean = lambda acc: np.mean([acc[method, s] for s in SEEDS])
        assert abs(mean(k) - mean(t)) < 0.05, (method, k, t)
