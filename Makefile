# Sparkify warehouse: the whole interface. `make` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
EVENTS ?= 20000
SONGS ?= 2000
DATA_OUT ?= data/generated
BENCH_EVENTS ?= 100000,1000000
BENCH_SONGS ?= 20000
PYTEST_ARGS ?=

export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install load stage transform migrate verify data test lint psql db-url db-stop clean bench

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  settings: environment or .env, all documented in env.example (e.g. make load FULL_REFRESH=1)"

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(INSTALLED) ## create the virtualenv and install the project (done on first use by every target)

load: $(INSTALLED) ## stage new and changed files, rebuild the star schema, print a summary
	$(PY) bin/load

stage: $(INSTALLED) ## stage new and changed files only
	$(PY) bin/stage

transform: $(INSTALLED) ## rebuild the star schema from staging only
	$(PY) bin/transform

migrate: $(INSTALLED) ## apply pending schema files (sql/schema/)
	$(PY) bin/migrate

verify: $(INSTALLED) ## run the data checks (sql/checks/); fails when any fails
	$(PY) bin/verify

data: $(INSTALLED) ## generate a dataset: make data EVENTS=1000000 SONGS=20000 DATA_OUT=data/big
	$(PY) bin/generate --events $(EVENTS) --songs $(SONGS) $(DATA_OUT)

bench: $(INSTALLED) ## compare this load with row-by-row INSERTs, the COPY floor and DuckDB: make bench BENCH_EVENTS=100000
	$(PY) bin/bench --events $(BENCH_EVENTS) --songs $(BENCH_SONGS)

test: $(INSTALLED) ## run the whole test suite (unit and integration)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(INSTALLED) ## parse and lint every SQL file (postgres, and redshift for Redshift-bound files); lint Python
	$(BIN)/sqlfluff lint --dialect postgres sql/
	$(BIN)/sqlfluff lint --dialect redshift $$($(PY) -m sparkify_dwh.sqlfiles redshift)
	$(BIN)/ruff check sparkify_dwh bin tests

psql: $(INSTALLED) ## open psql on the current database
	$(PY) bin/db psql

db-url: $(INSTALLED) ## print the current database URL (password masked)
	$(PY) bin/db url

db-stop: $(INSTALLED) ## stop the embedded PostgreSQL (its data stays in .pgdata/)
	$(PY) bin/db stop

clean: ## stop the embedded server; remove the virtualenv, .pgdata/, data/ and caches
	-[ -x $(PY) ] && $(PY) bin/db stop
	rm -rf $(VENV) .pgdata data .pytest_cache *.egg-info report.html
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
