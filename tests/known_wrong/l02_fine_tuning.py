"""Lesson 02: wrong and unusual discriminative groups, gradual-unfreezing steps, EWC penalties
and class weights, in both tracks.

Central variants are the mistakes each exercise is about (COURSE.md §5 items 10, 11, 15, 17,
18, 20); the released lesson's visible tests reject them. The others (a fresh optimizer that
drops the state of the groups already training, a factor hard-coded where the visible test uses
the same value, a missing class that is not an error, the mode not restored, the predicted class
instead of the true one) are caught by hidden tests.
"""

from . import Unusual, Wrong

# --------------------------------------------------------------------------------------
# Exercise 1: discriminative_groups (the same loop in both tracks; how "trainable" is read differs)
# --------------------------------------------------------------------------------------

_TRAINABLE = {"torch": "p.requires_grad", "keras": "id(p) in trainable"}
_PREAMBLE = {"torch": "", "keras": "    trainable = {id(v) for v in model.trainable_weights}\n"}


def _groups(track: str, depth: str = "depth", order: str = "reversed(list(blocks))", keep: str = "True",
            extra: str = "") -> str:
    return f'''
def discriminative_groups(model, lr, decay):
    blocks = ft.block_parameters(model)
{_PREAMBLE[track]}    groups = []
    for depth, block in enumerate({order}):
        params = [p for p in blocks[block].values() if {_TRAINABLE[track]} and {keep}]
        if params:
            groups.append({{"name": block, "params": params, "lr": lr * decay ** ({depth})}})
{extra}    return groups
'''


def _groups_wrong(track: str) -> list[Wrong]:
    all_trainable = {"torch": "[p for p in model.parameters() if p.requires_grad]", "keras": "list(model.trainable_weights)"}
    return [
        Wrong("disc-groups", "rates grow towards the input (blocks counted from the stem)",
              _groups(track, order="list(blocks)"), central=True),
        Wrong("disc-groups", "adds a catch-all group with every trainable parameter",
              _groups(track, extra=f'    groups.append({{"name": "all", "params": {all_trainable[track]}, "lr": lr}})\n'),
              catalogue="18", central=True),
        Wrong("disc-groups", "leaves the head out", _groups(track, keep='block != "head"'),
              catalogue="18", central=True),
        Wrong("disc-groups", "the head already at lr * decay (exponent off by one)", _groups(track, depth="depth + 1"),
              central=True),
        Wrong("disc-groups", "puts frozen parameters in the groups too",
              _groups(track).replace(f"if {_TRAINABLE[track]} and True", "if True"), catalogue="18", central=True),
    ]


_GROUPS_UNUSUAL = {
    "torch": '''
def discriminative_groups(model, lr, decay):
    blocks = ft.block_parameters(model)
    groups, rate = [], lr
    for block in reversed(ft.block_names(model)):          # from the head down, the rate shrinking as it goes
        params = [p for p in blocks[block].values() if p.requires_grad]
        if params:
            groups.insert(0, dict(params=params, lr=rate, name=block))  # input-to-output order
        rate = rate * decay
    return groups
''',
    "keras": '''
def discriminative_groups(model, lr, decay):
    names = list(ft.block_parameters(model))
    owner = {id(v): block for block, named in ft.block_parameters(model).items() for v in named.values()}
    by_block = {}
    for v in model.trainable_weights:                    # walk the trainable variables, not the blocks
        by_block.setdefault(owner[id(v)], []).append(v)
    return [dict(name=b, params=vs, lr=lr * decay ** (len(names) - 1 - names.index(b))) for b, vs in by_block.items()]
''',
}

# --------------------------------------------------------------------------------------
# Exercise 2: unfreeze_step
# --------------------------------------------------------------------------------------

_T_STEP_HEAD = '''
def unfreeze_step(model, optimizer, top_k, lr, decay):
'''
T_STEP = [
    Wrong("unfreeze-step", "unfreezes but never tells the optimizer", _T_STEP_HEAD + '''
    ft.unfreeze(model, top_k)
    return optimizer
''', catalogue="17", central=True),
    Wrong("unfreeze-step", "adds every group again, the parameters already held included", _T_STEP_HEAD + '''
    ft.unfreeze(model, top_k)
    for group in discriminative_groups(model, lr, decay):
        optimizer.add_param_group({"params": group["params"], "lr": group["lr"]})
    return optimizer
''', catalogue="18", central=True),
    Wrong("unfreeze-step", "new blocks join at the base rate, not their discriminative rate", _T_STEP_HEAD + '''
    ft.unfreeze(model, top_k)
    held = {id(p) for g in optimizer.param_groups for p in g["params"]}
    new = [p for p in model.parameters() if p.requires_grad and id(p) not in held]
    if new:
        optimizer.add_param_group({"params": new, "lr": lr})
    return optimizer
''', central=True),
    Wrong("unfreeze-step", "lets BatchNorm train (its statistics drift)", _T_STEP_HEAD + '''
    ft.unfreeze(model, top_k, bn_trainable=True)
    held = {id(p) for g in optimizer.param_groups for p in g["params"]}
    for group in discriminative_groups(model, lr, decay):
        new = [p for p in group["params"] if id(p) not in held]
        if new:
            optimizer.add_param_group({"params": new, "lr": group["lr"]})
    return optimizer
''', catalogue="16", central=True),
    Wrong("unfreeze-step", "unfreezes every block whatever top_k says", _T_STEP_HEAD + '''
    ft.unfreeze(model, 4)
    held = {id(p) for g in optimizer.param_groups for p in g["params"]}
    for group in discriminative_groups(model, lr, decay):
        new = [p for p in group["params"] if id(p) not in held]
        if new:
            optimizer.add_param_group({"params": new, "lr": group["lr"]})
    return optimizer
''', central=True),
    Wrong("unfreeze-step", "a brand-new optimizer: the head's Adam state is lost", _T_STEP_HEAD + '''
    ft.unfreeze(model, top_k)
    return torch.optim.Adam(discriminative_groups(model, lr, decay), lr=lr)
'''),
]
T_STEP_UNUSUAL = [
    Unusual("unfreeze-step", "one group per new parameter, rates computed by hand", _T_STEP_HEAD + '''
    ft.unfreeze(model, top_k=top_k)
    held = set()
    for group in optimizer.param_groups:
        held.update(id(p) for p in group["params"])
    blocks = ft.block_names(model)
    for depth, block in enumerate(reversed(blocks)):
        for name, p in ft.block_parameters(model)[block].items():
            if p.requires_grad and id(p) not in held:
                optimizer.add_param_group({"params": [p], "lr": lr * decay ** depth, "name": name})
    return optimizer
'''),
]

_K_STEP_LOSS = "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"
_K_SCALES = '''    scales = {v.path: g["lr"] / lr for g in discriminative_groups(model, lr, decay) for v in g["params"]}
'''
K_STEP = [
    Wrong("unfreeze-step", "changes trainable without compiling again", _T_STEP_HEAD + '''
    ft.unfreeze(model, top_k)
    return model.optimizer
''', catalogue="15", central=True),
    Wrong("unfreeze-step", "compiles again with one rate for every block", _T_STEP_HEAD + f'''
    ft.unfreeze(model, top_k)
    new = keras.optimizers.Adam(lr)
    model.compile(optimizer=new, loss={_K_STEP_LOSS}, metrics=["accuracy"])
    return new
''', central=True),
    Wrong("unfreeze-step", "compiles with a loss that expects probabilities", _T_STEP_HEAD + '''
    ft.unfreeze(model, top_k)
''' + _K_SCALES + '''    new = ft.ParamGroupOptimizer(keras.optimizers.Adam(lr), scales)
    model.compile(optimizer=new, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return new
''', catalogue="§4 wrong kind of output", central=True),
    Wrong("unfreeze-step", "compiles again with the old optimizer, built on the head alone", _T_STEP_HEAD + f'''
    ft.unfreeze(model, top_k)
    model.compile(optimizer=optimizer, loss={_K_STEP_LOSS}, metrics=["accuracy"])
    return optimizer
''', catalogue="17", central=True),
    Wrong("unfreeze-step", "unfreezes every block whatever top_k says", _T_STEP_HEAD + '''
    ft.unfreeze(model, 4)
''' + _K_SCALES + f'''    new = ft.ParamGroupOptimizer(keras.optimizers.Adam(lr), scales)
    model.compile(optimizer=new, loss={_K_STEP_LOSS}, metrics=["accuracy"])
    return new
''', central=True),
    Wrong("unfreeze-step", "hard-codes the decay the visible test happens to use", _T_STEP_HEAD + '''
    ft.unfreeze(model, top_k)
    scales = {v.path: g["lr"] / lr for g in discriminative_groups(model, lr, 0.5) for v in g["params"]}
''' + f'''    new = ft.ParamGroupOptimizer(keras.optimizers.Adam(lr), scales)
    model.compile(optimizer=new, loss={_K_STEP_LOSS}, metrics=["accuracy"])
    return new
''', catalogue="§4 ignored arguments"),
]
K_STEP_UNUSUAL = [
    Unusual("unfreeze-step", "the library's parameter groups, a metric object and AdamW without decay", _T_STEP_HEAD + f'''
    ft.unfreeze(model, top_k=top_k)
    groups = ft.param_groups(model, lr, decay=decay)
    new = ft.ParamGroupOptimizer(keras.optimizers.AdamW(learning_rate=lr, weight_decay=0.0), groups)
    model.compile(optimizer=new, loss={_K_STEP_LOSS},
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return new
'''),
]

# --------------------------------------------------------------------------------------
# Exercise 3: EWCPenalty
# --------------------------------------------------------------------------------------

_T_PENALTY = '''
    def penalty(self):
        total = sum((self.fisher[n] * (p - self.anchor[n]) ** 2).sum() for n, p in self.params.items())
        return 0.5 * self.strength * total
'''


def _t_ewc(anchor: str = "p.detach().clone()", mode: str = "model.eval()", restore: str = "model.train(was_training)",
           target: str = "yi", divide: str = "len(labels)", keep: str = "p.requires_grad",
           penalty: str = _T_PENALTY) -> str:
    return f'''
class EWCPenalty:
    def __init__(self, model, x, y, strength):
        self.strength = strength
        self.params = {{n: p for n, p in model.named_parameters() if {keep}}}
        self.anchor = {{n: {anchor} for n, p in self.params.items()}}
        self.fisher = {{n: torch.zeros_like(p) for n, p in self.params.items()}}
        images = torch.as_tensor(np.asarray(x, dtype=np.float32)).permute(0, 3, 1, 2)
        labels = torch.as_tensor(np.asarray(y)).long()
        was_training = model.training
        {mode}
        for xi, yi in zip(images, labels):
            logits = model(xi[None])
            log_p = torch.log_softmax(logits, dim=1)[0, {target}]
            grads = torch.autograd.grad(log_p, list(self.params.values()), allow_unused=True)
            for n, g in zip(self.params, grads):
                if g is not None:
                    self.fisher[n] += g.detach() ** 2
        {restore}
        self.fisher = {{n: f / {divide} for n, f in self.fisher.items()}}
''' + penalty


T_EWC = [
    Wrong("ewc", "Fisher from the square of the batch-mean gradient", '''
class EWCPenalty:
    def __init__(self, model, x, y, strength):
        self.strength = strength
        self.params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        self.anchor = {n: p.detach().clone() for n, p in self.params.items()}
        was_training = model.training
        model.eval()
        images = torch.as_tensor(np.asarray(x, dtype=np.float32)).permute(0, 3, 1, 2)
        log_p = torch.log_softmax(model(images), dim=1)[torch.arange(len(y)), torch.as_tensor(np.asarray(y)).long()]
        grads = torch.autograd.grad(log_p.mean(), list(self.params.values()), allow_unused=True)
        self.fisher = {n: (g.detach() ** 2 if g is not None else torch.zeros_like(p))
                       for (n, p), g in zip(self.params.items(), grads)}
        model.train(was_training)
''' + _T_PENALTY, catalogue="10", central=True),
    Wrong("ewc", "anchor aliases the live parameters (detach without clone)", _t_ewc(anchor="p.detach()"),
          catalogue="11", central=True),
    Wrong("ewc", "Fisher computed in training mode (BatchNorm statistics drift, dropout on)",
          _t_ewc(mode="model.train()"), catalogue="16", central=True),
    Wrong("ewc", "sums the squared gradients instead of averaging them", _t_ewc(divide="1"), central=True),
    Wrong("ewc", "penalty without the factor 1/2", _t_ewc(penalty=_T_PENALTY.replace("0.5 * self.strength", "self.strength")),
          central=True),
    Wrong("ewc", "gradient of the predicted class instead of the true label", _t_ewc(target="logits.argmax()")),
    Wrong("ewc", "leaves the model in training mode afterwards", _t_ewc(restore="model.train()"),
          catalogue="§4 side effects on the caller's model"),
    Wrong("ewc", "includes frozen parameters", _t_ewc(keep="True")),
]
T_EWC_UNUSUAL = [
    Unusual("ewc", "per-sample gradients with torch.func.vmap, penalty as a dot product", '''
from torch.func import functional_call, grad, vmap

class EWCPenalty:
    def __init__(self, model, x, y, strength):
        self.strength = float(strength)
        self.params = dict((n, p) for n, p in model.named_parameters() if p.requires_grad)
        frozen = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}
        buffers = dict(model.named_buffers())
        self.anchor = {n: torch.clone(p).detach() for n, p in self.params.items()}

        def log_likelihood(trainable, xi, yi):
            out = functional_call(model, ({**trainable, **frozen}, buffers), (xi.unsqueeze(0),))
            return F.log_softmax(out, dim=-1).squeeze(0).gather(0, yi.unsqueeze(0)).squeeze(0)

        mode = model.training
        model.train(False)
        xs = torch.tensor(np.transpose(np.asarray(x, np.float32), (0, 3, 1, 2)))
        ys = torch.tensor(np.asarray(y), dtype=torch.long)
        per_sample = vmap(grad(log_likelihood), in_dims=(None, 0, 0))({n: p.detach() for n, p in self.params.items()}, xs, ys)
        model.train(mode)
        self.fisher = {n: g.pow(2).mean(dim=0) for n, g in per_sample.items()}

    def penalty(self):
        flat = lambda d: torch.cat([d[n].reshape(-1) for n in self.params])
        live = torch.cat([p.reshape(-1) for p in self.params.values()])
        return self.strength / 2 * torch.dot(flat(self.fisher), (live - flat(self.anchor)) ** 2)
'''),
]

_K_PENALTY = '''
    def penalty(self):
        total = sum(tf.reduce_sum(self.fisher[n] * tf.square(v - self.anchor[n])) for n, v in self.params.items())
        return 0.5 * self.strength * total
'''


def _k_ewc(anchor: str = "tf.constant(v.numpy())", training: str = "False", target: str = "int(yi)",
           divide: str = "len(labels)", weights: str = "model.trainable_weights", penalty: str = _K_PENALTY) -> str:
    return f'''
class EWCPenalty:
    def __init__(self, model, x, y, strength):
        self.strength = strength
        self.params = {{v.path: v for v in {weights}}}
        self.anchor = {{n: {anchor} for n, v in self.params.items()}}
        totals = {{n: np.zeros(v.shape, np.float32) for n, v in self.params.items()}}
        variables = list(self.params.values())
        images, labels = np.asarray(x, np.float32), np.asarray(y)
        for xi, yi in zip(images, labels):
            with tf.GradientTape() as tape:
                logits = model(xi[None], training={training})
                log_p = tf.nn.log_softmax(logits)[0, {target}]
            for n, g in zip(self.params, tape.gradient(log_p, variables)):
                if g is not None:
                    totals[n] += g.numpy() ** 2
        self.fisher = {{n: tf.constant(t / {divide}) for n, t in totals.items()}}
''' + penalty


K_EWC = [
    Wrong("ewc", "Fisher from the square of the batch-mean gradient", '''
class EWCPenalty:
    def __init__(self, model, x, y, strength):
        self.strength = strength
        self.params = {v.path: v for v in model.trainable_weights}
        self.anchor = {n: tf.constant(v.numpy()) for n, v in self.params.items()}
        with tf.GradientTape() as tape:
            log_p = tf.nn.log_softmax(model(np.asarray(x, np.float32), training=False))
            mean = tf.reduce_mean(tf.gather(log_p, np.asarray(y), batch_dims=1))
        grads = tape.gradient(mean, list(self.params.values()))
        self.fisher = {n: tf.square(g) if g is not None else tf.zeros(v.shape) for (n, v), g in zip(self.params.items(), grads)}
''' + _K_PENALTY, catalogue="10", central=True),
    Wrong("ewc", "anchor aliases the live variables (their tf.Variable)", _k_ewc(anchor="v.value"),
          catalogue="11", central=True),
    Wrong("ewc", "Fisher computed in training mode (BatchNorm statistics drift, dropout on)",
          _k_ewc(training="True"), catalogue="15", central=True),
    Wrong("ewc", "sums the squared gradients instead of averaging them", _k_ewc(divide="1"), central=True),
    Wrong("ewc", "penalty without the factor 1/2", _k_ewc(penalty=_K_PENALTY.replace("0.5 * self.strength", "self.strength")),
          central=True),
    Wrong("ewc", "gradient of the predicted class instead of the true label", _k_ewc(target="int(tf.argmax(logits[0]))")),
]
K_EWC_UNUSUAL = [
    Unusual("ewc", "per-sample gradients of the whole batch at once with tape.jacobian", '''
class EWCPenalty:
    def __init__(self, model, x, y, strength):
        self.strength = strength
        self.params = {v.path: v for v in model.trainable_weights}
        self.anchor = {n: np.array(v.numpy(), copy=True) for n, v in self.params.items()}
        images = tf.convert_to_tensor(np.asarray(x, np.float32))
        labels = tf.convert_to_tensor(np.asarray(y).astype("int32"))
        with tf.GradientTape(persistent=True) as tape:  # a jacobian row by row needs a persistent tape
            log_p = tf.gather(tf.nn.log_softmax(model(images, training=False)), labels, batch_dims=1)  # (N,)
        jac = tape.jacobian(log_p, list(self.params.values()), experimental_use_pfor=False)  # each (N, *shape)
        self.fisher = {n: tf.reduce_mean(tf.square(j), axis=0) for n, j in zip(self.params, jac)}

    def penalty(self):
        terms = [keras.ops.sum(self.fisher[n] * keras.ops.square(v - self.anchor[n])) for n, v in self.params.items()]
        return keras.ops.sum(keras.ops.stack(terms)) * (self.strength / 2.0)
'''),
]

# --------------------------------------------------------------------------------------
# Exercise 4: balanced_class_weights
# --------------------------------------------------------------------------------------

_WRAP = {"torch": "torch.tensor({}, dtype=torch.float32)", "keras": "{{c: float(w) for c, w in enumerate({})}}"}


def _weights(track: str, formula: str, check: bool = True, counts: str = "np.bincount(np.asarray(labels), minlength=num_classes)",
             wrap: str | None = None) -> str:
    guard = '''    if np.any(counts == 0):
        raise ValueError("a class has no label")
''' if check else ""
    return f'''
def balanced_class_weights(labels, num_classes):
    counts = {counts}
{guard}    weights = {formula}
    return {(wrap or _WRAP[track]).format("weights")}
'''


def _weights_wrong(track: str) -> list[Wrong]:
    wrong_type = {"torch": "{}", "keras": "list({})"}[track]
    return [
        Wrong("class-weights", "inverted: common classes weigh more", _weights(track, "num_classes * counts / len(labels)"),
              catalogue="20", central=True),
        Wrong("class-weights", "1 / n_c, not normalised (the loss changes scale)", _weights(track, "1.0 / counts"),
              central=True),
        Wrong("class-weights", "hard-codes ten classes", _weights(track, "len(labels) / (10 * counts)",
                                                                  counts="np.bincount(np.asarray(labels), minlength=10)"),
              catalogue="§4 hard-coded class count", central=True),
        Wrong("class-weights", "returns the weights in the wrong container", _weights(track, "len(labels) / (num_classes * counts)",
                                                                                       wrap=wrong_type),
              catalogue="§4 wrong kind of output", central=True),
        Wrong("class-weights", "a class without labels gets an infinite weight instead of an error",
              "import warnings\nwarnings.filterwarnings('ignore', category=RuntimeWarning)\n"
              + _weights(track, "len(labels) / (num_classes * counts)", check=False)),
        Wrong("class-weights", "the classes present, not num_classes", _weights(
            track, "len(labels) / (len(counts) * counts)", check=False,
            counts="np.unique(np.asarray(labels), return_counts=True)[1]")),
    ]


_WEIGHTS_UNUSUAL = {
    "torch": '''
from sklearn.utils.class_weight import compute_class_weight

def balanced_class_weights(labels, num_classes):
    labels = np.asarray(labels)
    if len(np.unique(labels)) < num_classes:
        raise ValueError("every class needs at least one label")
    return torch.from_numpy(compute_class_weight("balanced", classes=np.arange(num_classes), y=labels)).float()
''',
    "keras": '''
from collections import Counter

def balanced_class_weights(labels, num_classes):
    counts = Counter(int(c) for c in labels)
    missing = [c for c in range(num_classes) if counts[c] == 0]
    if missing:
        raise ValueError(f"classes {missing} have no label")
    total = sum(counts.values())
    return dict((c, total / num_classes / counts[c]) for c in range(num_classes))
''',
}

VARIANTS = {
    "torch": _groups_wrong("torch") + T_STEP + T_EWC + _weights_wrong("torch"),
    "keras": _groups_wrong("keras") + K_STEP + K_EWC + _weights_wrong("keras"),
}
ACCEPTED = {
    "torch": [Unusual("disc-groups", "rate shrunk as it walks down, groups inserted in input order", _GROUPS_UNUSUAL["torch"]),
              *T_STEP_UNUSUAL, *T_EWC_UNUSUAL,
              Unusual("class-weights", "scikit-learn's compute_class_weight", _WEIGHTS_UNUSUAL["torch"])],
    "keras": [Unusual("disc-groups", "walks the trainable variables and looks up their blocks", _GROUPS_UNUSUAL["keras"]),
              *K_STEP_UNUSUAL, *K_EWC_UNUSUAL,
              Unusual("class-weights", "counts with collections.Counter, dict() of a generator", _WEIGHTS_UNUSUAL["keras"])],
}
