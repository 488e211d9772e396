"""Tiny helpers for authoring course notebooks from Python (nbformat), with stable cell ids.

The solution notebooks in ``solutions/`` are the source of truth; these helpers only make
writing them from a script less error-prone (nbgrader metadata, ids, kernelspec).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def md(cell_id: str, text: str):
    cell = nbformat.v4.new_markdown_cell(_src(text))
    cell.id = cell_id
    return cell


def code(cell_id: str, text: str):
    cell = nbformat.v4.new_code_cell(_src(text))
    cell.id = cell_id
    return cell


def solution(cell_id: str, text: str):
    """An answer cell: the learner's version has the SOLUTION block replaced by a stub."""
    cell = code(cell_id, text)
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": cell_id, "locked": False,
                                 "schema_version": 3, "solution": True, "task": False}
    return cell


def tests(cell_id: str, text: str, points: float):
    """A locked, autograded test cell (may hold a HIDDEN TESTS block)."""
    cell = code(cell_id, text)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": cell_id, "locked": True,
                                 "points": points, "schema_version": 3, "solution": False,
                                 "task": False}
    return cell


def write(path: Path | str, cells) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
