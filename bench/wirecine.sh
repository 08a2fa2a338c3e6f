#!/usr/bin/env bash
# Cine benchmark (not a test): a ~300 MB RGB ultrasound-like cine (342 frames of 640x480, made
# from pydicom-data's GE ultrasound frame like bench/codec.sh's; bench/vendor_images.py) goes
# storescu → station → Orthanc on loopback (no link emulator), once per destination
# `transfer_syntax` in each round (by default as-received, then jpeg-ls-lossless), each run with
# a fresh station and Orthanc. Measured per run, on the `station serve` process itself:
#   - peak RSS (VmHWM in /proc/PID/status) from start until the cine is delivered and verified;
#   - CPU seconds (utime + stime in /proc/PID/stat) for the whole run, and for the reception
#     alone (read when storescu returns);
#   - what Orthanc holds: its transfer syntax, and whether every frame decodes (pydicom with
#     pyjpegls) to exactly the original's pixels.
# The encoder's throughput is the cine's native MB over the extra CPU seconds the compressing
# run took over the as-received one (encoding plus the station's decode-again check; the rest
# of the work is the same in both, with less to upload when compressed). Medians over rounds.
#
#   bench/wirecine.sh                                        # 3 rounds
#   STATION_BIN=/path/to/release/station BENCH_ROUNDS=1 bench/wirecine.sh
#   BENCH_CINE_FRAMES=20 bench/wirecine.sh                   # a short cine, to try the script
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-3}
SYNTAXES=${BENCH_SYNTAXES:-as-received jpeg-ls-lossless}
RUN_LIMIT_SECS=${BENCH_RUN_LIMIT_SECS:-600}   # one run that takes longer is a failure
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
. bench/vendor_venv.sh
if [ -z "${STATION_BIN:-}" ]; then cargo build --release -q -p station; fi
STATION=${STATION_BIN:-$CARGO_TARGET_DIR/release/station}
WORK=$(mktemp -d /tmp/station-wirecine.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
. bench/wire_lib.sh
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }

read -r _ NATIVE < <("$VENV_PY" bench/wire_images.py cine "$WORK/cine.dcm" "$WORK/cine.raw" "${BENCH_CINE_FRAMES:-342}")
rm -f "$WORK/cine.raw"
CINE_BYTES=$(stat -c %s "$WORK/cine.dcm")
echo "cine: $((CINE_BYTES / 1000000)) MB file, $((NATIVE / 1048576)) MiB of pixels; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

run() { # syntax round: one run, appended to $WORK/runs.tsv
  local syntax=$1 round=$2
  start_orthanc
  start_station "http://127.0.0.1:$OHTTP/dicom-web" "$syntax"
  local t0 cpu0 cpu_rx; t0=$(now); cpu0=$(cpu_secs "$SPID")
  /usr/bin/storescu -aec STATION -aet DEV 127.0.0.1 "$SPORT" "$WORK/cine.dcm"
  cpu_rx=$(python3 -c "print($(cpu_secs "$SPID") - $cpu0)")
  # Until the study is delivered and Orthanc holds the instance; bounded in count and time.
  local t_end="" left held deadline=$((SECONDS + RUN_LIMIT_SECS))
  for _ in $(seq 1 10000); do
    [ "$SECONDS" -lt "$deadline" ] || break
    read -r left held < <(delivery)
    if [ "$left" -eq 0 ] && [ "$held" -eq 1 ]; then t_end=$(now); break; fi
    sleep 0.2
  done
  [ -n "$t_end" ] || { echo "$syntax round $round: not delivered" >&2; tail -20 "$WORK/station.log" >&2; exit 1; }
  local cpu rss secs held_as
  cpu=$(python3 -c "print($(cpu_secs "$SPID") - $cpu0)")
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$SPID/status")
  kill "$SPID"; wait "$SPID" 2>/dev/null || true
  secs=$(python3 -c "print($t_end - $t0)")
  # "<transfer syntax> <file size> <frames> exact|DIFFERENT", read from Orthanc.
  held_as=$("$VENV_PY" bench/wire_images.py check-cine "$OHTTP" "$WORK/cine.dcm")
  kill "$OPID"; wait "$OPID" 2>/dev/null || true
  PIDS=()
  echo "$syntax $round $secs $cpu $cpu_rx $rss $held_as" >> "$WORK/runs.tsv"
  printf "%s round %d: %.1f s to verified, station CPU %.1f s (%.1f s receiving), peak RSS %.0f MB; Orthanc holds: %s\n" \
    "$syntax" "$round" "$secs" "$cpu" "$cpu_rx" "$(python3 -c "print($rss / 1024)")" "$held_as" >&2
}

for round in $(seq 1 "$ROUNDS"); do
  for syntax in $SYNTAXES; do run "$syntax" "$round"; done
done
echo
echo "$((NATIVE / 1048576)) MiB cine through the station, $(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the end, $ROUNDS rounds, medians"
echo
python3 - "$WORK/runs.tsv" "$NATIVE" "$CINE_BYTES" <<'PY'
import statistics, sys
runs, native, file_bytes = {}, int(sys.argv[2]), int(sys.argv[3])
for line in open(sys.argv[1]):
    s, _, secs, cpu, rx, rss, ts, size, frames, exact = line.split()
    runs.setdefault(s, []).append(dict(secs=float(secs), cpu=float(cpu), rx=float(rx),
                                       rss=int(rss), ts=ts, size=int(size), exact=exact))
med = lambda rs, k: statistics.median(r[k] for r in rs)
print("| `transfer_syntax` | time to verified | station CPU s (receiving) | station peak RSS (max) "
      "| Orthanc holds | its file / original | pixels |")
print("|---|---:|---:|---:|---|---:|---|")
for s, rs in runs.items():
    ts = ", ".join(sorted({r["ts"] for r in rs}))
    exact = "exact" if all(r["exact"] == "exact" for r in rs) else "DIFFERENT"
    print(f"| {s} | {med(rs, 'secs'):.1f} s | {med(rs, 'cpu'):.1f} ({med(rs, 'rx'):.1f}) "
          f"| {max(r['rss'] for r in rs) / 1024:.0f} MB | {ts} | {med(rs, 'size') / file_bytes:.3f} | {exact} |")
if "as-received" in runs:
    for s, rs in runs.items():
        if s != "as-received":
            extra = med(rs, "cpu") - med(runs["as-received"], "cpu")
            print(f"\n{s}: {extra:.1f} CPU s more than as-received for {native / 2**20:.0f} MiB of pixels: "
                  f"{native / 2**20 / extra:.1f} MB/s per core (encode + decode-again check)")
PY
