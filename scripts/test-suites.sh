#!/usr/bin/env bash
# `make test`: both suites, with the Rasa model trained at the same time as the first part runs.
#
# Training takes most of a fresh clone's `make test`, and most tests need no model, so:
#   1. scripts/train.sh starts in the background (log: test-artifacts/train.log);
#   2. meanwhile the system packages and services are made ready, and the web suite's tests that
#      start no Rasa server run (`-m "not e2e"`; tests/conftest.py marks every test that starts
#      one e2e, whatever its file says);
#   3. once the model is there: the web suite's e2e tests, then the Rasa environment's suite.
# Every part runs even when an earlier one failed; the exit status is non-zero if any failed.
# PYTEST_ARGS and RASA_PYTEST_ARGS are passed to the two suites (environment, from the Makefile).
set -uo pipefail
cd "$(dirname "$0")/.."
web_venv=.venv
rasa_venv=.venv-rasa
mkdir -p test-artifacts

RASA=$rasa_venv/bin/rasa scripts/train.sh >test-artifacts/train.log 2>&1 &
training=$!

scripts/ensure-system.sh || exit 1
scripts/ensure-services.sh || exit 1

# pytest's 5 is "no test was collected" (a PYTEST_ARGS that selects only one part): not a failure.
run() { "$@"; local code=$?; [ "$code" -eq 5 ] && code=0; return "$code"; }

# The first part builds the test database afresh and keeps it (--create-db --reuse-db); the second reuses it.
# shellcheck disable=SC2086  # PYTEST_ARGS is a list of words
run "$web_venv/bin/pytest" --create-db --reuse-db -m "not e2e" ${PYTEST_ARGS:-}
without_model=$?

if ! wait "$training"; then
  tail -n 40 test-artifacts/train.log >&2
  echo "error: training the Rasa model failed (whole log: test-artifacts/train.log)" >&2
  exit 1
fi
tail -n 1 test-artifacts/train.log

# shellcheck disable=SC2086
run "$web_venv/bin/pytest" --reuse-db -m e2e ${PYTEST_ARGS:-}
with_model=$?
# shellcheck disable=SC2086
"$rasa_venv/bin/pytest" -c tests/rasa_env/pytest.ini --rootdir=. ${RASA_PYTEST_ARGS:-}
rasa=$?

echo "web environment suite: exit $without_model (no model), $with_model (with the model); Rasa environment suite: exit $rasa"
[ "$without_model" -eq 0 ] && [ "$with_model" -eq 0 ] && [ "$rasa" -eq 0 ]
