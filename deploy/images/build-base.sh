#!/usr/bin/env bash
# Builds the base images without any image registry, from what a plant's mirrors serve (Debian,
# the npm registry, Maven Central):
#   loomwatch/debian:bookworm              debootstrap --variant=minbase → docker import
#   loomwatch/jre:17-bookworm              + Debian's openjdk-17-jre-headless
#   loomwatch/kafka:<version>              + the Kafka jars deploy/local/infra.sh fetches (kafka/pom.xml)
#   loomwatch/s3proxy:<version>            + the S3Proxy jars infra.sh fetches (s3proxy/pom.xml)
#   loomwatch/node:<version>-bookworm-slim + the npm registry's node-linux-<arch> (the Makefile's
#                                            NODE_VERSION) and npm: NODE_IMAGE for deploy/docker/*
# usage: deploy/images/build-base.sh [debian|jre|kafka|s3proxy|node ...]   (none: all, in that order)
# Each image carries a label with the hash of its inputs (Dockerfile, context files, build
# arguments, parent image id); an image whose inputs did not change is not built again. Slow
# things are cached under .loomwatch/images/: the debootstrap root file system (as a tarball)
# and the downloads. Settings: DEBIAN_MIRROR (http://deb.debian.org/debian), NPM_REGISTRY
# (https://registry.npmjs.org), LOOMWATCH_CACHE (infra.sh's jar cache, ~/.cache/loomwatch).
# Ensures an engine first (engine.sh). Builds run with --network host (no bridge traffic).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
readonly HERE REPO_ROOT
readonly WORK="${LOOMWATCH_IMAGES_CACHE:-$REPO_ROOT/.loomwatch/images}"
readonly JAR_CACHE="${LOOMWATCH_CACHE:-$HOME/.cache/loomwatch}"
readonly DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly DEBIAN_SUITE=bookworm
readonly NPM_REGISTRY="${NPM_REGISTRY:-https://registry.npmjs.org}"
# The npm bundled with the Node release below (the official node image ships the same).
readonly NPM_VERSION=11.6.0
readonly LABEL=org.loomwatch.inputs
readonly SITE_CA_DIR=/usr/local/share/ca-certificates
readonly DEBIAN_RECIPE=1

NODE_VERSION="$(sed -n 's/^NODE_VERSION := *//p' "$REPO_ROOT/Makefile")"
KAFKA_VERSION="$(sed -n 's:.*<loomwatch.kafka.version>\(.*\)</loomwatch.kafka.version>.*:\1:p' "$REPO_ROOT/deploy/local/kafka/pom.xml")"
S3PROXY_VERSION="$(sed -n 's:.*<loomwatch.s3proxy.version>\(.*\)</loomwatch.s3proxy.version>.*:\1:p' "$REPO_ROOT/deploy/local/s3proxy/pom.xml")"
readonly NODE_VERSION KAFKA_VERSION S3PROXY_VERSION
readonly DEBIAN_IMAGE="loomwatch/debian:$DEBIAN_SUITE"
readonly JRE_IMAGE="loomwatch/jre:17-$DEBIAN_SUITE"
readonly KAFKA_IMAGE="loomwatch/kafka:$KAFKA_VERSION"
readonly S3PROXY_IMAGE="loomwatch/s3proxy:$S3PROXY_VERSION"
readonly NODE_IMAGE="loomwatch/node:$NODE_VERSION-$DEBIAN_SUITE-slim"

die() { echo "build-base.sh: error: $*" >&2; exit 1; }
say() { echo "build-base.sh: $*"; }
now_ms() { date +%s%3N; }
secs() { local ms=$(($(now_ms) - $1)); printf '%d.%01d' $((ms / 1000)) $((ms % 1000 / 100)); }

image_label() { docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || die "image $1 is missing"; }

# Hash of a build's inputs: its Dockerfile, every file of its context (path + content), the
# build arguments and the parent image's id.
inputs_hash() {
  local dockerfile="$1" context="$2" parent="$3"
  shift 3
  {
    sha256sum "$dockerfile" | cut -d' ' -f1
    (cd "$context" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    printf '%s\n' "$@"
    image_id "$parent"
  } | sha256sum | cut -c1-16
}

# build_image TAG DOCKERFILE CONTEXT PARENT [NAME=VALUE build args...]
build_image() {
  local tag="$1" dockerfile="$2" context="$3" parent="$4" hash t0 args=() a
  shift 4
  for a in "$@"; do args+=(--build-arg "$a"); done
  hash="$(inputs_hash "$dockerfile" "$context" "$parent" "$@")"
  if [[ "$(image_label "$tag")" == "$hash" ]]; then
    say "$tag: up to date (inputs $hash)"
    return 0
  fi
  t0="$(now_ms)"
  mkdir -p "$WORK/logs"
  local log="$WORK/logs/${tag//[\/:]/_}.log"
  if ! docker build --network host -f "$dockerfile" --label "$LABEL=$hash" "${args[@]}" -t "$tag" "$context" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "building $tag failed (log: $log)"
  fi
  say "$tag: built in $(secs "$t0") s, $(docker image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }') (log: $log)"
}

# ---------------------------------------------------------------------------------------------

build_debian() {
  local dir="$WORK/debian-$DEBIAN_SUITE" hash t0
  # DEBIAN_RECIPE: bump when the steps below change what the root file system holds.
  hash="$(printf '%s\n' "$DEBIAN_SUITE" minbase "$DEBIAN_MIRROR" "$DEBIAN_RECIPE" | sha256sum | cut -c1-16)"
  if [[ "$(image_label "$DEBIAN_IMAGE")" == "$hash" ]]; then
    say "$DEBIAN_IMAGE: up to date (inputs $hash)"
    return 0
  fi
  mkdir -p "$dir"
  if [[ ! -s "$dir/rootfs-$hash.tar" ]]; then
    [[ "$(id -u)" -eq 0 ]] || die "debootstrap needs root: run as root, or 'docker pull debian:$DEBIAN_SUITE-slim && docker tag debian:$DEBIAN_SUITE-slim $DEBIAN_IMAGE'"
    if ! command -v debootstrap >/dev/null 2>&1; then
      command -v apt-get >/dev/null 2>&1 || die "debootstrap not found: install it (Debian/Ubuntu: apt-get install debootstrap)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >"$dir/apt.log" 2>&1 ||
        die "installing debootstrap failed (log: $dir/apt.log)"
    fi
    t0="$(now_ms)"
    local rootfs="$dir/rootfs.tmp"
    rm -rf "$rootfs"
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$dir/debootstrap.log" 2>&1 ||
      die "debootstrap failed (log: $dir/debootstrap.log)"
    # Updates and security fixes for what the images install later; no package caches or lists.
    local mirror_root="${DEBIAN_MIRROR%/debian}"
    cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $DEBIAN_MIRROR $DEBIAN_SUITE main
deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main
deb $mirror_root/debian-security $DEBIAN_SUITE-security main
EOF
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log "$rootfs"/tmp/*
    tar --numeric-owner -C "$rootfs" -cf "$dir/rootfs-$hash.tar.tmp" .
    mv "$dir/rootfs-$hash.tar.tmp" "$dir/rootfs-$hash.tar"
    rm -rf "$rootfs"
    find "$dir" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-$hash.tar" -delete
    say "debootstrap --variant=minbase $DEBIAN_SUITE from $DEBIAN_MIRROR: $(secs "$t0") s (cached: $dir/rootfs-$hash.tar)"
  fi
  t0="$(now_ms)"
  docker import --change "LABEL $LABEL=$hash" --change 'CMD ["bash"]' "$dir/rootfs-$hash.tar" "$DEBIAN_IMAGE" >/dev/null
  say "$DEBIAN_IMAGE: imported in $(secs "$t0") s, $(docker image inspect -f '{{.Size}}' "$DEBIAN_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
}

build_jre() {
  local context="$WORK/ctx/jre"
  rm -rf "$context" && mkdir -p "$context"
  build_image "$JRE_IMAGE" "$HERE/jre.Dockerfile" "$context" "$DEBIAN_IMAGE" "DEBIAN_IMAGE=$DEBIAN_IMAGE"
}

# The jar folder infra.sh fetched for component $1 (its cache key: version + POM hash).
jar_dir() {
  local name="$1" pom="$REPO_ROOT/deploy/local/$1/pom.xml" version
  version="$(sed -n "s:.*<loomwatch.$name.version>\(.*\)</loomwatch.$name.version>.*:\1:p" "$pom")"
  local dir
  dir="$JAR_CACHE/$name-$version-$(sha256sum "$pom" | cut -c1-8)"
  if [[ ! -s "$dir/classpath" ]]; then
    say "fetching the $name jars with deploy/local/infra.sh fetch" >&2
    bash "$REPO_ROOT/deploy/local/infra.sh" fetch >&2
  fi
  [[ -s "$dir/classpath" ]] || die "no $name jars in $dir after infra.sh fetch"
  echo "$dir/lib"
}

build_kafka() {
  local context="$WORK/ctx/kafka" libs
  libs="$(jar_dir kafka)"
  rm -rf "$context" && mkdir -p "$context/libs"
  cp -l "$libs"/*.jar "$context/libs/" 2>/dev/null || cp "$libs"/*.jar "$context/libs/"
  cp "$REPO_ROOT/deploy/local/kafka/log4j2.properties" "$HERE/kafka-start.sh" "$HERE/kafka-broker-api-versions.sh" "$context/"
  build_image "$KAFKA_IMAGE" "$HERE/kafka.Dockerfile" "$context" "$JRE_IMAGE" "JRE_IMAGE=$JRE_IMAGE" "KAFKA_VERSION=$KAFKA_VERSION"
}

build_s3proxy() {
  local context="$WORK/ctx/s3proxy" libs
  libs="$(jar_dir s3proxy)"
  rm -rf "$context" && mkdir -p "$context/libs"
  cp -l "$libs"/*.jar "$context/libs/" 2>/dev/null || cp "$libs"/*.jar "$context/libs/"
  cp "$REPO_ROOT/deploy/local/s3proxy/logback.xml" "$HERE/s3proxy-start.sh" "$HERE/s3proxy-health.sh" "$context/"
  build_image "$S3PROXY_IMAGE" "$HERE/s3proxy.Dockerfile" "$context" "$JRE_IMAGE" "JRE_IMAGE=$JRE_IMAGE" "S3PROXY_VERSION=$S3PROXY_VERSION"
}

# download URL FILE: once, into the cache (a partial download never takes the final name).
download() {
  local url="$1" file="$2"
  [[ -s "$file" ]] && gzip -t "$file" 2>/dev/null && return 0
  mkdir -p "$(dirname "$file")"
  curl -fsSL --retry 3 -o "$file.tmp" "$url" || die "downloading $url failed: check the network or set NPM_REGISTRY to your mirror"
  gzip -t "$file.tmp" || die "$url is not a gzip tarball"
  mv "$file.tmp" "$file"
}

build_node() {
  local arch pkg context="$WORK/ctx/node" downloads="$WORK/downloads"
  case "$(uname -m)" in aarch64 | arm64) arch=arm64 ;; *) arch=x64 ;; esac
  pkg="node-linux-$arch"
  download "$NPM_REGISTRY/$pkg/-/$pkg-$NODE_VERSION.tgz" "$downloads/$pkg-$NODE_VERSION.tgz"
  download "$NPM_REGISTRY/npm/-/npm-$NPM_VERSION.tgz" "$downloads/npm-$NPM_VERSION.tgz"
  rm -rf "$context" && mkdir -p "$context"
  cp -l "$downloads/$pkg-$NODE_VERSION.tgz" "$context/node.tgz" 2>/dev/null || cp "$downloads/$pkg-$NODE_VERSION.tgz" "$context/node.tgz"
  cp -l "$downloads/npm-$NPM_VERSION.tgz" "$context/npm.tgz" 2>/dev/null || cp "$downloads/npm-$NPM_VERSION.tgz" "$context/npm.tgz"
  # Site CAs (a TLS-inspecting proxy's): NODE_EXTRA_CA_CERTS only when there are some (node warns
  # about an empty file). LOOMWATCH_SITE_CAS=none leaves them out.
  local site_cas=""
  : >"$context/site-cas.pem"
  if [[ "${LOOMWATCH_SITE_CAS:-}" != none ]] && compgen -G "$SITE_CA_DIR/*.crt" >/dev/null; then
    cat "$SITE_CA_DIR"/*.crt >"$context/site-cas.pem"
    site_cas=/usr/local/share/ca-certificates/loomwatch-site-cas.pem
    say "$NODE_IMAGE: node trusts the site CAs of $SITE_CA_DIR ($(grep -c 'BEGIN CERTIFICATE' "$context/site-cas.pem") certificates) besides its own"
  fi
  build_image "$NODE_IMAGE" "$HERE/node.Dockerfile" "$context" "$DEBIAN_IMAGE" "DEBIAN_IMAGE=$DEBIAN_IMAGE" "NODE_VERSION=$NODE_VERSION" "SITE_CAS=$site_cas"
}

DONE=" "
once() { [[ "$DONE" == *" $1 "* ]] && return 0; "build_$1"; DONE+="$1 "; }

main() {
  local targets=("$@") t t0
  ((${#targets[@]})) || targets=(debian jre kafka s3proxy node)
  for t in "${targets[@]}"; do
    case "$t" in debian | jre | kafka | s3proxy | node) ;; *) die "unknown image '$t' (debian, jre, kafka, s3proxy, node)" ;; esac
  done
  t0="$(now_ms)"
  bash "$HERE/engine.sh" ensure
  for t in "${targets[@]}"; do
    # An image needs its parents: build (or confirm) them first, each once.
    case "$t" in
      jre | node) once debian ;;
      kafka | s3proxy) once debian; once jre ;;
    esac
    once "$t"
  done
  say "done in $(secs "$t0") s"
}

main "$@"
