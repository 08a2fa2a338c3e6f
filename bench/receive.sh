#!/usr/bin/env bash
# Receive benchmark (not a test): the synthetic clinic day (40 instances, ~214 MB) sent by 4
# parallel DCMTK storescu clients into, in turn and in the same run, the station, DCMTK
# `storescp --fork`, and Orthanc; plus `cp` + `sync` of the same files as the disk's limit.
# Each receiver starts empty every round; every round checks that all 40 instances arrived
# and fails loudly otherwise. Time is wall clock from the first storescu start to the last
# exit. Prints a markdown table of medians (the machine is noisy) and the station's peak RSS,
# then any warning or error lines from the station's logs.
#
#   bench/receive.sh                  # 5 rounds
#   BENCH_ROUNDS=3 bench/receive.sh
#   BENCH_KEEP=1 bench/receive.sh     # keep the work folder (logs) instead of deleting it
#
# Everything listens and is sent to on 127.0.0.1 only, on free ports picked at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
WAIT_STEPS=300 # every wait loop: at most 300 × 0.1 s = 30 s

need=()
[ -x /usr/bin/storescu ] && [ -x /usr/bin/storescp ] || need+=(dcmtk)
[ -x /usr/sbin/Orthanc ] || need+=(orthanc)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo build --release -q -p station
STATION="$CARGO_TARGET_DIR/release/station"
WORK=$(mktemp -d /tmp/station-bench.XXXXXX)
LOGS="$WORK/logs"
mkdir -p "$LOGS"

# Processes this script started and has not reaped yet; only these are ever killed.
declare -A LIVE=()
stop() { # pid: SIGTERM, then wait (bounded), then SIGKILL
  local p=$1
  kill "$p" 2>/dev/null || true
  for _ in $(seq 1 "$WAIT_STEPS"); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  unset "LIVE[$p]"
}
cleanup() {
  local p
  for p in "${!LIVE[@]}"; do stop "$p"; done
  if [ -n "${BENCH_KEEP:-}" ]; then echo "work folder kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }

# The day, once.
"$STATION" demo --out "$WORK/day" >"$LOGS/demo.log" 2>&1 || { cat "$LOGS/demo.log" >&2; fail "station demo"; }
mapfile -t FILES < <(find "$WORK/day" -type f -name '*.dcm' | sort)
[ "${#FILES[@]}" -eq 40 ] || fail "expected 40 demo files, got ${#FILES[@]} ($(cat "$LOGS/demo.log"))"
DAY_MB=$(du -cb "${FILES[@]}" | tail -1 | awk '{printf "%.0f", $1 / 1e6}')
# 4 groups of 10, dealt round-robin so each sender gets a mix of DX, US, cine and ECG.
GROUPS_DIR="$WORK/groups"
for i in "${!FILES[@]}"; do
  g=$((i % 4)); mkdir -p "$GROUPS_DIR/$g"; ln -s "${FILES[$i]}" "$GROUPS_DIR/$g/$(printf %02d "$i").dcm"
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # port pid: bounded wait until something listens; fails if pid died
  for _ in $(seq 1 "$WAIT_STEPS"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
now() { date +%s.%N; }
# send AE PORT LOGPREFIX: 4 storescu at once, one group each; prints the wall time in seconds.
send() {
  local t0 t1 g p pids=() bad=0
  t0=$(now)
  for g in 0 1 2 3; do
    /usr/bin/storescu -aet "DEVICE$g" -aec "$1" 127.0.0.1 "$2" "$GROUPS_DIR/$g"/*.dcm \
      >"$3.storescu$g.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || bad=1; done
  t1=$(now)
  [ "$bad" -eq 0 ] || { cat "$3".storescu*.log >&2; return 1; }
  python3 -c "print(f'{$t1 - $t0:.4f}')"
}

declare -A TIMES=()
RSS_MAX_KB=0
for round in $(seq 1 "$ROUNDS"); do
  # 1. The station: fsync per instance and an index commit before each success.
  d="$WORK/station-$round"; port=$(free_port); http=$(free_port); log="$LOGS/station-$round"
  cat >"$WORK/station-$round.toml" <<EOF
[dicom]
bind = "127.0.0.1"
[http]
port = $http
bind = "127.0.0.1"
[storage]
min_free_mb = 0
high_water_percent = 100
low_water_percent = 99
EOF
  NO_COLOR=1 "$STATION" serve --config "$WORK/station-$round.toml" --data-dir "$d" --dicom-port "$port" \
    >"$log.log" 2>&1 &
  spid=$!; LIVE[$spid]=1
  wait_port "$port" "$spid" || { cat "$log.log" >&2; fail "station did not listen on $port"; }
  t=$(send STATION "$port" "$log") || { cat "$log.log" >&2; fail "station round $round: storescu failed"; }
  TIMES[station]+="$t "
  rss=$(awk '/^VmHWM/ {print $2}' "/proc/$spid/status")
  stop "$spid"
  [ "$rss" -gt "$RSS_MAX_KB" ] && RSS_MAX_KB=$rss
  n=$("$STATION" status --config "$WORK/station-$round.toml" --data-dir "$d" --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"])') || fail "station status"
  [ "$n" -eq 40 ] || { cat "$log.log" >&2; fail "station round $round stored $n of 40 instances"; }

  # 2. DCMTK storescp --fork: writes each file, no fsync, no index.
  d="$WORK/storescp-$round"; mkdir -p "$d"; port=$(free_port); log="$LOGS/storescp-$round"
  /usr/bin/storescp --fork -aet STORESCP -od "$d" "$port" >"$log.log" 2>&1 &
  ppid=$!; LIVE[$ppid]=1
  wait_port "$port" "$ppid" || { cat "$log.log" >&2; fail "storescp did not listen on $port"; }
  t=$(send STORESCP "$port" "$log") || fail "storescp round $round: storescu failed"
  TIMES[storescp]+="$t "
  stop "$ppid"
  n=$(find "$d" -type f | wc -l)
  [ "$n" -eq 40 ] || fail "storescp round $round stored $n of 40 files"

  # 3. Orthanc (Debian package), default SQLite index, its own storage folder.
  d="$WORK/orthanc-$round"; mkdir -p "$d"; port=$(free_port); http=$(free_port); log="$LOGS/orthanc-$round"
  cat >"$d/orthanc.json" <<EOF
{ "Name": "bench", "StorageDirectory": "$d/storage", "IndexDirectory": "$d/index",
  "DicomAet": "ORTHANC", "DicomPort": $port, "HttpPort": $http, "DicomCheckCalledAet": false,
  "RemoteAccessAllowed": false, "AuthenticationEnabled": false, "Plugins": [] }
EOF
  /usr/sbin/Orthanc "$d/orthanc.json" >"$log.log" 2>&1 &
  opid=$!; LIVE[$opid]=1
  up=0
  for _ in $(seq 1 "$WAIT_STEPS"); do
    curl -sf -m 2 "http://127.0.0.1:$http/system" >/dev/null && { up=1; break; }
    kill -0 "$opid" 2>/dev/null || break
    sleep 0.1
  done
  [ "$up" -eq 1 ] || { cat "$log.log" >&2; fail "Orthanc did not answer on http port $http"; }
  wait_port "$port" "$opid" || fail "Orthanc did not listen on DICOM port $port"
  t=$(send ORTHANC "$port" "$log") || { cat "$log.log" >&2; fail "Orthanc round $round: storescu failed"; }
  TIMES[orthanc]+="$t "
  n=$(curl -sf -m 10 "http://127.0.0.1:$http/statistics" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["CountInstances"])') || fail "Orthanc /statistics"
  stop "$opid"
  [ "$n" -eq 40 ] || fail "Orthanc round $round stored $n of 40 instances"

  # 4. The disk's limit: copy the same files into a fresh folder and sync.
  d="$WORK/cp-$round"; mkdir -p "$d"
  t0=$(now); cp -r "$WORK/day/." "$d/"; sync; t1=$(now)
  [ "$(find "$d" -type f | wc -l)" -eq 40 ] || fail "cp round $round"
  TIMES[cp_sync]+="$(python3 -c "print(f'{$t1 - $t0:.4f}')") "

  rm -rf "$WORK"/{station,storescp,orthanc,cp}-"$round"
  echo "round $round/$ROUNDS done" >&2
done

# stats "times...": median min max
stats() { python3 -c 'import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(statistics.median(v), min(v), max(v))' $1; }
read -r st_med _ _ <<<"$(stats "${TIMES[station]}")"
declare -A LABEL=(
  [station]="station (release)"
  [storescp]="DCMTK \`storescp --fork\`"
  [orthanc]="Orthanc $(/usr/sbin/Orthanc --version 2>/dev/null | head -1 | grep -o '[0-9][0-9.]*' | head -1) (Debian)"
  [cp_sync]="\`cp\` + \`sync\` (the disk's limit)"
)
echo
echo "Synthetic clinic day: 40 instances, $DAY_MB MB, 4 parallel storescu, $ROUNDS rounds, $(nproc) cores, $(date +%F)"
echo
echo "| receiver | median s | min s | max s | time / station |"
echo "|---|---|---|---|---|"
for r in station storescp orthanc cp_sync; do
  read -r med lo hi <<<"$(stats "${TIMES[$r]}")"
  python3 -c "import sys; m,lo,hi,st=map(float,sys.argv[2:]); print(f'| {sys.argv[1]} | {m:.2f} | {lo:.2f} | {hi:.2f} | {m/st:.2f}× |')" \
    "${LABEL[$r]}" "$med" "$lo" "$hi" "$st_med"
done
echo
echo "station peak RSS (VmHWM): $((RSS_MAX_KB / 1024)) MB"
echo "raw seconds per round:"
for r in station storescp orthanc cp_sync; do echo "  $r: ${TIMES[$r]}"; done

# Anything the station complained about (tracing's WARN/ERROR lines), counted by message over
# all rounds. The demo day's fifth patient has no Specific Character Set on purpose, so 8
# "detected character set" warnings per round are expected.
problems=$(grep -hE ' (WARN|ERROR) ' "$LOGS"/station-*.log |
  sed -E 's/^[0-9T:.Z-]+ +//; s/id=[0-9]+ ?//' | sort | uniq -c | sort -rn || true)
if [ -n "$problems" ]; then
  echo
  echo "station log warnings/errors over $ROUNDS rounds (count, message):"
  echo "$problems" | head -20
fi
