"""Domain-adversarial training (DANN) in Keras 3, and its conditional successor CDAN.
Mirrors :mod:`tlhelpers.torch.dann` name for name.

Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR 17(59), 2016: a domain
discriminator learns to tell source features from target features, and the feature
extractor learns to fool it, through a **gradient reversal layer** (GRL): the identity on
the forward pass, −λ·g on the backward pass. One ordinary minimisation of

    CE(source logits, source labels) + trade_off · BCE(discriminator(GRL_λ(features)), domain)

then trains the discriminator to *minimise* the domain loss and the feature extractor to
*maximise* it (scaled by λ), the saddle point of the paper's eq. (10).

* :func:`gradient_reversal`, :class:`GradientReversal` — the GRL (``tf.custom_gradient``;
  λ is a non-trainable variable, so it changes every step without retracing).
* :func:`domain_discriminator` — the paper's MLP (features → 100 → ReLU → 1 logit).
* :class:`DomainAdversarialLoss` — GRL + discriminator + binary cross-entropy; an
  ``alignment=`` for :func:`tlhelpers.keras.adapt.fit_adapt`.
* :class:`DANN` — an :class:`~tlhelpers.keras.adapt.AdaptationModel` (``train_step`` under
  ``fit``) whose GRL follows λ_p and which logs the discriminator's accuracy;
  :func:`build_dann` makes one on any backbone; :func:`fit_dann` trains it with the
  paper's recipe (SGD, momentum 0.9, the annealed learning rate).
* :class:`CDAN` — Long et al.'s conditional adversarial network (NeurIPS 2018).
* :class:`LambdaSchedule`, :class:`LRAnnealing` — the two schedules as Keras callbacks.
* :func:`ganin_digits_classifier`, :func:`mlp_classifier` — the paper's digit network and a
  small MLP for 2-D toy data (rotated moons).
* :func:`domain_features` — features of both domains, for :mod:`tlhelpers.embedding`'s plots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from .. import checks
from ..adapt import check_inputs
from ..checks import positive_int
from ..dann import check_channel_mean, check_lambda, check_sgd
from ..schedules import dann_lambda, dann_lr
from .adapt import AdaptationModel, _classifier_classes, _feature_tensor, _target_images, fit_adapt
from .backbones import build_classifier

__all__ = ["CDAN", "DANN", "ConditionalDomainAdversarialLoss", "DomainAdversarialLoss", "GradientReversal",
           "LRAnnealing", "LambdaSchedule", "build_dann", "domain_discriminator", "domain_features",
           "fit_dann", "ganin_digits_classifier", "gradient_reversal", "mlp_classifier"]

Schedule = Callable[[float], float]


# --------------------------------------------------------------------------------------
# The gradient reversal layer
# --------------------------------------------------------------------------------------

def gradient_reversal(x, lambda_: Any = 1.0):
    r"""The gradient reversal "pseudo-function" R_λ of Ganin et al. (JMLR 2016, eq. 17):

    .. math:: R_\lambda(x) = x, \qquad \frac{\partial R_\lambda}{\partial x} = -\lambda I.

    Whatever follows it is trained to *decrease* its loss, whatever precedes it receives
    −λ times that loss's gradient, i.e. is trained to *increase* it. ``lambda_``: a number
    >= 0, or a scalar variable/tensor (read once per call).
    """
    import tensorflow as tf

    if not (isinstance(lambda_, keras.Variable) or tf.is_tensor(lambda_)):
        lambda_ = check_lambda(lambda_)
    lam = ops.convert_to_tensor(lambda_)

    @tf.custom_gradient
    def reverse(t):
        def grad(dy):
            return dy * -ops.cast(lam, dy.dtype)
        return tf.identity(t), grad

    return reverse(ops.convert_to_tensor(x))


@keras.saving.register_keras_serializable(package="tlhelpers")
class GradientReversal(layers.Layer):
    r"""Gradient reversal layer (Ganin & Lempitsky, ICML 2015; Ganin et al., JMLR 2016, §3.3):
    the identity forward, −λ·g backward.

    .. math:: \text{forward: } y = x, \qquad \text{backward: } \frac{\partial L}{\partial x} = -\lambda \frac{\partial L}{\partial y}

    ``lambda_`` (λ >= 0) lives in a non-trainable variable: set it at any time, e.g. every
    step by :class:`LambdaSchedule`, and a compiled ``train_step`` uses the new value
    without retracing. No effect on inference.
    """

    def __init__(self, lambda_: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lambda = self.add_weight(shape=(), initializer=keras.initializers.Constant(check_lambda(lambda_)),
                                       trainable=False, name="lambda")

    @property
    def lambda_(self) -> float:
        return float(ops.convert_to_numpy(self._lambda))

    @lambda_.setter
    def lambda_(self, value: float) -> None:
        self._lambda.assign(check_lambda(value))

    def call(self, x):
        return gradient_reversal(x, self._lambda)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "lambda_": self.lambda_}


def _lambda_at(lambda_: float | Schedule, progress: float) -> float:
    """λ itself, or the schedule's value at progress p, checked."""
    return check_lambda(lambda_(progress) if callable(lambda_) else lambda_, "lambda_")


# --------------------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------------------

def _hidden_sizes(hidden: Any) -> tuple[int, ...]:
    try:
        sizes = tuple(hidden)
    except TypeError:
        sizes = None
    if sizes is None or isinstance(hidden, str):
        raise ValueError(f"hidden must be a sequence of layer widths, e.g. (100,), got {hidden!r}.")
    return tuple(positive_int(h, "hidden widths") for h in sizes)


def domain_discriminator(in_features: int, hidden: Sequence[int] = (100,), *,
                         name: str = "domain_discriminator") -> keras.Sequential:
    """The domain classifier G_d: features → (Dense → ReLU) per ``hidden`` width → one logit.

    ``hidden=(100,)`` is Ganin et al.'s for MNIST → MNIST-M; TLlib's image default is
    ``(1024, 1024)`` with BatchNorm. Weights Glorot-uniform, biases zero (as in PyTorch's track).
    Output: ``(N, 1)`` logits of "this came from the source".
    """
    in_features = positive_int(in_features, "in_features")
    return keras.Sequential([keras.Input((in_features,)),
                             *[layers.Dense(h, activation="relu") for h in _hidden_sizes(hidden)],
                             layers.Dense(1)], name=name)


def _check_image_shape(input_shape: Any) -> tuple[int, int, int]:
    try:
        h, w, c = (positive_int(v, "input_shape entries") for v in input_shape)
    except (TypeError, ValueError):
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}.") from None
    if min(h, w) < 16:
        raise ValueError(f"input_shape {input_shape!r} is too small: two 5×5 convolutions and two 2×2 "
                         "poolings need images of at least 16×16.")
    return h, w, c


def ganin_digits_classifier(num_classes: int = 10, input_shape: Sequence[int] = (32, 32, 3), *,
                            mean: float | Sequence[float] = 0.5) -> keras.Model:
    """Ganin et al.'s network for MNIST → MNIST-M (JMLR 2016, Fig. 4a), as a functional
    classifier: a backbone model (the feature extractor G_f) and a ``"head"`` (the label
    predictor G_y).

    G_f: subtract ``mean`` (per channel; the paper subtracts the training images' mean) →
    conv 5×5 ×32 → ReLU → max-pool 2×2 → conv 5×5 ×48 → ReLU → max-pool 2×2 → flatten
    (48·4·4 = 768 features for 28×28 inputs, 1200 for 32×32). G_y: 100 → ReLU → 100 →
    ReLU → ``num_classes`` logits. Keras's default initialisation (Glorot-uniform, zero
    bias), as in the PyTorch track.
    """
    h, w, c = _check_image_shape(input_shape)
    mean = check_channel_mean(mean, c)
    num_classes = positive_int(num_classes, "num_classes")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}.")
    m = np.broadcast_to(np.asarray(mean, dtype=np.float32), (c,)).copy()
    inputs = keras.Input((h, w, c), name="image")
    x = layers.Normalization(mean=m, variance=np.ones(c, np.float32), name="mean_subtract")(inputs)
    x = layers.Conv2D(32, 5, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(48, 5, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    backbone = keras.Model(inputs, layers.Flatten(name="flatten")(x), name="ganin_features")
    width = backbone.output_shape[-1]
    head = keras.Sequential([keras.Input((width,)), layers.Dense(100, activation="relu"),
                             layers.Dense(100, activation="relu"), layers.Dense(num_classes)], name="head")
    image = keras.Input((h, w, c), name="image")
    return keras.Model(image, head(backbone(image)), name="ganin_digits_classifier")


def mlp_classifier(in_features: int = 2, num_classes: int = 2, hidden: Sequence[int] = (15,)) -> keras.Model:
    """A small classifier for feature vectors (e.g. the 2-D rotated moons):
    backbone = (Dense → ReLU) per ``hidden`` width, head = Dense → ``num_classes`` logits."""
    in_features = positive_int(in_features, "in_features")
    sizes = _hidden_sizes(hidden)
    if not sizes:
        raise ValueError("hidden must hold at least one width: the backbone's output is the features.")
    backbone = keras.Sequential([keras.Input((in_features,)), *[layers.Dense(h, activation="relu") for h in sizes]],
                                name="mlp_features")
    return build_classifier(backbone, num_classes, freeze_backbone=False, bn_inference=False)


# --------------------------------------------------------------------------------------
# The domain-adversarial loss
# --------------------------------------------------------------------------------------

def _check_pair(source, target, what: str) -> None:
    """Static checks (shapes known when the graph is built or in eager calls)."""
    for name, t in ((f"source {what}", source), (f"target {what}", target)):
        shape = getattr(t, "shape", None)
        if shape is None or len(shape) != 2:
            raise ValueError(f"{name} must be a 2-D tensor (batch, features), got "
                             f"{tuple(shape) if shape is not None else type(t).__name__}.")
        if shape[0] == 0:
            raise ValueError(f"{name} is an empty batch: the discriminator needs examples of both domains.")
    if None not in (source.shape[1], target.shape[1]) and source.shape[1] != target.shape[1]:
        raise ValueError(f"source and target {what} must have the same width, got {source.shape[1]} "
                         f"and {target.shape[1]}.")


def _domain_bce(logits, n_source, weights=None):
    """Binary cross-entropy (source = 1, target = 0), averaged within each domain and then
    over the two domains (so unequal batch sizes weigh the domains equally), and the
    discriminator's accuracy, averaged the same way. ``weights``: per-example weights,
    each domain's normalised to sum to 1 (CDAN+E)."""
    logits = ops.reshape(logits, (-1,))
    labels = ops.cast(ops.arange(ops.shape(logits)[0]) < n_source, logits.dtype)
    losses = ops.binary_crossentropy(labels, logits, from_logits=True)
    correct = ops.stop_gradient(ops.cast(ops.equal(logits > 0, labels > 0.5), logits.dtype))
    w = ops.ones_like(logits) if weights is None else ops.cast(weights, logits.dtype)
    loss = accuracy = 0.0
    for mask in (labels, 1.0 - labels):
        loss += 0.5 * ops.sum(losses * w * mask) / ops.sum(w * mask)
        accuracy += 0.5 * ops.sum(correct * mask) / ops.sum(mask)
    return loss, accuracy


@keras.saving.register_keras_serializable(package="tlhelpers")
class DomainAdversarialLoss(layers.Layer):
    r"""The domain-adversarial loss of DANN: a discriminator behind a gradient reversal layer.

    .. math:: L_d = \tfrac12\big[\operatorname{BCE}(G_d(R_\lambda(f_s)), 1) + \operatorname{BCE}(G_d(R_\lambda(f_t)), 0)\big]

    Called as ``loss(source_features, target_features)``, it is an ``alignment=`` for
    :func:`tlhelpers.keras.adapt.fit_adapt`: the discriminator's weights train with the
    classifier's, minimising L_d, while the features receive −λ·∂L_d/∂f. The features must
    **not** go through ``stop_gradient`` (COURSE.md §5 item 4): the reversed gradient is the
    adversarial signal. :meth:`loss_and_accuracy` also gives the discriminator's accuracy.
    """

    def __init__(self, discriminator: layers.Layer, lambda_: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(discriminator, layers.Layer):
            raise TypeError(f"discriminator must be a Keras model or layer mapping features to one logit, "
                            f"got {type(discriminator).__name__}.")
        self.grl = GradientReversal(lambda_)
        self.discriminator = discriminator
        self.built = True  # no weights of its own

    def _discriminate(self, h):
        logits = self.discriminator(self.grl(h))
        if len(logits.shape) not in (1, 2) or (len(logits.shape) == 2 and logits.shape[-1] != 1):
            raise ValueError(f"discriminator must output one logit per example, got shape {tuple(logits.shape)}.")
        return logits

    def loss_and_accuracy(self, source, target):
        _check_pair(source, target, "features")
        return _domain_bce(self._discriminate(ops.concatenate([source, target], axis=0)), ops.shape(source)[0])

    def __call__(self, *args: Any, **kwargs: Any):
        self._check_inputs(*args, **kwargs)  # a clear error before Keras's layer machinery
        return super().__call__(*args, **kwargs)

    def _check_inputs(self, source, target) -> None:
        _check_pair(source, target, "features")

    def call(self, source, target):
        return self.loss_and_accuracy(source, target)[0]


@keras.saving.register_keras_serializable(package="tlhelpers")
class ConditionalDomainAdversarialLoss(DomainAdversarialLoss):
    r"""CDAN's loss (Long et al., "Conditional Adversarial Domain Adaptation", NeurIPS 2018).

    DANN aligns the *marginal* feature distributions; when the classes form separate modes,
    a discriminator that is fooled can still pair source class A with target class B. CDAN
    conditions the discriminator on the classifier's prediction g = softmax(logits) through
    the multilinear map h = g ⊗ f (the flattened outer product, C·d values), so it aligns
    the joint distribution of features and predictions:

    .. math:: L_d = \tfrac12\big[\operatorname{BCE}(G_d(R_\lambda(g_s \otimes f_s)), 1) + \operatorname{BCE}(G_d(R_\lambda(g_t \otimes f_t)), 0)\big]

    g is held constant (``stop_gradient``, as in the authors' code), so the reversed
    gradient reaches the features. ``entropy=True`` is CDAN+E: examples weighted by
    w = 1 + exp(−H(g)), each domain's weights normalised, so confident examples count more.
    Called as ``loss(source_features, target_features, source_logits, target_logits)``.
    """

    def __init__(self, discriminator: layers.Layer, lambda_: float = 1.0, *, entropy: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(discriminator, lambda_, **kwargs)
        if not isinstance(entropy, bool):
            raise ValueError(f"entropy must be True or False, got {entropy!r}.")
        self.entropy = entropy

    def _check_inputs(self, source, target, source_logits=None, target_logits=None) -> None:
        if source_logits is None or target_logits is None:
            raise ValueError("CDAN needs the logits too: loss(source_features, target_features, "
                             "source_logits, target_logits).")
        _check_pair(source, target, "features")
        _check_pair(source_logits, target_logits, "logits")

    def loss_and_accuracy(self, source, target, source_logits=None, target_logits=None):
        self._check_inputs(source, target, source_logits, target_logits)
        f = ops.concatenate([source, target], axis=0)
        g = ops.stop_gradient(ops.softmax(ops.concatenate([source_logits, target_logits], axis=0), axis=1))
        h = ops.reshape(g[:, :, None] * f[:, None, :], (-1, g.shape[1] * f.shape[1]))  # index c·d + j
        weights = None
        if self.entropy:
            entropy = -ops.sum(g * ops.log(ops.maximum(g, 1e-12)), axis=1)
            weights = 1.0 + ops.exp(-entropy)
        return _domain_bce(self._discriminate(h), ops.shape(source)[0], weights)

    def call(self, source, target, source_logits=None, target_logits=None):
        return self.loss_and_accuracy(source, target, source_logits, target_logits)[0]


# --------------------------------------------------------------------------------------
# DANN and CDAN models
# --------------------------------------------------------------------------------------

def _check_lambda_schedule(lambda_: Any) -> float | Schedule:
    if callable(lambda_):
        _lambda_at(lambda_, 0.0)
        return lambda_
    return check_lambda(lambda_)


def _tap_width(classifier: keras.Model, tap: str) -> int:
    if not isinstance(classifier, keras.Model):
        raise TypeError(f"classifier must be a Keras model, got {type(classifier).__name__}.")
    tensor = _feature_tensor(classifier) if tap == "features" else classifier.outputs[0]
    return int(tensor.shape[-1])


class DANN(AdaptationModel):
    """A classifier (as ``build_classifier`` makes) trained domain-adversarially; a
    ``keras.Model`` whose ``train_step`` works under ``compile`` + ``fit``.

    ``call(x)`` is the classifier's. :meth:`set_progress` (called before every step by
    :func:`tlhelpers.keras.adapt.fit_adapt`, or use :class:`LambdaSchedule` with a plain
    ``fit``) sets the GRL's coefficient to ``lambda_(p)`` (default Ganin et al.'s λ_p); each
    step then minimises

        CE(source) + trade_off · L_d(features),

    and reports the discriminator's accuracy as ``domain_accuracy`` (0.5 = features that the
    discriminator cannot tell apart). ``discriminator`` defaults to
    :func:`domain_discriminator` (``hidden`` widths) on the ``tap`` activations.
    """

    def __init__(self, classifier: keras.Model, discriminator: layers.Layer | None = None, *,
                 lambda_: float | Schedule = dann_lambda, trade_off: float = 1.0, tap: str = "features",
                 hidden: Sequence[int] = (100,), **kwargs: Any) -> None:
        if tap not in ("features", "logits"):
            raise ValueError(f"tap must be 'features' or 'logits', got {tap!r}.")
        if discriminator is None:
            discriminator = domain_discriminator(_tap_width(classifier, tap), hidden)
        self._setup(classifier, DomainAdversarialLoss(discriminator), lambda_, trade_off, tap, kwargs)

    def _setup(self, classifier, loss, lambda_, trade_off, tap, kwargs) -> None:
        AdaptationModel.__init__(self, classifier, loss, taps=(tap,), weight=check_lambda(trade_off, "trade_off"),
                                 **kwargs)
        self.lambda_ = _check_lambda_schedule(lambda_)
        self.trackers["domain_accuracy"] = keras.metrics.Mean(name="domain_accuracy")
        self.set_progress(0.0)

    @property
    def grl(self) -> GradientReversal:
        return self.alignment.grl

    @property
    def discriminator(self) -> layers.Layer:
        return self.alignment.discriminator

    def set_progress(self, progress: float) -> None:
        """Set the alignment weight and the GRL's λ for training progress p ∈ [0, 1]."""
        super().set_progress(progress)
        self.grl.lambda_ = _lambda_at(self.lambda_, progress)

    def alignment_terms(self, source: dict, target: dict) -> tuple[Any, dict[str, Any]]:
        tap = self.taps[0]
        loss, accuracy = self.alignment.loss_and_accuracy(source[tap], target[tap])
        return loss, {"domain_accuracy": accuracy}


class CDAN(DANN):
    """Conditional adversarial domain adaptation (Long et al., NeurIPS 2018): :class:`DANN`
    whose discriminator sees softmax(logits) ⊗ features (see
    :class:`ConditionalDomainAdversarialLoss`); ``entropy=True`` is CDAN+E. The default
    discriminator takes num_classes × feature-width inputs."""

    def __init__(self, classifier: keras.Model, discriminator: layers.Layer | None = None, *,
                 lambda_: float | Schedule = dann_lambda, trade_off: float = 1.0, entropy: bool = False,
                 hidden: Sequence[int] = (100,), **kwargs: Any) -> None:
        if discriminator is None:
            width = _tap_width(classifier, "features") * _tap_width(classifier, "logits")
            discriminator = domain_discriminator(width, hidden)
        self._setup(classifier, ConditionalDomainAdversarialLoss(discriminator, entropy=entropy), lambda_,
                    trade_off, "features", kwargs)

    def alignment_terms(self, source: dict, target: dict) -> tuple[Any, dict[str, Any]]:
        loss, accuracy = self.alignment.loss_and_accuracy(source["features"], target["features"],
                                                          source["logits"], target["logits"])
        return loss, {"domain_accuracy": accuracy}


def build_dann(backbone: keras.Model, num_classes: int, *, hidden: Sequence[int] = (100,),
               lambda_: float | Schedule = dann_lambda, trade_off: float = 1.0, dropout: float = 0.0,
               freeze_backbone: bool = False, bn_inference: bool = True) -> DANN:
    """A :class:`DANN` on any backbone (e.g. ``course_cnn()``): ``build_classifier`` (one
    Dense head; ``dropout``, ``freeze_backbone``, ``bn_inference`` as there) and a
    :func:`domain_discriminator` with ``hidden`` widths on the backbone's features. The
    backbone is fine-tuned by default: adversarial alignment has to move the features."""
    classifier = build_classifier(backbone, num_classes, freeze_backbone=freeze_backbone, dropout=dropout,
                                  bn_inference=bn_inference)
    return DANN(classifier, lambda_=lambda_, trade_off=trade_off, hidden=hidden)


# --------------------------------------------------------------------------------------
# Schedules as callbacks, and the paper's training recipe
# --------------------------------------------------------------------------------------

class LambdaSchedule(keras.callbacks.Callback):
    """Sets a :class:`GradientReversal`'s λ before every training step: λ =
    ``schedule(step / total_steps)`` (default :func:`~tlhelpers.schedules.dann_lambda`).

    ``dann.fit(batches, callbacks=[LambdaSchedule(dann.grl, total_steps)])``. The step
    count goes on across ``fit`` calls; steps past the end keep the last value. The layer's
    λ is a variable, so the compiled step is not retraced.
    """

    def __init__(self, grl: GradientReversal, total_steps: int, schedule: Schedule = dann_lambda) -> None:
        super().__init__()
        if not isinstance(grl, GradientReversal):
            raise TypeError(f"grl must be a GradientReversal layer, got {type(grl).__name__}.")
        if not callable(schedule):
            raise TypeError(f"schedule must be a function of the progress p in [0, 1], got {schedule!r}.")
        self.grl, self.total, self.schedule = grl, positive_int(total_steps, "total_steps"), schedule
        self.last_step = 0
        _lambda_at(schedule, 0.0)

    def on_train_batch_begin(self, batch, logs=None):
        self.grl.lambda_ = _lambda_at(self.schedule, min(self.last_step, self.total - 1) / self.total)
        self.last_step += 1


class LRAnnealing(keras.callbacks.Callback):
    """Ganin et al.'s learning-rate annealing μ_p = μ0 / (1 + α p)^β, before every step.

    μ0 is the optimizer's own rate when training starts (read once: later ``fit`` calls go
    on annealing from it, not from the annealed value); the rate variable is assigned in
    place, so the optimizer — its iteration count, momentum and moments — is never rebuilt
    (COURSE.md §5 item 5). Per-variable rate multipliers that an optimizer applies on top
    of its base rate keep their ratios. Needs an optimizer with a constant learning rate.
    """

    def __init__(self, total_steps: int, *, alpha: float = 10.0, beta: float = 0.75) -> None:
        super().__init__()
        self.total = positive_int(total_steps, "total_steps")
        dann_lr(0.0, alpha=alpha, beta=beta)  # checks alpha and beta
        self.alpha, self.beta = alpha, beta
        self.base_lr: float | None = None
        self.last_step = 0

    def on_train_begin(self, logs=None):
        if self.base_lr is None:
            optimizer = self.model.optimizer
            if isinstance(optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
                raise ValueError("LRAnnealing sets the learning rate itself: give the optimizer a constant "
                                 "learning rate, not a LearningRateSchedule.")
            self.base_lr = float(ops.convert_to_numpy(optimizer.learning_rate))

    def on_train_batch_begin(self, batch, logs=None):
        p = min(self.last_step, self.total - 1) / self.total
        self.model.optimizer.learning_rate.assign(self.base_lr * dann_lr(p, alpha=self.alpha, beta=self.beta))
        self.last_step += 1


def fit_dann(model: DANN, source: Any, target: Any, *, epochs: int = 1, batch_size: int = 64,
             lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 0.0,
             schedule: str | Schedule | None = dann_lr, **fit_kwargs: Any) -> dict[str, list[float]]:
    """Train a :class:`DANN` (or :class:`CDAN`) with the paper's recipe, through
    :func:`tlhelpers.keras.adapt.fit_adapt`: SGD with momentum 0.9, μ0 = 0.01, annealed by
    ``schedule`` (default μ0 / (1 + 10p)^0.75), ``batch_size`` source + ``batch_size`` target
    images per step, λ_p in the GRL. Returns the per-epoch history, with
    ``domain_accuracy``; other keyword arguments (``validation``, ``seed``, ``progress``)
    go to ``fit_adapt``.
    """
    check_sgd(lr, momentum, weight_decay)
    if not isinstance(model, DANN):
        raise TypeError(f"model must be a DANN or CDAN (see build_dann), got {type(model).__name__}; "
                        "for source-only training use tlhelpers.keras.adapt.fit_adapt.")
    optimizer = keras.optimizers.SGD(learning_rate=lr, momentum=momentum,
                                     weight_decay=weight_decay if weight_decay else None)
    return fit_adapt(model, source, target, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                     schedule=schedule, **fit_kwargs)


def domain_features(model: keras.Model, source: Any, target: Any, *,
                    batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The backbone's features of the source and target inputs, ``(F_source, F_target)``,
    in inference mode — what :func:`tlhelpers.embedding.plot_domains` draws."""
    classifier = model.classifier if isinstance(model, AdaptationModel) else model
    _classifier_classes(classifier, "model")
    batch_size = positive_int(batch_size, "batch_size")
    for name, data in (("source", source), ("target", target)):
        check_inputs(data, name, expected=checks.model_input_shape(classifier))
    features = keras.Model(classifier.inputs, _feature_tensor(classifier))
    out = []
    for name, data in (("source", source), ("target", target)):
        x = _target_images(data)
        if x.ndim == 0 or len(x) == 0:
            raise ValueError(f"{name} is empty.")
        out.append(np.asarray(features.predict(x, batch_size=positive_int(batch_size, "batch_size"), verbose=0)))
    return out[0], out[1]
