#!/bin/bash
# Entry point of loomwatch/s3proxy (deploy/images/s3proxy.Dockerfile): writes s3proxy.properties
# from the environment, then execs S3Proxy (filesystem backend, as deploy/local/infra.sh runs it).
#   S3PROXY_ENDPOINT           http://0.0.0.0:9000
#   S3PROXY_IDENTITY           loomwatch          (the access key id)
#   S3PROXY_CREDENTIAL         loomwatch-secret   (the secret access key)
#   S3PROXY_AUTHORIZATION      aws-v2-or-v4       (`none`: no signature checked)
#   JCLOUDS_FILESYSTEM_BASEDIR /data
#   S3PROXY_HEAP (256m), S3PROXY_JAVA_OPTS (more JVM flags)
set -euo pipefail
readonly CONFIG=/tmp/s3proxy.properties
cat >"$CONFIG" <<PROPS
s3proxy.endpoint=${S3PROXY_ENDPOINT:-http://0.0.0.0:9000}
s3proxy.authorization=${S3PROXY_AUTHORIZATION:-aws-v2-or-v4}
s3proxy.identity=${S3PROXY_IDENTITY:-loomwatch}
s3proxy.credential=${S3PROXY_CREDENTIAL:-loomwatch-secret}
jclouds.provider=filesystem
jclouds.filesystem.basedir=${JCLOUDS_FILESYSTEM_BASEDIR:-/data}
PROPS
# shellcheck disable=SC2086 # S3PROXY_JAVA_OPTS is a list of flags on purpose
exec java "-Xmx$S3PROXY_HEAP" -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true ${S3PROXY_JAVA_OPTS:-} \
  -Dlogback.configurationFile=/opt/s3proxy/logback.xml -cp '/opt/s3proxy/libs/*' org.gaul.s3proxy.Main --properties "$CONFIG"
