"""Domain divergences, framework-neutral NumPy/scikit-learn reference implementations.

How far apart are two samples of features? Lesson 01 uses the proxy A-distance to read
the domain-adaptation bound; Lesson 03 adds the maximum mean discrepancy (MMD) with its
permutation test, and the CORAL distance. The tracks' differentiable versions
(``tlhelpers.{keras,torch}.divergence``, same names) are held to these by parity tests.

Every function takes two feature matrices ``source`` (m, d) and ``target`` (n, d) and
computes in float64.

**Kernel.** The Gaussian kernel with bandwidth σ is

    k_σ(x, y) = exp(−‖x − y‖² / (2σ²))

— the *squared* distance, divided by *twice the squared* bandwidth. A multi-kernel is the
plain average of K Gaussian kernels, k = (1/K) Σ_k k_{σ_k} (DAN, Long et al. 2015, learns
weights for them; we use equal weights, as most implementations do).

**Median heuristic** (Gretton et al., JMLR 2012, §8: "the kernel bandwidth was set to
the median distance between points in the aggregate sample"): σ² is the median of the
squared Euclidean distances ‖z_i − z_j‖² over all pairs i < j of the *pooled* sample
z = source ∪ target (the median of the distances, squared, up to how the two middle
values of an even count are averaged). Some code divides by σ² instead of 2σ² (a kernel
√2 narrower); here it is always 2σ². The multi-kernel family is σ_k = σ · m_k for the
``multipliers`` m_k (default 0.5, 1, 2: σ² spread over a factor of 16).

**Estimators of MMD²** (Gretton et al. 2012) with K_xx, K_yy, K_xy the kernel matrices:

* :func:`mmd2_biased`, the V-statistic (Eq. 5): mean(K_xx) + mean(K_yy) − 2 mean(K_xy).
* :func:`mmd2_unbiased`, the U-statistic (Lemma 6, Eq. 3): the same with the diagonals
  k(x_i, x_i) left out of the within-domain means.
* :func:`mmd2_linear`, the linear-time statistic (§6, Lemma 14).

Their docstrings say when each is the right one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import checks

__all__ = [
    "DEFAULT_MULTIPLIERS",
    "ClassifierTest",
    "PermutationTest",
    "check_feature_shapes",
    "classifier_two_sample_test",
    "coral_distance",
    "covariance",
    "divergence_table",
    "gaussian_kernel",
    "kernel_bandwidths",
    "median_bandwidth",
    "mmd2_biased",
    "mmd2_linear",
    "mmd2_two_gaussians",
    "mmd2_unbiased",
    "mmd_permutation_test",
    "pad_from_error",
    "proxy_a_distance",
    "sq_distances",
]

#: Bandwidth multipliers of the default multi-kernel: σ/2, σ, 2σ around the median heuristic.
DEFAULT_MULTIPLIERS: tuple[float, ...] = (0.5, 1.0, 2.0)


# --------------------------------------------------------------------------------------
# Argument checks (the tracks call these on their tensors' shapes)
# --------------------------------------------------------------------------------------

def check_feature_shapes(source_shape: Sequence, target_shape: Sequence, *, min_samples: int = 1,
                         names: tuple[str, str] = ("source", "target")) -> None:
    """Raise a ValueError naming the argument unless both are (samples, features) matrices
    of the same width with at least ``min_samples`` rows each (``None`` sizes pass)."""
    for name, shape in zip(names, (source_shape, target_shape)):
        if len(shape) != 2:
            hint = " (for 1-D data pass x[:, None])" if len(shape) == 1 else ""
            raise ValueError(f"{name} must be a feature matrix of shape (n_samples, n_features), "
                             f"got shape {tuple(shape)}{hint}.")
        if shape[0] is not None and shape[0] < min_samples:
            what = "is empty" if shape[0] == 0 else f"has {shape[0]} sample"
            raise ValueError(f"{name} {what}; this needs at least {min_samples} "
                             f"sample{'s' if min_samples > 1 else ''} per domain.")
    ws, wt = source_shape[1], target_shape[1]
    if ws is not None and wt is not None and ws != wt:
        raise ValueError(f"{names[0]} and {names[1]} must have the same number of features, "
                         f"got {ws} and {wt}.")


def _features(source, target, min_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
    for name, x in (("source", source), ("target", target)):
        if x is None or isinstance(x, (str, bytes)):
            raise ValueError(f"{name} must be a feature matrix of shape (n_samples, n_features), got {x!r}.")
    xs, xt = np.asarray(source, dtype=np.float64), np.asarray(target, dtype=np.float64)
    check_feature_shapes(xs.shape, xt.shape, min_samples=min_samples)
    for name, x in (("source", xs), ("target", xt)):
        if not np.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values.")
    return xs, xt


def _positive(value, name: str) -> float:
    # A string or a bool is not a bandwidth, even where float() would read it as one.
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}.") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return v


def _bandwidth_list(bandwidth, name: str = "bandwidth") -> list[float]:
    """One positive number or a non-empty sequence of them, as a list of floats."""
    values = (list(bandwidth) if isinstance(bandwidth, (Sequence, np.ndarray))
              and not isinstance(bandwidth, (str, bytes)) else [bandwidth])
    if not values:
        raise ValueError(f"{name} must be a positive number or a non-empty sequence of them, got {bandwidth!r}.")
    return [_positive(b, name) for b in values]


# --------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------

def sq_distances(source, target) -> np.ndarray:
    """Squared Euclidean distances ‖s_i − t_j‖², shape (m, n), as ‖s‖² + ‖t‖² − 2 s·t
    clipped at 0 (the expansion can round to a tiny negative number)."""
    xs, xt = _features(source, target)
    d2 = (xs * xs).sum(1)[:, None] + (xt * xt).sum(1)[None, :] - 2.0 * xs @ xt.T
    return np.maximum(d2, 0.0)


def median_bandwidth(source, target) -> float:
    """The median heuristic σ (Gretton et al. 2012, §8): σ² = median of ‖z_i − z_j‖² over
    pairs i < j of the pooled sample z = source ∪ target.

    O((m + n)²) memory and time. Raises a ValueError when the median is 0 (more than half
    of the pairs are duplicates): pass an explicit bandwidth then.
    """
    xs, xt = _features(source, target)
    z = np.concatenate([xs, xt])
    if len(z) < 2:
        raise ValueError("the median heuristic needs at least 2 samples in source and target together.")
    d2 = sq_distances(z, z)
    median = float(np.median(d2[np.triu_indices(len(z), 1)]))
    if median <= 0.0:
        raise ValueError("the median heuristic gave bandwidth 0 (most samples coincide); pass bandwidth=.")
    return math.sqrt(median)


def kernel_bandwidths(source, target, bandwidth=None,
                      multipliers: Sequence[float] = DEFAULT_MULTIPLIERS) -> list[float]:
    """The σ_k of the multi-kernel: ``bandwidth`` (a σ, or a sequence of them) as given, or
    :func:`median_bandwidth` × each of ``multipliers`` when ``bandwidth`` is None."""
    if bandwidth is not None:
        return _bandwidth_list(bandwidth)
    factors = _bandwidth_list(multipliers, "multipliers")
    sigma = median_bandwidth(source, target)
    return [sigma * f for f in factors]


def gaussian_kernel(source, target, bandwidth) -> np.ndarray:
    """The (multi-)Gaussian kernel matrix (m, n): mean over σ in ``bandwidth`` (one σ or a
    sequence) of exp(−‖s_i − t_j‖² / (2σ²))."""
    sigmas = _bandwidth_list(bandwidth)
    d2 = sq_distances(source, target)
    return np.mean([np.exp(-d2 / (2.0 * s * s)) for s in sigmas], axis=0)


# --------------------------------------------------------------------------------------
# MMD² estimators
# --------------------------------------------------------------------------------------

def _kernels(source, target, bandwidth, multipliers, min_samples):
    xs, xt = _features(source, target, min_samples)
    sigmas = kernel_bandwidths(xs, xt, bandwidth, multipliers)
    return (gaussian_kernel(xs, xs, sigmas), gaussian_kernel(xt, xt, sigmas),
            gaussian_kernel(xs, xt, sigmas))


def mmd2_biased(source, target, *, bandwidth=None,
                multipliers: Sequence[float] = DEFAULT_MULTIPLIERS) -> float:
    """MMD², biased V-statistic (Gretton et al. 2012, Eq. 5):

        mean(K_ss) + mean(K_tt) − 2 mean(K_st),  diagonals included.

    The squared RKHS distance between the two empirical mean embeddings, so it is never
    negative — but it is biased upwards by about (1 − E k(x, x'))(1/m + 1/n): two samples of
    the *same* distribution give a clearly positive value that shrinks only as 1/n, and
    values from different sample sizes are not comparable. Right for a smooth non-negative
    training loss on fixed-size batches; wrong for "is the MMD zero?" or for reporting a
    divergence. ``bandwidth``: σ or a sequence of σ; default the median heuristic ×
    ``multipliers``. Needs ≥ 1 sample per domain.
    """
    kss, ktt, kst = _kernels(source, target, bandwidth, multipliers, 1)
    return float(kss.mean() + ktt.mean() - 2.0 * kst.mean())


def mmd2_unbiased(source, target, *, bandwidth=None,
                  multipliers: Sequence[float] = DEFAULT_MULTIPLIERS) -> float:
    """MMD², unbiased U-statistic (Gretton et al. 2012, Lemma 6, Eq. 3):

        Σ_{i≠j} k(s_i, s_j) / (m(m−1)) + Σ_{i≠j} k(t_i, t_j) / (n(n−1)) − 2 mean(K_st).

    Leaving out the diagonal terms k(x, x) = 1 makes its expectation exactly MMD²: about 0,
    and negative half the time, when both samples come from one distribution. The right
    estimator for two-sample tests (:func:`mmd_permutation_test`) and for reporting or
    comparing divergences; O((m + n)²). Needs ≥ 2 samples per domain.
    """
    kss, ktt, kst = _kernels(source, target, bandwidth, multipliers, 2)
    m, n = len(kss), len(ktt)
    return float((kss.sum() - np.trace(kss)) / (m * (m - 1))
                 + (ktt.sum() - np.trace(ktt)) / (n * (n - 1)) - 2.0 * kst.mean())


def mmd2_linear(source, target, *, bandwidth=None,
                multipliers: Sequence[float] = DEFAULT_MULTIPLIERS) -> float:
    """MMD², linear-time unbiased statistic (Gretton et al. 2012, §6, Lemma 14):

        mean over i of k(s_2i, s_2i+1) + k(t_2i, t_2i+1) − k(s_2i, t_2i+1) − k(s_2i+1, t_2i)

    over the first ⌊min(m, n)/2⌋ pairs of consecutive samples (so the samples must be in
    random order, as a shuffled batch is). Unbiased like the U-statistic, O(n) time and
    memory, but with a much larger variance (it uses n/2 terms instead of n²). Right for
    streams and very large samples, and as DAN's loss on big batches (Long et al. 2015).
    The median heuristic itself is O(n²): pass ``bandwidth`` to stay linear. Needs ≥ 2
    samples per domain.
    """
    xs, xt = _features(source, target, 2)
    sigmas = kernel_bandwidths(xs, xt, bandwidth, multipliers)
    half = min(len(xs), len(xt)) // 2
    s1, s2, t1, t2 = xs[0:2 * half:2], xs[1:2 * half:2], xt[0:2 * half:2], xt[1:2 * half:2]

    def k(a, b):  # k(a_i, b_i), row by row
        d2 = ((a - b) ** 2).sum(1)
        return np.mean([np.exp(-d2 / (2.0 * s * s)) for s in sigmas], axis=0)

    return float(np.mean(k(s1, s2) + k(t1, t2) - k(s1, t2) - k(s2, t1)))


def mmd2_two_gaussians(mean1: float, std1: float, mean2: float, std2: float, bandwidth) -> float:
    """Closed-form MMD² between N(mean1, std1²) and N(mean2, std2²) in 1-D for the
    Gaussian (multi-)kernel above: for one σ, with E k(X, Y) = σ/√(σ² + v) e^{−δ²/2(σ²+v)}
    for X − Y ~ N(δ, v),

        MMD² = σ/√(σ² + 2 s1²) + σ/√(σ² + 2 s2²) − 2 σ/√(σ² + s1² + s2²) · exp(−(μ1 − μ2)² / (2(σ² + s1² + s2²))).

    For several σ, the mean over them. The estimators converge to this value.
    """
    for name, value in (("mean1", mean1), ("mean2", mean2)):
        if isinstance(value, (str, bytes, bool)) or not math.isfinite(float(value)):
            raise ValueError(f"{name} must be a finite number, got {value!r}.")
    v1, v2 = _positive(std1, "std1") ** 2, _positive(std2, "std2") ** 2
    out = []
    for s in _bandwidth_list(bandwidth):
        s2 = s * s

        def expected_k(delta, var):
            return math.sqrt(s2 / (s2 + var)) * math.exp(-delta * delta / (2.0 * (s2 + var)))

        out.append(expected_k(0.0, 2 * v1) + expected_k(0.0, 2 * v2)
                   - 2.0 * expected_k(float(mean1) - float(mean2), v1 + v2))
    return float(np.mean(out))


# --------------------------------------------------------------------------------------
# Permutation test
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PermutationTest:
    """Result of :func:`mmd_permutation_test`."""

    statistic: float          # MMD² of the observed split
    p_value: float            # (1 + #{null ≥ statistic}) / (1 + n_permutations)
    null: np.ndarray          # MMD² of each random relabelling
    bandwidths: tuple[float, ...]

    @property
    def n_permutations(self) -> int:
        return len(self.null)


def mmd_permutation_test(source, target, *, n_permutations: int = 500, seed: int = 0,
                         estimator: str = "unbiased", bandwidth=None,
                         multipliers: Sequence[float] = DEFAULT_MULTIPLIERS) -> PermutationTest:
    """Permutation two-sample test of "source and target come from one distribution".

    Under that hypothesis the domain labels are exchangeable: the test pools the samples,
    draws ``n_permutations`` random relabellings (same sizes m and n), and computes MMD² for
    each. The p-value counts the observed split as one of the relabellings:

        p = (1 + #{b : MMD²_b ≥ MMD²_observed}) / (1 + n_permutations),

    so it is never 0 and the test has the level it claims (Phipson & Smyth 2010). The
    bandwidths are fixed once from the pooled sample, which every relabelling shares; the
    pooled kernel matrix is computed once too (O((m + n)²) memory).

    Args:
        estimator: ``"unbiased"`` (default) or ``"biased"``.
        seed: seeds the relabellings; the same seed gives the same p-value.
    """
    xs, xt = _features(source, target, 2)
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, (int, np.integer)) \
            or n_permutations < 1:
        raise ValueError(f"n_permutations must be a positive integer, got {n_permutations!r}.")
    if estimator not in ("unbiased", "biased"):
        raise ValueError(f"estimator must be 'unbiased' or 'biased', got {estimator!r}.")
    sigmas = kernel_bandwidths(xs, xt, bandwidth, multipliers)
    z = np.concatenate([xs, xt])
    k = gaussian_kernel(z, z, sigmas)
    m, n = len(xs), len(xt)
    diag = np.diag(k).copy()
    np.fill_diagonal(k, 0.0)

    def statistics(in_source: np.ndarray) -> np.ndarray:
        """MMD² for each column of the (m+n, B) 0/1 matrix saying who is 'source'."""
        a = in_source
        ka = k @ a
        row_sums = k.sum(1)
        s_ss = (a * ka).sum(0)                      # Σ_{i≠j, both source} k
        s_st = ((1 - a) * ka).sum(0)                # Σ_{i source, j target} k
        s_tt = row_sums.sum() - 2 * s_st - s_ss     # Σ_{i≠j, both target} k
        if estimator == "unbiased":
            return s_ss / (m * (m - 1)) + s_tt / (n * (n - 1)) - 2 * s_st / (m * n)
        d_s = diag @ a
        d_t = diag.sum() - d_s
        return (s_ss + d_s) / m**2 + (s_tt + d_t) / n**2 - 2 * s_st / (m * n)

    observed = float(statistics(np.r_[np.ones(m), np.zeros(n)][:, None])[0])
    if seed is not None and not isinstance(seed, np.random.Generator):
        checks.non_negative_int(seed, "seed")
    rng = np.random.default_rng(seed)
    null = []
    for start in range(0, int(n_permutations), 128):
        b = min(128, int(n_permutations) - start)
        order = rng.random((b, m + n)).argsort(1)   # b random permutations
        a = np.zeros((b, m + n))
        np.put_along_axis(a, order[:, :m], 1.0, axis=1)
        null.append(statistics(a.T))
    null = np.concatenate(null)
    p = (1.0 + np.count_nonzero(null >= observed)) / (1.0 + len(null))
    return PermutationTest(observed, float(p), null, tuple(sigmas))


# --------------------------------------------------------------------------------------
# CORAL
# --------------------------------------------------------------------------------------

def covariance(features) -> np.ndarray:
    """Sample covariance (d, d) of the rows: centred, divided by n − 1 (Sun & Saenko 2016)."""
    x = np.asarray(features, dtype=np.float64)
    check_feature_shapes(x.shape, x.shape, min_samples=2, names=("features", "features"))
    if not np.isfinite(x).all():
        raise ValueError("features contains NaN or infinite values.")
    xc = x - x.mean(0)
    return xc.T @ xc / (len(x) - 1)


def coral_distance(source, target) -> float:
    """CORAL distance (Deep CORAL, Sun & Saenko 2016, Eq. 1):

        ‖C_S − C_T‖²_F / (4 d²)

    with C the *centred* covariance matrices normalised by n − 1 (:func:`covariance`) and d
    the number of features. It compares second-order statistics only: two domains with
    different means and equal covariances are at distance 0 (MMD sees them). Needs ≥ 2
    samples per domain.
    """
    xs, xt = _features(source, target, 2)
    d = xs.shape[1]
    diff = covariance(xs) - covariance(xt)
    return float((diff * diff).sum() / (4.0 * d * d))


# --------------------------------------------------------------------------------------
# Proxy A-distance
# --------------------------------------------------------------------------------------

def pad_from_error(error: float) -> float:
    """Proxy A-distance from a domain classifier's *held-out* error ε: 2(1 − 2ε), clipped
    to [0, 2] (a classifier worse than chance says nothing more than chance)."""
    e = float(error) if not isinstance(error, (str, bytes, bool)) else math.nan
    if not 0.0 <= e <= 1.0:
        raise ValueError(f"error must be a fraction in [0, 1], got {error!r}.")
    return float(np.clip(2.0 * (1.0 - 2.0 * e), 0.0, 2.0))


def _as_2d(name: str, x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"{name} must have shape (n_samples, n_features), got {x.shape}.")
    if len(x) == 0:
        raise ValueError(f"{name} is empty; this needs samples from both domains.")
    return x.reshape(len(x), -1)


def proxy_a_distance(source, target, *, test_size: float = 0.5, seed: int = 0, C: float = 1.0) -> float:
    """Proxy A-distance between two feature sets (Ben-David et al. 2007; Ganin et al. 2016).

    A linear domain classifier learns to tell source from target features on one half of the
    data; its error ε on the *other* half gives PAD = 2(1 − 2ε), clipped to [0, 2]
    (:func:`pad_from_error`). Training error would reward memorisation (PAD near 2 for any
    two samples), and without clipping a classifier worse than chance would give a negative
    "distance". Both domains are subsampled to the same size so that ε = 0.5 means
    indistinguishable.
    """
    xs, xt = _as_2d("source", source), _as_2d("target", target)
    if xs.shape[1] != xt.shape[1]:
        raise ValueError(f"source and target need the same number of features, got {xs.shape[1]} and {xt.shape[1]}.")
    for name, x in (("source", xs), ("target", xt)):
        if not np.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values.")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size}.")
    if seed is not None and not isinstance(seed, np.random.Generator):
        checks.non_negative_int(seed, "seed")
    rng = np.random.default_rng(seed)
    n = min(len(xs), len(xt))
    if n < 4:
        raise ValueError(f"need at least 4 examples per domain, got {n}.")
    xs = xs[rng.choice(len(xs), n, replace=False)]
    xt = xt[rng.choice(len(xt), n, replace=False)]
    x = np.concatenate([xs, xt])
    d = np.concatenate([np.zeros(n), np.ones(n)])
    x_fit, x_held, d_fit, d_held = train_test_split(x, d, test_size=test_size, stratify=d, random_state=seed)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    clf.fit(x_fit, d_fit)
    return pad_from_error(1.0 - clf.score(x_held, d_held))


# --------------------------------------------------------------------------------------
# Lesson 03: a classifier two-sample test, and several divergences side by side
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClassifierTest:
    """Result of :func:`classifier_two_sample_test`."""

    accuracy: float   # the domain classifier's accuracy on the held-out half
    p_value: float    # P(accuracy this high | the domains are the same): one-sided binomial
    n_test: int       # held-out examples (half source, half target)

    @property
    def pad(self) -> float:
        """The proxy A-distance this accuracy gives, 2(1 − 2ε) clipped to [0, 2]."""
        return pad_from_error(1.0 - self.accuracy)


def classifier_two_sample_test(source, target, *, test_size: float = 0.5, seed: int = 0,
                               C: float = 1.0) -> ClassifierTest:
    """Classifier two-sample test (Lopez-Paz & Oquab, ICLR 2017): can a classifier tell the
    domains apart on examples it did not see?

    The same domain classifier as :func:`proxy_a_distance` (both domains subsampled to one
    size, a stratified split, standardised logistic regression fitted on one part); its
    accuracy on the held-out part is the statistic. If the two samples come from one
    distribution, each held-out prediction is right with probability 1/2 whatever the
    classifier learnt, so the number right is Binomial(n_test, 1/2): the p-value is the
    one-sided binomial tail. A low p-value says the domains differ *in a way a linear
    classifier on these features can see*; a high one proves nothing.
    """
    from scipy.stats import binomtest

    xs, xt = _as_2d("source", source), _as_2d("target", target)
    check_feature_shapes(xs.shape, xt.shape, min_samples=4)
    for name, x in (("source", xs), ("target", xt)):
        if not np.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values.")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size!r}.")
    rng = np.random.default_rng(seed)
    n = min(len(xs), len(xt))
    x = np.concatenate([xs[rng.choice(len(xs), n, replace=False)], xt[rng.choice(len(xt), n, replace=False)]])
    d = np.r_[np.zeros(n), np.ones(n)]
    x_fit, x_held, d_fit, d_held = train_test_split(x, d, test_size=test_size, stratify=d, random_state=seed)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000)).fit(x_fit, d_fit)
    right = int((clf.predict(x_held) == d_held).sum())
    p = binomtest(right, len(d_held), 0.5, alternative="greater").pvalue
    return ClassifierTest(right / len(d_held), float(p), len(d_held))


def divergence_table(reference, domains, accuracy=None, *, bandwidth=None, seed: int = 0):
    """Several divergences between ``reference`` features and each of ``domains``
    (``{name: features}``), one row per domain, and how well each predicts a drop.

    Columns: unbiased multi-kernel ``MMD²`` (one bandwidth for every row — the median
    heuristic on the reference alone unless ``bandwidth`` is given — so the rows are
    comparable), the ``proxy A-distance`` (held-out, seeded) and the ``CORAL distance``;
    with ``accuracy`` (``{name: fraction}``, e.g. the source model's accuracy on each
    domain) also ``accuracy (%)``, and ``table.attrs["spearman"]`` holds each
    divergence's Spearman rank correlation with the accuracy (−1: the larger the
    divergence, the lower the accuracy, in perfect order).
    """
    import pandas as pd
    from scipy.stats import spearmanr

    ref = np.asarray(reference, dtype=np.float64)
    if not isinstance(domains, dict) or not domains:
        raise ValueError(f"domains must be a non-empty dict {{name: features}}, got {type(domains).__name__}.")
    if bandwidth is None:
        half = len(ref) // 2
        sigma = median_bandwidth(ref[:half], ref[half:])
        bandwidth = [sigma * f for f in DEFAULT_MULTIPLIERS]
    rows = {}
    for name, x in domains.items():
        rows[name] = {"MMD²": mmd2_unbiased(ref, x, bandwidth=bandwidth),
                      "proxy A-distance": proxy_a_distance(ref, x, seed=seed),
                      "CORAL distance": coral_distance(ref, x)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    if accuracy is not None:
        missing = [name for name in domains if name not in accuracy]
        if missing:
            raise ValueError(f"accuracy has no value for {missing}.")
        table["accuracy (%)"] = [100.0 * float(accuracy[name]) for name in domains]
        def rank_correlation(col: str) -> float:  # undefined for fewer than 3 rows or a constant column
            a, b = table[col].to_numpy(), table["accuracy (%)"].to_numpy()
            if len(table) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
                return float("nan")
            return float(spearmanr(a, b).statistic)

        table.attrs["spearman"] = {col: rank_correlation(col) for col in ("MMD²", "proxy A-distance", "CORAL distance")}
    return table
