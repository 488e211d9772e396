"""Race the Keras track's DANN against ADAPT's ``DANN`` (adapt 0.4.5, TensorFlow) on the same
network, data and recipe: target accuracy and seconds per epoch, interleaved epoch by epoch
in one process (the ratio is what to read; the machine's other load moves both).

ADAPT needs the full ``tensorflow`` package, ``scikeras`` and ``cvxopt`` (COURSE.md §7),
so it lives in a SEPARATE virtual environment, never the course's:

    python3 -m venv .venv-peers
    .venv-peers/bin/pip install adapt==0.4.5 platformdirs tqdm scikit-image==0.26.0 pillow
    .venv-peers/bin/pip install --no-deps -e .
    .venv-peers/bin/python -m benchmarks.dann_peer [--epochs 10] [--seed 0]

(adapt pulls tensorflow 2.21 with Keras 3.15, the course's Keras; tlhelpers goes in
without its dependencies: only the Keras track and the embedded data are imported.)
pytorch-adapt, the PyTorch peer, needs torchvision, which fails to import next to the
course's CPU torch 2.13 build (COURSE.md §7), so it is not raced here.

Same for both: ``ganin_digits_classifier`` (encoder = its feature extractor, task = its
label predictor, discriminator = ``domain_discriminator(features, (100,))`` — plus a
sigmoid for ADAPT, which wants probabilities), identical initial weights, Digits →
Digits-M, 64 source + 64 target images per step, SGD(0.01, momentum 0.9) without
annealing (ADAPT clones one optimizer per network and has no annealing callback), and
λ_p = 2/(1 + exp(−10p)) − 1 over the whole run (ours: ``LambdaSchedule``; ADAPT: its
``UpdateLambda(gamma=10)``). ADAPT's discriminator loss is the *sum* of the two domains'
mean cross-entropies, ours their mean, so ours runs with ``trade_off=2`` to optimise
the same objective. Differences that remain: ADAPT passes source and target through the
encoder separately (ours concatenates them: one forward pass) and keeps three optimizers.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
BATCH = 64


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dann_peer", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        from adapt.feature_based import DANN as AdaptDANN
        from adapt.utils import UpdateLambda
    except ImportError as err:
        raise SystemExit(f"{err}. ADAPT lives in a separate environment; see this script's docstring.") from None
    import keras
    import tensorflow as tf

    from tlhelpers.data import load_dataset
    from tlhelpers.keras import dann
    from tlhelpers.keras.training import evaluate

    src, tgt, tst = load_dataset("digits", "train"), load_dataset("digits-m", "train"), load_dataset("digits-m", "test")
    mean = np.concatenate([src.x, tgt.x]).reshape(-1, 3).mean(0)
    steps_per_epoch = len(src.x) // BATCH
    total = args.epochs * steps_per_epoch

    keras.utils.set_random_seed(args.seed)
    ours = dann.DANN(dann.ganin_digits_classifier(10, src.x.shape[1:], mean=mean), trade_off=2.0)
    ours.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
    ours_callbacks = [dann.LambdaSchedule(ours.grl, total)]

    # ADAPT: the same three networks, with the same initial weights.
    peer_net = dann.ganin_digits_classifier(10, src.x.shape[1:], mean=mean)
    peer_net.set_weights(ours.classifier.get_weights())
    encoder, task = peer_net.get_layer("ganin_features"), peer_net.get_layer("head")
    disc = dann.domain_discriminator(encoder.output_shape[-1], (100,), name="peer_discriminator")
    disc.set_weights(ours.discriminator.get_weights())
    discriminator = keras.Sequential([disc, keras.layers.Activation("sigmoid")])
    lam = tf.Variable(0.0, trainable=False)
    peer = AdaptDANN(encoder=encoder, task=task, discriminator=discriminator, Xt=tgt.x, lambda_=lam,
                     loss=keras.losses.CategoricalCrossentropy(from_logits=True),  # ADAPT wants one-hot labels
                     optimizer=keras.optimizers.SGD(0.01, momentum=0.9), metrics=["acc"], copy=False,
                     random_state=args.seed, verbose=0)
    peer_callbacks = [UpdateLambda(lambda_max=1.0, max_steps=total, gamma=10.0)]

    rng = np.random.default_rng(args.seed)
    times = {"ours": [], "adapt": []}
    steps = {"ours": steps_per_epoch, "adapt": None}
    for epoch in range(args.epochs):
        order = [("ours", "adapt"), ("adapt", "ours")][epoch % 2]  # alternate who goes first
        for who in order:
            start = time.perf_counter()
            if who == "ours":
                i_s = rng.permutation(len(src.x))[:steps_per_epoch * BATCH]
                i_t = rng.permutation(len(tgt.x))[:steps_per_epoch * BATCH]
                batches = tf.data.Dataset.from_tensor_slices(((src.x[i_s], tgt.x[i_t]), src.y[i_s])).batch(BATCH)
                ours.fit(batches, epochs=1, verbose=0, callbacks=ours_callbacks)
            else:
                peer.fit(src.x, np.eye(10, dtype=np.float32)[src.y], Xt=tgt.x, epochs=1, batch_size=BATCH, verbose=0,
                                   callbacks=peer_callbacks)
                if steps["adapt"] is None:
                    steps["adapt"] = int(peer_callbacks[0].steps)
            times[who].append(time.perf_counter() - start)
        print(f"epoch {epoch + 1}: ours {times['ours'][-1]:.1f} s, ADAPT {times['adapt'][-1]:.1f} s", flush=True)
    acc_ours = evaluate(ours.classifier, tst)["accuracy"]
    acc_peer = float(np.mean(np.argmax(peer.predict(tst.x, verbose=0), axis=1) == tst.y))
    # the first epoch of each includes tracing; the median of the rest is the steady state
    med = {k: float(np.median(v[1:] if len(v) > 1 else v)) for k, v in times.items()}
    lines = [f"### DANN vs ADAPT {getattr(__import__('adapt'), '__version__', '0.4.5')}: Digits -> Digits-M, "
             f"{args.epochs} epochs, seed {args.seed}", "",
             f"Machine: {platform.node()}, {time.strftime('%Y-%m-%d %H:%M')}, TensorFlow {tf.__version__}, "
             f"Keras {keras.__version__}; epochs interleaved in one process.", "",
             "| | target accuracy | s per epoch (median, after the first) | steps per epoch |", "|---|---|---|---|",
             f"| tlhelpers.keras.dann | {acc_ours:.4f} | {med['ours']:.2f} | {steps['ours']} |",
             f"| adapt DANN | {acc_peer:.4f} | {med['adapt']:.2f} | {steps['adapt']} |", "",
             f"Time per epoch, ADAPT / ours: {med['adapt'] / med['ours']:.2f}; per step: "
             f"{(med['adapt'] / steps['adapt']) / (med['ours'] / steps['ours']):.2f}."]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dann_peer.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
