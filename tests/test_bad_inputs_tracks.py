"""Bad inputs to every public function of ``tlhelpers.keras`` and ``tlhelpers.torch``.

One table serves both tracks: each case runs in Keras *and* in PyTorch, and the two must
end the same way — the same exception type, a message naming the same argument, raised by
tlhelpers before the framework sees the input (``bad_inputs.check``). Keys are the
function's place inside a track (``"training.fit"``); a case may be limited to one track
where the tracks' signatures differ on purpose. A public function of either track with
fewer than three error cases fails ``test_every_public_function_has_cases``.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import (Case, bad, case_params, check, missing_cases, package_modules,
                        public_callables, run, valid, warns)

from test_download import LOGIN_PAGE, Route, cache, server  # noqa: F401  (fixtures)

from tlhelpers.data import from_arrays
from tlhelpers.zoo import WeightsUnavailableError

TRACKS = ("keras", "torch")


class Track:
    """The pieces a case needs, built once per track."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pkg = importlib.import_module(f"tlhelpers.{name}")
        for short, module in (("B", "backbones"), ("T", "training"), ("X", "transfer"),
                              ("D", "data"), ("L", "layers"), ("P", "params"),
                              ("dev", "device"), ("pre", "pretrain")):
            setattr(self, short, importlib.import_module(f"tlhelpers.{name}.{module}"))
        self._backbone = self.B.course_cnn(pretrained=False)
        self._classifier = self.B.build_classifier(self.B.course_cnn(pretrained=False), 3)

    def backbone(self):
        return self._backbone

    def classifier(self, fresh: bool = False):
        if fresh:
            return self.B.build_classifier(self.B.course_cnn(pretrained=False), 3)
        return self._classifier

    @staticmethod
    def images(n: int = 6, size: int = 32, channels: int = 3, scale: float = 1.0, offset=0.0):
        x = np.random.default_rng(0).random((n, size, size, channels)).astype(np.float32)
        return x * scale + offset

    def data(self, n: int = 6, labels=None, **image_kw):
        y = np.arange(n) % 3 if labels is None else np.asarray(labels)
        return self.images(n, **image_kw), y

    def ds(self, n: int = 6):
        return from_arrays(self.images(n), np.arange(n) % 3)

    def adapter(self, ds, *args, **kwargs):
        """The track's pipeline adapter: to_tf_dataset / to_dataloader."""
        fn = self.D.to_tf_dataset if self.name == "keras" else self.D.to_dataloader
        return fn(ds, *args, **kwargs)

    def adaptive(self, units=8, activation="relu"):
        if self.name == "keras":
            return self.L.AdaptiveLayer(units, activation)
        return self.L.AdaptiveLayer(8, units, activation)


@functools.cache
def track(name: str) -> Track:
    return Track(name)


def fit(t, model=None, data=None, **kw):
    kw.setdefault("progress", False)
    return t.T.fit(model if model is not None else t.classifier(), data if data is not None
                   else t.data(), **kw)


def pretrain(t, **kw):
    """A pretraining call that stays small (and writes to the test's folder) if it runs."""
    small = dict(n_train=10, n_test=10, epochs=1, out_dir="weights", progress=False)
    return t.pre.pretrain(**{**small, **kw})


K, TO = ("keras",), ("torch",)

CASES: dict[str, list[Case]] = {
    # ------------------------------------------------------------------ backbones
    "backbones.course_cnn": [
        bad("pretrained='no'", lambda t: t.B.course_cnn(pretrained="no"), "pretrained"),
        bad("pretrained=None", lambda t: t.B.course_cnn(pretrained=None), "pretrained"),
        bad("weights a number", lambda t: t.B.course_cnn(weights=123), "weights"),
        bad("weights file missing", lambda t: t.B.course_cnn(weights="/nonexistent/w.bin"),
            "weights", error=WeightsUnavailableError),
    ],
    "backbones.imagenet_backbone": [
        bad("unknown name", lambda t: t.B.imagenet_backbone("resnet"), "name"),
        bad("name a number", lambda t: t.B.imagenet_backbone(5), "name"),
        bad("pretrained='yes'", lambda t: t.B.imagenet_backbone("mobilenet_v2", pretrained="yes"),
            "pretrained"),
        bad("course_cnn", lambda t: t.B.imagenet_backbone("course_cnn"), "course_cnn"),
        bad("input_shape too small", lambda t: t.B.imagenet_backbone(
            "mobilenet_v2", pretrained=False, input_shape=(10, 10, 3)), "input_shape", tracks=K),
        bad("input_shape absurd", lambda t: t.B.imagenet_backbone(
            "mobilenet_v2", pretrained=False, input_shape=(100_000, 100_000, 3)), "input_shape",
            tracks=K),
        bad("input_shape grey", lambda t: t.B.imagenet_backbone(
            "mobilenet_v2", pretrained=False, input_shape=(224, 224, 1)), "input_shape", tracks=K),
    ],
    "backbones.get_backbone": [
        bad("unknown name", lambda t: t.B.get_backbone("vgg"), "name"),
        bad("name None", lambda t: t.B.get_backbone(None), "name"),
        bad("pretrained='no'", lambda t: t.B.get_backbone("course_cnn", pretrained="no"),
            "pretrained"),
    ],
    "backbones.build_classifier": [
        bad("backbone a string", lambda t: t.B.build_classifier("course_cnn", 3), "backbone"),
        bad("num_classes=1", lambda t: t.B.build_classifier(t.backbone(), 1), "num_classes"),
        bad("num_classes fractional", lambda t: t.B.build_classifier(t.backbone(), 2.5),
            "num_classes"),
        bad("num_classes absurd", lambda t: t.B.build_classifier(t.backbone(), 10**9),
            "num_classes"),
        bad("dropout='high'", lambda t: t.B.build_classifier(t.backbone(), 3, dropout="high"),
            "dropout"),
        bad("dropout=1", lambda t: t.B.build_classifier(t.backbone(), 3, dropout=1.0), "dropout"),
        bad("freeze_backbone='no'", lambda t: t.B.build_classifier(t.backbone(), 3,
                                                                    freeze_backbone="no"),
            "freeze_backbone"),
        bad("bn_inference=None", lambda t: t.B.build_classifier(t.backbone(), 3, bn_inference=None),
            "bn_inference"),
    ],
    "backbones.extract_features": [
        bad("backbone a string", lambda t: t.B.extract_features("course_cnn", t.images()),
            "backbone"),
        warns("0-255 floats", lambda t: t.B.extract_features(
            t.backbone(), t.images(scale=255), progress=False), "0-255 images"),
        warns("normalised to [-1, 1]", lambda t: t.B.extract_features(
            t.backbone(), t.images(scale=2, offset=-1), progress=False), "normalised twice"),
        bad("NaN", lambda t: t.B.extract_features(t.backbone(), t.images() * np.nan), "data"),
        bad("28x28", lambda t: t.B.extract_features(t.backbone(), t.images(size=28)), "data"),
        bad("grey", lambda t: t.B.extract_features(t.backbone(), t.images(channels=1)), "data"),
        bad("channels first", lambda t: t.B.extract_features(
            t.backbone(), t.images().transpose(0, 3, 1, 2)), "data"),
        bad("zero images", lambda t: t.B.extract_features(t.backbone(), t.images(0)), "data"),
        bad("text", lambda t: t.B.extract_features(t.backbone(), ["a cat", "a dog"]), "data"),
        bad("differently sized list", lambda t: t.B.extract_features(
            t.backbone(), [t.images(1)[0], t.images(1, size=28)[0]]), "data"),
        bad("batch_size=0", lambda t: t.B.extract_features(t.backbone(), t.images(), batch_size=0),
            "batch_size"),
        warns("slightly above 1", lambda t: t.B.extract_features(
            t.backbone(), t.images(scale=1.05), progress=False), "np.clip"),
    ],
    "backbones.feature_dim": [
        bad("a string", lambda t: t.B.feature_dim("course_cnn"), "backbone"),
        bad("None", lambda t: t.B.feature_dim(None), "backbone"),
        bad("a number", lambda t: t.B.feature_dim(128), "backbone"),
    ],
    "backbones.save_backbone_weights": [
        bad("wrong suffix", lambda t: t.B.save_backbone_weights(t.backbone(), "w.txt"), "path"),
        bad("path None", lambda t: t.B.save_backbone_weights(t.backbone(), None), "path"),
        bad("backbone a string", lambda t: t.B.save_backbone_weights("course_cnn", "w.pt"),
            "backbone"),
    ],
    "backbones.ImageNetPreprocess": [
        bad("unknown mode", lambda t: t.B.ImageNetPreprocess("x"), "mode", tracks=K),
        bad("mode None", lambda t: t.B.ImageNetPreprocess(None), "mode", tracks=K),
        bad("mode a number", lambda t: t.B.ImageNetPreprocess(1), "mode", tracks=K),
    ],
    "backbones.Classifier": [
        bad("num_classes=1", lambda t: t.B.Classifier(t.backbone(), 1), "num_classes", tracks=TO),
        bad("dropout a string", lambda t: t.B.Classifier(t.backbone(), 3, "x"), "dropout",
            tracks=TO),
        bad("backbone a string", lambda t: t.B.Classifier("course_cnn", 3), "backbone", tracks=TO),
    ],
    "backbones.ImageNetBackbone": [
        bad("body a string", lambda t: t.B.ImageNetBackbone("x", 8, "n"), "body", tracks=TO),
        bad("out_features=0", lambda t: t.B.ImageNetBackbone(t.backbone(), 0, "n"), "out_features",
            tracks=TO),
        bad("name a number", lambda t: t.B.ImageNetBackbone(t.backbone(), 8, 5), "name", tracks=TO),
    ],
    # ------------------------------------------------------------------ training
    "training.fit": [
        bad("a backbone, not a classifier", lambda t: fit(t, t.backbone()), "model"),
        bad("model a string", lambda t: fit(t, "classifier"), "model"),
        bad("data a string", lambda t: fit(t, data="images"), "data"),
        bad("zero images", lambda t: fit(t, data=t.data(0)), "data"),
        bad("label -1", lambda t: fit(t, data=t.data(labels=[0, 1, 2, 0, 1, -1])), "data"),
        bad("label = num_classes", lambda t: fit(t, data=t.data(labels=[0, 1, 2, 0, 1, 3])), "data"),
        bad("soft labels", lambda t: fit(t, data=t.data(labels=[0.5] * 6)), "data"),
        bad("labels one short", lambda t: fit(t, data=(t.images(6), [0, 1, 2, 0, 1])), "data"),
        warns("0-255 floats", lambda t: fit(t, t.classifier(fresh=True), t.data(scale=255)),
              "0-255 images"),
        bad("NaN", lambda t: fit(t, data=t.data(scale=np.nan)), "data"),
        bad("28x28 grey", lambda t: fit(t, data=t.data(size=28, channels=1)), "data"),
        bad("lr negative", lambda t: fit(t, lr=-1e-3), "lr"),
        bad("lr a string", lambda t: fit(t, lr="0.001"), "lr"),
        bad("lr zero", lambda t: fit(t, lr=0), "lr"),
        bad("weight_decay negative", lambda t: fit(t, weight_decay=-0.1), "weight_decay"),
        bad("epochs=0", lambda t: fit(t, epochs=0), "epochs"),
        bad("epochs a float", lambda t: fit(t, epochs=2.0), "epochs"),
        bad("batch_size=0", lambda t: fit(t, batch_size=0), "batch_size"),
        bad("schedule='step'", lambda t: fit(t, schedule="step"), "schedule"),
        bad("seed negative", lambda t: fit(t, seed=-1), "seed"),
        bad("validation labels out of range", lambda t: fit(
            t, validation=t.data(labels=[0, 1, 2, 0, 1, 7])), "validation"),
        warns("images slightly above 1", lambda t: fit(t, t.classifier(fresh=True),
                                                       t.data(scale=1.05)), "np.clip"),
        valid("integer lr", lambda t: fit(t, t.classifier(fresh=True), lr=1)),
        valid("(N, 1) labels", lambda t: fit(t, t.classifier(fresh=True),
                                             (t.images(), (np.arange(6) % 3)[:, None]))),
    ],
    "training.evaluate": [
        bad("a backbone", lambda t: t.T.evaluate(t.backbone(), t.data()), "model"),
        bad("label -1", lambda t: t.T.evaluate(t.classifier(), t.data(labels=[-1] * 6)), "data"),
        bad("label = num_classes", lambda t: t.T.evaluate(t.classifier(), t.data(labels=[3] * 6)),
            "data"),
        bad("zero images", lambda t: t.T.evaluate(t.classifier(), t.data(0)), "data"),
        warns("0-255 floats", lambda t: t.T.evaluate(t.classifier(), t.data(scale=255)),
              "0-255 images"),
        bad("data a string", lambda t: t.T.evaluate(t.classifier(), "test"), "data"),
        bad("batch_size=0", lambda t: t.T.evaluate(t.classifier(), t.data(), batch_size=0),
            "batch_size"),
    ],
    "training.predict": [
        bad("model a string", lambda t: t.T.predict("model", t.images()), "model"),
        warns("0-255 floats", lambda t: t.T.predict(t.classifier(), t.images(scale=255)),
              "0-255 images"),
        bad("NaN", lambda t: t.T.predict(t.classifier(), t.images() * np.nan), "data"),
        bad("28x28", lambda t: t.T.predict(t.classifier(), t.images(size=28)), "data"),
        bad("batch_size=0", lambda t: t.T.predict(t.classifier(), t.images(), batch_size=0),
            "batch_size"),
    ],
    # ------------------------------------------------------------------ transfer
    "transfer.transfer_blocks": [
        bad("k=5", lambda t: t.X.transfer_blocks(5, fine_tune=True), "k"),
        bad("k=-1", lambda t: t.X.transfer_blocks(-1, fine_tune=True), "k"),
        bad("k a string", lambda t: t.X.transfer_blocks("2", fine_tune=True), "k"),
        bad("fine_tune='no'", lambda t: t.X.transfer_blocks(2, fine_tune="no"), "fine_tune"),
        bad("source not a course_cnn", lambda t: t.X.transfer_blocks(
            2, fine_tune=False, source=t.classifier()), "source"),
        bad("source a string", lambda t: t.X.transfer_blocks(2, fine_tune=False, source="pre"),
            "source"),
        bad("seed negative", lambda t: t.X.transfer_blocks(1, fine_tune=True, seed=-1), "seed"),
    ],
    "transfer.train_on_target": [
        bad("epochs negative", lambda t: t.X.train_on_target(t.ds(), t.ds(), epochs=-5), "epochs"),
        bad("bn unknown", lambda t: t.X.train_on_target(t.ds(), t.ds(), bn="train"), "bn"),
        bad("train arrays", lambda t: t.X.train_on_target(t.data(), t.ds()), "train"),
        bad("lr negative", lambda t: t.X.train_on_target(t.ds(), t.ds(), lr=-1), "lr"),
        bad("k=9", lambda t: t.X.train_on_target(t.ds(), t.ds(), k=9), "k"),
    ],
    "transfer.block_outputs": [
        bad("a classifier", lambda t: t.X.block_outputs(t.classifier(), t.images()), "backbone"),
        bad("a string", lambda t: t.X.block_outputs("course_cnn", t.images()), "backbone"),
        warns("0-255 floats", lambda t: t.X.block_outputs(t.backbone(), t.images(scale=255)),
              "0-255 images"),
        bad("28x28", lambda t: t.X.block_outputs(t.backbone(), t.images(size=28)), "images"),
    ],
    # ------------------------------------------------------------------ data adapters
    "data.to_tf_dataset": [
        bad("arrays, not a Dataset", lambda t: t.adapter(t.data()), "ds", tracks=K),
        bad("batch_size=0", lambda t: t.adapter(t.ds(), 0), "batch_size", tracks=K),
        bad("seed negative", lambda t: t.adapter(t.ds(), seed=-1), "seed", tracks=K),
        bad("shuffle='yes'", lambda t: t.adapter(t.ds(), shuffle="yes"), "shuffle", tracks=K),
        bad("augment a number", lambda t: t.adapter(t.ds(), augment=5), "augment", tracks=K),
    ],
    "data.to_dataloader": [
        bad("arrays, not a Dataset", lambda t: t.adapter(t.data()), "ds", tracks=TO),
        bad("batch_size=0", lambda t: t.adapter(t.ds(), 0), "batch_size", tracks=TO),
        bad("seed negative", lambda t: t.adapter(t.ds(), seed=-1), "seed", tracks=TO),
        bad("shuffle='yes'", lambda t: t.adapter(t.ds(), shuffle="yes"), "shuffle", tracks=TO),
        bad("augment a number", lambda t: t.adapter(t.ds(), augment=5), "augment", tracks=TO),
        bad("num_workers a string", lambda t: t.adapter(t.ds(), num_workers="2"), "num_workers",
            tracks=TO),
        bad("pin_memory='no'", lambda t: t.adapter(t.ds(), pin_memory="no"), "pin_memory",
            tracks=TO),
    ],
    "data.to_tensors": [
        bad("arrays", lambda t: t.D.to_tensors(t.data()), "ds", tracks=TO),
        bad("None", lambda t: t.D.to_tensors(None), "ds", tracks=TO),
        bad("text", lambda t: t.D.to_tensors(from_arrays(["a", "b"], [0, 1])), "text", tracks=TO),
    ],
    "data.TextDataset": [
        bad("texts a string", lambda t: t.D.TextDataset("a b c", [0]), "texts", tracks=TO),
        bad("labels short", lambda t: t.D.TextDataset(["a", "b"], [0]), "labels", tracks=TO),
        bad("labels fractional", lambda t: t.D.TextDataset(["a", "b"], [0.5, 1]), "labels",
            tracks=TO),
    ],
    "data.collate_text": [
        bad("empty", lambda t: t.D.collate_text([]), "batch", tracks=TO),
        bad("bare strings", lambda t: t.D.collate_text(["a", "b"]), "batch", tracks=TO),
        bad("a string", lambda t: t.D.collate_text("ab"), "batch", tracks=TO),
    ],
    # ------------------------------------------------------------------ layers
    "layers.AdaptiveLayer": [
        bad("units=0", lambda t: t.adaptive(0), "units"),
        bad("units a string", lambda t: t.adaptive("8"), "units"),
        bad("units absurd", lambda t: t.adaptive(10**9), "units"),
        bad("unknown activation", lambda t: t.adaptive(8, "swish"), "activation"),
        bad("in_features=0", lambda t: t.L.AdaptiveLayer(0, 8), "in_features", tracks=TO),
    ],
    "layers.InferenceMode": [
        bad("a string", lambda t: t.L.InferenceMode("backbone"), "inner"),
        bad("None", lambda t: t.L.InferenceMode(None), "inner"),
        bad("a number", lambda t: t.L.InferenceMode(5), "inner"),
    ],
    # ------------------------------------------------------------------ params
    "params.count_parameters": [
        bad("a string", lambda t: t.P.count_parameters("model"), "model"),
        bad("None", lambda t: t.P.count_parameters(None), "model"),
        bad("an array", lambda t: t.P.count_parameters(np.zeros(3)), "model"),
    ],
    "params.freeze": [
        bad("a string", lambda t: t.P.freeze("model"), "model"),
        bad("None", lambda t: t.P.freeze(None), "model"),
        bad("a list of models", lambda t: t.P.freeze([t.backbone()]), "model"),
    ],
    "params.unfreeze": [
        bad("a string", lambda t: t.P.unfreeze("model"), "model"),
        bad("from_layer a float", lambda t: t.P.unfreeze(t.classifier(fresh=True), from_layer=1.5),
            "from_layer"),
        bad("from_layer unknown name", lambda t: t.P.unfreeze(t.classifier(fresh=True),
                                                              from_layer="nope"), "from_layer"),
        bad("from_layer out of range", lambda t: t.P.unfreeze(t.classifier(fresh=True),
                                                              from_layer=99), "from_layer"),
        bad("bn_trainable='no'", lambda t: t.P.unfreeze(t.classifier(fresh=True),
                                                        bn_trainable="no"), "bn_trainable"),
    ],
    "params.walk_layers": [
        bad("a string", lambda t: list(t.P.walk_layers("model")), "model", tracks=K),
        bad("None", lambda t: list(t.P.walk_layers(None)), "model", tracks=K),
        bad("a number", lambda t: list(t.P.walk_layers(5)), "model", tracks=K),
    ],
    # ------------------------------------------------------------------ package level
    "seed_everything": [
        bad("negative", lambda t: t.pkg.seed_everything(-1), "seed"),
        bad("string", lambda t: t.pkg.seed_everything("0"), "seed"),
        bad("float", lambda t: t.pkg.seed_everything(0.5), "seed"),
    ],
    "device.mixed_precision": [
        bad("enabled='no'", lambda t: t.dev.mixed_precision("no"), "enabled"),
        bad("enabled=None", lambda t: t.dev.mixed_precision(None), "enabled"),
        bad("enabled=1", lambda t: t.dev.mixed_precision(1), "enabled"),
        bad("device unknown", lambda t: t.dev.mixed_precision(False, device="gpu"), "device",
            tracks=TO),
    ],
    "pretrain.pretrain": [
        bad("n_train=0", lambda t: pretrain(t, n_train=0), "n_train"),
        bad("n_train a string", lambda t: pretrain(t, n_train="many"), "n_train"),
        bad("epochs=0", lambda t: pretrain(t, epochs=0), "epochs"),
        bad("lr negative", lambda t: pretrain(t, lr=-1), "lr"),
        bad("seed negative", lambda t: pretrain(t, seed=-1), "seed"),
    ],
}

#: Public callables that take arguments but have no bad-input cases, and why.
EXEMPT = {
    "tlhelpers.params.ParamCounts": "a record returned by count_parameters, not built by learners",
    "device.MixedPrecision": "a record returned by mixed_precision, not built by learners",
}


@pytest.mark.parametrize("key, case", case_params(CASES))
def test_bad_input_ends_the_same_in_both_tracks(key, case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # cases that save files write here
    monkeypatch.setenv("TLH_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TLH_OFFLINE", "1")
    outcomes = {}
    for name in case.tracks:
        out = run(case, track(name))
        check(case, out)
        outcomes[name] = out
    if len(outcomes) == 2 and case.outcome == "error":
        k, t = outcomes["keras"].error, outcomes["torch"].error
        assert type(k) is type(t), (f"Keras raises {type(k).__name__}: {k}\n"
                                    f"PyTorch raises {type(t).__name__}: {t}")


@pytest.mark.parametrize("name", TRACKS)
def test_every_public_function_has_cases(name):
    api = public_callables(package_modules(f"tlhelpers.{name}"))
    prefix = f"tlhelpers.{name}."
    keyed = {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in api.items()}
    # Package-level names (seed_everything, env_report) are defined in the package itself.
    keyed = {k.replace(f"tlhelpers.{name}.", ""): v for k, v in keyed.items()}
    missing = missing_cases(keyed, CASES, EXEMPT, prefix="", track=name)
    assert not missing, (f"{name}: public functions without three bad-input cases (add them "
                         f"to CASES, or a reason to EXEMPT): {missing}")


@pytest.mark.parametrize("name", TRACKS)
def test_shape_error_says_how_to_fix_and_to_backbone_fixes_it(name):
    """28×28 grey digits (MNIST's form) refused with the fix in the message, then fitted."""
    t = track(name)
    grey = from_arrays(np.zeros((4, 28, 28), np.uint8), [0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"to_backbone\(backbone\)"):
        t.B.extract_features(t.backbone(), grey, progress=False)
    fitted = grey.to_backbone(t.backbone())
    assert fitted.x.shape == (4, 32, 32, 3) and fitted.x.dtype == np.float32
    assert t.B.extract_features(t.backbone(), fitted, progress=False).shape == (4, 128)
    assert fitted.meta["reshaped"] == ["resized to 32x32", "converted to 3 channel(s)"]


def test_keras_imagenet_weights_use_the_course_downloader(server, cache, monkeypatch):
    import h5py

    from tlhelpers.keras import backbones as B
    from tlhelpers.zoo import WeightsUnavailableError

    monkeypatch.setenv("KERAS_HOME", str(cache.parent / "keras-home"))
    h5 = cache.parent / "w.h5"
    with h5py.File(h5, "w") as f:
        f["w"] = np.arange(3)
    url = server.serve("/w/test_notop.h5", LOGIN_PAGE, content_type="text/html")
    monkeypatch.setattr(B, "_weights_file", lambda name, shape: ("test_notop.h5", url))

    with pytest.raises(WeightsUnavailableError, match="web page"):
        B._find_or_fetch("resnet50", (224, 224, 3))
    server.routes["/w/test_notop.h5"] = Route(h5.read_bytes())
    path = B._find_or_fetch("resnet50", (224, 224, 3))
    assert Path(path) == cache / "keras-applications" / "test_notop.h5"
    assert Path(path).read_bytes() == h5.read_bytes()
