"""Lesson 01: wrong feature extraction, initialisation, transfer heads and learning-curve runs."""

from . import Wrong

PROBE_RUNS = [
    Wrong("probe-runs", "scores the probe on its own training examples", '''
def linear_probe_runs(train_features, train_labels, test_features, test_labels, budgets, seeds):
    rows = []
    for n in budgets:
        for seed in seeds:
            rng = np.random.default_rng(seed)
            idx = np.concatenate([rng.choice(np.flatnonzero(train_labels == c), n, replace=False)
                                  for c in np.unique(train_labels)])
            acc = linear_probe_accuracy(train_features[idx], train_labels[idx], train_features[idx], train_labels[idx])
            rows.append({"labels_per_class": n, "seed": seed, "accuracy": acc})
    return pd.DataFrame(rows)
'''),
    Wrong("probe-runs", "ignores the seed: every run draws the same examples", '''
def linear_probe_runs(train_features, train_labels, test_features, test_labels, budgets, seeds):
    rows = []
    for n in budgets:
        for seed in seeds:
            rng = np.random.default_rng(0)
            idx = np.concatenate([rng.choice(np.flatnonzero(train_labels == c), n, replace=False)
                                  for c in np.unique(train_labels)])
            acc = linear_probe_accuracy(train_features[idx], train_labels[idx], test_features, test_labels)
            rows.append({"labels_per_class": n, "seed": seed, "accuracy": acc})
    return pd.DataFrame(rows)
'''),
    Wrong("probe-runs", "draws n examples in total instead of n per class", '''
def linear_probe_runs(train_features, train_labels, test_features, test_labels, budgets, seeds):
    rows = []
    for n in budgets:
        for seed in seeds:
            idx = np.random.default_rng(seed).choice(len(train_labels), n, replace=False)
            acc = linear_probe_accuracy(train_features[idx], train_labels[idx], test_features, test_labels)
            rows.append({"labels_per_class": n, "seed": seed, "accuracy": acc})
    return pd.DataFrame(rows)
'''),
]

KERAS = [
    Wrong("extract-features", "features computed in training mode (BatchNorm statistics drift)", '''
def extract_features(backbone, images, batch_size=64):
    return np.concatenate([np.asarray(backbone(images[i:i + batch_size], training=True))
                           for i in range(0, len(images), batch_size)])
''', "§5.15"),
    Wrong("extract-features", "drops the last, partial batch", '''
def extract_features(backbone, images, batch_size=64):
    stop = len(images) - len(images) % batch_size if len(images) > batch_size else len(images)
    return np.concatenate([np.asarray(backbone(images[i:i + batch_size], training=False))
                           for i in range(0, stop, batch_size)])
'''),
    Wrong("adaptive-layer", "random-normal initialisation instead of Glorot-uniform", '''
class AdaptiveLayer(keras.layers.Layer):
    def __init__(self, units, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation_name = units, activation
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs):
        return self.activation(keras.ops.matmul(inputs, self.kernel) + self.bias)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation_name}
'''),
    Wrong("adaptive-layer", "He-uniform initialisation instead of Glorot-uniform", '''
class AdaptiveLayer(keras.layers.Layer):
    def __init__(self, units, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation_name = units, activation
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="he_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs):
        return self.activation(keras.ops.matmul(inputs, self.kernel) + self.bias)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation_name}
'''),
    Wrong("adaptive-layer", "bias initialised to ones", '''
class AdaptiveLayer(keras.layers.Layer):
    def __init__(self, units, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation_name = units, activation
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="ones", name="bias")

    def call(self, inputs):
        return self.activation(keras.ops.matmul(inputs, self.kernel) + self.bias)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation_name}
'''),
    Wrong("transfer-classifier", "keras.io recipe: training=False in the functional graph, overridden by fit() in Keras 3", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    hidden = AdaptiveLayer(hidden_units)(backbone(inputs, training=False))
    return keras.Model(inputs, keras.layers.Dense(num_classes)(hidden))
''', "§5.15"),
    Wrong("transfer-classifier", "backbone left trainable", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    inputs = keras.Input(shape=backbone.input_shape[1:])
    hidden = AdaptiveLayer(hidden_units)(tlk.layers.InferenceMode(backbone)(inputs))
    return keras.Model(inputs, keras.layers.Dense(num_classes)(hidden))
'''),
    *PROBE_RUNS,
]

TORCH = [
    Wrong("extract-features", "features computed in train mode (BatchNorm statistics drift)", '''
def extract_features(backbone, images, batch_size=64):
    x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32))
    with torch.no_grad():
        return np.concatenate([backbone(x[i:i + batch_size]).numpy() for i in range(0, len(x), batch_size)])
''', "§5.16"),
    Wrong("extract-features", "drops the last, partial batch", '''
def extract_features(backbone, images, batch_size=64):
    backbone.eval()
    x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32))
    stop = len(x) - len(x) % batch_size if len(x) > batch_size else len(x)
    with torch.no_grad():
        return np.concatenate([backbone(x[i:i + batch_size]).numpy() for i in range(0, stop, batch_size)])
'''),
    Wrong("adaptive-layer", "standard-normal initialisation instead of Glorot-uniform", '''
class AdaptiveLayer(nn.Module):
    def __init__(self, in_features, units, activation="relu"):
        super().__init__()
        self.kernel = nn.Parameter(torch.randn(in_features, units))
        self.bias = nn.Parameter(torch.zeros(units))
        self.activation = nn.ReLU() if activation == "relu" else nn.Identity()

    def forward(self, x):
        return self.activation(x @ self.kernel + self.bias)
'''),
    Wrong("adaptive-layer", "Kaiming-uniform initialisation instead of Glorot-uniform", '''
class AdaptiveLayer(nn.Module):
    def __init__(self, in_features, units, activation="relu"):
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(in_features, units))
        nn.init.kaiming_uniform_(self.kernel, nonlinearity="relu")
        self.bias = nn.Parameter(torch.zeros(units))
        self.activation = nn.ReLU() if activation == "relu" else nn.Identity()

    def forward(self, x):
        return self.activation(x @ self.kernel + self.bias)
'''),
    Wrong("adaptive-layer", "bias initialised to ones", '''
class AdaptiveLayer(nn.Module):
    def __init__(self, in_features, units, activation="relu"):
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(in_features, units))
        nn.init.xavier_uniform_(self.kernel)
        self.bias = nn.Parameter(torch.ones(units))
        self.activation = nn.ReLU() if activation == "relu" else nn.Identity()

    def forward(self, x):
        return self.activation(x @ self.kernel + self.bias)
'''),
    Wrong("transfer-classifier", "frozen backbone put back in train mode by model.train()", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    backbone.requires_grad_(False).eval()
    return nn.Sequential(backbone, AdaptiveLayer(backbone.out_features, hidden_units),
                         nn.Linear(hidden_units, num_classes))
''', "§5.16"),
    Wrong("transfer-classifier", "backbone left trainable", '''
def build_transfer_classifier(backbone, num_classes, hidden_units=64):
    return nn.Sequential(tlt.layers.InferenceMode(backbone), AdaptiveLayer(backbone.out_features, hidden_units),
                         nn.Linear(hidden_units, num_classes))
'''),
    *PROBE_RUNS,
]

VARIANTS = {"keras": KERAS, "torch": TORCH}
