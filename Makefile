# Learning Loop. `make run` and `make test` set up everything they need on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-services lint install clean-data help

help:
	@echo "make run    install, start PostgreSQL (embedded unless DATABASE_URL), web, worker, beat"
	@echo "make test   install and run the whole test suite"
	@echo "make lint   ruff"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m learning_site.devserver

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not services" -q $(PYTEST_ARGS)

# Needs the machine's PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379); run by .ci/run.
test-services: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres} \
	TEST_DATABASE_NAME=$${TEST_DATABASE_NAME:-test_learning_loop_services} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/15} \
	$(BIN)/python -m pytest -m services -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean-data:
	rm -rf .data
