"""The Keras 3 (TensorFlow) track of tlhelpers.

Importing this package silences TensorFlow's start-up log and imports Keras. Its
modules mirror :mod:`tlhelpers.torch` name for name.
"""

from .._quiet import quiet_tensorflow_import  # (before TensorFlow is imported)

import logging  # noqa: E402

with quiet_tensorflow_import():
    import keras  # noqa: E402

# tf.function retracing notices are expected in lessons that build many small models.
logging.getLogger("tensorflow").setLevel(logging.ERROR)

from ..environment import EnvReport  # noqa: E402
from ..environment import env_report as _env_report  # noqa: E402
from ..seeding import seed_everything as _seed_everything  # noqa: E402
from . import backbones, data, layers, training, transfer  # noqa: E402
from . import adapt, dann, divergence  # noqa: E402
from . import finetune  # noqa: E402
from . import distill  # noqa: E402
from . import text  # noqa: E402
from . import calibration, explain  # noqa: E402
from .data import to_tf_dataset  # noqa: E402
from .device import describe_devices, get_device, gpu_names, mixed_precision  # noqa: E402
from .params import ParamCounts, count_parameters, freeze, unfreeze, walk_layers  # noqa: E402

if keras.backend.backend() != "tensorflow":  # pragma: no cover - depends on the user's setup
    import warnings

    warnings.warn(
        f"KERAS_BACKEND is {keras.backend.backend()!r}; the course's Keras track is written "
        "and tested for the TensorFlow backend.",
        stacklevel=2,
    )


def seed_everything(seed: int, *, deterministic: bool = True) -> int:
    """Seed Python, NumPy and Keras/TensorFlow (see :func:`tlhelpers.seed_everything`)."""
    return _seed_everything(seed, deterministic=deterministic)


def env_report() -> EnvReport:
    """The environment report (:func:`tlhelpers.env_report`) with the devices Keras/TensorFlow sees."""
    return _env_report(devices=("Keras devices", describe_devices()))


__all__ = [
    "adapt", "dann", "divergence",
    "finetune",
    "distill",
    "text",
    "calibration", "explain",
    "to_tf_dataset",
    "backbones",
    "data",
    "layers",
    "training",
    "transfer",
    "ParamCounts",
    "count_parameters",
    "describe_devices",
    "env_report",
    "freeze",
    "get_device",
    "gpu_names",
    "mixed_precision",
    "seed_everything",
    "unfreeze",
    "walk_layers",
]
