#!/usr/bin/env bash
# Fills pnpm's store from the lockfile alone, so the Dockerfile can run it in a layer that is rebuilt only when
# pnpm-lock.yaml changes; build.sh then installs from that store.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
pnpm fetch
