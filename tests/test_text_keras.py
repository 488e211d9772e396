"""tlhelpers.keras.text: the offline encoder, pooling, LoRA, adapters, freezing, bad input."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras_hub")

import tlhelpers.keras  # noqa: E402,F401  (TensorFlow's variables set before keras)
import keras  # noqa: E402
from keras import ops  # noqa: E402

from tlhelpers import text as T  # noqa: E402
from tlhelpers.keras import text as kt  # noqa: E402

pytestmark = pytest.mark.keras

TEXTS = ["I love this airline!", "@united lost my bag again #fail http://t.co/x", "ok.",
         "The self-driving car stopped at every light, which was reassuring."]


def _small():
    return kt.scratch_encoder(num_layers=2, hidden_size=32, num_heads=2, intermediate_size=64)


def _values(model):
    return {v.path + f"#{i}": np.array(v.numpy()) for i, v in enumerate(model.weights)}


def test_mean_pool_matches_the_reference_and_ignores_padding():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(2, 5, 3)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    np.testing.assert_allclose(ops.convert_to_numpy(kt.mean_pool(ops.convert_to_tensor(h), mask)),
                               T.masked_mean_pool(h, mask), atol=1e-6)
    padded = np.concatenate([h, rng.normal(size=(2, 2, 3)).astype("float32")], 1)
    np.testing.assert_allclose(
        ops.convert_to_numpy(kt.mean_pool(ops.convert_to_tensor(padded), np.pad(mask, ((0, 0), (0, 2))))),
        T.masked_mean_pool(h, mask), atol=1e-6)


def test_embedding_ignores_the_other_texts_of_the_batch():
    enc = _small()
    alone = kt.embed(enc, TEXTS[2:3], progress=False)
    with_long = kt.embed(enc, TEXTS, batch_size=4, progress=False)[2:3]
    np.testing.assert_allclose(alone, with_long, atol=1e-5)
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0)
    with pytest.raises(ValueError, match=r"texts\[0\] must be .*, got an empty string"):
        kt.embed(enc, [""], progress=False)
    with pytest.raises(TypeError, match="single str"):
        kt.embed(enc, "one string", progress=False)


def test_lora_starts_as_the_base_and_matches_the_reference():
    keras.utils.set_random_seed(0)
    base = keras.layers.Dense(4)
    base.build((None, 6))
    lora = kt.LoRA(base, rank=2, alpha=8)
    x = np.random.default_rng(0).normal(size=(5, 6)).astype("float32")
    np.testing.assert_allclose(lora(x), base(x), atol=1e-6)
    assert [id(v) for v in lora.trainable_weights] == [id(lora.lora_a), id(lora.lora_b)]
    lora.lora_b.assign(np.random.default_rng(1).normal(size=(2, 4)))
    ref = T.lora_reference(x, base.kernel.numpy().T, base.bias.numpy(), lora.lora_a.numpy().T,
                           lora.lora_b.numpy().T, alpha=8)
    np.testing.assert_allclose(lora(x), ref, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="rank"):
        kt.LoRA(base, rank=0)
    with pytest.raises(TypeError, match="Dense or EinsumDense"):
        kt.LoRA(keras.layers.Dropout(0.1))


def test_lora_on_an_einsum_projection_keeps_its_shape():
    dense = keras.layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de")
    dense.build((None, None, 8))
    lora = kt.LoRA(dense, rank=2)
    lora.lora_b.assign(np.ones((2, 6)))
    x = np.ones((1, 4, 8), "float32")
    out = ops.convert_to_numpy(lora(x))
    assert out.shape == (1, 4, 2, 3)
    np.testing.assert_allclose(out - ops.convert_to_numpy(dense(x)),
                               8.0 * (x @ lora.lora_a.numpy() @ np.ones((2, 6))).reshape(1, 4, 2, 3),
                               rtol=1e-5)


def test_adapter_is_near_identity_and_matches_the_reference():
    keras.utils.set_random_seed(0)
    ad = kt.Adapter(16, bottleneck=4)
    h = np.random.default_rng(0).normal(size=(3, 7, 16)).astype("float32")
    assert np.abs(ops.convert_to_numpy(ad(h)) - h).max() < 1e-3
    for v in ad.weights:
        v.assign(np.random.default_rng(1).normal(size=v.shape))
    ref = T.adapter_reference(h, ad.down.kernel.numpy().T, ad.down.bias.numpy(),
                              ad.up.kernel.numpy().T, ad.up.bias.numpy())
    np.testing.assert_allclose(ad(h), ref, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="bottleneck"):
        kt.Adapter(16, bottleneck=0)


def test_injection_keeps_the_output_and_rejects_bad_names():
    enc = _small()
    clf = kt.TextClassifier(enc, 3)
    batch = enc.tokenize(TEXTS)
    before = ops.convert_to_numpy(clf(batch))
    assert kt.inject_lora(clf, rank=4, targets=["query", "value"]) == \
        [f"layer{i}.{t}" for i in range(2) for t in ("query", "value")]
    kt.inject_adapters(clf, bottleneck=4)
    np.testing.assert_allclose(ops.convert_to_numpy(clf(batch)), before, atol=1e-3)
    with pytest.raises(ValueError, match="unknown LoRA target"):
        kt.inject_lora(clf, targets=["qkv"])
    with pytest.raises(ValueError, match="already has LoRA"):
        kt.inject_lora(clf, targets="query")
    with pytest.raises(ValueError, match="rank"):
        kt.inject_lora(clf, rank=-1, targets="key")
    with pytest.raises(TypeError, match="TextEncoder or a TextClassifier"):
        kt.inject_lora(keras.layers.Dense(2))


def test_only_adapters_and_head_change_in_a_training_step():
    enc = _small()
    clf = kt.TextClassifier(enc, 3)
    kt.inject_adapters(clf, bottleneck=4)
    kt.freeze_except(clf, ("adapter", "head"))
    before = _values(clf)
    kt.fit(clf, TEXTS, np.array([2, 0, 1, 2]), epochs=1, batch_size=4, lr=1e-2)
    after = _values(clf)
    changed = {k.split("#")[0] for k in before if not np.array_equal(before[k], after[k])}
    assert changed and all(T.param_kind(n) in ("adapter", "head") for n in changed), changed
    assert any(T.param_kind(n) == "adapter" for n in changed)
    counts = kt.count_by_kind(clf)
    assert counts["encoder"].trainable == counts["embeddings"].trainable == 0
    assert counts["adapter"].trainable == 2 * 2 * (32 * 4 + 4 + 4 * 32 + 32)


@pytest.mark.parametrize("freeze, layers", [("head", []), ("last1", [1]), ("full", [0, 1])])
def test_freeze_levels(freeze, layers):
    enc = _small()
    clf = kt.TextClassifier(enc, 3, freeze=freeze)
    trainable = {id(v) for v in clf.trainable_weights}
    trains = [all(id(v) in trainable for v in layer.weights) for layer in enc.transformer_layers]
    assert [i for i, t in enumerate(trains) if t] == layers
    assert all(id(v) in trainable for v in clf.head.weights)
    assert not any(id(v) in trainable for v in enc.backbone.get_layer("pooled_dense").weights)
    emb = enc.backbone.get_layer("token_embedding").embeddings
    assert (id(emb) in trainable) == (freeze == "full")
    with pytest.raises(ValueError, match="freeze"):
        kt.TextClassifier(enc, 3, freeze="most")


def test_fit_learns_a_toy_task_and_checks_labels():
    # A bag of embeddings keeps this cheap (tracing a transformer costs seconds); the
    # training step of a TextClassifier is exercised above.
    texts = ["good great fine", "bad awful poor"] * 8
    y = np.array([0, 1] * 8)
    clf = kt.BagOfEmbeddings(2, dim=16, trainable=True)
    losses = kt.fit(clf, texts, y, epochs=5, batch_size=8, lr=1e-2)
    assert losses[-1] < losses[0]
    assert (kt.predict(clf, texts).argmax(1) == y).mean() == 1.0
    with pytest.raises(ValueError, match="labels"):
        kt.fit(clf, texts, y[:3])


def test_bag_of_embeddings_pretrained_frozen_or_trainable():
    table = T.token_embedding_table()
    frozen = kt.BagOfEmbeddings(3, table=table)
    assert np.array_equal(frozen.embedding.embeddings.numpy(), table)
    assert not any(v is frozen.embedding.embeddings for v in frozen.trainable_weights)
    trainable = kt.BagOfEmbeddings(3, table=table, trainable=True)
    assert any(v is trainable.embedding.embeddings for v in trainable.trainable_weights)
    random = kt.BagOfEmbeddings(3, dim=16, seed=1)
    assert tuple(random.embedding.embeddings.shape) == (30522, 16)
    assert kt.predict(random, TEXTS).shape == (4, 3)


def test_a_frozen_encoder_runs_without_dropout():
    enc = _small()
    batch = enc.tokenize(TEXTS)
    clf = kt.TextClassifier(enc, 3, freeze="head", dropout=0.0)
    np.testing.assert_array_equal(clf(batch, training=True), clf(batch, training=True))
    kt.set_freeze(clf, "full")
    assert not np.allclose(clf(batch, training=True), clf(batch, training=True))
