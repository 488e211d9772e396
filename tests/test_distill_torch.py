"""The PyTorch distillation track: the KD loss rejects the catalogue's wrong versions
(COURSE.md §5 items 6–9) by construction, the Distiller keeps its teacher frozen, the T²
factor keeps gradient norms comparable on real logits, feature hints, the student, pruning,
int8 quantisation, the compression report, and clear errors for bad input."""

from __future__ import annotations

import copy

import numpy as np
import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import tlhelpers.torch  # noqa: E402,F401
from tlhelpers import distill as core  # noqa: E402
from tlhelpers.data import load_dataset  # noqa: E402
from tlhelpers.torch import distill as D  # noqa: E402
from tlhelpers.torch.backbones import build_classifier, course_cnn  # noqa: E402
from tlhelpers.torch.training import evaluate, fit, predict  # noqa: E402

TEMPERATURES = (1.0, 2.0, 4.0, 8.0)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "train").per_class(12, 0), load_dataset("digits", "test").per_class(20, 0)


@pytest.fixture(scope="module")
def teacher(digits):
    """course_cnn with a head trained on 120 Digits (backbone frozen): a real, quick teacher."""
    return D.make_teacher(digits[0], epochs=3, lr=1e-2, fine_tune=False, progress=False)


def kd_loss_problems(fn) -> list[str]:
    """What is wrong with ``fn(student_logits, teacher_logits, labels, temperature, alpha)``
    against the reference: value and gradient at several temperatures and weights."""
    rng = np.random.default_rng(1)
    zs, zt, y = rng.normal(0, 3, (6, 5)), rng.normal(0, 3, (6, 5)), rng.integers(0, 5, 6)
    problems = []
    for t in TEMPERATURES:
        for a in (0.0, 0.3):
            s = torch.tensor(zs, requires_grad=True)
            loss = fn(s, torch.tensor(zt), torch.tensor(y), t, a)
            loss.backward()
            ref = core.kd_loss(zs, zt, y, temperature=t, alpha=a)
            if abs(float(loss.detach()) - ref) > 1e-6 * max(1.0, abs(ref)):
                problems.append(f"T={t}, alpha={a}: value {float(loss.detach()):.6g} != {ref:.6g}")
            elif not np.allclose(s.grad.numpy(), core.kd_loss_grad(zs, zt, y, temperature=t, alpha=a), atol=1e-6):
                problems.append(f"T={t}, alpha={a}: wrong gradient")
    return problems


def _hard(s, y, a):
    return a * F.cross_entropy(s, y)


WRONG_KD = {
    "item 6: KL fed probabilities": lambda s, t, y, T, a: (1 - a) * T * T * F.kl_div(
        F.softmax(s / T, 1), F.softmax(t / T, 1), reduction="batchmean") + _hard(s, y, a),
    "item 7: no T squared": lambda s, t, y, T, a: (1 - a) * F.kl_div(
        F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="batchmean") + _hard(s, y, a),
    "item 8: mean instead of batchmean": lambda s, t, y, T, a: (1 - a) * T * T * F.kl_div(
        F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="mean") + _hard(s, y, a),
    "alpha on the soft term": lambda s, t, y, T, a: a * T * T * F.kl_div(
        F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="batchmean") + (1 - a) * F.cross_entropy(s, y),
}


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
def test_kd_loss_passes_and_the_catalogue_versions_fail():
    assert kd_loss_problems(lambda s, t, y, T, a: D.kd_loss(s, t, y, temperature=T, alpha=a)) == []
    # A correct, differently written loss passes too: KL as cross-entropy minus entropy.
    def unusual(s, t, y, T, a):
        p_t = torch.softmax(t / T, 1)
        kl = (p_t * torch.log(p_t)).sum(1).mean() - (p_t * torch.log_softmax(s / T, 1)).sum(1).mean()
        return (1 - a) * T ** 2 * kl + a * F.nll_loss(torch.log_softmax(s, 1), y)
    assert kd_loss_problems(unusual) == []
    for name, wrong in WRONG_KD.items():
        assert kd_loss_problems(wrong), f"the check does not reject {name}"


def test_kd_loss_sends_no_gradient_to_the_teacher():
    s, t = torch.randn(4, 3, requires_grad=True), torch.randn(4, 3, requires_grad=True)
    D.kd_loss(s, t, torch.tensor([0, 1, 2, 0]), temperature=2.0, alpha=0.5).backward()
    assert t.grad is None and s.grad is not None
    p = D.temperature_softmax(torch.tensor([[2.0, 1.0, 0.0]]), 4.0)
    np.testing.assert_allclose(p.numpy(), core.softmax_t([[2.0, 1.0, 0.0]], 4.0), rtol=1e-6)


def test_t_squared_keeps_the_soft_gradient_norm_within_2x_on_real_logits(digits, teacher):
    """COURSE claim: with T², ‖∂soft/∂z_s‖ stays within a factor 2 across T ∈ {1, 2, 4, 8};
    without it, it falls like 1/T² (far more than 2×). Real logits: a course_cnn teacher
    (head trained on Digits) and a student trained for one epoch, on Digits test images."""
    train, test = digits
    student = D.student_cnn()
    fit(student, train, epochs=1, seed=0, progress=False)
    zt = torch.from_numpy(predict(teacher, test.x))
    zs0 = torch.from_numpy(predict(student, test.x))
    norms, plain = [], []
    for t in TEMPERATURES:
        zs = zs0.clone().requires_grad_(True)
        D.soft_target_loss(zs, zt, t).backward()
        norms.append(float(zs.grad.norm()))
        plain.append(norms[-1] / t ** 2)
    assert max(norms) / min(norms) < 2.0, f"gradient norms with T² vary too much: {norms}"
    assert max(plain) / min(plain) > 10.0, f"without T² they should fall like 1/T²: {plain}"


# --------------------------------------------------------------------------------------
# The Distiller: the teacher stays frozen (item 9)
# --------------------------------------------------------------------------------------

def mlp(classes=4, dropout=0.5):
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.BatchNorm1d(16), nn.ReLU(),
                         nn.Dropout(dropout), nn.Linear(16, classes))


def teacher_state(teacher):
    return {k: v.detach().clone() for k, v in teacher.state_dict().items()}


def frozen_teacher_problems(step, teacher, student) -> list[str]:
    """What a distillation ``step(x, y)`` does to ``teacher``: moved statistics or weights,
    gradients, a different output, train mode."""
    x, y = torch.randn(8, 3, 2, 2), torch.randint(0, 4, (8,))
    probe = torch.randn(5, 3, 2, 2)
    before, state = None, teacher_state(teacher)
    teacher.eval()
    with torch.no_grad():
        before = teacher(probe)
    step(x, y)
    problems = []
    if teacher.training:
        problems.append("teacher left in training mode")
    if any(p.grad is not None for p in teacher.parameters()):
        problems.append("teacher received gradients")
    after = teacher_state(teacher)
    if any(not torch.equal(state[k], after[k]) for k in state):
        problems.append("teacher weights or BatchNorm statistics changed")
    teacher.eval()
    with torch.no_grad():
        if not torch.equal(teacher(probe), before):
            problems.append("teacher outputs changed")
    return problems


def test_distiller_step_leaves_the_teacher_untouched_and_a_wrong_step_is_caught():
    teacher, student = mlp(), mlp()
    distiller = D.Distiller(student, teacher, temperature=4.0, alpha=0.5, input_shape=(3, 2, 2))
    opt = torch.optim.SGD(distiller.trainable_parameters(), lr=0.1)
    student_bn = student[2].running_mean.clone()
    assert frozen_teacher_problems(lambda x, y: distiller.train_step(x, y, opt), teacher, student) == []
    assert not torch.equal(student[2].running_mean, student_bn), "the student must train"
    distiller.train()
    assert not teacher.training and student.training
    # Dropout is off in the teacher: two passes give the same soft loss.
    x, y = torch.randn(8, 3, 2, 2), torch.randint(0, 4, (8,))
    student.eval()
    a, b = distiller.losses(x, y)["soft_loss"], distiller.losses(x, y)["soft_loss"]
    assert torch.equal(a, b)

    # The catalogue's item 9, written out: the teacher in train mode and in the graph.
    teacher2, student2 = mlp(), mlp()
    opt2 = torch.optim.SGD(list(student2.parameters()) + list(teacher2.parameters()), lr=0.1)

    def wrong_step(x, y):
        teacher2.train()
        student2.train()
        loss = D.kd_loss(student2(x), teacher2(x), y, temperature=4.0, alpha=0.5)
        opt2.zero_grad()
        loss.backward()
        opt2.step()
    problems = frozen_teacher_problems(wrong_step, teacher2, student2)
    assert "teacher left in training mode" in problems and "teacher weights or BatchNorm statistics changed" in problems


def test_distill_trains_the_student_and_offline_logits_give_the_same_run(digits):
    train, test = digits
    teacher = build_classifier(course_cnn(), 10)
    s1, s2 = D.student_cnn(), D.student_cnn()
    s2.load_state_dict(s1.state_dict())
    h1 = D.distill(s1, teacher, train, epochs=2, alpha=0.1, temperature=4.0, seed=3, progress=False)
    logits = predict(teacher, train.x)
    h2 = D.distill(s2, teacher, train, epochs=2, alpha=0.1, temperature=4.0, seed=3, progress=False,
                   teacher_logits=logits)
    assert set(h1) == {"loss", "soft_loss", "hard_loss", "hint_loss", "accuracy"}
    assert h1["loss"][1] < h1["loss"][0]
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-4)
    # Images only: soft targets alone.
    h3 = D.distill(D.student_cnn(), teacher, train.x, epochs=1, alpha=0.0, progress=False)
    assert "accuracy" not in h3 and h3["hard_loss"] == [0.0]
    assert not s1.training and not teacher.training


@pytest.mark.parametrize("method", ("attention", "fitnets"))
def test_feature_hints_train_with_the_student(digits, method):
    train, _ = digits
    teacher = build_classifier(course_cnn(), 10)
    student = D.student_cnn()
    hint = D.FeatureHint("block2", "backbone.stage2", method)
    distiller = D.Distiller(student, teacher, hint=hint)
    params = distiller.trainable_parameters()
    assert (distiller.regressor is not None) == (method == "fitnets")
    assert len(params) == len(list(student.parameters())) + (1 if method == "fitnets" else 0)
    opt = torch.optim.Adam(params, lr=1e-2)
    x = torch.from_numpy(train.x[:32].transpose(0, 3, 1, 2).copy())
    y = torch.from_numpy(train.y[:32])
    first = [distiller.train_step(x, y, opt)["hint_loss"] for _ in range(8)]
    assert first[0] > 0 and first[-1] < first[0], first
    if method == "fitnets":
        assert distiller.regressor.weight.grad is not None
    with pytest.raises(ValueError, match="teacher_logits"):
        distiller.losses(x, y, torch.zeros(32, 10))
    distiller.remove_hooks()
    assert not teacher.backbone.stage2._forward_hooks and not student.block2._forward_hooks


# --------------------------------------------------------------------------------------
# Student, teacher, pruning, quantisation, report
# --------------------------------------------------------------------------------------

def test_student_architecture_and_the_traceable_course_cnn():
    s = D.student_cnn()
    assert sum(p.numel() for p in s.parameters()) == core.student_parameter_count() == 24_346
    assert s(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    assert D.student_cnn(7, width=8).head.out_features == 7
    shapes = {}
    for name in ("block1", "block2", "block3"):
        getattr(s, name).register_forward_hook(lambda m, i, o, n=name: shapes.__setitem__(n, tuple(o.shape)))
    s(torch.rand(1, 3, 32, 32))
    assert shapes == {"block1": (1, 16, 16, 16), "block2": (1, 32, 8, 8), "block3": (1, 64, 4, 4)}
    cnn = course_cnn(pretrained=True)
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(D._traceable_course_cnn(cnn, x), cnn(x), atol=1e-6)


def test_make_teacher_and_its_hard_labels(digits, teacher):
    train, test = digits
    assert not teacher.training and teacher.head.out_features == 10
    labels = D.teacher_hard_labels(teacher, test)
    np.testing.assert_array_equal(labels, predict(teacher, test.x).argmax(1))
    assert (labels == test.y).mean() > 0.5


@pytest.mark.parametrize("scope", ("global", "layer"))
def test_magnitude_prune_reaches_the_sparsity_and_matches_the_reference(scope):
    model = D.student_cnn()
    before = copy.deepcopy(model)
    weights = {k: v.detach().numpy().copy() for k, v in D.prunable_weights(model).items()}
    masks = D.magnitude_prune(model, 0.7, scope=scope)
    ref = core.magnitude_masks(weights, 0.7, scope=scope)
    assert masks.keys() == ref.keys() == weights.keys()
    for k in masks:
        np.testing.assert_array_equal(masks[k], ref[k])
    pruned = D.prunable_weights(model)
    total = sum(v.numel() for v in pruned.values())
    zeros = sum(int((v == 0).sum()) for v in pruned.values())
    assert zeros == round(0.7 * total)
    assert not any(hasattr(m, "weight_orig") for m in model.modules())  # made permanent
    assert torch.equal(model.head.bias, before.head.bias)
    assert torch.equal(model.block1[1].weight, before.block1[1].weight)  # BN not pruned


def test_quantisation_shrinks_the_student_and_keeps_its_predictions(digits):
    train, test = digits
    student = D.student_cnn()
    fit(student, train, epochs=2, seed=0, progress=False)
    float_report = D.compression_report(student, test, name="float", repeats=5, warmup=1)
    q = D.quantize_static(student, train.x[:64])
    q_report = D.compression_report(q, test, name="int8", repeats=5, warmup=1)
    assert float_report.file_bytes / q_report.file_bytes > 2.5
    agree = (predict(q, test.x).argmax(1) == predict(student, test.x).argmax(1)).mean()
    assert agree > 0.9, agree
    assert float_report.accuracy == evaluate(student, test)["accuracy"]
    assert "int8" in q_report.notes and float_report.parameters == 24_346
    dyn = D.quantize_dynamic(student)
    assert isinstance(student.head, nn.Linear) and not isinstance(dyn.head, nn.Linear)  # a copy
    sweep = D.sparsity_sweep(student, test, (0.0, 0.5, 0.9), latency_repeats=2)
    assert [round(r.sparsity, 1) for r in sweep] == [0.0, 0.5, 0.9]
    assert sweep[2].zlib_bytes < sweep[0].zlib_bytes and sweep[0].file_bytes == sweep[2].file_bytes
    assert float(student.block1[0].weight.detach().abs().min()) > 0  # the sweep pruned copies


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------

def test_bad_inputs():
    s, t = torch.randn(4, 5), torch.randn(4, 5)
    y = torch.tensor([0, 1, 2, 3])
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
        D.Distiller(mlp(4), mlp(3), input_shape=(3, 2, 2))
    with pytest.raises(ValueError, match="labels"):
        D.kd_loss(s, t, None, temperature=2.0, alpha=0.5)
    with pytest.raises(ValueError, match="labels"):
        D.kd_loss(s, t, y.float(), temperature=2.0, alpha=0.5)
    with pytest.raises(TypeError, match="student_logits"):
        D.kd_loss(s.numpy(), t, y, temperature=2.0, alpha=0.5)
    with pytest.raises(TypeError, match="logits"):
        D.temperature_softmax([1.0, 2.0], 2.0)
    with pytest.raises(TypeError, match="teacher"):
        D.Distiller(mlp(), "teacher")
    with pytest.raises(ValueError, match="different"):
        m = mlp()
        D.Distiller(m, m)
    with pytest.raises(ValueError, match="hint.student_layer"):
        D.Distiller(D.student_cnn(), build_classifier(course_cnn(pretrained=False), 10),
                    hint=D.FeatureHint("block9", "backbone.stage2"))
    with pytest.raises(ValueError, match="same H×W"):
        D.Distiller(D.student_cnn(), build_classifier(course_cnn(pretrained=False), 10),
                    hint=D.FeatureHint("block1", "backbone.stage2"))
    with pytest.raises(ValueError, match="input_shape"):
        D.Distiller(mlp(), mlp(), hint=D.FeatureHint("1", "1", "fitnets"))
    with pytest.raises(ValueError, match="alpha=0"):
        D.distill(mlp(), mlp(), np.zeros((4, 2, 2, 3), np.float32), alpha=0.5, progress=False)
    with pytest.raises(ValueError, match="teacher_logits"):
        D.distill(D.student_cnn(), D.student_cnn(), (np.zeros((4, 32, 32, 3), np.float32), np.zeros(4, int)),
                  teacher_logits=np.zeros((3, 10)), progress=False)
    with pytest.raises(ValueError, match="teacher_logits"):
        D.distill(D.student_cnn(), D.student_cnn(), (np.zeros((4, 32, 32, 3), np.float32), np.zeros(4, int)),
                  teacher_logits=np.zeros((4, 10)), augment=lambda x: x, progress=False)
    for bad_s in (1.0, -0.1, 2):
        with pytest.raises(ValueError, match="sparsity"):
            D.magnitude_prune(D.student_cnn(), bad_s)
        with pytest.raises(ValueError, match="sparsities"):
            D.sparsity_sweep(D.student_cnn(), None, (0.5, bad_s))
    with pytest.raises(TypeError, match="sparsity"):
        D.magnitude_prune(D.student_cnn(), "0.5")
    with pytest.raises(ValueError, match="scope"):
        D.magnitude_prune(D.student_cnn(), 0.5, scope="channel")
    with pytest.raises(ValueError, match="prune"):
        D.magnitude_prune(nn.ReLU(), 0.5)
    for bad in (lambda: D.student_cnn(1), lambda: D.student_cnn(0), lambda: D.student_cnn(10, width=0)):
        with pytest.raises(ValueError, match="num_classes|width"):
            bad()
    with pytest.raises(TypeError, match="model"):
        D.compression_report("model")
    with pytest.raises(ValueError, match="batch_size"):
        D.compression_report(D.student_cnn(), batch_size=0)
    with pytest.raises(ValueError, match="input_shape"):
        D.compression_report(mlp())
    with pytest.raises(ValueError, match="backend"):
        D.quantize_static(D.student_cnn(), np.zeros((2, 32, 32, 3), np.float32), backend="tpu")
    with pytest.raises(ValueError, match="calibration"):
        D.quantize_static(D.student_cnn(), np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(TypeError, match="model"):
        D.quantize_dynamic(None)


def test_make_teacher_is_repeatable_whatever_ran_before(digits):
    """``seed`` covers the new head's initial weights, not only fit's shuffling."""
    heads = []
    for draws in (0, 1000):
        torch.rand(draws)  # whatever earlier code drew from torch's generator
        teacher = D.make_teacher(digits[0], epochs=1, lr=1e-2, fine_tune=False, seed=0, progress=False)
        heads.append(teacher.head.weight.detach().clone())
    assert torch.equal(heads[0], heads[1])
