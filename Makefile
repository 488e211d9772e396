# Transfer Learning, hands-on — everything a learner, an instructor and CI run.
#   make lab      set up, then open JupyterLab on the lessons
#   make test     set up, then run the whole test suite (smoke profile)
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
EXTRAS := $(KERAS_EXTRA),torch,course,grading,dev
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: setup lab test test-fast release check-release grade feedback bench clean help

help:
	@grep -E '^#   make' Makefile | sed 's/^#   //'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when the package definition or the pins change.
$(VENV)/.stamp-setup: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -q --upgrade pip setuptools wheel
	$(PIP) install -q -c constraints.txt -e ".[$(EXTRAS)]"
	@touch $@

setup: $(VENV)/.stamp-setup ## create .venv with both tracks, Jupyter and the grading tools

# Jupyter refuses to run as root unless told; containers (Docker, some cloud VMs) often are root.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)
lab: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab --ServerApp.root_dir=lessons $(LAB_ARGS)

# The whole suite: unit and parity tests, every solution notebook under nbval in the
# smoke profile, and the nbgrader checks. One thread per worker (2 cores here).
TEST_ENV := TLH_PROFILE=smoke OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 \
	MPLBACKEND=Agg PATH="$(abspath $(BIN)):$$PATH"
test: setup
	$(TEST_ENV) $(BIN)/python -m pytest -n $(JOBS) --dist loadfile --nbval-lax tests solutions

test-fast: setup ## unit tests only, no notebooks
	$(TEST_ENV) $(BIN)/python -m pytest -n $(JOBS) --dist loadfile -m "not notebook" tests

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
