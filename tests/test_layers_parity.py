"""AdaptiveLayer and InferenceMode: behaviour in each track and the same numbers in both."""

import subprocess
import sys

import numpy as np
import pytest

pytestmark = [pytest.mark.keras, pytest.mark.torch]

KERAS = """
import numpy as np, tlhelpers.keras as tlk, keras
from tlhelpers.keras.layers import AdaptiveLayer
w = np.load("{w}"); x = np.load("{x}")
layer = AdaptiveLayer(4, activation="relu"); layer.build((None, 6))
kernel0 = layer.kernel.numpy()
print(float(np.abs(layer.bias.numpy()).max()), float(np.abs(kernel0).max()), len(layer.trainable_weights))
layer.kernel.assign(w); np.save("{out}", np.asarray(layer(x)))
clone = AdaptiveLayer.from_config(layer.get_config()); assert clone.units == 4
"""
TORCH = """
import numpy as np, torch, tlhelpers.torch
from tlhelpers.torch.layers import AdaptiveLayer
w = np.load("{w}"); x = np.load("{x}")
torch.manual_seed(0)
layer = AdaptiveLayer(6, 4, activation="relu")
print(float(layer.bias.abs().max()), float(layer.kernel.abs().max()), sum(p.requires_grad for p in layer.parameters()))
with torch.no_grad():
    layer.kernel.copy_(torch.tensor(w))
    np.save("{out}", layer(torch.tensor(x)).numpy())
"""


def run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def test_adaptive_layer_same_init_rule_and_same_outputs(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "w.npy", rng.normal(size=(6, 4)).astype("float32"))
    np.save(tmp_path / "x.npy", rng.normal(size=(5, 6)).astype("float32"))
    paths = {"w": tmp_path / "w.npy", "x": tmp_path / "x.npy"}
    limit = np.sqrt(6 / (6 + 4))  # Glorot-uniform bound
    for code, out in ((KERAS, "k.npy"), (TORCH, "t.npy")):
        bias_max, kernel_max, n_trainable = map(float, run(code.format(**paths, out=tmp_path / out)))
        assert bias_max == 0.0 and 0 < kernel_max <= limit and n_trainable == 2
    np.testing.assert_allclose(np.load(tmp_path / "k.npy"), np.load(tmp_path / "t.npy"), rtol=1e-5, atol=1e-6)


def test_adaptive_layer_rejects_bad_arguments():
    import tlhelpers.torch.layers as tl

    with pytest.raises(ValueError, match="units"):
        tl.AdaptiveLayer(3, 0)
    with pytest.raises(ValueError, match="activation"):
        tl.AdaptiveLayer(3, 2, activation="swish!")
    import torch

    with pytest.raises(ValueError, match="features"):
        tl.AdaptiveLayer(3, 2)(torch.zeros(1, 5))


def test_torch_inference_mode_survives_train():
    import torch
    from torch import nn

    from tlhelpers.torch.layers import InferenceMode

    bn = nn.BatchNorm1d(3)
    model = nn.Sequential(InferenceMode(bn), nn.Linear(3, 2)).train()
    model(torch.randn(16, 3) * 5 + 2)
    assert not bn.training and torch.equal(bn.running_mean, torch.zeros(3))
