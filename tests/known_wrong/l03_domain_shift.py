"""Lesson 03: wrong and unusual MMD², permutation tests, proxy A-distances and CORAL losses.

Exercises 1-3 are NumPy / scikit-learn and the same in both tracks; exercise 4 (the CORAL loss)
is written with each track's tensors. Central variants are the mistakes each exercise is about
(COURSE.md §5 items 12-14 among them); the released lesson's visible tests reject them. The
others (inputs modified, other sizes, float32 at a large scale, graph tracing) are caught by
the hidden tests.
"""

from . import Unusual, Wrong

# --------------------------------------------------------------------------------------
# Exercise 1: mmd2_unbiased (NumPy)
# --------------------------------------------------------------------------------------

_MMD_HEAD = '''
def mmd2_unbiased(source, target, bandwidths):
    s, t = np.asarray(source, dtype=np.float64), np.asarray(target, dtype=np.float64)
'''


def _mmd(kernel_body: str, estimate: str) -> str:
    return _MMD_HEAD + kernel_body + estimate


_KERNEL = '''
    def kernel(a, b):
        d2 = np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)
        return np.mean([np.exp(-d2 / (2 * sigma**2)) for sigma in bandwidths], axis=0)
'''
_UNBIASED = '''
    m, n = len(s), len(t)
    kss, ktt, kst = kernel(s, s), kernel(t, t), kernel(s, t)
    return float((kss.sum() - np.trace(kss)) / (m * (m - 1)) + (ktt.sum() - np.trace(ktt)) / (n * (n - 1)) - 2 * kst.mean())
'''

MMD = [
    Wrong("mmd2", "the biased V-statistic (diagonal kept)", _mmd(_KERNEL, '''
    return float(kernel(s, s).mean() + kernel(t, t).mean() - 2 * kernel(s, t).mean())
'''), "12", central=True),
    Wrong("mmd2", "diagonal dropped but divided by m² instead of m(m − 1)", _mmd(_KERNEL, '''
    m, n = len(s), len(t)
    kss, ktt, kst = kernel(s, s), kernel(t, t), kernel(s, t)
    return float((kss.sum() - np.trace(kss)) / m**2 + (ktt.sum() - np.trace(ktt)) / n**2 - 2 * kst.mean())
'''), "12", central=True),
    Wrong("mmd2", "unsquared distances in the kernel", _mmd('''
    def kernel(a, b):
        d2 = np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)
        return np.mean([np.exp(-np.sqrt(d2) / (2 * sigma**2)) for sigma in bandwidths], axis=0)
''', _UNBIASED), "12", central=True),
    Wrong("mmd2", "bandwidth inverted (multiplies by σ² instead of dividing)", _mmd('''
    def kernel(a, b):
        d2 = np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)
        return np.mean([np.exp(-d2 * sigma**2 / 2) for sigma in bandwidths], axis=0)
''', _UNBIASED), "12", central=True),
    Wrong("mmd2", "divides by σ² instead of 2σ²", _mmd('''
    def kernel(a, b):
        d2 = np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)
        return np.mean([np.exp(-d2 / sigma**2) for sigma in bandwidths], axis=0)
''', _UNBIASED), central=True),
    Wrong("mmd2", "uses only the first bandwidth", _mmd('''
    def kernel(a, b):
        d2 = np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)
        return np.exp(-d2 / (2 * bandwidths[0] ** 2))
''', _UNBIASED), central=True),
    Wrong("mmd2", "sums the kernels instead of averaging them", _mmd('''
    def kernel(a, b):
        d2 = np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)
        return np.sum([np.exp(-d2 / (2 * sigma**2)) for sigma in bandwidths], axis=0)
''', _UNBIASED), central=True),
    Wrong("mmd2", "one sample size for both domains (m for n)", _mmd(_KERNEL, '''
    m = len(s)
    kss, ktt, kst = kernel(s, s), kernel(t, t), kernel(s, t)
    return float((kss.sum() - np.trace(kss)) / (m * (m - 1)) + (ktt.sum() - np.trace(ktt)) / (m * (m - 1)) - 2 * kst.mean())
'''), "§4 hard-coded sizes", central=True),
    Wrong("mmd2", "computes in float32 (large-scale distances lose precision)", '''
def mmd2_unbiased(source, target, bandwidths):
    s, t = np.asarray(source, dtype=np.float32), np.asarray(target, dtype=np.float32)
    def kernel(a, b):
        d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
        return np.mean([np.exp(-d2 / np.float32(2 * sigma**2)) for sigma in bandwidths], axis=0)
    m, n = len(s), len(t)
    kss, ktt, kst = kernel(s, s), kernel(t, t), kernel(s, t)
    return float((kss.sum() - np.trace(kss)) / (m * (m - 1)) + (ktt.sum() - np.trace(ktt)) / (n * (n - 1)) - 2 * kst.mean())
'''),
    Wrong("mmd2", "returns a NumPy array instead of a float", _mmd(_KERNEL, '''
    m, n = len(s), len(t)
    kss, ktt, kst = kernel(s, s), kernel(t, t), kernel(s, t)
    return np.array([(kss.sum() - np.trace(kss)) / (m * (m - 1)) + (ktt.sum() - np.trace(ktt)) / (n * (n - 1)) - 2 * kst.mean()])
'''), "§4 wrong kind of output", central=True),
]

MMD_UNUSUAL = [
    Unusual("mmd2", "scipy's cdist and explicit off-diagonal masks", '''
from scipy.spatial.distance import cdist

def mmd2_unbiased(source, target, bandwidths):
    def k(a, b):
        d2 = cdist(a, b, "sqeuclidean")
        return sum(np.exp(-d2 / (2.0 * b_ ** 2)) for b_ in bandwidths) / len(bandwidths)
    kss, ktt = k(source, source), k(target, target)
    off_s, off_t = ~np.eye(len(source), dtype=bool), ~np.eye(len(target), dtype=bool)
    return float(kss[off_s].mean() + ktt[off_t].mean() - 2 * k(source, target).mean())
'''),
    Unusual("mmd2", "the library's own estimator, one kernel at a time", '''
def mmd2_unbiased(source, target, bandwidths):
    return float(np.mean([divergence.mmd2_unbiased(source, target, bandwidth=[b]) for b in bandwidths]))
'''),
]

# --------------------------------------------------------------------------------------
# Exercise 2: permutation_p_value (NumPy)
# --------------------------------------------------------------------------------------

_PERM = '''
def permutation_p_value(source, target, statistic, n_permutations=200, seed=0):
    pooled = np.concatenate([source, target])
    m = len(source)
    observed = statistic(source, target)
    rng = np.random.default_rng(seed)
    count = 0
    for _ in range(n_permutations):
        order = rng.permutation(len(pooled))
'''

PERM = [
    Wrong("perm-test", "no +1 correction: the p-value can be 0", _PERM + '''
        count += statistic(pooled[order[:m]], pooled[order[m:]]) >= observed
    return float(count / n_permutations)
''', central=True),
    Wrong("perm-test", "counts only strictly larger statistics (ties ignored)", _PERM + '''
        count += statistic(pooled[order[:m]], pooled[order[m:]]) > observed
    return float((1 + count) / (1 + n_permutations))
''', central=True),
    Wrong("perm-test", "ignores the seed (fixed generator)", '''
def permutation_p_value(source, target, statistic, n_permutations=200, seed=0):
    pooled = np.concatenate([source, target])
    m = len(source)
    observed = statistic(source, target)
    rng = np.random.default_rng(0)
    count = sum(statistic(*np.split(pooled[rng.permutation(len(pooled))], [m])) >= observed for _ in range(n_permutations))
    return float((1 + count) / (1 + n_permutations))
''', "§4 randomness fixed inside the answer", central=True),
    Wrong("perm-test", "re-deals into two equal halves instead of sizes m and n", '''
def permutation_p_value(source, target, statistic, n_permutations=200, seed=0):
    pooled = np.concatenate([source, target])
    half = len(pooled) // 2
    observed = statistic(source, target)
    rng = np.random.default_rng(seed)
    count = 0
    for _ in range(n_permutations):
        order = rng.permutation(len(pooled))
        count += statistic(pooled[order[:half]], pooled[order[half:]]) >= observed
    return float((1 + count) / (1 + n_permutations))
''', "§4 hard-coded sizes", central=True),
    Wrong("perm-test", "shuffles within each domain (domain labels never exchanged)", '''
def permutation_p_value(source, target, statistic, n_permutations=200, seed=0):
    observed = statistic(source, target)
    rng = np.random.default_rng(seed)
    count = 0
    for _ in range(n_permutations):
        count += statistic(source[rng.permutation(len(source))], target[rng.permutation(len(target))]) >= observed
    return float((1 + count) / (1 + n_permutations))
''', central=True),
    Wrong("perm-test", "counts dealings less extreme than the observed (p inverted)", _PERM + '''
        count += statistic(pooled[order[:m]], pooled[order[m:]]) <= observed
    return float((1 + count) / (1 + n_permutations))
''', central=True),
    Wrong("perm-test", "one dealing fewer than asked", _PERM.replace("range(n_permutations)", "range(n_permutations - 1)") + '''
        count += statistic(pooled[order[:m]], pooled[order[m:]]) >= observed
    return float((1 + count) / n_permutations)
'''),
    Wrong("perm-test", "shuffles the caller's arrays in place", '''
def permutation_p_value(source, target, statistic, n_permutations=200, seed=0):
    m = len(source)
    observed = statistic(source, target)
    rng = np.random.default_rng(seed)
    count = 0
    for _ in range(n_permutations):
        pooled = np.concatenate([source, target])
        rng.shuffle(pooled)
        source[:] = pooled[:m]
        target[:] = pooled[m:]
        count += statistic(source, target) >= observed
    return float((1 + count) / (1 + n_permutations))
''', "§4 side effects on the caller's arrays"),
]

PERM_UNUSUAL = [
    Unusual("perm-test", "a boolean mask per dealing and NumPy's mean", '''
def permutation_p_value(source, target, statistic, n_permutations=200, seed=0):
    z = np.vstack([source, target])
    rng = np.random.default_rng(seed)
    t0 = statistic(source, target)
    null = []
    for _ in range(n_permutations):
        is_source = np.zeros(len(z), dtype=bool)
        is_source[rng.choice(len(z), len(source), replace=False)] = True
        null.append(statistic(z[is_source], z[~is_source]))
    return float((np.sum(np.asarray(null) >= t0) + 1) / (n_permutations + 1))
'''),
]

# --------------------------------------------------------------------------------------
# Exercise 3: proxy_a_distance (scikit-learn)
# --------------------------------------------------------------------------------------

_PAD_IMPORTS = '''
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
'''

_PAD_BALANCED = _PAD_IMPORTS + '''
def proxy_a_distance(source, target, seed=0):
    rng = np.random.default_rng(seed)
    n = min(len(source), len(target))
    x = np.concatenate([source[rng.choice(len(source), n, replace=False)], target[rng.choice(len(target), n, replace=False)]])
    d = np.r_[np.zeros(n), np.ones(n)]
'''

PAD = [
    Wrong("pad", "error measured on the classifier's own training examples", _PAD_BALANCED + '''
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, d)
    return float(np.clip(2 * (1 - 2 * (1 - classifier.score(x, d))), 0, 2))
''', "14", central=True),
    Wrong("pad", "not clipped: negative distances", _PAD_BALANCED + '''
    x_fit, x_held, d_fit, d_held = train_test_split(x, d, test_size=0.5, stratify=d, random_state=seed)
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x_fit, d_fit)
    return float(2 * (1 - 2 * (1 - classifier.score(x_held, d_held))))
''', "14", central=True),
    Wrong("pad", "domains not balanced before the split", _PAD_IMPORTS + '''
def proxy_a_distance(source, target, seed=0):
    x = np.concatenate([source, target])
    d = np.r_[np.zeros(len(source)), np.ones(len(target))]
    x_fit, x_held, d_fit, d_held = train_test_split(x, d, test_size=0.5, stratify=d, random_state=seed)
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x_fit, d_fit)
    return float(np.clip(2 * (1 - 2 * (1 - classifier.score(x_held, d_held))), 0, 2))
''', central=True),
    Wrong("pad", "returns 1 − ε (the accuracy) instead of 2(1 − 2ε)", _PAD_BALANCED + '''
    x_fit, x_held, d_fit, d_held = train_test_split(x, d, test_size=0.5, stratify=d, random_state=seed)
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x_fit, d_fit)
    return float(classifier.score(x_held, d_held))
''', "§4 wrong kind of output", central=True),
    Wrong("pad", "ignores the seed", _PAD_IMPORTS + '''
def proxy_a_distance(source, target, seed=0):
    rng = np.random.default_rng(0)
    n = min(len(source), len(target))
    x = np.concatenate([source[rng.choice(len(source), n, replace=False)], target[rng.choice(len(target), n, replace=False)]])
    d = np.r_[np.zeros(n), np.ones(n)]
    x_fit, x_held, d_fit, d_held = train_test_split(x, d, test_size=0.5, stratify=d, random_state=0)
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x_fit, d_fit)
    return float(np.clip(2 * (1 - 2 * (1 - classifier.score(x_held, d_held))), 0, 2))
''', "§4 randomness fixed inside the answer", central=True),
    Wrong("pad", "takes the first n rows instead of a random draw, and splits without shuffling", _PAD_IMPORTS + '''
def proxy_a_distance(source, target, seed=0):
    n = min(len(source), len(target))
    x = np.concatenate([source[:n], target[:n]])
    d = np.r_[np.zeros(n), np.ones(n)]
    x_fit, x_held, d_fit, d_held = train_test_split(x, d, test_size=0.5, stratify=d, random_state=0)
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x_fit, d_fit)
    return float(np.clip(2 * (1 - 2 * (1 - classifier.score(x_held, d_held))), 0, 2))
''', "§4 ignored arguments", central=True),
]

PAD_UNUSUAL = [
    Unusual("pad", "cross_val_score with two stratified folds (the mean of both held-out errors)", _PAD_IMPORTS + '''
from sklearn.model_selection import StratifiedKFold, cross_val_score

def proxy_a_distance(source, target, seed=0):
    rng = np.random.default_rng(seed)
    n = min(len(source), len(target))
    x = np.vstack([source[rng.permutation(len(source))[:n]], target[rng.permutation(len(target))[:n]]])
    d = np.repeat([0, 1], n)
    folds = StratifiedKFold(2, shuffle=True, random_state=seed)
    accuracy = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)), x, d, cv=folds).mean()
    return float(min(2.0, max(0.0, 2 * (2 * accuracy - 1))))
'''),
]

# --------------------------------------------------------------------------------------
# Exercise 4: coral_loss (each track's tensors)
# --------------------------------------------------------------------------------------

CORAL_TORCH = [
    Wrong("coral", "covariance without centring", '''
def coral_loss(source, target):
    cov = lambda x: x.T @ x / (x.shape[0] - 1)
    d = source.shape[1]
    return ((cov(source) - cov(target)) ** 2).sum() / (4 * d * d)
''', "13", central=True),
    Wrong("coral", "normalised by 4d instead of 4d²", '''
def coral_loss(source, target):
    def cov(x):
        xc = x - x.mean(0, keepdim=True)
        return xc.T @ xc / (x.shape[0] - 1)
    return ((cov(source) - cov(target)) ** 2).sum() / (4 * source.shape[1])
''', "13", central=True),
    Wrong("coral", "covariance divided by n instead of n − 1", '''
def coral_loss(source, target):
    def cov(x):
        xc = x - x.mean(0, keepdim=True)
        return xc.T @ xc / x.shape[0]
    d = source.shape[1]
    return ((cov(source) - cov(target)) ** 2).sum() / (4 * d * d)
''', "13", central=True),
    Wrong("coral", "computed in NumPy (no gradient)", '''
def coral_loss(source, target):
    s, t = source.detach().numpy(), target.detach().numpy()
    d = s.shape[1]
    return torch.tensor(((np.cov(s, rowvar=False) - np.cov(t, rowvar=False)) ** 2).sum() / (4 * d * d))
''', central=True),
    Wrong("coral", "Frobenius norm not squared", '''
def coral_loss(source, target):
    def cov(x):
        xc = x - x.mean(0, keepdim=True)
        return xc.T @ xc / (x.shape[0] - 1)
    d = source.shape[1]
    return torch.linalg.norm(cov(source) - cov(target)) / (4 * d * d)
''', "13", central=True),
    Wrong("coral", "hard-codes d = 128 features", '''
def coral_loss(source, target):
    def cov(x):
        xc = x - x.mean(0, keepdim=True)
        return xc.T @ xc / (x.shape[0] - 1)
    return ((cov(source) - cov(target)) ** 2).sum() / (4 * 128 * 128)
''', "§4 hard-coded sizes", central=True),
    Wrong("coral", "centres the caller's tensors in place", '''
def coral_loss(source, target):
    def cov(x):
        with torch.no_grad():
            x -= x.mean(0, keepdim=True)
        return x.T @ x / (x.shape[0] - 1)
    d = source.shape[1]
    return ((cov(source) - cov(target)) ** 2).sum() / (4 * d * d)
''', "§4 side effects on the caller's arrays"),
    Wrong("coral", "casts to float32 (float64 inputs lose precision)", '''
def coral_loss(source, target):
    def cov(x):
        x = x.float()
        xc = x - x.mean(0, keepdim=True)
        return xc.T @ xc / (x.shape[0] - 1)
    d = source.shape[1]
    return ((cov(source) - cov(target)) ** 2).sum() / (4 * d * d) + 1e-7
'''),
]

CORAL_TORCH_UNUSUAL = [
    Unusual("coral", "torch.cov on the transposed features", '''
def coral_loss(source, target):
    diff = torch.cov(source.T) - torch.cov(target.T)
    return diff.pow(2).sum() / (4 * source.size(1) ** 2)
'''),
    Unusual("coral", "the library's differentiable CORAL distance", '''
from tlhelpers.torch import divergence as torch_divergence

def coral_loss(source, target):
    return torch_divergence.coral_distance(source, target)
'''),
]

CORAL_KERAS = [
    Wrong("coral", "covariance without centring", '''
def coral_loss(source, target):
    def cov(x):
        x = ops.convert_to_tensor(x, dtype="float32")
        return ops.matmul(ops.transpose(x), x) / ops.cast(ops.shape(x)[0] - 1, "float32")
    d = ops.shape(source)[1]
    diff = cov(source) - cov(target)
    return ops.sum(diff * diff) / ops.cast(4 * d * d, "float32")
''', "13", central=True),
    Wrong("coral", "normalised by 4d instead of 4d²", '''
def coral_loss(source, target):
    def cov(x):
        x = ops.convert_to_tensor(x, dtype="float32")
        xc = x - ops.mean(x, axis=0, keepdims=True)
        return ops.matmul(ops.transpose(xc), xc) / ops.cast(ops.shape(x)[0] - 1, "float32")
    diff = cov(source) - cov(target)
    return ops.sum(diff * diff) / ops.cast(4 * ops.shape(source)[1], "float32")
''', "13", central=True),
    Wrong("coral", "covariance divided by n instead of n − 1", '''
def coral_loss(source, target):
    def cov(x):
        x = ops.convert_to_tensor(x, dtype="float32")
        xc = x - ops.mean(x, axis=0, keepdims=True)
        return ops.matmul(ops.transpose(xc), xc) / ops.cast(ops.shape(x)[0], "float32")
    d = ops.shape(source)[1]
    diff = cov(source) - cov(target)
    return ops.sum(diff * diff) / ops.cast(4 * d * d, "float32")
''', "13", central=True),
    Wrong("coral", "computed in NumPy (no gradient)", '''
def coral_loss(source, target):
    s, t = np.asarray(source), np.asarray(target)
    d = s.shape[1]
    return ops.convert_to_tensor(((np.cov(s, rowvar=False) - np.cov(t, rowvar=False)) ** 2).sum() / (4 * d * d), dtype="float32")
''', central=True),
    Wrong("coral", "Frobenius norm not squared", '''
def coral_loss(source, target):
    def cov(x):
        x = ops.convert_to_tensor(x, dtype="float32")
        xc = x - ops.mean(x, axis=0, keepdims=True)
        return ops.matmul(ops.transpose(xc), xc) / ops.cast(ops.shape(x)[0] - 1, "float32")
    d = ops.shape(source)[1]
    diff = cov(source) - cov(target)
    return ops.sqrt(ops.sum(diff * diff)) / ops.cast(4 * d * d, "float32")
''', "13", central=True),
    Wrong("coral", "hard-codes d = 128 features", '''
def coral_loss(source, target):
    def cov(x):
        x = ops.convert_to_tensor(x, dtype="float32")
        xc = x - ops.mean(x, axis=0, keepdims=True)
        return ops.matmul(ops.transpose(xc), xc) / ops.cast(ops.shape(x)[0] - 1, "float32")
    diff = cov(source) - cov(target)
    return ops.sum(diff * diff) / (4.0 * 128 * 128)
''', "§4 hard-coded sizes", central=True),
]

CORAL_KERAS_UNUSUAL = [
    Unusual("coral", "einsum and tf.math", '''
def coral_loss(source, target):
    def cov(x):
        x = tf.cast(x, tf.float32)
        xc = x - tf.reduce_mean(x, axis=0)
        return tf.einsum("ni,nj->ij", xc, xc) / tf.cast(tf.shape(x)[0] - 1, tf.float32)
    d = tf.cast(tf.shape(source)[1], tf.float32)
    return tf.reduce_sum(tf.square(cov(source) - cov(target))) / (4.0 * d * d)
'''),
    Unusual("coral", "the library's differentiable CORAL distance", '''
from tlhelpers.keras import divergence as keras_divergence

def coral_loss(source, target):
    return keras_divergence.coral_distance(ops.convert_to_tensor(source, "float32"), ops.convert_to_tensor(target, "float32"))
'''),
]

VARIANTS = {
    "torch": [*MMD, *PERM, *PAD, *CORAL_TORCH],
    "keras": [*MMD, *PERM, *PAD, *CORAL_KERAS],
}

ACCEPTED = {
    "torch": [*MMD_UNUSUAL, *PERM_UNUSUAL, *PAD_UNUSUAL, *CORAL_TORCH_UNUSUAL],
    "keras": [*MMD_UNUSUAL, *PERM_UNUSUAL, *PAD_UNUSUAL, *CORAL_KERAS_UNUSUAL],
}
