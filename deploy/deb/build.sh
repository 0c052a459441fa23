#!/bin/sh
# Builds enrolld_<version>_<arch>.deb from the built tree (dist/ compiled by tsc, build/Release/enrolld_tpm.node by
# node-gyp, node_modules installed): `npm run package:deb` or `deploy/deb/build.sh [OUTDIR]` (default: dist/deb).
#
#   /usr/lib/enrolld/{package.json, dist/agent, build/Release/enrolld_tpm.node, node_modules (production deps only)}
#   /usr/bin/enrolld                          wrapper: node --jitless (deploy/deb/enrolld)
#   /usr/lib/systemd/system/enrolld.service   systemd/enrolld.service
#   /usr/lib/sysusers.d/enrolld.conf          systemd/enrolld.sysusers
#   /usr/lib/tmpfiles.d/enrolld.conf          systemd/enrolld.tmpfiles
#   /etc/enrolld/config.json                  example configuration (conffile, 0640; the admin edits it)
#   /usr/share/doc/enrolld/{README.md, copyright}
#
# Not shipped: dist/test, dist/bench, dist/deploy (the lab server: `enrolld demo` says so), source maps, dev deps.
# Files are root:root (dpkg-deb --root-owner-group), so the build itself needs no root.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:-$top/dist/deb}

die() { echo "deploy/deb/build.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required"; }
need dpkg-deb
need node
need npm

cd "$top"
[ -f dist/agent/cli/main.js ] || die "dist/agent/cli/main.js missing: run npm run build first"
[ -f build/Release/enrolld_tpm.node ] || die "build/Release/enrolld_tpm.node missing: run npm run build:native first"

version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
pkg="enrolld_${version}_${arch}"
stage=$(mktemp -d "${TMPDIR:-/tmp}/enrolld-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM
root="$stage/$pkg"
lib="$root/usr/lib/enrolld"

umask 022
mkdir -p "$lib/build/Release" "$lib/node_modules" "$root/usr/bin" "$root/usr/lib/systemd/system" \
  "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" "$root/etc/enrolld" "$root/usr/share/doc/enrolld" "$root/DEBIAN"

# Application: compiled agent only (no source maps), the addon, package.json (packageRoot() looks for it;
# "type": "module" makes dist/*.js ESM).
cp package.json "$lib/"
(cd dist && find agent -name '*.js' -print) | while read -r f; do
  mkdir -p "$lib/dist/$(dirname "$f")"
  cp "dist/$f" "$lib/dist/$f"
done
cp build/Release/enrolld_tpm.node "$lib/build/Release/"

# Production dependencies exactly as npm resolved them (npm ls reads the installed tree; nothing is downloaded).
npm ls --omit=dev --all --parseable 2>/dev/null | while read -r p; do
  case "$p" in
    "$top"/node_modules/@types/*) ;; # type declarations only
    "$top"/node_modules/*) rel=${p#"$top"/}; mkdir -p "$lib/$(dirname "$rel")"; cp -a "$p" "$lib/$rel" ;;
  esac
done
# Dependencies nest (node_modules/a/node_modules/b): each copy above brought its subtree; drop build leftovers.
find "$lib/node_modules" \( -name '*.md' -o -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \) -type f -delete
[ -d "$lib/node_modules/pkijs" ] || die "production dependencies not found in node_modules (run npm ci)"

install -m 0755 deploy/deb/enrolld "$root/usr/bin/enrolld"
install -m 0644 systemd/enrolld.service "$root/usr/lib/systemd/system/enrolld.service"
install -m 0644 systemd/enrolld.sysusers "$root/usr/lib/sysusers.d/enrolld.conf"
install -m 0644 systemd/enrolld.tmpfiles "$root/usr/lib/tmpfiles.d/enrolld.conf"
install -m 0640 deploy/examples/config.json "$root/etc/enrolld/config.json"
chmod 0750 "$root/etc/enrolld"
install -m 0644 README.md "$root/usr/share/doc/enrolld/README.md"
printf 'enrolld\nLicense: Apache-2.0 (see /usr/share/common-licenses/Apache-2.0)\n' >"$root/usr/share/doc/enrolld/copyright"

size=$(du -sk "$root" | cut -f1)
# libtss2-esys/libtss2-tctildr: the addon links them (pkg-config tss2-esys tss2-tctildr tss2-mu tss2-rc);
# libtss2-tcti-device0 provides device:/dev/tpmrm0. Debian 12 names (t64 names on newer releases are alternatives).
cat >"$root/DEBIAN/control" <<EOF
Package: enrolld
Version: $version
Architecture: $arch
Maintainer: enrolld maintainers <enrolld@example.invalid>
Installed-Size: $size
Section: admin
Priority: optional
Depends: nodejs (>= 20), libtss2-esys-3.0.2-0 | libtss2-esys-3.0.2-0t64, libtss2-tctildr0 | libtss2-tctildr0t64, libtss2-mu0 | libtss2-mu-4.0.1-0t64, libtss2-rc0 | libtss2-rc0t64, libtss2-tcti-device0 | libtss2-tcti-device0t64
Recommends: systemd
Homepage: https://example.invalid/enrolld
Description: TPM-backed certificate enrollment agent (EST, RFC 7030/8295)
 enrolld enrolls and renews device certificates over EST whose private keys
 never leave the TPM, polls package availability lists (RFC 8295) and
 publishes device status to MQTT. Runs as the hardened enrolld.service.
EOF
echo /etc/enrolld/config.json >"$root/DEBIAN/conffiles"

# Maintainer scripts: every systemd tool is optional (containers, chroots, dpkg --root builds).
cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  if [ -z "${DPKG_ROOT:-}" ]; then
    if command -v systemd-sysusers >/dev/null 2>&1; then systemd-sysusers /usr/lib/sysusers.d/enrolld.conf; fi
    if command -v systemd-tmpfiles >/dev/null 2>&1; then systemd-tmpfiles --create /usr/lib/tmpfiles.d/enrolld.conf; fi
    # The config is root:enrolld 0640 once the group exists (the .deb ships it root:root).
    if getent group enrolld >/dev/null 2>&1; then chgrp enrolld /etc/enrolld /etc/enrolld/config.json; fi
  fi
  if command -v deb-systemd-helper >/dev/null 2>&1; then
    # Enabled, not started: the device has no configuration until `enrolld provision` ran.
    if deb-systemd-helper --quiet was-enabled enrolld.service; then deb-systemd-helper enable enrolld.service >/dev/null || true
    else deb-systemd-helper update-state enrolld.service >/dev/null || true; fi
  fi
  if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    if [ -n "$2" ]; then deb-systemd-invoke try-restart enrolld.service >/dev/null || true; fi
  fi
fi
exit 0
EOF
cat >"$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  if command -v deb-systemd-invoke >/dev/null 2>&1; then deb-systemd-invoke stop enrolld.service >/dev/null || true
  else systemctl stop enrolld.service >/dev/null 2>&1 || true; fi
fi
exit 0
EOF
cat >"$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null || true; fi
if [ "$1" = purge ] && command -v deb-systemd-helper >/dev/null 2>&1; then deb-systemd-helper purge enrolld.service >/dev/null || true; fi
# State (/var/lib/enrolld) names TPM objects of this device: never removed automatically, not even on purge.
exit 0
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out/$pkg.deb" >/dev/null
echo "$out/$pkg.deb"
