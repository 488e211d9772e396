"""Both tracks' distillation against the NumPy reference (values and gradients within 1e-6 in
float64 at T ∈ {1, 2, 4, 8} and several α) and against each other: the same student
architecture (copied weights → the same logits), the same pruning masks, the same
distillation step."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = [pytest.mark.keras, pytest.mark.torch]

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

import tensorflow as tf  # noqa: E402

import tlhelpers.keras  # noqa: E402,F401
import tlhelpers.torch  # noqa: E402,F401
from tlhelpers import distill as core  # noqa: E402
from tlhelpers.keras import distill as KD  # noqa: E402
from tlhelpers.torch import distill as TD  # noqa: E402

TEMPERATURES = (1.0, 2.0, 4.0, 8.0)
ALPHAS = (0.0, 0.1, 0.5, 0.9, 1.0)


def test_same_public_names_in_both_tracks():
    keras_only = {"TFLiteModel", "to_tflite"}
    assert set(KD.__all__) - keras_only == set(TD.__all__)
    for name in ("kd_loss", "soft_target_loss", "attention_map", "attention_transfer_loss", "hint_loss"):
        assert name in core.__all__


def logits(seed=0, n=9, c=6):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 3, (n, c)), rng.normal(0, 3, (n, c)), rng.integers(0, c, n)


def torch_value_grad(zs, zt, y, t, a):
    s = torch.tensor(zs, requires_grad=True)
    loss = TD.kd_loss(s, torch.tensor(zt), torch.tensor(y), temperature=t, alpha=a)
    loss.backward()
    return float(loss.detach()), s.grad.numpy()


def keras_value_grad(zs, zt, y, t, a):
    s = tf.Variable(zs)
    with tf.GradientTape() as tape:
        loss = KD.kd_loss(s, tf.constant(zt), tf.constant(y), temperature=t, alpha=a)
    return float(loss), tape.gradient(loss, s).numpy()


@pytest.mark.parametrize("t", TEMPERATURES)
@pytest.mark.parametrize("a", ALPHAS)
def test_kd_loss_values_and_gradients_match_the_reference_in_float64(t, a):
    for seed in (0, 1):
        zs, zt, y = logits(seed)
        ref, ref_grad = core.kd_loss(zs, zt, y, temperature=t, alpha=a), \
            core.kd_loss_grad(zs, zt, y, temperature=t, alpha=a)
        for value, grad in (torch_value_grad(zs, zt, y, t, a), keras_value_grad(zs, zt, y, t, a)):
            assert abs(value - ref) < 1e-6
            np.testing.assert_allclose(grad, ref_grad, atol=1e-6, rtol=0)


def test_soft_targets_and_hints_match_the_reference():
    zs, zt, _ = logits()
    for t in TEMPERATURES:
        np.testing.assert_allclose(TD.temperature_softmax(torch.tensor(zs), t).numpy(), core.softmax_t(zs, t), atol=1e-12)
        np.testing.assert_allclose(np.asarray(KD.temperature_softmax(zs, t)), core.softmax_t(zs, t), atol=1e-12)
        assert float(TD.soft_target_loss(torch.tensor(zs), torch.tensor(zt), t)) == \
            pytest.approx(core.soft_target_loss(zs, zt, t), abs=1e-9)
        assert float(KD.soft_target_loss(zs, zt, t)) == pytest.approx(core.soft_target_loss(zs, zt, t), abs=1e-9)
    rng = np.random.default_rng(2)
    fs, ft = rng.normal(size=(3, 4, 4, 5)), rng.normal(size=(3, 4, 4, 7))   # NHWC
    to_nchw = lambda a: torch.tensor(a.transpose(0, 3, 1, 2))  # noqa: E731
    np.testing.assert_allclose(TD.attention_map(to_nchw(fs)).numpy(), core.attention_map(fs), atol=1e-12)
    np.testing.assert_allclose(np.asarray(KD.attention_map(fs)), core.attention_map(fs), atol=1e-12)
    ref = core.attention_transfer_loss(fs, ft)
    assert float(TD.attention_transfer_loss(to_nchw(fs), to_nchw(ft))) == pytest.approx(ref, rel=1e-10)
    assert float(KD.attention_transfer_loss(fs, ft)) == pytest.approx(ref, rel=1e-10)
    assert float(TD.hint_loss(to_nchw(fs), to_nchw(fs + 1))) == float(KD.hint_loss(fs, fs + 1)) == 1.0


def copy_student(torch_model, keras_model) -> None:
    """torch ``blockI.0`` (conv), ``blockI.1`` (BN), ``head`` → Keras ``blockI_conv``,
    ``blockI_bn``, ``head``."""
    state = {k: v.detach().numpy() for k, v in torch_model.state_dict().items()}
    for i in (1, 2, 3):
        keras_model.get_layer(f"block{i}_conv").set_weights([state[f"block{i}.0.weight"].transpose(2, 3, 1, 0)])
        keras_model.get_layer(f"block{i}_bn").set_weights(
            [state[f"block{i}.1.{n}"] for n in ("weight", "bias", "running_mean", "running_var")])
    keras_model.get_layer("head").set_weights([state["head.weight"].T, state["head.bias"]])


def random_bn(model) -> None:
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


def test_student_is_the_same_function_in_both_tracks():
    t_model, k_model = TD.student_cnn(), KD.student_cnn()
    random_bn(t_model)
    copy_student(t_model, k_model)
    x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    with torch.no_grad():
        t_out = t_model.eval()(torch.tensor(x.transpose(0, 3, 1, 2))).numpy()
    np.testing.assert_allclose(np.asarray(k_model(x, training=False)), t_out, atol=1e-5)
    assert sum(p.numel() for p in t_model.parameters()) == \
        sum(int(np.prod(w.shape)) for w in k_model.trainable_weights) == core.student_parameter_count()


@pytest.mark.parametrize("scope", ("global", "layer"))
def test_pruning_masks_are_the_same_in_both_tracks(scope):
    t_model, k_model = TD.student_cnn(), KD.student_cnn()
    copy_student(t_model, k_model)
    t_masks = list(TD.magnitude_prune(t_model, 0.8, scope=scope).values())
    k_masks = list(KD.magnitude_prune(k_model, 0.8, scope=scope).values())
    assert len(t_masks) == len(k_masks) == 4
    for t, k in zip(t_masks, k_masks):
        k = k.transpose(3, 2, 0, 1) if k.ndim == 4 else k.T
        np.testing.assert_array_equal(t, k)


def test_one_distillation_step_is_the_same_in_both_tracks():
    """Same student and teacher weights, same batch, SGD: the same updated student."""
    t_student, k_student = TD.student_cnn(), KD.student_cnn()
    t_teacher, k_teacher = TD.student_cnn(width=24), KD.student_cnn(width=24, name="teacher")
    copy_student(t_student, k_student)
    copy_student(t_teacher, k_teacher)
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 32, 32, 3), dtype=np.float32), rng.integers(0, 10, 16)

    distiller = TD.Distiller(t_student, t_teacher, temperature=4.0, alpha=0.3)
    opt = torch.optim.SGD(distiller.trainable_parameters(), lr=0.5)
    t_logs = distiller.train_step(torch.tensor(x.transpose(0, 3, 1, 2)), torch.tensor(y), opt)

    k_distiller = KD.Distiller(k_student, k_teacher, temperature=4.0, alpha=0.3)
    k_distiller.compile(optimizer=keras.optimizers.SGD(0.5))
    k_logs = k_distiller.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0).history
    for key in ("loss", "soft_loss", "hard_loss"):
        assert k_logs[key][0] == pytest.approx(t_logs[key], rel=1e-4)
    np.testing.assert_allclose(k_student.get_layer("head").get_weights()[0],
                               t_student.head.weight.detach().numpy().T, atol=1e-5)
    np.testing.assert_allclose(k_student.get_layer("block2_conv").get_weights()[0],
                               t_student.block2[0].weight.detach().numpy().transpose(2, 3, 1, 0), atol=1e-5)
