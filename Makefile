# Cohort: everything a fresh clone needs, from a Python 3.11 and a Node 20 on PATH.
#   make demo   - install, start a local chain with Uniswap, deploy Cohort, run the scenario; prints the web app's URL
#   make test   - install, lint (ruff, mypy, Slither) and run the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
SOLC_FRONT := $(CURDIR)/scripts/solc/solc-v0.8.28

export APE_DATA_FOLDER := $(CURDIR)/.ape
export SOLCX_BINARY_PATH := $(CURDIR)/scripts/solc
export PATH := $(CURDIR)/node_modules/@foundry-rs/anvil-linux-amd64/bin:$(BIN):$(PATH)
# With PYTHONDONTWRITEBYTECODE set, pytest re-rewrites Ape's and Hypothesis' modules every run.
unexport PYTHONDONTWRITEBYTECODE

PY_PACKAGES := $(patsubst %/__init__.py,%,$(wildcard cohort/__init__.py keeper/__init__.py api/__init__.py scripts/__init__.py tests/__init__.py))
SOURCES := $(shell find contracts -name '*.sol' -not -path '*/.cache/*' 2>/dev/null)
PYTEST_ARGS ?=

.PHONY: help setup compile test pytest lint devnet devnet-down demo bench api keeper clean

help:
	@echo "make demo    run the Cohort scenario on a local chain (EXIT=1 to run it and exit)"
	@echo "make test    lint and run the test suite (installs everything it needs)"
	@echo "make setup   venv + npm packages + compile (idempotent)"
	@echo "make devnet  start (or attach to) anvil on :8545 (or COHORT_RPC_URL's port) with Uniswap and Cohort; devnet-down stops it"
	@echo "make lint    ruff, mypy and Slither"
	@echo "make api     serve the API and indexer on the devnet (COHORT_RPC_URL, API_* settings)"
	@echo "make keeper  run a keeper on the devnet (COHORT_RPC_URL, KEEPER_* settings, KEEPER_CONFIG=file)"
	@echo "make bench   every benchmark; writes bench/results.json and BENCHMARKS.md"

$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]}"'
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools 2>&1 | grep -v 'is ignored' || true
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]' 2>&1 | grep -v 'is ignored' || true
	@$(BIN)/python -c 'import ape, web3, fastapi, sqlalchemy, hypothesis, playwright'  # fail loudly if the install did
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

.build/__local__.json: $(SOURCES) ape-config.yaml node_modules/.installed $(VENV)/.installed
	$(BIN)/ape compile --force  # make decides when; Ape alone misses changed imports
	@touch $@

# The browser tests drive Debian's chromium (Playwright's own browser download does not work here).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	$(if $(filter 0,$(shell id -u)),,sudo )apt-get update -q
	$(if $(filter 0,$(shell id -u)),,sudo )apt-get install -y -q chromium

setup: $(VENV)/.installed node_modules/.installed .build/__local__.json $(CHROMIUM)

compile: setup

lint: setup
	$(BIN)/ruff check $(PY_PACKAGES)
	$(BIN)/mypy $(addprefix -p ,$(filter-out tests,$(PY_PACKAGES)))
	@# slither.config.json: high and medium findings fail the build. unused-return is excluded
	@# because every instance is a deliberate partial tuple read (a quote without its deviation,
	@# claimable shares without assets); other by-design findings are suppressed at the line.
	COHORT_SOLC_VIA_IR=1 $(BIN)/slither contracts --config-file slither.config.json \
		--solc-standard-json --solc $(SOLC_FRONT)

pytest: setup
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint pytest

devnet: setup
	$(BIN)/python -m scripts.devnet up

devnet-down:
	@test -x $(BIN)/python && $(BIN)/python -m scripts.devnet down || echo "no venv: nothing to stop"

demo: setup
	$(BIN)/python -m scripts.demo $(if $(EXIT),--exit,)

bench: setup
	$(BIN)/python -m scripts.bench

api: setup
	$(BIN)/cohort-api serve

# On the devnet the keeper is anvil's dev account #2 (a public key) unless KEEPER_PRIVATE_KEY is set.
keeper: setup
	KEEPER_PRIVATE_KEY=$${KEEPER_PRIVATE_KEY:-$$($(BIN)/python -c 'from cohort.accounts import dev_account; print(dev_account(2).key.hex())')} \
		$(BIN)/cohort-keeper run --config $(or $(KEEPER_CONFIG),keeper/keeper.example.toml)

clean:
	rm -rf .build .ape/packages contracts/.cache .devnet .pytest_cache .mypy_cache .ruff_cache
