"""lessons/ is exactly what `make release` makes from solutions/, and safe to hand to students."""

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from tlhelpers import course, grading

REPO = Path(__file__).resolve().parents[1]
TRACKS = ("keras", "torch")


def notebooks(kind):
    return sorted((REPO / kind).glob("*/*/*.ipynb"))


def comparable(nb):
    """Cell sources, types, ids and metadata: what matters, not the bytes of the JSON."""
    return [(c.cell_type, c.get("id"), c.source, json.dumps(c.metadata, sort_keys=True)) for c in nb.cells]


def test_both_tracks_have_the_same_lessons():
    assert grading.lesson_ids("keras"), "no lessons found"
    assert grading.lesson_ids("keras") == grading.lesson_ids("torch")
    for track in TRACKS:
        released = sorted(p.name for p in (REPO / "lessons" / track).iterdir() if p.is_dir())
        assert released == grading.lesson_ids(track), f"run `make release`: lessons/{track} is stale"


@pytest.mark.parametrize("track", TRACKS)
def test_committed_lessons_match_a_fresh_release(track, tmp_path):
    shutil.copytree(REPO / "solutions" / track, tmp_path / "solutions" / track)
    grading.release(track, root=tmp_path)
    for lesson in grading.lesson_ids(track):
        rel = Path("lessons") / track / lesson / f"{lesson}.ipynb"
        fresh = nbformat.read(tmp_path / rel, as_version=4)
        committed = nbformat.read(REPO / rel, as_version=4)
        assert comparable(committed) == comparable(fresh), f"{rel} differs from `make release` output"


@pytest.mark.parametrize("path", notebooks("lessons"), ids=lambda p: str(p.relative_to(REPO)))
def test_lessons_hold_no_outputs_solutions_or_hidden_tests(path):
    text = path.read_text()
    nb = nbformat.read(path, as_version=4)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert "HIDDEN TESTS" not in text
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"cell {cell.id} has outputs"
    answer_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert answer_cells, "a lesson without answer cells"
    for cell in answer_cells:
        assert "raise NotImplementedError()" in cell.source, f"answer cell {cell.id} is not a stub"


@pytest.mark.parametrize("path", notebooks("lessons") + notebooks("solutions"),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_notebook_hygiene(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", "nbgrader needs the python3 kernelspec"
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids), "duplicate cell ids"
    # Stable, readable ids (not nbformat's random hex) keep diffs small.
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) and not re.fullmatch(r"[0-9a-f]{8}", i)
               for i in ids), f"unreadable cell ids: {ids}"
    assert ids[0] == course.COLAB_CELL_ID
    if "solutions" in path.parts:
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.get("outputs"), f"solution cell {cell.id} has committed outputs"


def test_solution_notebooks_have_at_least_three_graded_exercises():
    for path in notebooks("solutions"):
        nb = nbformat.read(path, as_version=4)
        graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert len(graded) >= 3, f"{path}: fewer than three autograded exercises"
        for cell in graded:
            assert cell.metadata["nbgrader"]["locked"] and cell.metadata["nbgrader"]["points"] > 0


def test_readme_and_colab_cells_follow_the_repository_setting():
    assert course.sync(write=False) == [], "run `python -m tlhelpers.course sync` (make release)"
    readme = (REPO / "README.md").read_text()
    for track in TRACKS:
        for lesson in grading.lesson_ids(track):
            assert course.colab_url(track, lesson) in readme
            assert course.binder_url(track, lesson) in readme
    for path in notebooks("lessons"):
        first = nbformat.read(path, as_version=4).cells[0]
        assert course.REPOSITORY in first.source and '"google.colab" in sys.modules' in first.source


def test_colab_cell_is_inert_outside_colab():
    code = course.colab_setup_source()
    calls = []
    import subprocess
    import sys

    original = subprocess.run
    subprocess.run = lambda *a, **k: calls.append(a)
    try:
        exec(compile(code, "colab-setup", "exec"), {})
    finally:
        subprocess.run = original
    assert "google.colab" not in sys.modules and calls == []


@pytest.mark.parametrize("track", TRACKS)
def test_course_config_files_match_the_python_configuration(track):
    from traitlets.config.loader import PyFileConfigLoader

    loaded = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "courses" / track)).load_config()
    built = grading.course_config(track)
    for key in ("root", "course_id", "source_directory", "release_directory", "submitted_directory",
                "autograded_directory", "feedback_directory", "db_url"):
        assert str(loaded.CourseDirectory[key]).rstrip("/") == str(built.CourseDirectory[key]).rstrip("/"), key
    assert loaded.Execute.timeout >= 600, "nbgrader's default 30 s per cell is too short"
