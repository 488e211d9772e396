"""The tracks' transfer modules: copying k blocks, the BatchNorm choice in fine-tuning, block
outputs. The same behaviour and the same parameter counts in both tracks."""

import importlib

import numpy as np
import pytest

from tlhelpers.data import load_dataset

TRACKS = [pytest.param("keras", marks=pytest.mark.keras), pytest.param("torch", marks=pytest.mark.torch)]


def _tl(track):
    return importlib.import_module(f"tlhelpers.{track}")


def _bn_statistics(track, model):
    if track == "keras":
        return {w.path: w.numpy().copy() for w in model.weights if "moving" in w.path}
    return {k: v.detach().clone().numpy() for k, v in model.state_dict().items() if "running" in k}


@pytest.fixture(scope="module")
def labelled():
    return load_dataset("digits", "train").per_class(3, seed=0), load_dataset("digits", "test", n=50, seed=0)


@pytest.mark.parametrize("track", TRACKS)
def test_copied_blocks_frozen_or_fine_tuned(track):
    tl = _tl(track)
    counts = {}
    for k in range(5):
        frozen = tl.count_parameters(tl.transfer.transfer_blocks(k, fine_tune=False, seed=0))
        tuned = tl.count_parameters(tl.transfer.transfer_blocks(k, fine_tune=True, bn="adapt", seed=0))
        counts[k] = (frozen.trainable, tuned.trainable)
        assert tuned.trainable == 308_448, f"k={k}: fine-tuning with BN adapting trains everything"
    assert counts[0] == (308_448, 308_448)
    assert counts[4][0] == 0
    assert [c[0] for c in counts.values()] == sorted((c[0] for c in counts.values()), reverse=True)
    bn_frozen = tl.count_parameters(tl.transfer.transfer_blocks(4, fine_tune=True, bn="frozen", seed=0))
    assert bn_frozen.trainable == 308_448 - 2 * (4 * 32 + 3 * 64 + 3 * 128)  # BatchNorm scale and shift
    with pytest.raises(ValueError, match="bn must"):
        tl.transfer.transfer_blocks(2, fine_tune=True, bn="sometimes")


def test_parameter_counts_agree_between_tracks():
    for k in range(5):
        for fine_tune, bn in ((False, "frozen"), (True, "frozen"), (True, "adapt")):
            counts = [_tl(t).count_parameters(_tl(t).transfer.transfer_blocks(k, fine_tune=fine_tune, bn=bn, seed=0))
                      for t in ("keras", "torch")]
            assert counts[0] == counts[1], (k, fine_tune, bn, counts)


@pytest.mark.parametrize("track", TRACKS)
def test_batchnorm_choice_when_fine_tuning(track, labelled):
    tl = _tl(track)
    train, test = labelled
    moved = {}
    for bn in ("frozen", "adapt"):
        source = tl.backbones.course_cnn(pretrained=True)
        before = _bn_statistics(track, source)
        captured = {}

        def spy(k, *, fine_tune, bn, source=None, seed=None, _real=tl.transfer.transfer_blocks):
            captured["net"] = _real(k, fine_tune=fine_tune, bn=bn, source=source, seed=seed)
            return captured["net"]

        tl.transfer.transfer_blocks, real = spy, tl.transfer.transfer_blocks
        try:
            run = tl.transfer.train_on_target(train, test, k=4, fine_tune=True, bn=bn, epochs=2, seed=0, source=source)
        finally:
            tl.transfer.transfer_blocks = real
        after = _bn_statistics(track, captured["net"])
        assert set(before) == set(after)
        moved[bn] = any(not np.allclose(before[key], after[key]) for key in before)
        assert 0 <= run.accuracy <= 1 and len(run.history["loss"]) == 2
    assert moved == {"frozen": False, "adapt": True}


@pytest.mark.parametrize("track", TRACKS)
def test_block_outputs_shapes_and_mode(track):
    tl = _tl(track)
    net = tl.backbones.course_cnn(pretrained=True)
    x = load_dataset("digits", "test", n=300, seed=0).x
    before = _bn_statistics(track, net)
    maps = tl.transfer.block_outputs(net, x)
    assert {b: m.shape for b, m in maps.items()} == {"stem": (300, 32, 32, 32), "stage1": (300, 16, 16, 32),
                                                     "stage2": (300, 8, 8, 64), "stage3": (300, 4, 4, 128)}
    features = tl.backbones.extract_features(net, x, progress=False)
    assert np.allclose(maps["stage3"].mean(axis=(1, 2)), features, atol=1e-4)
    after = _bn_statistics(track, net)
    assert all(np.array_equal(before[k], after[k]) for k in before)
