"""Fine-tuning, framework-neutral: the blocks of each backbone, the learning rate of each
block, the unfreezing order, and NumPy references of the EWC and L2-SP penalties.

Both tracks (:mod:`tlhelpers.keras.finetune`, :mod:`tlhelpers.torch.finetune`) read their
blocks and rates from here, so the two give every block the same multiplier and unfreeze
the same blocks at the same epoch; their parity tests compare the penalties with the
references below.

Vocabulary. A backbone is a sequence of *blocks* in input-to-output order (``course_cnn``:
stem, stage1, stage2, stage3). Everything in a model outside the backbone — the new
classifier head, dropout, any extra layers — is one more block, :data:`HEAD`, always last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .schedules import _number
from .zoo import COURSE_CNN_BLOCKS

__all__ = [
    "BACKBONE_BLOCKS",
    "HEAD",
    "MOBILENET_V2_STAGES",
    "check_decay",
    "check_strength",
    "check_top_k",
    "discriminative_multipliers",
    "ewc_penalty",
    "l2sp_penalty",
    "resolve_top_k",
    "top_k_at_epoch",
]

#: The block everything outside the backbone belongs to.
HEAD = "head"

#: Block names of each backbone, input to output. The ImageNet ones follow each network's
#: own stages (ResNet's conv2_x…conv5_x, MobileNetV2's seven bottleneck stages, EfficientNet's
#: seven MBConv stages, DenseNet's dense block + transition, VGG's five conv blocks).
BACKBONE_BLOCKS: dict[str, tuple[str, ...]] = {
    "course_cnn": COURSE_CNN_BLOCKS,
    "mobilenet_v2": ("stem", *(f"stage{i}" for i in range(1, 8)), "top"),
    "resnet50": ("stem", "stage1", "stage2", "stage3", "stage4"),
    "efficientnet_b0": ("stem", *(f"stage{i}" for i in range(1, 8)), "top"),
    "densenet121": ("stem", "stage1", "stage2", "stage3", "stage4"),
    "vgg16": ("block1", "block2", "block3", "block4", "block5"),
}

#: The stage (1-7) of each of MobileNetV2's 17 inverted-residual blocks (0-16): the
#: repeats n = 1, 2, 3, 4, 3, 3, 1 of Sandler et al. 2018, Table 2. Keras names them
#: ``expanded_conv`` (0) and ``block_1`` … ``block_16``; torchvision ``features.1`` … ``features.17``.
MOBILENET_V2_STAGES: tuple[int, ...] = (1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 6, 6, 6, 7)


def check_top_k(top_k: Any, blocks: Sequence[str]) -> int:
    """``top_k`` as a number of backbone blocks to unfreeze (0 … len(blocks)), or a clear error."""
    n = len(blocks)
    if isinstance(top_k, (bool, np.bool_)) or not isinstance(top_k, (int, np.integer)) or not 0 <= top_k <= n:
        raise ValueError(f"top_k must be an integer from 0 (head only) to {n} (every block: "
                         f"{', '.join(blocks)}), got {top_k!r}.")
    return int(top_k)


def resolve_top_k(blocks: Sequence[str], top_k: Any = None, from_block: Any = None) -> int:
    """How many of the top ``blocks`` to unfreeze, given either ``top_k`` or ``from_block``.

    ``from_block`` is Keras's ``fine_tune_at`` by block name: that block and every block
    above it train (``from_block="head"``: the head alone). Exactly one of the two is given.
    """
    if (top_k is None) == (from_block is None):
        raise ValueError(f"give exactly one of top_k (a number of blocks) and from_block (a block name), "
                         f"got top_k={top_k!r}, from_block={from_block!r}.")
    if top_k is not None:
        return check_top_k(top_k, blocks)
    names = [*blocks, HEAD]
    if from_block not in names:
        raise ValueError(f"from_block={from_block!r} is not a block of this model; its blocks are "
                         f"{', '.join(names)}.")
    return len(blocks) - names.index(from_block)


def check_decay(decay: Any) -> float:
    """A discriminative-rate factor: a finite number > 0 (1 = one rate for every block)."""
    return _number(decay, "decay", low=0.0, low_open=True)


def check_strength(value: Any, name: str) -> float:
    """A penalty strength (EWC's λ, L2-SP's α and β): a finite number >= 0."""
    return _number(value, name, low=0.0)


def discriminative_multipliers(blocks: Sequence[str], decay: float) -> dict[str, float]:
    r"""Learning-rate multiplier of each block, decaying towards the input by ``decay``.

    The last block (the head) learns at the base rate, each block below at ``decay`` times
    the rate of the block above it: :math:`\eta_l = \eta \cdot \mathit{decay}^{L-1-l}` for
    blocks :math:`l = 0 … L-1` in input-to-output order (ULMFiT's discriminative
    fine-tuning, Howard & Ruder 2018, uses :math:`\eta^{l-1} = \eta^l / 2.6`, i.e.
    ``decay=1/2.6``; Yosinski et al. 2014 motivate it: the lower the layer, the more
    general its features and the less it should move).
    """
    blocks = list(blocks)
    if not blocks or len(set(blocks)) != len(blocks) or not all(isinstance(b, str) for b in blocks):
        raise ValueError(f"blocks must be a non-empty sequence of distinct block names, got {blocks!r}.")
    d = check_decay(decay)
    n = len(blocks)
    return {block: d ** (n - 1 - i) for i, block in enumerate(blocks)}


def top_k_at_epoch(epoch: int, n_blocks: int, *, every: int = 1, start: int = 0) -> int:
    """How many backbone blocks gradual unfreezing has unfrozen during ``epoch`` (0-based).

    ULMFiT's gradual unfreezing (Howard & Ruder 2018, §3.3): train the head alone first
    (``start=0``), then unfreeze one more block, from the top down, every ``every`` epochs,
    until all ``n_blocks`` train: ``min(n_blocks, start + epoch // every)``.
    """
    from .checks import positive_int

    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise ValueError(f"epoch must be an integer >= 0, got {epoch!r}.")
    every = positive_int(every, "every")
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or not 0 <= start <= n_blocks:
        raise ValueError(f"start must be an integer from 0 (head only) to {n_blocks} (every block), "
                         f"got {start!r}.")
    return min(n_blocks, int(start) + int(epoch) // every)


def _aligned(values: Mapping[str, Any], reference: Mapping[str, Any], what: str) -> None:
    if set(values) != set(reference):
        missing = sorted(set(reference) - set(values))[:3]
        extra = sorted(set(values) - set(reference))[:3]
        raise ValueError(f"{what} must have the same parameter names as params; missing {missing}, "
                         f"extra {extra}.")


def ewc_penalty(params: Mapping[str, np.ndarray], fisher: Mapping[str, np.ndarray],
                anchor: Mapping[str, np.ndarray], strength: float) -> float:
    r"""NumPy reference of Elastic Weight Consolidation's penalty (Kirkpatrick et al., PNAS 2017):

    .. math:: \Omega(\theta) = \frac{\lambda}{2} \sum_i F_i\,(\theta_i - \theta^*_i)^2

    ``fisher``: the diagonal Fisher information of the old task at :math:`\theta^*`
    (``anchor``), one array per parameter name. Computed in float64.
    """
    lam = check_strength(strength, "strength")
    _aligned(fisher, params, "fisher")
    _aligned(anchor, params, "anchor")
    total = sum(float(np.sum(np.asarray(fisher[k], np.float64)
                             * (np.asarray(params[k], np.float64) - np.asarray(anchor[k], np.float64)) ** 2))
                for k in params)
    return 0.5 * lam * total


def l2sp_penalty(params: Mapping[str, np.ndarray], anchor: Mapping[str, np.ndarray],
                 new_params: Mapping[str, np.ndarray], alpha: float, beta: float) -> float:
    r"""NumPy reference of L2-SP (Li, Grandvalet & Davoine, ICML 2018, eq. 3):

    .. math:: \Omega(w) = \frac{\alpha}{2} \lVert w_S - w_S^0 \rVert_2^2
                         + \frac{\beta}{2} \lVert w_{\bar S} \rVert_2^2

    ``params``/``anchor``: the pretrained part now and as it was (:math:`w^0`);
    ``new_params``: the parameters that did not come from the source (the new head).
    """
    a, b = check_strength(alpha, "alpha"), check_strength(beta, "beta")
    _aligned(anchor, params, "anchor")
    shift = sum(float(np.sum((np.asarray(params[k], np.float64) - np.asarray(anchor[k], np.float64)) ** 2))
                for k in params)
    size = sum(float(np.sum(np.asarray(v, np.float64) ** 2)) for v in new_params.values())
    return 0.5 * a * shift + 0.5 * b * size
