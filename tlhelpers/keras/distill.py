"""Knowledge distillation and compression in Keras 3: the temperature softmax, the KD loss,
a ``Distiller`` model whose ``train_step`` works with ``fit``, the course's student, a
teacher maker, magnitude pruning, int8 quantisation through TFLite and the compression
report.

Mirrors :mod:`tlhelpers.torch.distill` name for name; the formulas, the NumPy references
and the student's description are in :mod:`tlhelpers.distill`:

    kd_loss = α · CE(y, z_s) + (1 − α) · T² · KL(softmax(z_t/T) ‖ softmax(z_s/T))   (batch means)

Quantisation here is what the installed TensorFlow supports: the TFLite converter
(dynamic-range and full-integer int8 with a representative dataset), evaluated with the
TFLite interpreter (:class:`TFLiteModel`). TensorFlow 2.21 still ships both, with a
notice that the interpreter moves to the ``ai_edge_litert`` package.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from .. import checks
from .. import distill as core
from ..checks import positive_int
from ..distill import (STUDENT_CNN, CompressionReport, FeatureHint, check_alpha, check_logit_values,
                       check_same_classes, check_sparsity, check_temperature, median_latency)
from .backbones import build_classifier, course_cnn
from .params import count_parameters, freeze, walk_layers
from .training import _as_xy, evaluate, fit, predict

__all__ = [
    "Distiller",
    "FeatureHint",
    "TFLiteModel",
    "attention_map",
    "attention_transfer_loss",
    "compression_report",
    "distill",
    "hint_loss",
    "kd_loss",
    "magnitude_prune",
    "make_teacher",
    "prunable_weights",
    "quantize_dynamic",
    "quantize_static",
    "soft_target_loss",
    "sparsity_sweep",
    "student_cnn",
    "teacher_hard_labels",
    "temperature_softmax",
    "to_tflite",
]


# --------------------------------------------------------------------------------------
# Temperature softmax and the KD loss
# --------------------------------------------------------------------------------------

def _eager(x) -> bool:
    """Whether ``x`` has values now (not a symbolic tensor inside a compiled step)."""
    import tensorflow as tf

    return tf.executing_eagerly() and not isinstance(x, keras.KerasTensor)


def _check_logits(x: Any, name: str):
    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a tensor or an array of logits, got {x!r}.")
    x = ops.convert_to_tensor(x)
    shape = tuple(x.shape)
    if len(shape) != 2 or (shape[1] is not None and shape[1] < 2) or "float" not in str(x.dtype):
        raise ValueError(f"{name} must be float logits of shape (batch, classes) with at least "
                         f"2 classes, got {x.dtype} of shape {shape}.")
    return x


def _check_pair(student_logits: Any, teacher_logits: Any):
    s, t = _check_logits(student_logits, "student_logits"), _check_logits(teacher_logits, "teacher_logits")
    for name, x in (("student_logits", s), ("teacher_logits", t)):
        if _eager(x):
            check_logit_values(ops.convert_to_numpy(x), name)
    if s.shape[1] is not None and t.shape[1] is not None:
        check_same_classes(s.shape[1], t.shape[1])
    if s.shape[0] is not None and t.shape[0] is not None and s.shape[0] != t.shape[0]:
        raise ValueError(f"student_logits and teacher_logits must hold the same examples: "
                         f"{s.shape[0]} and {t.shape[0]} rows.")
    return s, ops.cast(t, s.dtype)


def temperature_softmax(logits: Any, temperature: float = 1.0):
    """``softmax(z / T)`` over the last axis: the soft targets at temperature T."""
    t = check_temperature(temperature)
    return ops.softmax(ops.convert_to_tensor(logits) / t, axis=-1)


def soft_target_loss(student_logits: Any, teacher_logits: Any, temperature: float):
    """``T² · KL(softmax(z_t/T) ‖ softmax(z_s/T))``: KL summed over classes, averaged over the
    batch (``batchmean``), from **log**-probabilities of both sides; the teacher's side is
    wrapped in ``stop_gradient``."""
    t = check_temperature(temperature)
    s, z_t = _check_pair(student_logits, teacher_logits)
    log_p_s = ops.log_softmax(s / t, axis=-1)
    log_p_t = ops.log_softmax(ops.stop_gradient(z_t) / t, axis=-1)
    kl = ops.sum(ops.exp(log_p_t) * (log_p_t - log_p_s), axis=-1)
    return ops.mean(kl) * (t * t)


def kd_loss(student_logits: Any, teacher_logits: Any, labels: Any = None, *,
            temperature: float, alpha: float):
    """``α · CE(y, z_s) + (1 − α) · T² · KL(p_t^T ‖ p_s^T)`` (Hinton et al. 2015).

    Args:
        student_logits, teacher_logits: ``(N, C)`` logits, the same C.
        labels: ``(N,)`` integer classes; needed unless ``alpha == 0``.
        temperature: T > 0 of both softmaxes in the soft term (the hard term is at T = 1).
        alpha: weight of the hard-label term in [0, 1]; ``1 − alpha`` weighs the soft term.

    Equal to :func:`tlhelpers.distill.kd_loss` (the NumPy reference), gradient included.
    """
    t, a = check_temperature(temperature), check_alpha(alpha)
    loss = (1.0 - a) * soft_target_loss(student_logits, teacher_logits, t)
    if labels is None:
        if a != 0.0:
            raise ValueError(f"labels are needed when alpha > 0 (alpha={alpha!r} weighs the "
                             "hard-label loss); pass alpha=0 to distil from soft targets only.")
        return loss
    y = ops.convert_to_tensor(labels)
    s = ops.convert_to_tensor(student_logits)
    if len(y.shape) != 1 or "float" in str(y.dtype) or \
            (y.shape[0] is not None and s.shape[0] is not None and y.shape[0] != s.shape[0]):
        raise ValueError(f"labels must be integer classes of shape ({s.shape[0]},), got "
                         f"{y.dtype} of shape {tuple(y.shape)}.")
    if _eager(y):
        core._labels(ops.convert_to_numpy(y), y.shape[0], s.shape[1])  # in [0, classes)
    hard = ops.mean(keras.losses.sparse_categorical_crossentropy(y, s, from_logits=True))
    return loss + a * ops.cast(hard, loss.dtype)


# --------------------------------------------------------------------------------------
# Feature hints
# --------------------------------------------------------------------------------------

def attention_map(features: Any):
    """``normalise(vec(mean_c A_c²))`` of ``(N, H, W, C)`` feature maps → ``(N, H·W)``."""
    a = _maps(features, "features")
    if len(a.shape) != 4:
        raise ValueError(f"features must be (N, H, W, C) feature maps, got shape {tuple(a.shape)}.")
    q = ops.reshape(ops.mean(a * a, axis=-1), (ops.shape(a)[0], -1))
    return q / ops.maximum(ops.sqrt(ops.sum(q * q, axis=1, keepdims=True)), 1e-12)


def _maps(x: Any, name: str):
    """Feature maps as a tensor: not None or a string, finite where the values are known."""
    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a tensor or an array of feature maps, got {x!r}.")
    x = ops.convert_to_tensor(x)
    if _eager(x) and not np.isfinite(ops.convert_to_numpy(x)).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return x


def attention_transfer_loss(student_features: Any, teacher_features: Any):
    """``mean (Q_s − Q_t)²`` of the attention maps (Zagoruyko & Komodakis 2017); the
    teacher's side is wrapped in ``stop_gradient``. Same N, H, W; channels may differ."""
    s, t = _maps(student_features, "student_features"), _maps(teacher_features, "teacher_features")
    if len(s.shape) != 4 or len(t.shape) != 4 or tuple(s.shape[1:3]) != tuple(t.shape[1:3]) or \
            None not in (s.shape[0], t.shape[0]) and s.shape[0] != t.shape[0]:
        raise ValueError(f"student_features and teacher_features must be (N, H, W, C) feature maps "
                         f"with the same N, H and W (channels may differ), got student "
                         f"{tuple(s.shape)} and teacher {tuple(t.shape)}.")
    d = attention_map(s) - attention_map(ops.stop_gradient(ops.cast(t, s.dtype)))
    return ops.mean(d * d)


def hint_loss(regressed: Any, teacher_features: Any):
    """FitNets' hint loss: mean squared error to the (stop-gradient) teacher features."""
    r, t = _maps(regressed, "regressed"), _maps(teacher_features, "teacher_features")
    if len(r.shape) != len(t.shape) or any(a is not None and b is not None and a != b
                                           for a, b in zip(r.shape, t.shape)):
        raise ValueError(f"regressed (the student's regressed features) and teacher_features must "
                         f"have the same shape, got {tuple(r.shape)} and {tuple(t.shape)}.")
    d = r - ops.stop_gradient(ops.cast(t, r.dtype))
    return ops.mean(d * d)


def _find_layer(model: keras.Model, name: str, what: str) -> tuple[keras.Model, keras.layers.Layer]:
    """(the functional model that owns layer ``name``, the layer): ``model`` itself or a
    model nested in it (a backbone inside ``build_classifier``)."""
    owners = [model] + [m for m in walk_layers(model) if isinstance(m, keras.Model) and m is not model]
    for owner in owners:
        try:
            return owner, owner.get_layer(name)
        except (ValueError, AttributeError):
            continue
    names = [layer.name for layer in walk_layers(model)][1:13]
    raise ValueError(f"{what} {name!r} is not a layer of {model.name!r}; some names: {', '.join(names)}.")


# --------------------------------------------------------------------------------------
# The Distiller
# --------------------------------------------------------------------------------------

class Distiller(keras.Model):
    """Train ``student`` to match a frozen ``teacher`` with :func:`kd_loss` (+ a feature hint).

    ``compile(optimizer=...)`` then ``fit(x, y)`` (or :func:`distill`). The teacher is
    frozen **in place** (``trainable = False``: its BatchNorm runs in inference mode and
    nothing of it is updated) and called with ``training=False`` under ``stop_gradient``
    (COURSE.md §5 item 9). Only the student's trainable weights (and a FitNets
    regressor's) are updated. ``call(x)`` is the student's.

    ``y`` may be the labels, ``None`` (images only; needs ``alpha == 0``), or a dict
    ``{"labels": ..., "teacher_logits": ...}`` with the teacher's logits computed earlier
    (offline distillation: the teacher is not run).

    Metrics: ``loss``, ``soft_loss`` (T²·KL), ``hard_loss`` (CE), ``hint_loss``
    (unweighted) and the student's ``accuracy`` on labelled batches.
    """

    def __init__(self, student: keras.Model, teacher: keras.Model, *, temperature: float = 4.0,
                 alpha: float = 0.1, hint: FeatureHint | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, m in (("student", student), ("teacher", teacher)):
            if not isinstance(m, keras.Model):
                raise TypeError(f"{name} must be a Keras model, got {type(m).__name__}.")
        if student is teacher:
            raise ValueError("student and teacher must be different models.")
        if hint is not None and not isinstance(hint, FeatureHint):
            raise TypeError(f"hint must be a FeatureHint or None, got {type(hint).__name__}.")
        check_same_classes(student.output_shape[-1], teacher.output_shape[-1])
        self.temperature = check_temperature(temperature)
        self.alpha = check_alpha(alpha)
        self.student = student
        self.teacher = freeze(teacher)
        self.hint = hint
        self.regressor = None
        if hint is not None:
            owner, layer = _find_layer(student, hint.student_layer, "hint.student_layer")
            if owner is not student:
                raise ValueError(f"hint.student_layer {hint.student_layer!r} must be a layer of the "
                                 "student itself (not of a model nested in it).")
            self.student_taps = keras.Model(student.inputs[0], [layer.output, student.outputs[0]])
            t_owner, t_layer = _find_layer(teacher, hint.teacher_layer, "hint.teacher_layer")
            self.teacher_taps = keras.Model(t_owner.inputs[0], t_layer.output)
            fs, ft = tuple(layer.output.shape), tuple(t_layer.output.shape)
            if len(fs) != 4 or len(ft) != 4 or fs[1:3] != ft[1:3]:
                raise ValueError(f"hint layers must give (N, H, W, C) maps of the same H×W: student "
                                 f"{hint.student_layer!r} {fs}, teacher {hint.teacher_layer!r} {ft}.")
            if hint.method == "fitnets":
                self.regressor = layers.Conv2D(ft[-1], 1, use_bias=False, name="hint_regressor")
                self.regressor.build(fs)
        self.trackers = {n: keras.metrics.Mean(name=n) for n in ("loss", "soft_loss", "hard_loss", "hint_loss")}
        self.accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

    @property
    def metrics(self):
        return [*self.trackers.values(), self.accuracy]

    def call(self, x, training=False):
        return self.student(x, training=training)

    def _train_variables(self) -> list:
        variables = list(self.student.trainable_variables)
        if self.regressor is not None:
            variables += list(self.regressor.trainable_variables)
        return variables

    def step_losses(self, x, labels=None, teacher_logits=None, training: bool = True) -> dict[str, Any]:
        """``loss``, ``soft_loss``, ``hard_loss``, ``hint_loss`` (unweighted) and ``logits``."""
        if teacher_logits is None:
            teacher_logits = self.teacher(x, training=False)
        elif self.hint is not None:
            raise ValueError("teacher_logits cannot be used with a feature hint: the hint needs "
                             "the teacher's features, so the teacher must run.")
        teacher_logits = ops.stop_gradient(teacher_logits)
        if self.hint is None:
            logits = self.student(x, training=training)
        else:
            features, logits = self.student_taps(x, training=training)
        loss = kd_loss(logits, teacher_logits, labels, temperature=self.temperature, alpha=self.alpha)
        soft = soft_target_loss(ops.stop_gradient(logits), teacher_logits, self.temperature)
        hard = ops.zeros((), dtype=loss.dtype) if labels is None else ops.mean(
            keras.losses.sparse_categorical_crossentropy(labels, ops.stop_gradient(logits), from_logits=True))
        hint = ops.zeros((), dtype=loss.dtype)
        if self.hint is not None:
            target = ops.stop_gradient(self.teacher_taps(x, training=False))
            if self.hint.method == "attention":
                hint = attention_transfer_loss(features, target)
            else:
                hint = hint_loss(self.regressor(features), target)
            loss = loss + self.hint.loss_weight * ops.cast(hint, loss.dtype)
        return {"loss": loss, "soft_loss": soft, "hard_loss": hard, "hint_loss": ops.stop_gradient(hint),
                "logits": logits}

    @staticmethod
    def _unpack(data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if isinstance(y, dict):
            return x, y.get("labels"), y.get("teacher_logits")
        return x, y, None

    def train_step(self, data):
        import tensorflow as tf

        x, labels, teacher_logits = self._unpack(data)
        variables = self._train_variables()
        with tf.GradientTape() as tape:
            out = self.step_losses(x, labels, teacher_logits, training=True)
            loss = out["loss"] + (ops.sum(self.student.losses) if self.student.losses else 0.0)
        grads = tape.gradient(loss, variables)
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        self.optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
        for name, tracker in self.trackers.items():
            tracker.update_state(out[name])
        if labels is not None:
            self.accuracy.update_state(labels, out["logits"])
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, labels, teacher_logits = self._unpack(data)
        out = self.step_losses(x, labels, teacher_logits, training=False)
        for name, tracker in self.trackers.items():
            tracker.update_state(out[name])
        if labels is not None:
            self.accuracy.update_state(labels, out["logits"])
        return {m.name: m.result() for m in self.metrics}


def _distill_inputs(data: Any, alpha: float) -> tuple[np.ndarray, np.ndarray | None]:
    if hasattr(data, "y") or (isinstance(data, (tuple, list)) and len(data) == 2):
        return _as_xy(data)
    if alpha != 0.0:
        raise ValueError(f"data holds images without labels, which needs alpha=0 (got alpha={alpha}).")
    x = np.asarray(getattr(data, "x", data), dtype=np.float32)
    if x.ndim != 4:
        raise ValueError(f"data must hold images (N, H, W, C), got shape {x.shape}.")
    return x, None


def distill(student: keras.Model, teacher: keras.Model, data: Any, *, temperature: float = 4.0,
            alpha: float = 0.1, hint: FeatureHint | None = None, epochs: int = 1,
            batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 0.0,
            augment: Callable[[np.ndarray], np.ndarray] | None = None, validation: Any = None,
            seed: int | None = None, progress: bool = True,
            teacher_logits: Any = None) -> dict[str, list[float]]:
    """Distil ``teacher`` into ``student`` (in place) on the transfer set ``data``.

    ``data``: a Dataset or ``(x, y)`` pair (NHWC images), or images alone when
    ``alpha == 0``. Adam (``epsilon=1e-7``; decoupled weight decay when asked), as
    :func:`tlhelpers.keras.training.fit`; ``augment`` redraws the images every epoch and
    the teacher sees the same augmented images as the student (Hinton's jitter).
    ``teacher_logits``: the teacher's logits for the images of ``data``, computed once
    (offline distillation: the same result without augmentation, the teacher not run).

    Returns per-epoch means of ``loss``, ``soft_loss``, ``hard_loss``, ``hint_loss`` and
    (with labels) ``accuracy``; ``val_loss``/``val_accuracy`` of the student with
    ``validation``. The teacher is frozen in place.
    """
    from tqdm.auto import tqdm

    epochs, batch_size = positive_int(epochs, "epochs"), positive_int(batch_size, "batch_size")
    distiller = Distiller(student, teacher, temperature=temperature, alpha=alpha, hint=hint)
    core.check_transfer_set(data, num_classes=student.output_shape[-1], lr=lr, weight_decay=weight_decay,
                            seed=seed, progress=progress)
    x, y = _distill_inputs(data, distiller.alpha)
    expected = tuple(student.input_shape[1:])
    if any(e is not None and e != s for e, s in zip(expected, x.shape[1:])):
        raise ValueError(f"data has images of shape {x.shape[1:]}, but the student takes {expected}.")
    targets: Any = y
    if teacher_logits is not None:
        if augment is not None:
            raise ValueError("teacher_logits are the teacher's logits for the un-augmented images; "
                             "with augment the teacher must see each augmented batch (drop teacher_logits).")
        t = np.asarray(teacher_logits, dtype=np.float32)
        if t.ndim != 2 or len(t) != len(x):
            raise ValueError(f"teacher_logits must be (N, classes) for the N = {len(x)} images of data, "
                             f"got shape {t.shape}.")
        targets = {"teacher_logits": t} if y is None else {"labels": y, "teacher_logits": t}
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    distiller.compile(optimizer=keras.optimizers.Adam(learning_rate=lr, epsilon=1e-7,
                                                      weight_decay=weight_decay if weight_decay else None))
    history: dict[str, list[float]] = {}
    bar = tqdm(range(epochs), desc="distill", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        x_epoch = augment(x) if augment is not None else x
        if x_epoch.shape != x.shape:
            raise ValueError(f"augment changed the shape of the images: {x.shape} -> {x_epoch.shape}.")
        logs = distiller.fit(x_epoch, targets, batch_size=batch_size, epochs=epoch + 1, initial_epoch=epoch,
                             shuffle=True, verbose=0).history
        for k, v in logs.items():
            if k != "accuracy" or y is not None:
                history.setdefault(k, []).append(float(v[-1]))
        if validation is not None:
            val = evaluate(student, validation, batch_size=max(batch_size, 256))
            history.setdefault("val_loss", []).append(val["loss"])
            history.setdefault("val_accuracy", []).append(val["accuracy"])
        bar.set_postfix({k: f"{v[-1]:.3f}" for k, v in history.items()})
    return history


# --------------------------------------------------------------------------------------
# The student and the teacher
# --------------------------------------------------------------------------------------

def student_cnn(num_classes: int = 10, *, width: int = STUDENT_CNN["width"],
                name: str = "student_cnn") -> keras.Model:
    """A small plain CNN for the same 32×32 RGB [0, 1] images as ``course_cnn``, with logits.

    Three conv3×3/stride 2 (no bias, symmetric zero padding as in PyTorch) → BatchNorm →
    ReLU blocks, ``width·(1, 2, 4)`` channels (the ReLU layers are named ``block1``…
    ``block3``: 16×16, 8×8 and 4×4 maps), global average pooling, a Dense ``head``.
    width 16 + 10 classes: 24 346 parameters, 12.7× fewer than course_cnn with a head;
    identical to the PyTorch track's, layer for layer.
    """
    num_classes = positive_int(num_classes, "num_classes")
    if num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}.")
    width = positive_int(width, "width")
    inputs = keras.Input(STUDENT_CNN["input_shape"], name="image")
    x = layers.Rescaling(STUDENT_CNN["input_scale"], STUDENT_CNN["input_offset"], name="scale")(inputs)
    for i, (mult, stride) in enumerate(zip(STUDENT_CNN["stage_multipliers"], STUDENT_CNN["stage_strides"]), 1):
        x = layers.ZeroPadding2D(1, name=f"block{i}_pad")(x)
        x = layers.Conv2D(width * mult, 3, strides=stride, padding="valid", use_bias=False,
                          kernel_initializer="he_normal", name=f"block{i}_conv")(x)
        x = layers.BatchNormalization(epsilon=STUDENT_CNN["bn_epsilon"],
                                      momentum=1.0 - STUDENT_CNN["bn_momentum"], name=f"block{i}_bn")(x)
        x = layers.ReLU(name=f"block{i}")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    logits = layers.Dense(num_classes, name="head")(x)
    return keras.Model(inputs, logits, name=name)


def make_teacher(data: Any, *, epochs: int = 5, lr: float = 3e-4, batch_size: int = 64,
                 fine_tune: bool = True, weights: str | None = None, augment=None,
                 validation: Any = None, seed: int | None = 0, progress: bool = True) -> keras.Model:
    """A teacher: the course-pretrained ``course_cnn`` with a new head, trained on ``data``.

    ``fine_tune=True`` trains every layer (BatchNorm keeps its pretrained statistics,
    ``build_classifier``'s ``bn_inference``); ``False`` trains the head only. ``weights``:
    another ``course_cnn`` weights file.
    """
    core.check_make_teacher(data, epochs=epochs, lr=lr, batch_size=batch_size, fine_tune=fine_tune,
                            seed=seed, progress=progress)
    _, y = _as_xy(data)
    num_classes = len(getattr(data, "class_names", ())) or int(y.max()) + 1
    if seed is not None:  # the new head's initial weights too, not only fit's shuffling
        from ..seeding import seed_everything

        seed_everything(seed)
    backbone = course_cnn(pretrained=True, weights=weights)
    model = build_classifier(backbone, num_classes, freeze_backbone=not fine_tune)
    fit(model, data, epochs=epochs, lr=lr, batch_size=batch_size, augment=augment,
        validation=validation, seed=seed, progress=progress)
    return model


def _check_teacher(teacher: Any) -> None:
    """The contract's error for a non-model or a backbone (it outputs features, not logits)."""
    if not isinstance(teacher, keras.Model):
        checks.fail("teacher", "a Keras classifier", checks.Received(type(teacher).__name__))
    last = teacher.layers[-1] if teacher.layers else None
    while isinstance(last, keras.Model) and last.layers:
        last = last.layers[-1]
    if isinstance(last, (layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D)):
        checks.classifier_expected("teacher", teacher.output_shape[-1])


def teacher_hard_labels(teacher: keras.Model, data: Any, batch_size: int = 256) -> np.ndarray:
    """The teacher's predicted class for every image of ``data`` (int64): pseudo-labels."""
    _check_teacher(teacher)
    batch_size = positive_int(batch_size, "batch_size")
    return predict(teacher, getattr(data, "x", data), batch_size).argmax(1).astype(np.int64)


# --------------------------------------------------------------------------------------
# Magnitude pruning (the course's own: no maintained library prunes Keras 3 models)
# --------------------------------------------------------------------------------------

_PRUNABLE = (layers.Conv2D, layers.Dense, layers.DepthwiseConv2D)


def prunable_weights(model: keras.Model) -> dict[str, Any]:
    """Every convolution and dense kernel of ``model`` by variable path (biases and
    BatchNorm parameters are not pruned)."""
    if not isinstance(model, keras.layers.Layer):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}.")
    out = {}
    for layer in walk_layers(model):
        if isinstance(layer, _PRUNABLE):
            kernel = layer.depthwise_kernel if isinstance(layer, layers.DepthwiseConv2D) else layer.kernel
            out[kernel.path] = kernel
    if not out:
        raise ValueError("model has no Conv2D, DepthwiseConv2D or Dense kernels to prune.")
    return out


def magnitude_prune(model: keras.Model, sparsity: float, *, scope: str = "global") -> dict[str, np.ndarray]:
    """Zero the smallest-magnitude conv and dense kernels of ``model``, in place.

    ``scope="global"``: one threshold across all those kernels; ``"layer"``: ``sparsity``
    of each kernel. The masks come from :func:`tlhelpers.distill.magnitude_masks` (the
    reference) and are applied once: later training may move the zeros again. Returns
    the masks ``{variable path: bool array}`` (True = kept).
    """
    s = check_sparsity(sparsity)
    if scope not in core.PRUNING_SCOPES:
        raise ValueError(f"scope must be one of {core.PRUNING_SCOPES}, got {scope!r}.")
    weights = prunable_weights(model)
    masks = core.magnitude_masks({k: np.asarray(v) for k, v in weights.items()}, s, scope=scope)
    for k, v in weights.items():
        v.assign(np.asarray(v) * masks[k])
    return masks


def _copy_model(model: keras.Model) -> keras.Model:
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def sparsity_sweep(model: keras.Model, data: Any, sparsities: Iterable[float] = (0.0, 0.5, 0.75, 0.9, 0.95),
                   *, scope: str = "global", latency_repeats: int = 20) -> list[CompressionReport]:
    """One-shot magnitude pruning of copies of ``model`` at each sparsity (no retraining),
    each with its :func:`compression_report` on ``data``. ``model`` is not changed."""
    prunable_weights(model)  # a model with weights to prune
    checks.one_of(scope, "scope", core.PRUNING_SCOPES)
    core.check_report(data, repeats=positive_int(latency_repeats, "latency_repeats"))
    sparsities = [check_sparsity(s, "sparsities") for s in sparsities]
    reports = []
    for s in sparsities:
        pruned = _copy_model(model)
        if s > 0:
            magnitude_prune(pruned, s, scope=scope)
        reports.append(compression_report(pruned, data, name=f"{scope} {s:.0%}", repeats=latency_repeats))
    return reports


# --------------------------------------------------------------------------------------
# int8 quantisation (TFLite)
# --------------------------------------------------------------------------------------

@contextlib.contextmanager
def _silenced():
    """Keep the converter's and interpreter's chatter (Python prints, C++ logs on the file
    descriptors, deprecation notices) out of a notebook's output: nbgrader scores a test
    cell zero when anything reaches stderr."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with warnings.catch_warnings(), contextlib.redirect_stdout(open(os.devnull, "w")) as out:
            warnings.simplefilter("ignore")
            try:
                yield
            finally:
                out.close()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


class TFLiteModel:
    """A converted TFLite flatbuffer run by the TFLite interpreter, with the Keras model's
    interface where the course needs it: ``model(x)`` / ``predict(x)`` → float logits.

    Attributes: ``content`` (the flatbuffer bytes), ``mode`` (``"float"``, ``"dynamic"``,
    ``"int8"``), ``input_shape`` (``(None, H, W, C)``), ``source_parameters`` and
    ``source_nonzero`` (counted on the Keras model it came from).
    """

    def __init__(self, content: bytes, mode: str, source: keras.Model, num_threads: int | None = None) -> None:
        import tensorflow as tf

        if not isinstance(content, (bytes, bytearray)) or not content:
            checks.fail("content", "the bytes of a .tflite flatbuffer (to_tflite makes them)",
                        checks.Received(type(content).__name__) if content else content)
        checks.one_of(mode, "mode", ("float", "dynamic", "int8"))
        if not isinstance(source, keras.Model):
            checks.fail("source", "the Keras model the flatbuffer was converted from",
                        checks.Received(type(source).__name__))
        if num_threads is not None:
            checks.positive_int(num_threads, "num_threads")
        self.content, self.mode = bytes(content), mode
        self.input_shape = tuple(source.input_shape)
        self.output_shape = tuple(source.output_shape)
        self.name = f"{source.name}_tflite_{mode}"
        counts = count_parameters(source)
        self.source_parameters = counts.trainable + counts.frozen
        self.source_nonzero = int(sum(np.count_nonzero(np.asarray(w)) for w in _learnable(source)))
        with _silenced():
            self.interpreter = tf.lite.Interpreter(model_content=self.content, num_threads=num_threads)
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        self._batch = None

    def _run(self, x: np.ndarray) -> np.ndarray:
        it = self.interpreter
        if self._batch != len(x):
            it.resize_tensor_input(self._input["index"], [len(x), *x.shape[1:]])
            it.allocate_tensors()
            self._batch = len(x)
        it.set_tensor(self._input["index"], x)
        it.invoke()
        return it.get_tensor(self._output["index"])

    def __call__(self, x: Any, training: bool = False) -> np.ndarray:
        return self._run(np.ascontiguousarray(np.asarray(x, dtype=np.float32)))

    def predict(self, x: Any, batch_size: int = 256, verbose: int = 0) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        batch_size = positive_int(batch_size, "batch_size")
        return np.concatenate([self(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]) \
            if len(x) else np.empty((0, self.output_shape[-1]), np.float32)


def _learnable(model: keras.Model) -> list:
    """Learnable weights (trainable or frozen), BatchNorm statistics excluded."""
    state = set()
    for layer in walk_layers(model):
        if isinstance(layer, layers.BatchNormalization):
            state.update(id(v) for v in (layer.moving_mean, layer.moving_variance))
    return [v for v in model.weights if id(v) not in state]


def _representative(calibration: Any, model: keras.Model, batch_size: int):
    x = np.asarray(getattr(calibration, "x", calibration), dtype=np.float32)
    expected = tuple(model.input_shape[1:])
    if x.ndim != 4 or len(x) == 0 or any(e is not None and e != s for e, s in zip(expected, x.shape[1:])):
        raise ValueError(f"calibration must be at least one image of shape {expected}, got shape {x.shape}.")

    def batches():
        for i in range(0, len(x), batch_size):
            yield [x[i:i + batch_size]]
    return batches


def _convert(model: keras.Model, mode: str, calibration: Any = None, batch_size: int = 32) -> TFLiteModel:
    import tensorflow as tf

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}.")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode in ("dynamic", "int8"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "int8":
        converter.representative_dataset = _representative(calibration, model, batch_size)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with _silenced():
        content = converter.convert()
    return TFLiteModel(content, mode, model)


def to_tflite(model: keras.Model) -> TFLiteModel:
    """The float32 TFLite model (no quantisation): the baseline in the same runtime."""
    return _convert(model, "float")


def quantize_dynamic(model: keras.Model) -> TFLiteModel:
    """Post-training **dynamic-range** quantisation (TFLite ``Optimize.DEFAULT``, no
    calibration data): weights int8, activations float (quantised on the fly inside
    kernels that support it). Convolutions and dense layers both shrink."""
    return _convert(model, "dynamic")


def quantize_static(model: keras.Model, calibration: Any, *, batch_size: int = 32) -> TFLiteModel:
    """Post-training **full-integer** int8 quantisation (TFLite, ``TFLITE_BUILTINS_INT8``):
    weights and activations int8, activation ranges from the ``calibration`` images (the
    representative dataset); float input and output, so it is called like the model."""
    batch_size = positive_int(batch_size, "batch_size")
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}.")
    core.check_report(calibration, data_name="calibration")
    return _convert(model, "int8", calibration, batch_size)


# --------------------------------------------------------------------------------------
# The compression report
# --------------------------------------------------------------------------------------

def _threads() -> int:
    import tensorflow as tf

    n = tf.config.threading.get_intra_op_parallelism_threads()
    return int(n) if n else (os.cpu_count() or 1)


def compression_report(model: keras.Model | TFLiteModel, data: Any = None, *, name: str | None = None,
                       batch_size: int = 1, repeats: int = 50, warmup: int = 5) -> CompressionReport:
    """Parameters, sparsity, bytes on disk, CPU latency per image and (with ``data``) accuracy.

    * parameters: learnable weights, BatchNorm statistics excluded (for a
      :class:`TFLiteModel`, those of the Keras model it was converted from);
    * file: ``model.save_weights`` (``.weights.h5``) in a temporary folder, or the
      ``.tflite`` flatbuffer; and its zlib size;
    * latency: :func:`tlhelpers.distill.median_latency` of one forward pass over
      ``batch_size`` images (the first ones of ``data``, else random) — a compiled
      ``tf.function`` of ``model(x, training=False)``, or the TFLite interpreter;
    * accuracy: on ``data`` when it has labels.
    """
    import tensorflow as tf

    batch_size = positive_int(batch_size, "batch_size")
    core.check_report(data, name=name, repeats=repeats, warmup=warmup)
    if isinstance(model, TFLiteModel):
        params, nonzero = model.source_parameters, model.source_nonzero
        content = model.content
        fmt, notes = ".tflite", f"TFLite {model.mode}"
    elif isinstance(model, keras.Model):
        weights = _learnable(model)
        params = int(sum(np.prod(w.shape) for w in weights))
        nonzero = int(sum(np.count_nonzero(np.asarray(w)) for w in weights))
        content = None
        fmt, notes = ".weights.h5", "float32"
    else:
        raise TypeError(f"model must be a Keras model or a TFLiteModel, got {type(model).__name__}.")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("model.tflite" if content is not None else "model.weights.h5")
        if content is not None:
            path.write_bytes(content)
        else:
            model.save_weights(str(path))
        size, packed = core.file_bytes(path), core.zlib_bytes(path)
    shape = tuple(model.input_shape[1:])
    if data is not None:
        x = np.asarray(getattr(data, "x", data[0] if isinstance(data, (tuple, list)) else data),
                       dtype=np.float32)[:batch_size]
        if any(e is not None and e != s for e, s in zip(shape, x.shape[1:])):
            raise ValueError(f"data has images of shape {x.shape[1:]}, but the model takes {shape}.")
    elif None not in shape:
        x = np.random.default_rng(0).random((batch_size, *shape), dtype=np.float32)
    else:
        raise ValueError("compression_report needs data to time a model without a fixed input shape.")
    if isinstance(model, TFLiteModel):
        run = lambda: model(x)  # noqa: E731
    else:
        forward = tf.function(lambda t: model(t, training=False))
        x_t = tf.constant(x)
        run = lambda: forward(x_t).numpy()  # noqa: E731
    latency = median_latency(run, batch_size=len(x), repeats=repeats, warmup=warmup)
    accuracy = None
    if data is not None and (hasattr(data, "y") or isinstance(data, (tuple, list))):
        xs, ys = _as_xy(data)
        logits = model.predict(xs, batch_size=256, verbose=0) if isinstance(model, TFLiteModel) \
            else predict(model, xs)
        accuracy = float((np.asarray(logits).argmax(1) == ys).mean())
    return CompressionReport(name=name or model.name, parameters=params, nonzero=nonzero,
                             file_bytes=size, zlib_bytes=packed, latency=latency,
                             threads=_threads(), accuracy=accuracy, file_format=fmt, notes=notes)
