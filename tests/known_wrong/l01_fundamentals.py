"""Lesson 01: wrong and unusual feature extraction, adaptive layers, transfer heads and
learning-curve runs, in both tracks.

Central variants are the mistakes each exercise is about; the released lesson's visible tests
reject them. The others (ignored defaults, 3-D inputs, fixed randomness, other backbones,
sampling with replacement, side effects on the caller's arrays) are caught by hidden tests.
"""

from . import Unusual, Wrong

# --------------------------------------------------------------------------------------
# Exercise 4: linear_probe_runs (NumPy, the same in both tracks)
# --------------------------------------------------------------------------------------

_PROBE_HEAD = '''
def linear_probe_runs(train_features, train_labels, test_features, test_labels, budgets, seeds):
    rows = []
    for n in budgets:
        for seed in seeds:
'''

PROBE_RUNS = [
    Wrong("probe-runs", "scores the probe on its own training examples", _PROBE_HEAD + '''
            rng = np.random.default_rng(seed)
            idx = np.concatenate([rng.choice(np.flatnonzero(train_labels == c), n, replace=False)
                                  for c in np.unique(train_labels)])
            acc = linear_probe_accuracy(train_features[idx], train_labels[idx], train_features[idx], train_labels[idx])
            rows.append({"labels_per_class": n, "seed": seed, "accuracy": acc})
    return pd.DataFrame(rows)
''', central=True),
    Wrong("probe-runs", "ignores the seed: every run draws the same examples", _PROBE_HEAD + '''
            rng = np.random.default_rng(0)
            idx = np.concatenate([rng.choice(np.flatnonzero(train_labels == c), n, replace=False)
                                  for c in np.unique(train_labels)])
            acc = linear_probe_accuracy(train_features[idx], train_labels[idx], test_features, test_labels)
            rows.append({"labels_per_class": n, "seed": seed, "accuracy": acc})
    return pd.DataFrame(rows)
''', "§4 randomness fixed inside the answer", central=True),
    Wrong("probe-runs", "draws n examples in total instead of n per class", _PROBE_HEAD + '''
            idx = np.random.default_rng(seed).choice(len(train_labels), n * len(np.unique(train_labels)), replace=False)
            acc = linear_probe_accuracy(train_features[idx], train_labels[idx], test_features, test_labels)
            rows.append({"labels_per_class": n, "seed": seed, "accuracy": acc})
    return pd.DataFrame(rows)
''', central=True),
    Wrong("probe-runs", "accuracy in percent instead of a fraction", _PROBE_HEAD + '''
            rng = np.random.default_rng(seed)
            idx = np.concatenate([rng.choice(np.flatnonzero(train_labels == c), n, replace=False)
                                  for c in np.unique(train_labels)])
            acc = 100 * linear_probe_accuracy(train_features[idx], train_labels[idx], test_features, test_labels)
            rows.append({"labels_per_class": n, "seed": seed, "accuracy": acc})
    return pd.DataFrame(rows)
''', "§4 wrong kind of output", central=True),
    Wrong("probe-runs", "hard-codes the ten digit classes", _PROBE_HEAD + '''
            rng = np.random.default_rng(seed)
            idx = np.concatenate([rng.choice(np.flatnonzero(train_labels == c), n, replace=False) for c in range(10)])
            acc = linear_probe_accuracy(train_features[idx], train_labels[idx], test_features, test_labels)
            rows.append({"labels_per_class": n, "seed": seed, "accuracy": acc})
    return pd.DataFrame(rows)
''', "§4 hard-coded class count", central=True),
    Wrong("probe-runs", "draws with replacement", _PROBE_HEAD + '''
            rng = np.random.default_rng(seed)
            idx = np.concatenate([rng.choice(np.flatnonzero(train_labels == c), n, replace=True)
                                  for c in np.unique(train_labels)])
            acc = linear_probe_accuracy(train_features[idx], train_labels[idx], test_features, test_labels)
            rows.append({"labels_per_class": n, "seed": seed, "accuracy": acc})
    return pd.DataFrame(rows)
'''),
    Wrong("probe-runs", "shuffles the caller's arrays in place to draw", _PROBE_HEAD + '''
            rng = np.random.default_rng(seed)
            order = rng.permutation(len(train_labels))
            train_features[:], train_labels[:] = train_features[order], train_labels[order]
            idx = np.concatenate([np.flatnonzero(train_labels == c)[:n] for c in np.unique(train_labels)])
            acc = linear_probe_accuracy(train_features[idx], train_labels[idx], test_features, test_labels)
            rows.append({"labels_per_class": n, "seed": seed, "accuracy": acc})
    return pd.DataFrame(rows)
''', "§4 side effects on the caller's arrays"),
    Wrong("probe-runs", "assumes the classes are 0, 1, ..., K-1", _PROBE_HEAD + '''
            rng = np.random.default_rng(seed)
            idx = np.concatenate([rng.choice(np.flatnonzero(train_labels == c), n, replace=False)
                                  for c in range(len(np.unique(train_labels)))])
            acc = linear_probe_accuracy(train_features[idx], train_labels[idx], test_features, test_labels)
            rows.append({"labels_per_class": n, "seed": seed, "accuracy": acc})
    return pd.DataFrame(rows)
''', "§4 code that only works on the test's own toy data"),
]

PROBE_RUNS_ACCEPTED = [
    Unusual("probe-runs", "permutes each class and takes the first n; fits with fit_linear_probe; builds columns", '''
def linear_probe_runs(train_features, train_labels, test_features, test_labels, budgets, seeds):
    from tlhelpers.metrics import fit_linear_probe
    columns = {"labels_per_class": [], "seed": [], "accuracy": []}
    for n in budgets:
        for seed in seeds:
            rng = np.random.default_rng(seed)
            picks = []
            for c in sorted(set(train_labels.tolist())):
                members = np.flatnonzero(train_labels == c)
                if len(members) < n:
                    raise ValueError(f"class {c} has only {len(members)} examples")
                picks.append(rng.permutation(members)[:n])
            idx = np.sort(np.concatenate(picks))
            probe = fit_linear_probe(train_features[idx], train_labels[idx])
            columns["labels_per_class"].append(n)
            columns["seed"].append(seed)
            columns["accuracy"].append(float(probe.score(test_features, test_labels)))
    return pd.DataFrame(columns)
'''),
]

# --------------------------------------------------------------------------------------
# Keras track
# --------------------------------------------------------------------------------------

_K_LAYER_INIT = '''
class AdaptiveLayer(keras.layers.Layer):
    def __init__(self, units, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation_name = units, activation
        self.activation = keras.activations.get(activation)
'''
_K_LAYER_CONFIG = '''
    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation_name}
'''


def _k_layer(kernel_init: str = '"glorot_uniform"', bias_init: str = '"zeros"',
             call: str = "self.activation(keras.ops.matmul(inputs, self.kernel) + self.bias)",
             config: str = _K_LAYER_CONFIG) -> str:
    return _K_LAYER_INIT + f'''
    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer={kernel_init}, name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer={bias_init}, name="bias")

    def call(self, inputs):
        return {call}
''' + config


KERAS = [
    # Exercise 1
    Wrong("extract-features", "features computed in training mode (BatchNorm statistics drift)", '''
def extract_features(backbone, images, batch_size=64):
    return np.concatenate([np.asarray(backbone(images[i:i + batch_size], training=True))
                           for i in range(0, len(images), batch_size)])
''', "§5.15", central=True),
    Wrong("extract-features", "drops the last, partial batch", '''
def extract_features(backbone, images, batch_size=64):
    stop = len(images) - len(images) % batch_size if len(images) > batch_size else len(images)
    return np.concatenate([np.asarray(backbone(images[i:i + batch_size], training=False))
                           for i in range(0, stop, batch_size)])
''', central=True),
    Wrong("extract-features", "ignores batch_size: all images in one batch", '''
def extract_features(backbone, images, batch_size=64):
    return np.asarray(backbone(images, training=False))
''', "§4 ignored arguments", central=True),
    Wrong("extract-features", "predict() with its own default batch size", '''
def extract_features(backbone, images, batch_size=64):
    return backbone.predict(images, verbose=0)
''', "§4 ignored arguments", central=True),
    Wrong("extract-features", "freezes the caller's backbone (trainable = False) and leaves it so", '''
def extract_features(backbone, images, batch_size=64):
    backbone.trainable = False  # frozen BatchNorm runs in inference mode
    return np.concatenate([np.asarray(backbone(images[i:i + batch_size]))
                           for i in range(0, len(images), batch_size)])
''', "§4 side effects on the caller's model", central=True),
    Wrong("extract-features", "returns a TensorFlow tensor", '''
def extract_features(backbone, images, batch_size=64):
    import tensorflow as tf
    return tf.concat([backbone(images[i:i + batch_size], training=False)
                      for i in range(0, len(images), batch_size)], axis=0)
''', "§4 wrong kind of output", central=True),
    Wrong("extract-features", "hard-codes 128 features", '''
def extract_features(backbone, images, batch_size=64):
    out = np.zeros((len(images), 128), dtype="float32")
    for i in range(0, len(images), batch_size):
        out[i:i + batch_size] = np.asarray(backbone(images[i:i + batch_size], training=False))
    return out
''', "§4 hard-coded sizes", central=True),
    # Exercise 2
    Wrong("adaptive-layer", "random-normal initialisation instead of Glorot-uniform",
          _k_layer(kernel_init='"random_normal"'), central=True),
    Wrong("adaptive-layer", "He-uniform initialisation instead of Glorot-uniform",
          _k_layer(kernel_init='"he_uniform"'), central=True),
    Wrong("adaptive-layer", "bias initialised to ones", _k_layer(bias_init='"ones"'), central=True),
    Wrong("adaptive-layer", "activation applied before the bias",
          _k_layer(call="self.activation(keras.ops.matmul(inputs, self.kernel)) + self.bias"), central=True),
    Wrong("adaptive-layer", "get_config forgets the activation (lost in a config round trip)",
          _k_layer(config='''
    def get_config(self):
        return {**super().get_config(), "units": self.units}
'''), "§4 state lost in a config round trip", central=True),
    Wrong("adaptive-layer", "Glorot-uniform with a fixed seed: every layer starts from the same kernel",
          _k_layer(kernel_init="keras.initializers.GlorotUniform(seed=0)"), "§4 randomness fixed inside the answer"),
    Wrong("adaptive-layer", "flattens the inputs to 2-D first: extra leading axes are lost",
          _k_layer(call="self.activation(keras.ops.matmul(keras.ops.reshape(inputs, (-1, self.kernel.shape[0])), "
                        "self.kernel) + self.bias)"),
          "§4 code that only works on the test's own toy inputs"),
    # Exercise 3
    Wrong("transfer-classifier", "keras.io recipe: training=False in the functional graph, overridden by fit() in Keras 3", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    hidden = AdaptiveLayer(hidden_units)(backbone(inputs, training=False))
    return keras.Model(inputs, keras.layers.Dense(num_classes)(hidden))
''', "§5.15", central=True),
    Wrong("transfer-classifier", "backbone left trainable", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    inputs = keras.Input(shape=backbone.input_shape[1:])
    hidden = AdaptiveLayer(hidden_units)(tlk.layers.InferenceMode(backbone)(inputs))
    return keras.Model(inputs, keras.layers.Dense(num_classes)(hidden))
''', central=True),
    Wrong("transfer-classifier", "softmax output: probabilities instead of logits", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    hidden = AdaptiveLayer(hidden_units)(tlk.layers.InferenceMode(backbone)(inputs))
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(hidden))
''', "§4 wrong kind of output", central=True),
    Wrong("transfer-classifier", "sigmoid output", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    hidden = AdaptiveLayer(hidden_units)(tlk.layers.InferenceMode(backbone)(inputs))
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="sigmoid")(hidden))
''', "§4 wrong kind of output", central=True),
    Wrong("transfer-classifier", "backbone wrapped in a Lambda: its weights are not tracked", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    features = keras.layers.Lambda(lambda x: backbone(x, training=False))(inputs)
    hidden = AdaptiveLayer(hidden_units)(features)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(hidden))
''', "§4 state lost in a save round trip", central=True),
    Wrong("transfer-classifier", "hard-codes ten classes", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    hidden = AdaptiveLayer(hidden_units)(tlk.layers.InferenceMode(backbone)(inputs))
    return keras.Model(inputs, keras.layers.Dense(10)(hidden))
''', "§4 hard-coded class count", central=True),
    Wrong("transfer-classifier", "ignores hidden_units", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    hidden = AdaptiveLayer(64)(tlk.layers.InferenceMode(backbone)(inputs))
    return keras.Model(inputs, keras.layers.Dense(num_classes)(hidden))
''', "§4 ignored arguments"),
    *PROBE_RUNS,
]

KERAS_ACCEPTED = [
    Unusual("extract-features", "predict() with the batch size asked for", '''
def extract_features(backbone, images, batch_size=64):
    return backbone.predict(images, batch_size=batch_size, verbose=0)
'''),
    Unusual("extract-features", "a plain call, which runs in inference mode outside fit", '''
def extract_features(backbone, images, batch_size=64):
    chunks = []
    for start in range(0, len(images), batch_size):
        chunks.append(keras.ops.convert_to_numpy(backbone(images[start:start + batch_size])))
    return np.vstack(chunks)
'''),
    Unusual("adaptive-layer", "initializer objects, einsum over the last axis, activation resolved in call", '''
class AdaptiveLayer(keras.layers.Layer):
    def __init__(self, units, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = activation

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(int(input_shape[-1]), self.units),
                                      initializer=keras.initializers.GlorotUniform())
        self.bias = self.add_weight(shape=(self.units,), initializer=keras.initializers.Zeros())

    def call(self, inputs):
        return keras.activations.get(self.activation)(keras.ops.einsum("...i,ij->...j", inputs, self.kernel) + self.bias)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, activation=self.activation)
        return config
'''),
    Unusual("transfer-classifier", "a subclassed model calling the backbone with training=False", '''
class TransferClassifier(keras.Model):
    def __init__(self, backbone, num_classes, hidden_units):
        super().__init__()
        self.backbone = backbone
        self.hidden = AdaptiveLayer(hidden_units)
        self.out = keras.layers.Dense(num_classes)

    def call(self, x):
        return self.out(self.hidden(self.backbone(x, training=False)))


def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    backbone.trainable = False
    model = TransferClassifier(backbone, num_classes, hidden_units)
    model(np.zeros((1, *backbone.input_shape[1:]), "float32"))  # build the weights
    return model
'''),
    Unusual("transfer-classifier", "Sequential with a Keras-2-style input_shape (Keras prints a harmless warning)", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    tlk.freeze(backbone)
    return keras.Sequential([tlk.layers.InferenceMode(backbone, input_shape=backbone.input_shape[1:]),
                             AdaptiveLayer(hidden_units), keras.layers.Dense(num_classes)])
'''),
    *PROBE_RUNS_ACCEPTED,
]

# --------------------------------------------------------------------------------------
# PyTorch track
# --------------------------------------------------------------------------------------

_T_NCHW = "torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32))"


def _t_layer(kernel: str = "nn.init.xavier_uniform_(torch.empty(in_features, units))",
             bias: str = "torch.zeros(units)", forward: str = "self.activation(x @ self.kernel + self.bias)",
             extra: str = "", activation: str = 'nn.ReLU() if activation == "relu" else nn.Identity()') -> str:
    return f'''
class AdaptiveLayer(nn.Module):
    def __init__(self, in_features, units, activation="relu"):
        super().__init__(){extra}
        self.kernel = nn.Parameter({kernel})
        self.bias = nn.Parameter({bias})
        self.activation = {activation}

    def forward(self, x):
        return {forward}
'''


TORCH = [
    # Exercise 1
    Wrong("extract-features", "features computed in train mode (BatchNorm statistics drift)", f'''
def extract_features(backbone, images, batch_size=64):
    x = {_T_NCHW}
    with torch.no_grad():
        return np.concatenate([backbone(x[i:i + batch_size]).numpy() for i in range(0, len(x), batch_size)])
''', "§5.16", central=True),
    Wrong("extract-features", "drops the last, partial batch", f'''
def extract_features(backbone, images, batch_size=64):
    backbone.eval()
    x = {_T_NCHW}
    stop = len(x) - len(x) % batch_size if len(x) > batch_size else len(x)
    with torch.no_grad():
        out = np.concatenate([backbone(x[i:i + batch_size]).numpy() for i in range(0, stop, batch_size)])
    backbone.train()
    return out
''', central=True),
    Wrong("extract-features", "leaves the caller's backbone in eval mode", f'''
def extract_features(backbone, images, batch_size=64):
    backbone.eval()
    x = {_T_NCHW}
    with torch.no_grad():
        return np.concatenate([backbone(x[i:i + batch_size]).numpy() for i in range(0, len(x), batch_size)])
''', "§4 side effects on the caller's model", central=True),
    Wrong("extract-features", "ignores batch_size: all images in one batch", f'''
def extract_features(backbone, images, batch_size=64):
    mode = backbone.training
    backbone.eval()
    with torch.no_grad():
        out = backbone({_T_NCHW}).numpy()
    backbone.train(mode)
    return out
''', "§4 ignored arguments", central=True),
    Wrong("extract-features", "reshape instead of transpose: pixels scrambled into channels", '''
def extract_features(backbone, images, batch_size=64):
    mode = backbone.training
    backbone.eval()
    n, h, w, c = images.shape
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32).reshape(n, c, h, w))
    with torch.no_grad():
        out = np.concatenate([backbone(x[i:i + batch_size]).numpy() for i in range(0, n, batch_size)])
    backbone.train(mode)
    return out
''', central=True),
    Wrong("extract-features", "returns a torch tensor", f'''
def extract_features(backbone, images, batch_size=64):
    mode = backbone.training
    backbone.eval()
    x = {_T_NCHW}
    with torch.no_grad():
        out = torch.cat([backbone(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
    backbone.train(mode)
    return out
''', "§4 wrong kind of output", central=True),
    Wrong("extract-features", "hard-codes 128 features", f'''
def extract_features(backbone, images, batch_size=64):
    mode = backbone.training
    backbone.eval()
    x = {_T_NCHW}
    out = np.zeros((len(x), 128), dtype=np.float32)
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out[i:i + batch_size] = backbone(x[i:i + batch_size]).numpy()
    backbone.train(mode)
    return out
''', "§4 hard-coded sizes", central=True),
    # Exercise 2
    Wrong("adaptive-layer", "standard-normal initialisation instead of Glorot-uniform",
          _t_layer(kernel="torch.randn(in_features, units)"), central=True),
    Wrong("adaptive-layer", "Kaiming-uniform initialisation instead of Glorot-uniform",
          _t_layer(kernel='nn.init.kaiming_uniform_(torch.empty(in_features, units), nonlinearity="relu")'), central=True),
    Wrong("adaptive-layer", "bias initialised to ones", _t_layer(bias="torch.ones(units)"), central=True),
    Wrong("adaptive-layer", "activation applied before the bias",
          _t_layer(forward="self.activation(x @ self.kernel) + self.bias"), central=True),
    Wrong("adaptive-layer", "ReLU whatever the activation argument says",
          _t_layer(activation="nn.ReLU()"), "§4 ignored arguments", central=True),
    Wrong("adaptive-layer", "plain tensors: kernel and bias are not registered parameters", '''
class AdaptiveLayer(nn.Module):
    def __init__(self, in_features, units, activation="relu"):
        super().__init__()
        self.kernel = nn.init.xavier_uniform_(torch.empty(in_features, units)).requires_grad_()
        self.bias = torch.zeros(units, requires_grad=True)
        self.activation = nn.ReLU() if activation == "relu" else nn.Identity()

    def forward(self, x):
        return self.activation(x @ self.kernel + self.bias)
''', "§4 state lost in a save round trip", central=True),
    Wrong("adaptive-layer", "seeds the generator inside the layer: every layer starts from the same kernel",
          _t_layer(extra="\n        torch.manual_seed(0)"), "§4 randomness fixed inside the answer"),
    Wrong("adaptive-layer", "torch.mm: works on 2-D inputs only", _t_layer(forward="self.activation(torch.mm(x, self.kernel) + self.bias)"),
          "§4 code that only works on the test's own toy inputs"),
    # Exercise 3
    Wrong("transfer-classifier", "frozen backbone put back in train mode by model.train()", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    backbone.requires_grad_(False).eval()
    return nn.Sequential(backbone, AdaptiveLayer(backbone.out_features, hidden_units),
                         nn.Linear(hidden_units, num_classes))
''', "§5.16", central=True),
    Wrong("transfer-classifier", "backbone left trainable", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    return nn.Sequential(tlt.layers.InferenceMode(backbone), AdaptiveLayer(backbone.out_features, hidden_units),
                         nn.Linear(hidden_units, num_classes))
''', central=True),
    Wrong("transfer-classifier", "softmax output: probabilities instead of logits", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    tlt.freeze(backbone)
    return nn.Sequential(backbone, AdaptiveLayer(backbone.out_features, hidden_units),
                         nn.Linear(hidden_units, num_classes), nn.Softmax(dim=1))
''', "§4 wrong kind of output", central=True),
    Wrong("transfer-classifier", "ReLU after the output layer", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    tlt.freeze(backbone)
    return nn.Sequential(backbone, AdaptiveLayer(backbone.out_features, hidden_units),
                         nn.Linear(hidden_units, num_classes), nn.ReLU())
''', "§4 wrong kind of output", central=True),
    Wrong("transfer-classifier", "backbone kept in a plain list, hidden from .train() and from the state_dict", '''
class _Head(nn.Module):
    def __init__(self, backbone, num_classes, hidden_units):
        super().__init__()
        self.parts = [backbone.requires_grad_(False).eval()]
        self.hidden = AdaptiveLayer(backbone.out_features, hidden_units)
        self.out = nn.Linear(hidden_units, num_classes)

    def forward(self, x):
        return self.out(self.hidden(self.parts[0](x)))


def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    return _Head(backbone, num_classes, hidden_units)
''', "§4 state lost in a save round trip", central=True),
    Wrong("transfer-classifier", "hard-codes ten classes", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    tlt.freeze(backbone)
    return nn.Sequential(backbone, AdaptiveLayer(backbone.out_features, hidden_units), nn.Linear(hidden_units, 10))
''', "§4 hard-coded class count", central=True),
    Wrong("transfer-classifier", "hard-codes course_cnn's 128 features", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    tlt.freeze(backbone)
    return nn.Sequential(backbone, AdaptiveLayer(128, hidden_units), nn.Linear(hidden_units, num_classes))
''', "§4 code that only works on the test's own model"),
    *PROBE_RUNS,
]

TORCH_ACCEPTED = [
    Unusual("extract-features", "inference_mode, per-batch conversion, torch.tensor on a tensor (PyTorch prints a harmless warning)", '''
def extract_features(backbone, images, batch_size=64):
    mode = backbone.training
    backbone.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            chunk = torch.from_numpy(np.asarray(images[start:start + batch_size], dtype=np.float32))
            chunk = torch.tensor(chunk.permute(0, 3, 1, 2))  # a copy; PyTorch suggests clone() instead
            out.append(backbone(chunk).cpu().numpy())
    backbone.train(mode)
    return np.vstack(out)
'''),
    Unusual("adaptive-layer", "manual Glorot bound, F.linear, an activation table", '''
import math

class AdaptiveLayer(nn.Module):
    def __init__(self, in_features, units, activation="relu"):
        super().__init__()
        limit = math.sqrt(6.0 / (in_features + units))
        self.kernel = nn.Parameter(torch.rand(in_features, units) * 2 * limit - limit)
        self.register_parameter("bias", nn.Parameter(torch.zeros(units)))
        self.act = {"relu": torch.relu, "linear": lambda t: t}[activation]

    def forward(self, x):
        return self.act(F.linear(x, self.kernel.t(), self.bias))
'''),
    Unusual("transfer-classifier", "the course's freeze helper (eval mode that survives model.train()) in a Sequential", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    tlt.freeze(backbone)
    return nn.Sequential(backbone, AdaptiveLayer(backbone.out_features, hidden_units),
                         nn.Linear(hidden_units, num_classes))
'''),
    Unusual("transfer-classifier", "a forward pre-hook that puts the backbone back in eval mode", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    for p in backbone.parameters():
        p.requires_grad = False
    backbone.register_forward_pre_hook(lambda module, args: module.eval() and None)
    return nn.Sequential(backbone, AdaptiveLayer(backbone.out_features, hidden_units),
                         nn.Linear(hidden_units, num_classes))
'''),
    *PROBE_RUNS_ACCEPTED,
]

VARIANTS = {"keras": KERAS, "torch": TORCH}
ACCEPTED = {"keras": KERAS_ACCEPTED, "torch": TORCH_ACCEPTED}
