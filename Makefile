# gridwatch: the two commands of the README, and the chores around them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench loadtest fuzz lint format services screenshots clean notebooks

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Debian: apt-get install python3.11 python3.11-venv)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

## make run: install, build the sample city if the store is empty, serve on http://127.0.0.1:8000
run: $(STAMP)
	./scripts/ensure-font.sh --warn-only
	$(BIN)/gridwatch init
	$(BIN)/gridwatch samples build --if-missing
	$(BIN)/gridwatch serve

## make notebooks: execute notebooks/ on the full sample city (the store of `make run`, or
## GRIDWATCH_DATABASE_URL), render them as small HTML pages into docs/notebooks/ with each
## one's first picture (scripts/render_notebooks.py --help)
NOTEBOOK_STORE ?= $(or $(GRIDWATCH_DATABASE_URL),sqlite:///$(CURDIR)/var/gridwatch.db)
notebooks: $(STAMP)
	GRIDWATCH_DATABASE_URL='$(NOTEBOOK_STORE)' $(BIN)/gridwatch init
	GRIDWATCH_DATABASE_URL='$(NOTEBOOK_STORE)' $(BIN)/gridwatch samples build --if-missing
	GRIDWATCH_DATABASE_URL='$(NOTEBOOK_STORE)' $(BIN)/python scripts/render_notebooks.py \
		--out docs/notebooks notebooks/*.ipynb

## make test: install what the tests need (PostgreSQL + PostGIS included), run the whole suite,
## then build the wheel and try it in a fresh virtualenv without extras (scripts/check-wheel.sh)
test: $(STAMP) services
	$(BIN)/python -m pytest -n 2 --dist loadgroup
	./scripts/check-wheel.sh

services:
	./scripts/ensure-postgis.sh
	./scripts/ensure-browser.sh

## make bench: the benchmarks of the README's table
bench: $(STAMP) services
	$(BIN)/python benchmarks/cli_startup.py
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/analytics.py
	$(BIN)/python benchmarks/patrol_plans.py
	$(BIN)/python benchmarks/history_load.py
	$(BIN)/python benchmarks/dask_engine.py
	$(BIN)/python benchmarks/postgis_size.py

## make loadtest: intake, locate, the queue and event streams against a served sample city on
## SQLite (1 process) and PostgreSQL (1 and 2 processes), from 127.0.0.1; prints the README's table
loadtest: $(STAMP) services
	$(BIN)/python benchmarks/loadtest.py

## make fuzz: Schemathesis over every operation with each role, 100 examples each, both backends
fuzz: $(STAMP) services
	GRIDWATCH_FUZZ_EXAMPLES=100 $(BIN)/python -m pytest -q -n 2 --dist loadgroup \
	    tests/api/test_schemathesis.py

## make screenshots: regenerate the README's pictures (docs/screenshots) from the browser tests
screenshots: $(STAMP) services
	GRIDWATCH_TEST_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q \
	    tests/e2e/test_three_faces_browser.py \
	    tests/e2e/test_maps_browser.py::test_hotspot_map_renders_offline_with_its_hexagons

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
