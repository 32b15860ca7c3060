# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv (Python >= 3.10) with this project installed when it is
# missing or stale, then runs. A second run reuses the environment.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Optional PyTorch extra (benchmarks and oracle tests): auto installs it only
# when pip finds a wheel for torch==2.13.0 locally without downloading (for
# example a CPU wheel in pip's find-links); 1 always installs it; 0 never.
WITH_TORCH ?= auto
# Parallel test workers; `make test JOBS=1` runs serially.
JOBS ?= 2

# nbgrader runs `alembic` and Jupyter finds kernels through PATH.
export PATH := $(abspath $(BIN)):$(PATH)
export MPLBACKEND ?= Agg
# One BLAS thread per process: tests and grading run several processes on few cores.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1

.PHONY: demo test venv bench clean help

help:
	@echo "make demo    set up .venv and run the end-to-end demo offline"
	@echo "make test    set up .venv and run every test (COURSE_QUICK=1)"
	@echo "make bench   run the benchmark scripts in bench/"
	@echo "make clean   remove .venv and generated caches"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python >= 3.10 is needed; run: make PYTHON=python3.11 ...")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@case "$(WITH_TORCH)" in \
	  1) $(BIN)/python -m pip install --quiet -e '.[torch]' ;; \
	  auto) if $(BIN)/python -m pip download --quiet --no-deps --no-index -d $(VENV)/.torch-probe torch==2.13.0 >/dev/null 2>&1; \
	        then echo "Installing the optional PyTorch extra (a local wheel was found)"; $(BIN)/python -m pip install --quiet -e '.[torch]'; \
	        else echo "PyTorch not installed (no local wheel); oracle tests will be skipped. Use WITH_TORCH=1 to install it."; fi; \
	        rm -rf $(VENV)/.torch-probe ;; \
	esac
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing bubblewrap (the grading sandbox)"; \
	    (apt-get install -y -q bubblewrap >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q bubblewrap >/dev/null)); \
	  else echo "NOTE: grading needs bubblewrap for its sandbox: sudo apt-get install bubblewrap (or dnf install bubblewrap)"; fi; }
	@command -v chromium >/dev/null || test -x /usr/lib/chromium/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Chromium (tests/test_browser.py drives JupyterLab in it)"; \
	    (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) \
	      || echo "NOTE: Chromium could not be installed; the browser test will be skipped"; \
	  else echo "NOTE: the browser test needs Chromium: sudo apt-get install chromium (it is skipped without it)"; fi; }
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/course demo

test: $(STAMP)
	COURSE_QUICK=1 $(BIN)/python -m pytest -n $(JOBS) --dist loadscope --durations=15

bench: $(STAMP)
	$(BIN)/python bench/conv.py
	$(BIN)/python bench/dataset_ladder.py

clean:
	rm -rf $(VENV) datasets/cache build *.egg-info
