"""Reproduce the MedMNIST v2 ResNet-18 (28) baselines (Yang et al., Scientific Data 2023)
on PneumoniaMNIST and BreastMNIST with the PyTorch track, and report ours beside theirs.

    python -m benchmarks.medical_medmnist [--datasets pneumoniamnist breastmnist] [--seeds 0 1 2]

The recipe, as published for the 2D baselines: ResNet-18 with a 3×3 stride-1 first
convolution and no max-pooling (28-pixel inputs), images normalised to mean 0.5, std 0.5,
cross-entropy, Adam at lr 1e-3, batch 128, 100 epochs, lr × 0.1 at epochs 50 and 75; the
checkpoint kept is the epoch with the best **validation** AUC (the test set is read once,
at the end). AUC is from the positive class's probability (tlhelpers.metrics.roc_auc), ACC
at the argmax; each with a 95 % stratified bootstrap interval, and the mean over seeds.

Needs the real files (network, or pre-placed in ``TLH_DATA_DIR``; see
``tlhelpers.data.offline_instructions("pneumoniamnist")``); meant for a GPU (about a minute
per epoch-hundred on PneumoniaMNIST there). ``--allow-standin`` runs the script end to end on
the SYNTHETIC stand-in instead (a check of the script, not a reproduction: its rows are
labelled so). Writes ``benchmarks/results/medical_medmnist.md``.

The paper's figures (AUC / ACC, test): PneumoniaMNIST .944 / .854, BreastMNIST .901 / .863
(COURSE.md §6, to be checked against the paper's Table of 2D results before quoting).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
PAPER = {"pneumoniamnist": (0.944, 0.854), "breastmnist": (0.901, 0.863)}


def resnet18_28(in_channels: int, num_classes: int):
    """ResNet-18 for 28-pixel images: 3×3 stride-1 stem, no max-pool, four stages of two
    basic blocks (64, 128, 256, 512 channels), global average pooling, linear head."""
    from torch import nn

    class Basic(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
            self.skip = (nn.Identity() if stride == 1 and cin == cout else
                         nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

        def forward(self, x):
            return nn.functional.relu(self.body(x) + self.skip(x))

    layers, cin = [], 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [Basic(cin, cout, stride), Basic(cout, cout, 1)]
        cin = cout
    return nn.Sequential(nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                         *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes))


def run(name: str, seed: int, epochs: int, allow_standin: bool, device: str) -> dict:
    import torch

    from tlhelpers.data.medmnist import load_medical
    from tlhelpers.metrics import roc_auc

    splits = load_medical(name, n={"train": None, "val": None, "test": None}, seed=0, fallback=allow_standin)
    torch.manual_seed(seed)
    to_t = lambda ds: (torch.tensor((ds.x.transpose(0, 3, 1, 2) - 0.5) / 0.5),  # noqa: E731
                       torch.tensor(ds.y))
    (xtr, ytr), (xva, yva), (xte, yte) = map(to_t, (splits.train, splits.val, splits.test))
    model = resnet18_28(xtr.shape[1], splits.train.num_classes).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [int(0.5 * epochs), int(0.75 * epochs)], 0.1)
    gen = torch.Generator().manual_seed(seed)

    def probabilities(x):
        model.eval()
        with torch.no_grad():
            return torch.cat([model(x[i:i + 512].to(device)).softmax(1).cpu() for i in range(0, len(x), 512)]).numpy()

    def auc(y, p):
        return roc_auc(y, p) if p.shape[1] > 2 else roc_auc(y, p[:, 1])

    best, best_state, start = -1.0, None, time.perf_counter()
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(xtr), generator=gen).split(128):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xtr[idx].to(device)), ytr[idx].to(device)).backward()
            opt.step()
        sched.step()
        val_auc = auc(yva.numpy(), probabilities(xva))
        if val_auc > best:
            best, best_state = val_auc, {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    p = probabilities(xte)
    return {"dataset": name, "seed": seed, "synthetic": splits.synthetic, "val_auc": best,
            "test_auc": auc(yte.numpy(), p), "test_acc": float((p.argmax(1) == yte.numpy()).mean()),
            "seconds": time.perf_counter() - start, "y": yte.numpy(), "p": p}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(PAPER), choices=list(PAPER))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--allow-standin", action="store_true",
                        help="run on the SYNTHETIC stand-in when the real data are unavailable")
    args = parser.parse_args(argv)
    import torch

    from tlhelpers.metrics import bootstrap_ci, roc_auc

    device = "cuda" if torch.cuda.is_available() else "cpu"
    lines = ["# MedMNIST v2 ResNet-18 (28): ours beside the paper's", "",
             f"{args.epochs} epochs, seeds {args.seeds}, device {device}; checkpoint = best validation AUC; "
             "test AUC / ACC with 95 % stratified bootstrap intervals (1000 resamples).", "",
             "| dataset | seed | data | test AUC [95 % CI] | test ACC [95 % CI] | paper AUC / ACC | minutes |",
             "|---|---:|---|---|---|---|---:|"]
    for name in args.datasets:
        rows = [run(name, seed, args.epochs, args.allow_standin, device) for seed in args.seeds]
        for r in rows:
            auc_ci = bootstrap_ci(lambda y, p: roc_auc(y, p[:, 1]), r["y"], r["p"])
            acc_ci = bootstrap_ci(lambda y, p: float((p.argmax(1) == y).mean()), r["y"], r["p"])
            data = "SYNTHETIC stand-in" if r["synthetic"] else "real"
            lines.append(f"| {name} | {r['seed']} | {data} | {auc_ci} | {acc_ci} | "
                         f"{PAPER[name][0]:.3f} / {PAPER[name][1]:.3f} | {r['seconds'] / 60:.1f} |")
        aucs, accs = [r["test_auc"] for r in rows], [r["test_acc"] for r in rows]
        lines.append(f"| {name} | mean ± sd | | {np.mean(aucs):.3f} ± {np.std(aucs, ddof=1) if len(aucs) > 1 else 0:.3f} "
                     f"| {np.mean(accs):.3f} ± {np.std(accs, ddof=1) if len(accs) > 1 else 0:.3f} | | |")
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "medical_medmnist.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
