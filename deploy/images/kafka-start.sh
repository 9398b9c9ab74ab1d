#!/bin/bash
# Entry point of loomwatch/kafka (deploy/images/kafka.Dockerfile): writes server.properties from
# single-node defaults and the environment, formats the storage once, then execs the broker.
# As in the apache/kafka image, KAFKA_<NAME> becomes property <name>: lower case, '___' → '_',
# '__' → '-', '_' → '.' (KAFKA_LISTENER_SECURITY_PROTOCOL_MAP → listener.security.protocol.map).
# Not properties: KAFKA_VERSION, KAFKA_HEAP (-Xms/-Xmx, default 512m), KAFKA_JAVA_OPTS (more JVM
# flags), CLUSTER_ID (the KRaft cluster id; made once and kept in the data dir when unset).
set -euo pipefail
readonly CONFIG=/var/lib/kafka/server.properties
readonly DATA=/var/lib/kafka/data

declare -A props=(
  [process.roles]=broker,controller
  [node.id]=1
  [controller.quorum.voters]=1@localhost:9093
  [listeners]=PLAINTEXT://:9092,CONTROLLER://:9093
  [advertised.listeners]=PLAINTEXT://localhost:9092
  [controller.listener.names]=CONTROLLER
  [inter.broker.listener.name]=PLAINTEXT
  [listener.security.protocol.map]=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
  [log.dirs]=$DATA
  [offsets.topic.replication.factor]=1
  [transaction.state.log.replication.factor]=1
  [transaction.state.log.min.isr]=1
  [share.coordinator.state.topic.replication.factor]=1
  [share.coordinator.state.topic.min.isr]=1
  [offsets.topic.num.partitions]=4
  [transaction.state.log.num.partitions]=4
  [share.coordinator.state.topic.num.partitions]=4
  [group.initial.rebalance.delay.ms]=0
)
while IFS='=' read -r name value; do
  case "$name" in KAFKA_VERSION | KAFKA_HEAP | KAFKA_JAVA_OPTS) continue ;; esac
  key="$(tr '[:upper:]' '[:lower:]' <<<"${name#KAFKA_}" | sed 's/___/\x00/g; s/__/-/g; s/_/./g; s/\x00/_/g')"
  props[$key]="$value"
done < <(env | grep -E '^KAFKA_[A-Z0-9_]+=' || true)

{
  echo "# Written by kafka-start.sh at $(date -u +%Y-%m-%dT%H:%M:%SZ) from its defaults and the KAFKA_* environment."
  for key in $(printf '%s\n' "${!props[@]}" | sort); do echo "$key=${props[$key]}"; done
} >"$CONFIG"

readonly CP='/opt/kafka/libs/*'
readonly LOG4J=-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties
if [[ ! -f "$DATA/meta.properties" ]]; then
  cluster_id="${CLUSTER_ID:-}"
  if [[ -z "$cluster_id" ]]; then
    [[ -s /var/lib/kafka/cluster.id ]] || head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >/var/lib/kafka/cluster.id
    cluster_id="$(cat /var/lib/kafka/cluster.id)"
  fi
  java -Xmx256m "$LOG4J" -cp "$CP" kafka.tools.StorageTool format --cluster-id="$cluster_id" -c "$CONFIG" --ignore-formatted
fi
# shellcheck disable=SC2086 # KAFKA_JAVA_OPTS is a list of flags on purpose
exec java "-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
  -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
  -Djava.awt.headless=true ${KAFKA_JAVA_OPTS:-} "$LOG4J" -cp "$CP" kafka.Kafka "$CONFIG"
