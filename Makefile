# Two commands do all set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
BENCH_STAMP := $(VENV)/.bench-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test test-sqlite test-postgresql wheel-check bench bench-backends bench-flood lint check migrate i18n clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Porchlight needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

run: $(STAMP)
	@$(VENV)/bin/porchlight run

migrate: $(STAMP)
	@$(VENV)/bin/porchlight migrate

check: $(STAMP)
	@$(VENV)/bin/porchlight check

# The whole suite on SQLite, then on a throwaway PostgreSQL the run starts and removes itself
# (the OS's server binaries, or the pgserver wheel of the dev extra): tests/postgres.py.
test: test-sqlite test-postgresql

test-sqlite: $(STAMP)
	$(PY) -m pytest -q --backend=sqlite

test-postgresql: $(STAMP)
	$(PY) -m pytest -q --backend=postgresql

# Build the wheel, install it into a fresh venv outside the tree, and talk to the installed bot.
wheel-check: $(STAMP)
	$(PY) -m tests.wheel_smoke

# The benchmark's own references (aiogram) come from the `bench` extra: `make test` never needs it.
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev,bench]"
	@rm -f $(VENV)/.bench-*
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m bench

# Tip routing on SQLite and on a throwaway PostgreSQL, side by side.
bench-backends: $(STAMP)
	$(PY) -m bench.backends

# Replicas sharing Telegram's limits on a throwaway PostgreSQL (bot/shared_budget.py).
bench-flood: $(STAMP)
	$(PY) -m bench.shared_flood

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Refresh the catalogs after adding message ids (then translate the new entries).
i18n: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k t -k N_ -k translate:2 -k plain:2 -o /tmp/porchlight.pot bot handlers
	$(VENV)/bin/pybabel update -i /tmp/porchlight.pot -d bot/locales -D porchlight --no-fuzzy-matching

clean:
	rm -rf $(VENV)
