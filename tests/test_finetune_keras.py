"""tlhelpers.keras.finetune: behaviour of block-wise unfreezing, per-variable learning-rate
multipliers under model.fit, schedules, gradual unfreezing, EWC/L2-SP, class weights and
fit — small models and a handful of images."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")

import tensorflow as tf  # noqa: E402

import tlhelpers.keras  # noqa: E402,F401
import tlhelpers.keras.training  # noqa: E402,F401
from tlhelpers import finetune as core  # noqa: E402
from tlhelpers import schedules  # noqa: E402
from tlhelpers.keras import backbones as KB  # noqa: E402
from tlhelpers.keras import finetune as F  # noqa: E402

BLOCKS = ("stem", "stage1", "stage2", "stage3", "head")
CE = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _data(n=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 32, 32, 3), dtype=np.float32), np.arange(n) % classes


def _model(classes=3, seed=0, freeze=True, bn_inference=True):
    keras.utils.set_random_seed(seed)
    return KB.build_classifier(KB.course_cnn(pretrained=False), classes, freeze_backbone=freeze,
                               bn_inference=bn_inference)


def _values(model):
    return {v.path: v.numpy().copy() for v in model.weights}


def _changed_blocks(model, before):
    blocks = F.block_parameters(model)
    return {b for b, named in blocks.items() if any(not np.array_equal(v.numpy(), before[p]) for p, v in named.items())}


def _gradients(model, x, y):
    with tf.GradientTape() as tape:
        loss = CE(y, model(x, training=True))
    return {v.path: g.numpy() for v, g in zip(model.trainable_weights, tape.gradient(loss, model.trainable_weights))}


# --------------------------------------------------------------------------------------
# Blocks and unfreezing
# --------------------------------------------------------------------------------------

def test_block_parameters_partition_the_model_in_order():
    model = _model()
    blocks = F.block_parameters(model)
    assert tuple(blocks) == F.block_names(model) == BLOCKS
    paths = [p for named in blocks.values() for p in named]
    learnable = [v.path for v in model.weights if "moving" not in v.path]
    assert sorted(paths) == sorted(learnable)  # each exactly once; BN statistics are not parameters
    assert set(blocks["head"]) == {"head/kernel", "head/bias"}
    assert all(p.startswith("stage2_") for p in blocks["stage2"])
    assert tuple(F.block_parameters(KB.course_cnn(pretrained=False))) == BLOCKS[:-1]


@pytest.mark.parametrize("arch", ["mobilenet_v2", "efficientnet_b0", "vgg16"])
def test_imagenet_backbones_have_their_blocks(arch):
    backbone = KB.imagenet_backbone(arch, pretrained=False, input_shape=(32, 32, 3))
    blocks = F.block_parameters(KB.build_classifier(backbone, 3))
    assert tuple(blocks) == (*core.BACKBONE_BLOCKS[arch], "head") and all(blocks.values())


@pytest.mark.parametrize("top_k", [0, 1, 2, 4])
def test_unfreeze_trains_the_head_and_the_top_k_blocks(top_k):
    model = F.unfreeze(_model(), top_k)
    trainable = {v.path for v in model.trainable_weights}
    for i, block in enumerate(BLOCKS[:-1]):
        convs = [p for p in F.block_parameters(model)[block] if "bn" not in p]
        assert all((p in trainable) == (i >= 4 - top_k) for p in convs), (block, top_k)
    assert {"head/kernel", "head/bias"} <= trainable
    assert not any("_bn" in p for p in trainable)  # BatchNorm frozen: inference mode in Keras 3


def test_unfreeze_bn_trainable_adapts_only_the_unfrozen_blocks():
    model = F.unfreeze(_model(bn_inference=False), 2, bn_trainable=True)
    x, _ = _data()
    before = _values(model)
    model(x, training=True)
    moved = {p.split("_")[0] for p, v in _values(model).items() if "moving_mean" in p and not np.array_equal(v, before[p])}
    assert moved == {"stage2", "stage3"}
    with pytest.raises(ValueError, match="bn_inference=False"):
        F.unfreeze(_model(), 2, bn_trainable=True)  # the backbone runs in InferenceMode


@pytest.mark.parametrize("top_k", [-1, 5, 2.0, True, "all"])
def test_unfreeze_bad_top_k(top_k):
    with pytest.raises(ValueError, match="top_k"):
        F.unfreeze(_model(), top_k)


def test_unfreeze_from_a_named_block():
    a, b = F.unfreeze(_model(), 2), F.unfreeze(_model(), from_block="stage2")
    assert [v.path for v in a.trainable_weights] == [v.path for v in b.trainable_weights]
    with pytest.raises(ValueError, match="from_block='conv5' is not a block"):
        F.unfreeze(_model(), from_block="conv5")
    with pytest.raises(ValueError, match="exactly one"):
        F.unfreeze(_model())


def test_unfreeze_bad_model_and_flag():
    with pytest.raises(ValueError, match="bn_trainable"):
        F.unfreeze(_model(), 1, bn_trainable=1)
    with pytest.raises(ValueError, match="course backbone"):
        F.unfreeze(keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]), 1)
    with pytest.raises(TypeError, match="model"):
        F.unfreeze("resnet", 1)


# --------------------------------------------------------------------------------------
# Discriminative learning rates: ParamGroupOptimizer
# --------------------------------------------------------------------------------------

def test_param_groups_decay_towards_the_input():
    model = F.unfreeze(_model(), 4)
    groups = F.param_groups(model, 0.1, decay=0.5)
    assert [g["name"] for g in groups] == list(BLOCKS)
    assert [g["lr"] for g in groups] == pytest.approx([0.1 / 16, 0.1 / 8, 0.1 / 4, 0.1 / 2, 0.1])
    held = [v.path for g in groups for v in g["params"]]
    assert sorted(held) == sorted(v.path for v in model.trainable_weights)
    assert [g["name"] for g in F.param_groups(F.unfreeze(model, 1), 0.1, decay=0.5)] == ["stage3", "head"]


def test_one_sgd_step_in_fit_moves_each_variable_by_its_multiplier():
    """Keras has no parameter groups; the wrapper must give each variable multiplier x base step."""
    x, y = _data()
    model = F.unfreeze(_model(), 4)
    groups = F.param_groups(model, 0.1, decay=0.5)
    scale = {v.path: g["lr_scale"] for g in groups for v in g["params"]}
    grads, before = _gradients(model, x, y), _values(model)
    model.compile(optimizer=F.ParamGroupOptimizer(keras.optimizers.SGD(0.1), groups), loss=CE)
    model.fit(x, y, batch_size=len(y), epochs=1, shuffle=False, verbose=0)
    after = _values(model)
    assert len(set(scale.values())) == 5
    for path, g in grads.items():
        np.testing.assert_allclose(after[path] - before[path], -0.1 * scale[path] * g, rtol=1e-3, atol=1e-7)


def test_adam_with_a_multiplier_is_adam_at_the_scaled_rate():
    """Moments are per variable and untouched: Adam(lr) x 0.25 == Adam(lr / 4), step after step."""
    x, y = _data()
    results = []
    for make in (lambda m: F.ParamGroupOptimizer(keras.optimizers.Adam(1e-2), F.param_groups(m, 1e-2, decay=0.25)),
                 lambda m: keras.optimizers.Adam(1e-2 * 0.25)):
        model = F.unfreeze(_model(), 1)
        model.get_layer("head").trainable = False  # only stage3 trains, at 0.25 x the base rate
        model.compile(optimizer=make(model), loss=CE)
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        results.append({p: v for p, v in _values(model).items() if p.startswith("stage3_conv")})
    for path in results[0]:
        np.testing.assert_allclose(results[0][path], results[1][path], rtol=1e-5, atol=1e-7)


def test_param_group_optimizer_refuses_a_variable_in_two_groups_or_none():
    model = F.unfreeze(_model(), 4)
    groups = F.param_groups(model, 1e-3, decay=0.5)
    with pytest.raises(ValueError, match=r"'head/kernel' is in two groups"):
        F.ParamGroupOptimizer(keras.optimizers.SGD(1e-3), groups + [{"params": [groups[-1]["params"][0]]}])
    optimizer = F.ParamGroupOptimizer(keras.optimizers.SGD(1e-3), groups[1:])
    with pytest.raises(ValueError, match="in no parameter group"):
        optimizer.build(model.trainable_weights)
    with pytest.raises(ValueError, match="in no group"):
        F.check_param_groups(model, groups[1:])
    with pytest.raises(ValueError, match="base rate"):
        F.ParamGroupOptimizer(keras.optimizers.SGD(1e-2), groups)
    with pytest.raises(TypeError, match="optimizer"):
        F.ParamGroupOptimizer("sgd", groups)
    with pytest.raises(ValueError, match="lr_scale"):
        F.ParamGroupOptimizer(keras.optimizers.SGD(1e-3), [{"params": groups[0]["params"], "lr_scale": -1}])


def test_param_group_optimizer_round_trips_its_config():
    model = F.unfreeze(_model(), 4)
    optimizer = F.ParamGroupOptimizer(keras.optimizers.Adam(1e-3), F.param_groups(model, 1e-3, decay=0.5))
    clone = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(clone, F.ParamGroupOptimizer) and clone.multipliers == optimizer.multipliers
    assert float(clone.learning_rate) == pytest.approx(1e-3)


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

def test_warmup_cosine_equals_keras_cosine_decay():
    """An independent check of schedules.warmup_cosine: Keras's own CosineDecay with warm-up."""
    total, warm, peak, final = 60, 12, 0.3, 0.003
    ref = keras.optimizers.schedules.CosineDecay(0.0, total - warm, alpha=final / peak, warmup_target=peak,
                                                 warmup_steps=warm)
    ours = F.lr_schedule("warmup_cosine", total, peak_lr=peak, warmup_steps=warm, final_fraction=final / peak)
    steps = np.arange(total)
    np.testing.assert_allclose([float(ours(s)) for s in steps], [float(ref(s)) for s in steps], rtol=1e-5)


def test_lr_schedule_follows_the_core_and_holds_the_last_rate():
    sched = F.lr_schedule("one_cycle", 30, peak_lr=0.1, pct_start=0.2)
    expected = schedules.schedule_values("one_cycle", 30, peak_lr=0.1, pct_start=0.2)
    np.testing.assert_allclose([float(sched(s)) for s in range(30)], expected, rtol=1e-6)
    assert float(sched(100)) == pytest.approx(expected[-1], rel=1e-6)
    clone = F.LRSchedule.from_config(sched.get_config())
    assert float(clone(7)) == pytest.approx(expected[7], rel=1e-6)


@pytest.mark.parametrize("args, kwargs, name", [
    (("cosine", 10), {"peak_lr": 0.1}, "schedule"),
    (("one_cycle", 0), {"peak_lr": 0.1}, "total_steps"),
    (("one_cycle", 10), {"peak_lr": -0.1}, "peak_lr"),
    (("slanted_triangular", 5), {"peak_lr": 0.1}, "cut_frac"),
])
def test_lr_schedule_bad_input(args, kwargs, name):
    with pytest.raises(ValueError, match=name):
        F.lr_schedule(*args, **kwargs)


def test_a_fresh_optimizer_continues_the_schedule():
    opt = keras.optimizers.Adam(F.lr_schedule("one_cycle", 20, peak_lr=0.1))
    opt.iterations.assign(7)
    fresh = F._fresh_optimizer(F.ParamGroupOptimizer(opt, {"x": 1.0}))
    assert int(fresh.iterations) == 0
    assert float(fresh.learning_rate) == pytest.approx(schedules.one_cycle(7, 20, peak_lr=0.1), rel=1e-6)


# --------------------------------------------------------------------------------------
# Gradual unfreezing
# --------------------------------------------------------------------------------------

class _Record(keras.callbacks.Callback):
    def __init__(self, model):
        super().__init__()
        self.target, self.changed = model, []

    def on_epoch_begin(self, epoch, logs=None):
        self.before = _values(self.target)

    def on_epoch_end(self, epoch, logs=None):
        self.changed.append(_changed_blocks(self.target, self.before))


def test_gradual_unfreezing_trains_what_it_unfreezes():
    """COURSE.md §5 items 15 and 17: the block unfrozen at an epoch moves during that epoch."""
    x, y = _data(4)
    model = _model()
    record = _Record(model)
    groups = F.param_groups(model, 1e-2, decay=0.5, include_frozen=True)
    F.fit(model, (x, y), epochs=3, batch_size=4, optimizer=F.ParamGroupOptimizer(keras.optimizers.Adam(1e-2), groups),
          schedule="one_cycle", callbacks=[F.GradualUnfreezing(model, every=1, start=2), record])
    assert record.changed == [{"stage2", "stage3", "head"}, {"stage1", "stage2", "stage3", "head"},
                              {"stem", "stage1", "stage2", "stage3", "head"}]
    # each stage got a fresh optimizer, and the schedule went on across them
    assert isinstance(model.optimizer, F.ParamGroupOptimizer) and int(model.optimizer.iterations) == 1
    assert float(model.optimizer.learning_rate) == pytest.approx(schedules.one_cycle(3, 3, peak_lr=1e-2), rel=1e-5)


@pytest.mark.parametrize("kwargs, name", [({"every": 0}, "every"), ({"start": 5}, "start"),
                                          ({"start": -1}, "start"), ({"bn_trainable": "no"}, "bn_trainable")])
def test_gradual_unfreezing_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        F.GradualUnfreezing(_model(), **kwargs)


# --------------------------------------------------------------------------------------
# EWC and L2-SP
# --------------------------------------------------------------------------------------

def _per_sample_fisher(model, x, y):
    """Independent reference: one gradient per example, squared, averaged."""
    variables = [v for v in model.weights if "moving" not in v.path]
    total = [np.zeros(v.shape) for v in variables]
    batch = [np.zeros(v.shape) for v in variables]
    for i in range(len(y)):
        with tf.GradientTape() as tape:
            tape.watch([v.value for v in variables])
            log_p = tf.nn.log_softmax(model(x[i:i + 1], training=False))[0, int(y[i])]
        grads = [g.numpy() for g in tape.gradient(log_p, [v.value for v in variables])]
        total = [t + g ** 2 for t, g in zip(total, grads)]
        batch = [b + g for b, g in zip(batch, grads)]
    return ({v.path: t / len(y) for v, t in zip(variables, total)},
            {v.path: (b / len(y)) ** 2 for v, b in zip(variables, batch)})


def test_fisher_is_the_mean_of_per_sample_squared_gradients():
    x, y = _data(5)
    model = _model()  # backbone frozen: its variables are in the Fisher all the same
    fisher = F.fisher_diagonal(model, (x, y), batch_size=3)
    reference, batch_mean_squared = _per_sample_fisher(model, x, y)
    assert fisher.keys() == reference.keys()
    for path in fisher:
        np.testing.assert_allclose(np.asarray(fisher[path]), reference[path], rtol=1e-4, atol=1e-9)
    ours = sum(float(np.sum(f)) for f in fisher.values())
    wrong = sum(float(np.sum(f)) for f in batch_mean_squared.values())
    assert ours > 2 * wrong  # COURSE.md §5 item 10


def test_fisher_with_the_models_own_labels_averages_over_classes():
    x, y = _data(2)
    model = _model()
    fisher = F.fisher_diagonal(model, (x, y), labels="model")
    probs = np.asarray(keras.ops.softmax(model(x, training=False)))
    expected = {p: 0.0 for p in fisher}
    for i in range(2):
        for c in range(3):  # the squared gradient of log p(c | x_i), weighted by p(c | x_i)
            single, _ = _per_sample_fisher(model, x[i:i + 1], np.array([c]))
            for p in expected:
                expected[p] = expected[p] + probs[i, c] * single[p] / 2
    for p in fisher:
        np.testing.assert_allclose(np.asarray(fisher[p]), expected[p], rtol=1e-4, atol=1e-10)


@pytest.mark.parametrize("kwargs, data, name", [
    ({"labels": "true"}, None, "labels"),
    ({"batch_size": 0}, None, "batch_size"),
    ({}, "images", "data"),
    ({}, (np.zeros((2, 32, 32, 3), np.float32), np.zeros(3)), "data"),
])
def test_fisher_bad_input(kwargs, data, name):
    data = _data(2) if data is None else data
    with pytest.raises(ValueError, match=name):
        F.fisher_diagonal(_model(), data, **kwargs)


def test_ewc_anchor_is_a_copy_and_the_penalty_pulls_back():
    x, y = _data(4)
    model = _model(freeze=False)
    ewc = F.EWC(model, (x, y), strength=2.0)
    assert float(ewc()) == 0.0
    anchor = {p: np.asarray(a).copy() for p, a in ewc.anchor.items()}
    for v in ewc.params.values():
        v.assign(v + 0.01)
    assert all(np.array_equal(np.asarray(ewc.anchor[p]), anchor[p]) for p in anchor)  # item 11
    expected = core.ewc_penalty({p: v.numpy() for p, v in ewc.params.items()},
                                {p: np.asarray(f) for p, f in ewc.fisher.items()}, anchor, 2.0)
    assert float(ewc()) == pytest.approx(expected, rel=1e-4)
    w = ewc.params["stem_conv/kernel"]
    with tf.GradientTape() as tape:
        penalty = ewc()
    np.testing.assert_allclose(tape.gradient(penalty, w.value).numpy(),
                               2.0 * np.asarray(ewc.fisher["stem_conv/kernel"]) * 0.01, rtol=1e-3, atol=1e-12)


def test_snapshot_and_penalties_bad_input():
    model = _model(freeze=False)
    params = F._learnable(model)
    anchor = F.snapshot(params)
    fisher = {p: np.ones(v.shape, np.float32) for p, v in params.items()}
    params["head/bias"].assign(params["head/bias"] + 1.0)
    assert not np.array_equal(np.asarray(anchor["head/bias"]), params["head/bias"].numpy())
    with pytest.raises(ValueError, match="strength"):
        F.ewc_penalty(params, fisher, anchor, -1.0)
    with pytest.raises(ValueError, match="fisher"):
        F.ewc_penalty(params, {}, anchor, 1.0)
    with pytest.raises(ValueError, match="anchor"):
        F.ewc_penalty(params, fisher, {"x": anchor["head/bias"]}, 1.0)
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
    assert set(l2sp.new_params) == {"head/kernel", "head/bias"}
    head = sum(float(np.sum(v.numpy() ** 2)) for v in model.get_layer("head").weights)
    assert float(l2sp()) == pytest.approx(0.5 * 0.25 * head, rel=1e-5)
    kernel = l2sp.params["stem_conv/kernel"]
    kernel.assign(kernel + 0.1)
    shift = 0.5 * 0.5 * 0.01 * int(np.prod(kernel.shape))
    assert float(l2sp()) == pytest.approx(0.5 * 0.25 * head + shift, rel=1e-4)


# --------------------------------------------------------------------------------------
# Class imbalance, PenalizedModel and fit
# --------------------------------------------------------------------------------------

def test_class_weights_and_balanced_sampler():
    y = np.array([0] * 30 + [1] * 3)
    assert F.class_weights(y) == pytest.approx({0: 33 / 60, 1: 33 / 6})
    x = np.zeros((33, 32, 32, 3), np.float32)
    batches = F.balanced_sampler((x, y), batch_size=11, seed=0)
    assert len(batches) == 3 and batches[0][0].shape == (11, 32, 32, 3)
    drawn = []
    for _ in range(20):  # a fresh resample every epoch
        drawn += [batches[i][1] for i in range(3)]
        batches.on_epoch_end()
    assert abs(np.concatenate(drawn).mean() - 0.5) < 0.05
    for bad, name in ((np.array([0, 2]), "class"), (np.array([-1, 0]), "labels"), (np.zeros((2, 2)), "labels")):
        with pytest.raises(ValueError, match=name):
            F.class_weights(bad, 3 if name == "class" else None)
    with pytest.raises(ValueError, match="batch_size"):
        F.balanced_sampler((x, y), batch_size=0)


def test_fit_adds_the_penalty_once_and_weights_the_classes():
    x, y = _data(6)
    model = _model()
    ce = keras.losses.sparse_categorical_crossentropy(y, model(x, training=False), from_logits=True).numpy()
    w = np.array([2.0, 0.0, 1.0])
    history = F.fit(model, (x, y), epochs=1, batch_size=6, lr=1e-9, class_weight=w,
                    penalty=lambda: keras.ops.convert_to_tensor(5.0), validation=(x, y))
    assert history["loss"][0] == pytest.approx(float((w[y] * ce).mean()) + 5.0, rel=1e-4)
    assert history["val_loss"][0] == pytest.approx(float(ce.mean()), rel=1e-4)  # no penalty in evaluation


def test_fit_with_a_strong_ewc_stays_near_the_anchor():
    x, y = _data(8)
    moved = {}
    for strength in (None, 1e6):
        model = F.unfreeze(_model(freeze=False, seed=1), 4)
        anchor = F.snapshot(F._learnable(model))
        ewc = F.EWC(model, (x, y), strength=strength) if strength else None
        F.fit(model, (x, y), epochs=2, batch_size=4, lr=1e-2, penalty=ewc, seed=0)
        moved[strength] = sum(float(np.abs(v.numpy() - np.asarray(anchor[p])).sum())
                              for p, v in F._learnable(model).items() if not p.startswith("head"))
    assert moved[1e6] < 0.5 * moved[None]


def test_fit_with_a_schedule_and_balanced_batches():
    x, y = _data(8)
    model = F.unfreeze(_model(), 1)
    optimizer = F.ParamGroupOptimizer(keras.optimizers.Adam(1e-3), F.param_groups(model, 1e-3, decay=0.5))
    history = F.fit(model, (x, y), epochs=2, batch_size=4, optimizer=optimizer, schedule="one_cycle",
                    balanced=True, seed=0)
    assert set(history) == {"loss", "accuracy"} and len(history["loss"]) == 2
    assert float(optimizer.learning_rate) == pytest.approx(schedules.one_cycle(4, 4, peak_lr=1e-3), rel=1e-5)


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
        F.fit(_model(), _data(4), **kwargs)


# --------------------------------------------------------------------------------------
# More bad input, for the functions not covered above
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("model, error", [
    ("resnet", TypeError), (None, TypeError),
    (keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]), ValueError),
])
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


@pytest.mark.parametrize("params", [[1.0], "weights", None])
def test_snapshot_bad_input(params):
    with pytest.raises(ValueError, match="params"):
        F.snapshot(params)


@pytest.mark.parametrize("values", [[], [0.1, math.nan], "0.1", [-0.1], ["a"]])
def test_lr_schedule_values_bad_input(values):
    with pytest.raises(ValueError, match="values"):
        F.LRSchedule(values)


@pytest.mark.parametrize("model, penalty, error, name", [
    ("net", lambda: 0.0, TypeError, "model"),
    (None, lambda: 0.0, TypeError, "model"),
    ("ok", 1.0, ValueError, "penalty"),
])
def test_penalized_model_bad_input(model, penalty, error, name):
    with pytest.raises(error, match=name):
        F.PenalizedModel(_model() if model == "ok" else model, penalty)


def test_fit_shares_its_traced_step_and_gives_the_numbers_of_a_step_of_its_own(monkeypatch):
    """Runs of one architecture share a traced step (weights, optimizer state and rate loaded
    from each model): the same history, weights and optimizer state as a step traced for
    the model alone — with discriminative rates, a schedule, class weights, gradual
    unfreezing and a validation set."""
    x, y = _data(12)

    def run(seed):
        model = F.unfreeze(_model(seed=seed, freeze=False, bn_inference=False), 0)
        groups = F.param_groups(model, 1e-2, decay=0.5, include_frozen=True)
        optimizer = F.ParamGroupOptimizer(keras.optimizers.Adam(1e-2), groups)
        history = F.fit(model, (x, y), epochs=3, batch_size=5, optimizer=optimizer, schedule="one_cycle",
                        class_weight=[1.0, 2.0, 0.5], callbacks=[F.GradualUnfreezing(model, start=3)],
                        validation=(x, y), seed=seed)
        return history, model

    monkeypatch.setattr(F, "_STEPS", type(F._STEPS)())
    run(0)  # traces the shared steps, one per stage (top_k = 3, then 4)
    traced = len(F._STEPS)
    shared, shared_model = run(1)
    assert len(F._STEPS) == traced == 2, "a second run of the same settings traced new steps"
    monkeypatch.setattr(F.training, "_architecture_key", lambda *args, **kwargs: None)  # steps of their own
    own, own_model = run(1)
    assert shared.keys() == own.keys()
    for key in own:
        assert shared[key] == pytest.approx(own[key], rel=1e-6), key
    for a, b in zip(shared_model.variables + shared_model.optimizer.variables,
                    own_model.variables + own_model.optimizer.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


def test_fit_runs_keras_callbacks_on_the_model_that_trains():
    x, y = _data(8)
    model = F.unfreeze(_model(freeze=False, bn_inference=False), 1)
    stopper = keras.callbacks.EarlyStopping("val_loss", patience=1, restore_best_weights=True)
    plateau = keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=1)
    history = F.fit(model, (x, y), epochs=30, batch_size=4, lr=0.5, validation=(x[:4], y[:4]),
                    callbacks=[plateau, stopper], seed=0)
    assert len(history["val_loss"]) < 30, "early stopping never stopped the run"
    assert float(model.optimizer.learning_rate) < 0.5, "the plateau callback never lowered the rate"
    best = int(np.argmin(history["val_loss"]))
    assert stopper.best_epoch == best
    assert tlhelpers.keras.training.evaluate(model, (x[:4], y[:4]))["loss"] == \
        pytest.approx(history["val_loss"][best], rel=1e-5), "the best epoch's weights were not restored"
