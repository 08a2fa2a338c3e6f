#!/usr/bin/env bash
# Benchmark (not a test): how fast retention frees disk. A synthetic clinic day (full size:
# ≈214 MB, 15 studies) is sent by storescu to the station, which delivers it to Orthanc; with
# the station stopped, `station purge --as-of <31 days ahead>` deletes every study's image
# files (rendering each image's preview first, marking, deleting, syncing), timed as a whole
# process. In the same round, the anchor: Orthanc deleting the same studies through its REST
# API (`DELETE /studies/{id}`, one after another, the same studies), its way of recycling. Medians over the
# rounds; each round's figures go to stderr.
#
#   bench/purge.sh                 # 3 rounds
#   BENCH_ROUNDS=5 bench/purge.sh
#   STATION_BIN=/path/to/release/station bench/purge.sh   # an already built binary
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
need=()
[ -x /usr/bin/storescu ] || need+=(dcmtk)
[ -x /usr/sbin/Orthanc ] || need+=(orthanc)
[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need+=(orthanc-dicomweb)
command -v curl >/dev/null || need+=(curl)
command -v jq >/dev/null || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
if [ -z "${STATION_BIN:-}" ]; then cargo build --release -q -p station; fi
STATION=${STATION_BIN:-$CARGO_TARGET_DIR/release/station}
WORK=$(mktemp -d /tmp/station-purge-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
wait_until() { # what, seconds, command...: polls every 0.2 s
  local what=$1 limit=$2; shift 2
  for _ in $(seq 1 $((limit * 5))); do "$@" && return 0; sleep 0.2; done
  echo "timed out waiting for $what" >&2; return 1
}
start_orthanc() { # dir -> sets OHTTP
  local oport; oport=$(free_port); OHTTP=$(free_port); mkdir -p "$1"
  cat > "$1/o.json" <<J
{ "Name": "hub", "StorageDirectory": "$1/s", "IndexDirectory": "$1/i", "DicomAet": "HUB",
  "DicomPort": $oport, "HttpPort": $OHTTP, "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"] }
J
  /usr/sbin/Orthanc "$1/o.json" >"$1/log" 2>&1 & OPID=$!; PIDS+=("$OPID")
  wait_until Orthanc 30 curl -sf "http://127.0.0.1:$OHTTP/system" -o /dev/null
}
delivered() { # config, studies
  [ "$("$STATION" status --json --config "$1" | jq '.send_queue_by_state.delivered // 0')" -eq "$2" ]
}

ours=(); theirs=(); mb=0; studies=0
for r in $(seq 1 "$ROUNDS"); do
  R="$WORK/r$r"; mkdir -p "$R"
  "$STATION" demo --out "$R/day" --seed "$r" >/dev/null
  start_orthanc "$R/hub"
  DPORT=$(free_port); HPORT=$(free_port)
  cat > "$R/station.toml" <<T
data_dir = "$R/data"
[dicom]
port = $DPORT
bind = "127.0.0.1"
[http]
port = $HPORT
bind = "127.0.0.1"
[storage]
min_free_mb = 0
high_water_percent = 100
low_water_percent = 99
[studies]
quiet_period_secs = 1
[[destinations]]
name = "hub"
url = "http://127.0.0.1:$OHTTP/dicom-web"
poll_reports = false
T
  STATION_ADMIN_PASSWORD=bench-pw-1 "$STATION" serve --config "$R/station.toml" >"$R/serve.log" 2>&1 & SPID=$!; PIDS+=("$SPID")
  wait_until "the station" 30 curl -sf "http://127.0.0.1:$HPORT/healthz" -o /dev/null
  /usr/bin/storescu -aec STATION -aet DR1 +sd +r 127.0.0.1 "$DPORT" "$R/day" >/dev/null 2>&1
  n=$("$STATION" status --json --config "$R/station.toml" | jq '[.studies_by_state[]] | add')
  wait_until "every study delivered" 300 delivered "$R/station.toml" "$n"
  kill "$SPID"; wait "$SPID" 2>/dev/null || true
  bytes=$(sqlite3 -readonly "$R/data/station.db" "SELECT sum(size) FROM instances WHERE source_kind <> 'report' AND sop_class_uid NOT LIKE '1.2.840.10008.5.1.4.1.1.9.%' AND sop_class_uid NOT LIKE '1.2.840.10008.5.1.4.1.1.88.%' AND sop_class_uid <> '1.2.840.10008.5.1.4.1.1.104.1'")
  sync
  t0=$(now)
  out=$("$STATION" purge --as-of "$(date -d '+31 days' +%F)" --json --config "$R/station.toml")
  t1=$(now)
  purged=$(jq '.studies | length' <<<"$out")
  freed=$(jq '.bytes' <<<"$out")
  [ "$freed" -eq "$bytes" ] || { echo "purged $freed bytes, expected $bytes" >&2; exit 1; }
  # The same studies at the hub (the station keeps ECG waveforms: those are not purged).
  ids=$(for uid in $(jq -r '.studies[]' <<<"$out"); do
    curl -sf -X POST "http://127.0.0.1:$OHTTP/tools/lookup" -d "$uid" | jq -r '.[] | select(.Type == "Study") | .ID'
  done)
  t2=$(now)
  for id in $ids; do curl -sf -X DELETE "http://127.0.0.1:$OHTTP/studies/$id" -o /dev/null; done
  t3=$(now)
  kill "$OPID"; wait "$OPID" 2>/dev/null || true
  a=$(echo "$t1 - $t0" | bc -l); b=$(echo "$t3 - $t2" | bc -l)
  ours+=("$a"); theirs+=("$b"); mb=$(echo "$freed / 1048576" | bc -l); studies=$purged
  printf 'round %d: station purge %d studies %.0f MB in %.2f s; Orthanc DELETE %d studies in %.2f s\n' \
    "$r" "$purged" "$mb" "$a" "$(wc -w <<<"$ids")" "$b" >&2
  rm -rf "$R"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m1=$(median "${ours[@]}"); m2=$(median "${theirs[@]}")
printf '| | studies | MB | median s | studies/s | MB/s |\n| --- | --- | --- | --- | --- | --- |\n'
printf '| station purge (previews, mark, delete, sync) | %d | %.0f | %.2f | %.1f | %.0f |\n' "$studies" "$mb" "$m1" "$(echo "$studies / $m1" | bc -l)" "$(echo "$mb / $m1" | bc -l)"
printf '| Orthanc DELETE /studies/{id} | %d | %.0f | %.2f | %.1f | %.0f |\n' "$studies" "$mb" "$m2" "$(echo "$studies / $m2" | bc -l)" "$(echo "$mb / $m2" | bc -l)"
