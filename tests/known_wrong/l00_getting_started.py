"""Lesson 00: wrong ways to count, freeze and build a classifier on a frozen backbone."""

from . import Wrong

KERAS = [
    # --- count_parameters
    Wrong("count-parameters", "counts BatchNorm moving statistics as frozen parameters (Keras summary convention)", '''
def count_parameters(model):
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    frozen = sum(int(np.prod(v.shape)) for v in model.non_trainable_weights)
    return {"trainable": trainable, "frozen": frozen}
'''),
    Wrong("count-parameters", "counts weight tensors instead of scalar parameters", '''
def count_parameters(model):
    return {"trainable": len(model.trainable_weights), "frozen": len(model.non_trainable_weights)}
'''),
    Wrong("count-parameters", "looks only at the top-level layers' own weights, missing nested models", '''
def count_parameters(model):
    trainable = frozen = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            continue
        trainable += sum(int(np.prod(v.shape)) for v in layer.trainable_weights)
        frozen += sum(int(np.prod(v.shape)) for v in layer.non_trainable_weights)
    return {"trainable": trainable, "frozen": frozen}
'''),
    # --- freeze
    Wrong("freeze", "freezes only layers with a kernel; BatchNorm keeps training and updating statistics", '''
def freeze(model):
    for layer in tlk.walk_layers(model):
        if hasattr(layer, "kernel"):
            layer.trainable = False
    return model
''', "§5.15"),
    Wrong("freeze", "forgets to return the model", '''
def freeze(model):
    model.trainable = False
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
''', "§5.15"),
    Wrong("build-classifier", "backbone left trainable", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    inputs = keras.Input(shape=backbone.input_shape[1:])
    return keras.Model(inputs, keras.layers.Dense(num_classes)(backbone(inputs)))
'''),
    Wrong("build-classifier", "softmax head: probabilities instead of logits", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")

    class InferenceMode(keras.layers.Layer):
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def call(self, inputs):
            return self.inner(inputs, training=False)

    backbone.trainable = False
    inputs = keras.Input(shape=backbone.input_shape[1:])
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(InferenceMode(backbone)(inputs)))
'''),
]

TORCH = [
    # --- count_parameters
    Wrong("count-parameters", "counts BatchNorm running statistics (buffers) as frozen parameters", '''
def count_parameters(model):
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    frozen += sum(b.numel() for b in model.buffers())
    return {"trainable": trainable, "frozen": frozen}
'''),
    Wrong("count-parameters", "counts parameter tensors instead of scalar parameters", '''
def count_parameters(model):
    return {"trainable": sum(1 for p in model.parameters() if p.requires_grad),
            "frozen": sum(1 for p in model.parameters() if not p.requires_grad)}
'''),
    # --- freeze
    Wrong("freeze", "requires_grad off but left in train mode: BatchNorm statistics drift", '''
def freeze(model):
    model.requires_grad_(False)
    return model
''', "§5.16"),
    Wrong("freeze", "eval mode only: parameters still receive gradients", '''
def freeze(model):
    model.eval()
    return model
'''),
    # --- build_classifier
    Wrong("build-classifier", "frozen backbone put back in train mode by model.train()", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    backbone.requires_grad_(False).eval()
    return nn.Sequential(backbone, nn.Linear(backbone.out_features, num_classes))
''', "§5.16"),
    Wrong("build-classifier", "backbone left trainable", '''
def build_classifier(backbone, num_classes):
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    return nn.Sequential(backbone, nn.Linear(backbone.out_features, num_classes))
'''),
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

VARIANTS = {"keras": KERAS, "torch": TORCH}
