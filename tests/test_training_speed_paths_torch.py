"""PyTorch track: fit/predict/extract_features paths made for GPUs keep their CPU numbers.

On a CUDA GPU, fit keeps its running sums on the device (no synchronisation per step),
copies batches through pinned memory without blocking, and runs under autocast when
``tlhelpers.torch.mixed_precision()`` turned it on. These tests check the CPU results
against a plain PyTorch loop and exercise the autocast path on the CPU (bfloat16).
Speed is measured in ``benchmarks/``, never here.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.torch

torch = pytest.importorskip("torch")
from tlhelpers.torch import backbones as B  # noqa: E402
from tlhelpers.torch import device as D  # noqa: E402
from tlhelpers.torch import training as T  # noqa: E402


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, bias=False), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3))


def _data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 8, 8, 3), dtype=np.float32), rng.integers(0, 3, n)


def test_fit_matches_a_plain_loop_on_one_batch():
    x, y = _data()
    ours, theirs = _model(), _model()
    history = T.fit(ours, (x, y), epochs=4, batch_size=16, lr=1e-2, seed=0, progress=False)
    optimizer = torch.optim.Adam(theirs.parameters(), lr=1e-2, eps=1e-7)
    xt, yt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y)
    losses, accuracies = [], []
    theirs.train()
    for _ in range(4):
        logits = theirs(xt)
        loss = torch.nn.functional.cross_entropy(logits, yt)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        accuracies.append(float((logits.argmax(1) == yt).float().mean()))
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-5)
    np.testing.assert_allclose(history["accuracy"], accuracies)
    for a, b in zip(ours.state_dict().values(), theirs.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)


def test_mixed_precision_is_off_on_the_cpu_unless_turned_on():
    with pytest.warns(UserWarning, match="mixed precision"):
        settings = D.mixed_precision(True, device="cpu")
    assert not settings.enabled and D.current_mixed_precision(torch.device("cpu")) is None


def test_fit_and_features_run_under_the_active_autocast(monkeypatch):
    """The path a GPU takes after mixed_precision(), exercised with CPU bfloat16 autocast."""
    cpu_bf16 = D.MixedPrecision(torch.device("cpu"), torch.bfloat16, torch.amp.GradScaler("cpu", enabled=False))
    monkeypatch.setattr(D, "_ACTIVE", cpu_bf16)
    x, y = _data(n=24)
    model = _model()
    head = model[-1].weight.detach().clone()
    history = T.fit(model, (x, y), epochs=2, batch_size=8, seed=0, progress=False)
    assert np.all(np.isfinite(history["loss"]))
    assert not torch.equal(model[-1].weight, head)
    logits = T.predict(model, x)
    assert logits.dtype == np.float32 and logits.shape == (24, 3)
    backbone = B.course_cnn(pretrained=False)
    features = B.extract_features(backbone, np.zeros((5, 32, 32, 3), np.float32), batch_size=2, progress=False)
    assert features.dtype == np.float32 and features.shape == (5, 128)
