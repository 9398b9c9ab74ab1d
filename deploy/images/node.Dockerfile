# Node on the Debian base (deploy/images/build-base.sh), built without any image registry, laid out
# as node:<version>-bookworm-slim: the npm registry's node-linux-<arch> package (the official
# binary, the one the Makefile unpacks) under /usr/local, the npm registry's npm package (the npm
# that Node release bundles) beside it, and the `node` user (uid/gid 1000).
# The service Dockerfiles build on it unchanged: --build-arg NODE_IMAGE=loomwatch/node:<version>-bookworm-slim.
ARG DEBIAN_IMAGE=loomwatch/debian:bookworm
FROM ${DEBIAN_IMAGE}
ARG NODE_VERSION
# ADD unpacks both tarballs (each has one top folder, package/).
ADD node.tgz /tmp/node/
ADD npm.tgz /tmp/npm/
RUN mkdir -p /usr/local/lib/node_modules \
 && cp -a /tmp/node/package/bin /tmp/node/package/include /tmp/node/package/share /usr/local/ \
 && mv /tmp/npm/package /usr/local/lib/node_modules/npm \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && rm -rf /tmp/node /tmp/npm \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
ENV NODE_VERSION=${NODE_VERSION}
CMD ["node"]
