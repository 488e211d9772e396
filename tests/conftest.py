"""Test-suite set-up: quiet frameworks, one thread per worker, the smoke profile; the cost table."""

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TLH_PROFILE", "smoke")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
import tlhelpers  # noqa: E402,F401  (sets the TensorFlow quiet variables before any import)

sys.path.insert(0, str(Path(__file__).parent))
# nbgrader shells out to alembic: this environment's bin/ must be on PATH.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")

import costs  # noqa: E402

NBVAL_ITEM = re.compile(r"solutions/(?P<track>\w+)/(?P<lesson>[^/]+)/[^/]+\.ipynb::")
_state = {"controller": True, "seconds": 0.0}
LESSON_MODULE = re.compile(r"test_lesson(\d\d)_")


def pytest_addoption(parser):
    parser.addoption("--lesson", metavar="NN",
                     help="only lesson NN's tests: marked lesson('NN'), or in a test_lessonNN_*.py module")


def _lesson_of(item) -> str | None:
    mark = item.get_closest_marker("lesson")
    if mark is not None:
        return str(mark.args[0])
    match = LESSON_MODULE.match(item.path.name)
    return match[1] if match else None


def pytest_collection_modifyitems(config, items):
    lesson = config.getoption("--lesson")
    if lesson:
        lesson = lesson.zfill(2)
        kept = [item for item in items if _lesson_of(item) == lesson]
        config.hook.pytest_deselected(items=[item for item in items if _lesson_of(item) != lesson])
        items[:] = kept
    # Under `--dist loadscope --no-loadscope-reorder`, work goes out module by module (class by
    # class in tests/test_grading.py: one per lesson and track) in this order: the notebook
    # checks first, then other lessons' tests, so that the longest work starts first.
    items.sort(key=lambda item: (item.get_closest_marker("notebook") is None, _lesson_of(item) is None))


def _is_controller(config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_configure(config):
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    costs.DIR = Path(cache.mkdir("tlh-costs")) if cache else Path(".pytest-tlh-costs").resolve()
    if not config.pluginmanager.has_plugin("tlh-nbval-timer"):
        config.pluginmanager.register(NbvalTimer(), "tlh-nbval-timer")
    _state["controller"] = _is_controller(config)
    if _state["controller"]:  # a fresh table per run; workers start after this
        shutil.rmtree(costs.DIR, ignore_errors=True)
        costs.DIR.mkdir()


class NbvalTimer:
    """nbval's items are a notebook's cells: their time, its kernel's included (reaped after the last).

    A plugin rather than a conftest hook, so that it also times notebooks outside tests/.
    """

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        match = NBVAL_ITEM.match(item.nodeid)
        if match is None:
            yield
            return
        with costs.timed(match["track"], match["lesson"], "nbval"):
            yield


def pytest_runtest_logreport(report):
    """On the controller: every test's wall time."""
    if _state["controller"]:
        _state["seconds"] += report.duration


def pytest_terminal_summary(terminalreporter, config):
    if not _state["controller"] or costs.DIR is None:
        return
    table = costs.load(costs.DIR)
    if not table:
        return
    write = terminalreporter.write_line
    terminalreporter.section("cost per lesson and track")
    for line in costs.format_table(table):
        write(line)
    lessons = sum(wall for row in table.values() for wall, _ in row.values())
    total = _state["seconds"]
    write(f"wall: lesson checks {lessons:.0f} s + everything else {total - lessons:.0f} s "
          f"= all tests {total:.0f} s of worker time; CPU of the whole run so far: {costs.cpu_seconds():.0f} s")
