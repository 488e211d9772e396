"""Known-wrong and correct-but-unusual answers to the exercises, one module per lesson.

Each module defines

* ``VARIANTS = {"keras": [Wrong, ...], "torch": [...]}`` — answers a student could write
  to pass without understanding (COURSE.md §5 items and the §4 kinds: wrong kind of output,
  hard-coded sizes, ignored arguments, side effects, code that only works on the test's own
  toy model, state lost in a round trip, randomness fixed inside the answer). Each must
  lose the points of its exercise's test cell (``cell + "-tests"``). A variant marked
  ``central`` is one of the exercise's central mistakes: the *visible* tests alone (what a
  learner on Colab or Binder sees, with no hidden tests) must reject it.
* ``ACCEPTED = {"keras": [Unusual, ...], "torch": [...]}`` — correct answers written in an
  unusual way (another API, another loop structure, one that triggers a harmless library
  warning…) that the grader must *accept* with full points.

The test-suite grades all of them (``tests/test_grading_*.py``) and proves each claim.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Wrong:
    cell: str            # grade_id of the answer cell it replaces
    name: str            # what is wrong, in a few words
    code: str            # the whole answer cell
    catalogue: str = ""  # COURSE.md §5 item (or §4 kind) it exemplifies, where one applies
    central: bool = False  # the visible tests alone must reject it

    @property
    def test_cell(self) -> str:
        return f"{self.cell}-tests"


@dataclass(frozen=True)
class Unusual:
    cell: str            # grade_id of the answer cell it replaces
    name: str            # what is unusual about it
    code: str            # the whole answer cell: correct, and must earn full points

    @property
    def test_cell(self) -> str:
        return f"{self.cell}-tests"


def _module(lesson: str):
    return importlib.import_module(f"known_wrong.l{lesson.replace('-', '_')}")


def variants(lesson: str, track: str) -> list[Wrong]:
    """The known-wrong variants for ``lesson`` (e.g. ``"00-getting-started"``) in ``track``."""
    return list(_module(lesson).VARIANTS[track])


def accepted(lesson: str, track: str) -> list[Unusual]:
    """The correct-but-unusual answers for ``lesson`` in ``track`` (empty if none yet)."""
    return list(getattr(_module(lesson), "ACCEPTED", {}).get(track, []))
