PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint bench clean browser

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/omniroute serve --demo

lint: $(STAMP)
	$(BIN)/ruff check omniroute tests bench examples
	$(BIN)/ruff format --check omniroute tests bench examples
	$(BIN)/mypy

browser:
	scripts/ensure-chromium.sh

test: lint browser
	$(BIN)/pytest -q -n 2 --dist worksteal --durations=25

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
