# Source this file (`. scripts/use-node.sh`) to get the Node major and the pnpm this repository pins, on a
# machine whose own Node is older. Both come from the npm registry into the cache, outside the repository.
eshop_node_major=24
eshop_pnpm_version=$(sed -n 's/.*"packageManager": "pnpm@\([^"]*\)".*/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../package.json")
eshop_node_prefix="${ESHOP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/eshop}/node${eshop_node_major}"

if ! node --version 2>/dev/null | grep -q "^v${eshop_node_major}\." ||
  ! pnpm --version 2>/dev/null | grep -qx "$eshop_pnpm_version"; then
  if ! "$eshop_node_prefix/node_modules/.bin/node" --version 2>/dev/null | grep -q "^v${eshop_node_major}\." ||
    ! "$eshop_node_prefix/node_modules/.bin/pnpm" --version 2>/dev/null | grep -qx "$eshop_pnpm_version"; then
    echo "installing Node ${eshop_node_major} and pnpm ${eshop_pnpm_version} from the npm registry into $eshop_node_prefix"
    npm install --prefix "$eshop_node_prefix" --no-audit --no-fund --loglevel=error \
      "node@${eshop_node_major}" "pnpm@${eshop_pnpm_version}"
  fi
  export PATH="$eshop_node_prefix/node_modules/.bin:$PATH"
fi
echo "using node $(node --version), pnpm $(pnpm --version)"
