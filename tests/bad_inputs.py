"""The machinery of the bad-input tests (``test_bad_inputs_core.py``, ``test_bad_inputs_tracks.py``).

The argument contract (:mod:`tlhelpers.checks`) says: a bad argument to a public function
raises a ``ValueError`` or ``TypeError`` (usually :class:`tlhelpers.checks.ArgumentError`,
which is both) whose message names the argument, raised from tlhelpers code before any
framework call; a legal but suspicious value warns; a value a real user passes in good
faith (``lr=1``, ``(N, 1)`` labels, ``extensions="png"``) is accepted.

A :class:`Case` is one input and its expected outcome. :func:`public_callables` lists a
module's public API programmatically, so that a new public function without at least
three bad-input cases fails the suite (``test_every_public_function_has_cases``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ERROR, WARNS, VALID = "error", "warning", "valid"
FRAMEWORKS = ("tensorflow", "keras", "torch")
TLHELPERS = str(Path(__file__).resolve().parents[1] / "tlhelpers")
TESTS = str(Path(__file__).resolve().parent)


@dataclass
class Case:
    """One input to a public function and how it must end.

    ``call(ctx)`` makes the call (``ctx`` is the track context, or a pytest ``tmp_path``
    helper for the core). ``arg`` is the argument the message must name (a word of the
    message, or for warnings a regex on it). ``error`` narrows the exception type.
    """

    label: str
    call: Callable[[Any], Any]
    arg: str = ""
    outcome: str = ERROR
    error: type[BaseException] | tuple[type[BaseException], ...] = (ValueError, TypeError)
    tracks: tuple[str, ...] = ("keras", "torch")


def bad(label: str, call, arg: str, **kw) -> Case:
    return Case(label, call, arg, ERROR, **kw)


def warns(label: str, call, arg: str, **kw) -> Case:
    return Case(label, call, arg, WARNS, **kw)


def valid(label: str, call, **kw) -> Case:
    return Case(label, call, "", VALID, **kw)


@dataclass
class Outcome:
    """What a call did: the error raised (type, message, frames) or the warnings it gave."""

    error: BaseException | None = None
    frames: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)


def run(case: Case, ctx: Any) -> Outcome:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            case.call(ctx)
        except Exception as err:  # noqa: BLE001 - judged below
            frames = [str(f.filename) for f in inspect.getinnerframes(err.__traceback__, 0)]
            return Outcome(err, frames[1:], [str(w.message) for w in caught])
    return Outcome(None, [], [str(w.message) for w in caught
                              if issubclass(w.category, UserWarning)])


def check(case: Case, out: Outcome) -> None:
    """Assert that ``out`` is what the contract asks for ``case``."""
    if case.outcome == VALID:
        assert out.error is None, f"{case.label}: a valid input was refused: {out.error!r}"
        return
    if case.outcome == WARNS:
        assert out.error is None, f"{case.label}: should warn and go on, raised {out.error!r}"
        assert any(re.search(case.arg, w) for w in out.warned), \
            f"{case.label}: expected a warning matching {case.arg!r}, got {out.warned}"
        return
    err = out.error
    assert err is not None, f"{case.label}: the bad input was accepted silently"
    assert isinstance(err, case.error), \
        f"{case.label}: expected {case.error}, got {type(err).__name__}: {err}"
    message = str(err)
    assert re.search(rf"(?<![\w]){re.escape(case.arg)}(?![\w])", message), \
        f"{case.label}: the message does not name {case.arg!r}: {message}"
    # Raised by tlhelpers (or by Python at the call itself: a missing or unknown keyword),
    # never deep inside a framework.
    inner = out.frames[-1] if out.frames else ""
    assert not out.frames or inner.startswith((TLHELPERS, TESTS)), \
        f"{case.label}: raised in {inner}, not in tlhelpers: {type(err).__name__}: {message}"
    deep = [f for f in out.frames if any(f"site-packages/{fw}" in f for fw in FRAMEWORKS)]
    assert not deep, f"{case.label}: the error passed through framework code {deep[:2]}"


def public_callables(module_names: list[str]) -> dict[str, Any]:
    """Every public function and class of the modules, keyed by where it is defined.

    Public: the module's ``__all__`` or, without one, the names it defines that do not
    start with ``_``. Exceptions and modules are left out; re-exports count once.
    """
    out: dict[str, Any] = {}
    for name in module_names:
        module = importlib.import_module(name)
        names = getattr(module, "__all__", None)
        if names is None:
            names = [n for n, v in vars(module).items()
                     if not n.startswith("_") and getattr(v, "__module__", None) == name]
        for n in names:
            obj = getattr(module, n)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue
            out[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return out


def package_modules(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    return [package] + [f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)
                        if not m.name.startswith("_")]


def takes_arguments(obj: Any) -> bool:
    """False for a function (or class) that takes no arguments: nothing can be bad."""
    try:
        return bool(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        return True


def missing_cases(api: dict[str, Any], cases: dict[str, list[Case]], exempt: dict[str, str],
                  prefix: str, track: str | None = None) -> list[str]:
    """Public callables of ``api`` with fewer than three error cases (and no exemption)."""
    missing = []
    for qualname, obj in sorted(api.items()):
        key = qualname[len(prefix):] if qualname.startswith(prefix) else qualname
        if key in exempt or not takes_arguments(obj):
            continue
        errors = [c for c in cases.get(key, [])
                  if c.outcome == ERROR and (track is None or track in c.tracks)]
        if len(errors) < 3:
            missing.append(f"{key} ({len(errors)} error cases)")
    return missing


def case_params(cases: dict[str, list[Case]]) -> list:
    return [pytest.param(key, case, id=f"{key}-{case.label}")
            for key, group in cases.items() for case in group]
