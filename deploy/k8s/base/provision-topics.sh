#!/bin/sh
# docker-compose.yml's kafka-init only (the apache/kafka image has no Node): creates Loomwatch's
# topics when missing with kafka-topics.sh, idempotent. The one declaration of the topics is
# TOPIC_DECLARATIONS in packages/contracts (services/inference-worker/src/provision-topics.test.ts
# holds this script to it); Kubernetes runs `loomwatch topics apply` instead
# (deploy/k8s/base/topics-job.yaml), which also reports drift. Once compose runs that command
# from the worker image, this script goes.
#   BOOTSTRAP (kafka:9092), FRAME_PARTITIONS (8): partitions of frames.v1, at least the most
#   inference workers that should share the line (one partition feeds at most one worker);
#   REPLICATION (1), MIN_ISR (1); GROW_FRAMES (false): whether an existing frames.v1 with fewer
#   partitions is grown — growing moves some cameras' keys to other partitions, so frames of one
#   camera published before and after may be decided out of order.
set -eu
bootstrap=${BOOTSTRAP:-kafka:9092}
frame_partitions=${FRAME_PARTITIONS:-8}
replication=${REPLICATION:-1}
min_isr=${MIN_ISR:-1}
topics=${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}
thirty_days=2592000000

create() {
  name=$1
  count=$2
  shift 2
  "$topics" --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$name" \
    --partitions "$count" --replication-factor "$replication" --config "min.insync.replicas=$min_isr" "$@"
}

create frames.v1 "$frame_partitions" --config cleanup.policy=delete --config retention.ms=$thirty_days
create verdicts.v1 4 --config cleanup.policy=delete --config retention.ms=$thirty_days
create verdicts.shadow.v1 4 --config cleanup.policy=delete --config retention.ms=$thirty_days
create frames.dlq.v1 1 --config cleanup.policy=delete --config retention.ms=$thirty_days
create alerts.v1 4 --config cleanup.policy=delete --config retention.ms=$thirty_days
create alerts.webhooks.dlq.v1 1 --config cleanup.policy=delete --config retention.ms=$thirty_days
create drift.v1 4 --config cleanup.policy=delete --config retention.ms=$thirty_days
create control.v1 1 --config cleanup.policy=compact
# Partitions bound the workers: a frames.v1 that already existed with fewer is refused (or grown).
current=$("$topics" --bootstrap-server "$bootstrap" --describe --topic frames.v1 | sed -n 's/.*PartitionCount: *\([0-9]*\).*/\1/p' | head -n 1)
if [ "${current:-0}" -lt "$frame_partitions" ]; then
  if [ "${GROW_FRAMES:-false}" != true ]; then
    echo "frames.v1 has ${current:-0} partitions, fewer than FRAME_PARTITIONS=$frame_partitions: no more than ${current:-0} workers can decide frames; set GROW_FRAMES=true to grow it" >&2
    exit 1
  fi
  "$topics" --bootstrap-server "$bootstrap" --alter --topic frames.v1 --partitions "$frame_partitions"
fi
"$topics" --bootstrap-server "$bootstrap" --list
