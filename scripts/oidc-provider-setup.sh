#!/usr/bin/env bash
# Installs the OpenID Provider the trygg-oidc integration tests run against:
# the certified npm package `oidc-provider`, pinned in
# crates/oidc/tests/provider/package-lock.json. Idempotent: does nothing when
# node_modules matches the lock file. Needs Node.js (20 or later) and npm.
#
#   scripts/oidc-provider-setup.sh
set -euo pipefail
dir="$(cd "$(dirname "$0")/.." && pwd)/crates/oidc/tests/provider"

log() { echo "[oidc-provider-setup] $*" >&2; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "Node.js and npm are needed for the OIDC provider tests (crates/oidc/tests/real_provider.rs)"
  log "but 'node' or 'npm' is not on PATH. Install Node.js 20 or later (e.g. the Debian"
  log "packages nodejs and npm, or https://nodejs.org), then run this script again."
  exit 1
fi

major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  log "Node.js $(node --version) is too old for oidc-provider; install Node.js 20 or later."
  exit 1
fi

cd "$dir"
install() {
  # npm records what it installed in node_modules/.package-lock.json; reinstall
  # when that is missing or older than the committed lock file.
  if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] \
    && [ -d node_modules/oidc-provider ]; then
    return 0
  fi
  log "installing oidc-provider (npm ci) in $dir"
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2
}

# Several test processes may start at once: one installs, the others wait.
if command -v flock >/dev/null 2>&1; then
  exec 9<package-lock.json
  flock 9
fi
install
