#!/bin/sh
# Runs a command of the image build trusting the CA bundle of the build secret `ca`, when the build was given one
# (see the Dockerfile): the way through a TLS-inspecting proxy to the npm registry.
#   RUN --mount=type=secret,id=ca sh scripts/image/with-ca.sh <command> [args...]
if [ -s /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca; fi
exec "$@"
