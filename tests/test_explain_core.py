"""Explanations, framework-neutral (tlhelpers.explain): Grad-CAM's arithmetic with its ReLU,
saliency's max over channels, bilinear upsampling, map statistics and the randomisation check's
bookkeeping, and clear errors for bad input. No framework imported."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest
from scipy.stats import spearmanr

import tlhelpers.explain as E


def test_gradcam_by_hand_keeps_only_positive_evidence():
    a = np.zeros((1, 2, 2, 2))
    a[0, :, :, 0] = [[1, 2], [3, 4]]
    a[0, :, :, 1] = [[4, 0], [0, 0]]
    g = np.zeros_like(a)
    g[0, :, :, 0] = [[1, 1], [1, 1]]        # alpha_0 = 1
    g[0, :, :, 1] = [[-4, 0], [0, 0]]       # alpha_1 = -1
    expected = np.maximum(np.array([[1 - 4, 2], [3, 4]]), 0)
    np.testing.assert_allclose(E.gradcam_from_gradients(a, g)[0], expected)
    # without the ReLU the top-left pixel would be -3: Grad-CAM must not be negative (item 22)
    assert E.gradcam_from_gradients(a, g).min() == 0.0
    # a class with only negative evidence gets an empty map
    assert np.all(E.gradcam_from_gradients(a, -np.abs(g) - 1) == 0)


def test_saliency_is_the_max_over_channels_of_the_absolute_gradient():
    g = np.random.default_rng(0).normal(size=(2, 3, 3, 3))
    np.testing.assert_allclose(E.saliency_from_gradients(g), np.abs(g).max(-1))
    assert E.saliency_from_gradients(-np.ones((1, 2, 2, 1))).min() == 1.0


def test_upsample_half_pixel_centres():
    m = np.array([[[0.0, 1.0]]])                       # (1, 1, 2)
    # 2 -> 4 columns, half-pixel centres: sources -0.25 (clamped), 0.25, 0.75, 1.25 (clamped)
    np.testing.assert_allclose(E.upsample(m, (1, 4))[0, 0], [0, 0.25, 0.75, 1])
    x = np.random.default_rng(1).random((3, 5, 7))
    np.testing.assert_allclose(E.upsample(x, (5, 7)), x)                 # same size: identity
    up = E.upsample(x, 20)
    assert up.shape == (3, 20, 20) and up.min() >= x.min() - 1e-12 and up.max() <= x.max() + 1e-12
    np.testing.assert_allclose(E.upsample(np.full((1, 3, 3), 2.0), 9), 2.0)


def test_normalize_maps():
    m = np.array([[[1.0, 3.0], [2.0, 5.0]], [[4.0, 4.0], [4.0, 4.0]]])
    out = E.normalize_maps(m)
    np.testing.assert_allclose(out[0], [[0, 0.5], [0.25, 1]])
    np.testing.assert_array_equal(out[1], 0)             # constant map -> 0, no division by zero


def test_rank_correlation_and_ssim():
    rng = np.random.default_rng(0)
    a = rng.random((3, 8, 8))
    b = a.copy()
    b[1] = rng.random((8, 8))
    b[2] = 0
    r = E.rank_correlation(a, b)
    assert r[0] == pytest.approx(1) and r[2] == 0
    assert r[1] == pytest.approx(spearmanr(a[1].ravel(), b[1].ravel()).statistic)
    s = E.structural_similarity(a, 2 * a + 1)            # maps are normalised first
    np.testing.assert_allclose(s, 1, atol=1e-9)
    assert E.structural_similarity(a[:1], rng.random((1, 8, 8)))[0] < 0.5
    sim = E.map_similarity(a, a)
    assert sim == pytest.approx({"spearman": 1.0, "ssim": 1.0})
    with pytest.raises(ValueError, match="too small for SSIM"):
        E.structural_similarity(np.ones((1, 2, 2)), np.ones((1, 2, 2)))


def test_randomization_check_bookkeeping():
    """A fake model whose map flips sign-ranking once 'head' is randomised."""
    rng = np.random.default_rng(0)
    base = rng.random((4, 8, 8))
    state = {"randomized": ()}

    def explain():
        return rng.random((4, 8, 8)) if "head" in state["randomized"] else base.copy()

    @contextmanager
    def randomized(names):
        state["randomized"] = tuple(names)
        try:
            yield
        finally:
            state["randomized"] = ()

    calls = []

    @contextmanager
    def recording(names):
        calls.append(list(names))
        with randomized(names):
            yield

    table = E.randomization_check(explain, recording, ["head", "conv2", "conv1"])
    assert list(table["randomized"]) == ["none", "head", "head + conv2", "head + conv2 + conv1"]
    assert calls == [["head"], ["head", "conv2"], ["head", "conv2", "conv1"]]
    assert table.loc[0, "spearman"] == pytest.approx(1.0) and (table["spearman"][1:] < 0.5).all()
    assert "cascading" in table.attrs["method"]
    calls.clear()
    table = E.randomization_check(explain, recording, ["head", "conv1"], cascade=False)
    assert calls == [["head"], ["conv1"]]
    assert table.loc[2, "spearman"] == pytest.approx(1.0)       # conv1 alone changes nothing in this fake
    with pytest.raises(ValueError, match="blocks must name"):
        E.randomization_check(explain, recording, [])
    with pytest.raises(ValueError, match="cascade must be True or False"):
        E.randomization_check(explain, recording, ["head"], cascade="yes")


def test_targets_and_logit_check():
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0]])
    np.testing.assert_array_equal(E.resolve_targets(None, logits), [1, 0])
    np.testing.assert_array_equal(E.resolve_targets(2, logits), [2, 2])
    np.testing.assert_array_equal(E.resolve_targets([0, 2], logits), [0, 2])
    for bad, match in ((3, "from 0 to 2"), ([0], "one per image"), (True, "class index"), (1.5, "class index")):
        with pytest.raises(ValueError, match=match):
            E.resolve_targets(bad, logits)
    E.check_logits(logits)
    with pytest.raises(ValueError, match="outputs probabilities"):
        E.check_logits(np.array([[0.2, 0.8], [0.5, 0.5]]))
    with pytest.raises(ValueError, match="one logit per class"):
        E.check_logits(np.array([[0.2], [0.5]]))


def test_bad_arrays_and_overlay():
    with pytest.raises(ValueError, match="activations .* and gradients .* must have the same shape"):
        E.gradcam_from_gradients(np.zeros((1, 2, 2, 3)), np.zeros((1, 2, 2, 4)))
    with pytest.raises(ValueError, match="gradients must have 4 dimensions"):
        E.saliency_from_gradients(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        E.normalize_maps(np.full((1, 2, 2), np.nan))
    with pytest.raises(ValueError, match="size must be positive"):
        E.upsample(np.zeros((1, 2, 2)), 0)
    img = np.random.default_rng(0).random((6, 6, 1))
    out = E.overlay(img, np.arange(36.0).reshape(6, 6))
    assert out.shape == (6, 6, 3) and 0 <= out.min() and out.max() <= 1
    with pytest.raises(ValueError, match="must match"):
        E.overlay(img, np.zeros((5, 5)))


def test_show_explanations_grid():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = np.random.default_rng(0).random((3, 8, 8, 1))
    fig = E.show_explanations(images, {"saliency": images[..., 0], "Grad-CAM": images[..., 0] ** 2},
                              labels=["a", "b", "c"], n=2)
    assert len(fig.axes) == 2 * 3
    assert [ax.get_title() for ax in fig.axes[:3]] == ["a", "saliency", "Grad-CAM"]
    plt.close(fig)
