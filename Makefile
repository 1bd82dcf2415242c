# Run `make help` for the list of targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV ?= .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
AXE := tests/browser/axe/node_modules/axe-core/axe.min.js
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest workers; the machines here have 2 cores
WORKERS ?= 2
PYTEST_ARGS ?=

# make load: swarm size and length
USERS ?= 60
DURATION ?= 60s

.PHONY: help install browser compose run test test-fast lint format clean load bench faults

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the gateway with its dev tools

$(AXE): tests/browser/axe/package.json tests/browser/axe/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: the browser tests need it for axe-core (apt-get install -y npm)" >&2; exit 1; }
	npm ci --prefix tests/browser/axe --no-audit --no-fund --silent
	@touch $(AXE)

browser: $(AXE) ## Install Debian's Chromium (when missing; needs root) and axe-core (npm) for the browser tests
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing chromium (apt-get)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "chromium is missing: run 'sudo apt-get install -y chromium' for the browser tests" >&2; exit 1; \
		fi; \
	fi

compose: ## Install Compose's validator for the suite (Debian's docker-compose, when neither it nor 'docker compose' is there; needs root)
	@if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing docker-compose (apt-get), for 'docker-compose config' in the tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; \
		else \
			echo "docker-compose is missing: run 'sudo apt-get install -y docker-compose' for the compose tests" >&2; exit 1; \
		fi; \
	fi

run: install ## Migrate, seed the demo clinic and serve on http://127.0.0.1:8000 (starts Postgres/Redis if needed)
	$(PYTHON) -m gateway.devservers run --host $(HOST) --port $(PORT)

test: install browser compose ## Run the whole suite against real Postgres, Redis and headless Chromium
	@set -o pipefail; servers="$$($(PYTHON) -m gateway.devservers env)" || exit 1; \
	env $$servers $(PYTHON) -m pytest -n $(WORKERS) -p no:cacheprovider $(PYTEST_ARGS)

test-fast: install compose ## Run the suite without the browser tests
	@servers="$$($(PYTHON) -m gateway.devservers env)" || exit 1; \
	env $$servers $(PYTHON) -m pytest -n $(WORKERS) -p no:cacheprovider -m "not browser" $(PYTEST_ARGS)

load: install ## Headless locust swarm on a local gateway it starts (USERS, DURATION), then the consistency check
	@servers="$$($(PYTHON) -m gateway.devservers env)" || exit 1; \
	env $$servers $(PYTHON) -m loadtests.run_load --users $(USERS) --duration $(DURATION)

bench: install ## Benchmark (under 5 min): prints a table, writes bench-report.json and bench-fanout.png
	@servers="$$($(PYTHON) -m gateway.devservers env)" || exit 1; \
	env $$servers $(PYTHON) -m loadtests.bench

faults: install ## Fault suite (a few minutes): Redis and Postgres restarted, a gateway killed, a slow lossy Redis link, one gateway's clock jumped, each under a swarm on throwaway servers of its own, with a verdict (FAULTS=a,b picks)
	$(PYTHON) -m loadtests.faults $(if $(FAULTS),--only $(FAULTS))

lint: install ## ruff (lint and format check) and mypy --strict
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean: ## Remove caches and embedded server data (stop them first: python -m gateway.devservers stop)
	rm -rf .mypy_cache .ruff_cache .pytest_cache .hypothesis test-artifacts
