#!/usr/bin/env bash
# Runs `rasa run` with its HTTP API (trackers, execute, model) only behind a token:
# with RASA_API_TOKEN set, --enable-api --auth-token; without it, no API at all.
# The web process needs neither: it talks to our channel (/webhooks/leadbot/webhook).
# Callers of the API (tests, tools) send ?token=$RASA_API_TOKEN.
set -euo pipefail
RASA=${RASA:-.venv-rasa/bin/rasa}
# How long Rasa's lock on a conversation holds: a server killed in the middle of a turn leaves that
# conversation locked this long for every other server. Rasa's default is 60 s; a turn the web process
# waits for lasts at most RASA_TIMEOUT_SECONDS (8), so 20 s leaves room and frees the conversation sooner.
export TICKET_LOCK_LIFETIME=${TICKET_LOCK_LIFETIME:-20}
# One thread for numpy's BLAS (the sentence encoder's matrix products): a message's products are too small
# to share, and a second thread only spins on the core the web process or another Rasa server needs
# (the encoder took 47 ms of CPU per message with two threads, 35 ms with one).
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
api=()
if [ -n "${RASA_API_TOKEN:-}" ]; then
  if [ "${#RASA_API_TOKEN}" -lt 32 ]; then
    echo "error: RASA_API_TOKEN must be at least 32 characters (or unset, which turns Rasa's HTTP API off)" >&2
    exit 2
  fi
  api=(--enable-api "--auth-token=$RASA_API_TOKEN")  # one word: a token may start with "-"
fi
exec "$RASA" run "${api[@]}" "$@"
