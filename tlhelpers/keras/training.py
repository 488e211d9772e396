"""A small ``fit`` / ``evaluate`` / ``predict`` trio for classifiers, mirrored in
:mod:`tlhelpers.torch.training` so both tracks train with the same recipe and report the
same numbers.

``fit`` compiles the model with the course's defaults: Adam (decoupled weight decay when
asked), cross-entropy on **logits**, accuracy as a fraction, optional per-step cosine
learning-rate decay, optional augmentation redrawn every epoch, one progress bar over
epochs. Data is a :class:`tlhelpers.data.Dataset`, an ``(x, y)`` pair of NHWC arrays in
[0, 1] and int labels, or (without augmentation) a ``tf.data.Dataset``.

Speed: ``fit`` computes what ``model.fit`` computes, one traced ``tf.function`` step per
batch, but without ``model.fit``'s per-call machinery, and it traces each architecture
once (models built from Keras's own layers share the step); ``predict`` and
``extract_features`` trace one forward pass per model for every batch size. On the
course's small models and datasets this makes the Keras track as fast as PyTorch's
(``python -m benchmarks --micro`` and ``--experiments`` measure it). XLA stays off:
compiling each of many small models costs more than it saves.
"""

from __future__ import annotations

import json
import math
import re
from collections import OrderedDict
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

    model.__dict__.pop("_tlh_inference", None)  # recompiled: trace inference afresh
    step = _train_step(model, _input_signature(data, x))
    rng = np.random.default_rng(seed if seed is not None else np.random.randint(2**31))
    pipelined = _gpu_visible()
    try:
        for _ in range(epochs):
            step.reset()
            if x is None:
                for xb, yb in data:
                    step(xb, yb)
            else:
                x_epoch = x if augment is None else augment(x)
                if x_epoch.shape != x.shape:
                    raise ValueError(f"augment changed the shape of the images: {x.shape} -> {x_epoch.shape}.")
                for xb, yb in _batches(np.asarray(x_epoch, dtype=np.float32), y, rng.permutation(len(y)),
                                       batch_size, pipelined):
                    step(xb, yb)
            if validation is not None:
                step.store(model)
            record(step.result())
    finally:
        step.store(model)
        bar.close()
    return history


def _gpu_visible() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def _batches(x: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int, pipelined: bool):
    """The epoch's batches, ``x[order]`` cut every ``batch_size``.

    ``pipelined`` (on a GPU): the same batches from a prefetching ``tf.data`` pipeline, so
    the next batch is prepared on the host while the GPU runs the current step.
    """
    if pipelined:
        import tensorflow as tf

        yield from tf.data.Dataset.from_tensor_slices((x[order], y[order])).batch(batch_size) \
            .prefetch(tf.data.AUTOTUNE)
        return
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        yield x[idx], y[idx]


class _TrainStep:
    """One optimizer step as a single traced ``tf.function``, plus the epoch's running sums.

    What ``model.fit`` does per step (forward with ``training=True``, cross-entropy from
    logits plus the model's own regularisation losses, loss scaling under mixed precision,
    ``apply_gradients``), without ``fit``'s per-epoch and per-step machinery (data
    adapters, iterators, callbacks, metric objects), which costs more than the step itself
    for the course's small models. The input signature has a free batch dimension, so a
    smaller last batch does not trace the step a second time; the sums stay on the device,
    so nothing waits for the GPU until the epoch ends.
    """

    def __init__(self, model: keras.Model, signature: list | None,
                 loss_fn: Callable[[Any, Any], Any] | None = None) -> None:
        """``loss_fn(y, logits)``: the data loss; default the compiled ``model.loss``."""
        import tensorflow as tf

        self.model = model
        optimizer = model.optimizer
        trainable = model.trainable_variables
        optimizer.build(trainable)  # create the slots now, not inside the trace (no second trace)
        self._fresh_optimizer = [v.numpy() for v in optimizer.variables]
        loss_fn = loss_fn or model.loss
        self.loss_sum = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        self.correct = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        self.seen = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        if not trainable:
            import warnings

            warnings.warn("The model does not have any trainable weights.", stacklevel=3)

        def step(x, y):
            y = tf.cast(y, tf.int64)
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                loss = loss_fn(y, logits)
                if model.losses:
                    loss = loss + tf.add_n([tf.cast(l, loss.dtype) for l in model.losses])
                scaled = optimizer.scale_loss(loss)
            if trainable:
                optimizer.apply_gradients(zip(tape.gradient(scaled, trainable), trainable))
            n = tf.cast(tf.shape(y)[0], tf.float64)
            hits = tf.equal(tf.argmax(logits, axis=-1), y)
            self.loss_sum.assign_add(tf.cast(loss, tf.float64) * n)
            self.correct.assign_add(tf.reduce_sum(tf.cast(hits, tf.float64)))
            self.seen.assign_add(n)

        self._step = tf.function(step, input_signature=signature, reduce_retracing=signature is None)

    def __call__(self, x, y) -> None:
        self._step(x, y)

    def load(self, model: keras.Model) -> None:
        """Start a fit of ``model``: its weights in, a fresh optimizer state (no-op for itself)."""
        if model is not self.model:
            _copy_variables(model.variables, self.model.variables)
            for v, fresh in zip(self.model.optimizer.variables, self._fresh_optimizer):
                v.assign(fresh)

    def store(self, model: keras.Model) -> None:
        """The trained weights (and BatchNorm statistics, seed states) back into ``model``."""
        if model is not self.model:
            _copy_variables(self.model.variables, model.variables)

    def reset(self) -> None:
        for v in (self.loss_sum, self.correct, self.seen):
            v.assign(0.0)

    def result(self) -> dict[str, float]:
        seen = max(float(self.seen.numpy()), 1.0)
        return {"loss": float(self.loss_sum.numpy()) / seen, "accuracy": float(self.correct.numpy()) / seen}


# One traced step per architecture, not per model: Lesson 01 alone trains ~45 models of
# ~10 architectures, and tracing plus graph optimisation costs as much as ~40 steps each.
_STEPS: OrderedDict[str, _TrainStep] = OrderedDict()
_STEPS_KEPT = 16                # least recently used architectures are dropped beyond this
_STEPS_MAX_PARAMS = 5_000_000   # bigger models train long enough to pay for their own trace


def _remember(cache: OrderedDict, key: str, value: Any) -> Any:
    """Keep ``value`` as the most recently used entry of ``cache``; drop the least recently
    used entries beyond ``_STEPS_KEPT``. Returns ``value``."""
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _STEPS_KEPT:
        cache.popitem(last=False)
    return value


def _copy_variables(source: list, target: list) -> None:
    for src, dst in zip(source, target):
        dst.assign(src)


def _variables_spec(model: keras.Model) -> list[tuple]:
    """Path, shape, dtype and trainability of every variable (seed generators numbered apart)."""
    return [(re.sub(r"seed_generator_\d+", "seed_generator", v.path), tuple(v.shape), str(v.dtype),
             bool(v.trainable)) for v in model.variables]


def _architecture_key(model: keras.Model, signature: list | None, optimizer: Any = None,
                      strip: tuple[str, ...] = ()) -> str | None:
    """What a traced step of ``model`` computes, as a string, or None if that cannot be told.

    ``optimizer``: the optimizer's part of the key, if not ``model.optimizer``'s config
    (:func:`tlhelpers.keras.finetune.fit` leaves out the rate it loads into the step).

    Only models made entirely of Keras's own layers qualify: their configs (layer types,
    settings, wiring, ``trainable`` flags, dtype policies) determine the computation. A
    custom layer may keep state its config does not show, and a ``Lambda`` (or a lambda
    activation) may close over Python values, so models holding either are never shared.
    Layer names stay in the key (models with automatic names such as ``dense_7`` do not
    share; the course's models name every layer); the optimizer's automatic name does not.
    """
    from .params import walk_layers

    if model.count_params() > _STEPS_MAX_PARAMS:
        return None
    if not all(type(layer).__module__.startswith("keras.") for layer in walk_layers(model)):
        return None
    try:
        architecture = keras.saving.serialize_keras_object(model)
        architecture.pop("compile_config", None)  # optimizer and loss: below, without names
        if strip:  # a key for inference: the architecture only (the model may be uncompiled)
            parts = _without(architecture, strip)
        else:
            if optimizer is None:
                optimizer = _unnamed(keras.saving.serialize_keras_object(model.optimizer))
            parts = [architecture, optimizer, _unnamed(keras.saving.serialize_keras_object(model.loss))]
        config = json.dumps(parts, sort_keys=True, default=str)
    except Exception:  # noqa: BLE001 - anything that does not serialise is simply not shared
        return None
    if '"Lambda"' in config or "__lambda__" in config:
        return None
    spec = _variables_spec(model)
    if "trainable" in strip:
        spec = [v[:3] for v in spec]
    return json.dumps([config, spec, repr(signature)])


def _without(config: Any, keys: tuple[str, ...]) -> Any:
    """A config without the entries named ``keys``, at every depth."""
    if isinstance(config, dict):
        return {k: _without(v, keys) for k, v in config.items() if k not in keys}
    if isinstance(config, list):
        return [_without(v, keys) for v in config]
    return config


def _unnamed(config: Any) -> Any:
    """A config without its names (``adam_3``: a counter, not a setting)."""
    if isinstance(config, dict):
        return {k: _unnamed(v) for k, v in config.items() if k != "name"}
    if isinstance(config, list):
        return [_unnamed(v) for v in config]
    return config


def _train_step(model: keras.Model, signature: list | None) -> _TrainStep:
    """The traced step for ``model``'s architecture, loaded with ``model``'s weights.

    The step runs on a private copy of the architecture (a template): ``load`` copies the
    model's variables in and resets the optimizer, ``store`` copies the result back. Same
    graph, same values: the same numbers as a step traced for ``model`` itself.
    """
    key = _architecture_key(model, signature)
    if key is None:
        return _TrainStep(model, signature)
    step = _STEPS.get(key)
    if step is None:
        template = keras.models.clone_model(model)
        if _variables_spec(template) != _variables_spec(model):
            return _TrainStep(model, signature)
        template.compile(optimizer=keras.optimizers.deserialize(keras.optimizers.serialize(model.optimizer)),
                         loss=model.loss)
        step = _TrainStep(template, signature)
    _remember(_STEPS, key, step)
    step.load(model)
    return step


def _input_signature(data: Any, x: np.ndarray | None) -> list | None:
    """Specs with a free batch dimension, so every batch size shares one traced graph."""
    import tensorflow as tf

    if x is not None:
        return [tf.TensorSpec((None, *x.shape[1:]), tf.float32), tf.TensorSpec((None,), tf.int64)]
    spec = data.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise ValueError("a tf.data.Dataset given to fit must yield (images, labels) batches, "
                         f"got elements {spec}.")
    return None  # tf.data batches already have a free batch dimension


def _inference_function(model: keras.Model):
    """``x -> model(x, training=False)`` traced once per model for any batch size.

    Kept on the model (like Keras's own ``predict_function``) and dropped when
    :func:`fit` recompiles it. ``model.predict`` traces its own function per model and
    again for every new batch shape, and runs a data adapter and an iterator per call;
    for the course's small models and arrays that machinery costs more than the forward
    pass.
    """
    import tensorflow as tf

    fn = getattr(model, "_tlh_inference", None)
    if fn is None:
        fn = tf.function(lambda x: model(x, training=False), input_signature=_image_signature(model),
                         reduce_retracing=True)
        object.__setattr__(model, "_tlh_inference", fn)  # not a tracked Keras attribute
    return fn


def _image_signature(model: keras.Model) -> list | None:
    import tensorflow as tf

    shape = getattr(model, "input_shape", None)
    if isinstance(shape, tuple) and shape and all(isinstance(d, (int, type(None))) for d in shape):
        return [tf.TensorSpec((None, *shape[1:]), tf.float32)]
    return None


# One traced forward pass per architecture, as for the training step: Lesson 01 evaluates
# ~60 freshly trained models of a few architectures, and tracing costs ~50 forward batches.
_INFERENCE: OrderedDict[str, keras.Model] = OrderedDict()


def _inference_key(model: keras.Model) -> str | None:
    """What ``model(x, training=False)`` computes, as a string (cached on the model), or None.

    The training step's key (:func:`_architecture_key`) without what inference ignores:
    the optimizer, the loss and the ``trainable`` flags (a frozen and a fine-tuned copy of
    one architecture share their forward pass).
    """
    layers = tuple(id(layer) for layer in model.layers)
    cached = model.__dict__.get("_tlh_inference_key")
    if cached is not None and cached[0] == layers:
        return cached[1]
    key = _architecture_key(model, None, strip=("trainable", "compile_config"))
    object.__setattr__(model, "_tlh_inference_key", (layers, key))
    return key


def _shared_forward(model: keras.Model):
    """The forward pass of ``model``'s architecture, run with ``model``'s current weights."""
    key = _inference_key(model)
    if key is None or _image_signature(model) is None:
        return _inference_function(model)
    template = _INFERENCE.get(key)
    if template is None:
        template = keras.models.clone_model(model)
        if [tuple(v.shape) for v in template.variables] != [tuple(v.shape) for v in model.variables]:
            return _inference_function(model)
    _remember(_INFERENCE, key, template)
    _copy_variables(model.variables, template.variables)
    return _inference_function(template)


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
    forward = _shared_forward(model)
    # Results are fetched once at the end, so a GPU never waits for the host between batches.
    outputs = [forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    if not outputs:
        return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    return np.concatenate([np.asarray(o) for o in outputs])


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
