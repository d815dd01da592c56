# Two commands do all set-up on a fresh machine: `make book` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# PROFILE=smoke|cpu|paper overrides every chapter's profile in `make book`.
PROFILE ?=
# A hash of what the executed chapters depend on besides their own code:
# jupyter-cache keys on code cells only, so a change here must re-execute.
DEPS_HASH = $(shell find lib -name '*.py' | sort | xargs cat requirements.txt | sha256sum | cut -c1-16)-$(PROFILE)

.PHONY: install lint format test book site-test sweep bench gpu-test gpu-check mutation clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The browser test (tests/site) is part of `make test`: it runs when the book
# has been built and Chromium and Playwright are present, and skips otherwise.
test: lint
	$(BIN)/pytest

# Open every page of _build/html in headless Chromium (Debian's `chromium`,
# driven by Playwright; no browser download); screenshots in _build/screenshots.
site-test: install
	ODDS_SITE_TEST_REQUIRED=1 $(BIN)/pytest -q tests/site

book: install
	@mkdir -p _build
	@if [ "$$(cat _build/.deps-hash 2>/dev/null)" != "$(DEPS_HASH)" ]; then \
	  echo "lib/, requirements or PROFILE changed: re-executing every chapter"; \
	  rm -rf _build/.jupyter_cache _build/.doctrees _build/html _build/jupyter_execute; fi
	ODDS_PROFILE=$(PROFILE) $(BIN)/jupyter-book build . -W -n --keep-going
	@echo "$(DEPS_HASH)" > _build/.deps-hash
	@echo "Open _build/html/index.html"

# make sweep GRID=price PROFILE=cpu JOBS=1: train a grid of runs into the store
# ahead of `make book`; GRID is a named grid (lib/grids.py) or a JSON grid file (lib/sweep/).
# EXECUTOR=ray runs it on Ray: a local instance, or the cluster at ADDRESS=host:port.
GRID ?= price
JOBS ?=
EXECUTOR ?= local
ADDRESS ?=
sweep: install
	$(BIN)/python -m lib.sweep --grid $(GRID) $(if $(PROFILE),--profile $(PROFILE)) $(if $(JOBS),--jobs $(JOBS)) \
	  --executor $(EXECUTOR) $(if $(ADDRESS),--address $(ADDRESS))

# make bench [SIZE=full|quick|tiny] [BENCH_ARGS="--compile reduce-overhead ..."]:
# attack and training throughput against torchattacks and the floor, written
# to results/bench/<device>.json (about 15 min at full size on a 2-core CPU).
SIZE ?= full
BENCH_ARGS ?=
bench: install
	$(BIN)/python -m lib.bench --size $(SIZE) $(BENCH_ARGS)

# On a machine with CUDA: the graph-equals-eager tests (marked gpu; skipped
# without CUDA), then the quick benchmark on the GPU.
gpu-test: install
	$(BIN)/pytest -m gpu -q

gpu-check: gpu-test
	$(BIN)/python -m lib.bench --device cuda --size quick

# make mutation [MUTANTS="lib.store.* lib.noise.x_binomial_se*"] [JOBS=2]: mutation testing
# of the core with mutmut ([tool.mutmut] in pyproject.toml: the modules, the tests). Slow
# (thousands of mutants; hours on 2 cores), so not part of `make test`. MUTANTS (mutmut
# name globs, or `$$(cat lab/mutation/sample.txt)`) picks a part. Results stay in
# mutants/ (a rerun continues); the table per module goes to lab/mutation/latest.md.
MUTANTS ?=
mutation: install
	ODDS_TEST_FIXTURE_CACHE=$(CURDIR)/mutants/.fixture-cache OMP_NUM_THREADS=1 \
	  $(BIN)/mutmut run --max-children $(or $(JOBS),2) $(MUTANTS)
	$(BIN)/python lab/mutation/summarize.py > lab/mutation/latest.md
	@cat lab/mutation/latest.md

clean:
	rm -rf _build build .pytest_cache .ruff_cache
