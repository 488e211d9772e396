"""Knowledge distillation and compression in PyTorch: the temperature softmax, the KD loss,
a ``Distiller`` trainer with optional feature hints, the course's student, a teacher maker,
magnitude pruning, int8 quantisation and the compression report.

Mirrors :mod:`tlhelpers.keras.distill` name for name; the formulas, the NumPy references
and the student's description are in :mod:`tlhelpers.distill`:

    kd_loss = α · CE(y, z_s) + (1 − α) · T² · KL(softmax(z_t/T) ‖ softmax(z_s/T))   (batch means)

Images follow the track's conventions (:mod:`tlhelpers.torch.backbones`): ``(N, C, H, W)``
tensors, or the course's NHWC NumPy arrays / Datasets, transposed on the way in.
"""

from __future__ import annotations

import copy
import tempfile
import types
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import checks
from .. import distill as core
from ..checks import positive_int
from ..distill import (STUDENT_CNN, CompressionReport, FeatureHint,
                       check_alpha, check_logit_values, check_same_classes, check_sparsity, check_temperature,
                       median_latency)
from .backbones import CourseCNN, ImageNetBackbone, _model_device, _to_nchw, build_classifier, course_cnn
from .device import get_device
from .params import freeze
from .training import _split, evaluate, fit, predict

__all__ = [
    "Distiller",
    "FeatureHint",
    "attention_map",
    "attention_transfer_loss",
    "compression_report",
    "distill",
    "hint_loss",
    "kd_loss",
    "magnitude_prune",
    "make_teacher",
    "prunable_weights",
    "quantize_dynamic",
    "quantize_static",
    "soft_target_loss",
    "sparsity_sweep",
    "student_cnn",
    "teacher_hard_labels",
    "temperature_softmax",
]


# --------------------------------------------------------------------------------------
# Temperature softmax and the KD loss
# --------------------------------------------------------------------------------------

def _check_logits(x: Any, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of logits, got {type(x).__name__}.")
    if x.ndim != 2 or x.shape[1] < 2 or not x.is_floating_point():
        raise ValueError(f"{name} must be float logits of shape (batch, classes) with at least "
                         f"2 classes, got {x.dtype} of shape {tuple(x.shape)}.")
    return x


def _check_pair(student_logits: Any, teacher_logits: Any) -> None:
    s, t = _check_logits(student_logits, "student_logits"), _check_logits(teacher_logits, "teacher_logits")
    for name, x in (("student_logits", s), ("teacher_logits", t)):
        if x.device.type == "cpu":  # on a GPU, reading values would sync the device every step
            check_logit_values(x.detach().numpy(), name)
    check_same_classes(s.shape[1], t.shape[1])
    if s.shape[0] != t.shape[0]:
        raise ValueError(f"student_logits and teacher_logits must hold the same examples: "
                         f"{s.shape[0]} and {t.shape[0]} rows.")


def temperature_softmax(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``softmax(z / T)`` over the last dimension: the soft targets at temperature T."""
    t = check_temperature(temperature)
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"logits must be a torch.Tensor, got {type(logits).__name__}.")
    return torch.softmax(logits / t, dim=-1)


def soft_target_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                     temperature: float) -> torch.Tensor:
    """``T² · KL(softmax(z_t/T) ‖ softmax(z_s/T))`` with ``batchmean`` reduction.

    ``F.kl_div`` takes the student's **log**-probabilities; the teacher's side is passed as
    log-probabilities too (``log_target=True``, exact where a probability underflows) and
    detached: the teacher gets no gradient.
    """
    t = check_temperature(temperature)
    _check_pair(student_logits, teacher_logits)
    log_p_s = F.log_softmax(student_logits / t, dim=1)
    log_p_t = F.log_softmax(teacher_logits.detach().to(student_logits.dtype) / t, dim=1)
    return F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True) * (t * t)


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
            labels: torch.Tensor | None = None, *, temperature: float, alpha: float) -> torch.Tensor:
    """``α · CE(y, z_s) + (1 − α) · T² · KL(p_t^T ‖ p_s^T)`` (Hinton et al. 2015).

    Args:
        student_logits, teacher_logits: ``(N, C)`` logits, the same C.
        labels: ``(N,)`` integer classes; needed unless ``alpha == 0``.
        temperature: T > 0 of both softmaxes in the soft term (the hard term is at T = 1).
        alpha: weight of the hard-label term in [0, 1]; ``1 − alpha`` weighs the soft term.

    Equal to :func:`tlhelpers.distill.kd_loss` (the NumPy reference), gradient included.
    """
    t, a = check_temperature(temperature), check_alpha(alpha)
    loss = (1.0 - a) * soft_target_loss(student_logits, teacher_logits, t)
    if labels is None:
        if a != 0.0:
            raise ValueError(f"labels are needed when alpha > 0 (alpha={alpha!r} weighs the "
                             "hard-label loss); pass alpha=0 to distil from soft targets only.")
        return loss
    if not isinstance(labels, torch.Tensor) or labels.shape != student_logits.shape[:1] \
            or labels.is_floating_point():
        raise ValueError(f"labels must be an integer tensor of shape ({student_logits.shape[0]},), "
                         f"got {labels.dtype if isinstance(labels, torch.Tensor) else type(labels).__name__}"
                         f" of shape {tuple(getattr(labels, 'shape', ()))}.")
    core._labels(labels.cpu().numpy(), len(labels), student_logits.shape[1])  # in [0, classes)
    return loss + a * F.cross_entropy(student_logits, labels.long())


# --------------------------------------------------------------------------------------
# Feature hints
# --------------------------------------------------------------------------------------

def attention_map(features: torch.Tensor) -> torch.Tensor:
    """``normalise(vec(mean_c A_c²))`` of ``(N, C, H, W)`` feature maps → ``(N, H·W)``."""
    if _maps(features, "features").ndim != 4:
        raise ValueError(f"features must be a (N, C, H, W) tensor, got {tuple(features.shape)}.")
    return F.normalize(features.pow(2).mean(1).flatten(1), dim=1, eps=1e-12)


def _maps(x: Any, name: str) -> torch.Tensor:
    """Feature maps: a finite tensor."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of feature maps, got {type(x).__name__}.")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return x


def attention_transfer_loss(student_features: torch.Tensor, teacher_features: torch.Tensor) -> torch.Tensor:
    """``mean (Q_s − Q_t)²`` of the attention maps (Zagoruyko & Komodakis 2017); the
    teacher's side is detached. Same N, H, W needed; channel counts may differ."""
    s, t = _maps(student_features, "student_features"), _maps(teacher_features, "teacher_features")
    if s.ndim != 4 or t.ndim != 4 or s.shape[0] != t.shape[0] or s.shape[2:] != t.shape[2:]:
        raise ValueError(f"student_features and teacher_features must be (N, C, H, W) feature maps "
                         f"with the same N, H and W (channels may differ), got student "
                         f"{tuple(s.shape)} and teacher {tuple(t.shape)}.")
    return (attention_map(s) - attention_map(t.detach())).pow(2).mean()


def hint_loss(regressed: torch.Tensor, teacher_features: torch.Tensor) -> torch.Tensor:
    """FitNets' hint loss: mean squared error to the (detached) teacher features."""
    r, t = _maps(regressed, "regressed"), _maps(teacher_features, "teacher_features")
    if r.shape != t.shape:
        raise ValueError(f"regressed (the student's regressed features) and teacher_features must "
                         f"have the same shape, got {tuple(r.shape)} and {tuple(t.shape)}.")
    return F.mse_loss(r, t.detach())


def _module(model: nn.Module, name: str, what: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name not in modules or not name:
        some = [n for n in modules if n][:12]
        raise ValueError(f"{what} {name!r} is not a module of the model; some names: {', '.join(some)}.")
    return modules[name]


class _Tap:
    """A forward hook that keeps a module's latest output."""

    def __init__(self, module: nn.Module) -> None:
        self.value: torch.Tensor | None = None
        self.handle = module.register_forward_hook(self._keep)

    def _keep(self, module, inputs, output) -> None:
        self.value = output


# --------------------------------------------------------------------------------------
# The Distiller
# --------------------------------------------------------------------------------------

def _images_only(data: Any) -> bool:
    return not (hasattr(data, "y") or (isinstance(data, (tuple, list)) and len(data) == 2))


def _dry_logits(model: nn.Module, input_shape: tuple[int, ...]) -> torch.Tensor:
    """Logits of two blank images, in eval mode and without gradients; modes restored."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        with torch.no_grad():
            return model(torch.zeros(2, *input_shape, device=_model_device(model)))
    finally:
        for m, mode in modes.items():
            m.training = mode


class Distiller(nn.Module):
    """Train ``student`` to match a frozen ``teacher`` with :func:`kd_loss` (+ a feature hint).

    The teacher is frozen **in place** (:func:`tlhelpers.torch.freeze`): no gradients, and
    eval mode that survives ``train()``, so its BatchNorm statistics and dropout never move
    (COURSE.md §5 item 9). Each step runs it under ``torch.no_grad()``. ``forward(x)`` is
    the student's.

    Args:
        student, teacher: modules from images to logits over the same classes.
        temperature, alpha: of :func:`kd_loss`.
        hint: an optional :class:`FeatureHint`.
        input_shape: ``(C, H, W)``; needed only when the models have no ``input_shape``
            attribute (the course's do) to check the class counts and size a FitNets
            regressor up front.

    ``train_step(x, y, optimizer)`` is one step; :meth:`fit` (or :func:`distill`) trains.
    """

    def __init__(self, student: nn.Module, teacher: nn.Module, *, temperature: float = 4.0,
                 alpha: float = 0.1, hint: FeatureHint | None = None,
                 input_shape: Sequence[int] | None = None) -> None:
        super().__init__()
        for name, m in (("student", student), ("teacher", teacher)):
            if not isinstance(m, nn.Module):
                raise TypeError(f"{name} must be a torch.nn.Module, got {type(m).__name__}.")
        if student is teacher:
            raise ValueError("student and teacher must be different modules.")
        if hint is not None and not isinstance(hint, FeatureHint):
            raise TypeError(f"hint must be a FeatureHint or None, got {type(hint).__name__}.")
        self.temperature = check_temperature(temperature)
        self.alpha = check_alpha(alpha)
        self.student = student
        self.teacher = freeze(teacher)
        self.hint = hint
        shape = input_shape or getattr(student, "input_shape", None) or getattr(teacher, "input_shape", None)
        self.input_shape = tuple(shape) if shape is not None and None not in tuple(shape) else None
        self._taps: tuple[_Tap, _Tap] | None = None
        self.regressor: nn.Module | None = None
        if hint is not None:
            self._taps = (_Tap(_module(student, hint.student_layer, "hint.student_layer")),
                          _Tap(_module(teacher, hint.teacher_layer, "hint.teacher_layer")))
        if self.input_shape is not None:
            s, t = _dry_logits(student, self.input_shape), _dry_logits(teacher, self.input_shape)
            check_same_classes(s.shape[-1], t.shape[-1])
            if hint is not None:
                fs, ft = (tap.value for tap in self._taps)
                self._check_hint_shapes(fs, ft)
                if hint.method == "fitnets":
                    self.regressor = nn.Conv2d(fs.shape[1], ft.shape[1], 1, bias=False).to(fs.device)
        elif hint is not None and hint.method == "fitnets":
            raise ValueError("a FitNets hint needs input_shape=(C, H, W) to size its regressor.")

    def _check_hint_shapes(self, fs: torch.Tensor, ft: torch.Tensor) -> None:
        if fs.ndim != 4 or ft.ndim != 4 or fs.shape[2:] != ft.shape[2:]:
            raise ValueError(f"hint layers must give (N, C, H, W) maps of the same H×W: student "
                             f"{self.hint.student_layer!r} {tuple(fs.shape)}, teacher "
                             f"{self.hint.teacher_layer!r} {tuple(ft.shape)}.")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.student(x)

    def remove_hooks(self) -> None:
        """Detach the feature-hint hooks from the student and the teacher (after training)."""
        for tap in self._taps or ():
            tap.handle.remove()
            tap.value = None
        self._taps = None

    def train(self, mode: bool = True) -> "Distiller":
        """The student (and a regressor) follow ``mode``; the teacher stays in eval."""
        super().train(mode)
        self.teacher.eval()
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        """What the optimizer updates: the student's trainable parameters and the regressor's."""
        params = [p for p in self.student.parameters() if p.requires_grad]
        if self.regressor is not None:
            params += list(self.regressor.parameters())
        return params

    def losses(self, x: torch.Tensor, y: torch.Tensor | None,
               teacher_logits: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``loss`` (to minimise), ``soft_loss`` (T²·KL), ``hard_loss`` (CE or 0),
        ``hint_loss`` (unweighted, 0 without a hint) and the student's ``logits``.

        ``teacher_logits``: the teacher's logits for ``x``, computed earlier (offline
        distillation); the teacher is then not run. Not with a feature hint.
        """
        if teacher_logits is None:
            self.teacher.eval()
            with torch.no_grad():
                teacher_logits = self.teacher(x)
        elif self._taps is not None:
            raise ValueError("teacher_logits cannot be used with a feature hint: the hint needs "
                             "the teacher's features, so the teacher must run.")
        student_logits = self.student(x)
        loss = kd_loss(student_logits, teacher_logits, y, temperature=self.temperature, alpha=self.alpha)
        soft = soft_target_loss(student_logits.detach(), teacher_logits, self.temperature)
        hard = F.cross_entropy(student_logits.detach(), y) if y is not None else torch.zeros((), device=loss.device)
        hint = torch.zeros((), device=loss.device)
        if self._taps is not None:
            fs, ft = (tap.value for tap in self._taps)
            self._check_hint_shapes(fs, ft)
            if self.hint.method == "attention":
                hint = attention_transfer_loss(fs, ft)
            else:
                hint = hint_loss(self.regressor(fs), ft)
            loss = loss + self.hint.loss_weight * hint
        return {"loss": loss, "soft_loss": soft, "hard_loss": hard, "hint_loss": hint.detach(),
                "logits": student_logits}

    def train_step(self, x: torch.Tensor, y: torch.Tensor | None, optimizer: torch.optim.Optimizer,
                   teacher_logits: torch.Tensor | None = None) -> dict[str, float]:
        """One optimisation step of the student (teacher untouched); the losses as floats."""
        self.train()
        out = self.losses(x, y, teacher_logits)
        optimizer.zero_grad(set_to_none=True)
        out["loss"].backward()
        optimizer.step()
        logs = {k: float(v.detach()) for k, v in out.items() if k != "logits"}
        if y is not None:
            logs["accuracy"] = float((out["logits"].detach().argmax(1) == y).float().mean())
        return logs

    def fit(self, data: Any, *, epochs: int = 1, batch_size: int = 64, lr: float = 1e-3,
            weight_decay: float = 0.0, augment: Callable[[np.ndarray], np.ndarray] | None = None,
            validation: Any = None, seed: int | None = None, progress: bool = True,
            teacher_logits: Any = None, device: torch.device | str | None = None) -> dict[str, list[float]]:
        """Distil on ``data`` (the transfer set); returns per-epoch means (see :func:`distill`)."""
        from tqdm.auto import tqdm

        epochs, batch_size = positive_int(epochs, "epochs"), positive_int(batch_size, "batch_size")
        linears = [m for m in self.student.modules() if isinstance(m, nn.Linear)]
        core.check_transfer_set(data, num_classes=linears[-1].out_features if linears else None, lr=lr,
                                weight_decay=weight_decay, seed=seed, progress=progress)
        device = torch.device(device) if device is not None else get_device()
        self.to(device)
        if _images_only(data):
            if self.alpha != 0.0:
                raise ValueError(f"data holds images without labels, which needs alpha=0 "
                                 f"(got alpha={self.alpha}).")
            x_np, y_np = getattr(data, "x", data), None
        else:
            x_np, y_np = _split(data, "data")
        if isinstance(x_np, torch.Tensor):
            raise ValueError("data: pass NumPy NHWC images or a Dataset (they are transposed here).")
        x_np = np.asarray(x_np, dtype=np.float32)
        _to_nchw(x_np[:1], self.input_shape, "data")
        t_all = _offline_logits(teacher_logits, len(x_np), augment)
        if seed is not None:
            torch.manual_seed(int(seed))
        rng = np.random.default_rng(seed)
        optimizer = torch.optim.AdamW(self.trainable_parameters(), lr=lr, eps=1e-7, weight_decay=weight_decay)
        history: dict[str, list[float]] = {}
        bar = tqdm(range(epochs), desc="distill", unit="epoch", disable=not progress, leave=False)
        for _ in bar:
            x_epoch = augment(x_np) if augment is not None else x_np
            if x_epoch.shape != x_np.shape:
                raise ValueError(f"augment changed the shape of the images: {x_np.shape} -> {x_epoch.shape}.")
            order = rng.permutation(len(x_np))
            sums: dict[str, float] = {}
            seen = 0
            for i in range(0, len(order), batch_size):
                idx = order[i:i + batch_size]
                xb = torch.from_numpy(np.ascontiguousarray(x_epoch[idx].transpose(0, 3, 1, 2))).to(device)
                yb = torch.from_numpy(y_np[idx]).to(device) if y_np is not None else None
                tb = t_all[torch.from_numpy(idx)].to(device) if t_all is not None else None
                logs = self.train_step(xb, yb, optimizer, tb)
                for k, v in logs.items():
                    sums[k] = sums.get(k, 0.0) + v * len(idx)
                seen += len(idx)
            for k, v in sums.items():
                history.setdefault(k, []).append(v / seen)
            if validation is not None:
                val = evaluate(self.student, validation, batch_size=max(batch_size, 256))
                history.setdefault("val_loss", []).append(val["loss"])
                history.setdefault("val_accuracy", []).append(val["accuracy"])
            bar.set_postfix({k: f"{v[-1]:.3f}" for k, v in history.items()})
        self.eval()
        return history


def _offline_logits(teacher_logits: Any, n: int, augment: Any) -> torch.Tensor | None:
    if teacher_logits is None:
        return None
    if augment is not None:
        raise ValueError("teacher_logits are the teacher's logits for the un-augmented images; "
                         "with augment the teacher must see each augmented batch (drop teacher_logits).")
    t = torch.as_tensor(np.asarray(teacher_logits, dtype=np.float32))
    if t.ndim != 2 or len(t) != n:
        raise ValueError(f"teacher_logits must be (N, classes) for the N = {n} images of data, "
                         f"got shape {tuple(t.shape)}.")
    return t


def distill(student: nn.Module, teacher: nn.Module, data: Any, *, temperature: float = 4.0,
            alpha: float = 0.1, hint: FeatureHint | None = None, epochs: int = 1,
            batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 0.0,
            augment: Callable[[np.ndarray], np.ndarray] | None = None, validation: Any = None,
            seed: int | None = None, progress: bool = True,
            teacher_logits: Any = None) -> dict[str, list[float]]:
    """Distil ``teacher`` into ``student`` (in place) on the transfer set ``data``.

    ``data``: a Dataset or ``(x, y)`` pair (NHWC images), or images alone when
    ``alpha == 0``. Adam (AdamW with ``weight_decay``), ``eps=1e-7``, as
    :func:`tlhelpers.torch.training.fit`; ``augment`` redraws the images every epoch and
    the teacher sees the same augmented images as the student (Hinton's jitter).
    ``teacher_logits``: the teacher's logits for the images of ``data``, computed once
    (offline distillation: the same result without augmentation, the teacher not run).

    Returns per-epoch means of ``loss``, ``soft_loss``, ``hard_loss``, ``hint_loss`` and
    (with labels) ``accuracy``; ``val_loss``/``val_accuracy`` of the student with
    ``validation``. The teacher is frozen in place.
    """
    distiller = Distiller(student, teacher, temperature=temperature, alpha=alpha, hint=hint)
    try:
        return distiller.fit(data, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                             augment=augment, validation=validation, seed=seed, progress=progress,
                             teacher_logits=teacher_logits)
    finally:
        distiller.remove_hooks()


# --------------------------------------------------------------------------------------
# The student and the teacher
# --------------------------------------------------------------------------------------

def _he_normal_(weight: torch.Tensor) -> None:
    """Keras's ``he_normal``: truncated at 2σ, σ = sqrt(2 / fan_in) (as course_cnn)."""
    fan_in = weight[0].numel()
    std = (2.0 / fan_in) ** 0.5 / 0.87962566103423978
    with torch.no_grad():
        nn.init.trunc_normal_(weight, 0.0, std, -2 * std, 2 * std)


class StudentCNN(nn.Module):
    """The course's student (see :data:`tlhelpers.distill.STUDENT_CNN` and :func:`student_cnn`)."""

    def __init__(self, num_classes: int = 10, width: int = STUDENT_CNN["width"]) -> None:
        super().__init__()
        h, w, c = STUDENT_CNN["input_shape"]
        self.input_shape = (c, h, w)
        channels = [c] + [width * m for m in STUDENT_CNN["stage_multipliers"]]
        for i, (c_in, c_out, stride) in enumerate(zip(channels, channels[1:], STUDENT_CNN["stage_strides"]), 1):
            conv = nn.Conv2d(c_in, c_out, 3, stride, padding=1, bias=False)
            _he_normal_(conv.weight)
            bn = nn.BatchNorm2d(c_out, eps=STUDENT_CNN["bn_epsilon"], momentum=STUDENT_CNN["bn_momentum"])
            setattr(self, f"block{i}", nn.Sequential(conv, bn, nn.ReLU()))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.head = nn.Linear(channels[-1], num_classes)
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * STUDENT_CNN["input_scale"] + STUDENT_CNN["input_offset"]
        x = self.block3(self.block2(self.block1(x)))
        return self.head(self.flatten(self.pool(x)))


def student_cnn(num_classes: int = 10, *, width: int = STUDENT_CNN["width"]) -> StudentCNN:
    """A small plain CNN for the same 32×32 RGB [0, 1] images as ``course_cnn``, with logits.

    Three conv3×3/stride 2 (no bias) → BatchNorm → ReLU blocks, ``width·(1, 2, 4)``
    channels (modules ``block1``…``block3``: 16×16, 8×8 and 4×4 maps), global average
    pooling, a linear ``head``. width 16 + 10 classes: 24 346 parameters, 12.7× fewer than
    course_cnn with a head; identical to the Keras track's, layer for layer.
    """
    num_classes = positive_int(num_classes, "num_classes")
    if num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}.")
    return StudentCNN(num_classes, positive_int(width, "width"))


def make_teacher(data: Any, *, epochs: int = 5, lr: float = 3e-4, batch_size: int = 64,
                 fine_tune: bool = True, weights: str | None = None, augment=None,
                 validation: Any = None, seed: int | None = 0, progress: bool = True) -> nn.Module:
    """A teacher: the course-pretrained ``course_cnn`` with a new head, trained on ``data``.

    ``fine_tune=True`` trains every layer (BatchNorm keeps its pretrained statistics,
    ``build_classifier``'s ``bn_inference``); ``False`` trains the head only. ``weights``:
    another ``course_cnn`` weights file. Returns the classifier in eval mode.
    """
    core.check_make_teacher(data, epochs=epochs, lr=lr, batch_size=batch_size, fine_tune=fine_tune,
                            seed=seed, progress=progress)
    _, y = _split(data, "data")
    num_classes = len(getattr(data, "class_names", ())) or int(y.max()) + 1
    if seed is not None:  # the new head's initial weights too, not only fit's shuffling
        from ..seeding import seed_everything

        seed_everything(seed)
    backbone = course_cnn(pretrained=True, weights=weights)
    model = build_classifier(backbone, num_classes, freeze_backbone=not fine_tune)
    fit(model, data, epochs=epochs, lr=lr, batch_size=batch_size, augment=augment,
        validation=validation, seed=seed, progress=progress)
    return model.eval()


def _check_teacher(teacher: Any) -> None:
    """The contract's error for a non-module or a backbone (it outputs features, not logits)."""
    if not isinstance(teacher, nn.Module):
        checks.fail("teacher", "a torch.nn.Module classifier", checks.Received(type(teacher).__name__))
    if isinstance(teacher, (CourseCNN, ImageNetBackbone)):
        checks.classifier_expected("teacher", teacher.out_features)


def teacher_hard_labels(teacher: nn.Module, data: Any, batch_size: int = 256) -> np.ndarray:
    """The teacher's predicted class for every image of ``data`` (int64): pseudo-labels."""
    _check_teacher(teacher)
    batch_size = positive_int(batch_size, "batch_size")
    return predict(teacher, getattr(data, "x", data), batch_size).argmax(1).astype(np.int64)


# --------------------------------------------------------------------------------------
# Magnitude pruning
# --------------------------------------------------------------------------------------

_PRUNABLE = (nn.Conv2d, nn.Linear)


def prunable_weights(model: nn.Module) -> dict[str, nn.Parameter]:
    """Every convolution and linear weight of ``model`` by parameter name (biases and
    BatchNorm parameters are not pruned)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    out = {f"{name}.weight" if name else "weight": m.weight for name, m in model.named_modules()
           if isinstance(m, _PRUNABLE)}
    if not out:
        raise ValueError("model has no Conv2d or Linear weights to prune.")
    return out


def magnitude_prune(model: nn.Module, sparsity: float, *, scope: str = "global") -> dict[str, np.ndarray]:
    """Zero the smallest-magnitude conv and linear weights of ``model``, in place.

    ``scope="global"``: one threshold across all those weights (``torch.nn.utils.prune.
    global_unstructured`` with L1 magnitude); ``"layer"``: ``sparsity`` of each tensor
    (``prune.l1_unstructured``). The pruning is made permanent (``prune.remove``): the
    zeros are plain weights and later training may move them again. Returns the masks
    ``{parameter name: bool array}`` (True = kept), equal to
    :func:`tlhelpers.distill.magnitude_masks` on the same weights.
    """
    from torch.nn.utils import prune

    s = check_sparsity(sparsity)
    if scope not in core.PRUNING_SCOPES:
        raise ValueError(f"scope must be one of {core.PRUNING_SCOPES}, got {scope!r}.")
    weights = prunable_weights(model)
    modules = {f"{name}.weight" if name else "weight": m for name, m in model.named_modules()
               if isinstance(m, _PRUNABLE)}
    targets = [(modules[n], "weight") for n in weights]
    if scope == "global":
        prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=s)
    else:
        for m, attr in targets:
            prune.l1_unstructured(m, attr, amount=s)
    masks = {n: modules[n].weight_mask.detach().cpu().numpy().astype(bool) for n in weights}
    for m, attr in targets:
        prune.remove(m, attr)
    return masks


def sparsity_sweep(model: nn.Module, data: Any, sparsities: Iterable[float] = (0.0, 0.5, 0.75, 0.9, 0.95),
                   *, scope: str = "global", latency_repeats: int = 20) -> list[CompressionReport]:
    """One-shot magnitude pruning of copies of ``model`` at each sparsity (no retraining),
    each with its :func:`compression_report` on ``data``. ``model`` is not changed."""
    prunable_weights(model)  # a model with weights to prune
    checks.one_of(scope, "scope", core.PRUNING_SCOPES)
    core.check_report(data, repeats=positive_int(latency_repeats, "latency_repeats"))
    sparsities = [check_sparsity(s, "sparsities") for s in sparsities]
    reports = []
    for s in sparsities:
        pruned = copy.deepcopy(model)
        if s > 0:
            magnitude_prune(pruned, s, scope=scope)
        reports.append(compression_report(pruned, data, name=f"{scope} {s:.0%}", repeats=latency_repeats))
    return reports


# --------------------------------------------------------------------------------------
# int8 quantisation (torch.ao.quantization, CPU)
# --------------------------------------------------------------------------------------

@contextmanager
def _quiet_quantization():
    """torch.ao.quantization works in torch 2.13 but warns that it is deprecated (its
    successor is the separate torchao package); the course keeps those notices out of
    the lessons' output. Quantised kernels also have no "deterministic" flag: under
    ``seed_everything``'s ``use_deterministic_algorithms(True, warn_only=True)`` every
    quantised forward pass printed a C++ notice on stderr (``quantized_resize_cpu_``), so
    that setting is lifted inside and restored after."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization is deprecated.*")
            warnings.filterwarnings("ignore", message=r".*quantized tensor creation functions.*")
            warnings.filterwarnings("ignore", message=r".*reduce_range will be deprecated.*")
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.ao\..*")
            yield
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def quantize_dynamic(model: nn.Module) -> nn.Module:
    """Post-training **dynamic** int8 quantisation of the ``nn.Linear`` layers of a copy of
    ``model`` (``torch.ao.quantization.quantize_dynamic``): int8 weights, activations
    quantised on the fly. Convolutions stay float — on a CNN only the head shrinks."""
    from torch.ao.quantization import quantize_dynamic as _qd

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    with _quiet_quantization():
        q = _qd(copy.deepcopy(model).cpu().eval(), {nn.Linear}, dtype=torch.qint8)
    q.input_shape = getattr(model, "input_shape", None)
    return q


def _traceable_course_cnn(self: CourseCNN, x: torch.Tensor) -> torch.Tensor:
    """``CourseCNN.forward`` without its input-shape check, which FX cannot trace (it
    branches on a traced value). Tested equal to ``forward`` in tests/test_distill_torch.py."""
    from ..zoo import COURSE_CNN

    x = x * COURSE_CNN["input_scale"] + COURSE_CNN["input_offset"]
    x = torch.relu(self.stem_bn(self.stem_conv(x)))
    x = self.stage3(self.stage2(self.stage1(x)))
    return torch.flatten(self.pool(x), 1)


def quantize_static(model: nn.Module, calibration: Any, *, backend: str = "x86",
                    batch_size: int = 64) -> nn.Module:
    """Post-training **static** int8 quantisation of a copy of ``model`` (FX graph mode,
    ``torch.ao.quantization``): conv/linear weights int8 per channel, activations uint8
    with scales observed on ``calibration`` images (a few hundred are enough), conv + BN
    (+ ReLU) fused. ``backend``: ``"x86"`` (fbgemm + oneDNN; the default on this CPU),
    ``"fbgemm"`` or ``"qnnpack"`` (ARM). The result runs on the CPU only.
    """
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    if backend not in torch.backends.quantized.supported_engines:
        raise ValueError(f"backend must be one of {torch.backends.quantized.supported_engines}, got {backend!r}.")
    batch_size = positive_int(batch_size, "batch_size")
    core.check_report(calibration, data_name="calibration")
    x = _to_nchw(getattr(calibration, "x", calibration), getattr(model, "input_shape", None), "calibration")
    if len(x) == 0:
        raise ValueError("calibration must hold at least one image.")
    float_model = copy.deepcopy(model).cpu().eval()
    for m in float_model.modules():
        if isinstance(m, CourseCNN):
            m.forward = types.MethodType(_traceable_course_cnn, m)
    torch.backends.quantized.engine = backend
    with _quiet_quantization():
        prepared = prepare_fx(float_model, get_default_qconfig_mapping(backend), example_inputs=(x[:1],))
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                prepared(x[i:i + batch_size])
        q = convert_fx(prepared)
    q.input_shape = getattr(model, "input_shape", None)
    return q


# --------------------------------------------------------------------------------------
# The compression report
# --------------------------------------------------------------------------------------

def _stored_weights(model: nn.Module) -> list[torch.Tensor]:
    """Every learnable weight tensor, float or quantised (dequantised), BN statistics excluded."""
    out = []
    for m in model.modules():
        w = getattr(m, "weight", None)
        b = getattr(m, "bias", None)
        if callable(w) and not isinstance(w, nn.Parameter):  # quantised modules: weight(), bias()
            out.append(w().dequantize() if w().is_quantized else w())
            bias = b() if callable(b) else b
            if isinstance(bias, torch.Tensor):
                out.append(bias)
            continue
        out.extend(p for p in m.parameters(recurse=False))
        packed = getattr(m, "_packed_params", None)  # dynamic quantised Linear
        if packed is not None and hasattr(packed, "_weight_bias"):
            qw, qb = packed._weight_bias()
            out.append(qw.dequantize())
            if qb is not None:
                out.append(qb)
    return out


def compression_report(model: nn.Module, data: Any = None, *, name: str | None = None,
                       batch_size: int = 1, repeats: int = 50, warmup: int = 5,
                       input_shape: Sequence[int] | None = None) -> CompressionReport:
    """Parameters, sparsity, bytes on disk, CPU latency per image and (with ``data``) accuracy.

    * parameters: learnable values stored by the model (float, or int8 dequantised to
      count zeros; BatchNorm statistics excluded — a quantised model has BN folded away);
    * file: ``torch.save(model.state_dict())`` in a temporary file, and its zlib size;
    * latency: :func:`tlhelpers.distill.median_latency` of ``model(x)`` on ``batch_size``
      images (the first ones of ``data``, else random), eval mode, ``inference_mode``,
      on the CPU with the current ``torch.get_num_threads()``; the model is moved back
      to where it was;
    * accuracy: :func:`tlhelpers.torch.training.evaluate` on ``data`` when it has labels.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    batch_size = positive_int(batch_size, "batch_size")
    core.check_report(data, name=name, repeats=repeats, warmup=warmup)
    weights = _stored_weights(model)
    if not weights:
        raise ValueError("model has no weights to report on.")
    params = sum(w.numel() for w in weights)
    nonzero = sum(int(torch.count_nonzero(w)) for w in weights)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pt"
        with _quiet_quantization():
            torch.save(model.state_dict(), path)
        size, packed = core.file_bytes(path), core.zlib_bytes(path)
    shape = tuple(input_shape or getattr(model, "input_shape", None) or ())
    if data is not None:
        x = _to_nchw(getattr(data, "x", data)[:batch_size] if not isinstance(data, (tuple, list))
                     else data[0][:batch_size], shape or None, "data")
    elif shape and None not in shape:
        x = torch.rand(batch_size, *shape, generator=torch.Generator().manual_seed(0))
    else:
        raise ValueError("compression_report needs data or input_shape=(C, H, W) to time the model.")
    device, was_training = _model_device(model), model.training
    model.cpu().eval()
    try:
        with torch.inference_mode(), _quiet_quantization():
            latency = median_latency(lambda: model(x), batch_size=len(x), repeats=repeats, warmup=warmup)
        accuracy = None
        if data is not None and not _images_only(data):
            with _quiet_quantization():
                accuracy = evaluate(model, data)["accuracy"]
    finally:
        model.to(device).train(was_training)
    quantised = any(w.is_quantized for w in model.state_dict().values() if isinstance(w, torch.Tensor))
    return CompressionReport(name=name or type(model).__name__, parameters=params, nonzero=nonzero,
                             file_bytes=size, zlib_bytes=packed, latency=latency,
                             threads=torch.get_num_threads(), accuracy=accuracy,
                             file_format="state_dict .pt",
                             notes="int8 (torch.ao.quantization)" if quantised else "float32")
