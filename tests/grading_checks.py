"""One lesson and track's grading evidence, computed once on first use (tests/test_grading.py asserts on it).

* ``solution`` and ``blank``: real ``nbgrader autograde`` of the solution and of the untouched
  lesson, in a throw-away copy of the course (``gradingkit.Course``);
* ``harness``: the cell grader (``cellgrader.CellGrader``) executing the solution once and trying
  every known-wrong, unusual and blank answer at its exercise.

Each part records its cost (``costs``) for the per-lesson table printed at the end of the run.
"""

from __future__ import annotations

import functools
from pathlib import Path

import costs
from cellgrader import CellGrader, Outcome, Report, blank_attempts
from gradingkit import Course, attempts


def _once(method):
    """A lazily computed attribute; a failure is remembered too, not recomputed by every test."""
    key = f"_once_{method.__name__}"

    @functools.wraps(method)
    def get(self):
        if key not in self.__dict__:
            try:
                self.__dict__[key] = (method(self), None)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as error:  # a timeout too: re-raised to every test that asks
                self.__dict__[key] = (None, error)
        value, error = self.__dict__[key]
        if error is not None:
            raise error
        return value

    return property(get)


class LessonGrading:
    def __init__(self, track: str, lesson: str, root: Path):
        self.track, self.lesson, self.root = track, lesson, root

    def where(self, what: str = "") -> str:
        return f"{self.lesson} ({self.track})" + (f", {what}" if what else "")

    @_once
    def course(self) -> Course:
        with costs.timed(self.track, self.lesson, "release"):
            return Course(self.track, self.lesson, self.root)

    @_once
    def solution(self):
        with costs.timed(self.track, self.lesson, "nbgrader solution"):
            return self.course.grade_solution()

    @_once
    def blank(self):
        with costs.timed(self.track, self.lesson, "nbgrader blank"):
            return self.course.grade_blank()

    @_once
    def harness(self) -> Report:
        course = self.course
        grader = CellGrader(course.source_nb, course.release_nb, course.config, cwd=course.workdir("harness"))
        report = grader.run(attempts(self.lesson, self.track) + blank_attempts(course.release_nb))
        costs.record(self.track, self.lesson, "execute", *report.cost_execute)
        costs.record(self.track, self.lesson, "variants", *report.cost_attempts)
        return report

    def outcome(self, attempt) -> Outcome:
        found = [o for o in self.harness.outcomes if o.attempt == attempt]
        assert len(found) == 1, f"{self.where()}: the harness did not try {attempt}"
        return found[0]
