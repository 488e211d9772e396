"""The two tracks' text helpers agree: same embeddings from the same files, same parameter
counts by kind for every freeze level and injection, same LoRA/adapter maths."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("keras_hub")

import tlhelpers.keras  # noqa: E402,F401
from tlhelpers import text as T  # noqa: E402
from tlhelpers.data import load_dataset  # noqa: E402
from tlhelpers.keras import text as kt  # noqa: E402
from tlhelpers.torch import text as tt  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.torch]

SMALL = dict(num_layers=2, hidden_size=32, num_heads=2, intermediate_size=64)


def test_the_two_encoders_give_the_same_embeddings():
    """PyTorch: exactly sentence-transformers' all-MiniLM-L6-v2 embeddings. Keras: same
    safetensors, same token ids, but keras-hub's BERT uses tanh-approximated GELU where
    Hugging Face's uses the exact erf one. Measured on 32 tweets: max |Δ| 3e-4, cosine
    ≥ 0.99999; the tolerance below leaves a factor of about 5."""
    from sentence_transformers import SentenceTransformer

    tweets = load_dataset("tweets", "test", n=32, seed=0).x
    torch_encoder = tt.load_encoder()
    a = tt.embed(torch_encoder, tweets, batch_size=16, progress=False)
    ref = SentenceTransformer(str(T.encoder_dir()), device="cpu").encode(tweets)
    np.testing.assert_allclose(a, ref, atol=1e-5)
    counts = tt.count_by_kind(torch_encoder)
    assert counts["embeddings"].total + counts["encoder"].total == 22_713_216
    keras_encoder = kt.load_encoder()
    b = kt.embed(keras_encoder, tweets, batch_size=16, progress=False)
    assert kt.count_by_kind(keras_encoder) == counts
    assert np.abs(a - b).max() < 2e-3
    assert (a * b).sum(axis=1).min() > 0.9999
    # ... and far closer than two different tweets are
    assert (a[:-1] * a[1:]).sum(axis=1).max() < 0.99


@pytest.mark.parametrize("setup", ["head", "last1", "full", "lora", "lora-all", "adapters"])
def test_parameter_counts_by_kind_agree(setup):
    def build(track):
        enc = track.scratch_encoder(**SMALL)
        clf = track.TextClassifier(enc, 3, freeze=setup if setup in T.FREEZE_LEVELS else "head")
        if setup.startswith("lora"):
            targets = T.LORA_TARGETS if setup == "lora-all" else ("query", "value")
            track.inject_lora(clf, rank=4, alpha=8, targets=targets)
            track.freeze_except(clf, ("lora", "head"))
        elif setup == "adapters":
            track.inject_adapters(clf, bottleneck=8)
            track.freeze_except(clf)
        logits = track.predict(clf, ["a first text", "and a second, longer one"])
        assert logits.shape == (2, 3) and np.isfinite(logits).all()
        return track.count_by_kind(clf)

    assert build(tt) == build(kt)


def test_lora_and_adapter_layers_agree_on_the_same_weights():
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5, 8)).astype("float32")
    w, b = rng.normal(size=(6, 8)).astype("float32"), rng.normal(size=6).astype("float32")
    a_, b_ = rng.normal(size=(2, 8)).astype("float32"), rng.normal(size=(6, 2)).astype("float32")

    t_base = torch.nn.Linear(8, 6)
    t_base.weight.data, t_base.bias.data = torch.from_numpy(w), torch.from_numpy(b)
    t_lora = tt.LoRALinear(t_base, rank=2, alpha=4)
    t_lora.lora_A.data, t_lora.lora_B.data = torch.from_numpy(a_), torch.from_numpy(b_)
    k_base = keras.layers.Dense(6)
    k_base.build((None, 8))
    k_base.kernel.assign(w.T), k_base.bias.assign(b)
    k_lora = kt.LoRA(k_base, rank=2, alpha=4)
    k_lora.lora_a.assign(a_.T), k_lora.lora_b.assign(b_.T)
    np.testing.assert_allclose(t_lora(torch.from_numpy(x)).detach().numpy(),
                               np.asarray(k_lora(x)), rtol=1e-5, atol=1e-5)

    t_ad, k_ad = tt.Adapter(8, bottleneck=3), kt.Adapter(8, bottleneck=3)
    for t_layer, k_layer in ((t_ad.down, k_ad.down), (t_ad.up, k_ad.up)):
        k_layer.kernel.assign(t_layer.weight.detach().numpy().T)
        k_layer.bias.assign(rng.normal(size=k_layer.bias.shape))
        t_layer.bias.data = torch.from_numpy(k_layer.bias.numpy())
    np.testing.assert_allclose(t_ad(torch.from_numpy(x)).detach().numpy(), np.asarray(k_ad(x)),
                               rtol=1e-5, atol=1e-6)
