"""Saliency, Grad-CAM, feature maps and the randomisation check in both tracks
(tlhelpers.{keras,torch}.explain), held to analytic references and to each other:

* a linear model's saliency is ``max_c |W[:, k]|`` for every image;
* for conv -> ReLU -> global average pooling -> dense, Grad-CAM at the ReLU is exactly CAM,
  ``ReLU(A W[:, k]) / (h w)`` (Selvaraju et al. 2017, §3.1);
* the same weights in both tracks give the same maps;
* maps come from logits in inference mode (COURSE.md §5 item 22): a softmax output is refused,
  BatchNorm and dropout in train mode change nothing, the caller's modes come back, no gradient
  is left in the parameters; randomising the weights changes the maps and is undone exactly;
* a layer name that does not exist gets a clear error.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

pytestmark = [pytest.mark.keras, pytest.mark.torch]

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

import tlhelpers.explain as core  # noqa: E402
from tlhelpers.keras import backbones as KB  # noqa: E402
from tlhelpers.keras import explain as KE  # noqa: E402
from tlhelpers.torch import backbones as TB  # noqa: E402
from tlhelpers.torch import explain as TE  # noqa: E402

TRACKS = {"keras": KE, "torch": TE}
RNG = np.random.default_rng(0)
IMAGES = RNG.random((5, 8, 8, 2), dtype=np.float32)


def cam_models(classes=3, filters=4, seed=0, extra=False):
    """conv(3x3, same) -> ReLU [-> BatchNorm -> Dropout] -> GAP -> dense, same weights in both
    tracks. Layer names: 'conv', 'relu', 'head'."""
    rng = np.random.default_rng(seed)
    kernel = rng.normal(0, 0.5, (3, 3, 2, filters)).astype(np.float32)
    bias = rng.normal(0, 0.1, filters).astype(np.float32)
    w = rng.normal(0, 1, (filters, classes)).astype(np.float32)
    b = rng.normal(0, 0.1, classes).astype(np.float32)
    k_layers = [keras.Input((8, 8, 2)), keras.layers.Conv2D(filters, 3, padding="same", name="conv"),
                keras.layers.Activation("relu", name="relu")]
    t_layers = [("conv", torch.nn.Conv2d(2, filters, 3, padding=1)), ("relu", torch.nn.ReLU())]
    if extra:
        k_layers += [keras.layers.BatchNormalization(epsilon=1e-5, name="bn"), keras.layers.Dropout(0.5, name="drop")]
        t_layers += [("bn", torch.nn.BatchNorm2d(filters)), ("drop", torch.nn.Dropout(0.5))]
    k = keras.Sequential(k_layers + [keras.layers.GlobalAveragePooling2D(name="gap"),
                                     keras.layers.Dense(classes, name="head")])
    t = torch.nn.Sequential(OrderedDict(t_layers + [("gap", torch.nn.Sequential(
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())), ("head", torch.nn.Linear(filters, classes))]))
    k.get_layer("conv").set_weights([kernel, bias])
    k.get_layer("head").set_weights([w, b])
    with torch.no_grad():
        t.conv.weight.copy_(torch.tensor(kernel.transpose(3, 2, 0, 1)))
        t.conv.bias.copy_(torch.tensor(bias))
        t.head.weight.copy_(torch.tensor(w.T))
        t.head.bias.copy_(torch.tensor(b))
        if extra:
            mean, var = rng.normal(0, 0.3, filters), rng.uniform(0.5, 2, filters)
            gamma, beta = rng.uniform(0.5, 1.5, filters), rng.normal(0, 0.2, filters)
            t.bn.running_mean.copy_(torch.tensor(mean))
            t.bn.running_var.copy_(torch.tensor(var))
            t.bn.weight.copy_(torch.tensor(gamma))
            t.bn.bias.copy_(torch.tensor(beta))
            k.get_layer("bn").set_weights([gamma, beta, mean, var])
    t.input_shape = (2, 8, 8)
    return {"keras": k, "torch": t}, w


def linear_models(classes=3, seed=1):
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 1, (8 * 8 * 2, classes)).astype(np.float32)
    k = keras.Sequential([keras.Input((8, 8, 2)), keras.layers.Flatten(), keras.layers.Dense(classes)])
    k.layers[-1].set_weights([w, np.zeros(classes, np.float32)])
    # torch flattens NCHW; permute to NHWC first so that the same W applies
    t = torch.nn.Sequential(Permute(), torch.nn.Flatten(), torch.nn.Linear(8 * 8 * 2, classes, bias=False))
    with torch.no_grad():
        t[2].weight.copy_(torch.tensor(w.T))
    return {"keras": k, "torch": t}, w


class Permute(torch.nn.Module):
    def forward(self, x):
        return x.permute(0, 2, 3, 1)


@pytest.mark.parametrize("track", TRACKS)
def test_saliency_of_a_linear_model_is_its_weights(track):
    models, w = linear_models()
    maps = TRACKS[track].saliency(models[track], IMAGES, target=2)
    expected = np.abs(w[:, 2].reshape(8, 8, 2)).max(-1)
    np.testing.assert_allclose(maps, np.broadcast_to(expected, maps.shape), rtol=1e-5)
    grads, logits, targets = TRACKS[track].input_gradients(models[track], IMAGES, [0, 1, 2, 0, 1])
    np.testing.assert_allclose(grads[1], w[:, 1].reshape(8, 8, 2), rtol=1e-5)
    np.testing.assert_array_equal(targets, [0, 1, 2, 0, 1])
    np.testing.assert_allclose(logits, IMAGES.reshape(5, -1) @ w, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("track", TRACKS)
def test_gradcam_with_global_average_pooling_is_cam(track):
    models, w = cam_models()
    E, model = TRACKS[track], models[track]
    acts = E.feature_maps(model, IMAGES, "relu")
    assert acts.shape == (5, 8, 8, 4)
    logits = acts.mean(axis=(1, 2)) @ w
    predicted = logits.argmax(1)
    cam = np.maximum(np.einsum("nhwk,kn->nhw", acts, w[:, predicted]), 0) / 64
    np.testing.assert_allclose(E.gradcam(model, IMAGES, layer="relu"), cam, rtol=1e-4, atol=1e-6)
    # another class, given for every image; the default layer is the last feature map
    cam0 = np.maximum(acts @ w[:, 0], 0) / 64
    assert E.default_layer(model, IMAGES) == "relu"
    np.testing.assert_allclose(E.gradcam(model, IMAGES, 0), cam0, rtol=1e-4, atol=1e-6)
    # batch size does not matter
    np.testing.assert_allclose(E.gradcam(model, IMAGES, 0, batch_size=2), cam0, rtol=1e-4, atol=1e-6)


def test_same_weights_same_maps_in_both_tracks():
    models, _ = cam_models(extra=True, seed=3)
    for method in ("saliency", "gradcam"):
        kwargs = {"layer": "conv"} if method == "gradcam" else {}
        mk = getattr(KE, method)(models["keras"], IMAGES, **kwargs)
        mt = getattr(TE, method)(models["torch"], IMAGES, **kwargs)
        assert mk.shape == mt.shape == (5, 8, 8)
        np.testing.assert_allclose(mk, mt, rtol=1e-4, atol=1e-6 * np.abs(mt).max())
    np.testing.assert_allclose(KE.feature_maps(models["keras"], IMAGES, "bn"),
                               TE.feature_maps(models["torch"], IMAGES, "bn"), rtol=1e-4, atol=1e-5)


def test_upsampling_is_the_frameworks_bilinear_resize():
    import tensorflow as tf

    maps = RNG.random((2, 4, 5))
    ours = core.upsample(maps, (12, 13))
    theirs_t = torch.nn.functional.interpolate(torch.tensor(maps[:, None]), size=(12, 13), mode="bilinear",
                                               align_corners=False)[:, 0].numpy()
    theirs_k = tf.image.resize(maps[..., None], (12, 13), method="bilinear").numpy()[..., 0]
    np.testing.assert_allclose(ours, theirs_t, atol=1e-12)
    np.testing.assert_allclose(ours, theirs_k, atol=1e-6)


def test_torch_inference_mode_and_no_side_effects():
    models, _ = cam_models(extra=True)
    model = models["torch"]
    reference = TE.gradcam(model, IMAGES, layer="relu")
    model.train()
    model.drop.eval()          # a mixed state the caller chose: it must come back as it was
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for _ in range(2):          # dropout active or BatchNorm on batch statistics would change these
        np.testing.assert_allclose(TE.gradcam(model, IMAGES, layer="relu"), reference, rtol=1e-6)
        np.testing.assert_allclose(TE.gradcam(model, IMAGES[:1], layer="relu"), reference[:1], rtol=1e-5, atol=1e-8)
    TE.saliency(model, IMAGES)
    assert model.training and model.bn.training and not model.drop.training
    assert all(p.grad is None for p in model.parameters())
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_keras_inference_mode():
    models, _ = cam_models(extra=True)
    model = models["keras"]
    reference = KE.gradcam(model, IMAGES, layer="relu")
    for _ in range(2):
        np.testing.assert_allclose(KE.gradcam(model, IMAGES, layer="relu"), reference, rtol=1e-6)
        np.testing.assert_allclose(KE.gradcam(model, IMAGES[:1], layer="relu"), reference[:1], rtol=1e-5, atol=1e-8)
    # the layer's call is restored: the model is the same function as before
    assert "call" not in vars(model.get_layer("relu"))


@pytest.mark.parametrize("track", TRACKS)
def test_probabilities_and_unknown_layers_are_refused(track):
    models, _ = cam_models()
    E = TRACKS[track]
    if track == "keras":
        probs = keras.Sequential([models["keras"], keras.layers.Softmax()])
    else:
        probs = torch.nn.Sequential(models["torch"], torch.nn.Softmax(dim=1))
        probs.input_shape = (2, 8, 8)
    with pytest.raises(ValueError, match="outputs probabilities"):
        E.saliency(probs, IMAGES)
    with pytest.raises(ValueError, match="outputs probabilities"):
        E.gradcam(probs, IMAGES)
    with pytest.raises(ValueError, match=r"layer must name .*'stage9'"):
        E.gradcam(models[track], IMAGES, layer="stage9")
    with pytest.raises(ValueError, match=r"layer must name .*'stage9'"):
        E.feature_maps(models[track], IMAGES, "stage9")
    with pytest.raises(ValueError, match="target must hold class indices from 0 to 2"):
        E.gradcam(models[track], IMAGES, target=3)
    with pytest.raises(ValueError, match="one per image"):
        E.saliency(models[track], IMAGES, target=[0, 1])
    with pytest.raises(TypeError, match="model must be"):
        E.saliency("model", IMAGES)
    with pytest.raises(ValueError, match="images"):
        E.saliency(models[track], IMAGES[0, 0])


@pytest.mark.parametrize("track", TRACKS)
def test_randomisation_changes_the_maps_and_is_undone(track):
    models, _ = cam_models(extra=True)
    E, model = TRACKS[track], models[track]
    blocks = E.randomization_blocks(model)
    assert blocks == ("head", "bn", "conv")          # one block per layer with weights, output first
    weights = [np.array(w) for w in (model.get_weights() if track == "keras" else
                                     [v.numpy().copy() for v in model.state_dict().values()])]
    original = E.gradcam(model, IMAGES, 0, layer="relu")
    with E.randomized(model, ["head"]):
        changed = E.gradcam(model, IMAGES, 0, layer="relu")
    assert not np.allclose(changed, original)
    after = model.get_weights() if track == "keras" else [v.numpy() for v in model.state_dict().values()]
    for a, b in zip(weights, after):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(E.gradcam(model, IMAGES, 0, layer="relu"), original)
    with pytest.raises(ValueError, match="blocks must be a non-empty list of block names"):
        with E.randomized(model, ["stage9"]):
            pass


@pytest.mark.parametrize("track", TRACKS)
def test_randomisation_check_on_the_course_classifier(track):
    """The course CNN (pretrained) with a 2-class head: its blocks, its default layer, and maps
    that stop resembling the original once the head is re-initialised."""
    B, E = (KB, KE) if track == "keras" else (TB, TE)
    if track == "torch":
        torch.manual_seed(0)
    else:
        keras.utils.set_random_seed(0)
    model = B.build_classifier(B.course_cnn(pretrained=True), 2)
    x = RNG.random((4, 32, 32, 3), dtype=np.float32)
    assert E.default_layer(model, x) == ("stage3_out" if track == "keras" else "backbone.stage3")
    table = E.randomization_check(model, x, method="gradcam", cascade=False)
    assert list(table["randomized"]) == ["none", "head", "stage3", "stage2", "stage1", "stem"]
    assert table.loc[0, "spearman"] == pytest.approx(1.0)
    assert table.loc[1, "spearman"] < 0.9 and table.loc[1, "ssim"] < 0.9
