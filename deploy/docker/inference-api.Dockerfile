# The REST inference API. Build from the repository root:
#   docker build -f deploy/docker/inference-api.Dockerfile -t loomwatch/inference-api:dev .
# Stages: build (the whole workspace compiled, then prune.sh keeps this service's dist/ and
# production dependencies in the repo's layout) → runtime (node, uid 1000). See deploy/docker/README.md.
ARG NODE_IMAGE=node:24.9.0-bookworm-slim
# Model names baked from models/registry (space-separated), `all`, or `none` to mount a registry
# at /app/models/registry instead (or point LOOMWATCH_INFERENCE__REGISTRY_ROOT elsewhere).
ARG MODELS=all

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
RUN sh deploy/docker/prune.sh @loomwatch/inference-api /out

FROM ${NODE_IMAGE} AS registry
ARG MODELS
COPY models/registry /registry
# Keeps the named models (each with its production.json and every version); `none` keeps none.
RUN if [ "$MODELS" != all ]; then \
      for dir in /registry/*/; do \
        case " $MODELS " in *" $(basename "$dir") "*) ;; *) rm -rf "$dir" ;; esac; \
      done; \
    fi

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    LOOMWATCH_OPS__HOST=0.0.0.0 \
    LOOMWATCH_API__HOST=0.0.0.0
WORKDIR /app
COPY --from=build /out/ ./
COPY --from=registry /registry/ ./models/registry/
# The base image's `node` user, by number so that Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 8090 9467
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9467/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "services/inference-api/dist/main.js"]
