"""tlhelpers.keras.adapt: the source+target loop, Deep CORAL, DAN and AdaBN on a tiny CNN."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")

import _adapt_toy as toy  # noqa: E402
import tensorflow as tf  # noqa: E402
import tlhelpers.keras  # noqa: E402,F401
from tlhelpers.data import from_arrays  # noqa: E402
from tlhelpers.keras import adapt as A  # noqa: E402
from tlhelpers.keras import divergence as KD  # noqa: E402

FIT = dict(epochs=2, batch_size=16, lr=1e-2, seed=0, progress=False)


@pytest.fixture(scope="module")
def domains():
    return toy.toy_domains()


def weights(model):
    return [w.copy() for w in model.get_weights()]


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def runs(domains):
    """Histories, weights and (source, target) activations of a few short runs; one Keras
    trace each, shared by the tests below."""
    xs, ys, xt, yt = domains
    noise = from_arrays(np.random.default_rng(1).random(xt.shape, dtype=np.float32), yt)
    out = {}
    for name, run, target, kw in (("source_only", A.fit_adapt, xt, {}),
                                  ("source_only_noise", A.fit_adapt, noise, {}),
                                  ("deep_coral", A.deep_coral, xt, {"weight": 100.0}),
                                  ("dan", A.dan, xt, {"weight": 10.0})):
        model = toy.keras_classifier()
        history = run(model, (xs, ys), target, **{**FIT, "epochs": 4}, **kw)
        taps = A.AdaptationModel(model).tap_model
        out[name] = (history, weights(model), taps.predict(xs, verbose=0), taps.predict(xt, verbose=0))
    return out


def test_source_only_never_reads_the_target_nor_its_labels(runs):
    (h1, w1, _, _), (h2, w2, _, _) = runs["source_only"], runs["source_only_noise"]
    assert h1 == h2 and same(w1, w2)
    assert h1["align_loss"] == [0.0] * 4
    assert set(h1) == {"loss", "class_loss", "align_loss", "accuracy"}


@pytest.mark.parametrize("method, tap, measure", [("deep_coral", "logits", KD.coral_distance),
                                                  ("dan", "features", KD.mmd2_unbiased)])
def test_alignment_shrinks_the_divergence_it_aligns(runs, method, tap, measure):
    divergences = {name: float(measure(a_s[tap].astype("float64"), a_t[tap].astype("float64")))
                   for name, (_, _, a_s, a_t) in runs.items() if name in ("source_only", method)}
    assert divergences[method] < 0.5 * divergences["source_only"], divergences
    assert runs[method][0]["align_loss"][-1] < runs[method][0]["align_loss"][0]


def test_weight_and_learning_rate_schedules_follow_the_progress(domains):
    xs, ys, xt, _ = domains
    seen_weight, seen_lr = [], []
    model = toy.keras_classifier()
    before = [v.numpy().copy() for v in model.trainable_variables]
    A.fit_adapt(model, (xs, ys), xt, alignment=KD.coral_distance,
                weight=lambda p: seen_weight.append(p) or 1.0,
                schedule=lambda p: seen_lr.append(p) or 0.0, **FIT)
    total = 2 * (len(xs) // 16)
    expected = [k / total for k in range(total)]
    assert seen_lr[-total:] == pytest.approx(expected) and seen_weight[-total:] == pytest.approx(expected)
    # a learning rate of 0 at every step reaches the optimizer: no weight moves
    assert same(before, [v.numpy() for v in model.trainable_variables])


@keras.saving.register_keras_serializable(package="tests")
class DomainClassifierLoss(keras.layers.Layer):
    """A DANN-style alignment: gradient reversal, then a linear domain classifier."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.discriminator = keras.layers.Dense(1)

    def call(self, source, target):
        @tf.custom_gradient
        def reverse(x):
            return tf.identity(x), lambda g: -g

        h = self.discriminator(reverse(tf.concat([source, target], 0)))
        d = tf.concat([tf.zeros((tf.shape(source)[0], 1)), tf.ones((tf.shape(target)[0], 1))], 0)
        return tf.reduce_mean(keras.losses.binary_crossentropy(d, h, from_logits=True))


def test_a_trainable_alignment_is_trained_with_the_classifier(domains):
    """Lesson 04's plug-in point: a layer with weights as the alignment loss."""
    xs, ys, xt, _ = domains
    model, domain_loss = toy.keras_classifier(), DomainClassifierLoss()
    history = A.fit_adapt(model, (xs, ys), xt, alignment=domain_loss, **FIT)
    kernel = domain_loss.discriminator.kernel
    assert any(v is kernel for v in A.AdaptationModel(model, domain_loss).trainable_variables)
    assert all(np.isfinite(history["align_loss"])) and history["align_loss"][0] != history["align_loss"][1]


def test_adaptation_model_works_with_compile_and_fit(domains):
    xs, ys, xt, _ = domains
    model = toy.keras_classifier()
    adapter = A.AdaptationModel(model, KD.mmd2_unbiased, taps=["features", "logits"], weight=0.5)
    adapter.compile(optimizer=keras.optimizers.SGD(0.1))
    before = weights(model)
    batches = tf.data.Dataset.from_tensor_slices(((xs, xt), ys)).batch(16, drop_remainder=True)
    logs = adapter.fit(batches, epochs=1, shuffle=False, verbose=0).history
    assert set(logs) == {"loss", "class_loss", "align_loss", "accuracy"}
    assert logs["loss"][0] == pytest.approx(logs["class_loss"][0] + 0.5 * logs["align_loss"][0], rel=1e-5)
    assert not same(before, weights(model))
    np.testing.assert_allclose(adapter.predict(xs[:4], verbose=0), model.predict(xs[:4], verbose=0))


def test_adabn_gives_the_target_moments_and_keeps_the_weights(domains):
    _, _, xt, yt = domains
    model = toy.keras_classifier()
    backbone = model.get_layer("tiny")
    bn = backbone.get_layer("bn")
    trainable = [v.numpy().copy() for v in model.trainable_variables]
    out = A.adabn(model, from_arrays(xt, yt), batch_size=7)
    assert out is model
    conv = keras.Model(backbone.input, backbone.get_layer("conv").output).predict(xt, verbose=0).astype("float64")
    np.testing.assert_allclose(bn.moving_mean.numpy(), conv.mean((0, 1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), conv.var((0, 1, 2)), rtol=1e-5, atol=1e-6)
    assert same(trainable, [v.numpy() for v in model.trainable_variables])
    assert "call" not in vars(bn)  # the temporary wrapper is gone
    # in inference the target's BatchNorm outputs are now standardised, then scaled and shifted
    normalised = (bn(conv.astype("float32"), training=False).numpy() - bn.beta.numpy()) / bn.gamma.numpy()
    np.testing.assert_allclose(normalised.mean((0, 1, 2)), 0.0, atol=1e-4)


def test_adabn_works_on_a_frozen_classifier(domains):
    from tlhelpers.keras.backbones import build_classifier

    _, _, xt, _ = domains
    model = build_classifier(toy.keras_classifier().get_layer("tiny"), 3, freeze_backbone=True)
    bn = model.get_layer("tiny_inference").inner.get_layer("bn")
    before = bn.moving_mean.numpy().copy()
    A.adabn(model, xt)
    assert not np.array_equal(before, bn.moving_mean.numpy())


def test_bad_input_gets_a_clear_error(domains):
    xs, ys, xt, _ = domains
    model = toy.keras_classifier()
    for target, match in ((xt[..., :1], "same shape"), (xt[:0], "target is empty"), (xt[:, :4], "same shape")):
        with pytest.raises(ValueError, match=match):
            A.fit_adapt(model, (xs, ys), target, alignment=KD.coral_distance, **FIT)
    with pytest.raises(ValueError, match="source has images of shape"):
        A.fit_adapt(model, (xs[:, :4], ys), xt[:, :4], **FIT)
    with pytest.raises(ValueError, match="batch_size=16 is larger"):
        A.fit_adapt(model, (xs, ys), xt[:10], alignment=KD.coral_distance, **FIT)
    with pytest.raises(ValueError, match="source must hold images"):
        A.fit_adapt(model, (xs, ys[:3]), xt, **FIT)
    with pytest.raises(ValueError, match="taps"):
        A.fit_adapt(model, (xs, ys), xt, alignment=KD.coral_distance, taps=("pixels",), **FIT)
    with pytest.raises(ValueError, match="weight"):
        A.deep_coral(model, (xs, ys), xt, weight=-1.0, **FIT)
    with pytest.raises(ValueError, match="estimator"):
        A.dan(model, (xs, ys), xt, estimator="quadratic", **FIT)
    with pytest.raises(TypeError, match="alignment must be callable"):
        A.fit_adapt(model, (xs, ys), xt, alignment="coral", **FIT)
    with pytest.raises(TypeError, match="'head'"):
        A.AdaptationModel(keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3)]))
    with pytest.raises(ValueError, match="schedule"):
        A.fit_adapt(model, (xs, ys), xt, schedule="step", **FIT)
    # AdaBN
    with pytest.raises(ValueError, match="target is empty"):
        A.adabn(model, xt[:0])
    with pytest.raises(ValueError, match="target has images of shape"):
        A.adabn(model, xt[..., :1])
    with pytest.raises(ValueError, match="no BatchNorm"):
        A.adabn(keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3)]), xt)
    with pytest.raises(ValueError, match="batch_size"):
        A.adabn(model, xt, batch_size=0)
    with pytest.raises(TypeError, match="model must be a Keras model"):
        A.adabn("model", xt)
