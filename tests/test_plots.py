"""Shared plots draw what they are given, labelled, and refuse wrong shapes."""

import numpy as np
import pytest

from tlhelpers import plots


def test_show_images_labels_each_image():
    rng = np.random.default_rng(0)
    fig = plots.show_images(rng.random((5, 8, 8, 3)), labels=[0, 1, 2, 1, 0], class_names=["a", "b", "c"],
                            title="five")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["a", "b", "c", "b", "a"] and fig._suptitle.get_text() == "five"
    with pytest.raises(ValueError, match="N, H, W, C"):
        plots.show_images(np.zeros((8, 8)))


def test_show_filters_and_feature_maps():
    fig = plots.show_filters(np.random.default_rng(1).normal(size=(3, 3, 3, 10)))
    assert "10 of 10" in fig._suptitle.get_text()
    assert sum(1 for ax in fig.axes if ax.images) == 10
    fig = plots.show_feature_maps(np.random.default_rng(2).random((6, 6, 40)), max_maps=12)
    assert sum(1 for ax in fig.axes if ax.images) == 12 and "12 of 40" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="kh, kw"):
        plots.show_filters(np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="H, W, channels"):
        plots.show_feature_maps(np.zeros((3, 3)))
