# Two entry points for a fresh clone (see README): `make lab` and `make test`.
# Each creates the local virtual environment .venv on first use (Python >= 3.11).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-stamp
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test venv clean-venv

venv: $(STAMP)

$(STAMP): pyproject.toml cnnviz_widgets/_version.py
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, found " + sys.version' 
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[lab,dev,ray]"
	touch $(STAMP)

## The main job: JupyterLab on the tour notebook (embedded default model, works offline).
lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) notebooks/00_tour.ipynb

## The whole test suite (the browser tests need Chromium: installed here when root with apt).
test: $(STAMP)
	scripts/ensure_chromium.sh
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
