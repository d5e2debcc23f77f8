#!/usr/bin/env bash
# Builds (or brings up to date) one of the two virtualenvs from its locked requirements file:
#   scripts/venv-build.sh .venv 3.12+ requirements.txt             the web and worker environment
#   scripts/venv-build.sh .venv-rasa 3.10 requirements-rasa.txt requirements-rasa-nodeps.txt
#                                                                  the Rasa server's environment
# A fourth file, if given, is installed with --no-deps after the locked set (packages whose declared
# dependencies we do not use, e.g. model weights that declare PyTorch; requirements-rasa-nodeps.txt).
# An environment on another Python than the one asked for (e.g. a .venv from before the split, on 3.10)
# is made anew. Installs go through pip, so the machine's pip configuration (indexes, constraints) applies.
# Writes DIR/.installed when done; the Makefile rebuilds when the requirements file is newer.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: scripts/venv-build.sh DIR VERSION REQUIREMENTS}
want=${2:?usage: scripts/venv-build.sh DIR VERSION REQUIREMENTS}
requirements=${3:?usage: scripts/venv-build.sh DIR VERSION REQUIREMENTS}
nodeps=${4:-}

minor=${want#3.}
minor=${minor%+}
case "$want" in
  *+) fits="import sys; sys.exit(sys.version_info[:2] < (3, $minor))" ;;
  *) fits="import sys; sys.exit(sys.version_info[:2] != (3, $minor))" ;;
esac
if [ -e "$dir" ] && ! "$dir/bin/python" -c "$fits" 2>/dev/null; then
  echo "$dir is not on Python $want: making it anew"
  rm -rf "$dir"
fi
if [ ! -x "$dir/bin/python" ]; then
  python=$(scripts/find-python.sh "$want")
  echo "Creating $dir with $python"
  "$python" -m venv "$dir"
fi
# pip itself at the locked version when the lock names one (the web side's does), then the locked set.
pip_pin=$(grep -iE '^pip==' "$requirements" || echo 'pip==24.0')
"$dir/bin/python" -m pip install -q --upgrade "$pip_pin"
"$dir/bin/python" -m pip install -q -r "$requirements"
if [ -n "$nodeps" ]; then
  "$dir/bin/python" -m pip install -q --no-deps -r "$nodeps"
fi
touch "$dir/.installed"
echo "$dir is ready ($("$dir/bin/python" --version))"
