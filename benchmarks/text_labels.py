"""From scratch versus pretrained, at 10, 100 and 1,000 labels (Lesson 06, issue 14).

    python -m benchmarks.text_labels [--track torch|keras] [--budgets 10 100 1000]
                                     [--seeds 0 1 2] [--test 2000] [--steps 150]

Task: the tweets (``load_dataset("tweets")``, negative / neutral / positive, all six topics).
Labelled sets: a stratified sample of ``k`` tweets of the train split per seed; test: a
fixed stratified sample of the test split (the same for every method and seed).

Methods (settings fixed a priori, never chosen on the test set):
* ``tfidf+lr`` — word 1-2-gram TF-IDF + logistic regression (C = 1): the honest baseline;
* ``scratch transformer`` — a 2-layer, 128-wide BERT with random weights and the same
  WordPiece tokenizer, trained end to end (AdamW 5e-4, batch 16, ``--steps`` steps);
* ``MiniLM features+lr`` — frozen all-MiniLM-L6-v2 sentence embeddings + logistic regression;
* ``bag of embeddings`` — masked mean of token embeddings + a linear layer (AdamW 5e-3,
  ``--steps`` steps): random and trainable; MiniLM's pretrained token table frozen; the
  same table trainable. This is the "pretrained word embeddings, frozen vs trainable" row.

Accuracy and macro-F1, mean ± std over seeds. Writes ``benchmarks/results/text_labels_<track>.md``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from benchmarks.text_common import (features_lr, machine_line, mean_std, scores, set_threads,
                                    tfidf_lr, track_module, write)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.text_labels")
    parser.add_argument("--track", default="torch", choices=["torch", "keras"])
    parser.add_argument("--budgets", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--test", type=int, default=2000, help="test tweets (stratified sample)")
    parser.add_argument("--steps", type=int, default=150, help="optimiser steps per trained model")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    from tlhelpers import text as T
    from tlhelpers.data import load_dataset

    tx = track_module(args.track)
    set_threads(args.track, args.threads)
    start = time.perf_counter()
    test = load_dataset("tweets", "test", n=args.test, seed=0)
    encoder = tx.load_encoder()
    test_f = tx.embed(encoder, test.x, progress=False, cache=True)
    table = T.token_embedding_table()
    batch = 16

    def epochs(n: int) -> int:
        return max(1, round(args.steps / math.ceil(n / batch)))

    def trained(model, train, lr):
        tx.fit(model, train.x, train.y, epochs=epochs(len(train)), batch_size=batch, lr=lr,
               seed=seed)
        return tx.predict(model, test.x).argmax(1)

    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    for k in args.budgets:
        for seed in args.seeds:
            train = load_dataset("tweets", "train", n=k, seed=seed)
            runs = {
                "tfidf+lr": lambda: tfidf_lr(train.x, train.y, test.x),
                "scratch transformer": lambda: trained(
                    tx.TextClassifier(tx.scratch_encoder(seed=seed), 3), train, 5e-4),
                "MiniLM features+lr": lambda: features_lr(
                    tx.embed(encoder, train.x, progress=False, cache=True), train.y, test_f),
                "bag of embeddings: random, trainable": lambda: trained(
                    tx.BagOfEmbeddings(3, dim=384, trainable=True, seed=seed), train, 5e-3),
                "bag of embeddings: MiniLM table, frozen": lambda: trained(
                    tx.BagOfEmbeddings(3, table=table, trainable=False, seed=seed), train, 5e-3),
                "bag of embeddings: MiniLM table, trainable": lambda: trained(
                    tx.BagOfEmbeddings(3, table=table, trainable=True, seed=seed), train, 5e-3),
            }
            for name, run in runs.items():
                results.setdefault((name, k), []).append(scores(test.y, run()))
            print(f"k={k} seed={seed} done ({time.perf_counter() - start:.0f} s)", flush=True)

    methods = list(dict.fromkeys(name for name, _ in results))
    head = "| method | " + " | ".join(f"{k} labels: acc / macro-F1" for k in args.budgets) + " |"
    lines = [f"# From scratch vs pretrained on the tweets ({args.track})", "",
             f"Test: {len(test)} tweets (stratified sample of the test split; majority class "
             f"{np.bincount(test.y).max() / len(test):.3f}). Seeds {args.seeds}; mean ± std.", "",
             head, "|" + "---|" * (len(args.budgets) + 1)]
    for m in methods:
        cells = [f"{mean_std([r['accuracy'] for r in results[(m, k)]])} / "
                 f"{mean_std([r['macro_f1'] for r in results[(m, k)]])}" for k in args.budgets]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += ["", f"{machine_line(args.track, args.threads)}; "
              f"{time.perf_counter() - start:.0f} s in all."]
    write(f"text_labels_{args.track}.md", "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
