#!/usr/bin/env bash
# The six service images' own smoke, without any infrastructure: each image's command with
# `--help` exits 0 and prints its usage, as the user (uid 1000) the image runs as, with no network.
# That /healthz answers when they run against Kafka and S3 on the host's network is
# `make compose-smoke` (deploy/compose/smoke.sh), which starts all six.
set -euo pipefail
readonly IMAGE_TAG="${IMAGE_TAG:-dev}"
readonly SERVICES=(inference-worker camera-gateway alerting drift-monitor inference-api dashboard)
failed=0
for s in "${SERVICES[@]}"; do
  image="loomwatch/$s:$IMAGE_TAG"
  # Images with an ENTRYPOINT take `--help` as its argument; the others get their CMD + `--help`.
  entrypoint="$(docker image inspect -f '{{json .Config.Entrypoint}}' "$image")"
  if [[ "$entrypoint" == null || "$entrypoint" == '[]' ]]; then
    mapfile -t cmd < <(docker image inspect -f '{{range .Config.Cmd}}{{println .}}{{end}}' "$image" | sed '/^$/d')
    args=("${cmd[@]}" --help)
  else
    args=(--help)
  fi
  t0="$(date +%s%3N)"
  if out="$(docker run --rm --network none "$image" "${args[@]}" 2>&1)"; then
    echo "check-services.sh: $image --help: exit 0 in $(($(date +%s%3N) - t0)) ms, uid $(docker image inspect -f '{{.Config.User}}' "$image"): $(grep -m1 -i 'usage' <<<"$out" || head -n 1 <<<"$out")"
  else
    echo "check-services.sh: $image --help FAILED:" >&2
    tail -n 20 <<<"$out" >&2
    failed=1
  fi
done
exit "$failed"
