#!/usr/bin/env bash
# Real Apache Kafka (one KRaft node, broker + controller), S3Proxy (filesystem backend) and a
# development OpenID provider (oidc/, node) as local processes, for the demo and the integration
# tests on machines without Docker. Jars come from Maven Central (pinned in kafka/pom.xml and
# s3proxy/pom.xml) into a cache outside the repo, the provider's packages from the repo's pnpm
# install; state, logs and pid files live in a state directory. See README.md beside this file.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
readonly REPO_ROOT
readonly CACHE="${LOOMWATCH_CACHE:-$HOME/.cache/loomwatch}"
readonly STATE="${LOOMWATCH_STATE:-$CACHE/state}"
readonly HOST=127.0.0.1

readonly KAFKA_PORT="${KAFKA_PORT:-19092}"
readonly KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
readonly KAFKA_SECURE_PORT="${KAFKA_SECURE_PORT:-19094}"
readonly S3_PORT="${S3_PORT:-19000}"
readonly OIDC_PORT="${OIDC_PORT:-19080}"
readonly S3_REGION="${S3_REGION:-us-east-1}"
readonly S3_ACCESS_KEY_ID="${S3_ACCESS_KEY_ID:-loomwatch}"
readonly S3_SECRET_ACCESS_KEY="${S3_SECRET_ACCESS_KEY:-loomwatch-secret}"
readonly KAFKA_HEAP="${KAFKA_HEAP:-512m}"
readonly S3_HEAP="${S3_HEAP:-256m}"
readonly START_TIMEOUT="${LOOMWATCH_START_TIMEOUT:-60}"
readonly KAFKA_STOP_TIMEOUT=30
readonly S3_STOP_TIMEOUT=30
readonly OIDC_STOP_TIMEOUT=10
readonly DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

readonly KAFKA_DIR="$STATE/kafka"
readonly S3_DIR="$STATE/s3proxy"
readonly OIDC_DIR="$STATE/oidc"
readonly KAFKA_LOG="$KAFKA_DIR/kafka.log"
readonly S3_LOG="$S3_DIR/s3proxy.log"
readonly OIDC_LOG="$OIDC_DIR/oidc.log"
readonly KAFKA_PID="$KAFKA_DIR/kafka.pid"
readonly S3_PID="$S3_DIR/s3proxy.pid"
readonly OIDC_PID="$OIDC_DIR/oidc.pid"
readonly KAFKA_TLS="$KAFKA_DIR/tls"
readonly KAFKA_PRINCIPALS="$KAFKA_TLS/principals.env"
readonly KAFKA_MAIN=kafka.Kafka
readonly S3_MAIN=org.gaul.s3proxy.Main
readonly OIDC_MAIN="$HERE/oidc/src/main.ts"
# The development provider's one client (deploy/local/oidc/src/accounts.ts holds the same values).
readonly OIDC_CLIENT_ID=loomwatch-dashboard
readonly OIDC_CLIENT_SECRET=loomwatch-dashboard-dev-secret

die() { echo "infra.sh: error: $*" >&2; exit 1; }
say() { echo "infra.sh: $*"; }
now_ms() { date +%s%3N; }
elapsed() { local ms=$(($(now_ms) - $1)); printf '%d.%01d' $((ms / 1000)) $((ms % 1000 / 100)); }

usage() {
  cat <<EOF
usage: deploy/local/infra.sh <command>

  fetch      download the pinned Kafka and S3Proxy jars (Maven) into $CACHE; install kcat
  start      fetch if needed, start Kafka, S3Proxy and the dev OIDC provider, wait until all
             answer, write $STATE/env
  stop       stop all three (SIGTERM, then SIGKILL after a bound)
  status     say whether each runs and answers (exit 0 only if all answer)
  start-kafka / stop-kafka  start or stop only Kafka (data kept)
  start-s3   start only S3Proxy (data kept)
  stop-s3    stop only S3Proxy (data kept)
  restart-s3 stop-s3 then start-s3
  start-oidc / stop-oidc    start or stop only the development OpenID provider (node 24, no Java)
  reset      stop all and delete $STATE (topics, objects, logs, the provider's signing key)
  env        print the env file (KEY=VALUE lines) for the current settings
EOF
}

# ---------------------------------------------------------------------------------------------
# prerequisites

java_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then command -v java
  else return 1; fi
}

require_java() {
  local java spec settings
  java="$(java_bin)" || die "java not found: install a JDK 17 or newer (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
  settings="$("$java" -XshowSettings:properties -version 2>&1 || true)"
  spec="$(sed -n 's/^ *java\.specification\.version = //p' <<<"$settings")"
  [[ "$spec" =~ ^[0-9]+$ && "$spec" -ge 17 ]] ||
    die "$java is Java ${spec:-unknown}; Kafka 4 and S3Proxy 3 need Java 17 or newer: install it or set JAVA_HOME"
  JAVA="$java"
  # A class-data-sharing archive only fits the JVM build that wrote it.
  JAVA_BUILD="$(sed -n 's/^ *java\.vm\.version = //p' <<<"$settings" | tr -c 'A-Za-z0-9.\n-' _)"
}

as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 1; fi
}

ensure_kcat() {
  command -v kcat >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || die "kcat not found: install it (Debian/Ubuntu: apt-get install kcat, macOS: brew install kcat)"
  say "installing kcat with apt-get"
  mkdir -p "$CACHE"
  local log="$CACHE/apt-kcat.log"
  # A fresh machine may have no package lists yet; update only when the first try fails.
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q kcat >"$log" 2>&1; then
    if ! { as_root apt-get update -q && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q kcat; } >>"$log" 2>&1; then
      die "could not install kcat with apt-get (see $log): run 'sudo apt-get install kcat' yourself"
    fi
  fi
  command -v kcat >/dev/null 2>&1 || die "kcat still not on PATH after apt-get (see $log)"
}

# ---------------------------------------------------------------------------------------------
# fetch: jars into $CACHE/<name>-<version>-<pom hash>/, classpath file written last

pom_property() { sed -n "s:.*<$2>\(.*\)</$2>.*:\1:p" "$1" | head -n 1; }

hash_file() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -c1-8
  else shasum -a 256 "$1" | cut -c1-8; fi
}

# The cache key includes the POM's hash so that changing any pinned version fetches again.
dist_dir() {
  local name="$1" pom="$HERE/$1/pom.xml"
  echo "$CACHE/$name-$(pom_property "$pom" "loomwatch.$name.version")-$(hash_file "$pom")"
}

fetch_one() {
  local name="$1" pom="$HERE/$1/pom.xml" dir tmp log
  dir="$(dist_dir "$name")"
  [[ -s "$dir/classpath" ]] && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found: install Maven 3.8+ (e.g. apt-get install maven) to fetch the $name jars"
  mkdir -p "$CACHE"
  tmp="$dir.tmp.$$"
  log="$CACHE/fetch-$name.log"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  say "fetching $name jars from Maven Central into $dir"
  # shellcheck disable=SC2086 # LOOMWATCH_MAVEN_ARGS is a list of flags on purpose
  if ! mvn -B -q -Dstyle.color=never -f "$pom" ${LOOMWATCH_MAVEN_ARGS:-} \
      "$DEPENDENCY_PLUGIN:copy-dependencies" "$DEPENDENCY_PLUGIN:build-classpath" \
      -DincludeScope=runtime -DoutputDirectory="$tmp/lib" \
      -Dmdep.outputFile="$tmp/classpath" -Dmdep.prefix="$dir/lib" >"$log" 2>&1; then
    rm -rf "$tmp"
    sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -m 1 '^\[ERROR\]' >&2 || tail -n 5 "$log" >&2
    die "fetching the $name jars from Maven Central failed (log: $log): check the network or proxy (~/.m2/settings.xml) and run 'infra.sh fetch' again"
  fi
  [[ -s "$tmp/classpath" ]] || { rm -rf "$tmp"; die "Maven wrote no classpath for $name (log: $log)"; }
  rm -rf "$dir"
  mv "$tmp" "$dir"
}

cmd_fetch() {
  local t0
  t0="$(now_ms)"
  take_lock
  fetch_one kafka
  fetch_one s3proxy
  ensure_kcat
  say "fetch done in $(elapsed "$t0") s (kafka: $(dist_dir kafka), s3proxy: $(dist_dir s3proxy))"
}

# ---------------------------------------------------------------------------------------------
# processes

alive() {
  local pid="$1" state
  kill -0 "$pid" 2>/dev/null || return 1
  # An unreaped child still answers kill -0; a zombie is not a running server.
  if [[ -d /proc/self ]]; then
    state="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1 || true)"
    [[ -n "$state" && "$state" != Z ]]
  fi
}

# Prints the pid when the pid file names a live process that is our server (main class and this
# state dir on its command line), so a recycled pid is never mistaken for ours.
running_pid() {
  local pidfile="$1" main="$2" pid args
  [[ -s "$pidfile" ]] || return 1
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then args="$(tr '\0' ' ' <"/proc/$pid/cmdline")"
  else args="$(ps -ww -o args= -p "$pid" 2>/dev/null || true)"; fi
  [[ "$args" == *"$main"* && "$args" == *"$STATE"* ]] || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

port_owner() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(([^)]*' | head -n 1 | sed 's/users:((//' || true
}

require_port_free() {
  local port="$1" var="$2" owner
  port_open "$port" || return 0
  owner="$(port_owner "$port")"
  die "port $HOST:$port is already in use${owner:+ by $owner}, not by a server of this state dir: stop that process or choose another port with $var=<port>"
}

# Starts "$@" in its own session with stdin closed and output to the log; the process writes its
# own pid (the exec keeps it), so this works whether or not setsid has to fork.
launch() {
  local pidfile="$1" log="$2"
  shift 2
  rm -f "$pidfile"
  [[ -f "$log" ]] && mv -f "$log" "$log.1"
  echo "=== infra.sh launch $(date -u +%Y-%m-%dT%H:%M:%SZ) (full command line: /proc/<pid>/cmdline)" >"$log"
  # shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$log" 2>&1 9>&- &
  local i
  for ((i = 0; i < 100; i++)); do [[ -s "$pidfile" ]] && return 0; sleep 0.05; done
  die "could not launch $1 (no pid file $pidfile after 5 s)"
}

# Servers this invocation launched; a failed start stops them again rather than leave a
# half-started process holding the ports.
LAUNCHED_NOW=()

fail_start() {
  local what="$1" log="$2" why="$3" c
  echo "---- last lines of $log" >&2
  tail -n 30 "$log" >&2 || true
  echo "----" >&2
  for c in ${LAUNCHED_NOW[@]+"${LAUNCHED_NOW[@]}"}; do
    case "$c" in
      kafka) stop_one kafka "$KAFKA_PID" "$KAFKA_MAIN" "$KAFKA_STOP_TIMEOUT" >&2 ;;
      s3) stop_one s3 "$S3_PID" "$S3_MAIN" "$S3_STOP_TIMEOUT" >&2 ;;
      oidc) stop_one oidc "$OIDC_PID" "$OIDC_MAIN" "$OIDC_STOP_TIMEOUT" >&2 ;;
    esac
  done
  die "$what $why (log: $log)"
}

stop_one() {
  local what="$1" pidfile="$2" main="$3" bound="$4" pid i killed=0
  if ! pid="$(running_pid "$pidfile" "$main")"; then
    rm -f "$pidfile"
    say "$what: not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < bound * 10; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    say "$what: still running ${bound}s after SIGTERM, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    killed=1
    for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
  if ((killed)); then rm -f "$(dirname "$pidfile")/appcds.pending"; else cds_publish "$(dirname "$pidfile")"; fi
  say "$what: stopped (pid $pid)"
}

# Refuses to start over a running server whose generated config differs (other ports or
# credentials): the env file would then describe a server that is not the one running.
install_config() {
  local what="$1" file="$2" content="$3" pidfile="$4" main="$5" stop="${6:-stop}"
  if [[ -f "$file" ]] && [[ "$(cat "$file")" != "$content" ]] && running_pid "$pidfile" "$main" >/dev/null; then
    die "$what is running with other settings than the current environment asks for: run 'infra.sh $stop' first"
  fi
  printf '%s\n' "$content" >"$file"
}

# ---------------------------------------------------------------------------------------------
# Class-data sharing: on two cores both JVMs starting at once spend most of their start loading
# and verifying classes. The first run of a jar set records an AppCDS archive when the server
# exits (infra.sh stop); later starts map it (measured warm start of both: 15-18 s without,
# 4-6 s with, ~10 s with while the machine was busy). LOOMWATCH_APPCDS=0 turns it off.

# Prints the JVM flag for component $1 (kafka or s3proxy) whose state dir is $2, and notes a
# pending archive there for stop_one to move into place.
cds_flag() {
  local name="$1" dir="$2" jsa
  rm -f "$dir/appcds.pending"
  [[ "${LOOMWATCH_APPCDS:-1}" == 1 && -n "${JAVA_BUILD:-}" ]] || return 0
  jsa="$(dist_dir "$name")/appcds-$JAVA_BUILD.jsa"
  if [[ -s "$jsa" ]]; then
    echo "-XX:SharedArchiveFile=$jsa"
  else
    echo "$jsa" >"$dir/appcds.pending"
    echo "-XX:ArchiveClassesAtExit=$jsa.tmp.$$"
  fi
}

# After a clean exit, publishes the archive that the server wrote (rename, so a concurrent start
# never maps a half-written file).
cds_publish() {
  local dir="$1" jsa tmp
  [[ -s "$dir/appcds.pending" ]] || return 0
  jsa="$(cat "$dir/appcds.pending")"
  rm -f "$dir/appcds.pending"
  for tmp in "$jsa".tmp.*; do
    [[ -s "$tmp" && ! -s "$jsa" ]] && mv -f "$tmp" "$jsa"
    rm -f "$tmp"
  done
}

# ---------------------------------------------------------------------------------------------
# Kafka

kafka_config() {
  cat <<EOF
# Generated by deploy/local/infra.sh; edits are overwritten on the next start.
process.roles=broker,controller
node.id=1
# A static voter set rather than --standalone: nothing about the controller endpoint is stored in
# the log, so KAFKA_CONTROLLER_PORT may change between runs.
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT,SASL_SSL://$HOST:$KAFKA_SECURE_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,SASL_SSL://$HOST:$KAFKA_SECURE_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL

# The secured listener: TLS (a CA generated per state dir) and SCRAM-SHA-512 users, with ACLs
# (acls.txt). The plaintext listeners are loopback-only development access: their principal,
# ANONYMOUS, is a super user, so tests and tools there are not subject to the ACLs.
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$KAFKA_TLS/broker.p12
ssl.keystore.password=$(cat "$KAFKA_TLS/store.password")
ssl.key.password=$(cat "$KAFKA_TLS/store.password")
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
allow.everyone.if.no.acl.found=false
log.dirs=$KAFKA_DIR/data

# One node: every replication factor and min ISR is 1.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Fewer internal partitions than the default 50: the first group join and the first
# transaction create these topics, and 50 partitions each is slow on a small machine.
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4
share.coordinator.state.topic.num.partitions=4

auto.create.topics.enable=true
num.partitions=1
# Groups form at once instead of waiting 3 s for more members (as testcontainers does).
group.initial.rebalance.delay.ms=0

log.segment.bytes=16777216
log.retention.hours=168
log.retention.bytes=536870912
log.retention.check.interval.ms=60000
EOF
}

kafka_answers() {
  port_open "$KAFKA_PORT" || return 1
  kcat -L -b "$HOST:$KAFKA_PORT" -m 2 2>/dev/null | grep -q "at $HOST:$KAFKA_PORT"
}

# Stable per state dir: generated once (22 base64url characters = 16 random bytes, the form of
# a Kafka Uuid) and kept beside the data. One in 64 starts with '-', hence --cluster-id=<id>
# rather than -t <id> (which reads it as an option).
kafka_cluster_id() {
  local file="$KAFKA_DIR/cluster.id"
  if [[ ! -s "$file" ]]; then
    head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$file"
  fi
  cat "$file"
}

kafka_classpath() { cat "$(dist_dir kafka)/classpath"; }

# A random SCRAM password, in principals.env file $1, for every principal of acls.txt that has
# none yet (a principal added to the list after the state dir was made gets one at the next start).
principal_passwords() {
  local file="$1" principal key
  for principal in $(sed 's/#.*//' "$HERE/kafka/acls.txt" | awk 'NF == 5 { print $1 }' | sort -u); do
    key="LOOMWATCH_KAFKA_PASSWORD_$(tr '[:lower:]-' '[:upper:]_' <<<"$principal")"
    grep -q "^$key=" "$file" 2>/dev/null || echo "$key=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')" >>"$file"
  done
  chmod 600 "$file"
}

# The secured listener's material, made once per state dir: a CA, the broker's certificate for
# 127.0.0.1/localhost in a PKCS12 store, and a random SCRAM password per principal of acls.txt.
kafka_tls() {
  if [[ -s "$KAFKA_TLS/broker.p12" && -s "$KAFKA_PRINCIPALS" ]]; then
    principal_passwords "$KAFKA_PRINCIPALS"
    return 0
  fi
  command -v openssl >/dev/null 2>&1 || die "openssl not found: install it (apt-get install openssl) to make the secured listener's certificates"
  local tmp="$KAFKA_TLS.tmp.$$" log="$KAFKA_DIR/tls.log"
  rm -rf "$tmp" && mkdir -p "$tmp"
  head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$tmp/store.password"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 3650 -subj "/CN=Loomwatch local CA"
    openssl req -newkey rsa:2048 -nodes -keyout "$tmp/broker.key" -out "$tmp/broker.csr" -subj "/CN=localhost"
    printf 'subjectAltName=IP:%s,DNS:localhost\n' "$HOST" >"$tmp/san.ext"
    openssl x509 -req -in "$tmp/broker.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -out "$tmp/broker.pem" -days 3650 -extfile "$tmp/san.ext"
    openssl pkcs12 -export -in "$tmp/broker.pem" -inkey "$tmp/broker.key" -certfile "$tmp/ca.pem" -name broker \
      -out "$tmp/broker.p12" -passout "file:$tmp/store.password"
  } >"$log" 2>&1 || { rm -rf "$tmp"; die "making the secured listener's certificates failed (log: $log)"; }
  principal_passwords "$tmp/principals.env"
  chmod 600 "$tmp"/*.key "$tmp/store.password"
  rm -rf "$KAFKA_TLS" && mv "$tmp" "$KAFKA_TLS"
}

# The SCRAM users and ACLs of acls.txt, applied through the plaintext listener once Kafka answers
# (again whenever acls.txt or the passwords change). One JVM runs SecurePrincipals.java as source.
kafka_principals() {
  local stamp done_file="$KAFKA_TLS/principals.applied" log="$KAFKA_DIR/principals.log"
  stamp="$(cat "$HERE/kafka/acls.txt" "$HERE/kafka/SecurePrincipals.java" "$KAFKA_PRINCIPALS" | sha256sum | cut -c1-16)"
  [[ "$(cat "$done_file" 2>/dev/null)" == "$stamp" ]] && return 0
  "$JAVA" -Xmx128m -cp "$(kafka_classpath)" "$HERE/kafka/SecurePrincipals.java" "$HOST:$KAFKA_PORT" "$KAFKA_PRINCIPALS" "$HERE/kafka/acls.txt" >"$log" 2>&1 ||
    fail_start Kafka "$log" "could not create the SCRAM users and ACLs of the secured listener"
  echo "$stamp" >"$done_file"
}

# Sets LAUNCHED=1 when it started a process, 0 when Kafka was already running.
kafka_launch() {
  LAUNCHED=0
  mkdir -p "$KAFKA_DIR/data"
  kafka_tls
  install_config Kafka "$KAFKA_DIR/server.properties" "$(kafka_config)" "$KAFKA_PID" "$KAFKA_MAIN"
  if running_pid "$KAFKA_PID" "$KAFKA_MAIN" >/dev/null; then return 0; fi
  require_port_free "$KAFKA_PORT" KAFKA_PORT
  require_port_free "$KAFKA_CONTROLLER_PORT" KAFKA_CONTROLLER_PORT
  require_port_free "$KAFKA_SECURE_PORT" KAFKA_SECURE_PORT
  local cp cds log4j="-Dlog4j2.configurationFile=$HERE/kafka/log4j2.properties"
  cp="$(kafka_classpath)"
  cds="$(cds_flag kafka "$KAFKA_DIR")"
  if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
    "$JAVA" -Xmx256m "$log4j" -cp "$cp" kafka.tools.StorageTool format \
      --cluster-id="$(kafka_cluster_id)" -c "$KAFKA_DIR/server.properties" --ignore-formatted \
      >"$KAFKA_DIR/format.log" 2>&1 ||
      fail_start Kafka "$KAFKA_DIR/format.log" "storage format failed"
  fi
  # shellcheck disable=SC2086 # KAFKA_JAVA_OPTS is a list of flags on purpose
  launch "$KAFKA_PID" "$KAFKA_LOG" "$JAVA" "-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    ${cds:+"$cds"} ${KAFKA_JAVA_OPTS:-} "$log4j" -cp "$cp" "$KAFKA_MAIN" "$KAFKA_DIR/server.properties"
  LAUNCHED=1
}

# ---------------------------------------------------------------------------------------------
# S3Proxy

s3_config() {
  cat <<EOF
# Generated by deploy/local/infra.sh; edits are overwritten on the next start.
s3proxy.endpoint=http://$HOST:$S3_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$S3_ACCESS_KEY_ID
s3proxy.credential=$S3_SECRET_ACCESS_KEY
jclouds.provider=filesystem
jclouds.filesystem.basedir=$S3_DIR/data
EOF
}

# S3Proxy's health endpoint answers 200 {"status":"OK"} once Jetty serves requests.
s3_answers() {
  curl -fs -o /dev/null --max-time 2 "http://$HOST:$S3_PORT/healthz" 2>/dev/null
}

# Sets LAUNCHED=1 when it started a process, 0 when S3Proxy was already running.
s3_launch() {
  LAUNCHED=0
  mkdir -p "$S3_DIR/data"
  install_config S3Proxy "$S3_DIR/s3proxy.properties" "$(s3_config)" "$S3_PID" "$S3_MAIN"
  if running_pid "$S3_PID" "$S3_MAIN" >/dev/null; then return 0; fi
  require_port_free "$S3_PORT" S3_PORT
  local cds
  cds="$(cds_flag s3proxy "$S3_DIR")"
  # shellcheck disable=SC2086 # S3_JAVA_OPTS is a list of flags on purpose
  launch "$S3_PID" "$S3_LOG" "$JAVA" "-Xmx$S3_HEAP" -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true ${cds:+"$cds"} ${S3_JAVA_OPTS:-} "-Dlogback.configurationFile=$HERE/s3proxy/logback.xml" -cp "$(cat "$(dist_dir s3proxy)/classpath")" \
    "$S3_MAIN" --properties "$S3_DIR/s3proxy.properties"
  LAUNCHED=1
}

# ---------------------------------------------------------------------------------------------
# The development OpenID provider (oidc/, see README.md): node 24 runs its TypeScript sources as
# they are, with the packages of the repo's pnpm install.

# Sets NODE to the repo's node 24 (.loomwatch/tools, where the Makefile unpacks it) or to a node
# 24+ on PATH.
require_node() {
  local candidate major
  for candidate in "$REPO_ROOT/.loomwatch/tools/node/bin/node" "$(command -v node 2>/dev/null || true)"; do
    [[ -n "$candidate" && -x "$candidate" ]] || continue
    major="$("$candidate" -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)"
    if [[ "$major" =~ ^[0-9]+$ && "$major" -ge 24 ]]; then NODE="$candidate"; return 0; fi
  done
  die "node 24 not found (the OIDC provider needs it): run 'make install-node' at the repo root, which unpacks it into .loomwatch/tools, or put node 24+ on PATH"
}

require_oidc_packages() {
  [[ -f "$HERE/oidc/node_modules/oidc-provider/package.json" ]] ||
    die "deploy/local/oidc has no node_modules: run 'pnpm install --frozen-lockfile' (or 'make install-node') at the repo root"
}

# Answers only when the discovery document names this issuer: another server on the port does not count.
oidc_answers() {
  curl -fs --max-time 2 "http://$HOST:$OIDC_PORT/.well-known/openid-configuration" 2>/dev/null |
    grep -qF "\"issuer\":\"http://$HOST:$OIDC_PORT\""
}

# Sets LAUNCHED=1 when it started a process, 0 when the provider was already running.
oidc_launch() {
  LAUNCHED=0
  mkdir -p "$OIDC_DIR"
  install_config "the OIDC provider" "$OIDC_DIR/oidc.settings" "issuer=http://$HOST:$OIDC_PORT" "$OIDC_PID" "$OIDC_MAIN" stop-oidc
  if running_pid "$OIDC_PID" "$OIDC_MAIN" >/dev/null; then return 0; fi
  require_port_free "$OIDC_PORT" OIDC_PORT
  launch "$OIDC_PID" "$OIDC_LOG" "$NODE" "$OIDC_MAIN" --port "$OIDC_PORT" --state "$OIDC_DIR"
  LAUNCHED=1
}

# ---------------------------------------------------------------------------------------------
# start / stop / status

validate_settings() {
  local v
  for v in KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_SECURE_PORT S3_PORT OIDC_PORT; do
    [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 && "${!v}" -le 65535 ]] || die "$v=${!v} is not a port number"
  done
  [[ "$(printf '%s\n' "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_SECURE_PORT" "$S3_PORT" "$OIDC_PORT" | sort -u | wc -l)" -eq 5 ]] ||
    die "KAFKA_PORT, KAFKA_CONTROLLER_PORT, KAFKA_SECURE_PORT, S3_PORT and OIDC_PORT must differ"
  # The env file is sourced by bash and read as KEY=VALUE, so values must need no quoting.
  for v in S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY S3_REGION; do
    [[ "${!v}" =~ ^[A-Za-z0-9._~+/=-]+$ ]] || die "$v may only contain letters, digits and ._~+/=-"
  done
  [[ "$START_TIMEOUT" =~ ^[0-9]+$ ]] || die "LOOMWATCH_START_TIMEOUT=$START_TIMEOUT is not a number of seconds"
}

env_lines() {
  cat <<EOF
KAFKA_BROKERS=$HOST:$KAFKA_PORT
KAFKA_SECURE_BROKERS=$HOST:$KAFKA_SECURE_PORT
KAFKA_SECURE_CA_FILE=$KAFKA_TLS/ca.pem
KAFKA_SECURE_PRINCIPALS_FILE=$KAFKA_PRINCIPALS
S3_ENDPOINT=http://$HOST:$S3_PORT
S3_REGION=$S3_REGION
S3_ACCESS_KEY_ID=$S3_ACCESS_KEY_ID
S3_SECRET_ACCESS_KEY=$S3_SECRET_ACCESS_KEY
LOOMWATCH_OIDC_ISSUER=http://$HOST:$OIDC_PORT
LOOMWATCH_OIDC_CLIENT_ID=$OIDC_CLIENT_ID
LOOMWATCH_OIDC_CLIENT_SECRET=$OIDC_CLIENT_SECRET
EOF
}

write_env() {
  env_lines >"$STATE/env.tmp"
  mv -f "$STATE/env.tmp" "$STATE/env"
}

# Serialises concurrent invocations (e.g. several test runners calling start at once). The lock
# fd is closed for the servers in launch(), so it is released when this script exits.
take_lock() {
  mkdir -p "$STATE"
  command -v flock >/dev/null 2>&1 || return 0
  exec 9>"$STATE/.lock"
  flock -w 600 9 || die "another infra.sh has held $STATE/.lock for 10 minutes: see whether one is stuck"
}

# Polls every named server ("kafka", "s3") until it answers; fails early if its process dies.
wait_ready() {
  local deadline=$((SECONDS + START_TIMEOUT)) pending=("$@") left name
  while ((${#pending[@]} > 0)); do
    left=()
    for name in "${pending[@]}"; do
      case "$name" in
        kafka)
          kafka_answers && continue
          running_pid "$KAFKA_PID" "$KAFKA_MAIN" >/dev/null ||
            fail_start Kafka "$KAFKA_LOG" "exited during start" ;;
        s3)
          s3_answers && continue
          running_pid "$S3_PID" "$S3_MAIN" >/dev/null ||
            fail_start S3Proxy "$S3_LOG" "exited during start" ;;
        oidc)
          oidc_answers && continue
          running_pid "$OIDC_PID" "$OIDC_MAIN" >/dev/null ||
            fail_start "The OIDC provider" "$OIDC_LOG" "exited during start" ;;
      esac
      left+=("$name")
    done
    pending=(${left[@]+"${left[@]}"})
    ((${#pending[@]} == 0)) && break
    if ((SECONDS >= deadline)); then
      case "${pending[0]}" in
        kafka) fail_start Kafka "$KAFKA_LOG" "did not answer on $HOST:$KAFKA_PORT within ${START_TIMEOUT}s" ;;
        s3) fail_start S3Proxy "$S3_LOG" "did not answer on $HOST:$S3_PORT within ${START_TIMEOUT}s" ;;
        oidc) fail_start "The OIDC provider" "$OIDC_LOG" "did not answer on $HOST:$OIDC_PORT within ${START_TIMEOUT}s" ;;
      esac
    fi
    sleep 0.2
  done
}

endpoint() {
  case "$1" in
    kafka) echo "answering at $HOST:$KAFKA_PORT" ;;
    s3) echo "answering at http://$HOST:$S3_PORT" ;;
    oidc) echo "issuer http://$HOST:$OIDC_PORT" ;;
  esac
}

start_components() {
  local t0 started=() waiting=() c
  LAUNCHED=0
  t0="$(now_ms)"
  validate_settings
  take_lock
  if [[ " $* " == *" kafka "* || " $* " == *" s3 "* ]]; then
    require_java
    fetch_one kafka
    fetch_one s3proxy
    ensure_kcat
  fi
  if [[ " $* " == *" oidc "* ]]; then
    require_node
    require_oidc_packages
  fi
  for c in "$@"; do
    "${c}_launch"
    if ((LAUNCHED)); then started+=("$c"); LAUNCHED_NOW+=("$c"); fi
    waiting+=("$c")
  done
  wait_ready "${waiting[@]}"
  [[ " $* " == *" kafka "* ]] && kafka_principals
  write_env
  for c in "$@"; do
    if [[ " ${started[*]-} " == *" $c "* ]]; then say "$c: started, $(endpoint "$c")"
    else say "$c: already running, $(endpoint "$c")"; fi
  done
  say "env file: $STATE/env"
  say "start took $(elapsed "$t0") s"
}

cmd_stop() {
  local t0
  t0="$(now_ms)"
  take_lock
  stop_one kafka "$KAFKA_PID" "$KAFKA_MAIN" "$KAFKA_STOP_TIMEOUT" &
  stop_one oidc "$OIDC_PID" "$OIDC_MAIN" "$OIDC_STOP_TIMEOUT" &
  stop_one s3 "$S3_PID" "$S3_MAIN" "$S3_STOP_TIMEOUT"
  wait
  say "stop took $(elapsed "$t0") s"
}

cmd_status() {
  local pid ok=0
  if pid="$(running_pid "$KAFKA_PID" "$KAFKA_MAIN")"; then
    if kafka_answers; then say "kafka: running (pid $pid), answering at $HOST:$KAFKA_PORT"
    else say "kafka: running (pid $pid), NOT answering at $HOST:$KAFKA_PORT (log: $KAFKA_LOG)"; ok=1; fi
  else say "kafka: stopped"; ok=1; fi
  if pid="$(running_pid "$S3_PID" "$S3_MAIN")"; then
    if s3_answers; then say "s3: running (pid $pid), answering at http://$HOST:$S3_PORT"
    else say "s3: running (pid $pid), NOT answering at http://$HOST:$S3_PORT (log: $S3_LOG)"; ok=1; fi
  else say "s3: stopped"; ok=1; fi
  if pid="$(running_pid "$OIDC_PID" "$OIDC_MAIN")"; then
    if oidc_answers; then say "oidc: running (pid $pid), issuer http://$HOST:$OIDC_PORT"
    else say "oidc: running (pid $pid), NOT answering at http://$HOST:$OIDC_PORT (log: $OIDC_LOG)"; ok=1; fi
  else say "oidc: stopped"; ok=1; fi
  return "$ok"
}

cmd_reset() {
  cmd_stop
  case "$STATE" in
    "" | / | "$HOME" | "$HOME/") die "refusing to delete state dir '$STATE'" ;;
  esac
  rm -rf "$STATE"
  say "deleted $STATE"
}

main() {
  local cmd="${1:-}"
  case "$cmd" in
    fetch) cmd_fetch ;;
    start) start_components kafka s3 oidc ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    start-kafka) start_components kafka ;;
    stop-kafka) take_lock; stop_one kafka "$KAFKA_PID" "$KAFKA_MAIN" "$KAFKA_STOP_TIMEOUT" ;;
    start-s3) start_components s3 ;;
    stop-s3) take_lock; stop_one s3 "$S3_PID" "$S3_MAIN" "$S3_STOP_TIMEOUT" ;;
    restart-s3) (take_lock; stop_one s3 "$S3_PID" "$S3_MAIN" "$S3_STOP_TIMEOUT"); start_components s3 ;;
    start-oidc) start_components oidc ;;
    stop-oidc) take_lock; stop_one oidc "$OIDC_PID" "$OIDC_MAIN" "$OIDC_STOP_TIMEOUT" ;;
    reset) cmd_reset ;;
    env) validate_settings; env_lines ;;
    -h | --help | help) usage ;;
    "") usage >&2; exit 2 ;;
    *) usage >&2; die "unknown command '$cmd'" ;;
  esac
}

main "$@"
