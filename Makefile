# Two commands on a fresh machine: `make serve` runs the gateway, `make test` runs the checks.
# Python 3.12 comes from pyenv (.python-version selects it); the venv lives in .venv.
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

$(STAMP): pyproject.toml tests/plugins/rtcore-echo/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[emulator,test,clients]' -e tests/plugins/rtcore-echo
	touch $(STAMP)

.PHONY: install serve test lint
install: $(STAMP)

# No AWS account needed: replies come from the bundled Nova Sonic emulator.
# With AWS credentials, run `.venv/bin/rtcore serve --provider bedrock-sonic` instead.
serve: $(STAMP)
	$(BIN)/rtcore serve --provider bedrock-sonic --emulator

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest
