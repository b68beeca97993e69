# Helpers that make sure the services the tests use are running.
# Sourced by scripts/test. Works as root on Debian (CI, fresh machines); as
# another user it explains what is missing instead.

log() { echo "[services] $*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*"; return 1; fi
}

pg_ok() { psql "$1" -Atqc 'SELECT 1' >/dev/null 2>&1; }

# Exports TRYGG_TEST_POSTGRES_URL pointing at a PostgreSQL the tests can use
# to create and drop databases.
ensure_postgres() {
  local url="${TRYGG_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  if ! command -v psql >/dev/null || ! command -v pg_dump >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    if ! pg_ok "$url" 2>/dev/null; then
      log "installing PostgreSQL"
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client >/dev/null
    fi
  fi
  if ! pg_ok "$url"; then
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
    if [ -n "$version" ]; then
      log "starting PostgreSQL $version"
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
      for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
  fi
  if ! pg_ok "$url"; then
    # Reachable but the password is not known (a fresh Debian install uses
    # password authentication on TCP): set a random one for this run.
    local pw
    pw="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
    if as_root su postgres -c "psql -qc \"ALTER USER postgres PASSWORD '$pw'\"" >/dev/null 2>&1; then
      url="postgres://postgres:$pw@127.0.0.1:5432/postgres"
    fi
  fi
  if ! pg_ok "$url"; then
    log "PostgreSQL is not reachable at ${url%%@*}@…; set TRYGG_TEST_POSTGRES_URL"
    return 1
  fi
  export TRYGG_TEST_POSTGRES_URL="$url"
}

# Installs headless Chromium and its WebDriver (for the browser tests in
# crates/trygg/tests/it/browser.rs) when chromedriver is missing.
ensure_chromium() {
  if [ -x /usr/bin/chromedriver ] && { [ -x /usr/bin/chromium ] || command -v chromium >/dev/null; }; then
    return 0
  fi
  log "installing Chromium and chromedriver"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
  if [ ! -x /usr/bin/chromedriver ]; then
    log "chromedriver is still missing after installing chromium-driver"
    return 1
  fi
}

# Installs sipp (Debian's sip-tester), the third-party SIP peer the alarm
# tests use as a safety-alarm device (crates/trygg/tests/it/sip.rs).
ensure_sipp() {
  if command -v sipp >/dev/null; then
    return 0
  fi
  log "installing sipp (sip-tester)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sip-tester >/dev/null
  if ! command -v sipp >/dev/null; then
    log "sipp is still missing after installing sip-tester"
    return 1
  fi
}

# Installs Mosquitto (Debian's `mosquitto`, with mosquitto_pub from
# `mosquitto-clients`), the broker the sensor tests start on a port of
# their own (crates/trygg/tests/it/mqtt.rs); a broker already running on
# 1883 is neither needed nor used.
ensure_mosquitto() {
  if [ -x /usr/sbin/mosquitto ] && command -v mosquitto_pub >/dev/null; then
    return 0
  fi
  log "installing Mosquitto"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mosquitto mosquitto-clients >/dev/null
  if [ ! -x /usr/sbin/mosquitto ] || ! command -v mosquitto_pub >/dev/null; then
    log "mosquitto or mosquitto_pub is still missing after installing them"
    return 1
  fi
}
