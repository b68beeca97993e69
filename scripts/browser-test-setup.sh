#!/usr/bin/env bash
# Installs what the browser tests (crates/trygg/tests/it/browser.rs) need:
# headless Chromium with chromedriver (Debian packages, via
# scripts/services.sh) and axe-core, pinned in
# crates/trygg/tests/browser/package-lock.json. Idempotent: does nothing when
# both are present and node_modules matches the lock file.
#
#   scripts/browser-test-setup.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/crates/trygg/tests/browser"

log() { echo "[browser-test-setup] $*" >&2; }

. "$root/scripts/services.sh"
ensure_chromium

if ! command -v npm >/dev/null 2>&1; then
  log "npm is needed to install axe-core for the accessibility checks"
  log "but it is not on PATH. Install Node.js and npm (e.g. the Debian packages"
  log "nodejs and npm), then run this script again."
  exit 1
fi

cd "$dir"
install() {
  # npm records what it installed in node_modules/.package-lock.json; reinstall
  # when that is missing or older than the committed lock file.
  if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] \
    && [ -f node_modules/axe-core/axe.min.js ]; then
    return 0
  fi
  log "installing axe-core (npm ci) in $dir"
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2
}

# Several test processes may start at once: one installs, the others wait.
if command -v flock >/dev/null 2>&1; then
  exec 9<package-lock.json
  flock 9
fi
install
