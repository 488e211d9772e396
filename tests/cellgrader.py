"""Grade answers one exercise at a time, in a kernel that executed the lesson once.

nbgrader grades a whole notebook per submission, so proving that every known-wrong answer loses
its points by submitting notebooks costs one full execution per batch of variants. This grader
executes the solution notebook once, from the top, in one kernel, and at each exercise's test
cell tries every answer for that exercise there:

1. put the notebook's state back to what it was just before the exercise's answer cell
   (``cellgrader_kernel.snapshot``/``restore``: names, arrays, models, generators, settings);
2. run the answer in place of the solution, then every code cell after it up to the test cell
   (usually none), then the test cell: the *source* test cell (visible + hidden tests, what
   ``nbgrader autograde`` runs) or, for the visible-only check, the *released* one;
3. score each test cell exactly as nbgrader does: the course's ``IgnorePattern`` and
   ``LimitOutput`` preprocessors, then ``nbgrader.utils.determine_grade`` (an error or any
   output to stderr scores zero);
4. prove the restoration: after the answers to one exercise, restore again, run the solution
   and the cells after it, and require full points (if that fails, the notebook is executed
   again and each of those answers retried with a proof after every one). A central wrong
   answer is tried against the visible tests first; when they reject it and the source test
   cell runs them before its hidden block, the full cell's verdict follows without running it.

It executes cells with nbgrader's own ``Execute`` client (the course's kernel, timeout and
settings), in a copy of the lesson's folder, with ``NBGRADER_EXECUTION=autograde`` set.

Limits, and the guards against them:

* **State the answer leaves behind.** Every attempt starts from the snapshot; after the restore,
  the kernel compares a fingerprint of every global (and the random generators and settings)
  with the snapshot's. What it could not restore (a mutated DataFrame, a recompiled model…) makes
  the grader start a fresh kernel and execute the notebook again up to the exercise (counted in
  ``replays``). Mutations inside objects the fingerprint treats as opaque (library objects it does
  not know, class attributes, closures) and TensorFlow's per-op seed counters go unseen.
* **Answers used by later cells.** A wrong answer is judged on its own exercise's test cell, as
  the guarantee asks. An *unusual* (correct) answer must also keep the points of every later
  test cell that depends on it; the dependency is found statically (names a cell binds or
  mutates, names it reads, transitively), and the attempt runs every code cell from the answer
  up to the last dependent test cell.
* **The tests' own side effects.** The answers are tried after the solution's test cell ran
  once, so a test cell that mutates shared state would see it twice: the snapshot restore undoes
  this for everything it can fingerprint.
* **Cells after the last test cell** are not executed here (they change no score); the full
  notebook runs under nbgrader for the solution, where any error in any cell is reported.

The proof that these scores are nbgrader's: the solution's test-cell scores from the single
execution and the blank lesson's (every exercise's stub tried as an answer) equal nbgrader's own
grading of the solution and of the untouched lesson (tests/test_grading.py), for every lesson
and track.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

import costs

KERNEL_MODULE = Path(__file__).with_name("cellgrader_kernel.py")
MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", re.MULTILINE)
CELL_TIMEOUT = 300  # seconds; nbgrader's course setting when lower


class HarnessError(RuntimeError):
    """The grader itself failed (not an answer's failing test)."""


@dataclass(frozen=True)
class Attempt:
    """An answer to try in place of one exercise's solution."""

    cell: str                    # grade_id of the answer cell
    name: str                    # what it is, for messages
    code: str                    # the whole answer cell
    kind: str                    # "wrong", "unusual" or "blank"
    visible_only: bool = False   # score the released test cell (hidden tests stripped)


@dataclass
class Outcome:
    attempt: Attempt
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)  # test grade_id -> (score, max)
    errors: dict[str, str] = field(default_factory=dict)                  # test grade_id -> why it lost points
    restored: bool = True        # the solution earned full points again afterwards
    note: str = ""

    def full_marks(self) -> bool:
        return all(score >= best for score, best in self.scores.values())


@dataclass
class Report:
    solution: dict[str, tuple[float, float]]      # test grade_id -> score of the single execution
    outcomes: list[Outcome]
    replays: list[str]                            # why the notebook had to be executed again
    cost_execute: list[float] = field(default_factory=lambda: [0.0, 0.0])   # wall, CPU seconds
    cost_attempts: list[float] = field(default_factory=lambda: [0.0, 0.0])

    def blank(self) -> dict[str, tuple[float, float]]:
        return {gid: score for o in self.outcomes if o.attempt.kind == "blank" for gid, score in o.scores.items()}


# ------------------------------------------------------------------------ scoring, as nbgrader
def score(cell, config) -> tuple[float, float]:
    """nbgrader's score of an executed grade cell: its post-execution preprocessors, then determine_grade."""
    from nbgrader.preprocessors import IgnorePattern, LimitOutput
    from nbgrader.utils import determine_grade

    cell = copy.deepcopy(cell)
    for preprocessor in (IgnorePattern(config=config), LimitOutput(config=config)):
        if preprocessor.enabled:
            cell, _ = preprocessor.preprocess_cell(cell, {}, 0)
    points, max_points = determine_grade(cell)
    return float(points or 0), float(max_points)


def why(cell) -> str:
    """The first error or stderr line of an executed cell, for failure messages."""
    for output in cell.outputs:
        if output.output_type == "error":
            return f"{output.ename}: {output.evalue}"[:300]
        if output.output_type == "stream" and output.name == "stderr":
            return "wrote to stderr: " + output.text.strip().splitlines()[0][:300] if output.text.strip() else "stderr"
    return ""


# ------------------------------------------------------------------------- static dependencies
def _parse(source: str) -> ast.Module:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


def _root_name(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def bound_names(source: str) -> set[str]:
    """Global names a cell binds, deletes or mutates (``x.a = …``, ``x[i] = …``, ``x.method(…)``)."""
    names = set().union(set(), *(_bound_by(stmt) for stmt in _parse(source).body))
    return names - {"get_ipython"}  # IPython magics become get_ipython().run_line_magic(…)


def _bound_by(stmt: ast.stmt) -> set[str]:
    """Global names one top-level statement binds, deletes or mutates."""
    names: set[str] = set()

    def targets(node):
        if isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                targets(element)
        elif (root := _root_name(node)) is not None:
            names.add(root)

    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.add(stmt.name)
        names.update(n for node in ast.walk(stmt) if isinstance(node, ast.Global) for n in node.names)
        return names
    for node in ast.walk(stmt):
        if isinstance(node, (ast.Assign, ast.Delete)):
            for target in node.targets:
                targets(target)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.NamedExpr)):
            targets(node.target)
        elif isinstance(node, (ast.For, ast.AsyncFor)):  # comprehension variables are local
            targets(node.target)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            targets(node.optional_vars)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            targets(node.func.value)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            break
    return names - {"get_ipython"}


def imported_names(source: str) -> set[str]:
    """Names a cell binds by ``import`` (modules: calling their functions changes no data)."""
    return {(alias.asname or alias.name).split(".")[0] for node in ast.walk(_parse(source))
            if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}


def _rebound_by(stmt: ast.stmt) -> set[str]:
    """Names a top-level statement certainly rebinds: plain ``name = ...`` (or a tuple of names).

    Conditional or looped bindings may not run, and ``x.a = ...`` changes an object rather
    than rebinding ``x``, so neither counts.
    """
    names: set[str] = set()
    if isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            elements = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
            names.update(e.id for e in elements if isinstance(e, ast.Name))
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None and isinstance(stmt.target, ast.Name):
        names.add(stmt.target.id)
    return names


def used_names(source: str) -> set[str]:
    """Every global name a cell reads, anywhere: function bodies included (they read globals
    when called), but not the names local to a function, lambda or comprehension (their
    parameters, what they assign, their loop variables)."""
    return _free_names(_parse(source), set())


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _free_names(node, local: set[str]) -> set[str]:
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) and node.id not in local else set()
    if isinstance(node, _SCOPES):
        args = node.args
        outer = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
        if not isinstance(node, ast.Lambda):
            outer += node.decorator_list
        reads = set().union(*(_free_names(n, local) for n in outer))
        params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs,
                                  *filter(None, [args.vararg, args.kwarg])]}
        body = node.body if isinstance(node.body, list) else [node.body]
        declared = {n for b in body for x in ast.walk(b) if isinstance(x, ast.Global) for n in x.names}
        stored = {x.id for b in body for x in ast.walk(b) if isinstance(x, ast.Name) and isinstance(x.ctx, ast.Store)}
        defined = {x.name for b in body for x in ast.walk(b) if isinstance(x, (*_SCOPES[:2], ast.ClassDef))}
        inner = local | params | ((stored | defined) - declared)
        return reads | set().union(*(_free_names(b, inner) for b in body))
    if isinstance(node, _COMPREHENSIONS):
        targets = {x.id for g in node.generators for x in ast.walk(g.target) if isinstance(x, ast.Name)}
        # The first iterable is evaluated in the enclosing scope; everything else sees the targets.
        reads = _free_names(node.generators[0].iter, local)
        inner = local | targets
        rest = [*(g.target for g in node.generators), *(g.iter for g in node.generators[1:]),
                *(c for g in node.generators for c in g.ifs)]
        rest += [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        return reads | set().union(*(_free_names(n, inner) for n in rest))
    return set().union(set(), *(_free_names(child, local) for child in ast.iter_child_nodes(node)))


# ------------------------------------------------------------------------------------- grader
def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_test(cell) -> bool:
    nbg = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(nbg.get("grade")) and not nbg.get("solution")


def _is_answer(cell) -> bool:
    return cell.cell_type == "code" and bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


class CellGrader:
    """One lesson's solution notebook (nbgrader source), its release, and a kernel to try answers in."""

    def __init__(self, source: Path, release: Path, config, cwd: Path):
        self.config, self.cwd = config, Path(cwd)
        self.cells = nbformat.read(source, as_version=4).cells
        self.released = {_grade_id(c): c for c in nbformat.read(release, as_version=4).cells if _grade_id(c)}
        self.answer_at = {_grade_id(c): i for i, c in enumerate(self.cells) if _is_answer(c)}
        self.test_at = {_grade_id(c): i for i, c in enumerate(self.cells) if _is_test(c)}
        self.last = max(self.test_at.values(), default=-1)
        self.client = None
        self.replays: list[str] = []

    # -- the exercises
    def test_of(self, answer: str) -> str:
        test = f"{answer}-tests"
        if test not in self.test_at or self.test_at[test] < self.answer_at[answer]:
            raise HarnessError(f"answer cell {answer!r} has no test cell {test!r} after it")
        return test

    def reach(self, answer: str) -> int:
        """Index of the last test cell that depends on ``answer`` (its own test cell at least).

        A taint analysis over the statements after the answer, in order: a statement that
        reads a tainted global taints every name it binds or mutates; one that reads none
        and rebinds plain names (``_x = ...``, ``fig, ax = ...``) clears their taint, so a
        temporary reused across cells does not chain them together. Names local to a
        function or comprehension are not globals, and calling a module's function
        (``np.asarray(t)``) does not taint the module.
        """
        modules = set().union(*(imported_names(c.source) for c in self.cells if c.cell_type == "code"))
        start = self.answer_at[answer]
        tainted = bound_names(self.cells[start].source) - modules
        last = self.test_at[self.test_of(answer)]
        for i in range(start + 1, self.last + 1):
            cell = self.cells[i]
            if cell.cell_type != "code":
                continue
            for statement in _parse(cell.source).body:
                if _free_names(statement, set()) & tainted:
                    tainted |= _bound_by(statement) - modules
                    if _is_test(cell):
                        last = max(last, i)
                else:
                    tainted -= _rebound_by(statement)
        return last

    # -- the kernel
    def _start(self) -> None:
        from nbclient import NotebookClient
        from nbgrader.preprocessors import Execute

        client = Execute(config=self.config)
        NotebookClient.__init__(client, nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell()]))
        client.timeout = min(client.timeout or CELL_TIMEOUT, CELL_TIMEOUT)
        client.resources = {"metadata": {"path": str(self.cwd)}}
        client.reset_execution_trackers()
        self._context = client.setup_kernel(env={**os.environ, "NBGRADER_EXECUTION": "autograde"})
        self._context.__enter__()
        client.wait_for_reply(client.kc.kernel_info())
        self.client = client
        # Load the kernel side as module _tlh_cellgrader, binding no name in the notebook.
        self._call_code(f"exec(compile(open({str(KERNEL_MODULE)!r}).read(), {str(KERNEL_MODULE)!r}, 'exec'), "
                        f"__import__('sys').modules.setdefault('_tlh_cellgrader', "
                        f"__import__('types').ModuleType('_tlh_cellgrader')).__dict__)")

    def _stop(self) -> None:
        if self.client is not None:
            try:
                self._context.__exit__(None, None, None)
            finally:
                self.client = None

    def _execute(self, cell, history: bool = True):
        from nbclient.exceptions import DeadKernelError

        cell = copy.deepcopy(cell)
        cell.outputs = []
        try:
            self.client.execute_cell(cell, 0, store_history=history)
        except DeadKernelError as error:
            raise KernelDied(str(error)) from error
        return cell

    def _call_code(self, code: str) -> str:
        """Run harness code in the kernel, outside the notebook's history; its stdout."""
        cell = self._execute(nbformat.v4.new_code_cell(code), history=False)
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if errors:
            raise HarnessError(f"{code}:\n" + "\n".join(errors[0].traceback))
        return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")

    def _call(self, call: str) -> str:
        return self._call_code(f"__import__('_tlh_cellgrader').{call}")

    # -- the notebook
    def _run(self, i: int, snapshot: bool = True, cell=None):
        """Execute source cell ``i`` (or ``cell`` in its place); the score if it is a test cell."""
        source = self.cells[i]
        if source.cell_type != "code" or not source.source.strip():
            return None
        if _is_answer(source):
            if snapshot:
                self._call(f"snapshot({_grade_id(source)!r})")
            if cell is None:
                cell = copy.deepcopy(source)
                cell.source = MARKERS.sub("", source.source)
        executed = self._execute(cell if cell is not None else source)
        return (score(executed, self.config), why(executed)) if _is_test(source) else None

    def _replay(self, upto: int, reason: str) -> None:
        """A fresh kernel, the notebook executed again up to (not including) cell ``upto``."""
        self.replays.append(reason)
        self._stop()
        self._start()
        for i in range(upto):
            self._run(i)

    def _restore(self, answer: str) -> None:
        try:
            unrestored = json.loads(self._call(f"restore({answer!r})"))
        except KernelDied:
            unrestored = ["<kernel died>"]
        if unrestored:
            self._replay(self.answer_at[answer], f"after an answer to {answer}: {', '.join(unrestored)} not restorable")
            self._call(f"snapshot({answer!r})")

    def _try(self, attempt: Attempt, end: int, prove: bool = True) -> Outcome:
        outcome = Outcome(attempt)
        start = self.answer_at[attempt.cell]
        own_test = self.test_of(attempt.cell)
        self._restore(attempt.cell)
        answer = copy.deepcopy(self.cells[start])
        answer.source = attempt.code
        try:
            self._execute(answer)
            for i in range(start + 1, end + 1):
                cell = self.cells[i]
                if attempt.visible_only and _grade_id(cell) == own_test:
                    cell = self.released[own_test]
                result = self._run(i, snapshot=False, cell=cell if _is_test(cell) else None)
                if result is not None:
                    (outcome.scores[_grade_id(cell)], outcome.errors[_grade_id(cell)]) = result
        except KernelDied as died:
            outcome.note = f"the kernel died ({died}); the notebook was executed again"
            outcome.scores.setdefault(own_test, (0.0, float(self.cells[self.test_at[own_test]].metadata.nbgrader.points)))
            self._replay(end + 1, f"the kernel died under {attempt.kind} answer {attempt.name!r}")
            return outcome
        if prove:
            failed = self._prove(attempt.cell, end)
            if failed:
                outcome.restored = False
                outcome.note = "the solution failed after this answer was undone: " + "; ".join(failed)
                self._replay(end + 1, f"restoration failed after {attempt.kind} answer {attempt.name!r}")
        return outcome

    def _prove(self, answer: str, end: int) -> list[str]:
        """Restore, run the solution and every cell after it up to ``end``: the test cells that
        did not earn full points (none: the restoration is proven)."""
        self._restore(answer)
        failed = []
        for i in range(self.answer_at[answer], end + 1):
            result = self._run(i, snapshot=i != self.answer_at[answer])
            if result is not None and result[0][0] < result[0][1]:
                failed.append(f"{_grade_id(self.cells[i])}: {result[1]}")
        return failed

    def _visible_tests_come_first(self, test: str) -> bool:
        """True when the released test cell is the source test cell minus a hidden block at its
        end: the source cell then runs the visible tests first, so an answer the visible tests
        reject (an error, or output to stderr, before the hidden block) loses the points of the
        full cell too, from the same state."""
        source = self.cells[self.test_at[test]].source
        begin = source.find("### BEGIN HIDDEN TESTS")
        end = source.find("### END HIDDEN TESTS")
        after = source[end:].partition("\n")[2] if end >= 0 else ""
        return (begin >= 0 and end > begin and not after.strip()
                and self.released[test].source.strip() == source[:begin].strip())

    def _try_group(self, attempts: list[Attempt], end: int) -> list[Outcome]:
        """Every attempt whose last cell is ``end``, with the restoration proven once per answer
        cell after the group rather than after every attempt. If a proof fails, the notebook is
        executed again and the group retried with a proof after every attempt (so an answer
        that spoils the state for the next is never judged on the spoilt state).

        A central wrong answer is tried against the released (visible) tests first; when those
        reject it and come first in the source test cell, the full test cell's verdict follows
        (:meth:`_visible_tests_come_first`) and is not executed a second time."""
        outcomes: dict[Attempt, Outcome] = {}
        ordered = sorted(attempts, key=lambda a: not a.visible_only)  # visible-only first
        for attempt in ordered:
            if not attempt.visible_only and attempt.kind == "wrong":
                seen = outcomes.get(Attempt(attempt.cell, attempt.name, attempt.code, attempt.kind, True))
                test = self.test_of(attempt.cell)
                if seen is not None and test in seen.scores and seen.scores[test][0] < seen.scores[test][1] \
                        and self._visible_tests_come_first(test):
                    outcomes[attempt] = Outcome(attempt, scores={test: seen.scores[test]}, errors=dict(seen.errors),
                                                note="implied: the visible tests, which the full test cell runs first, reject it")
                    continue
            outcomes[attempt] = self._try(attempt, end, prove=False)
        failed = [f for answer in dict.fromkeys(a.cell for a in attempts) for f in self._prove(answer, end)]
        if failed:
            self._replay(end + 1, f"restoration failed in the group of answers ending at cell {end}: {'; '.join(failed)}")
            return [self._try(attempt, end) for attempt in attempts]
        return [outcomes[attempt] for attempt in attempts]

    def run(self, attempts: list[Attempt]) -> Report:
        """Execute the notebook once, trying each attempt at its exercise's last dependent test cell."""
        at: dict[int, list[Attempt]] = defaultdict(list)
        for attempt in attempts:
            if attempt.cell not in self.answer_at:
                raise HarnessError(f"{attempt.kind} answer {attempt.name!r} names unknown answer cell {attempt.cell!r}")
            end = self.reach(attempt.cell) if attempt.kind == "unusual" else self.test_at[self.test_of(attempt.cell)]
            at[end].append(attempt)
        report = Report(solution={}, outcomes=[], replays=self.replays)
        clock = self._clock()

        def charge(cost: list[float]) -> None:
            nonlocal clock
            now = self._clock()
            cost[0] += now[0] - clock[0]
            cost[1] += now[1] - clock[1]
            clock = now

        try:
            self._start()
            for i in range(self.last + 1):
                result = self._run(i)
                if result is not None:
                    report.solution[_grade_id(self.cells[i])] = result[0]
                if at.get(i):
                    charge(report.cost_execute)
                    report.outcomes.extend(self._try_group(at[i], i))
                    charge(report.cost_attempts)
        finally:
            self._stop()
            charge(report.cost_execute)
        return report

    def _clock(self) -> tuple[float, float]:
        """Wall time, and CPU time of this process, its finished children and the live kernel."""
        provisioner = getattr(getattr(self.client, "km", None), "provisioner", None)
        pid = getattr(provisioner, "pid", None)
        return time.perf_counter(), costs.cpu_seconds([pid] if pid else [])


class KernelDied(HarnessError):
    pass


def blank_attempts(release: Path) -> list[Attempt]:
    """Every exercise's stub from the released lesson, as an answer: the harness's blank lesson."""
    nb = nbformat.read(release, as_version=4)
    return [Attempt(_grade_id(c), "untouched stub", c.source, "blank") for c in nb.cells if _is_answer(c)]
