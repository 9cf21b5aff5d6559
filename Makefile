# Agentry: `make run` starts the whole product; `make test` runs the suite.
# Two environments: .venv holds the product alone, as production installs it
# on SQLite (make run and make bench serve from it, so what they measure is
# what runs there); .venv-dev adds the test tools and PostgreSQL's driver
# (make test, the CI passes, lint).  DRF and httpx import requests, rich and
# psycopg whenever they are installed: 16 MB of every process, for nothing.
VENV ?= .venv
PY := $(VENV)/bin/python
DEV_VENV ?= .venv-dev
DEV_PY := $(DEV_VENV)/bin/python
PYTHON ?= python3
PIP_FLAGS := --quiet --disable-pip-version-check

export AGENTRY_DATA_DIR ?= $(CURDIR)/var
export AGENTRY_ALLOWED_PRIVATE_HOSTS ?= 127.0.0.1,localhost,::1
export PORT ?= 8000

.PHONY: install install-dev run test test-browser test-postgres test-redis fuzz lint bench bench-engine schema clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -e .
	touch $@

$(DEV_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(DEV_VENV)
	$(DEV_VENV)/bin/pip install $(PIP_FLAGS) -e '.[test,postgres]'
	touch $@

install: $(VENV)/.installed

install-dev: $(DEV_VENV)/.installed

## Migrate, load the demo data (prints a token) and start web, worker and beat.
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	exec scripts/run.sh

## The suite on SQLite (what a fresh clone needs), on two processes; the browser tests run in test-browser.
test: install-dev
	$(DEV_PY) -m pytest -q -n 2 -p no:cacheprovider -m "not browser"

## The console in Debian's Chromium, headless (installs the chromium package if missing).
test-browser: install-dev
	scripts/ensure-chromium.sh
	$(DEV_PY) -m pytest -q -n 2 -p no:cacheprovider -m browser tests/browser

## The suite on a throwaway PostgreSQL 15 started on loopback, on two processes.
test-postgres: install-dev
	scripts/with-postgres.sh $(DEV_PY) -m pytest -q -n 2 -p no:cacheprovider -m "not browser"

## The suite with Redis as Celery broker and channel layer (redis-server on loopback).
test-redis: install-dev
	scripts/with-redis.sh $(DEV_PY) -m pytest -q -p no:cacheprovider -m "not browser"

## Explore new fuzz examples on PostgreSQL (the suite replays a fixed set).
fuzz: install-dev
	AGENTRY_FUZZ_RANDOM=1 AGENTRY_FUZZ_EXAMPLES=$${AGENTRY_FUZZ_EXAMPLES:-200} \
		scripts/with-postgres.sh $(DEV_PY) -m pytest -q -p no:cacheprovider tests/test_fuzz_api.py

## Style (ruff) and the layers of DESIGN.md (import-linter contracts in pyproject.toml).
lint: install-dev
	$(DEV_VENV)/bin/ruff check .
	$(DEV_VENV)/bin/lint-imports

## Every benchmark in one go, each figure beside its same-run baseline (docs/PERFORMANCE.md):
## the request floor under daphne, uvicorn and granian, the pages and lists at 10,000 agents and
## 50,000 executions, make run's start-up and memory,
## invoke overhead, one worker's executions/s, and chat streams (one turn alone, then 500 at once).
bench: install
	$(PY) bench/api_bench.py
	$(PY) bench/pages_bench.py
	$(PY) bench/startup_bench.py
	$(PY) bench/engine_bench.py
	$(PY) bench/worker_bench.py
	$(PY) bench/chat_bench.py --streams 1 --rounds 30 --sockets 10
	$(PY) bench/chat_bench.py

## What invoke adds to a direct LLM call, and one worker's executions/s (fake LLM server).
bench-engine: install
	$(PY) bench/engine_bench.py

schema: install
	$(PY) manage.py spectacular --validate --fail-on-warn --file var/openapi.yaml

clean:
	rm -rf $(VENV) $(DEV_VENV) var
