"""nbgrader grading of every torch lesson: solution full marks, blank zero, known-wrong variants lose points."""

import pytest

from grading_checks import check_lesson
from tlhelpers.grading import lesson_ids

pytestmark = [pytest.mark.notebook, pytest.mark.torch]


@pytest.mark.parametrize("lesson", lesson_ids("torch"))
def test_grading(lesson, tmp_path):
    check_lesson("torch", lesson, tmp_path)
