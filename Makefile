# Build & Explain: every command sets up its own environment first.
#   make book     build the website from the committed outputs -> _build/html/index.html
#   make test     unit tests, notebook hygiene, nbval over every chapter (TensorFlow, then JAX
#                 without TensorFlow on two emulated devices), site build
#   make execute  re-run every notebook top to bottom and store the outputs
#   make bench    time every notebook in a fresh kernel -> _build/bench.json
#   make mutation mutation testing of the helper package (slow) -> _build/mutation.json, .md
#   make site-assets  the website's own copy of MathJax (npm registry) -> .site-assets/
#   make browser      Debian's Chromium for tests/test_browser.py (installed only when root)
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
WORKERS ?= 2

.PHONY: book test execute bench clean site-assets browser site-setup mutation

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The website loads nothing from another host: MathJax comes from the npm registry at set-up
# (exact version), is copied into .site-assets/static/mathjax and served from the site's _static
# folder (_config.yml: html_static_path, mathjax_path). Nothing is fetched at build time.
MATHJAX_VERSION := 3.2.2
ASSETS          := .site-assets
ASSETS_STAMP    := $(ASSETS)/.mathjax-$(MATHJAX_VERSION)

$(ASSETS_STAMP):
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; } || \
	    { echo "make site-assets needs npm (Node.js): install it, e.g. apt-get install npm"; exit 1; }
	rm -rf $(ASSETS)
	npm install --prefix $(ASSETS)/npm --no-save --no-package-lock --no-audit --no-fund \
	    --ignore-scripts --loglevel=error mathjax@$(MATHJAX_VERSION)
	mkdir -p $(ASSETS)/static/mathjax
	cd $(ASSETS)/npm/node_modules/mathjax/es5 && cp -R tex-mml-chtml.js a11y input output sre ui \
	    $(CURDIR)/$(ASSETS)/static/mathjax/
	rm -rf $(ASSETS)/npm
	touch $@

site-assets: $(ASSETS_STAMP)

# Debian's Chromium for the browser test (tests/test_browser.py drives it with Playwright; no
# browser is downloaded by Playwright's installer). Installed when running as root (as CI does)
# and missing; elsewhere the test skips and says how to enable it.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        chromium fonts-dejavu-core >/dev/null; \
	fi

site-setup: site-assets browser

# The API page imports utils; under JAX that is quicker than under TensorFlow and prints no C++
# logs (tests/test_site.py builds with the same SITE_ENV).
SITE_ENV := KERAS_BACKEND=jax

book: $(STAMP) $(ASSETS_STAMP)
	$(SITE_ENV) $(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
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

test: $(STAMP) $(LOWEST)/.installed site-setup
	$(PYTEST)
	$(JAX_ENV) $(PYTEST) intro.ipynb chapters
	$(LOW_ENV) $(PYTEST) tests/test_lowest.py tests/test_data.py tests/test_sequences.py \
	    chapters/02_dense.ipynb chapters/06_interpretable.ipynb

execute: $(STAMP)
	$(BIN)/python -m tools.notebooks execute

bench: $(STAMP)
	$(BIN)/python -m tools.notebooks bench --output _build/bench.json

# Mutation testing (tools/mutation.py, mutmut configured in pyproject.toml): per module, the share
# of mutants the unit tests kill. Slow (minutes per module), so not part of `make test`.
# MODULES="utils/data.py" limits it to some modules; SAMPLE=500 tests a seeded random sample of
# 500 mutants per module (a score with a 95% interval, hours less for the largest modules); it
# tests one mutant per core at once (MUTATION_WORKERS=1 for one at a time).
MODULES ?=
SAMPLE ?=
mutation: $(STAMP)
	nice -n 19 $(BIN)/python -m tools.mutation $(if $(SAMPLE),--sample $(SAMPLE)) $(MODULES)

clean:
	rm -rf _build $(LOWEST) $(ASSETS) mutants
