#!/usr/bin/env bash
# Prints the path of a Docker Compose v2+ to run: `docker compose` where the plugin is installed,
# else .loomwatch/tools/compose/docker-compose, built once from the Go module proxy
# (github.com/docker/compose/v5 at COMPOSE_VERSION, its ./cmd; `go install …@version` refuses the
# module because its go.mod has exclude directives, so it is built inside the downloaded module).
# Needs Go (PATH or /usr/local/go/bin) only when it builds. The binary also runs on its own
# (`docker-compose …`); copy it to ~/.docker/cli-plugins/ to have `docker compose`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
# v5.6.0: the newest whose go.mod accepts Go 1.26.8 (5.7.x asks for 1.26.10+).
readonly COMPOSE_VERSION="${COMPOSE_VERSION:-v5.6.0}"
readonly BIN="$REPO_ROOT/.loomwatch/tools/compose/docker-compose"

die() { echo "get-compose.sh: error: $*" >&2; exit 1; }

if docker compose version >/dev/null 2>&1; then echo "docker compose"; exit 0; fi
if [[ -x "$BIN" ]] && "$BIN" version --short 2>/dev/null | grep -qx "${COMPOSE_VERSION#v}"; then echo "$BIN"; exit 0; fi

PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || die "no 'docker compose' plugin and no Go to build one: install Docker Compose v2 (https://docs.docker.com/compose/install/) or Go 1.26"
log="$REPO_ROOT/.loomwatch/tools/compose/build.log"
mkdir -p "$(dirname "$BIN")"
echo "get-compose.sh: building docker compose $COMPOSE_VERSION from the Go module proxy (log: $log)" >&2
dir="$(go mod download -json "github.com/docker/compose/v5@$COMPOSE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
[[ -d "$dir" ]] || die "could not download github.com/docker/compose/v5@$COMPOSE_VERSION (GOPROXY=$(go env GOPROXY))"
(cd "$dir" && nice -n 19 go build -trimpath -ldflags "-s -w -X github.com/docker/compose/v5/internal.Version=$COMPOSE_VERSION" \
  -o "$BIN.tmp" ./cmd) >"$log" 2>&1 || die "building docker compose failed (log: $log)"
mv "$BIN.tmp" "$BIN"
echo "$BIN"
