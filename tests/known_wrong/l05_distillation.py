"""Lesson 05: wrong and unusual temperature softmaxes, KD losses, distillation steps and
magnitude pruning, in each track's tensors.

Central variants are the mistakes each exercise is about (COURSE.md §5 items 6-9 among them);
the released lesson's visible tests reject them. The others (the caller's tensors modified,
other class counts, other temperatures, another model) are caught by the hidden tests.
"""

from . import Unusual, Wrong

# --------------------------------------------------------------------------------------
# Exercise 1: softmax_with_temperature
# --------------------------------------------------------------------------------------

_SM_TORCH = "def softmax_with_temperature(logits, temperature):\n"
_SM_KERAS = "def softmax_with_temperature(logits, temperature):\n"
_CHECK_T = '''    if not temperature > 0:
        raise ValueError("temperature must be > 0")
'''

SOFTMAX_TORCH = [
    Wrong("softmax-t", "softmax at T = 1, then divided by T", _SM_TORCH + _CHECK_T + '''
    return torch.softmax(logits, dim=-1) / temperature
''', central=True),
    Wrong("softmax-t", "logits multiplied by T", _SM_TORCH + _CHECK_T + '''
    return torch.softmax(logits * temperature, dim=-1)
''', central=True),
    Wrong("softmax-t", "normalised over the batch (dim 0) instead of the classes", _SM_TORCH + _CHECK_T + '''
    return torch.softmax(logits / temperature, dim=0)
''', "§4 wrong kind of output", central=True),
    Wrong("softmax-t", "no maximum subtracted: exp overflows on large logits", _SM_TORCH + _CHECK_T + '''
    e = torch.exp(logits / temperature)
    return e / e.sum(dim=-1, keepdim=True)
''', central=True),
    Wrong("softmax-t", "computed in NumPy: no gradient reaches the logits", _SM_TORCH + _CHECK_T + '''
    z = logits.detach().numpy() / temperature
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return torch.from_numpy(e / e.sum(axis=-1, keepdims=True))
''', central=True),
    Wrong("softmax-t", "temperature not checked (T <= 0 accepted)", _SM_TORCH + '''
    return torch.softmax(logits / temperature, dim=-1)
''', central=True),
    Wrong("softmax-t", "divides the caller's logits in place", _SM_TORCH + _CHECK_T + '''
    logits /= temperature
    return torch.softmax(logits, dim=-1)
''', "§4 side effects"),
]
SOFTMAX_TORCH_OK = [
    Unusual("softmax-t", "exp of log_softmax, the check written as an assert-free if/raise on <= 0", _SM_TORCH + '''
    if temperature <= 0:
        raise ValueError(f"temperature {temperature} is not positive")
    return torch.exp(F.log_softmax(logits.double() / temperature, dim=1)).to(logits.dtype)
'''),
]

SOFTMAX_KERAS = [
    Wrong("softmax-t", "softmax at T = 1, then divided by T", _SM_KERAS + _CHECK_T + '''
    return ops.softmax(ops.convert_to_tensor(logits), axis=-1) / temperature
''', central=True),
    Wrong("softmax-t", "logits multiplied by T", _SM_KERAS + _CHECK_T + '''
    return ops.softmax(ops.convert_to_tensor(logits) * temperature, axis=-1)
''', central=True),
    Wrong("softmax-t", "normalised over the batch (axis 0) instead of the classes", _SM_KERAS + _CHECK_T + '''
    return ops.softmax(ops.convert_to_tensor(logits) / temperature, axis=0)
''', "§4 wrong kind of output", central=True),
    Wrong("softmax-t", "no maximum subtracted: exp overflows on large logits", _SM_KERAS + _CHECK_T + '''
    e = ops.exp(ops.convert_to_tensor(logits) / temperature)
    return e / ops.sum(e, axis=-1, keepdims=True)
''', central=True),
    Wrong("softmax-t", "computed in NumPy: no gradient reaches the logits", _SM_KERAS + _CHECK_T + '''
    z = np.asarray(logits) / temperature
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return ops.convert_to_tensor(e / e.sum(axis=-1, keepdims=True))
''', central=True),
    Wrong("softmax-t", "temperature not checked (T <= 0 accepted)", _SM_KERAS + '''
    return ops.softmax(ops.convert_to_tensor(logits) / temperature, axis=-1)
''', central=True),
    Wrong("softmax-t", "divides the caller's array in place", _SM_KERAS + _CHECK_T + '''
    if isinstance(logits, np.ndarray):
        logits /= temperature
        return ops.softmax(ops.convert_to_tensor(logits), axis=-1)
    return ops.softmax(ops.convert_to_tensor(logits) / temperature, axis=-1)
''', "§4 side effects"),
]
SOFTMAX_KERAS_OK = [
    Unusual("softmax-t", "exp of log_softmax through keras.activations", _SM_KERAS + '''
    if temperature <= 0:
        raise ValueError(f"temperature {temperature} is not positive")
    return ops.exp(keras.activations.log_softmax(ops.convert_to_tensor(logits) / temperature, axis=-1))
'''),
]

# --------------------------------------------------------------------------------------
# Exercise 2: kd_loss
# --------------------------------------------------------------------------------------

_KD_HEAD = "def kd_loss(student_logits, teacher_logits, labels, temperature, alpha):\n    T = temperature\n"


def _kd_torch(soft: str, hard: str = "F.cross_entropy(student_logits, labels)",
              mix: str = "alpha * hard + (1 - alpha) * soft") -> str:
    return _KD_HEAD + f"    soft = {soft}\n    hard = {hard}\n    return {mix}\n"


_LS = "F.log_softmax(student_logits / T, dim=1)"
_PT = "F.softmax(teacher_logits.detach() / T, dim=1)"

KD_TORCH = [
    Wrong("kd-loss", "kl_div fed the student's probabilities, not log-probabilities",
          _kd_torch(f"F.kl_div(F.softmax(student_logits / T, dim=1), {_PT}, reduction='batchmean') * T**2"),
          "6", central=True),
    Wrong("kd-loss", "no T² factor", _kd_torch(f"F.kl_div({_LS}, {_PT}, reduction='batchmean')"), "7", central=True),
    Wrong("kd-loss", "T instead of T²", _kd_torch(f"F.kl_div({_LS}, {_PT}, reduction='batchmean') * T"), "7", central=True),
    Wrong("kd-loss", "reduction='mean' (divides by the number of classes too)",
          _kd_torch(f"F.kl_div({_LS}, {_PT}, reduction='mean') * T**2"), "8", central=True),
    Wrong("kd-loss", "reduction='sum' (grows with the batch)",
          _kd_torch(f"F.kl_div({_LS}, {_PT}, reduction='sum') * T**2"), "8", central=True),
    Wrong("kd-loss", "the teacher's logits not detached (gradient into the teacher)",
          _kd_torch(f"F.kl_div({_LS}, F.softmax(teacher_logits / T, dim=1), reduction='batchmean') * T**2"),
          "9", central=True),
    Wrong("kd-loss", "alpha weighs the soft term",
          _kd_torch(f"F.kl_div({_LS}, {_PT}, reduction='batchmean') * T**2", mix="(1 - alpha) * hard + alpha * soft"),
          central=True),
    Wrong("kd-loss", "hard cross-entropy at temperature T",
          _kd_torch(f"F.kl_div({_LS}, {_PT}, reduction='batchmean') * T**2", hard="F.cross_entropy(student_logits / T, labels)"),
          central=True),
    Wrong("kd-loss", "KL in the wrong direction, KL(student || teacher)",
          _kd_torch(f"F.kl_div(F.log_softmax(teacher_logits.detach() / T, dim=1), F.softmax(student_logits / T, dim=1), "
                    "reduction='batchmean') * T**2"), central=True),
]
KD_TORCH_OK = [
    Unusual("kd-loss", "soft cross-entropy minus the teacher's entropy, written out by hand", _KD_HEAD + '''
    log_p_t = torch.log_softmax(teacher_logits / T, dim=-1).detach()
    log_p_s = torch.log_softmax(student_logits / T, dim=-1)
    cross = -(log_p_t.exp() * log_p_s).sum(dim=-1)
    own = -(log_p_t.exp() * log_p_t).sum(dim=-1)
    soft = (cross - own).mean() * T * T
    hard = F.nll_loss(torch.log_softmax(student_logits, dim=-1), labels)
    return alpha * hard + (1 - alpha) * soft
'''),
    Unusual("kd-loss", "kl_div with log_target=True", _kd_torch(
        f"F.kl_div({_LS}, F.log_softmax(teacher_logits / T, dim=1).detach(), reduction='batchmean', log_target=True) * T**2")),
]


def _kd_keras(soft: str, hard: str = "ops.mean(keras.losses.sparse_categorical_crossentropy(labels, student_logits, from_logits=True))",
              mix: str = "alpha * hard + (1 - alpha) * soft") -> str:
    return (_KD_HEAD + "    student_logits = ops.convert_to_tensor(student_logits)\n"
            "    teacher_logits = ops.convert_to_tensor(teacher_logits)\n"
            "    log_p_s = ops.log_softmax(student_logits / T, axis=-1)\n"
            "    log_p_t = ops.log_softmax(ops.stop_gradient(teacher_logits) / T, axis=-1)\n"
            f"    soft = {soft}\n    hard = {hard}\n    return {mix}\n")


_KL = "ops.sum(ops.exp(log_p_t) * (log_p_t - log_p_s), axis=-1)"

KD_KERAS = [
    Wrong("kd-loss", "KLDivergence fed log-probabilities (PyTorch's convention) where it expects probabilities",
          _kd_keras("keras.losses.KLDivergence()(ops.exp(log_p_t), log_p_s) * T**2"), "6", central=True),
    Wrong("kd-loss", "no T² factor", _kd_keras(f"ops.mean({_KL})"), "7", central=True),
    Wrong("kd-loss", "T instead of T²", _kd_keras(f"ops.mean({_KL}) * T"), "7", central=True),
    Wrong("kd-loss", "mean over classes and batch (not batchmean)",
          _kd_keras("ops.mean(ops.exp(log_p_t) * (log_p_t - log_p_s)) * T**2"), "8", central=True),
    Wrong("kd-loss", "summed over the batch", _kd_keras(f"ops.sum({_KL}) * T**2"), "8", central=True),
    Wrong("kd-loss", "no stop_gradient on the teacher (gradient into the teacher)", _kd_keras(
        "ops.mean(ops.sum(ops.softmax(teacher_logits / T) * (ops.log_softmax(teacher_logits / T) - log_p_s), axis=-1)) * T**2"),
          "9", central=True),
    Wrong("kd-loss", "alpha weighs the soft term", _kd_keras(f"ops.mean({_KL}) * T**2", mix="(1 - alpha) * hard + alpha * soft"),
          central=True),
    Wrong("kd-loss", "hard cross-entropy at temperature T", _kd_keras(
        f"ops.mean({_KL}) * T**2",
        hard="ops.mean(keras.losses.sparse_categorical_crossentropy(labels, student_logits / T, from_logits=True))"),
          central=True),
    Wrong("kd-loss", "KL in the wrong direction, KL(student || teacher)",
          _kd_keras("ops.mean(ops.sum(ops.exp(log_p_s) * (log_p_s - log_p_t), axis=-1)) * T**2"), central=True),
]
KD_KERAS_OK = [
    Unusual("kd-loss", "soft cross-entropy (CategoricalCrossentropy from logits) minus the teacher's entropy; CE through "
                       "the Loss class", _KD_HEAD + '''
    z_t = ops.stop_gradient(ops.convert_to_tensor(teacher_logits)) / T
    p_t = ops.softmax(z_t, axis=-1)
    cross = keras.losses.CategoricalCrossentropy(from_logits=True)(p_t, ops.convert_to_tensor(student_logits) / T)
    own = -ops.mean(ops.sum(p_t * ops.log_softmax(z_t, axis=-1), axis=-1))
    hard = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, student_logits)
    return alpha * hard + (1 - alpha) * (cross - own) * T**2
'''),
]

# --------------------------------------------------------------------------------------
# Exercise 3: distillation_step
# --------------------------------------------------------------------------------------

_STEP_HEAD = "def distillation_step(student, teacher, optimizer, x, y, temperature, alpha):\n"


def _step_torch(teacher: str = "teacher.eval()\n    with torch.no_grad():\n        teacher_logits = teacher(x)",
                student: str = "student.train()",
                loss: str = "D.kd_loss(student(x), teacher_logits, y, temperature=temperature, alpha=alpha)",
                update: str = "optimizer.zero_grad()\n    loss.backward()\n    optimizer.step()",
                ret: str = "loss.item()") -> str:
    return _STEP_HEAD + f"    {teacher}\n    {student}\n    loss = {loss}\n    {update}\n    return {ret}\n"


STEP_TORCH = [
    Wrong("distill-step", "teacher left in training mode (BatchNorm statistics drift, dropout on)",
          _step_torch(teacher="with torch.no_grad():\n        teacher_logits = teacher(x)"), "9", central=True),
    Wrong("distill-step", "teacher in eval mode but its logits not detached, in a hand-written loss",
          _step_torch(teacher="teacher.eval()\n    teacher_logits = teacher(x)",
                      loss="alpha * F.cross_entropy(student(x), y) + (1 - alpha) * temperature**2 * F.kl_div("
                           "F.log_softmax(student(x) / temperature, dim=1), F.softmax(teacher_logits / temperature, dim=1), "
                           "reduction='batchmean')"), "9", central=True),
    Wrong("distill-step", "student run in evaluation mode", _step_torch(student="student.eval()"), central=True),
    Wrong("distill-step", "no zero_grad: earlier gradients leak into the step",
          _step_torch(update="loss.backward()\n    optimizer.step()"), central=True),
    Wrong("distill-step", "temperature and alpha hard-coded",
          _step_torch(loss="D.kd_loss(student(x), teacher_logits, y, temperature=4.0, alpha=0.1)"), "§4 ignored arguments",
          central=True),
    Wrong("distill-step", "trains on the hard labels only",
          _step_torch(loss="F.cross_entropy(student(x), y)"), central=True),
    Wrong("distill-step", "returns the loss tensor, not a float", _step_torch(ret="loss"), central=True),
    Wrong("distill-step", "the loss is computed after the update (returns the next step's loss)",
          _step_torch(update="optimizer.zero_grad()\n    loss.backward()\n    optimizer.step()\n"
                             "    with torch.no_grad():\n        loss = D.kd_loss(student(x), teacher_logits, y, temperature=temperature, alpha=alpha)"),
          central=True),
]
STEP_TORCH_OK = [
    Unusual("distill-step", "restores the teacher's mode afterwards; zero_grad(set_to_none=False); teacher under inference_mode "
                            "cloned out", _STEP_HEAD + '''
    was_training = teacher.training
    teacher.eval()
    with torch.inference_mode():
        teacher_logits = teacher(x)
    teacher_logits = teacher_logits.clone()
    teacher.train(was_training)
    student.train(True)
    optimizer.zero_grad(set_to_none=False)
    loss = D.kd_loss(student(x), teacher_logits, y, temperature=temperature, alpha=alpha)
    loss.backward()
    optimizer.step()
    return float(loss.detach())
'''),
]


def _step_keras(teacher: str = "teacher(x, training=False)", student: str = "student(x, training=True)",
                loss: str = "D.kd_loss({s}, teacher_logits, y, temperature=temperature, alpha=alpha)",
                ret: str = "float(loss)") -> str:
    return (_STEP_HEAD + f"    teacher_logits = {teacher}\n"
            "    with tf.GradientTape() as tape:\n"
            f"        loss = {loss.format(s=student)}\n"
            "    grads = tape.gradient(loss, student.trainable_variables)\n"
            "    optimizer.apply_gradients(zip(grads, student.trainable_variables))\n"
            f"    return {ret}\n")


STEP_KERAS = [
    Wrong("distill-step", "teacher called in training mode (BatchNorm statistics drift, dropout on)",
          _step_keras(teacher="teacher(x, training=True)"), "9", central=True),
    Wrong("distill-step", "teacher called without training=False inside the tape, trained along with the student",
          _STEP_HEAD + '''
    variables = student.trainable_variables + teacher.trainable_variables
    with tf.GradientTape() as tape:
        teacher_logits = teacher(x, training=True)
        s = student(x, training=True)
        loss = alpha * ops.mean(keras.losses.sparse_categorical_crossentropy(y, s, from_logits=True)) + (1 - alpha) * \\
            temperature**2 * ops.mean(ops.sum(ops.softmax(teacher_logits / temperature) * (ops.log_softmax(teacher_logits / temperature)
                                                                            - ops.log_softmax(s / temperature)), axis=-1))
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables))
    return float(loss)
''', "9", central=True),
    Wrong("distill-step", "student called in inference mode", _step_keras(student="student(x, training=False)"), central=True),
    Wrong("distill-step", "temperature and alpha hard-coded",
          _step_keras(loss="D.kd_loss({s}, teacher_logits, y, temperature=4.0, alpha=0.1)"), "§4 ignored arguments", central=True),
    Wrong("distill-step", "trains on the hard labels only",
          _step_keras(loss="ops.mean(keras.losses.sparse_categorical_crossentropy(y, {s}, from_logits=True))"), central=True),
    Wrong("distill-step", "returns the loss tensor, not a float", _step_keras(ret="loss"), central=True),
    Wrong("distill-step", "updates only the student's last layer", _STEP_HEAD + '''
    teacher_logits = teacher(x, training=False)
    head = student.layers[-1].trainable_variables
    with tf.GradientTape() as tape:
        loss = D.kd_loss(student(x, training=True), teacher_logits, y, temperature=temperature, alpha=alpha)
    optimizer.apply_gradients(zip(tape.gradient(loss, head), head))
    return float(loss)
''', central=True),
]
STEP_KERAS_OK = [
    Unusual("distill-step", "teacher's logits through predict_on_batch, optimizer.apply, loss via numpy", _STEP_HEAD + '''
    teacher_logits = ops.convert_to_tensor(teacher.predict_on_batch(x))
    variables = student.trainable_variables
    with tf.GradientTape() as tape:
        loss = D.kd_loss(student(x, training=True), teacher_logits, y, temperature=temperature, alpha=alpha)
    optimizer.apply(tape.gradient(loss, variables), variables)
    return float(ops.convert_to_numpy(loss))
'''),
]

# --------------------------------------------------------------------------------------
# Exercise 4: prune_by_magnitude
# --------------------------------------------------------------------------------------

_PRUNE_HEAD = "def prune_by_magnitude(model, sparsity):\n"

_TORCH_WEIGHTS = "    weights = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]\n"


def _prune_torch(select: str = _TORCH_WEIGHTS, score: str = "w.detach().abs()",
                 count: str = "int(round(sparsity * scores.numel()))") -> str:
    return _PRUNE_HEAD + select + f'''    scores = torch.cat([({score}).flatten() for w in weights])
    n_prune = {count}
    keep = torch.ones(scores.numel(), dtype=torch.bool)
    keep[torch.argsort(scores, stable=True)[:n_prune]] = False
    start = 0
    with torch.no_grad():
        for w in weights:
            w.mul_(keep[start:start + w.numel()].view_as(w))
            start += w.numel()
'''


PRUNE_TORCH = [
    Wrong("prune", "each layer pruned to the sparsity (per-layer, not global)", _PRUNE_HEAD + _TORCH_WEIGHTS + '''
    with torch.no_grad():
        for w in weights:
            k = int(round(sparsity * w.numel()))
            order = torch.argsort(w.abs().flatten(), stable=True)[:k]
            w.view(-1)[order] = 0.0
''', central=True),
    Wrong("prune", "biases and BatchNorm parameters pruned too",
          _prune_torch(select="    weights = list(model.parameters())\n"), central=True),
    Wrong("prune", "prunes the smallest values (most negative), not magnitudes", _prune_torch(score="w.detach()"), central=True),
    Wrong("prune", "keeps the fraction `sparsity` (prunes 1 - sparsity)",
          _prune_torch(count="int(round((1 - sparsity) * scores.numel()))"), central=True),
    Wrong("prune", "prunes a copy and leaves the model unchanged", _PRUNE_HEAD + '''
    model = copy.deepcopy(model)
''' + _prune_torch().split("\n", 1)[1] + "    return model\n", "§4 side effects", central=True),
    Wrong("prune", "only the Linear layers", _prune_torch(
        select="    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]\n"), central=True),
    Wrong("prune", "only the student_cnn's own layers (by name)", _prune_torch(
        select="    weights = [model.block1[0].weight, model.block2[0].weight, model.block3[0].weight, model.head.weight]\n"),
          "§4 only works on the test's own model"),
]
PRUNE_TORCH_OK = [
    Unusual("prune", "torch.nn.utils.prune.global_unstructured, made permanent", _PRUNE_HEAD + '''
    from torch.nn.utils import prune
    targets = [(m, "weight") for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=sparsity)
    for m, name in targets:
        prune.remove(m, name)
'''),
]

_KERAS_KERNELS = '''    def every_layer(m):
        for layer in m.layers:
            yield layer
            if hasattr(layer, "layers"):
                yield from every_layer(layer)
    kernels = [l.kernel for l in every_layer(model) if isinstance(l, (layers.Conv2D, layers.Dense))]
'''


def _prune_keras(select: str = _KERAS_KERNELS, score: str = "np.abs(np.asarray(k))",
                 count: str = "int(round(sparsity * scores.size))") -> str:
    return _PRUNE_HEAD + select + f'''    scores = np.concatenate([({score}).ravel() for k in kernels])
    n_prune = {count}
    keep = np.ones(scores.size, dtype=bool)
    keep[np.argsort(scores, kind="stable")[:n_prune]] = False
    start = 0
    for k in kernels:
        size = int(np.prod(k.shape))
        k.assign(np.asarray(k) * keep[start:start + size].reshape(k.shape))
        start += size
'''


PRUNE_KERAS = [
    Wrong("prune", "each layer pruned to the sparsity (per-layer, not global)", _PRUNE_HEAD + _KERAS_KERNELS + '''
    for k in kernels:
        w = np.asarray(k)
        order = np.argsort(np.abs(w).ravel(), kind="stable")[:int(round(sparsity * w.size))]
        flat = w.ravel().copy()
        flat[order] = 0.0
        k.assign(flat.reshape(w.shape))
''', central=True),
    Wrong("prune", "biases and BatchNorm parameters pruned too",
          _prune_keras(select="    kernels = list(model.trainable_variables)\n"), central=True),
    Wrong("prune", "prunes the smallest values (most negative), not magnitudes", _prune_keras(score="np.asarray(k)"),
          central=True),
    Wrong("prune", "keeps the fraction `sparsity` (prunes 1 - sparsity)",
          _prune_keras(count="int(round((1 - sparsity) * scores.size))"), central=True),
    Wrong("prune", "prunes a copy and leaves the model unchanged", _PRUNE_HEAD + '''
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    model = twin
''' + _prune_keras().split("\n", 1)[1] + "    return model\n", "§4 side effects", central=True),
    Wrong("prune", "only the Dense layers", _prune_keras(
        select="    kernels = [l.kernel for l in model.layers if isinstance(l, layers.Dense)]\n"), central=True),
    Wrong("prune", "only the student_cnn's own layers (by name)", _prune_keras(
        select="    kernels = [model.get_layer(n).kernel for n in ('block1_conv', 'block2_conv', 'block3_conv', 'head')]\n"),
          "§4 only works on the test's own model"),
]
PRUNE_KERAS_OK = [
    Unusual("prune", "one threshold from np.partition, zeros where |w| <= threshold", _PRUNE_HEAD + '''
    kernels = [v for l in model._flatten_layers() if isinstance(l, (layers.Conv2D, layers.Dense)) for v in [l.kernel]]
    flat = np.concatenate([np.abs(v.numpy()).ravel() for v in kernels])
    k = int(round(sparsity * flat.size))
    if k == 0:
        return
    threshold = np.partition(flat, k - 1)[k - 1]
    for v in kernels:
        w = v.numpy()
        v.assign(np.where(np.abs(w) <= threshold, 0.0, w).astype(w.dtype))
'''),
]

VARIANTS = {
    "keras": SOFTMAX_KERAS + KD_KERAS + STEP_KERAS + PRUNE_KERAS,
    "torch": SOFTMAX_TORCH + KD_TORCH + STEP_TORCH + PRUNE_TORCH,
}
ACCEPTED = {
    "keras": SOFTMAX_KERAS_OK + KD_KERAS_OK + STEP_KERAS_OK + PRUNE_KERAS_OK,
    "torch": SOFTMAX_TORCH_OK + KD_TORCH_OK + STEP_TORCH_OK + PRUNE_TORCH_OK,
}
