#!/usr/bin/env bash
# Makes sure a container engine answers `docker info`, and prints ONE line saying what it did:
#   - an engine already answers: nothing to do;
#   - none answers, and this machine allows it (root, apt-get: Debian/Ubuntu): installs Debian's
#     `docker.io` when `dockerd` is missing and starts `dockerd` in the background under
#     `nice -n 19` (containers and builds inherit the low priority), log and pid file in
#     .loomwatch/docker/; stop it with `deploy/images/engine.sh stop` (by its pid);
#   - otherwise: exits 1 saying what to install.
# Sourced or run: `deploy/images/engine.sh [ensure|stop|status]`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
readonly ENGINE_DIR="${LOOMWATCH_ENGINE_DIR:-$REPO_ROOT/.loomwatch/docker}"
readonly ENGINE_LOG="$ENGINE_DIR/dockerd.log"
readonly ENGINE_PID="$ENGINE_DIR/dockerd.pid"
readonly ENGINE_START_TIMEOUT=60

die() { echo "engine.sh: error: $*" >&2; exit 1; }

engine_answers() { docker info >/dev/null 2>&1; }

# The pid of the dockerd this script started, when it still runs.
our_pid() {
  local pid
  [[ -s "$ENGINE_PID" ]] || return 1
  pid="$(cat "$ENGINE_PID")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *dockerd* ]] || return 1
  echo "$pid"
}

ensure() {
  if engine_answers; then
    if pid="$(our_pid)"; then echo "engine: dockerd (pid $pid, started earlier by engine.sh, log $ENGINE_LOG) answers"
    else echo "engine: a container engine already answers (docker info), nothing started"; fi
    return 0
  fi
  command -v docker >/dev/null 2>&1 || die "no docker client on PATH: install Docker (https://docs.docker.com/engine/install/) or Debian's docker.io"
  [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1 ||
    die "no container engine answers 'docker info' and this is not root on Debian/Ubuntu: start your Docker engine (or Podman with its docker socket) and run again"
  mkdir -p "$ENGINE_DIR"
  local installed=""
  if ! command -v dockerd >/dev/null 2>&1; then
    if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io ||
           { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io; }; } >"$ENGINE_DIR/apt.log" 2>&1; then
      die "installing Debian's docker.io failed (log: $ENGINE_DIR/apt.log)"
    fi
    installed="installed Debian's docker.io $(dockerd --version | sed 's/^Docker version //; s/,.*//'), "
  fi
  # setsid: the daemon outlives this script and the make that ran it; nice 19: everything it
  # starts (builds, containers) inherits the low priority.
  setsid nice -n 19 dockerd >>"$ENGINE_LOG" 2>&1 </dev/null &
  echo $! >"$ENGINE_PID"
  local i
  for ((i = 0; i < ENGINE_START_TIMEOUT * 5; i++)); do
    engine_answers && break
    kill -0 "$(cat "$ENGINE_PID")" 2>/dev/null || { tail -n 20 "$ENGINE_LOG" >&2; die "dockerd exited during start (log: $ENGINE_LOG)"; }
    sleep 0.2
  done
  engine_answers || die "dockerd did not answer within ${ENGINE_START_TIMEOUT}s (log: $ENGINE_LOG)"
  echo "engine: ${installed}started dockerd under nice 19 (pid $(cat "$ENGINE_PID"), log $ENGINE_LOG; stop: deploy/images/engine.sh stop)"
}

stop() {
  local pid i
  pid="$(our_pid)" || { echo "engine: no dockerd started by engine.sh runs"; rm -f "$ENGINE_PID"; return 0; }
  kill -TERM "$pid"
  for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && die "dockerd (pid $pid) still runs 30 s after SIGTERM (log: $ENGINE_LOG)"
  rm -f "$ENGINE_PID"
  echo "engine: stopped dockerd (pid $pid)"
}

status() {
  if engine_answers; then echo "engine: answers ($(docker version -f 'server {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null))"
  else echo "engine: none answers"; return 1; fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  case "${1:-ensure}" in
    ensure) ensure ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: engine.sh [ensure|stop|status]" ;;
  esac
fi
