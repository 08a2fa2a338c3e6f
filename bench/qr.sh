#!/usr/bin/env bash
# Query/Retrieve benchmark (not a test): C-FIND latency with 10,000 studies stored, and C-MOVE
# (to a DCMTK storescp) and C-GET (into DCMTK getscu) throughput of the demo day's largest
# study, the station and Orthanc serving the same data in the same run. Prints Markdown
# tables (bench/qr_bench.py does the measuring).
#
#   bench/qr.sh                        # 5 rounds per timing, 10,000 studies
#   BENCH_ROUNDS=3 BENCH_STUDIES=2000 bench/qr.sh
#   BENCH_KEEP=1 bench/qr.sh           # keep the work folder (logs)
#   STATION_BIN=path/to/station bench/qr.sh   # a station built elsewhere (else a release build)
#
# Everything listens and is sent to on 127.0.0.1 only, on free ports picked at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
need=()
for tool in storescu storescp findscu movescu getscu dcmdump; do
  [ -x "/usr/bin/$tool" ] || { need+=(dcmtk); break; }
done
[ -x /usr/sbin/Orthanc ] || need+=(orthanc)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ -z "${STATION_BIN:-}" ]; then
  cargo build --release -q -p station
  STATION_BIN="$CARGO_TARGET_DIR/release/station"
fi
WORK=$(mktemp -d /tmp/station-qr-bench.XXXXXX)
cleanup() {
  if [ -n "${BENCH_KEEP:-}" ]; then echo "work folder kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
echo "Query/Retrieve benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
python3 bench/qr_bench.py "$STATION_BIN" "$WORK" "$ROUNDS"
