#!/usr/bin/env bash
# Runs a command, and runs it again whenever it exits (a crash, kill -9, the OOM killer): honcho
# stops every process when one exits, so without this a dead Rasa took the web process down too.
# SIGTERM or SIGINT (honcho's Ctrl-C, sent to the whole process group) stops the command and this
# loop. A command that keeps dying is started again after 1, 2, 4 ... 30 s.
set -u
child=""
stopping=""
stop() {
  stopping=1
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
  [ -n "$child" ] && wait "$child" 2>/dev/null
  exit 0
}
trap stop TERM INT
delay=1
while :; do
  started=$SECONDS
  "$@" &
  child=$!
  wait "$child"
  status=$?
  [ -n "$stopping" ] && exit 0
  # A run that lasted a while was healthy: start again at once-ish.
  if (( SECONDS - started > 60 )); then delay=1; fi
  echo "keep-running: $1 exited with status $status; starting it again in ${delay}s" >&2
  sleep "$delay" &
  child=$!
  wait "$child"
  delay=$(( delay * 2 > 30 ? 30 : delay * 2 ))
done
