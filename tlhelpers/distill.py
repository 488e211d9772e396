"""Knowledge distillation and model compression, framework-neutral: the NumPy references
both tracks are held to, the student architecture, and the compression report.

**Soft targets** (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural
Network", arXiv:1503.02531). A softmax at temperature T, ``p_i = exp(z_i/T) / Σ_j exp(z_j/T)``,
turns a teacher's logits ``z_t`` into soft targets whose small probabilities (which wrong
class the teacher finds plausible) carry the "dark knowledge".

**The KD loss**, exactly as every ``kd_loss`` of the course computes it, for a batch of N::

    soft = T² · (1/N) Σ_n KL( softmax(z_t,n / T) ‖ softmax(z_s,n / T) )
    hard = (1/N) Σ_n CE( y_n, softmax(z_s,n) )                     (at T = 1)
    kd_loss = α · hard + (1 − α) · soft,        α ∈ [0, 1]

* α weights the **hard labels** (as in the keras.io example); α = 0 is pure distillation
  (labels may then be omitted), α = 1 is ordinary training.
* KL takes the student's **log**-probabilities (``log_softmax(z_s/T)``), never
  probabilities twice (COURSE.md §5 item 6).
* The factor **T²**: the gradient of the KL term with respect to the student's logits is
  ``(1/T)(p_s − p_t)``, and for large T, ``p_s − p_t ≈ (z_s − z_t)/(C·T)`` (centred
  logits), so it shrinks like 1/T²; T² keeps the soft term's gradient comparable across
  temperatures and against the hard term (item 7; measured in
  ``tests/test_distill_parity.py``).
* **batchmean**: KL summed over classes, averaged over the batch — the true KL per example.
  PyTorch's ``reduction="mean"`` also divides by the number of classes (item 8).
* The teacher runs in inference mode and receives no gradients (item 9; the tracks'
  ``Distiller`` does that).

**Feature hints.** Attention transfer (Zagoruyko & Komodakis 2017, "Paying More Attention
to Attention", ICLR): ``Q = normalise(mean_c A_c²)`` flattened per example, loss
``mean_{n,positions} (Q_s − Q_t)²`` as in the authors' code, weighted β/2 with β = 1000.
FitNets hints (Romero et al. 2015, ICLR): a learned regressor (here a 1×1 convolution)
maps the student's guided layer to the teacher's hint layer; loss = mean squared error.

**Compression.** :func:`magnitude_masks` is the reference of magnitude pruning (global or
per layer), :func:`median_latency` times a callable, :class:`CompressionReport` holds what
``compression_report(model)`` measures in each track, and :func:`format_reports` /
:func:`plot_compression` present them.
"""

from __future__ import annotations

import math
import statistics
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import checks

from .zoo import COURSE_CNN

__all__ = [
    "ATTENTION_WEIGHT",
    "HINTON_2015_MNIST",
    "HINT_METHODS",
    "PRUNING_SCOPES",
    "STUDENT_CNN",
    "CompressionReport",
    "FeatureHint",
    "LatencyStats",
    "attention_map",
    "attention_transfer_loss",
    "check_alpha",
    "check_logit_values",
    "check_make_teacher",
    "check_report",
    "check_same_classes",
    "check_transfer_set",
    "check_sparsity",
    "check_temperature",
    "entropy",
    "file_bytes",
    "format_reports",
    "hint_loss",
    "kd_loss",
    "kd_loss_grad",
    "log_softmax_t",
    "magnitude_masks",
    "median_latency",
    "plot_compression",
    "soft_target_loss",
    "softmax_t",
    "sparsity_of",
    "student_parameter_count",
    "zlib_bytes",
]

#: Hinton et al. 2015, §3 (MNIST, 10 000 test images): a 784-1200-1200-10 ReLU net with
#: dropout, weight constraints and inputs jittered by up to two pixels; a 784-800-800-10 net
#: without regularisation; the same small net trained to match the big net's soft targets
#: at T = 20.
HINTON_2015_MNIST: dict[str, Any] = {
    "test_images": 10_000,
    "errors": {"teacher": 67, "student": 146, "distilled": 74},
    "teacher_hidden": (1200, 1200),
    "student_hidden": (800, 800),
    "temperature": 20.0,
    "jitter_pixels": 2,
    "source": "Hinton, Vinyals & Dean (2015), Distilling the Knowledge in a Neural Network, §3",
}

#: The attention-transfer weight of the authors' code: β/2 with β = 10³.
ATTENTION_WEIGHT = 500.0
HINT_METHODS = ("attention", "fitnets")
PRUNING_SCOPES = ("global", "layer")

#: The course's student: a plain CNN for the same 32×32 RGB [0, 1] input as ``course_cnn``,
#: identical in both tracks. Three conv3×3 (stride 2, symmetric zero padding 1, no bias) →
#: BatchNorm → ReLU stages with ``width·(1, 2, 4)`` channels (32→16→8→4 pixels), global
#: average pooling, a linear head giving logits. width 16: 24 346 parameters with a
#: 10-way head, 12.7× fewer than course_cnn + head (309 738).
STUDENT_CNN: dict[str, Any] = {
    "input_shape": COURSE_CNN["input_shape"],
    "input_scale": COURSE_CNN["input_scale"],
    "input_offset": COURSE_CNN["input_offset"],
    "width": 16,
    "stage_multipliers": (1, 2, 4),
    "stage_strides": (2, 2, 2),
    "bn_epsilon": COURSE_CNN["bn_epsilon"],
    "bn_momentum": COURSE_CNN["bn_momentum"],   # torch convention; Keras uses 1 - this
}


def student_parameter_count(width: int = STUDENT_CNN["width"], num_classes: int = 10) -> int:
    """Learnable parameters of ``student_cnn(num_classes, width)`` (BatchNorm statistics excluded)."""
    width = checks.positive_int(width, "width")
    if checks.positive_int(num_classes, "num_classes") < 2:
        checks.fail("num_classes", "an integer >= 2", num_classes)
    channels = [STUDENT_CNN["input_shape"][-1]] + [width * m for m in STUDENT_CNN["stage_multipliers"]]
    convs = sum(9 * c_in * c_out + 2 * c_out for c_in, c_out in zip(channels, channels[1:]))
    return convs + channels[-1] * num_classes + num_classes


# --------------------------------------------------------------------------------------
# Argument checks (the same errors in both tracks)
# --------------------------------------------------------------------------------------

def _real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    return value


def check_temperature(temperature: Any, name: str = "temperature") -> float:
    """``temperature`` as a float if it is a finite number > 0, else a clear error."""
    t = _real(temperature, name)
    if t <= 0:
        raise ValueError(f"{name} must be > 0 (T = 1 is the ordinary softmax; distillation "
                         f"uses T > 1), got {temperature!r}.")
    return t


def check_alpha(alpha: Any, name: str = "alpha") -> float:
    """``alpha`` (the weight of the hard-label loss) as a float in [0, 1], else a clear error."""
    a = _real(alpha, name)
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1] (the weight of the hard-label loss; "
                         f"1 - {name} weighs the soft targets), got {alpha!r}.")
    return a


def check_sparsity(sparsity: Any, name: str = "sparsity") -> float:
    """``sparsity`` (the fraction of weights to zero) as a float in [0, 1), else a clear error."""
    s = _real(sparsity, name)
    if not 0.0 <= s < 1.0:
        raise ValueError(f"{name} must lie in [0, 1) (the fraction of weights set to zero; "
                         f"1 would remove them all), got {sparsity!r}.")
    return s


def check_same_classes(student_classes: int, teacher_classes: int) -> int:
    """Teacher and student must score the same classes."""
    if int(student_classes) != int(teacher_classes):
        raise ValueError(f"teacher and student must have the same number of classes: the "
                         f"teacher's logits have {teacher_classes}, the student's {student_classes}.")
    return int(student_classes)


def _logits(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] < 2:
        raise ValueError(f"{name} must be a (batch, classes) array of logits with at least 2 "
                         f"classes, got shape {a.shape}.")
    check_logit_values(a, name)
    return a


def check_logit_values(values: Any, name: str) -> None:
    """Refuse logits that are not finite, or that are probabilities (rows in [0, 1] summing to
    1: a softmax output where the loss takes the scores before it — the loss would then be
    computed on a softmax of probabilities, silently wrong)."""
    a = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    if a.size and a.min() >= 0.0 and a.max() <= 1.0 and np.allclose(a.sum(-1), 1.0, atol=1e-4):
        raise ValueError(f"{name} must be logits (the scores before the softmax), got rows of "
                         "probabilities in [0, 1] that sum to 1; pass the model's outputs before "
                         "the softmax (or the log of the probabilities).")


def check_transfer_set(data: Any, *, num_classes: int | None, lr: Any, weight_decay: Any,
                       seed: Any, progress: Any) -> None:
    """Check ``distill``'s options and transfer set per the contract, before any framework
    call: images (a Dataset, an ``(x, y)`` pair, or images alone for ``alpha = 0``) that are
    finite, and labels in ``[0, num_classes)``."""
    from .adapt import check_fit_options

    check_fit_options(lr=lr, weight_decay=weight_decay, seed=seed, progress=progress, schedule=None)
    if hasattr(data, "y") or (isinstance(data, (tuple, list)) and len(data) == 2):
        checks.image_data(data, "data", num_classes=num_classes)
    elif data is None or isinstance(data, (str, bytes)):
        checks.fail("data", "a Dataset, an (x, y) pair or images", data)
    else:
        checks.image_batch(getattr(data, "x", data), "data")


def check_make_teacher(data: Any, *, epochs: Any, lr: Any, batch_size: Any, fine_tune: Any,
                       seed: Any, progress: Any) -> None:
    """Check ``make_teacher``'s arguments per the contract before the backbone is loaded."""
    from .adapt import check_fit_options

    checks.positive_int(epochs, "epochs")
    checks.positive_int(batch_size, "batch_size")
    checks.flag(fine_tune, "fine_tune")
    check_fit_options(lr=lr, weight_decay=0.0, seed=seed, progress=progress, schedule=None)
    checks.image_data(data, "data")


def _images(data: Any) -> Any:
    """The images of a Dataset, an ``(x, y)`` pair or an array."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0]
    return getattr(data, "x", data)


def check_report(data: Any, *, name: Any = None, repeats: Any = 1, warmup: Any = 0,
                 data_name: str = "data") -> None:
    """Check ``compression_report``'s arguments (and the images of ``sparsity_sweep`` and
    ``quantize_static``) per the contract: finite images when given, a report name, counts."""
    if name is not None and not isinstance(name, str):
        checks.fail("name", "a string or None", name)
    checks.positive_int(repeats, "repeats")
    checks.non_negative_int(warmup, "warmup")
    if data is not None:
        if isinstance(data, (str, bytes)):
            checks.fail(data_name, "images (a Dataset, an (x, y) pair or an array)", data)
        checks.image_batch(_images(data), data_name)


def _pair(student_logits: Any, teacher_logits: Any) -> tuple[np.ndarray, np.ndarray]:
    s, t = _logits(student_logits, "student_logits"), _logits(teacher_logits, "teacher_logits")
    check_same_classes(s.shape[1], t.shape[1])
    if s.shape[0] != t.shape[0]:
        raise ValueError(f"student_logits and teacher_logits must hold the same examples: "
                         f"{s.shape[0]} and {t.shape[0]} rows.")
    return s, t


def _labels(labels: Any, n: int, classes: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be {n} integer class indices (shape ({n},)), got "
                         f"{y.dtype} of shape {y.shape}.")
    if n and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"labels must lie in [0, {classes}), got [{y.min()}, {y.max()}].")
    return y.astype(np.int64)


# --------------------------------------------------------------------------------------
# Soft targets and the KD loss (NumPy, float64)
# --------------------------------------------------------------------------------------

def log_softmax_t(logits: Any, temperature: float = 1.0) -> np.ndarray:
    """``log softmax(z / T)`` along the last axis, computed stably (max subtracted)."""
    t = check_temperature(temperature)
    z = np.asarray(logits, dtype=np.float64) / t
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax_t(logits: Any, temperature: float = 1.0) -> np.ndarray:
    """The softmax at temperature T: ``exp(z_i/T) / Σ_j exp(z_j/T)`` along the last axis.

    T = 1 is the ordinary softmax; T > 1 softens it (more entropy, same ranking); T → ∞
    tends to the uniform distribution.
    """
    return np.exp(log_softmax_t(logits, temperature))


def entropy(probabilities: Any) -> np.ndarray:
    """Shannon entropy in nats of each row of probabilities (0 log 0 = 0)."""
    p = _numbers(probabilities, "probabilities")
    if p.size and (p.min() < 0 or p.max() > 1 or not np.allclose(p.sum(-1), 1.0, atol=1e-3)):
        raise ValueError("probabilities must be rows in [0, 1] that sum to 1 (a softmax output); "
                         "for logits, take softmax_t(logits) first.")
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(p), 0.0).sum(axis=-1)


def soft_target_loss(student_logits: Any, teacher_logits: Any, temperature: float) -> float:
    """``T² · (1/N) Σ_n KL(softmax(z_t,n/T) ‖ softmax(z_s,n/T))`` (batchmean, with T²)."""
    t = check_temperature(temperature)
    s, z_t = _pair(student_logits, teacher_logits)
    log_p_t, log_p_s = log_softmax_t(z_t, t), log_softmax_t(s, t)
    kl = (np.exp(log_p_t) * (log_p_t - log_p_s)).sum(axis=1)
    return float(t * t * kl.mean())


def kd_loss(student_logits: Any, teacher_logits: Any, labels: Any = None, *,
            temperature: float, alpha: float) -> float:
    """``α · CE(y, z_s) + (1 − α) · T² · KL(p_t^T ‖ p_s^T)``, batch means (module docstring).

    ``labels`` (integer classes) are needed unless ``alpha == 0``.
    """
    t, a = check_temperature(temperature), check_alpha(alpha)
    s, z_t = _pair(student_logits, teacher_logits)
    loss = (1.0 - a) * soft_target_loss(s, z_t, t)
    if labels is None:
        if a != 0.0:
            raise ValueError(f"labels are needed when alpha > 0 (alpha={alpha!r} weighs the "
                             "hard-label loss); pass alpha=0 to distil from soft targets only.")
        return loss
    y = _labels(labels, len(s), s.shape[1])
    hard = -log_softmax_t(s, 1.0)[np.arange(len(y)), y].mean() if len(y) else 0.0
    return float(loss + a * hard)


def kd_loss_grad(student_logits: Any, teacher_logits: Any, labels: Any = None, *,
                 temperature: float, alpha: float) -> np.ndarray:
    """The exact gradient of :func:`kd_loss` with respect to the student's logits.

    ``∂/∂z_s = (1 − α) · (T/N) · (p_s^T − p_t^T) + α · (1/N) · (softmax(z_s) − onehot(y))``.
    The teacher's logits get no gradient.
    """
    t, a = check_temperature(temperature), check_alpha(alpha)
    s, z_t = _pair(student_logits, teacher_logits)
    n = len(s)
    grad = (1.0 - a) * (t / n) * (softmax_t(s, t) - softmax_t(z_t, t))
    if labels is None:
        if a != 0.0:
            raise ValueError("labels are needed when alpha > 0.")
        return grad
    y = _labels(labels, n, s.shape[1])
    onehot = np.eye(s.shape[1])[y]
    return grad + a * (softmax_t(s, 1.0) - onehot) / n


# --------------------------------------------------------------------------------------
# Feature hints
# --------------------------------------------------------------------------------------

def _numbers(x: Any, name: str) -> np.ndarray:
    """``x`` as a finite float64 array; a clear error for strings, None and NaN."""
    if x is None or isinstance(x, (str, bytes)):
        checks.fail(name, "an array of numbers", x)
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        checks.fail(name, "an array of numbers", checks.Received(type(x).__name__))
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return a


def _features(x: Any, name: str) -> np.ndarray:
    a = _numbers(x, name)
    if a.ndim != 4:
        raise ValueError(f"{name} must be feature maps (N, H, W, C) channels-last, got shape {a.shape}.")
    return a


def attention_map(features: Any) -> np.ndarray:
    """Spatial attention of feature maps ``(N, H, W, C)`` (channels last, as in Keras):
    ``Q = vec(mean_c A_c²)`` per example, divided by its L2 norm → ``(N, H·W)``."""
    a = _features(features, "features")
    q = (a ** 2).mean(axis=-1).reshape(len(a), -1)
    return q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)


def attention_transfer_loss(student_features: Any, teacher_features: Any) -> float:
    """``mean_{n, positions} (Q_s − Q_t)²`` of the two attention maps (same H×W; channel
    counts may differ). Weight it by β/2 (:data:`ATTENTION_WEIGHT`)."""
    s = _features(student_features, "student_features")
    t = _features(teacher_features, "teacher_features")
    if s.shape[:3] != t.shape[:3]:
        raise ValueError(f"student_features and teacher_features must have the same batch and "
                         f"spatial size (N, H, W), got {s.shape[:3]} and {t.shape[:3]}.")
    return float(((attention_map(s) - attention_map(t)) ** 2).mean())


def hint_loss(regressed: Any, teacher_features: Any) -> float:
    """FitNets' hint loss: mean squared error between the regressed student features and the
    teacher's hint features (the paper's ½‖·‖² per example, up to a constant factor)."""
    r, t = _numbers(regressed, "regressed"), _numbers(teacher_features, "teacher_features")
    if r.shape != t.shape:
        raise ValueError(f"regressed (the student's regressed features) and teacher_features must "
                         f"have the same shape, got {r.shape} and {t.shape}.")
    return float(((r - t) ** 2).mean())


@dataclass(frozen=True)
class FeatureHint:
    """Match an intermediate layer of the student to one of the teacher.

    Attributes:
        student_layer, teacher_layer: layer names — PyTorch: module names
            (``dict(model.named_modules())`` keys), e.g. ``"block2"`` of ``student_cnn`` and
            ``"backbone.stage2"`` of a ``build_classifier(course_cnn())`` teacher; Keras:
            layer names, e.g. ``"block2"`` and ``"stage2_out"`` (found inside a nested
            backbone too). Both are 8×8 maps there.
        method: ``"attention"`` (attention transfer, no parameters) or ``"fitnets"`` (a
            learned 1×1 convolution maps the student's channels to the teacher's; MSE).
        weight: the hint loss's weight; default β/2 = 500 for attention (the authors'
            β = 10³), 1 for FitNets.

    Trained jointly with the KD loss (FitNets' paper first pre-trains the guided layers on
    the hint alone; the course keeps one stage).
    """

    student_layer: str
    teacher_layer: str
    method: str = "attention"
    weight: float | None = None

    def __post_init__(self) -> None:
        if self.method not in HINT_METHODS:
            raise ValueError(f"method must be one of {HINT_METHODS}, got {self.method!r}.")
        for name in ("student_layer", "teacher_layer"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a layer name (str), got {getattr(self, name)!r}.")
        if self.weight is not None:
            checks.number(self.weight, "weight", minimum=0.0)

    @property
    def loss_weight(self) -> float:
        if self.weight is not None:
            return float(self.weight)
        return ATTENTION_WEIGHT if self.method == "attention" else 1.0



# --------------------------------------------------------------------------------------
# Magnitude pruning (reference)
# --------------------------------------------------------------------------------------

def _to_prune(sparsity: float, n: int) -> int:
    # Python's round (half to even), as torch.nn.utils.prune computes it.
    return int(round(sparsity * n))


def magnitude_masks(weights: Mapping[str, Any], sparsity: float, *,
                    scope: str = "global") -> dict[str, np.ndarray]:
    """Which weights magnitude pruning keeps: ``{name: boolean mask}`` (True = kept).

    Args:
        weights: the prunable tensors by name (the tracks pass every conv and dense
            kernel; biases and BatchNorm parameters are not pruned).
        sparsity: fraction in [0, 1) of the weights to set to zero.
        scope: ``"global"`` — one threshold over all tensors together: the
            ``round(sparsity · total)`` smallest |w| are pruned wherever they are, so
            layers with many small weights lose more (Han et al. 2015; torch's
            ``prune.global_unstructured``); ``"layer"`` — every tensor loses
            ``round(sparsity · size)`` of its own smallest |w|.

    Ties at the threshold are broken by position (stable sort); real weights have none.
    """
    s = check_sparsity(sparsity)
    if scope not in PRUNING_SCOPES:
        raise ValueError(f"scope must be one of {PRUNING_SCOPES}, got {scope!r}.")
    if not isinstance(weights, Mapping) or not weights:
        raise ValueError("weights must be a non-empty mapping {name: array} of prunable tensors.")
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    masks = {k: np.ones(v.shape, dtype=bool) for k, v in arrays.items()}
    if scope == "layer":
        for k, v in arrays.items():
            drop = np.argsort(np.abs(v).ravel(), kind="stable")[:_to_prune(s, v.size)]
            masks[k].ravel()[drop] = False
        return masks
    flat = np.concatenate([np.abs(v).ravel() for v in arrays.values()])
    drop = np.zeros(flat.size, dtype=bool)
    drop[np.argsort(flat, kind="stable")[:_to_prune(s, flat.size)]] = True
    start = 0
    for k, v in arrays.items():
        masks[k] = ~drop[start:start + v.size].reshape(v.shape)
        start += v.size
    return masks


def sparsity_of(weights: Mapping[str, Any] | Sequence[Any]) -> float:
    """Fraction of exact zeros over the given tensors."""
    if weights is None or isinstance(weights, (str, bytes)):
        checks.fail("weights", "a dict {name: array} or a list of arrays", weights)
    values = weights.values() if isinstance(weights, Mapping) else weights
    arrays = [np.asarray(v) for v in values]
    total = sum(a.size for a in arrays)
    if total == 0:
        raise ValueError("sparsity_of needs at least one non-empty tensor.")
    return float(sum(int((a == 0).sum()) for a in arrays) / total)


# --------------------------------------------------------------------------------------
# Measuring: latency, size on disk, the report
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LatencyStats:
    """Wall-clock times of repeated runs, per image, in milliseconds (warm-up excluded)."""

    median_ms: float
    q1_ms: float
    q3_ms: float
    repeats: int
    warmup: int
    batch_size: int


def median_latency(run: Callable[[], Any], *, batch_size: int = 1, repeats: int = 50,
                   warmup: int = 5) -> LatencyStats:
    """Time ``run()`` (one forward pass over ``batch_size`` images): ``warmup`` untimed calls,
    then ``repeats`` timed ones; per-image median and quartiles in ms.

    The median resists the outliers of a shared machine; the quartiles show the spread.
    """
    from .checks import positive_int

    batch_size, repeats = positive_int(batch_size, "batch_size"), positive_int(repeats, "repeats")
    if isinstance(warmup, bool) or not isinstance(warmup, (int, np.integer)) or warmup < 0:
        raise ValueError(f"warmup must be an integer >= 0, got {warmup!r}.")
    if not callable(run):
        raise TypeError(f"run must be a callable running one forward pass, got {type(run).__name__}.")
    for _ in range(int(warmup)):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3 / batch_size)
    q = statistics.quantiles(times, n=4) if repeats > 1 else [times[0]] * 3
    return LatencyStats(statistics.median(times), q[0], q[2], repeats, int(warmup), batch_size)


def _file(path: Any) -> Path:
    if not isinstance(path, (str, Path)) or not Path(path).is_file():
        checks.fail("path", "the path of an existing file", path)
    return Path(path)


def file_bytes(path: str | Path) -> int:
    """Size of a file on disk, in bytes."""
    return _file(path).stat().st_size


def zlib_bytes(path: str | Path) -> int:
    """Size of a file after zlib compression (level 9): what unstructured sparsity saves
    once the zeros are compressed (a dense file stores a zero in 4 bytes like any float)."""
    return len(zlib.compress(_file(path).read_bytes(), 9))


@dataclass
class CompressionReport:
    """What ``compression_report(model)`` measured for one model.

    Attributes:
        name: a label for tables and plots.
        parameters: learnable parameters (float or quantised), BatchNorm statistics excluded.
        nonzero: those that are not exactly zero.
        file_bytes: size of the saved file (``file_format``), in bytes.
        zlib_bytes: that file zlib-compressed, in bytes.
        latency: per-image CPU latency (median, quartiles) of ``batch_size``-image forward passes.
        threads: CPU threads the framework used while timing.
        accuracy: test accuracy as a fraction, when data was given.
        file_format: e.g. ``"state_dict .pt"``, ``".keras"``, ``".tflite"``.
        notes: anything a reader must know (quantisation scheme, backend, …).
    """

    name: str
    parameters: int
    nonzero: int
    file_bytes: int
    zlib_bytes: int
    latency: LatencyStats
    threads: int
    accuracy: float | None = None
    file_format: str = ""
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sparsity(self) -> float:
        """Fraction of parameters that are exactly zero."""
        return 1.0 - self.nonzero / self.parameters if self.parameters else 0.0

    @property
    def latency_ms(self) -> float:
        return self.latency.median_ms

    def ratios(self, baseline: "CompressionReport") -> dict[str, float]:
        """How many times smaller / faster than ``baseline`` (> 1 = smaller or faster)."""
        return {"parameters": baseline.parameters / max(self.parameters, 1),
                "file": baseline.file_bytes / max(self.file_bytes, 1),
                "zlib": baseline.zlib_bytes / max(self.zlib_bytes, 1),
                "latency": baseline.latency_ms / self.latency_ms if self.latency_ms > 0 else float("inf")}

    def as_row(self, baseline: "CompressionReport | None" = None) -> dict[str, Any]:
        row = {"model": self.name, "parameters": self.parameters, "sparsity": round(self.sparsity, 4),
               "file_kB": round(self.file_bytes / 1e3, 1), "zlib_kB": round(self.zlib_bytes / 1e3, 1),
               "latency_ms": round(self.latency_ms, 4),
               "latency_iqr_ms": round(self.latency.q3_ms - self.latency.q1_ms, 4),
               "accuracy": None if self.accuracy is None else round(self.accuracy, 4),
               "format": self.file_format}
        if baseline is not None:
            r = self.ratios(baseline)
            row.update({"params_x": round(r["parameters"], 2), "file_x": round(r["file"], 2),
                        "latency_x": round(r["latency"], 2)})
        return row

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sparsity": self.sparsity}


def _check_reports(reports: Any) -> None:
    if isinstance(reports, (str, bytes)) or not isinstance(reports, Sequence) or not reports \
            or not all(isinstance(r, CompressionReport) for r in reports):
        checks.fail("reports", "a non-empty list of CompressionReport (compression_report makes them)",
                    checks.Received(type(reports).__name__ if not isinstance(reports, Sequence)
                                    else f"{len(reports)} item(s)"))


def format_reports(reports: Sequence[CompressionReport], baseline: int | None = 0) -> str:
    """A Markdown table of reports; ``baseline`` (an index, or None) gives the × columns.

    Units: sizes in kB (10³ bytes), latency in ms per image (median; IQR beside it),
    accuracy as a fraction; ``params_x``/``file_x``/``latency_x`` = how many times
    smaller/faster than the baseline row.
    """
    _check_reports(reports)
    if not reports:
        raise ValueError("reports must hold at least one CompressionReport.")
    if baseline is not None and not -len(reports) <= baseline < len(reports):
        raise ValueError(f"baseline={baseline} is not an index of the {len(reports)} reports.")
    base = reports[baseline] if baseline is not None else None
    rows = [r.as_row(base) for r in reports]
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join("–" if row[c] is None else str(row[c]) for c in cols) + " |" for row in rows]
    return "\n".join(lines)


def plot_compression(reports: Sequence[CompressionReport], ax=None, *, title: str | None = None):
    """Accuracy against file size and against latency, one point per report, in one figure
    (two panels sharing the accuracy axis). Returns the figure."""
    _check_reports(reports)
    if title is not None and not isinstance(title, str):
        checks.fail("title", "a string or None", title)
    import matplotlib.pyplot as plt

    if not reports or any(r.accuracy is None for r in reports):
        raise ValueError("plot_compression needs reports that all carry an accuracy "
                         "(pass data to compression_report).")
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    else:
        axes = ax
        fig = axes[0].figure
    for r in reports:
        axes[0].scatter(r.file_bytes / 1e3, 100 * r.accuracy)
        axes[0].annotate(r.name, (r.file_bytes / 1e3, 100 * r.accuracy), fontsize=8,
                         xytext=(3, 3), textcoords="offset points")
        axes[1].errorbar(r.latency_ms, 100 * r.accuracy,
                         xerr=[[r.latency_ms - r.latency.q1_ms], [r.latency.q3_ms - r.latency_ms]], fmt="o")
        axes[1].annotate(r.name, (r.latency_ms, 100 * r.accuracy), fontsize=8,
                         xytext=(3, 3), textcoords="offset points")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("file size on disk (kB, log scale)")
    axes[1].set_xlabel("CPU latency per image (ms, median; bars: quartiles)")
    axes[0].set_ylabel("test accuracy (%)")
    for a in axes:
        a.grid(alpha=0.3)
    fig.suptitle(title or "Accuracy against size and latency")
    fig.tight_layout()
    return fig
