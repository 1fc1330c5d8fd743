#!/usr/bin/env bash
# Makes a Docker Engine and both compose CLIs available on a Debian machine, skipping whatever is already there:
#   Debian's docker.io (dockerd and a docker CLI),
#   Debian's docker-compose 1.29.2 (the v1 command), and the v2 `docker compose` and `docker buildx` plugins.
# Starts dockerd in the background (log: $DOCKERD_LOG) when no daemon answers. Needs root (or sudo) for apt and dockerd.
#
#   bash scripts/docker-engine.sh
set -euo pipefail

cache="${ESHOP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/eshop}"
DOCKERD_LOG="${DOCKERD_LOG:-$cache/dockerd.log}"
as_root=$([ "$(id -u)" -eq 0 ] || echo sudo)

missing=()
[ -x /usr/sbin/dockerd ] || missing+=(docker.io)
command -v docker-compose > /dev/null || missing+=(docker-compose)
# The stand-in images start from a Debian root made by mmdebstrap (scripts/images.ts).
command -v mmdebstrap > /dev/null || missing+=(mmdebstrap)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian packages)"
  $as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q "${missing[@]}"
fi

if docker info > /dev/null 2>&1; then
  echo "dockerd: running"
else
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  echo "starting dockerd (log: $DOCKERD_LOG)"
  # Outside any unit manager (CI containers have none): nohup keeps it running after this script exits.
  $as_root nohup /usr/sbin/dockerd >> "$DOCKERD_LOG" 2>&1 &
  for _ in $(seq 60); do
    docker info > /dev/null 2>&1 && break
    sleep 1
  done
  docker info > /dev/null 2>&1 || { echo "dockerd did not answer within 60 s; see $DOCKERD_LOG" >&2; exit 1; }
  echo "dockerd: started"
fi

# CLI plugins, each built once per version from its Go module and kept in the cache. `docker compose` (v2) builds
# with BuildKit only through buildx; without it, it falls back to the classic builder, which has no build secrets.
# `go install module@version` refuses these modules (their go.mod have `exclude`/`replace` directives): each is
# downloaded and built as the main module, where they apply.
plugin() {
  local name=$1 module=$2 version=$3 package=$4 version_variable=$5
  local built="$cache/$name-$version/docker-$name" installed="$HOME/.docker/cli-plugins/docker-$name"
  if [ ! -x "$built" ]; then
    echo "building docker $name $version from its Go module (once; minutes on two cores)"
    local dir
    dir=$(go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    mkdir -p "$(dirname "$built")"
    (cd "$dir" && GOFLAGS='-mod=readonly -buildvcs=false' CGO_ENABLED=0 go build -trimpath \
    -ldflags "-X $version_variable=$version" -o "$built.partial" "$package")
    mv "$built.partial" "$built"
  fi
  if ! cmp -s "$built" "$installed"; then
    mkdir -p "$(dirname "$installed")"
    cp "$built" "$installed"
  fi
}
plugin compose github.com/docker/compose/v5 v5.6.0 ./cmd github.com/docker/compose/v5/internal.Version
plugin buildx github.com/docker/buildx v0.38.2 ./cmd/buildx github.com/docker/buildx/version.Version
echo "docker compose $(docker compose version --short), $(docker buildx version)"
