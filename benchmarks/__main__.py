"""Run every solution notebook in the ``full`` profile and record how long each took.

Executed notebooks (with their measured tables and plots) go to ``benchmarks/results/``,
next to ``timings.csv``. Meant for a GPU machine; on a CPU it runs, slowly.

    python -m benchmarks [--profile full] [--track keras|torch] [--lesson 01-fundamentals]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def run(notebook: Path, profile: str, timeout: int) -> float:
    nb = nbformat.read(notebook, as_version=4)
    os.environ["TLH_PROFILE"] = profile
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    seconds = time.perf_counter() - start
    out = RESULTS / profile / notebook.parent.parent.name / notebook.name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full", choices=["smoke", "standard", "full"])
    parser.add_argument("--track", action="append", choices=["keras", "torch"])
    parser.add_argument("--lesson", action="append", help="e.g. 01-fundamentals (default: all)")
    parser.add_argument("--timeout", type=int, default=7200, help="seconds per cell")
    args = parser.parse_args(argv)
    rows = []
    for track in args.track or ["keras", "torch"]:
        for notebook in sorted((REPO / "solutions" / track).glob("*/*.ipynb")):
            if args.lesson and notebook.parent.name not in args.lesson:
                continue
            seconds = run(notebook, args.profile, args.timeout)
            print(f"{track}/{notebook.parent.name}: {seconds:.0f} s ({args.profile})", flush=True)
            rows.append({"track": track, "lesson": notebook.parent.name, "profile": args.profile,
                         "seconds": round(seconds, 1), "machine": platform.node(),
                         "date": time.strftime("%Y-%m-%d %H:%M")})
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "timings.csv", "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["track"])
        if fh.tell() == 0:
            writer.writeheader()
        writer.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
