# gridwatch: the two commands of the README, and the chores around them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint format services clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Debian: apt-get install python3.11 python3.11-venv)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

## make run: install, build the sample city if the store is empty, serve on http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/gridwatch init
	$(BIN)/gridwatch samples build --if-missing
	$(BIN)/gridwatch serve

## make test: install what the tests need (PostgreSQL + PostGIS included) and run the whole suite
test: $(STAMP) services
	$(BIN)/python -m pytest -n 2 --dist loadgroup

services:
	./scripts/ensure-postgis.sh
	./scripts/ensure-browser.sh

## make bench: the benchmarks of the README's table
bench: $(STAMP) services
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/analytics.py
	$(BIN)/python benchmarks/patrol_plans.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
