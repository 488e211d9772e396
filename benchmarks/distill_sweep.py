"""When does distillation help? Student from scratch vs trained on the teacher's hard labels
vs distilled, at 10 and 100 labels per class, with a teacher fine-tuned on the target and a
teacher that never saw a target label (trained on SynDigits); plus a small T/α sweep and the
PyTorch int8 quantisation size/accuracy change. PyTorch track, Digits, CPU.

    python -m benchmarks.distill_sweep [--seeds 0 1 2] [--steps 200]

Set-up (all measured here, nothing selected on the test set):
* labelled set: ``per_class(k, seed)`` of Digits train; transfer set: all 1 297 Digits train
  images (their labels unused except the labelled ones);
* teacher "target": course_cnn (SynDigits-pretrained) fine-tuned on the labelled set
  (every layer, ~40 Adam steps at 3e-4, BatchNorm statistics kept);
  teacher "source": course_cnn + a head trained on SynDigits only;
* student: ``student_cnn`` (24 346 parameters), the same number of Adam steps for every
  method: ``scratch`` = CE on the labelled set; ``hard`` = CE on the teacher's argmax over
  the transfer set; ``kd`` = soft targets only (α = 0) on the transfer set at T;
* sweep (10 labels/class, target teacher): T ∈ {1, 2, 4, 8} with α = 0 on the transfer
  set; α ∈ {0, 0.9} at T = 4 on the labelled set only (no extra images).
Accuracy on the 500 Digits test images, mean ± std over seeds. Writes a Markdown table to
``benchmarks/results/distill_sweep.md``.
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.distill_sweep")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budgets", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--steps", type=int, default=150, help="Adam steps per student (batch 64)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    import torch

    import tlhelpers.torch  # noqa: F401
    from tlhelpers.data import load_dataset
    from tlhelpers.torch import distill as D
    from tlhelpers.torch.training import evaluate, fit, predict

    torch.set_num_threads(args.threads)
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    syn = load_dataset("syndigits", "train", n=4000, seed=0)
    start = time.perf_counter()
    rows: list[tuple[str, str, int, str, float]] = []

    def epochs_for(n: int) -> int:
        return max(1, round(args.steps / math.ceil(n / 64)))

    def student_run(seed: int, data, teacher=None, **kd) -> float:
        torch.manual_seed(seed)
        s = D.student_cnn()
        epochs = epochs_for(len(data[0]) if isinstance(data, tuple) else len(data))
        if teacher is None:
            fit(s, data, epochs=epochs, seed=seed, progress=False)
        else:
            D.distill(s, teacher, data, epochs=epochs, seed=seed, progress=False, **kd)
        return evaluate(s, test)["accuracy"]

    source_teacher = D.make_teacher(syn, epochs=2, lr=1e-2, fine_tune=False, progress=False)
    print(f"source teacher (SynDigits head): Digits test {evaluate(source_teacher, test)['accuracy']:.3f}", flush=True)
    for k in args.budgets:
        for seed in args.seeds:
            labelled = train.per_class(k, seed)
            target_teacher = D.make_teacher(labelled, epochs=max(3, round(40 / math.ceil(len(labelled) / 64))),
                                            lr=3e-4, seed=seed, progress=False)
            rows.append((f"{k}/class", "teacher", seed, "target (fine-tuned)", evaluate(target_teacher, test)["accuracy"]))
            rows.append((f"{k}/class", "teacher", seed, "source (SynDigits)", evaluate(source_teacher, test)["accuracy"]))
            rows.append((f"{k}/class", "scratch", seed, "-", student_run(seed, labelled)))
            for tname, teacher in (("target (fine-tuned)", target_teacher), ("source (SynDigits)", source_teacher)):
                logits = predict(teacher, train.x)
                rows.append((f"{k}/class", "hard", seed, tname, student_run(seed, (train.x, logits.argmax(1)))))
                rows.append((f"{k}/class", "kd T=4", seed, tname,
                             student_run(seed, train.x, teacher=teacher, temperature=4.0, alpha=0.0,
                                         teacher_logits=logits)))
                if k == min(args.budgets) and tname.startswith("target"):
                    for t in (1.0, 2.0, 8.0):
                        rows.append((f"{k}/class", f"kd T={t:g}", seed, tname,
                                     student_run(seed, train.x, teacher=teacher, temperature=t, alpha=0.0,
                                                 teacher_logits=logits)))
                    lab_logits = predict(teacher, labelled.x)
                    for a in (0.0, 0.9):
                        rows.append((f"{k}/class", f"kd labelled-only T=4 α={a:g}", seed, tname,
                                     student_run(seed, labelled, teacher=teacher, temperature=4.0, alpha=a,
                                                 teacher_logits=lab_logits)))
            print(f"{k}/class seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)

    # Quantisation of the last target teacher and a distilled student (PyTorch int8, static, x86).
    q_lines = []
    student = D.student_cnn()
    D.distill(student, target_teacher, train.x, alpha=0.0, temperature=4.0, epochs=epochs_for(len(train)),
              seed=0, progress=False, teacher_logits=predict(target_teacher, train.x))
    reports = []
    for name, model in (("teacher float", target_teacher), ("student float", student)):
        reports.append(D.compression_report(model, test, name=name, repeats=30))
        reports.append(D.compression_report(D.quantize_static(model, train.x[:256]), test,
                                            name=name.replace("float", "int8 static"), repeats=30))
    reports.append(D.compression_report(D.quantize_dynamic(target_teacher), test, name="teacher int8 dynamic",
                                        repeats=30))
    from tlhelpers.distill import format_reports
    q_lines.append(format_reports(reports))

    table = {}
    for budget, method, seed, tname, acc in rows:
        table.setdefault((budget, method, tname), []).append(acc)
    lines = [f"# Distillation sweep (PyTorch, Digits, {args.steps} steps per student, seeds {args.seeds})", "",
             f"Machine: {platform.node()}, torch threads {args.threads}, {time.perf_counter() - start:.0f} s in all.",
             "", "| labels | method | teacher | test accuracy (mean ± std) | per seed |", "|---|---|---|---|---|"]
    for (budget, method, tname), accs in table.items():
        lines.append(f"| {budget} | {method} | {tname} | {np.mean(accs):.3f} ± {np.std(accs, ddof=1) if len(accs) > 1 else 0:.3f}"
                     f" | {', '.join(f'{a:.3f}' for a in accs)} |")
    lines += ["", "## int8 quantisation (PyTorch, last target teacher and a distilled student)", "", *q_lines]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "distill_sweep.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
