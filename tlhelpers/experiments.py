"""Lesson 01's transfer experiments, the framework-neutral half.

The tracks (``tlhelpers.keras.transfer``, ``tlhelpers.torch.transfer``) do the framework
work — copying blocks, fine-tuning, reading block outputs; this module holds what both
tracks share, so that a lesson cell shows the idea and not the bookkeeping:

* :class:`TargetRuns` trains each configuration (target, label budget, seed, blocks
  copied, BatchNorm choice, source) once and remembers it, so sections that compare the
  same run reuse it; :func:`method_name` names a configuration.
* :func:`carve_validation` keeps a labelled validation split apart from the pool that
  labelled examples are drawn from (nothing is ever selected on a test set).
* :func:`grid_pool` and :func:`block_probes` measure how general each block's features are.
* :func:`preprocessing_mismatch` measures a real train/test preprocessing mismatch.
* :func:`bound_terms` and :func:`shift_table` put numbers on the domain-adaptation bound.
* :func:`source_summary` turns the pretraining record into a table.

Everything here works on NumPy arrays, :class:`~tlhelpers.data.Dataset` objects and
pandas tables; nothing imports TensorFlow or PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .data.dataset import Dataset
from .divergence import proxy_a_distance
from .metrics import fit_linear_probe, linear_probe_accuracy

__all__ = [
    "BN_CHOICES",
    "TargetRun",
    "TargetRuns",
    "background_photos",
    "block_probes",
    "bound_terms",
    "carve_validation",
    "check_bn",
    "describe_depth",
    "epochs_to_reach",
    "grid_pool",
    "method_name",
    "preprocessing_mismatch",
    "shift_table",
    "source_summary",
]

#: What a fine-tuned pretrained block's BatchNorm layers do while training on the target.
#: ``"frozen"``: statistics, scale and shift stay the pretrained ones (inference mode), as
#: ``unfreeze(..., bn_trainable=False)`` leaves them in both tracks. ``"adapt"``: BatchNorm
#: trains like any layer (batch statistics in training, running statistics re-estimated
#: on the target, scale and shift learnt).
BN_CHOICES: tuple[str, ...] = ("frozen", "adapt")


def check_bn(bn: str) -> str:
    """``bn`` if it is one of :data:`BN_CHOICES`, else a clear error."""
    if bn not in BN_CHOICES:
        raise ValueError(f"bn must be one of {', '.join(map(repr, BN_CHOICES))}, got {bn!r}.")
    return bn


# --------------------------------------------------------------------------------------
# Training runs on a target, each trained once
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TargetRun:
    """One trained run: test accuracy (a fraction) and the per-epoch history of ``fit``
    (``loss``, ``accuracy`` on the training examples; ``val_loss``, ``val_accuracy`` when
    a validation set was watched)."""

    accuracy: float
    history: dict[str, list[float]] = field(default_factory=dict)


def method_name(k: int, fine_tune: bool, bn: str | None = None) -> str:
    """A readable name for "copy the first ``k`` blocks, frozen or fine-tuned (BatchNorm ``bn``)"."""
    if k == 0:
        return "scratch"
    bn_note = f" (BN {'frozen' if bn == 'frozen' else 'adapting'})" if fine_tune and bn in BN_CHOICES else ""
    if k == 4:
        return f"fine-tuning{bn_note}" if fine_tune else "frozen backbone + trained head"
    return f"first {k} blocks {'fine-tuned' if fine_tune else 'frozen'}{bn_note}"


TrainFn = Callable[..., TargetRun]


class TargetRuns:
    """course_cnn runs on labelled target data, each configuration trained once.

    ``train_fn`` is a track's ``transfer.train_on_target``. ``targets`` maps a target
    name to ``(pool, test)``: labelled examples are drawn from ``pool`` with
    ``pool.per_class(labels_per_class, seed)`` and accuracy is measured on ``test``.
    ``epochs`` maps a label budget (examples per class) to a number of epochs: every
    method gets the *same* number of passes over its labelled examples at a budget (the
    lesson's fair budget). ``sources`` maps a source name to a backbone to copy blocks
    from (``None``: the course-pretrained one). ``validation`` maps a target name to a
    labelled validation set whose loss ``fit`` records each epoch when a run asks to
    ``watch`` it (for loss curves; nothing is selected on it).
    """

    def __init__(self, train_fn: TrainFn, targets: Mapping[str, tuple[Dataset, Dataset]], *,
                 epochs: Mapping[int, int], lr: float = 1e-3, batch_size: int = 32,
                 sources: Mapping[str, Any] | None = None,
                 validation: Mapping[str, Dataset] | None = None) -> None:
        if not targets:
            raise ValueError("targets must name at least one (pool, test) pair.")
        self._train = train_fn
        self.targets = dict(targets)
        self.epochs = {int(n): int(e) for n, e in epochs.items()}
        self.lr, self.batch_size = float(lr), int(batch_size)
        self.sources: dict[str, Any] = {"SynDigits": None, **dict(sources or {})}
        self.validation = dict(validation or {})
        self._runs: dict[tuple, TargetRun] = {}

    def add_source(self, name: str, backbone: Any) -> None:
        """Make ``backbone`` available as a source called ``name``."""
        self.sources[name] = backbone

    def run(self, target: str, labels_per_class: int, seed: int, *, k: int = 4,
            fine_tune: bool = True, bn: str = "frozen", source: str = "SynDigits",
            watch: bool = False) -> TargetRun:
        """The run of this configuration, trained now unless it was trained before.

        ``bn`` only matters for copied blocks that are fine-tuned (see :data:`BN_CHOICES`);
        frozen copied blocks always run in inference mode, fresh blocks always learn
        their statistics (the run's ``bn`` then reads ``"n/a"``). ``watch=True`` records the validation loss every epoch (a
        remembered run trained without it is trained again, with it).
        """
        if target not in self.targets:
            raise ValueError(f"unknown target {target!r}; targets are {', '.join(self.targets)}.")
        if source not in self.sources:
            raise ValueError(f"unknown source {source!r}; sources are {', '.join(self.sources)}.")
        if labels_per_class not in self.epochs:
            raise ValueError(f"no epoch budget for {labels_per_class} labels per class; "
                             f"budgets are {sorted(self.epochs)}.")
        check_bn(bn)
        chosen = bn if k and fine_tune else "n/a"  # nothing to choose: see the docstring
        key = (target, int(labels_per_class), int(seed), int(k), bool(fine_tune), chosen, source)
        cached = self._runs.get(key)
        if cached is not None and (not watch or "val_loss" in cached.history):
            return cached
        if watch and target not in self.validation:
            raise ValueError(f"no validation set for target {target!r}.")
        pool, test = self.targets[target]
        result = self._train(pool.per_class(int(labels_per_class), seed=int(seed)), test, k=int(k),
                             fine_tune=bool(fine_tune), bn=bn, epochs=self.epochs[int(labels_per_class)],
                             batch_size=self.batch_size, lr=self.lr, seed=int(seed),
                             source=self.sources[source],
                             validation=self.validation[target] if watch else None)
        self._runs[key] = result
        return result

    def table(self) -> pd.DataFrame:
        """One row per run trained so far: its configuration, ``accuracy`` on the test set
        and ``train_accuracy`` on its own training examples in the last epoch (fractions)."""
        rows = []
        for (target, n, seed, k, fine_tune, bn, source), run in self._runs.items():
            rows.append({"target": target, "labels_per_class": n, "seed": seed, "k": k,
                         "fine_tune": fine_tune, "bn": bn, "source": source,
                         "method": method_name(k, fine_tune, bn), "epochs": self.epochs[n],
                         "accuracy": run.accuracy, "train_accuracy": run.history["accuracy"][-1]})
        return pd.DataFrame(rows)

    def histories(self, **where: Any) -> dict[int, dict[str, list[float]]]:
        """``{seed: history}`` of the runs whose configuration matches ``where``, which must
        fix everything but the seed (e.g. ``target="Digits", labels_per_class=10, k=0``)."""
        names = ("target", "labels_per_class", "seed", "k", "fine_tune", "bn", "source")
        found: dict[int, dict[str, list[float]]] = {}
        for key, run in self._runs.items():
            config = dict(zip(names, key))
            if all(config[n] == v for n, v in where.items()):
                if config["seed"] in found:
                    raise ValueError(f"several runs per seed match {where}; fix every setting but the seed.")
                found[config["seed"]] = run.history
        return found


def epochs_to_reach(history: Mapping[str, list[float]], level: float, key: str = "val_loss") -> int | None:
    """The first epoch (counted from 1) at which ``history[key]`` is at or below ``level``;
    ``None`` if it never gets there."""
    hits = np.flatnonzero(np.asarray(history[key]) <= level)
    return int(hits[0]) + 1 if len(hits) else None


def carve_validation(data: Dataset, per_class: int, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Split ``data`` into ``(pool, validation)``: ``per_class`` examples of every class for
    validation, the rest to draw labelled training examples from."""
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) or per_class < 1:
        raise ValueError(f"per_class must be a positive integer, got {per_class!r}.")
    rng = np.random.default_rng(seed)
    picked = []
    for c in range(data.num_classes):
        members = np.flatnonzero(data.y == c)
        if len(members) <= per_class:
            raise ValueError(f"class {data.class_names[c]!r} has {len(members)} examples: "
                             f"too few to set {per_class} apart for validation.")
        picked.append(rng.choice(members, per_class, replace=False))
    picked = np.sort(np.concatenate(picked))
    return data.subset(np.setdiff1d(np.arange(len(data)), picked)), data.subset(picked)


# --------------------------------------------------------------------------------------
# What transfers: block-by-block probes
# --------------------------------------------------------------------------------------

def grid_pool(maps: np.ndarray, grid: int) -> np.ndarray:
    """Average NHWC feature maps over a ``grid`` × ``grid`` layout of equal cells, flattened.

    Global average pooling (``grid=1``) throws away *where* a pattern is, which early
    blocks need to describe a digit and late blocks have already encoded; pooling every
    block to the same grid keeps the layout and compares blocks on equal terms.
    Returns ``(N, grid * grid * C)``.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 4:
        raise ValueError(f"maps must have shape (N, H, W, C), got {maps.shape}.")
    n, h, w, c = maps.shape
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < 1 or h % grid or w % grid:
        raise ValueError(f"grid must be a positive integer dividing the map size {h}x{w}, got {grid!r}.")
    cells = maps.reshape(n, grid, h // grid, grid, w // grid, c).mean(axis=(2, 4))
    return cells.reshape(n, grid * grid * c)


def background_photos(data: Dataset) -> Dataset:
    """Digits-M relabelled by *which photograph* each digit was blended onto.

    A target task whose labels differ from the source's (the source learnt digits): the
    images are the same, the classes are the photos of ``data.meta["photos"]``. Train and
    test patches come from different parts of each photo (see :mod:`tlhelpers.data.digits_m`).
    """
    if "patches" not in data.meta or "photos" not in data.meta:
        raise ValueError(f"data must be a Digits-M dataset (with meta['patches'] and meta['photos']), "
                         f"got {data.name!r}.")
    from dataclasses import replace

    return replace(data, y=np.asarray(data.meta["patches"])[:, 0].astype(np.int64),
                   class_names=list(data.meta["photos"]), name=f"{data.name} (background photo)",
                   description="Digits-M labelled by the photograph behind each digit.")


def block_probes(tasks: Mapping[str, tuple[Mapping[str, np.ndarray], np.ndarray,
                                            Mapping[str, np.ndarray], np.ndarray]],
                 grid: int) -> pd.DataFrame:
    """Linear-probe accuracy (%) of every block's grid-pooled output, for every task.

    ``tasks`` maps a task name to ``(train_maps, train_labels, test_maps, test_labels)``
    where ``*_maps`` map a block name to its NHWC outputs. Rows are blocks in order,
    columns are tasks.
    """
    table = {}
    for task, (train_maps, train_y, test_maps, test_y) in tasks.items():
        table[task] = {block: 100 * linear_probe_accuracy(grid_pool(train_maps[block], grid), train_y,
                                                          grid_pool(test_maps[block], grid), test_y)
                       for block in train_maps}
    return pd.DataFrame(table)


def describe_depth(depth: pd.DataFrame) -> list[str]:
    """One sentence per column of a :func:`block_probes` table: where accuracy peaks, and
    how it changes from the first block to the last (points)."""
    lines = []
    for column in depth.columns:
        series = depth[column]
        name = " / ".join(column) if isinstance(column, tuple) else str(column)
        change = series.iloc[-1] - series.iloc[0]
        lines.append(f"{name}: highest after {series.idxmax()} ({series.max():.1f}%); "
                     f"{series.index[0]} {series.iloc[0]:.1f}% -> {series.index[-1]} {series.iloc[-1]:.1f}% "
                     f"({change:+.1f} points)")
    return lines


# --------------------------------------------------------------------------------------
# Preprocessing: a real train/test mismatch
# --------------------------------------------------------------------------------------

def preprocessing_mismatch(features: Callable[[np.ndarray], np.ndarray], train: Dataset, test: Dataset,
                           preparations: Mapping[str, Callable[[np.ndarray], np.ndarray]]) -> pd.DataFrame:
    """Linear-probe accuracy (%) when test images are prepared differently from training ones.

    For every preparation ``p``: *mismatch* fits the probe on features of correctly
    prepared training images and scores it on features of ``p(test images)`` — what
    happens when a deployed pipeline prepares images differently from the one the head
    was trained with; *consistent* prepares both sides with ``p`` (the head can adapt to
    a wrong but consistent preparation, the frozen features cannot). ``features`` maps
    images to features (a frozen backbone).
    """
    right_train = features(train.x)
    rows = {}
    for name, prepare in preparations.items():
        test_features = features(np.asarray(prepare(test.x), dtype=np.float32))
        mismatch = linear_probe_accuracy(right_train, train.y, test_features, test.y)
        consistent = linear_probe_accuracy(features(np.asarray(prepare(train.x), dtype=np.float32)), train.y,
                                           test_features, test.y)
        rows[name] = {"train right, test prepared this way (%)": 100 * mismatch,
                      "train and test both prepared this way (%)": 100 * consistent}
    return pd.DataFrame(rows).T


# --------------------------------------------------------------------------------------
# The domain-adaptation bound, with numbers
# --------------------------------------------------------------------------------------

def bound_terms(source_train: tuple[np.ndarray, np.ndarray], source_test: tuple[np.ndarray, np.ndarray],
                target_train: tuple[np.ndarray, np.ndarray], target_test: tuple[np.ndarray, np.ndarray],
                *, seed: int = 0) -> pd.Series:
    """Estimates (%) of the terms of Ben-David et al.'s bound for a linear probe ``h``.

    Each argument is ``(features, labels)``. ``h`` is fitted on the source's training
    features; its errors are measured on the test features. ½ d̂ is half the proxy
    A-distance between the source and target test features (a linear domain classifier's
    held-out error, :func:`tlhelpers.divergence.proxy_a_distance`). λ is estimated by a
    joint probe ``h*`` fitted on both labelled training sets: λ = ε_S(h*) + ε_T(h*).
    """
    h = fit_linear_probe(*source_train)
    eps_s = 1 - h.score(*source_test)
    eps_t = 1 - h.score(*target_test)
    d_hat = proxy_a_distance(source_test[0], target_test[0], seed=seed)
    joint = fit_linear_probe(np.concatenate([source_train[0], target_train[0]]),
                             np.concatenate([source_train[1], target_train[1]]))
    lam_s, lam_t = 1 - joint.score(*source_test), 1 - joint.score(*target_test)
    return 100 * pd.Series({
        "ε_S(h): source error": eps_s,
        "½ d̂_HΔH: half the proxy A-distance": d_hat / 2,
        "ε_S(h*): joint classifier's source error": lam_s,
        "ε_T(h*): joint classifier's target error": lam_t,
        "λ = ε_S(h*) + ε_T(h*)": lam_s + lam_t,
        "right-hand side: ε_S(h) + ½ d̂_HΔH + λ": eps_s + d_hat / 2 + lam_s + lam_t,
        "ε_T(h): measured target error": eps_t,
    }, name="estimate (%)")


def shift_table(reference: tuple[np.ndarray, np.ndarray], domains: Mapping[str, tuple[np.ndarray, np.ndarray]],
                *, seed: int = 0) -> pd.DataFrame:
    """For each domain: proxy A-distance from the reference features, and the error (%) of
    a linear probe fitted on the reference and applied to the domain.

    ``reference`` and each domain are ``(features, labels)``. ``table.attrs["spearman"]``
    holds the rank correlation between the two columns (does a larger divergence come
    with a larger error?).
    """
    from scipy.stats import spearmanr

    h = fit_linear_probe(*reference)
    rows = {name: {"proxy A-distance": proxy_a_distance(reference[0], f, seed=seed),
                   "error of the reference probe (%)": 100 * (1 - h.score(f, y))}
            for name, (f, y) in domains.items()}
    table = pd.DataFrame(rows).T
    if len(table) >= 3:
        table.attrs["spearman"] = float(spearmanr(table.iloc[:, 0], table.iloc[:, 1]).statistic)
    return table


# --------------------------------------------------------------------------------------
# The source model
# --------------------------------------------------------------------------------------

def _describe(value: Any) -> str:
    if value is None:
        return "not recorded"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_describe(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_describe(v) for v in value)
    return str(value)


def source_summary(record: Mapping[str, Any], learnable_parameters: int) -> pd.Series:
    """The pretraining record of ``course_cnn`` (``zoo.course_weights_info``) as a table.

    Entries a record does not hold (older records have no ``selection`` or
    ``target_knowledge``) read "not recorded".
    """
    train = record.get("data", {}).get("train", {})
    pct = lambda key: round(100 * record[key], 1) if key in record else "not recorded"  # noqa: E731
    return pd.Series({
        "pretrained on": f"{train.get('name', '?')}, {train.get('n', '?')} images" if train else "not recorded",
        "epochs": record.get("epochs", "not recorded"),
        "augmentation": _describe(record.get("augmentation")),
        "how the recipe was selected": _describe(record.get("selection")),
        "what the source knows about the target": _describe(record.get("target_knowledge")),
        "SynDigits test accuracy (%)": pct("syndigits_test_accuracy"),
        "Digits test accuracy, no Digits label used (%)": pct("digits_test_accuracy"),
        "pretraining time (s, CPU)": record.get("wall_seconds", {}).get("total", "not recorded"),
        "learnable parameters": int(learnable_parameters),
    }, name="course_cnn, course-pretrained")
