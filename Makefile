# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# llama-cpp-python build: portable (x86-64-v3, runs on any AVX2 CPU) or native (this CPU
# only). Built once per machine into a cache keyed by version and flags; see
# backends/llama_build.py.
LLAMA_BUILD ?= portable
STAMP := $(BIN)/.installed-$(LLAMA_BUILD)

.PHONY: demo test test-fast check lint types runtime docs clean

$(STAMP): pyproject.toml backends/llama_build.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python backends/llama_build.py install --build $(LLAMA_BUILD)
	$(BIN)/python -m pip install -e '.[local,dev]'
	rm -f $(BIN)/.installed-*
	touch $@

runtime: $(STAMP)  ## only the environment (with the chosen llama-cpp-python build)

demo: $(STAMP)
	$(BIN)/extract demo

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)  ## tests/unit: no native build, model, server, database, browser or Ray
	$(BIN)/python -m pytest tests/unit

lint: $(STAMP)
	$(BIN)/ruff format --check extract schemas backends tests benchmarks
	$(BIN)/ruff check extract schemas backends tests benchmarks

types: $(STAMP)
	$(BIN)/mypy

check: lint types test  ## format, lint, types, tests: one command

docs: $(STAMP)  ## the documentation site, from docs/ and the docstrings, into site/
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .hypothesis site
