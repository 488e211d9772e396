"""From the plain course :class:`~tlhelpers.data.Dataset` to a PyTorch ``DataLoader``.

Mirrors :mod:`tlhelpers.keras.data` (same argument names and meaning). Images are
transposed once to channels-first float32 tensors ``(N, C, H, W)`` in [0, 1]; labels are
``int64`` (``torch.long``), as ``cross_entropy`` wants; text batches are lists of strings.
On a CUDA machine the loader uses worker processes and pinned memory; on a CPU it loads in
the main process (workers only cost start-up time for in-memory tensors there).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset as TorchDataset, TensorDataset

from .. import checks
from ..checks import positive_int
from ..data.dataset import Dataset


class TextDataset(TorchDataset):
    """(text, label) pairs; :func:`collate_text` batches them as (list[str], LongTensor)."""

    def __init__(self, texts: list[str], labels: np.ndarray) -> None:
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            checks.fail("texts", "a list of strings", texts)
        checks.labels(labels, "labels", n=len(texts))
        self.texts = list(texts)
        self.labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i: int) -> tuple[str, torch.Tensor]:
        return self.texts[i], self.labels[i]


def collate_text(batch: list[tuple[str, torch.Tensor]]) -> tuple[list[str], torch.Tensor]:
    """A batch of texts as a list of strings (what tokenizers take) and int64 labels."""
    if not isinstance(batch, (list, tuple)) or not batch or not all(
            isinstance(b, (list, tuple)) and len(b) == 2 and isinstance(b[0], str) for b in batch):
        checks.fail("batch", "a non-empty list of (text, label) pairs", batch)
    return [b[0] for b in batch], torch.stack([b[1] for b in batch])


def to_tensors(ds: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as an ``(N, C, H, W)`` float32 tensor and labels as int64 (no copy of labels)."""
    if not isinstance(ds, Dataset):
        raise TypeError(f"ds must be a tlhelpers.data.Dataset, got {type(ds).__name__}; "
                        "wrap arrays with tlhelpers.data.from_arrays(x, y).")
    if ds.is_text:
        raise ValueError(f"{ds.name!r} holds text; use to_dataloader, which yields lists of strings.")
    x = torch.from_numpy(np.ascontiguousarray(np.asarray(ds.x, dtype=np.float32)))
    if x.ndim == 4:
        x = x.permute(0, 3, 1, 2).contiguous()
    return x, torch.from_numpy(np.asarray(ds.y, dtype=np.int64))


def _default_workers() -> int:
    return min(4, os.cpu_count() or 1) if torch.cuda.is_available() else 0


def to_dataloader(ds: Dataset, batch_size: int = 64, *, shuffle: bool = False, seed: int = 0,
                  augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
                  drop_remainder: bool = False, num_workers: int | None = None,
                  pin_memory: bool | None = None) -> DataLoader:
    """A ``DataLoader`` of ``(x, y)`` batches.

    Args:
        ds: the course dataset (images ``(N, H, W, C)`` float32, or texts).
        batch_size: examples per batch.
        shuffle: reshuffle every epoch with a generator seeded by ``seed`` (runs repeat).
        seed: shuffling seed.
        augment: optional function applied to each *batch* of images ``(B, C, H, W)``
            when it is collated (e.g. a ``torch.nn.Sequential`` of tensor transforms);
            never applied to text.
        drop_remainder: drop the last, smaller batch (``drop_last``).
        num_workers: loader processes; default 4 (at most the CPU count) with CUDA, else 0.
        pin_memory: default True with CUDA, else False.
    """
    if not isinstance(ds, Dataset):
        raise TypeError(f"ds must be a tlhelpers.data.Dataset, got {type(ds).__name__}; "
                        "wrap arrays with tlhelpers.data.from_arrays(x, y).")
    batch_size = positive_int(batch_size, "batch_size")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    shuffle, drop_remainder = checks.flag(shuffle, "shuffle"), checks.flag(drop_remainder, "drop_remainder")
    if augment is not None and not callable(augment):
        checks.fail("augment", "a function or module applied to each batch", augment)
    if not ds.is_text:
        checks.image_batch(ds.x, "ds", allow_empty=True)
    if num_workers is None:
        num_workers = _default_workers()
    num_workers = checks.non_negative_int(num_workers, "num_workers")
    if pin_memory is not None:
        pin_memory = checks.flag(pin_memory, "pin_memory")
    if pin_memory is None:
        pin_memory = torch.cuda.is_available()

    collate = None
    if ds.is_text:
        data: TorchDataset = TextDataset(ds.x, ds.y)
        collate = collate_text
    else:
        data = TensorDataset(*to_tensors(ds))
        if augment is not None:
            def collate(batch: list[tuple[torch.Tensor, torch.Tensor]]) -> Any:
                xb = torch.stack([b[0] for b in batch])
                yb = torch.stack([b[1] for b in batch])
                return augment(xb), yb

    generator = torch.Generator().manual_seed(int(seed)) if shuffle else None
    return DataLoader(data, batch_size=int(batch_size), shuffle=shuffle, generator=generator,
                      drop_last=drop_remainder, num_workers=num_workers, pin_memory=pin_memory,
                      collate_fn=collate, persistent_workers=num_workers > 0)
