"""A toy domain shift and a tiny BatchNorm CNN in both tracks, for the adaptation tests.

Source: 8×8 RGB images, black background with a bar whose colour (red, green or blue) is
the class. Target: the same bars blended over a random background colour c per image by
|c − bar| (the MNIST-M blend): same labels, different low-level statistics.
Frameworks are imported lazily, so a torch-only test never imports TensorFlow.
"""

from __future__ import annotations

import numpy as np

SIZE, CLASSES, WIDTH = 8, 3, 6


def toy_domains(n: int = 48, seed: int = 0):
    """(xs, ys, xt, yt): NHWC float32 images in [0, 1] and int64 labels."""
    rng = np.random.default_rng(seed)

    def bars(count):
        y = np.arange(count) % CLASSES
        x = np.zeros((count, SIZE, SIZE, 3), np.float32)
        rows = rng.integers(0, SIZE - 2, count)
        for i in range(count):
            x[i, rows[i]:rows[i] + 2, 1:-1, y[i]] = 1.0
        return x, y.astype(np.int64)

    xs, ys = bars(n)
    xs = np.clip(xs + rng.normal(0, 0.05, xs.shape), 0, 1).astype(np.float32)
    xt, yt = bars(n)
    background = rng.uniform(0.3, 1.0, (n, 1, 1, 3)).astype(np.float32)
    xt = np.abs(background - xt).astype(np.float32)
    return xs, ys, xt, yt


def torch_classifier(seed: int = 0):
    """conv3x3 (no bias) → BN → ReLU → global average pooling → Linear, BN trainable."""
    import torch
    from torch import nn

    from tlhelpers.torch.backbones import build_classifier

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, WIDTH, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(WIDTH, eps=1e-5)
            self.out_features = WIDTH
            self.input_shape = (3, SIZE, SIZE)

        def forward(self, x):
            return torch.relu(self.bn(self.conv(x))).mean((2, 3))

    torch.manual_seed(seed)
    return build_classifier(Tiny(), CLASSES, freeze_backbone=False, bn_inference=False)


def keras_classifier(torch_model=None, seed: int = 0):
    """The same network in Keras; with ``torch_model``, the same weights too."""
    import keras

    from tlhelpers.keras.backbones import build_classifier

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.ZeroPadding2D(1)(inputs)
    x = keras.layers.Conv2D(WIDTH, 3, use_bias=False, name="conv")(x)
    x = keras.layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name="bn")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    backbone = keras.Model(inputs, x, name="tiny")
    model = build_classifier(backbone, CLASSES, freeze_backbone=False, bn_inference=False)
    if torch_model is not None:
        t = {k: v.detach().numpy() for k, v in torch_model.state_dict().items()}
        backbone.get_layer("conv").set_weights([t["backbone.conv.weight"].transpose(2, 3, 1, 0)])
        backbone.get_layer("bn").set_weights([t["backbone.bn.weight"], t["backbone.bn.bias"],
                                              t["backbone.bn.running_mean"], t["backbone.bn.running_var"]])
        model.get_layer("head").set_weights([t["head.weight"].T, t["head.bias"]])
    return model
