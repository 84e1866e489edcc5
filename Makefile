# Everyday commands. Only Python 3.11 is needed up front: the first run creates .venv,
# installs the dependencies and starts embedded PostgreSQL and Redis (itsm/devstack.py).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
DEVSTACK := $(PY) -m itsm.devstack
# Dependencies are reinstalled only when pyproject.toml changes.
DEPS_KEY := $(shell cksum pyproject.toml | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.installed-run-$(DEPS_KEY)
DEV_STAMP := $(VENV)/.installed-dev-$(DEPS_KEY)
PYTEST_ARGS ?= -n auto --create-db --durations=10
# The checks before pytest use the test settings: no secret key, no DJANGO_DEBUG needed.
CHECK_ENV := DJANGO_SETTINGS_MODULE=itsm.settings.test

.PHONY: help run test test-in-stack lint fmt migrate shell services assets messages deps deps-dev clean

help:
	@echo "make run       install what is missing, start everything, print URL and demo logins"
	@echo "make test      lint, migration and translation checks, the whole pytest suite"
	@echo "make lint      ruff check + ruff format --check"
	@echo "make fmt       ruff check --fix + ruff format"
	@echo "make migrate   apply migrations to the make-run database"
	@echo "make shell     Django shell on the make-run database"
	@echo "make services  only PostgreSQL and Redis, until Ctrl-C"
	@echo "make clean     delete var/ (embedded data), staticfiles/ and .venv/"

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required (python3.11 not found)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The project itself is not installed (it runs from this directory): only the
# dependencies listed in pyproject.toml, plus the given optional groups.
REQUIREMENTS = $(PY) -c 'import sys, tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	print("\n".join(p["dependencies"] + [d for g in sys.argv[1:] for d in p["optional-dependencies"][g]]))'

$(RUN_STAMP): | $(PY)
	$(REQUIREMENTS) > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet -r $(VENV)/requirements.txt
	@rm -f $(VENV)/.installed-run-*
	@touch $@

$(DEV_STAMP): | $(PY)
	$(REQUIREMENTS) dev > $(VENV)/requirements-dev.txt
	$(PY) -m pip install --quiet -r $(VENV)/requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@ $(RUN_STAMP)

deps: $(RUN_STAMP)
deps-dev: $(DEV_STAMP)

# Front-end packages (npm ci only when package.json or the lock file changed), then
# collectstatic so WhiteNoise serves the same files as in production.
assets: $(RUN_STAMP)
	@mkdir -p static node_modules
	@if [ -f package.json ]; then \
	  key=$$(cat package.json package-lock.json 2>/dev/null | cksum | cut -d' ' -f1); \
	  if [ ! -f node_modules/.installed-$$key ]; then \
	    command -v npm >/dev/null || { echo "npm is required for the front-end assets" >&2; exit 1; }; \
	    if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
	    else npm install --no-audit --no-fund; fi && touch node_modules/.installed-$$key; \
	  fi; \
	fi
	DJANGO_DEBUG=1 $(PY) manage.py collectstatic --noinput -v 0

# Compiled catalogues (.mo) for the Chinese interface; skipped without gettext.
messages: $(RUN_STAMP)
	@if [ -d locale ] && command -v msgfmt >/dev/null; then \
	  DJANGO_DEBUG=1 $(PY) manage.py compilemessages -v 0 \
	    --ignore=.venv --ignore=node_modules --ignore=var --ignore=staticfiles; \
	elif [ -d locale ]; then echo "gettext (msgfmt) not found: translations not compiled" >&2; fi

run: $(RUN_STAMP) assets messages
	$(DEVSTACK) run

services: $(RUN_STAMP)
	$(DEVSTACK) services

test: $(DEV_STAMP) assets messages lint
	$(DEVSTACK) exec --profile test -- $(MAKE) --no-print-directory test-in-stack

# Runs inside `devstack exec`, with DATABASE_URL and REDIS_URL of the test services.
test-in-stack:
	$(CHECK_ENV) $(PY) manage.py makemigrations --check --dry-run
	$(CHECK_ENV) $(PY) manage.py check_translations
	@echo "$(PY) -m pytest $(PYTEST_ARGS)"; \
	$(PY) -m pytest $(PYTEST_ARGS); code=$$?; \
	if [ $$code -eq 5 ]; then echo "ERROR: pytest collected no tests (exit code 5)" >&2; fi; \
	exit $$code

lint: $(DEV_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

fmt: $(DEV_STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

migrate: $(RUN_STAMP)
	$(DEVSTACK) exec -- env DJANGO_DEBUG=1 $(PY) manage.py migrate

shell: $(RUN_STAMP)
	$(DEVSTACK) exec -- env DJANGO_DEBUG=1 $(PY) manage.py shell

# Stops nothing: stop `make run` first.
clean:
	rm -rf var staticfiles $(VENV)
