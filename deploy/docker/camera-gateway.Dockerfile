# The camera gateway (simulator, hot folder or HTTP). Build from the repository root:
#   docker build -f deploy/docker/camera-gateway.Dockerfile -t loomwatch/camera-gateway:dev .
# Stages: build (the whole workspace compiled, then prune.sh keeps this service's dist/ and
# production dependencies in the repo's layout) → runtime (node, uid 1000). See deploy/docker/README.md.
ARG NODE_IMAGE=node:24.9.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
# onnxruntime-node's install script would fetch GPU binaries from outside the npm registry; the
# CPU binaries ship inside the npm package (as in the Makefile and .npmrc).
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    npm_config_onnxruntime_node_install=skip \
    CI=true
RUN npm install --global pnpm@10.34.8
WORKDIR /src
# The store is filled from the lockfile alone, so this layer survives edits to the sources.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc package.json ./
RUN pnpm fetch --frozen-lockfile
COPY . .
# The whole workspace, built once (`pnpm run build`: tsc -b of every package, then the dashboard's
# page): every instruction up to here is the same in the six service Dockerfiles, so the engine's
# layer cache builds the workspace once for all six images.
RUN pnpm install --frozen-lockfile --offline \
 && pnpm run build
# This service's dist/ and production dependencies, in the repo's layout.
RUN sh deploy/docker/prune.sh @loomwatch/camera-gateway /out

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    LOOMWATCH_OPS__HOST=0.0.0.0 \
    LOOMWATCH_HTTP__HOST=0.0.0.0 \
    AITEX_DIR=/data/aitex
WORKDIR /app
COPY --from=build /out/ ./
# The base image's `node` user, by number so that Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 8080 9465
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9465/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The mode is the argument: simulate (frames from AITEX_DIR, mounted at /data/aitex), hot-folder or http.
ENTRYPOINT ["node", "services/camera-gateway/dist/main.js"]
CMD ["simulate"]
