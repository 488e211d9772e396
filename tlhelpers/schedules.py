"""Training-length arithmetic and learning-rate schedules, as plain functions of the step.

Framework-neutral: both tracks wrap these, so a schedule gives the same learning rate at
every step in Keras and in PyTorch.
"""

from __future__ import annotations

import math

__all__ = ["steps_to_epochs"]


def steps_to_epochs(n_examples: int, steps: int, batch_size: int) -> int:
    """Epochs that give at least ``steps`` optimizer steps on ``n_examples`` examples."""
    return max(1, math.ceil(steps / math.ceil(n_examples / batch_size)))


# ======================================================================================
# Domain-adversarial training: the two schedules of Ganin et al. (JMLR 2016, §5.2.2)
# (Lesson 04; both tracks wrap these in tlhelpers.{keras,torch}.dann)
# ======================================================================================

def _progress(progress: float) -> float:
    """The training progress p as a float in [0, 1], or a ValueError naming it."""
    try:
        p = float(progress)
    except (TypeError, ValueError):
        p = math.nan
    if isinstance(progress, bool) or not (0.0 <= p <= 1.0):  # also rejects NaN
        raise ValueError(f"progress must be a number in [0, 1] (steps done / total steps), got {progress!r}.")
    return p


def _positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if isinstance(value, bool) or not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {value!r}.")
    return v


def dann_lambda(progress: float, *, gamma: float = 10.0) -> float:
    r"""The gradient-reversal coefficient of DANN at training progress p:

    .. math:: \lambda_p = \frac{2}{1 + \exp(-\gamma p)} - 1, \qquad \gamma = 10,

    from 0 at the start to ≈ 1 at the end (λ(0.1) = 0.4621, λ(0.5) = 0.9866), so the
    domain classifier's still-noisy signal is damped while it learns (Ganin et al., JMLR
    2016, §5.2.2). ``progress`` is steps done / total steps.
    """
    p = _progress(progress)
    g = _positive(gamma, "gamma")
    return 2.0 / (1.0 + math.exp(-g * p)) - 1.0


def dann_lr(progress: float, *, alpha: float = 10.0, beta: float = 0.75) -> float:
    r"""The learning-rate annealing factor of DANN at training progress p:

    .. math:: \frac{\mu_p}{\mu_0} = \frac{1}{(1 + \alpha p)^{\beta}}, \qquad \alpha = 10,\ \beta = 0.75

    (Ganin et al., JMLR 2016, §5.2.2, with μ0 = 0.01 and SGD, momentum 0.9). A *factor*:
    each parameter group's own rate is multiplied by it, so rates that differ between
    groups keep their ratio (COURSE.md §5 item 5). ``dann_lr(1.0) = 11**-0.75 ≈ 0.1656``.
    """
    p = _progress(progress)
    a = _positive(alpha, "alpha", allow_zero=True)
    b = _positive(beta, "beta", allow_zero=True)
    return 1.0 / (1.0 + a * p) ** b


__all__ += ["dann_lambda", "dann_lr"]
