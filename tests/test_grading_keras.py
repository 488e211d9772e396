"""nbgrader grading of every keras lesson: solution full marks, blank zero, known-wrong variants lose points."""

import pytest

from grading_checks import check_lesson
from tlhelpers.grading import lesson_ids

pytestmark = [pytest.mark.notebook, pytest.mark.keras]


@pytest.mark.parametrize("lesson", lesson_ids("keras"))
def test_grading(lesson, tmp_path):
    check_lesson("keras", lesson, tmp_path)
