"""The three grading guarantees, shared by the per-track test files.

For every lesson: the solution earns full autograded points, the untouched lesson earns
zero, and every known-wrong variant loses the points of the exercise it breaks; nbgrader
must not crash on any of them.
"""

from __future__ import annotations

from gradingkit import Course


def check_lesson(track: str, lesson: str, root) -> None:
    course = Course(track, lesson, root)
    total = sum(course.points.values())
    assert len(course.points) >= 3, f"{track}/{lesson}: at least three autograded exercises expected"

    solution = course.grade_solution()
    assert solution.max_score == total, f"gradebook max {solution.max_score} != notebook points {total}"
    assert solution.score == total, f"solution must earn full marks:\n{solution}"

    blank = course.grade_blank()
    assert blank.max_score == total
    assert blank.score == 0, f"the untouched lesson must earn zero:\n{blank}"

    failures = []
    for k, wrongs in enumerate(course.wrong_rounds()):
        scores = course.grade_wrong_round(k, wrongs)
        for wrong in wrongs:
            got, best = scores.cells[wrong.test_cell]
            if got >= best:
                failures.append(f"{wrong.cell}: '{wrong.name}' earned {got:g}/{best:g}")
    assert not failures, "known-wrong implementations that the grader accepts:\n" + "\n".join(failures)
