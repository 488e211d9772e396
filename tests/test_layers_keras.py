"""Keras InferenceMode keeps BatchNorm statistics fixed when fit() fine-tunes an unfrozen base."""

import numpy as np
import pytest

pytestmark = pytest.mark.keras

tlk = pytest.importorskip("tlhelpers.keras")
import keras  # noqa: E402

from tlhelpers.keras.layers import AdaptiveLayer, InferenceMode  # noqa: E402


def base():
    return keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization(),
                             keras.layers.GlobalAveragePooling2D()])


def fine_tune(wrap):
    tlk.seed_everything(0)
    b = base()
    inputs = keras.Input((6, 6, 1))
    features = InferenceMode(b)(inputs) if wrap else b(inputs, training=False)
    model = keras.Model(inputs, AdaptiveLayer(2, activation="linear")(features))
    b.trainable = True
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    bn = b.layers[1]
    before = bn.moving_mean.numpy().copy()
    model.fit(np.random.rand(32, 6, 6, 1).astype("float32") * 4 + 2, np.random.randint(0, 2, 32), verbose=0)
    return float(np.abs(bn.moving_mean.numpy() - before).max())


def test_inference_mode_wrapper_holds_where_training_false_does_not():
    assert fine_tune(wrap=True) == 0.0
    # Documents the Keras 3 behaviour the wrapper exists for (keras-team/keras#20285).
    assert fine_tune(wrap=False) > 0.0
