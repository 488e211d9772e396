"""The two tracks count the same architecture the same way."""

import subprocess
import sys

import pytest

pytestmark = [pytest.mark.keras, pytest.mark.torch]

KERAS = """
import tlhelpers.keras as tlk, keras
inner = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(16, 3, use_bias=False),
    keras.layers.BatchNormalization(), keras.layers.ReLU(), keras.layers.GlobalAveragePooling2D()])
outer = keras.Sequential([keras.Input((8, 8, 3)), inner, keras.layers.Dense(10)])
tlk.freeze(inner); c = tlk.count_parameters(outer); print(c.trainable, c.frozen, c.state)
"""
TORCH = """
import tlhelpers.torch as tlt
from torch import nn
inner = nn.Sequential(nn.Conv2d(3, 16, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten())
outer = nn.Sequential(inner, nn.Linear(16, 10))
tlt.freeze(inner); c = tlt.count_parameters(outer); print(c.trainable, c.frozen, c.state)
"""


def run(code):
    # Separate processes: a notebook imports only its own track.
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def test_parameter_counts_agree():
    assert run(KERAS) == run(TORCH) == ["170", "464", "32"]
