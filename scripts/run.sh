#!/usr/bin/env bash
# Builds the station and runs it with embedded defaults on a fresh Debian/Ubuntu machine:
# the desktop window where there is a display ($DISPLAY or $WAYLAND_DISPLAY), headless
# `station serve` (web UI for the clinic LAN on http://127.0.0.1:8080) where there is none.
# Installs what the build needs (C compiler, pkg-config; with a display also the Tauri/WebKit
# libraries), builds the web UI (Node 20.19+ and npm) and then the app.
# Extra arguments go to the station (e.g. --data-dir DIR --dicom-port N --http-port N).
set -euo pipefail
cd "$(dirname "$0")/.."

desktop=0
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  desktop=1
fi

need=()
command -v cc >/dev/null || need+=(build-essential)
command -v pkg-config >/dev/null || need+=(pkg-config)
if [ "$desktop" = 1 ]; then
  for pkg in libwebkit2gtk-4.1-dev librsvg2-dev libayatana-appindicator3-dev libssl-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
fi
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "installing: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if ! command -v cargo >/dev/null; then
  echo "Rust is not installed: install it from https://rustup.rs, then run this again." >&2
  exit 1
fi

# The engine and the desktop app embed ui/dist when they compile: build the UI first.
if command -v npm >/dev/null; then
  (cd ui && npm ci --no-audit --no-fund && npm run build)
elif [ "$desktop" = 1 ]; then
  echo "Node.js 20.19+ with npm is needed to build the desktop window's UI: install it, then run this again." >&2
  exit 1
else
  echo "npm not found: the station runs without its web UI (install Node.js 20.19+ to get it)." >&2
fi

target=${CARGO_TARGET_DIR:-target}
echo "First run: the console shows the password of the user admin once; keep it."
if [ "$desktop" = 1 ]; then
  cargo build --release -p station-desktop --features custom-protocol
  echo "Desktop app starting: DICOM AE title STATION on port 11112, data in ./station-data."
  echo "Closing the window keeps it receiving; quit from the tray icon menu (退出)."
  exec "$target/release/station-desktop" "$@"
fi
cargo build --release -p station
echo "Station starting: DICOM AE title STATION on port 11112, web UI on http://127.0.0.1:8080,"
echo "data in ./station-data (Ctrl-C stops)."
echo "To try it without devices: $target/release/station demo --small --out demo-day, then"
echo "  /usr/bin/storescu -aec STATION +sd +r 127.0.0.1 11112 demo-day"
exec "$target/release/station" serve "$@"
