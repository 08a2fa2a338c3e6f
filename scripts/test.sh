#!/usr/bin/env bash
# Runs every test on a fresh Debian/Ubuntu machine. Installs what the tests need when it is
# missing (DCMTK's echoscu/storescu/dcmdump, Orthanc with its DICOMweb plugin as the test hub,
# dicom3tools' dciodvfy, poppler's pdftoppm,
# socat and openssl to put TLS in front of it,
# a C compiler for the bundled SQLite, Rust through rustup, Debian's Chromium and a Chinese font
# for the browser tests), lints the web UI (ui/: ESLint, no warning allowed), type-checks and
# builds it (vue-tsc, then Vite) so the engine embeds it, runs the UI's unit
# tests (Vitest), the workspace's test suite, then the browser tests (Chromium driven by
# playwright-core against a real `station serve`) and the desktop window's test
# (scripts/test-desktop.sh), and exits non-zero if anything fails.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -- --nocapture`).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    SUDO=sudo
  fi
fi

need=()
for tool in echoscu storescu dcmdump; do
  if [ ! -x "/usr/bin/$tool" ]; then
    need+=(dcmtk)
    break
  fi
done
[ -x /usr/sbin/Orthanc ] || need+=(orthanc)
[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need+=(orthanc-dicomweb)
[ -x /usr/bin/socat ] || need+=(socat)
# dciodvfy checks the DICOM the station makes from device exports; pdftoppm renders PDF thumbnails.
[ -x /usr/bin/dciodvfy ] || need+=(dicom3tools)
[ -x /usr/bin/pdftoppm ] || need+=(poppler-utils)
command -v openssl >/dev/null || need+=(openssl)
command -v cc >/dev/null || need+=(build-essential)
# Browser tests: Debian's Chromium (npm's browser downloads are not used) and a CJK font.
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
if ! command -v cargo >/dev/null && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  command -v curl >/dev/null || need+=(curl)
  [ -e /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
fi

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
    echo "missing packages (${need[*]}) and no sudo to install them: install them, then run this again." >&2
    exit 1
  fi
  echo "installing: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if ! command -v cargo >/dev/null; then
  if [ ! -x "$HOME/.cargo/bin/cargo" ]; then
    echo "installing Rust with rustup (https://rustup.rs)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  fi
  export PATH="$HOME/.cargo/bin:$PATH"
fi

# The web UI needs Node 20.19+ (Vite 8); Debian 12's own nodejs is too old to build it.
if ! command -v npm >/dev/null; then
  echo "npm (Node 20.19 or newer) is needed to build and test the web UI (ui/): install it, then run this again." >&2
  exit 1
fi

cargo --version
node --version
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# The web UI is linted, type-checked (vue-tsc, in its build) and built before the engine so
# `station` embeds ui/dist; then its unit tests.
(cd ui && npm ci --no-audit --no-fund && npm run lint && npm run build)
(cd ui && npx vitest run) 2>&1 | tee -a "$log"

# The desktop shell (src-tauri) needs WebKit to build: scripts/test-desktop.sh tests it.
cargo test --workspace --exclude station-desktop "$@" 2>&1 | tee -a "$log"

# Browser tests: Debian's Chromium against a real `station serve` (the binary cargo built).
(cd tests/e2e && npm ci --no-audit --no-fund)
cargo build -p station --bin station
STATION_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/station" \
  node --test --test-concurrency=1 --test-reporter=spec tests/e2e/ 2>&1 | tee -a "$log"

# The desktop window (Tauri under Xvfb, driven by tauri-driver): its own script installs the
# WebKit libraries, WebKitWebDriver, Xvfb and tauri-driver when missing.
UI_BUILT=1 scripts/test-desktop.sh 2>&1 | tee -a "$log"

# One closing line for the whole run, summed over every cargo test binary, Vitest and the
# browser tests (colour codes stripped first).
sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
  /^test result:/ { p += $4; f += $6; s += $8 }
  /^ *Tests +[0-9]/ {
    if (match($0, /[0-9]+ passed/)) p += substr($0, RSTART, RLENGTH) + 0
    if (match($0, /[0-9]+ failed/)) f += substr($0, RSTART, RLENGTH) + 0
    if (match($0, /[0-9]+ skipped/)) s += substr($0, RSTART, RLENGTH) + 0
  }
  /^ℹ pass [0-9]+$/ { p += $3 }
  /^ℹ fail [0-9]+$/ { f += $3 }
  /^ℹ skipped [0-9]+$/ { s += $3 }
  END { printf "%d passed, %d failed, %d skipped\n", p, f, s }'
