#!/usr/bin/env bash
# enrolld development set-up for Debian 12 (bookworm). Idempotent: re-running it only does what is missing.
#
#   1. Debian packages (TPM stack, software TPM, MQTT broker, ACME test server, compilers) — installed only when
#      missing (dpkg-query), with one `apt-get update` first. Runs apt as root, or through sudo when not root.
#   2. `npm ci` in the repository (builds the native TPM addon through the package's install script).
#
# Packages are installed without starting their services (mosquitto would otherwise take port 1883); nothing that
# is already running is stopped. The tests start their own mosquitto/swtpm on free loopback ports.
#
# Environment: SKIP_NPM_CI=1 skips step 2.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACKAGES=(libtss2-dev swtpm swtpm-tools tpm2-tools mosquitto pebble openssl pkg-config build-essential python3
  python3-pyasn1-modules python3-cbor2 libxml2-utils
  debootstrap lintian systemd-container)   # the .deb tests: chroot install, lintian, a systemd-nspawn boot
NODE_MAJORS="20 22 24"   # supported runtime range (package.json engines)

say() { printf '[dev-setup] %s\n' "$*"; }
die() { printf '[dev-setup] error: %s\n' "$*" >&2; exit 1; }

[ -r /etc/os-release ] && . /etc/os-release
if [ "${ID:-}" != "debian" ] || [ "${VERSION_ID:-}" != "12" ]; then
  say "warning: written for Debian 12, this is ${PRETTY_NAME:-an unknown system}; continuing"
fi

# --- 1. Debian packages ---------------------------------------------------------------------------------------
installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]; }

missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done

if [ "${#missing[@]}" -eq 0 ]; then
  say "Debian packages: all present"
else
  say "Debian packages to install: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    # No terminal (CI): never wait for a password prompt.
    if [ -t 0 ]; then as_root=(sudo); else as_root=(sudo -n); fi
  else
    die "not root and sudo is not available: install as root: apt-get install ${missing[*]}"
  fi

  # Keep apt from starting the services of packages we install now (policy-rc.d exit 101 = "action forbidden";
  # honoured by invoke-rc.d and deb-systemd-invoke). Only if the system has no policy of its own.
  policy=/usr/sbin/policy-rc.d
  placed_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary, placed by enrolld deploy/dev-setup.sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 0755 "$policy"
    placed_policy=1
    trap '[ "$placed_policy" = 1 ] && "${as_root[@]}" rm -f "$policy"' EXIT
  fi

  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"

  if [ "$placed_policy" = 1 ]; then
    "${as_root[@]}" rm -f "$policy"
    placed_policy=0
  fi
  for p in "${missing[@]}"; do installed "$p" || die "package $p is still not installed"; done
  case " ${missing[*]} " in
    *" mosquitto "*) say "mosquitto installed without starting mosquitto.service (tests run their own broker)" ;;
  esac
fi

# --- Node.js ------------------------------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "node is not installed: enrolld needs Node.js 20, 22 or 24 (Debian 12's nodejs is 18; use the NodeSource packages)"
command -v npm >/dev/null 2>&1 || die "npm is not installed"
major="$(node -p 'process.versions.node.split(".")[0]')"
case " $NODE_MAJORS " in *" $major "*) ;; *) die "Node.js $(node -v) found; enrolld needs Node.js 20, 22 or 24" ;; esac
# .npmrc sets nodedir=/usr so node-gyp uses the installed headers instead of downloading them.
[ -f /usr/include/node/node_api.h ] || die "/usr/include/node/node_api.h is missing: node-gyp needs the Node.js headers of the nodejs package"

# --- 2. npm ci ----------------------------------------------------------------------------------------------
if [ "${SKIP_NPM_CI:-0}" = 1 ]; then
  say "SKIP_NPM_CI=1: not running npm ci"
else
  say "npm ci (builds the native addon)"
  cd "$ROOT"
  npm ci --no-audit --no-fund
fi
say "done"
