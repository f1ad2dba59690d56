# ubakit: the two commands of README.md
#   make report   creates .venv if missing, then produces reports/demo/ (index.html + one HTML per notebook)
#   make test     creates .venv if missing, then runs the whole test suite (with the real-browser checks when a
#                 Chromium is there; as root .ci/ensure-chromium installs Debian's chromium first)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
CAMPAIGN ?= demo
JOBS   ?= 2
PYTEST_ARGS ?=

.PHONY: report test test-browser test-fast test-spark test-spark-campaigns lint format env run validate lab bench strip clean

report: env
	$(PY) -m helpers run params/$(CAMPAIGN).yaml --jobs $(JOBS)

test: env
	@.ci/ensure-chromium
	$(PY) -m pytest -n $(JOBS) -m "not spark_campaigns" --durations=25 $(PYTEST_ARGS)

# the demo reports in a real headless Chromium (tests/test_browser.py): layout at 1,400 and 390 px, console,
# network, glyphs, links, print to PDF, one language per page
test-browser: env
	@.ci/ensure-chromium
	$(PY) -m pytest -n0 -m browser $(PYTEST_ARGS)

# the fast loop (about 4 minutes on 2 cores): unit, contract and architecture tests on a small demo; no notebooks
# end to end, no Spark, no real-data samples
test-fast: env
	$(PY) -m pytest -n $(JOBS) -m "not e2e and not spark and not shared and not browser" $(PYTEST_ARGS)

# the Spark tests only (part of `make test`): DuckDB/Spark equivalence, Spark ingest, the standalone-cluster run
test-spark: env
	$(PY) -m pytest -n0 -m "spark and not spark_campaigns" $(PYTEST_ARGS)

# whole campaigns on Spark vs DuckDB (tests/test_spark_campaigns.py, ingest included, every results file equal):
# Taobao is part of `make test`; the demo (about 12 minutes) only here
test-spark-campaigns: env
	$(PY) -m pytest -n0 -s tests/test_spark_campaigns.py $(PYTEST_ARGS)

lint: env
	$(VENV)/bin/ruff check helpers tests bench
	$(VENV)/bin/ruff format --check helpers tests bench
	$(VENV)/bin/mypy helpers
	$(VENV)/bin/lint-imports

format: env
	$(VENV)/bin/ruff check --fix helpers tests bench
	$(VENV)/bin/ruff format helpers tests bench

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ubakit needs Python 3.11+; run: make PYTHON=python3.11 ...")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ubakit)" >/dev/null
	git rev-parse --git-dir >/dev/null 2>&1 && $(VENV)/bin/nbstripout --install || true
	touch $@

run: env
	$(PY) -m helpers run params/$(CAMPAIGN).yaml --jobs $(JOBS)

validate: env
	for f in params/[!_]*.yaml; do $(PY) -m helpers validate $$f || exit 1; done

lab: env
	$(VENV)/bin/jupyter lab notebooks/

BENCH_ROWS ?= 1000000 10000000

bench: env
	$(PY) -c 'import polars, psutil' 2>/dev/null || $(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/run.py --rows $(BENCH_ROWS)

strip: env
	$(VENV)/bin/nbstripout notebooks/*.ipynb

clean:
	rm -rf reports/*/ .pytest_cache
