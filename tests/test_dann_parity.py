"""DANN: the framework-neutral pieces (schedules, gap closed, embeddings) and the two
tracks held to each other — the GRL and the schedules exactly, the losses to float32."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tlhelpers import dann as core
from tlhelpers import embedding
from tlhelpers.schedules import dann_lambda, dann_lr

LAMBDAS = (0.1, 1.0, 10.0)


# --------------------------------------------------------------------------------------
# Core
# --------------------------------------------------------------------------------------

def test_schedules_are_the_papers():
    assert dann_lambda(0.0) == 0.0
    assert round(dann_lambda(0.1), 4) == 0.4621 and round(dann_lambda(0.5), 4) == 0.9866
    assert dann_lambda(1.0) == pytest.approx(2 / (1 + math.exp(-10)) - 1)
    assert dann_lambda(0.5, gamma=1.0) == pytest.approx(2 / (1 + math.exp(-0.5)) - 1)
    assert dann_lr(0.0) == 1.0 and dann_lr(1.0) == pytest.approx(11 ** -0.75)
    assert dann_lr(0.3, alpha=0.0) == 1.0 and dann_lr(0.5, alpha=2.0, beta=1.0) == pytest.approx(0.5)
    values = [dann_lambda(p) for p in np.linspace(0, 1, 11)]
    assert values == sorted(values)  # rises from 0 towards 1


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "half", True, None])
def test_schedules_reject_a_progress_outside_0_1(bad):
    for schedule in (dann_lambda, dann_lr):
        with pytest.raises(ValueError, match="progress must be a finite number >= 0 and <= 1"):
            schedule(bad)


def test_schedules_reject_bad_constants():
    for call, match in ((lambda: dann_lambda(0.5, gamma=0), "gamma"), (lambda: dann_lambda(0.5, gamma=-1), "gamma"),
                        (lambda: dann_lr(0.5, alpha=-1), "alpha"), (lambda: dann_lr(0.5, beta=float("nan")), "beta"),
                        (lambda: dann_lr(0.5, beta="x"), "beta")):
        with pytest.raises(ValueError, match=match):
            call()


def test_gap_closed_and_the_papers_table():
    t = core.PAPER_TABLE2["MNIST -> MNIST-M"]
    assert core.gap_closed(t["source_only"], t["dann"], t["train_on_target"]) == pytest.approx(0.5585, abs=1e-4)
    s = core.PAPER_TABLE2["SVHN -> MNIST"]
    assert core.gap_closed(s["source_only"], s["dann"], s["train_on_target"]) == pytest.approx(0.426, abs=1e-3)
    assert core.gap_closed(0.5, 0.4, 0.9) == pytest.approx(-0.25)  # negative transfer
    for args, match in (((0.5, 1.2, 0.9), "adapted"), ((0.9, 0.95, 0.9), "no gap"), (("a", 0.5, 0.9), "source_only"),
                        ((0.5, 0.6, None), "train_on_target")):
        with pytest.raises(ValueError, match=match):
            core.gap_closed(*args)


def test_check_lambda():
    assert core.check_lambda(0) == 0.0 and core.check_lambda(np.float32(2.5)) == 2.5
    for bad in (-1e-9, float("inf"), "1", None, True):
        with pytest.raises(ValueError, match="lambda_ must be a finite number >= 0"):
            core.check_lambda(bad)
    with pytest.raises(ValueError, match="coefficient"):
        core.check_lambda(-1, "coefficient")


def test_embedding_is_seeded_and_shaped():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (40, 5)), rng.normal(3, 1, (40, 5))])
    a, b = embedding.embed(x, seed=1, perplexity=10), embedding.embed(x, seed=1, perplexity=10)
    assert a.shape == (80, 2) and np.array_equal(a, b)
    pca = embedding.embed(x, method="pca")
    assert pca.shape == (80, 2) and np.array_equal(pca, embedding.embed(x, method="pca", seed=5))
    assert embedding.embed(x[:4]).shape == (4, 2)  # perplexity lowered for tiny inputs


def test_plot_domains_embeds_both_domains_together():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    fs, ft = rng.normal(0, 1, (30, 4)), rng.normal(2, 1, (50, 4))
    ax, points = embedding.plot_domains(fs, ft, source_labels=np.arange(30) % 3, target_labels=np.arange(50) % 3,
                                        method="pca", max_points=40, class_names=["a", "b", "c"])
    assert points.shape == (70, 2) and "PCA" in ax.get_title() and ax.get_xlabel() == "PC 1"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"source", "target", "a", "b", "c"} <= set(labels)
    plt.close("all")


def test_embedding_bad_input():
    x = np.zeros((10, 3))
    for call, match in ((lambda: embedding.embed(x, method="umap"), "method must be one of"),
                        (lambda: embedding.embed(np.zeros(5)), "2-D array"),
                        (lambda: embedding.embed(np.full((5, 2), np.nan)), "NaN"),
                        (lambda: embedding.embed(np.zeros((2, 3))), "at least 3"),
                        (lambda: embedding.embed(x, seed=-1), "seed"),
                        (lambda: embedding.embed(x, perplexity=0), "perplexity"),
                        (lambda: embedding.plot_domains(x, np.zeros((4, 2))), "same width"),
                        (lambda: embedding.plot_domains(x, x, source_labels=[0, 1]), "source_labels has 2 labels"),
                        (lambda: embedding.plot_domains(x, np.zeros((0, 3))), "target_features is empty"),
                        (lambda: embedding.plot_domains(x, x, max_points=1), "max_points")):
        with pytest.raises(ValueError, match=match):
            call()


# --------------------------------------------------------------------------------------
# Across tracks
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tracks():
    torch = pytest.importorskip("torch")
    pytest.importorskip("keras")
    tf = pytest.importorskip("tensorflow")
    from tlhelpers.keras import dann as KD
    from tlhelpers.torch import dann as TD

    return torch, tf, TD, KD


@pytest.mark.parametrize("lam", LAMBDAS)
def test_grl_gradients_agree_exactly(tracks, lam):
    torch, tf, TD, KD = tracks
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((6, 5)).astype("float32"), rng.standard_normal((6, 5)).astype("float32")
    xt = torch.from_numpy(x).requires_grad_(True)
    (grad_t,) = torch.autograd.grad(TD.GradientReversal(lam)(xt), xt, grad_outputs=torch.from_numpy(g))
    xk = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xk)
        y = KD.GradientReversal(lam)(xk)
    grad_k = tape.gradient(y, xk, output_gradients=tf.constant(g))
    np.testing.assert_array_equal(grad_t.numpy(), grad_k.numpy())
    np.testing.assert_array_equal(grad_t.numpy(), -np.float32(lam) * g)


def test_schedules_agree_step_by_step(tracks):
    torch, tf, TD, KD = tracks
    import keras

    total = 7
    grl_t, grl_k = TD.GradientReversal(), KD.GradientReversal()
    sched_t, sched_k = TD.LambdaSchedule(grl_t, total), KD.LambdaSchedule(grl_k, total)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.01, momentum=0.9)
    anneal_t = TD.LRAnnealing(optimizer, total)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="mse")
    anneal_k = KD.LRAnnealing(total)
    anneal_k.set_model(model)
    anneal_k.on_train_begin()
    lambdas, lrs = [], []
    for step in range(total + 2):
        sched_k.on_train_batch_begin(step)
        anneal_k.on_train_batch_begin(step)
        lambdas.append((grl_t.lambda_, grl_k.lambda_))
        lrs.append((optimizer.param_groups[0]["lr"], float(model.optimizer.learning_rate.numpy())))
        sched_t.step()
        optimizer.step()
        anneal_t.step()
    for (t, k), step in zip(lambdas, range(total + 2)):
        assert np.float32(t) == np.float32(k) == np.float32(dann_lambda(min(step, total - 1) / total))
    for (t, k), step in zip(lrs, range(total + 2)):
        expected = np.float32(0.01 * dann_lr(min(step, total - 1) / total))
        assert np.float32(t) == expected  # Keras keeps μ0 in a float32 variable: within one ulp
        np.testing.assert_array_max_ulp(np.float32(k), expected, maxulp=1)


def copy_discriminator(torch_seq, keras_seq):
    linears = [m for m in torch_seq if hasattr(m, "weight")]
    for lin, dense in zip(linears, keras_seq.layers):
        dense.set_weights([lin.weight.detach().numpy().T, lin.bias.detach().numpy()])


@pytest.mark.parametrize("kind", ["dann", "cdan", "cdan+e"])
def test_domain_losses_agree(tracks, kind):
    torch, tf, TD, KD = tracks
    rng = np.random.default_rng(1)
    fs, ft = rng.standard_normal((5, 4)).astype("float32"), rng.standard_normal((7, 4)).astype("float32")
    gs, gt = rng.standard_normal((5, 3)).astype("float32"), rng.standard_normal((7, 3)).astype("float32")
    width = 4 if kind == "dann" else 12
    torch.manual_seed(0)
    disc_t, disc_k = TD.domain_discriminator(width, (8,)), KD.domain_discriminator(width, (8,))
    copy_discriminator(disc_t, disc_k)
    if kind == "dann":
        loss_t, loss_k = TD.DomainAdversarialLoss(disc_t, 0.5), KD.DomainAdversarialLoss(disc_k, 0.5)
        args_t, args_k = [torch.from_numpy(fs), torch.from_numpy(ft)], [tf.constant(fs), tf.constant(ft)]
    else:
        e = kind == "cdan+e"
        loss_t = TD.ConditionalDomainAdversarialLoss(disc_t, 0.5, entropy=e)
        loss_k = KD.ConditionalDomainAdversarialLoss(disc_k, 0.5, entropy=e)
        args_t = [torch.from_numpy(a) for a in (fs, ft, gs, gt)]
        args_k = [tf.constant(a) for a in (fs, ft, gs, gt)]
    args_t[0].requires_grad_(True)
    value_t, acc_t = loss_t.loss_and_accuracy(*args_t)
    (grad_t,) = torch.autograd.grad(value_t, args_t[0])
    with tf.GradientTape() as tape:
        tape.watch(args_k[0])
        value_k, acc_k = loss_k.loss_and_accuracy(*args_k)
    grad_k = tape.gradient(value_k, args_k[0])
    assert float(value_t) == pytest.approx(float(value_k), rel=1e-6)
    assert float(acc_t) == float(acc_k)
    np.testing.assert_allclose(grad_t.numpy(), grad_k.numpy(), rtol=1e-5, atol=1e-7)


def test_one_dann_step_agrees(tracks):
    torch, tf, TD, KD = tracks
    import _adapt_toy as toy

    xs, ys, xt, _ = toy.toy_domains(12)
    torch_model = toy.torch_classifier(seed=3)
    keras_model = toy.keras_classifier(torch_model)
    dann_t, dann_k = TD.DANN(torch_model, hidden=(5,)), KD.DANN(keras_model, hidden=(5,))
    copy_discriminator(dann_t.discriminator, dann_k.discriminator)
    dann_t.train()
    out_t = dann_t.step_losses(torch.from_numpy(xs.transpose(0, 3, 1, 2).copy()), torch.from_numpy(ys),
                               torch.from_numpy(xt.transpose(0, 3, 1, 2).copy()), progress=0.3)
    head_t = torch.autograd.grad(out_t["loss"], [dann_t.classifier.head.weight, dann_t.discriminator[0].weight])
    dann_k.set_progress(0.3)
    with tf.GradientTape() as tape:
        out_k = dann_k.step_losses(xs, ys, xt, training=True)
    head_k = tape.gradient(out_k["loss"], [dann_k.classifier.get_layer("head").kernel,
                                           dann_k.discriminator.layers[0].kernel])
    assert dann_t.grl.lambda_ == pytest.approx(dann_k.grl.lambda_, rel=1e-7)
    for key in ("loss", "class_loss", "align_loss", "domain_accuracy"):
        assert float(out_t[key]) == pytest.approx(float(out_k[key]), rel=1e-5, abs=1e-6), key
    for a, b in zip(head_t, head_k):
        np.testing.assert_allclose(a.numpy().T, b.numpy(), rtol=1e-4, atol=1e-6)


def test_the_papers_networks_have_the_same_size(tracks):
    torch, tf, TD, KD = tracks
    for shape in ((28, 28, 3), (32, 32, 3)):
        n_t = sum(p.numel() for p in TD.ganin_digits_classifier(10, shape).parameters())
        n_k = KD.ganin_digits_classifier(10, shape).count_params()
        assert n_t == n_k
    assert sum(p.numel() for p in TD.domain_discriminator(768).parameters()) == \
        KD.domain_discriminator(768).count_params() == 768 * 100 + 100 + 101
