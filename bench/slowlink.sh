#!/usr/bin/env bash
# Slow-link benchmark (not a test): station and hub in two network namespaces of our own joined
# by a veth pair shaped with netem to 4 Mbit/s upstream and 100 ms round trip. Part of the full-
# size synthetic day goes device → station → Orthanc; the station's upstream interface is
# sampled every 0.5 s, and link utilisation is the bytes it sent over what 4 Mbit/s could carry
# from the first byte of the first upload until the last study is delivered and verified.
# Needs root (ip netns, tc). Addresses exist only inside the two namespaces.
#
#   bench/slowlink.sh              # 3 rounds, about 30 MB each
#   BENCH_ROUNDS=1 BENCH_MB=15 bench/slowlink.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-3}
MB=${BENCH_MB:-30}
RATE_KBIT=4000
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
[ "$(id -u)" -eq 0 ] || { echo "needs root for network namespaces" >&2; exit 1; }
need=()
[ -x /usr/bin/storescu ] || need+=(dcmtk)
[ -x /usr/sbin/Orthanc ] || need+=(orthanc)
[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need+=(orthanc-dicomweb)
command -v curl >/dev/null || need+=(curl)
command -v tc >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
cargo build --release -q -p station
STATION="$CARGO_TARGET_DIR/release/station"
WORK=$(mktemp -d /tmp/station-slowlink.XXXXXX)
NS_ST="stn-st-$$"; NS_HUB="stn-hub-$$"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done
  ip netns del "$NS_ST" 2>/dev/null || true; ip netns del "$NS_HUB" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$NS_ST"; ip netns add "$NS_HUB"
ip link add vst type veth peer name vhub
ip link set vst netns "$NS_ST"; ip link set vhub netns "$NS_HUB"
in_st() { ip netns exec "$NS_ST" "$@"; }
in_hub() { ip netns exec "$NS_HUB" "$@"; }
in_st ip addr add 10.213.0.1/30 dev vst; in_hub ip addr add 10.213.0.2/30 dev vhub
for ns in "$NS_ST" "$NS_HUB"; do ip netns exec "$ns" ip link set lo up; done
in_st ip link set vst up; in_hub ip link set vhub up
# 50 ms each way; the station's side is also the 4 Mbit/s bottleneck (clinic uplinks are the
# slow direction). The queue is sized for about 200 ms so netem does not drop bursts.
in_st tc qdisc add dev vst root netem delay 50ms rate ${RATE_KBIT}kbit limit 100
in_hub tc qdisc add dev vhub root netem delay 50ms limit 1000

"$STATION" demo --out "$WORK/day" --seed 9 >/dev/null
# Whole patients (each a DX, a US and an ECG study), in order, until about $MB megabytes.
mapfile -t FILES < <(python3 - "$WORK/day" "$MB" <<'PY'
import os, sys, collections
root, limit = sys.argv[1], float(sys.argv[2]) * 1e6
studies = collections.OrderedDict()
for d, _, fs in sorted(os.walk(root)):
    for f in sorted(fs):
        if f.endswith('.dcm'):
            p = os.path.join(d, f)
            studies.setdefault(os.path.relpath(d, root).split(os.sep)[0], []).append(p)
total = 0
for files in studies.values():
    if total >= limit: break
    for p in files:
        total += os.path.getsize(p); print(p)
PY
)
BYTES=$(du -cb "${FILES[@]}" | tail -1 | cut -f1)
echo "sending ${#FILES[@]} files, $((BYTES / 1000000)) MB, over ${RATE_KBIT} kbit/s with 100 ms RTT" >&2

now() { date +%s.%N; }
UTIL=""; RSS_MAX=0
for round in $(seq 1 "$ROUNDS"); do
  h="$WORK/hub-$round"; mkdir -p "$h"
  cat > "$h/o.json" <<J
{ "Name": "hub", "StorageDirectory": "$h/s", "IndexDirectory": "$h/i", "DicomAet": "HUB",
  "DicomPort": 4242, "HttpPort": 8042, "DicomCheckCalledAet": false, "RemoteAccessAllowed": true,
  "AuthenticationEnabled": false, "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"] }
J
  in_hub /usr/sbin/Orthanc "$h/o.json" >"$h/log" 2>&1 & OPID=$!; PIDS+=("$OPID")
  for _ in $(seq 1 300); do in_hub curl -sf http://127.0.0.1:8042/system >/dev/null && break; sleep 0.1; done
  d="$WORK/station-$round"
  cat > "$WORK/s.toml" <<T
[storage]
min_free_mb = 0
[studies]
quiet_period_secs = 1
[[destinations]]
name = "hub"
url = "http://10.213.0.2:8042/dicom-web"
T
  in_st "$STATION" serve --config "$WORK/s.toml" --data-dir "$d" --dicom-port 11112 2>"$WORK/station-$round.log" &
  spid=$!; PIDS+=("$spid")
  for _ in $(seq 1 300); do in_st bash -c 'exec 3<>/dev/tcp/127.0.0.1/11112' 2>/dev/null && break; sleep 0.1; done
  tx() { in_st cat /sys/class/net/vst/statistics/tx_bytes; }
  tx0=$(tx)
  in_st /usr/bin/storescu -aec X -aet DEV 127.0.0.1 11112 "${FILES[@]}"
  # From the first upload byte to the last study verified; bounded at 20 minutes.
  t_first=""; tx_first=""; t_end=""
  for _ in $(seq 1 2400); do
    b=$(tx); t=$(now)
    if [ -z "$t_first" ] && [ $((b - tx0)) -gt 20000 ]; then t_first=$t; tx_first=$tx0; fi
    # Done: every queued study delivered (verified) and the hub holds every file sent.
    left=$(in_st "$STATION" sync status --config "$WORK/s.toml" --data-dir "$d" --json | python3 -c 'import json,sys; r=json.load(sys.stdin); print(sum(1 for x in r if x["state"]!="delivered") if r else 1)')
    held=$(in_hub curl -sf http://127.0.0.1:8042/statistics | python3 -c 'import json,sys; print(json.load(sys.stdin)["CountInstances"])')
    if [ "$left" -eq 0 ] && [ "$held" -eq "${#FILES[@]}" ]; then t_end=$t; tx_end=$b; STUDIES=$(in_hub curl -sf http://127.0.0.1:8042/statistics | python3 -c 'import json,sys; print(json.load(sys.stdin)["CountStudies"])'); break; fi
    sleep 0.5
  done
  [ -n "$t_end" ] || { echo "round $round: not everything delivered" >&2; exit 1; }
  util=$(python3 -c "print(($tx_end - $tx_first) * 8 / (($t_end - $t_first) * $RATE_KBIT * 1000))")
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$spid/status"); [ "$rss" -gt "$RSS_MAX" ] && RSS_MAX=$rss
  kill "$spid" "$OPID"; wait "$spid" "$OPID" 2>/dev/null || true
  UTIL+="$util "
  printf "round %d: %.1f s busy, %.0f%% of the link\n" "$round" "$(python3 -c "print($t_end - $t_first)")" "$(python3 -c "print($util * 100)")" >&2
  rm -rf "$h" "$d"
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
u=$(echo "$UTIL" | median)
echo
printf "| link | data | median utilisation while there is work |\n|---|---|---|\n"
printf "| %d kbit/s, 100 ms RTT (netem) | %d MB in %d studies | %.0f%% |\n" "$RATE_KBIT" "$((BYTES / 1000000))" "$STUDIES" "$(python3 -c "print($u * 100)")"
printf "\nstation peak RSS: %.0f MB\n" "$(python3 -c "print($RSS_MAX / 1024)")"
