# Everything runs from a local virtualenv that `make` creates on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
E2E_STAMP := $(VENV)/.installed-e2e
# `make e2e E2E_PROFILE=celery` for the PostgreSQL + Redis + CeleryExecutor deployment.
E2E_PROFILE ?= standalone

.PHONY: venv test test-compat test-lowest lint typecheck unit e2e e2e-system demo airflow emulator bench bench-quick bench-plots docs release-check clean

venv: $(STAMP)

# One line per step (pip itself stays quiet: its full output is hundreds of lines).
$(STAMP): pyproject.toml constraints.txt
	@echo "==> [1/3] virtualenv $(VENV)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] pip"
	@$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	@echo "==> [3/3] Airflow, the provider and the dev tools, pinned by constraints.txt (about a minute the first time)"
	@$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)
	@echo "==> $(VENV) is ready"

$(E2E_STAMP): $(STAMP)
	@echo "==> e2e extras (Playwright) into $(VENV)"
	@$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,e2e]"
	@touch $(E2E_STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest --cov --cov-report=term $(PYTEST_ARGS)

# The README's test command: lint, types, and the whole suite with a coverage floor.
test: lint typecheck unit

# Older Airflow minors (the newest is the default above): each in a fresh venv from its own lock,
# constraints/airflow-<minor>.txt (scripts/compat-lock.sh writes them), then the unit, reliability and
# dag.test() suites. Lint, types and coverage run once, on the newest. See docs/compatibility.md.
# `make -j2 --output-sync=target test-compat` runs two at a time, as CI does.
COMPAT_MINORS := 2.11 3.0 3.1 3.2
COMPAT_SUITES := tests/unit tests/reliability tests/integration
# The lowest-dependency run: the oldest Airflow's lock with every dependency at its declared minimum.
LOWEST_LOCK := constraints/airflow-2.11.txt

test-compat: $(addprefix test-airflow-,$(COMPAT_MINORS)) test-lowest

test-airflow-%: .venv-af%/.installed
	@echo "==> Airflow $*: $(COMPAT_SUITES)"
	.venv-af$*/bin/pytest $(COMPAT_SUITES) -p no:cacheprovider -q $(PYTEST_ARGS)

test-lowest: .venv-lowest/.installed
	@echo "==> lowest dependencies: tests/unit"
	.venv-lowest/bin/pytest tests/unit -p no:cacheprovider -q $(PYTEST_ARGS)

.PRECIOUS: .venv-af%/.installed
.venv-af%/.installed: pyproject.toml constraints/airflow-%.txt
	@echo "==> fresh .venv-af$* from constraints/airflow-$*.txt"
	@rm -rf .venv-af$* && $(PYTHON) -m venv .venv-af$*
	@.venv-af$*/bin/python -m pip install --quiet --upgrade "pip>=24"
	@.venv-af$*/bin/python -m pip install --quiet -c constraints/airflow-$*.txt -e ".[dev]"
	@touch $@

.venv-lowest/.installed: pyproject.toml $(LOWEST_LOCK) scripts/lowest-constraints.py
	@echo "==> fresh .venv-lowest: $(LOWEST_LOCK) with the minimums declared in pyproject.toml"
	@rm -rf .venv-lowest && $(PYTHON) -m venv .venv-lowest
	@$(PYTHON) scripts/lowest-constraints.py $(LOWEST_LOCK) >.venv-lowest/constraints.txt
	@.venv-lowest/bin/python -m pip install --quiet --upgrade "pip>=24"
	@.venv-lowest/bin/python -m pip install --quiet -c .venv-lowest/constraints.txt -e ".[dev]"
	@touch $@

# A real Airflow deployment (one process per component) on the emulator, driven over REST and in Chromium.
e2e: $(E2E_STAMP) e2e-system
	E2E_PROFILE=$(E2E_PROFILE) $(BIN)/pytest tests/e2e -p no:cacheprovider $(PYTEST_ARGS)

e2e-system:
	scripts/e2e-system-deps.sh

# Runs the example DAGs against the emulator and prints what happened; no accounts needed.
demo: venv
	@$(BIN)/python scripts/demo.py demo

# airflow standalone on the emulator, to trigger the manual DAGs from the UI (Ctrl-C to stop).
airflow: venv
	@$(BIN)/python scripts/demo.py ui

# Benchmarks against the emulator; writes bench/results.md.
bench: venv
	$(BIN)/python -m bench

bench-quick: venv
	$(BIN)/python -m bench --quick

# docs/rate-limit.png (bench/plots.py) from its own venv: matplotlib is no dependency of the project.
PLOTS_VENV := .venv-plots
$(PLOTS_VENV)/.installed: pyproject.toml constraints.txt constraints/plots.txt
	@rm -rf $(PLOTS_VENV) && $(PYTHON) -m venv $(PLOTS_VENV)
	@$(PLOTS_VENV)/bin/python -m pip install --quiet --upgrade "pip>=24"
	@$(PLOTS_VENV)/bin/python -m pip install --quiet -c constraints.txt -c constraints/plots.txt -e ".[emulator]" matplotlib
	@touch $@

bench-plots: $(PLOTS_VENV)/.installed
	$(PLOTS_VENV)/bin/python -m bench.plots

# The documentation site (Sphinx + MyST, docs/conf.py) into docs/_build/html, from its own venv with the
# docs extra pinned by constraints.txt. Warnings, unresolved references and broken links/anchors fail it.
DOCS_VENV := .venv-docs
$(DOCS_VENV)/.installed: pyproject.toml constraints.txt
	@echo "==> $(DOCS_VENV): Sphinx and the provider, pinned by constraints.txt (about a minute the first time)"
	@test -x $(DOCS_VENV)/bin/python || $(PYTHON) -m venv $(DOCS_VENV)
	@$(DOCS_VENV)/bin/python -m pip install --quiet --upgrade "pip>=24"
	@$(DOCS_VENV)/bin/python -m pip install --quiet -c constraints.txt -e ".[docs]"
	@touch $@

docs: $(DOCS_VENV)/.installed
	@rm -rf docs/_build
	$(DOCS_VENV)/bin/sphinx-build -W --keep-going -n -q -b html docs docs/_build/html
	@echo "==> docs/_build/html/index.html"

# Build the sdist and wheel, check them (twine, LICENSE/NOTICE, assets, versions), install the wheel into a
# fresh venv from the lock and use it from outside the checkout (scripts/release_check.py says what).
RELEASE_VENV := .venv-release
$(RELEASE_VENV)/.installed: pyproject.toml constraints.txt
	@echo "==> $(RELEASE_VENV): build, twine and flit_core, pinned by constraints.txt"
	@test -x $(RELEASE_VENV)/bin/python || $(PYTHON) -m venv $(RELEASE_VENV)
	@$(RELEASE_VENV)/bin/python -m pip install --quiet --upgrade "pip>=24"
	@$(RELEASE_VENV)/bin/python -m pip install --quiet -c constraints.txt build twine flit_core
	@touch $@

release-check: $(RELEASE_VENV)/.installed
	@$(RELEASE_VENV)/bin/python scripts/release_check.py

emulator: venv
	$(BIN)/wfcancel-emulator --host 127.0.0.1 --port 8089

clean:
	rm -rf $(VENV) .venv-af* .venv-lowest .venv-docs .venv-release .venv-wheel dist docs/_build .demo .pytest_cache .mypy_cache .ruff_cache .coverage tests/e2e/artifacts
