# S3Proxy (filesystem backend) from the Maven Central artifacts that deploy/local/infra.sh
# assembles (deploy/local/s3proxy/pom.xml), on the Java runtime image: the S3 server for machines
# that cannot pull minio/minio. Built by deploy/images/build-base.sh (context: libs/ +
# s3proxy-start.sh). Settings from the environment (s3proxy-start.sh): S3PROXY_ENDPOINT
# (http://0.0.0.0:9000), S3PROXY_IDENTITY / S3PROXY_CREDENTIAL (loomwatch / loomwatch-secret),
# S3PROXY_AUTHORIZATION (aws-v2-or-v4), JCLOUDS_FILESYSTEM_BASEDIR (/data, a volume).
ARG JRE_IMAGE=loomwatch/jre:17-bookworm
FROM ${JRE_IMAGE}
ARG S3PROXY_VERSION
COPY libs/ /opt/s3proxy/libs/
COPY logback.xml /opt/s3proxy/logback.xml
COPY s3proxy-start.sh s3proxy-health.sh /opt/s3proxy/
RUN groupadd --gid 1000 s3proxy \
 && useradd --uid 1000 --gid s3proxy --no-create-home --home-dir /data s3proxy \
 && mkdir -p /data \
 && chown 1000:1000 /data
ENV S3PROXY_VERSION=${S3PROXY_VERSION} \
    S3PROXY_HEAP=256m
VOLUME /data
USER 1000:1000
EXPOSE 9000
HEALTHCHECK --interval=5s --timeout=5s --start-period=20s --retries=24 \
  CMD ["/opt/s3proxy/s3proxy-health.sh"]
CMD ["/opt/s3proxy/s3proxy-start.sh"]
