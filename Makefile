# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install; pyproject.toml changing makes it stale, so deps reinstall.
STAMP := $(VENV)/.installed

.PHONY: .venv demo test lint schema clean

.venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -e '.[dev,toxicity]'
	touch $(STAMP)

demo: .venv
	$(BIN)/synthguard demo

test: .venv
	$(BIN)/pytest

lint: .venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Regenerate the committed JSON Schema after changing the record models.
schema: .venv
	$(BIN)/synthguard schema lineage > provenance/schema/lineage-v2.schema.json
	$(BIN)/synthguard schema report > ledger/schema/transparency-report-v1.schema.json

clean:
	rm -rf $(VENV) synthguard-demo .pytest_cache .mypy_cache .ruff_cache .hypothesis
