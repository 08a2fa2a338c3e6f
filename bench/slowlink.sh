#!/usr/bin/env bash
# Slow-link benchmark (not a test): station → link emulator → Orthanc, all on loopback. The
# emulator (bench/linkemu.py; this machine's kernel has no netem) gives the uplink 4 Mbit/s and
# a 100 ms round trip. Part of the full-size synthetic day goes device → station → Orthanc;
# link utilisation is the bytes the emulator let through over what 4 Mbit/s could carry, from
# the first byte of the first upload until the last study is delivered and verified.
#
#   bench/slowlink.sh              # 3 rounds, about 30 MB each
#   BENCH_ROUNDS=1 BENCH_MB=10 bench/slowlink.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-3}
MB=${BENCH_MB:-30}
RATE_KBIT=4000
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
need=()
[ -x /usr/bin/storescu ] || need+=(dcmtk)
[ -x /usr/sbin/Orthanc ] || need+=(orthanc)
[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need+=(orthanc-dicomweb)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
cargo build --release -q -p station
STATION="$CARGO_TARGET_DIR/release/station"
WORK=$(mktemp -d /tmp/station-slowlink.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
json() { python3 -c "import json,sys; print($1)"; }

"$STATION" demo --out "$WORK/day" --seed 9 >/dev/null
# Whole patients (each a DX, a US and an ECG study), in order, until about $MB megabytes.
mapfile -t FILES < <(python3 - "$WORK/day" "$MB" <<'PY'
import os, sys
root, limit = sys.argv[1], float(sys.argv[2]) * 1e6
total = 0
for patient in sorted(os.listdir(root)):
    if total >= limit: break
    d = os.path.join(root, patient)
    for f in sorted(os.listdir(d)):
        total += os.path.getsize(os.path.join(d, f)); print(os.path.join(d, f))
PY
)
BYTES=$(du -cbL "${FILES[@]}" | tail -1 | cut -f1)
echo "sending ${#FILES[@]} files, $((BYTES / 1000000)) MB, over ${RATE_KBIT} kbit/s with 100 ms RTT" >&2

UTIL=""; BUSY=""; RSS_MAX=0
for round in $(seq 1 "$ROUNDS"); do
  h="$WORK/hub-$round"; mkdir -p "$h"; OHTTP=$(free_port); ODICOM=$(free_port); LINK=$(free_port)
  cat > "$h/o.json" <<J
{ "Name": "hub", "StorageDirectory": "$h/s", "IndexDirectory": "$h/i", "DicomAet": "HUB",
  "DicomPort": $ODICOM, "HttpPort": $OHTTP, "DicomCheckCalledAet": false, "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"] }
J
  /usr/sbin/Orthanc "$h/o.json" >"$h/log" 2>&1 & OPID=$!; PIDS+=("$OPID")
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$OHTTP/system" >/dev/null && break; sleep 0.1; done
  python3 bench/linkemu.py "$LINK" "$OHTTP" "$RATE_KBIT" 50 "$WORK/link" & LPID=$!; PIDS+=("$LPID")
  for _ in $(seq 1 100); do [ -s "$WORK/link" ] && break; sleep 0.1; done
  d="$WORK/station-$round"; port=$(free_port)
  cat > "$WORK/s.toml" <<T
[storage]
min_free_mb = 0
high_water_percent = 100
low_water_percent = 99
[studies]
quiet_period_secs = 1
[http]
port = $(free_port)
[[destinations]]
name = "hub"
url = "http://127.0.0.1:$LINK/dicom-web"
poll_reports = false
${BENCH_BATCH_MB:+batch_mb = $BENCH_BATCH_MB}
T
  "$STATION" serve --config "$WORK/s.toml" --data-dir "$d" --dicom-port "$port" 2>"$WORK/station-$round.log" &
  spid=$!; PIDS+=("$spid")
  for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  /usr/bin/storescu -aec STATION -aet DEV 127.0.0.1 "$port" "${FILES[@]}"
  # From the first upload byte to the last study verified; bounded at 20 minutes.
  t_first=""; b_first=0; t_end=""
  for _ in $(seq 1 6000); do
    read -r t b < "$WORK/link"
    if [ -z "$t_first" ] && [ "$b" -gt 0 ]; then t_first=$t; b_first=$b; fi
    left=$("$STATION" sync status --config "$WORK/s.toml" --data-dir "$d" --json | json 'sum(1 for x in json.load(sys.stdin) if x["state"] != "delivered")')
    held=$(curl -sf "http://127.0.0.1:$OHTTP/statistics" | json 'json.load(sys.stdin)["CountInstances"]')
    if [ -n "$t_first" ] && [ "$left" -eq 0 ] && [ "$held" -eq "${#FILES[@]}" ]; then
      read -r t b < "$WORK/link"; t_end=$t; b_end=$b; break
    fi
    sleep 0.2
  done
  [ -n "$t_end" ] || { echo "round $round: not everything delivered" >&2; tail -20 "$WORK/station-$round.log" >&2; exit 1; }
  busy=$(python3 -c "print($t_end - $t_first)")
  util=$(python3 -c "print(($b_end - $b_first) * 8 / ($busy * $RATE_KBIT * 1000))")
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$spid/status"); [ "$rss" -gt "$RSS_MAX" ] && RSS_MAX=$rss
  kill "$spid" "$OPID" "$LPID"; wait "$spid" "$OPID" "$LPID" 2>/dev/null || true
  UTIL+="$util "; BUSY+="$busy "
  printf "round %d: %.1f s from first byte to verified, link %.0f%% busy\n" "$round" "$busy" "$(python3 -c "print($util * 100)")" >&2
  rm -rf "$h" "$d" "$WORK/link"
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
u=$(echo "$UTIL" | median); b=$(echo "$BUSY" | median)
echo
printf "| link | data | median time to verified | median link utilisation |\n|---|---|---|---|\n"
printf "| %d kbit/s, 100 ms RTT (emulated) | %d MB, %d instances | %.1f s | %.0f%% |\n" "$RATE_KBIT" "$((BYTES / 1000000))" "${#FILES[@]}" "$b" "$(python3 -c "print($u * 100)")"
printf "\nstation peak RSS: %.0f MB\n" "$(python3 -c "print($RSS_MAX / 1024)")"
