# A Java runtime on the Debian base (deploy/images/build-base.sh): Debian's OpenJDK 17 JRE, the
# Java deploy/local/infra.sh runs Kafka and S3Proxy with. Base of the kafka and s3proxy images.
ARG DEBIAN_IMAGE=loomwatch/debian:bookworm
FROM ${DEBIAN_IMAGE}
# Not pinned (DL3008): the package follows bookworm's security updates (the base's apt sources
# include bookworm-security); for a fixed set, point DEBIAN_MIRROR at a dated snapshot mirror.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/* \
 && java -version
