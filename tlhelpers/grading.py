"""nbgrader glue: one nbgrader course per track, released and autograded from Python.

The repository *is* the two courses: ``solutions/<track>`` is nbgrader's source
directory, ``lessons/<track>`` its release directory, and ``courses/<track>`` holds the
instructor's gradebook, submissions and feedback. ``courses/<track>/nbgrader_config.py``
points nbgrader's command line there; this module builds the same configuration for the
Makefile and the test-suite, which also use it on temporary copies of a course.

Scores are read from the gradebook, never from ``nbgrader validate``'s exit code (which is
0 even when tests fail).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

TRACKS = ("keras", "torch")
REPO_ROOT = Path(__file__).resolve().parents[1]


def _check_track(track: str) -> None:
    if track not in TRACKS:
        raise ValueError(f"track must be one of {', '.join(TRACKS)}, got {track!r}.")


def _tools_on_path() -> None:
    """nbgrader shells out to ``alembic``; make this environment's ``bin/`` findable."""
    bindir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bindir not in path.split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + path


def course_config(track: str, root: Path | str = REPO_ROOT):
    """The nbgrader configuration of one track's course rooted at ``root``.

    Shared settings (timeouts, code stubs) come from ``nbgrader_config.py`` at the
    repository root, exactly as the command line reads them.
    """
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    _check_track(track)
    root = Path(root).resolve()
    shared = PyFileConfigLoader("nbgrader_config.py", path=str(REPO_ROOT)).load_config()
    config = Config()
    config.merge(shared)
    course = root / "courses" / track
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = f"transfer-learning-{track}"
    config.CourseDirectory.source_directory = f"solutions/{track}"
    config.CourseDirectory.release_directory = f"lessons/{track}"
    config.CourseDirectory.submitted_directory = f"courses/{track}/submitted"
    config.CourseDirectory.autograded_directory = f"courses/{track}/autograded"
    config.CourseDirectory.feedback_directory = f"courses/{track}/feedback"
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    return config


def lesson_ids(track: str, root: Path | str = REPO_ROOT) -> list[str]:
    """The lessons of a track, in order: every ``solutions/<track>/NN-slug`` folder."""
    _check_track(track)
    source = Path(root) / "solutions" / track
    return sorted(p.name for p in source.iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").exists())


def _api(track: str, root: Path | str):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    _tools_on_path()
    (Path(root) / "courses" / track).mkdir(parents=True, exist_ok=True)
    config = course_config(track, root)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


class GradingError(RuntimeError):
    """nbgrader itself failed (not a learner's failing test)."""


def _checked(result: dict, what: str) -> dict:
    if not result.get("success"):
        raise GradingError(f"nbgrader {what} failed:\n{result.get('error') or ''}\n{result.get('log') or ''}")
    return result


def release(track: str, lessons: list[str] | None = None, root: Path | str = REPO_ROOT) -> list[str]:
    """Regenerate ``lessons/<track>`` from ``solutions/<track>`` (nbgrader generate_assignment)."""
    api = _api(track, root)
    lessons = lessons or lesson_ids(track, root)
    for lesson in lessons:
        _checked(api.generate_assignment(lesson, force=True, create=True), f"generate_assignment {lesson}")
    return lessons


@dataclass
class Scores:
    """Autograded points of one submission, per grade cell."""

    student: str
    cells: dict[str, tuple[float, float]] = field(default_factory=dict)  # grade_id -> (score, max)

    @property
    def score(self) -> float:
        return sum(s for s, _ in self.cells.values())

    @property
    def max_score(self) -> float:
        return sum(m for _, m in self.cells.values())

    def __str__(self) -> str:
        lines = [f"{self.student}: {self.score:g}/{self.max_score:g}"]
        lines += [f"  {gid}: {s:g}/{m:g}" for gid, (s, m) in self.cells.items()]
        return "\n".join(lines)


def submit(track: str, lesson: str, student: str, notebook: Path | str,
           root: Path | str = REPO_ROOT) -> Path:
    """Place ``notebook`` as ``student``'s submission of ``lesson`` (as nbgrader collect would)."""
    _check_track(track)
    dest = Path(root) / "courses" / track / "submitted" / student / lesson
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copy(notebook, dest / f"{lesson}.ipynb")
    return dest


def autograde(track: str, lesson: str, student: str, root: Path | str = REPO_ROOT) -> Scores:
    """Autograde one submitted notebook and read its scores from the gradebook."""
    from nbgrader.api import Gradebook

    api = _api(track, root)
    _checked(api.autograde(lesson, student, force=True, create=True), f"autograde {lesson} for {student}")
    scores = Scores(student)
    with Gradebook(course_config(track, root).CourseDirectory.db_url) as gradebook:
        notebook = gradebook.find_submission_notebook(lesson, lesson, student)
        for grade in sorted(notebook.grades, key=lambda g: g.name):
            if grade.max_score:
                scores.cells[grade.name] = (float(grade.score), float(grade.max_score))
    return scores


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tlhelpers.grading",
                                     description="Release or autograde the course's notebooks.")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="regenerate lessons/ from solutions/")
    rel.add_argument("--track", choices=TRACKS, action="append", help="default: both")
    rel.add_argument("lessons", nargs="*", help="default: every lesson")
    grade = sub.add_parser("autograde", help="autograde one student's submission and print the scores")
    grade.add_argument("--track", choices=TRACKS, required=True)
    grade.add_argument("lesson")
    grade.add_argument("student")
    args = parser.parse_args(argv)
    if args.command == "release":
        for track in args.track or TRACKS:
            done = release(track, args.lessons or None)
            print(f"{track}: released {', '.join(done)}")
    else:
        print(autograde(args.track, args.lesson, args.student))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
