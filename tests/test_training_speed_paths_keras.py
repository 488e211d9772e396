"""Keras track: the fast paths of fit / predict / extract_features keep model.fit's numbers.

``tlhelpers.keras.training.fit`` runs its own traced step instead of ``model.fit``, and
``predict``/``extract_features`` one traced forward pass per model instead of
``model.predict``. These tests hold them to Keras's own results where the batch order
cannot matter (one batch per epoch), and check that each is traced once, whatever the
batch sizes. Speed itself is measured in ``benchmarks/`` (``python -m benchmarks --micro``),
never here.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

pytestmark = pytest.mark.keras

keras = pytest.importorskip("keras")
import tensorflow as tf  # noqa: E402

from tlhelpers.data import from_arrays  # noqa: E402
from tlhelpers.keras import backbones as B  # noqa: E402
from tlhelpers.keras import training as T  # noqa: E402
from tlhelpers.keras.data import to_tf_dataset  # noqa: E402

TRACES = [0]


class _CountTraces(keras.layers.Layer):
    """Identity whose Python body runs once per trace (the step and forward run as graphs)."""

    def call(self, x):
        TRACES[0] += 1
        return x


def _model(regularizer=None, dropout=0.0, count=False) -> keras.Model:
    """A small classifier, every layer named (as the course's models are)."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3), name="image")
    x = _CountTraces(name="count")(inputs) if count else inputs
    # No bias before BatchNorm: its gradient is zero up to rounding, which Adam would amplify.
    x = keras.layers.Conv2D(4, 3, use_bias=False, kernel_regularizer=regularizer, name="conv")(x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.ReLU(name="relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(x), name="small")


def _twin(model: keras.Model, **kwargs) -> keras.Model:
    twin = _model(**kwargs)
    twin.set_weights(model.get_weights())
    return twin


def _data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 8, 8, 3), dtype=np.float32), rng.integers(0, 3, n)


def _keras_fit(model, x, y, epochs, optimizer):
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model.fit(x, y, batch_size=len(x), epochs=epochs, shuffle=False, verbose=0).history


@pytest.mark.parametrize("regularizer", [None, "l2"])
def test_fit_matches_model_fit_on_one_batch(regularizer):
    """One batch per epoch: batch order cannot matter, so the numbers must be Keras's own
    (regularisation losses included in the loss, as model.fit reports it)."""
    reg = keras.regularizers.L2(0.05) if regularizer else None
    x, y = _data()
    ours = _model(regularizer=reg)
    theirs = _twin(ours, regularizer=reg)
    history = T.fit(ours, (x, y), epochs=4, batch_size=16, lr=1e-2, seed=0, progress=False)
    expected = _keras_fit(theirs, x, y, 4, keras.optimizers.Adam(1e-2, epsilon=1e-7))
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-4)
    np.testing.assert_allclose(history["accuracy"], expected["accuracy"])
    for a, b in zip(ours.get_weights(), theirs.get_weights()):  # BatchNorm statistics included
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_fit_matches_model_fit_with_weight_decay_and_cosine_schedule():
    x, y = _data()
    ours = _model()
    theirs = _twin(ours)
    history = T.fit(ours, (x, y), epochs=5, batch_size=16, lr=1e-2, weight_decay=0.1, schedule="cosine",
                    seed=0, progress=False)
    rate = keras.optimizers.schedules.CosineDecay(1e-2, decay_steps=5, alpha=0.0)
    expected = _keras_fit(theirs, x, y, 5, keras.optimizers.Adam(rate, epsilon=1e-7, weight_decay=0.1))
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_tf_dataset_input_gives_the_same_numbers_as_arrays():
    x, y = _data()
    a = _model()
    b = _twin(a)
    from_pipe = T.fit(a, to_tf_dataset(from_arrays(x, y), batch_size=16), epochs=3, lr=1e-2, seed=0,
                      progress=False)
    from_arrays_ = T.fit(b, (x, y), epochs=3, batch_size=16, lr=1e-2, seed=0, progress=False)
    np.testing.assert_allclose(from_pipe["loss"], from_arrays_["loss"], rtol=1e-5)


def test_fit_traces_its_step_once_whatever_the_last_batch():
    x, y = _data(n=21)  # batches of 8, 8 and 5
    model = _model(count=True)
    TRACES[0] = 0
    T.fit(model, (x, y), epochs=3, batch_size=8, seed=0, progress=False)
    assert TRACES[0] == 1, f"the training step was traced {TRACES[0]} times"


def test_predict_and_features_trace_once_per_model_for_every_batch_size():
    model = _model(count=True)
    x, _ = _data(n=37)
    TRACES[0] = 0
    T.predict(model, x, batch_size=8)
    T.predict(model, x[:5], batch_size=16)
    T.evaluate(model, (x[:11], np.zeros(11, int)), batch_size=4)
    assert TRACES[0] == 1, f"inference was traced {TRACES[0]} times"


def test_predict_matches_model_predict_in_inference_mode():
    x, y = _data(n=37)
    model = _model(dropout=0.5)
    T.fit(model, (x, y), epochs=1, batch_size=8, seed=0, progress=False)  # moves BatchNorm statistics
    expected = model.predict(x, batch_size=64, verbose=0)
    np.testing.assert_allclose(T.predict(model, x, batch_size=8), expected, rtol=1e-5, atol=1e-6)
    loss, accuracy = model.evaluate(x, y, verbose=0)  # fit leaves the model compiled for Keras's API
    result = T.evaluate(model, (x, y))
    assert result["loss"] == pytest.approx(loss, rel=1e-4)
    assert result["accuracy"] == pytest.approx(accuracy)


def test_extract_features_matches_backbone_predict():
    backbone = B.course_cnn(pretrained=True)
    x = np.random.default_rng(1).random((37, 32, 32, 3), dtype=np.float32)
    expected = backbone.predict(x, batch_size=64, verbose=0)
    np.testing.assert_allclose(B.extract_features(backbone, x, batch_size=8, progress=False), expected,
                               rtol=1e-4, atol=1e-5)


def test_unseeded_fit_repeats_after_seeding_keras():
    """seed=None draws the batch order from the global generators that seed_everything sets."""
    x, y = _data(n=40)
    a = _model(dropout=0.3)
    b = _twin(a, dropout=0.3)
    keras.utils.set_random_seed(5)
    first = T.fit(a, (x, y), epochs=2, batch_size=8, progress=False)
    keras.utils.set_random_seed(5)
    second = T.fit(b, (x, y), epochs=2, batch_size=8, progress=False)
    assert first == second


def test_trainable_changes_between_fits_take_effect():
    x, y = _data()
    model = _model()
    conv = model.get_layer("conv")
    conv.trainable = False
    kernel = conv.kernel.numpy().copy()
    T.fit(model, (x, y), epochs=2, batch_size=8, seed=0, progress=False)
    np.testing.assert_array_equal(conv.kernel.numpy(), kernel)
    conv.trainable = True
    T.fit(model, (x, y), epochs=2, batch_size=8, seed=0, progress=False)
    assert not np.allclose(conv.kernel.numpy(), kernel)


def test_mixed_precision_policy_trains_with_loss_scaling():
    """Under mixed_float16 (a GPU's opt-in, forced here on the CPU) fit scales the loss."""
    x, y = _data()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = _model()
        head = model.get_layer("head").kernel.numpy().copy()
        history = T.fit(model, (x, y), epochs=2, batch_size=8, seed=0, progress=False)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert np.all(np.isfinite(history["loss"]))
    assert not np.allclose(model.get_layer("head").kernel.numpy(), head)


def test_gpu_pipeline_yields_the_cpu_batches():
    """On a GPU, fit feeds arrays through a prefetching tf.data pipeline: the same batches."""
    x, y = _data(n=21)
    order = np.random.default_rng(0).permutation(21)
    plain = list(T._batches(x, y, order, 8, pipelined=False))
    piped = list(T._batches(x, y, order, 8, pipelined=True))
    assert [len(b[1]) for b in piped] == [8, 8, 5]
    for (xa, ya), (xb, yb) in zip(plain, piped):
        np.testing.assert_array_equal(xa, np.asarray(xb))
        np.testing.assert_array_equal(ya, np.asarray(yb))


# ------------------------------------------------- one traced step per architecture

def test_models_of_one_architecture_share_one_trace_and_keep_their_numbers(monkeypatch):
    """A second model of the same architecture reuses the traced step (run on a private
    copy of the architecture) and gets exactly the numbers of a step traced for itself."""
    calls = [0]
    dense_call = keras.layers.Dense.call

    @functools.wraps(dense_call)
    def counting(self, *args, **kwargs):
        calls[0] += 1
        return dense_call(self, *args, **kwargs)

    x, y = _data(n=24)
    first, second = _model(dropout=0.3), _model(dropout=0.3)
    second.set_weights([w + 0.01 for w in first.get_weights()])
    reference = _twin(second, dropout=0.3)
    monkeypatch.setattr(T, "_STEPS", type(T._STEPS)())
    monkeypatch.setattr(keras.layers.Dense, "call", counting)
    T.fit(first, (x, y), epochs=2, batch_size=8, seed=0, progress=False)
    traced = calls[0]
    shared = T.fit(second, (x, y), epochs=2, batch_size=8, seed=3, progress=False)
    assert calls[0] == traced, "the second model of the same architecture traced its step again"
    shared["val"] = T.evaluate(second, (x, y))
    monkeypatch.setattr(T, "_architecture_key", lambda model, signature, **kw: None)  # a step of its own
    own = T.fit(reference, (x, y), epochs=2, batch_size=8, seed=3, progress=False)
    own["val"] = T.evaluate(reference, (x, y))
    assert shared == own
    for a, b in zip(second.variables, reference.variables):  # weights, statistics, dropout seeds
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_validation_sees_the_weights_of_each_epoch_when_the_step_is_shared():
    x, y = _data(n=24)
    T.fit(_model(), (x, y), epochs=1, batch_size=8, seed=0, progress=False)  # traces the shared step
    model = _model()
    history = T.fit(model, (x, y), epochs=2, batch_size=8, seed=1, validation=(x, y), progress=False)
    assert history["val_loss"][-1] == pytest.approx(T.evaluate(model, (x, y))["loss"], rel=1e-6)
    assert history["val_loss"][0] != pytest.approx(history["val_loss"][1])


def test_models_with_their_own_code_are_never_shared():
    inputs = keras.Input((4,))
    scale = 3.0
    with_lambda = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Lambda(lambda t: t * scale)(inputs)))
    models = {"built-in layers": _model(), "a custom layer": _model(count=True), "a Lambda": with_lambda}
    for model in models.values():
        model.compile(optimizer="adam", loss="mse")
    keys = {name: T._architecture_key(model, None) for name, model in models.items()}
    assert keys == {"built-in layers": keys["built-in layers"], "a custom layer": None, "a Lambda": None}
    assert keys["built-in layers"] is not None


def test_architectures_differing_in_trainable_flags_get_their_own_steps():
    x, y = _data()
    a, b = _model(), _model()
    b.get_layer("conv").trainable = False
    for model in (a, b):
        model.compile(optimizer=T._optimizer(1e-3, 0.0, None, 1), loss="mse")
    assert T._architecture_key(a, None) != T._architecture_key(b, None)
    kernel = b.get_layer("conv").kernel.numpy().copy()
    T.fit(a, (x, y), epochs=1, batch_size=8, seed=0, progress=False)
    T.fit(b, (x, y), epochs=1, batch_size=8, seed=0, progress=False)
    np.testing.assert_array_equal(b.get_layer("conv").kernel.numpy(), kernel)


def test_models_of_one_architecture_share_one_forward_trace_and_keep_their_outputs(monkeypatch):
    """predict/evaluate run every model of one architecture (frozen or not) through one
    traced forward pass loaded with that model's weights: each model keeps its own outputs."""
    calls = [0]
    dense_call = keras.layers.Dense.call

    @functools.wraps(dense_call)
    def counting(self, *args, **kwargs):
        calls[0] += 1
        return dense_call(self, *args, **kwargs)

    x, _ = _data(n=19)
    models = [_model(dropout=0.5) for _ in range(3)]
    models[1].set_weights([w * 1.5 + 0.1 for w in models[0].get_weights()])
    models[2].get_layer("conv").trainable = False  # inference ignores trainable flags
    expected = [m.predict(x, batch_size=64, verbose=0) for m in models]
    monkeypatch.setattr(T, "_INFERENCE", type(T._INFERENCE)())
    monkeypatch.setattr(keras.layers.Dense, "call", counting)
    outputs = [T.predict(m, x, batch_size=8) for m in models]
    assert calls[0] == 1, f"three models of one architecture traced inference {calls[0]} times"
    for got, want in zip(outputs, expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(outputs[0], outputs[1]), "the second model's weights were not used"
    models[0].get_layer("head").kernel.assign(np.zeros_like(models[0].get_layer("head").kernel))
    np.testing.assert_allclose(T.predict(models[0], x), models[0].predict(x, verbose=0), rtol=1e-5, atol=1e-6)
