#!/usr/bin/env bash
# Builds one service into a self-contained folder: its compiled JavaScript, its workspace packages' compiled
# JavaScript and its production dependencies, nothing else. The Dockerfile's builder stage runs exactly this,
# and so does CI (deploy/test/image.test.ts), so a broken image recipe fails CI without a Docker engine.
#
#   scripts/image/build.sh <service> <outdir>
#
# Run from anywhere; it works on the repository (or Docker build context) this script sits in.
set -euo pipefail

service="${1:?usage: build.sh <service> <outdir>}"
outdir="${2:?usage: build.sh <service> <outdir>}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
case "$outdir" in /*) ;; *) outdir="$PWD/$outdir" ;; esac

if [ ! -f "$root/services/$service/package.json" ]; then
  echo "build.sh: no service '$service' under services/" >&2
  exit 2
fi

cd "$root"
# The whole workspace, from the lockfile: CI runs this on its own checkout, which the other services share.
# --prefer-offline: the Docker build filled the store in an earlier layer (fetch.sh); CI's store is warm.
pnpm install --frozen-lockfile --prefer-offline
# `pnpm build` restricted to this service: tsc -b follows its references, so the shared packages compile too.
pnpm exec tsc -b "services/${service}"
# And its browser bundle, where it has one (eshop's storefront page), as `pnpm build` makes it.
pnpm --filter "@eshop/${service}" --if-present run bundle
rm -rf "$outdir"
# --legacy: pnpm 10's default deploy needs inject-workspace-packages; the legacy one copies each workspace
# package as it would be packed (its "files": dist/src) into node_modules, with production dependencies only.
pnpm --filter "@eshop/${service}" deploy --prod --legacy "$outdir"
# Fail here rather than at container start if a workspace package shipped without its compiled code.
node -e "require.resolve('@eshop/tracing/register', { paths: [process.argv[1]] })" "$outdir"
test -f "$outdir/dist/src/main.js"
cp scripts/image/healthcheck.js "$outdir/healthcheck.js"
