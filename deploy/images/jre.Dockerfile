# A Java runtime on the Debian base (deploy/images/build-base.sh): Debian's OpenJDK 17 JRE, the
# Java deploy/local/infra.sh runs Kafka and S3Proxy with. Base of the kafka and s3proxy images.
ARG DEBIAN_IMAGE=loomwatch/debian:bookworm
FROM ${DEBIAN_IMAGE}
# hadolint ignore=DL3008 # bookworm's openjdk-17 follows Debian's security updates; the base's snapshot fixes the rest
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/* \
 && java -version
