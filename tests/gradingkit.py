"""Grade notebooks for real with nbgrader, in a throw-away copy of one track's course."""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from pathlib import Path

import nbformat

from known_wrong import Wrong, variants
from tlhelpers import grading

REPO = Path(__file__).resolve().parents[1]
MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", re.MULTILINE)


def answer_sources(notebook: Path) -> dict[str, str]:
    """grade_id -> source of every answer cell, solution markers removed (as a learner would type)."""
    nb = nbformat.read(notebook, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: MARKERS.sub("", c.source)
            for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")}


def points(notebook: Path) -> dict[str, float]:
    nb = nbformat.read(notebook, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
            for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")}


def filled(release_nb: Path, answers: dict[str, str], out: Path) -> Path:
    """The released notebook with its answer cells replaced by ``answers``."""
    nb = nbformat.read(release_nb, as_version=4)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    nbformat.write(nb, out)
    return out


class Course:
    """One track's course for one lesson, copied to ``root`` and released there."""

    def __init__(self, track: str, lesson: str, root: Path):
        self.track, self.lesson, self.root = track, lesson, root
        src = REPO / "solutions" / track / lesson
        shutil.copytree(src, root / "solutions" / track / lesson)
        grading.release(track, [lesson], root=root)
        self.source_nb = root / "solutions" / track / lesson / f"{lesson}.ipynb"
        self.release_nb = root / "lessons" / track / lesson / f"{lesson}.ipynb"
        self.solutions = answer_sources(self.source_nb)
        self.points = points(self.source_nb)

    def grade(self, student: str, notebook: Path) -> grading.Scores:
        grading.submit(self.track, self.lesson, student, notebook, root=self.root)
        return grading.autograde(self.track, self.lesson, student, root=self.root)

    def grade_solution(self) -> grading.Scores:
        nb = filled(self.release_nb, self.solutions, self.root / "solution.ipynb")
        return self.grade("solution", nb)

    def grade_blank(self) -> grading.Scores:
        return self.grade("blank", self.release_nb)

    def wrong_rounds(self) -> list[list[Wrong]]:
        """Known-wrong variants batched so that each submission has at most one per answer cell."""
        by_cell: dict[str, list[Wrong]] = defaultdict(list)
        for wrong in variants(self.lesson, self.track):
            assert wrong.cell in self.solutions, f"variant {wrong.name!r} names unknown cell {wrong.cell!r}"
            by_cell[wrong.cell].append(wrong)
        depth = max((len(v) for v in by_cell.values()), default=0)
        return [[v[k] for v in by_cell.values() if k < len(v)] for k in range(depth)]

    def grade_wrong_round(self, k: int, wrongs: list[Wrong]) -> grading.Scores:
        answers = dict(self.solutions)
        answers.update({w.cell: w.code.strip("\n") for w in wrongs})
        nb = filled(self.release_nb, answers, self.root / f"wrong-{k}.ipynb")
        return self.grade(f"wrong-{k}", nb)
