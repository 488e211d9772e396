"""Training-length arithmetic and learning-rate schedules, as plain functions of the step.

Framework-neutral: both tracks wrap these (``tlhelpers.keras.finetune.lr_schedule`` gives a
Keras ``LearningRateSchedule``, ``tlhelpers.torch.finetune.lr_schedule`` a ``LambdaLR``), so
a schedule gives the same learning rate at every step in Keras and in PyTorch.

Conventions shared by every schedule here:

* ``step`` counts the optimizer steps already taken: ``lr(0)`` is the rate of the first
  update, ``lr(total_steps - 1)`` that of the last one (Keras passes ``optimizer.iterations``,
  PyTorch's ``LambdaLR`` its ``last_epoch``: the same number). Steps past the end keep the
  last rate, so one extra step never produces a negative or exploding rate.
* Every schedule is ``peak_lr`` times a shape that peaks at 1, so ``peak_lr=1`` gives the
  *factor* a ``LambdaLR`` multiplies each parameter group's own rate by; discriminative
  rates (a different peak per block) keep their ratios at every step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .checks import positive_int

__all__ = [
    "SCHEDULES",
    "get_schedule",
    "one_cycle",
    "plot_schedules",
    "schedule_values",
    "slanted_triangular",
    "steps_to_epochs",
    "warmup_cosine",
]


def steps_to_epochs(n_examples: int, steps: int, batch_size: int) -> int:
    """Epochs that give at least ``steps`` optimizer steps on ``n_examples`` examples."""
    n_examples, batch_size = positive_int(n_examples, "n_examples"), positive_int(batch_size, "batch_size")
    steps = positive_int(steps, "steps")
    return max(1, math.ceil(steps / math.ceil(n_examples / batch_size)))


def _number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
            low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float inside the given bounds, or a ValueError naming ``name``."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    out = float(value) if ok else math.nan
    if ok and math.isfinite(out):
        ok = (low is None or (out > low if low_open else out >= low)) and \
             (high is None or (out < high if high_open else out <= high))
    else:
        ok = False
    if not ok:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        raise ValueError(f"{name} must be a finite number{' ' + bounds if bounds else ''}, got {value!r}.")
    return out


def _check_step(step: Any, total_steps: Any) -> tuple[int, int]:
    total = positive_int(total_steps, "total_steps")
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, (int, np.integer)) or step < 0:
        raise ValueError(f"step must be an integer >= 0 (optimizer steps taken), got {step!r}.")
    return min(int(step), total - 1), total


def _cosine(start: float, end: float, pct: float) -> float:
    """Half a cosine from ``start`` (pct=0) to ``end`` (pct=1)."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)


def warmup_cosine(step: int, total_steps: int, *, peak_lr: float = 1.0, warmup_steps: int = 0,
                  final_fraction: float = 0.0) -> float:
    r"""Linear warm-up to ``peak_lr``, then cosine decay to ``final_fraction * peak_lr``.

    .. math::

        \eta_t = \begin{cases}
            \eta_{\max}\, t / W & t < W \\
            \eta_{\min} + \tfrac12(\eta_{\max} - \eta_{\min})
                \bigl(1 + \cos(\pi\, \tfrac{t - W}{T - W})\bigr) & t \ge W
        \end{cases}, \qquad \eta_{\min} = \mathit{final\_fraction}\cdot\eta_{\max}

    with :math:`T` = ``total_steps``, :math:`W` = ``warmup_steps``. Cosine decay is SGDR's
    (Loshchilov & Hutter, ICLR 2017) without restarts; the linear warm-up is Goyal et al.
    2017's ("Accurate, large minibatch SGD"). Same values as Keras's
    ``CosineDecay(0.0, T - W, alpha=final_fraction, warmup_target=peak, warmup_steps=W)`` and
    transformers' ``get_cosine_schedule_with_warmup``. ``warmup_steps=0``: pure cosine decay.
    """
    t, total = _check_step(step, total_steps)
    peak = _number(peak_lr, "peak_lr", low=0.0, low_open=True)
    final = peak * _number(final_fraction, "final_fraction", low=0.0, high=1.0)
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, (int, np.integer)) \
            or not 0 <= warmup_steps < total:
        raise ValueError(f"warmup_steps must be an integer from 0 to total_steps - 1 = {total - 1}, "
                         f"got {warmup_steps!r}.")
    if t < warmup_steps:
        return peak * t / warmup_steps
    return _cosine(peak, final, (t - warmup_steps) / (total - warmup_steps))


def one_cycle(step: int, total_steps: int, *, peak_lr: float = 1.0, pct_start: float = 0.3,
              div_factor: float = 25.0, final_div_factor: float = 1e4, anneal: str = "cos",
              three_phase: bool = False) -> float:
    r"""The 1cycle policy (Smith, "A disciplined approach to neural network hyper-parameters",
    2018; Smith & Topin 2019), with exactly the learning rates of PyTorch's
    ``torch.optim.lr_scheduler.OneCycleLR`` (``max_lr`` = ``peak_lr``).

    The rate rises from :math:`\eta_0 = \eta_{\max}/` ``div_factor`` to :math:`\eta_{\max}`
    over the first ``pct_start`` of the steps (ending at step :math:`p T - 1`), then anneals
    to :math:`\eta_0/` ``final_div_factor`` at step :math:`T - 1`; each phase interpolates
    with ``anneal`` (``"cos"``: :math:`\eta = e + \tfrac12(s - e)(1 + \cos \pi u)`;
    ``"linear"``) over its fraction :math:`u`. ``three_phase=True`` goes back down to
    :math:`\eta_0` symmetrically before the final annealing (fastai's original version).
    Only the rate is scheduled: ``OneCycleLR``'s momentum cycling is a separate choice.
    """
    t, total = _check_step(step, total_steps)
    peak = _number(peak_lr, "peak_lr", low=0.0, low_open=True)
    pct = _number(pct_start, "pct_start", low=0.0, high=1.0, low_open=True, high_open=True)
    div = _number(div_factor, "div_factor", low=0.0, low_open=True)
    final_div = _number(final_div_factor, "final_div_factor", low=0.0, low_open=True)
    if anneal not in ("cos", "linear"):
        raise ValueError(f"anneal must be 'cos' or 'linear', got {anneal!r}.")
    initial, final = peak / div, peak / div / final_div
    if three_phase:
        phases = [(pct * total - 1, initial, peak), (2 * pct * total - 2, peak, initial),
                  (total - 1, initial, final)]
    else:
        phases = [(pct * total - 1, initial, peak), (total - 1, peak, final)]
    start_step = 0.0
    for i, (end_step, start_lr, end_lr) in enumerate(phases):
        if t <= end_step or i == len(phases) - 1:
            span = end_step - start_step
            u = (t - start_step) / span if span else 1.0
            if anneal == "cos":
                return _cosine(start_lr, end_lr, u)
            return start_lr + (end_lr - start_lr) * u
        start_step = end_step
    raise AssertionError("unreachable")  # pragma: no cover


def slanted_triangular(step: int, total_steps: int, *, peak_lr: float = 1.0, cut_frac: float = 0.1,
                       ratio: float = 32.0) -> float:
    r"""ULMFiT's slanted triangular learning rate (Howard & Ruder, ACL 2018, eq. 3).

    .. math::

        \mathit{cut} = \lfloor T \cdot \mathit{cut\_frac} \rfloor, \quad
        p = \begin{cases} t / \mathit{cut} & t < \mathit{cut} \\
            1 - \frac{t - \mathit{cut}}{\mathit{cut}\,(1/\mathit{cut\_frac} - 1)} & \text{otherwise}
            \end{cases}, \quad
        \eta_t = \eta_{\max} \, \frac{1 + p\,(\mathit{ratio} - 1)}{\mathit{ratio}}

    A short linear climb from :math:`\eta_{\max}/\mathit{ratio}` to :math:`\eta_{\max}` over
    the first ``cut_frac`` of the steps, then a long linear decay back to
    :math:`\eta_{\max}/\mathit{ratio}`. The paper uses ``cut_frac=0.1``, ``ratio=32``.
    Where :math:`T \cdot \mathit{cut\_frac}` is not a whole number, the floor makes the
    formula reach :math:`p = 0` before step :math:`T` and go negative after it; the rate
    is held at :math:`\eta_{\max}/\mathit{ratio}` there (:math:`p \ge 0`).
    """
    t, total = _check_step(step, total_steps)
    peak = _number(peak_lr, "peak_lr", low=0.0, low_open=True)
    frac = _number(cut_frac, "cut_frac", low=0.0, high=1.0, low_open=True, high_open=True)
    r = _number(ratio, "ratio", low=1.0)
    cut = math.floor(total * frac)
    if cut < 1:
        raise ValueError(f"cut_frac * total_steps must be at least 1 step to climb, got "
                         f"cut_frac={cut_frac!r} * total_steps={total} = {total * frac:g}; "
                         "raise total_steps or cut_frac.")
    p = t / cut if t < cut else max(0.0, 1.0 - (t - cut) / (cut * (1.0 / frac - 1.0)))
    return peak * (1.0 + p * (r - 1.0)) / r


#: The schedules by name, as ``finetune.fit(schedule=...)`` and ``lr_schedule`` take them.
SCHEDULES: dict[str, Callable[..., float]] = {
    "warmup_cosine": warmup_cosine,
    "one_cycle": one_cycle,
    "slanted_triangular": slanted_triangular,
}


def get_schedule(schedule: str | Callable[..., float]) -> Callable[..., float]:
    """The schedule function for a name of :data:`SCHEDULES` (a callable is returned as is)."""
    if callable(schedule):
        return schedule
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(map(repr, SCHEDULES))} or a function "
                         f"f(step, total_steps, peak_lr=...), got {schedule!r}.")
    return SCHEDULES[schedule]


def schedule_values(schedule: str | Callable[..., float], total_steps: int, **options: Any) -> np.ndarray:
    """The learning rate at steps ``0 … total_steps - 1`` as a float64 array.

    ``options`` go to the schedule (``peak_lr``, ``warmup_steps``, ``cut_frac`` …); they are
    checked once, so a bad option fails here with the schedule's own message.
    """
    fn = get_schedule(schedule)
    total = positive_int(total_steps, "total_steps")
    return np.array([fn(t, total, **options) for t in range(total)], dtype=np.float64)


def plot_schedules(schedules: dict[str, Sequence[float] | np.ndarray], *, ax=None,
                   title: str = "Learning-rate schedules", log: bool = False):
    """Plot learning rate against optimizer step, one labelled line per schedule.

    ``schedules`` maps a label to the rates per step (from :func:`schedule_values`, or the
    rates a track's optimizer actually used). Returns the matplotlib ``Axes``.
    """
    import matplotlib.pyplot as plt

    if not isinstance(schedules, dict) or not schedules:
        raise ValueError("schedules must be a non-empty dict {label: learning rates per step}, "
                         f"got {type(schedules).__name__}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, values in schedules.items():
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 1 or len(values) == 0:
            raise ValueError(f"schedules[{label!r}] must be a 1-D sequence of learning rates, "
                             f"got shape {values.shape}.")
        ax.plot(np.arange(len(values)), values, label=str(label))
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("learning rate")
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


# ======================================================================================
# Domain-adversarial training: the two schedules of Ganin et al. (JMLR 2016, §5.2.2)
# (Lesson 04; both tracks wrap these in tlhelpers.{keras,torch}.dann)
# ======================================================================================

def dann_lambda(progress: float, *, gamma: float = 10.0) -> float:
    r"""The gradient-reversal coefficient of DANN at training progress p:

    .. math:: \lambda_p = \frac{2}{1 + \exp(-\gamma p)} - 1, \qquad \gamma = 10,

    from 0 at the start to ≈ 1 at the end (λ(0.1) = 0.4621, λ(0.5) = 0.9866), so the
    domain classifier's still-noisy signal is damped while it learns (Ganin et al., JMLR
    2016, §5.2.2). ``progress`` is steps done / total steps.
    """
    p = _number(progress, "progress", low=0.0, high=1.0)
    g = _number(gamma, "gamma", low=0.0, low_open=True)
    return 2.0 / (1.0 + math.exp(-g * p)) - 1.0


def dann_lr(progress: float, *, alpha: float = 10.0, beta: float = 0.75) -> float:
    r"""The learning-rate annealing factor of DANN at training progress p:

    .. math:: \frac{\mu_p}{\mu_0} = \frac{1}{(1 + \alpha p)^{\beta}}, \qquad \alpha = 10,\ \beta = 0.75

    (Ganin et al., JMLR 2016, §5.2.2, with μ0 = 0.01 and SGD, momentum 0.9). A *factor*:
    each parameter group's own rate is multiplied by it, so rates that differ between
    groups keep their ratio (COURSE.md §5 item 5). ``dann_lr(1.0) = 11**-0.75 ≈ 0.1656``.
    """
    p = _number(progress, "progress", low=0.0, high=1.0)
    a = _number(alpha, "alpha", low=0.0)
    b = _number(beta, "beta", low=0.0)
    return 1.0 / (1.0 + a * p) ** b


__all__ += ["dann_lambda", "dann_lr"]
