#!/bin/sh
# Run inside an image's build stage, at the root of a built workspace:
#   prune.sh <package name> <out dir>
# Writes to <out dir> the workspace layout one service needs at run time and nothing else: the
# root manifests and lockfile, every workspace manifest (so the lockfile stays frozen), the dist/
# of the service and of each workspace package it depends on, and the production dependencies of
# exactly those packages (`pnpm install --prod --frozen-lockfile --offline --filter-prod <pkg>...`;
# `--filter-prod` follows `dependencies` only, so `@loomwatch/testkit`, a devDependency of most
# packages, and its testcontainers stay out), from the store the build stage filled. Then drops
# the onnxruntime-node binaries of other platforms (the npm package ships all of them; the CPU
# binary for this one is what the runtime loads, no install script involved). Paths stay as in the repo, so `import.meta.url` lookups
# (models/registry beside packages/, onnxruntime's worker thread beside its module) still resolve.
set -eu
pkg=$1
out=$2
mkdir -p "$out"
cp package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc "$out/"
for manifest in packages/*/package.json services/*/package.json deploy/*/package.json; do
  [ -f "$manifest" ] || continue
  mkdir -p "$out/$(dirname "$manifest")"
  cp "$manifest" "$out/$manifest"
done
root=$(pwd)
for dir in $(pnpm --silent --filter-prod "$pkg..." exec pwd); do
  rel=${dir#"$root"/}
  cp -R "$rel/dist" "$out/$rel/dist"
  rm -f "$out/$rel/dist/tsconfig.tsbuildinfo"
done
cd "$out"
pnpm install --prod --frozen-lockfile --offline --filter-prod "$pkg..." --reporter=append-only
platform=$(node -p process.platform)
arch=$(node -p process.arch)
for bin in node_modules/.pnpm/onnxruntime-node@*/node_modules/onnxruntime-node/bin/napi-v*; do
  [ -d "$bin" ] || continue
  for dir in "$bin"/*/*; do
    case "$dir" in "$bin/$platform/$arch") ;; *) rm -rf "$dir" ;; esac
  done
  find "$bin" -mindepth 1 -maxdepth 1 -type d -empty -delete
done
