"""Race the PyTorch track's MMD² and CORAL losses (forward + backward) against independent
implementations from PyPI, after checking that they compute the same values.

Peers (benchmarks/requirements-peers.txt), in a SEPARATE virtual environment:

    python3 -m venv .venv-peers
    .venv-peers/bin/pip install -r benchmarks/requirements-peers.txt -e .
    .venv-peers/bin/python -m benchmarks.divergence_peer [--sizes 64 256 1024] [--rounds 30]

* CORAL: ``skada.deep.losses.deepcoral_loss`` (‖C_S − C_T‖²_F / 4d², centred, n − 1 — the
  same definition as ``tlhelpers.torch.divergence.coral_distance``).
* MMD², V-statistic, Gaussian kernels at fixed bandwidths: ``geomloss.SamplesLoss("gaussian",
  blur=σ)``, which is ½ MMD²_V with k = exp(−‖x − y‖²/2σ²); averaged over the same σ's as
  ``mmd2_biased(bandwidth=σ's)``.
* DAN's default multi-kernel loss: ``skada.deep.losses.dan_loss`` against our
  ``mmd2_unbiased`` (median heuristic × (½, 1, 2)). Timed, but **not the same quantity**:
  skada's kernel is exp(−‖x − y‖/σ) on *unsquared* distances (a Laplacian kernel), summed
  over 33 bandwidths around the median source distance, in the biased V-statistic; the
  script checks that reading against a NumPy re-computation instead.

Each timing is one forward and backward pass on float32 CPU tensors of shape (n, d),
ours and the peer's interleaved round by round in one process (the ratio of medians is
what to read; the machine's other load moves both). Prints a Markdown table and writes it
to ``benchmarks/results/divergence_peer.md``.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def _import_peers():
    try:
        from geomloss import SamplesLoss
        from skada.deep.losses import dan_loss, deepcoral_loss
    except ImportError as err:
        raise SystemExit(f"{err}. The peers live in a separate environment; create it with\n"
                         "  python3 -m venv .venv-peers\n"
                         "  .venv-peers/bin/pip install -r benchmarks/requirements-peers.txt -e .\n"
                         "and run this with .venv-peers/bin/python -m benchmarks.divergence_peer") from None
    return SamplesLoss, dan_loss, deepcoral_loss


def _laplacian_v_statistic(x: np.ndarray, y: np.ndarray, sigmas: np.ndarray) -> float:
    """What skada's dan_loss computes: V-statistic of Σ_σ exp(−‖a − b‖/σ)."""
    def k(a, b):
        d = np.sqrt(np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0.0))
        return np.exp(-d[None] / sigmas[:, None, None]).sum(0)
    return float(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean())


def _time(fn, x, y) -> float:
    x.grad = y.grad = None
    start = time.perf_counter()
    fn(x, y).backward()
    return time.perf_counter() - start


def race(name: str, ours, peer, n: int, d: int, rounds: int, seed: int) -> dict:
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, requires_grad=True)
    y = (1.3 * torch.randn(n, d, generator=g) + 0.5).requires_grad_(True)
    for _ in range(3):  # warm-up
        _time(ours, x, y)
        _time(peer, x, y)
    t_ours, t_peer = [], []
    for r in range(rounds):  # interleaved, alternating who goes first
        first, second = (ours, peer) if r % 2 == 0 else (peer, ours)
        a, b = _time(first, x, y), _time(second, x, y)
        t_ours.append(a if r % 2 == 0 else b)
        t_peer.append(b if r % 2 == 0 else a)
    with torch.no_grad():
        v_ours, v_peer = float(ours(x, y)), float(peer(x, y))
    return {"loss": name, "n": n, "d": d, "ours": v_ours, "peer": v_peer,
            "rel_diff": abs(v_ours - v_peer) / max(abs(v_peer), 1e-30),
            "ours_ms": 1e3 * float(np.median(t_ours)), "peer_ms": 1e3 * float(np.median(t_peer))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.divergence_peer", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256, 1024], help="samples per domain")
    parser.add_argument("--dim", type=int, default=128, help="feature width (course_cnn: 128)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)

    import torch

    from tlhelpers.torch import divergence as TD

    SamplesLoss, dan_loss, deepcoral_loss = _import_peers()
    torch.set_num_threads(args.threads)
    sigmas = (2.0, 4.0, 8.0)  # fixed: around the median distance of these (n, 128) samples (~16)
    kernels = [SamplesLoss("gaussian", blur=s, backend="tensorized") for s in sigmas]

    def geomloss_mmd2(x, y):
        return sum(2.0 * k(x, y) for k in kernels) / len(kernels)

    pairs = [
        ("CORAL vs skada.deepcoral_loss", TD.coral_distance, deepcoral_loss),
        ("MMD² V-stat, 3 Gaussian σ vs geomloss", lambda x, y: TD.mmd2_biased(x, y, bandwidth=sigmas), geomloss_mmd2),
        ("DAN loss: ours unbiased vs skada.dan_loss (different kernel)", TD.mmd2_unbiased, dan_loss),
    ]
    rows = [race(name, ours, peer, n, args.dim, args.rounds, seed=n)
            for n in args.sizes for name, ours, peer in pairs]

    # skada's dan_loss is a Laplacian-kernel V-statistic: check that reading of its code.
    g = torch.Generator().manual_seed(0)
    # at most 25 rows: torch.cdist then computes distances directly (exact zeros on the diagonal)
    x, y = torch.randn(25, 6, generator=g), torch.randn(20, 6, generator=g)  # skada's σ's are float32
    median = float(torch.median(torch.cdist(x, x))) + 1e-7
    skada_sigmas = median * np.array([2 ** (-8) * 2 ** (i / 2) for i in range(33)])
    reference = _laplacian_v_statistic(x.double().numpy(), y.double().numpy(), skada_sigmas)
    laplacian_check = abs(float(dan_loss(x, y)) - reference) / reference

    lines = [f"Forward + backward, float32 CPU, torch {torch.__version__}, {args.threads} thread(s), "
             f"median of {args.rounds} interleaved rounds, d = {args.dim}, {platform.node()} "
             f"({time.strftime('%Y-%m-%d %H:%M')}). Shared machine: read the ratios.", "",
             "| loss | n per domain | ours | peer | rel. diff | ours ms | peer ms | ours / peer |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['loss']} | {r['n']} | {r['ours']:.6g} | {r['peer']:.6g} | {r['rel_diff']:.1e} | "
                     f"{r['ours_ms']:.2f} | {r['peer_ms']:.2f} | {r['ours_ms'] / r['peer_ms']:.2f} |")
    lines += ["", f"skada.dan_loss against a NumPy Laplacian-kernel V-statistic (Σ over 33 σ around the "
              f"median source distance of exp(−‖x − y‖/σ)): relative difference {laplacian_check:.1e}; "
              "skada's DAN loss is not DAN's Gaussian multi-kernel MMD²."]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "divergence_peer.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
