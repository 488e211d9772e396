"""A small ``fit`` / ``evaluate`` / ``predict`` trio for classifiers, mirrored in
:mod:`tlhelpers.torch.training` so both tracks train with the same recipe and report the
same numbers.

``fit`` is ``model.compile`` + ``model.fit`` with the course's defaults: Adam (decoupled
weight decay when asked), cross-entropy on **logits**, accuracy as a fraction, optional
per-step cosine learning-rate decay, optional augmentation redrawn every epoch, one
progress bar over epochs. Data is a :class:`tlhelpers.data.Dataset`, an ``(x, y)`` pair
of NHWC arrays in [0, 1] and int labels, or (without augmentation) a ``tf.data.Dataset``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from .. import checks
from ..checks import positive_int
from .backbones import _classifier_outputs

__all__ = ["evaluate", "fit", "predict"]


def _as_xy(data: Any, what: str = "data") -> tuple[np.ndarray, np.ndarray]:
    if hasattr(data, "x") and hasattr(data, "y"):
        x, y = data.x, data.y
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    else:
        raise ValueError(f"{what} must be a Dataset or an (x, y) pair of arrays, "
                         f"got {type(data).__name__}.")
    if isinstance(x, list):
        raise ValueError(f"{what} holds text; fit/evaluate here train image classifiers.")
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y).astype(np.int64).reshape(-1)
    if x.ndim not in (2, 4) or len(x) != len(y):
        raise ValueError(f"{what} must hold images (N, H, W, C) or feature vectors (N, d) and N labels, "
                         f"got x{x.shape}, y{y.shape}.")
    return x, y


def _is_tf_dataset(data: Any) -> bool:
    return type(data).__module__.startswith("tensorflow") and hasattr(data, "element_spec")



def _optimizer(lr: float, weight_decay: float, schedule: str | None, total_steps: int):
    if schedule not in (None, "cosine"):
        raise ValueError(f"schedule must be None or 'cosine', got {schedule!r}.")
    rate = lr
    if schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, total_steps), alpha=0.0)
    return keras.optimizers.Adam(learning_rate=rate, epsilon=1e-7,
                                 weight_decay=weight_decay if weight_decay else None)


def fit(model: keras.Model, data: Any, *, epochs: int = 1, batch_size: int = 64,
        lr: float = 1e-3, weight_decay: float = 0.0, schedule: str | None = None,
        augment: Callable[[np.ndarray], np.ndarray] | None = None, validation: Any = None,
        seed: int | None = None, progress: bool = True) -> dict[str, list[float]]:
    """Train a classifier that outputs logits; returns the per-epoch history.

    Args:
        model: a Keras model from images to logits (e.g. from ``build_classifier``). It is
            (re)compiled here, so changes to ``trainable`` take effect.
        data: training data (Dataset, ``(x, y)`` arrays or a batched ``tf.data.Dataset``).
        epochs, batch_size, lr: the usual; Adam with ``epsilon=1e-7`` (as in both tracks).
        weight_decay: decoupled weight decay (AdamW-style); 0 for plain Adam.
        schedule: ``None`` (constant ``lr``) or ``"cosine"``: per-step decay from ``lr`` to 0.
        augment: ``f(x) -> x'`` applied to the whole NHWC training array at the start of
            every epoch (e.g. ``lambda x: tlhelpers.data.augment.augment_digits(x, rng)``).
        validation: data evaluated after every epoch (adds ``val_loss``/``val_accuracy``).
        seed: seeds Keras (shuffling, dropout) for a repeatable run.
        progress: one progress bar over the epochs.

    Returns ``{"loss": [...], "accuracy": [...]}`` (+ ``val_*``), accuracy as a fraction.
    """
    from tqdm.auto import tqdm

    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    # The argument contract (tlhelpers.checks), the same in both tracks, before Keras runs.
    lr = checks.positive_number(lr, "lr")
    weight_decay = checks.number(weight_decay, "weight_decay", minimum=0.0)
    checks.one_of(schedule, "schedule", (None, "cosine"))
    seed = None if seed is None else checks.non_negative_int(seed, "seed")
    outputs, shape = _classifier_outputs(model), checks.model_input_shape(model)
    for what, given in (("data", data), ("validation", validation)):
        if given is not None and not _is_tf_dataset(given):
            checks.image_data(given, what, expected=shape, num_classes=outputs)
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    if _is_tf_dataset(data):
        if augment is not None:
            raise ValueError("augment works on arrays; put augmentation into the tf.data pipeline instead.")
        x = y = None
        steps = int(data.cardinality()) if int(data.cardinality()) > 0 else 1
    else:
        x, y = _as_xy(data)
        steps = math.ceil(len(x) / batch_size)
    model.compile(optimizer=_optimizer(lr, weight_decay, schedule, steps * epochs),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    bar = tqdm(total=epochs, desc="fit", unit="epoch", disable=not progress, leave=False)

    def record(logs: dict[str, Any]) -> None:
        history["loss"].append(float(logs["loss"]))
        history["accuracy"].append(float(logs["accuracy"]))
        if validation is not None:
            val = evaluate(model, validation, batch_size=max(batch_size, 256))
            history.setdefault("val_loss", []).append(val["loss"])
            history.setdefault("val_accuracy", []).append(val["accuracy"])
        bar.update(1)
        bar.set_postfix({k: f"{v[-1]:.3f}" for k, v in history.items()})

    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: record(logs))
    try:
        if x is None:
            model.fit(data, epochs=epochs, verbose=0, callbacks=[callback])
        elif augment is None:
            model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0,
                      callbacks=[callback])
        else:  # a fresh augmented copy of the data every epoch, one optimizer throughout
            for epoch in range(epochs):
                x_epoch = augment(x)
                if x_epoch.shape != x.shape:
                    raise ValueError(f"augment changed the shape of the images: {x.shape} -> {x_epoch.shape}.")
                model.fit(x_epoch, y, batch_size=batch_size, epochs=epoch + 1, initial_epoch=epoch,
                          shuffle=True, verbose=0, callbacks=[callback])
    finally:
        bar.close()
    return history


def predict(model: keras.Model, data: Any, batch_size: int = 256) -> np.ndarray:
    """The model's outputs (logits) for every image of ``data``, in inference mode."""
    batch_size = positive_int(batch_size, "batch_size")
    if not isinstance(model, keras.Model):
        checks.fail("model", "a Keras model", checks.Received(type(model).__name__))
    checks.image_batch(data[0] if isinstance(data, (tuple, list)) and len(data) == 2 else data,
                       "data", expected=checks.model_input_shape(model))
    x = getattr(data, "x", data)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x = data[0]
    x = np.asarray(x, dtype=np.float32)
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def evaluate(model: keras.Model, data: Any, batch_size: int = 256) -> dict[str, float]:
    """Mean cross-entropy (from logits) and accuracy (a fraction) on ``data``."""
    batch_size = positive_int(batch_size, "batch_size")
    checks.image_data(data, "data", expected=checks.model_input_shape(model),
                      num_classes=_classifier_outputs(model))
    x, y = _as_xy(data)
    logits = predict(model, x, batch_size=batch_size).astype(np.float64)
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(f"model must output (N, num_classes) logits, got shape {logits.shape}.")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_prob = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_prob[np.arange(len(y)), y].mean())
    accuracy = float((logits.argmax(axis=1) == y).mean())
    return {"loss": loss, "accuracy": accuracy}
