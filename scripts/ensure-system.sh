#!/usr/bin/env bash
# Installs the Debian packages the tests need when missing: chromium (the browser tests) and
# nginx (the reverse proxy in front of two web processes, tests/resilience/test_nginx_two_web.py;
# the tests run their own nginx on a free port, the package's service is not used). Then the
# browser-side test tools from the npm registry (axe-core, scripts/ensure-node-tools.sh).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v npm >/dev/null || missing+=(npm)  # axe-core comes from the npm registry
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
exec "$(dirname "$0")/ensure-node-tools.sh"
