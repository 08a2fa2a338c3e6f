#!/usr/bin/env bash
# Prints the engine's module graph: each top-level module of crates/station/src (the `station`
# binary as `cli`, src-tauri as `desktop`) with its layer, files, lines and the modules it uses,
# the SQL calls outside `store`, and every layering violation (docs/ARCHITECTURE.md).
# `scripts/modgraph.sh --check` exits non-zero on a violation, as the layering test does.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet -p station-layers --bin modgraph -- "$@" "$PWD"
