# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test check lint types clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -e '.[local,dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/extract demo

test: $(BIN)/.installed
	$(BIN)/python -m pytest

lint: $(BIN)/.installed
	$(BIN)/ruff format --check extract schemas backends tests benchmarks
	$(BIN)/ruff check extract schemas backends tests benchmarks

types: $(BIN)/.installed
	$(BIN)/mypy

check: lint types test  ## format, lint, types, tests: one command

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .hypothesis
