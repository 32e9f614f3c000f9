# Tessera: the short verb list. CI and pre-commit call these same targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install schemas run test bench soak lint fmt typecheck migrate

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) schemas

schemas: $(STAMP)
	$(BIN)/tessera schemas fetch

run: install
	$(BIN)/tessera run

test: install
	$(BIN)/pytest

bench: install
	$(BIN)/python -m benchmarks $(BENCH)

soak: install
	TESSERA_SOAK=1 TESSERA_SCHEMATHESIS_EXAMPLES=100 $(BIN)/python -m benchmarks.soak

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install
	$(BIN)/mypy

migrate: install
	$(BIN)/tessera migrate
