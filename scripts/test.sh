#!/usr/bin/env bash
# Runs every test on a fresh Debian/Ubuntu machine. Installs what the tests need when it is
# missing (DCMTK's echoscu/storescu/dcmdump, Orthanc with its DICOMweb plugin as the test hub,
# dicom3tools' dciodvfy, poppler's pdftoppm, CMake and Grok for the codec crate,
# socat and openssl to put TLS in front of it,
# a C compiler for the bundled SQLite, Rust through rustup, Debian's Chromium and a Chinese font
# for the browser tests, Schemathesis from PyPI for the OpenAPI test), lints the web UI (ui/:
# ESLint, no warning allowed), type-checks and builds it (vue-tsc, then Vite) so the engine embeds it, runs the UI's unit tests (Vitest),
# checks formatting and clippy's lints, runs the workspace's test suite (the
# layering test included), then the browser tests (Chromium driven by
# playwright-core against a real `station serve`), the OpenAPI test (Schemathesis against
# one), the desktop window's test
# (scripts/test-desktop.sh) and the Debian package's test (tests/package/: installs, runs and
# upgrades the package on this machine, then purges it; needs root), and exits non-zero if
# anything fails. `station` and `station-desktop` are built once, in release, by
# scripts/package.sh: the browser, desktop and package tests all run those binaries.
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
# station-codec builds CharLS (C++) with CMake; its tests decode JPEG 2000 with Grok too, and
# run pydicom in a virtual environment (set up below).
command -v c++ >/dev/null || need+=(g++)
command -v cmake >/dev/null || need+=(cmake)
[ -x /usr/bin/grk_decompress ] || need+=(grokj2k-tools)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
# Browser tests: Debian's Chromium (npm's browser downloads are not used) and a CJK font.
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
# The package's test: lintian, systemd-analyze (its Documentation= man page is checked with man),
# sqlite3 to read the installed station's schema.
command -v lintian >/dev/null || need+=(lintian)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v man >/dev/null || need+=(man-db)
command -v sqlite3 >/dev/null || need+=(sqlite3)
# The monitoring tests: a real Prometheus scrapes stations; promtool checks metrics and rules.
[ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ] || need+=(prometheus)
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

# The style and lint gates need rustfmt and clippy (a minimal rustup profile has neither).
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  if command -v rustup >/dev/null; then
    rustup component add rustfmt clippy
  else
    echo "cargo fmt and cargo clippy are needed: install rustfmt and clippy, then run this again." >&2
    exit 1
  fi
fi

# The web UI needs Node 20.19+ (Vite 8); Debian 12's own nodejs is too old to build it.
if ! command -v npm >/dev/null; then
  echo "npm (Node 20.19 or newer) is needed to build and test the web UI (ui/): install it, then run this again." >&2
  exit 1
fi

cargo --version
node --version

# The codec tests read our JPEG-LS and JPEG 2000 output with pydicom (with its pyjpegls and
# pylibjpeg-openjpeg plug-ins) as well as DCMTK and Grok, and a third-party DICOMweb client
# (dicomweb-client) reads the station's DICOMweb: from PyPI into a venv outside the clone.
codec_venv="${STATION_TEST_VENV:-$HOME/.cache/station-test-venv}"
if ! "$codec_venv/bin/python" -c 'import pydicom, jpeg_ls, openjpeg, pylibjpeg, numpy, dicomweb_client' 2>/dev/null; then
  python3 -m venv "$codec_venv"
  "$codec_venv/bin/pip" install -q --disable-pip-version-check pydicom==3.0.2 pylibjpeg==2.1.0 \
    pylibjpeg-openjpeg==2.6.0 pyjpegls==1.5.1 numpy==2.4.6 dicomweb-client==0.61.2
fi
export STATION_TEST_PYTHON="$codec_venv/bin/python"
# The OpenAPI test (tests/api/) sends the served document's requests with Schemathesis, a
# property-based client, from PyPI into its own venv (its dependencies are not the codec's).
st_venv="${STATION_SCHEMATHESIS_VENV:-$HOME/.cache/station-schemathesis-venv}"
if ! "$st_venv/bin/st" --version 2>/dev/null | grep -qx 'st, version 4.32.5'; then
  python3 -m venv "$st_venv"
  "$st_venv/bin/pip" install -q --disable-pip-version-check schemathesis==4.32.5
fi
export STATION_SCHEMATHESIS="$st_venv/bin/st"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# The web UI is linted, type-checked (vue-tsc, in its build) and built before the engine so
# `station` embeds ui/dist; then its unit tests.
(cd ui && npm ci --no-audit --no-fund && npm run lint && npm run build)
(cd ui && npx vitest run) 2>&1 | tee -a "$log"

# Gates before the tests: formatting, and clippy with every warning an error (the workspace
# lints in Cargo.toml: no unsafe code, no unwrap outside tests). The desktop shell (src-tauri)
# needs WebKit to build: scripts/test-desktop.sh tests it.
cargo fmt --all -- --check
cargo clippy --workspace --exclude station-desktop --all-targets -- -D warnings

# The layering test (crates/layers) runs with the rest: no module uses one above it, no SQL
# outside `store` (scripts/modgraph.sh prints the graph).
cargo test --workspace --exclude station-desktop "$@" 2>&1 | tee -a "$log"

# The packages: the previous release's first (built once per commit, then cached outside the
# clone; it builds in the same target dir), then this checkout's, whose one release build of
# `station` and `station-desktop` every test below runs.
target=${CARGO_TARGET_DIR:-$PWD/target}
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
previous_deb=$(scripts/package.sh --previous)
deb=$(UI_BUILT=1 scripts/package.sh)
export STATION_BIN="$target/release/station"

# Browser tests: Debian's Chromium against a real `station serve`.
(cd tests/e2e && npm ci --no-audit --no-fund)
node --test --test-concurrency=1 --test-reporter=spec tests/e2e/ 2>&1 | tee -a "$log"

# The OpenAPI document against the server it describes: Schemathesis against a real
# `station serve` (tests/api/).
node --test --test-reporter=spec tests/api/ 2>&1 | tee -a "$log"

# The desktop window (Tauri under Xvfb, driven by tauri-driver): its own script installs the
# WebKit libraries, WebKitWebDriver, Xvfb and tauri-driver when missing.
UI_BUILT=1 DESKTOP_BIN="$target/release/station-desktop" scripts/test-desktop.sh 2>&1 | tee -a "$log"

# The package installed, run as its service, upgraded, removed and purged on this machine.
STATION_DEB="$deb" STATION_PREVIOUS_DEB="$previous_deb" \
  node --test --test-concurrency=1 --test-reporter=spec tests/package/ 2>&1 | tee -a "$log"

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
