"""Explanations in Keras: vanilla gradient saliency, Grad-CAM, feature maps, and the
model-randomisation sanity check. Mirrors :mod:`tlhelpers.torch.explain` name for name.

Every function here calls the model with ``training=False`` (BatchNorm on its moving
statistics, dropout off — Keras's "eval mode"; the model keeps no mode to restore), takes
gradients of the class's **logit** with ``tf.GradientTape``, and returns NumPy arrays in the
course's channels-last layout. The arithmetic after the gradients — Grad-CAM's channel
weights and ReLU, saliency's max over channels, the bilinear upsampling — is the core's
(:mod:`tlhelpers.explain`), the same in both tracks.

Reaching a layer's output: ``layer``'s ``call`` is wrapped for the length of one forward
pass (the way a PyTorch forward hook works), so this works for layers inside nested models
and wrappers — e.g. ``"stage3_out"`` inside the ``course_cnn`` of a
``build_classifier(course_cnn())`` model — where ``keras.Model(model.inputs,
layer.output)`` cannot be built. ``layer``: a layer name (unique within the model) or the
layer itself; by default the last layer whose output is a feature map larger than 1×1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from .. import checks
from .. import explain as core
from ..checks import positive_int
from . import finetune
from .backbones import _classifier_outputs
from .params import walk_layers
from .training import predict

__all__ = [
    "default_layer",
    "feature_maps",
    "gradcam",
    "input_gradients",
    "layer_gradients",
    "randomization_blocks",
    "randomization_check",
    "randomized",
    "saliency",
]

#: Weight attributes and the initialiser attribute that re-creates each.
_INIT_ATTRS = ("kernel", "depthwise_kernel", "pointwise_kernel", "bias", "gamma", "beta",
               "moving_mean", "moving_variance", "embeddings")


def _check_model(model: Any) -> None:
    if not isinstance(model, keras.Model):
        checks.fail("model", "a Keras model", checks.Received(type(model).__name__))


def _images(model: keras.Model, images: Any) -> np.ndarray:
    """The contract's image checks (finite, in [0, 1], the shape the model takes), NHWC float32."""
    return checks.image_batch(images, "images", expected=checks.model_input_shape(model))



def _layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in walk_layers(model)
            if layer is not model and not isinstance(layer, keras.layers.InputLayer)]


def _find_layer(model: keras.Model, layer: Any) -> keras.layers.Layer:
    layers = _layers(model)
    if isinstance(layer, keras.layers.Layer):
        if any(candidate is layer for candidate in layers):
            return layer
        raise ValueError(f"layer {layer.name!r} is not part of model {model.name!r}.")
    matches = [candidate for candidate in layers if candidate.name == layer] if isinstance(layer, str) else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ValueError(f"layer name {layer!r} is used by {len(matches)} layers of model; pass the layer itself.")
    names = [candidate.name for candidate in layers if not isinstance(candidate, keras.layers.BatchNormalization)]
    raise ValueError(f"layer must name a layer of model; {layer!r} is not one. Layers: "
                     f"{', '.join(names[:40])}{' …' if len(names) > 40 else ''}.")


@contextmanager
def _capture(layers: Sequence[keras.layers.Layer], record) -> Iterator[None]:
    """Wrap each layer's ``call`` so that ``record(layer, output)`` sees its output."""
    for layer in layers:
        original = layer.call

        def wrapped(*args, _layer=layer, _original=original, **kwargs):
            out = _original(*args, **kwargs)
            record(_layer, out)
            return out
        layer.call = wrapped
    try:
        yield
    finally:
        for layer in layers:
            del layer.call          # the class's own call again


def default_layer(model: keras.Model, images: Any) -> str:
    """The name of the last layer (in execution order) whose output is a feature map
    ``(N, h, w, C)`` with ``h * w > 1`` — Grad-CAM's usual choice, the last convolutional
    block. Found by watching one forward pass on one image."""
    _check_model(model)
    x = _images(model, images)[:1]
    seen: list[keras.layers.Layer] = []

    def record(layer, out):
        if hasattr(out, "shape") and len(out.shape) == 4 and out.shape[1] * out.shape[2] > 1:
            seen.append(layer)

    with _capture(_layers(model), record):
        model(x, training=False)
    if not seen:
        raise ValueError("model has no layer whose output is a feature map (N, h, w, C) larger than 1x1; "
                         "Grad-CAM needs a convolutional layer. Pass layer= explicitly.")
    return seen[-1].name


def _gradients(model: keras.Model, images: Any, target: Any, layer: Any, batch_size: int
               ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """Forward with ``training=False``, gradient of the target logits with respect to the
    layer's output (or the input when ``layer`` is None)."""
    _classifier_outputs(model)
    batch_size = positive_int(batch_size, "batch_size")
    x_all = _images(model, images)
    hooked = _find_layer(model, layer) if layer is not None else None
    per_image = target is not None and np.ndim(target) == 1
    if per_image and len(target) != len(x_all):
        raise ValueError(f"target must be None, a class index, or {len(x_all)} class indices (one per image), "
                         f"got {len(target)} of them.")
    acts, grads, logits_all, targets_all = [], [], [], []
    for i in range(0, len(x_all), batch_size):
        x = tf.convert_to_tensor(x_all[i:i + batch_size])
        captured: list[tf.Tensor] = []
        with tf.GradientTape() as tape:
            tape.watch(x)

            def record(_layer, out):
                tape.watch(out)
                captured.append(out)

            if hooked is None:
                logits = model(x, training=False)
            else:
                with _capture([hooked], record):
                    logits = model(x, training=False)
            out = np.asarray(logits, dtype=np.float32)
            core.check_logits(out)
            t = core.resolve_targets(np.asarray(target)[i:i + batch_size] if per_image else target, out)
            score = tf.reduce_sum(tf.gather(logits, t[:, None], batch_dims=1))
        if hooked is None:
            grads.append(tape.gradient(score, x).numpy())
        else:
            if len(captured) != 1 or len(captured[0].shape) != 4:
                raise ValueError(f"layer {hooked.name!r} must run once per forward pass and output a feature map "
                                 f"(N, h, w, C); it ran {len(captured)} time(s)"
                                 + (f" with output shape {tuple(captured[0].shape)}." if captured else "."))
            g = tape.gradient(score, captured[0])
            acts.append(np.asarray(captured[0]))
            grads.append(np.zeros(captured[0].shape, np.float32) if g is None else g.numpy())
        logits_all.append(out)
        targets_all.append(t)
    return (np.concatenate(acts) if acts else None, np.concatenate(grads), np.concatenate(logits_all),
            np.concatenate(targets_all))


def input_gradients(model: keras.Model, images: Any, target: Any = None, *,
                    batch_size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(gradients NHWC, logits, targets)``: the gradient of each image's target logit with
    respect to the image, with ``training=False``. ``target``: None (predicted class), a
    class, or one class per image."""
    _, grads, logits, targets = _gradients(model, images, target, None, batch_size)
    return grads, logits, targets


def layer_gradients(model: keras.Model, images: Any, layer: Any, target: Any = None, *,
                    batch_size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(activations, gradients, logits, targets)``: the layer's output and the gradient of
    each image's target logit with respect to it, both ``(N, h, w, K)``, ``training=False``."""
    return _gradients(model, images, target, layer, batch_size)


def saliency(model: keras.Model, images: Any, target: Any = None, *, batch_size: int = 64) -> np.ndarray:
    """Vanilla gradient saliency ``(N, H, W)``: ``max_c |d logit / d x|`` (Simonyan et al. 2014)."""
    grads, _, _ = input_gradients(model, images, target, batch_size=batch_size)
    return core.saliency_from_gradients(grads)


def gradcam(model: keras.Model, images: Any, target: Any = None, *, layer: Any = None,
            batch_size: int = 64) -> np.ndarray:
    """Grad-CAM maps ``(N, H, W)`` at the input's resolution (Selvaraju et al. 2017).

    The gradient of each image's target logit with respect to ``layer``'s output gives one
    weight per channel (its spatial mean); the ReLU of the weighted sum of the channels,
    upsampled bilinearly to the image, is the map. Not normalised: see
    :func:`tlhelpers.explain.normalize_maps` to show it.
    """
    _classifier_outputs(model)
    x = _images(model, images)
    layer = default_layer(model, x) if layer is None else layer
    acts, grads, _, _ = layer_gradients(model, x, layer, target, batch_size=batch_size)
    return core.upsample(core.gradcam_from_gradients(acts, grads), x.shape[1:3])


def feature_maps(model: keras.Model, images: Any, layer: Any, *, batch_size: int = 64) -> np.ndarray:
    """The output of ``layer`` for each image, ``(N, h, w, K)``, with ``training=False``
    and no gradients (for :func:`tlhelpers.plots.show_feature_maps`)."""
    _check_model(model)
    hooked = _find_layer(model, layer)
    x_all = _images(model, images)
    out: list[np.ndarray] = []
    captured: list[Any] = []
    with _capture([hooked], lambda _layer, o: captured.append(o)):
        for i in range(0, len(x_all), positive_int(batch_size, "batch_size")):
            captured.clear()
            model(x_all[i:i + batch_size], training=False)
            if len(captured) != 1 or len(captured[0].shape) != 4:
                raise ValueError(f"layer {hooked.name!r} must run once per forward pass and output a feature map.")
            out.append(np.asarray(captured[0]))
    return np.concatenate(out)


# --------------------------------------------------------------------------------------
# The model-randomisation sanity check (Adebayo et al. 2018)
# --------------------------------------------------------------------------------------

def _owned(layer: keras.layers.Layer) -> list[tuple[Any, Any]]:
    """(variable, initialiser) pairs a layer holds directly (kernel, bias, gamma, …)."""
    pairs = []
    for attr in _INIT_ATTRS:
        var = getattr(layer, attr, None)
        init = getattr(layer, f"{attr}_initializer", None)
        if isinstance(var, keras.Variable):
            pairs.append((var, init))
    return pairs


def _block_layers(model: keras.Model) -> dict[str, list[keras.layers.Layer]]:
    """Layers owning variables, grouped by block, blocks from the output to the input.

    A model with a course backbone has its backbone's blocks and ``"head"``
    (:func:`tlhelpers.keras.finetune.block_names`); any other model has one block per
    layer that owns variables.
    """
    owners = [layer for layer in _layers(model) if _owned(layer)]
    try:
        blocks = finetune.block_parameters(model)
    except ValueError:
        return {layer.name: [layer] for layer in reversed(owners)}
    block_of = {id(v): block for block, variables in blocks.items() for v in variables.values()}
    out: dict[str, list[keras.layers.Layer]] = {block: [] for block in reversed(list(blocks))}
    for layer in owners:
        block = next((block_of[id(v)] for v, _ in _owned(layer) if id(v) in block_of), None)
        if block is not None:
            out[block].append(layer)
    return out


def randomization_blocks(model: keras.Model) -> tuple[str, ...]:
    """The blocks :func:`randomized` knows, from the output towards the input."""
    _check_model(model)
    return tuple(_block_layers(model))


def _fresh(init: Any, seed: int):
    """A copy of initialiser ``init`` with its own seed (or Glorot-uniform/zeros if none)."""
    if init is None:
        return None
    init = keras.initializers.get(init)
    config = init.get_config()
    if "seed" in config:
        config["seed"] = seed
    return init.__class__.from_config(config)


@contextmanager
def randomized(model: keras.Model, blocks: Sequence[str], *, seed: int = 0) -> Iterator[keras.Model]:
    """Inside: ``blocks`` of ``model`` re-initialised (each variable drawn again from its
    layer's own initialiser, seeded, without touching Keras's global seed). On exit every
    variable is restored exactly."""
    _check_model(model)
    seed = checks.non_negative_int(seed, "seed")
    known = _block_layers(model)
    if isinstance(blocks, str) or not blocks or any(b not in known for b in blocks):
        raise ValueError(f"blocks must be a non-empty list of block names from {list(known)}, got {blocks!r}.")
    saved = [(v, v.numpy()) for v in model.weights]
    try:
        k = 0
        for block in blocks:
            for layer in known[block]:
                for var, init in _owned(layer):
                    fresh = _fresh(init, int(seed) * 100_003 + k)
                    k += 1
                    if fresh is None:
                        fresh = (keras.initializers.GlorotUniform(seed=int(seed) + k) if len(var.shape) >= 2
                                 else keras.initializers.Zeros())
                    var.assign(fresh(var.shape, dtype=var.dtype))
        yield model
    finally:
        for var, value in saved:
            var.assign(value)


def randomization_check(model: keras.Model, images: Any, *, method: str = "gradcam", target: Any = None,
                        layer: Any = None, cascade: bool = True, seed: int = 0, batch_size: int = 64):
    """Adebayo et al.'s model-randomisation test of ``method`` (``"gradcam"`` or
    ``"saliency"``): see :func:`tlhelpers.explain.randomization_check` for the table.

    The class explained stays the original model's prediction (or ``target``), and
    Grad-CAM's layer is fixed on the original model, so only the weights change.
    """
    _classifier_outputs(model)
    core.check_randomization(method, cascade, seed)
    batch_size = positive_int(batch_size, "batch_size")
    x = _images(model, images)
    targets = core.resolve_targets(target, predict(model, x, batch_size=batch_size))
    if method == "gradcam" and layer is None:
        layer = default_layer(model, x)

    def explain() -> np.ndarray:
        if method == "saliency":
            return saliency(model, x, targets, batch_size=batch_size)
        return gradcam(model, x, targets, layer=layer, batch_size=batch_size)

    return core.randomization_check(explain, lambda names: randomized(model, names, seed=seed),
                                    randomization_blocks(model), cascade=cascade)
