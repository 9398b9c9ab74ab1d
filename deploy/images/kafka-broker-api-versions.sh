#!/bin/bash
# Health check of loomwatch/kafka, under the name and arguments of the official image's tool
# (`kafka-broker-api-versions.sh --bootstrap-server HOST:PORT`) so compose files written for
# apache/kafka keep their health check. It is NOT that tool (kafka-tools is not in the image): it
# sends Kafka's ApiVersions request (v0) and exits 0 when the broker answers with error code 0.
set -euo pipefail
server=localhost:9092
while (($#)); do
  case "$1" in
    --bootstrap-server) server="$2"; shift 2 ;;
    *) shift ;;
  esac
done
host="${server%%,*}"; port="${host##*:}"; host="${host%:*}"
exec 3<>"/dev/tcp/$host/$port"
# size 12 | api key 18 (ApiVersions) | version 0 | correlation id 1 | client id "hc"
printf '\x00\x00\x00\x0c\x00\x12\x00\x00\x00\x00\x00\x01\x00\x02hc' >&3
# answer: size (4) | correlation id (4) | error code (2)
answer="$(timeout 4 head -c 10 <&3 | od -An -tx1 | tr -d ' \n')"
[[ "${answer:8:8}" == 00000001 && "${answer:16:4}" == 0000 ]]
