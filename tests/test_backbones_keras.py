"""Keras track: course_cnn, the ImageNet zoo, build_classifier, extract_features, fit/evaluate."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.keras

keras = pytest.importorskip("keras")
import tlhelpers.keras as tk  # noqa: E402
from tlhelpers import zoo  # noqa: E402
from tlhelpers.keras import backbones as B  # noqa: E402
from tlhelpers.keras import training as T  # noqa: E402


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((6, 32, 32, 3), dtype=np.float32)


# ----------------------------------------------------------------------------- course_cnn

def test_course_cnn_architecture():
    backbone = B.course_cnn(pretrained=False)
    assert backbone.input_shape == (None, 32, 32, 3)
    assert backbone.output_shape == (None, 128)
    assert B.feature_dim(backbone) == zoo.COURSE_CNN["features"] == 128
    counts = tk.count_parameters(backbone)
    assert (counts.trainable, counts.frozen, counts.state) == (308_448, 0, 1_408)


def test_course_cnn_normalises_inside(images):
    """The first op maps [0, 1] to [-1, 1]: a constant 0.5 image enters as zeros."""
    backbone = B.course_cnn(pretrained=False)
    scale = backbone.get_layer("scale")
    out = np.asarray(scale(np.full((1, 32, 32, 3), 0.5, np.float32)))
    np.testing.assert_allclose(out, 0.0, atol=1e-7)
    np.testing.assert_allclose(np.asarray(scale(np.ones((1, 32, 32, 3), np.float32))), 1.0)


def test_shipped_weights_load_and_are_small(images):
    path = zoo.course_weights_path("keras")
    assert path.is_file() and path.stat().st_size < 2 * 1024 * 1024
    info = zoo.course_weights_info("keras")
    for key in ("data", "seed", "epochs", "optimizer", "syndigits_test_accuracy",
                "digits_test_accuracy", "wall_seconds", "versions"):
        assert key in info
    assert info["data"]["train"]["name"] == "syndigits"
    assert info["syndigits_test_accuracy"] > 0.9
    pre = B.course_cnn(pretrained=True)
    rnd = B.course_cnn(pretrained=False)
    f_pre = B.extract_features(pre, images, progress=False)
    assert not np.allclose(f_pre, B.extract_features(rnd, images, progress=False))
    # loading twice gives the same function
    np.testing.assert_allclose(f_pre, B.extract_features(B.course_cnn(), images, progress=False), atol=1e-6)


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(zoo.WeightsUnavailableError, match=r"tlhelpers\.keras\.pretrain"):
        B.course_cnn(weights=tmp_path / "nope.weights.h5")


def test_save_and_reload_roundtrip(tmp_path, images):
    backbone = B.course_cnn(pretrained=False)
    path = B.save_backbone_weights(backbone, tmp_path / "b.weights.h5")
    again = B.course_cnn(weights=path)
    np.testing.assert_allclose(B.extract_features(backbone, images, progress=False),
                               B.extract_features(again, images, progress=False), atol=1e-6)
    with pytest.raises(ValueError, match="weights.h5"):
        B.save_backbone_weights(backbone, tmp_path / "b.h5")


# ----------------------------------------------------------------------- extract_features

def test_extract_features_matches_predict_and_accepts_datasets(images):
    from tlhelpers.data import Dataset

    backbone = B.course_cnn(pretrained=False)
    feats = B.extract_features(backbone, images, batch_size=4, progress=False)
    assert feats.shape == (6, 128) and feats.dtype == np.float32
    np.testing.assert_allclose(feats, backbone.predict(images, verbose=0), atol=1e-5)
    ds = Dataset(images, np.arange(6) % 2, ["a", "b"], "toy", "train", "toy")
    np.testing.assert_allclose(B.extract_features(backbone, ds, progress=False), feats, atol=1e-6)


def test_extract_features_does_not_touch_batchnorm(images):
    backbone = B.course_cnn(pretrained=True)
    before = [v.numpy().copy() for v in backbone.non_trainable_weights]
    B.extract_features(backbone, images * 3.0, progress=False)
    for b, v in zip(before, backbone.non_trainable_weights):
        np.testing.assert_array_equal(b, v.numpy())


@pytest.mark.parametrize("shape", [(2, 28, 28, 3), (2, 3, 32, 32), (2, 32, 32), (2, 32, 32, 1)])
def test_extract_features_rejects_wrong_shapes(shape):
    backbone = B.course_cnn(pretrained=False)
    with pytest.raises(ValueError, match="shape"):
        B.extract_features(backbone, np.zeros(shape, np.float32), progress=False)


def test_extract_features_rejects_bad_batch_size(images):
    with pytest.raises(ValueError, match="batch_size"):
        B.extract_features(B.course_cnn(pretrained=False), images, batch_size=0, progress=False)


# ----------------------------------------------------------------------- build_classifier

def test_build_classifier_frozen_trains_only_the_head():
    model = B.build_classifier(B.course_cnn(pretrained=False), 10)
    assert model.output_shape == (None, 10)
    counts = tk.count_parameters(model)
    assert counts.trainable == 128 * 10 + 10
    assert counts.frozen == 308_448 and counts.state == 1_408


def test_build_classifier_dropout_adds_no_parameters():
    plain = tk.count_parameters(B.build_classifier(B.course_cnn(pretrained=False), 4))
    dropped = tk.count_parameters(B.build_classifier(B.course_cnn(pretrained=False), 4, dropout=0.3))
    assert plain == dropped


@pytest.mark.parametrize("num_classes", [1, 0, -3, 2.5, True, "10"])
def test_build_classifier_rejects_bad_num_classes(num_classes):
    with pytest.raises(ValueError, match="num_classes"):
        B.build_classifier(B.course_cnn(pretrained=False), num_classes)


def test_build_classifier_rejects_bad_dropout():
    with pytest.raises(ValueError, match="dropout"):
        B.build_classifier(B.course_cnn(pretrained=False), 10, dropout=1.0)


def _toy(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 32, 32, 3), dtype=np.float32), rng.integers(0, 3, n)


def test_fine_tuning_keeps_batchnorm_statistics():
    """COURSE.md §5 item 15: the backbone is called with training=False, so fitting the
    whole classifier updates the convolutions but never the BatchNorm statistics."""
    backbone = B.course_cnn(pretrained=True)
    model = B.build_classifier(backbone, 3, freeze_backbone=False)
    bn = backbone.get_layer("stage2_bn1")
    conv = backbone.get_layer("stage2_conv1")
    mean0, var0 = bn.moving_mean.numpy().copy(), bn.moving_variance.numpy().copy()
    kernel0 = conv.kernel.numpy().copy()
    T.fit(model, _toy(), epochs=1, batch_size=8, lr=1e-3, seed=0, progress=False)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), mean0)
    np.testing.assert_array_equal(bn.moving_variance.numpy(), var0)
    assert not np.allclose(conv.kernel.numpy(), kernel0)


def test_frozen_backbone_does_not_change_when_fitting():
    backbone = B.course_cnn(pretrained=True)
    model = B.build_classifier(backbone, 3)
    before = [w.copy() for w in backbone.get_weights()]
    head0 = model.get_layer("head").kernel.numpy().copy()
    T.fit(model, _toy(), epochs=2, batch_size=8, seed=0, progress=False)
    for b, a in zip(before, backbone.get_weights()):
        np.testing.assert_array_equal(b, a)
    assert not np.allclose(model.get_layer("head").kernel.numpy(), head0)


def test_training_from_scratch_updates_batchnorm():
    backbone = B.course_cnn(pretrained=False)
    model = B.build_classifier(backbone, 3, freeze_backbone=False, bn_inference=False)
    bn = backbone.get_layer("stem_bn")
    mean0 = bn.moving_mean.numpy().copy()
    T.fit(model, _toy(), epochs=1, batch_size=8, seed=0, progress=False)
    assert not np.allclose(bn.moving_mean.numpy(), mean0)


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
    assert set(result) == {"loss", "accuracy"} and 0.0 <= result["accuracy"] <= 1.0
    assert result["accuracy"] >= 0.95


def test_fit_rejects_bad_arguments():
    model = B.build_classifier(B.course_cnn(pretrained=False), 3)
    with pytest.raises(ValueError, match="epochs"):
        T.fit(model, _toy(), epochs=0, progress=False)
    with pytest.raises(ValueError, match="schedule"):
        T.fit(model, _toy(), schedule="step", progress=False)
    with pytest.raises(ValueError, match="data"):
        T.fit(model, "images", progress=False)


# ----------------------------------------------------------------------- names and the zoo

def test_backbone_names():
    assert B.BACKBONES == zoo.BACKBONES
    assert zoo.canonical_name("MobileNetV2") == "mobilenet_v2"
    assert zoo.canonical_name("EfficientNet-B0") == "efficientnet_b0"
    with pytest.raises(ValueError, match="valid names: course_cnn, mobilenet_v2"):
        B.get_backbone("resnet18")
    with pytest.raises(ValueError, match="unknown backbone"):
        B.imagenet_backbone("alexnet", pretrained=False)
    with pytest.raises(ValueError, match="not an ImageNet backbone"):
        B.imagenet_backbone("course_cnn")


def test_get_backbone_course_cnn():
    assert B.feature_dim(B.get_backbone("course_cnn", pretrained=False)) == 128


@pytest.mark.parametrize("name", list(zoo.IMAGENET_ZOO))
def test_zoo_table_matches_the_architectures(name):
    """Parameter and layer counts of the table, recomputed from keras.applications with
    weights=None (no download), with and without the ImageNet classifier."""
    entry = zoo.IMAGENET_ZOO[name]
    app = getattr(keras.applications, entry.keras_class)
    full = app(weights=None, include_top=True)
    counts = tk.count_parameters(full)
    assert counts.trainable == entry.keras_params
    assert counts.state == entry.keras_state
    weight_layers = sum(isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D,
                                           keras.layers.Dense)) for layer in tk.walk_layers(full))
    assert weight_layers == entry.weight_layers
    assert full.input_shape == (None, entry.input_size, entry.input_size, 3)
    del full
    backbone = B.imagenet_backbone(name, pretrained=False, input_shape=(64, 64, 3))
    assert B.feature_dim(backbone) == entry.features
    assert tk.count_parameters(backbone).total == entry.keras_backbone_params
    keras.backend.clear_session()


def test_zoo_table_dataframe():
    table = zoo.zoo_table()
    assert list(table.index) == list(zoo.IMAGENET_ZOO)
    assert table.loc["resnet50", "ImageNet top-1 %, Keras"] == 74.9


def test_imagenet_backbone_runs_on_01_images_with_preprocessing_inside():
    backbone = B.imagenet_backbone("MobileNetV2", pretrained=False, input_shape=(96, 96, 3))
    assert backbone.layers[1].name == "preprocess"
    feats = B.extract_features(backbone, np.random.default_rng(0).random((3, 96, 96, 3), np.float32),
                               progress=False)
    assert feats.shape == (3, 1280) and np.isfinite(feats).all()
    with pytest.raises(ValueError, match="shape"):
        B.extract_features(backbone, np.zeros((2, 32, 32, 3), np.float32), progress=False)


@pytest.mark.parametrize("mode,expected", [
    ("tf", lambda x: 2 * x - 1),
    ("torch", lambda x: (x - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])),
    ("caffe", lambda x: 255 * x[..., ::-1] - np.array([103.939, 116.779, 123.68])),
    ("none", lambda x: 255 * x),
])
def test_imagenet_preprocess_modes(mode, expected):
    x = np.random.default_rng(0).random((2, 4, 4, 3)).astype(np.float32)
    out = np.asarray(B.ImageNetPreprocess(mode)(x))
    np.testing.assert_allclose(out, expected(x), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("shape", [(16, 16, 3), (224, 224, 1), (224, 224), "224"])
def test_imagenet_backbone_rejects_bad_input_shape(shape):
    with pytest.raises(ValueError, match="input_shape"):
        B.imagenet_backbone("mobilenet_v2", pretrained=False, input_shape=shape)


def test_offline_imagenet_weights_error_says_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TLH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def offline(file, url):
        raise OSError("network is unreachable")

    monkeypatch.setattr(B, "_download", offline)
    with pytest.raises(zoo.WeightsUnavailableError) as info:
        B.imagenet_backbone("resnet50")
    message = str(info.value)
    entry = zoo.IMAGENET_ZOO["resnet50"]
    assert entry.keras_weights_url in message
    assert str(tmp_path / "data" / entry.keras_weights_file) in message
    assert "pretrained=False" in message


def test_preplaced_weights_are_found_without_download(tmp_path, monkeypatch):
    monkeypatch.setenv("TLH_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(B, "_download", lambda file, url: pytest.fail("tried to download"))
    placed = tmp_path / zoo.IMAGENET_ZOO["vgg16"].keras_weights_file
    placed.write_bytes(b"")
    assert B._find_or_fetch("vgg16", (224, 224, 3)) == str(placed)
    # MobileNetV2 picks the file of the nearest supported resolution, as Keras does
    file, url = B._weights_file("mobilenet_v2", (128, 128, 3))
    assert file.endswith("_1.0_128_no_top.h5") and url.endswith(file)
