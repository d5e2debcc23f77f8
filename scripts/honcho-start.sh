#!/usr/bin/env bash
# `make run`'s last step: honcho starts the given process types, RASA_PROCESSES Rasa servers
# (default 1) on consecutive ports from RASA_PORT (default 5005), and tells the web process and
# the worker where they are (RASA_URLS). Each Procfile command restarts by itself when it dies
# (scripts/keep-running.sh), so one dying never stops the others.
set -euo pipefail
count=${RASA_PROCESSES:-1}
port=${RASA_PORT:-5005}
if ! [[ "$count" =~ ^[1-9][0-9]*$ ]]; then
  echo "error: RASA_PROCESSES must be a whole number >= 1, got '$count'" >&2
  exit 2
fi
urls=()
for ((i = 0; i < count; i++)); do urls+=("http://127.0.0.1:$((port + i))"); done
RASA_URLS=$(IFS=,; echo "${urls[*]}")
export RASA_URLS RASA_PORT=$port
echo "Rasa servers: $RASA_URLS"
exec "${HONCHO:-.venv/bin/honcho}" start -c "rasa=$count" "$@"
