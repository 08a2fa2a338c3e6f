#!/usr/bin/env bash
# End-to-end benchmark (not a test): the synthetic clinic day from 4 parallel storescu into the
# station, which sends it to Orthanc over DICOMweb; timed from the first storescu start until
# every study is *delivered* (STOW-RS acknowledged and QIDO-RS verified), as seen by a poller
# of the station's database started before the clock (so no process start-up is timed). In the
# same run, the direct path: 4 parallel storescu straight into a fresh Orthanc. Medians over
# the rounds; each round's figures go to stderr.
#
#   bench/sync.sh                 # 3 rounds
#   BENCH_ROUNDS=5 bench/sync.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
need=()
[ -x /usr/bin/storescu ] || need+=(dcmtk)
[ -x /usr/sbin/Orthanc ] || need+=(orthanc)
[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need+=(orthanc-dicomweb)
command -v curl >/dev/null || need+=(curl)
command -v bc >/dev/null || need+=(bc)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
cargo build --release -q -p station
STATION="$CARGO_TARGET_DIR/release/station"
WORK=$(mktemp -d /tmp/station-sync-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

"$STATION" demo --out "$WORK/day" --seed 9 >/dev/null
mapfile -t FILES < <(find "$WORK/day" -name '*.dcm' | sort)
for i in "${!FILES[@]}"; do g=$((i % 4)); mkdir -p "$WORK/g/$g"; ln -s "${FILES[$i]}" "$WORK/g/$g/$i.dcm"; done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
start_orthanc() { # dir -> sets OPORT (DICOM) and OHTTP
  OPORT=$(free_port); OHTTP=$(free_port); mkdir -p "$1"
  cat > "$1/o.json" <<J
{ "Name": "hub", "StorageDirectory": "$1/s", "IndexDirectory": "$1/i", "DicomAet": "HUB",
  "DicomPort": $OPORT, "HttpPort": $OHTTP, "DicomCheckCalledAet": false, "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"] }
J
  /usr/sbin/Orthanc "$1/o.json" >"$1/log" 2>&1 & OPID=$!; PIDS+=("$OPID")
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$OHTTP/system" >/dev/null && return 0; sleep 0.1; done
  echo "Orthanc did not start" >&2; return 1
}
send4() { local pids=(); for g in 0 1 2 3; do /usr/bin/storescu -aec STATION -aet DEV$g 127.0.0.1 "$1" "$WORK/g/$g"/*.dcm & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done; }
# Prints the time (Unix s) at which the database at $1 shows $2 send-queue rows delivered,
# reading it every 10 ms (read-only; $3 is created once it reads); fails after 60 s.
delivered_at() { python3 - "$1" "$2" "$3" <<'PY'
import sqlite3, sys, time
db, n, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
conn.execute("SELECT COUNT(*) FROM send_queue").fetchone()
open(ready, "w").close()
deadline = time.time() + 60
while time.time() < deadline:
    try:
        done = conn.execute("SELECT COUNT(*) FROM send_queue WHERE state = 'delivered'").fetchone()[0]
    except sqlite3.Error:
        done = 0
    if done == n:
        print(f"{time.time():.6f}")
        sys.exit(0)
    time.sleep(0.01)
sys.exit(1)
PY
}
count() { curl -sf "http://127.0.0.1:$OHTTP/statistics" | python3 -c 'import json,sys; print(json.load(sys.stdin)["CountInstances"])'; }

E2E=""; DIRECT=""; RSS_MAX=0
for round in $(seq 1 "$ROUNDS"); do
  start_orthanc "$WORK/hub-$round"
  port=$(free_port); d="$WORK/station-$round"
  cat > "$WORK/s.toml" <<T
[storage]
min_free_mb = 0
high_water_percent = 100
low_water_percent = 99
[studies]
quiet_period_secs = 1
[[destinations]]
name = "hub"
url = "http://127.0.0.1:$OHTTP/dicom-web"
T
  "$STATION" serve --config "$WORK/s.toml" --data-dir "$d" --dicom-port "$port" --http-port "$(free_port)" 2>"$WORK/station.log" &
  spid=$!; PIDS+=("$spid")
  for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  rm -f "$WORK/ready"; delivered_at "$d/station.db" 15 "$WORK/ready" >"$WORK/t1" & poller=$!
  for _ in $(seq 1 300); do [ -e "$WORK/ready" ] && break; sleep 0.05; done
  t0=$(now); send4 "$port"
  wait "$poller" || true
  t1=$(cat "$WORK/t1")
  n=$("$STATION" sync status --config "$WORK/s.toml" --data-dir "$d" --json | python3 -c 'import json,sys; r=json.load(sys.stdin); print(sum(1 for x in r if x["state"]=="delivered"))')
  [ -n "$t1" ] && [ "$n" -eq 15 ] || { echo "round $round: only $n of 15 studies delivered" >&2; exit 1; }
  [ "$(count)" -eq 40 ] || { echo "round $round: hub holds $(count) of 40" >&2; exit 1; }
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$spid/status"); [ "$rss" -gt "$RSS_MAX" ] && RSS_MAX=$rss
  kill "$spid" "$OPID"; wait "$spid" "$OPID" 2>/dev/null || true
  E2E+="$(echo "$t1 - $t0" | bc -l) "

  start_orthanc "$WORK/direct-$round"
  t0=$(now); send4 "$OPORT"; t1=$(now)
  [ "$(count)" -eq 40 ] || { echo "direct round $round: $(count) of 40" >&2; exit 1; }
  kill "$OPID"; wait "$OPID" 2>/dev/null || true
  DIRECT+="$(echo "$t1 - $t0" | bc -l) "
  rm -rf "$WORK/hub-$round" "$WORK/direct-$round" "$d"
  e1=$(echo "$E2E" | awk '{print $NF}'); d1=$(echo "$DIRECT" | awk '{print $NF}')
  printf "round %d: via station %.2f s, direct %.2f s, %.2fx\n" "$round" "$e1" "$d1" "$(echo "$e1 / $d1" | bc -l)" >&2
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
e=$(echo "$E2E" | median); d=$(echo "$DIRECT" | median)
echo
echo "| path | median s | ratio |"
echo "|---|---|---|"
printf "| device → station → Orthanc (delivered, verified; includes the 1 s quiet period) | %.2f | %.2f× |\n" "$e" "$(echo "$e / $d" | bc -l)"
printf "| device → Orthanc directly | %.2f | 1.00× |\n" "$d"
printf "\nstation peak RSS: %.0f MB\n" "$(echo "$RSS_MAX / 1024" | bc -l)"
