#!/usr/bin/env bash
# Builds the Debian package `clinic-station` from this checkout on a Debian/Ubuntu machine: the
# web UI, then `station` and `station-desktop` in one release build, their man pages (help2man,
# from each program's --help), the Debian changelog (from CHANGELOG.md), then `cargo deb` over
# what was built (metadata, the unit, conffile, desktop entry and icons: src-tauri/Cargo.toml's
# [package.metadata.deb] and packaging/). Installs what it needs when missing: the Tauri/WebKit
# build libraries, dpkg-dev, help2man, cargo-deb.
#
#   scripts/package.sh              the package of this checkout
#   scripts/package.sh --previous   the package of the previous release (packaging/previous-release),
#                                   built once per commit and kept in a cache outside the clone
#   scripts/package.sh --appimage   also the desktop app as an AppImage (Tauri's bundler, which
#                                   downloads linuxdeploy: only where that download works)
#
# Writes to $CARGO_TARGET_DIR/packages (or target/packages). Prints only the .deb's path on
# stdout (the build's output goes to stderr).
# UI_BUILT=1 skips the UI build (scripts/test.sh has just built it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

mode=current
appimage=0
for arg in "$@"; do
  case "$arg" in
    --previous) mode=previous ;;
    --appimage) appimage=1 ;;
    *) echo "usage: scripts/package.sh [--previous] [--appimage]" >&2; exit 2 ;;
  esac
done

target=${CARGO_TARGET_DIR:-target}
case "$target" in /*) ;; *) target="$ROOT/$target" ;; esac
export CARGO_TARGET_DIR="$target"
out="$target/packages"
mkdir -p "$out"

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then
  SUDO=sudo
fi
need=()
for pkg in libwebkit2gtk-4.1-dev librsvg2-dev libayatana-appindicator3-dev libssl-dev \
  build-essential pkg-config dpkg-dev help2man; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
    echo "missing packages (${need[*]}) and no sudo to install them: install them, then run this again." >&2
    exit 1
  fi
  echo "installing: ${need[*]}" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
export PATH="$HOME/.cargo/bin:$PATH"
for tool in cargo npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "$tool is needed (Rust from https://rustup.rs, Node 20.19 or newer): install it, then run this again." >&2
    exit 1
  fi
done
if ! cargo deb --version >/dev/null 2>&1; then
  cargo install --locked cargo-deb --version "^3" >&2
fi

# The UI first (both programs embed ui/dist), then both programs in one release build so the
# engine library is compiled once, with the feature the desktop app needs to serve the built UI.
build_programs() { # tree
  if [ "${UI_BUILT:-}" != 1 ] || [ ! -e "$1/ui/dist/index.html" ]; then
    (cd "$1/ui" && npm ci --no-audit --no-fund && npm run build) >&2
  fi
  (cd "$1" && cargo build --release --locked -p station -p station-desktop \
    --features station-desktop/custom-protocol) >&2
}

# packaging/build/station.1 and station-desktop.1 from the programs' own --help.
man_pages() { # bindir version
  local bin=$1 version=$2 build="$ROOT/packaging/build" inc
  inc=$(mktemp)
  {
    echo "[COMMANDS]"
    "$bin/station" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' |
      grep -vx help | while read -r cmd; do
        echo ".SS \"station $cmd\""
        echo ".nf"
        "$bin/station" "$cmd" --help | sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
        echo ".fi"
      done
    cat <<'EOF'
[FILES]
.TP
.I /etc/clinic-station/station.toml
The configuration of the clinic-station service (kept across upgrades); every key is listed in
.IR /usr/share/doc/clinic-station/default.toml .
.TP
.I /var/lib/clinic-station
The service's data: database, images, quarantine; the first admin password in
.IR admin-initial-password.txt .
.TP
.I /var/log/clinic-station
The service's logs (also in the journal: journalctl -u clinic-station).
[SEE ALSO]
.BR station-desktop (1),
.BR systemctl (1),
.BR journalctl (1)
EOF
  } >"$inc"
  help2man --no-info --no-discard-stderr --version-string="$version" --include="$inc" \
    --name="Clinic Imaging Station (基层影像采集站): receive, store and send clinic images" \
    "$bin/station" >"$build/station.1"
  cat >"$inc" <<'EOF'
[DESCRIPTION]
The desktop app: the same station as
.BR "station serve" ,
in a window with a tray icon and notifications. It takes the same options.
[SEE ALSO]
.BR station (1)
EOF
  help2man --no-info --no-discard-stderr --version-string="$version" --include="$inc" \
    --name="Clinic Imaging Station (基层影像采集站), desktop app" \
    "$bin/station-desktop" >"$build/station-desktop.1"
  rm -f "$inc"
}

# packaging/build/changelog (Debian's format) from CHANGELOG.md's releases up to $1.
debian_changelog() { # version
  local upto=$1 maint version="" date="" line
  maint=$(sed -n 's/^maintainer = "\(.*\)"$/\1/p' src-tauri/Cargo.toml)
  local entry
  flush() {
    [ -n "$version" ] || return 0
    if dpkg --compare-versions "$version" le "$upto"; then
      printf 'clinic-station (%s-1) stable; urgency=medium\n\n%s\n -- %s  %s\n\n' \
        "$version" "$entry" "$maint" "$(LC_ALL=C TZ=UTC date -R -d "$date")"
    fi
  }
  {
    while IFS= read -r line; do
      case "$line" in
        "## "*)
          flush
          version=$(echo "$line" | awk '{ print $2 }')
          date=$(echo "$line" | awk '{ print $4 }')
          entry=""
          ;;
        "- "*)
          [ -n "$version" ] || continue
          entry+=$(echo "${line#- }" | fmt -w 74 | sed '1s/^/  * /; 2,$s/^/    /')$'\n'
          ;;
      esac
    done <CHANGELOG.md
    flush
  } >packaging/build/changelog
}

package() { # bindir version -> path of the .deb
  local bindir=$1 version=$2 stage
  mkdir -p packaging/build
  man_pages "$bindir" "$version"
  debian_changelog "$version"
  # cargo-deb takes the programs from <target dir>/release: point it at the ones given.
  stage=$(mktemp -d)
  mkdir "$stage/release"
  cp "$bindir/station" "$bindir/station-desktop" "$stage/release/"
  CARGO_TARGET_DIR="$stage" cargo deb -p station-desktop --no-build --strip \
    --deb-version "$version-1" --output "$out/clinic-station_${version}-1_amd64.deb" >&2
  rm -rf "$stage"
  echo "$out/clinic-station_${version}-1_amd64.deb"
}

version_of() { # tree
  (cd "$1" && cargo pkgid --offline -p station) | sed 's/.*#//; s/.*@//'
}

if [ "$mode" = previous ]; then
  # shellcheck disable=SC1091
  . packaging/previous-release
  : "${version:?packaging/previous-release names no version}" "${commit:?packaging/previous-release names no commit}"
  if ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
    echo "the previous release's commit $commit is not in this clone (a shallow clone?): fetch it, then run this again." >&2
    exit 1
  fi
  cache=${STATION_PACKAGE_CACHE:-$target/package-cache}
  mkdir -p "$cache"
  # The release's own packaging when it had one; else its programs packaged the way this
  # checkout packages (its first package), so the key covers this checkout's packaging too.
  if git cat-file -e "$commit:scripts/package.sh" 2>/dev/null; then
    key=$commit
  else
    key=$commit-$(cat scripts/package.sh src-tauri/Cargo.toml packaging/clinic-station.service \
      packaging/station.toml packaging/clinic-station.desktop packaging/debian/* CHANGELOG.md |
      sha256sum | cut -c1-12)
  fi
  cached="$cache/clinic-station_${version}-1_amd64.$key.deb"
  if [ -s "$cached" ]; then
    echo "previous release $version: cached $cached" >&2
    echo "$cached"
    exit 0
  fi
  tree=$(mktemp -d)
  trap 'rm -rf "$tree"' EXIT
  git archive "$commit" | tar -x -C "$tree"
  if [ -e "$tree/scripts/package.sh" ]; then
    deb=$("$tree/scripts/package.sh")
  else
    UI_BUILT=0 build_programs "$tree"
    deb=$(package "$target/release" "$version")
  fi
  cp "$deb" "$cached.part"
  mv "$cached.part" "$cached"
  echo "$cached"
  exit 0
fi

version=$(version_of "$ROOT")
build_programs "$ROOT"
deb=$(package "$target/release" "$version")

if [ "$appimage" = 1 ]; then
  # Tauri's bundler makes the AppImage from the app just built (it downloads linuxdeploy and
  # its GTK plugin the first time; where that is not possible it fails and says so).
  (cd src-tauri && npx --yes @tauri-apps/cli@2 bundle --bundles appimage \
    --features custom-protocol) >&2 ||
    echo "no AppImage: Tauri's bundler could not make one here (see above)" >&2
fi
echo "$deb"
