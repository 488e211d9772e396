"""Domain-adversarial training (DANN) in PyTorch, and its conditional successor CDAN.
Mirrors :mod:`tlhelpers.keras.dann` name for name.

Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR 17(59), 2016: a domain
discriminator learns to tell source features from target features, and the feature
extractor learns to fool it, through a **gradient reversal layer** (GRL): the identity on
the forward pass, −λ·g on the backward pass. One ordinary minimisation of

    CE(source logits, source labels) + trade_off · BCE(discriminator(GRL_λ(features)), domain)

then trains the discriminator to *minimise* the domain loss and the feature extractor to
*maximise* it (scaled by λ), the saddle point of the paper's eq. (10).

* :func:`gradient_reversal`, :class:`GradientReversal` — the GRL (a ``torch.autograd.Function``).
* :func:`domain_discriminator` — the paper's MLP (features → 100 → ReLU → 1 logit).
* :class:`DomainAdversarialLoss` — GRL + discriminator + binary cross-entropy; an
  ``alignment=`` for :func:`tlhelpers.torch.adapt.fit_adapt`.
* :class:`DANN` — an :class:`~tlhelpers.torch.adapt.AdaptationModel` whose GRL follows
  λ_p and which logs the discriminator's accuracy; :func:`build_dann` makes one on any
  backbone; :func:`fit_dann` trains it with the paper's recipe (SGD, momentum 0.9, the
  annealed learning rate) through the shared source+target loop.
* :class:`CDAN` — Long et al.'s conditional adversarial network (NeurIPS 2018).
* :class:`LambdaSchedule`, :class:`LRAnnealing` — the two schedules for hand-written loops.
* :func:`ganin_digits_classifier`, :func:`mlp_classifier` — the paper's digit network and a
  small MLP for 2-D toy data (rotated moons).
* :func:`domain_features` — features of both domains, for :mod:`tlhelpers.embedding`'s plots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import checks
from ..adapt import check_inputs
from ..checks import positive_int
from ..dann import check_channel_mean, check_lambda, check_sgd
from ..schedules import dann_lambda, dann_lr
from .adapt import AdaptationModel, _classifier_classes, fit_adapt
from .backbones import Classifier, _model_device, build_classifier, extract_features, feature_dim

__all__ = ["CDAN", "DANN", "ConditionalDomainAdversarialLoss", "DomainAdversarialLoss", "GradientReversal",
           "LRAnnealing", "LambdaSchedule", "build_dann", "domain_discriminator", "domain_features",
           "fit_dann", "ganin_digits_classifier", "gradient_reversal", "mlp_classifier"]

Schedule = Callable[[float], float]


# --------------------------------------------------------------------------------------
# The gradient reversal layer
# --------------------------------------------------------------------------------------

class _ReverseGradient(torch.autograd.Function):
    """y = x forward; dL/dx = −λ · dL/dy backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lambda_: float) -> torch.Tensor:
        ctx.lambda_ = lambda_
        return x.view_as(x)  # a view, not x itself: autograd needs a new node

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad * -ctx.lambda_, None


def gradient_reversal(x: torch.Tensor, lambda_: float = 1.0) -> torch.Tensor:
    r"""The gradient reversal "pseudo-function" R_λ of Ganin et al. (JMLR 2016, eq. 17):

    .. math:: R_\lambda(x) = x, \qquad \frac{\partial R_\lambda}{\partial x} = -\lambda I.

    Whatever follows it is trained to *decrease* its loss, whatever precedes it receives
    −λ times that loss's gradient, i.e. is trained to *increase* it.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}.")
    return _ReverseGradient.apply(x, check_lambda(lambda_))


class GradientReversal(nn.Module):
    r"""Gradient reversal layer (Ganin & Lempitsky, ICML 2015; Ganin et al., JMLR 2016, §3.3):
    the identity forward, −λ·g backward.

    .. math:: \text{forward: } y = x, \qquad \text{backward: } \frac{\partial L}{\partial x} = -\lambda \frac{\partial L}{\partial y}

    ``lambda_`` (λ >= 0) can be changed at any time, e.g. every step by
    :class:`LambdaSchedule`; it has no parameters and no effect on inference.
    """

    def __init__(self, lambda_: float = 1.0) -> None:
        check_lambda(lambda_)  # here, not inside nn.Module's __setattr__
        super().__init__()
        self.lambda_ = lambda_

    @property
    def lambda_(self) -> float:
        return self._lambda

    @lambda_.setter
    def lambda_(self, value: float) -> None:
        self._lambda = check_lambda(value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ReverseGradient.apply(x, self._lambda)

    def extra_repr(self) -> str:
        return f"lambda_={self._lambda:g}"


def _lambda_at(lambda_: float | Schedule, progress: float) -> float:
    """λ itself, or the schedule's value at progress p, checked."""
    return check_lambda(lambda_(progress) if callable(lambda_) else lambda_, "lambda_")


# --------------------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------------------

def _dense(n_in: int, n_out: int) -> nn.Linear:
    """``nn.Linear`` with Keras's Dense initialisation (Glorot-uniform, zero bias)."""
    layer = nn.Linear(n_in, n_out)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def _hidden_sizes(hidden: Any) -> tuple[int, ...]:
    try:
        sizes = tuple(hidden)
    except TypeError:
        sizes = None
    if sizes is None or isinstance(hidden, str):
        raise ValueError(f"hidden must be a sequence of layer widths, e.g. (100,), got {hidden!r}.")
    return tuple(positive_int(h, "hidden widths") for h in sizes)


def _mlp(n_in: int, hidden: tuple[int, ...], n_out: int | None) -> nn.Sequential:
    """Linear → ReLU for each hidden width, then (if ``n_out``) a linear output layer."""
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [_dense(n_in, h), nn.ReLU()]
        n_in = h
    if n_out is not None:
        layers.append(_dense(n_in, n_out))
    return nn.Sequential(*layers)


def domain_discriminator(in_features: int, hidden: Sequence[int] = (100,)) -> nn.Sequential:
    """The domain classifier G_d: features → (Linear → ReLU) per ``hidden`` width → one logit.

    ``hidden=(100,)`` is Ganin et al.'s for MNIST → MNIST-M; TLlib's image default is
    ``(1024, 1024)`` with BatchNorm. Weights Glorot-uniform, biases zero (as in Keras).
    Output: ``(N, 1)`` logits of "this came from the source".
    """
    return _mlp(positive_int(in_features, "in_features"), _hidden_sizes(hidden), 1)


class _MeanSubtract(nn.Module):
    def __init__(self, mean: Any, channels: int) -> None:
        super().__init__()
        m = torch.as_tensor(np.broadcast_to(np.asarray(mean, dtype=np.float32), (channels,)).copy())
        self.register_buffer("mean", m.reshape(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.mean


class _Features(nn.Module):
    """A feature extractor with the attributes the course's helpers read."""

    def __init__(self, body: nn.Module, out_features: int, input_shape: tuple) -> None:
        super().__init__()
        self.body, self.out_features, self.input_shape = body, out_features, input_shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


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
                            mean: float | Sequence[float] = 0.5) -> Classifier:
    """Ganin et al.'s network for MNIST → MNIST-M (JMLR 2016, Fig. 4a), as a classifier
    with ``.backbone`` (the feature extractor G_f) and ``.head`` (the label predictor G_y).

    G_f: subtract ``mean`` (per channel; the paper subtracts the training images' mean) →
    conv 5×5 ×32 → ReLU → max-pool 2×2 → conv 5×5 ×48 → ReLU → max-pool 2×2 → flatten
    (48·4·4 = 768 features for 28×28 inputs, 1200 for 32×32). G_y: 100 → ReLU → 100 →
    ReLU → ``num_classes`` logits. Weights Glorot-uniform, biases zero, as in the Keras track.
    ``input_shape`` is (H, W, C), as the data are.
    """
    h, w, c = _check_image_shape(input_shape)
    mean = check_channel_mean(mean, c)
    num_classes = positive_int(num_classes, "num_classes")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}.")
    convs = [nn.Conv2d(c, 32, 5), nn.Conv2d(32, 48, 5)]
    for conv in convs:
        nn.init.xavier_uniform_(conv.weight)
        nn.init.zeros_(conv.bias)
    body = nn.Sequential(_MeanSubtract(mean, c), convs[0], nn.ReLU(), nn.MaxPool2d(2, 2),
                         convs[1], nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten())
    out = 48 * (((h - 4) // 2 - 4) // 2) * (((w - 4) // 2 - 4) // 2)
    model = Classifier(_Features(body, out, (c, h, w)), num_classes)
    model.head = _mlp(out, (100, 100), num_classes)
    return model


def mlp_classifier(in_features: int = 2, num_classes: int = 2, hidden: Sequence[int] = (15,)) -> Classifier:
    """A small classifier for feature vectors (e.g. the 2-D rotated moons):
    backbone = (Linear → ReLU) per ``hidden`` width, head = Linear → ``num_classes`` logits."""
    in_features = positive_int(in_features, "in_features")
    sizes = _hidden_sizes(hidden)
    if not sizes:
        raise ValueError("hidden must hold at least one width: the backbone's output is the features.")
    backbone = _Features(_mlp(in_features, sizes, None), sizes[-1], (in_features,))
    return build_classifier(backbone, num_classes, freeze_backbone=False, bn_inference=False)


# --------------------------------------------------------------------------------------
# The domain-adversarial loss
# --------------------------------------------------------------------------------------

def _check_pair(source: torch.Tensor, target: torch.Tensor, what: str) -> None:
    for name, t in ((f"source {what}", source), (f"target {what}", target)):
        if not isinstance(t, torch.Tensor) or t.ndim != 2:
            raise ValueError(f"{name} must be a 2-D tensor (batch, features), got "
                             f"{tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__}.")
        if len(t) == 0:
            raise ValueError(f"{name} is an empty batch: the discriminator needs examples of both domains.")
    if source.shape[1] != target.shape[1]:
        raise ValueError(f"source and target {what} must have the same width, got {source.shape[1]} "
                         f"and {target.shape[1]}.")


def _domain_bce(logits: torch.Tensor, n_source: int,
                weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary cross-entropy (source = 1, target = 0), averaged within each domain and then
    over the two domains (so unequal batch sizes weigh the domains equally), and the
    discriminator's accuracy, averaged the same way. ``weights``: per-example weights,
    each domain's normalised to sum to 1 (CDAN+E)."""
    logits = logits.reshape(-1)
    labels = torch.zeros_like(logits)
    labels[:n_source] = 1.0
    losses = nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    correct = ((logits > 0) == (labels > 0.5)).to(logits.dtype).detach()
    terms = []
    for part in (slice(0, n_source), slice(n_source, None)):
        w = weights[part] / weights[part].sum() if weights is not None else None
        terms.append(((losses[part] * w).sum() if w is not None else losses[part].mean(),
                      correct[part].mean()))
    return 0.5 * (terms[0][0] + terms[1][0]), 0.5 * (terms[0][1] + terms[1][1])


class DomainAdversarialLoss(nn.Module):
    r"""The domain-adversarial loss of DANN: a discriminator behind a gradient reversal layer.

    .. math:: L_d = \tfrac12\big[\operatorname{BCE}(G_d(R_\lambda(f_s)), 1) + \operatorname{BCE}(G_d(R_\lambda(f_t)), 0)\big]

    Called as ``loss(source_features, target_features)``, it is an ``alignment=`` for
    :func:`tlhelpers.torch.adapt.fit_adapt`: the discriminator's parameters train with the
    classifier's, minimising L_d, while the features receive −λ·∂L_d/∂f. The features must
    **not** be detached (COURSE.md §5 item 4): the reversed gradient is the adversarial signal.
    :meth:`loss_and_accuracy` also gives the discriminator's accuracy (0.5 = chance).
    """

    def __init__(self, discriminator: nn.Module, lambda_: float = 1.0) -> None:
        super().__init__()
        if not isinstance(discriminator, nn.Module):
            raise TypeError(f"discriminator must be a torch.nn.Module mapping features to one logit, "
                            f"got {type(discriminator).__name__}.")
        self.grl = GradientReversal(lambda_)
        self.discriminator = discriminator

    def __call__(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        self._check_inputs(*args, **kwargs)  # a clear error before nn.Module's call machinery
        return super().__call__(*args, **kwargs)

    def _check_inputs(self, source: torch.Tensor, target: torch.Tensor) -> None:
        _check_pair(source, target, "features")

    def loss_and_accuracy(self, source: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_inputs(source, target)
        logits = self.discriminator(self.grl(torch.cat([source, target])))
        if logits.shape not in ((len(source) + len(target), 1), (len(source) + len(target),)):
            raise ValueError(f"discriminator must output one logit per example, got shape {tuple(logits.shape)}.")
        return _domain_bce(logits, len(source))

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss_and_accuracy(source, target)[0]


class ConditionalDomainAdversarialLoss(DomainAdversarialLoss):
    r"""CDAN's loss (Long et al., "Conditional Adversarial Domain Adaptation", NeurIPS 2018).

    DANN aligns the *marginal* feature distributions; when the classes form separate modes,
    a discriminator that is fooled can still pair source class A with target class B. CDAN
    conditions the discriminator on the classifier's prediction g = softmax(logits) through
    the multilinear map h = g ⊗ f (the flattened outer product, C·d values), so it aligns
    the joint distribution of features and predictions:

    .. math:: L_d = \tfrac12\big[\operatorname{BCE}(G_d(R_\lambda(g_s \otimes f_s)), 1) + \operatorname{BCE}(G_d(R_\lambda(g_t \otimes f_t)), 0)\big]

    g is detached (as in the authors' code), so the reversed gradient reaches the features.
    ``entropy=True`` is CDAN+E: examples weighted by w = 1 + exp(−H(g)), each domain's
    weights normalised, so confidently classified examples count more.
    Called as ``loss(source_features, target_features, source_logits, target_logits)``.
    """

    def __init__(self, discriminator: nn.Module, lambda_: float = 1.0, *, entropy: bool = False) -> None:
        super().__init__(discriminator, lambda_)
        if not isinstance(entropy, bool):
            raise ValueError(f"entropy must be True or False, got {entropy!r}.")
        self.entropy = entropy

    def _check_inputs(self, source: torch.Tensor, target: torch.Tensor, source_logits: torch.Tensor = None,
                      target_logits: torch.Tensor = None) -> None:
        if source_logits is None or target_logits is None:
            raise ValueError("CDAN needs the logits too: loss(source_features, target_features, "
                             "source_logits, target_logits).")
        _check_pair(source, target, "features")
        _check_pair(source_logits, target_logits, "logits")

    def loss_and_accuracy(self, source: torch.Tensor, target: torch.Tensor, source_logits: torch.Tensor = None,
                          target_logits: torch.Tensor = None) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_inputs(source, target, source_logits, target_logits)
        if len(source_logits) != len(source) or len(target_logits) != len(target):
            raise ValueError("features and logits must come from the same examples (same batch sizes).")
        f = torch.cat([source, target])
        g = torch.softmax(torch.cat([source_logits, target_logits]), dim=1).detach()
        h = (g.unsqueeze(2) * f.unsqueeze(1)).flatten(1)  # (N, C·d), index c·d + j
        logits = self.discriminator(self.grl(h))
        weights = None
        if self.entropy:
            entropy = -(g * torch.log(g.clamp_min(1e-12))).sum(1)
            weights = 1.0 + torch.exp(-entropy)
        return _domain_bce(logits, len(source), weights)

    def forward(self, source, target, source_logits=None, target_logits=None) -> torch.Tensor:
        return self.loss_and_accuracy(source, target, source_logits, target_logits)[0]


# --------------------------------------------------------------------------------------
# DANN and CDAN models
# --------------------------------------------------------------------------------------

def _check_lambda_schedule(lambda_: Any) -> float | Schedule:
    if callable(lambda_):
        _lambda_at(lambda_, 0.0)
        return lambda_
    return check_lambda(lambda_)


class DANN(AdaptationModel):
    """A classifier (``.backbone`` → ``.head``) trained domain-adversarially.

    ``forward(x)`` is the classifier's. Each training step (:meth:`step_losses`, called by
    :func:`tlhelpers.torch.adapt.fit_adapt` with the progress p) first sets the GRL's
    coefficient to ``lambda_(p)`` (default Ganin et al.'s λ_p), then computes

        CE(source) + trade_off · L_d(features),

    and reports the discriminator's accuracy as ``domain_accuracy`` (0.5 = features that the
    discriminator cannot tell apart). ``discriminator`` defaults to
    :func:`domain_discriminator` (``hidden`` widths) on the ``tap`` activations.
    """

    def __init__(self, classifier: nn.Module, discriminator: nn.Module | None = None, *,
                 lambda_: float | Schedule = dann_lambda, trade_off: float = 1.0, tap: str = "features",
                 hidden: Sequence[int] = (100,)) -> None:
        if tap not in ("features", "logits"):
            raise ValueError(f"tap must be 'features' or 'logits', got {tap!r}.")
        if discriminator is None:
            discriminator = domain_discriminator(self._tap_width(classifier, tap), hidden)
        self._setup(classifier, DomainAdversarialLoss(discriminator), lambda_, trade_off, tap)

    def _setup(self, classifier: nn.Module, loss: DomainAdversarialLoss, lambda_: float | Schedule,
               trade_off: float, tap: str) -> None:
        AdaptationModel.__init__(self, classifier, loss, taps=(tap,), weight=check_lambda(trade_off, "trade_off"))
        self.lambda_ = _check_lambda_schedule(lambda_)
        self.set_progress(0.0)

    @staticmethod
    def _tap_width(classifier: nn.Module, tap: str) -> int:
        if not isinstance(getattr(classifier, "backbone", None), nn.Module):
            raise TypeError(f"classifier must have .backbone and .head modules (as build_classifier makes), "
                            f"got a {type(classifier).__name__}.")
        if tap == "features":
            return feature_dim(classifier.backbone)
        return int(next(m for m in reversed(list(classifier.head.modules())) if isinstance(m, nn.Linear)).out_features)

    @property
    def grl(self) -> GradientReversal:
        return self.alignment.grl

    @property
    def discriminator(self) -> nn.Module:
        return self.alignment.discriminator

    def set_progress(self, progress: float) -> None:
        """Set the GRL's λ for training progress p ∈ [0, 1]."""
        self.grl.lambda_ = _lambda_at(self.lambda_, progress)

    def alignment_terms(self, source: dict, target: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        tap = self.taps[0]
        loss, accuracy = self.alignment.loss_and_accuracy(source[tap], target[tap])
        return loss, {"domain_accuracy": accuracy}

    def step_losses(self, xs: torch.Tensor, ys: torch.Tensor, xt: torch.Tensor,
                    progress: float = 0.0) -> dict[str, torch.Tensor]:
        self.set_progress(progress)
        return super().step_losses(xs, ys, xt, progress)


class CDAN(DANN):
    """Conditional adversarial domain adaptation (Long et al., NeurIPS 2018): :class:`DANN`
    whose discriminator sees softmax(logits) ⊗ features (see
    :class:`ConditionalDomainAdversarialLoss`); ``entropy=True`` is CDAN+E. The default
    discriminator takes num_classes × feature-width inputs."""

    def __init__(self, classifier: nn.Module, discriminator: nn.Module | None = None, *,
                 lambda_: float | Schedule = dann_lambda, trade_off: float = 1.0, entropy: bool = False,
                 hidden: Sequence[int] = (100,)) -> None:
        if discriminator is None:
            width = self._tap_width(classifier, "features") * self._tap_width(classifier, "logits")
            discriminator = domain_discriminator(width, hidden)
        self._setup(classifier, ConditionalDomainAdversarialLoss(discriminator, entropy=entropy), lambda_,
                    trade_off, "features")

    def alignment_terms(self, source: dict, target: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss, accuracy = self.alignment.loss_and_accuracy(source["features"], target["features"],
                                                          source["logits"], target["logits"])
        return loss, {"domain_accuracy": accuracy}


def build_dann(backbone: nn.Module, num_classes: int, *, hidden: Sequence[int] = (100,),
               lambda_: float | Schedule = dann_lambda, trade_off: float = 1.0, dropout: float = 0.0,
               freeze_backbone: bool = False, bn_inference: bool = True) -> DANN:
    """A :class:`DANN` on any backbone (e.g. ``course_cnn()``): ``build_classifier`` (one
    linear head; ``dropout``, ``freeze_backbone``, ``bn_inference`` as there) and a
    :func:`domain_discriminator` with ``hidden`` widths on the backbone's features. The
    backbone is fine-tuned by default: adversarial alignment has to move the features."""
    classifier = build_classifier(backbone, num_classes, freeze_backbone=freeze_backbone, dropout=dropout,
                                  bn_inference=bn_inference)
    return DANN(classifier, lambda_=lambda_, trade_off=trade_off, hidden=hidden)


# --------------------------------------------------------------------------------------
# Schedules for hand-written loops, and the paper's training recipe
# --------------------------------------------------------------------------------------

class LambdaSchedule:
    """Sets a :class:`GradientReversal`'s λ from the training progress, stepped like an LR
    scheduler: λ = ``schedule(step / total_steps)`` (default :func:`~tlhelpers.schedules.dann_lambda`).

    ``LambdaSchedule(grl, total_steps)`` sets λ for step 0 at once; call :meth:`step`
    after every optimizer step. Steps past the end keep the last value.
    """

    def __init__(self, grl: GradientReversal, total_steps: int, schedule: Schedule = dann_lambda) -> None:
        if not isinstance(grl, GradientReversal):
            raise TypeError(f"grl must be a GradientReversal layer, got {type(grl).__name__}.")
        if not callable(schedule):
            raise TypeError(f"schedule must be a function of the progress p in [0, 1], got {schedule!r}.")
        self.grl, self.total, self.schedule = grl, positive_int(total_steps, "total_steps"), schedule
        self.last_step = 0
        self._apply()

    def _apply(self) -> None:
        self.grl.lambda_ = _lambda_at(self.schedule, min(self.last_step, self.total - 1) / self.total)

    def step(self) -> None:
        self.last_step += 1
        self._apply()


class LRAnnealing(torch.optim.lr_scheduler.LambdaLR):
    """Ganin et al.'s learning-rate annealing μ_p = μ0 / (1 + α p)^β, per optimizer step.

    A ``LambdaLR``: every parameter group's rate is its *own* initial rate times the factor
    :func:`~tlhelpers.schedules.dann_lr` (p = step / total_steps), so groups with different
    rates (a pretrained backbone at 0.1×) keep their ratio, and the optimizer — its momentum
    buffers and Adam moments — is never rebuilt (COURSE.md §5 item 5). Call :meth:`step`
    after every ``optimizer.step()``.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, total_steps: int, *, alpha: float = 10.0,
                 beta: float = 0.75) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}.")
        total = positive_int(total_steps, "total_steps")
        dann_lr(0.0, alpha=alpha, beta=beta)  # checks alpha and beta
        super().__init__(optimizer, lambda step: dann_lr(min(step, total - 1) / total, alpha=alpha, beta=beta))


def fit_dann(model: DANN, source: Any, target: Any, *, epochs: int = 1, batch_size: int = 64,
             lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 0.0,
             schedule: str | Schedule | None = dann_lr, **fit_kwargs: Any) -> dict[str, list[float]]:
    """Train a :class:`DANN` (or :class:`CDAN`) with the paper's recipe, through
    :func:`tlhelpers.torch.adapt.fit_adapt`: SGD with momentum 0.9, μ0 = 0.01, annealed by
    ``schedule`` (default μ0 / (1 + 10p)^0.75), ``batch_size`` source + ``batch_size`` target
    images per step, λ_p in the GRL. Returns the per-epoch history, with
    ``domain_accuracy``; other keyword arguments (``validation``, ``seed``, ``device``,
    ``progress``) go to ``fit_adapt``.
    """
    check_sgd(lr, momentum, weight_decay)
    if not isinstance(model, DANN):
        raise TypeError(f"model must be a DANN or CDAN (see build_dann), got {type(model).__name__}; "
                        "for source-only training use tlhelpers.torch.adapt.fit_adapt.")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters (everything is frozen).")
    optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    return fit_adapt(model, source, target, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                     schedule=schedule, **fit_kwargs)


def domain_features(model: nn.Module, source: Any, target: Any, *,
                    batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The backbone's features of the source and target inputs, ``(F_source, F_target)``,
    in eval mode — what :func:`tlhelpers.embedding.plot_domains` draws."""
    classifier = model.classifier if isinstance(model, AdaptationModel) else model
    _classifier_classes(classifier, "model")
    backbone = classifier.backbone
    batch_size = positive_int(batch_size, "batch_size")
    for name, data in (("source", source), ("target", target)):
        check_inputs(data, name, expected=checks.model_input_shape(backbone))
    out = []
    for name, data in (("source", source), ("target", target)):
        x = getattr(data, "x", data)
        if isinstance(data, (tuple, list)) and len(data) == 2:
            x = data[0]
        if getattr(x, "ndim", None) == 2:  # feature vectors (e.g. moons): no image layout
            was = backbone.training
            backbone.eval()
            with torch.no_grad():
                t = torch.as_tensor(np.asarray(x, np.float32)).to(_model_device(backbone))
                out.append(backbone(t).cpu().numpy())
            backbone.train(was)
        else:
            if len(x) == 0:
                raise ValueError(f"{name} is empty.")
            out.append(extract_features(backbone, x, batch_size=batch_size, progress=False))
    return out[0], out[1]
