#!/usr/bin/env bash
# Prints the path of a working Python interpreter of the version asked for, or fails with a clear message.
#   scripts/find-python.sh 3.10    exactly 3.10 (the Rasa server's environment: Rasa 3.6 supports nothing newer)
#   scripts/find-python.sh 3.12+   the newest installed 3.12 or later (the web and worker environment)
# Order of the search: pyenv's installed versions (by path: a bare pyenv shim refuses to run a version
# that is not selected), then the same through the shim with PYENV_VERSION, then python3.X on PATH.
set -u
want=${1:?usage: scripts/find-python.sh 3.10 | 3.12+}
case "$want" in
  3.[0-9]*+) min_minor=${want#3.}; min_minor=${min_minor%+}; minors=$(seq 30 -1 "$min_minor") ;;
  3.[0-9]*) minors=${want#3.} ;;
  *) echo "error: scripts/find-python.sh: expected a version like 3.10 or 3.12+, got '$want'" >&2; exit 2 ;;
esac

root=""
command -v pyenv >/dev/null 2>&1 && root=$(pyenv root 2>/dev/null)
[ -n "$root" ] || root=${PYENV_ROOT:-$HOME/.pyenv}

# A candidate counts when it runs and reports the minor version asked for.
works() {  # works MINOR COMMAND... -> prints sys.executable
  local minor=$1
  shift
  "$@" -c "import sys; print(sys.executable) if sys.version_info[:2] == (3, $minor) else sys.exit(1)" 2>/dev/null
}

for minor in $minors; do
  # Newest patch release first (3.12.10 before 3.12.9).
  for p in $(ls -d "$root"/versions/3."$minor".*/bin/python3."$minor" 2>/dev/null | sort -t. -k3,3nr); do
    [ -x "$p" ] && out=$(works "$minor" "$p") && { echo "$out"; exit 0; }
  done
  if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv versions --bare 2>/dev/null | grep "^3\.$minor\.[0-9]*$" | sort -t. -k3,3nr); do
      out=$(PYENV_VERSION="$v" works "$minor" python3."$minor") && { echo "$out"; exit 0; }
    done
  fi
  out=$(works "$minor" python3."$minor") && { echo "$out"; exit 0; }
done

case "$want" in
  *+) echo "error: Python $want is required (the web and worker environment, .venv) but none was found." >&2
      echo "       Install one (e.g. 'pyenv install 3.13' or your OS package python3.12) and retry." >&2 ;;
  3.10) echo "error: Python 3.10 is required (the Rasa server's environment, .venv-rasa: Rasa 3.6 supports up to 3.10)" >&2
        echo "       but none was found. Install it (e.g. 'pyenv install 3.10.13' or your OS package python3.10) and retry." >&2 ;;
  *) echo "error: Python $want is required but none was found (pyenv's versions, python$want on PATH)." >&2 ;;
esac
exit 1
