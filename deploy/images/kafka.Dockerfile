# Apache Kafka (one KRaft node, broker + controller) from the Maven Central artifacts that
# deploy/local/infra.sh assembles (deploy/local/kafka/pom.xml: kafka_2.13 and its runtime
# dependencies), on the Java runtime image. Built by deploy/images/build-base.sh, whose build
# context holds libs/ (the jars) and kafka-start.sh.
# Configuration as in the official apache/kafka image: every KAFKA_<NAME> variable becomes the
# broker property <name> ('_' → '.', '__' → '-', '___' → '_'), over single-node defaults
# (see kafka-start.sh). Data in /var/lib/kafka/data (a volume); CLUSTER_ID or one made at first start.
ARG JRE_IMAGE=loomwatch/jre:17-bookworm
FROM ${JRE_IMAGE}
ARG KAFKA_VERSION
COPY libs/ /opt/kafka/libs/
COPY log4j2.properties /opt/kafka/config/log4j2.properties
COPY kafka-start.sh /opt/kafka/bin/kafka-start.sh
COPY kafka-broker-api-versions.sh /opt/kafka/bin/kafka-broker-api-versions.sh
RUN groupadd --gid 1000 appuser \
 && useradd --uid 1000 --gid appuser --no-create-home --home-dir /var/lib/kafka appuser \
 && mkdir -p /var/lib/kafka/data \
 && chown -R 1000:1000 /var/lib/kafka
ENV KAFKA_VERSION=${KAFKA_VERSION} \
    KAFKA_HEAP=512m
VOLUME /var/lib/kafka/data
USER 1000:1000
EXPOSE 9092 9093
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=24 \
  CMD ["/opt/kafka/bin/kafka-broker-api-versions.sh", "--bootstrap-server", "localhost:9092"]
CMD ["/opt/kafka/bin/kafka-start.sh"]
