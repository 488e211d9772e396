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
                              ("dev", "device"), ("pre", "pretrain"), ("AD", "adapt"),
                              ("DN", "dann"), ("KD", "distill"), ("DV", "divergence"),
                              ("FT", "finetune"), ("CA", "calibration"), ("EX", "explain"),
                              ("TX", "text")):
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

    def tensor(self, a, dtype=np.float32):
        """An array as the track's tensor (PyTorch's functions take tensors, Keras's either)."""
        a = np.asarray(a, dtype=dtype)
        if self.name == "torch":
            import torch

            return torch.from_numpy(a)
        return a

    def feats(self, n: int = 6, d: int = 4, scale: float = 1.0, offset: float = 0.0):
        """``n`` feature vectors of width ``d`` as a track tensor."""
        x = np.random.default_rng(1).normal(size=(n, d)) * scale + offset
        return self.tensor(x)

    @functools.cached_property
    def mlp(self):
        """A 2-feature, 2-class MLP classifier (no BatchNorm), as Lesson 04's moons use."""
        return self.DN.mlp_classifier(2, 2)

    @functools.cached_property
    def dann(self):
        """A DANN on the shared 3-class classifier (its default discriminator)."""
        return self.DN.DANN(self.classifier())

    @functools.cached_property
    def discriminator(self):
        return self.DN.domain_discriminator(4)

    def optimizer(self):
        """An optimizer over the DANN's parameters (PyTorch's schedulers take one)."""
        import torch

        return torch.optim.SGD(self.dann.parameters(), lr=0.01)

    @functools.cached_property
    def student(self):
        """A tiny 3-class student CNN."""
        return self.KD.student_cnn(3, width=4)

    def logits(self, n: int = 6, classes: int = 3, softmax: bool = False):
        z = np.random.default_rng(2).normal(size=(n, classes))
        if softmax:
            z = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        return self.tensor(z)

    def maps(self, n: int = 2, c: int = 4, h: int = 5, w: int = 5):
        """Feature maps in the track's layout: (N, H, W, C) in Keras, (N, C, H, W) in PyTorch."""
        x = np.random.default_rng(3).random((n, h, w, c))
        return self.tensor(x if self.name == "keras" else x.transpose(0, 3, 1, 2))

    def named(self, count: int, size: int = 3, value: float = 1.0):
        """``count`` dicts ``{"w": tensor}``: params, fisher, anchor... for the penalties."""
        return [{"w": self.tensor(np.full(size, value))} for _ in range(count)]

    @functools.cached_property
    def softmax_model(self):
        """The shared classifier followed by a softmax: it outputs probabilities, not logits."""
        if self.name == "keras":
            import keras

            return keras.Sequential([keras.Input((32, 32, 3)), self.classifier(), keras.layers.Softmax()])
        from torch import nn

        return nn.Sequential(self.classifier(), nn.Softmax(dim=1))

    def keras_adam(self):
        import keras

        return keras.optimizers.Adam(1e-3)

    def adaptive(self, units=8, activation="relu"):
        if self.name == "keras":
            return self.L.AdaptiveLayer(units, activation)
        return self.L.AdaptiveLayer(8, units, activation)

    # ------------------------------------------------------------ text (Lesson 06)
    #: A from-scratch BERT one layer deep and 8 wide: the text cases never load MiniLM.
    TINY_BERT = dict(num_layers=1, hidden_size=8, num_heads=2, intermediate_size=16, max_length=16)

    @functools.cached_property
    def text_encoder(self):
        return self.TX.scratch_encoder(**self.TINY_BERT)

    @property
    def bert(self):
        """The model inside the tiny encoder: keras-hub's BertBackbone / a BertModel."""
        return self.text_encoder.backbone if self.name == "keras" else self.text_encoder.bert

    @functools.cached_property
    def text_classifier(self):
        """A 3-class classifier on the tiny encoder (cases that would change it use a fresh one)."""
        return self.TX.TextClassifier(self.text_encoder, 3)

    def fresh_text_classifier(self):
        return self.TX.TextClassifier(self.TX.scratch_encoder(**self.TINY_BERT), 3)

    @functools.cached_property
    def bag(self):
        """A 3-class bag of 4-wide random embeddings."""
        return self.TX.BagOfEmbeddings(3, dim=4, trainable=True)

    def linear(self, built: bool = True):
        """A 3 -> 4 linear layer for LoRA to wrap: a built Dense / an nn.Linear."""
        if self.name == "keras":
            import keras

            dense = keras.layers.Dense(4)
            if built:
                dense.build((None, 3))
            return dense
        from torch import nn

        return nn.Linear(3, 4)

    def lora(self, *args, **kwargs):
        return (self.TX.LoRA if self.name == "keras" else self.TX.LoRALinear)(*args, **kwargs)

    def hidden(self, n: int = 2, length: int = 5, d: int = 4):
        """Token states (N, L, d) and a mask (N, L) whose second text is two tokens shorter."""
        mask = np.ones((n, length), np.int64)
        mask[1, -2:] = 0
        return self.tensor(np.random.default_rng(4).normal(size=(n, length, d))), mask


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


def adapt(t, model=None, source=None, target=None, **kw):
    """A fit_adapt call on tiny data (6 source images of 3 classes, 6 target images)."""
    kw.setdefault("progress", False)
    kw.setdefault("batch_size", 2)
    return t.AD.fit_adapt(model if model is not None else t.classifier(),
                          t.data() if source is None else source,
                          t.images() if target is None else target, **kw)


def twice(inject, t, **kw):
    """Inject twice into one fresh classifier: the second call must be refused."""
    model = t.fresh_text_classifier()
    inject(model, **kw)
    inject(model, **kw)


def frozen_fit(t):
    """fit on a classifier with nothing trainable (freeze_except kinds the model lacks)."""
    model = t.TX.freeze_except(t.fresh_text_classifier(), "lora")
    t.TX.fit(model, TEXTS, [0, 1, 2])


def pool(t, hidden=None, mask=None, **kw):
    h, m = t.hidden()
    return t.TX.mean_pool(h if hidden is None else hidden,
                          t.tensor(m if mask is None else mask, np.int64), **kw)


#: Three short texts (labels 0, 1, 2) for the text cases.
TEXTS = ["a smooth flight", "a two hour delay", "lost my bag again"]


def enter(context_manager):
    """Enter and leave a context manager (``randomized`` checks its arguments on entry)."""
    with context_manager:
        pass


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
    "transfer.target_runs": [
        bad("no targets", lambda t: t.X.target_runs({}, epochs={1: 1}), "targets"),
        bad("epochs missing", lambda t: t.X.target_runs({"a": (t.ds(), t.ds())}), "epochs"),
        bad("unknown keyword", lambda t: t.X.target_runs({"a": (t.ds(), t.ds())}, epochs={1: 1},
                                                         learning_rate=0.1), "learning_rate"),
    ],
    # ------------------------------------------------------------------ calibration
    "calibration.TemperatureScaled": [
        bad("model a string", lambda t: t.CA.TemperatureScaled("model", 1.5), "model"),
        bad("a backbone", lambda t: t.CA.TemperatureScaled(t.backbone(), 1.5), "model"),
        bad("temperature=0", lambda t: t.CA.TemperatureScaled(t.classifier(), 0), "temperature"),
        bad("temperature a string", lambda t: t.CA.TemperatureScaled(t.classifier(), "1.5"),
            "temperature"),
        bad("temperature NaN", lambda t: t.CA.TemperatureScaled(t.classifier(), float("nan")),
            "temperature"),
    ],
    "calibration.fit_temperature_to_logits": [
        bad("softmax probabilities", lambda t: t.CA.fit_temperature_to_logits(
            t.logits(softmax=True), [0, 1, 2, 0, 1, 2]), "logits"),
        bad("labels one short", lambda t: t.CA.fit_temperature_to_logits(t.logits(), [0, 1, 2, 0, 1]),
            "labels"),
        bad("label = classes", lambda t: t.CA.fit_temperature_to_logits(t.logits(), [0, 1, 2, 0, 1, 3]),
            "labels"),
        bad("NaN logits", lambda t: t.CA.fit_temperature_to_logits(t.logits() * np.nan, [0] * 6),
            "logits"),
        bad("logits strings", lambda t: t.CA.fit_temperature_to_logits([["a", "b"]], [0]), "logits"),
        bad("max_iter=0", lambda t: t.CA.fit_temperature_to_logits(t.logits(), [0] * 6, max_iter=0),
            "max_iter", tracks=TO),
    ],
    "calibration.fit_temperature": [
        bad("a backbone", lambda t: t.CA.fit_temperature(t.backbone(), t.data()), "model"),
        bad("images without labels", lambda t: t.CA.fit_temperature(t.classifier(), t.images()), "data"),
        bad("label out of range", lambda t: t.CA.fit_temperature(t.classifier(), t.data(labels=[3] * 6)),
            "data"),
        bad("NaN images", lambda t: t.CA.fit_temperature(t.classifier(), t.data(scale=np.nan)), "data"),
        bad("28x28 images", lambda t: t.CA.fit_temperature(t.classifier(), t.data(size=28)), "data"),
        bad("batch_size=0", lambda t: t.CA.fit_temperature(t.classifier(), t.data(), batch_size=0),
            "batch_size"),
        warns("0-255 images", lambda t: t.CA.fit_temperature(t.classifier(), t.data(scale=255)), "255"),
    ],
    "calibration.calibrate": [
        bad("model a string", lambda t: t.CA.calibrate("model", t.data()), "model"),
        bad("a backbone", lambda t: t.CA.calibrate(t.backbone(), t.data()), "model"),
        bad("labels -1", lambda t: t.CA.calibrate(t.classifier(), t.data(labels=[0, 1, 2, 0, 1, -1])),
            "data"),
        bad("batch_size a string", lambda t: t.CA.calibrate(t.classifier(), t.data(), batch_size="64"),
            "batch_size"),
    ],
    # ------------------------------------------------------------------ explain
    "explain.saliency": [
        bad("model a string", lambda t: t.EX.saliency("model", t.images()), "model"),
        bad("a backbone", lambda t: t.EX.saliency(t.backbone(), t.images()), "model"),
        bad("softmax outputs", lambda t: t.EX.saliency(t.softmax_model, t.images()), "model"),
        bad("NaN images", lambda t: t.EX.saliency(t.classifier(), t.images(scale=np.nan)), "images"),
        bad("28x28 images", lambda t: t.EX.saliency(t.classifier(), t.images(size=28)), "images"),
        bad("target = classes", lambda t: t.EX.saliency(t.classifier(), t.images(), 3), "target"),
        bad("targets one short", lambda t: t.EX.saliency(t.classifier(), t.images(), [0] * 5), "target"),
        bad("batch_size=0", lambda t: t.EX.saliency(t.classifier(), t.images(), batch_size=0),
            "batch_size"),
        warns("0-255 images", lambda t: t.EX.saliency(t.classifier(), t.images(2, scale=255)), "255"),
        valid("a model left in train mode", lambda t: t.EX.saliency(t.classifier(fresh=True).train(),
                                                                    t.images(2)), tracks=TO),
    ],
    "explain.gradcam": [
        bad("layer that does not exist", lambda t: t.EX.gradcam(t.classifier(), t.images(),
                                                                layer="conv99"), "layer"),
        bad("layer without a feature map", lambda t: t.EX.gradcam(t.classifier(), t.images(),
                                                                  layer="head"), "layer"),
        bad("layer a number", lambda t: t.EX.gradcam(t.classifier(), t.images(), layer=3), "layer"),
        bad("softmax outputs", lambda t: t.EX.gradcam(t.softmax_model, t.images()), "model"),
        bad("target a class name", lambda t: t.EX.gradcam(t.classifier(), t.images(), "pneumonia"),
            "target"),
        bad("text", lambda t: t.EX.gradcam(t.classifier(), ["an x-ray", "another"]), "images"),
        bad("a backbone", lambda t: t.EX.gradcam(t.backbone(), t.images()), "model"),
    ],
    "explain.input_gradients": [
        bad("model None", lambda t: t.EX.input_gradients(None, t.images()), "model"),
        bad("no images", lambda t: t.EX.input_gradients(t.classifier(), t.images(0)), "images"),
        bad("target -1", lambda t: t.EX.input_gradients(t.classifier(), t.images(), -1), "target"),
        bad("target a float", lambda t: t.EX.input_gradients(t.classifier(), t.images(), 1.0), "target"),
    ],
    "explain.layer_gradients": [
        bad("layer missing", lambda t: t.EX.layer_gradients(t.classifier(), t.images()), "layer"),
        bad("layer unknown", lambda t: t.EX.layer_gradients(t.classifier(), t.images(), "nope"), "layer"),
        bad("a backbone", lambda t: t.EX.layer_gradients(t.backbone(), t.images(), "head"), "model"),
        bad("infinite images", lambda t: t.EX.layer_gradients(t.classifier(), t.images(scale=np.inf),
                                                              "head"), "images"),
    ],
    "explain.feature_maps": [
        bad("layer missing", lambda t: t.EX.feature_maps(t.classifier(), t.images()), "layer"),
        bad("layer unknown", lambda t: t.EX.feature_maps(t.classifier(), t.images(), "nope"), "layer"),
        bad("layer without a feature map", lambda t: t.EX.feature_maps(t.classifier(), t.images(), "head"),
            "layer"),
        bad("NaN images", lambda t: t.EX.feature_maps(t.classifier(), t.images(scale=np.nan), "head"),
            "images"),
        bad("batch_size=0", lambda t: t.EX.feature_maps(t.classifier(), t.images(), "head", batch_size=0),
            "batch_size"),
    ],
    "explain.default_layer": [
        bad("model a string", lambda t: t.EX.default_layer("model", t.images()), "model"),
        bad("NaN images", lambda t: t.EX.default_layer(t.classifier(), t.images(scale=np.nan)), "images"),
        bad("28x28 images", lambda t: t.EX.default_layer(t.classifier(), t.images(size=28)), "images"),
        bad("one grey image", lambda t: t.EX.default_layer(t.classifier(), np.zeros((32, 32))), "images"),
    ],
    "explain.randomization_blocks": [
        bad("model a string", lambda t: t.EX.randomization_blocks("model"), "model"),
        bad("model None", lambda t: t.EX.randomization_blocks(None), "model"),
        bad("model a number", lambda t: t.EX.randomization_blocks(5), "model"),
    ],
    "explain.randomized": [
        bad("block unknown", lambda t: enter(t.EX.randomized(t.classifier(), ["stage9"])), "blocks"),
        bad("blocks a string", lambda t: enter(t.EX.randomized(t.classifier(), "head")), "blocks"),
        bad("blocks empty", lambda t: enter(t.EX.randomized(t.classifier(), [])), "blocks"),
        bad("seed negative", lambda t: enter(t.EX.randomized(t.classifier(), ["head"], seed=-1)), "seed"),
        bad("model a string", lambda t: enter(t.EX.randomized("model", ["head"])), "model"),
    ],
    "explain.randomization_check": [
        bad("method unknown", lambda t: t.EX.randomization_check(t.classifier(), t.images(), method="lime"),
            "method"),
        bad("cascade='yes'", lambda t: t.EX.randomization_check(t.classifier(), t.images(), cascade="yes"),
            "cascade"),
        bad("seed negative", lambda t: t.EX.randomization_check(t.classifier(), t.images(), seed=-1), "seed"),
        bad("a backbone", lambda t: t.EX.randomization_check(t.backbone(), t.images()), "model"),
        bad("NaN images", lambda t: t.EX.randomization_check(t.classifier(), t.images(scale=np.nan)),
            "images"),
        bad("softmax outputs", lambda t: t.EX.randomization_check(t.softmax_model, t.images(2),
                                                                  method="saliency"), "model"),
    ],
    "device.current_mixed_precision": [
        bad("device a number", lambda t: t.dev.current_mixed_precision(0), "device", tracks=TO),
        bad("device unknown", lambda t: t.dev.current_mixed_precision("gpu0"), "device", tracks=TO),
        bad("device None", lambda t: t.dev.current_mixed_precision(None), "device", tracks=TO),
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
    # ------------------------------------------------------------------ divergence
    "divergence.sq_distances": [
        bad("widths differ", lambda t: t.DV.sq_distances(t.feats(d=4), t.feats(d=3)), "source"),
        bad("1-D features", lambda t: t.DV.sq_distances(t.tensor(np.zeros(5)), t.feats()), "source"),
        bad("a string", lambda t: t.DV.sq_distances("features", t.feats()), "source"),
        bad("NaN", lambda t: t.DV.sq_distances(t.feats(), t.feats(scale=np.nan)), "target"),
        bad("integer features", lambda t: t.DV.sq_distances(t.tensor(np.ones((3, 2)), np.int64),
                                                            t.feats(d=2)), "source"),
        bad("a NumPy array", lambda t: t.DV.sq_distances(np.zeros((3, 4)), t.feats()), "source",
            tracks=TO),
    ],
    "divergence.median_bandwidth": [
        bad("one sample in all", lambda t: t.DV.median_bandwidth(t.feats(1), t.feats(0)), "target"),
        bad("None", lambda t: t.DV.median_bandwidth(None, t.feats()), "source"),
        bad("widths differ", lambda t: t.DV.median_bandwidth(t.feats(d=2), t.feats(d=5)), "source"),
        bad("infinite", lambda t: t.DV.median_bandwidth(t.feats(scale=np.inf), t.feats()), "source"),
    ],
    "divergence.kernel_bandwidths": [
        bad("bandwidth=0", lambda t: t.DV.kernel_bandwidths(t.feats(), t.feats(), 0.0), "bandwidth"),
        bad("bandwidth negative", lambda t: t.DV.kernel_bandwidths(t.feats(), t.feats(), [1.0, -2.0]),
            "bandwidth"),
        bad("bandwidth a string", lambda t: t.DV.kernel_bandwidths(t.feats(), t.feats(), "1.0"),
            "bandwidth"),
        bad("bandwidth True", lambda t: t.DV.kernel_bandwidths(t.feats(), t.feats(), True),
            "bandwidth"),
        bad("multipliers empty", lambda t: t.DV.kernel_bandwidths(t.feats(), t.feats(),
                                                                  multipliers=()), "multipliers"),
        bad("multipliers with 0", lambda t: t.DV.kernel_bandwidths(t.feats(), t.feats(),
                                                                   multipliers=(0.0, 1.0)),
            "multipliers"),
    ],
    "divergence.gaussian_kernel": [
        bad("bandwidth NaN", lambda t: t.DV.gaussian_kernel(t.feats(), t.feats(), float("nan")),
            "bandwidth"),
        bad("bandwidth None", lambda t: t.DV.gaussian_kernel(t.feats(), t.feats(), None),
            "bandwidth"),
        bad("widths differ", lambda t: t.DV.gaussian_kernel(t.feats(d=3), t.feats(d=4), 1.0),
            "source"),
        bad("3-D features", lambda t: t.DV.gaussian_kernel(t.tensor(np.zeros((2, 3, 4))),
                                                           t.feats(), 1.0), "source"),
    ],
    "divergence.mmd2_biased": [
        bad("widths differ", lambda t: t.DV.mmd2_biased(t.feats(d=4), t.feats(d=8)), "source"),
        bad("empty target", lambda t: t.DV.mmd2_biased(t.feats(), t.feats(0)), "target"),
        bad("NaN", lambda t: t.DV.mmd2_biased(t.feats(scale=np.nan), t.feats()), "source"),
        bad("bandwidth negative", lambda t: t.DV.mmd2_biased(t.feats(), t.feats(), bandwidth=-1.0),
            "bandwidth"),
        bad("a list of strings", lambda t: t.DV.mmd2_biased(["a", "b"], t.feats()), "source"),
    ],
    "divergence.mmd2_unbiased": [
        bad("one source sample", lambda t: t.DV.mmd2_unbiased(t.feats(1), t.feats()), "source"),
        bad("widths differ", lambda t: t.DV.mmd2_unbiased(t.feats(d=4), t.feats(d=2)), "source"),
        bad("multipliers a string", lambda t: t.DV.mmd2_unbiased(t.feats(), t.feats(),
                                                                 multipliers="1"), "multipliers"),
        bad("1-D features", lambda t: t.DV.mmd2_unbiased(t.tensor(np.zeros(6)),
                                                         t.tensor(np.ones(6))), "source"),
    ],
    "divergence.mmd2_linear": [
        bad("one target sample", lambda t: t.DV.mmd2_linear(t.feats(), t.feats(1)), "target"),
        bad("bandwidth a string", lambda t: t.DV.mmd2_linear(t.feats(), t.feats(), bandwidth="auto"),
            "bandwidth"),
        bad("widths differ", lambda t: t.DV.mmd2_linear(t.feats(d=1), t.feats(d=2)), "source"),
        bad("infinite", lambda t: t.DV.mmd2_linear(t.feats(), t.feats(scale=np.inf)), "target"),
    ],
    "divergence.covariance": [
        bad("one sample", lambda t: t.DV.covariance(t.feats(1)), "features"),
        bad("1-D", lambda t: t.DV.covariance(t.tensor(np.arange(5.0))), "features"),
        bad("NaN", lambda t: t.DV.covariance(t.feats(scale=np.nan)), "features"),
        bad("a string", lambda t: t.DV.covariance("features"), "features"),
    ],
    "divergence.coral_distance": [
        bad("widths differ", lambda t: t.DV.coral_distance(t.feats(d=4), t.feats(d=3)), "source"),
        bad("one target sample", lambda t: t.DV.coral_distance(t.feats(), t.feats(1)), "target"),
        bad("NaN", lambda t: t.DV.coral_distance(t.feats(), t.feats(scale=np.nan)), "target"),
        bad("None", lambda t: t.DV.coral_distance(t.feats(), None), "target"),
    ],
    # ------------------------------------------------------------------ adapt
    "adapt.fit_adapt": [
        bad("a backbone, not a classifier", lambda t: adapt(t, t.backbone()), "model"),
        bad("model a string", lambda t: adapt(t, "classifier"), "model"),
        bad("source label -1", lambda t: adapt(t, source=t.data(labels=[0, 1, 2, 0, 1, -1])),
            "source"),
        bad("source label = num_classes", lambda t: adapt(t, source=t.data(labels=[0, 1, 2, 0, 1, 3])),
            "source"),
        bad("soft source labels", lambda t: adapt(t, source=t.data(labels=[0.5] * 6)), "source"),
        bad("source labels one short", lambda t: adapt(t, source=(t.images(), [0, 1, 2, 0, 1])),
            "source"),
        bad("source arrays without labels", lambda t: adapt(t, source=t.images()), "source"),
        bad("target NaN", lambda t: adapt(t, target=t.images() * np.nan), "target"),
        bad("target 28x28 grey", lambda t: adapt(t, target=t.images(size=28, channels=1)), "target"),
        bad("target empty", lambda t: adapt(t, target=t.images(0)), "target"),
        bad("target text", lambda t: adapt(t, target=["a cat", "a dog"]), "target"),
        bad("target a string", lambda t: adapt(t, target="mnist-m"), "target"),
        warns("target 0-255 floats, (N, 1) labels", lambda t: adapt(
            t, t.classifier(fresh=True), (t.images(), (np.arange(6) % 3)[:, None]),
            t.images(scale=255), alignment=t.DV.coral_distance, batch_size=3), "0-255 images"),
        bad("lr negative", lambda t: adapt(t, lr=-1e-3), "lr"),
        bad("lr a string", lambda t: adapt(t, lr="1e-3"), "lr"),
        bad("weight_decay negative", lambda t: adapt(t, weight_decay=-1.0), "weight_decay"),
        bad("weight negative", lambda t: adapt(t, alignment=t.DV.coral_distance, weight=-1.0),
            "weight"),
        bad("weight a string", lambda t: adapt(t, alignment=t.DV.coral_distance, weight="1"),
            "weight"),
        bad("taps unknown", lambda t: adapt(t, alignment=t.DV.coral_distance, taps="pixels"), "taps"),
        bad("alignment a string", lambda t: adapt(t, alignment="coral"), "alignment"),
        bad("schedule='step'", lambda t: adapt(t, schedule="step"), "schedule"),
        bad("progress='no'", lambda t: adapt(t, progress="no"), "progress"),
        bad("seed negative", lambda t: adapt(t, seed=-1), "seed"),
        bad("epochs=0", lambda t: adapt(t, epochs=0), "epochs"),
        bad("batch_size > source", lambda t: adapt(t, batch_size=7), "batch_size"),
        bad("optimizer a string", lambda t: adapt(t, optimizer="sgd"), "optimizer"),
        bad("feature vectors to an image model", lambda t: adapt(
            t, source=(t.feats(6, 2), np.arange(6) % 3), target=t.feats(6, 2)), "source"),
        bad("features NaN", lambda t: adapt(t, t.mlp, source=(t.feats(6, 2, scale=np.nan),
                                                             np.arange(6) % 2),
                                            target=t.feats(6, 2)), "source"),
        bad("features too wide", lambda t: adapt(t, t.mlp, source=(t.feats(6, 3), np.arange(6) % 2),
                                                 target=t.feats(6, 3)), "source"),
    ],
    "adapt.AdaptationModel": [
        bad("classifier a backbone", lambda t: t.AD.AdaptationModel(t.backbone()), "classifier"),
        bad("classifier a string", lambda t: t.AD.AdaptationModel("classifier"), "classifier"),
        bad("taps unknown", lambda t: t.AD.AdaptationModel(t.classifier(), taps=("pixels",)),
            "taps"),
        bad("taps twice", lambda t: t.AD.AdaptationModel(t.classifier(),
                                                          taps=("logits", "logits")), "taps"),
        bad("weight negative", lambda t: t.AD.AdaptationModel(t.classifier(), weight=-0.5),
            "weight"),
        bad("weight True", lambda t: t.AD.AdaptationModel(t.classifier(), weight=True), "weight"),
        bad("alignment a number", lambda t: t.AD.AdaptationModel(t.classifier(), alignment=5),
            "alignment"),
    ],
    "adapt.deep_coral": [
        bad("weight negative", lambda t: t.AD.deep_coral(t.classifier(), t.data(), t.images(),
                                                         weight=-1.0, progress=False), "weight"),
        bad("taps empty", lambda t: t.AD.deep_coral(t.classifier(), t.data(), t.images(), taps=(),
                                                    progress=False), "taps"),
        bad("a backbone", lambda t: t.AD.deep_coral(t.backbone(), t.data(), t.images(),
                                                    progress=False), "model"),
        bad("target of another size", lambda t: t.AD.deep_coral(
            t.classifier(), t.data(), t.images(size=28), progress=False), "target"),
        bad("epochs=0", lambda t: t.AD.deep_coral(t.classifier(), t.data(), t.images(), epochs=0,
                                                  progress=False), "epochs"),
    ],
    "adapt.dan": [
        bad("estimator unknown", lambda t: t.AD.dan(t.classifier(), t.data(), t.images(),
                                                    estimator="median", progress=False),
            "estimator"),
        bad("multipliers with 0", lambda t: t.AD.dan(t.classifier(), t.data(), t.images(),
                                                     multipliers=(0.0, 1.0), progress=False),
            "multipliers"),
        bad("weight a string", lambda t: t.AD.dan(t.classifier(), t.data(), t.images(),
                                                  weight="high", progress=False), "weight"),
        bad("source label out of range", lambda t: t.AD.dan(
            t.classifier(), t.data(labels=[9] * 6), t.images(), progress=False), "source"),
        bad("lr zero", lambda t: t.AD.dan(t.classifier(), t.data(), t.images(), lr=0,
                                          progress=False), "lr"),
    ],
    "adapt.adabn": [
        bad("model a string", lambda t: t.AD.adabn("model", t.images()), "model"),
        bad("no BatchNorm", lambda t: t.AD.adabn(t.mlp, t.feats(6, 2)), "model"),
        bad("target NaN", lambda t: t.AD.adabn(t.classifier(), t.images() * np.nan), "target"),
        bad("target 28x28", lambda t: t.AD.adabn(t.classifier(), t.images(size=28)), "target"),
        bad("target empty", lambda t: t.AD.adabn(t.classifier(), t.images(0)), "target"),
        bad("batch_size=0", lambda t: t.AD.adabn(t.classifier(), t.images(), batch_size=0),
            "batch_size"),
        bad("target a string", lambda t: t.AD.adabn(t.classifier(), "mnist-m"), "target"),
    ],
    # ------------------------------------------------------------------ dann
    "dann.gradient_reversal": [
        bad("lambda_ negative", lambda t: t.DN.gradient_reversal(t.feats(), -1.0), "lambda_"),
        bad("lambda_ a string", lambda t: t.DN.gradient_reversal(t.feats(), "1"), "lambda_"),
        bad("lambda_ NaN", lambda t: t.DN.gradient_reversal(t.feats(), float("nan")), "lambda_"),
        bad("lambda_ True", lambda t: t.DN.gradient_reversal(t.feats(), True), "lambda_"),
    ],
    "dann.GradientReversal": [
        bad("lambda_ negative", lambda t: t.DN.GradientReversal(-0.1), "lambda_"),
        bad("lambda_ a string", lambda t: t.DN.GradientReversal("high"), "lambda_"),
        bad("lambda_ None", lambda t: t.DN.GradientReversal(None), "lambda_"),
        bad("lambda_ infinite", lambda t: t.DN.GradientReversal(float("inf")), "lambda_"),
    ],
    "dann.domain_discriminator": [
        bad("in_features=0", lambda t: t.DN.domain_discriminator(0), "in_features"),
        bad("in_features a string", lambda t: t.DN.domain_discriminator("128"), "in_features"),
        bad("hidden a number", lambda t: t.DN.domain_discriminator(8, 100), "hidden"),
        bad("hidden a string", lambda t: t.DN.domain_discriminator(8, "100"), "hidden"),
        bad("hidden width 0", lambda t: t.DN.domain_discriminator(8, (0,)), "hidden"),
    ],
    "dann.mlp_classifier": [
        bad("in_features=0", lambda t: t.DN.mlp_classifier(0), "in_features"),
        bad("num_classes=1", lambda t: t.DN.mlp_classifier(2, 1), "num_classes"),
        bad("hidden empty", lambda t: t.DN.mlp_classifier(2, 2, ()), "hidden"),
        bad("hidden fractional", lambda t: t.DN.mlp_classifier(2, 2, (15.5,)), "hidden"),
    ],
    "dann.ganin_digits_classifier": [
        bad("num_classes=1", lambda t: t.DN.ganin_digits_classifier(1), "num_classes"),
        bad("input_shape too small", lambda t: t.DN.ganin_digits_classifier(10, (8, 8, 3)),
            "input_shape"),
        bad("input_shape without channels", lambda t: t.DN.ganin_digits_classifier(10, (32, 32)),
            "input_shape"),
        bad("input_shape channels first", lambda t: t.DN.ganin_digits_classifier(10, (3, 32, 32)),
            "input_shape"),
        bad("mean a string", lambda t: t.DN.ganin_digits_classifier(10, mean="0.5"), "mean"),
        bad("mean for 2 channels of 3", lambda t: t.DN.ganin_digits_classifier(10, mean=(0.5, 0.5)),
            "mean"),
        bad("mean NaN", lambda t: t.DN.ganin_digits_classifier(10, mean=float("nan")), "mean"),
    ],
    "dann.build_dann": [
        bad("backbone a string", lambda t: t.DN.build_dann("course_cnn", 3), "backbone"),
        bad("num_classes=1", lambda t: t.DN.build_dann(t.backbone(), 1), "num_classes"),
        bad("trade_off negative", lambda t: t.DN.build_dann(t.backbone(), 3, trade_off=-1.0),
            "trade_off"),
        bad("lambda_ negative", lambda t: t.DN.build_dann(t.backbone(), 3, lambda_=-1.0), "lambda_"),
        bad("hidden a string", lambda t: t.DN.build_dann(t.backbone(), 3, hidden="100"), "hidden"),
        bad("dropout=1", lambda t: t.DN.build_dann(t.backbone(), 3, dropout=1.0), "dropout"),
    ],
    "dann.DANN": [
        bad("classifier a backbone", lambda t: t.DN.DANN(t.backbone()), "classifier"),
        bad("classifier a string", lambda t: t.DN.DANN("classifier"), "classifier"),
        bad("tap unknown", lambda t: t.DN.DANN(t.classifier(), tap="pixels"), "tap"),
        bad("trade_off negative", lambda t: t.DN.DANN(t.classifier(), trade_off=-0.1), "trade_off"),
        bad("lambda_ schedule negative", lambda t: t.DN.DANN(t.classifier(), lambda_=lambda p: -1.0),
            "lambda_"),
        bad("discriminator a string", lambda t: t.DN.DANN(t.classifier(), "mlp"), "discriminator"),
        bad("hidden a number", lambda t: t.DN.DANN(t.classifier(), hidden=100), "hidden"),
    ],
    "dann.CDAN": [
        bad("entropy='yes'", lambda t: t.DN.CDAN(t.classifier(), entropy="yes"), "entropy"),
        bad("classifier a string", lambda t: t.DN.CDAN("classifier"), "classifier"),
        bad("trade_off NaN", lambda t: t.DN.CDAN(t.classifier(), trade_off=float("nan")),
            "trade_off"),
        bad("lambda_ a string", lambda t: t.DN.CDAN(t.classifier(), lambda_="0.1"), "lambda_"),
    ],
    "dann.DomainAdversarialLoss": [
        bad("discriminator a string", lambda t: t.DN.DomainAdversarialLoss("mlp"), "discriminator"),
        bad("discriminator None", lambda t: t.DN.DomainAdversarialLoss(None), "discriminator"),
        bad("lambda_ negative", lambda t: t.DN.DomainAdversarialLoss(t.discriminator, -1.0),
            "lambda_"),
        bad("features of different widths", lambda t: t.DN.DomainAdversarialLoss(t.discriminator)(
            t.feats(d=4), t.feats(d=3)), "source"),
        bad("empty target batch", lambda t: t.DN.DomainAdversarialLoss(t.discriminator)(
            t.feats(d=4), t.feats(0, d=4)), "target"),
    ],
    "dann.ConditionalDomainAdversarialLoss": [
        bad("entropy='no'", lambda t: t.DN.ConditionalDomainAdversarialLoss(t.discriminator,
                                                                             entropy="no"),
            "entropy"),
        bad("discriminator a number", lambda t: t.DN.ConditionalDomainAdversarialLoss(5),
            "discriminator"),
        bad("lambda_ infinite", lambda t: t.DN.ConditionalDomainAdversarialLoss(
            t.discriminator, float("inf")), "lambda_"),
        bad("no logits", lambda t: t.DN.ConditionalDomainAdversarialLoss(t.discriminator)(
            t.feats(d=2), t.feats(d=2)), "logits"),
    ],
    "dann.LambdaSchedule": [
        bad("grl a string", lambda t: t.DN.LambdaSchedule("grl", 10), "grl"),
        bad("total_steps=0", lambda t: t.DN.LambdaSchedule(t.DN.GradientReversal(), 0),
            "total_steps"),
        bad("total_steps a float", lambda t: t.DN.LambdaSchedule(t.DN.GradientReversal(), 10.0),
            "total_steps"),
        bad("schedule a string", lambda t: t.DN.LambdaSchedule(t.DN.GradientReversal(), 10, "dann"),
            "schedule"),
    ],
    "dann.LRAnnealing": [
        bad("total_steps=0", lambda t: t.DN.LRAnnealing(0) if t.name == "keras"
            else t.DN.LRAnnealing(t.optimizer(), 0), "total_steps"),
        bad("alpha negative", lambda t: t.DN.LRAnnealing(10, alpha=-1.0) if t.name == "keras"
            else t.DN.LRAnnealing(t.optimizer(), 10, alpha=-1.0), "alpha"),
        bad("beta a string", lambda t: t.DN.LRAnnealing(10, beta="0.75") if t.name == "keras"
            else t.DN.LRAnnealing(t.optimizer(), 10, beta="0.75"), "beta"),
        bad("optimizer a string", lambda t: t.DN.LRAnnealing("sgd", 10), "optimizer", tracks=TO),
    ],
    "dann.fit_dann": [
        bad("a classifier, not a DANN", lambda t: t.DN.fit_dann(t.classifier(), t.data(), t.images(),
                                                              progress=False), "model"),
        bad("lr negative", lambda t: t.DN.fit_dann(t.dann, t.data(), t.images(), lr=-0.01), "lr"),
        bad("momentum 1.5", lambda t: t.DN.fit_dann(t.dann, t.data(), t.images(), momentum=1.5),
            "momentum"),
        bad("momentum a string", lambda t: t.DN.fit_dann(t.dann, t.data(), t.images(),
                                                         momentum="0.9"), "momentum"),
        bad("weight_decay negative", lambda t: t.DN.fit_dann(t.dann, t.data(), t.images(),
                                                             weight_decay=-1e-4), "weight_decay"),
        bad("source label out of range", lambda t: t.DN.fit_dann(
            t.dann, t.data(labels=[5] * 6), t.images(), batch_size=2, progress=False), "source"),
        bad("target NaN", lambda t: t.DN.fit_dann(t.dann, t.data(), t.images() * np.nan,
                                                  batch_size=2, progress=False), "target"),
        bad("epochs=0", lambda t: t.DN.fit_dann(t.dann, t.data(), t.images(), epochs=0,
                                                progress=False), "epochs"),
    ],
    "dann.domain_features": [
        bad("model a string", lambda t: t.DN.domain_features("dann", t.images(), t.images()), "model"),
        bad("a backbone", lambda t: t.DN.domain_features(t.backbone(), t.images(), t.images()),
            "model"),
        bad("source NaN", lambda t: t.DN.domain_features(t.dann, t.images() * np.nan, t.images()),
            "source"),
        bad("target 28x28", lambda t: t.DN.domain_features(t.dann, t.images(), t.images(size=28)),
            "target"),
        bad("target empty", lambda t: t.DN.domain_features(t.dann, t.images(), t.images(0)),
            "target"),
        bad("batch_size=0", lambda t: t.DN.domain_features(t.dann, t.images(), t.images(),
                                                           batch_size=0), "batch_size"),
    ],
    # ------------------------------------------------------------------ distill
    "distill.kd_loss": [
        bad("temperature=0", lambda t: t.KD.kd_loss(t.logits(), t.logits(), temperature=0, alpha=0.0),
            "temperature"),
        bad("temperature negative", lambda t: t.KD.kd_loss(t.logits(), t.logits(), temperature=-4,
                                                           alpha=0.0), "temperature"),
        bad("temperature a string", lambda t: t.KD.kd_loss(t.logits(), t.logits(), temperature="4",
                                                           alpha=0.0), "temperature"),
        bad("alpha above 1", lambda t: t.KD.kd_loss(t.logits(), t.logits(), temperature=4,
                                                    alpha=1.5), "alpha"),
        bad("alpha negative", lambda t: t.KD.kd_loss(t.logits(), t.logits(), temperature=4,
                                                     alpha=-0.1), "alpha"),
        bad("teacher probabilities", lambda t: t.KD.kd_loss(
            t.logits(), t.logits(softmax=True), temperature=4, alpha=0.0), "teacher_logits"),
        bad("student probabilities", lambda t: t.KD.kd_loss(
            t.logits(softmax=True), t.logits(), temperature=4, alpha=0.0), "student_logits"),
        bad("NaN student logits", lambda t: t.KD.kd_loss(
            t.tensor(np.full((6, 3), np.nan)), t.logits(), temperature=4, alpha=0.0), "student_logits"),
        bad("different class counts", lambda t: t.KD.kd_loss(t.logits(), t.logits(classes=5),
                                                             temperature=4, alpha=0.0), "teacher"),
        bad("labels missing with alpha > 0", lambda t: t.KD.kd_loss(t.logits(), t.logits(),
                                                                    temperature=4, alpha=0.5),
            "labels"),
        bad("label = classes", lambda t: t.KD.kd_loss(t.logits(), t.logits(),
                                                      t.tensor([0, 1, 2, 0, 1, 3], np.int64),
                                                      temperature=4, alpha=0.5), "labels"),
        bad("label -1", lambda t: t.KD.kd_loss(t.logits(), t.logits(),
                                               t.tensor([0, 1, 2, 0, 1, -1], np.int64),
                                               temperature=4, alpha=0.5), "labels"),
        bad("float labels", lambda t: t.KD.kd_loss(t.logits(), t.logits(), t.tensor([0.5] * 6),
                                                   temperature=4, alpha=0.5), "labels"),
        bad("a string", lambda t: t.KD.kd_loss("logits", t.logits(), temperature=4, alpha=0.0),
            "student_logits"),
    ],
    "distill.soft_target_loss": [
        bad("temperature=0", lambda t: t.KD.soft_target_loss(t.logits(), t.logits(), 0), "temperature"),
        bad("rows differ", lambda t: t.KD.soft_target_loss(t.logits(6), t.logits(4), 2.0),
            "student_logits"),
        bad("1-D logits", lambda t: t.KD.soft_target_loss(t.tensor(np.zeros(6)), t.logits(), 2.0),
            "student_logits"),
        bad("teacher probabilities", lambda t: t.KD.soft_target_loss(
            t.logits(), t.logits(softmax=True), 2.0), "teacher_logits"),
        bad("one class", lambda t: t.KD.soft_target_loss(t.logits(classes=1), t.logits(classes=1),
                                                         2.0), "student_logits"),
    ],
    "distill.temperature_softmax": [
        bad("temperature=0", lambda t: t.KD.temperature_softmax(t.logits(), 0), "temperature"),
        bad("temperature a string", lambda t: t.KD.temperature_softmax(t.logits(), "2"), "temperature"),
        bad("temperature NaN", lambda t: t.KD.temperature_softmax(t.logits(), float("nan")),
            "temperature"),
        bad("temperature True", lambda t: t.KD.temperature_softmax(t.logits(), True), "temperature"),
    ],
    "distill.attention_map": [
        bad("2-D features", lambda t: t.KD.attention_map(t.feats()), "features"),
        bad("a string", lambda t: t.KD.attention_map("maps"), "features"),
        bad("5-D features", lambda t: t.KD.attention_map(t.tensor(np.zeros((1, 2, 3, 4, 5)))),
            "features"),
    ],
    "distill.attention_transfer_loss": [
        bad("spatial sizes differ", lambda t: t.KD.attention_transfer_loss(t.maps(h=5), t.maps(h=4)),
            "student_features"),
        bad("batch sizes differ", lambda t: t.KD.attention_transfer_loss(t.maps(n=2), t.maps(n=3)),
            "student_features"),
        bad("2-D features", lambda t: t.KD.attention_transfer_loss(t.feats(), t.maps()),
            "student_features"),
        bad("a string", lambda t: t.KD.attention_transfer_loss(t.maps(), "maps"), "teacher_features"),
    ],
    "distill.hint_loss": [
        bad("shapes differ", lambda t: t.KD.hint_loss(t.maps(c=4), t.maps(c=8)), "regressed"),
        bad("a string", lambda t: t.KD.hint_loss("maps", t.maps()), "regressed"),
        bad("None", lambda t: t.KD.hint_loss(t.maps(), None), "teacher_features"),
        bad("NaN", lambda t: t.KD.hint_loss(t.maps() * np.nan, t.maps()), "regressed"),
    ],
    "tlhelpers.distill.FeatureHint": [
        bad("method unknown", lambda t: t.KD.FeatureHint("a", "b", method="l2"), "method"),
        bad("student_layer a number", lambda t: t.KD.FeatureHint(5, "b"), "student_layer"),
        bad("teacher_layer None", lambda t: t.KD.FeatureHint("a", None), "teacher_layer"),
        bad("weight negative", lambda t: t.KD.FeatureHint("a", "b", weight=-1.0), "weight"),
        bad("weight a string", lambda t: t.KD.FeatureHint("a", "b", weight="high"), "weight"),
    ],
    "distill.Distiller": [
        bad("student a string", lambda t: t.KD.Distiller("student", t.classifier()), "student"),
        bad("teacher None", lambda t: t.KD.Distiller(t.student, None), "teacher"),
        bad("the same model twice", lambda t: t.KD.Distiller(t.student, t.student), "student"),
        bad("temperature=0", lambda t: t.KD.Distiller(t.student, t.classifier(), temperature=0),
            "temperature"),
        bad("alpha=2", lambda t: t.KD.Distiller(t.student, t.classifier(), alpha=2), "alpha"),
        bad("hint a string", lambda t: t.KD.Distiller(t.student, t.classifier(), hint="block2"),
            "hint"),
        bad("different class counts", lambda t: t.KD.Distiller(t.KD.student_cnn(5, width=4),
                                                               t.classifier()), "teacher"),
        bad("a backbone as teacher", lambda t: t.KD.Distiller(t.student, t.backbone()), "teacher"),
    ],
    "distill.distill": [
        bad("temperature negative", lambda t: t.KD.distill(t.student, t.classifier(), t.data(),
                                                           temperature=-1, progress=False),
            "temperature"),
        bad("alpha a string", lambda t: t.KD.distill(t.student, t.classifier(), t.data(), alpha="0.1",
                                                     progress=False), "alpha"),
        bad("epochs=0", lambda t: t.KD.distill(t.student, t.classifier(), t.data(), epochs=0,
                                               progress=False), "epochs"),
        bad("lr negative", lambda t: t.KD.distill(t.student, t.classifier(), t.data(), lr=-1e-3,
                                                  progress=False), "lr"),
        bad("label out of range", lambda t: t.KD.distill(
            t.student, t.classifier(), t.data(labels=[7] * 6), progress=False), "data"),
        bad("NaN images", lambda t: t.KD.distill(t.student, t.classifier(), t.data(scale=np.nan),
                                                 progress=False), "data"),
        bad("28x28 images", lambda t: t.KD.distill(t.student, t.classifier(), t.data(size=28),
                                                   progress=False), "data"),
        bad("data a string", lambda t: t.KD.distill(t.student, t.classifier(), "digits",
                                                    progress=False), "data"),
    ],
    "distill.make_teacher": [
        bad("epochs=0", lambda t: t.KD.make_teacher(t.ds(), epochs=0, progress=False), "epochs"),
        bad("lr negative", lambda t: t.KD.make_teacher(t.ds(), lr=-1.0, progress=False), "lr"),
        bad("fine_tune='yes'", lambda t: t.KD.make_teacher(t.ds(), fine_tune="yes", progress=False),
            "fine_tune"),
        bad("data a string", lambda t: t.KD.make_teacher("digits", progress=False), "data"),
        bad("seed negative", lambda t: t.KD.make_teacher(t.ds(), seed=-1, progress=False), "seed"),
    ],
    "distill.teacher_hard_labels": [
        bad("teacher a string", lambda t: t.KD.teacher_hard_labels("teacher", t.images()), "teacher"),
        bad("a backbone", lambda t: t.KD.teacher_hard_labels(t.backbone(), t.images()), "teacher"),
        bad("28x28 images", lambda t: t.KD.teacher_hard_labels(t.classifier(), t.images(size=28)),
            "data"),
        bad("NaN images", lambda t: t.KD.teacher_hard_labels(t.classifier(), t.images() * np.nan),
            "data"),
        bad("batch_size=0", lambda t: t.KD.teacher_hard_labels(t.classifier(), t.images(), 0),
            "batch_size"),
    ],
    "distill.student_cnn": [
        bad("num_classes=1", lambda t: t.KD.student_cnn(1), "num_classes"),
        bad("width=0", lambda t: t.KD.student_cnn(10, width=0), "width"),
        bad("width a string", lambda t: t.KD.student_cnn(10, width="16"), "width"),
        bad("num_classes a float", lambda t: t.KD.student_cnn(10.0), "num_classes"),
    ],
    "distill.prunable_weights": [
        bad("a string", lambda t: t.KD.prunable_weights("model"), "model"),
        bad("None", lambda t: t.KD.prunable_weights(None), "model"),
        bad("a list of models", lambda t: t.KD.prunable_weights([t.student]), "model"),
    ],
    "distill.magnitude_prune": [
        bad("sparsity=1", lambda t: t.KD.magnitude_prune(t.student, 1.0), "sparsity"),
        bad("sparsity negative", lambda t: t.KD.magnitude_prune(t.student, -0.1), "sparsity"),
        bad("sparsity in percent", lambda t: t.KD.magnitude_prune(t.student, 50), "sparsity"),
        bad("scope unknown", lambda t: t.KD.magnitude_prune(t.student, 0.5, scope="local"), "scope"),
        bad("model a string", lambda t: t.KD.magnitude_prune("student", 0.5), "model"),
    ],
    "distill.sparsity_sweep": [
        bad("a sparsity of 1.5", lambda t: t.KD.sparsity_sweep(t.student, t.data(), [0.5, 1.5]),
            "sparsities"),
        bad("model a string", lambda t: t.KD.sparsity_sweep("student", t.data()), "model"),
        bad("scope unknown", lambda t: t.KD.sparsity_sweep(t.student, t.data(), scope="local"),
            "scope"),
        bad("latency_repeats=0", lambda t: t.KD.sparsity_sweep(t.student, t.data(),
                                                               latency_repeats=0),
            "latency_repeats"),
        bad("data a string", lambda t: t.KD.sparsity_sweep(t.student, "digits"), "data"),
    ],
    "distill.quantize_dynamic": [
        bad("a string", lambda t: t.KD.quantize_dynamic("model"), "model"),
        bad("None", lambda t: t.KD.quantize_dynamic(None), "model"),
        bad("a number", lambda t: t.KD.quantize_dynamic(8), "model"),
    ],
    "distill.quantize_static": [
        bad("model a string", lambda t: t.KD.quantize_static("model", t.images()), "model"),
        bad("calibration empty", lambda t: t.KD.quantize_static(t.student, t.images(0)),
            "calibration"),
        bad("calibration NaN", lambda t: t.KD.quantize_static(t.student, t.images() * np.nan),
            "calibration"),
        bad("batch_size=0", lambda t: t.KD.quantize_static(t.student, t.images(), batch_size=0),
            "batch_size"),
        bad("backend unknown", lambda t: t.KD.quantize_static(t.student, t.images(), backend="arm7"),
            "backend", tracks=TO),
    ],
    "distill.to_tflite": [
        bad("a string", lambda t: t.KD.to_tflite("model"), "model", tracks=K),
        bad("None", lambda t: t.KD.to_tflite(None), "model", tracks=K),
        bad("a number", lambda t: t.KD.to_tflite(3), "model", tracks=K),
    ],
    "distill.TFLiteModel": [
        bad("content a string", lambda t: t.KD.TFLiteModel("model.tflite", "float32", t.student),
            "content", tracks=K),
        bad("mode unknown", lambda t: t.KD.TFLiteModel(b"x", "int4", t.student), "mode", tracks=K),
        bad("source a string", lambda t: t.KD.TFLiteModel(b"x", "float", "student"), "source",
            tracks=K),
        bad("num_threads=0", lambda t: t.KD.TFLiteModel(b"x", "float", t.student, 0), "num_threads",
            tracks=K),
    ],
    "distill.compression_report": [
        bad("model a string", lambda t: t.KD.compression_report("model"), "model"),
        bad("batch_size=0", lambda t: t.KD.compression_report(t.student, t.images(), batch_size=0),
            "batch_size"),
        bad("repeats=0", lambda t: t.KD.compression_report(t.student, t.images(), repeats=0),
            "repeats"),
        bad("warmup negative", lambda t: t.KD.compression_report(t.student, t.images(), warmup=-1),
            "warmup"),
        bad("name a number", lambda t: t.KD.compression_report(t.student, t.images(), name=5), "name"),
        bad("data NaN", lambda t: t.KD.compression_report(t.student, t.images() * np.nan), "data"),
    ],
    # ------------------------------------------------------------------ finetune
    "finetune.block_names": [
        bad("a string", lambda t: t.FT.block_names("course_cnn"), "model"),
        bad("None", lambda t: t.FT.block_names(None), "model"),
        bad("a number", lambda t: t.FT.block_names(3), "model"),
    ],
    "finetune.block_parameters": [
        bad("a string", lambda t: t.FT.block_parameters("course_cnn"), "model"),
        bad("None", lambda t: t.FT.block_parameters(None), "model"),
        bad("an array", lambda t: t.FT.block_parameters(np.zeros(3)), "model"),
    ],
    "finetune.unfreeze": [
        bad("top_k too large", lambda t: t.FT.unfreeze(t.classifier(), 99), "top_k"),
        bad("top_k negative", lambda t: t.FT.unfreeze(t.classifier(), -1), "top_k"),
        bad("top_k a string", lambda t: t.FT.unfreeze(t.classifier(), "2"), "top_k"),
        bad("from_block unknown", lambda t: t.FT.unfreeze(t.classifier(), from_block="conv9"),
            "from_block"),
        bad("both top_k and from_block", lambda t: t.FT.unfreeze(t.classifier(), 1,
                                                                 from_block="block4"), "top_k"),
        bad("bn_trainable='no'", lambda t: t.FT.unfreeze(t.classifier(), 1, bn_trainable="no"),
            "bn_trainable"),
        bad("model a string", lambda t: t.FT.unfreeze("model", 1), "model"),
    ],
    "finetune.param_groups": [
        bad("lr negative", lambda t: t.FT.param_groups(t.classifier(), -1e-3), "lr"),
        bad("lr a string", lambda t: t.FT.param_groups(t.classifier(), "1e-3"), "lr"),
        bad("decay=0", lambda t: t.FT.param_groups(t.classifier(), 1e-3, decay=0.0), "decay"),
        bad("include_frozen='yes'", lambda t: t.FT.param_groups(t.classifier(), 1e-3,
                                                                include_frozen="yes"),
            "include_frozen"),
        bad("model a string", lambda t: t.FT.param_groups("model", 1e-3), "model"),
    ],
    "finetune.check_param_groups": [
        bad("a group without params", lambda t: t.FT.check_param_groups(t.classifier(), [{"lr": 1.0}]),
            "groups"),
        bad("no groups", lambda t: t.FT.check_param_groups(t.classifier(fresh=True), []), "groups"),
        bad("groups a string", lambda t: t.FT.check_param_groups(t.classifier(), "all"), "groups"),
        bad("model a string", lambda t: t.FT.check_param_groups("model", []), "model"),
    ],
    "finetune.lr_schedule": [
        bad("schedule unknown", lambda t: t.FT.lr_schedule("step", 10, peak_lr=0.1) if t.name == "keras"
            else t.FT.lr_schedule(t.optimizer(), "step", 10), "schedule"),
        bad("total_steps=0", lambda t: t.FT.lr_schedule("cosine", 0, peak_lr=0.1) if t.name == "keras"
            else t.FT.lr_schedule(t.optimizer(), "cosine", 0), "total_steps"),
        bad("warmup_steps too many", lambda t: t.FT.lr_schedule(
            "warmup_cosine", 10, peak_lr=0.1, warmup_steps=20) if t.name == "keras"
            else t.FT.lr_schedule(t.optimizer(), "warmup_cosine", 10, warmup_steps=20),
            "warmup_steps"),
        bad("peak_lr negative", lambda t: t.FT.lr_schedule("cosine", 10, peak_lr=-0.1), "peak_lr",
            tracks=K),
        bad("optimizer a string", lambda t: t.FT.lr_schedule("adam", "cosine", 10), "optimizer",
            tracks=TO),
    ],
    "finetune.GradualUnfreezing": [
        bad("every=0", lambda t: t.FT.GradualUnfreezing(t.classifier(), every=0), "every"),
        bad("start negative", lambda t: t.FT.GradualUnfreezing(t.classifier(), start=-1), "start"),
        bad("start too large", lambda t: t.FT.GradualUnfreezing(t.classifier(), start=9), "start"),
        bad("bn_trainable='no'", lambda t: t.FT.GradualUnfreezing(t.classifier(), bn_trainable="no"),
            "bn_trainable"),
        bad("model a string", lambda t: t.FT.GradualUnfreezing("model"), "model"),
    ],
    "finetune.snapshot": [
        bad("a list", lambda t: t.FT.snapshot([t.tensor(np.ones(3))]), "params"),
        bad("a string", lambda t: t.FT.snapshot("params"), "params"),
        bad("None", lambda t: t.FT.snapshot(None), "params"),
    ],
    "finetune.ewc_penalty": [
        bad("strength negative", lambda t: t.FT.ewc_penalty(*t.named(3), strength=-1.0), "strength"),
        bad("strength a string", lambda t: t.FT.ewc_penalty(*t.named(3), strength="1e3"), "strength"),
        bad("fisher misses a name", lambda t: t.FT.ewc_penalty(
            t.named(1)[0], {}, t.named(1)[0], strength=1.0), "fisher"),
        bad("anchor misses a name", lambda t: t.FT.ewc_penalty(
            t.named(1)[0], t.named(1)[0], {}, strength=1.0), "anchor"),
        bad("shapes differ", lambda t: t.FT.ewc_penalty(
            t.named(1)[0], t.named(1, size=4)[0], t.named(1)[0], strength=1.0), "fisher"),
        bad("fisher a list", lambda t: t.FT.ewc_penalty(
            t.named(1)[0], [t.tensor(np.ones(3))], t.named(1)[0], strength=1.0), "fisher"),
    ],
    "finetune.l2sp_penalty": [
        bad("alpha negative", lambda t: t.FT.l2sp_penalty(*t.named(3), alpha=-0.1, beta=0.01), "alpha"),
        bad("beta a string", lambda t: t.FT.l2sp_penalty(*t.named(3), alpha=0.1, beta="0.01"), "beta"),
        bad("anchor misses a name", lambda t: t.FT.l2sp_penalty(
            t.named(1)[0], {}, t.named(1)[0], alpha=0.1, beta=0.01), "anchor"),
        bad("anchor shape differs", lambda t: t.FT.l2sp_penalty(
            t.named(1)[0], t.named(1, size=5)[0], t.named(1)[0], alpha=0.1, beta=0.01), "anchor"),
    ],
    "finetune.fisher_diagonal": [
        bad("labels='true'", lambda t: t.FT.fisher_diagonal(t.classifier(), t.data(), labels="true"),
            "labels"),
        bad("batch_size=0", lambda t: t.FT.fisher_diagonal(t.classifier(), t.data(), batch_size=0),
            "batch_size"),
        bad("label out of range", lambda t: t.FT.fisher_diagonal(t.classifier(),
                                                                 t.data(labels=[3] * 6)), "data"),
        bad("a backbone", lambda t: t.FT.fisher_diagonal(t.backbone(), t.data()), "model"),
        bad("NaN images", lambda t: t.FT.fisher_diagonal(t.classifier(), t.data(scale=np.nan)),
            "data"),
    ],
    "finetune.EWC": [
        bad("strength negative", lambda t: t.FT.EWC(t.classifier(), t.data(), strength=-1.0),
            "strength"),
        bad("strength missing", lambda t: t.FT.EWC(t.classifier(), t.data()), "strength"),
        bad("data NaN", lambda t: t.FT.EWC(t.classifier(), t.data(scale=np.nan), strength=1.0),
            "data"),
        bad("model a string", lambda t: t.FT.EWC("model", t.data(), strength=1.0), "model"),
    ],
    "finetune.L2SP": [
        bad("alpha negative", lambda t: t.FT.L2SP(t.classifier(), alpha=-1.0), "alpha"),
        bad("beta a string", lambda t: t.FT.L2SP(t.classifier(), beta="0.01"), "beta"),
        bad("alpha NaN", lambda t: t.FT.L2SP(t.classifier(), alpha=float("nan")), "alpha"),
        bad("model a string", lambda t: t.FT.L2SP("model"), "model"),
    ],
    "finetune.class_weights": [
        bad("empty", lambda t: t.FT.class_weights([]), "labels"),
        bad("negative label", lambda t: t.FT.class_weights([0, 1, -1]), "labels"),
        bad("fractional labels", lambda t: t.FT.class_weights([0.5, 1.0]), "labels"),
        bad("num_classes too small", lambda t: t.FT.class_weights([0, 1, 2], num_classes=2),
            "num_classes"),
        bad("a class without examples", lambda t: t.FT.class_weights([0, 0, 2], num_classes=3),
            "labels"),
    ],
    "finetune.balanced_sampler": [
        bad("data a string", lambda t: t.FT.balanced_sampler("digits"), "data", tracks=K),
        bad("batch_size=0", lambda t: t.FT.balanced_sampler(t.data(), batch_size=0), "batch_size",
            tracks=K),
        bad("label -1", lambda t: t.FT.balanced_sampler(t.data(labels=[0, 1, 2, 0, 1, -1])), "data",
            tracks=K),
        bad("seed negative", lambda t: t.FT.balanced_sampler(t.data(), seed=-1), "seed", tracks=K),
        bad("negative label", lambda t: t.FT.balanced_sampler([0, 1, -1]), "labels", tracks=TO),
        bad("num_samples=0", lambda t: t.FT.balanced_sampler([0, 1, 1], 0), "num_samples",
            tracks=TO),
        bad("labels fractional", lambda t: t.FT.balanced_sampler([0.5, 1.0]), "labels", tracks=TO),
        bad("seed negative", lambda t: t.FT.balanced_sampler([0, 1, 1], seed=-1), "seed", tracks=TO),
    ],
    "finetune.fit": [
        bad("a backbone", lambda t: t.FT.fit(t.backbone(), t.data()), "model"),
        bad("label out of range", lambda t: t.FT.fit(t.classifier(), t.data(labels=[5] * 6)), "data"),
        bad("NaN images", lambda t: t.FT.fit(t.classifier(), t.data(scale=np.nan)), "data"),
        bad("28x28 images", lambda t: t.FT.fit(t.classifier(), t.data(size=28)), "data"),
        bad("lr negative", lambda t: t.FT.fit(t.classifier(), t.data(), lr=-1e-3), "lr"),
        bad("epochs=0", lambda t: t.FT.fit(t.classifier(), t.data(), epochs=0), "epochs"),
        bad("balanced='yes'", lambda t: t.FT.fit(t.classifier(), t.data(), balanced="yes"),
            "balanced"),
        bad("class_weight negative", lambda t: t.FT.fit(t.classifier(), t.data(),
                                                        class_weight=[1.0, -1.0, 1.0]),
            "class_weight"),
        bad("seed negative", lambda t: t.FT.fit(t.classifier(), t.data(), seed=-1), "seed"),
        bad("validation labels out of range", lambda t: t.FT.fit(
            t.classifier(), t.data(), validation=t.data(labels=[4] * 6)), "validation"),
    ],
    "finetune.LRSchedule": [
        bad("empty", lambda t: t.FT.LRSchedule([]), "values", tracks=K),
        bad("negative rate", lambda t: t.FT.LRSchedule([0.1, -0.1]), "values", tracks=K),
        bad("NaN rate", lambda t: t.FT.LRSchedule([0.1, float("nan")]), "values", tracks=K),
    ],
    "finetune.ParamGroupOptimizer": [
        bad("optimizer a string", lambda t: t.FT.ParamGroupOptimizer("adam", []), "optimizer",
            tracks=K),
        bad("groups empty", lambda t: t.FT.ParamGroupOptimizer(t.keras_adam(), []), "groups",
            tracks=K),
        bad("groups a string", lambda t: t.FT.ParamGroupOptimizer(t.keras_adam(), "all"), "groups",
            tracks=K),
    ],
    "finetune.PenalizedModel": [
        bad("model a string", lambda t: t.FT.PenalizedModel("model", lambda: 0.0), "model", tracks=K),
        bad("penalty a number", lambda t: t.FT.PenalizedModel(t.classifier(), 0.1), "penalty",
            tracks=K),
        bad("penalty None", lambda t: t.FT.PenalizedModel(t.classifier(), None), "penalty", tracks=K),
    ],
    "finetune.EarlyStopping": [
        bad("patience=0", lambda t: t.FT.EarlyStopping(patience=0), "patience", tracks=TO),
        bad("mode unknown", lambda t: t.FT.EarlyStopping(mode="up"), "mode", tracks=TO),
        bad("min_delta negative", lambda t: t.FT.EarlyStopping(min_delta=-0.1), "min_delta",
            tracks=TO),
        bad("restore_best_weights='yes'", lambda t: t.FT.EarlyStopping(restore_best_weights="yes"),
            "restore_best_weights", tracks=TO),
        bad("monitor a number", lambda t: t.FT.EarlyStopping(5), "monitor", tracks=TO),
    ],
    "finetune.ReduceLROnPlateau": [
        bad("factor=1.5", lambda t: t.FT.ReduceLROnPlateau(factor=1.5), "factor", tracks=TO),
        bad("patience=0", lambda t: t.FT.ReduceLROnPlateau(patience=0), "patience", tracks=TO),
        bad("min_lr negative", lambda t: t.FT.ReduceLROnPlateau(min_lr=-1.0), "min_lr", tracks=TO),
        bad("mode unknown", lambda t: t.FT.ReduceLROnPlateau(mode="lower"), "mode", tracks=TO),
    ],
    # ------------------------------------------------------------------ text (Lesson 06)
    "text.TextEncoder": [
        bad("backbone a string", lambda t: t.TX.TextEncoder("minilm"), "backbone", tracks=K),
        bad("bert a string", lambda t: t.TX.TextEncoder("minilm"), "bert", tracks=TO),
        bad("an encoder in an encoder", lambda t: t.TX.TextEncoder(t.text_encoder), "backbone",
            tracks=K),
        bad("an encoder in an encoder", lambda t: t.TX.TextEncoder(t.text_encoder), "bert",
            tracks=TO),
        bad("max_length=0", lambda t: t.TX.TextEncoder(t.bert, max_length=0), "max_length"),
        bad("max_length beyond 512 positions", lambda t: t.TX.TextEncoder(t.bert, max_length=1000),
            "max_length"),
        bad("pretrained='yes'", lambda t: t.TX.TextEncoder(t.bert, pretrained="yes"), "pretrained"),
        valid("max_length a NumPy int", lambda t: t.TX.TextEncoder(t.bert, max_length=np.int64(32))),
    ],
    "text.load_encoder": [
        bad("max_length=0", lambda t: t.TX.load_encoder(0), "max_length"),
        bad("max_length a string", lambda t: t.TX.load_encoder("128"), "max_length"),
        bad("max_length=True", lambda t: t.TX.load_encoder(True), "max_length"),
        bad("max_length=513", lambda t: t.TX.load_encoder(513), "max_length"),
    ],
    "text.scratch_encoder": [
        bad("num_layers=0", lambda t: t.TX.scratch_encoder(num_layers=0), "num_layers"),
        bad("hidden_size not a multiple of num_heads",
            lambda t: t.TX.scratch_encoder(hidden_size=10, num_heads=3), "hidden_size"),
        bad("num_heads a string", lambda t: t.TX.scratch_encoder(num_heads="2"), "num_heads"),
        bad("intermediate_size 0.5", lambda t: t.TX.scratch_encoder(intermediate_size=0.5),
            "intermediate_size"),
        bad("max_length=2", lambda t: t.TX.scratch_encoder(max_length=2), "max_length"),
        bad("seed negative", lambda t: t.TX.scratch_encoder(seed=-1), "seed"),
        valid("NumPy ints", lambda t: t.TX.scratch_encoder(**{**t.TINY_BERT,
                                                               "hidden_size": np.int64(8)})),
    ],
    "text.mean_pool": [
        bad("pooled (N, d) instead of token states", lambda t: pool(t, hidden=t.feats(2, 4)),
            "hidden"),
        bad("mask one token short", lambda t: pool(t, mask=np.ones((2, 4))), "mask"),
        bad("mask (N, L, 1)", lambda t: pool(t, mask=np.ones((2, 5, 1))), "mask"),
        bad("eps=0", lambda t: pool(t, eps=0), "eps"),
        bad("eps a string", lambda t: pool(t, eps="1e-9"), "eps"),
        bad("NumPy token states", lambda t: t.TX.mean_pool(np.ones((2, 5, 4)), t.hidden()[1]),
            "hidden", tracks=TO),
        valid("boolean mask", lambda t: t.TX.mean_pool(t.hidden()[0], t.tensor(t.hidden()[1], bool))),
    ],
    "text.embed": [
        bad("a single string", lambda t: t.TX.embed(t.text_encoder, "a smooth flight"), "texts"),
        bad("no texts", lambda t: t.TX.embed(t.text_encoder, []), "texts"),
        bad("an empty text", lambda t: t.TX.embed(t.text_encoder, ["fine", "  "]), "texts"),
        bad("a number among the texts", lambda t: t.TX.embed(t.text_encoder, ["fine", 3]), "texts"),
        bad("a classifier, not an encoder", lambda t: t.TX.embed(t.text_classifier, TEXTS),
            "encoder"),
        bad("batch_size=0", lambda t: t.TX.embed(t.text_encoder, TEXTS, batch_size=0), "batch_size"),
        bad("normalize='yes'", lambda t: t.TX.embed(t.text_encoder, TEXTS, normalize="yes"),
            "normalize"),
        valid("a pandas Series of texts", lambda t: t.TX.embed(
            t.text_encoder, __import__("pandas").Series(TEXTS), progress=False)),
    ],
    "text.LoRA": [
        bad("base a string", lambda t: t.lora("dense"), "base", tracks=K),
        bad("base unbuilt", lambda t: t.lora(t.linear(built=False)), "base", tracks=K),
        bad("rank=0", lambda t: t.lora(t.linear(), rank=0), "rank", tracks=K),
        bad("rank 2.5", lambda t: t.lora(t.linear(), rank=2.5), "rank", tracks=K),
        bad("alpha=0", lambda t: t.lora(t.linear(), alpha=0), "alpha", tracks=K),
        valid("alpha an int, rank a NumPy int", lambda t: t.lora(t.linear(), rank=np.int64(2),
                                                                  alpha=16), tracks=K),
    ],
    "text.LoRALinear": [
        bad("base a string", lambda t: t.lora("linear"), "base", tracks=TO),
        bad("base a whole model", lambda t: t.lora(t.text_classifier), "base", tracks=TO),
        bad("rank=0", lambda t: t.lora(t.linear(), rank=0), "rank", tracks=TO),
        bad("rank 2.5", lambda t: t.lora(t.linear(), rank=2.5), "rank", tracks=TO),
        bad("alpha=0", lambda t: t.lora(t.linear(), alpha=0), "alpha", tracks=TO),
        valid("alpha an int, rank a NumPy int", lambda t: t.lora(t.linear(), rank=np.int64(2),
                                                                  alpha=16), tracks=TO),
    ],
    "text.Adapter": [
        bad("dim=0", lambda t: t.TX.Adapter(0), "dim"),
        bad("bottleneck=0", lambda t: t.TX.Adapter(8, bottleneck=0), "bottleneck"),
        bad("bottleneck a string", lambda t: t.TX.Adapter(8, bottleneck="16"), "bottleneck"),
        bad("init_std negative", lambda t: t.TX.Adapter(8, init_std=-1e-3), "init_std"),
        valid("NumPy ints", lambda t: t.TX.Adapter(np.int64(8), bottleneck=np.int64(2))),
    ],
    "text.inject_lora": [
        bad("model a string", lambda t: t.TX.inject_lora("minilm"), "model"),
        bad("a bag of embeddings", lambda t: t.TX.inject_lora(t.bag), "model"),
        bad("rank=0", lambda t: t.TX.inject_lora(t.text_classifier, rank=0), "rank"),
        bad("alpha negative", lambda t: t.TX.inject_lora(t.text_classifier, alpha=-16), "alpha"),
        bad("unknown target", lambda t: t.TX.inject_lora(t.text_classifier, targets=["q", "v"]),
            "targets"),
        bad("no targets", lambda t: t.TX.inject_lora(t.text_classifier, targets=[]), "targets"),
        bad("injected twice", lambda t: twice(t.TX.inject_lora, t, targets="value"), "model"),
        valid("targets a set", lambda t: t.TX.inject_lora(t.fresh_text_classifier(),
                                                          targets={"query", "value"})),
    ],
    "text.inject_adapters": [
        bad("model a string", lambda t: t.TX.inject_adapters("minilm"), "model"),
        bad("bottleneck=0", lambda t: t.TX.inject_adapters(t.text_classifier, bottleneck=0),
            "bottleneck"),
        bad("a LoRA target", lambda t: t.TX.inject_adapters(t.text_classifier, targets="query"),
            "targets"),
        bad("no targets", lambda t: t.TX.inject_adapters(t.text_classifier, targets=()), "targets"),
        bad("inserted twice", lambda t: twice(t.TX.inject_adapters, t, targets="output"), "model"),
        valid("one target as a string", lambda t: t.TX.inject_adapters(t.fresh_text_classifier(),
                                                                       targets="output")),
    ],
    "text.freeze_except": [
        bad("model a string", lambda t: t.TX.freeze_except("minilm"), "model"),
        bad("unknown kind", lambda t: t.TX.freeze_except(t.text_classifier, ["lora_A"]), "kinds"),
        bad("no kinds", lambda t: t.TX.freeze_except(t.text_classifier, []), "kinds"),
        bad("kinds a number", lambda t: t.TX.freeze_except(t.text_classifier, 3), "kinds"),
        valid("one kind as a string", lambda t: t.TX.freeze_except(t.fresh_text_classifier(), "head")),
    ],
    "text.count_by_kind": [
        bad("model a string", lambda t: t.TX.count_by_kind("minilm"), "model"),
        bad("model None", lambda t: t.TX.count_by_kind(None), "model"),
        bad("a dict of weights", lambda t: t.TX.count_by_kind({"head": np.zeros(3)}), "model"),
        valid("any layer", lambda t: t.TX.count_by_kind(t.linear())),
    ],
    "text.TextClassifier": [
        bad("encoder a string", lambda t: t.TX.TextClassifier("minilm", 3), "encoder"),
        bad("a bag of embeddings as encoder", lambda t: t.TX.TextClassifier(t.bag, 3), "encoder"),
        bad("n_classes=1", lambda t: t.TX.TextClassifier(t.text_encoder, 1), "n_classes"),
        bad("n_classes a string", lambda t: t.TX.TextClassifier(t.text_encoder, "3"), "n_classes"),
        bad("freeze unknown", lambda t: t.TX.TextClassifier(t.text_encoder, 3, freeze="all"),
            "freeze"),
        bad("dropout=1", lambda t: t.TX.TextClassifier(t.text_encoder, 3, dropout=1.0), "dropout"),
        valid("n_classes a NumPy int", lambda t: t.TX.TextClassifier(
            t.text_encoder, np.max([0, 1, 2]) + 1)),
    ],
    "text.set_freeze": [
        bad("model a string", lambda t: t.TX.set_freeze("minilm", "head"), "model"),
        bad("an encoder, no head", lambda t: t.TX.set_freeze(t.text_encoder, "head"), "model"),
        bad("freeze unknown", lambda t: t.TX.set_freeze(t.text_classifier, "all"), "freeze"),
        bad("freeze capitalised", lambda t: t.TX.set_freeze(t.text_classifier, "Head"), "freeze"),
        bad("freeze None", lambda t: t.TX.set_freeze(t.text_classifier, None), "freeze"),
        valid("a NumPy string", lambda t: t.TX.set_freeze(t.text_classifier, np.str_("full"))),
    ],
    "text.BagOfEmbeddings": [
        bad("n_classes=1", lambda t: t.TX.BagOfEmbeddings(1), "n_classes"),
        bad("table 1-D", lambda t: t.TX.BagOfEmbeddings(3, table=np.zeros(384)), "table"),
        bad("table of another vocabulary", lambda t: t.TX.BagOfEmbeddings(
            3, table=np.zeros((100, 4))), "table"),
        bad("dim=0", lambda t: t.TX.BagOfEmbeddings(3, dim=0), "dim"),
        bad("trainable='yes'", lambda t: t.TX.BagOfEmbeddings(3, dim=4, trainable="yes"),
            "trainable"),
        bad("max_length=0", lambda t: t.TX.BagOfEmbeddings(3, dim=4, max_length=0), "max_length"),
        valid("a float64 table", lambda t: t.TX.BagOfEmbeddings(
            3, table=np.zeros((t.TX.core.encoder_config()["vocab_size"], 4)))),
    ],
    "text.fit": [
        bad("model a string", lambda t: t.TX.fit("minilm", TEXTS, [0, 1, 2]), "model"),
        bad("an encoder, no head", lambda t: t.TX.fit(t.text_encoder, TEXTS, [0, 1, 2]), "model"),
        bad("nothing trainable", frozen_fit, "model"),
        bad("a single string", lambda t: t.TX.fit(t.bag, "a smooth flight", [0]), "texts"),
        bad("one label short", lambda t: t.TX.fit(t.bag, TEXTS, [0, 1]), "labels"),
        bad("string labels", lambda t: t.TX.fit(t.bag, TEXTS, ["neg", "neu", "pos"]), "labels"),
        bad("a class the head lacks", lambda t: t.TX.fit(t.bag, TEXTS, [0, 1, 3]), "labels"),
        bad("label -1", lambda t: t.TX.fit(t.bag, TEXTS, [0, 1, -1]), "labels"),
        bad("epochs=0", lambda t: t.TX.fit(t.bag, TEXTS, [0, 1, 2], epochs=0), "epochs"),
        bad("batch_size=0", lambda t: t.TX.fit(t.bag, TEXTS, [0, 1, 2], batch_size=0), "batch_size"),
        bad("lr a string", lambda t: t.TX.fit(t.bag, TEXTS, [0, 1, 2], lr="5e-5"), "lr"),
        bad("lr negative", lambda t: t.TX.fit(t.bag, TEXTS, [0, 1, 2], lr=-1e-3), "lr"),
        bad("weight_decay negative", lambda t: t.TX.fit(t.bag, TEXTS, [0, 1, 2], weight_decay=-0.01),
            "weight_decay"),
        bad("seed negative", lambda t: t.TX.fit(t.bag, TEXTS, [0, 1, 2], seed=-1), "seed"),
        valid("whole-number float labels in a column", lambda t: t.TX.fit(
            t.bag, TEXTS, np.array([[0.0], [1.0], [2.0]]), epochs=1)),
    ],
    "text.predict": [
        bad("model a string", lambda t: t.TX.predict("minilm", TEXTS), "model"),
        bad("an encoder, no head", lambda t: t.TX.predict(t.text_encoder, TEXTS), "model"),
        bad("no texts", lambda t: t.TX.predict(t.bag, []), "texts"),
        bad("a single string", lambda t: t.TX.predict(t.bag, "a smooth flight"), "texts"),
        bad("batch_size=0", lambda t: t.TX.predict(t.bag, TEXTS, batch_size=0), "batch_size"),
        valid("a tuple of texts, batch_size a NumPy int", lambda t: t.TX.predict(
            t.bag, tuple(TEXTS), batch_size=np.int64(2))),
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
