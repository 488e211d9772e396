"""Learning curves measured over label budgets and seeds, never simulated.

A *method* is any function ``(labels_per_class, seed) -> accuracy``; the framework work lives
inside it, so the same measuring, summarising and plotting serve both tracks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd
from tqdm.auto import tqdm

Method = Callable[[int, int], float]


def measure(methods: Mapping[str, Method], budgets: Sequence[int], seeds: Sequence[int],
            *, progress: bool = True) -> pd.DataFrame:
    """Run every method at every label budget with every seed.

    Returns one row per run: ``method``, ``labels_per_class``, ``seed``, ``accuracy``.
    """
    if not methods:
        raise ValueError("methods must name at least one method.")
    if not budgets or any(int(b) <= 0 for b in budgets):
        raise ValueError(f"budgets must be positive label counts, got {list(budgets)}.")
    if not seeds:
        raise ValueError("seeds must hold at least one seed.")
    runs = [(name, int(b), int(s)) for name in methods for b in budgets for s in seeds]
    rows = []
    for name, budget, seed in tqdm(runs, desc="learning curve", disable=not progress):
        accuracy = float(methods[name](budget, seed))
        if not 0.0 <= accuracy <= 1.0:
            raise ValueError(f"method {name!r} returned accuracy {accuracy}, expected a fraction in [0, 1].")
        rows.append({"method": name, "labels_per_class": budget, "seed": seed, "accuracy": accuracy})
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and run count of accuracy (in %) per method and budget."""
    table = (runs.assign(accuracy=100 * runs["accuracy"])
             .groupby(["method", "labels_per_class"])["accuracy"]
             .agg(mean="mean", std="std", runs="count"))
    table["std"] = table["std"].fillna(0.0)
    table.columns = ["accuracy mean (%)", "accuracy std (%)", "runs"]
    return table


def plot(runs: pd.DataFrame, ax=None, title: str = "Target accuracy against labelled examples"):
    """Mean accuracy ± one standard deviation over seeds, label budget on a log axis."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for name, group in runs.groupby("method", sort=False):
        stats = group.groupby("labels_per_class")["accuracy"].agg(["mean", "std"]).fillna(0.0)
        ax.errorbar(stats.index, 100 * stats["mean"], yerr=100 * stats["std"], marker="o", capsize=3, label=name)
    ax.set_xscale("log")
    budgets = sorted(runs["labels_per_class"].unique())
    ax.set_xticks(budgets, [str(b) for b in budgets])
    ax.set_xlabel("labelled target examples per class (log scale)")
    ax.set_ylabel("target test accuracy (%)")
    n_seeds = runs.groupby(["method", "labels_per_class"])["seed"].nunique().min()
    ax.set_title(f"{title}\n(mean ± std over {n_seeds} seed{'s' if n_seeds != 1 else ''})")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def gap(runs: pd.DataFrame, better: str, worse: str) -> pd.Series:
    """Mean accuracy difference ``better − worse`` (percentage points) at each budget."""
    means = runs.groupby(["method", "labels_per_class"])["accuracy"].mean().unstack(0)
    for name in (better, worse):
        if name not in means:
            raise ValueError(f"no method named {name!r}; methods are {', '.join(means.columns)}.")
    return 100 * (means[better] - means[worse])


__all__ = ["Method", "gap", "measure", "plot", "summarize"]

