"""Pretrain ``course_cnn`` on SynDigits with the keras track: ``python -m tlhelpers.keras.pretrain``.

The recipe (data, augmentation stream, hyper-parameters, record) is
:mod:`tlhelpers.pretraining`, shared with the other track; this module runs it with this
track's ``fit``, ``evaluate`` and ``extract_features``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from .. import pretraining as recipe
from ..zoo import WEIGHTS_DIR, course_weights_path
from . import backbones, training
from ..seeding import seed_everything

__all__ = ["pretrain"]

_D = recipe.PRETRAIN_DEFAULTS


def pretrain(*, n_train: int = _D["n_train"], n_test: int = _D["n_test"], epochs: int = _D["epochs"],
             batch_size: int = _D["batch_size"], lr: float = _D["lr"], seed: int = _D["seed"],
             out_dir: str | Path | None = None, progress: bool = True) -> dict[str, Any]:
    """Pretrain ``course_cnn`` + a 10-way head on SynDigits; save the backbone and a record.

    Recipe (the same in both tracks): SynDigits train (``n_train`` images, ``seed``),
    :func:`tlhelpers.data.augment.augment_digits` redrawn every epoch from one generator
    seeded with ``seed``, Adam with learning rate ``lr`` decayed to 0 by a per-step
    cosine schedule, cross-entropy on logits, batch ``batch_size``. Then the head is
    dropped and the backbone weights are written to ``out_dir`` (default the package's
    weights folder) with a JSON record (:func:`tlhelpers.pretraining.write_record`).
    Returns the record.
    """
    from .. import checks

    n_train, n_test = checks.positive_int(n_train, "n_train"), checks.positive_int(n_test, "n_test")
    epochs, batch_size = checks.positive_int(epochs, "epochs"), checks.positive_int(batch_size, "batch_size")
    lr, seed = checks.positive_number(lr, "lr"), checks.non_negative_int(seed, "seed")
    import keras
    import tensorflow as tf
    versions = {"keras": keras.__version__, "tensorflow": tf.__version__}
    start = time.perf_counter()
    data = recipe.pretraining_data(n_train, n_test, seed)
    seed_everything(seed)
    backbone = backbones.course_cnn(pretrained=False)
    model = backbones.build_classifier(backbone, 10, freeze_backbone=False, bn_inference=False)
    train_start = time.perf_counter()
    history = training.fit(model, data.train, epochs=epochs, batch_size=batch_size, lr=lr,
                           schedule="cosine", augment=recipe.augmentation_stream(seed),
                           seed=seed, progress=progress)
    train_seconds = time.perf_counter() - train_start
    syn_acc = training.evaluate(model, data.test)["accuracy"]
    dig_acc = training.evaluate(model, data.digits_test)["accuracy"]
    probe = [recipe.probe_accuracy(backbones.extract_features, backbone,
                                   data.digits_train.per_class(10, s), data.digits_test) for s in range(3)]
    out = Path(out_dir) if out_dir is not None else WEIGHTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    backbones.save_backbone_weights(backbone, out / course_weights_path("keras").name)
    hyper = {"n_train": n_train, "seed": seed, "epochs": epochs, "batch_size": batch_size, "lr": lr}
    return recipe.write_record("keras", out, data=data, hyper=hyper, history=history,
                               syndigits_accuracy=syn_acc, digits_accuracy=dig_acc, probe=probe,
                               train_seconds=train_seconds,
                               total_seconds=time.perf_counter() - start, versions=versions)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(recipe.main("keras", pretrain))
