#!/usr/bin/env bash
# Codec benchmark (not a test): station-codec's lossless JPEG-LS and JPEG 2000 on real vendor
# images (pydicom's and pydicom-data's test files, installed from PyPI into a venv at run time,
# never committed), side by side with DCMTK's dcmcjpls and pydicom+OpenJPEG on the same files in
# the same run: bytes out / bytes in, MB/s per core, and peak RSS through a ~300 MB cine.
# Prints Markdown tables (bench/codec_bench.py does the measuring).
#
#   bench/codec.sh                  # 3 rounds per timing
#   BENCH_ROUNDS=5 bench/codec.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
need=()
[ -x /usr/bin/dcmcjpls ] || need+=(dcmtk)
[ -x /usr/bin/time ] || need+=(time)
command -v cmake >/dev/null || need+=(cmake)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
. bench/vendor_venv.sh
cargo build --release -q -p station-codec --example encode_raw
WORK=$(mktemp -d /tmp/station-codec-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
echo "station-codec benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
"$VENV_PY" bench/codec_bench.py "$CARGO_TARGET_DIR/release/examples/encode_raw" "$WORK" "$ROUNDS"
