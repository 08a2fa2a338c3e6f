#!/usr/bin/env bash
# The desktop window's end-to-end test on a fresh Debian/Ubuntu machine: installs the Tauri
# build libraries, WebKitWebDriver, Xvfb, a session bus and tauri-driver when missing, builds the
# web UI and the desktop app (debug, serving the built UI: `custom-protocol`), runs the shell's
# unit tests, then drives the real window under Xvfb (tests/desktop/) and saves its screenshot
# to docs/screenshots/desktop.png. On the test's session bus a stand-in notification server and
# tray host (tests/desktop/desktop_bus.py: python3-dbus, python3-gi) answer the app, dbus-monitor
# (dbus-bin) records its notifications and gdbus (libglib2.0-bin) reads its tray menu; a real
# Orthanc is its hub. The image viewer also runs in WebKitGTK's own MiniBrowser (the window's
# engine; libwebkit2gtk-4.1-0) through WebKitWebDriver (tests/desktop/viewer.test.mjs).
# UI_BUILT=1 skips the UI build (scripts/test.sh has just built it). With DESKTOP_BIN and
# STATION_BIN set to release builds (scripts/test.sh, from scripts/package.sh) it tests those
# and builds the shell's unit tests in release too, reusing that build's dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then
  SUDO=sudo
fi

need=()
for pkg in libwebkit2gtk-4.1-dev librsvg2-dev libayatana-appindicator3-dev libssl-dev \
  build-essential pkg-config webkit2gtk-driver xvfb xauth dbus-daemon dcmtk \
  dbus-bin libglib2.0-bin python3-dbus python3-gi orthanc orthanc-dicomweb; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
    echo "missing packages (${need[*]}) and no sudo to install them: install them, then run this again." >&2
    exit 1
  fi
  echo "installing: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
for tool in cargo npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "$tool is needed (Rust from https://rustup.rs, Node 20.19 or newer): install it, then run this again." >&2
    exit 1
  fi
done
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v tauri-driver >/dev/null; then
  cargo install --locked tauri-driver --version "^2"
fi

# The app embeds ui/dist when it compiles, so the UI is built first.
if [ "${UI_BUILT:-}" != 1 ] || [ ! -e ui/dist/index.html ]; then
  (cd ui && npm ci --no-audit --no-fund && npm run build)
fi
if [ -n "${DESKTOP_BIN:-}" ] && [ -n "${STATION_BIN:-}" ]; then
  cargo test --release -p station-desktop --features custom-protocol
else
  # One build of both, so the engine library is compiled once with the features both need.
  cargo build -p station -p station-desktop --features station-desktop/custom-protocol
  cargo test -p station-desktop --features custom-protocol
  target=${CARGO_TARGET_DIR:-target}
  case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
  export DESKTOP_BIN="$target/debug/station-desktop" STATION_BIN="$target/debug/station"
fi
export TAURI_DRIVER
TAURI_DRIVER=$(command -v tauri-driver)
# A display of its own (-a picks a free one) and a session bus for notifications and the tray.
xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
  dbus-run-session -- node --test --test-concurrency=1 --test-reporter=spec tests/desktop/
