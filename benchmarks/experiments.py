"""Lesson 01's core experiment mix, timed in both tracks: the Keras/PyTorch speed ratio.

Each run is a fresh interpreter (so it pays the framework import, as a notebook does)
that does what Lesson 01 does most, through the *library* (the notebook itself is not
run): Yosinski block transfer (``transfer.train_on_target`` for every k, frozen and
fine-tuned, 10 labels per class), the learning-curve budgets of the same recipe,
a frozen backbone with a new head trained by ``training.fit``, and feature extraction of
Digits train/test with a linear probe. Sizes come from the profile, as in the notebook.

Tracks run alternately (keras, torch, keras, torch, ...), so a load that comes and goes
on a shared machine hits both; the table gives the median of the repeats and the ratio
of the medians. ``--baseline DIR`` adds the same runs with ``tlhelpers`` imported from
DIR (e.g. an export of an older commit), interleaved too: before/after in one run.

    python -m benchmarks --experiments [--profile smoke|standard] [--repeat 3] [--baseline DIR]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

from .report import Table

# What Lesson 01 runs, per profile (keep in step with the notebook's profile cell).
MIX = {
    "smoke": {"seeds": [0], "k": [0, 4], "budgets": [1, 10], "steps": 2, "head_epochs": 2},
    "standard": {"seeds": [0, 1, 2], "k": [0, 1, 2, 3, 4], "budgets": [1, 10, 100], "steps": 120,
                 "head_epochs": 40},
    "full": {"seeds": [0, 1, 2, 3, 4], "k": [0, 1, 2, 3, 4], "budgets": [1, 3, 10, 30, 100],
             "steps": 300, "head_epochs": 60},
}
PHASES = ("import", "data", "yosinski", "curves", "head", "features")



def _train_on_target(transfer, train, test, *, steps: int, **kwargs):
    """``transfer.train_on_target`` with a budget of optimizer steps, for both of its APIs:
    a ``--baseline`` copy may still take ``steps``; today's takes ``epochs`` (batch 32)."""
    import inspect

    from tlhelpers.schedules import steps_to_epochs

    if "steps" in inspect.signature(transfer.train_on_target).parameters:
        return transfer.train_on_target(train, test, steps=steps, **kwargs)
    return transfer.train_on_target(train, test, epochs=steps_to_epochs(len(train), steps, 32), **kwargs)

def worker(track: str, profile: str) -> dict[str, float]:
    """Run the mix in this interpreter; returns wall seconds per phase (plus ``cpu``)."""
    clock = time.perf_counter
    cpu0, t0 = time.process_time(), clock()
    os.environ["TLH_PROFILE"] = profile
    baseline = os.environ.get("TLH_BENCH_BASELINE")
    if baseline:  # import tlhelpers from there, not from this (editable) install
        sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
        sys.path.insert(0, baseline)
    if track == "keras":
        from tlhelpers.keras import backbones, training, transfer
    else:
        from tlhelpers.torch import backbones, training, transfer
    from tlhelpers.data import load_dataset
    from tlhelpers.metrics import linear_probe_accuracy

    import tlhelpers

    if baseline and not tlhelpers.__file__.startswith(str(Path(baseline).resolve())):
        raise RuntimeError(f"baseline not imported: tlhelpers is {tlhelpers.__file__}")
    mix = MIX[profile]
    seconds = {"import": clock() - t0}

    t = clock()
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    seconds["data"] = clock() - t

    t = clock()
    for seed in mix["seeds"]:
        labelled = train.per_class(10, seed=seed)
        for k in mix["k"]:
            for fine_tune in ([True] if k == 0 else [False, True]):
                _train_on_target(transfer, labelled, test, k=k, fine_tune=fine_tune, steps=mix["steps"],
                                 lr=2e-3, seed=seed)
    seconds["yosinski"] = clock() - t

    t = clock()
    for n in mix["budgets"]:
        if n == 10:
            continue  # measured above
        for seed in mix["seeds"]:
            for k in (0, 4):
                _train_on_target(transfer, train.per_class(n, seed=seed), test, k=k, fine_tune=True,
                                 steps=mix["steps"], lr=2e-3, seed=seed)
    seconds["curves"] = clock() - t

    t = clock()
    few = train.per_class(10, seed=0)
    model = backbones.build_classifier(backbones.course_cnn(), few.num_classes)
    training.fit(model, few, epochs=mix["head_epochs"], batch_size=32, lr=1e-2, seed=0, progress=False)
    training.evaluate(model, test)
    seconds["head"] = clock() - t

    t = clock()
    backbone = backbones.course_cnn()
    linear_probe_accuracy(backbones.extract_features(backbone, train, progress=False), train.y,
                          backbones.extract_features(backbone, test, progress=False), test.y)
    seconds["features"] = clock() - t

    seconds["total"] = clock() - t0
    seconds["cpu"] = time.process_time() - cpu0
    return seconds


def _run(track: str, profile: str, pythonpath: str | None) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "TLH_BENCH_BASELINE"}
    if pythonpath:
        env["TLH_BENCH_BASELINE"] = str(Path(pythonpath).resolve())
    out = subprocess.run([sys.executable, "-m", "benchmarks.experiments", "--worker", track, profile],
                         env=env, capture_output=True, text=True, check=False,
                         cwd=Path(__file__).resolve().parents[1])
    if out.returncode != 0:
        raise RuntimeError(f"{track} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(profile: str, repeat: int, baseline: str | None = None) -> Table:
    """Alternate the tracks (and the baseline, if any) ``repeat`` times; one row per phase."""
    variants = [("after" if baseline else "", None)]
    if baseline:
        variants.insert(0, ("before", baseline))
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    for r in range(repeat):
        for label, path in variants:
            for track in ("keras", "torch"):
                result = _run(track, profile, path)
                runs.setdefault((label, track), []).append(result)
                print(f"[{profile} {r + 1}/{repeat}] {label or 'now'} {track}: {result['total']:.1f} s "
                      f"(cpu {result['cpu']:.1f} s)", file=sys.stderr, flush=True)
    columns = []
    for label, _ in variants:
        prefix = f"{label} " if label else ""
        columns += [f"{prefix}keras (s)", f"{prefix}torch (s)", f"{prefix}keras/torch"]
    table = Table(title=f"Lesson 01 experiment mix, {profile} profile (median of {repeat}, wall seconds)",
                  columns=["phase", *columns])
    for phase in (*PHASES, "total", "cpu"):
        row = [phase if phase != "cpu" else "total CPU time (all threads)"]
        for label, _ in variants:
            k = median(x[phase] for x in runs[(label, "keras")])
            t = median(x[phase] for x in runs[(label, "torch")])
            row += [round(k, 2), round(t, 2), round(k / t, 2) if t > 0 else float("nan")]
        table.rows.append(row)
    return table


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--worker":
        print(json.dumps(worker(argv[1], argv[2])))
        return 0
    raise SystemExit("use python -m benchmarks --experiments")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
