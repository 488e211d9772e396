"""Parity of the two tracks' backbones: same architecture (parameter for parameter, and
the same function once the weights are the same), same API, and course-pretrained
weights that transfer equally well."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = [pytest.mark.keras, pytest.mark.torch]

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

import _transfer  # noqa: E402
import tlhelpers.keras as tk  # noqa: E402
import tlhelpers.torch as tt  # noqa: E402
from tlhelpers.keras import backbones as KB  # noqa: E402
from tlhelpers.keras import training as KT  # noqa: E402
from tlhelpers.torch import backbones as TB  # noqa: E402
from tlhelpers.torch import training as TT  # noqa: E402


def _keras_counts(model) -> dict[str, int]:
    counts = {"conv": 0, "bn_affine": 0, "bn_state": 0, "dense": 0}
    for layer in tk.walk_layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            counts["conv"] += sum(int(np.prod(w.shape)) for w in layer.weights)
        elif isinstance(layer, keras.layers.BatchNormalization):
            counts["bn_affine"] += int(np.prod(layer.gamma.shape) + np.prod(layer.beta.shape))
            counts["bn_state"] += int(np.prod(layer.moving_mean.shape) + np.prod(layer.moving_variance.shape))
        elif isinstance(layer, keras.layers.Dense):
            counts["dense"] += sum(int(np.prod(w.shape)) for w in layer.weights)
    return counts


def _torch_counts(model) -> dict[str, int]:
    counts = {"conv": 0, "bn_affine": 0, "bn_state": 0, "dense": 0}
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            counts["conv"] += sum(p.numel() for p in m.parameters())
        elif isinstance(m, torch.nn.BatchNorm2d):
            counts["bn_affine"] += m.weight.numel() + m.bias.numel()
            counts["bn_state"] += m.running_mean.numel() + m.running_var.numel()
        elif isinstance(m, torch.nn.Linear):
            counts["dense"] += sum(p.numel() for p in m.parameters())
    return counts


def test_same_public_names():
    public = {n for n in dir(KB) if not n.startswith("_") and n in KB.__all__}
    shared = {"BACKBONES", "build_classifier", "course_cnn", "extract_features", "feature_dim",
              "get_backbone", "imagenet_backbone", "save_backbone_weights"}
    assert shared <= public and shared <= set(TB.__all__)
    assert set(KT.__all__) == set(TT.__all__) == {"fit", "evaluate", "predict"}


def test_architecture_parity_per_layer_type():
    k = KB.build_classifier(KB.course_cnn(pretrained=False), 10)
    t = TB.build_classifier(TB.course_cnn(pretrained=False), 10)
    assert _keras_counts(k) == _torch_counts(t) == {
        "conv": 307_040, "bn_affine": 1_408, "bn_state": 1_408, "dense": 1_290}
    ck, ct = tk.count_parameters(k), tt.count_parameters(t)
    assert (ck.trainable, ck.frozen, ck.state) == (ct.trainable, ct.frozen, ct.state) == (1_290, 308_448, 1_408)
    assert KB.feature_dim(KB.course_cnn(pretrained=False)) == TB.feature_dim(TB.course_cnn(pretrained=False))


def _torch_to_keras(torch_backbone, keras_backbone) -> None:
    """Copy weights layer by layer: torch 'stage1.conv1' <-> Keras 'stage1_conv1'."""
    state = {k: v.detach().numpy() for k, v in torch_backbone.state_dict().items()}
    copied = 0
    for layer in keras_backbone.layers:
        key = layer.name.replace("_", ".", 1) if layer.name.startswith("stage") else layer.name
        if isinstance(layer, keras.layers.Conv2D):
            layer.set_weights([state[f"{key}.weight"].transpose(2, 3, 1, 0)])
            copied += 1
        elif isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights([state[f"{key}.{n}"] for n in ("weight", "bias", "running_mean", "running_var")])
            copied += 1
    assert copied == sum(1 for k in state if k.endswith("running_var")) * 2  # every conv + BN


def test_same_weights_give_the_same_function():
    """Strongest architecture check: with the torch weights (BatchNorm statistics made
    non-trivial) copied into the Keras model, both compute the same features — padding,
    strides, shortcut placement, BN epsilon and the input scaling all agree."""
    torch.manual_seed(0)
    t = TB.course_cnn(pretrained=False)
    with torch.no_grad():
        for m in t.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    k = KB.course_cnn(pretrained=False)
    _torch_to_keras(t, k)
    x = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    fk = KB.extract_features(k, x, progress=False)
    ft = TB.extract_features(t, x, progress=False)
    np.testing.assert_allclose(fk, ft, atol=1e-4, rtol=1e-4)


def test_shipped_records_describe_the_same_recipe():
    from tlhelpers import zoo

    rk, rt = zoo.course_weights_info("keras"), zoo.course_weights_info("torch")
    for key in ("data", "seed", "epochs", "batch_size", "optimizer", "recipe", "augmentation",
                "augmentation_kwargs", "selection", "target_knowledge", "architecture"):
        assert rk[key] == rt[key], key
    assert abs(rk["syndigits_test_accuracy"] - rt["syndigits_test_accuracy"]) < 0.02


def test_pretrained_backbones_transfer_equally_well():
    """10 labelled Digits per class, frozen course-pretrained backbone + logistic regression:
    the two tracks' backbones land within 3 accuracy points (mean over 3 label draws)."""
    k = np.mean(_transfer.pretrained_probe("keras")["digits"])
    t = np.mean(_transfer.pretrained_probe("torch")["digits"])
    print(f"10/class linear probe on Digits test: keras {k:.3f}, torch {t:.3f}")
    assert abs(k - t) <= 0.03, (k, t)
