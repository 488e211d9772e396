"""The grading guarantees, for every lesson of both tracks.

Real nbgrader: the solution earns full autograded points and runs without an error in any cell;
the untouched lesson earns zero; grading crashes on neither. The cell grader (tests/cellgrader.py,
which tries answers one exercise at a time) agrees with nbgrader on both, test cell by test
cell; and with it, every known-wrong answer in tests/known_wrong loses its exercise's points,
every central one fails the visible tests alone, and every unusual answer earns full points.
"""

from __future__ import annotations

import nbformat
import pytest

from grading_checks import LessonGrading
from gradingkit import attempts
from tlhelpers.grading import TRACKS, lesson_ids

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(1800)]


@pytest.fixture(scope="session")
def grading(tmp_path_factory):
    """(track, lesson) -> its LessonGrading, made once per test session (per xdist worker)."""
    made: dict[tuple[str, str], LessonGrading] = {}

    def get(track: str, lesson: str) -> LessonGrading:
        if (track, lesson) not in made:
            made[track, lesson] = LessonGrading(track, lesson, tmp_path_factory.mktemp(f"{lesson}-{track}"))
        return made[track, lesson]

    return get


def _scores(scores) -> str:
    return ", ".join(f"{gid} {got:g}/{best:g}" for gid, (got, best) in scores.items())


class LessonChecks:
    """The checks of one lesson and track; a subclass per lesson and track is generated below.

    One class each, so that ``--dist loadscope`` keeps a lesson and track's tests (and the
    grading they share) on one worker.
    """

    track: str
    lesson: str

    def grading(self, grading) -> LessonGrading:
        return grading(self.track, self.lesson)

    def test_nbgrader_gives_the_solution_full_marks(self, grading):
        g = self.grading(grading)
        total = sum(g.course.points.values())
        assert len(g.course.points) >= 3, f"{g.where()}: at least three autograded exercises expected"
        assert g.solution.max_score == total, f"{g.where()}: gradebook max {g.solution.max_score} != notebook points {total}"
        assert g.solution.score == total, f"{g.where()}: the solution must earn full marks:\n{g.solution}"

    def test_the_solution_runs_without_an_error_in_any_cell(self, grading):
        g = self.grading(grading)
        g.solution  # noqa: B018  (graded by nbgrader: read the notebook it executed)
        nb = nbformat.read(g.course.autograded("solution"), as_version=4)
        errors = [f"cell {cell.get('id')}: {out.ename}: {out.evalue}" for cell in nb.cells if cell.cell_type == "code"
                  for out in cell.outputs if out.output_type == "error"]
        assert not errors, f"{g.where('solution as nbgrader executed it')}:\n" + "\n".join(errors)

    def test_nbgrader_gives_the_untouched_lesson_zero(self, grading):
        g = self.grading(grading)
        assert g.blank.max_score == sum(g.course.points.values()), f"{g.where()}:\n{g.blank}"
        assert g.blank.score == 0, f"{g.where()}: the untouched lesson must earn zero:\n{g.blank}"

    def test_the_cell_grader_agrees_with_nbgrader(self, grading):
        g = self.grading(grading)
        assert g.harness.solution == g.solution.cells, (
            f"{g.where('solution')}: cell grader {_scores(g.harness.solution)} != nbgrader {_scores(g.solution.cells)}")
        assert g.harness.blank() == g.blank.cells, (
            f"{g.where('untouched lesson')}: cell grader {_scores(g.harness.blank())} != nbgrader {_scores(g.blank.cells)}")
        stubs = [o for o in g.harness.outcomes if o.attempt.kind == "blank"]
        assert all(o.restored for o in stubs), f"{g.where()}: " + "; ".join(o.note for o in stubs if not o.restored)

    def _tried(self, grading, attempt):
        g = self.grading(grading)
        outcome = g.outcome(attempt)
        where = g.where(f"{attempt.kind} answer to '{attempt.cell}': '{attempt.name}'")
        assert outcome.restored, f"{where}: {outcome.note}"
        return outcome, where, f"{attempt.cell}-tests"

    def test_known_wrong_answer_loses_its_points(self, grading, attempt):
        outcome, where, test = self._tried(grading, attempt)
        got, best = outcome.scores[test]
        assert got < best, f"{where}: earned {got:g}/{best:g} on '{test}' (hidden tests included)"

    def test_central_wrong_answer_fails_the_visible_tests(self, grading, attempt):
        outcome, where, test = self._tried(grading, attempt)
        got, best = outcome.scores[test]
        assert got < best, (f"{where}: passes the visible tests of '{test}' alone ({got:g}/{best:g}); "
                            "a learner without the hidden tests would never know")

    def test_unusual_answer_earns_full_points(self, grading, attempt):  # none yet: pytest skips
        outcome, where, _ = self._tried(grading, attempt)
        lost = {gid: outcome.errors.get(gid, "") for gid, (got, best) in outcome.scores.items() if got < best}
        assert not lost, f"{where}: lost points on " + "; ".join(f"'{gid}' ({err})" for gid, err in lost.items())


WHICH_ATTEMPTS = {  # test -> (kind, visible_only)
    "test_known_wrong_answer_loses_its_points": ("wrong", False),
    "test_central_wrong_answer_fails_the_visible_tests": ("wrong", True),
    "test_unusual_answer_earns_full_points": ("unusual", False),
}


def pytest_generate_tests(metafunc):
    if "attempt" not in metafunc.fixturenames:
        return
    kind, visible_only = WHICH_ATTEMPTS[metafunc.function.__name__]
    chosen, ids, count = [], [], {}
    for attempt in attempts(metafunc.cls.lesson, metafunc.cls.track):
        if attempt.kind == kind and attempt.visible_only == visible_only:
            count[attempt.cell] = count.get(attempt.cell, 0) + 1
            chosen.append(attempt)
            ids.append(f"{attempt.cell}-{count[attempt.cell]}")
    metafunc.parametrize("attempt", chosen, ids=ids)


for _lesson in lesson_ids("keras"):
    for _track in TRACKS:
        _name = f"TestLesson{_lesson[:2]}{_track.capitalize()}"
        globals()[_name] = type(_name, (LessonChecks,), {
            "track": _track, "lesson": _lesson, "__doc__": f"{_lesson} in the {_track} track.",
            "pytestmark": [getattr(pytest.mark, _track), pytest.mark.lesson(_lesson[:2])]})
