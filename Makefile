# mentoreval — two commands on a fresh machine with Python 3.11+:
#   make demo   run the whole pipeline on the bundled synthetic demo data
#   make test   run the test suite
# Both create .venv from pyproject.toml when it is missing or older than pyproject.toml.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Tests run on every core (pytest-xdist); `make test XDIST=` runs them serially. Each test
# module runs on one worker (loadscope), so a module-scoped report is built once.
XDIST ?= -n auto --dist loadscope

.PHONY: demo test test-all lint format typecheck check clean help

help:  ## show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "mentoreval needs Python 3.11 or newer (found %d.%d)" % sys.version_info[:2])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)  ## run the pipeline on the bundled demo data; reports go to reports/demo/
	$(VENV)/bin/mentoreval demo

test: $(STAMP)  ## run the test suite (slow simulations skipped)
	$(PY) -m pytest $(XDIST)

test-all: $(STAMP)  ## run every test, including the slow simulations
	$(PY) -m pytest $(XDIST) --runslow

lint: $(STAMP)  ## ruff lint and format check
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

format: $(STAMP)  ## apply ruff formatting and safe fixes
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

typecheck: $(STAMP)  ## mypy on the package
	$(VENV)/bin/mypy

check: lint typecheck test  ## everything CI should see

clean:  ## remove the virtualenv and caches (never touches data/ or reports/)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
