#!/usr/bin/env bash
# Builds the station and runs it with embedded defaults on a fresh Debian/Ubuntu machine.
# With a display this will open the desktop window once the desktop shell lands; until then,
# and on machines without a display, it runs headless as `station serve`.
# Extra arguments go to `station serve` (e.g. --data-dir DIR --dicom-port N).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v cc >/dev/null || need+=(build-essential)
command -v pkg-config >/dev/null || need+=(pkg-config)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
if ! command -v cargo >/dev/null; then
  echo "Rust is not installed: install it from https://rustup.rs, then run this again." >&2
  exit 1
fi

cargo build --release -p station
echo "Station starting: DICOM AE title STATION on port 11112, data in ./station-data (Ctrl-C stops)."
echo "To try it without devices: target/release/station demo --small --out demo-day, then"
echo "  storescu -aec STATION +sd +r 127.0.0.1 11112 demo-day"
exec "${CARGO_TARGET_DIR:-target}/release/station" serve "$@"
