# Shared by the fleet benchmarks (bench-heartbeats, bench-storm); sourced,
# not run. Expects `bin` (a release `trygg`) and `dir` (a fresh directory).

# Runs `trygg` on the benchmark's data directory.
t() { "$bin" --data-dir "$dir/data" --log-level warn "$@"; }

# fleet_provision N HEARTBEAT_MINUTES: one tenant, unit and person, and N
# devices of that person (sip users hb-000000 …), imported 100,000 a file
# (an import takes at most 200,000 rows); their credentials are appended to
# $dir/credentials.csv.
fleet_provision() {
  local devices=$1 minutes=$2 start file
  t admin tenant add --name "Bänkby kommun" --org-number 212000-9994 >/dev/null
  t admin unit add --tenant 212000-9994 --name Larmcentralen >/dev/null
  t admin person add --tenant 212000-9994 --personnummer 19121212-1212 \
    --given-name Tolvan --family-name Tolvansson >/dev/null
  python3 - "$devices" "$dir" "$minutes" <<'PY'
import sys
n, d, minutes = int(sys.argv[1]), sys.argv[2], sys.argv[3]
for part, first in enumerate(range(0, n, 100_000)):
    with open(f"{d}/devices-{part}.csv", "w") as f:
        print("personnummer;unit;cid;sip_user;heartbeat_minutes", file=f)
        for i in range(first, min(n, first + 100_000)):
            print(f"19121212-1212;Larmcentralen;47{i:08d};hb-{i:06d};{minutes}", file=f)
PY
  start=$(date +%s.%N)
  for file in "$dir"/devices-*.csv; do
    if ! t admin device import --tenant 212000-9994 "$file" >>"$dir/credentials.csv" 2>"$dir/import.log"; then
      cat "$dir/import.log"; return 1
    fi
  done
  echo "  imported in $(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')") s"
}

# fleet_serve: starts `trygg serve` on the data directory with SIP on a free
# UDP port of 127.0.0.1; sets `server` (its pid) and `port`.
fleet_serve() {
  port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$bin" --data-dir "$dir/data" --log-level warn serve --listen 127.0.0.1:0 --sip-listen "127.0.0.1:$port" \
    >"$dir/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    grep -q "received at" "$dir/serve.log" 2>/dev/null && return 0
    sleep 0.2
  done
  cat "$dir/serve.log"; return 1
}
