# One recipe for the six services, built from the repository root:
#   docker build --build-arg SERVICE=inventory -t localhost/eshop/inventory .
# The build steps are scripts/image/*.sh, which CI also runs without Docker (deploy/test/image.test.ts).
# Behind a TLS-inspecting proxy, hand BuildKit the proxy's CA bundle as the secret `ca` (compose:
# docker-compose.build-ca.yml; docker: DOCKER_BUILDKIT=1 docker build --secret id=ca,src=<bundle> ...). It is mounted
# only for the steps that reach the npm registry (scripts/image/with-ca.sh) and is written into no layer. No `# syntax=` line: BuildKit would fetch that
# frontend from Docker Hub, which an air-gapped builder cannot reach.
ARG NODE_VERSION=24

# ---- builder: install from the lockfile, compile, deploy one service with production dependencies only
FROM node:${NODE_VERSION}-slim AS builder
ARG PNPM_VERSION=10.34.9
WORKDIR /repo
# The store depends on the lockfile alone, so this layer survives source changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json .npmrc ./
COPY scripts/image/fetch.sh scripts/image/with-ca.sh scripts/image/
RUN --mount=type=secret,id=ca sh scripts/image/with-ca.sh npm install --global "pnpm@${PNPM_VERSION}"
RUN --mount=type=secret,id=ca sh scripts/image/with-ca.sh bash scripts/image/fetch.sh
COPY . .
ARG SERVICE
RUN --mount=type=secret,id=ca test -n "${SERVICE}" || { echo "--build-arg SERVICE=<name> is required" >&2; exit 1; }; \
    sh scripts/image/with-ca.sh bash scripts/image/build.sh "${SERVICE}" /out

# ---- runtime: the same Node major, compiled JavaScript only, not root
FROM node:${NODE_VERSION}-slim
ARG SERVICE
ENV NODE_ENV=production \
    OTEL_SERVICE_NAME=${SERVICE}
# Every interface: in a container, its network is the boundary. A service run natively listens on loopback only.
ENV LISTEN_HOST=0.0.0.0
WORKDIR /app
# Owned by root and read-only for the app's user: the root filesystem can be mounted read-only.
COPY --from=builder /out ./
# The mount point of a data volume (eshop's outbox, notification's ledger), owned by the app's user: a new
# named volume takes its owner from here.
RUN mkdir /data && chown 1000:1000 /data
# The node image's `node` user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 CMD ["node", "healthcheck.js", "/healthz"]
# Tracing is preloaded exactly as natively: it patches http, express and kafkajs before the service loads them.
# kafkajs 2.2.4 sets timers with negative delays; Node 24 warns at every connection, harmlessly.
CMD ["node", "--disable-warning=TimeoutNegativeWarning", "--require", "@eshop/tracing/register", "dist/src/main.js"]
