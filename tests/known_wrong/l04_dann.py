"""Lesson 04: wrong and unusual gradient reversal layers, λ schedules, DANN steps and
learning-rate annealings, in both tracks.

Central variants are the mistakes each exercise is about (COURSE.md §5 items 1-5): the
released lesson's visible tests reject them. The others (dtype, λ = 0, a traced graph, gamma
or alpha/beta ignored, gradients accumulated over steps) are caught by the hidden tests.
"""

from . import Unusual, Wrong

# --------------------------------------------------------------------------------------
# Exercise 1: grad_reverse
# --------------------------------------------------------------------------------------


def _torch_grl(forward: str, backward: str) -> str:
    return f'''
def grad_reverse(x, lambda_=1.0):
    class Reverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return {forward}

        @staticmethod
        def backward(ctx, grad):
            return {backward}

    return Reverse.apply(x)
'''


def _keras_grl(forward: str, backward: str) -> str:
    return f'''
def grad_reverse(x, lambda_=1.0):
    @tf.custom_gradient
    def reverse(t):
        def grad(upstream):
            return {backward}
        return {forward}, grad

    return reverse(tf.convert_to_tensor(x))
'''


GRL_TORCH = [
    Wrong("grl", "scales the forward value by -λ as well", _torch_grl("-lambda_ * t", "-lambda_ * grad"), "1", central=True),
    Wrong("grl", "gradient scaled by λ but not reversed", _torch_grl("t.view_as(t)", "lambda_ * grad"), "2", central=True),
    Wrong("grl", "reversed twice (the backward negates, the caller's loss negated again)",
          _torch_grl("t.view_as(t)", "-lambda_ * grad").replace("return Reverse.apply(x)", "return -(-Reverse.apply(x))")
          .replace("-lambda_ * grad", "lambda_ * grad"), "2", central=True),
    Wrong("grl", "λ ignored: the gradient is only negated", _torch_grl("t.view_as(t)", "-grad"), "2", central=True),
    Wrong("grl", "detaches the input: no gradient at all", '''
def grad_reverse(x, lambda_=1.0):
    return x.detach()
''', "2", central=True),
    Wrong("grl", "divides by λ instead of multiplying", _torch_grl("t.view_as(t)", "-grad / lambda_"), "2", central=True),
    Wrong("grl", "computes in float32 whatever the input's dtype", '''
def grad_reverse(x, lambda_=1.0):
    x = x.float()
    return (1 + lambda_) * x.detach() - lambda_ * x
''', "§4 wrong kind of output"),
    Wrong("grl", "λ kept in a global and read at backward time (the last call's λ wins)", '''
_LAMBDA = [1.0]


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t):
        return t.view_as(t)

    @staticmethod
    def backward(ctx, grad):
        return -_LAMBDA[0] * grad


def grad_reverse(x, lambda_=1.0):
    _LAMBDA[0] = lambda_
    return _Reverse.apply(x)
'''),
]

GRL_TORCH_UNUSUAL = [
    Unusual("grl", "a backward hook on a copy of the input", '''
def grad_reverse(x, lambda_=1.0):
    y = x.clone()
    if y.requires_grad:
        y.register_hook(lambda grad: -lambda_ * grad)
    return y
'''),
    Unusual("grl", "the detach trick: (1 + λ)·stop(x) − λ·x", '''
def grad_reverse(x, lambda_=1.0):
    return (1 + lambda_) * x.detach() - lambda_ * x
'''),
]

GRL_KERAS = [
    Wrong("grl", "scales the forward value by -λ as well", _keras_grl("-lambda_ * t", "-lambda_ * upstream"), "1", central=True),
    Wrong("grl", "gradient scaled by λ but not reversed", _keras_grl("tf.identity(t)", "lambda_ * upstream"), "2", central=True),
    Wrong("grl", "reversed twice (a minus in the gradient and another in the output)",
          _keras_grl("tf.identity(t)", "lambda_ * upstream").replace(
              "return reverse(tf.convert_to_tensor(x))", "return -(-reverse(tf.convert_to_tensor(x)))"), "2", central=True),
    Wrong("grl", "λ ignored: the gradient is only negated", _keras_grl("tf.identity(t)", "-upstream"), "2", central=True),
    Wrong("grl", "stop_gradient: no gradient at all", '''
def grad_reverse(x, lambda_=1.0):
    return tf.stop_gradient(x)
''', "2", central=True),
    Wrong("grl", "divides by λ instead of multiplying", _keras_grl("tf.identity(t)", "-upstream / lambda_"), "2", central=True),
    Wrong("grl", "casts to float32 whatever the input's dtype", '''
def grad_reverse(x, lambda_=1.0):
    @tf.custom_gradient
    def reverse(t):
        def grad(upstream):
            return -lambda_ * upstream
        return tf.identity(t), grad

    return reverse(tf.cast(x, tf.float32))
''', "§4 wrong kind of output"),
    Wrong("grl", "works eagerly only (reads the value with .numpy())", '''
def grad_reverse(x, lambda_=1.0):
    @tf.custom_gradient
    def reverse(t):
        value = tf.constant(t.numpy())
        def grad(upstream):
            return -lambda_ * upstream
        return value, grad

    return reverse(tf.convert_to_tensor(x))
'''),    Wrong("grl", "λ kept in a global and read at backward time (the last call's λ wins)", '''
_LAMBDA = [1.0]


@tf.custom_gradient
def _reverse(t):
    def grad(upstream):
        return -_LAMBDA[0] * upstream
    return tf.identity(t), grad


def grad_reverse(x, lambda_=1.0):
    _LAMBDA[0] = lambda_
    return _reverse(tf.convert_to_tensor(x))
'''),
]

GRL_KERAS_UNUSUAL = [
    Unusual("grl", "the stop_gradient trick: (1 + λ)·stop(x) − λ·x", '''
def grad_reverse(x, lambda_=1.0):
    x = tf.convert_to_tensor(x)
    return (1 + lambda_) * tf.stop_gradient(x) - lambda_ * x
'''),
    Unusual("grl", "the library's gradient_reversal", '''
def grad_reverse(x, lambda_=1.0):
    return dann.gradient_reversal(x, lambda_)
'''),
]

# --------------------------------------------------------------------------------------
# Exercise 2: grl_lambda and set_grl_lambda (the same in both tracks)
# --------------------------------------------------------------------------------------

_SET = '''

def set_grl_lambda(grl, step, total_steps, gamma=10.0):
    grl.lambda_ = grl_lambda(step / total_steps, gamma)
'''


def _schedule(body: str, setter: str = _SET) -> str:
    return f'''
def grl_lambda(progress, gamma=10.0):
    return {body}
''' + setter


SCHEDULE = [
    Wrong("grl-lambda", "without the − 1 (starts at 1, ends at 2)",
          _schedule("float(2.0 / (1.0 + np.exp(-gamma * progress)))"), "3", central=True),
    Wrong("grl-lambda", "exp(+γp): a falling schedule", _schedule("float(2.0 / (1.0 + np.exp(gamma * progress)) - 1.0)"),
          "3", central=True),
    Wrong("grl-lambda", "a plain sigmoid 1 / (1 + exp(−γp))", _schedule("float(1.0 / (1.0 + np.exp(-gamma * progress)))"),
          "3", central=True),
    Wrong("grl-lambda", "tanh(γp) (twice as steep)", _schedule("float(np.tanh(gamma * progress))"), "3", central=True),
    Wrong("grl-lambda", "computes λ_p but never writes it into the layer", _schedule(
        "float(2.0 / (1.0 + np.exp(-gamma * progress)) - 1.0)", '''

def set_grl_lambda(grl, step, total_steps, gamma=10.0):
    return grl_lambda(step / total_steps, gamma)
'''), "3", central=True),
    Wrong("grl-lambda", "uses the step count as the progress", _schedule(
        "float(2.0 / (1.0 + np.exp(-gamma * progress)) - 1.0)", '''

def set_grl_lambda(grl, step, total_steps, gamma=10.0):
    grl.lambda_ = grl_lambda(step, gamma)
'''), "3", central=True),
    Wrong("grl-lambda", "gamma ignored (10 hard-coded)", _schedule("float(2.0 / (1.0 + np.exp(-10.0 * progress)) - 1.0)"),
          "§4 ignored arguments"),
    Wrong("grl-lambda", "set_grl_lambda does not pass gamma on", _schedule(
        "float(2.0 / (1.0 + np.exp(-gamma * progress)) - 1.0)", '''

def set_grl_lambda(grl, step, total_steps, gamma=10.0):
    grl.lambda_ = grl_lambda(step / total_steps)
'''), "§4 ignored arguments"),
]

SCHEDULE_UNUSUAL = [
    Unusual("grl-lambda", "tanh(γp / 2), the same function", _schedule("float(np.tanh(gamma * progress / 2))")),
    Unusual("grl-lambda", "the library's schedule and math.exp", '''
import math

def grl_lambda(progress, gamma=10.0):
    return 2 / (1 + math.exp(-gamma * progress)) - 1


def set_grl_lambda(grl, step, total_steps, gamma=10.0):
    grl.lambda_ = schedules.dann_lambda(step / total_steps, gamma=gamma)
'''),
]

# --------------------------------------------------------------------------------------
# Exercise 3: dann_step
# --------------------------------------------------------------------------------------

_TORCH_STEP = '''
def dann_step(extractor, classifier, discriminator, grl, optimizer, xs, ys, xt):
    optimizer.zero_grad()
    features_s, features_t = extractor(xs), extractor(xt)
    class_loss = nn.functional.cross_entropy(classifier(features_s), ys)
    domain_s, domain_t = discriminator(GRL_S), discriminator(GRL_T)
    bce = nn.functional.binary_cross_entropy_with_logits
    domain_loss = 0.5 * (bce(domain_s, torch.ones_like(domain_s)) + bce(domain_t, torch.zeros_like(domain_t)))
    (TOTAL).backward()
    optimizer.step()
    return class_loss.item(), domain_loss.item()
'''


def _torch_step(grl_s="grl(features_s)", grl_t="grl(features_t)", total="class_loss + domain_loss") -> str:
    return _TORCH_STEP.replace("GRL_S", grl_s).replace("GRL_T", grl_t).replace("TOTAL", total)


STEP_TORCH = [
    Wrong("dann-step", "features detached before the discriminator", _torch_step("grl(features_s.detach())", "grl(features_t.detach())"),
          "4", central=True),
    Wrong("dann-step", "no gradient reversal: the extractor helps the discriminator", _torch_step("features_s", "features_t"),
          "2", central=True),
    Wrong("dann-step", "reversed twice: through the layer and a negated domain loss", _torch_step(total="class_loss - domain_loss"),
          "2", central=True),
    Wrong("dann-step", "its own reversal at λ = 1 instead of the given layer",
          _torch_step("dann.GradientReversal(1.0)(features_s)", "dann.GradientReversal(1.0)(features_t)"), "3", central=True),
    Wrong("dann-step", "class − domain without a reversal layer (the discriminator maximises its loss)",
          _torch_step("features_s", "features_t", "class_loss - domain_loss"), "2", central=True),
    Wrong("dann-step", "the domain loss on source features only", _TORCH_STEP.replace("GRL_S", "grl(features_s)").replace(
        "GRL_T", "grl(features_s)").replace("TOTAL", "class_loss + domain_loss"), central=True),
    Wrong("dann-step", "the optimizer step before the backward pass (the update uses no gradient of this step)",
          _torch_step().replace("    (class_loss + domain_loss).backward()\n    optimizer.step()\n",
                                "    optimizer.step()\n    (class_loss + domain_loss).backward()\n"), central=True),
    Wrong("dann-step", "gradients never cleared (they accumulate over steps)", _torch_step().replace("    optimizer.zero_grad()\n", "")),
]

STEP_TORCH_UNUSUAL = [
    Unusual("dann-step", "one pass over the concatenated batch, target labelled 1", '''
def dann_step(extractor, classifier, discriminator, grl, optimizer, xs, ys, xt):
    features = extractor(torch.cat([xs, xt]))
    n = len(xs)
    class_loss = nn.functional.cross_entropy(classifier(features[:n]), ys)
    domains = torch.cat([torch.zeros(n), torch.ones(len(xt))]).unsqueeze(1)
    domain_loss = nn.functional.binary_cross_entropy_with_logits(discriminator(grl(features)), domains)
    optimizer.zero_grad(set_to_none=True)
    loss = class_loss + domain_loss
    loss.backward()
    optimizer.step()
    return float(class_loss.detach()), float(domain_loss.detach())
'''),
]

_KERAS_STEP = '''
def dann_step(extractor, classifier, discriminator, grl, optimizer, xs, ys, xt):
    variables = extractor.trainable_variables + classifier.trainable_variables + discriminator.trainable_variables
    with tf.GradientTape() as tape:
        features_s, features_t = extractor(xs, training=True), extractor(xt, training=True)
        class_loss = ops.mean(keras.losses.sparse_categorical_crossentropy(
            ys, classifier(features_s, training=True), from_logits=True))
        domain_s = discriminator(GRL_S, training=True)
        domain_t = discriminator(GRL_T, training=True)
        domain_loss = 0.5 * (ops.mean(keras.losses.binary_crossentropy(ops.ones_like(domain_s), domain_s, from_logits=True))
                             + ops.mean(keras.losses.binary_crossentropy(ops.zeros_like(domain_t), domain_t, from_logits=True)))
        loss = TOTAL
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables))
    return float(class_loss), float(domain_loss)
'''


def _keras_step(grl_s="grl(features_s)", grl_t="grl(features_t)", total="class_loss + domain_loss") -> str:
    return _KERAS_STEP.replace("GRL_S", grl_s).replace("GRL_T", grl_t).replace("TOTAL", total)


STEP_KERAS = [
    Wrong("dann-step", "stop_gradient on the features before the discriminator",
          _keras_step("grl(tf.stop_gradient(features_s))", "grl(tf.stop_gradient(features_t))"), "4", central=True),
    Wrong("dann-step", "no gradient reversal: the extractor helps the discriminator", _keras_step("features_s", "features_t"),
          "2", central=True),
    Wrong("dann-step", "reversed twice: through the layer and a negated domain loss", _keras_step(total="class_loss - domain_loss"),
          "2", central=True),
    Wrong("dann-step", "its own reversal at λ = 1 instead of the given layer",
          _keras_step("dann.GradientReversal(1.0)(features_s)", "dann.GradientReversal(1.0)(features_t)"), "3", central=True),
    Wrong("dann-step", "class − domain without a reversal layer (the discriminator maximises its loss)",
          _keras_step("features_s", "features_t", "class_loss - domain_loss"), "2", central=True),
    Wrong("dann-step", "the domain loss on source features only", _keras_step("grl(features_s)", "grl(features_s)"), central=True),
    Wrong("dann-step", "the feature extractor left out of the optimizer's variables", _keras_step().replace(
        "variables = extractor.trainable_variables + classifier.trainable_variables",
        "variables = classifier.trainable_variables"), central=True),
]

STEP_KERAS_UNUSUAL = [
    Unusual("dann-step", "one pass over the concatenated batch, target labelled 1, optimizer.apply", '''
def dann_step(extractor, classifier, discriminator, grl, optimizer, xs, ys, xt):
    n = len(xs)
    with tf.GradientTape() as tape:
        features = extractor(tf.concat([xs, xt], axis=0), training=True)
        class_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(ys, tf.int32), logits=classifier(features[:n], training=True)))
        domains = tf.concat([tf.zeros((n, 1)), tf.ones((len(xt), 1))], axis=0)
        domain_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
            labels=domains, logits=discriminator(grl(features), training=True)))
        loss = class_loss + domain_loss
    variables = [*extractor.trainable_variables, *classifier.trainable_variables, *discriminator.trainable_variables]
    optimizer.apply(tape.gradient(loss, variables), variables)
    return class_loss.numpy().item(), domain_loss.numpy().item()
'''),
]

# --------------------------------------------------------------------------------------
# Exercise 4: Annealing
# --------------------------------------------------------------------------------------

_TORCH_ANNEAL = '''
class Annealing:
    def __init__(self, optimizer, total_steps, alpha=10.0, beta=0.75):
        self.optimizer, self.total_steps, self.alpha, self.beta = optimizer, total_steps, alpha, beta
        self.initial = [group["lr"] for group in optimizer.param_groups]
        self.steps = 0

    def step(self):
        self.steps += 1
        p = min(self.steps, self.total_steps) / self.total_steps
        for group, lr in zip(self.optimizer.param_groups, self.initial):
            group["lr"] = RATE
'''
_RATE = "lr / (1 + self.alpha * p) ** self.beta"

ANNEAL_TORCH = [
    Wrong("annealing", "one rate for every group (the multipliers flattened)",
          _TORCH_ANNEAL.replace("RATE", "self.initial[0] / (1 + self.alpha * p) ** self.beta"), "5", central=True),
    Wrong("annealing", "compounds: multiplies the current rate by the factor every step",
          _TORCH_ANNEAL.replace("RATE", "group['lr'] / (1 + self.alpha * p) ** self.beta"), "5", central=True),
    Wrong("annealing", "resets the optimizer's state (momentum buffers) at every change",
          _TORCH_ANNEAL.replace("RATE", _RATE) + "        self.optimizer.state.clear()\n", "5", central=True),
    Wrong("annealing", "rebuilds the optimizer with new parameter groups", _TORCH_ANNEAL.replace("RATE", _RATE) + '''
        self.optimizer.param_groups = [dict(group) for group in self.optimizer.param_groups]
''', "5", central=True),
    Wrong("annealing", "progress from the step count, not divided by total_steps",
          _TORCH_ANNEAL.replace("min(self.steps, self.total_steps) / self.total_steps", "self.steps"), "5", central=True),
    Wrong("annealing", "multiplies by (1 + αp)^β instead of dividing", _TORCH_ANNEAL.replace("RATE", "lr * (1 + self.alpha * p) ** self.beta"),
          "5", central=True),
    Wrong("annealing", "alpha and beta ignored (10 and 0.75 hard-coded)", _TORCH_ANNEAL.replace("RATE", "lr / (1 + 10 * p) ** 0.75"),
          "§4 ignored arguments"),
]

ANNEAL_TORCH_UNUSUAL = [
    Unusual("annealing", "a LambdaLR scheduler inside", '''
class Annealing:
    def __init__(self, optimizer, total_steps, alpha=10.0, beta=0.75):
        factor = lambda step: 1 / (1 + alpha * min(step, total_steps) / total_steps) ** beta
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    def step(self):
        self.scheduler.step()
'''),
    Unusual("annealing", "each rate updated by the ratio of successive factors", '''
class Annealing:
    def __init__(self, optimizer, total_steps, alpha=10.0, beta=0.75):
        self.optimizer, self.total, self.alpha, self.beta, self.k = optimizer, total_steps, alpha, beta, 0

    def factor(self, k):
        return (1 + self.alpha * min(k, self.total) / self.total) ** -self.beta

    def step(self):
        ratio = self.factor(self.k + 1) / self.factor(self.k)
        self.k += 1
        for group in self.optimizer.param_groups:
            group["lr"] *= ratio
'''),
]

_KERAS_ANNEAL = '''
class Annealing:
    def __init__(self, optimizers, total_steps, alpha=10.0, beta=0.75):
        self.optimizers, self.total_steps, self.alpha, self.beta = optimizers, total_steps, alpha, beta
        self.initial = [float(ops.convert_to_numpy(opt.learning_rate)) for opt in self.optimizers]
        self.steps = 0

    def step(self):
        self.steps += 1
        p = min(self.steps, self.total_steps) / self.total_steps
        for opt, lr in zip(self.optimizers, self.initial):
            opt.learning_rate.assign(RATE)
'''

ANNEAL_KERAS = [
    Wrong("annealing", "one rate for every optimizer (the multipliers flattened)",
          _KERAS_ANNEAL.replace("RATE", "self.initial[0] / (1 + self.alpha * p) ** self.beta"), "5", central=True),
    Wrong("annealing", "compounds: multiplies the current rate by the factor every step",
          _KERAS_ANNEAL.replace("RATE", "opt.learning_rate / (1 + self.alpha * p) ** self.beta"), "5", central=True),
    Wrong("annealing", "replaces every optimizer by a new one (state lost)", '''
class Annealing:
    def __init__(self, optimizers, total_steps, alpha=10.0, beta=0.75):
        self.optimizers, self.total_steps, self.alpha, self.beta = optimizers, total_steps, alpha, beta
        self.initial = [float(ops.convert_to_numpy(opt.learning_rate)) for opt in optimizers]
        self.steps = 0

    def step(self):
        self.steps += 1
        p = min(self.steps, self.total_steps) / self.total_steps
        for i, lr in enumerate(self.initial):
            self.optimizers[i] = keras.optimizers.SGD(learning_rate=lr / (1 + self.alpha * p) ** self.beta, momentum=0.9)
''', "5", central=True),
    Wrong("annealing", "resets the momentum at every change", _KERAS_ANNEAL.replace("RATE", _RATE.replace("lr /", "lr /")) + '''
            for v in opt.variables:
                if "momentum" in v.path:
                    v.assign(ops.zeros_like(v))
''', "5", central=True),
    Wrong("annealing", "progress from the step count, not divided by total_steps",
          _KERAS_ANNEAL.replace("min(self.steps, self.total_steps) / self.total_steps", "self.steps").replace("RATE", _RATE),
          "5", central=True),
    Wrong("annealing", "multiplies by (1 + αp)^β instead of dividing", _KERAS_ANNEAL.replace("RATE", "lr * (1 + self.alpha * p) ** self.beta"),
          "5", central=True),
    Wrong("annealing", "alpha and beta ignored (10 and 0.75 hard-coded)", _KERAS_ANNEAL.replace("RATE", "lr / (1 + 10 * p) ** 0.75"),
          "§4 ignored arguments"),
]

ANNEAL_KERAS_UNUSUAL = [
    Unusual("annealing", "each rate updated by the ratio of successive factors, set through the property", '''
class Annealing:
    def __init__(self, optimizers, total_steps, alpha=10.0, beta=0.75):
        self.optimizers, self.total, self.alpha, self.beta, self.k = list(optimizers), total_steps, alpha, beta, 0

    def factor(self, k):
        return (1 + self.alpha * min(k, self.total) / self.total) ** -self.beta

    def step(self):
        ratio = self.factor(self.k + 1) / self.factor(self.k)
        self.k += 1
        for opt in self.optimizers:
            opt.learning_rate = float(ops.convert_to_numpy(opt.learning_rate)) * ratio
'''),
]

VARIANTS = {
    "torch": [*GRL_TORCH, *SCHEDULE, *STEP_TORCH, *ANNEAL_TORCH],
    "keras": [*GRL_KERAS, *SCHEDULE, *STEP_KERAS, *ANNEAL_KERAS],
}

ACCEPTED = {
    "torch": [*GRL_TORCH_UNUSUAL, *SCHEDULE_UNUSUAL, *STEP_TORCH_UNUSUAL, *ANNEAL_TORCH_UNUSUAL],
    "keras": [*GRL_KERAS_UNUSUAL, *SCHEDULE_UNUSUAL, *STEP_KERAS_UNUSUAL, *ANNEAL_KERAS_UNUSUAL],
}
