# The two commands a newcomer needs: `make run` and `make test`. Both install into .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PORT ?= 8000
export PORT

.PHONY: run test lint format install install-dev seed migrate stop clean-data screenshots

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python >= 3.12 is required (see .python-version); found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e .
	@touch $@

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

install: $(STAMP)
install-dev: $(DEV_STAMP)

# Web (ASGI), Celery worker and beat under honcho; Ctrl-C stops them and the embedded servers.
run: $(STAMP)
	@DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --no-input -v 0
	@DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_demo --if-empty
	@DEBUG=$${DEBUG:-true} $(BIN)/python manage.py collectstatic --no-input -v 0
	@echo "Clienteling is starting on http://localhost:$(PORT)/  (Ctrl-C stops everything)"
	@DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_demo --logins
	@trap '$(BIN)/python -m clienteling.embedded stop' EXIT; \
	  DEBUG=$${DEBUG:-true} PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	CLIENTELING_TESTING=1 $(BIN)/python manage.py makemigrations --check --dry-run -v 0
	$(BIN)/pytest -n $${PYTEST_WORKERS:-auto} --dist loadgroup $(PYTEST_ARGS)

# Refresh the screenshots in docs/ (the browser tests take them; normal runs keep them under .data/).
screenshots: $(DEV_STAMP)
	UPDATE_SCREENSHOTS=1 INSIGHTS_SCREENSHOTS=1 $(BIN)/pytest -p no:xdist tests/browser

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)
	$(BIN)/python manage.py migrate

seed: $(STAMP)
	$(BIN)/python manage.py seed_demo --if-empty

stop:
	@$(BIN)/python -m clienteling.embedded stop

clean-data: stop
	rm -rf .data
