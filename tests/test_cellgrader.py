"""The cell grader on a tiny synthetic lesson, against real nbgrader.

* stderr: a correct answer that raises a Python warning scores zero under nbgrader unless the
  notebook routes warnings to stdout (``tlhelpers.warnings_to_stdout()``); the cell grader
  scores both cases exactly as nbgrader does.
* state: an answer that mutates a shared list is undone; one that mutates a DataFrame (which the
  snapshot cannot restore) is detected and the notebook executed again; one that kills the
  kernel loses its points and the grader recovers; an unusual answer is carried to the later
  test cell that depends on it; the visible-only check scores the released test cell.
"""

from __future__ import annotations

import importlib.util

import pytest

from cellgrader import Attempt, CellGrader, blank_attempts, bound_names, used_names
from gradingkit import REPO, Course

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(600)]

LESSON = "99-synthetic"
_spec = importlib.util.spec_from_file_location("nbbuild", REPO / "tools" / "nbbuild.py")
nbbuild = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nbbuild)


def synthetic_lesson(routed: bool):
    setup = "import warnings\nimport pandas as pd\n"
    if routed:
        setup += "import tlhelpers\ntlhelpers.warnings_to_stdout()\n"
    setup += 'shared = [1, 2, 3]\ntable = pd.DataFrame({"a": [1, 2, 3]})'
    return [
        nbbuild.code("setup", setup),
        nbbuild.solution("total", '''
            def total(xs):
                """The sum of xs (and a harmless warning, as a library might raise)."""
                ### BEGIN SOLUTION
                warnings.warn("a harmless warning")
                return sum(xs)
                ### END SOLUTION'''),
        nbbuild.tests("total-tests", '''
            assert total(shared) == 6, "wrong sum"
            assert shared == [1, 2, 3], "total changed its argument"
            ### BEGIN HIDDEN TESTS
            assert total([]) == 0, "the empty sum is 0"
            ### END HIDDEN TESTS''', 2),
        nbbuild.solution("double", '''
            def double(x):
                ### BEGIN SOLUTION
                return 2 * x
                ### END SOLUTION'''),
        nbbuild.tests("double-tests", '''
            assert double(2) == 4, "2 doubled is 4"
            assert int(table["a"].sum()) == 6, "the table changed"''', 1),
        nbbuild.solution("quad", '''
            def quad(x):
                ### BEGIN SOLUTION
                return double(double(x))
                ### END SOLUTION'''),
        nbbuild.tests("quad-tests", "assert quad(1) == 4", 1),
        nbbuild.code("after", "raise RuntimeError('cells after the last test cell are not executed')"),
    ]


def course(tmp_path, routed: bool) -> Course:
    source = tmp_path / "source" / LESSON
    nbbuild.write(source / f"{LESSON}.ipynb", synthetic_lesson(routed))
    return Course("torch", LESSON, tmp_path / "course", source=source)


def harness(c: Course, tries=()):
    grader = CellGrader(c.source_nb, c.release_nb, c.config, cwd=c.workdir("harness"))
    return grader.run(list(tries) + blank_attempts(c.release_nb))


@pytest.mark.parametrize("routed", [False, True], ids=["warnings-on-stderr", "warnings-to-stdout"])
def test_a_warning_scores_as_under_nbgrader(tmp_path, routed):
    c = course(tmp_path, routed)
    solution, blank = c.grade_solution(), c.grade_blank()
    report = harness(c)
    assert report.solution == solution.cells
    assert report.blank() == blank.cells
    assert solution.cells["total-tests"] == ((2.0, 2.0) if routed else (0.0, 2.0))
    assert blank.score == 0


def test_state_is_restored_or_the_notebook_executed_again(tmp_path):
    c = course(tmp_path, routed=True)
    tries = {
        "mutates": Attempt("total", "mutates its argument", "def total(xs):\n    xs.append(0)\n    return sum(xs)", "wrong"),
        "hidden": Attempt("total", "fails only the hidden test", "def total(xs):\n    return sum(xs) if xs else None", "wrong"),
        "hidden-visible": Attempt("total", "fails only the hidden test", "def total(xs):\n    return sum(xs) if xs else None",
                                  "wrong", visible_only=True),
        "dataframe": Attempt("double", "mutates a DataFrame", 'def double(x):\n    table.loc[0, "a"] = 100\n    return 2 * x', "wrong"),
        "dies": Attempt("double", "kills the kernel", "import os\nos._exit(1)", "wrong"),
        "unusual": Attempt("double", "a lambda", "double = lambda x: x + x", "unusual"),
        "unusual-wrong": Attempt("double", "right on ints only by luck", "def double(x):\n    return x * x if x == 2 else 2 * x + 1", "unusual"),
    }
    report = harness(c, tries.values())
    out = {name: next(o for o in report.outcomes if o.attempt == attempt) for name, attempt in tries.items()}
    assert all(o.restored for o in report.outcomes), [o.note for o in report.outcomes]
    assert report.solution == {"total-tests": (2.0, 2.0), "double-tests": (1.0, 1.0), "quad-tests": (1.0, 1.0)}
    assert out["mutates"].scores == {"total-tests": (0.0, 2.0)}
    assert "changed its argument" in out["mutates"].errors["total-tests"]
    assert out["hidden"].scores == {"total-tests": (0.0, 2.0)}
    assert out["hidden-visible"].scores == {"total-tests": (2.0, 2.0)}
    assert out["dataframe"].scores == {"double-tests": (0.0, 1.0)}
    assert out["dies"].scores == {"double-tests": (0.0, 1.0)} and "kernel died" in out["dies"].note
    assert out["unusual"].scores == {"double-tests": (1.0, 1.0), "quad-tests": (1.0, 1.0)}
    assert out["unusual-wrong"].scores == {"double-tests": (1.0, 1.0), "quad-tests": (0.0, 1.0)}
    assert len(report.replays) == 2, report.replays  # the DataFrame, the dead kernel; nothing else
    assert any("table" in why for why in report.replays), report.replays
    assert any("kernel died" in why for why in report.replays), report.replays
    assert report.blank() == {"total-tests": (0.0, 2.0), "double-tests": (0.0, 1.0), "quad-tests": (0.0, 1.0)}


def test_static_dependencies():
    assert bound_names("import numpy as np\nx, (y, z) = 1, (2, 3)\nm.fit(x)\nd['k'] = 1\ndef f():\n    global g\n    g = 1") \
        == {"np", "x", "y", "z", "m", "d", "f", "g"}
    assert bound_names("!pip install x\nfor i in range(3):\n    acc += i") == {"i", "acc"}
    assert used_names("def quad(x):\n    return double(double(x))") == {"double"}  # x is local
    assert used_names("ys = [f(v) for v in xs]\ng = lambda t: t + k") == {"f", "xs", "k"}
    assert bound_names("ys = [v for v in xs]") == {"ys"}  # comprehension variables are local


def test_reach_follows_data_not_reused_names(tmp_path):
    """An unusual answer is graded up to the last test cell that reads what it made: a
    temporary rebound in a later cell, a function's own locals, a module's functions and
    a figure made afresh do not chain unrelated test cells to it."""
    cells = [
        nbbuild.code("setup", "import numpy as np\nimport matplotlib.pyplot as plt"),
        nbbuild.solution("double", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
        nbbuild.tests("double-tests", "_x = double(np.ones(2))\nassert (_x == 2).all()\nfig, ax = plt.subplots()", 1),
        nbbuild.solution("half", "def half(x):\n    ### BEGIN SOLUTION\n    return x / 2\n    ### END SOLUTION"),
        nbbuild.tests("half-tests", "_x = np.asarray([4.0])\nassert half(_x)[0] == 2\nfig, ax = plt.subplots()\n"
                      "assert [x for x in range(2)] == [0, 1]", 1),
        nbbuild.code("use", "halved = half(8)"),
        nbbuild.tests("halved-tests", "assert halved == 4", 1),
    ]
    source = tmp_path / "source" / LESSON
    nbbuild.write(source / f"{LESSON}.ipynb", cells)
    c = Course("torch", LESSON, tmp_path / "course", source=source)
    grader = CellGrader(c.source_nb, c.release_nb, c.config, cwd=c.workdir("harness"))
    at = grader.test_at
    assert grader.reach("double") == at["double-tests"]  # later cells only reuse its temporaries
    assert grader.reach("half") == at["halved-tests"]  # `halved` was made by half


SNAPSHOT_SCRIPT = '''
import contextlib, importlib.util, io, json, sys
from IPython.testing.globalipapp import start_ipython
shell = start_ipython()
spec = importlib.util.spec_from_file_location("kernel_side", {module!r})
kernel_side = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kernel_side)

def run(code):
    result = shell.run_cell(code)
    result.raise_error()

run({setup!r})
kernel_side.snapshot("before")
run({mutate!r})
with contextlib.redirect_stdout(io.StringIO()) as out:
    kernel_side.restore("before")
unrestored = json.loads(out.getvalue())
assert unrestored == ["table"], unrestored
run({check!r})
print("restored")
'''

COMMON_SETUP = """
import random
import numpy as np
import pandas as pd
arr, rows, cfg, table = np.arange(5.0), [1, 2], {"a": 1}, pd.DataFrame({"a": [1, 2]})
"""
COMMON_MUTATE = """
arr[0] = 99; rows.append(3); cfg["b"] = 2; table.loc[0, "a"] = 7
np.random.rand(); random.random(); new_name = 1
"""
COMMON_CHECK = """
assert arr[0] == 0 and rows == [1, 2] and cfg == {"a": 1}, (arr, rows, cfg)
assert "new_name" not in globals()
"""
FRAMEWORKS = {
    "torch": ("""
import torch
net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
before = [t.detach().clone() for t in net.state_dict().values()]
_state = torch.random.get_rng_state(); expected = torch.rand(3); torch.random.set_rng_state(_state)
""", """
net(torch.randn(8, 3)).sum().backward(); opt.step()
net[0].requires_grad_(False); net.eval(); torch.set_grad_enabled(False)
""", """
assert all(torch.equal(a, b) for a, b in zip(before, net.state_dict().values())), "weights"
assert all(p.grad is None and p.requires_grad for p in net.parameters()), "gradients"
assert net.training and net[1].training, "train mode"
assert torch.is_grad_enabled() and not opt.state, "grad mode, optimizer state"
assert torch.equal(torch.rand(3), expected), "generator"
"""),
    "keras": ("""
import keras
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.BatchNormalization()])
model.compile(optimizer="sgd", loss="mse")
model.fit(np.ones((8, 3)), np.ones((8, 4)), verbose=0)
before = [v.numpy().copy() for v in model.weights + model.optimizer.variables]
""", """
model.fit(np.ones((8, 3)), np.zeros((8, 4)), verbose=0)
model.layers[0].trainable = False
model(np.ones((2, 3)), training=True)
""", """
after = [v.numpy() for v in model.weights + model.optimizer.variables]
assert all(np.array_equal(a, b) for a, b in zip(before, after)), "weights"
assert all(layer.trainable for layer in model.layers) and len(model.trainable_weights) == 4, "trainable flags"
"""),
}


@pytest.mark.parametrize("framework", [pytest.param(f, marks=getattr(pytest.mark, f)) for f in FRAMEWORKS])
def test_the_kernel_side_restores_models_arrays_and_generators(tmp_path, framework):
    import subprocess
    import sys

    setup, mutate, check = FRAMEWORKS[framework]
    script = tmp_path / "snapshot.py"
    script.write_text(SNAPSHOT_SCRIPT.format(module=str(REPO / "tests" / "cellgrader_kernel.py"), setup=COMMON_SETUP + setup,
                                             mutate=COMMON_MUTATE + mutate, check=COMMON_CHECK + check))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240)
    assert done.stdout.strip().endswith("restored"), done.stdout[-3000:] + done.stderr[-3000:]
