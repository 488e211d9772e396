"""tlhelpers.torch.finetune: behaviour of block-wise unfreezing, discriminative parameter
groups, schedules, gradual unfreezing, EWC/L2-SP, class weights and fit — small models and
a handful of images, so that each test takes a second or two."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from tlhelpers import finetune as core  # noqa: E402
from tlhelpers import schedules  # noqa: E402
from tlhelpers.torch import backbones as TB  # noqa: E402
from tlhelpers.torch import finetune as F  # noqa: E402

BLOCKS = ("stem", "stage1", "stage2", "stage3", "head")


def _data(n=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 32, 32, 3), dtype=np.float32), np.arange(n) % classes


def _model(classes=3, seed=0, freeze=True):
    torch.manual_seed(seed)
    return TB.build_classifier(TB.course_cnn(pretrained=False), classes, freeze_backbone=freeze)


def _values(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def _changed_blocks(model, before):
    blocks = F.block_parameters(model)
    return {b for b, named in blocks.items() if any(not torch.equal(p, before[n]) for n, p in named.items())}


def _sgd_step(model, optimizer, x, y):
    model.train()
    loss = nn.functional.cross_entropy(model(torch.from_numpy(x.transpose(0, 3, 1, 2))), torch.from_numpy(y))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


# --------------------------------------------------------------------------------------
# Blocks and unfreezing
# --------------------------------------------------------------------------------------

def test_block_parameters_partition_the_model_in_order():
    model = _model()
    blocks = F.block_parameters(model)
    assert tuple(blocks) == F.block_names(model) == BLOCKS
    names = [n for named in blocks.values() for n in named]
    assert sorted(names) == sorted(n for n, _ in model.named_parameters())  # each exactly once
    assert set(blocks["head"]) == {"head.weight", "head.bias"}
    assert all(n.startswith("backbone.stage2.") for n in blocks["stage2"])
    assert tuple(F.block_parameters(TB.course_cnn(pretrained=False))) == BLOCKS[:-1]  # a bare backbone


@pytest.mark.parametrize("names, arch", [
    ({"body.conv1.weight": "stem", "body.bn1.bias": "stem", "body.layer1.0.conv1.weight": "stage1",
      "body.layer4.2.bn3.weight": "stage4"}, "resnet50"),
    ({"body.0.0.weight": "block1", "body.0.2.bias": "block1", "body.0.5.weight": "block2",
      "body.0.14.weight": "block3", "body.0.21.weight": "block4", "body.0.28.bias": "block5"}, "vgg16"),
    ({"body.features.0.0.weight": "stem", "body.features.1.conv.0.0.weight": "stage1",
      "body.features.3.conv.1.1.weight": "stage2", "body.features.10.conv.2.weight": "stage4",
      "body.features.17.conv.3.bias": "stage7", "body.features.18.1.weight": "top"}, "mobilenet_v2"),
    ({"body.features.0.1.weight": "stem", "body.features.1.0.block.0.0.weight": "stage1",
      "body.features.7.0.block.3.1.bias": "stage7", "body.features.8.0.weight": "top"}, "efficientnet_b0"),
    ({"body.features.conv0.weight": "stem", "body.features.norm0.bias": "stem",
      "body.features.denseblock1.denselayer1.conv1.weight": "stage1",
      "body.features.transition3.conv.weight": "stage3", "body.features.norm5.weight": "stage4"}, "densenet121"),
])
def test_imagenet_block_table_follows_torchvision_names(names, arch):
    """torchvision does not import here; its module names (as ImageNetBackbone wraps them in
    ``body``) are checked against the table, every block reached."""
    got = {n: F._block_of(arch, "", n) for n in names}
    assert got == names
    assert set(core.BACKBONE_BLOCKS[arch]) >= set(names.values())


def test_imagenet_backbone_blocks_cover_every_parameter():
    pytest.importorskip("torchvision")  # pragma: no cover - torchvision is absent in the CPU env
    for arch in core.BACKBONE_BLOCKS:  # pragma: no cover
        if arch == "course_cnn":
            continue
        blocks = F.block_parameters(TB.build_classifier(TB.imagenet_backbone(arch, pretrained=False), 3))
        assert tuple(blocks) == (*core.BACKBONE_BLOCKS[arch], "head") and all(blocks.values())


@pytest.mark.parametrize("top_k", [0, 1, 2, 4])
def test_unfreeze_trains_the_head_and_the_top_k_blocks(top_k):
    model = F.unfreeze(_model(), top_k)
    blocks = F.block_parameters(model)
    for i, block in enumerate(BLOCKS[:-1]):
        conv = [p for n, p in blocks[block].items() if "bn" not in n]
        assert all(p.requires_grad == (i >= 4 - top_k) for p in conv), (block, top_k)
    assert all(p.requires_grad for p in blocks["head"].values())
    # BatchNorm stays frozen, and in eval mode even after model.train()
    model.train()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(not m.training and not m.weight.requires_grad for m in bns)


def test_unfreeze_keeps_bn_statistics_unless_bn_trainable():
    x, _ = _data()
    images = torch.from_numpy(x.transpose(0, 3, 1, 2))
    model = F.unfreeze(_model(), 2)
    stats = {n: b.clone() for n, b in model.named_buffers()}
    model.train()
    model(images)
    assert all(torch.equal(b, stats[n]) for n, b in model.named_buffers())
    F.unfreeze(model, 2, bn_trainable=True)
    model.train()
    model(images)
    moved = {n.split(".")[1] for n, b in model.named_buffers() if "running_mean" in n and not torch.equal(b, stats[n])}
    assert moved == {"stage2", "stage3"}  # only the unfrozen blocks adapt their statistics
    assert model.backbone.stage3.bn1.weight.requires_grad and not model.backbone.stem_bn.weight.requires_grad


@pytest.mark.parametrize("top_k", [-1, 5, 2.0, True, "all"])
def test_unfreeze_bad_top_k(top_k):
    with pytest.raises(ValueError, match="top_k"):
        F.unfreeze(_model(), top_k)


def test_unfreeze_from_a_named_block():
    a, b = F.unfreeze(_model(), 2), F.unfreeze(_model(), from_block="stage2")
    assert [p.requires_grad for p in a.parameters()] == [p.requires_grad for p in b.parameters()]
    with pytest.raises(ValueError, match="from_block='conv5' is not a block"):
        F.unfreeze(_model(), from_block="conv5")
    with pytest.raises(ValueError, match="exactly one"):
        F.unfreeze(_model())


def test_unfreeze_bad_model_and_flag():
    with pytest.raises(ValueError, match="bn_trainable"):
        F.unfreeze(_model(), 1, bn_trainable="yes")
    with pytest.raises(ValueError, match="course backbone"):
        F.unfreeze(nn.Sequential(nn.Linear(2, 2)), 1)
    with pytest.raises(TypeError, match="model"):
        F.unfreeze("resnet", 1)


# --------------------------------------------------------------------------------------
# Discriminative learning rates
# --------------------------------------------------------------------------------------

def test_param_groups_decay_towards_the_input():
    model = F.unfreeze(_model(freeze=False), 4)
    groups = F.param_groups(model, 0.1, decay=0.5)
    assert [g["name"] for g in groups] == list(BLOCKS)
    assert [g["lr"] for g in groups] == pytest.approx([0.1 / 16, 0.1 / 8, 0.1 / 4, 0.1 / 2, 0.1])
    assert [g["lr_scale"] for g in groups] == pytest.approx([1 / 16, 1 / 8, 1 / 4, 1 / 2, 1])
    held = [p for g in groups for p in g["params"]]
    assert len(held) == len({id(p) for p in held}) == sum(p.requires_grad for p in model.parameters())


def test_param_groups_only_trainable_unless_include_frozen():
    model = F.unfreeze(_model(), 1)
    assert [g["name"] for g in F.param_groups(model, 1e-3, decay=0.5)] == ["stage3", "head"]
    every = F.param_groups(model, 1e-3, decay=0.5, include_frozen=True)
    assert sum(len(g["params"]) for g in every) == len(list(model.parameters()))


def test_one_sgd_step_moves_each_parameter_by_its_group_rate():
    x, y = _data()
    model = F.unfreeze(_model(), 4)
    groups = F.param_groups(model, 0.1, decay=0.5)
    scale = {id(p): g["lr_scale"] for g in groups for p in g["params"]}
    before = _values(model)
    logits = model.train()(torch.from_numpy(x.transpose(0, 3, 1, 2)))
    grads = torch.autograd.grad(nn.functional.cross_entropy(logits, torch.from_numpy(y)),
                                [p for p in model.parameters() if p.requires_grad])
    _sgd_step(model, torch.optim.SGD(groups, lr=123.0), x, y)  # the groups' rates win
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    for (n, p), g in zip(trainable, grads):
        torch.testing.assert_close(p.detach() - before[n], -0.1 * scale[id(p)] * g, rtol=1e-4, atol=1e-7)


def test_check_param_groups_catches_two_groups_and_none():
    model = F.unfreeze(_model(), 4)
    groups = F.param_groups(model, 1e-3, decay=0.5)
    twice = groups + [{"name": "again", "params": [model.head.weight]}]
    with pytest.raises(ValueError, match=r"'head.weight' is in two groups"):
        F.check_param_groups(model, twice)
    with pytest.raises(ValueError, match="in no group"):
        F.check_param_groups(model, groups[1:])
    with pytest.raises(ValueError, match="not a parameter of the model"):
        F.check_param_groups(model, [*groups, {"params": [nn.Parameter(torch.zeros(2))]}])
    with pytest.raises(ValueError, match=r"groups\[0\]"):
        F.check_param_groups(model, [model.head.weight])


@pytest.mark.parametrize("kwargs, name", [
    ({"lr": 0.0}, "lr"), ({"lr": -1.0}, "lr"), ({"lr": "1e-3"}, "lr"),
    ({"lr": 1e-3, "decay": 0.0}, "decay"), ({"lr": 1e-3, "decay": -0.5}, "decay"),
    ({"lr": 1e-3, "decay": math.nan}, "decay"), ({"lr": 1e-3, "include_frozen": 1}, "include_frozen"),
])
def test_param_groups_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        F.param_groups(_model(), **kwargs)


# --------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------

def _rates(scheduler, optimizer, steps):
    rates = []
    for _ in range(steps):
        rates.append([g["lr"] for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return np.array(rates)


@pytest.mark.parametrize("options", [{}, {"pct_start": 0.25, "anneal": "linear"},
                                     {"three_phase": True, "div_factor": 10.0, "final_div_factor": 100.0}])
def test_one_cycle_equals_torch_one_cycle_lr(options):
    """An independent check of schedules.one_cycle: PyTorch's own OneCycleLR, step by step."""
    p = [nn.Parameter(torch.zeros(1))]
    opt_ref = torch.optim.SGD(p, lr=0.3)
    torch_opts = {("anneal_strategy" if k == "anneal" else k): v for k, v in options.items()}
    ref = torch.optim.lr_scheduler.OneCycleLR(opt_ref, max_lr=0.3, total_steps=57, cycle_momentum=False,
                                              **torch_opts)
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.3)
    ours = F.lr_schedule(opt, "one_cycle", 57, **options)
    np.testing.assert_allclose(_rates(ours, opt, 57), _rates(ref, opt_ref, 57), rtol=1e-9)


def test_lr_schedule_keeps_the_groups_ratios():
    opt = torch.optim.SGD([{"params": [nn.Parameter(torch.zeros(1))], "lr": 0.01},
                           {"params": [nn.Parameter(torch.zeros(1))], "lr": 0.1}], lr=1.0)
    rates = _rates(F.lr_schedule(opt, "slanted_triangular", 40, cut_frac=0.2), opt, 40)
    expected = schedules.schedule_values("slanted_triangular", 40, cut_frac=0.2)
    np.testing.assert_allclose(rates, np.outer(expected, [0.01, 0.1]), rtol=1e-12)


@pytest.mark.parametrize("args, kwargs, error, name", [
    (("adam", "one_cycle", 10), {}, TypeError, "optimizer"),
    ((None, "one_cycle", 0), {}, ValueError, "total_steps"),
    ((None, "cosine", 10), {}, ValueError, "schedule"),
    ((None, "one_cycle", 10), {"peak_lr": 1.0}, ValueError, "peak_lr"),
    ((None, "warmup_cosine", 10), {"warmup_steps": 10}, ValueError, "warmup_steps"),
])
def test_lr_schedule_bad_input(args, kwargs, error, name):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    args = (opt, *args[1:]) if args[0] is None else args
    with pytest.raises(error, match=name):
        F.lr_schedule(*args, **kwargs)


# --------------------------------------------------------------------------------------
# Gradual unfreezing
# --------------------------------------------------------------------------------------

def test_gradual_unfreezing_trains_what_it_unfreezes():
    """COURSE.md §5 item 17: after each stage's first step, the newly unfrozen block has moved."""
    x, y = _data()
    model = _model()
    optimizer = torch.optim.SGD(F.param_groups(model, 0.05, decay=0.5, include_frozen=True), lr=0.05)
    unfreezing = F.GradualUnfreezing(model, optimizer, every=1)
    for epoch, expected in enumerate([{"head"}, {"head", "stage3"}, {"head", "stage3", "stage2"}]):
        assert unfreezing.top_k == epoch
        before = _values(model)
        _sgd_step(model, optimizer, x, y)
        assert _changed_blocks(model, before) == expected, epoch
        unfreezing.step()


def test_gradual_unfreezing_refuses_an_optimizer_that_lacks_the_new_block():
    model = _model()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    unfreezing = F.GradualUnfreezing(model, optimizer)
    with pytest.raises(ValueError, match="does not hold the newly unfrozen"):
        unfreezing.step()


@pytest.mark.parametrize("kwargs, name", [({"every": 0}, "every"), ({"start": 5}, "start"),
                                          ({"start": -1}, "start"), ({"bn_trainable": "no"}, "bn_trainable")])
def test_gradual_unfreezing_bad_input(kwargs, name):
    model = _model()
    with pytest.raises(ValueError, match=name):
        F.GradualUnfreezing(model, torch.optim.SGD(model.parameters(), lr=0.1), **kwargs)


# --------------------------------------------------------------------------------------
# EWC and L2-SP
# --------------------------------------------------------------------------------------

def _per_sample_fisher(model, x, y):
    """Independent reference: one backward pass per example, gradients squared, averaged."""
    model.eval()
    params = [p for _, p in model.named_parameters()]
    for p in params:
        p.requires_grad_(True)
    images = torch.from_numpy(x.transpose(0, 3, 1, 2))
    total = [torch.zeros_like(p) for p in params]
    batch = [torch.zeros_like(p) for p in params]
    for i in range(len(y)):
        log_p = torch.log_softmax(model(images[i:i + 1]), dim=-1)[0, int(y[i])]
        grads = torch.autograd.grad(log_p, params)
        total = [t + g ** 2 for t, g in zip(total, grads)]
        batch = [b + g for b, g in zip(batch, grads)]
    names = [n for n, _ in model.named_parameters()]
    return ({n: t / len(y) for n, t in zip(names, total)},
            {n: (b / len(y)) ** 2 for n, b in zip(names, batch)})


def test_fisher_is_the_mean_of_per_sample_squared_gradients():
    x, y = _data(6)
    model = _model(freeze=False)
    fisher = F.fisher_diagonal(model, (x, y), batch_size=4)
    reference, batch_mean_squared = _per_sample_fisher(_model(freeze=False), x, y)
    assert fisher.keys() == reference.keys()
    for n in fisher:
        torch.testing.assert_close(fisher[n], reference[n], rtol=1e-4, atol=1e-9)
    # COURSE.md §5 item 10: the squared batch-mean gradient is a different (smaller) quantity
    ours = sum(float(f.sum()) for f in fisher.values())
    wrong = sum(float(f.sum()) for f in batch_mean_squared.values())
    assert ours > 2 * wrong


def test_fisher_with_the_models_own_labels_averages_over_classes():
    x, y = _data(4)
    model = _model(freeze=False)
    fisher = F.fisher_diagonal(model, (x, y), labels="model")
    with torch.no_grad():
        probs = torch.softmax(model.eval()(torch.from_numpy(x.transpose(0, 3, 1, 2))), -1).numpy()
    expected = {n: torch.zeros_like(f) for n, f in fisher.items()}
    for i in range(4):
        for c in range(3):  # the empirical Fisher of one example labelled c, weighted by p(c | x)
            single = F.fisher_diagonal(model, (x[i:i + 1], np.array([c])))
            for n in expected:
                expected[n] += float(probs[i, c]) * single[n] / 4
    for n in fisher:
        torch.testing.assert_close(fisher[n], expected[n], rtol=1e-4, atol=1e-10)


def test_fisher_covers_frozen_parameters_and_restores_the_mode():
    x, y = _data(4)
    model = _model()  # backbone frozen
    model.train()
    fisher = F.fisher_diagonal(model, (x, y))
    assert model.training and float(fisher["backbone.stem_conv.weight"].sum()) > 0
    assert not model.backbone.stem_conv.weight.requires_grad


@pytest.mark.parametrize("kwargs, data, name", [
    ({"labels": "true"}, None, "labels"),
    ({"batch_size": 0}, None, "batch_size"),
    ({}, "images", "data"),
    ({}, (np.zeros((2, 32, 32, 3), np.float32), np.zeros(3)), "labels"),
    ({}, (np.zeros((2, 3, 32, 32), np.float32), np.zeros(2)), "channels-first"),
])
def test_fisher_bad_input(kwargs, data, name):
    data = _data(2) if data is None else data
    with pytest.raises(ValueError, match=name):
        F.fisher_diagonal(_model(), data, **kwargs)


def test_ewc_anchor_is_a_copy_and_the_penalty_pulls_back():
    x, y = _data(4)
    model = _model(freeze=False)
    ewc = F.EWC(model, (x, y), strength=2.0)
    assert float(ewc().detach()) == 0.0
    anchor = {n: a.clone() for n, a in ewc.anchor.items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    # COURSE.md §5 item 11: moving the live weights does not move θ*
    assert all(torch.equal(ewc.anchor[n], anchor[n]) for n in anchor)
    penalty = ewc()
    expected = core.ewc_penalty({n: p.detach().numpy() for n, p in model.named_parameters()},
                                {n: f.numpy() for n, f in ewc.fisher.items()},
                                {n: a.numpy() for n, a in anchor.items()}, 2.0)
    assert float(penalty.detach()) == pytest.approx(expected, rel=1e-5)
    penalty.backward()
    w = model.backbone.stem_conv.weight
    torch.testing.assert_close(w.grad, 2.0 * ewc.fisher["backbone.stem_conv.weight"] * 0.01, rtol=1e-3, atol=1e-12)


def test_snapshot_and_penalties_bad_input():
    model = _model(freeze=False)
    params = dict(model.named_parameters())
    anchor = F.snapshot(params)
    fisher = {n: torch.ones_like(p) for n, p in params.items()}
    assert all(a.data_ptr() != p.data_ptr() for a, p in zip(anchor.values(), params.values()))
    with pytest.raises(ValueError, match="strength"):
        F.ewc_penalty(params, fisher, anchor, -1.0)
    with pytest.raises(ValueError, match="fisher"):
        F.ewc_penalty(params, {}, anchor, 1.0)
    with pytest.raises(ValueError, match="anchor"):
        F.ewc_penalty(params, fisher, {"x": anchor["head.bias"]}, 1.0)
    with pytest.raises(ValueError, match="strength"):
        F.EWC(model, _data(2), strength=math.nan)
    for kwargs, name in (({"alpha": -1.0}, "alpha"), ({"beta": -0.1}, "beta"), ({"alpha": "big"}, "alpha")):
        with pytest.raises(ValueError, match=name):
            F.L2SP(model, **kwargs)
    with pytest.raises(ValueError, match="anchor"):
        F.l2sp_penalty(params, {}, {}, 0.1, 0.1)


def test_l2sp_anchors_the_backbone_and_shrinks_the_head():
    model = _model(freeze=False)
    l2sp = F.L2SP(model, alpha=0.5, beta=0.25)
    assert set(l2sp.new_params) == {"head.weight", "head.bias"}
    head = sum(float((p.detach() ** 2).sum()) for p in model.head.parameters())
    assert float(l2sp().detach()) == pytest.approx(0.5 * 0.25 * head, rel=1e-5)
    with torch.no_grad():
        model.backbone.stem_conv.weight.add_(0.1)
    shift = 0.5 * 0.5 * 0.01 * model.backbone.stem_conv.weight.numel()
    assert float(l2sp().detach()) == pytest.approx(0.5 * 0.25 * head + shift, rel=1e-4)


# --------------------------------------------------------------------------------------
# Class imbalance
# --------------------------------------------------------------------------------------

def test_class_weights_and_balanced_sampler():
    y = np.array([0] * 30 + [1] * 3)
    w = F.class_weights(y)
    assert w.dtype == torch.float32 and w.tolist() == pytest.approx([33 / 60, 33 / 6])
    drawn = y[list(F.balanced_sampler(y, 6000, seed=0))]
    assert abs(drawn.mean() - 0.5) < 0.03
    assert list(F.balanced_sampler(y, 10, seed=1)) == list(F.balanced_sampler(y, 10, seed=1))
    for bad, name in ((np.array([0, 2]), "class"), (np.array([-1, 0]), "labels"), (np.zeros((2, 2)), "labels")):
        with pytest.raises(ValueError, match=name):
            F.class_weights(bad, 3 if name == "class" else None)
    with pytest.raises(ValueError, match="num_samples"):
        F.balanced_sampler(y, 0)


# --------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------

def test_fit_adds_the_penalty_and_weights_the_classes():
    x, y = _data(6)
    model = _model()
    with torch.no_grad():
        logits = model.eval()(torch.from_numpy(x.transpose(0, 3, 1, 2)))
    ce = nn.functional.cross_entropy(logits, torch.from_numpy(y), reduction="none")
    w = torch.tensor([2.0, 0.0, 1.0])
    history = F.fit(model, (x, y), epochs=1, batch_size=6, lr=1e-9, class_weight=w.numpy(),
                    penalty=lambda: torch.tensor(5.0), device="cpu")
    assert history["loss"][0] == pytest.approx(float((w[torch.from_numpy(y)] * ce).mean()) + 5.0, rel=1e-4)


def test_fit_with_a_strong_ewc_stays_near_the_anchor():
    x, y = _data(8)
    moved = {}
    for strength in (0.0, 1e6):
        model = F.unfreeze(_model(freeze=False, seed=1), 4)
        ewc = F.EWC(model, (x, y), strength=strength)
        F.fit(model, (x, y), epochs=2, batch_size=4, lr=1e-2, penalty=ewc, seed=0, device="cpu")
        moved[strength] = sum(float((p.detach() - ewc.anchor[n]).abs().sum())
                              for n, p in model.backbone.named_parameters(prefix="backbone"))
    assert moved[1e6] < 0.5 * moved[0.0]


def test_fit_with_schedule_groups_and_callbacks():
    x, y = _data(8)
    model = _model()
    optimizer = torch.optim.AdamW(F.param_groups(model, 1e-3, decay=0.5, include_frozen=True))
    history = F.fit(model, (x, y), epochs=2, batch_size=4, optimizer=optimizer, schedule="one_cycle",
                    callbacks=[F.GradualUnfreezing(model, every=1, start=3)], validation=(x, y), device="cpu")
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"} and len(history["loss"]) == 2
    assert all(p.requires_grad for n, p in model.named_parameters() if "bn" not in n)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 / 16 * schedules.one_cycle(4, 4))
    balanced = F.fit(_model(), (x, y), epochs=1, batch_size=4, balanced=True, seed=0, device="cpu")
    assert len(balanced["loss"]) == 1


def test_early_stopping_restores_the_best_weights():
    model = _model()
    stop = F.EarlyStopping("val_loss", patience=2)
    stop.on_train_begin(model, None)
    best = _values(model)
    for epoch, val in enumerate([1.0, 0.5, 0.7, 0.8]):
        if epoch == 1:
            best = _values(model)
        stop.on_epoch_end(epoch, {"val_loss": val})
        with torch.no_grad():
            model.head.bias.add_(1.0)
    assert stop.stop_training and stop.best_epoch == 1
    stop.on_train_end()
    assert all(torch.equal(p, best[n]) for n, p in model.named_parameters())
    with pytest.raises(ValueError, match="monitor"):
        stop.on_epoch_end(4, {"loss": 1.0})
    for kwargs, name in (({"patience": 0}, "patience"), ({"mode": "up"}, "mode"), ({"min_delta": -1}, "min_delta")):
        with pytest.raises(ValueError, match=name):
            F.EarlyStopping(**kwargs)


def test_reduce_lr_on_plateau():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    cb = F.ReduceLROnPlateau("val_loss", factor=0.5, patience=1)
    cb.on_train_begin(None, opt)
    for epoch, val in enumerate([1.0, 1.0, 1.0]):
        cb.on_epoch_end(epoch, {"val_loss": val})
    assert opt.param_groups[0]["lr"] == 0.5
    for kwargs, name in (({"factor": 1.0}, "factor"), ({"patience": 0}, "patience"), ({"min_lr": -1}, "min_lr")):
        with pytest.raises(ValueError, match=name):
            F.ReduceLROnPlateau(**kwargs)


@pytest.mark.parametrize("kwargs, name", [
    ({"epochs": 0}, "epochs"),
    ({"batch_size": -1}, "batch_size"),
    ({"lr": 0.0}, "lr"),
    ({"class_weight": [1.0, 1.0]}, "class_weight"),
    ({"class_weight": [1.0, -1.0, 1.0]}, "class_weight"),
    ({"class_weight": [1.0, 1.0, 1.0], "balanced": True}, "balanced"),
    ({"balanced": "yes"}, "balanced"),
    ({"penalty": 3.0}, "penalty"),
    ({"schedule": "cosine"}, "schedule"),
])
def test_fit_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        F.fit(_model(), _data(4), device="cpu", **kwargs)


# --------------------------------------------------------------------------------------
# More bad input, for the functions not covered above
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("model, error", [("resnet", TypeError), (None, TypeError), (nn.Linear(2, 2), ValueError)])
def test_block_parameters_bad_model(model, error):
    with pytest.raises(error, match="model"):
        F.block_parameters(model)
    with pytest.raises(error, match="model"):
        F.block_names(model)


@pytest.mark.parametrize("kwargs, data, name", [
    ({"strength": -1.0}, None, "strength"),
    ({"strength": 1.0, "labels": "soft"}, None, "labels"),
    ({"strength": 1.0}, (np.zeros((0, 32, 32, 3), np.float32), np.zeros(0)), "data"),
])
def test_ewc_bad_input(kwargs, data, name):
    with pytest.raises(ValueError, match=name):
        F.EWC(_model(), _data(2) if data is None else data, **kwargs)


@pytest.mark.parametrize("params", [[nn.Parameter(torch.zeros(1))], "weights", None])
def test_snapshot_bad_input(params):
    with pytest.raises(ValueError, match="params"):
        F.snapshot(params)


@pytest.mark.parametrize("labels, num, name", [
    (np.zeros((2, 2), int), None, "labels"), (np.array([], int), None, "labels"), (np.array([0, 1]), -3, "num_samples"),
])
def test_balanced_sampler_bad_input(labels, num, name):
    with pytest.raises(ValueError, match=name):
        F.balanced_sampler(labels, num)
