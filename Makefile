# recobro — `make demo` runs the whole loop on simulated data; `make test` runs the test suite.
# Both create .venv from requirements.lock when it is missing and skip setup when nothing changed.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.recobro-installed
UV_VERSION := 0.13.9

.DEFAULT_GOAL := help
.PHONY: help setup demo test test-fast bench bench-quick lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)  ## create .venv from the pinned lock (no-op when up to date)

demo: $(STAMP)  ## simulate 20k accounts, ingest, train, score, decide, dispatch (dry-run), report
	$(BIN)/recobro demo

test: $(STAMP)  ## run the whole test suite
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)  ## run the tests except end-to-end and browser ones
	$(BIN)/python -m pytest -q -m "not e2e and not browser"

bench: $(STAMP)  ## run the benchmarks at the issues' sizes (1M accounts; ~30 min) and print their numbers and peak memory
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)  ## run every benchmark at its small default size (a few minutes)
	$(BIN)/python -m benchmarks --quick

lock:  ## recompile requirements.lock from requirements.in (names no index host)
	uv pip compile requirements.in --python-version 3.11 --no-header --no-annotate -o requirements.lock

clean:  ## remove generated data (keeps .venv)
	rm -rf data/inbox data/truth data/exports data/reports data/dispatch data/prefect data/mlartifacts \
	       data/warehouse.duckdb* data/mlflow.db
