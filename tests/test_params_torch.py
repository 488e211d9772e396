"""PyTorch track: counting, freezing and unfreezing; seeding and devices."""

import pytest

import tlhelpers

pytestmark = pytest.mark.torch

tlt = pytest.importorskip("tlhelpers.torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402


def nested():
    inner = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return inner, nn.Sequential(inner, nn.Linear(4, 3))


def test_count_parameters_keeps_statistics_apart():
    inner, outer = nested()
    assert tlt.count_parameters(outer) == tlt.ParamCounts(trainable=63, frozen=0, state=8)
    tlt.freeze(inner)
    assert tlt.count_parameters(outer) == tlt.ParamCounts(trainable=15, frozen=48, state=8)


def test_freeze_survives_train_and_keeps_statistics():
    inner, outer = nested()
    tlt.freeze(inner)
    outer.train()
    assert outer.training and not inner.training and not inner[1].training
    before = {k: v.clone() for k, v in inner.state_dict().items()}
    opt = torch.optim.SGD([p for p in outer.parameters() if p.requires_grad], lr=0.5)
    x = torch.rand(32, 1, 8, 8) * 3 + 1
    loss = nn.functional.cross_entropy(outer(x), torch.randint(0, 3, (32,)))
    loss.backward()
    opt.step()
    assert all(torch.equal(v, before[k]) for k, v in inner.state_dict().items())


def test_unfreeze_keeps_batchnorm_frozen_and_respects_from_layer():
    inner, outer = nested()
    tlt.freeze(outer)
    tlt.unfreeze(inner)
    outer.train()
    assert inner[0].weight.requires_grad and not inner[1].weight.requires_grad and not inner[1].training
    tlt.unfreeze(inner, bn_trainable=True)
    outer.train()
    assert inner[1].weight.requires_grad and inner[1].training
    tlt.freeze(outer)
    tlt.unfreeze(outer, from_layer=1)
    assert not any(p.requires_grad for p in inner.parameters()) and outer[1].weight.requires_grad
    with pytest.raises(ValueError, match="from_layer"):
        tlt.unfreeze(outer, from_layer="nope")
    with pytest.raises(ValueError, match="from_layer"):
        tlt.unfreeze(outer, from_layer=9)


def test_bad_model_argument():
    with pytest.raises(TypeError, match="nn.Module"):
        tlt.count_parameters("not a model")


def test_seed_everything_makes_training_repeatable():
    def run():
        tlt.seed_everything(3)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        opt = torch.optim.Adam(model.parameters())
        x = torch.rand(64, 4)
        for _ in range(5):
            loss = nn.functional.cross_entropy(model(x), (x[:, 0] > 0.5).long())
            opt.zero_grad(); loss.backward(); opt.step()
        return [p.detach().clone() for p in model.parameters()]

    assert all(torch.equal(a, b) for a, b in zip(run(), run()))


def test_devices_and_mixed_precision_on_cpu():
    device = tlt.get_device()
    assert device.type in ("cuda", "mps", "cpu")
    if device.type == "cpu":
        with pytest.warns(UserWarning, match="CUDA"):
            mp = tlt.mixed_precision(True)
        assert not mp.enabled
        with mp.autocast():
            assert torch.ones(2).dtype == torch.float32
    assert "PyTorch devices" in tlhelpers.torch.env_report().as_dict()
