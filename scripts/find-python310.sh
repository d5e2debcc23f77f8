#!/usr/bin/env bash
# Prints the path of a working Python 3.10 interpreter, or fails with a clear message.
# Order: pyenv's installed 3.10.x, the pyenv shim selected explicitly, python3.10 on PATH.
set -u
candidates=()
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for p in "$root"/versions/3.10.*/bin/python3.10; do [ -x "$p" ] && candidates+=("$p"); done
fi
for p in "$HOME"/.pyenv/versions/3.10.*/bin/python3.10; do [ -x "$p" ] && candidates+=("$p"); done
candidates+=("python3.10")
for c in "${candidates[@]}"; do
  if out=$("$c" -c 'import sys; print(sys.executable) if sys.version_info[:2] == (3, 10) else sys.exit(1)' 2>/dev/null); then
    echo "$out"; exit 0
  fi
done
if command -v pyenv >/dev/null 2>&1; then
  for v in $(pyenv versions --bare | grep '^3\.10\.'); do
    if out=$(PYENV_VERSION="$v" python3.10 -c 'import sys; print(sys.executable)' 2>/dev/null); then
      echo "$out"; exit 0
    fi
  done
fi
echo "error: Python 3.10 is required (Rasa 3.6 supports up to 3.10) but none was found." >&2
echo "       Install it (e.g. 'pyenv install 3.10.13' or your OS package python3.10) and retry." >&2
exit 1
