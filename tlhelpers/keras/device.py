"""Devices and mixed precision for the Keras track."""

from __future__ import annotations

import warnings

import keras
import tensorflow as tf


def gpu_names() -> list[str]:
    """Names of the GPUs TensorFlow can use (empty on a CPU-only machine)."""
    names = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        names.append(details.get("device_name", gpu.name))
    return names


def get_device() -> str:
    """The device Keras places work on: ``"/GPU:0"`` when a GPU is visible, else ``"/CPU:0"``."""
    return "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"


def describe_devices() -> str:
    """One line for the environment report."""
    gpus = gpu_names()
    policy = keras.mixed_precision.global_policy().name
    if gpus:
        return f"{len(gpus)} GPU(s): {', '.join(gpus)}; dtype policy {policy}"
    return f"CPU only; dtype policy {policy}"


def mixed_precision(enabled: bool = True) -> str:
    """Turn Keras mixed precision on or off globally; returns the policy in force.

    On a GPU, ``mixed_float16`` computes in float16 and keeps float32 weights (Keras scales
    the loss for you). On a CPU it would only slow things down, so the request is
    refused with a warning and float32 stays. Build models *after* calling this, and
    give the last layer ``dtype="float32"`` so logits and softmax stay in full precision.
    """
    from .. import checks

    enabled = checks.flag(enabled, "enabled")
    if enabled and not tf.config.list_physical_devices("GPU"):
        warnings.warn("mixed precision needs a GPU; staying in float32 on this CPU.", stacklevel=2)
        enabled = False
    policy = "mixed_float16" if enabled else "float32"
    keras.mixed_precision.set_global_policy(policy)
    return policy
