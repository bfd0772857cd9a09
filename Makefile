# Two commands on a fresh machine: `make serve` runs the gateway, `make test` runs the checks.
# Python 3.12 comes from pyenv (.python-version selects it); the venv lives in .venv.
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
# Serving needs the package, its emulator extra and what the example programs the README
# runs next import (the examples extra); the checks add the test tools, the third-party
# clients the suite drives and the echo plugin.
SERVE_STAMP := $(VENV)/.serve-stamp
TEST_STAMP := $(VENV)/.test-stamp
# The Node realtime clients the suite drives (tests/clients/node).
NODE_CLIENTS := tests/clients/node
NODE_STAMP := $(NODE_CLIENTS)/node_modules/.package-lock.json

$(SERVE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[emulator,examples]'
	touch $(SERVE_STAMP)

$(TEST_STAMP): $(SERVE_STAMP) pyproject.toml tests/plugins/rtcore-echo/pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[emulator,examples,test,clients]' -e tests/plugins/rtcore-echo
	touch $(TEST_STAMP)

$(NODE_STAMP): $(NODE_CLIENTS)/package.json $(NODE_CLIENTS)/package-lock.json
	cd $(NODE_CLIENTS) && npm ci --no-audit --no-fund --loglevel=error

.PHONY: install serve test test-fast lint
install: $(TEST_STAMP)

# No AWS account needed: replies come from the bundled Nova Sonic emulator.
# With AWS credentials, run `.venv/bin/rtcore serve --provider bedrock-sonic` instead.
# The port: `make serve PORT=4100` (make hands PORT to rtcore's environment, where
# rtcore serve reads it, as it reads RTCORE_PORT; default 4000).
serve: $(SERVE_STAMP)
	$(BIN)/rtcore serve --provider bedrock-sonic --emulator

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint $(NODE_STAMP)
	$(BIN)/python -m pytest --full

# The fast run: no browsers, no servers started as processes, no fault matrices.
test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest
