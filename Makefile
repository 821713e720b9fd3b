# The front door: `make demo` serves the web UI offline, `make test` runs the suite.
.DEFAULT_GOAL := all
PYTHON ?= python3
VENV := .venv
# uv from PATH, else the one pip installs into $(PYTHON) (run as `python -m uv`).
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(VENV)/bin

.PHONY: all help install compile uv lock demo demo-cli test test-fast chaos lint typecheck format clean bench eval

all: lint typecheck test

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-11s %s\n", $$1, $$2}'

uv:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

# Rebuild the venv whenever a lock file changes.
$(VENV)/.installed: requirements-dev.lock pyproject.toml | uv
	@test -d $(VENV) || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --compile-bytecode --python $(VENV)/bin/python requirements-dev.lock
	@touch $@

# Bytecode for our own (editable) sources too: where PYTHONDONTWRITEBYTECODE is set, nothing else writes
# it and every process would compile from source (seconds of start-up; see bench/README.md).
compile: $(VENV)/.installed
	@$(RUN)/python -m compileall -q research_agent ui bench

install: $(VENV)/.installed compile ## Install uv if missing and build .venv from the lock files

lock: ## Re-resolve the hashed lock files after changing dependencies
	$(UV) pip compile --quiet --generate-hashes --python-version 3.11 --overrides overrides.txt requirements.in -o requirements.lock
	$(UV) pip compile --quiet --generate-hashes --python-version 3.11 --overrides overrides.txt requirements-dev.in -o requirements-dev.lock

demo: install ## Serve the web UI on localhost:8501, offline, paced so a run can be watched (and crashed)
	@RESEARCH_OFFLINE=true RESEARCH_OFFLINE_DELAY=$${RESEARCH_OFFLINE_DELAY:-1} $(RUN)/deep-research ui --port $${PORT:-8501}

demo-cli: install ## Run one research offline in the terminal, with live progress
	@RESEARCH_OFFLINE_DELAY=$${RESEARCH_OFFLINE_DELAY:-1} $(RUN)/deep-research run --offline \
		"Compare the economies of Chile and Peru"

test: install ## Run the whole test suite
	$(RUN)/pytest -q

test-fast: install ## The inner loop: unit and in-process tests, no crash, browser, Postgres or chaos tests (<1 min)
	$(RUN)/pytest -q -m "not crash and not browser and not postgres and not chaos and not slow" --ignore=tests/chaos

chaos: install ## The chaos suite at full counts (faults, kills, outages, load, bad and hostile input; ~15 min), then its figures
	rm -f tests/artifacts/chaos-*.json
	CHAOS_SCALE=full $(RUN)/pytest -q tests/chaos tests/test_bad_input.py --timeout 3600
	@echo "hostile input: planted database rows, terminal escapes, oversized input, foreign hosts and origins, remote images"
	$(RUN)/pytest -q tests/test_stored_gadgets.py tests/test_terminal_output.py tests/test_input_limits.py tests/test_ui_server.py tests/test_browser.py -k "not crashing and not completes"
	@$(RUN)/python -m tests.chaos.figures

lint: install ## ruff check and format check
	$(RUN)/ruff check .
	$(RUN)/ruff format --check .

typecheck: install ## mypy: the package and the UI strict, the tests and the benchmarks too
	$(RUN)/mypy

format: install ## Format and autofix with ruff
	$(RUN)/ruff format .
	$(RUN)/ruff check --fix .

clean: ## Remove the venv and the caches
	rm -rf $(VENV) .pytest_cache .ruff_cache

bench: install ## Run every benchmark (25-30 minutes; BENCH_FLAGS=--quick: fewer trials); figures print as tables and go to bench/results.jsonl
	@for script in step_overhead agent_overhead fanout event_latency end_to_end example_shape idle_cpu throughput recovery fetch_overhead trace_overhead api concurrent_runs fleet_scaling ui_tabs; do \
		$(RUN)/python bench/$$script.py $(BENCH_FLAGS) || exit 1; done

eval: install ## Evaluate research quality on evals/dataset.yaml (offline without keys; EVAL_FLAGS="--model ...")
	$(RUN)/deep-research eval $(EVAL_FLAGS)
	$(RUN)/deep-research eval --vary depth=1,2,3 --cases 'comparison-*,list-*' $(EVAL_FLAGS)
