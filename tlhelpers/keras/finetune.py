"""Fine-tuning in Keras 3: block-wise unfreezing, discriminative learning rates, schedules,
gradual unfreezing, EWC and L2-SP, class weights, and a ``fit`` that combines them.

Mirrors :mod:`tlhelpers.torch.finetune` name for name; the framework-neutral parts (block
names, rate multipliers, unfreezing order, penalty references) are in
:mod:`tlhelpers.finetune`, the schedules in :mod:`tlhelpers.schedules`, class weights in
:mod:`tlhelpers.imbalance`.

A model here is a course backbone (``course_cnn`` or an ImageNet backbone from
:mod:`tlhelpers.keras.backbones`), usually inside a classifier from ``build_classifier``.
Its learnable variables fall into the backbone's blocks
(:data:`tlhelpers.finetune.BACKBONE_BLOCKS`) and one more block, ``"head"``: everything
outside the backbone. Variables are named by their Keras ``path`` (``"stage1_conv1/kernel"``).

Two Keras rules this module keeps for you (COURSE.md §5 item 15): a changed ``trainable``
takes effect only once the model is compiled again (:func:`fit` compiles;
:class:`GradualUnfreezing` gives ``fit`` a new optimizer and a new train function), and
BatchNorm layers of a fine-tuned backbone stay in inference mode unless asked otherwise.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from .. import finetune as core
from .. import imbalance
from .. import checks
from ..checks import positive_int
from ..finetune import HEAD
from ..schedules import get_schedule, schedule_values
from ..zoo import IMAGENET_ZOO
from . import training
from .layers import InferenceMode
from .params import walk_layers

__all__ = [
    "EWC",
    "L2SP",
    "GradualUnfreezing",
    "LRSchedule",
    "ParamGroupOptimizer",
    "PenalizedModel",
    "balanced_sampler",
    "block_names",
    "block_parameters",
    "check_param_groups",
    "class_weights",
    "ewc_penalty",
    "fisher_diagonal",
    "fit",
    "l2sp_penalty",
    "lr_schedule",
    "param_groups",
    "snapshot",
    "unfreeze",
]


# --------------------------------------------------------------------------------------
# Blocks: which variable belongs to which block
# --------------------------------------------------------------------------------------

# Layer names of each backbone as Keras builds it (keras.applications for ImageNet).
_RULES: dict[str, list[tuple[str, Callable[[re.Match], str]]]] = {
    "course_cnn": [(r"^(stem|stage1|stage2|stage3)_", lambda m: m[1])],
    "resnet50": [(r"^conv1_", lambda m: "stem"),
                 (r"^conv([2-5])_", lambda m: f"stage{int(m[1]) - 1}")],
    "vgg16": [(r"^block([1-5])_", lambda m: f"block{m[1]}")],
    "mobilenet_v2": [(r"^(Conv1|bn_Conv1)$", lambda m: "stem"),
                     (r"^expanded_conv_", lambda m: "stage1"),
                     (r"^block_(\d+)_", lambda m: f"stage{core.MOBILENET_V2_STAGES[int(m[1])]}"),
                     (r"^(Conv_1|Conv_1_bn)$", lambda m: "top")],
    "efficientnet_b0": [(r"^stem_", lambda m: "stem"),
                        (r"^block([1-7])[a-z]_", lambda m: f"stage{m[1]}"),
                        (r"^top_", lambda m: "top")],
    "densenet121": [(r"^conv1_", lambda m: "stem"),
                    (r"^(?:conv|pool)([2-5])_", lambda m: f"stage{int(m[1]) - 1}"),
                    (r"^bn$", lambda m: "stage4")],
}


def _check_model(model: Any) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}.")


def _check_data(model: Any, data: Any, what: str = "data") -> None:
    """The contract's checks of a classifier and its labelled images, before Keras runs: a
    model that outputs logits (not a backbone), finite images of its input shape, labels in
    ``[0, classes)``."""
    from .backbones import _classifier_outputs

    classes = _classifier_outputs(model)
    checks.image_data(data, what, expected=checks.model_input_shape(model), num_classes=classes)


def _find_backbone(model: keras.Model) -> tuple[str, keras.Model]:
    """(architecture, backbone model) of the course backbone inside ``model``."""
    _check_model(model)
    for layer in walk_layers(model):
        if not isinstance(layer, keras.Model):
            continue
        names = {sub.name for sub in layer.layers}
        if {"stem_conv", "stage1_conv1", "stage3_conv1"} <= names:
            return "course_cnn", layer
        arch = layer.name.removesuffix("_backbone")
        if layer.name.endswith("_backbone") and arch in IMAGENET_ZOO:
            return arch, layer
    raise ValueError("model must contain a course backbone (course_cnn or an ImageNet backbone from "
                     f"tlhelpers.keras.backbones), whose blocks are known; {model.name!r} has none.")


def _layer_block(arch: str, layer_name: str) -> str | None:
    for pattern, block in _RULES[arch]:
        match = re.match(pattern, layer_name)
        if match:
            return block(match)
    return None


def _learnable(model: keras.Model) -> dict[str, keras.Variable]:
    """Every learnable variable (trainable or frozen; not BatchNorm/Normalization statistics) by path."""
    state = set()
    for layer in walk_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            state |= {id(layer.moving_mean), id(layer.moving_variance)}
        elif isinstance(layer, keras.layers.Normalization):
            state |= {id(w) for w in layer.weights}
    named: dict[str, keras.Variable] = {}
    for v in model.weights:
        if id(v) in state:
            continue
        if v.path in named and named[v.path] is not v:
            raise ValueError(f"model has two variables with the path {v.path!r}; give its layers "
                             "unique names so that each variable can be told apart.")
        named[v.path] = v
    return named


def block_parameters(model: keras.Model) -> dict[str, dict[str, keras.Variable]]:
    """Every learnable variable of ``model`` (frozen ones too), by block, input to output.

    Returns ``{block: {variable path: variable}}`` with the backbone's blocks in order and
    ``"head"`` last (when the model has variables outside the backbone). Each variable is
    in exactly one block.
    """
    arch, backbone = _find_backbone(model)
    in_backbone = {id(v) for v in backbone.weights}
    blocks: dict[str, dict[str, keras.Variable]] = {b: {} for b in core.BACKBONE_BLOCKS[arch]}
    for path, v in _learnable(model).items():
        block = HEAD
        if id(v) in in_backbone:
            layer_name = path.split("/")[-2] if "/" in path else path
            block = _layer_block(arch, layer_name)
            if block is None:
                raise RuntimeError(f"variable {path!r} of the {arch} backbone matches no block; the "
                                   "block table in tlhelpers.keras.finetune is incomplete.")
        blocks.setdefault(block, {})[path] = v
    return blocks


def block_names(model: keras.Model) -> tuple[str, ...]:
    """The blocks of ``model``, input to output (``"head"`` last when there is one)."""
    return tuple(block_parameters(model))


def unfreeze(model: keras.Model, top_k: int | None = None, *,
             from_block: str | None = None, bn_trainable: bool = False) -> keras.Model:
    """Train the head and the top ``top_k`` blocks of the backbone; freeze the rest.

    Blocks, not layer indices: ``top_k=0`` trains the head alone (feature extraction),
    ``top_k=len(backbone blocks)`` fine-tunes everything; or name the lowest block to train,
    ``from_block="stage2"`` (Keras's ``fine_tune_at``, by block). BatchNorm layers stay frozen —
    in Keras 3 a frozen BatchNormalization runs in inference mode — even in unfrozen blocks,
    unless ``bn_trainable=True``: then those of the unfrozen blocks learn their scale and
    shift and normalise with batch statistics in training mode (which a backbone wrapped in
    ``InferenceMode`` by ``build_classifier(bn_inference=True)`` cannot do: that is an error).

    ``compile()`` again afterwards: ``fit`` keeps training the variables it was compiled
    with (:func:`fit` and :class:`GradualUnfreezing` do it for you). Returns ``model``.
    """
    if not isinstance(bn_trainable, bool):
        raise ValueError(f"bn_trainable must be True or False, got {bn_trainable!r}.")
    arch, backbone = _find_backbone(model)
    blocks = core.BACKBONE_BLOCKS[arch]
    k = core.resolve_top_k(blocks, top_k, from_block)
    block_parameters(model)  # every backbone variable has a block
    if bn_trainable and any(isinstance(layer, InferenceMode) for layer in walk_layers(model)):
        raise ValueError("bn_trainable=True lets BatchNorm use batch statistics, but this model runs its "
                         "backbone in inference mode (build_classifier(..., bn_inference=True)); build it "
                         "with bn_inference=False to adapt BatchNorm.")
    trainable = set(blocks[len(blocks) - k:])
    # Every layer explicitly: a functional model's ``trainable`` does not reach its layers.
    for layer in walk_layers(model):
        layer.trainable = True
    for layer in walk_layers(backbone):
        if layer is backbone or not layer.weights or isinstance(layer, keras.Model):
            continue
        block = _layer_block(arch, layer.name)
        if block is None:
            continue
        if block not in trainable or (isinstance(layer, keras.layers.BatchNormalization) and not bn_trainable):
            layer.trainable = False
    return model


# --------------------------------------------------------------------------------------
# Discriminative learning rates: per-variable multipliers
# --------------------------------------------------------------------------------------

def param_groups(model: keras.Model, lr: float, *, decay: float = 1.0,
                 include_frozen: bool = False) -> list[dict[str, Any]]:
    """One parameter group per block, rates decaying towards the input (PyTorch's format).

    The head learns at ``lr``, the top backbone block at ``lr * decay``, the next at
    ``lr * decay**2`` … (:func:`tlhelpers.finetune.discriminative_multipliers`). Each group is
    ``{"name": block, "params": [variables], "lr": rate, "lr_scale": rate / lr}``. Keras
    has no parameter groups: hand the list to :class:`ParamGroupOptimizer`. Only trainable
    variables are included unless ``include_frozen=True``; each included variable is in
    exactly one group (checked by :func:`check_param_groups`).
    """
    base = core._number(lr, "lr", low=0.0, low_open=True)
    if not isinstance(include_frozen, bool):
        raise ValueError(f"include_frozen must be True or False, got {include_frozen!r}.")
    blocks = block_parameters(model)
    trainable = {id(v) for v in model.trainable_weights}
    scale = core.discriminative_multipliers(list(blocks), decay)
    groups = []
    for block, named in blocks.items():
        chosen = [v for v in named.values() if include_frozen or id(v) in trainable]
        if chosen:
            groups.append({"name": block, "params": chosen, "lr": base * scale[block],
                           "lr_scale": scale[block]})
    check_param_groups(model, groups)
    return groups


def _group_scales(groups: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """``{variable path: lr_scale}`` from groups; a variable in two groups is an error."""
    scales: dict[str, float] = {}
    where: dict[str, str] = {}
    for i, group in enumerate(groups):
        if not isinstance(group, Mapping) or "params" not in group:
            raise ValueError(f"groups[{i}] must be a dict with a 'params' list, got {type(group).__name__}.")
        label = f"group {i} ({group.get('name', 'unnamed')})"
        scale = core._number(group.get("lr_scale", 1.0), f"groups[{i}]['lr_scale']", low=0.0, low_open=True)
        for v in group["params"]:
            if not isinstance(v, keras.Variable):
                raise ValueError(f"groups: {label} holds {type(v).__name__}, not a Keras variable.")
            if v.path in where:
                raise ValueError(f"groups: variable {v.path!r} is in two groups, {where[v.path]} and "
                                 f"{label}; every variable must be in exactly one group.")
            where[v.path], scales[v.path] = label, scale
    return scales


def check_param_groups(model: keras.Model, groups: Iterable[Mapping[str, Any]]) -> None:
    """Raise unless every trainable variable of ``model`` is in exactly one group.

    COURSE.md §5 item 18: a variable in two groups would get two rates; a trainable one in
    none would silently never train. Variables that are not the model's are refused too.
    """
    _check_model(model)
    scales = _group_scales(groups)
    known = set(_learnable(model))
    foreign = sorted(set(scales) - known)
    if foreign:
        raise ValueError(f"groups hold variable(s) {foreign[:3]} that are not learnable variables of the model.")
    missing = [v.path for v in model.trainable_weights if v.path not in scales]
    if missing:
        raise ValueError(f"groups: trainable variable(s) {', '.join(map(repr, missing[:3]))}"
                         f"{' …' if len(missing) > 3 else ''} are in no group and would never train.")


@keras.saving.register_keras_serializable(package="tlhelpers")
class ParamGroupOptimizer(keras.optimizers.Optimizer):
    """Any Keras optimizer with a learning-rate multiplier per variable — PyTorch's parameter
    groups for ``model.fit``.

    ``ParamGroupOptimizer(keras.optimizers.Adam(lr), param_groups(model, lr, decay=0.5))``.
    The wrapped optimizer runs at the base rate ``lr`` (the head's; a schedule works too)
    and computes its usual update :math:`\\Delta v` for every variable; the wrapper applies
    ``lr_scale * Δv`` instead. For SGD (with momentum), Adam and AdamW the update is
    proportional to the learning rate, decoupled weight decay included, so this is exactly
    a per-variable rate ``lr_scale * lr`` — what ``torch.optim`` does with parameter groups.
    Optimizer state (moments) is per variable and unaffected.

    ``groups``: the list from :func:`param_groups` (or ``{variable path: lr_scale}``). Building
    on a variable that is in no group raises (COURSE.md §5 item 18).
    """

    def __init__(self, optimizer: keras.optimizers.Optimizer,
                 groups: Iterable[Mapping[str, Any]] | Mapping[str, float], *, name: str | None = None,
                 **kwargs: Any) -> None:
        if not isinstance(optimizer, keras.optimizers.Optimizer) or isinstance(optimizer, ParamGroupOptimizer):
            raise TypeError(f"optimizer must be a Keras optimizer, got {type(optimizer).__name__}.")
        super().__init__(learning_rate=0.0, name=name or f"{optimizer.name}_groups", **kwargs)
        if isinstance(groups, Mapping):
            scales = {str(k): core._number(s, f"groups[{k!r}]", low=0.0, low_open=True) for k, s in groups.items()}
        else:
            groups = list(groups)
            scales = _group_scales(groups)
            self._check_base_rate(optimizer, groups)
        if not scales:
            raise ValueError("groups must hold at least one variable.")
        self.inner = optimizer
        self.multipliers = scales

    @staticmethod
    def _check_base_rate(optimizer: keras.optimizers.Optimizer, groups: list) -> None:
        rate = _constant_rate(optimizer)
        if rate is None:  # a schedule: its peak is the caller's choice
            return
        for group in groups:
            if "lr" in group and "lr_scale" in group and group["lr_scale"]:
                base = group["lr"] / group["lr_scale"]
                if not math.isclose(base, rate, rel_tol=1e-5):
                    raise ValueError(f"the optimizer's learning rate {rate:g} is not the base rate {base:g} "
                                     "the groups were built with; create it with learning_rate=lr.")
                return

    def build(self, var_list: list) -> None:
        unknown = [v.path for v in var_list if v.path not in self.multipliers]
        if unknown:
            raise ValueError(f"variable(s) {', '.join(map(repr, unknown[:3]))} are in no parameter group; "
                             "build the groups after unfreezing, or with param_groups(model, lr, "
                             "include_frozen=True) to cover blocks unfrozen later.")
        self.inner.build(var_list)
        super().build(var_list)

    @property
    def variables(self) -> list:
        return self._variables + self.inner.variables

    def apply(self, grads: list, trainable_variables: list | None = None) -> None:
        variables = list(trainable_variables) if trainable_variables is not None else list(self._trainable_variables)
        if not self.built:
            with keras.name_scope(self.name, caller=self):
                self.build(variables)
            self.built = True
        scaled = [(v, self.multipliers[v.path]) for v in variables if self.multipliers[v.path] != 1.0]
        before = [ops.copy(v.value) for v, _ in scaled]
        self.inner.apply(grads, variables)
        for (v, scale), old in zip(scaled, before):
            v.assign(old + scale * (v.value - old))

    @property
    def learning_rate(self):
        return self.inner.learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self.inner.learning_rate = value

    @property
    def iterations(self):
        return self.inner.iterations

    def finalize_variable_values(self, var_list: list) -> None:
        self.inner.finalize_variable_values(var_list)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "optimizer": keras.optimizers.serialize(self.inner),
                "groups": dict(self.multipliers)}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> ParamGroupOptimizer:
        config = dict(config)
        inner = keras.optimizers.deserialize(config.pop("optimizer"), custom_objects=custom_objects)
        return cls(inner, config.pop("groups"), **config)


def _constant_rate(optimizer: keras.optimizers.Optimizer) -> float | None:
    """The optimizer's learning rate if it is a constant (not a schedule), else None."""
    if isinstance(optimizer, ParamGroupOptimizer):
        optimizer = optimizer.inner
    rate = optimizer.get_config().get("learning_rate")
    return float(rate) if isinstance(rate, (int, float)) else None


# --------------------------------------------------------------------------------------
# Learning-rate schedules
# --------------------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="tlhelpers")
class LRSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A :mod:`tlhelpers.schedules` schedule as a Keras ``LearningRateSchedule``: the rates
    per step are computed once by the framework-neutral function and looked up by
    ``optimizer.iterations`` (steps past the end keep the last rate)."""

    def __init__(self, values: Iterable[float]) -> None:
        try:
            table = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            table = np.empty(0)
        if isinstance(values, (str, bytes)) or table.size == 0 or not np.all(np.isfinite(table)) \
                or np.any(table < 0):
            raise ValueError(f"values must be the learning rates (finite, >= 0) of at least one step, "
                             f"got {str(values)[:80]!r}.")
        self.values = table.tolist()
        self._table = ops.convert_to_tensor(np.asarray(self.values, np.float32))

    def __call__(self, step):
        index = ops.clip(ops.cast(step, "int32"), 0, len(self.values) - 1)
        return ops.take(self._table, index)

    def get_config(self) -> dict[str, Any]:
        return {"values": self.values}


def lr_schedule(schedule: str | Callable[..., float], total_steps: int, *, peak_lr: float,
                **options: Any) -> LRSchedule:
    """A Keras ``LearningRateSchedule`` following a :mod:`tlhelpers.schedules` schedule:
    ``keras.optimizers.Adam(lr_schedule("one_cycle", total_steps, peak_lr=1e-3))``.

    ``options`` are the schedule's (``warmup_steps``, ``pct_start``, ``cut_frac`` …).
    """
    return LRSchedule(schedule_values(schedule, total_steps, peak_lr=peak_lr, **options))


@keras.saving.register_keras_serializable(package="tlhelpers", name="ShiftedSchedule")
class _Shifted(keras.optimizers.schedules.LearningRateSchedule):
    """``schedule(step + offset)``: a schedule that goes on where another optimizer left it."""

    def __init__(self, schedule, offset: int) -> None:
        if isinstance(schedule, _Shifted):
            schedule, offset = schedule.schedule, schedule.offset + offset
        self.schedule, self.offset = schedule, int(offset)

    def __call__(self, step):
        return self.schedule(step + self.offset)

    def get_config(self) -> dict[str, Any]:
        return {"schedule": keras.optimizers.schedules.serialize(self.schedule), "offset": self.offset}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _Shifted:
        return cls(keras.optimizers.schedules.deserialize(config["schedule"]), config["offset"])


# --------------------------------------------------------------------------------------
# Gradual unfreezing
# --------------------------------------------------------------------------------------

def _fresh_optimizer(old: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """A new, unbuilt copy of ``old`` (same settings, empty state) whose schedule goes on."""
    if isinstance(old, ParamGroupOptimizer):
        return ParamGroupOptimizer(_fresh_optimizer(old.inner), dict(old.multipliers), name=old.name)
    config = old.get_config()
    rate = config.get("learning_rate")
    if isinstance(rate, dict):
        steps = int(old.iterations.numpy())
        config["learning_rate"] = _Shifted(keras.optimizers.schedules.deserialize(rate), steps)
    return old.__class__.from_config(config)


class GradualUnfreezing(keras.callbacks.Callback):
    """ULMFiT's gradual unfreezing (Howard & Ruder 2018, §3.3) as a ``fit`` callback: the
    head alone first, then one more block from the top down every ``every`` epochs.

    At each change of stage it unfreezes (:func:`unfreeze`), then — Keras's "compile
    again" (COURSE.md §5 items 15, 17) — gives ``fit`` a fresh copy of its optimizer built
    on the now-trainable variables and a newly traced train function. A fresh optimizer,
    because Adam's bias correction uses one global step count: moments started late would
    be under-corrected and the newly unfrozen weights would take several times the intended
    step. The learning-rate schedule goes on from where it was (the PyTorch track keeps the
    state of the parameters already training; here every stage restarts it).
    """

    def __init__(self, model: keras.Model, *, every: int = 1, start: int = 0,
                 bn_trainable: bool = False) -> None:
        super().__init__()
        self.target = model
        self.n_blocks = len([b for b in block_names(model) if b != HEAD])
        core.top_k_at_epoch(0, self.n_blocks, every=every, start=start)  # checks every, start
        if not isinstance(bn_trainable, bool):
            raise ValueError(f"bn_trainable must be True or False, got {bn_trainable!r}.")
        self.every, self.start, self.bn_trainable = every, start, bn_trainable
        self.top_k: int | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        k = core.top_k_at_epoch(epoch, self.n_blocks, every=self.every, start=self.start)
        if k == self.top_k:
            return
        unfreeze(self.target, k, bn_trainable=self.bn_trainable)
        self.top_k = k
        fitted = self.model  # the model fit() runs: the target, or a PenalizedModel around it
        optimizer = _fresh_optimizer(fitted.optimizer)
        optimizer.build(fitted.trainable_variables)
        fitted.optimizer = optimizer
        fitted.make_train_function(force=True)


# --------------------------------------------------------------------------------------
# EWC and L2-SP
# --------------------------------------------------------------------------------------

def _arrays(data: Any, what: str = "data") -> tuple[np.ndarray, np.ndarray]:
    if hasattr(data, "x") and hasattr(data, "y"):
        x, y = data.x, data.y
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    else:
        raise ValueError(f"{what} must be a Dataset or an (x, y) pair of arrays, got {type(data).__name__}.")
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y).astype(np.int64).reshape(-1)
    if x.ndim != 4 or len(x) != len(y) or len(y) == 0:
        raise ValueError(f"{what} must hold images (N, H, W, C) and N labels, N >= 1; got x{x.shape}, y{y.shape}.")
    return x, y


def fisher_diagonal(model: keras.Model, data: Any, *, batch_size: int = 64,
                    labels: str = "data") -> dict[str, tf.Tensor]:
    r"""Diagonal Fisher information of ``model`` on ``data``, one tensor per variable path.

    .. math:: F_i = \frac1N \sum_{n=1}^N \Bigl(\frac{\partial \log p_\theta(y_n \mid x_n)}
                                               {\partial \theta_i}\Bigr)^2

    the mean of **per-sample** squared gradients (COURSE.md §5 item 10: not the square of
    the batch-mean gradient). Per-sample gradients are vectorised with
    ``tf.vectorized_map``, the model in inference mode (BatchNorm uses its statistics, so
    samples do not interact; dropout is off).

    ``labels="data"``: :math:`y_n` are the true labels (the "empirical Fisher").
    ``labels="model"``: the expectation over the model's predictive distribution
    :math:`\sum_c p_\theta(c \mid x_n)(\partial_i \log p_\theta(c \mid x_n))^2` — Kirkpatrick
    et al.'s Fisher, at ``num_classes`` times the cost. Every learnable variable is
    included, frozen ones too. Returns float32 tensors keyed by variable path.
    """
    batch_size = positive_int(batch_size, "batch_size")
    if labels not in ("data", "model"):
        raise ValueError(f"labels must be 'data' (true labels) or 'model' (the model's predictive "
                         f"distribution), got {labels!r}.")
    _check_model(model)
    _check_data(model, data)
    x, y = _arrays(data)
    named = _learnable(model)
    handles = [v.value for v in named.values()]

    @tf.function(reduce_retracing=True)
    def weighted_squares(xb, yb, wb):
        def one(sample):
            xi, yi, wi = sample
            with tf.GradientTape() as tape:
                tape.watch(handles)
                log_p = tf.nn.log_softmax(model(xi[None], training=False))[0]
                picked = tf.gather(log_p, yi)
            grads = tape.gradient(picked, handles)
            return [wi * tf.square(tf.zeros_like(h) if g is None else g) for g, h in zip(grads, handles)]
        return [tf.reduce_sum(s, axis=0) for s in tf.vectorized_map(one, (xb, yb, wb))]

    totals = [tf.zeros(h.shape, tf.float32) for h in handles]
    for i in range(0, len(y), batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        if labels == "data":
            passes = [(yb, np.ones(len(yb), np.float32))]
        else:
            probs = np.asarray(ops.softmax(model(xb, training=False), axis=-1))
            passes = [(np.full_like(yb, c), probs[:, c]) for c in range(probs.shape[1])]
        for targets, weights in passes:
            squares = weighted_squares(tf.constant(xb), tf.constant(targets), tf.constant(weights, tf.float32))
            totals = [t + tf.cast(s, tf.float32) for t, s in zip(totals, squares)]
    return {path: t / len(y) for path, t in zip(named, totals)}


def snapshot(params: Mapping[str, Any]) -> dict[str, tf.Tensor]:
    """Copies of ``params`` (path -> variable): the anchor θ*, which later training must not move.

    The values are copied into constant tensors (COURSE.md §5 item 11 — keeping the
    variables themselves would follow the live weights and make the penalty zero forever).
    """
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a dict {{path: variable}}, got {type(params).__name__}.")
    return {n: ops.convert_to_tensor(np.array(v.numpy() if isinstance(v, keras.Variable) else v, copy=True))
            for n, v in params.items()}


def _check_same_names(named: Mapping[str, Any], other: Mapping[str, Any], what: str) -> None:
    if not isinstance(other, Mapping):
        raise ValueError(f"{what} must be a dict {{name: tensor}} like params, got {type(other).__name__}.")
    if named.keys() != other.keys():
        missing = sorted(set(named) - set(other))[:3]
        raise ValueError(f"{what} must have an entry for every parameter; missing {missing}, "
                         f"extra {sorted(set(other) - set(named))[:3]}.")
    for name, value in named.items():
        if tuple(other[name].shape) != tuple(value.shape):
            raise ValueError(f"{what}[{name!r}] must have the parameter's shape {tuple(value.shape)}, "
                             f"got {tuple(other[name].shape)}.")


def ewc_penalty(params: Mapping[str, Any], fisher: Mapping[str, Any], anchor: Mapping[str, Any],
                strength: float):
    r"""EWC's penalty :math:`\frac{\lambda}{2}\sum_i F_i(\theta_i - \theta^*_i)^2` (Kirkpatrick
    et al., PNAS 2017, eq. 3), differentiable in ``params`` (path -> live variable)."""
    lam = core.check_strength(strength, "strength")
    _check_same_names(params, fisher, "fisher")
    _check_same_names(params, anchor, "anchor")
    total = sum(ops.sum(fisher[n] * ops.square(v - anchor[n])) for n, v in params.items())
    return 0.5 * lam * total


def l2sp_penalty(params: Mapping[str, Any], anchor: Mapping[str, Any], new_params: Mapping[str, Any],
                 alpha: float, beta: float):
    r"""L2-SP (Li, Grandvalet & Davoine, ICML 2018):
    :math:`\frac{\alpha}{2}\lVert w_S - w_S^0\rVert^2 + \frac{\beta}{2}\lVert w_{\bar S}\rVert^2`,
    ``params`` the pretrained part (live), ``anchor`` its starting point, ``new_params`` the
    variables learnt from scratch (the head)."""
    a, b = core.check_strength(alpha, "alpha"), core.check_strength(beta, "beta")
    _check_same_names(params, anchor, "anchor")
    shift = sum(ops.sum(ops.square(v - anchor[n])) for n, v in params.items())
    size = sum(ops.sum(ops.square(v)) for v in new_params.values())
    return 0.5 * a * shift + 0.5 * b * size


class EWC:
    """Elastic Weight Consolidation (Kirkpatrick et al., PNAS 2017): remember the old task.

    ``EWC(source_model, source_data, strength=λ)`` computes the diagonal Fisher
    (:func:`fisher_diagonal`) of ``source_model`` on the old task and copies its weights as
    the anchor θ*; ``ewc()`` is then the penalty on the *live* variables, for every
    variable of ``source_model``. Fine-tune a model that shares them (the same backbone
    under a new head) with ``fit(..., penalty=ewc)``: a variable of the old model that the
    new one does not train (the old head) costs nothing.
    """

    def __init__(self, model: keras.Model, data: Any, *, strength: float, batch_size: int = 64,
                 labels: str = "data") -> None:
        self.strength = core.check_strength(strength, "strength")
        _check_model(model)
        self.params = _learnable(model)
        self.fisher = fisher_diagonal(model, data, batch_size=batch_size, labels=labels)
        self.anchor = snapshot(self.params)

    def __call__(self):
        return ewc_penalty(self.params, self.fisher, self.anchor, self.strength)


class L2SP:
    """L2-SP (Li, Grandvalet & Davoine, ICML 2018): keep fine-tuned weights near the
    pretrained ones instead of near zero.

    ``L2SP(model, alpha=..., beta=...)``, created *before* fine-tuning, anchors every backbone
    block's variables at their current (pretrained) values and treats the ``"head"`` block
    as new; ``l2sp()`` is the penalty on the live variables. The paper's defaults are
    α = 0.1, β = 0.01.
    """

    def __init__(self, model: keras.Model, *, alpha: float = 0.1, beta: float = 0.01) -> None:
        self.alpha = core.check_strength(alpha, "alpha")
        self.beta = core.check_strength(beta, "beta")
        blocks = block_parameters(model)
        self.params = {n: v for b, named in blocks.items() if b != HEAD for n, v in named.items()}
        self.new_params = dict(blocks.get(HEAD, {}))
        self.anchor = snapshot(self.params)

    def __call__(self):
        return l2sp_penalty(self.params, self.anchor, self.new_params, self.alpha, self.beta)


class PenalizedModel(keras.Model):
    """``model`` with ``penalty()`` added to its training loss (``add_loss``), for ``fit``.

    Predictions, evaluation and the weights are the wrapped model's; the penalty counts
    only in training, so ``val_loss`` is the data loss alone.
    """

    def __init__(self, model: keras.Model, penalty: Callable[[], Any], **kwargs: Any) -> None:
        _check_model(model)
        if not callable(penalty):
            raise ValueError(f"penalty must be a callable returning a scalar, got {type(penalty).__name__}.")
        super().__init__(name=kwargs.pop("name", f"{model.name}_penalized"), **kwargs)
        self.inner = model
        self.penalty = penalty

    def call(self, inputs, training=False):
        outputs = self.inner(inputs, training=training)
        if training:
            self.add_loss(self.penalty())
        return outputs


# --------------------------------------------------------------------------------------
# Class imbalance
# --------------------------------------------------------------------------------------

def class_weights(labels: Any, num_classes: int | None = None) -> dict[int, float]:
    """Balanced class weights :math:`N / (C\\,n_c)` (:func:`tlhelpers.imbalance.class_weights`)
    as Keras's ``fit(class_weight=...)`` takes them: ``{class: weight}``."""
    return {c: float(w) for c, w in enumerate(imbalance.class_weights(labels, num_classes))}


class _BalancedBatches(keras.utils.PyDataset):
    """Batches of a fresh class-balanced resample of ``(x, y)`` every epoch."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int | None) -> None:
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.batch_size)

    def __getitem__(self, i: int):
        idx = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        return self.x[idx], self.y[idx]

    def on_epoch_end(self) -> None:
        self.order = imbalance.balanced_indices(self.y, seed=self.rng)


def balanced_sampler(data: Any, *, batch_size: int = 32, seed: int | None = None) -> keras.utils.PyDataset:
    """A ``keras.utils.PyDataset`` of ``data`` (Dataset or ``(x, y)``) whose batches draw every
    class equally often (with replacement), redrawn every epoch; pass it to ``model.fit``."""
    checks.image_data(data, "data")
    if seed is not None:
        checks.non_negative_int(seed, "seed")
    x, y = _arrays(data)
    return _BalancedBatches(x, y, positive_int(batch_size, "batch_size"), seed)


# --------------------------------------------------------------------------------------
# Training with all of the above
# --------------------------------------------------------------------------------------

class _Step(training._TrainStep):
    """:mod:`tlhelpers.keras.training`'s traced step with per-class loss weights and a penalty.

    The loss is the batch mean of ``w[y] * cross-entropy`` (Keras's ``class_weight``; all
    weights 1 without one) plus ``penalty()``. Unlike ``training.fit``'s step, its optimizer
    state is the caller's: :meth:`load` copies the model's variables *and* its optimizer's
    (moments, step count, learning rate) into the step, :meth:`store` copies both back, so
    callbacks that read or change the optimizer (``ReduceLROnPlateau``) and later fits see
    what the step did.
    """

    def __init__(self, model: keras.Model, signature: list, num_classes: int,
                 penalty: Callable[[], Any] | None) -> None:
        self.class_weight = tf.Variable(tf.ones(num_classes), trainable=False)

        def loss_fn(y, logits):
            cross_entropy = ops.cast(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True),
                                     "float32")
            loss = ops.mean(cross_entropy * ops.take(self.class_weight, y))
            return loss if penalty is None else loss + ops.cast(penalty(), "float32")

        super().__init__(model, signature, loss_fn=loss_fn)

    def load(self, model: keras.Model, class_weight: np.ndarray | None = None) -> None:
        self.class_weight.assign(np.ones(self.class_weight.shape, np.float32) if class_weight is None
                                 else class_weight)
        if model is not self.model:
            training._copy_variables(self._state(model), self._state(self.model))

    def store(self, model: keras.Model) -> None:
        if model is not self.model:
            training._copy_variables(self._state(self.model), self._state(model))

    @staticmethod
    def _state(model: keras.Model) -> list:
        return [*model.variables, *model.optimizer.variables]


# One traced step per architecture, trainable flags and optimizer settings (a fit of the
# course's small models costs about as much as tracing its step): every run of a lesson's
# sweep with the same settings shares it. A penalty closes over its model's variables, so a
# penalised fit traces a step of its own.
_STEPS: OrderedDict[str, _Step] = OrderedDict()  # kept as training._remember keeps its steps


def _rate_free(config: Any) -> Any:
    """An optimizer's config without names and constant learning rates: the step loads the
    rate from the caller's optimizer, so runs at different rates share one step."""
    if isinstance(config, dict):
        return {k: _rate_free(v) for k, v in config.items()
                if k != "name" and not (k == "learning_rate" and isinstance(v, (int, float)))}
    if isinstance(config, list):
        return [_rate_free(v) for v in config]
    return config


def _variable_specs(variables: Iterable[Any]) -> list[tuple]:
    return [(tuple(v.shape), str(v.dtype)) for v in variables]


def _step_for(model: keras.Model, signature: list, num_classes: int,
              penalty: Callable[[], Any] | None) -> _Step:
    """The traced step for ``model`` as compiled now, shared with earlier fits where it can be."""
    key = None
    if penalty is None:
        optimizer = _rate_free(keras.saving.serialize_keras_object(model.optimizer))
        key = training._architecture_key(model, signature, optimizer=optimizer)
    if key is None:
        return _Step(model, signature, num_classes, penalty)
    step = _STEPS.get(key)
    if step is None:
        template = keras.models.clone_model(model)
        template.compile(optimizer=keras.optimizers.deserialize(keras.optimizers.serialize(model.optimizer)))
        step = _Step(template, signature, num_classes, None)
        if (training._variables_spec(template) != training._variables_spec(model)
                or _variable_specs(template.optimizer.variables) != _variable_specs(model.optimizer.variables)):
            return _Step(model, signature, num_classes, penalty)
    return training._remember(_STEPS, key, step)


def fit(model: keras.Model, data: Any, *, epochs: int = 1, batch_size: int = 32, lr: float = 1e-3,
        weight_decay: float = 0.0, optimizer: keras.optimizers.Optimizer | None = None,
        schedule: str | Callable[..., float] | None = None, schedule_options: dict | None = None,
        penalty: Callable[[], Any] | None = None, class_weight: Any = None, balanced: bool = False,
        callbacks: Iterable[keras.callbacks.Callback] = (), validation: Any = None,
        seed: int | None = None) -> dict[str, list[float]]:
    """Fine-tune a classifier that outputs logits; returns the per-epoch history.

    Compiles ``model`` with the optimizer (so ``trainable`` changes take effect and
    ``model.optimizer`` is the one that trained) and trains it with one traced step per
    batch, as :func:`tlhelpers.keras.training.fit` does, not with ``model.fit``: the same
    computation without ``fit``'s per-call tracing and machinery, which cost more than the
    course's small runs. Runs of the same architecture, trainable blocks and optimizer
    settings share the traced step (its rate, state and weights are loaded from ``model``).

    Args:
        model: images -> logits (e.g. ``build_classifier``). Only what is trainable trains.
        data: a Dataset or an ``(x, y)`` pair of NHWC arrays in [0, 1] and int labels.
        epochs, batch_size: the usual; the data are reshuffled every epoch.
        lr, weight_decay: of the default optimizer, Adam (AdamW when ``weight_decay``) with
            ``epsilon=1e-7``, as in both tracks.
        optimizer: your own instead (e.g. a :class:`ParamGroupOptimizer`).
        schedule: a :mod:`tlhelpers.schedules` name or function, per step over the whole
            run, peaking at the optimizer's learning rate; ``schedule_options`` go to it.
        penalty: a callable returning a scalar added to the training loss (:class:`EWC`,
            :class:`L2SP`).
        class_weight: per-class loss weights (list/array, or a dict from :func:`class_weights`),
            as Keras's ``class_weight``: the batch mean of ``w[y] * cross-entropy``.
        balanced: draw each epoch's examples so that every class is equally likely
            (:func:`tlhelpers.imbalance.balanced_indices`) instead of shuffling.
        callbacks: Keras callbacks (:class:`GradualUnfreezing`, ``EarlyStopping``,
            ``ReduceLROnPlateau`` …); their epoch and train hooks run, not the per-batch ones.
        validation: data evaluated after every epoch (``val_loss``, ``val_accuracy``,
            without the penalty).
        seed: seeds Keras (dropout), the shuffling and the balanced sampler.

    Returns ``{"loss": [...], "accuracy": [...]}`` (+ ``val_*``); ``loss`` includes the penalty.
    """
    from .backbones import _classifier_outputs

    _check_model(model)
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    if seed is not None:
        checks.non_negative_int(seed, "seed")
    if optimizer is None:
        checks.positive_number(lr, "lr")
        checks.number(weight_decay, "weight_decay", minimum=0.0)
    _check_data(model, data)
    if validation is not None:
        _check_data(model, validation, "validation")
    if not isinstance(balanced, bool):
        raise ValueError(f"balanced must be True or False, got {balanced!r}.")
    if balanced and class_weight is not None:
        raise ValueError("balanced=True and class_weight both rebalance the classes; use one of them.")
    if penalty is not None and not callable(penalty):
        raise ValueError(f"penalty must be a callable returning a scalar, got {type(penalty).__name__}.")
    x, y = _arrays(data)
    num_classes = _classifier_outputs(model)
    weights = None
    if class_weight is not None:
        values = [class_weight[c] for c in sorted(class_weight)] if isinstance(class_weight, Mapping) \
            else np.asarray(class_weight, dtype=np.float64).reshape(-1).tolist()
        if len(values) <= int(y.max()) or not all(np.isfinite(values)) or min(values) < 0:
            raise ValueError(f"class_weight must hold a finite weight >= 0 for each of the "
                             f"{int(y.max()) + 1} classes, got {values}.")
        weights = np.ones(num_classes, np.float32)
        weights[:len(values)] = np.asarray(values[:num_classes], np.float32)
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    if optimizer is None:
        rate = core._number(lr, "lr", low=0.0, low_open=True)
        decay = core._number(weight_decay, "weight_decay", low=0.0)
        optimizer = keras.optimizers.Adam(rate, epsilon=1e-7, weight_decay=decay or None)
    if schedule is not None:
        peak = _constant_rate(optimizer)
        if peak is None:
            raise ValueError("schedule needs an optimizer with a constant learning rate (its peak); this "
                             "one already has a schedule.")
        get_schedule(schedule)
        optimizer.learning_rate = lr_schedule(schedule, math.ceil(len(y) / batch_size) * epochs,
                                              peak_lr=peak, **(schedule_options or {}))
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.stop_training = False
    hooks = keras.callbacks.CallbackList(list(callbacks), model=model, epochs=epochs,
                                         steps=math.ceil(len(y) / batch_size), verbose=0)
    signature = training._input_signature(None, x)
    rng = np.random.default_rng(seed)
    pipelined = training._gpu_visible()
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    # The model (weights, optimizer state) goes into the step when the step starts or changes,
    # and back when training ends; with callbacks, around every epoch too, since they read and
    # change the model and its optimizer between epochs.
    step, running = None, None
    hooks.on_train_begin()
    try:
        for epoch in range(epochs):
            hooks.on_epoch_begin(epoch)  # GradualUnfreezing may change trainable and the optimizer here
            if not model.trainable_variables:
                raise ValueError("model has no trainable variables (everything is frozen).")
            now = (model.optimizer, [id(v) for v in model.trainable_variables])
            if step is None or now != running:
                if not model.optimizer.built:  # its state (fresh, or left by an earlier fit) is the start
                    model.optimizer.build(model.trainable_variables)
                step, running = _step_for(model, signature, num_classes, penalty), now
                step.load(model, weights)
            elif hooks.callbacks:
                step.load(model, weights)
            step.reset()
            order = imbalance.balanced_indices(y, seed=rng) if balanced else rng.permutation(len(y))
            for xb, yb in training._batches(x, y, order, batch_size, pipelined):
                step(xb, yb)
            logs = step.result()
            if validation is not None:  # the step's model holds the weights of this epoch
                logs.update({f"val_{k}": v for k, v in training.evaluate(step.model, validation).items()})
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
            if hooks.callbacks:
                step.store(model)
                hooks.on_epoch_end(epoch, dict(logs))
                if model.stop_training:
                    break
    finally:
        if step is not None and not hooks.callbacks:
            step.store(model)
    hooks.on_train_end()
    return history
