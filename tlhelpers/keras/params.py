"""Counting, freezing and unfreezing parameters of Keras models.

Vocabulary shared by both tracks: *trainable* parameters are updated by the optimizer,
*frozen* parameters are learnable weights that are currently not, and *state* is what a
layer tracks without gradients (BatchNormalization's moving mean and variance). Keras's
``model.summary()`` lumps frozen weights and state together as "non-trainable"; the
course keeps them apart so that the two tracks report the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterator


import keras
import numpy as np

from .. import checks
from ..params import ParamCounts

# Layers whose non-trainable variables are statistics rather than frozen weights.
_STATEFUL = (keras.layers.BatchNormalization, keras.layers.Normalization)




def _check_model(model: object) -> None:
    if not isinstance(model, keras.layers.Layer):
        checks.fail("model", "a Keras model or layer", checks.Received(type(model).__name__))


def walk_layers(model: keras.layers.Layer) -> Iterator[keras.layers.Layer]:
    """Every layer inside ``model`` (itself included), depth first, each once.

    Nested models and layers held as attributes of custom layers (a wrapper around a
    backbone, say) are included: ``model.layers`` alone lists only the top level.
    """
    _check_model(model)
    flatten = getattr(model, "_flatten_layers", None)  # Keras 3's own tracker walk
    if flatten is not None:
        yield from flatten(include_self=True, recursive=True)
        return
    yield model  # pragma: no cover - older Keras
    for layer in getattr(model, "layers", []):  # pragma: no cover
        yield from walk_layers(layer)


def _size(variables) -> int:
    return int(sum(np.prod(v.shape) for v in variables))


def count_parameters(model: keras.layers.Layer) -> ParamCounts:
    """Trainable parameters, frozen parameters and state of a (built) model."""
    _check_model(model)
    state_ids = set()
    for layer in walk_layers(model):
        if isinstance(layer, _STATEFUL):
            state_ids.update(id(v) for v in layer.non_trainable_weights
                             if not _is_frozen_weight(layer, v))
    trainable = _size(model.trainable_weights)
    frozen = _size(v for v in model.non_trainable_weights if id(v) not in state_ids)
    state = _size(v for v in model.non_trainable_weights if id(v) in state_ids)
    return ParamCounts(trainable, frozen, state)


def _is_frozen_weight(layer: keras.layers.Layer, variable) -> bool:
    """True for a stateful layer's learnable weight (gamma/beta) that is merely frozen."""
    learnable = [getattr(layer, name, None) for name in ("gamma", "beta")]
    return any(w is not None and w is variable for w in learnable)


def freeze(model: keras.layers.Layer) -> keras.layers.Layer:
    """Freeze every weight of ``model``. Returns the model.

    In Keras 3 a frozen BatchNormalization layer also runs in inference mode, so its
    statistics stay fixed. Two rules remain yours: call a base you may later unfreeze
    with ``training=False`` when you build on it, and ``compile()`` again after changing
    ``trainable`` — ``fit`` keeps using the variables it saw at compile time otherwise.
    """
    _check_model(model)
    model.trainable = False
    return model


def unfreeze(model: keras.layers.Layer, *, from_layer: int | str | None = None,
             bn_trainable: bool = False) -> keras.layers.Layer:
    """Make ``model`` trainable again, optionally only from ``from_layer`` (index or name) on.

    BatchNormalization layers stay frozen (statistics and affine weights) unless
    ``bn_trainable=True``: fine-tuning with batch statistics of a small target set would
    overwrite the statistics the pretrained weights rely on.
    Remember to ``compile()`` again.
    """
    _check_model(model)
    bn_trainable = checks.flag(bn_trainable, "bn_trainable")
    if from_layer is not None and (isinstance(from_layer, bool) or not isinstance(from_layer, (int, str))):
        checks.fail("from_layer", "a layer index (int) or a layer name (str)", from_layer)
    layers = getattr(model, "layers", None)
    if from_layer is not None and not layers:
        raise ValueError("from_layer needs a model with a .layers list.")
    # Setting ``model.trainable = True`` does not reach sublayers that were frozen one by
    # one while the model itself stayed trainable, so every layer is set explicitly.
    for layer in walk_layers(model):
        layer.trainable = True
    if from_layer is not None:
        if isinstance(from_layer, str):
            names = [layer.name for layer in layers]
            if from_layer not in names:
                raise ValueError(f"from_layer={from_layer!r} is not a layer of {model.name}; "
                                 f"layers are: {', '.join(names)}.")
            start = names.index(from_layer)
        else:
            if not -len(layers) <= from_layer < len(layers):
                raise ValueError(f"from_layer={from_layer} is out of range for {len(layers)} layers.")
            start = from_layer % len(layers)
        for layer in layers[:start]:
            layer.trainable = False
    if not bn_trainable:
        for layer in walk_layers(model):
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
    return model
