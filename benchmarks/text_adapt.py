"""Four ways to adapt a pretrained encoder: accuracy against trainable parameters and wall
time, in one table and one plot (Lesson 06, issue 14).

    python -m benchmarks.text_adapt [--track torch|keras] [--train 1000] [--test 1000]
                                    [--epochs 3] [--seeds 0] [--methods ...]

all-MiniLM-L6-v2 on the tweets (3 classes, all topics; a stratified sample of ``--train``
train tweets per seed, a fixed stratified sample of ``--test`` test tweets). Recipes fixed
a priori from the papers, never tuned on the test set; every trained method gets the same
epochs and batch size (16):

* ``features+lr`` — frozen mean-pooled embeddings + logistic regression (C = 1);
* ``last1``, ``last2`` — the last 1 or 2 transformer layers and the head (AdamW 1e-4);
* ``full`` — everything (AdamW 5e-5, the BERT paper's range);
* ``lora`` — r = 8, α = 16 on query and value (Hu et al. 2021), head trained (AdamW 5e-4);
* ``adapters`` — Houlsby bottleneck 16 after attention and feed-forward, head trained
  (AdamW 1e-3, Houlsby et al. 2019's range).

Trainable parameters come from ``count_by_kind``; wall time is the training (or feature
extraction + fit) time on this machine, so compare rows of one run only. Writes
``benchmarks/results/text_adapt_<track>.md`` and ``.png``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.text_common import (RESULTS, features_lr, machine_line, mean_std, scores,
                                    set_threads, timed, track_module, write)

METHODS = ("features+lr", "last1", "last2", "full", "lora", "adapters")
LR = {"last1": 1e-4, "last2": 1e-4, "full": 5e-5, "lora": 5e-4, "adapters": 1e-3}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.text_adapt")
    parser.add_argument("--track", default="torch", choices=["torch", "keras"])
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    from tlhelpers.data import load_dataset

    tx = track_module(args.track)
    set_threads(args.track, args.threads)
    start = time.perf_counter()
    test = load_dataset("tweets", "test", n=args.test, seed=0)
    rows: dict[str, dict[str, list[float]]] = {}
    for seed in args.seeds:
        train = load_dataset("tweets", "train", n=args.train, seed=seed)
        for method in args.methods:
            encoder = tx.load_encoder()
            if method == "features+lr":
                def run():
                    f = tx.embed(encoder, train.x + test.x, progress=False)
                    return features_lr(f[:len(train)], train.y, f[len(train):])
                pred, seconds = timed(run)
                total = sum(c.total for c in tx.count_by_kind(encoder).values())
                trainable = encoder.hidden_size * 3 + 3          # the logistic regression
            else:
                freeze = method if method in ("last1", "last2", "full") else "head"
                model = tx.TextClassifier(encoder, 3, freeze=freeze)
                if method == "lora":
                    tx.inject_lora(model, rank=8, alpha=16, targets=("query", "value"))
                    tx.freeze_except(model, ("lora", "head"))
                elif method == "adapters":
                    tx.inject_adapters(model, bottleneck=16)
                    tx.freeze_except(model, ("adapter", "head"))
                counts = tx.count_by_kind(model)
                trainable = sum(c.trainable for c in counts.values())
                total = sum(c.total for c in counts.values())
                _, seconds = timed(tx.fit, model, train.x, train.y, epochs=args.epochs,
                                   batch_size=16, lr=LR[method], seed=seed)
                pred = tx.predict(model, test.x).argmax(1)
            s = scores(test.y, pred)
            row = rows.setdefault(method, {"accuracy": [], "macro_f1": [], "seconds": [],
                                           "trainable": [], "total": []})
            for key, value in (*s.items(), ("seconds", seconds), ("trainable", trainable),
                               ("total", total)):
                row[key].append(value)
            print(f"seed {seed} {method}: acc {s['accuracy']:.3f}, {trainable:,} trainable, {seconds:.0f} s "
                  f"({time.perf_counter() - start:.0f} s in all)", flush=True)

    full_acc = np.mean(rows["full"]["accuracy"]) if "full" in rows else None
    lines = [f"# Four ways to adapt all-MiniLM-L6-v2 to the tweets ({args.track})", "",
             f"{args.train} labelled train tweets, {len(test)} test tweets (majority class "
             f"{np.bincount(test.y).max() / len(test):.3f}); {args.epochs} epochs; seeds "
             f"{args.seeds}.", "",
             "| method | trainable parameters | share of the model | accuracy | macro-F1 | "
             "Δ accuracy vs full | training time (s) |", "|---|---|---|---|---|---|---|"]
    for method, r in rows.items():
        delta = "" if full_acc is None else f"{np.mean(r['accuracy']) - full_acc:+.3f}"
        lines.append(f"| {method} | {int(r['trainable'][0]):,} | "
                     f"{r['trainable'][0] / r['total'][0]:.2%} | {mean_std(r['accuracy'])} | "
                     f"{mean_std(r['macro_f1'])} | {delta} | {np.mean(r['seconds']):.0f} |")
    lines += ["", f"{machine_line(args.track, args.threads)}; "
              f"{time.perf_counter() - start:.0f} s in all."]
    write(f"text_adapt_{args.track}.md", "\n".join(lines))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, r in rows.items():
        ax.errorbar(r["trainable"][0], np.mean(r["accuracy"]),
                    yerr=np.std(r["accuracy"]) if len(r["accuracy"]) > 1 else None,
                    fmt="o", capsize=3)
        ax.annotate(f"{method}\n{np.mean(r['seconds']):.0f} s", (r["trainable"][0],
                    np.mean(r["accuracy"])), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters (log scale)")
    ax.set_ylabel(f"test accuracy ({len(test)} tweets)")
    ax.set_title(f"Adapting MiniLM, {args.train} labels ({args.track})")
    fig.tight_layout()
    fig.savefig(RESULTS / f"text_adapt_{args.track}.png", dpi=120)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
