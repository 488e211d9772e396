"""Benchmarks: notebooks end to end, Lesson 01's experiment mix, helper micro-benchmarks.

Lesson notebooks end to end, Lesson 01's experiment mix per track, and micro-benchmarks
of the course helpers against the plain frameworks (see benchmarks/README.md):

    python -m benchmarks [--profile full] [--track keras|torch] [--lesson 01-fundamentals]
    python -m benchmarks --experiments [--profile standard] [--repeat 3] [--baseline DIR]
    python -m benchmarks --micro [--profile standard] [--repeat 5]

The default (no --micro/--experiments) executes every solution notebook and records how
long each took; meant for a GPU machine in the ``full`` profile (on a CPU it runs,
slowly). Tables go to ``benchmarks/results/`` (``<name>.md`` the latest run, ``<name>.csv``
every run); executed notebooks to ``benchmarks/results/notebooks/`` (not committed).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from .report import RESULTS, Table, save

REPO = Path(__file__).resolve().parents[1]


def run_notebook(notebook: Path, profile: str, timeout: int) -> float:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    os.environ["TLH_PROFILE"] = profile
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    seconds = time.perf_counter() - start
    out = RESULTS / "notebooks" / profile / notebook.parent.parent.name / notebook.name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return seconds


def notebooks(args: argparse.Namespace) -> Table:
    table = Table(title=f"Solution notebooks executed end to end, {args.profile} profile",
                  columns=["notebook", "seconds"])
    for track in args.track or ["keras", "torch"]:
        for notebook in sorted((REPO / "solutions" / track).glob("*/*.ipynb")):
            if args.lesson and notebook.parent.name not in args.lesson:
                continue
            print(f"{time.strftime('%H:%M:%S')} start {track}/{notebook.parent.name}", flush=True)
            seconds = run_notebook(notebook, args.profile, args.timeout)
            print(f"{time.strftime('%H:%M:%S')} end {track}/{notebook.parent.name}: {seconds:.0f} s "
                  f"({args.profile})", flush=True)
            table.rows.append([f"{track}/{notebook.parent.name}", round(seconds, 1)])
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--micro", action="store_true", help="helpers against the plain frameworks")
    mode.add_argument("--experiments", action="store_true",
                      help="Lesson 01's experiment mix in both tracks (the Keras/PyTorch ratio)")
    parser.add_argument("--profile", choices=["smoke", "standard", "full"],
                        help="default: full for notebooks, standard otherwise")
    parser.add_argument("--track", action="append", choices=["keras", "torch"], help="notebooks only")
    parser.add_argument("--lesson", action="append", help="notebooks only, e.g. 01-fundamentals")
    parser.add_argument("--timeout", type=int, default=7200, help="seconds per notebook cell")
    parser.add_argument("--repeat", type=int, help="repeats per measurement (default 5 micro, 3 experiments)")
    parser.add_argument("--baseline", help="experiments only: a directory holding an older tlhelpers, "
                                           "timed interleaved with this one (before/after)")
    parser.add_argument("--only", action="append", choices=["keras", "torch", "loading"],
                        help="micro only: run these parts")
    args = parser.parse_args(argv)

    if args.micro:
        from . import micro

        profile = args.profile or "standard"
        tables = micro.run(profile, args.repeat or 5, args.only)
        path = save("micro", tables, profile, micro.__doc__.split("\n\n")[0])
    elif args.experiments:
        from . import experiments

        profile = args.profile or "standard"
        table = experiments.run(profile, args.repeat or 3, args.baseline)
        path = save(f"experiments-{profile}", [table], profile, experiments.__doc__.split("\n\n")[0])
    else:
        profile = args.profile or "full"
        args.profile = profile
        path = save(f"notebooks-{profile}", [notebooks(args)], profile,
                    "Wall time of each solution notebook executed with nbclient.")
    print(path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
