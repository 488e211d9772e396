"""Parity of the two tracks' fine-tuning helpers: the same learning rate at every step, the
same blocks, multipliers and unfrozen parameters, and — on the same course_cnn weights
(torch copied into Keras, as in test_backbone_parity.py) — the same EWC Fisher and the same
EWC and L2-SP penalties."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = [pytest.mark.keras, pytest.mark.torch]

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

import tlhelpers.keras  # noqa: E402,F401
import tlhelpers.torch  # noqa: E402,F401
from test_backbone_parity import _torch_to_keras  # noqa: E402
from tlhelpers import finetune as core  # noqa: E402
from tlhelpers import schedules  # noqa: E402
from tlhelpers.keras import backbones as KB  # noqa: E402
from tlhelpers.keras import finetune as KF  # noqa: E402
from tlhelpers.torch import backbones as TB  # noqa: E402
from tlhelpers.torch import finetune as TF  # noqa: E402


def test_same_public_names():
    keras_only = {"LRSchedule", "ParamGroupOptimizer", "PenalizedModel"}  # Keras has no param groups / loss hook
    torch_only = {"Callback", "EarlyStopping", "ReduceLROnPlateau"}      # Keras ships these callbacks
    assert set(KF.__all__) - keras_only == set(TF.__all__) - torch_only


@pytest.mark.parametrize("name, options", [
    ("warmup_cosine", {"warmup_steps": 7, "final_fraction": 0.05}),
    ("one_cycle", {"pct_start": 0.25}),
    ("one_cycle", {"three_phase": True, "anneal": "linear"}),
    ("slanted_triangular", {"cut_frac": 0.2, "ratio": 16}),
])
def test_both_tracks_give_the_same_rate_at_every_step(name, options):
    total, peak = 45, 3e-3
    reference = schedules.schedule_values(name, total, peak_lr=peak, **options)
    keras_rates = [float(KF.lr_schedule(name, total, peak_lr=peak, **options)(s)) for s in range(total)]
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": peak * m} for m in (0.25, 1.0)]
    optimizer = torch.optim.SGD(groups, lr=peak)
    scheduler = TF.lr_schedule(optimizer, name, total, **options)
    torch_rates = []
    for _ in range(total):
        torch_rates.append([g["lr"] for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(keras_rates, reference, rtol=1e-6)  # float32 lookup table
    np.testing.assert_allclose(np.array(torch_rates), np.outer(reference, [0.25, 1.0]), rtol=1e-12)


def _models(seed=0):
    """A torch course_cnn classifier (non-trivial BatchNorm statistics) and a Keras copy of it."""
    torch.manual_seed(seed)
    t = TB.build_classifier(TB.course_cnn(pretrained=False), 4, freeze_backbone=False)
    with torch.no_grad():
        for m in t.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    k = KB.build_classifier(KB.course_cnn(pretrained=False), 4, freeze_backbone=False)
    _copy(t, k)
    return t, k


def _copy(t, k):
    _torch_to_keras(t.backbone, k.get_layer("course_cnn_inference").inner)
    k.get_layer("head").set_weights([t.head.weight.detach().numpy().T, t.head.bias.detach().numpy()])


def _keras_name(torch_name: str) -> str:
    """torch 'backbone.stage1.conv1.weight' -> Keras 'stage1_conv1/kernel' (and BN, head)."""
    module, param = torch_name.removeprefix("backbone.").rsplit(".", 1)
    layer = module.replace(".", "_")
    if layer == "head":
        return f"head/{'kernel' if param == 'weight' else 'bias'}"
    if "bn" in layer:
        return f"{layer}/{'gamma' if param == 'weight' else 'beta'}"
    return f"{layer}/kernel"


def _as_keras(name: str, value) -> np.ndarray:
    value = value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    if value.ndim == 4:
        return value.transpose(2, 3, 1, 0)
    if value.ndim == 2:
        return value.T
    return value


def test_same_blocks_multipliers_and_unfrozen_parameters():
    t, k = _models()
    assert TF.block_names(t) == KF.block_names(k)
    for top_k in range(5):
        TF.unfreeze(t, top_k)
        KF.unfreeze(k, top_k)
        tg, kg = TF.param_groups(t, 1e-3, decay=0.4), KF.param_groups(k, 1e-3, decay=0.4)
        assert [(g["name"], g["lr_scale"]) for g in tg] == [(g["name"], g["lr_scale"]) for g in kg]
        assert [sum(p.numel() for p in g["params"]) for g in tg] == \
               [sum(int(np.prod(v.shape)) for v in g["params"]) for g in kg]
        assert {_keras_name(n) for g in tg for n, p in t.named_parameters() if any(p is q for q in g["params"])} \
            == {v.path for g in kg for v in g["params"]}


def _relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b))


def test_same_fisher_and_ewc_penalty_on_the_same_weights():
    t, k = _models()
    rng = np.random.default_rng(0)
    x, y = rng.random((6, 32, 32, 3), dtype=np.float32), np.arange(6) % 4
    ewc_t = TF.EWC(t, (x, y), strength=3.0, batch_size=4)
    ewc_k = KF.EWC(k, (x, y), strength=3.0, batch_size=4)
    ft, fk = ewc_t.fisher, ewc_k.fisher
    assert {_keras_name(n) for n in ft} == set(fk)
    for n, f in ft.items():
        mine, theirs = _as_keras(n, f), np.asarray(fk[_keras_name(n)])
        assert _relative(float(mine.sum()), float(theirs.sum())) < 1e-5, n
        np.testing.assert_allclose(theirs, mine, rtol=1e-3, atol=1e-6 * float(mine.max()))
    t_moved, _ = _models(seed=1)  # another set of weights, the same in both tracks
    with torch.no_grad():
        for p, q in zip(t.parameters(), t_moved.parameters()):
            p.copy_(0.9 * p + 0.1 * q)
    _copy(t, k)
    pt, pk = float(ewc_t().detach()), float(ewc_k())
    assert pt > 0 and _relative(pt, pk) < 1e-5
    reference = core.ewc_penalty({n: p.detach().numpy().astype(np.float64) for n, p in t.named_parameters()},
                                 {n: f.numpy() for n, f in ewc_t.fisher.items()},
                                 {n: a.numpy() for n, a in ewc_t.anchor.items()}, 3.0)
    assert _relative(pt, reference) < 1e-5


def test_same_l2sp_penalty_on_the_same_weights():
    t, k = _models()
    lt, lk = TF.L2SP(t, alpha=0.2, beta=0.05), KF.L2SP(k, alpha=0.2, beta=0.05)
    other, _ = _models(seed=2)
    with torch.no_grad():
        for p, q in zip(t.parameters(), other.parameters()):
            p.copy_(0.95 * p + 0.05 * q)
    _copy(t, k)
    pt, pk = float(lt().detach()), float(lk())
    assert _relative(pt, pk) < 1e-5


def test_same_class_weights():
    y = np.array([0] * 12 + [1] * 3 + [2] * 1)
    assert TF.class_weights(y).tolist() == pytest.approx(list(KF.class_weights(y).values()))
