# Two entry points for a fresh clone (see README): `make lab` and `make test`.
# Each creates the local virtual environment .venv on first use (Python >= 3.11).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-stamp
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# The JAX-only environment: the same declared requirements with jax instead of tensorflow (see
# docs/backends.md); make test runs the quick suite (less the tests marked default_backend) and the
# tour in it under KERAS_BACKEND=jax.
JAX_VENV := .venv-jax
JAX_STAMP := $(JAX_VENV)/.installed-stamp
JAX_TESTS := (not slow and not browser and not tensorflow and not default_backend) or classroom

.PHONY: lab test test-jax docs venv clean-venv test-pythons

venv: $(STAMP)

$(STAMP): pyproject.toml cnnviz_widgets/_version.py
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, found " + sys.version' 
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[lab,dev,ray,docs]"
	@# jupytext (the lessons' format) brings a JupyterLab extension that Voila fails to load (a console
	@# error on every page); nothing here uses it, so it is disabled in this environment only
	$(VENV)/bin/jupyter labextension disable --level=sys_prefix jupyterlab-jupytext
	touch $(STAMP)

$(JAX_STAMP): pyproject.toml cnnviz_widgets/_version.py scripts/requirements.py
	test -x $(JAX_VENV)/bin/python || $(PYTHON) -m venv $(JAX_VENV)
	$(JAX_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) scripts/requirements.py --extras jax,dev --without tensorflow > $(JAX_VENV)/requirements.txt
	$(JAX_VENV)/bin/python -m pip install --quiet -r $(JAX_VENV)/requirements.txt
	$(JAX_VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $(JAX_STAMP)

## The main job: JupyterLab on the tour notebook (embedded default model, works offline).
lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) notebooks/00_tour.ipynb

## The whole test suite under TensorFlow (the browser tests need Chromium: installed here when root
## with apt) and the quick suite and the tour under JAX, in an environment without TensorFlow: the JAX
## run goes beside the TensorFlow suite's tests, the browser tests after both (scripts/test_suites.sh).
test: $(STAMP) $(JAX_STAMP)
	scripts/ensure_chromium.sh
	MAKE="$(MAKE)" PYTEST_ARGS="$(PYTEST_ARGS)" scripts/test_suites.sh

test-jax: $(JAX_STAMP)
	KERAS_BACKEND=jax $(JAX_VENV)/bin/python -m pytest -m "$(JAX_TESTS)" --ignore=tests/browser \
	  --ignore=tests/dataset/test_ray.py $(PYTEST_ARGS)

## The documentation site in docs/_build/html, built offline with every notebook executed; a warning
## fails the build (tests/test_docs.py runs the same build, so make test checks it).
docs: $(STAMP)
	$(VENV)/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html

## The quick tests (not slow, no browser, no Ray) under each supported Python this machine has, each
## in its own .venv-X.Y; a version that is missing is reported and skipped.
PYTHONS ?= 3.11 3.13
test-pythons:
	@for v in $(PYTHONS); do \
	  py=$$(python$$v -c 'import sys; print(sys.executable)' 2>/dev/null); \
	  [ -n "$$py" ] || py=$$(ls $$HOME/.pyenv/versions/$$v*/bin/python$$v 2>/dev/null | head -1); \
	  if [ -z "$$py" ]; then echo "python$$v: not on this machine, skipped"; continue; fi; \
	  echo "== Python $$v ($$py)"; \
	  test -x .venv-$$v/bin/python || $$py -m venv .venv-$$v || exit 1; \
	  .venv-$$v/bin/python -m pip install --quiet --upgrade pip && \
	  .venv-$$v/bin/python -m pip install --quiet -e ".[dev]" && \
	  .venv-$$v/bin/python -m pytest -q -m "not slow and not browser" -p no:randomly \
	    --ignore=tests/browser --ignore=tests/dataset/test_ray.py $(PYTEST_ARGS) || exit 1; \
	done

clean-venv:
	rm -rf $(VENV) $(JAX_VENV)
