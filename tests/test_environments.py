"""pyproject.toml, environment.yml and binder/environment.yml agree on what the course needs."""

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
GRADING_AND_TEST_TOOLS = {"nbgrader", "nbval", "pytest", "pytest-xdist"}


def name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower()


def pyproject():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = {k: {name(r) for r in v} for k, v in data["optional-dependencies"].items()}
    return {name(r) for r in data["dependencies"]}, extras


def conda_env(path: Path) -> set[str]:
    deps = yaml.safe_load(path.read_text())["dependencies"]
    names = set()
    for dep in deps:
        if isinstance(dep, dict):
            names |= {name(r) for r in dep["pip"] if not r.startswith(("-", "."))}
        elif not dep.startswith(("python", "pip")):
            names.add(name(dep))
    return names - {""}


def test_local_environment_has_everything():
    core, extras = pyproject()
    needed = core | extras["keras-cpu"] | extras["torch"] | extras["text"] | extras["course"] | extras["grading"] | extras["dev"]
    env = conda_env(REPO / "environment.yml")
    assert needed <= env, f"missing from environment.yml: {sorted(needed - env)}"
    assert env <= needed | {"python"}, f"environment.yml has packages pyproject.toml lacks: {sorted(env - needed)}"


def test_binder_environment_is_lean_but_complete_for_students():
    core, extras = pyproject()
    needed = core | extras["keras-cpu"] | extras["torch"] | extras["text"] | extras["course"]
    env = conda_env(REPO / "binder" / "environment.yml")
    assert needed <= env, f"missing from binder/environment.yml: {sorted(needed - env)}"
    assert not env & GRADING_AND_TEST_TOOLS, f"binder should not install {sorted(env & GRADING_AND_TEST_TOOLS)}"
    assert "torchvision" not in env


def test_no_environment_installs_torchvision_on_cpu():
    for path in (REPO / "environment.yml", REPO / "binder" / "environment.yml", REPO / "constraints.txt"):
        assert not re.search(r"^\s*-?\s*torchvision", path.read_text(), re.MULTILINE), path


def test_keras_hub_is_installed_without_its_dependencies_everywhere():
    """keras-hub's tensorflow-text requirement would pull the full `tensorflow` next to tensorflow-cpu."""
    assert "--no-deps keras-hub" in (REPO / "Makefile").read_text()
    assert re.search(r"--no-deps '?keras-hub", (REPO / "binder" / "postBuild").read_text())
    assert "--no-deps keras-hub" in (REPO / "environment.yml").read_text()
    assert "keras-hub" not in conda_env(REPO / "environment.yml") | conda_env(REPO / "binder" / "environment.yml")
