"""Check the source recipe of the shipped ``course_cnn`` without the Digits test set.

    python -m benchmarks.source_recipe [--dry-run]     # both tracks, a few minutes on a CPU

The rule, fixed before any number below was seen, is :data:`tlhelpers.pretraining.SELECTION_RULE`:
the recipe is chosen a priori from the documented acquisition of the Digits images
(:data:`~tlhelpers.pretraining.A_PRIORI`), and kept unless, at full size, it loses to the
recipe with no target knowledge (:data:`~tlhelpers.pretraining.BASELINE`) on a validation
split carved from Digits *train*. Full-size weights of three recipes are compared, in both
tracks:

* the a-priori recipe: the shipped weights (``python -m tlhelpers.<track>.pretrain``);
* the generic recipe: the weights shipped at commit 5da1b23, trained by the same recipe
  with no target-formation step (the augmentation stream drew fewer random numbers then);
* the recipe of commit 8b561d6, tuned on the Digits test set: a reference, never eligible
  (its weights as shipped at commit a5947ea).

Each is scored by :func:`tlhelpers.pretraining.check_backbone` (validation probe, PAD). The
result goes to ``tlhelpers/weights/recipe_selection.json`` and into the ``"selection"``
entry of both tracks' records. No Digits test image or label is read.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from tlhelpers import pretraining as P
from tlhelpers import zoo

REPO = Path(__file__).resolve().parents[1]

#: Full-size weights of the recipes that are not shipped any more: recipe -> commit.
HISTORIC_WEIGHTS = {P.BASELINE: "5da1b23", next(iter(P.REFERENCES)): "a5947ea"}

#: The two runs of the abandoned label-free sweep (commit 03e08cf, ``python -m
#: tlhelpers.torch.pretrain --select``: 10 000 SynDigits, 2 epochs of 64, seed 0),
#: stopped after 2 of 10 runs. At that size PAD was ~2 for both recipes, so the score was
#: the source error of models that had not converged (train accuracy 0.66 and 0.45): it
#: measured how fast a recipe is learnt, not how well it transfers. (At full size PAD does
#: separate the recipes: see ``pad`` in the result.)
ABANDONED_RUNS = [
    {"recipe": "generic", "seed": 0, "source_error": 0.238, "pad": 1.972, "score": 1.224,
     "source_train_accuracy_last_epoch": 0.6621,
     "diagnostic_digits_train_source_only": 0.5143,
     "diagnostic_digits_train_probe_10_per_class": 0.8889},
    {"recipe": "sensor", "seed": 0, "source_error": 0.469, "pad": 1.984, "score": 1.461,
     "source_train_accuracy_last_epoch": 0.4507,
     "diagnostic_digits_train_source_only": 0.4657,
     "diagnostic_digits_train_probe_10_per_class": 0.8705},
]


def historic_weights(framework: str, commit: str, folder: Path) -> Path:
    """The ``course_cnn`` weights file of ``framework`` as shipped at ``commit``."""
    name = zoo.course_weights_path(framework).name
    blob = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:tlhelpers/weights/{name}"],
                          check=True, capture_output=True).stdout
    path = folder / f"{commit}-{name}"
    path.write_bytes(blob)
    return path


def check(frameworks: list[str]) -> dict:
    from tlhelpers.data import load_dataset

    start = time.perf_counter()
    digits_train = load_dataset("digits", "train")
    source_test = load_dataset("syndigits", "test", n=1000, seed=0)
    scores: dict[str, dict[str, dict]] = {}
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for framework in frameworks:
            track = importlib.import_module(f"tlhelpers.{framework}.pretrain").track()
            versions.update(track.versions)
            weights = {P.RECIPE: None, **{r: historic_weights(framework, c, Path(tmp))
                                          for r, c in HISTORIC_WEIGHTS.items()}}
            for recipe, path in weights.items():
                backbone = (track.backbones.course_cnn(weights=path) if path is not None
                            else track.backbones.course_cnn(pretrained=True))
                scores.setdefault(recipe, {})[framework] = P.check_backbone(
                    track, backbone, recipe, digits_train=digits_train, source_test=source_test)
                print(framework, recipe, json.dumps(scores[recipe][framework]), flush=True)
    table = []
    for recipe in [*P.CANDIDATES, *P.REFERENCES]:
        entry = {"recipe": recipe, "eligible": recipe in P.CANDIDATES,
                 "target_formation_steps": P.target_formation_steps(recipe),
                 "augmentation": P.describe_augmentation(P.recipe_kwargs(recipe))}
        if recipe in scores:
            per_track = scores[recipe]
            entry["weights"] = ("shipped" if recipe == P.RECIPE
                                else f"as shipped at commit {HISTORIC_WEIGHTS[recipe]}")
            entry["validation_probe"] = {fw: s["validation_probe"] for fw, s in per_track.items()}
            entry["validation_probe_mean"] = round(float(np.mean(
                [s["validation_probe"]["mean"] for s in per_track.values()])), 4)
            entry["pad"] = {fw: s["pad"] for fw, s in per_track.items()}
        else:
            entry["weights"] = "not trained: left out a priori"
        table.append(entry)
    chosen = P.choose({e["recipe"]: e["validation_probe_mean"] for e in table
                       if "validation_probe_mean" in e})
    return {
        "rule": P.SELECTION_RULE, "data": P.SELECTION_DATA, "a_priori": P.A_PRIORI,
        "baseline": P.BASELINE, "chosen": chosen, "candidates": table,
        "validation_protocol": "Digits train: .per_class(10, seed) labelled (seeds 0-2), the "
                               "other 1 197 images scored; frozen features, "
                               "tlhelpers.metrics.linear_probe_accuracy. PAD: 1 000 SynDigits test "
                               "images (seed 0) through the recipe's augmentation vs the 1 297 "
                               "Digits train images, tlhelpers.divergence.proxy_a_distance.",
        "abandoned_first_rule": {
            "rule": P.ABANDONED_RULE, "commit": "03e08cf", "runs": ABANDONED_RUNS,
            "why": "stopped after 2 of 10 runs: at the affordable quarter size PAD was "
                   "1.97-1.98 for both recipes, so the score was the source error of models "
                   "that had not converged - how fast a recipe is learnt, not how well it "
                   "transfers. The full-size weights' PAD (candidates' pad) does separate the "
                   "recipes: the rule failed for lack of compute, not in principle."},
        "frameworks": frameworks, "command": "python -m benchmarks.source_recipe",
        "date": time.strftime("%Y-%m-%d"), "wall_seconds": round(time.perf_counter() - start, 1),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, **versions},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.source_recipe",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true",
                        help="print the result; write neither the selection nor the records")
    args = parser.parse_args(argv)
    result = check(list(zoo.FRAMEWORKS))  # the rule averages over both tracks
    if not args.dry_run:
        print("wrote", P.attach_selection(result))
    print(json.dumps({e["recipe"]: e.get("validation_probe_mean") for e in result["candidates"]},
                     indent=2))
    print("chosen:", result["chosen"], "(shipped:", P.RECIPE + ")")
    return 0 if result["chosen"] == P.RECIPE else 1


if __name__ == "__main__":
    raise SystemExit(main())
