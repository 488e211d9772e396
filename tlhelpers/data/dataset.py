"""The one plain form every course dataset takes, whatever its origin.

Images are ``float32`` arrays in ``[0, 1]``, channels last (``N, H, W, C``) in *both*
tracks — the PyTorch adapter transposes to ``N, C, H, W`` on the way in. Labels are
``int64`` class indices. Text datasets hold a list of strings in ``x``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


@dataclass
class Dataset:
    """Arrays plus what a learner needs to know about them.

    Attributes:
        x: images ``(N, H, W, C)`` float32 in [0, 1], or a list of N strings for text.
        y: labels ``(N,)`` int64.
        class_names: name of each class index.
        name: short identifier, e.g. ``"digits-m"``.
        split: ``"train"``, ``"test"`` (or ``"all"``).
        description: one or two sentences on where the data came from.
        synthetic: True for generated stand-ins, so every display can say so.
        source: ``"embedded"`` (built offline), ``"cache"`` (a real dataset file) …
        meta: anything else worth keeping (seed, generation time, domain, …). Arrays
            with one row per example are named in ``meta["per_example"]`` so that
            :meth:`subset` keeps them aligned with ``x`` and ``y``.
    """

    x: Any
    y: np.ndarray
    class_names: list[str]
    name: str
    split: str
    description: str
    synthetic: bool = False
    source: str = "embedded"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.y = np.asarray(self.y, dtype=np.int64)
        if len(self.x) != len(self.y):
            raise ValueError(f"x has {len(self.x)} examples but y has {len(self.y)}.")
        if len(self.y) and (self.y.min() < 0 or self.y.max() >= len(self.class_names)):
            raise ValueError(f"labels must lie in [0, {len(self.class_names)}), "
                             f"got [{self.y.min()}, {self.y.max()}].")

    def __len__(self) -> int:
        return len(self.y)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_text(self) -> bool:
        return not isinstance(self.x, np.ndarray)

    def subset(self, index) -> "Dataset":
        """A new Dataset holding the examples at ``index`` (array of ints or booleans)."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        x = [self.x[i] for i in index] if self.is_text else self.x[index]
        meta = dict(self.meta)
        for key in meta.get("per_example", ()):
            meta[key] = np.asarray(meta[key])[index]
        return replace(self, x=x, y=self.y[index], meta=meta)

    def per_class(self, n: int, seed: int = 0) -> "Dataset":
        """``n`` examples of every class, drawn without replacement (few-label experiments)."""
        if n <= 0:
            raise ValueError(f"n must be positive, got {n}.")
        rng = np.random.default_rng(seed)
        picks = []
        for c in range(self.num_classes):
            idx = np.flatnonzero(self.y == c)
            if len(idx) < n:
                raise ValueError(f"class {self.class_names[c]!r} has only {len(idx)} examples, {n} asked.")
            picks.append(rng.choice(idx, size=n, replace=False))
        return self.subset(np.sort(np.concatenate(picks)))

    def __repr__(self) -> str:
        shape = f"{len(self.x)} texts" if self.is_text else f"x{tuple(self.x.shape)}"
        tag = ", synthetic" if self.synthetic else ""
        return (f"Dataset({self.name!r}, split={self.split!r}, {shape}, "
                f"{self.num_classes} classes{tag}, source={self.source!r})")
