#!/usr/bin/env bash
# Benchmark (not a test): what `GET /metrics` costs a station with a large backlog. N studies
# (10,000 by default, one small DX image each, made from the demo day by giving each copy new
# UIDs of the same length) are imported into a station whose hub is unreachable, so all of them
# sit in the send queue; then the center's scrape is timed, and the station's CPU time per
# scrape read from /proc. Medians over the scrapes.
#
#   bench/metrics.sh                    # 10,000 studies, 50 scrapes
#   BENCH_STUDIES=2000 BENCH_SCRAPES=20 bench/metrics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
STUDIES=${BENCH_STUDIES:-10000}
SCRAPES=${BENCH_SCRAPES:-50}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
# STATION_BIN: an already built binary (e.g. the CI's release build).
if [ -z "${STATION_BIN:-}" ]; then cargo build --release -q -p station; fi
STATION=${STATION_BIN:-$CARGO_TARGET_DIR/release/station}
WORK=$(mktemp -d /tmp/station-metrics-bench.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
[ -n "${BENCH_KEEP:-}" ] && trap - EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$STATION" demo --small --out "$WORK/day" --seed 5 >/dev/null
# One DX image; each copy gets its own study, series and instance UIDs (bench/copies.py).
python3 bench/copies.py "$WORK/day" "$WORK/in" "$STUDIES"

HTTP=$(free_port); DICOM=$(free_port); DEAD=$(free_port)
TOKEN=bench-scrape-token-0123456789
cat > "$WORK/s.toml" <<T
data_dir = "$WORK/data"
[storage]
min_free_mb = 0
high_water_percent = 100
low_water_percent = 99
[studies]
quiet_period_secs = 1
[dicom]
port = $DICOM
[http]
port = $HTTP
[metrics]
token = "$TOKEN"
[[destinations]]
name = "hub"
url = "http://127.0.0.1:$DEAD/dicom-web"
poll_reports = false
T
"$STATION" import --config "$WORK/s.toml" "$WORK/in" >/dev/null 2>&1
STATION_ADMIN_PASSWORD=bench-admin-pw "$STATION" serve --config "$WORK/s.toml" >"$WORK/serve.log" 2>&1 & PID=$!
scrape() { curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP/metrics"; }
queued() { scrape 2>/dev/null | awk '/^station_queue_studies\{/ { s += $2 } END { print s + 0 }'; }
for _ in $(seq 1 1200); do [ "$(queued)" -ge "$STUDIES" ] && break; sleep 0.5; done
[ "$(queued)" -ge "$STUDIES" ] || { echo "the $STUDIES studies were not all queued" >&2; exit 1; }
ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
HZ=$(getconf CLK_TCK)
times=(); cpu=()
for _ in $(seq 1 "$SCRAPES"); do
  t0=$(ticks)
  times+=("$(curl -sf -o "$WORK/out" -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP/metrics")")
  cpu+=("$(( $(ticks) - t0 ))")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
cpu_total=$(printf '%s\n' "${cpu[@]}" | awk '{ s += $1 } END { print s }')
echo "studies queued: $(queued); body: $(wc -c < "$WORK/out") bytes, $(grep -vc '^#' "$WORK/out") series"
echo "scrape time median: $(median "${times[@]}") s (min $(printf '%s\n' "${times[@]}" | sort -g | head -1), max $(printf '%s\n' "${times[@]}" | sort -g | tail -1))"
echo "station CPU per scrape (mean of $SCRAPES): $(awk -v t="$cpu_total" -v n="$SCRAPES" -v hz="$HZ" 'BEGIN { printf "%.1f ms", t / n / hz * 1000 }')"
echo "station RSS: $(awk '/VmRSS/ { print $2, $3 }' "/proc/$PID/status")"
