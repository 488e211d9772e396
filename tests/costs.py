"""What each lesson's checks cost per track and phase: written by the tests, read by conftest.

Costs are CPU seconds (user + system) of the pytest worker and of the kernels it starts — what
the "≤ 4 core-minutes per lesson and track" budget is about, and much steadier than wall time
on a shared machine — together with the wall time. A test (on any xdist worker) times a block
with ``timed(track, lesson, phase)`` or calls ``record``; each process appends JSON lines to its
own file in one directory of pytest's cache, which the controlling process empties at start-up
and turns into the table at the end (``conftest.pytest_terminal_summary``).
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

DIR: Path | None = None  # set by conftest.pytest_configure
BUDGET_CPU_S = 240       # a lesson's whole grading check, per track (DEVELOPERS.md)

# Columns of the table, in order; a phase recorded under another name gets a column of its own.
PHASES = (
    "nbval",                # every cell of the solution under nbval (the design before the cell grader)
    "release",              # nbgrader generate_assignment into a throw-away course
    "execute",              # cell grader: the solution executed once, up to its last test cell
    "nbgrader solution",    # nbgrader autograde of the solution
    "nbgrader blank",       # nbgrader autograde of the untouched lesson
    "variants",             # known-wrong / unusual answers (and, before: their nbgrader rounds)
)


def cpu_seconds(pids=()) -> float:
    """CPU time of this process, of its finished children, and of the live processes ``pids``."""
    total = sum(sum(resource.getrusage(who)[:2]) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):  # gone, or not Linux
            pass
    return total


def record(track: str, lesson: str, phase: str, wall: float, cpu: float | None = None) -> None:
    if DIR is None:
        return
    line = json.dumps({"track": track, "lesson": lesson, "phase": phase, "wall": round(wall, 3),
                       "cpu": None if cpu is None else round(cpu, 3)})
    with open(DIR / f"{os.getpid()}.jsonl", "a") as f:
        f.write(line + "\n")


@contextmanager
def timed(track: str, lesson: str, phase: str):
    wall, cpu = time.perf_counter(), cpu_seconds()
    try:
        yield
    finally:
        record(track, lesson, phase, time.perf_counter() - wall, cpu_seconds() - cpu)


def load(directory: Path) -> dict[tuple[str, str], dict[str, list[float]]]:
    """(lesson, track) -> phase -> [wall, cpu] seconds, summed over every record (cpu: wall where unknown)."""
    table: dict = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            cell = table[row["lesson"], row["track"]][row["phase"]]
            cell[0] += row["wall"]
            cell[1] += row["wall"] if row["cpu"] is None else row["cpu"]
    return table


def format_table(table) -> list[str]:
    phases = [p for p in PHASES if any(p in row for row in table.values())]
    phases += sorted({p for row in table.values() for p in row} - set(phases))
    header = ["lesson", "track", *phases, "CPU total", "wall total"]
    rows = []
    for (lesson, track), row in sorted(table.items()):
        cpu = sum(c for _, c in row.values())
        rows.append([lesson, track, *(f"{row[p][1]:.0f}" if p in row else "-" for p in phases),
                     f"{cpu:.0f}" + (" !" if cpu > BUDGET_CPU_S else ""), f"{sum(w for w, _ in row.values()):.0f}"])
    cpu_by_phase = [sum(row[p][1] for row in table.values() if p in row) for p in phases]
    wall = sum(w for row in table.values() for w, _ in row.values())
    rows.append(["all", "", *(f"{t:.0f}" for t in cpu_by_phase), f"{sum(cpu_by_phase):.0f}", f"{wall:.0f}"])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r):
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    return [line(header), line(["-" * w for w in widths]), *map(line, rows),
            f"(phases in CPU seconds, pytest worker + its kernels; '!' = over the {BUDGET_CPU_S} s budget)"]
