"""PyTorch track: course_cnn, the ImageNet zoo, build_classifier, extract_features, fit/evaluate."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytestmark = pytest.mark.torch

torch = pytest.importorskip("torch")
import tlhelpers.torch as tt  # noqa: E402
from tlhelpers import zoo  # noqa: E402
from tlhelpers.torch import backbones as B  # noqa: E402
from tlhelpers.torch import training as T  # noqa: E402


@pytest.fixture(scope="module")
def images():
    """Course-form images: NHWC NumPy in [0, 1]."""
    return np.random.default_rng(0).random((6, 32, 32, 3), dtype=np.float32)


# ----------------------------------------------------------------------------- course_cnn

def test_course_cnn_architecture():
    backbone = B.course_cnn(pretrained=False)
    assert backbone.out_features == B.feature_dim(backbone) == zoo.COURSE_CNN["features"] == 128
    assert backbone(torch.zeros(2, 3, 32, 32)).shape == (2, 128)
    counts = tt.count_parameters(backbone)
    assert (counts.trainable, counts.frozen, counts.state) == (308_448, 0, 1_408)
    assert not backbone.training  # returned in eval mode


def test_course_cnn_normalises_inside():
    """Inputs are [0, 1]; scaling to [-1, 1] happens in forward: a 0.5-grey image reaches
    the stem convolution as zeros."""
    backbone = B.course_cnn(pretrained=False)
    seen = {}
    backbone.stem_conv.register_forward_hook(lambda m, inp, out: seen.update(x=inp[0]))
    backbone(torch.full((1, 3, 32, 32), 0.5))
    assert torch.allclose(seen["x"], torch.zeros_like(seen["x"]))


def test_course_cnn_rejects_wrong_shapes():
    backbone = B.course_cnn(pretrained=False)
    with pytest.raises(ValueError, match="shape"):
        backbone(torch.zeros(2, 32, 32, 3))  # channels last
    with pytest.raises(ValueError, match="shape"):
        backbone(torch.zeros(2, 3, 28, 28))


def test_shipped_weights_load_and_are_small(images):
    path = zoo.course_weights_path("torch")
    assert path.is_file() and path.stat().st_size < 2 * 1024 * 1024
    info = zoo.course_weights_info("torch")
    for key in ("data", "seed", "epochs", "optimizer", "syndigits_test_accuracy",
                "digits_test_accuracy", "wall_seconds", "versions"):
        assert key in info
    assert info["data"]["train"]["name"] == "syndigits"
    assert info["syndigits_test_accuracy"] > 0.9
    pre = B.course_cnn(pretrained=True)
    f_pre = B.extract_features(pre, images, progress=False)
    assert not np.allclose(f_pre, B.extract_features(B.course_cnn(pretrained=False), images, progress=False))
    np.testing.assert_allclose(f_pre, B.extract_features(B.course_cnn(), images, progress=False), atol=1e-6)


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(zoo.WeightsUnavailableError, match=r"tlhelpers\.torch\.pretrain"):
        B.course_cnn(weights=tmp_path / "nope.pt")


def test_save_and_reload_roundtrip(tmp_path, images):
    backbone = B.course_cnn(pretrained=False)
    path = B.save_backbone_weights(backbone, tmp_path / "b.pt")
    again = B.course_cnn(weights=path)
    np.testing.assert_allclose(B.extract_features(backbone, images, progress=False),
                               B.extract_features(again, images, progress=False), atol=1e-6)
    with pytest.raises(ValueError, match=r"\.pt"):
        B.save_backbone_weights(backbone, tmp_path / "b.pth")


# ----------------------------------------------------------------------- extract_features

def test_extract_features_layouts_agree(images):
    """NumPy arrays and Datasets are the course's NHWC; a tensor is NCHW. Same features."""
    from tlhelpers.data import Dataset

    backbone = B.course_cnn(pretrained=False)
    feats = B.extract_features(backbone, images, batch_size=4, progress=False)
    assert feats.shape == (6, 128) and feats.dtype == np.float32
    nchw = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
    with torch.no_grad():
        direct = backbone(nchw).numpy()
    np.testing.assert_allclose(feats, direct, atol=1e-5)
    np.testing.assert_allclose(B.extract_features(backbone, nchw, progress=False), feats, atol=1e-6)
    ds = Dataset(images, np.arange(6) % 2, ["a", "b"], "toy", "train", "toy")
    np.testing.assert_allclose(B.extract_features(backbone, ds, progress=False), feats, atol=1e-6)


def test_extract_features_is_inference_only(images):
    backbone = B.course_cnn(pretrained=True)
    backbone.train()
    stats = {k: v.clone() for k, v in backbone.state_dict().items()}
    feats = B.extract_features(backbone, images * 3.0, progress=False)
    assert backbone.training  # mode restored
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, stats[k]), k
    backbone.eval()
    np.testing.assert_allclose(B.extract_features(backbone, images * 3.0, progress=False), feats, atol=1e-6)


@pytest.mark.parametrize("shape", [(2, 28, 28, 3), (2, 3, 32, 32), (2, 32, 32, 1), (32, 32)])
def test_extract_features_rejects_wrong_shapes(shape):
    backbone = B.course_cnn(pretrained=False)
    with pytest.raises(ValueError, match="shape"):
        B.extract_features(backbone, np.zeros(shape, np.float32), progress=False)


def test_channels_first_numpy_gets_a_helpful_message():
    with pytest.raises(ValueError, match="channels-first"):
        B.extract_features(B.course_cnn(pretrained=False), np.zeros((2, 3, 32, 32), np.float32),
                           progress=False)


def test_extract_features_rejects_bad_batch_size(images):
    with pytest.raises(ValueError, match="batch_size"):
        B.extract_features(B.course_cnn(pretrained=False), images, batch_size=0, progress=False)


# ----------------------------------------------------------------------- build_classifier

def test_build_classifier_frozen_trains_only_the_head():
    model = B.build_classifier(B.course_cnn(pretrained=False), 10)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    counts = tt.count_parameters(model)
    assert counts.trainable == 128 * 10 + 10
    assert counts.frozen == 308_448 and counts.state == 1_408


def test_build_classifier_dropout_adds_no_parameters():
    plain = tt.count_parameters(B.build_classifier(B.course_cnn(pretrained=False), 4))
    dropped = tt.count_parameters(B.build_classifier(B.course_cnn(pretrained=False), 4, dropout=0.3))
    assert plain == dropped


@pytest.mark.parametrize("num_classes", [1, 0, -3, 2.5, True, "10"])
def test_build_classifier_rejects_bad_num_classes(num_classes):
    with pytest.raises(ValueError, match="num_classes"):
        B.build_classifier(B.course_cnn(pretrained=False), num_classes)


def test_build_classifier_rejects_bad_dropout_and_backbones():
    with pytest.raises(ValueError, match="dropout"):
        B.build_classifier(B.course_cnn(pretrained=False), 10, dropout=1.0)
    with pytest.raises(ValueError, match="out_features"):
        B.build_classifier(torch.nn.Conv2d(3, 8, 3), 10)


def _toy(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 32, 32, 3), dtype=np.float32), rng.integers(0, 3, n)


def test_frozen_backbone_stays_in_eval_mode_and_unchanged():
    """COURSE.md §5 item 16: model.train() must not wake a frozen backbone's BatchNorm."""
    backbone = B.course_cnn(pretrained=True)
    model = B.build_classifier(backbone, 3)
    model.train()
    assert model.training and model.head.training
    assert not any(m.training for m in backbone.modules())
    state = {k: v.clone() for k, v in backbone.state_dict().items()}
    head0 = model.head.weight.detach().clone()
    T.fit(model, _toy(), epochs=2, batch_size=8, seed=0, progress=False)
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert not torch.allclose(model.head.weight, head0)


def test_fine_tuning_keeps_batchnorm_statistics():
    """bn_inference=True (default): fine-tuning trains convolutions, BatchNorm keeps its
    statistics (the twin of Keras's training=False)."""
    backbone = B.course_cnn(pretrained=True)
    model = B.build_classifier(backbone, 3, freeze_backbone=False)
    mean0 = backbone.stage2.bn1.running_mean.clone()
    conv0 = backbone.stage2.conv1.weight.detach().clone()
    T.fit(model, _toy(), epochs=1, batch_size=8, seed=0, progress=False)
    assert torch.equal(backbone.stage2.bn1.running_mean, mean0)
    assert not torch.allclose(backbone.stage2.conv1.weight, conv0)
    tt.unfreeze(backbone, bn_trainable=True)  # lifts the sticky eval mode
    backbone.train()
    assert backbone.stage2.bn1.training


def test_training_from_scratch_updates_batchnorm():
    backbone = B.course_cnn(pretrained=False)
    model = B.build_classifier(backbone, 3, freeze_backbone=False, bn_inference=False)
    mean0 = backbone.stem_bn.running_mean.clone()
    T.fit(model, _toy(), epochs=1, batch_size=8, seed=0, progress=False)
    assert not torch.allclose(backbone.stem_bn.running_mean, mean0)


# ----------------------------------------------------------------------- fit / evaluate

def test_fit_and_evaluate_learn_a_separable_task():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 40)
    x = rng.random((80, 32, 32, 3), dtype=np.float32) * 0.3
    x[y == 1, :, :16] += 0.6  # class 1: bright top half
    model = B.build_classifier(B.course_cnn(pretrained=False), 2, freeze_backbone=False,
                               bn_inference=False)
    hist = T.fit(model, (x, y), epochs=5, batch_size=16, lr=3e-3, seed=0, validation=(x, y),
                 progress=False)
    assert set(hist) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(hist["loss"]) == 5 and hist["loss"][-1] < hist["loss"][0]
    result = T.evaluate(model, (x, y))
    assert set(result) == {"loss", "accuracy"} and result["accuracy"] >= 0.95


def test_fit_is_repeatable():
    def run():
        tt.seed_everything(0)
        model = B.build_classifier(B.course_cnn(pretrained=False), 3, freeze_backbone=False,
                                   bn_inference=False)
        return T.fit(model, _toy(), epochs=2, batch_size=8, seed=0, progress=False)["loss"]

    assert run() == run()


def test_fit_accepts_a_dataloader():
    x, y = _toy()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()),
                                       torch.from_numpy(y)), batch_size=8)
    model = B.build_classifier(B.course_cnn(pretrained=False), 3)
    hist = T.fit(model, loader, epochs=1, progress=False)
    assert len(hist["loss"]) == 1
    assert T.evaluate(model, loader)["accuracy"] == pytest.approx(T.evaluate(model, (x, y))["accuracy"])


def test_fit_rejects_bad_arguments():
    model = B.build_classifier(B.course_cnn(pretrained=False), 3)
    with pytest.raises(ValueError, match="epochs"):
        T.fit(model, _toy(), epochs=0, progress=False)
    with pytest.raises(ValueError, match="schedule"):
        T.fit(model, _toy(), schedule="step", progress=False)
    with pytest.raises(ValueError, match="data"):
        T.fit(model, "images", progress=False)
    frozen = tt.freeze(B.build_classifier(B.course_cnn(pretrained=False), 3))
    with pytest.raises(ValueError, match="trainable"):
        T.fit(frozen, _toy(), progress=False)


# ----------------------------------------------------------------------- names and the zoo

def test_backbone_names():
    assert B.BACKBONES == zoo.BACKBONES
    with pytest.raises(ValueError, match="valid names: course_cnn, mobilenet_v2"):
        B.get_backbone("resnet18")
    with pytest.raises(ValueError, match="not an ImageNet backbone"):
        B.imagenet_backbone("course_cnn")
    assert B.feature_dim(B.get_backbone("course_cnn", pretrained=False)) == 128


def test_without_torchvision_the_zoo_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import torchvision -> ImportError
    with pytest.raises(zoo.BackboneUnavailableError, match="torchvision"):
        B.imagenet_backbone("resnet50", pretrained=False)
    with pytest.raises(zoo.BackboneUnavailableError, match="course_cnn"):
        B.get_backbone("MobileNetV2")


def _torchvision_importable() -> bool:
    try:
        import torchvision  # noqa: F401
    except Exception:
        return False
    return True


@pytest.mark.skipif(not _torchvision_importable(), reason="torchvision does not import here")
@pytest.mark.parametrize("name", list(zoo.IMAGENET_ZOO))
def test_zoo_table_matches_torchvision(name):
    entry = zoo.IMAGENET_ZOO[name]
    import torchvision

    full = getattr(torchvision.models, entry.torchvision_builder)(weights=None)
    assert tt.count_parameters(full).total == entry.torch_params
    layers = sum(isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) for m in full.modules())
    assert layers == entry.weight_layers
    backbone = B.imagenet_backbone(name, pretrained=False)
    assert tt.count_parameters(backbone).total == entry.torch_backbone_params
    assert B.extract_features(backbone, np.zeros((1, 64, 64, 3), np.float32),
                              progress=False).shape == (1, entry.features)
