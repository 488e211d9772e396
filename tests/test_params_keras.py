"""Keras track: counting, freezing and unfreezing; seeding and devices."""

import numpy as np
import pytest

import tlhelpers

pytestmark = pytest.mark.keras

tlk = pytest.importorskip("tlhelpers.keras")
import keras  # noqa: E402


def nested():
    inner = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization(),
                              keras.layers.GlobalAveragePooling2D()])
    return inner, keras.Sequential([keras.Input((8, 8, 1)), inner, keras.layers.Dense(3)])


def test_count_parameters_keeps_statistics_apart():
    inner, outer = nested()
    assert tlk.count_parameters(outer) == tlk.ParamCounts(trainable=63, frozen=0, state=8)
    tlk.freeze(inner)
    assert tlk.count_parameters(outer) == tlk.ParamCounts(trainable=15, frozen=48, state=8)
    assert tlk.count_parameters(outer).total == 63


def test_walk_layers_sees_layers_held_by_custom_layers():
    inner, _ = nested()

    class Wrapper(keras.layers.Layer):
        def __init__(self, held):
            super().__init__()
            self.held = held

        def call(self, x):
            return self.held(x, training=False)

    wrapper = Wrapper(inner)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in tlk.walk_layers(wrapper))


def test_frozen_model_keeps_weights_and_statistics_under_fit():
    tlk.seed_everything(0)
    inner, outer = nested()
    tlk.freeze(inner)
    before = [v.numpy().copy() for v in inner.weights]
    outer.compile(optimizer=keras.optimizers.SGD(0.5), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.rand(64, 8, 8, 1).astype("float32") * 3 + 1
    outer.fit(x, np.random.randint(0, 3, 64), epochs=1, verbose=0)
    assert all(np.array_equal(v.numpy(), b) for v, b in zip(inner.weights, before))


def test_unfreeze_keeps_batchnorm_frozen_and_respects_from_layer():
    inner, outer = nested()
    tlk.freeze(outer)
    tlk.unfreeze(inner)
    bn = inner.layers[1]
    assert not bn.trainable and inner.layers[0].trainable
    tlk.unfreeze(inner, bn_trainable=True)
    assert bn.trainable
    tlk.freeze(outer)
    tlk.unfreeze(outer, from_layer=1)
    assert not inner.trainable_weights and outer.layers[1].trainable
    with pytest.raises(ValueError, match="from_layer"):
        tlk.unfreeze(outer, from_layer="nope")
    with pytest.raises(ValueError, match="from_layer"):
        tlk.unfreeze(outer, from_layer=5)


def test_bad_model_argument():
    with pytest.raises(TypeError, match="Keras model"):
        tlk.count_parameters("not a model")


def test_seed_everything_makes_training_repeatable():
    def run():
        tlk.seed_everything(3)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)])
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        x = np.random.rand(64, 4).astype("float32")
        model.fit(x, (x[:, 0] > 0.5).astype(int), epochs=2, batch_size=16, shuffle=True, verbose=0)
        return [w.copy() for w in model.get_weights()]

    assert all(np.array_equal(a, b) for a, b in zip(run(), run()))


def test_devices_and_mixed_precision_on_cpu():
    assert tlk.get_device() in ("/CPU:0", "/GPU:0")
    assert "dtype policy" in tlk.describe_devices()
    if not tlk.gpu_names():
        with pytest.warns(UserWarning, match="needs a GPU"):
            assert tlk.mixed_precision(True) == "float32"
    assert tlk.mixed_precision(False) == "float32"
    assert "Keras devices" in tlhelpers.keras.env_report().as_dict()
