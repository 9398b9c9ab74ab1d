#!/bin/sh
# Creates Loomwatch's topics when missing (kafka-topics.sh from the Kafka image; idempotent).
#   BOOTSTRAP (kafka:9092), FRAME_PARTITIONS (8): partitions of frames.v1, at least the most
#   inference workers that should share the line (one partition feeds at most one worker);
#   PARTITIONS (4) for the other keyed topics; REPLICATION (1); GROW_FRAMES (false): whether an
#   existing frames.v1 with fewer partitions is grown — growing moves some cameras' keys to other
#   partitions, so frames of one camera published before and after may be decided out of order.
# Used by docker-compose.yml (kafka-init) and the Kubernetes Job (deploy/k8s/base/topics-job.yaml).
# The keyed topics share the `lineId:cameraId` key, so verdicts.v1 may have fewer partitions than
# frames.v1 without reordering a camera's verdicts. control.v1 is compacted with one partition.
set -eu
bootstrap=${BOOTSTRAP:-kafka:9092}
frame_partitions=${FRAME_PARTITIONS:-8}
partitions=${PARTITIONS:-4}
replication=${REPLICATION:-1}
topics=${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}

create() {
  name=$1
  count=$2
  shift 2
  "$topics" --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$name" \
    --partitions "$count" --replication-factor "$replication" "$@"
}

create frames.v1 "$frame_partitions"
create verdicts.v1 "$partitions"
create verdicts.shadow.v1 "$partitions"
create frames.dlq.v1 "$partitions"
create alerts.v1 "$partitions"
create alerts.webhooks.dlq.v1 "$partitions"
create drift.v1 "$partitions"
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
