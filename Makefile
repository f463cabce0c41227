# Two entry points (README): `make demo` runs the main job on the embedded default,
# `make test` runs the whole test suite. Both create or reuse the git-ignored virtual
# environment in .venv and install what they need into it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_OUT ?= runs/demo

.PHONY: demo test lint format bench clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps are remade when pyproject.toml changes, so dependency edits reinstall. The demo needs
# the render extra (bpy, for Blender/Cycles); the test install is a superset, so it stamps both.
# (The stamp name says what it holds: an older .demo-installed stamp meant "no bpy".)
DEMO_STAMP := $(VENV)/.demo-render-installed
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[render]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,render,saliency]'
	touch $@ $(DEMO_STAMP)

# The paper's rotation-equivariance (C1) and path-integration (C3) claims at CPU scale, through
# render → shard → train → evaluate on built-in data (seqjepa-repro --suite demo); resumable,
# prints the report path.
demo: $(DEMO_STAMP)
	$(BIN)/seqjepa-repro --suite demo --out $(DEMO_OUT) $(DEMO_ARGS)

test: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/train_step.py

clean-venv:
	rm -rf $(VENV)
