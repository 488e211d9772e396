"""Learning curves measured over label budgets and seeds, never simulated.

A *method* is any function ``(labels_per_class, seed) -> accuracy``; the framework work lives
inside it, so the same measuring, summarising and plotting serve both tracks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
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


@dataclass(frozen=True)
class Comparison:
    """Two methods compared seed by seed (paired: the same seed, the same labelled examples).

    ``diff`` and ``std``: mean and standard deviation over seeds of ``a − b`` in
    percentage points; ``wins``: seeds where ``a`` scored higher; ``n``: seeds.
    """

    a: str
    b: str
    diff: float
    std: float
    wins: int
    n: int

    @property
    def holds(self) -> bool:
        """``a`` scored higher than ``b`` with every seed."""
        return self.n > 0 and self.wins == self.n

    @property
    def consistent(self) -> bool:
        """Every seed agrees on which of the two is better (no ties)."""
        return self.n > 0 and self.wins in (0, self.n) and self.diff != 0

    def __str__(self) -> str:
        text = (f"{self.a} − {self.b}: {self.diff:+.1f} ± {self.std:.1f} points; "
                f"{self.a} ahead with {self.wins} of {self.n} seed{'s' if self.n != 1 else ''}")
        if not self.consistent:
            text += " (the seeds disagree: another seed could flip it)"
        elif self.n == 1:
            text += " (one seed: another could flip it)"
        return text


def compare(a: Mapping[int, float], b: Mapping[int, float], names: tuple[str, str] = ("a", "b")) -> Comparison:
    """Compare accuracies (fractions) keyed by seed; only seeds present in both count."""
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise ValueError("the two methods share no seed to compare.")
    d = 100 * np.array([a[s] - b[s] for s in seeds], dtype=float)
    return Comparison(names[0], names[1], float(d.mean()), float(d.std(ddof=1)) if len(d) > 1 else 0.0,
                      int((d > 0).sum()), len(d))


def by_seed(runs: pd.DataFrame, **where) -> dict[int, float]:
    """``{seed: accuracy}`` of the rows of ``runs`` matching ``where`` (column=value)."""
    mask = np.ones(len(runs), dtype=bool)
    for column, value in where.items():
        mask &= (runs[column] == value).to_numpy()
    rows = runs[mask]
    if rows["seed"].duplicated().any():
        raise ValueError(f"several runs per seed match {where}; narrow the selection.")
    return dict(zip(rows["seed"].astype(int), rows["accuracy"].astype(float)))


def seed_summary(groups: Mapping[Any, Mapping[int, float]]) -> pd.DataFrame:
    """Mean and standard deviation (in %) over seeds of each group's ``{seed: accuracy}``.

    Keys become the index (tuples become a MultiIndex), so ``.unstack(0)`` turns the first
    level into columns.
    """
    rows = {}
    for key, by_seed_ in groups.items():
        values = 100 * np.array(list(by_seed_.values()), dtype=float)
        if not len(values):
            raise ValueError(f"group {key!r} holds no run.")
        rows[key] = {"mean (%)": values.mean(), "std (%)": values.std(ddof=1) if len(values) > 1 else 0.0,
                     "seeds": len(values)}
    return pd.DataFrame(rows).T


__all__ = ["Comparison", "Method", "by_seed", "compare", "gap", "measure", "plot", "seed_summary", "summarize"]

