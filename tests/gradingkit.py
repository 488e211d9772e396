"""Grade notebooks for real with nbgrader, in a throw-away copy of one track's course."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from cellgrader import MARKERS, Attempt
from known_wrong import accepted, variants
from tlhelpers import grading

REPO = Path(__file__).resolve().parents[1]


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


def attempts(lesson: str, track: str) -> list[Attempt]:
    """The lesson's known-wrong and unusual answers, as the cell grader tries them.

    A central wrong answer is tried twice: against the full test cell, and against the
    released one alone (hidden tests stripped), which must reject it too.
    """
    tries = []
    for wrong in variants(lesson, track):
        code = wrong.code.strip("\n")
        tries.append(Attempt(wrong.cell, wrong.name, code, "wrong"))
        if wrong.central:
            tries.append(Attempt(wrong.cell, wrong.name, code, "wrong", visible_only=True))
    tries += [Attempt(u.cell, u.name, u.code.strip("\n"), "unusual") for u in accepted(lesson, track)]
    return tries


class Course:
    """One track's course for one lesson, copied to ``root`` and released there."""

    def __init__(self, track: str, lesson: str, root: Path, source: Path | None = None):
        self.track, self.lesson, self.root = track, lesson, root
        shutil.copytree(source or REPO / "solutions" / track / lesson, root / "solutions" / track / lesson)
        grading.release(track, [lesson], root=root)
        self.source_nb = root / "solutions" / track / lesson / f"{lesson}.ipynb"
        self.release_nb = root / "lessons" / track / lesson / f"{lesson}.ipynb"
        self.solutions = answer_sources(self.source_nb)
        self.points = points(self.source_nb)

    @property
    def config(self):
        return grading.course_config(self.track, self.root)

    def workdir(self, name: str) -> Path:
        """A fresh copy of the lesson's folder, to execute its notebook in."""
        dest = self.root / "work" / name
        shutil.copytree(self.source_nb.parent, dest)
        return dest

    def grade(self, student: str, notebook: Path) -> grading.Scores:
        grading.submit(self.track, self.lesson, student, notebook, root=self.root)
        return grading.autograde(self.track, self.lesson, student, root=self.root)

    def autograded(self, student: str) -> Path:
        """The notebook nbgrader executed for ``student``, with its outputs."""
        return self.root / "courses" / self.track / "autograded" / student / self.lesson / f"{self.lesson}.ipynb"

    def grade_solution(self) -> grading.Scores:
        nb = filled(self.release_nb, self.solutions, self.root / "solution.ipynb")
        return self.grade("solution", nb)

    def grade_blank(self) -> grading.Scores:
        return self.grade("blank", self.release_nb)
