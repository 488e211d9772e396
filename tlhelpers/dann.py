"""Framework-neutral parts of domain-adversarial training (DANN, Lesson 04).

Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR 17(59), 2016. A
feature extractor G_f, a label predictor G_y and a domain classifier G_d are trained to the
saddle point

    min_{θf, θy} max_{θd}  L_y(θf, θy) − λ L_d(θf, θd),

by ordinary back-propagation through a *gradient reversal layer* (identity forward, −λ·g
backward) between G_f and G_d. Both tracks (``tlhelpers.{keras,torch}.dann``) build on
this module: the paper's numbers and architecture, the share of the gap closed, and the
argument checks. The λ_p and learning-rate schedules are in :mod:`tlhelpers.schedules`
(``dann_lambda``, ``dann_lr``).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from . import checks

__all__ = ["PAPER_DIGITS_NETWORK", "PAPER_GAP_CLOSED", "PAPER_TABLE2", "check_channel_mean",
           "check_lambda", "check_sgd", "gap_closed"]

#: Ganin et al. 2016, Table 2: target-domain accuracy of a network trained on the labelled
#: source only, with DANN (unlabelled target), and on the labelled target (the upper bound).
PAPER_TABLE2: dict[str, dict[str, float]] = {
    "MNIST -> MNIST-M": {"source_only": 0.5225, "dann": 0.7666, "train_on_target": 0.9596},
    "SVHN -> MNIST": {"source_only": 0.5490, "dann": 0.7385, "train_on_target": 0.9942},
}

#: The share of the gap closed that the paper prints beside its DANN results (Table 2).
PAPER_GAP_CLOSED: dict[str, float] = {"MNIST -> MNIST-M": 0.529}

#: The paper's network for MNIST -> MNIST-M (Fig. 4a): feature extractor conv 5×5 ×32 →
#: ReLU → max-pool 2×2 (stride 2) → conv 5×5 ×48 → ReLU → max-pool 2×2; label predictor
#: fully connected 100 → ReLU → 100 → ReLU → classes; domain classifier (after the GRL)
#: fully connected 100 → ReLU → 1 logit. Images are mean-subtracted.
PAPER_DIGITS_NETWORK: dict[str, Any] = {
    "conv": ((32, 5), (48, 5)),   # (filters, kernel), each followed by ReLU and a 2×2 max-pool
    "label_hidden": (100, 100),
    "domain_hidden": (100,),
    "optimizer": "SGD, momentum 0.9, μ0 = 0.01, μ_p = μ0 / (1 + 10p)^0.75",
    "batch": "64 source + 64 target images per step",
}


def check_lambda(value: Any, name: str = "lambda_") -> float:
    """``value`` as a float if it is a finite number >= 0 (a gradient-reversal coefficient,
    or another weight named ``name``)."""
    number = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    out = float(value) if number else math.nan
    if not math.isfinite(out) or out < 0:
        hint = " (the reversal is the layer itself: λ is its strength, never negative)" \
            if name == "lambda_" and math.isfinite(out) and out < 0 else ""
        raise ValueError(f"{name} must be a finite number >= 0{hint}, got {value!r}.")
    return out


def check_channel_mean(mean: Any, channels: int) -> np.ndarray:
    """``mean`` (one number, or one per channel) as float32 ``(channels,)``; strings, NaN and
    a count of values that is not 1 or ``channels`` are refused."""
    values = np.atleast_1d(np.asarray(mean, dtype=object))
    if values.ndim != 1 or len(values) not in (1, channels) or not all(
            isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and math.isfinite(v)
            for v in values):
        checks.fail("mean", f"a finite number or {channels} of them (one per channel)", mean)
    return np.broadcast_to(values.astype(np.float32), (channels,)).copy()


def check_sgd(lr: Any, momentum: Any, weight_decay: Any) -> None:
    """The contract's checks of an SGD recipe's numbers (``fit_dann``), before any framework call."""
    checks.positive_number(lr, "lr")
    checks.number(momentum, "momentum", minimum=0.0, maximum=1.0, exclusive_max=True)
    checks.number(weight_decay, "weight_decay", minimum=0.0)


def gap_closed(source_only: float, adapted: float, train_on_target: float) -> float:
    """Share of the source-only → train-on-target accuracy gap that adaptation closes:

        (adapted − source_only) / (train_on_target − source_only).

    1 means as good as training on labelled target data, 0 no better than source-only,
    negative worse (negative transfer). On Ganin et al.'s Table 2 MNIST → MNIST-M numbers
    this gives (.7666 − .5225) / (.9596 − .5225) = 0.558; the paper prints 52.9% beside
    its DANN result (:data:`PAPER_GAP_CLOSED`), a figure these three numbers do not
    reproduce. Report the share computed from your own three measurements.
    """
    values = {"source_only": source_only, "adapted": adapted, "train_on_target": train_on_target}
    for name, v in values.items():
        try:
            ok = 0.0 <= float(v) <= 1.0 and not isinstance(v, (bool, str, bytes))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{name} must be an accuracy in [0, 1], got {v!r}.")
    gap = float(train_on_target) - float(source_only)
    if gap <= 0:
        raise ValueError(f"train_on_target ({train_on_target!r}) must exceed source_only ({source_only!r}): "
                         "there is no gap to close.")
    return (float(adapted) - float(source_only)) / gap
