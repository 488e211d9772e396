"""The framework-neutral side of fine-tuning: block tables, discriminative multipliers, the
unfreezing order, the NumPy references of EWC and L2-SP (tlhelpers.finetune), and class
imbalance helpers (tlhelpers.imbalance)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tlhelpers import finetune as F
from tlhelpers import imbalance as I
from tlhelpers.zoo import COURSE_CNN_BLOCKS, IMAGENET_ZOO


def test_every_backbone_has_blocks():
    assert set(F.BACKBONE_BLOCKS) == {"course_cnn", *IMAGENET_ZOO}
    assert F.BACKBONE_BLOCKS["course_cnn"] == COURSE_CNN_BLOCKS
    assert all(F.HEAD not in blocks for blocks in F.BACKBONE_BLOCKS.values())
    # MobileNetV2's 17 inverted residual blocks in stages of n = 1, 2, 3, 4, 3, 3, 1
    assert np.bincount(F.MOBILENET_V2_STAGES).tolist() == [0, 1, 2, 3, 4, 3, 3, 1]


def test_discriminative_multipliers_decay_towards_the_input():
    blocks = (*COURSE_CNN_BLOCKS, F.HEAD)
    m = F.discriminative_multipliers(blocks, 0.5)
    assert list(m) == list(blocks)
    assert m == {"stem": 0.125 * 0.5, "stage1": 0.125, "stage2": 0.25, "stage3": 0.5, "head": 1.0}
    ulmfit = F.discriminative_multipliers(blocks, 1 / 2.6)
    assert [ulmfit[b] / ulmfit[a] for a, b in zip(blocks, blocks[1:])] == pytest.approx([2.6] * 4)
    assert set(F.discriminative_multipliers(blocks, 1).values()) == {1.0}


@pytest.mark.parametrize("blocks, decay, name", [
    ((), 0.5, "blocks"),
    (("a", "a"), 0.5, "blocks"),
    (("a", 3), 0.5, "blocks"),
    (("a", "b"), 0.0, "decay"),
    (("a", "b"), -0.5, "decay"),
    (("a", "b"), math.inf, "decay"),
    (("a", "b"), "0.5", "decay"),
])
def test_discriminative_multipliers_bad_input(blocks, decay, name):
    with pytest.raises(ValueError, match=name):
        F.discriminative_multipliers(blocks, decay)


def test_top_k_at_epoch_follows_ulmfit_gradual_unfreezing():
    assert [F.top_k_at_epoch(e, 4) for e in range(7)] == [0, 1, 2, 3, 4, 4, 4]
    assert [F.top_k_at_epoch(e, 4, every=2) for e in range(6)] == [0, 0, 1, 1, 2, 2]
    assert [F.top_k_at_epoch(e, 4, start=2) for e in range(4)] == [2, 3, 4, 4]


@pytest.mark.parametrize("kwargs, name", [
    ({"epoch": -1}, "epoch"),
    ({"epoch": 1.0}, "epoch"),
    ({"epoch": 0, "every": 0}, "every"),
    ({"epoch": 0, "start": 5}, "start"),
    ({"epoch": 0, "start": -1}, "start"),
])
def test_top_k_at_epoch_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        F.top_k_at_epoch(kwargs.pop("epoch"), 4, **kwargs)


@pytest.mark.parametrize("top_k", [-1, 5, 1.0, True, "2", None])
def test_check_top_k_bad_input(top_k):
    with pytest.raises(ValueError, match="top_k must be an integer from 0 .* to 4 .*stem, stage1"):
        F.check_top_k(top_k, COURSE_CNN_BLOCKS)


def test_resolve_top_k_by_number_or_by_block():
    assert [F.resolve_top_k(COURSE_CNN_BLOCKS, from_block=b) for b in (*COURSE_CNN_BLOCKS, "head")] == [4, 3, 2, 1, 0]
    assert F.resolve_top_k(COURSE_CNN_BLOCKS, top_k=3) == 3


@pytest.mark.parametrize("top_k, from_block, match", [
    (None, "stage4", "from_block='stage4' is not a block.*stem, stage1, stage2, stage3, head"),
    (None, "layer3", "from_block='layer3' is not a block"),
    (2, "stage2", "exactly one of top_k"),
    (None, None, "exactly one of top_k"),
    (7, None, "top_k"),
])
def test_resolve_top_k_bad_input(top_k, from_block, match):
    with pytest.raises(ValueError, match=match):
        F.resolve_top_k(COURSE_CNN_BLOCKS, top_k, from_block)


@pytest.mark.parametrize("value", [-0.1, math.nan, "1", None])
def test_check_strength_bad_input(value):
    with pytest.raises(ValueError, match="strength must be a finite number >= 0"):
        F.check_strength(value, "strength")


def _toy():
    rng = np.random.default_rng(0)
    params = {"a": rng.normal(size=(3, 2)), "b": rng.normal(size=4)}
    anchor = {k: v + rng.normal(size=v.shape) for k, v in params.items()}
    fisher = {k: rng.random(v.shape) for k, v in params.items()}
    return params, anchor, fisher


def test_ewc_penalty_reference():
    params, anchor, fisher = _toy()
    expected = 0.5 * 3.0 * sum(np.sum(fisher[k] * (params[k] - anchor[k]) ** 2) for k in params)
    assert F.ewc_penalty(params, fisher, anchor, 3.0) == pytest.approx(expected)
    assert F.ewc_penalty(anchor, fisher, anchor, 3.0) == 0.0
    assert F.ewc_penalty(params, fisher, anchor, 0.0) == 0.0


@pytest.mark.parametrize("change, name", [
    (lambda p, a, f: (p, {"a": f["a"]}, a, 1.0), "fisher"),
    (lambda p, a, f: (p, f, {**a, "c": a["a"]}, 1.0), "anchor"),
    (lambda p, a, f: (p, f, a, -1.0), "strength"),
])
def test_ewc_penalty_reference_bad_input(change, name):
    with pytest.raises(ValueError, match=name):
        F.ewc_penalty(*change(*_toy()))


def test_l2sp_penalty_reference():
    params, anchor, _ = _toy()
    new = {"head": np.array([1.0, -2.0])}
    expected = 0.5 * 0.1 * sum(np.sum((params[k] - anchor[k]) ** 2) for k in params) + 0.5 * 0.01 * 5.0
    assert F.l2sp_penalty(params, anchor, new, 0.1, 0.01) == pytest.approx(expected)
    assert F.l2sp_penalty(anchor, anchor, {}, 0.1, 0.01) == 0.0


@pytest.mark.parametrize("alpha, beta, anchor_extra, name", [
    (-1.0, 0.0, False, "alpha"),
    (0.1, -0.01, False, "beta"),
    (0.1, math.nan, False, "beta"),
    (0.1, 0.01, True, "anchor"),
])
def test_l2sp_penalty_reference_bad_input(alpha, beta, anchor_extra, name):
    params, anchor, _ = _toy()
    if anchor_extra:
        anchor = {**anchor, "z": np.zeros(1)}
    with pytest.raises(ValueError, match=name):
        F.l2sp_penalty(params, anchor, {}, alpha, beta)


# --------------------------------------------------------------------------------------
# Class imbalance
# --------------------------------------------------------------------------------------

def test_class_weights_are_balanced_not_inverted():
    """N / (C * n_c): the rare class weighs more (COURSE.md §5 item 20), mean weight per example 1."""
    from sklearn.utils.class_weight import compute_class_weight

    y = np.array([0] * 90 + [1] * 9 + [2] * 1)
    w = I.class_weights(y)
    np.testing.assert_allclose(w, [100 / (3 * 90), 100 / (3 * 9), 100 / (3 * 1)])
    np.testing.assert_allclose(w, compute_class_weight("balanced", classes=np.arange(3), y=y))
    assert w[2] > w[1] > w[0]
    assert I.sample_weights(y).mean() == pytest.approx(1.0)
    np.testing.assert_array_equal(I.class_counts(y), [90, 9, 1])


def test_class_weights_accept_a_dataset_and_integral_floats():
    from tlhelpers.data import Dataset

    ds = Dataset(x=np.zeros((4, 2, 2, 1), np.float32), y=np.array([0, 1, 1, 1]), class_names=["a", "b"],
                 name="toy", split="train", description="toy")
    np.testing.assert_allclose(I.class_weights(ds), [2.0, 2 / 3])
    np.testing.assert_allclose(I.class_weights(np.array([0.0, 1.0, 1.0, 1.0])), [2.0, 2 / 3])


@pytest.mark.parametrize("labels, num_classes, name", [
    (np.array([0, 1, 1]), 3, "class"),            # class 2 has no example: infinite weight
    (np.array([0, -1, 1]), None, "labels"),
    (np.array([[0, 1], [1, 0]]), None, "labels"),
    (np.array([]), None, "labels"),
    (np.array([0.5, 1.0]), None, "labels"),
    (np.array([0, 1, 5]), 3, "num_classes"),
    (np.array([0, 1]), 0, "num_classes"),
])
def test_class_weights_bad_input(labels, num_classes, name):
    with pytest.raises(ValueError, match=name):
        I.class_weights(labels, num_classes)


def test_balanced_indices_draw_every_class_equally_often():
    y = np.array([0] * 900 + [1] * 90 + [2] * 10)
    idx = I.balanced_indices(y, 30_000, seed=0)
    freq = np.bincount(y[idx], minlength=3) / len(idx)
    np.testing.assert_allclose(freq, 1 / 3, atol=0.01)
    np.testing.assert_array_equal(I.balanced_indices(y, 50, seed=1), I.balanced_indices(y, 50, seed=1))
    assert len(I.balanced_indices(y)) == len(y)


@pytest.mark.parametrize("labels, num, name", [
    (np.array([0, 1]), 0, "num_samples"),
    (np.array([0, 1]), 2.5, "num_samples"),
    (np.array([]), None, "labels"),
])
def test_balanced_indices_bad_input(labels, num, name):
    with pytest.raises(ValueError, match=name):
        I.balanced_indices(labels, num)


def test_step_imbalance_keeps_majority_and_thins_minority():
    y = np.repeat(np.arange(4), 50)
    idx = I.step_imbalance(y, 10, seed=0)
    np.testing.assert_array_equal(np.bincount(y[idx]), [50, 50, 5, 5])
    assert np.all(np.diff(idx) > 0)
    idx = I.step_imbalance(y, 25, minority=[0], seed=0)
    np.testing.assert_array_equal(np.bincount(y[idx]), [2, 50, 50, 50])


@pytest.mark.parametrize("ratio, minority, name", [
    (0.5, None, "ratio"),
    (math.inf, None, "ratio"),
    ("10", None, "ratio"),
    (10, [7], "minority"),
    (10, [], "minority"),
])
def test_step_imbalance_bad_input(ratio, minority, name):
    with pytest.raises(ValueError, match=name):
        I.step_imbalance(np.repeat(np.arange(4), 5), ratio, minority=minority)
