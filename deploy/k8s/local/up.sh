#!/usr/bin/env bash
# A single-node Kubernetes (k3s) on a machine with no image registry, built from the registries a
# plant mirrors: k3s and CoreDNS from the Go module proxy, the pod sandbox ("pause") compiled from
# pause.c beside this file, the CNI plugins from Debian (containernetworking-plugins), every image
# imported from the local Docker engine (deploy/images, `make images`). See deploy/k8s/README.md,
# "On a machine with no image registry", for what ran and what did not.
#
#   deploy/k8s/local/up.sh build    k3s, coredns (Go module proxy) and pause (gcc -static) into $DIR/bin
#   deploy/k8s/local/up.sh start    the images into k3s's airgap folder, then k3s server (background)
#   deploy/k8s/local/up.sh apply    CoreDNS, the dev overlay's Kafka and S3 (servers.yaml), the dev overlay
#   deploy/k8s/local/up.sh smoke    one AITEX frame through the gateway's HTTP ingest, its verdict read on the host
#   deploy/k8s/local/up.sh stop     k3s and everything it started (by its pid), the pods' mounts
#   deploy/k8s/local/up.sh kubectl  … (kubectl with this cluster's kubeconfig)
#
# Root on Debian (k3s runs containerd and sets up pod networks). Ports: API 35443 (its own
# apiserver 35444), the smoke's port-forwards 35180 (gateway) and 35192 (Kafka); the kubelet's
# 10248/10250 and kube-proxy's 10249/10256 are k3s's defaults. Everything lives in $DIR
# (LOOMWATCH_K3S_DIR, default .loomwatch/k3s): binaries, k3s's data, kubeconfig, logs.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../../.." && pwd)"
readonly HERE REPO_ROOT
readonly DIR="${LOOMWATCH_K3S_DIR:-$REPO_ROOT/.loomwatch/k3s}"
readonly BIN="$DIR/bin" DATA="$DIR/data" LOG="$DIR/k3s.log" PID="$DIR/k3s.pid" KUBECONFIG_FILE="$DIR/kubeconfig"
# k3s has no tags the Go proxy accepts (v1.35.1+k3s1 carries build metadata): a pseudo-version of
# its main branch at v1.35.1, whose go.mod pins Kubernetes v1.35.1-k3s1, containerd v2.1.5-k3s1.
readonly K3S_MODULE_VERSION="${K3S_MODULE_VERSION:-v1.35.1-0.20260211145931-c5b158798933}"
readonly COREDNS_VERSION="${COREDNS_VERSION:-v1.14.1}"
readonly API_PORT=35443
readonly PAUSE_IMAGE=loomwatch/pause:3.10
readonly COREDNS_IMAGE="loomwatch/coredns:${COREDNS_VERSION#v}"
readonly NAMESPACE=loomwatch-dev
# What the dev overlay and servers.yaml run (deploy/k8s/base names the service images, tag dev).
readonly IMAGES=(
  "$PAUSE_IMAGE" "$COREDNS_IMAGE" loomwatch/kafka:4.1.2 loomwatch/s3proxy:3.3.0
  loomwatch/inference-worker:dev loomwatch/camera-gateway:dev loomwatch/alerting:dev
  loomwatch/drift-monitor:dev loomwatch/inference-api:dev loomwatch/dashboard:dev
)

die() { echo "k3s up.sh: error: $*" >&2; exit 1; }
say() { echo "k3s up.sh: $*"; }
now() { date +%s; }
go_bin() { command -v go 2>/dev/null || { [[ -x /usr/local/go/bin/go ]] && echo /usr/local/go/bin/go; } || die "go not found: install Go 1.25+ (https://go.dev/dl or your mirror)"; }
kc() { KUBECONFIG="$KUBECONFIG_FILE" "$BIN/kubectl" "$@"; }

# ---------------------------------------------------------------------------------------------
# build

# k3s's server binary from its module source: no git clone, no downloaded charts (-tags no_stage:
# k3s writes none of its packaged manifests, so traefik, metrics-server, local-path and its own
# CoreDNS are not installed). containerd, runc's shim and the CNI plugins k3s normally ships
# beside it come from Debian (containerd, runc, containernetworking-plugins).
build_k3s() {
  [[ -x "$BIN/k3s" ]] && return 0
  local go src t0
  go="$(go_bin)"
  t0="$(now)"
  say "downloading github.com/k3s-io/k3s@$K3S_MODULE_VERSION from the Go module proxy"
  src="$("$go" mod download -json "github.com/k3s-io/k3s@$K3S_MODULE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$src" ]] || die "go mod download gave no source folder for k3s"
  rm -rf "$DIR/k3s-src" && mkdir -p "$DIR" && cp -r "$src" "$DIR/k3s-src" && chmod -R u+w "$DIR/k3s-src"
  # k3s refuses to start unless UpstreamGolang names the Go that built it (upstream: Kubernetes'
  # build/dependencies.yaml, go1.25 for v1.35); here it is whatever Go this machine has.
  say "building k3s (Kubernetes, containerd, kine: about 4,000 packages, long on a small machine)"
  (cd "$DIR/k3s-src" && CGO_ENABLED=1 CGO_CFLAGS="-DSQLITE_ENABLE_DBSTAT_VTAB=1 -DSQLITE_USE_ALLOCA=1" \
    "$go" build -tags "ctrd netcgo osusergo providerless urfave_cli_no_docs sqlite_omit_load_extension no_stage" \
    -ldflags "-w -s -X github.com/k3s-io/k3s/pkg/version.Version=v1.35.1+k3s-local -X github.com/k3s-io/k3s/pkg/version.UpstreamGolang=$("$go" env GOVERSION) -X k8s.io/component-base/version.gitVersion=v1.35.1+k3s-local -X k8s.io/client-go/pkg/version.gitVersion=v1.35.1+k3s-local" \
    -o "$BIN/k3s.tmp" ./cmd/server) || die "the k3s build failed"
  mv "$BIN/k3s.tmp" "$BIN/k3s"
  say "k3s built in $(($(now) - t0)) s"
}

# CoreDNS with only the plugins coredns.yaml's Corefile uses (its full plugin set pulls every
# cloud SDK).
build_coredns() {
  [[ -x "$BIN/coredns" ]] && return 0
  local go src t0
  go="$(go_bin)"
  t0="$(now)"
  src="$("$go" mod download -json "github.com/coredns/coredns@$COREDNS_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$src" ]] || die "go mod download gave no source folder for coredns"
  rm -rf "$DIR/coredns-src" && cp -r "$src" "$DIR/coredns-src" && chmod -R u+w "$DIR/coredns-src"
  {
    echo 'package plugin'
    echo 'import ('
    for p in cache errors forward health kubernetes loadbalance log loop metrics ready reload; do echo "	_ \"github.com/coredns/coredns/plugin/$p\""; done
    echo ')'
  } >"$DIR/coredns-src/core/plugin/zplugin.go"
  (cd "$DIR/coredns-src" && CGO_ENABLED=0 "$go" build -ldflags "-s -w" -o "$BIN/coredns" .) || die "the coredns build failed"
  say "coredns built in $(($(now) - t0)) s"
}

build_pause() {
  [[ -x "$BIN/pause" ]] && return 0
  command -v gcc >/dev/null 2>&1 || die "gcc not found: apt-get install gcc libc6-dev"
  gcc -Os -static -o "$BIN/pause" "$HERE/pause.c"
}

# An image holding one static binary (docker import of a one-file tar: no base image to pull).
binary_image() {
  local binary="$1" image="$2" entrypoint="$3" tmp
  docker image inspect "$image" >/dev/null 2>&1 && return 0
  tmp="$(mktemp -d)"
  cp "$binary" "$tmp/$(basename "$entrypoint")"
  tar -C "$tmp" -c . | docker import --change "ENTRYPOINT [\"$entrypoint\"]" --change 'USER 65532:65532' - "$image" >/dev/null
  rm -rf "$tmp"
}

cmd_build() {
  mkdir -p "$BIN"
  build_pause
  build_coredns
  build_k3s
  for tool in containerd-shim-runc-v2 runc; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found: apt-get install containerd runc (Debian's; k3s builds its own with its release tooling)"
  done
  [[ -x /usr/lib/cni/host-local && -x /usr/lib/cni/bridge ]] || die "the CNI plugins are missing: apt-get install containernetworking-plugins"
  ln -sf k3s "$BIN/containerd"; ln -sf k3s "$BIN/kubectl"; ln -sf k3s "$BIN/ctr"; ln -sf k3s "$BIN/crictl"
  say "built: $(ls "$BIN" | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------------------------
# start / stop

running_pid() {
  [[ -s "$PID" ]] || return 1
  local pid
  pid="$(cat "$PID")"
  kill -0 "$pid" 2>/dev/null && [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" == *"$BIN/k3s server"* ]] || return 1
  echo "$pid"
}

# The pod network: a plain bridge (no flannel: its CNI plugin is not in Debian's set, and one node
# needs no overlay), host-local addresses from k3s's default cluster CIDR, portmap for hostPorts.
# With --flannel-backend none k3s leaves containerd's CNI folders at their defaults
# (/etc/cni/net.d, /opt/cni/bin): the one file and the plugin links below are all this puts there.
readonly CNI_CONF=/etc/cni/net.d/10-loomwatch-k3s.conflist CNI_PLUGINS=(bridge host-local portmap loopback)
write_cni_config() {
  mkdir -p /etc/cni/net.d /opt/cni/bin
  local p
  for p in "${CNI_PLUGINS[@]}"; do [[ -e "/opt/cni/bin/$p" ]] || ln -s "/usr/lib/cni/$p" "/opt/cni/bin/$p"; done
  cat >"$CNI_CONF" <<'EOF'
{
  "cniVersion": "1.0.0",
  "name": "loomwatch-k3s",
  "plugins": [
    {"type": "bridge", "bridge": "lwk3s0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.42.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

# containerd's CRI must not lower a sandbox's oom_score_adj below its own: in a container (this
# machine is one) the kernel refuses it and runc fails every pod with "nsexec: failed to update
# /proc/self/oom_score_adj: Permission denied". k3s sets restrict_oom_score_adj only when rootless;
# here its own rendered config, plus that line, becomes the template k3s renders instead (k3s
# writes config.toml at its first start: the first start therefore ends in a restart).
write_containerd_template() {
  local dir="$DATA/agent/etc/containerd"
  [[ -s "$dir/config-v3.toml.tmpl" ]] && return 0
  [[ -s "$dir/config.toml" ]] || return 1
  sed '/device_ownership_from_security_context/a\  restrict_oom_score_adj = true' "$dir/config.toml" >"$dir/config-v3.toml.tmpl"
}

cmd_start() {
  [[ "$(id -u)" -eq 0 ]] || die "k3s needs root (containerd, pod networks)"
  [[ -x "$BIN/k3s" ]] || die "no k3s in $BIN: run '$0 build' first"
  if pid="$(running_pid)"; then say "k3s already runs (pid $pid)"; return 0; fi
  docker info >/dev/null 2>&1 || die "no Docker engine answers: the images come from it (bash deploy/images/engine.sh)"
  binary_image "$BIN/pause" "$PAUSE_IMAGE" /pause
  binary_image "$BIN/coredns" "$COREDNS_IMAGE" /coredns
  local missing=() image t0 i
  for image in "${IMAGES[@]}"; do docker image inspect "$image" >/dev/null 2>&1 || missing+=("$image"); done
  ((${#missing[@]} == 0)) || die "not in the Docker engine: ${missing[*]} (build them: make images)"
  t0="$(now)"
  # k3s imports (and pins) every tarball of agent/images when containerd starts: its air-gap path.
  mkdir -p "$DATA/agent/images"
  docker save "${IMAGES[@]}" -o "$DATA/agent/images/loomwatch.tar"
  say "images saved for import in $(($(now) - t0)) s ($(du -h "$DATA/agent/images/loomwatch.tar" | cut -f1))"
  write_cni_config
  local fresh=0
  write_containerd_template || fresh=1
  mkdir -p "$DATA/server/manifests"
  # setsid: k3s outlives this script; nice 19: pods inherit the low priority on a shared machine.
  PATH="$BIN:/usr/lib/cni:$PATH" setsid nice -n 19 "$BIN/k3s" server \
    --data-dir "$DATA" --write-kubeconfig "$KUBECONFIG_FILE" --write-kubeconfig-mode 600 \
    --https-listen-port "$API_PORT" --flannel-backend none \
    --disable-helm-controller --disable-cloud-controller \
    --pause-image "$PAUSE_IMAGE" --kubelet-arg fail-cgroupv1=false --kube-proxy-arg conntrack-max-per-core=0 \
    --kubelet-arg image-gc-high-threshold=100 --kubelet-arg 'eviction-hard=nodefs.available<1%,imagefs.available<1%' \
    >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PID"
  t0="$(now)"
  for ((i = 0; i < 600; i++)); do
    kill -0 "$(cat "$PID")" 2>/dev/null || { tail -n 30 "$LOG" >&2; die "k3s exited during start (log: $LOG)"; }
    [[ -s "$KUBECONFIG_FILE" ]] && kc get nodes 2>/dev/null | grep -q ' Ready ' && break
    sleep 1
  done
  kc get nodes 2>/dev/null | grep -q ' Ready ' || die "the node is not Ready after 600 s (log: $LOG)"
  say "k3s (pid $(cat "$PID")) has a Ready node after $(($(now) - t0)) s; kubeconfig $KUBECONFIG_FILE"
  if ((fresh)); then
    write_containerd_template || die "k3s wrote no containerd config.toml (log: $LOG)"
    say "restarting k3s once with restrict_oom_score_adj in containerd's config"
    cmd_stop
    cmd_start
  fi
}

cmd_stop() {
  local pid i
  if pid="$(running_pid)"; then
    kill -TERM "$pid"
    for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    say "k3s (pid $pid) stopped"
  else
    say "k3s: not running"
  fi
  rm -f "$PID"
  # containerd's shims and the pods' processes outlive k3s by design: end those of this data dir.
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address /run/k3s/containerd/containerd.sock" || true); do kill -TERM "$pid" 2>/dev/null || true; done
  # A shim's end leaves its containers' processes to init (seen: Kafka, S3Proxy and the pause
  # processes still running after a stop): end every process in the pods' cgroups.
  for pid in $(grep -l '/kubepods/' /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3 || true); do kill -KILL "$pid" 2>/dev/null || true; done
  { grep -o " $DATA/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount "$m" 2>/dev/null || true; done
  { grep -o " /run/k3s/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount "$m" 2>/dev/null || true; done
  ip link delete lwk3s0 2>/dev/null || true
  # kube-proxy's and the network policy controller's rules (k3s-killall.sh does the same); the
  # Docker engine's chains are left as they are.
  iptables-save | grep -vE 'KUBE-|CNI-' | iptables-restore
  rm -f "$CNI_CONF"
  for p in "${CNI_PLUGINS[@]}"; do
    if [[ "$(readlink "/opt/cni/bin/$p" 2>/dev/null)" == "/usr/lib/cni/$p" ]]; then rm -f "/opt/cni/bin/$p"; fi
  done
}

# ---------------------------------------------------------------------------------------------
# apply / smoke

wait_rollout() {
  local what="$1" ns="$2" t0
  t0="$(now)"
  kc -n "$ns" rollout status "$what" --timeout=600s >/dev/null || { kc -n "$ns" get pods -o wide >&2; die "$what in $ns did not roll out"; }
  say "$what ready in $(($(now) - t0)) s"
}

cmd_apply() {
  kc apply -f "$HERE/coredns.yaml" >/dev/null
  wait_rollout deployment/coredns kube-system
  kc apply -k "$REPO_ROOT/deploy/k8s/overlays/dev" >/dev/null
  kc apply -f "$HERE/servers.yaml" >/dev/null
  # Two cores hold less than the base's CPU requests (Kafka stayed Pending, "Insufficient cpu"):
  # the smoke's path only, one of each; the retrainer Job waits for a PVC no provisioner makes.
  kc -n "$NAMESPACE" scale deployment/inference-api deployment/dashboard deployment/drift-monitor deployment/alerting --replicas 0 >/dev/null
  kc -n "$NAMESPACE" scale deployment/camera-gateway statefulset/inference-worker --replicas 1 >/dev/null
  kc -n "$NAMESPACE" delete job retrainer --ignore-not-found >/dev/null
  wait_rollout deployment/kafka "$NAMESPACE"
  wait_rollout deployment/minio "$NAMESPACE"
  kc -n "$NAMESPACE" wait --for=condition=complete job/loomwatch-topics --timeout=600s >/dev/null || die "the loomwatch-topics Job did not complete"
  wait_rollout statefulset/inference-worker "$NAMESPACE"
  wait_rollout deployment/camera-gateway "$NAMESPACE"
  kc -n "$NAMESPACE" get pods -o wide
}

cmd_smoke() {
  command -v kcat >/dev/null 2>&1 || die "kcat not found (deploy/local/infra.sh fetch installs it)"
  local frame token="lw_dev-camera-line-1-cam-1-not-for-production" pf=() t0 verdict
  frame="$(find "${AITEX_DIR:-$REPO_ROOT/../shared/datasets/aitex}" -name '*.png' | sort | head -n 1)"
  [[ -n "$frame" ]] || die "no AITEX frame: set AITEX_DIR"
  kc -n "$NAMESPACE" port-forward svc/camera-gateway 35180:8080 >"$DIR/pf-gateway.log" 2>&1 & pf+=($!)
  kc -n "$NAMESPACE" port-forward deployment/kafka 35192:9094 >"$DIR/pf-kafka.log" 2>&1 & pf+=($!)
  trap 'kill "${pf[@]}" 2>/dev/null || true' EXIT
  sleep 3
  t0="$(now)"
  curl -fsS -X POST --data-binary "@$frame" -H "Authorization: Bearer $token" "http://127.0.0.1:35180/v1/frames?seq=$(now)" || die "the gateway refused the frame"
  echo
  for ((i = 0; i < 120; i++)); do
    verdict="$(kcat -b 127.0.0.1:35192 -X isolation.level=read_committed -C -t verdicts.v1 -o beginning -e -q 2>/dev/null | tail -n 1)"
    [[ -n "$verdict" ]] && break
    sleep 2
  done
  [[ -n "$verdict" ]] || die "no verdict on verdicts.v1 within 240 s"
  say "verdict after $(($(now) - t0)) s: ${verdict:0:300}"
}

case "${1:-}" in
  build) cmd_build ;;
  start) cmd_start ;;
  apply) cmd_apply ;;
  smoke) cmd_smoke ;;
  stop) cmd_stop ;;
  kubectl) shift; kc "$@" ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
