"""The framework-neutral core: light import, profiles, seeding, environment report, data dir."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tlhelpers
from tlhelpers import profiles


def test_import_loads_no_framework():
    code = ("import sys, tlhelpers, tlhelpers.course, tlhelpers.grading, tlhelpers.data; "
            "bad = [m for m in ('tensorflow', 'torch', 'keras') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_sets_quiet_tensorflow_variables_without_overriding_the_user():
    code = "import os, tlhelpers; print(os.environ['TF_CPP_MIN_LOG_LEVEL'], os.environ.get('TF_ENABLE_ONEDNN_OPTS', '-'))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "-"]  # oneDNN keeps TensorFlow's default (on): faster Keras steps
    out = subprocess.run([sys.executable, "-c", code], env={**env, "TF_CPP_MIN_LOG_LEVEL": "0",
                                                            "TF_ENABLE_ONEDNN_OPTS": "0"},
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "0"]


def test_importing_the_keras_track_prints_nothing_and_keeps_stderr_working():
    """TensorFlow's native oneDNN notice is hidden; stderr works again after the import."""
    code = ("import sys, tlhelpers.keras, tensorflow as tf; tf.constant(1.0) + 1; "
            "print('after', file=sys.stderr)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stderr == "after\n", out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize("name", profiles.PROFILES)
def test_profile_from_environment(monkeypatch, name):
    monkeypatch.setenv("TLH_PROFILE", name.upper())
    assert tlhelpers.current_profile().name == name
    assert tlhelpers.by_profile(smoke=1, standard=2, full=3) == {"smoke": 1, "standard": 2, "full": 3}[name]


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TLH_PROFILE", "fast")
    with pytest.raises(ValueError, match="TLH_PROFILE='fast'.*smoke, standard, full"):
        tlhelpers.current_profile()


def test_default_profile_follows_the_gpu(monkeypatch):
    monkeypatch.delenv("TLH_PROFILE", raising=False)
    monkeypatch.setattr(profiles, "gpu_visible", lambda: True)
    assert tlhelpers.current_profile().name == "full"
    monkeypatch.setattr(profiles, "gpu_visible", lambda: False)
    assert tlhelpers.current_profile().name == "standard"


def test_hidden_gpus_are_not_visible(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert profiles.gpu_visible() is False


def test_seed_everything_repeats_numpy_and_python():
    import random

    tlhelpers.seed_everything(7)
    a = (random.random(), np.random.rand(3))
    tlhelpers.seed_everything(7)
    b = (random.random(), np.random.rand(3))
    assert a[0] == b[0] and np.array_equal(a[1], b[1])


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_seed_must_be_a_non_negative_int(bad):
    with pytest.raises(ValueError, match="seed"):
        tlhelpers.seed_everything(bad)


def test_env_report_without_framework():
    report = tlhelpers.env_report()
    rows = report.as_dict()
    assert rows["tlhelpers"] == tlhelpers.__version__
    assert rows["Profile"].startswith("smoke")
    assert "Data cache (TLH_DATA_DIR)" in rows
    assert "<table>" in report._repr_html_() and "Profile" in str(report)
    with pytest.raises(ValueError, match="devices"):
        tlhelpers.env_report("jax")


def test_data_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TLH_DATA_DIR", str(tmp_path / "cache"))
    assert tlhelpers.data_dir() == tmp_path / "cache" and (tmp_path / "cache").is_dir()


def test_the_core_imports_no_track():
    """Framework-neutral modules (tlhelpers/*.py, tlhelpers/data/) never import a track."""
    import ast

    root = Path(tlhelpers.__file__).parent
    core = [p for p in root.rglob("*.py") if p.relative_to(root).parts[0] not in ("keras", "torch")]
    offenders = []
    for path in core:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
                relative_track = node.level > 0 and any(
                    (n or "").split(".")[0] in ("keras", "torch") for n in names)
                absolute_track = node.level == 0 and (node.module or "").startswith(("tlhelpers.keras", "tlhelpers.torch"))
                if relative_track or absolute_track:
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}")
            elif isinstance(node, ast.Import):
                if any(a.name.startswith(("tlhelpers.keras", "tlhelpers.torch")) for a in node.names):
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not offenders, f"core modules import a track: {offenders}"


def test_warnings_to_stdout_keeps_stderr_clean(capsys):
    import warnings

    saved = warnings.showwarning
    try:
        tlhelpers.warnings_to_stdout()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("a harmless library warning", UserWarning)
        out, err = capsys.readouterr()
        assert "a harmless library warning" in out and err == ""
    finally:
        warnings.showwarning = saved
