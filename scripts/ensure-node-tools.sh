#!/usr/bin/env bash
# Installs the browser-side test tools pinned in scripts/node/package-lock.json (axe-core, which the
# accessibility tests inject into the page) into var/node/node_modules, from the npm registry with
# `npm ci` (exact versions, integrity-checked). Cached: nothing happens when the installed lock matches.
set -euo pipefail
cd "$(dirname "$0")/.."
src=scripts/node
dest=${NODE_TOOLS_DIR:-var/node}
if [ -f "$dest/node_modules/.package-lock.json" ] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm is missing: the accessibility tests need axe-core from the npm registry." >&2
  echo "Install Node.js and npm (Debian: apt-get install npm), then run scripts/ensure-node-tools.sh again." >&2
  exit 1
fi
echo "Installing browser test tools into $dest: $(tr -d '\n ' <"$src/package.json" | grep -o '"dependencies":{[^}]*}')"
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
(cd "$dest" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
