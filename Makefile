# Build & Explain: every command sets up its own environment first.
#   make book     build the website from the committed outputs -> _build/html/index.html
#   make test     unit tests, notebook hygiene, nbval over every chapter (TensorFlow, then JAX
#                 without TensorFlow on two emulated devices), site build
#   make execute  re-run every notebook top to bottom and store the outputs
#   make bench    time every notebook in a fresh kernel -> _build/bench.json
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
WORKERS ?= 2

.PHONY: book test execute bench clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

# nbval's settings, shared by both passes (tests/test_harness.py reads them from here).
NBVAL_FLAGS := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout 600
# The JAX pass: the Colab TPU path (no TensorFlow importable), two emulated devices, another seed.
JAX_SEED ?= 1
JAX_ENV  := PYTHONPATH=$(CURDIR)/tests/without_tensorflow KERAS_BACKEND=jax BOOK_VIRTUAL_DEVICES=2 BOOK_SEED=$(JAX_SEED)

# The lowest pass: the lower bounds of pyproject.toml's dependencies (tools/lowest.py), installed
# over the pinned set, for the fastest chapters and the data tests.
LOWEST   := .lowest
LOW_ENV  := PYTHONPATH=$(CURDIR)/$(LOWEST) BOOK_EXPECT_LOWEST=1
PYTEST   := $(BIN)/python -m pytest -n $(WORKERS) --dist loadscope $(NBVAL_FLAGS) --timeout 1500 -rfEs

$(LOWEST)/.installed: pyproject.toml tools/lowest.py $(STAMP)
	rm -rf $(LOWEST)
	$(BIN)/python -m tools.lowest > $(VENV)/lowest.txt
	$(BIN)/python -m pip install --quiet --no-deps --target $(LOWEST) -r $(VENV)/lowest.txt
	touch $@

test: $(STAMP) $(LOWEST)/.installed
	$(PYTEST)
	$(JAX_ENV) $(PYTEST) intro.ipynb chapters
	$(LOW_ENV) $(PYTEST) tests/test_lowest.py tests/test_data.py tests/test_sequences.py \
	    chapters/02_dense.ipynb chapters/06_interpretable.ipynb

execute: $(STAMP)
	$(BIN)/python -m tools.notebooks execute

bench: $(STAMP)
	$(BIN)/python -m tools.notebooks bench --output _build/bench.json

clean:
	rm -rf _build $(LOWEST)
