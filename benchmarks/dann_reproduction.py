"""Reproduce Ganin et al. (JMLR 2016) Table 2, MNIST → MNIST-M, in both tracks.

Source-only, DANN and train-on-target, each over several seeds, with the paper's network
(``ganin_digits_classifier``: conv 5×5 ×32 – pool – conv 5×5 ×48 – pool; label predictor
100–100–10; domain classifier 100–1 behind the GRL), mean-subtracted inputs, SGD with
momentum 0.9, μ0 = 0.01 annealed as μ0 / (1 + 10p)^0.75, λ_p = 2 / (1 + exp(−10p)) − 1, and
64 source + 64 target images per step. All three runs share the recipe; source-only and
train-on-target simply have no domain classifier. Accuracy is measured on the target's
test split; nothing is selected on it (every run stops after the same number of steps).

Data: MNIST → MNIST-M (28×28, MNIST's grey digits copied to three channels) when both are in
the cache or can be downloaded (``tlhelpers.data.load_dataset``), else the embedded
Digits → Digits-M (32×32, real handwritten digits; a different, smaller problem: its
numbers are *not* comparable to the paper's). The table says which one ran.

    python -m benchmarks.dann_reproduction --profile standard --track torch
    python -m benchmarks.dann_reproduction --profile full            # on a GPU, both tracks

Profiles (steps per run; ``--steps`` overrides): smoke 40, standard 600 (30 epochs of Digits),
full 12000.
Prints a Markdown table (measured mean ± standard deviation over the seeds beside the
paper's numbers, the share of the gap closed, the discriminator's final accuracy, the
time per run) and writes it to ``benchmarks/results/dann_reproduction.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
STEPS = {"smoke": 40, "standard": 600, "full": 12000}
METHODS = ("source_only", "dann", "train_on_target")
BATCH = 64  # per domain: 128 images per step, as in the paper


def load_domains(offline: bool, n_train: int | None, n_test: int | None, seed: int = 0):
    """(source_train, target_train, target_test, task name)."""
    from tlhelpers.data import DatasetUnavailableError, load_dataset
    from tlhelpers.data.errors import DatasetError

    if not offline:
        try:
            kw = dict(download=True, image_size=28, seed=seed)
            src = load_dataset("mnist", "train", n=n_train, **kw)
            tgt = load_dataset("mnist-m", "train", n=n_train, **kw)
            tst = load_dataset("mnist-m", "test", n=n_test, **kw)
            src.x = np.repeat(src.x, 3, axis=-1) if src.x.shape[-1] == 1 else src.x
            return src, tgt, tst, "MNIST -> MNIST-M"
        except (DatasetUnavailableError, DatasetError, OSError) as err:
            print(f"[dann_reproduction] MNIST/MNIST-M unavailable ({str(err).splitlines()[0][:120]}); "
                  "using the embedded Digits -> Digits-M.")
    return (load_dataset("digits", "train"), load_dataset("digits-m", "train"),
            load_dataset("digits-m", "test"), "Digits -> Digits-M")


def run_torch(method, src, tgt, tst, steps, seed, mean):
    import torch

    from tlhelpers.torch import adapt, dann
    from tlhelpers.torch.training import evaluate

    torch.manual_seed(seed)
    shape = src.x.shape[1:]
    classifier = dann.ganin_digits_classifier(10, shape, mean=mean)
    epochs = max(1, math.ceil(steps / (len(src.x) // BATCH)))
    common = dict(epochs=epochs, batch_size=BATCH, seed=seed, progress=False)
    start = time.perf_counter()
    if method == "dann":
        model = dann.DANN(classifier)
        history = dann.fit_dann(model, src, tgt, **common)
    else:
        data = src if method == "source_only" else tgt
        opt = torch.optim.SGD(classifier.parameters(), lr=0.01, momentum=0.9)
        history = adapt.fit_adapt(classifier, data, tgt, optimizer=opt, schedule=dann_lr_schedule(), **common)
    seconds = time.perf_counter() - start
    return evaluate(classifier, tst)["accuracy"], history, seconds, epochs


def run_keras(method, src, tgt, tst, steps, seed, mean):
    import keras

    from tlhelpers.keras import adapt, dann
    from tlhelpers.keras.training import evaluate

    keras.utils.set_random_seed(seed)
    shape = src.x.shape[1:]
    classifier = dann.ganin_digits_classifier(10, shape, mean=mean)
    epochs = max(1, math.ceil(steps / (len(src.x) // BATCH)))
    common = dict(epochs=epochs, batch_size=BATCH, seed=seed, progress=False)
    start = time.perf_counter()
    if method == "dann":
        model = dann.DANN(classifier)
        history = dann.fit_dann(model, src, tgt, **common)
    else:
        data = src if method == "source_only" else tgt
        opt = keras.optimizers.SGD(0.01, momentum=0.9)
        history = adapt.fit_adapt(classifier, data, tgt, optimizer=opt, schedule=dann_lr_schedule(), **common)
    seconds = time.perf_counter() - start
    return evaluate(classifier, tst)["accuracy"], history, seconds, epochs


def dann_lr_schedule():
    from tlhelpers.schedules import dann_lr

    return dann_lr


def main(argv: list[str] | None = None) -> int:
    from tlhelpers.dann import PAPER_GAP_CLOSED, PAPER_TABLE2, gap_closed
    from tlhelpers.profiles import current_profile

    parser = argparse.ArgumentParser(prog="python -m benchmarks.dann_reproduction", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(STEPS), default=None, help="default: TLH_PROFILE / the machine")
    parser.add_argument("--track", action="append", choices=["torch", "keras"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps per run")
    parser.add_argument("--offline", action="store_true", help="use Digits -> Digits-M without trying MNIST")
    args = parser.parse_args(argv)
    profile = args.profile or current_profile().name
    os.environ["TLH_PROFILE"] = profile
    steps = args.steps or STEPS[profile]
    offline = args.offline or os.environ.get("TLH_OFFLINE") == "1"
    n_train, n_test = (None, None) if profile == "full" else (5000, 2000)
    src, tgt, tst, task = load_domains(offline, n_train, n_test)
    # the paper subtracts the mean image; here the per-channel mean of all training images,
    # source and (unlabelled) target alike
    mean = np.concatenate([src.x, tgt.x]).reshape(-1, src.x.shape[-1]).mean(0)
    paper = PAPER_TABLE2["MNIST -> MNIST-M"]
    rows, curves = [], []
    tracks = args.track or ["torch", "keras"]
    print(f"{task}: {len(src.x)} source / {len(tgt.x)} target training images, {len(tst.x)} target test images, "
          f"{steps} steps of {BATCH}+{BATCH} per run, seeds 0..{args.seeds - 1}, profile {profile}", flush=True)
    for track in tracks:
        runner = run_torch if track == "torch" else run_keras
        acc = {m: [] for m in METHODS}
        seconds = {m: [] for m in METHODS}
        disc = []
        for seed in range(args.seeds):
            for method in METHODS:
                a, history, s, epochs = runner(method, src, tgt, tst, steps, seed, mean)
                acc[method].append(a)
                seconds[method].append(s)
                if method == "dann":
                    disc.append(history["domain_accuracy"][-1])
                    curves.append(f"{track} seed {seed}: discriminator accuracy per epoch "
                                  + " ".join(f"{v:.2f}" for v in history["domain_accuracy"]))
                print(f"  {track} seed {seed} {method:>15}: target accuracy {a:.4f} ({s:.0f} s, {epochs} epochs)",
                      flush=True)
        gaps = [gap_closed(s_, d_, t_) if t_ > s_ else float("nan")
                for s_, d_, t_ in zip(acc["source_only"], acc["dann"], acc["train_on_target"])]
        for method in METHODS:
            rows.append((track, method, paper[method], np.mean(acc[method]), np.std(acc[method]),
                         np.mean(seconds[method])))
        rows.append((track, "gap closed", PAPER_GAP_CLOSED["MNIST -> MNIST-M"], np.nanmean(gaps), np.nanstd(gaps),
                     None))
        rows.append((track, "discriminator accuracy (end)", None, np.mean(disc), np.std(disc), None))
    lines = [f"### DANN reproduction: {task} ({profile}, {steps} steps/run, {args.seeds} seeds)", "",
             f"Machine: {platform.node()} ({platform.machine()}), {time.strftime('%Y-%m-%d %H:%M')}. "
             + ("Paper column: Ganin et al. 2016, Table 2, MNIST -> MNIST-M." if task.startswith("MNIST") else
                "Paper column: MNIST -> MNIST-M, for orientation only: this run is Digits -> Digits-M."), "",
             "| track | quantity | paper | measured (mean ± sd) | s per run |", "|---|---|---|---|---|"]
    for track, name, ref, m, sd, s in rows:
        lines.append(f"| {track} | {name} | {'' if ref is None else f'{ref:.4f}'} | {m:.4f} ± {sd:.4f} | "
                     f"{'' if s is None else f'{s:.0f}'} |")
    lines += ["", "Gap closed = (DANN − source-only) / (train-on-target − source-only), per seed. "
              "The paper prints 52.9%; its own Table 2 numbers give 55.8%.", "", *[f"- {c}" for c in curves]]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dann_reproduction.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
