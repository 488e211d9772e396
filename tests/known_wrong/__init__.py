"""Known-wrong implementations of the exercises (COURSE.md §5), one module per lesson.

Each module defines ``VARIANTS = {"keras": [...], "torch": [...]}``; a variant replaces the
answer cell ``cell`` of the solution notebook with ``code`` and must lose the points of
the test cell ``cell + "-tests"``. ``tests/test_grading_*.py`` grades every variant with
nbgrader and proves it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Wrong:
    cell: str          # grade_id of the answer cell it replaces
    name: str          # what is wrong, in a few words
    code: str          # the whole answer cell
    catalogue: str = ""  # COURSE.md §5 item, where one applies

    @property
    def test_cell(self) -> str:
        return f"{self.cell}-tests"


def variants(lesson: str, track: str) -> list[Wrong]:
    """The known-wrong variants for ``lesson`` (e.g. ``"00-getting-started"``) in ``track``."""
    module = importlib.import_module(f"known_wrong.l{lesson.replace('-', '_')}")
    return list(module.VARIANTS[track])
