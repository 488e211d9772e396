# Transfer Learning, hands-on — everything a learner, an instructor and CI run.
#   make lab      set up, then open JupyterLab on the lessons
#   make test     set up, then run the whole test suite (smoke profile)
#   make test-fast        unit tests only (no notebooks)
#   make test-lesson LESSON=NN   one lesson's tests and grading checks, both tracks
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
JOBS ?= 2
TRACK ?= keras
LESSON ?=

# TensorFlow's CPU-only wheel on Linux; the regular one elsewhere (macOS, or a GPU box: see README).
ifeq ($(shell uname -s),Linux)
KERAS_EXTRA ?= keras-cpu
else
KERAS_EXTRA ?= keras
endif
EXTRAS := $(KERAS_EXTRA),torch,text,course,grading,dev
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: setup lab test test-fast test-lesson test-nbval release check-release grade feedback bench clean help

help:
	@grep -E '^#   make' Makefile | sed 's/^#   //'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when the package definition or the pins change.
$(VENV)/.stamp-setup: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -q --upgrade pip setuptools wheel
	$(PIP) install -q -c constraints.txt -e ".[$(EXTRAS)]"
	$(PIP) install -q -c constraints.txt --no-deps keras-hub  # see the `text` extra in pyproject.toml
	@touch $@

setup: $(VENV)/.stamp-setup ## create .venv with both tracks, Jupyter and the grading tools

# Jupyter refuses to run as root unless told; containers (Docker, some cloud VMs) often are root.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)
lab: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab --ServerApp.root_dir=lessons $(LAB_ARGS)

# The whole suite: unit and parity tests, and every lesson's grading checks in both tracks
# (nbgrader on the solution and the blank lesson, the cell grader on every known-wrong answer;
# see tests/test_grading.py). One thread per worker (2 cores here). A module's tests, and each
# lesson and track's grading tests, stay on one worker (--dist loadscope); the slowest tests and
# the cost table are printed at the end.
TEST_ENV := TLH_PROFILE=smoke OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 \
	MPLBACKEND=Agg PATH="$(abspath $(BIN)):$$PATH"
PYTEST := $(TEST_ENV) $(BIN)/python -m pytest -n $(JOBS) --dist loadscope --no-loadscope-reorder
test: setup
	$(PYTEST) --durations=25 tests

test-fast: setup ## unit tests only, no notebooks
	$(PYTEST) -m "not notebook" tests

test-lesson: setup ## one lesson, both tracks: its grading checks and its own tests (LESSON=NN)
	@test -n "$(LESSON)" || { echo "usage: make test-lesson LESSON=NN (e.g. LESSON=01)"; exit 2; }
	$(PYTEST) --durations=10 --lesson $(LESSON) tests

test-nbval: setup ## every solution notebook under nbval, cell by cell (LESSON=NN for one lesson)
	$(TEST_ENV) PYTHONPATH=tests $(BIN)/python -m pytest -p conftest -n $(JOBS) --dist loadfile --nbval-lax \
		$(if $(LESSON),$(wildcard solutions/*/$(LESSON)*/*.ipynb),solutions)

release: setup ## regenerate lessons/ (student notebooks) from solutions/ with nbgrader
	$(BIN)/python -m tlhelpers.course sync
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m tlhelpers.grading release

grade: setup ## autograde every submission of LESSON in TRACK's course
	cd courses/$(TRACK) && PATH="$(abspath $(BIN)):$$PATH" $(abspath $(BIN))/nbgrader autograde "$(LESSON)"

feedback: setup ## HTML feedback for every autograded submission of LESSON in TRACK
	cd courses/$(TRACK) && PATH="$(abspath $(BIN)):$$PATH" $(abspath $(BIN))/nbgrader generate_feedback "$(LESSON)"

bench: setup ## reproduce the lessons' headline numbers at full size
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache courses/*/gradebook.db courses/*/autograded courses/*/feedback
