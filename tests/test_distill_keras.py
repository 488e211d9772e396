"""The Keras distillation track: the KD loss rejects the catalogue's wrong versions (COURSE.md
§5 items 6–9) by construction and accepts the keras.io formulation, the Distiller's
``train_step`` under ``fit`` keeps its teacher frozen, feature hints, the student, pruning,
TFLite int8 quantisation, the compression report, and clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")

import tensorflow as tf  # noqa: E402
from keras import layers, ops  # noqa: E402

import tlhelpers.keras  # noqa: E402,F401
from tlhelpers import distill as core  # noqa: E402
from tlhelpers.data import load_dataset  # noqa: E402
from tlhelpers.keras import distill as D  # noqa: E402
from tlhelpers.keras.backbones import build_classifier, course_cnn  # noqa: E402
from tlhelpers.keras.training import fit, predict  # noqa: E402

TEMPERATURES = (1.0, 2.0, 4.0, 8.0)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "train").per_class(8, 0), load_dataset("digits", "test").per_class(10, 0)


def kd_loss_problems(fn, scale=3.0) -> list[str]:
    """What is wrong with ``fn(student_logits, teacher_logits, labels, T, alpha)`` (float64
    tensors) against the reference: value and gradient at several temperatures and weights."""
    rng = np.random.default_rng(1)
    zs, zt, y = rng.normal(0, scale, (6, 5)), rng.normal(0, scale, (6, 5)), rng.integers(0, 5, 6)
    problems = []
    for t in TEMPERATURES:
        for a in (0.0, 0.3):
            s = tf.Variable(zs)
            with tf.GradientTape() as tape:
                loss = fn(s, tf.constant(zt), tf.constant(y), t, a)
            grad = tape.gradient(loss, s).numpy()
            ref = core.kd_loss(zs, zt, y, temperature=t, alpha=a)
            if abs(float(loss) - ref) > 1e-6 * max(1.0, abs(ref)):
                problems.append(f"T={t}, alpha={a}: value {float(loss):.6g} != {ref:.6g}")
            elif not np.allclose(grad, core.kd_loss_grad(zs, zt, y, temperature=t, alpha=a), atol=1e-6):
                problems.append(f"T={t}, alpha={a}: wrong gradient")
    return problems


def _hard(s, y, a):
    return a * ops.mean(keras.losses.sparse_categorical_crossentropy(y, s, from_logits=True))


def _kl(p, log_q):
    return ops.sum(p * (ops.log(p) - log_q), axis=-1)


WRONG_KD = {
    "item 6: KLDivergence fed logits, not probabilities": lambda s, t, y, T, a: (1 - a) * T * T * ops.mean(
        keras.losses.kl_divergence(ops.softmax(t / T), s / T)) + _hard(s, y, a),
    "item 7: no T squared": lambda s, t, y, T, a: (1 - a) * ops.mean(
        _kl(ops.softmax(t / T), ops.log_softmax(s / T))) + _hard(s, y, a),
    "item 8: mean over classes too": lambda s, t, y, T, a: (1 - a) * T * T * ops.mean(
        ops.softmax(t / T) * (ops.log_softmax(t / T) - ops.log_softmax(s / T))) + _hard(s, y, a),
    "hard term at temperature T": lambda s, t, y, T, a: (1 - a) * T * T * ops.mean(
        _kl(ops.softmax(t / T), ops.log_softmax(s / T))) + _hard(s / T, y, a),
}


def test_kd_loss_passes_and_the_catalogue_versions_fail():
    assert kd_loss_problems(lambda s, t, y, T, a: D.kd_loss(s, t, y, temperature=T, alpha=a)) == []

    # keras.io's formulation: KLDivergence on two probability vectors, times T². Correct (it
    # clips probabilities at 1e-7, so it matches only while none is that small).
    def keras_io(s, t, y, T, a):
        soft = keras.losses.KLDivergence(dtype="float64")(ops.softmax(t / T), ops.softmax(s / T)) * T ** 2
        return (1 - a) * soft + _hard(s, y, a)
    assert kd_loss_problems(keras_io, scale=1.0) == []
    for name, wrong in WRONG_KD.items():
        assert kd_loss_problems(wrong), f"the check does not reject {name}"


def test_temperature_softmax_and_no_gradient_to_the_teacher():
    p = D.temperature_softmax(np.array([[2.0, 1.0, 0.0]]), 4.0)
    np.testing.assert_allclose(np.asarray(p), core.softmax_t([[2.0, 1.0, 0.0]], 4.0), rtol=1e-6)
    s, t = tf.Variable(tf.random.normal((4, 3))), tf.Variable(tf.random.normal((4, 3)))
    with tf.GradientTape(persistent=True) as tape:
        loss = D.kd_loss(s, t, tf.constant([0, 1, 2, 0]), temperature=2.0, alpha=0.5)
    assert tape.gradient(loss, t) is None and tape.gradient(loss, s) is not None


# --------------------------------------------------------------------------------------
# The Distiller under fit: the teacher stays frozen (item 9)
# --------------------------------------------------------------------------------------

def mlp(classes=4, name=None):
    return keras.Sequential([keras.Input((12,)), layers.Dense(16), layers.BatchNormalization(),
                             layers.ReLU(), layers.Dropout(0.5), layers.Dense(classes)], name=name)


def frozen_teacher_problems(run, teacher) -> list[str]:
    """What ``run(x, y)`` (some distillation training) does to ``teacher``."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 12)).astype("float32"), rng.integers(0, 4, 32)
    probe = rng.normal(size=(5, 12)).astype("float32")
    weights = [w.copy() for w in teacher.get_weights()]
    before = np.asarray(teacher(probe, training=False))
    run(x, y)
    problems = []
    if any(not np.array_equal(a, b) for a, b in zip(weights, teacher.get_weights())):
        problems.append("teacher weights or BatchNorm statistics changed")
    if not np.array_equal(np.asarray(teacher(probe, training=False)), before):
        problems.append("teacher outputs changed")
    return problems


@pytest.mark.filterwarnings("ignore:Gradients do not exist:UserWarning")
def test_distiller_fit_leaves_the_teacher_untouched_and_a_wrong_step_is_caught():
    teacher, student = mlp(name="teacher"), mlp(name="student")
    distiller = D.Distiller(student, teacher, temperature=4.0, alpha=0.5)
    distiller.compile(optimizer=keras.optimizers.SGD(0.1))
    student_before = [w.copy() for w in student.get_weights()]

    def run(x, y):
        distiller.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert frozen_teacher_problems(run, teacher) == []
    assert not teacher.trainable and teacher.trainable_weights == []
    assert {id(v) for v in distiller._train_variables()} == {id(v) for v in student.trainable_variables}
    assert any(not np.array_equal(a, b) for a, b in zip(student_before, student.get_weights()))
    logs = distiller.evaluate(np.zeros((4, 12), "float32"), np.zeros(4, int), verbose=0, return_dict=True)
    assert {"loss", "soft_loss", "hard_loss", "hint_loss", "accuracy"} <= set(logs)

    # The catalogue's item 9, written out: the teacher trainable, called in training mode.
    teacher2, student2 = mlp(name="teacher2"), mlp(name="student2")
    opt = keras.optimizers.SGD(0.1)

    def wrong(x, y):
        variables = student2.trainable_variables + teacher2.trainable_variables
        with tf.GradientTape() as tape:
            loss = D.kd_loss(student2(x, training=True), teacher2(x, training=True), y,
                             temperature=4.0, alpha=0.5)
        opt.apply(tape.gradient(loss, variables), variables)
    assert "teacher weights or BatchNorm statistics changed" in frozen_teacher_problems(wrong, teacher2)


def test_distill_trains_and_offline_logits_give_the_same_losses(digits):
    train, _ = digits
    teacher = D.student_cnn(width=24, name="teacher")
    student = D.student_cnn()
    h1 = D.distill(student, teacher, train, epochs=2, seed=3, progress=False)
    assert {"loss", "soft_loss", "hard_loss", "hint_loss", "accuracy"} <= set(h1)
    assert h1["loss"][1] < h1["loss"][0]
    distiller = D.Distiller(student, teacher)
    online = distiller.step_losses(train.x[:16], train.y[:16], training=False)
    offline = distiller.step_losses(train.x[:16], train.y[:16], predict(teacher, train.x[:16]), training=False)
    for k in ("loss", "soft_loss", "hard_loss"):
        assert float(online[k]) == pytest.approx(float(offline[k]), rel=1e-5)
    # Images only, soft targets only, the teacher's logits computed once.
    h2 = D.distill(student, teacher, train.x, alpha=0.0, progress=False, teacher_logits=predict(teacher, train.x))
    assert "accuracy" not in h2 and h2["hard_loss"] == [0.0]


@pytest.mark.parametrize("method", ("attention", "fitnets"))
def test_feature_hints_reach_a_nested_teacher_layer(digits, method):
    train, _ = digits
    teacher = build_classifier(course_cnn(), 10)
    student = D.student_cnn()
    distiller = D.Distiller(student, teacher, hint=D.FeatureHint("block2", "stage2_out", method))
    assert (distiller.regressor is not None) == (method == "fitnets")
    n_vars = len(student.trainable_variables) + (1 if method == "fitnets" else 0)
    assert len(distiller._train_variables()) == n_vars
    out = distiller.step_losses(train.x[:16], train.y[:16], training=False)
    assert float(out["hint_loss"]) > 0
    if method == "attention":
        fs = distiller.student_taps(train.x[:16])[0]
        ft = distiller.teacher_taps(train.x[:16])
        assert float(out["hint_loss"]) == pytest.approx(core.attention_transfer_loss(fs, ft), rel=1e-4)
    if method == "fitnets":  # the regressor trains with the student under fit
        distiller.compile(optimizer=keras.optimizers.Adam(1e-2))
        regressor = np.asarray(distiller.regressor.kernel).copy()
        logs = distiller.fit(train.x[:32], train.y[:32], batch_size=32, epochs=4, verbose=0).history
        assert logs["hint_loss"][-1] < logs["hint_loss"][0]
        assert not np.array_equal(regressor, np.asarray(distiller.regressor.kernel))


# --------------------------------------------------------------------------------------
# Student, pruning, quantisation, report
# --------------------------------------------------------------------------------------

def test_student_architecture():
    s = D.student_cnn()
    assert sum(int(np.prod(w.shape)) for w in s.trainable_weights) == core.student_parameter_count() == 24_346
    assert s.output_shape == (None, 10)
    assert [tuple(s.get_layer(f"block{i}").output.shape) for i in (1, 2, 3)] == \
        [(None, 16, 16, 16), (None, 8, 8, 32), (None, 4, 4, 64)]
    assert D.student_cnn(7, width=8).output_shape == (None, 7)


@pytest.mark.parametrize("scope", ("global", "layer"))
def test_magnitude_prune_reaches_the_sparsity_and_matches_the_reference(scope):
    model = D.student_cnn()
    weights = {k: np.asarray(v).copy() for k, v in D.prunable_weights(model).items()}
    bn = model.get_layer("block1_bn").get_weights()
    masks = D.magnitude_prune(model, 0.6, scope=scope)
    ref = core.magnitude_masks(weights, 0.6, scope=scope)
    for k in ref:
        np.testing.assert_array_equal(masks[k], ref[k])
    pruned = D.prunable_weights(model)
    total = sum(int(np.prod(v.shape)) for v in pruned.values())
    assert sum(int((np.asarray(v) == 0).sum()) for v in pruned.values()) == round(0.6 * total)
    assert all(np.array_equal(a, b) for a, b in zip(bn, model.get_layer("block1_bn").get_weights()))


def test_tflite_quantisation_and_the_report(digits):
    train, test = digits
    student = D.student_cnn()
    fit(student, train, epochs=1, seed=0, progress=False)
    base = D.compression_report(student, test, name="float", repeats=3, warmup=1)
    q = D.quantize_static(student, train.x[:32])
    dyn = D.quantize_dynamic(student)
    rq = D.compression_report(q, test, repeats=3, warmup=1)
    assert base.file_bytes / rq.file_bytes > 3 and rq.file_format == ".tflite"
    assert base.parameters == rq.parameters == 24_346
    reference = predict(student, test.x)
    assert (q.predict(test.x).argmax(1) == reference.argmax(1)).mean() > 0.9
    np.testing.assert_allclose(D.to_tflite(student).predict(test.x), reference, atol=1e-4)
    assert dyn.predict(test.x).shape == reference.shape
    sweep = D.sparsity_sweep(student, test, (0.0, 0.8), latency_repeats=2)
    assert [round(r.sparsity, 1) for r in sweep] == [0.0, 0.8] and sweep[1].zlib_bytes < sweep[0].zlib_bytes
    assert np.abs(np.asarray(student.get_layer("block1_conv").kernel)).min() > 0  # copies were pruned


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------

def test_bad_inputs():
    s, t, y = np.random.rand(4, 5), np.random.rand(4, 5), np.array([0, 1, 2, 3])
    for bad_t in (0.0, -2.0, float("nan")):
        with pytest.raises(ValueError, match="temperature"):
            D.kd_loss(s, t, y, temperature=bad_t, alpha=0.5)
        with pytest.raises(ValueError, match="temperature"):
            D.temperature_softmax(s, bad_t)
        with pytest.raises(ValueError, match="temperature"):
            D.Distiller(mlp(), mlp(), temperature=bad_t)
    for bad_a in (-0.5, 1.01, float("inf")):
        with pytest.raises(ValueError, match="alpha"):
            D.kd_loss(s, t, y, temperature=2.0, alpha=bad_a)
        with pytest.raises(ValueError, match="alpha"):
            D.Distiller(mlp(), mlp(), alpha=bad_a)
    with pytest.raises(ValueError, match="same number of classes"):
        D.kd_loss(s, t[:, :3], y, temperature=2.0, alpha=0.5)
    with pytest.raises(ValueError, match="same number of classes"):
        D.Distiller(mlp(4), mlp(3))
    with pytest.raises(ValueError, match="labels"):
        D.kd_loss(s, t, None, temperature=2.0, alpha=0.5)
    with pytest.raises(ValueError, match="labels"):
        D.kd_loss(s, t, y.astype(float), temperature=2.0, alpha=0.5)
    with pytest.raises(ValueError, match="student_logits"):
        D.kd_loss(s[0], t, y, temperature=2.0, alpha=0.5)
    with pytest.raises(TypeError, match="teacher"):
        D.Distiller(mlp(), "teacher")
    m = mlp()
    with pytest.raises(ValueError, match="different"):
        D.Distiller(m, m)
    with pytest.raises(ValueError, match="hint.teacher_layer"):
        D.Distiller(D.student_cnn(), build_classifier(course_cnn(pretrained=False), 10),
                    hint=D.FeatureHint("block2", "stage9_out"))
    with pytest.raises(ValueError, match="same H×W"):
        D.Distiller(D.student_cnn(), build_classifier(course_cnn(pretrained=False), 10),
                    hint=D.FeatureHint("block1", "stage2_out"))
    with pytest.raises(ValueError, match="alpha=0"):
        D.distill(D.student_cnn(), D.student_cnn(), np.zeros((4, 32, 32, 3), np.float32), alpha=0.5,
                  progress=False)
    with pytest.raises(ValueError, match="teacher_logits"):
        D.distill(D.student_cnn(), D.student_cnn(), (np.zeros((4, 32, 32, 3), np.float32), np.zeros(4, int)),
                  teacher_logits=np.zeros((3, 10)), progress=False)
    for bad_s in (1.0, -0.1, 2):
        with pytest.raises(ValueError, match="sparsity"):
            D.magnitude_prune(D.student_cnn(), bad_s)
        with pytest.raises(ValueError, match="sparsities"):
            D.sparsity_sweep(D.student_cnn(), None, (0.5, bad_s))
    with pytest.raises(ValueError, match="scope"):
        D.magnitude_prune(D.student_cnn(), 0.5, scope="channel")
    with pytest.raises(ValueError, match="prune"):
        D.magnitude_prune(keras.Sequential([keras.Input((3,)), layers.ReLU()]), 0.5)
    for bad in (lambda: D.student_cnn(1), lambda: D.student_cnn(0), lambda: D.student_cnn(10, width=0)):
        with pytest.raises(ValueError, match="num_classes|width"):
            bad()
    with pytest.raises(TypeError, match="model"):
        D.compression_report("model")
    with pytest.raises(ValueError, match="batch_size"):
        D.compression_report(D.student_cnn(), batch_size=0)
    with pytest.raises(ValueError, match="data"):
        D.compression_report(D.student_cnn(), np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(ValueError, match="calibration"):
        D.quantize_static(D.student_cnn(), np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(TypeError, match="model"):
        D.quantize_dynamic(None)
