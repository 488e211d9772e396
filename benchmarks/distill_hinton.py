"""Hinton, Vinyals & Dean (2015), §3, MNIST: a big, regularised net (784-1200-1200-10 ReLU,
dropout, inputs jittered by up to 2 pixels) makes 67 test errors; a small net (784-800-800-10,
no regularisation) 146; the same small net trained to also match the big net's soft targets
at T = 20, 74. This script runs that recipe with the course's ``Distiller`` in either track.

    python -m benchmarks.distill_hinton [--track torch|keras] [--profile smoke|standard|full]

Data: real MNIST when it is cached or downloadable (``tlhelpers.data.load_dataset("mnist")``,
checksummed, or pre-placed files); otherwise the embedded Digits (1 297 / 500 real
handwritten digits, 32×32, grey), with a notice: the same recipe on a much smaller problem,
so compare error *rates* and the ordering teacher < distilled < small, not counts.

What the course fills in where the paper is silent (said again in the output):
dropout 0.2 on the inputs and 0.5 on the hidden units (Hinton et al. 2012's MNIST setting),
no max-norm weight constraint, Adam at 1e-3 (the paper does not give its optimiser),
batch 128, epochs by profile; jitter = an integer shift of up to 2 pixels per image per
epoch, zero-filled; the distilled net's loss is ``kd_loss`` with T = 20 and α = 0.1 on the
hard labels (the paper: "a considerably lower weight" on them), no jitter for the small nets.
Writes ``benchmarks/results/distill_hinton_<track>_<profile>.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
EPOCHS = {"smoke": (1, 1), "standard": (20, 15), "full": (200, 100)}  # (teacher, small nets)


def load(profile: str):
    from tlhelpers.data import load_dataset

    train = load_dataset("mnist", "train", fallback="digits")
    if profile == "smoke" and len(train) > 2000:
        train = train.subset(np.random.default_rng(0).permutation(len(train))[:2000])
    test = load_dataset("mnist", "test", fallback="digits")

    def grey(ds):
        x = ds.x.mean(axis=-1, keepdims=True) if ds.x.shape[-1] == 3 else ds.x
        return x.astype(np.float32), ds.y
    return grey(train), grey(test), train.name == "mnist"


def jitter(rng: np.random.Generator, pixels: int = 2):
    """Shift each image by (dy, dx) ∈ [−pixels, pixels]², zero-filled: Hinton's input jitter."""
    def shift(x: np.ndarray) -> np.ndarray:
        out = np.zeros_like(x)
        h, w = x.shape[1:3]
        for i, (dy, dx) in enumerate(rng.integers(-pixels, pixels + 1, size=(len(x), 2))):
            out[i, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
                x[i, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
        return out
    return shift


def torch_models(shape, classes):
    from torch import nn

    d = int(np.prod(shape))

    def mlp(hidden, dropout_in, dropout_hidden):
        layers_ = [nn.Flatten(), nn.Dropout(dropout_in)]
        for i, h in enumerate(hidden):
            layers_ += [nn.Linear(d if i == 0 else hidden[i - 1], h), nn.ReLU(), nn.Dropout(dropout_hidden)]
        return nn.Sequential(*layers_, nn.Linear(hidden[-1], classes))
    return mlp((1200, 1200), 0.2, 0.5), lambda: mlp((800, 800), 0.0, 0.0)


def keras_models(shape, classes):
    import keras
    from keras import layers

    def mlp(hidden, dropout_in, dropout_hidden, name):
        seq = [keras.Input(shape), layers.Flatten(), layers.Dropout(dropout_in)]
        for h in hidden:
            seq += [layers.Dense(h, activation="relu"), layers.Dropout(dropout_hidden)]
        return keras.Sequential([*seq, layers.Dense(classes)], name=name)
    return mlp((1200, 1200), 0.2, 0.5, "teacher"), lambda: mlp((800, 800), 0.0, 0.0, "small")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.distill_hinton")
    parser.add_argument("--track", choices=["torch", "keras"], default="torch")
    parser.add_argument("--profile", choices=list(EPOCHS), default=os.environ.get("TLH_PROFILE", "standard"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ["TLH_PROFILE"] = args.profile

    from tlhelpers.distill import HINTON_2015_MNIST as PAPER

    (x, y), (x_test, y_test), real = load(args.profile)
    rng = np.random.default_rng(args.seed)
    t_epochs, s_epochs = EPOCHS[args.profile]
    if args.track == "torch":
        import tlhelpers.torch as track
        from tlhelpers.torch import distill as D
        from tlhelpers.torch.training import evaluate, fit
        track.seed_everything(args.seed)
        teacher, small = torch_models(x.shape[1:], 10)
    else:
        import tlhelpers.keras as track
        from tlhelpers.keras import distill as D
        from tlhelpers.keras.training import evaluate, fit
        track.seed_everything(args.seed)
        teacher, small = keras_models(x.shape[1:], 10)

    start = time.perf_counter()
    fit(teacher, (x, y), epochs=t_epochs, batch_size=128, lr=1e-3, augment=jitter(rng), seed=args.seed,
        progress=False)
    times = {"teacher": time.perf_counter() - start}
    baseline = small()
    start = time.perf_counter()
    fit(baseline, (x, y), epochs=s_epochs, batch_size=128, lr=1e-3, seed=args.seed, progress=False)
    times["small"] = time.perf_counter() - start
    distilled = small()
    start = time.perf_counter()
    D.distill(distilled, teacher, (x, y), temperature=PAPER["temperature"], alpha=0.1, epochs=s_epochs,
              batch_size=128, lr=1e-3, seed=args.seed, progress=False)
    times["distilled"] = time.perf_counter() - start

    n = len(y_test)
    errors = {k: int(round((1 - evaluate(m, (x_test, y_test))["accuracy"]) * n))
              for k, m in (("teacher", teacher), ("small", baseline), ("distilled", distilled))}
    paper = PAPER["errors"]
    data = "MNIST" if real else "Digits (embedded fallback: MNIST not available here)"
    lines = [f"# Hinton et al. 2015 MNIST recipe — {args.track}, profile {args.profile}, seed {args.seed}", "",
             f"Data: {data}; {len(y)} training and {n} test images of {x.shape[1]}×{x.shape[2]} pixels. "
             f"Epochs: teacher {t_epochs}, small nets {s_epochs}. Machine: {platform.node()} (CPU, shared).", "",
             "| net | paper: test errors / 10 000 (rate) | here: test errors / "
             f"{n} (rate) | training time (s) |", "|---|---|---|---|"]
    for ours, theirs in (("teacher", "teacher"), ("small", "student"), ("distilled", "distilled")):
        lines.append(f"| {ours} | {paper[theirs]} ({paper[theirs] / 100:.2f} %) | {errors[ours]} "
                     f"({100 * errors[ours] / n:.2f} %) | {times[ours]:.0f} |")
    gap = errors["small"] - errors["teacher"]
    closed = (errors["small"] - errors["distilled"]) / gap if gap else float("nan")
    lines += ["", f"Share of the small-net-to-teacher gap closed by distillation: here {closed:.0%}, "
              f"paper {(paper['student'] - paper['distilled']) / (paper['student'] - paper['teacher']):.0%}.",
              "Choices the paper leaves open: Adam 1e-3, batch 128, dropout 0.2 / 0.5, no max-norm, "
              "α = 0.1 on the hard labels, jitter only for the teacher."]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"distill_hinton_{args.track}_{args.profile}.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
