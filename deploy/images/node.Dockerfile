# Node on the Debian base (deploy/images/build-base.sh), built without any image registry, laid out
# as node:<version>-bookworm-slim: the npm registry's node-linux-<arch> package (the official
# binary, the one the Makefile unpacks) under /usr/local, the npm registry's npm package (the npm
# that Node release bundles) beside it, and the `node` user (uid/gid 1000).
# The service Dockerfiles build on it unchanged: --build-arg NODE_IMAGE=loomwatch/node:<version>-bookworm-slim.
ARG DEBIAN_IMAGE=loomwatch/debian:bookworm

# Unpacks and arranges both tarballs (each has one top folder, package/) in a stage of its own, so
# that the image holds one copy of them.
FROM ${DEBIAN_IMAGE} AS unpack
ADD node.tgz /tmp/node/
ADD npm.tgz /tmp/npm/
RUN mkdir -p /opt/local/lib/node_modules \
 && cp -a /tmp/node/package/bin /tmp/node/package/include /tmp/node/package/share /opt/local/ \
 && mv /tmp/npm/package /opt/local/lib/node_modules/npm \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /opt/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /opt/local/bin/npx

FROM ${DEBIAN_IMAGE}
ARG NODE_VERSION
# The building machine's site CAs (build-base.sh: /usr/local/share/ca-certificates/*.crt, where
# Debian keeps locally added CAs; an empty file where it has none): node trusts them beside its
# own store, so npm and pnpm reach the registry through a TLS-inspecting proxy as on the host.
ARG SITE_CAS=
COPY --from=unpack /opt/local/ /usr/local/
COPY site-cas.pem /usr/local/share/ca-certificates/loomwatch-site-cas.pem
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
ENV NODE_VERSION=${NODE_VERSION} \
    NODE_EXTRA_CA_CERTS=${SITE_CAS}
CMD ["node"]
