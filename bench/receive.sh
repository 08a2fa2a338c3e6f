#!/usr/bin/env bash
# Receive benchmark (not a test): the synthetic clinic day (40 instances, ~214 MB) sent by 4
# parallel DCMTK storescu clients into, in turn and in the same run, the station, DCMTK
# `storescp --fork`, and Orthanc; plus `cp` + `sync` of the same files as the disk's limit.
# Each receiver starts empty every round; every round checks that all 40 instances arrived.
# Prints a markdown table of medians (the machine is noisy) and the station's peak RSS.
#
#   bench/receive.sh            # 5 rounds
#   BENCH_ROUNDS=3 bench/receive.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

need=()
[ -x /usr/bin/storescu ] || need+=(dcmtk)
[ -x /usr/sbin/Orthanc ] || need+=(orthanc)
command -v curl >/dev/null || need+=(curl)
command -v bc >/dev/null || need+=(bc)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

cargo build --release -q -p station
STATION="$CARGO_TARGET_DIR/release/station"
WORK=$(mktemp -d /tmp/station-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

"$STATION" demo --out "$WORK/day" --seed 7 >/dev/null
mapfile -t FILES < <(find "$WORK/day" -name '*.dcm' | sort)
[ "${#FILES[@]}" -eq 40 ] || { echo "expected 40 demo files, got ${#FILES[@]}" >&2; exit 1; }
GROUPS_DIR="$WORK/groups"
for i in "${!FILES[@]}"; do
  g=$((i % 4)); mkdir -p "$GROUPS_DIR/$g"; ln -s "${FILES[$i]}" "$GROUPS_DIR/$g/$i.dcm"
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # host port: bounded wait until something listens
  for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing listens on port $1" >&2; return 1
}
now() { date +%s.%N; }
# send PORT: 4 storescu at once, one group each; prints the wall time.
send() {
  local t0 t1 pids=()
  t0=$(now)
  for g in 0 1 2 3; do
    /usr/bin/storescu -aec BENCH -aet DEVICE$g 127.0.0.1 "$1" "$GROUPS_DIR/$g"/*.dcm &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { echo "storescu failed" >&2; return 1; }; done
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}

declare -A TIMES
RSS_MAX=0
for round in $(seq 1 "$ROUNDS"); do
  # The station: fsync per instance and an index commit before each success.
  d="$WORK/station-$round"; port=$(free_port)
  printf '[storage]\nmin_free_mb = 0\n' > "$WORK/station.toml"
  "$STATION" serve --config "$WORK/station.toml" --data-dir "$d" --dicom-port "$port" 2>"$WORK/station.log" &
  spid=$!; PIDS+=("$spid"); wait_port "$port"
  TIMES[station]+="$(send "$port") "
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$spid/status")
  kill "$spid"; wait "$spid" 2>/dev/null || true
  [ "$rss" -gt "$RSS_MAX" ] && RSS_MAX=$rss
  n=$("$STATION" status --config "$WORK/station.toml" --data-dir "$d" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"])')
  [ "$n" -eq 40 ] || { echo "station round $round stored $n of 40" >&2; exit 1; }

  # DCMTK storescp --fork: writes each file, no fsync, no index.
  d="$WORK/storescp-$round"; mkdir -p "$d"; port=$(free_port)
  /usr/bin/storescp --fork -od "$d" "$port" 2>/dev/null &
  ppid=$!; PIDS+=("$ppid"); wait_port "$port"
  TIMES[storescp]+="$(send "$port") "
  kill "$ppid"; wait "$ppid" 2>/dev/null || true
  n=$(find "$d" -type f | wc -l)
  [ "$n" -eq 40 ] || { echo "storescp round $round stored $n of 40" >&2; exit 1; }

  # Orthanc (Debian package), default SQLite index, its own storage folder.
  d="$WORK/orthanc-$round"; mkdir -p "$d"; port=$(free_port); http=$(free_port)
  cat > "$d/orthanc.json" <<EOF
{ "Name": "bench", "StorageDirectory": "$d/storage", "IndexDirectory": "$d/index",
  "DicomAet": "BENCH", "DicomPort": $port, "HttpPort": $http, "DicomCheckCalledAet": false,
  "RemoteAccessAllowed": false, "AuthenticationEnabled": false, "Plugins": [] }
EOF
  /usr/sbin/Orthanc "$d/orthanc.json" >"$d/log" 2>&1 &
  opid=$!; PIDS+=("$opid")
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$http/system" >/dev/null && break; sleep 0.1; done
  TIMES[orthanc]+="$(send "$port") "
  n=$(curl -sf "http://127.0.0.1:$http/statistics" | python3 -c 'import json,sys; print(json.load(sys.stdin)["CountInstances"])')
  kill "$opid"; wait "$opid" 2>/dev/null || true
  [ "$n" -eq 40 ] || { echo "orthanc round $round stored $n of 40" >&2; exit 1; }

  # The disk's limit: copy the same files and sync.
  d="$WORK/cp-$round"; mkdir -p "$d"
  t0=$(now); cp -r "$WORK/day" "$d/"; sync; t1=$(now)
  TIMES[cp_sync]+="$(echo "$t1 - $t0" | bc -l) "
  rm -rf "$WORK"/*-"$round"
  echo "round $round done" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
pick() { tr ' ' '\n' | grep -v '^$' | sort -g | sed -n "$1"; }
st=$(echo "${TIMES[station]}" | median)
echo
echo "Synthetic clinic day: 40 instances, $(du -shL "$WORK/day" | cut -f1), 4 parallel storescu, $ROUNDS rounds, $(nproc) cores"
echo
echo "| receiver | median s | min s | max s | time / station |"
echo "|---|---|---|---|---|"
for r in station storescp orthanc cp_sync; do
  m=$(echo "${TIMES[$r]}" | median)
  printf "| %s | %.2f | %.2f | %.2f | %.2f× |\n" "$r" "$m" "$(echo "${TIMES[$r]}" | pick 1p)" "$(echo "${TIMES[$r]}" | pick '$p')" "$(echo "$m / $st" | bc -l)"
done
echo
printf "station peak RSS: %.0f MB\n" "$(echo "$RSS_MAX / 1024" | bc -l)"
