"""Lesson 00: wrong ways to count, freeze and build a classifier on a frozen backbone, and
correct answers written in unusual ways.

The exercises (same in both tracks): ``count_parameters(model)`` returns trainable, frozen and
statistics counts; ``freeze(model, up_to)`` freezes the layers (children) up to and including
``up_to`` — weights and BatchNorm statistics, surviving the framework's training signal — and
lets the later ones train, moving the boundary on a second call; ``build_classifier(backbone,
num_classes)`` puts a Dense/Linear logits head on the frozen backbone that keeps BatchNorm in
inference mode even after the backbone is unfrozen for fine-tuning.
"""

from . import Unusual, Wrong

# ------------------------------------------------------------------------------------ Keras
KERAS = [
    # --- count_parameters
    Wrong("count-parameters", "counts BatchNorm moving statistics as frozen parameters (Keras summary convention)", '''
def count_parameters(model):
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    frozen = sum(int(np.prod(v.shape)) for v in model.non_trainable_weights)
    statistics = sum(int(np.prod(v.shape)) for v in model.non_trainable_weights if "moving" in v.path)
    return {"trainable": trainable, "frozen": frozen, "statistics": statistics}
''', central=True),
    Wrong("count-parameters", "counts weight tensors instead of scalar parameters", '''
def count_parameters(model):
    statistics = [v for v in model.weights if "moving" in v.path]
    return {"trainable": len(model.trainable_weights),
            "frozen": len(model.non_trainable_weights) - len(statistics),
            "statistics": len(statistics)}
''', central=True),
    Wrong("count-parameters", "looks only at the top-level layers' own weights, missing nested models", '''
def count_parameters(model):
    counts = {"trainable": 0, "frozen": 0, "statistics": 0}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            continue
        for v in layer.weights:
            kind = "statistics" if "moving" in v.path else "trainable" if v.trainable and layer.trainable else "frozen"
            counts[kind] += int(np.prod(v.shape))
    return counts
''', central=True),
    Wrong("count-parameters", "every non-trainable weight of a BatchNorm layer taken for a statistic (a frozen gamma/beta too)", '''
def count_parameters(model):
    size = lambda variables: sum(int(np.prod(v.shape)) for v in variables)
    statistics = sum(size(layer.non_trainable_weights) for layer in tlk.walk_layers(model)
                     if isinstance(layer, keras.layers.BatchNormalization))
    return {"trainable": size(model.trainable_weights),
            "frozen": size(model.non_trainable_weights) - statistics, "statistics": statistics}
''', central=True),
    Wrong("count-parameters", "statistics as twice each BatchNorm's gamma (assumes every BatchNorm has a scale)", '''
def count_parameters(model):
    size = lambda variables: sum(int(np.prod(v.shape)) for v in variables)
    statistics = sum(2 * int(np.prod(layer.gamma.shape)) for layer in tlk.walk_layers(model)
                     if isinstance(layer, keras.layers.BatchNormalization))
    return {"trainable": size(model.trainable_weights),
            "frozen": size(model.non_trainable_weights) - statistics, "statistics": statistics}
''', "§4 only works on the test's own toy model"),
    Wrong("count-parameters", "decides trainable/frozen by each top-level layer's flag, missing a layer frozen inside a block", '''
def count_parameters(model):
    counts = {"trainable": 0, "frozen": 0, "statistics": 0}
    for layer in model.layers:
        for v in layer.weights:
            kind = "statistics" if "moving" in v.path else "trainable" if layer.trainable else "frozen"
            counts[kind] += int(np.prod(v.shape))
    return counts
''', "§4 only works on the test's own toy model"),
    Wrong("count-parameters", "unfreezes the whole model to count it, leaving frozen layers unfrozen", '''
def count_parameters(model):
    size = lambda variables: sum(int(np.prod(v.shape)) for v in variables)
    statistics = size(v for v in model.weights if "moving" in v.path)
    trainable = size(model.trainable_weights)
    was = model.trainable
    model.trainable = True  # to see every weight as trainable ...
    total = size(model.trainable_weights)
    model.trainable = was   # ... "restored": but layers frozen one by one are now unfrozen
    return {"trainable": trainable, "frozen": total - trainable, "statistics": statistics}
''', "§4 side effect on the caller's model"),
    # --- freeze
    Wrong("freeze", "freezes only layers with a kernel; BatchNorm keeps training and updating statistics", '''
def freeze(model, up_to):
    names = [layer.name for layer in model.layers]
    if up_to not in names:
        raise ValueError(up_to)
    boundary = names.index(up_to)
    model.trainable = True
    for i, layer in enumerate(model.layers):
        for sub in tlk.walk_layers(layer):
            if hasattr(sub, "kernel"):
                sub.trainable = i > boundary
    return model
''', "§5.15", central=True),
    Wrong("freeze", "forgets to return the model", '''
def freeze(model, up_to):
    names = [layer.name for layer in model.layers]
    if up_to not in names:
        raise ValueError(up_to)
    model.trainable = True
    for i, layer in enumerate(model.layers):
        layer.trainable = i > names.index(up_to)
''', central=True),
    Wrong("freeze", "marks the variables untrainable instead of the layers: BatchNorm still runs in training mode", '''
def freeze(model, up_to):
    names = [layer.name for layer in model.layers]
    if up_to not in names:
        raise ValueError(up_to)
    boundary = names.index(up_to)
    for i, layer in enumerate(model.layers):
        for v in layer.weights:
            if "moving" not in v.path:
                v.trainable = i > boundary
    return model
''', "§5.15", central=True),
    Wrong("freeze", "off by one: leaves the layer named up_to trainable", '''
def freeze(model, up_to):
    names = [layer.name for layer in model.layers]
    if up_to not in names:
        raise ValueError(up_to)
    model.trainable = True
    for i, layer in enumerate(model.layers):
        layer.trainable = i >= names.index(up_to)
    return model
''', central=True),
    Wrong("freeze", "ignores up_to: freezes the whole model (the old one-liner)", '''
def freeze(model, up_to):
    model.trainable = False
    return model
''', "§4 ignored argument", central=True),
    Wrong("freeze", "never unfreezes: a second call cannot move the boundary back", '''
def freeze(model, up_to):
    names = [layer.name for layer in model.layers]
    if up_to not in names:
        raise ValueError(up_to)
    for layer in model.layers[:names.index(up_to) + 1]:
        layer.trainable = False
    return model
''', central=True),
    Wrong("freeze", "freezes the whole model, then unfreezes the later layers: the model's own flag still hides them", '''
def freeze(model, up_to):
    names = [layer.name for layer in model.layers]
    if up_to not in names:
        raise ValueError(up_to)
    model.trainable = False
    for layer in model.layers[names.index(up_to) + 1:]:
        layer.trainable = True
    return model
''', central=True),
    Wrong("freeze", "no ValueError: an unknown name silently freezes nothing", '''
def freeze(model, up_to):
    names = [layer.name for layer in model.layers]
    boundary = names.index(up_to) if up_to in names else -1
    model.trainable = True
    for i, layer in enumerate(model.layers):
        layer.trainable = i > boundary
    return model
'''),
    Wrong("freeze", "reads the boundary from the name's last digit (works only for block1, block2, ...)", '''
def freeze(model, up_to):
    boundary = int(up_to[-1])
    model.trainable = True
    for i, layer in enumerate(model.layers):
        layer.trainable = i >= boundary
    return model
''', "§4 hard-coded to the test's own toy model"),
    Wrong("freeze", "sets each layer's flag but not the model's: a model frozen as a whole stays frozen", '''
def freeze(model, up_to):
    names = [layer.name for layer in model.layers]
    if up_to not in names:
        raise ValueError(up_to)
    for i, layer in enumerate(model.layers):
        layer.trainable = i > names.index(up_to)
    return model
'''),
    # --- build_classifier
    Wrong("build-classifier", "keras.io recipe: training=False in the functional graph, overridden by fit() in Keras 3", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    features = backbone(inputs, training=False)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(features))
''', "§5.15", central=True),
    Wrong("build-classifier", "backbone left trainable", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    inputs = keras.Input(shape=backbone.input_shape[1:])
    return keras.Model(inputs, keras.layers.Dense(num_classes)(tlk.layers.InferenceMode(backbone)(inputs)))
''', central=True),
    Wrong("build-classifier", "softmax head: probabilities instead of logits", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    features = tlk.layers.InferenceMode(backbone)(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(features))
''', "§4 wrong kind of output", central=True),
    Wrong("build-classifier", "sigmoid head", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    features = tlk.layers.InferenceMode(backbone)(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="sigmoid")(features))
''', "§4 wrong kind of output", central=True),
    Wrong("build-classifier", "ReLU head: negative scores cut off", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    features = tlk.layers.InferenceMode(backbone)(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="relu")(features))
''', "§4 wrong kind of output", central=True),
    Wrong("build-classifier", "refuses two classes", '''
def build_classifier(backbone, num_classes):
    if num_classes <= 2:
        raise ValueError("num_classes must be larger than 2")
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    features = tlk.layers.InferenceMode(backbone)(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(features))
''', "§4 hard-coded class count", central=True),
    Wrong("build-classifier", "clones the backbone 'to avoid side effects': fresh random weights, caller's backbone untouched", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    copy = keras.models.clone_model(backbone)
    copy.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    return keras.Model(inputs, keras.layers.Dense(num_classes)(tlk.layers.InferenceMode(copy)(inputs)))
''', central=True),
    Wrong("build-classifier", "stops the gradient at the features: the backbone can never be fine-tuned", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    features = keras.ops.stop_gradient(tlk.layers.InferenceMode(backbone)(inputs))
    return keras.Model(inputs, keras.layers.Dense(num_classes)(features))
''', central=True),
    Wrong("build-classifier", "input shape hard-coded to the lesson's 8x8x1 digits", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    backbone.trainable = False
    inputs = keras.Input(shape=(8, 8, 1))
    features = tlk.layers.InferenceMode(backbone)(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(features))
''', "§4 hard-coded sizes"),
    Wrong("build-classifier", "fixes the random seed inside: every head starts the same", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    keras.utils.set_random_seed(0)
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    features = tlk.layers.InferenceMode(backbone)(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(features))
''', "§4 randomness fixed inside the answer"),
    Wrong("build-classifier", "no check of num_classes", '''
def build_classifier(backbone, num_classes):
    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    features = tlk.layers.InferenceMode(backbone)(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(features))
'''),
]

KERAS_ACCEPTED = [
    Unusual("count-parameters", "loops over variables' NumPy sizes and takes frozen from model.count_params()", '''
def count_parameters(model):
    statistics = 0
    for layer in tlk.walk_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            statistics += layer.moving_mean.numpy().size + layer.moving_variance.numpy().size
    trainable = 0
    for v in model.trainable_variables:
        trainable += v.numpy().size
    return {"trainable": trainable, "frozen": model.count_params() - trainable - statistics,
            "statistics": statistics}
'''),
    Unusual("count-parameters", "the course helper tlk.count_parameters, renamed", '''
def count_parameters(model):
    counts = tlk.count_parameters(model)
    return {"trainable": counts.trainable, "frozen": counts.frozen, "statistics": counts.state}
'''),
    Unusual("freeze", "a flag loop, and Keras's own get_layer ValueError for an unknown name", '''
def freeze(model, up_to):
    model.get_layer(up_to)  # raises ValueError: No such layer
    model.trainable = True
    frozen = True
    for layer in model.layers:
        layer.trainable = not frozen
        if layer.name == up_to:
            frozen = False
    return model
'''),
    Unusual("freeze", "the course helpers: tlk.unfreeze everything, then tlk.freeze the first layers", '''
def freeze(model, up_to):
    names = [layer.name for layer in model.layers]
    if up_to not in names:
        raise ValueError(f"no layer named {up_to!r}")
    tlk.unfreeze(model, bn_trainable=True)
    for layer in model.layers[:names.index(up_to) + 1]:
        tlk.freeze(layer)
    return model
'''),
    Unusual("build-classifier", "Keras-2-style input_shape= on the first layer of a Sequential (harmless UserWarning)", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")

    class Frozen(keras.layers.Layer):
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def call(self, inputs, training=None):
            return self.inner(inputs, training=False)

    backbone.trainable = False
    return keras.Sequential([Frozen(backbone, input_shape=backbone.input_shape[1:]),
                             keras.layers.Dense(num_classes)])
'''),
    Unusual("build-classifier", "a subclassed keras.Model whose call passes training=False", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")

    class Classifier(keras.Model):
        def __init__(self):
            super().__init__()
            self.backbone = backbone
            self.head = keras.layers.Dense(num_classes)

        def call(self, x, training=None):
            return self.head(self.backbone(x, training=False))

    backbone.trainable = False
    return Classifier()
'''),
    Unusual("build-classifier", "the course helpers tlk.freeze and tlk.layers.InferenceMode", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    tlk.freeze(backbone)
    inputs = keras.Input(shape=backbone.input_shape[1:])
    return keras.Model(inputs, keras.layers.Dense(num_classes)(tlk.layers.InferenceMode(backbone)(inputs)))
'''),
]

# ------------------------------------------------------------------------------------ PyTorch
TORCH = [
    # --- count_parameters
    Wrong("count-parameters", "counts BatchNorm running statistics (buffers) as frozen parameters", '''
def count_parameters(model):
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    statistics = sum(b.numel() for name, b in model.named_buffers() if "running" in name)
    return {"trainable": trainable, "frozen": frozen + statistics, "statistics": statistics}
''', central=True),
    Wrong("count-parameters", "counts parameter tensors instead of scalar parameters", '''
def count_parameters(model):
    return {"trainable": sum(1 for p in model.parameters() if p.requires_grad),
            "frozen": sum(1 for p in model.parameters() if not p.requires_grad),
            "statistics": sum(1 for name, _ in model.named_buffers() if "running" in name)}
''', central=True),
    Wrong("count-parameters", "every buffer taken for a statistic, the integer batch counter too", '''
def count_parameters(model):
    return {"trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "frozen": sum(p.numel() for p in model.parameters() if not p.requires_grad),
            "statistics": sum(b.numel() for b in model.buffers())}
''', central=True),
    Wrong("count-parameters", "looks only at the top-level children's own parameters, missing nested modules", '''
def count_parameters(model):
    counts = {"trainable": 0, "frozen": 0, "statistics": 0}
    for child in model.children():
        for p in child.parameters(recurse=False):
            counts["trainable" if p.requires_grad else "frozen"] += p.numel()
        for name, b in child.named_buffers(recurse=False):
            if name.startswith("running"):
                counts["statistics"] += b.numel()
    return counts
''', central=True),
    Wrong("count-parameters", "statistics as twice each BatchNorm's weight (assumes every BatchNorm is affine)", '''
def count_parameters(model):
    return {"trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "frozen": sum(p.numel() for p in model.parameters() if not p.requires_grad),
            "statistics": sum(2 * m.weight.numel() for m in model.modules()
                              if isinstance(m, nn.modules.batchnorm._BatchNorm))}
''', "§4 only works on the test's own toy model"),
    Wrong("count-parameters", "decides trainable/frozen by each top-level child's first parameter", '''
def count_parameters(model):
    counts = {"trainable": 0, "frozen": 0, "statistics": 0}
    for child in model.children():
        params = list(child.parameters())
        kind = "trainable" if params and params[0].requires_grad else "frozen"
        counts[kind] += sum(p.numel() for p in params)
        counts["statistics"] += sum(b.numel() for n, b in child.named_buffers() if "running" in n)
    return counts
''', "§4 only works on the test's own toy model"),
    Wrong("count-parameters", "puts the model in eval mode to count it (side effect on the caller's model)", '''
def count_parameters(model):
    model.eval()
    return {"trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "frozen": sum(p.numel() for p in model.parameters() if not p.requires_grad),
            "statistics": sum(b.numel() for n, b in model.named_buffers() if "running" in n)}
''', "§4 side effect on the caller's model"),
    # --- freeze
    Wrong("freeze", "requires_grad off but left in train mode: BatchNorm statistics drift", '''
def freeze(model, up_to):
    names = [name for name, _ in model.named_children()]
    if up_to not in names:
        raise ValueError(up_to)
    for i, child in enumerate(model.children()):
        child.requires_grad_(i > names.index(up_to))
    return model
''', "§5.16", central=True),
    Wrong("freeze", "eval mode only: parameters still receive gradients", '''
def freeze(model, up_to):
    import types
    names = [name for name, _ in model.named_children()]
    if up_to not in names:
        raise ValueError(up_to)
    boundary = names.index(up_to)

    def train(self, mode=True):
        nn.Module.train(self, mode)
        for child in list(self.children())[:boundary + 1]:
            child.eval()
        return self

    model.train = types.MethodType(train, model)
    return model.train(model.training)
''', central=True),
    Wrong("freeze", "both switches, but eval() does not survive the training loop's model.train()", '''
def freeze(model, up_to):
    names = [name for name, _ in model.named_children()]
    if up_to not in names:
        raise ValueError(up_to)
    for i, child in enumerate(model.children()):
        child.requires_grad_(i > names.index(up_to))
        child.train(i > names.index(up_to))
    return model
''', "§5.16", central=True),
    Wrong("freeze", "off by one: leaves the child named up_to trainable", '''
def freeze(model, up_to):
    import types
    names = [name for name, _ in model.named_children()]
    if up_to not in names:
        raise ValueError(up_to)
    boundary = names.index(up_to) - 1
    for i, child in enumerate(model.children()):
        child.requires_grad_(i > boundary)

    def train(self, mode=True):
        nn.Module.train(self, mode)
        for child in list(self.children())[:boundary + 1]:
            child.eval()
        return self

    model.train = types.MethodType(train, model)
    return model.train(model.training)
''', central=True),
    Wrong("freeze", "ignores up_to: freezes the whole model", '''
def freeze(model, up_to):
    model.requires_grad_(False)
    model.eval()
    model.train = lambda mode=True: model
    return model
''', "§4 ignored argument", central=True),
    Wrong("freeze", "never unfreezes: a second call cannot move the boundary back", '''
def freeze(model, up_to):
    import types
    names = [name for name, _ in model.named_children()]
    if up_to not in names:
        raise ValueError(up_to)
    for child in list(model.children())[:names.index(up_to) + 1]:
        child.requires_grad_(False)
        child.train = types.MethodType(lambda self, mode=True: nn.Module.train(self, False), child)
        child.eval()
    return model
''', central=True),
    Wrong("freeze", "keeps the whole model in eval mode: the later BatchNorm layers cannot learn", '''
def freeze(model, up_to):
    names = [name for name, _ in model.named_children()]
    if up_to not in names:
        raise ValueError(up_to)
    for i, child in enumerate(model.children()):
        child.requires_grad_(i > names.index(up_to))
    model.eval()
    model.train = lambda mode=True: model
    return model
''', central=True),
    Wrong("freeze", "no ValueError: an unknown name silently freezes nothing", '''
def freeze(model, up_to):
    import types
    names = [name for name, _ in model.named_children()]
    boundary = names.index(up_to) if up_to in names else -1
    for i, child in enumerate(model.children()):
        child.requires_grad_(i > boundary)

    def train(self, mode=True):
        nn.Module.train(self, mode)
        for child in list(self.children())[:boundary + 1]:
            child.eval()
        return self

    model.train = types.MethodType(train, model)
    return model.train(model.training)
'''),
    Wrong("freeze", "train() override ignores its mode argument: model.eval() no longer works", '''
def freeze(model, up_to):
    import types
    names = [name for name, _ in model.named_children()]
    if up_to not in names:
        raise ValueError(up_to)
    boundary = names.index(up_to)
    for i, child in enumerate(model.children()):
        child.requires_grad_(i > boundary)

    def train(self, mode=True):
        nn.Module.train(self, True)
        for child in list(self.children())[:boundary + 1]:
            child.eval()
        return self

    model.train = types.MethodType(train, model)
    return model.train()
''', "§4 ignored argument"),
    Wrong("freeze", "reads the boundary from the name's last digit (works only for block1, block2, ...)", '''
def freeze(model, up_to):
    import types
    boundary = int(up_to[-1]) - 1
    for i, child in enumerate(model.children()):
        child.requires_grad_(i > boundary)

    def train(self, mode=True):
        nn.Module.train(self, mode)
        for child in list(self.children())[:boundary + 1]:
            child.eval()
        return self

    model.train = types.MethodType(train, model)
    return model.train(model.training)
''', "§4 hard-coded to the test's own toy model"),
    # --- build_classifier
    Wrong("build-classifier", "frozen backbone put back in train mode by model.train()", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    backbone.requires_grad_(False).eval()
    return nn.Sequential(backbone, nn.Linear(backbone.out_features, num_classes))
''', "§5.16", central=True),
    Wrong("build-classifier", "backbone left trainable", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone.eval()
            self.head = nn.Linear(backbone.out_features, num_classes)

        def train(self, mode=True):
            super().train(mode)
            self.backbone.eval()
            return self

        def forward(self, x):
            return self.head(self.backbone(x))

    return Classifier()
''', central=True),
    Wrong("build-classifier", "softmax head: probabilities instead of logits", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone.requires_grad_(False).eval()
            self.head = nn.Linear(backbone.out_features, num_classes)

        def train(self, mode=True):
            super().train(mode)
            self.backbone.eval()
            return self

        def forward(self, x):
            return torch.softmax(self.head(self.backbone(x)), dim=1)

    return Classifier()
''', "§4 wrong kind of output", central=True),
    Wrong("build-classifier", "sigmoid head", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone.requires_grad_(False).eval()
            self.head = nn.Sequential(nn.Linear(backbone.out_features, num_classes), nn.Sigmoid())

        def train(self, mode=True):
            super().train(mode)
            self.backbone.eval()
            return self

        def forward(self, x):
            return self.head(self.backbone(x))

    return Classifier()
''', "§4 wrong kind of output", central=True),
    Wrong("build-classifier", "ReLU head: negative scores cut off", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone.requires_grad_(False).eval()
            self.head = nn.Sequential(nn.Linear(backbone.out_features, num_classes), nn.ReLU())

        def train(self, mode=True):
            super().train(mode)
            self.backbone.eval()
            return self

        def forward(self, x):
            return self.head(self.backbone(x))

    return Classifier()
''', "§4 wrong kind of output", central=True),
    Wrong("build-classifier", "refuses two classes", '''
def build_classifier(backbone, num_classes):
    if num_classes <= 2:
        raise ValueError("num_classes must be larger than 2")

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone.requires_grad_(False).eval()
            self.head = nn.Linear(backbone.out_features, num_classes)

        def train(self, mode=True):
            super().train(mode)
            self.backbone.eval()
            return self

        def forward(self, x):
            return self.head(self.backbone(x))

    return Classifier()
''', "§4 hard-coded class count", central=True),
    Wrong("build-classifier", "backbone kept in a plain list: hidden from .train(), parameters() and state_dict()", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.parts = [backbone.requires_grad_(False).eval()]
            self.head = nn.Linear(backbone.out_features, num_classes)

        def forward(self, x):
            return self.head(self.parts[0](x))

    return Classifier()
''', central=True),
    Wrong("build-classifier", "runs the backbone under torch.no_grad(): it can never be fine-tuned", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone.requires_grad_(False).eval()
            self.head = nn.Linear(backbone.out_features, num_classes)

        def train(self, mode=True):
            super().train(mode)
            self.backbone.eval()
            return self

        def forward(self, x):
            with torch.no_grad():
                features = self.backbone(x)
            return self.head(features)

    return Classifier()
''', central=True),
    Wrong("build-classifier", "deep-copies the backbone 'to avoid side effects': the caller's backbone is not the one frozen", '''
def build_classifier(backbone, num_classes):
    import copy
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = copy.deepcopy(backbone).requires_grad_(False).eval()
            self.head = nn.Linear(backbone.out_features, num_classes)

        def train(self, mode=True):
            super().train(mode)
            self.backbone.eval()
            return self

        def forward(self, x):
            return self.head(self.backbone(x))

    return Classifier()
''', central=True),
    Wrong("build-classifier", "head size hard-coded to the lesson's 32 features", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone.requires_grad_(False).eval()
            self.head = nn.Linear(32, num_classes)

        def train(self, mode=True):
            super().train(mode)
            self.backbone.eval()
            return self

        def forward(self, x):
            return self.head(self.backbone(x))

    return Classifier()
''', "§4 hard-coded sizes"),
    Wrong("build-classifier", "fixes the random seed inside: every head starts the same", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    torch.manual_seed(0)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone.requires_grad_(False).eval()
            self.head = nn.Linear(backbone.out_features, num_classes)

        def train(self, mode=True):
            super().train(mode)
            self.backbone.eval()
            return self

        def forward(self, x):
            return self.head(self.backbone(x))

    return Classifier()
''', "§4 randomness fixed inside the answer"),
    Wrong("build-classifier", "clamps the input images in place (side effect on the caller's tensor)", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone.requires_grad_(False).eval()
            self.head = nn.Linear(backbone.out_features, num_classes)

        def train(self, mode=True):
            super().train(mode)
            self.backbone.eval()
            return self

        def forward(self, x):
            return self.head(self.backbone(x.clamp_(-10.0, 10.0)))

    return Classifier()
''', "§4 side effect on the caller's arrays"),
    Wrong("build-classifier", "no check of num_classes", '''
def build_classifier(backbone, num_classes):
    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone.requires_grad_(False).eval()
            self.head = nn.Linear(backbone.out_features, num_classes)

        def train(self, mode=True):
            super().train(mode)
            self.backbone.eval()
            return self

        def forward(self, x):
            return self.head(self.backbone(x))

    return Classifier()
'''),
]

TORCH_ACCEPTED = [
    Unusual("count-parameters", "a loop with torch.tensor() on each parameter (harmless UserWarning) and buffer names", '''
def count_parameters(model):
    counts = {"trainable": 0, "frozen": 0, "statistics": 0}
    for p in model.parameters():
        counts["trainable" if p.requires_grad else "frozen"] += torch.tensor(p).numel()
    for name, buffer in model.named_buffers():
        if name.rsplit(".", 1)[-1] in ("running_mean", "running_var"):
            counts["statistics"] += buffer.numel()
    return counts
'''),
    Unusual("count-parameters", "the course helper tlt.count_parameters, renamed", '''
def count_parameters(model):
    counts = tlt.count_parameters(model)
    return {"trainable": counts.trainable, "frozen": counts.frozen, "statistics": counts.state}
'''),
    Unusual("freeze", "patches each frozen child's own train() and removes the patch from the others", '''
def freeze(model, up_to):
    import types
    children = dict(model.named_children())
    if up_to not in children:
        raise ValueError(f"no child named {up_to!r}")
    frozen = True
    for name, child in children.items():
        child.__dict__.pop("train", None)  # undo an earlier call
        child.requires_grad_(not frozen)
        if frozen:
            child.train = types.MethodType(lambda self, mode=True: nn.Module.train(self, False), child)
        child.train(model.training)
        if name == up_to:
            frozen = False
    return model
'''),
    Unusual("freeze", "the course helpers: tlt.unfreeze everything, then tlt.freeze the first children", '''
def freeze(model, up_to):
    names = [name for name, _ in model.named_children()]
    if up_to not in names:
        raise ValueError(f"no child named {up_to!r}")
    tlt.unfreeze(model, bn_trainable=True)
    for child in list(model.children())[:names.index(up_to) + 1]:
        tlt.freeze(child)
    return model
'''),
    Unusual("build-classifier", "torch.tensor() on the input tensor (harmless UserWarning)", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone
            self.head = nn.Linear(backbone.out_features, num_classes)
            self.backbone.requires_grad_(False)
            self.train()

        def train(self, mode=True):
            super().train(mode)
            self.backbone.train(False)
            return self

        def forward(self, x):
            return self.head(self.backbone(torch.tensor(x)))

    return Classifier()
'''),
    Unusual("build-classifier", "the course helper tlt.freeze and a plain nn.Sequential", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    return nn.Sequential(tlt.freeze(backbone), nn.Linear(backbone.out_features, num_classes))
'''),
]

VARIANTS = {"keras": KERAS, "torch": TORCH}
ACCEPTED = {"keras": KERAS_ACCEPTED, "torch": TORCH_ACCEPTED}
