#!/usr/bin/env bash
# `make images`: the six service images of deploy/docker/ (loomwatch/<service>:dev, the names
# docker-compose.yml uses), from the pinned lockfile, with no image registry.
#   1. engine.sh ensure; with the default NODE_IMAGE (loomwatch/node:<version>-bookworm-slim),
#      build-base.sh node (skipped when its inputs did not change). NODE_IMAGE=node:24.9.0-bookworm-slim
#      uses the official image instead (Docker Hub).
#   2. One snapshot of the working tree as the build context (.loomwatch/images/context: the files
#      git tracks or would track, .dockerignore applied by docker): the six builds see the same
#      files even while someone edits the tree, so their identical build stage (the whole
#      workspace, `pnpm run build`) is built once and taken from the layer cache five times.
#   3. docker build of each, with its time and size, and a table at the end (also written to
#      .loomwatch/images/services.txt).
# usage: deploy/images/build-services.sh [service ...]   (none: all six)
# Settings: NODE_IMAGE, MODELS (build argument of the worker, API and drift monitor), IMAGE_TAG (dev).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
readonly HERE REPO_ROOT
readonly WORK="${LOOMWATCH_IMAGES_CACHE:-$REPO_ROOT/.loomwatch/images}"
NODE_VERSION="$(sed -n 's/^NODE_VERSION := *//p' "$REPO_ROOT/Makefile")"
readonly NODE_IMAGE="${NODE_IMAGE:-loomwatch/node:$NODE_VERSION-bookworm-slim}"
readonly IMAGE_TAG="${IMAGE_TAG:-dev}"
readonly ALL_SERVICES=(inference-worker camera-gateway alerting drift-monitor inference-api dashboard)

die() { echo "build-services.sh: error: $*" >&2; exit 1; }
say() { echo "build-services.sh: $*"; }
now_ms() { date +%s%3N; }
secs() { local ms=$(($1)); printf '%d.%01d' $((ms / 1000)) $((ms % 1000 / 100)); }

# CPU time of the build steps (each a container), from cgroup v1's cpuacct
# for dockerd's cgroupfs driver, in ms; empty where not readable. On a loaded machine the wall
# time says little, the CPU time says what a build costs.
# Containers of others running at the same time (a test's Kafka…) are in that sum too: what the
# containers running before and after a build used meanwhile is taken off (a container that
# stopped during the build still counts toward it).
readonly CPUACCT=/sys/fs/cgroup/cpuacct/docker
engine_cpu_ms() {
  [[ -r "$CPUACCT/cpuacct.usage" ]] || { echo ""; return 0; }
  local total others=0 id
  total="$(cat "$CPUACCT/cpuacct.usage")"
  for id in $(docker ps -q --no-trunc); do
    [[ -r "$CPUACCT/$id/cpuacct.usage" ]] && others=$((others + $(cat "$CPUACCT/$id/cpuacct.usage")))
  done
  echo $(((total - others) / 1000000))
}

# The working tree as git sees it (tracked and untracked-but-not-ignored files that exist), copied
# into a fresh folder.
snapshot_context() {
  local dir="$WORK/context"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  (cd "$REPO_ROOT" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -f "$f" ]] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -xf - -C "$dir.tmp"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

main() {
  local services=("$@") s t0 c0 c_all t_all rows=() log args
  ((${#services[@]})) || services=("${ALL_SERVICES[@]}")
  for s in "${services[@]}"; do
    [[ -f "$REPO_ROOT/deploy/docker/$s.Dockerfile" ]] || die "no deploy/docker/$s.Dockerfile (services: ${ALL_SERVICES[*]})"
  done
  t_all="$(now_ms)"
  c_all="$(engine_cpu_ms)"
  bash "$HERE/engine.sh" ensure
  if [[ "$NODE_IMAGE" == loomwatch/node:* ]]; then
    bash "$HERE/build-base.sh" node
  else
    docker image inspect "$NODE_IMAGE" >/dev/null 2>&1 || docker pull "$NODE_IMAGE" ||
      die "NODE_IMAGE=$NODE_IMAGE is neither here nor pullable: leave NODE_IMAGE unset to build loomwatch/node from the npm registry"
  fi
  snapshot_context
  mkdir -p "$WORK/logs"
  for s in "${services[@]}"; do
    log="$WORK/logs/service-$s.log"
    args=(--build-arg "NODE_IMAGE=$NODE_IMAGE")
    [[ -n "${MODELS:-}" ]] && grep -q '^ARG MODELS' "$REPO_ROOT/deploy/docker/$s.Dockerfile" && args+=(--build-arg "MODELS=$MODELS")
    t0="$(now_ms)"
    c0="$(engine_cpu_ms)"
    if ! docker build --network host -f "$WORK/context/deploy/docker/$s.Dockerfile" "${args[@]}" \
        -t "loomwatch/$s:$IMAGE_TAG" "$WORK/context" >"$log" 2>&1; then
      tail -n 40 "$log" >&2
      die "building loomwatch/$s:$IMAGE_TAG failed (log: $log)"
    fi
    local took size cached cpu="-"
    took="$(secs "$(now_ms) - t0")"
    [[ -n "$c0" ]] && cpu="$(secs "$(engine_cpu_ms) - c0")"
    size="$(docker image inspect -f '{{.Size}}' "loomwatch/$s:$IMAGE_TAG" | awk '{ printf "%.0f", $1 / 1e6 }')"
    # The legacy builder prints "Using cache" per step taken from the cache.
    cached="$(grep -c 'Using cache' "$log" || true)/$(grep -c '^Step ' "$log" || true)"
    say "loomwatch/$s:$IMAGE_TAG built in $took s (CPU in containers $cpu s), $size MB (steps from cache: $cached)"
    rows+=("$(printf '%-18s %8s s %8s s %6s MB %8s' "$s" "$took" "$cpu" "$size" "$cached")")
  done
  {
    echo "# make images $(date -u +%Y-%m-%dT%H:%M:%SZ), NODE_IMAGE=$NODE_IMAGE, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-18s %10s %10s %9s %8s\n' image wall cpu size cached
    printf '%s\n' "${rows[@]}"
    echo "total $(secs "$(now_ms) - t_all") s wall${c_all:+, $(secs "$(engine_cpu_ms) - c_all") s CPU in containers} (with the engine check, the base image check and the context snapshot)"
  } | tee "$WORK/services.txt"
}

main "$@"
