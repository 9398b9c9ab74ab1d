#!/usr/bin/env bash
# `make compose-smoke`: the whole system in containers, on the host's network, from the images
# `make images` built (no image registry), and what it must do, checked:
#   1. `compose up` (docker-compose.yml + deploy/compose/host-network.yml, --profile api, project
#      loomwatch-smoke): Kafka, S3 (S3Proxy), topics (kafka-init), buckets, gateway (HTTP ingest),
#      two workers, alerting, drift monitor, dashboard, API — every service's /healthz answers;
#   2. AITEX frames POSTed to the gateway with a camera token minted by the gateway image
#      (`token`); once the first verdict is out, the worker deciding them (the one whose
#      loomwatch_frames_decided_total grew: one camera = one partition) is `docker kill`ed
#      (SIGKILL) and the other takes over; verdicts.v1 read read_committed (kcat): every frame has
#      exactly one verdict (read_uncommitted shows what the aborted transactions had written);
#   3. sign-in to the dashboard through deploy/local's development OpenID provider (run here as
#      a process on 127.0.0.1:36080): the code flow with curl, then /api/me as that user;
#   4. `compose down -v`: no container, network or volume of the project left.
# Ports: 36xxx only (host-network.yml). Prints the time of each phase; exits 1 on the first
# failed check, after taking everything down (LOOMWATCH_SMOKE_KEEP=1 leaves it running).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
readonly HERE REPO_ROOT
readonly PROJECT=loomwatch-smoke
readonly KAFKA=127.0.0.1:36092
readonly GATEWAY=http://127.0.0.1:36081
readonly DASHBOARD=http://127.0.0.1:36095
readonly ISSUER=http://127.0.0.1:36080
readonly FRAMES="${LOOMWATCH_SMOKE_FRAMES:-24}"
readonly AITEX_DIR="${AITEX_DIR:-$REPO_ROOT/../shared/datasets/aitex}"
readonly IMAGES=(inference-worker camera-gateway alerting drift-monitor inference-api dashboard)
# service → ops port (host-network.yml)
declare -A OPS=([camera-gateway]=36465 [inference-worker-1]=36464 [inference-worker-2]=36474
  [alerting]=36466 [drift-monitor]=36469 [dashboard]=36470 [inference-api]=36467)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/loomwatch-compose-smoke.XXXXXX")"
readonly WORK
OIDC_PID=""
T_START="$(date +%s%3N)"
PHASES=()

say() { echo "compose-smoke: $*"; }
fail() { echo "compose-smoke: FAILED: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }
seconds_since() { awk -v ms="$(($(now_ms) - $1))" 'BEGIN { printf "%.1f", ms / 1000 }'; }
phase() { PHASES+=("$(printf '%-34s %6s s' "$1" "$(seconds_since "$2")")"); }

compose() {
  # shellcheck disable=SC2086 # COMPOSE is "docker compose" or one path
  $COMPOSE -p "$PROJECT" -f "$REPO_ROOT/docker-compose.yml" -f "$HERE/host-network.yml" --profile api "$@"
}

cleanup() {
  local status=$?
  if [[ "${LOOMWATCH_SMOKE_KEEP:-0}" == 1 ]]; then
    say "left running (LOOMWATCH_SMOKE_KEEP=1): take it down with: $COMPOSE -p $PROJECT -f docker-compose.yml -f deploy/compose/host-network.yml --profile api down -v"
  elif [[ -n "${COMPOSE:-}" ]]; then
    if ((status != 0)); then
      compose ps -a >&2 2>/dev/null || true
      mkdir -p "$REPO_ROOT/.loomwatch/compose-smoke"
      compose logs --no-color >"$REPO_ROOT/.loomwatch/compose-smoke/logs.txt" 2>&1 || true
      say "the containers' logs: .loomwatch/compose-smoke/logs.txt" >&2
    fi
    compose down -v --timeout 30 >"$WORK/down.log" 2>&1 || cat "$WORK/down.log" >&2
  fi
  [[ -n "$OIDC_PID" ]] && kill "$OIDC_PID" 2>/dev/null || true
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls every half second.
wait_for() {
  local deadline=$((SECONDS + $1)) what="$2" limit="$1"
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "$what: not within $limit s"
    sleep "${POLL:-0.5}"
  done
}

# The frame ids among the committed verdicts on verdicts.v1, one a line (repeats kept).
committed_verdict_frames() {
  kcat -C -b "$KAFKA" -t verdicts.v1 -X isolation.level=read_committed -o beginning -e -q -f '%s\n' 2>/dev/null |
    jq -r '.frameId' 2>/dev/null || true
}
# loomwatch_frames_decided_total of the worker whose ops port is $1 (0 when it does not answer).
frames_decided() {
  curl -fs "http://127.0.0.1:$1/metrics" 2>/dev/null | awk '/^loomwatch_frames_decided_total/ { n += $NF } END { printf "%d", n }'
}
in_flight() {
  curl -fs "http://127.0.0.1:$1/metrics" 2>/dev/null | awk '/^loomwatch_frames_in_flight/ { n += $NF } END { exit !(n > 0) }'
}
verdicts_for_all() { [[ "$(committed_verdict_frames | sort -u | grep -cFxf "$WORK/frame-ids")" -ge "$1" ]]; }

post_frame() {
  local file="$1" seq="$2" answer
  answer="$(curl -fsS -X POST --data-binary "@$file" -H "Authorization: Bearer $CAMERA_TOKEN" "$GATEWAY/v1/frames?seq=$seq")" ||
    fail "POST /v1/frames?seq=$seq answered an error"
  jq -er '.frameId' <<<"$answer" >>"$WORK/frame-ids" || fail "POST /v1/frames answered no frameId: $answer"
}

# ---------------------------------------------------------------------------------------------

main() {
  local t0 t i
  bash "$REPO_ROOT/deploy/images/engine.sh" ensure
  COMPOSE="$(bash "$HERE/get-compose.sh")"
  say "compose: $COMPOSE ($($COMPOSE version --short 2>/dev/null || echo '?'))"
  for i in "${IMAGES[@]}"; do
    docker image inspect "loomwatch/$i:dev" >/dev/null 2>&1 || fail "image loomwatch/$i:dev is missing: run 'make images' first"
  done
  command -v kcat >/dev/null || fail "kcat not found (deploy/local/infra.sh fetch installs it)"
  command -v jq >/dev/null || fail "jq not found: install it (Debian: apt-get install jq)"
  for t in 36000 36080 36081 36090 36092 36093 36094 36095 36464 36465 36466 36467 36469 36470 36474; do
    port_free "$t" || fail "port 127.0.0.1:$t is in use: take down what holds it (an earlier smoke: LOOMWATCH_SMOKE_KEEP?)"
  done
  compose down -v --timeout 10 >/dev/null 2>&1 || true
  local frames=()
  mapfile -t frames < <(find "$AITEX_DIR" -name '*.png' ! -path '*/mask/*' | sort | head -n "$FRAMES")
  ((${#frames[@]} == FRAMES)) || fail "need $FRAMES AITEX frames under $AITEX_DIR (set AITEX_DIR), found ${#frames[@]}"

  # The dashboard's identity provider: deploy/local's, as a process on the host.
  t0="$(now_ms)"
  local node="$REPO_ROOT/.loomwatch/tools/node/bin/node"
  [[ -x "$node" ]] || node="$(command -v node)"
  "$node" "$REPO_ROOT/deploy/local/oidc/src/main.ts" --port 36080 --state "$WORK/oidc" >"$WORK/oidc.log" 2>&1 &
  OIDC_PID=$!
  wait_for 60 "the OIDC provider at $ISSUER" curl -fs "$ISSUER/.well-known/openid-configuration"

  # A camera token from the gateway image itself; the gateway gets the digest.
  docker run --rm --network none loomwatch/camera-gateway:dev token --line line-1 --camera cam-1 >"$WORK/token.txt" 2>"$WORK/token.err" ||
    fail "the gateway image's 'token' command failed: $(cat "$WORK/token.err")"
  CAMERA_TOKEN="$(sed -n 1p "$WORK/token.txt")"
  echo "[$(sed -n 2p "$WORK/token.txt")]" >"$WORK/cameras.json"
  jq -e 'length == 1' "$WORK/cameras.json" >/dev/null || fail "the token command's line 2 is not a credentials entry: $(cat "$WORK/token.txt")"
  chmod 644 "$WORK/cameras.json"
  phase "provider + camera token" "$t0"

  # 1. up
  t0="$(now_ms)"
  export LOOMWATCH_API_TOKEN LOOMWATCH_SESSION_SECRET LOOMWATCH_CAMERA_CREDENTIALS="$WORK/cameras.json" \
    LOOMWATCH_OIDC_ISSUER="$ISSUER" LOOMWATCH_OIDC_CLIENT_ID=loomwatch-dashboard \
    LOOMWATCH_OIDC_CLIENT_SECRET=loomwatch-dashboard-dev-secret AITEX_DIR
  LOOMWATCH_API_TOKEN="$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')"
  LOOMWATCH_SESSION_SECRET="$(head -c 32 /dev/urandom | base64)"
  compose up -d --no-build --pull never >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; fail "compose up"; }
  for t in "${!OPS[@]}"; do
    wait_for 300 "$t's /healthz on 127.0.0.1:${OPS[$t]}" curl -fs "http://127.0.0.1:${OPS[$t]}/healthz"
  done
  [[ "$(docker inspect -f '{{.State.ExitCode}}' "$(compose ps -a -q kafka-init)")" == 0 ]] || fail "kafka-init did not exit 0"
  local topics
  topics="$(kcat -L -b "$KAFKA" -m 5 | grep -c '^  topic "' || true)"
  say "up: every service answers /healthz; kafka-init made $topics topics"
  phase "compose up → all /healthz" "$t0"

  # 2. frames through the gateway, the worker deciding them killed, exactly one committed verdict each
  t0="$(now_ms)"
  : >"$WORK/frame-ids"
  local seq victim owner port decided1 decided2 before t_kill
  seq=$(( $(date +%s) * 1000 ))
  # The frames go in from the background, so that some are still arriving and under way at the kill.
  ( for ((i = 0; i < FRAMES; i++)); do post_frame "${frames[$i]}" $((seq + i)); done ) &
  local poster=$!
  wait_for 300 "a first verdict" verdicts_for_all 1
  # One camera's frames share a partition, so one worker decides them: kill that one while it has
  # a frame in flight (loomwatch_frames_in_flight > 0), so that its open transaction is cut.
  decided1="$(frames_decided 36464)"
  decided2="$(frames_decided 36474)"
  if ((decided2 > decided1)); then owner=inference-worker-2; port=36474; else owner=inference-worker-1; port=36464; fi
  POLL=0.1 wait_for 120 "$owner with a frame in flight" in_flight "$port"
  victim="$(compose ps -q "$owner")"
  docker kill "$victim" >/dev/null
  t_kill="$(now_ms)"
  before="$(committed_verdict_frames | sort -u | grep -cFxf "$WORK/frame-ids" || true)"
  say "$before of $FRAMES frames decided when $owner (decided: worker-1 $decided1, worker-2 $decided2; a frame in flight) was killed (SIGKILL)"
  wait "$poster" || fail "posting the frames to the gateway failed"
  [[ "$(wc -l <"$WORK/frame-ids")" -eq "$FRAMES" ]] || fail "the gateway accepted $(wc -l <"$WORK/frame-ids") of $FRAMES frames"
  wait_for 600 "committed verdicts for all $FRAMES frames" verdicts_for_all "$FRAMES"
  local duplicates uncommitted
  duplicates="$(committed_verdict_frames | grep -Fxf "$WORK/frame-ids" | sort | uniq -d | wc -l)"
  ((duplicates == 0)) || fail "$duplicates frames have more than one committed verdict"
  [[ "$(sort -u "$WORK/frame-ids" | wc -l)" -eq "$FRAMES" ]] || fail "the gateway answered fewer distinct frame ids than frames sent"
  # read_uncommitted also shows the records of aborted transactions: more than FRAMES means the
  # kill cut a transaction whose verdicts were written, and read_committed hid them.
  uncommitted="$(kcat -C -b "$KAFKA" -t verdicts.v1 -X isolation.level=read_uncommitted -o beginning -e -q -f '%s\n' 2>/dev/null | jq -r '.frameId' | grep -cFxf "$WORK/frame-ids" || true)"
  say "exactly once: $FRAMES frames, $FRAMES committed verdicts, none twice; the rest decided $(( ($(now_ms) - t_kill) / 1000 )) s after the kill by the other worker; $uncommitted verdict records read_uncommitted ($((uncommitted - FRAMES)) of aborted transactions); $owner restarted by Docker: $(docker inspect -f '{{.RestartCount}}' "$victim") times (docker kill counts as a manual stop)"
  phase "$FRAMES frames, kill, verdicts" "$t0"

  # 3. sign-in: the dashboard sends to the provider, its form, back to the callback, a session
  t0="$(now_ms)"
  local jar="$WORK/cookies" authorize page action me
  authorize="$(curl -fsS -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "$DASHBOARD/auth/login?returnTo=%2F")"
  [[ "$authorize" == "$ISSUER/"* ]] || fail "/auth/login did not send to the provider: '$authorize'"
  page="$(curl -fsS -L -c "$jar" -b "$jar" "$authorize")"
  action="$(grep -o '<form[^>]*action="[^"]*"' <<<"$page" | sed 's/.*action="\([^"]*\)".*/\1/' | head -n 1)"
  [[ -n "$action" ]] || fail "the provider's sign-in page has no form"
  [[ "$action" == http* ]] || action="$ISSUER$action"
  curl -fsS -L -c "$jar" -b "$jar" -o /dev/null --data-urlencode username=erin --data-urlencode password=erin-demo "$action" ||
    fail "signing in at the provider and back through /auth/callback"
  me="$(curl -fsS -b "$jar" "$DASHBOARD/api/me")" || fail "/api/me with the session cookie"
  jq -e '.name == "Erin Engineer" and .role == "engineer"' <<<"$me" >/dev/null || fail "/api/me answered $me"
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "$DASHBOARD/api/me")" == 401 ]] || fail "/api/me without a session is not 401"
  say "dashboard: signed in as erin through $ISSUER: $(jq -c '{name, role}' <<<"$me")"
  phase "dashboard sign-in" "$t0"

  # 4. down
  t0="$(now_ms)"
  compose down -v --timeout 30 >"$WORK/down.log" 2>&1 || { cat "$WORK/down.log" >&2; fail "compose down"; }
  [[ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")" ]] || fail "containers of $PROJECT left after down"
  [[ -z "$(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT")" ]] || fail "volumes of $PROJECT left after down"
  phase "compose down -v" "$t0"

  say "passed"
  printf '  %s\n' "${PHASES[@]}"
  say "total $(seconds_since "$T_START") s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
}

main "$@"
