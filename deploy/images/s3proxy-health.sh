#!/bin/bash
# Health check of loomwatch/s3proxy (no curl in the image): GET /healthz on the endpoint's port,
# healthy on HTTP 200.
set -euo pipefail
endpoint="${S3PROXY_ENDPOINT:-http://0.0.0.0:9000}"
port="${endpoint##*:}"
exec 3<>"/dev/tcp/127.0.0.1/${port%%/*}"
printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
timeout 4 head -n 1 <&3 | grep -q ' 200 '
