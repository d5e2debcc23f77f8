# Two commands matter: `make run` (the product on the embedded default) and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
TEST_ENV := DJANGO_SETTINGS_MODULE=config.settings.test \
	DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/leadbot} \
	REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/15} \
	RASA_TRACKER_DATABASE_URL=$${TEST_RASA_TRACKER_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/leadbot_rasa_test}

.PHONY: run test venv train lint format bench bench-abuse bench-scheduling bench-dashboard nlu-eval bot-eval validate clean

# `make run` is the local demo: it names its settings (manage.py, config.asgi and
# config.celery default to production, which refuses to start unconfigured).
LOCAL_SETTINGS := config.settings.local

$(VENV)/.installed: requirements.txt
	@PY310=$$(scripts/find-python310.sh) && { [ -x $(PY) ] || "$$PY310" -m venv $(VENV); }
	$(VENV)/bin/pip install -q --upgrade 'pip==24.0' 'setuptools<70' 'wheel==0.42.0'
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

venv: $(VENV)/.installed

train: venv
	scripts/train.sh

run: export DJANGO_SETTINGS_MODULE := $(LOCAL_SETTINGS)
run: train
	mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py bot_endpoints
	@echo ""
	@echo "  Open http://127.0.0.1:$${WEB_PORT:-8000}/ to chat; admin at http://127.0.0.1:$${WEB_PORT:-8000}/admin/"
	@echo ""
	@if [ -n "$$REDIS_URL" ]; then procs="web rasa worker"; else procs="web rasa"; fi; \
	  exec scripts/honcho-start.sh $$procs

test: train
	scripts/ensure-system.sh
	scripts/ensure-services.sh
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache --no-logo

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

validate: venv
	$(VENV)/bin/rasa data validate --domain chatbot/bot/domain --data chatbot/bot/data --config chatbot/bot/config.yml

nlu-eval: train
	$(VENV)/bin/python scripts/nlu_eval.py chatbot/bot/tests/nlu_heldout.yml chatbot/bot/tests/nlu_dev.yml chatbot/bot/tests/nlu_independent.yml

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

# Against a running `make run`: one attacker opening conversations while 20 visitors chat.
bench-abuse: venv
	$(VENV)/bin/python bench/abuse.py $(BENCH_ARGS)

BENCH_PG := $${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/leadbot}
bench-scheduling: venv
	scripts/ensure-services.sh
	DJANGO_SETTINGS_MODULE=$(LOCAL_SETTINGS) DATABASE_URL=$(BENCH_PG) $(VENV)/bin/python bench/availability.py
	DJANGO_SETTINGS_MODULE=$(LOCAL_SETTINGS) DATABASE_URL=$(BENCH_PG) $(VENV)/bin/python bench/booking_contention.py --threads 50 --attempts 1000

BENCH_DB := $${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/leadbot_bench}
bench-dashboard: venv
	scripts/ensure-services.sh
	dropdb --if-exists -h 127.0.0.1 -U postgres "$$(basename $(BENCH_DB))"
	createdb -h 127.0.0.1 -U postgres "$$(basename $(BENCH_DB))"
	DJANGO_SETTINGS_MODULE=$(LOCAL_SETTINGS) DATABASE_URL=$(BENCH_DB) $(VENV)/bin/python manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=$(LOCAL_SETTINGS) DATABASE_URL=$(BENCH_DB) $(VENV)/bin/python manage.py generate_demo_data --conversations 100000 --seed 1
	DJANGO_SETTINGS_MODULE=$(LOCAL_SETTINGS) DATABASE_URL=$(BENCH_DB) $(VENV)/bin/python bench/dashboard.py --repeat 5

clean:
	rm -rf var models test-artifacts
