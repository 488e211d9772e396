"""Pretrain ``course_cnn`` on SynDigits with the keras track: ``python -m tlhelpers.keras.pretrain``.

The recipe (data, augmentation stream, hyper-parameters, record) and how it was
chosen (``python -m benchmarks.source_recipe``) are in :mod:`tlhelpers.pretraining`,
shared with the other track; this module runs them with this track's ``fit``,
``evaluate`` and ``extract_features``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .. import pretraining

__all__ = ["pretrain", "track"]

_D = pretraining.PRETRAIN_DEFAULTS


def track() -> pretraining.Track:
    """This track's modules and versions, as the shared recipe needs them."""
    import keras
    import tensorflow as tf

    from . import backbones, training
    return pretraining.Track("keras", backbones, training,
                        {"keras": keras.__version__, "tensorflow": tf.__version__})


def pretrain(*, n_train: int = _D["n_train"], n_test: int = _D["n_test"], epochs: int = _D["epochs"],
             batch_size: int = _D["batch_size"], lr: float = _D["lr"], seed: int = _D["seed"],
             recipe: str = pretraining.RECIPE, out_dir: str | Path | None = None,
             progress: bool = True) -> dict[str, Any]:
    """Pretrain ``course_cnn`` + a 10-way head on SynDigits; save the backbone and a record.

    Recipe (the same in both tracks, :func:`tlhelpers.pretraining.pretrain`): SynDigits
    train (``n_train`` images, ``seed``), the augmentation of ``recipe`` (default: the
    selected recipe, :data:`tlhelpers.pretraining.RECIPE`) redrawn every epoch from one
    generator seeded with ``seed``, Adam with learning rate ``lr`` decayed to 0 by a per-step
    cosine schedule, cross-entropy on logits, batch ``batch_size``. Then the head is dropped
    and the backbone weights are written to ``out_dir`` (default the package's weights folder)
    with a JSON record (:func:`tlhelpers.pretraining.write_record`). Returns the record.
    """
    return pretraining.pretrain(track(), n_train=n_train, n_test=n_test, epochs=epochs,
                           batch_size=batch_size, lr=lr, seed=seed, recipe=recipe,
                           out_dir=out_dir, progress=progress)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pretraining.main(track, "keras"))
