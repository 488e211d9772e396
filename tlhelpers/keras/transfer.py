"""Transferring the first k blocks of a pretrained course_cnn (Yosinski et al. 2014) and
the target-training recipes that lesson 01's experiments share. Mirrors
:mod:`tlhelpers.torch.transfer`.
"""

from __future__ import annotations

import keras

from .. import checks
from ..data import Dataset
from ..schedules import steps_to_epochs
from ..zoo import COURSE_CNN_BLOCKS
from ..zoo import check_block_count as _check_k
from .backbones import build_classifier, course_cnn
from .training import evaluate, fit



def _block_layers(model: keras.Model, block: str) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if layer.name.startswith(f"{block}_") and layer.weights]


def transfer_blocks(k: int, *, fine_tune: bool, source: keras.Model | None = None,
                    seed: int | None = None) -> keras.Model:
    """A course_cnn whose first ``k`` blocks are copied from ``source``, the rest freshly initialised.

    ``source`` defaults to the course-pretrained backbone. Copied blocks are frozen (no
    weight updates; their BatchNorm layers, frozen, run in inference mode: Yosinski's
    "AnB") unless ``fine_tune`` ("AnB+"). ``k=0`` is a network trained from scratch;
    ``k=4`` transfers the whole backbone.
    """
    k = _check_k(k)
    fine_tune = checks.flag(fine_tune, "fine_tune")
    seed = None if seed is None else checks.non_negative_int(seed, "seed")
    if source is not None and (not isinstance(source, keras.Model) or not all(
            _block_layers(source, block) for block in COURSE_CNN_BLOCKS[:k])):
        checks.fail("source", "a course_cnn backbone (with blocks stem, stage1, stage2, stage3)",
                    checks.Received(f"{type(source).__name__} {getattr(source, 'name', '')!r} "
                                    "without them"), "Nothing would be transferred.")
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    target = course_cnn(pretrained=False)
    if k:
        source = source if source is not None else course_cnn(pretrained=True)
        for block in COURSE_CNN_BLOCKS[:k]:
            for dst, src in zip(_block_layers(target, block), _block_layers(source, block)):
                dst.set_weights(src.get_weights())
                if not fine_tune:
                    dst.trainable = False
    return target



def train_on_target(train: Dataset, test: Dataset, *, k: int = 0, fine_tune: bool = True,
                    steps: int = 100, lr: float = 1e-3, batch_size: int = 32, seed: int = 0,
                    source: keras.Model | None = None) -> float:
    """Test accuracy of a course_cnn with ``k`` transferred blocks trained on ``train``.

    ``k=0``: from scratch. ``k=4, fine_tune=True``: full fine-tuning. The budget is a number
    of optimizer steps, so small and large label budgets get comparable training.
    """
    for what, ds in (("train", train), ("test", test)):
        if not isinstance(ds, Dataset):
            checks.fail(what, "a tlhelpers.data.Dataset", checks.Received(type(ds).__name__))
    steps, batch_size = checks.positive_int(steps, "steps"), checks.positive_int(batch_size, "batch_size")
    lr = checks.positive_number(lr, "lr")
    backbone = transfer_blocks(k, fine_tune=fine_tune, source=source, seed=seed)
    model = build_classifier(backbone, train.num_classes, freeze_backbone=False, bn_inference=False)
    fit(model, train, epochs=steps_to_epochs(len(train), steps, batch_size), batch_size=batch_size,
        lr=lr, seed=seed, progress=False)
    return evaluate(model, test)["accuracy"]


_BLOCK_OUTPUT_LAYERS = {"stem": "stem_relu", "stage1": "stage1_out", "stage2": "stage2_out", "stage3": "stage3_out"}


def block_outputs(backbone: keras.Model, images) -> dict[str, "np.ndarray"]:
    """The activations after each block of a course_cnn, as NHWC NumPy arrays (inference mode).

    Keys are the block names: stem, stage1, stage2, stage3.
    """
    import numpy as np

    if not isinstance(backbone, keras.Model) or not all(
            name in {layer.name for layer in backbone.layers} for name in _BLOCK_OUTPUT_LAYERS.values()):
        checks.fail("backbone", "a course_cnn backbone", checks.Received(type(backbone).__name__))
    x = checks.image_batch(images, "images", expected=checks.model_input_shape(backbone))
    probe = keras.Model(backbone.input, [backbone.get_layer(_BLOCK_OUTPUT_LAYERS[b]).output
                                          for b in COURSE_CNN_BLOCKS])
    outputs = probe(x, training=False)
    return {block: np.asarray(out) for block, out in zip(COURSE_CNN_BLOCKS, outputs)}
