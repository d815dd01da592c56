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
# lib/, requirements, the data files (name, size, mtime: depth 3 holds MNIST,
# CIFAR-10, not ImageNet's million images) and the stored runs' records (a
# run retrained or added). A shell expression, so the hash written after the
# build includes the runs the build itself stored.
DEPS_HASH = $$( { find lib -name '*.py' | sort | xargs cat requirements.txt; find -L "$${ODDS_DATA:-data}" -maxdepth 3 -type f -printf '%P %s %T@\n' 2>/dev/null | sort; find "$${ODDS_STORE:-runs/store}" -name record.json 2>/dev/null | sort | xargs -r cat; } | sha256sum | cut -c1-16)-$(PROFILE)

.PHONY: install lint format test book claims notebook site-test sweep bench gpu-test gpu-check gpu-first-contact gpu-first-contact-prepare strong-evals mutation clean

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

# The book's config at PROFILE: its cell timeout (lib.book_config.CELL_TIMEOUT;
# none at paper), and the profile set in every chapter's parameters (read_chapter).
BOOK_CONFIG := _build/_config.yml

book: install
	@mkdir -p _build
	@if [ "$$(cat _build/.deps-hash 2>/dev/null)" != "$(DEPS_HASH)" ]; then \
	  echo "lib/, requirements or PROFILE changed: re-executing every chapter"; \
	  rm -rf _build/.jupyter_cache _build/.doctrees _build/html _build/jupyter_execute; fi
	$(BIN)/python -c "from lib import book_config; book_config.write_book_config('$(or $(PROFILE),cpu)', '$(BOOK_CONFIG)')"
	$(BIN)/jupyter-book build . --config $(BOOK_CONFIG) -W -n --keep-going
	@echo "$(DEPS_HASH)" > _build/.deps-hash
	@echo "Open _build/html/index.html"

# A build writes its claim files to _build/results/claims/<profile>/ (or
# $$ODDS_RESULTS), never over the committed ones. `make claims PROFILE=cpu`,
# after a `make book` at that profile, copies that build's files into
# results/claims/<profile>/, the ones the repository keeps.
claims:
	@test -n "$(PROFILE)" || { echo "say which profile's claim files: make claims PROFILE=cpu"; exit 2; }
	@ls _build/results/claims/$(PROFILE)/*.json > /dev/null 2>&1 || \
	  { echo "no claim files in _build/results/claims/$(PROFILE): run make book PROFILE=$(PROFILE) first"; exit 1; }
	mkdir -p results/claims/$(PROFILE)
	cp _build/results/claims/$(PROFILE)/*.json results/claims/$(PROFILE)/

# make notebook CHAPTER=setup: book/<chapter>.py as build/nb/<chapter>.ipynb,
# ready for Jupyter or for papermill with other parameters (see the README).
CHAPTER ?= setup
notebook: install
	@mkdir -p build/nb
	$(BIN)/jupytext --to ipynb book/$(CHAPTER).py -o build/nb/$(CHAPTER).ipynb

# make sweep GRID=price PROFILE=cpu JOBS=1: train a grid of runs into the store
# ahead of `make book`; GRID is a named grid (lib/experiments/grids.py) or a JSON grid file (lib/experiments/execute/sweep.py).
# EXECUTOR=ray runs it on Ray: a local instance, or the cluster at ADDRESS=host:port.
GRID ?= price
JOBS ?=
EXECUTOR ?= local
ADDRESS ?=
sweep: install
	$(BIN)/python -m lib.experiments.execute.sweep --grid $(GRID) $(if $(PROFILE),--profile $(PROFILE)) $(if $(JOBS),--jobs $(JOBS)) \
	  --executor $(EXECUTOR) $(if $(ADDRESS),--address $(ADDRESS))

# make bench [SIZE=full|quick|tiny] [BENCH_ARGS="--compile reduce-overhead ..."]:
# attack and training throughput against torchattacks and the floor, written
# to results/bench/<device>.json (about 15 min at full size on a 2-core CPU).
SIZE ?= full
BENCH_ARGS ?=
bench: install
	$(BIN)/python -m lib.bench --size $(SIZE) $(BENCH_ARGS)

# On a machine with CUDA: the gpu-marked tests (skipped without CUDA), then the
# quick benchmark on the GPU. Neither installs anything: a GPU machine may have
# its own Python with torch and no package registry (PYTHON=python3 by default,
# or the venv's when it exists).
GPU_PYTHON = $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON))
gpu-test:
	PYTHONPATH=$(CURDIR) $(GPU_PYTHON) -m pytest -m gpu -q

gpu-check: gpu-test
	PYTHONPATH=$(CURDIR) $(GPU_PYTHON) -m lib.bench --device cuda --size quick

# The first contact with a GPU (scripts/gpu_first_contact.py): every stage in its
# own process, one JSON line each, about 9 minutes on an H100; no install (a
# torchattacks wheel in WHEELS=dir is put on the path). On a CPU the CUDA stages
# report "no device" and the rest run small (QUICK=1).
WHEELS ?= carry/wheels
DATA ?=
FIRST_CONTACT_OUT ?= results/gpu_first_contact.jsonl
gpu-first-contact:
	PYTHONPATH=$(CURDIR) $(GPU_PYTHON) scripts/gpu_first_contact.py --wheels $(WHEELS) \
	  --out $(FIRST_CONTACT_OUT) $(if $(QUICK),--quick) $(if $(DATA),--data $(DATA))

# Where pip works: gather carry/ (the torchattacks wheel, MNIST's .gz files) for a
# GPU machine without a registry; then there: make gpu-first-contact WHEELS=carry/wheels DATA=carry/data
gpu-first-contact-prepare:
	PYTHONPATH=$(CURDIR) $(GPU_PYTHON) scripts/gpu_first_contact.py --prepare carry

# The strong evaluations the chapters read (lib.experiments.grids.strong_evals: Table 4, TRADES,
# the frontier), computed into the store ahead of `make book` (hours at paper).
strong-evals: install
	$(BIN)/python -c "from lib import grids; grids.run_strong_evals('$(or $(PROFILE),cpu)')"

# make mutation [MUTANTS="lib.experiments.store.* lib.verdicts.noise.x_binomial_se*"] [JOBS=2]: mutation testing
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
