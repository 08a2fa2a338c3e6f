#!/usr/bin/env bash
# Regenerates the UI's TypeScript types and role table from the engine, through its OpenAPI
# document (`station openapi`): openapi.ts (every schema, by openapi-typescript), ops.ts (each
# operation's request and answer, which types `Backend.call`) and roles.ts (who may call each
# operation, from the `x-roles` the engine's role table puts on it; ui/scripts/api-types.mjs).
# Run after changing an API type, an operation or a role; commit the output
# (ui/src/api/generated/). Needs cargo, node and npm (npx fetches openapi-typescript the first
# time).
set -euo pipefail
cd "$(dirname "$0")/.."
out=ui/src/api/generated
mkdir -p "$out"
cargo run --quiet -p station -- openapi > "$out/openapi.json"
# A field with a default may be left out of a request: keep it optional in the types.
npx --yes openapi-typescript@7.13.0 "$out/openapi.json" -o "$out/openapi.ts" --default-non-nullable=false
node ui/scripts/api-types.mjs "$out"
echo "wrote $out/openapi.json, openapi.ts, ops.ts, roles.ts"
