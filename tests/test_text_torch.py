"""tlhelpers.torch.text: the offline encoder, pooling, LoRA, adapters, freezing, bad input."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tlhelpers import text as T  # noqa: E402
from tlhelpers.torch import text as tt  # noqa: E402

pytestmark = pytest.mark.torch

TEXTS = ["I love this airline!", "@united lost my bag again #fail http://t.co/x", "ok.",
         "The self-driving car stopped at every light, which was reassuring."]


@pytest.fixture()
def small():
    return tt.scratch_encoder(num_layers=2, hidden_size=32, num_heads=2, intermediate_size=64)


def test_embedding_ignores_the_other_texts_of_the_batch(small):
    encoder = small
    alone = tt.embed(encoder, TEXTS[2:3], progress=False)
    with_long = tt.embed(encoder, TEXTS, batch_size=4, progress=False)[2:3]
    np.testing.assert_allclose(alone, with_long, atol=1e-5)


def test_mean_pool_matches_the_reference_and_ignores_padding():
    h = torch.randn(2, 5, 3, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    np.testing.assert_allclose(tt.mean_pool(h, mask).numpy(), T.masked_mean_pool(h, mask))
    padded = torch.cat([h, torch.randn(2, 2, 3, dtype=torch.float64)], 1)
    np.testing.assert_allclose(tt.mean_pool(padded, torch.nn.functional.pad(mask, (0, 2))).numpy(),
                               tt.mean_pool(h, mask).numpy())


@pytest.mark.parametrize("bad, error", [("one string", TypeError), ([""], ValueError),
                                        ([1, 2], TypeError)])
def test_embed_rejects_bad_texts(small, bad, error):
    with pytest.raises(error, match="texts"):
        tt.embed(small, bad, progress=False)


def test_lora_linear_starts_as_the_base_and_matches_the_reference():
    torch.manual_seed(0)
    base = torch.nn.Linear(6, 4)
    lora = tt.LoRALinear(base, rank=2, alpha=8)
    x = torch.randn(5, 6)
    torch.testing.assert_close(lora(x), base(x))
    assert {n for n, p in lora.named_parameters() if p.requires_grad} == {"lora_A", "lora_B"}
    with torch.no_grad():
        lora.lora_B.normal_()
    ref = T.lora_reference(x, base.weight.detach(), base.bias.detach(), lora.lora_A.detach(),
                           lora.lora_B.detach(), alpha=8)
    np.testing.assert_allclose(lora(x).detach().numpy(), ref, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="rank"):
        tt.LoRALinear(base, rank=0)
    with pytest.raises(TypeError, match="nn.Linear"):
        tt.LoRALinear(torch.nn.Conv1d(2, 2, 1))


def test_adapter_is_near_identity_and_matches_the_reference():
    torch.manual_seed(0)
    ad = tt.Adapter(16, bottleneck=4)
    h = torch.randn(3, 7, 16)
    assert (ad(h) - h).abs().max() < 1e-3
    with torch.no_grad():
        for p in ad.parameters():
            p.normal_()
    ref = T.adapter_reference(h.numpy(), ad.down.weight.detach(), ad.down.bias.detach(),
                              ad.up.weight.detach(), ad.up.bias.detach())
    np.testing.assert_allclose(ad(h).detach().numpy(), ref, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="bottleneck"):
        tt.Adapter(16, bottleneck=0)


def test_injection_keeps_the_output_and_rejects_bad_names(small):
    clf = tt.TextClassifier(small, 3)
    batch = small.tokenize(TEXTS)
    clf.eval()
    before = clf(**batch)
    assert tt.inject_lora(clf, rank=4, targets=["query", "value"]) == \
        [f"layer{i}.{t}" for i in range(2) for t in ("query", "value")]
    tt.inject_adapters(clf, bottleneck=4)
    torch.testing.assert_close(clf(**batch), before, atol=1e-3, rtol=0)
    with pytest.raises(ValueError, match="unknown LoRA target"):
        tt.inject_lora(clf, targets=["qkv"])
    with pytest.raises(ValueError, match="already has LoRA"):
        tt.inject_lora(clf, targets="query")
    with pytest.raises(ValueError, match="rank"):
        tt.inject_lora(clf, rank=-1, targets="key")
    with pytest.raises(TypeError, match="TextEncoder or a TextClassifier"):
        tt.inject_lora(torch.nn.Linear(2, 2))


def test_only_adapters_and_head_change_in_a_training_step(small):
    clf = tt.TextClassifier(small, 3)
    tt.inject_adapters(clf, bottleneck=4)
    tt.freeze_except(clf, ("adapter", "head"))
    before = {n: p.detach().clone() for n, p in clf.named_parameters()}
    tt.fit(clf, TEXTS, np.array([2, 0, 1, 2]), epochs=1, batch_size=4, lr=1e-2)
    changed = {n for n, p in clf.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(T.param_kind(n) in ("adapter", "head") for n in changed)
    assert any(T.param_kind(n) == "adapter" for n in changed)
    counts = tt.count_by_kind(clf)
    assert counts["encoder"].trainable == counts["embeddings"].trainable == 0
    assert counts["adapter"].trainable == 2 * 2 * (32 * 4 + 4 + 4 * 32 + 32)


@pytest.mark.parametrize("freeze, layers", [("head", []), ("last1", [1]), ("full", [0, 1])])
def test_freeze_levels(small, freeze, layers):
    clf = tt.TextClassifier(small, 3, freeze=freeze)
    trains = [all(p.requires_grad for p in layer.parameters()) for layer in small.transformer_layers]
    assert [i for i, t in enumerate(trains) if t] == layers
    assert all(p.requires_grad for p in clf.head.parameters())
    assert not any(p.requires_grad for p in small.bert.pooler.parameters())
    assert small.bert.embeddings.word_embeddings.weight.requires_grad == (freeze == "full")
    with pytest.raises(ValueError, match="freeze"):
        tt.TextClassifier(small, 3, freeze="most")


def test_fit_learns_a_toy_task_and_checks_labels(small):
    texts = ["good great fine", "bad awful poor"] * 8
    y = np.array([0, 1] * 8)
    clf = tt.TextClassifier(small, 2)
    losses = tt.fit(clf, texts, y, epochs=5, batch_size=8, lr=1e-3)
    assert losses[-1] < losses[0]
    assert (tt.predict(clf, texts).argmax(1) == y).mean() == 1.0
    with pytest.raises(ValueError, match="labels"):
        tt.fit(clf, texts, y[:3])
    with pytest.raises(ValueError, match="labels"):
        tt.fit(clf, texts, y + 1)                   # a class the 2-way head has no output for


def test_bag_of_embeddings_pretrained_frozen_or_trainable():
    table = T.token_embedding_table()
    frozen = tt.BagOfEmbeddings(3, table=table)
    assert torch.equal(frozen.embedding.weight, torch.from_numpy(table))
    assert not frozen.embedding.weight.requires_grad
    assert tt.BagOfEmbeddings(3, table=table, trainable=True).embedding.weight.requires_grad
    random = tt.BagOfEmbeddings(3, dim=16, seed=1)
    assert random.embedding.weight.shape == (30522, 16)
    assert tt.predict(random, TEXTS).shape == (4, 3)


def test_training_a_bag_leaves_the_callers_table_alone():
    table = np.random.default_rng(0).normal(size=(30522, 4)).astype(np.float32)
    before = table.copy()
    bag = tt.BagOfEmbeddings(2, table=table, trainable=True)
    tt.fit(bag, ["good", "bad"], [0, 1], epochs=1, lr=0.1)
    assert not torch.equal(bag.embedding.weight, torch.from_numpy(before))   # it trained
    np.testing.assert_array_equal(table, before)


def test_lora_matches_peft():
    """Same model, same LoRA (r, α, targets): same trainable count, same outputs at
    initialisation, and the same outputs once A and B are copied from peft's (B random)."""
    peft = pytest.importorskip("peft")
    a = tt.scratch_encoder(num_layers=2, hidden_size=32, num_heads=2, intermediate_size=64)
    b = tt.scratch_encoder(num_layers=2, hidden_size=32, num_heads=2, intermediate_size=64)
    batch = a.tokenize(TEXTS)
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"], lora_dropout=0.0)
    ref = peft.get_peft_model(b.bert, config)
    tt.inject_lora(a, rank=4, alpha=8, targets=("query", "value"))
    tt.freeze_except(a, ("lora",))
    assert tt.count_by_kind(a)["lora"].trainable == \
        sum(p.numel() for p in ref.parameters() if p.requires_grad)
    a.eval(), ref.eval()
    out_init = ref(**batch).last_hidden_state
    torch.testing.assert_close(a(**batch), out_init)
    with torch.no_grad():
        for i, layer in enumerate(a.transformer_layers):
            for t in ("query", "value"):
                ours = layer.attention.self.get_submodule(t)
                theirs = ref.base_model.model.encoder.layer[i].attention.self.get_submodule(t)
                theirs.lora_B["default"].weight.normal_()
                ours.lora_A.copy_(theirs.lora_A["default"].weight)
                ours.lora_B.copy_(theirs.lora_B["default"].weight)
    out_ref = ref(**batch).last_hidden_state
    assert (out_ref - out_init).abs().max() > 1e-2                       # LoRA now acts
    torch.testing.assert_close(a(**batch), out_ref, atol=1e-5, rtol=1e-5)


def test_a_frozen_encoder_runs_without_dropout(small):
    batch = small.tokenize(TEXTS)
    head = tt.TextClassifier(small, 3, freeze="head", dropout=0.0).train()
    assert not small.training
    torch.testing.assert_close(head(**batch), head(**batch))
    full = tt.set_freeze(head, "full").train()
    assert small.training and not torch.allclose(full(**batch), full(**batch))
