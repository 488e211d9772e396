"""tlhelpers.torch.adapt: the source+target loop, Deep CORAL, DAN and AdaBN on a tiny CNN."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

import _adapt_toy as toy  # noqa: E402
from torch import nn  # noqa: E402
from tlhelpers.data import from_arrays  # noqa: E402
from tlhelpers.torch import adapt as A  # noqa: E402
from tlhelpers.torch import divergence as TD  # noqa: E402
from tlhelpers.torch.backbones import _to_nchw  # noqa: E402

FIT = dict(epochs=2, batch_size=16, lr=1e-2, seed=0, progress=False)


@pytest.fixture(scope="module")
def domains():
    return toy.toy_domains()


def state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_state(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def logits(model, x):
    model.eval()
    with torch.no_grad():
        return model(_to_nchw(x))


def test_source_only_never_reads_the_target(domains):
    xs, ys, xt, _ = domains
    runs = []
    for target in (xt, np.random.default_rng(1).random(xt.shape, dtype=np.float32)):
        model = toy.torch_classifier()
        history = A.fit_adapt(model, (xs, ys), target, **FIT)
        runs.append((history, state(model)))
    assert runs[0][0] == runs[1][0] and same_state(runs[0][1], runs[1][1])
    assert runs[0][0]["align_loss"] == [0.0, 0.0]
    assert set(runs[0][0]) == {"loss", "class_loss", "align_loss", "accuracy"}


def test_target_labels_are_never_read(domains):
    xs, ys, xt, yt = domains
    states = []
    for target in (xt, (xt, yt), from_arrays(xt, np.zeros_like(yt))):
        model = toy.torch_classifier()
        A.deep_coral(model, (xs, ys), target, **FIT)
        states.append(state(model))
    assert same_state(states[0], states[1]) and same_state(states[0], states[2])


@pytest.mark.parametrize("method, tap, measure", [("deep_coral", "logits", TD.coral_distance),
                                                  ("dan", "features", TD.mmd2_unbiased)])
def test_alignment_shrinks_the_divergence_it_aligns(domains, method, tap, measure):
    xs, ys, xt, _ = domains
    divergences = {}
    for name, run in (("source_only", A.fit_adapt), (method, getattr(A, method))):
        model = toy.torch_classifier()
        weight = {"source_only": {}, "deep_coral": {"weight": 100.0}, "dan": {"weight": 10.0}}[name]
        run(model, (xs, ys), xt, **{**FIT, "epochs": 4}, **weight)
        acts = A.AdaptationModel(model).eval()
        with torch.no_grad():
            a_s, a_t = acts.activations(_to_nchw(xs))[tap], acts.activations(_to_nchw(xt))[tap]
        divergences[name] = float(measure(a_s.double(), a_t.double()))
    assert divergences[method] < 0.5 * divergences["source_only"], divergences


def test_weight_and_learning_rate_schedules_follow_the_progress(domains):
    xs, ys, xt, _ = domains
    seen_weight, seen_lr = [], []
    model = toy.torch_classifier()
    before = state(model)
    A.fit_adapt(model, (xs, ys), xt, alignment=TD.coral_distance,
                weight=lambda p: seen_weight.append(p) or 1.0,
                schedule=lambda p: seen_lr.append(p) or 0.0, **FIT)
    total = 2 * (len(xs) // 16)
    expected = [k / total for k in range(total)]
    assert seen_lr == pytest.approx(expected) and seen_weight[-total:] == pytest.approx(expected)
    # a learning rate of 0 at every step reaches the optimizer: no weight moves
    after = state(model)
    assert all(torch.equal(before[k], after[k]) for k in before if not k.endswith(("running_mean", "running_var",
                                                                                   "num_batches_tracked")))


class DomainClassifierLoss(nn.Module):
    """A DANN-style alignment: gradient reversal, then a linear domain classifier."""

    class Reverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.view_as(x)

        @staticmethod
        def backward(ctx, g):
            return -g

    def __init__(self, width):
        super().__init__()
        self.discriminator = nn.Linear(width, 1)

    def forward(self, source, target):
        h = self.discriminator(self.Reverse.apply(torch.cat([source, target])))
        d = torch.cat([torch.zeros(len(source), 1), torch.ones(len(target), 1)])
        return nn.functional.binary_cross_entropy_with_logits(h, d)


def test_a_trainable_alignment_is_trained_with_the_classifier(domains):
    """Lesson 04's plug-in point: a module with parameters as the alignment loss."""
    xs, ys, xt, _ = domains
    model, domain_loss = toy.torch_classifier(), DomainClassifierLoss(toy.WIDTH)
    before = domain_loss.discriminator.weight.detach().clone()
    history = A.fit_adapt(model, (xs, ys), xt, alignment=domain_loss, **FIT)
    assert not torch.equal(before, domain_loss.discriminator.weight)
    assert all(np.isfinite(history["align_loss"]))
    adapter = A.AdaptationModel(model, domain_loss)
    assert any(p is domain_loss.discriminator.weight for p in adapter.parameters())


def test_train_step_is_one_optimizer_step(domains):
    xs, ys, xt, _ = domains
    adapter = A.AdaptationModel(toy.torch_classifier(), TD.mmd2_unbiased, taps=["features", "logits"], weight=0.5)
    optimizer = torch.optim.SGD(adapter.parameters(), lr=0.1)
    before = state(adapter)
    logs = adapter.train_step(_to_nchw(xs[:8]), torch.from_numpy(ys[:8]), _to_nchw(xt[:8]), optimizer)
    assert set(logs) == {"loss", "class_loss", "align_loss", "accuracy"}
    assert logs["loss"] == pytest.approx(logs["class_loss"] + 0.5 * logs["align_loss"], rel=1e-6)
    assert not same_state(before, state(adapter))


def test_adabn_gives_the_target_moments_and_keeps_the_weights(domains):
    _, _, xt, yt = domains
    model = toy.torch_classifier()
    weights = {k: v.clone() for k, v in model.named_parameters()}
    model.train()
    out = A.adabn(model, from_arrays(xt, yt), batch_size=7)
    assert out is model and model.training  # in place, mode restored
    with torch.no_grad():
        conv = model.backbone.conv(_to_nchw(xt)).double()
    bn = model.backbone.bn
    torch.testing.assert_close(bn.running_mean.double(), conv.mean((0, 2, 3)), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(bn.running_var.double(), conv.var((0, 2, 3), unbiased=False), rtol=1e-5, atol=1e-6)
    assert all(torch.equal(weights[k], v) for k, v in model.named_parameters())
    # in eval mode the target's BatchNorm outputs are now standardised, then scaled and shifted
    model.eval()
    with torch.no_grad():
        normalised = (bn(model.backbone.conv(_to_nchw(xt))) - bn.bias[None, :, None, None]) \
            / bn.weight[None, :, None, None]
    torch.testing.assert_close(normalised.mean((0, 2, 3)), torch.zeros(toy.WIDTH), atol=1e-4, rtol=0)


def test_adabn_works_on_a_frozen_classifier(domains):
    from tlhelpers.torch.backbones import build_classifier

    _, _, xt, _ = domains
    model = build_classifier(toy.torch_classifier().backbone, 3, freeze_backbone=True)
    before = model.backbone.bn.running_mean.clone()
    A.adabn(model, xt)
    assert not torch.equal(before, model.backbone.bn.running_mean)
    model.train()
    assert not model.backbone.bn.training  # still frozen in eval mode


def test_bad_input_gets_a_clear_error(domains):
    xs, ys, xt, _ = domains
    model = toy.torch_classifier()
    for target, match in ((xt[..., :1], "target has images of shape"), (xt[:0], "target is empty"),
                          (xt[:, :4], "target has images of shape")):
        with pytest.raises(ValueError, match=match):
            A.fit_adapt(model, (xs, ys), target, alignment=TD.coral_distance, **FIT)
    with pytest.raises(ValueError, match="batch_size=16 is larger"):
        A.fit_adapt(model, (xs, ys), xt[:10], alignment=TD.coral_distance, **FIT)
    with pytest.raises(ValueError, match="source has 48 images but 3 labels"):
        A.fit_adapt(model, (xs, ys[:3]), xt, **FIT)
    with pytest.raises(ValueError, match="taps"):
        A.fit_adapt(model, (xs, ys), xt, alignment=TD.coral_distance, taps=("pixels",), **FIT)
    with pytest.raises(ValueError, match="weight"):
        A.deep_coral(model, (xs, ys), xt, weight=-1.0, **FIT)
    with pytest.raises(ValueError, match="estimator"):
        A.dan(model, (xs, ys), xt, estimator="quadratic", **FIT)
    with pytest.raises(TypeError, match="alignment must be callable"):
        A.fit_adapt(model, (xs, ys), xt, alignment="coral", **FIT)
    with pytest.raises(TypeError, match=r"\.backbone and \.head"):
        A.AdaptationModel(nn.Sequential(nn.Flatten(), nn.Linear(192, 3)))
    with pytest.raises(ValueError, match="schedule"):
        A.fit_adapt(model, (xs, ys), xt, schedule="step", **FIT)
    # AdaBN
    with pytest.raises(ValueError, match="target is empty"):
        A.adabn(model, xt[:0])
    with pytest.raises(ValueError, match="target has images of shape"):
        A.adabn(model, xt[..., :1])
    with pytest.raises(ValueError, match="no BatchNorm"):
        A.adabn(nn.Sequential(nn.Flatten(), nn.Linear(192, 3)), xt)
    with pytest.raises(ValueError, match="batch_size"):
        A.adabn(model, xt, batch_size=0)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        A.adabn("model", xt)
