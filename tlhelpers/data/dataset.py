"""The one plain form every course dataset takes, whatever its origin.

Images are ``float32`` arrays in ``[0, 1]``, channels last (``N, H, W, C``) in *both*
tracks — the PyTorch adapter transposes to ``N, C, H, W`` on the way in. Labels are
``int64`` class indices. Text datasets hold a list of strings in ``x``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .. import checks


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
        if not hasattr(self.x, "__len__") or isinstance(self.x, str):
            checks.fail("x", "an array of examples (or a list of strings)", self.x)
        if isinstance(self.class_names, str) or len(set(self.class_names)) != len(self.class_names):
            checks.fail("class_names", "a list of distinct names", self.class_names)
        self.y = checks.labels(self.y, "y", n=len(self.x), num_classes=len(self.class_names))

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
        n = checks.positive_int(n, "n")
        rng = np.random.default_rng(checks.non_negative_int(seed, "seed"))
        picks = []
        for c in range(self.num_classes):
            idx = np.flatnonzero(self.y == c)
            if len(idx) < n:
                raise ValueError(f"class {self.class_names[c]!r} has only {len(idx)} examples, {n} asked.")
            picks.append(rng.choice(idx, size=n, replace=False))
        return self.subset(np.sort(np.concatenate(picks)))

    def to_shape(self, image_size: int | tuple[int, int] | None = None, *,
                 channels: int | None = None) -> "Dataset":
        """A copy with images resized to ``image_size`` (side or (height, width)) and/or
        converted to ``channels`` (1: grey by luma, 3: grey repeated to RGB)."""
        from .images import resize_images, to_channels

        if self.is_text:
            checks.fail("dataset", "a dataset of images", checks.Received("a text dataset"))
        size = None if image_size is None else checks.image_size(image_size)
        if channels is not None and (isinstance(channels, bool) or channels not in (1, 3)):
            checks.fail("channels", "1 (grey) or 3 (RGB)", channels)
        x, notes = self.x, []
        if size is not None and x.shape[1:3] != size:
            checks.memory(len(x), (*size, x.shape[-1]), "image_size")
            x = resize_images(x, size)
            notes.append(f"resized to {size[0]}x{size[1]}")
        if channels is not None and x.shape[-1] != channels:
            x = to_channels(x, channels)
            notes.append(f"converted to {channels} channel(s)")
        meta = {**self.meta, "reshaped": [*self.meta.get("reshaped", []), *notes]}
        return replace(self, x=x, meta=meta)

    def to_backbone(self, backbone: Any, *, image_size: int | tuple[int, int] | None = None
                    ) -> "Dataset":
        """A copy whose images have the size and channels ``backbone`` takes (Keras or PyTorch).

        28×28 grey MNIST becomes 32×32 RGB for ``course_cnn``, 224×224 RGB for an ImageNet
        backbone. ``image_size`` overrides the size (needed for a model that takes any size
        and names none).
        """
        from ..zoo import IMAGENET_ZOO

        shape = checks.model_input_shape(backbone)
        if shape is None:
            checks.fail("backbone", "a Keras model or a course PyTorch module (with input_shape)",
                        checks.Received(type(backbone).__name__),
                        "Use dataset.to_shape(image_size=..., channels=...) instead.")
        h, w, c = shape
        if image_size is None and h is None and getattr(backbone, "name", None) in IMAGENET_ZOO:
            h = w = IMAGENET_ZOO[backbone.name].input_size  # what its weights were trained at
        if image_size is None and h is not None and w is not None:
            image_size = (h, w)
        return self.to_shape(image_size, channels=c)

    def __repr__(self) -> str:
        shape = f"{len(self.x)} texts" if self.is_text else f"x{tuple(self.x.shape)}"
        tag = ", synthetic" if self.synthetic else ""
        return (f"Dataset({self.name!r}, split={self.split!r}, {shape}, "
                f"{self.num_classes} classes{tag}, source={self.source!r})")
