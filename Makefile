# Two commands on a fresh machine:
#   make run   – set up, migrate, seed the demo county if empty, serve on http://127.0.0.1:5000
#   make test  – set up, then the whole suite on SQLite+SpatiaLite and on PostGIS
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app app
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Tests run in this many processes (pytest-xdist); each has its own databases.
TEST_WORKERS ?= 2

.PHONY: run test bench setup system venv translations db serve-prod

setup: system venv translations

system:
	@bash scripts/setup-system.sh

venv: $(VENV)/.requirements-installed

$(VENV)/.requirements-installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

translations: venv
	@$(VENV)/bin/pybabel compile -d civic/translations >/dev/null

db: setup
	@$(FLASK) db upgrade
	@$(FLASK) seed-demo --if-empty

run: db
	$(FLASK) run --host $(HOST) --port $(PORT)

# Production: DATABASE_URL=postgresql+psycopg://… make serve-prod (gunicorn.conf.py; nginx in front for TLS)
serve-prod: setup
	@test -n "$(DATABASE_URL)" || { echo "serve-prod needs DATABASE_URL (PostgreSQL + PostGIS)"; exit 2; }
	@$(FLASK) db upgrade
	$(VENV)/bin/gunicorn -c gunicorn.conf.py app:app

test: setup
	$(PY) -m pytest -n $(TEST_WORKERS)

bench: setup
	$(PY) bench/ingest.py
	$(PY) bench/grid_lookup.py
	$(PY) bench/client_photos.py
	$(PY) bench/push_fanout.py
	$(PY) bench/dispatch.py
	$(PY) bench/dashboard.py
	$(PY) bench/dashboard.py --postgis
	$(PY) bench/load.py
	$(PY) bench/faults.py
