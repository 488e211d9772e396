"""tlhelpers.torch.dann: the gradient reversal layer, the domain-adversarial loss, DANN and
CDAN on the adaptation loop, the schedules (COURSE.md §5 items 1–5), on tiny models."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

import _adapt_toy as toy  # noqa: E402
from torch import nn  # noqa: E402
from tlhelpers.schedules import dann_lambda, dann_lr  # noqa: E402
from tlhelpers.torch import adapt as A  # noqa: E402
from tlhelpers.torch import dann as D  # noqa: E402
from tlhelpers.torch.backbones import _to_nchw  # noqa: E402

FIT = dict(epochs=2, batch_size=16, seed=0, progress=False)
LAMBDAS = (0.1, 1.0, 10.0)


@pytest.fixture(scope="module")
def domains():
    return toy.toy_domains()


def upstream(shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------------------
# The gradient reversal layer (items 1–2)
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("lam", LAMBDAS)
def test_grl_is_the_identity_forward_and_minus_lambda_g_backward(lam):
    x = upstream((5, 4), seed=1).requires_grad_(True)
    g = upstream((5, 4), seed=2)
    for reverse in (D.GradientReversal(lam), lambda t: D.gradient_reversal(t, lam)):
        y = reverse(x)
        assert torch.equal(y, x) and y.dtype == x.dtype and y.shape == x.shape
        (grad,) = torch.autograd.grad(y, x, grad_outputs=g)
        assert torch.equal(grad, g * -lam), "the gradient must be exactly -lambda times the upstream gradient"


def test_grl_with_lambda_zero_passes_no_gradient_and_reverses_once():
    x = upstream((3, 4), seed=3).requires_grad_(True)
    (grad,) = torch.autograd.grad(D.GradientReversal(0.0)(x).sum(), x)
    assert torch.count_nonzero(grad) == 0
    # through a downstream layer: the reversed gradient is minus the plain one, not plus (twice reversed)
    layer = nn.Linear(4, 2)
    (plain,) = torch.autograd.grad(layer(x).pow(2).sum(), x)
    (reversed_,) = torch.autograd.grad(layer(D.GradientReversal(1.0)(x)).pow(2).sum(), x)
    torch.testing.assert_close(reversed_, -plain, rtol=0, atol=0)


def test_grl_lambda_can_change_between_steps():
    grl = D.GradientReversal(1.0)
    x = torch.ones(2, requires_grad=True)
    grl.lambda_ = 0.25
    (grad,) = torch.autograd.grad(grl(x).sum(), x)
    assert grl.lambda_ == 0.25 and torch.equal(grad, torch.full((2,), -0.25))
    assert "lambda_=0.25" in repr(grl)


# --------------------------------------------------------------------------------------
# The domain loss reaches the feature extractor reversed (item 4)
# --------------------------------------------------------------------------------------

def backbone_grads(model, loss):
    return torch.autograd.grad(loss, [p for p in model.classifier.backbone.parameters()], allow_unused=False)


def test_domain_loss_reaches_the_features_with_the_sign_reversed(domains):
    xs, ys, xt, _ = domains
    torch.manual_seed(0)
    dann = D.DANN(toy.torch_classifier(), lambda_=1.0)
    dann.train()
    xs_t, xt_t, ys_t = _to_nchw(xs[:8]), _to_nchw(xt[:8]), torch.from_numpy(ys[:8])
    out = dann.step_losses(xs_t, ys_t, xt_t)
    with_grl = backbone_grads(dann, out["align_loss"])
    assert all(torch.count_nonzero(g) > 0 for g in with_grl), "no adversarial signal reached the features"
    # the same domain loss without the GRL: the features' gradient flips sign, the discriminator's does not
    acts = dann.activations(torch.cat([xs_t, xt_t]))["features"]
    logits = dann.discriminator(acts)
    plain = D._domain_bce(logits, 8)[0]
    without = backbone_grads(dann, plain)
    for a, b in zip(with_grl, without):
        torch.testing.assert_close(a, -b, rtol=1e-5, atol=1e-7)
    d_with = torch.autograd.grad(dann.step_losses(xs_t, ys_t, xt_t)["align_loss"], list(dann.discriminator.parameters()))
    d_plain = torch.autograd.grad(D._domain_bce(dann.discriminator(dann.activations(torch.cat([xs_t, xt_t]))["features"]),
                                                8)[0], list(dann.discriminator.parameters()))
    for a, b in zip(d_with, d_plain):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_domain_loss_is_balanced_bce_with_source_one_target_zero():
    torch.manual_seed(0)
    loss_fn = D.DomainAdversarialLoss(D.domain_discriminator(3, (4,)))
    fs, ft = torch.randn(5, 3), torch.randn(3, 3)
    loss, accuracy = loss_fn.loss_and_accuracy(fs, ft)
    with torch.no_grad():
        ls, lt = loss_fn.discriminator(fs).reshape(-1), loss_fn.discriminator(ft).reshape(-1)
    expected = 0.5 * (nn.functional.softplus(-ls).mean() + nn.functional.softplus(lt).mean())
    torch.testing.assert_close(loss.detach(), expected)
    assert float(accuracy) == pytest.approx(0.5 * (float((ls > 0).float().mean()) + float((lt <= 0).float().mean())))
    torch.testing.assert_close(loss_fn(fs, ft).detach(), expected)


# --------------------------------------------------------------------------------------
# λ schedule reaches the layer (item 3); LR annealing keeps groups and state (item 5)
# --------------------------------------------------------------------------------------

def test_lambda_schedule_reaches_the_grl_at_every_step(domains):
    xs, ys, xt, _ = domains
    dann = D.DANN(toy.torch_classifier())
    seen = []
    dann.discriminator.register_forward_pre_hook(lambda module, args: seen.append(dann.grl.lambda_))
    history = D.fit_dann(dann, (xs, ys), xt, **FIT)
    total = 2 * (len(xs) // 16)
    assert seen == pytest.approx([dann_lambda(k / total) for k in range(total)], rel=0, abs=0)
    assert len(history["domain_accuracy"]) == 2 and all(0 <= a <= 1 for a in history["domain_accuracy"])


def test_lambda_schedule_for_a_hand_written_loop():
    grl = D.GradientReversal()
    schedule = D.LambdaSchedule(grl, total_steps=10)
    values = [grl.lambda_]
    for _ in range(11):
        schedule.step()
        values.append(grl.lambda_)
    assert values[:10] == [dann_lambda(k / 10) for k in range(10)]
    assert values[10] == values[11] == dann_lambda(0.9)  # past the end: the last value
    assert D.DANN(toy.torch_classifier(), lambda_=lambda p: 3 * p).grl.lambda_ == 0.0


def two_group_sgd(model):
    backbone = list(model.classifier.backbone.parameters())
    rest = [p for p in model.parameters() if all(p is not q for q in backbone)]
    return torch.optim.SGD([{"params": backbone, "lr": 0.001}, {"params": rest, "lr": 0.01}], momentum=0.9)


def test_lr_annealing_keeps_each_groups_multiplier_and_the_optimizer_state():
    dann = D.DANN(toy.torch_classifier())
    optimizer = two_group_sgd(dann)
    annealing = D.LRAnnealing(optimizer, total_steps=20)
    x = _to_nchw(toy.toy_domains(8)[0])
    buffers = None
    for k in range(20):
        assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.001 * dann_lr(k / 20), 0.01 * dann_lr(k / 20)])
        optimizer.zero_grad()
        dann(x).sum().backward()
        optimizer.step()
        annealing.step()
        state = [optimizer.state[p]["momentum_buffer"] for p in dann.classifier.parameters()]
        if buffers is not None:  # the same buffers go on accumulating: never reset
            assert all(a is b for a, b in zip(state, buffers))
        buffers = state
    assert optimizer.param_groups[1]["lr"] / optimizer.param_groups[0]["lr"] == pytest.approx(10.0)


def test_fit_adapt_anneals_each_group_from_its_own_rate(domains):
    xs, ys, xt, _ = domains
    dann = D.DANN(toy.torch_classifier())
    optimizer = two_group_sgd(dann)
    A.fit_adapt(dann, (xs, ys), xt, optimizer=optimizer, schedule=dann_lr, **FIT)
    total = 2 * (len(xs) // 16)
    last = dann_lr((total - 1) / total)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.001 * last, 0.01 * last])
    assert all("momentum_buffer" in optimizer.state[p] for p in dann.parameters())


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------

def test_dann_trains_the_discriminator_and_logs_its_accuracy(domains):
    xs, ys, xt, _ = domains
    torch.manual_seed(0)
    dann = D.DANN(toy.torch_classifier(), hidden=(8,))
    before = [p.detach().clone() for p in dann.discriminator.parameters()]
    history = D.fit_dann(dann, (xs, ys), xt, validation=(xt, ys), **FIT)
    assert set(history) == {"loss", "class_loss", "align_loss", "domain_accuracy", "accuracy",
                            "val_loss", "val_accuracy"}
    assert not any(torch.equal(a, b) for a, b in zip(before, dann.discriminator.parameters()))
    assert not dann.training and dann.grl.lambda_ == pytest.approx(dann_lambda(5 / 6))
    assert all(np.isfinite(v).all() for v in history.values())


def test_cdan_conditions_on_detached_predictions(domains):
    xs, ys, xt, _ = domains
    torch.manual_seed(0)
    for entropy in (False, True):
        cdan = D.CDAN(toy.torch_classifier(), entropy=entropy, lambda_=1.0)
        assert cdan.discriminator[0].in_features == toy.WIDTH * toy.CLASSES
        out = cdan.step_losses(_to_nchw(xs[:6]), torch.from_numpy(ys[:6]), _to_nchw(xt[:6]))
        head = torch.autograd.grad(out["align_loss"], list(cdan.classifier.head.parameters()), allow_unused=True)
        assert all(g is None or torch.count_nonzero(g) == 0 for g in head), "CDAN must not train the head"
        assert all(torch.count_nonzero(g) > 0 for g in backbone_grads(cdan, out["align_loss"]))
    # the multilinear map, by hand: h = softmax(logits) ⊗ features, index c·d + j
    loss_fn = D.ConditionalDomainAdversarialLoss(D.domain_discriminator(6, (4,)))
    f, g = torch.randn(4, 3), torch.randn(4, 2)
    h = torch.stack([torch.outer(torch.softmax(gi, 0), fi).reshape(-1) for fi, gi in zip(f, g)])
    expected = D._domain_bce(loss_fn.discriminator(h), 2)[0]
    torch.testing.assert_close(loss_fn(f[:2], f[2:], g[:2], g[2:]), expected)
    history = D.fit_dann(D.CDAN(toy.torch_classifier(), entropy=True), (xs, ys), xt, **FIT)
    assert "domain_accuracy" in history and np.isfinite(history["loss"]).all()


def test_networks_have_the_papers_shapes():
    model = D.ganin_digits_classifier(10, (28, 28, 3))
    assert model.backbone.out_features == 768 and model(torch.zeros(2, 3, 28, 28)).shape == (2, 10)
    assert D.ganin_digits_classifier(10, (32, 32, 3)).backbone.out_features == 1200
    dann = D.DANN(model)
    assert dann.discriminator[0].in_features == 768 and dann.discriminator[0].out_features == 100
    moons = D.mlp_classifier(2, 2, (15,))
    assert moons(torch.zeros(3, 2)).shape == (3, 2) and moons.backbone.out_features == 15
    f_s, f_t = D.domain_features(moons, np.zeros((4, 2), np.float32), (np.ones((3, 2), np.float32), np.zeros(3)))
    assert f_s.shape == (4, 15) and f_t.shape == (3, 15)


def test_build_dann_on_any_backbone(domains):
    xs, _, xt, _ = domains
    backbone = toy.torch_classifier().backbone
    dann = D.build_dann(backbone, 3, hidden=(5, 4), trade_off=0.5, lambda_=0.3)
    assert dann.grl.lambda_ == 0.3 and dann.weight == 0.5 and dann.discriminator[0].in_features == toy.WIDTH
    f_s, f_t = D.domain_features(dann, xs, xt)
    assert f_s.shape == (len(xs), toy.WIDTH) and f_t.shape == (len(xt), toy.WIDTH)


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------

def test_bad_input_gets_a_clear_error(domains):
    xs, ys, xt, _ = domains
    x = torch.zeros(2, 3)
    for bad in (-0.1, float("nan"), "one"):
        with pytest.raises(ValueError, match="lambda_ must be a finite number >= 0"):
            D.gradient_reversal(x, bad)
        with pytest.raises(ValueError, match="lambda_"):
            D.GradientReversal(bad)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        D.gradient_reversal(np.zeros(3))
    grl = D.GradientReversal()
    with pytest.raises(ValueError, match="never negative"):
        grl.lambda_ = -1
    assert grl.lambda_ == 1.0  # unchanged by the rejected value
    # discriminator
    for args, match in (((0,), "in_features"), ((3, "100"), "hidden"), ((3, (0,)), "hidden widths")):
        with pytest.raises(ValueError, match=match):
            D.domain_discriminator(*args)
    # the loss
    loss_fn = D.DomainAdversarialLoss(D.domain_discriminator(3))
    with pytest.raises(TypeError, match="discriminator must be a torch.nn.Module"):
        D.DomainAdversarialLoss(lambda h: h)
    with pytest.raises(ValueError, match="same width"):
        loss_fn(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="target features is an empty batch"):
        loss_fn(torch.zeros(2, 3), torch.zeros(0, 3))
    with pytest.raises(ValueError, match="2-D tensor"):
        loss_fn(torch.zeros(2, 3, 1), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="one logit per example"):
        D.DomainAdversarialLoss(nn.Linear(3, 2))(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="needs the logits"):
        D.ConditionalDomainAdversarialLoss(D.domain_discriminator(6))(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="entropy must be True or False"):
        D.ConditionalDomainAdversarialLoss(D.domain_discriminator(6), entropy="yes")
    # the models
    model = toy.torch_classifier()
    with pytest.raises(ValueError, match="tap must be"):
        D.DANN(model, tap="pixels")
    with pytest.raises(TypeError, match=r"\.backbone and \.head"):
        D.DANN(nn.Sequential(nn.Flatten(), nn.Linear(192, 3)))
    with pytest.raises(ValueError, match="lambda_"):
        D.DANN(model, lambda_=-1.0)
    with pytest.raises(ValueError, match="lambda_"):
        D.DANN(model, lambda_=lambda p: p - 1)  # a schedule that goes negative
    with pytest.raises(ValueError, match="trade_off must be a finite number >= 0"):
        D.DANN(model, trade_off=-1.0)
    with pytest.raises(ValueError, match="num_classes"):
        D.build_dann(model.backbone, 1)
    with pytest.raises(ValueError, match="hidden"):
        D.build_dann(model.backbone, 3, hidden=None)
    with pytest.raises(ValueError, match="lambda_"):
        D.build_dann(model.backbone, 3, lambda_=float("inf"))
    for args, match in (((10, (8, 8, 3)), "too small"), ((1,), "num_classes"), ((10, (32, 32)), "input_shape")):
        with pytest.raises(ValueError, match=match):
            D.ganin_digits_classifier(*args)
    for kwargs, match in ((dict(hidden=()), "at least one width"), (dict(in_features=0), "in_features"),
                          (dict(num_classes=1), "num_classes")):
        with pytest.raises(ValueError, match=match):
            D.mlp_classifier(**kwargs)
    # schedules
    with pytest.raises(TypeError, match="grl must be a GradientReversal"):
        D.LambdaSchedule(nn.Identity(), 10)
    with pytest.raises(ValueError, match="total_steps"):
        D.LambdaSchedule(grl, 0)
    with pytest.raises(TypeError, match="schedule must be a function"):
        D.LambdaSchedule(grl, 10, schedule=0.5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer"):
        D.LRAnnealing("sgd", 10)
    with pytest.raises(ValueError, match="total_steps"):
        D.LRAnnealing(optimizer, -3)
    with pytest.raises(ValueError, match="alpha"):
        D.LRAnnealing(optimizer, 10, alpha=-1.0)
    # training
    dann = D.DANN(toy.torch_classifier())
    with pytest.raises(TypeError, match="model must be a DANN"):
        D.fit_dann(toy.torch_classifier(), (xs, ys), xt, **FIT)
    with pytest.raises(ValueError, match="target has images of shape"):
        D.fit_dann(dann, (xs, ys), xt[:, :4], **FIT)
    with pytest.raises(ValueError, match="target is empty"):
        D.fit_dann(dann, (xs, ys), xt[:0], **FIT)
    with pytest.raises(ValueError, match="batch_size=16 is larger"):
        D.fit_dann(dann, (xs, ys), xt[:10], **FIT)
    with pytest.raises(ValueError, match="already an AdaptationModel"):
        A.fit_adapt(dann, (xs, ys), xt, alignment=D.DomainAdversarialLoss(D.domain_discriminator(6)), **FIT)
    with pytest.raises(ValueError, match="optimizer does not hold"):
        A.fit_adapt(dann, (xs, ys), xt, optimizer=torch.optim.SGD(dann.classifier.parameters(), lr=0.1), **FIT)
    with pytest.raises(TypeError, match="model must be a classifier"):
        D.domain_features(nn.Linear(2, 2), xs, xt)
    with pytest.raises(ValueError, match="target is empty"):
        D.domain_features(dann, xs, xt[:0])


def test_the_course_training_loop_takes_the_ganin_network():
    """Its head is a Sequential of several layers: fit/evaluate still read the class count."""
    from tlhelpers.torch import training

    model = D.ganin_digits_classifier(10)
    x = np.random.default_rng(0).random((8, 32, 32, 3)).astype("float32")
    history = training.fit(model, (x, np.arange(8) % 10), epochs=1, progress=False)
    assert np.isfinite(history["loss"][0])
    with pytest.raises(ValueError, match="labels"):
        training.evaluate(model, (x, np.full(8, 10)))
