# Learning Loop. `make run` and `make test` set up everything they need on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-unit test-browser chromium pgbouncer test-services lint install clean-data help serve fuzz \
	bench check-deploy simulate

help:
	@echo "make run    install, start PostgreSQL (embedded unless DATABASE_URL), web, worker, beat"
	@echo "make test   install (Chromium too, as root on Debian/Ubuntu) and run the whole test suite"
	@echo "make lint   ruff"
	@echo "make serve  production serving: gunicorn + uvicorn workers, whitenoise, worker, beat"
	@echo "make fuzz   schemathesis against the live OpenAPI schema (machine's PostgreSQL)"
	@echo "make bench  latency table on the machine's PostgreSQL, with the Label Studio comparison"
	@echo "make simulate  the simulated team against the demo organisation (embedded default), report printed"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m ops.devserver

# The browser tests need Debian's Chromium at /usr/bin/chromium (never a downloaded one).
# `chromium` comes first, so a machine without it stops before anything runs.
test: chromium $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory test-browser

# Everything but the browser and services tests, on TEST_WORKERS processes (pytest-xdist; each
# worker has a test database of its own): the suite takes about half the time on two cores.
TEST_WORKERS ?= 2
test-unit: $(STAMP)
	$(BIN)/python -m pytest -m "not services and not e2e" -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The browser tests (marker e2e) in pytest processes of their own: Playwright keeps an
# event loop running in the test thread, which the unit suite never has to allow for. Also on
# TEST_WORKERS processes, each with its own database, live server and Chromium (6 min
# instead of 7.5 on two cores).
test-browser: chromium $(STAMP)
	$(BIN)/python -m pytest -m "e2e and not services" -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

# $(call debian_binary,PATH,PACKAGE,WHAT NEEDS IT): Debian's PACKAGE when PATH is missing,
# installed with apt-get as root; otherwise one line saying what to install, and a stop.
define debian_binary
	@if [ ! -x $(1) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's $(2) for $(3) (apt-get)"; \
	    apt-get update -qq && apt-get install -y -qq $(2) >/dev/null || exit 1; \
	  else \
	    echo "$(3) need $(1): install it (as root: apt-get install $(2)) and run make again"; \
	    exit 1; \
	  fi; \
	fi
endef

chromium:
	$(call debian_binary,/usr/bin/chromium,chromium,the browser tests)

pgbouncer:
	$(call debian_binary,/usr/sbin/pgbouncer,pgbouncer,the PgBouncer services tests)

# Needs the machine's PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379); run by .ci/run.
# The PgBouncer tests need Debian's pgbouncer binary (not a running service): installed like
# Chromium, or one line saying what to install.
test-services: pgbouncer $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres} \
	TEST_DATABASE_NAME=$${TEST_DATABASE_NAME:-test_learning_loop_services} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/15} \
	$(BIN)/python -m pytest -m services -q $(PYTEST_ARGS)

# Production serving on one host (see ops/serve.py for the defaults it fills in).
serve: $(STAMP)
	$(BIN)/python -m ops.serve $(SERVE_ARGS)

# API fuzzing (also part of test-services): a live `make serve` server on the machine's
# PostgreSQL, schemathesis over every operation. FUZZ_MAX_EXAMPLES=50 for a longer run.
fuzz: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres} \
	TEST_DATABASE_NAME=$${TEST_DATABASE_NAME:-test_learning_loop_fuzz} \
	$(BIN)/python -m pytest tests/fuzz -m services -q -p no:logging --create-db $(PYTEST_ARGS)

# Django's deployment checks under production settings (throwaway key and hosts).
check-deploy: $(STAMP)
	DJANGO_ENV=production SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') \
	ALLOWED_HOSTS=$${ALLOWED_HOSTS:-.localhost} \
	DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres} \
	$(BIN)/python manage.py check --deploy

# The simulator on the demo organisation (embedded PostgreSQL unless DATABASE_URL): 8 weeks,
# 6 reps, loop on against a control; e.g. SIMULATE_ARGS="--weeks 2 --reps 2" for a quick one.
simulate: $(STAMP)
	$(BIN)/python -m ops.simulate $(SIMULATE_ARGS)

# Latency table against the machine's PostgreSQL, with the Label Studio comparison.
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean-data:
	rm -rf .data
