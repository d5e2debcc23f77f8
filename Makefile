# Two commands matter: `make run` (the product on the embedded default) and `make test`.
SHELL := /bin/bash
# Two environments (README, "Two Python environments"): the web and the worker on a supported Python,
# the Rasa server on the Python 3.10 Rasa 3.6 needs. Each is built from its locked requirements file.
VENV := .venv
RASA_VENV := .venv-rasa
PY := $(VENV)/bin/python
RASA := $(RASA_VENV)/bin/rasa
TEST_ENV := DJANGO_SETTINGS_MODULE=config.settings.test \
	DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/leadbot} \
	REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/15} \
	RASA_TRACKER_DATABASE_URL=$${TEST_RASA_TRACKER_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/leadbot_rasa_test}

.PHONY: run test test-web test-rasa venv train lint lint-code audit lock format bench bench-paced bench-fault bench-handoff bench-turn-cost bench-abuse bench-scheduling bench-dashboard nlu-eval bot-eval validate clean

# `make run` is the local demo: it names its settings (manage.py, config.asgi and
# config.celery default to production, which refuses to start unconfigured).
LOCAL_SETTINGS := config.settings.local
# Where `make run` is reached: the links in emails and the action URL Rasa calls follow WEB_PORT
# unless PUBLIC_BASE_URL says otherwise.
RUN_BASE_URL = $(or $(PUBLIC_BASE_URL),http://127.0.0.1:$(or $(WEB_PORT),8000))

$(VENV)/.installed: requirements.txt
	scripts/venv-build.sh $(VENV) 3.12+ requirements.txt

$(RASA_VENV)/.installed: requirements-rasa.txt requirements-rasa-nodeps.txt
	scripts/venv-build.sh $(RASA_VENV) 3.10 requirements-rasa.txt requirements-rasa-nodeps.txt

# Both environments, built side by side (most of the time goes to downloads and unpacking).
venv:
	@$(MAKE) --no-print-directory -j2 --output-sync=target $(VENV)/.installed $(RASA_VENV)/.installed

train: venv
	RASA=$(RASA) scripts/train.sh

run: export DJANGO_SETTINGS_MODULE := $(LOCAL_SETTINGS)
run: export PUBLIC_BASE_URL := $(RUN_BASE_URL)
run: train
	mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py bot_endpoints --action-url $(RUN_BASE_URL)/bot/actions/
	@echo ""
	@echo "  Open http://127.0.0.1:$${WEB_PORT:-8000}/ to chat; admin at http://127.0.0.1:$${WEB_PORT:-8000}/admin/"
	@echo ""
	@if [ -n "$$REDIS_URL" ]; then procs="web rasa worker"; else procs="web rasa"; fi; \
	  exec scripts/honcho-start.sh $$procs

# Two suites: the web environment's (tests/, PYTEST_ARGS) and the Rasa environment's (tests/rasa_env/,
# RASA_PYTEST_ARGS). `make test` runs both and fails if either does; the model trains while the web tests
# that need no Rasa server run (scripts/test-suites.sh says how).
test: venv
	@$(TEST_ENV) PYTEST_ARGS="$(PYTEST_ARGS)" RASA_PYTEST_ARGS="$(RASA_PYTEST_ARGS)" \
	  scripts/test-suites.sh

test-web: train
	scripts/ensure-system.sh
	scripts/ensure-services.sh
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

test-rasa: train
	$(RASA_VENV)/bin/pytest -c tests/rasa_env/pytest.ini --rootdir=. $(RASA_PYTEST_ARGS)

# `make lint` checks the code, then audits the web environment's pins (which needs the network).
lint: lint-code audit

lint-code: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache --no-logo

# Known vulnerabilities in the web environment's pinned set (the processes that face the internet), with
# pip-audit, strictly: a pin it cannot look up fails, and so does a run that reached no vulnerability
# database ("NOTHING WAS CHECKED", exit 2). AUDIT_ARGS="-s osv" asks OSV instead of PyPI.
audit: $(VENV)/.installed
	$(PY) scripts/audit.py requirements.txt $(AUDIT_ARGS)

# Re-pins both lock files from their .in files with uv, keeping every pin that still fits
# (README, "Upgrading dependencies"): UPGRADE="--upgrade-package NAME" (or --upgrade) moves the web side,
# RASA_UPGRADE the same for the Rasa side.
lock: $(VENV)/.installed
	$(VENV)/bin/uv pip compile -q --python-version 3.12 $(UPGRADE) requirements.in -o requirements.txt
	$(VENV)/bin/uv pip compile -q --python-version 3.10 $(RASA_UPGRADE) requirements-rasa.in -o requirements-rasa.txt

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

validate: $(RASA_VENV)/.installed
	$(RASA) data validate --domain chatbot/bot/domain --data chatbot/bot/data --config chatbot/bot/config.yml

nlu-eval: train
	$(RASA_VENV)/bin/python scripts/nlu_eval.py chatbot/bot/tests/nlu_heldout.yml chatbot/bot/tests/nlu_dev.yml chatbot/bot/tests/nlu_independent.yml

# Visitor personas played over the widget's WebSocket against the real web and Rasa servers, on a
# scratch database (dropped and created afresh, migrated, seeded with the demo site and reps).
BOT_EVAL_DB := $${BOT_EVAL_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/leadbot_bot_eval}
BOT_EVAL_RASA_DB := $${BOT_EVAL_RASA_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/leadbot_bot_eval_rasa}
BOT_EVAL_ENV := DJANGO_SETTINGS_MODULE=config.settings.test DATABASE_URL=$(BOT_EVAL_DB) \
	RASA_TRACKER_DATABASE_URL=$(BOT_EVAL_RASA_DB) REDIS_URL=$${BOT_EVAL_REDIS_URL:-redis://127.0.0.1:6379/13} \
	VAR_DIR=test-artifacts/bot-eval/var
bot-eval: train
	scripts/ensure-services.sh
	for db in $(BOT_EVAL_DB) $(BOT_EVAL_RASA_DB); do \
	  dropdb --if-exists -h 127.0.0.1 -U postgres "$$(basename $$db)" && createdb -h 127.0.0.1 -U postgres "$$(basename $$db)"; done
	$(BOT_EVAL_ENV) $(PY) manage.py migrate --noinput -v 0
	$(BOT_EVAL_ENV) $(PY) manage.py seed_demo >/dev/null
	$(BOT_EVAL_ENV) $(PY) -m tests.bot_eval $(BOT_EVAL_ARGS)

bench: train
	$(VENV)/bin/python bench/chat_load.py $(BENCH_ARGS)

# Benchmarks that start their own web process and Rasa servers (tests/servers.py) on a scratch
# database, dropped and created afresh, migrated and seeded with the demo site and reps, like bot-eval.
BENCH_LIVE_DB := $${BENCH_LIVE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/leadbot_bench_live}
BENCH_LIVE_RASA_DB := $${BENCH_LIVE_RASA_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/leadbot_bench_live_rasa}
BENCH_LIVE_ENV := DJANGO_SETTINGS_MODULE=config.settings.test DATABASE_URL=$(BENCH_LIVE_DB) BENCH_CONN_MAX_AGE=60 \
	RASA_TRACKER_DATABASE_URL=$(BENCH_LIVE_RASA_DB) REDIS_URL=$${BENCH_LIVE_REDIS_URL:-redis://127.0.0.1:6379/12}
define bench_live_db
	scripts/ensure-services.sh
	for db in $(BENCH_LIVE_DB) $(BENCH_LIVE_RASA_DB); do \
	  dropdb --if-exists -h 127.0.0.1 -U postgres "$$(basename $$db)" && createdb -h 127.0.0.1 -U postgres "$$(basename $$db)"; done
	$(BENCH_LIVE_ENV) $(PY) manage.py migrate --noinput -v 0
	$(BENCH_LIVE_ENV) $(PY) manage.py seed_demo >/dev/null
endef

# Paced visitors (think time): the largest number whose p95 reply stays under 1 s, 1 and 2 Rasa servers.
bench-paced: train
	$(bench_live_db)
	$(BENCH_LIVE_ENV) $(PY) bench/chat_load.py --paced $(BENCH_ARGS)

# Paced visitors while the Rasa server is killed (-9) and its supervisor starts it again: messages sent,
# answered, lost (must be 0), the waits and how long Rasa was down; exits 1 when a message is lost.
bench-fault: train
	$(bench_live_db)
	$(BENCH_LIVE_ENV) $(PY) bench/fault.py $(BENCH_ARGS)

# 20 visitors ask for a person at once, 3 reps in the inbox: request to alert, rep's message to visitor.
bench-handoff: train
	$(bench_live_db)
	$(BENCH_LIVE_ENV) $(PY) bench/handoff.py $(BENCH_ARGS)

# What one visitor message costs the Rasa server and the web process, in CPU time (the sizing figure).
bench-turn-cost: train
	$(bench_live_db)
	$(BENCH_LIVE_ENV) $(PY) bench/turn_cost.py $(BENCH_ARGS)

# Against a running `make run`: one attacker opening conversations while 20 visitors chat.
bench-abuse: $(VENV)/.installed
	$(VENV)/bin/python bench/abuse.py $(BENCH_ARGS)

BENCH_PG := $${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/leadbot}
bench-scheduling: $(VENV)/.installed
	scripts/ensure-services.sh
	DJANGO_SETTINGS_MODULE=$(LOCAL_SETTINGS) DATABASE_URL=$(BENCH_PG) $(VENV)/bin/python bench/availability.py
	DJANGO_SETTINGS_MODULE=$(LOCAL_SETTINGS) DATABASE_URL=$(BENCH_PG) $(VENV)/bin/python bench/booking_contention.py --threads 50 --attempts 1000

BENCH_DB := $${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/leadbot_bench}
# DASHBOARD_CONVERSATIONS=1000000 for marketing at ten times the usual scale (issue 14).
DASHBOARD_CONVERSATIONS ?= 100000
bench-dashboard: $(VENV)/.installed
	scripts/ensure-services.sh
	dropdb --if-exists -h 127.0.0.1 -U postgres "$$(basename $(BENCH_DB))"
	createdb -h 127.0.0.1 -U postgres "$$(basename $(BENCH_DB))"
	DJANGO_SETTINGS_MODULE=$(LOCAL_SETTINGS) DATABASE_URL=$(BENCH_DB) $(VENV)/bin/python manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=$(LOCAL_SETTINGS) DATABASE_URL=$(BENCH_DB) $(VENV)/bin/python manage.py generate_demo_data --conversations $(DASHBOARD_CONVERSATIONS) --seed 1
	# What autovacuum does after a load (off on the CI machine's PostgreSQL): index-only scans skip the table.
	psql "$(BENCH_DB)" -q -c "VACUUM (ANALYZE)"
	DJANGO_SETTINGS_MODULE=$(LOCAL_SETTINGS) DATABASE_URL=$(BENCH_DB) $(VENV)/bin/python bench/dashboard.py --repeat 5

clean:
	rm -rf var models test-artifacts
