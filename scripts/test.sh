#!/usr/bin/env bash
# Runs every test on a fresh Debian/Ubuntu machine. Installs what the tests need when it is
# missing (DCMTK's echoscu/storescu/dcmdump, Orthanc with its DICOMweb plugin as the test hub,
# dicom3tools' dciodvfy, poppler's pdftoppm,
# socat and openssl to put TLS in front of it,
# a C compiler for the bundled SQLite, Rust through rustup), then runs the whole workspace's
# test suite and exits non-zero if anything fails.
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

cargo --version
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace "$@" 2>&1 | tee "$log"
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { p += $4; f += $6; s += $8 } END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
