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
BENCH_REPEAT ?= 1
PYTEST_ARGS ?=
MUTANTS ?=
CONFIRM ?=
FROM ?=
TO ?=
IMAGE ?= sparkify-dwh
BASE ?=
ENGINE_ARGS ?=
# the first container engine that works: docker (with a daemon that answers), podman, buildah
ENGINE ?= $(shell for e in docker podman buildah; do command -v $$e >/dev/null 2>&1 || continue; \
  if [ $$e = docker ] && ! docker info >/dev/null 2>&1; then continue; fi; echo $$e; break; done)

export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install lock load backfill stage transform migrate verify history report data bench test lint psql db-url
.PHONY: db-stop db-reset clean provision teardown status acceptance image mutants docs-commands
.PHONY: grant-reader revoke-reader psql-reader docs

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  settings: environment or .env, all documented in env.example (e.g. make load FULL_REFRESH=1)"

# The installer, pinned: uv at this version, in a small virtualenv of its own beside the project's
UV_VERSION := 0.13.9
UV_DIR ?= .uv
UV := $(UV_DIR)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

$(UV):
	@echo "installing uv $(UV_VERSION) into $(UV_DIR)/"
	@rm -rf $(UV_DIR) && $(PYTHON) -m venv $(UV_DIR) && $(UV_DIR)/bin/python -m pip install --quiet uv==$(UV_VERSION)

# Everything the project installs comes from uv.lock (versions and hashes); a changed lock reinstalls.
$(INSTALLED): uv.lock pyproject.toml | $(UV)
	@echo "installing the project and its locked dependencies into $(VENV)/ (the log: $(UV_DIR)/install.log)"
	@$(UV) sync --frozen --extra dev --python $(PYTHON) > $(UV_DIR)/install.log 2>&1 \
	  || { tail -n 40 $(UV_DIR)/install.log; echo "install failed; the whole log: $(UV_DIR)/install.log" >&2; exit 1; }
	@touch $@

lock: $(UV) ## re-resolve to the newest versions pyproject.toml allows and rewrite uv.lock (then: make test)
	$(UV) lock --upgrade

install: $(INSTALLED) ## create the virtualenv and install the project (done on first use by every target)

load: $(INSTALLED) ## stage new and changed files, rebuild the star schema, print a summary
	$(PY) bin/load

stage: $(INSTALLED) ## stage new and changed files only
	$(PY) bin/stage

transform: $(INSTALLED) ## rebuild the star schema from staging only
	$(PY) bin/transform

migrate: $(INSTALLED) ## apply pending schema files (sql/schema/)
	$(PY) bin/migrate

backfill: $(INSTALLED) ## reload a window of days (UTC, both included): make backfill FROM=2018-11-05 TO=2018-11-07
	@[ -n "$(FROM)" ] && [ -n "$(TO)" ] || { echo "usage: make backfill FROM=YYYY-MM-DD TO=YYYY-MM-DD" >&2; exit 2; }
	$(PY) bin/backfill --from $(FROM) --to $(TO)

verify: $(INSTALLED) ## run the data checks (sql/checks/); fails when any fails
	$(PY) bin/verify

docs: $(INSTALLED) ## write docs/data-dictionary.md and .html and docs/tables.md's table from the catalog and sql/tables.toml
	$(PY) bin/docs

history: $(INSTALLED) ## print the latest loads (load_runs) and the checks that failed or warned in them (check_runs)
	$(PY) bin/history

report: $(INSTALLED) ## print the answers (sql/reports/) as tables; write them with charts to REPORT_OUT (report.html)
	$(PY) bin/report

data: $(INSTALLED) ## generate a dataset: make data EVENTS=1000000 SONGS=20000 DATA_OUT=data/big
	$(PY) bin/generate --events $(EVENTS) --songs $(SONGS) $(DATA_OUT)

bench: $(INSTALLED) ## compare this load with row-by-row INSERTs, the COPY floor and DuckDB: make bench BENCH_EVENTS=100000 BENCH_REPEAT=3
	$(PY) bin/bench --events $(BENCH_EVENTS) --songs $(BENCH_SONGS) --repeat $(BENCH_REPEAT)

test: $(INSTALLED) ## run the whole test suite (unit and integration)
	@# a temporary folder of this run's own: runs side by side never clean up each other's
	tmp=$$(mktemp -d); rc=0; $(PY) -m pytest --basetemp=$$tmp $(PYTEST_ARGS) || rc=$$?; rm -rf $$tmp; exit $$rc

mutants: $(INSTALLED) ## plant each bug of tests/mutants.toml alone in a copy and run its tests: make mutants [MUTANTS=B2,B3]
	MUTANTS=$(MUTANTS) $(PY) tests/mutants.py

lint: $(INSTALLED) ## lint every SQL file as each dialect runs it (postgres, redshift), then the Python
	@# each file rendered for the dialect (same names and line numbers), then linted under that dialect's grammar
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; for dialect in postgres redshift; do \
	  $(PY) -m sparkify_dwh.sqlfiles render $$dialect "$$tmp/$$dialect" > /dev/null; \
	  echo "sql/ as $$dialect runs it:"; (cd "$$tmp/$$dialect" && $(CURDIR)/$(BIN)/sqlfluff lint --config $(CURDIR)/pyproject.toml --dialect $$dialect .); done
	$(BIN)/ruff check sparkify_dwh bin tests

docs-commands: $(INSTALLED) ## regenerate each command's --help in docs/commands.md from the commands themselves (cog)
	$(BIN)/cog -r docs/commands.md

psql: $(INSTALLED) ## open psql on the current warehouse (WAREHOUSE=redshift: over TLS); the password in PGPASSWORD, never in argv
	$(PY) bin/db psql

psql-reader: $(INSTALLED) ## open psql as the analysts' read-only login (make grant-reader first)
	$(PY) bin/db psql --reader

grant-reader: $(INSTALLED) ## create the analysts' read-only login READER_USER (again: a new password); kept, never printed
	$(PY) bin/reader grant

revoke-reader: $(INSTALLED) ## drop the analysts' read-only login and forget its password
	$(PY) bin/reader revoke

db-url: $(INSTALLED) ## print the current database URL (password masked)
	$(PY) bin/db url

db-stop: $(INSTALLED) ## stop the embedded PostgreSQL (its data stays in .pgdata/)
	$(PY) bin/db stop

db-reset: $(INSTALLED) ## drop every table of the schema; the next load rebuilds them (asks; CONFIRM=1 does not)
	$(PY) bin/db reset $(if $(filter 1 yes true,$(CONFIRM)),--yes)

provision: $(INSTALLED) ## create (or find) Redshift (Serverless with REDSHIFT_WORKGROUP), its role, network, bucket; print the cost
	$(PY) bin/provision

teardown: $(INSTALLED) ## delete what provision made (asks; CONFIRM=1 does not)
	$(PY) bin/teardown $(if $(filter 1 yes true,$(CONFIRM)),--yes)

status: $(INSTALLED) ## show what exists on AWS, its state, how long it has run and what it costs
	$(PY) bin/status

acceptance: $(INSTALLED) ## on your AWS account: provision, load the same data into Redshift and PostgreSQL, compare, tear down
	$(PY) bin/acceptance

image: ## build the image with docker, podman or buildah, whichever is there: make image IMAGE=sparkify-dwh [BASE=...]
	@[ -n "$(ENGINE)" ] || { echo "no container engine: install docker, podman or buildah" >&2; exit 1; }
	$(if $(filter buildah,$(ENGINE)),buildah bud,$(ENGINE) build) $(if $(BASE),--build-arg BASE=$(BASE)) --build-arg UV_VERSION=$(UV_VERSION) \
	  $(ENGINE_ARGS) -t $(IMAGE) .

clean: ## stop the embedded server; remove the virtualenv, .pgdata/, data/ and caches
	-[ -x $(PY) ] && $(PY) bin/db stop
	rm -rf $(VENV) $(UV_DIR) .pgdata data .pytest_cache *.egg-info report.html
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
