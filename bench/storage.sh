#!/usr/bin/env bash
# Benchmark (not a test): storage upkeep.
#
# 1. `station verify --rehash` against `sha256sum` (and `openssl dgst -sha256`) on the same
#    instance files: BENCH_DAYS
#    full-size synthetic clinic days (214 MB each, DX/US/ECG) imported into a station; each tool
#    reads every file once untimed (so both read from the page cache, not a cold disk), then
#    both are timed BENCH_REPEAT times, alternating; medians. One thread each (sha256sum over
#    xargs runs one process at a time).
# 2. `station backup` of an index of BENCH_INSTANCES instances (100,000 by default): that many
#    copies of one small DX image, each its own study, series and instance (bench/copies.py),
#    imported through the one ingest path (`station import`: fsynced, indexed as a device's
#    would be); the backup is timed BENCH_REPEAT times; then `station verify` (sizes), and
#    `station verify --rehash` against `sha256sum` on those small files (warm, as in 1).
#
#   bench/storage.sh                                   # 2 days, 100,000 instances, 3 repeats
#   BENCH_DAYS=1 BENCH_INSTANCES=10000 bench/storage.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DAYS=${BENCH_DAYS:-2}
INSTANCES=${BENCH_INSTANCES:-100000}
REPEAT=${BENCH_REPEAT:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
# STATION_BIN: an already built binary (e.g. the CI's release build).
if [ -z "${STATION_BIN:-}" ]; then cargo build --release -q -p station; fi
STATION=${STATION_BIN:-$CARGO_TARGET_DIR/release/station}
WORK=$(mktemp -d /tmp/station-storage-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
[ -n "${BENCH_KEEP:-}" ] && trap - EXIT

# Seconds `$@` takes (its output discarded; it must succeed).
seconds() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
bytes_under() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
config() { # config FILE DATA_DIR
  printf 'data_dir = "%s"\n[storage]\nmin_free_mb = 0\n' "$2" > "$1"
}
sha256sum_all() { find "$1" -type f -print0 | xargs -0 sha256sum; }
# OpenSSL's SHA-256 (SHA-NI where the CPU has it), for reference.
openssl_all() { find "$1" -type f -print0 | xargs -0 openssl dgst -sha256; }

echo "== verify --rehash against sha256sum ($DAYS full-size clinic days)"
config "$WORK/a.toml" "$WORK/a"
for d in $(seq 1 "$DAYS"); do
  "$STATION" demo --out "$WORK/day$d" --seed "$d" >/dev/null
done
"$STATION" import --config "$WORK/a.toml" "$WORK"/day* >/dev/null 2>&1
rm -rf "$WORK"/day*
files=$(find "$WORK/a/instances" -type f | wc -l)
mb=$(awk -v b="$(bytes_under "$WORK/a/instances")" 'BEGIN { printf "%.1f", b / 1e6 }')
"$STATION" verify --config "$WORK/a.toml" --rehash >/dev/null
sha256sum_all "$WORK/a/instances" >/dev/null
v=(); s=(); o=()
for _ in $(seq 1 "$REPEAT"); do
  v+=("$(seconds "$STATION" verify --config "$WORK/a.toml" --rehash)")
  s+=("$(seconds sha256sum_all "$WORK/a/instances")")
  o+=("$(seconds openssl_all "$WORK/a/instances")")
done
vm=$(median "${v[@]}"); sm=$(median "${s[@]}"); om=$(median "${o[@]}")
echo "$files files, $mb MB"
awk -v t="$vm" -v mb="$mb" 'BEGIN { printf "station verify --rehash: median %.2f s, %.0f MB/s\n", t, mb / t }'
awk -v t="$sm" -v mb="$mb" 'BEGIN { printf "sha256sum:               median %.2f s, %.0f MB/s\n", t, mb / t }'
awk -v t="$om" -v mb="$mb" 'BEGIN { printf "openssl dgst -sha256:    median %.2f s, %.0f MB/s\n", t, mb / t }'

echo "== backup of an index of $INSTANCES instances"
"$STATION" demo --small --out "$WORK/small" --seed 5 >/dev/null
python3 bench/copies.py "$WORK/small" "$WORK/in" "$INSTANCES"
config "$WORK/b.toml" "$WORK/b"
import_s=$(seconds "$STATION" import --config "$WORK/b.toml" "$WORK/in")
rm -rf "$WORK/in"
echo "made by station import in $import_s s"
b=()
for i in $(seq 1 "$REPEAT"); do
  b+=("$(seconds "$STATION" backup --config "$WORK/b.toml" --out "$WORK/backup$i")")
done
echo "index $(awk -v b="$(stat -c %s "$WORK/b/station.db")" 'BEGIN { printf "%.1f", b / 1e6 }') MB; backup copy $(awk -v b="$(stat -c %s "$WORK/backup1/station.db")" 'BEGIN { printf "%.1f", b / 1e6 }') MB; manifest: $(grep -o '"instances": [0-9]*' "$WORK/backup1/manifest.json")"
echo "station backup: median $(median "${b[@]}") s (of ${b[*]})"
echo "station verify (sizes), first run: $(seconds "$STATION" verify --config "$WORK/b.toml") s"
sha256sum_all "$WORK/b/instances" >/dev/null
files=$(find "$WORK/b/instances" -type f | wc -l)
mb=$(awk -v b="$(bytes_under "$WORK/b/instances")" 'BEGIN { printf "%.1f", b / 1e6 }')
q=(); v=(); s=()
for _ in $(seq 1 "$REPEAT"); do
  q+=("$(seconds "$STATION" verify --config "$WORK/b.toml")")
  v+=("$(seconds "$STATION" verify --config "$WORK/b.toml" --rehash)")
  s+=("$(seconds sha256sum_all "$WORK/b/instances")")
done
echo "$files files, $mb MB, page cache warm:"
echo "station verify (sizes):  median $(median "${q[@]}") s"
awk -v t="$(median "${v[@]}")" -v mb="$mb" 'BEGIN { printf "station verify --rehash: median %.2f s, %.0f MB/s\n", t, mb / t }'
awk -v t="$(median "${s[@]}")" -v mb="$mb" 'BEGIN { printf "sha256sum:               median %.2f s, %.0f MB/s\n", t, mb / t }'
