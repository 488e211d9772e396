"""Domain shift in text: train on one topic's tweets, test on the others (Lesson 06, issue 14).

    python -m benchmarks.text_shift [--track torch|keras] [--source airlines] [--train 2000]
                                    [--test 500]

Source: ``--train`` labelled tweets of one topic (stratified sample of its train split).
Targets: every topic's test split (a stratified sample of ``--test``). For each target:

* ``tfidf+lr`` and ``MiniLM features+lr`` trained on the source only;
* ``features+lr, per-domain centring`` — the same, with each domain's embeddings centred
  on that domain's own mean (computed from unlabelled tweets: the source's train sample,
  the target's test sample), a label-free remedy in the spirit of CORAL/AdaBN;
* ``train on target`` — features+lr trained on the same number of the target's *own*
  labelled train tweets: the reference the shift is measured against;
* the proxy A-distance between source and target embeddings
  (:func:`tlhelpers.divergence.proxy_a_distance`).

The topics also differ in class priors (self-driving cars: 88 % neutral; airlines: 63 %
negative), so the drop mixes covariate and label shift; macro-F1 is reported next to
accuracy for that reason. Writes ``benchmarks/results/text_shift_<track>.md``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.text_common import (features_lr, machine_line, scores, set_threads, tfidf_lr,
                                    track_module, write)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.text_shift")
    parser.add_argument("--track", default="torch", choices=["torch", "keras"])
    parser.add_argument("--source", default="airlines")
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    from tlhelpers.data import load_dataset
    from tlhelpers.data.sentiment import DOMAINS
    from tlhelpers.divergence import proxy_a_distance

    tx = track_module(args.track)
    set_threads(args.track, args.threads)
    start = time.perf_counter()
    encoder = tx.load_encoder()

    def embed(texts):
        return tx.embed(encoder, texts, progress=False, cache=True)

    def sample(split, domain, n):
        full = load_dataset("tweets", split, domains=domain)
        return load_dataset("tweets", split, domains=domain, n=min(n, len(full)), seed=args.seed)

    src = sample("train", args.source, args.train)
    src_f = embed(src.x)
    lines = [f"# Train on {args.source!r} tweets, test on every topic ({args.track})", "",
             f"Source: {len(src)} labelled {args.source} tweets. Targets: up to {args.test} "
             f"test tweets per topic. Accuracy / macro-F1.", "",
             "| target | n | majority class | tfidf+lr | features+lr | features+lr, "
             "per-domain centring | train on target | proxy A-distance |",
             "|---|---|---|---|---|---|---|---|"]
    for domain in DOMAINS:
        tgt = sample("test", domain, args.test)
        tgt_f = embed(tgt.x)
        own = sample("train", domain, len(src))
        cells = []
        for pred in (tfidf_lr(src.x, src.y, tgt.x),
                     features_lr(src_f, src.y, tgt_f),
                     features_lr(src_f - src_f.mean(0), src.y, tgt_f - tgt_f.mean(0)),
                     features_lr(embed(own.x), own.y, tgt_f)):
            s = scores(tgt.y, pred)
            cells.append(f"{s['accuracy']:.3f} / {s['macro_f1']:.3f}")
        pad = proxy_a_distance(src_f, tgt_f, seed=args.seed)
        majority = np.bincount(tgt.y, minlength=3).max() / len(tgt)
        lines.append(f"| {domain}{' (source)' if domain == args.source else ''} | {len(tgt)} | "
                     f"{majority:.3f} | " + " | ".join(cells) + f" | {pad:.2f} |")
        print(f"{lines[-1]}   ({time.perf_counter() - start:.0f} s)", flush=True)
    lines += ["", f"'train on target' uses up to {len(src)} of the target topic's own train "
              "tweets (fewer where the topic has fewer).",
              f"{machine_line(args.track, args.threads)}; {time.perf_counter() - start:.0f} s in all."]
    write(f"text_shift_{args.track}.md", "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
