"""tlhelpers.keras.dann: the gradient reversal layer, the domain-adversarial loss, DANN and
CDAN on the adaptation loop (train_step under fit), the schedules as callbacks (COURSE.md
§5 items 1–5), on tiny models."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

import _adapt_toy as toy  # noqa: E402
from tlhelpers.keras import adapt as A  # noqa: E402
from tlhelpers.keras import dann as D  # noqa: E402
from tlhelpers.schedules import dann_lambda, dann_lr  # noqa: E402

FIT = dict(epochs=2, batch_size=16, seed=0, progress=False)
LAMBDAS = (0.1, 1.0, 10.0)


@pytest.fixture(scope="module")
def domains():
    return toy.toy_domains()


def grad_through(fn, x, up):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return y, tape.gradient(y, x, output_gradients=up)


def rng_tensor(shape, seed):
    return tf.constant(np.random.default_rng(seed).standard_normal(shape).astype("float32"))


# --------------------------------------------------------------------------------------
# The gradient reversal layer (items 1–2)
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("lam", LAMBDAS)
def test_grl_is_the_identity_forward_and_minus_lambda_g_backward(lam):
    x, g = rng_tensor((5, 4), 1), rng_tensor((5, 4), 2)
    for reverse in (D.GradientReversal(lam), lambda t: D.gradient_reversal(t, lam)):
        y, grad = grad_through(reverse, x, g)
        np.testing.assert_array_equal(y.numpy(), x.numpy())
        np.testing.assert_array_equal(grad.numpy(), (g * -np.float32(lam)).numpy())


def test_grl_with_lambda_zero_passes_no_gradient_and_reverses_once():
    x = rng_tensor((3, 4), 3)
    _, grad = grad_through(D.GradientReversal(0.0), x, tf.ones((3, 4)))
    assert not np.any(grad.numpy())
    layer = keras.layers.Dense(2)
    _, plain = grad_through(lambda t: tf.reduce_sum(layer(t) ** 2), x, None)
    _, rev = grad_through(lambda t: tf.reduce_sum(layer(D.GradientReversal(1.0)(t)) ** 2), x, None)
    np.testing.assert_array_equal(rev.numpy(), -plain.numpy())


def test_grl_lambda_changes_without_retracing():
    grl = D.GradientReversal(1.0)
    x, up = tf.ones((2, 3)), tf.ones((2, 3))

    @tf.function
    def reversed_grad(t):
        return grad_through(grl, t, up)[1]

    np.testing.assert_array_equal(reversed_grad(x).numpy(), -np.ones((2, 3)))
    grl.lambda_ = 10
    np.testing.assert_array_equal(reversed_grad(x).numpy(), -10 * np.ones((2, 3)))
    assert reversed_grad.experimental_get_tracing_count() == 1 and grl.lambda_ == 10.0
    assert not grl.trainable_weights and D.GradientReversal.from_config(grl.get_config()).lambda_ == 10.0


# --------------------------------------------------------------------------------------
# The domain loss reaches the feature extractor reversed (item 4)
# --------------------------------------------------------------------------------------

def test_domain_loss_reaches_the_features_with_the_sign_reversed(domains):
    xs, ys, xt, _ = domains
    dann = D.DANN(toy.keras_classifier(), lambda_=1.0)
    backbone = dann.classifier.get_layer("tiny").trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        out = dann.step_losses(xs[:8], ys[:8], xt[:8], training=True)
        feats = dann.tap_model(np.concatenate([xs[:8], xt[:8]]), training=True)["features"]
        plain = D._domain_bce(dann.discriminator(feats), 8)[0]
    with_grl = tape.gradient(out["align_loss"], backbone)
    without = tape.gradient(plain, backbone)
    assert all(np.any(g.numpy()) for g in with_grl), "no adversarial signal reached the features"
    for a, b in zip(with_grl, without):
        np.testing.assert_allclose(a.numpy(), -b.numpy(), rtol=1e-5, atol=1e-7)
    disc = dann.discriminator.trainable_variables
    for a, b in zip(tape.gradient(out["align_loss"], disc), tape.gradient(plain, disc)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)


def test_domain_loss_is_balanced_bce_with_source_one_target_zero():
    keras.utils.set_random_seed(0)
    loss_fn = D.DomainAdversarialLoss(D.domain_discriminator(3, (4,)))
    fs, ft = rng_tensor((5, 3), 4), rng_tensor((3, 3), 5)
    loss, accuracy = loss_fn.loss_and_accuracy(fs, ft)
    ls, lt = loss_fn.discriminator(fs).numpy().ravel(), loss_fn.discriminator(ft).numpy().ravel()
    expected = 0.5 * (np.logaddexp(0, -ls).mean() + np.logaddexp(0, lt).mean())
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    assert float(accuracy) == pytest.approx(0.5 * ((ls > 0).mean() + (lt <= 0).mean()))
    assert float(loss_fn(fs, ft)) == pytest.approx(expected, rel=1e-5)


# --------------------------------------------------------------------------------------
# λ schedule reaches the layer (item 3); LR annealing keeps the optimizer (item 5)
# --------------------------------------------------------------------------------------

class Spy(keras.callbacks.Callback):
    """Records the GRL's λ and the learning rate the coming step will use."""

    def __init__(self, grl):
        super().__init__()
        self.grl, self.lambdas, self.lrs = grl, [], []

    def on_train_batch_begin(self, batch, logs=None):
        self.lambdas.append(self.grl.lambda_)
        self.lrs.append(float(self.model.optimizer.learning_rate.numpy()))


def paired(domains, batch=16):
    xs, ys, xt, _ = domains
    return tf.data.Dataset.from_tensor_slices(((xs, xt), ys)).batch(batch, drop_remainder=True)


def test_lambda_schedule_reaches_the_grl_through_fit_adapt(domains):
    xs, ys, xt, _ = domains
    dann = D.DANN(toy.keras_classifier())
    seen = []
    original = dann.set_progress
    dann.set_progress = lambda p: (original(p), seen.append(dann.grl.lambda_))
    history = D.fit_dann(dann, (xs, ys), xt, **FIT)
    total = 2 * (len(xs) // 16)
    assert seen[-total:] == pytest.approx([dann_lambda(k / total) for k in range(total)], rel=1e-6)
    assert len(history["domain_accuracy"]) == 2 and all(0 <= a <= 1 for a in history["domain_accuracy"])


def test_callbacks_under_plain_fit_set_lambda_and_anneal_without_rebuilding(domains):
    dann = D.DANN(toy.keras_classifier(), lambda_=0.0)
    optimizer = keras.optimizers.SGD(0.02, momentum=0.9)
    dann.compile(optimizer=optimizer)
    steps = len(domains[0]) // 16
    total = 2 * steps
    spy = Spy(dann.grl)
    callbacks = [D.LambdaSchedule(dann.grl, total), D.LRAnnealing(total), spy]
    logs = dann.fit(paired(domains), epochs=1, verbose=0, callbacks=callbacks).history
    momenta = [v for v in optimizer.variables if "momentum" in v.path]
    before = [v.numpy().copy() for v in momenta]
    assert momenta and any(np.any(b) for b in before)
    dann.fit(paired(domains), epochs=1, verbose=0, callbacks=callbacks)  # a second fit goes on
    assert dann.optimizer is optimizer and int(optimizer.iterations) == total
    assert any(not np.array_equal(b, v.numpy()) for b, v in zip(before, momenta))
    assert spy.lambdas == pytest.approx([dann_lambda(k / total) for k in range(total)], rel=1e-6)
    assert spy.lrs == pytest.approx([0.02 * dann_lr(k / total) for k in range(total)], rel=1e-6)
    assert {"domain_accuracy", "align_loss", "class_loss", "loss", "accuracy"} == set(logs)


def test_lr_annealing_keeps_per_variable_multipliers():
    """With the fine-tuning lesson's per-variable multipliers, only the base rate is annealed."""
    finetune = pytest.importorskip("tlhelpers.keras.finetune")
    if not hasattr(finetune, "ParamGroupOptimizer"):
        pytest.skip("tlhelpers.keras.finetune.ParamGroupOptimizer is not there")
    model = toy.keras_classifier()
    dann = D.DANN(model)
    scales = {v.path: (0.1 if "tiny" in v.path else 1.0) for v in dann.trainable_variables}
    optimizer = finetune.ParamGroupOptimizer(keras.optimizers.SGD(0.02), scales)
    dann.compile(optimizer=optimizer)
    dann.fit(paired(toy.toy_domains()), epochs=1, verbose=0, callbacks=[D.LRAnnealing(3)])
    assert optimizer.multipliers == scales
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(0.02 * dann_lr(2 / 3), rel=1e-6)


def test_fit_adapt_anneals_from_the_optimizers_own_rate(domains):
    xs, ys, xt, _ = domains
    dann = D.DANN(toy.keras_classifier())
    optimizer = keras.optimizers.SGD(0.005, momentum=0.9)
    A.fit_adapt(dann, (xs, ys), xt, optimizer=optimizer, schedule=dann_lr, **FIT)
    total = 2 * (len(xs) // 16)
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(0.005 * dann_lr((total - 1) / total), rel=1e-6)
    assert int(optimizer.iterations) == total


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------

def test_dann_trains_the_discriminator_and_logs_its_accuracy(domains):
    xs, ys, xt, _ = domains
    dann = D.DANN(toy.keras_classifier(), hidden=(8,))
    before = [v.numpy().copy() for v in dann.discriminator.trainable_variables]
    history = D.fit_dann(dann, (xs, ys), xt, validation=(xt, ys), **FIT)
    assert set(history) == {"loss", "class_loss", "align_loss", "domain_accuracy", "accuracy",
                            "val_loss", "val_accuracy"}
    assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, dann.discriminator.trainable_variables))
    assert dann.grl.lambda_ == pytest.approx(dann_lambda(5 / 6), rel=1e-6)
    assert all(np.isfinite(v).all() for v in history.values())


def test_cdan_conditions_on_held_predictions(domains):
    xs, ys, xt, _ = domains
    for entropy in (False, True):
        cdan = D.CDAN(toy.keras_classifier(), entropy=entropy, lambda_=1.0)
        assert cdan.discriminator.layers[0].kernel.shape[0] == toy.WIDTH * toy.CLASSES
        head = cdan.classifier.get_layer("head").trainable_variables
        backbone = cdan.classifier.get_layer("tiny").trainable_variables
        with tf.GradientTape(persistent=True) as tape:
            out = cdan.step_losses(xs[:6], ys[:6], xt[:6])
        assert all(g is None or not np.any(g.numpy()) for g in tape.gradient(out["align_loss"], head))
        assert all(np.any(g.numpy()) for g in tape.gradient(out["align_loss"], backbone))
    loss_fn = D.ConditionalDomainAdversarialLoss(D.domain_discriminator(6, (4,)))
    f, g = rng_tensor((4, 3), 6), rng_tensor((4, 2), 7)
    soft = tf.nn.softmax(g).numpy()
    h = np.stack([np.outer(si, fi).ravel() for fi, si in zip(f.numpy(), soft)])
    expected = float(D._domain_bce(loss_fn.discriminator(h), 2)[0])
    assert float(loss_fn(f[:2], f[2:], g[:2], g[2:])) == pytest.approx(expected, rel=1e-5)
    history = D.fit_dann(D.CDAN(toy.keras_classifier(), entropy=True), (xs, ys), xt, **FIT)
    assert "domain_accuracy" in history and np.isfinite(history["loss"]).all()


def test_networks_have_the_papers_shapes():
    model = D.ganin_digits_classifier(10, (28, 28, 3))
    assert model.get_layer("ganin_features").output_shape[-1] == 768
    assert model.predict(np.zeros((2, 28, 28, 3), np.float32), verbose=0).shape == (2, 10)
    dann = D.DANN(model)
    assert tuple(dann.discriminator.layers[0].kernel.shape) == (768, 100)
    moons = D.mlp_classifier(2, 2, (15,))
    f_s, f_t = D.domain_features(moons, np.zeros((4, 2), np.float32), (np.ones((3, 2), np.float32), np.zeros(3)))
    assert f_s.shape == (4, 15) and f_t.shape == (3, 15)


def test_build_dann_on_any_backbone(domains):
    xs, _, xt, _ = domains
    backbone = toy.keras_classifier().get_layer("tiny")
    dann = D.build_dann(backbone, 3, hidden=(5, 4), trade_off=0.5, lambda_=0.3, bn_inference=False)
    assert dann.grl.lambda_ == pytest.approx(0.3) and dann.weight == 0.5
    f_s, f_t = D.domain_features(dann, xs, xt)
    assert f_s.shape == (len(xs), toy.WIDTH) and f_t.shape == (len(xt), toy.WIDTH)


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------

def test_bad_input_gets_a_clear_error(domains):
    xs, ys, xt, _ = domains
    x = tf.zeros((2, 3))
    for bad in (-0.1, float("nan"), "one"):
        with pytest.raises(ValueError, match="lambda_"):
            D.GradientReversal(bad)
    for bad in (-0.1, float("nan"), None, "one", np.float32(-1)):
        with pytest.raises(ValueError, match="lambda_ must be a finite number >= 0"):
            D.gradient_reversal(x, bad)
    grl = D.GradientReversal()
    with pytest.raises(ValueError, match="never negative"):
        grl.lambda_ = -1
    assert grl.lambda_ == 1.0
    for args, match in (((0,), "in_features"), ((3, "100"), "hidden"), ((3, (0,)), "hidden widths")):
        with pytest.raises(ValueError, match=match):
            D.domain_discriminator(*args)
    loss_fn = D.DomainAdversarialLoss(D.domain_discriminator(3))
    with pytest.raises(TypeError, match="discriminator must be a Keras model or layer"):
        D.DomainAdversarialLoss(lambda h: h)
    with pytest.raises(ValueError, match="same width"):
        loss_fn(tf.zeros((2, 3)), tf.zeros((2, 4)))
    with pytest.raises(ValueError, match="target features is an empty batch"):
        loss_fn(tf.zeros((2, 3)), tf.zeros((0, 3)))
    with pytest.raises(ValueError, match="2-D tensor"):
        loss_fn(tf.zeros((2, 3, 1)), tf.zeros((2, 3)))
    with pytest.raises(ValueError, match="one logit per example"):
        D.DomainAdversarialLoss(keras.layers.Dense(2))(tf.zeros((2, 3)), tf.zeros((2, 3)))
    with pytest.raises(ValueError, match="needs the logits"):
        D.ConditionalDomainAdversarialLoss(D.domain_discriminator(6))(tf.zeros((2, 3)), tf.zeros((2, 3)))
    with pytest.raises(ValueError, match="entropy must be True or False"):
        D.ConditionalDomainAdversarialLoss(D.domain_discriminator(6), entropy="yes")
    model = toy.keras_classifier()
    with pytest.raises(ValueError, match="tap must be"):
        D.DANN(model, tap="pixels")
    with pytest.raises(TypeError, match="classifier must be a Keras model"):
        D.DANN("model")
    with pytest.raises(ValueError, match="lambda_"):
        D.DANN(model, lambda_=-1.0)
    with pytest.raises(ValueError, match="lambda_"):
        D.DANN(model, lambda_=lambda p: p - 1)
    with pytest.raises(ValueError, match="trade_off must be a finite number >= 0"):
        D.DANN(model, trade_off=-1.0)
    backbone = model.get_layer("tiny")
    with pytest.raises(ValueError, match="num_classes"):
        D.build_dann(backbone, 1)
    with pytest.raises(ValueError, match="hidden"):
        D.build_dann(backbone, 3, hidden=None)
    with pytest.raises(ValueError, match="lambda_"):
        D.build_dann(backbone, 3, lambda_=float("inf"))
    for args, match in (((10, (8, 8, 3)), "too small"), ((1,), "num_classes"), ((10, (32, 32)), "input_shape")):
        with pytest.raises(ValueError, match=match):
            D.ganin_digits_classifier(*args)
    for kwargs, match in ((dict(hidden=()), "at least one width"), (dict(in_features=0), "in_features"),
                          (dict(num_classes=1), "num_classes")):
        with pytest.raises(ValueError, match=match):
            D.mlp_classifier(**kwargs)
    with pytest.raises(TypeError, match="grl must be a GradientReversal"):
        D.LambdaSchedule(keras.layers.Identity(), 10)
    with pytest.raises(ValueError, match="total_steps"):
        D.LambdaSchedule(grl, 0)
    with pytest.raises(TypeError, match="schedule must be a function"):
        D.LambdaSchedule(grl, 10, schedule=0.5)
    with pytest.raises(ValueError, match="total_steps"):
        D.LRAnnealing(-3)
    with pytest.raises(ValueError, match="alpha"):
        D.LRAnnealing(10, alpha=-1.0)
    with pytest.raises(ValueError, match="beta"):
        D.LRAnnealing(10, beta="x")
    dann = D.DANN(toy.keras_classifier())
    with pytest.raises(TypeError, match="model must be a DANN"):
        D.fit_dann(toy.keras_classifier(), (xs, ys), xt, **FIT)
    with pytest.raises(ValueError, match=r"source and target images must have the same shape.*\(4, 8, 3\)"):
        D.fit_dann(dann, (xs, ys), xt[:, :4], **FIT)
    with pytest.raises(ValueError, match="target is empty"):
        D.fit_dann(dann, (xs, ys), xt[:0], **FIT)
    with pytest.raises(ValueError, match="batch_size=16 is larger"):
        D.fit_dann(dann, (xs, ys), xt[:10], **FIT)
    with pytest.raises(ValueError, match="already an AdaptationModel"):
        A.fit_adapt(dann, (xs, ys), xt, taps=("logits",), **FIT)
    with pytest.raises(ValueError, match="LearningRateSchedule"):
        A.fit_adapt(dann, (xs, ys), xt, schedule=dann_lr, **FIT,
                    optimizer=keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)))
    with pytest.raises(TypeError, match="model must be a Keras classifier"):
        D.domain_features("model", xs, xt)
    with pytest.raises(ValueError, match="target is empty"):
        D.domain_features(dann, xs, xt[:0])
