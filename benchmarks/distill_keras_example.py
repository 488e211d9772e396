"""The course's Keras ``Distiller`` against a plain re-implementation of the training step of
keras.io's "Knowledge Distillation" example, on the same models and batches: time per step
and final accuracy, as ratios from one run.

    python -m benchmarks.distill_keras_example [--epochs N] [--temperature 10] [--alpha 0.1]

The peer, ``KerasIODistiller`` below, is written from the example's documented algorithm
(not copied): teacher predictions with ``training=False``; under a gradient tape the
student's predictions with ``training=True``; ``alpha · student_loss + (1 − alpha) ·
KLDivergence(softmax(teacher/T), softmax(student/T)) · T²`` with Keras's ``KLDivergence``
loss on probabilities; gradients for the student's trainable weights only. The example's
defaults: α = 0.1, T = 10. The course's step computes the same loss from log-softmaxes
(no probability clipping) and adds its metric bookkeeping.

Both students start from the same weights and see the same batches in the same order
(pre-shuffled per epoch, ``shuffle=False``); epochs alternate between the two
(A, B, B, A, …) so that the shared machine's load falls on both. Teacher: ``course_cnn``
with a head trained on Digits. Writes ``benchmarks/results/distill_keras_example.md``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def make_peer():
    import keras  # after tlhelpers.keras (main imports it first)
    import tensorflow as tf
    from keras import ops

    class KerasIODistiller(keras.Model):
        """keras.io's distillation step, re-implemented from its description."""

        def __init__(self, student, teacher, alpha: float, temperature: float):
            super().__init__()
            self.student, self.teacher = student, teacher
            self.alpha, self.temperature = alpha, temperature
            self.student_loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            self.distillation_loss_fn = keras.losses.KLDivergence()
            self.acc = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

        @property
        def metrics(self):
            return [self.acc]

        def call(self, x, training=False):
            return self.student(x, training=training)

        def train_step(self, data):
            x, y = data
            teacher_predictions = self.teacher(x, training=False)
            with tf.GradientTape() as tape:
                student_predictions = self.student(x, training=True)
                student_loss = self.student_loss_fn(y, student_predictions)
                distillation_loss = self.distillation_loss_fn(
                    ops.softmax(teacher_predictions / self.temperature, axis=1),
                    ops.softmax(student_predictions / self.temperature, axis=1)) * self.temperature ** 2
                loss = self.alpha * student_loss + (1 - self.alpha) * distillation_loss
            variables = self.student.trainable_variables
            self.optimizer.apply(tape.gradient(loss, variables), variables)
            self.acc.update_state(y, student_predictions)
            return {"loss": loss, "accuracy": self.acc.result()}

    return KerasIODistiller


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.distill_keras_example")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--temperature", type=float, default=10.0)
    parser.add_argument("--alpha", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import tlhelpers.keras as tk  # first: imports TensorFlow quietly
    import keras
    from tlhelpers.data import load_dataset
    from tlhelpers.keras import distill as D
    from tlhelpers.keras.training import evaluate

    tk.seed_everything(args.seed)
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    teacher = D.make_teacher(train, epochs=3, lr=1e-2, fine_tune=False, progress=False)
    teacher_acc = evaluate(teacher, test)["accuracy"]
    student_a, student_b = D.student_cnn(name="course"), D.student_cnn(name="peer")
    student_b.set_weights(student_a.get_weights())
    ours = D.Distiller(student_a, teacher, temperature=args.temperature, alpha=args.alpha)
    peer = make_peer()(student_b, teacher, alpha=args.alpha, temperature=args.temperature)
    for m in (ours, peer):
        m.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-7))
    rng = np.random.default_rng(args.seed)
    steps = int(np.ceil(len(train) / 64))
    times: dict[str, list[float]] = {"course": [], "peer": []}
    for epoch in range(args.epochs):
        order = rng.permutation(len(train))
        x, y = train.x[order], train.y[order]
        pair = [("course", ours), ("peer", peer)]
        for name, model in (pair if epoch % 2 == 0 else pair[::-1]):
            start = time.perf_counter()
            model.fit(x, y, batch_size=64, epochs=epoch + 1, initial_epoch=epoch, shuffle=False, verbose=0)
            times[name].append((time.perf_counter() - start) / steps * 1e3)
    acc = {"course": evaluate(student_a, test)["accuracy"], "peer": evaluate(student_b, test)["accuracy"]}
    ms = {k: statistics.median(v[1:] if len(v) > 1 else v) for k, v in times.items()}  # epoch 1 traces
    lines = [f"# Course Distiller vs keras.io's distillation step (Keras, Digits, T={args.temperature:g}, "
             f"α={args.alpha:g}, {args.epochs} epochs of {steps} steps, seed {args.seed})", "",
             f"Teacher (course_cnn + head): test accuracy {teacher_acc:.3f}. Machine: {platform.node()} "
             "(2 shared CPU cores: read the ratio, not the milliseconds).", "",
             "| step | ms per step (median over epochs 2+) | first epoch (tracing), ms/step | student test accuracy |",
             "|---|---|---|---|"]
    for k in ("course", "peer"):
        lines.append(f"| {k} | {ms[k]:.1f} | {times[k][0]:.1f} | {acc[k]:.3f} |")
    lines += ["", f"Ratio course/peer: time per step {ms['course'] / ms['peer']:.2f}, accuracy difference "
              f"{100 * (acc['course'] - acc['peer']):+.1f} points."]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "distill_keras_example.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
