"""Layers the course builds on: a dense adaptive head layer and an inference-mode wrapper."""

from __future__ import annotations

import keras

from .. import checks

ACTIVATIONS = ("relu", "gelu", "tanh", "sigmoid", "linear")


@keras.saving.register_keras_serializable(package="tlhelpers")
class AdaptiveLayer(keras.layers.Layer):
    """``activation(x @ W + b)`` with Glorot-uniform ``W`` and zero ``b``: a new, trainable head layer.

    The course's version of the seeds' ``AdaptiveLayer``: the weights are created in
    ``build`` from the input's last dimension, so the layer adapts to any backbone's
    feature size; it serialises with ``get_config``.
    """

    def __init__(self, units: int, activation: str = "relu", **kwargs):
        super().__init__(**kwargs)
        units = checks.positive_int(units, "units", maximum=checks.LIMITS["units"])
        if not isinstance(activation, str) or activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}.")
        self.units = units
        self.activation_name = activation
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform",
                                      trainable=True, name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True, name="bias")

    def call(self, inputs):
        return self.activation(keras.ops.matmul(inputs, self.kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation_name}


class InferenceMode(keras.layers.Layer):
    """Runs the wrapped model with ``training=False``, whatever mode the caller asks for.

    In Keras 3 a functional model passes its own ``training`` value to every layer it calls,
    overriding a ``training=False`` written in the graph (keras-team/keras#20285), so
    ``base(inputs, training=False)`` does not keep BatchNorm in inference mode once ``fit``
    runs an unfrozen base. This wrapper does: its ``call`` takes no ``training`` argument.
    """

    def __init__(self, inner: keras.layers.Layer, **kwargs):
        if not isinstance(inner, keras.layers.Layer):
            checks.fail("inner", "a Keras layer or model", checks.Received(type(inner).__name__))
        super().__init__(**kwargs)
        self.inner = inner

    def call(self, inputs):
        return self.inner(inputs, training=False)

    def compute_output_shape(self, input_shape):
        return self.inner.compute_output_shape(input_shape)
