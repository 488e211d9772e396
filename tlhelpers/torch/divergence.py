"""Differentiable domain divergences for PyTorch: MMD² and CORAL as training losses.

The same names, formulas and conventions as the NumPy reference :mod:`tlhelpers.divergence`
(read its docstring for the kernel, the median heuristic and when each MMD² estimator is
the right one); ``tests/test_divergence_parity.py`` holds them to it within 1e-5. Every
function takes two feature tensors ``source`` (m, d) and ``target`` (n, d), returns a
0-d tensor that gradients flow through, and computes in the inputs' dtype.

One difference from the reference, on purpose: the median-heuristic bandwidth is computed
from the batch but *detached* (a constant for the gradient), as in DAN — otherwise the
loss could shrink by widening its own kernel.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..divergence import DEFAULT_MULTIPLIERS, _bandwidth_list, check_feature_shapes

__all__ = [
    "DEFAULT_MULTIPLIERS",
    "coral_distance",
    "covariance",
    "gaussian_kernel",
    "kernel_bandwidths",
    "median_bandwidth",
    "mmd2_biased",
    "mmd2_linear",
    "mmd2_unbiased",
    "sq_distances",
]


def _features(source: torch.Tensor, target: torch.Tensor, min_samples: int = 1,
              names: tuple[str, str] = ("source", "target")):
    for name, x in zip(names, (source, target)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}.")
        if not x.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}.")
    check_feature_shapes(tuple(source.shape), tuple(target.shape), min_samples=min_samples, names=names)
    for name, x in zip(names, (source, target)):
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} contains NaN or infinite values.")
    return source, target.to(source.dtype)


def sq_distances(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances (m, n): ‖s‖² + ‖t‖² − 2 s·t, clipped at 0."""
    s, t = _features(source, target)
    return _sq_distances(s, t)


def _sq_distances(s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    d2 = (s * s).sum(1, keepdim=True) + (t * t).sum(1)[None, :] - 2.0 * s @ t.T
    return d2.clamp_min(0.0)


def median_bandwidth(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The median heuristic σ (no gradient): σ² = median of ‖z_i − z_j‖², i < j, over the
    pooled batch — the two middle values averaged, as ``numpy.median``.

    The n zeros of the diagonal sort first; the median of the remaining n(n−1) entries
    (each pair twice) equals the median over pairs i < j. Two selections (``kthvalue``),
    no full sort.
    """
    s, t = _features(source, target)
    with torch.no_grad():
        z = torch.cat([s, t])
        n = len(z)
        if n < 2:
            raise ValueError("the median heuristic needs at least 2 samples in source and target together.")
        d2 = _sq_distances(z, z)
        d2 = d2 * (1.0 - torch.eye(n, dtype=d2.dtype, device=d2.device))
        middle = n + n * (n - 1) // 2  # 1-based rank of the upper middle value in d2.flatten()
        values = d2.flatten()
        median = 0.5 * (torch.kthvalue(values, middle).values + torch.kthvalue(values, middle + 1).values)
        # all-equal features would give σ = 0 and 0/0 in the kernel: floor σ² at machine epsilon
        return median.clamp_min(torch.finfo(d2.dtype).eps).sqrt()


def kernel_bandwidths(source: torch.Tensor, target: torch.Tensor, bandwidth=None,
                      multipliers: Sequence[float] = DEFAULT_MULTIPLIERS) -> list:
    """The σ_k: ``bandwidth`` as given, or the median heuristic × each multiplier."""
    if bandwidth is not None:
        return _bandwidth_list(bandwidth)
    sigma = median_bandwidth(source, target)
    return [sigma * f for f in _bandwidth_list(multipliers, "multipliers")]


def _kernel(d2: torch.Tensor, sigmas: list) -> torch.Tensor:
    return torch.stack([torch.exp(-d2 / (2.0 * s * s)) for s in sigmas]).mean(0)


def gaussian_kernel(source: torch.Tensor, target: torch.Tensor, bandwidth) -> torch.Tensor:
    """The (multi-)Gaussian kernel matrix: mean over σ of exp(−‖s_i − t_j‖² / (2σ²))."""
    s, t = _features(source, target)
    return _kernel(_sq_distances(s, t), _bandwidth_list(bandwidth))


def _kernel_blocks(source, target, bandwidth, multipliers, min_samples):
    s, t = _features(source, target, min_samples)
    sigmas = kernel_bandwidths(s, t, bandwidth, multipliers)
    return (_kernel(_sq_distances(s, s), sigmas), _kernel(_sq_distances(t, t), sigmas),
            _kernel(_sq_distances(s, t), sigmas))


def mmd2_biased(source: torch.Tensor, target: torch.Tensor, *, bandwidth=None,
                multipliers: Sequence[float] = DEFAULT_MULTIPLIERS) -> torch.Tensor:
    """MMD², biased V-statistic: mean(K_ss) + mean(K_tt) − 2 mean(K_st) (see the reference)."""
    kss, ktt, kst = _kernel_blocks(source, target, bandwidth, multipliers, 1)
    return kss.mean() + ktt.mean() - 2.0 * kst.mean()


def mmd2_unbiased(source: torch.Tensor, target: torch.Tensor, *, bandwidth=None,
                  multipliers: Sequence[float] = DEFAULT_MULTIPLIERS) -> torch.Tensor:
    """MMD², unbiased U-statistic: within-domain means without the diagonal (see the reference)."""
    kss, ktt, kst = _kernel_blocks(source, target, bandwidth, multipliers, 2)
    m, n = len(kss), len(ktt)
    return ((kss.sum() - kss.diagonal().sum()) / (m * (m - 1))
            + (ktt.sum() - ktt.diagonal().sum()) / (n * (n - 1)) - 2.0 * kst.mean())


def mmd2_linear(source: torch.Tensor, target: torch.Tensor, *, bandwidth=None,
                multipliers: Sequence[float] = DEFAULT_MULTIPLIERS) -> torch.Tensor:
    """MMD², linear-time statistic over consecutive pairs (see the reference)."""
    s, t = _features(source, target, 2)
    sigmas = kernel_bandwidths(s, t, bandwidth, multipliers)
    half = min(len(s), len(t)) // 2
    s1, s2, t1, t2 = s[0:2 * half:2], s[1:2 * half:2], t[0:2 * half:2], t[1:2 * half:2]

    def k(a, b):
        return _kernel(((a - b) ** 2).sum(1), sigmas)

    return (k(s1, s2) + k(t1, t2) - k(s1, t2) - k(s2, t1)).mean()


def covariance(features: torch.Tensor) -> torch.Tensor:
    """Sample covariance (d, d): centred, divided by n − 1."""
    x, _ = _features(features, features, 2, names=("features", "features"))
    return _covariance(x)


def _covariance(x: torch.Tensor) -> torch.Tensor:
    xc = x - x.mean(0, keepdim=True)
    return xc.T @ xc / (len(x) - 1)


def coral_distance(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CORAL loss ‖C_S − C_T‖²_F / (4d²) (Sun & Saenko 2016), centred covariances with n − 1."""
    s, t = _features(source, target, 2)
    d = s.shape[1]
    diff = _covariance(s) - _covariance(t)
    return (diff * diff).sum() / (4.0 * d * d)
