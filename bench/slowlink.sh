#!/usr/bin/env bash
# Slow-link benchmark (not a test): device → station → link emulator → Orthanc, all on loopback.
# The emulator (bench/linkemu.py; this machine's kernel has no netem) gives the uplink 4 Mbit/s
# (one token bucket shared by every connection) and a 100 ms round trip (50 ms each way).
#
# The same images are sent once per destination `transfer_syntax` in each round (by default
# as-received, then jpeg-ls-lossless), each run with a fresh station, emulator and Orthanc:
# storescu sends them all to the station, which uploads them over the link. Measured per run:
#   - time to verified: from storescu's start (and from the first byte on the link) until the
#     station's `sync status` has every study delivered (STOW-RS acknowledged, QIDO-RS checked)
#     and Orthanc holds every instance;
#   - link utilisation: bytes the emulator let through toward the hub over what 4 Mbit/s could
#     carry, from the first upload byte until verified;
#   - bytes on the wire: the emulator's count (DICOM files plus HTTP/multipart and QIDO-RS
#     requests) and the sizes of the files Orthanc stored, each over the originals' bytes.
# In the same run the same files go through DCMTK's dcmcjpls (the reference JPEG-LS encoder)
# for its bytes ratio. Images (BENCH_IMAGES): "vendor" (default) = the real vendor images of
# bench/codec.sh (bench/vendor_images.py, pydicom-data from PyPI, each given fresh UIDs);
# "demo" = whole patients of the synthetic demo day up to BENCH_MB (synthetic pixels compress
# far better than real ones). Medians over the rounds; each run's figures go to stderr.
#
#   bench/slowlink.sh                                   # vendor images, 3 rounds, both settings
#   STATION_BIN=/path/to/release/station bench/slowlink.sh   # an already built binary
#   BENCH_IMAGES=demo BENCH_MB=30 BENCH_ROUNDS=1 bench/slowlink.sh
#   BENCH_SYNTAXES="jpeg-ls-lossless jpeg2000-lossless" bench/slowlink.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-3}
IMAGES=${BENCH_IMAGES:-vendor}
MB=${BENCH_MB:-30}
SYNTAXES=${BENCH_SYNTAXES:-as-received jpeg-ls-lossless}
RUN_LIMIT_SECS=${BENCH_RUN_LIMIT_SECS:-900}   # one run that takes longer is a failure
RATE_KBIT=4000
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
. bench/vendor_venv.sh
if [ -z "${STATION_BIN:-}" ]; then cargo build --release -q -p station; fi
STATION=${STATION_BIN:-$CARGO_TARGET_DIR/release/station}
WORK=$(mktemp -d /tmp/station-slowlink.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
. bench/wire_lib.sh

if [ "$IMAGES" = vendor ]; then
  mapfile -t FILES < <("$VENV_PY" bench/wire_images.py vendor "$WORK/images")
else
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
fi
"$VENV_PY" bench/wire_images.py reference "$WORK" "${FILES[@]}"
BYTES=$(du -cbL "${FILES[@]}" | tail -1 | cut -f1)
echo "$IMAGES images: ${#FILES[@]} files, $((BYTES / 1000000)) MB, over ${RATE_KBIT} kbit/s with 100 ms RTT; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

run() { # syntax round: one run, appended to $WORK/runs.tsv
  local syntax=$1 round=$2
  local LINK LPID
  start_orthanc
  rm -f "$WORK/link"; LINK=$(free_port)
  python3 bench/linkemu.py "$LINK" "$OHTTP" "$RATE_KBIT" 50 "$WORK/link" & LPID=$!; PIDS+=("$LPID")
  for _ in $(seq 1 100); do [ -s "$WORK/link" ] && break; sleep 0.1; done
  start_station "http://127.0.0.1:$LINK/dicom-web" "$syntax"
  local t0; t0=$(now)
  /usr/bin/storescu -R -aec STATION -aet DEV 127.0.0.1 "$SPORT" "${FILES[@]}"
  # Until every study is delivered and Orthanc holds every instance; bounded in count and time.
  local t b t_first="" b_first=0 t_end="" b_end left held deadline=$((SECONDS + RUN_LIMIT_SECS))
  for _ in $(seq 1 10000); do
    [ "$SECONDS" -lt "$deadline" ] || break
    read -r t b < "$WORK/link"
    if [ -z "$t_first" ] && [ "$b" -gt 0 ]; then t_first=$t; b_first=$b; fi
    read -r left held < <(delivery)
    if [ -n "$t_first" ] && [ "$left" -eq 0 ] && [ "$held" -eq "${#FILES[@]}" ]; then
      t_end=$(now); read -r t b_end < "$WORK/link"; break
    fi
    sleep 0.2
  done
  [ -n "$t_end" ] || { echo "$syntax round $round: not everything delivered" >&2; tail -20 "$WORK/station.log" >&2; exit 1; }
  local busy util rss
  busy=$(python3 -c "print($t_end - $t_first)")
  util=$(python3 -c "print(($b_end - $b_first) * 8 / ($busy * $RATE_KBIT * 1000))")
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$SPID/status")
  "$VENV_PY" bench/wire_images.py hub "$OHTTP" "$WORK/hub-$syntax-$round.json"
  kill "$SPID" "$OPID" "$LPID"; wait "$SPID" "$OPID" "$LPID" 2>/dev/null || true
  PIDS=()
  # Why the station sent an instance as received although it was asked to compress (first round).
  if [ "$round" -eq 1 ]; then
    grep -E 'sent as received|cannot make the compressed copy|encoder stopped' "$WORK/station.log" | sed 's/^/  station: /' >&2 || true
  fi
  local t_dev; t_dev=$(python3 -c "print($t_end - $t0)")
  echo "$syntax $round $t_dev $busy $util $b_end $rss $WORK/hub-$syntax-$round.json" >> "$WORK/runs.tsv"
  printf "%s round %d: %.1f s from the device's first image to verified (%.1f s from the first upload byte), link %.0f%% busy, %.3f of the original bytes through it\n" \
    "$syntax" "$round" "$t_dev" "$busy" "$(python3 -c "print($util * 100)")" "$(python3 -c "print($b_end / $BYTES)")" >&2
}

for round in $(seq 1 "$ROUNDS"); do
  for syntax in $SYNTAXES; do run "$syntax" "$round"; done
done
echo
echo "$IMAGES images, $(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
"$VENV_PY" bench/wire_images.py table "$WORK" "$RATE_KBIT"
