#!/bin/sh
# Builds enrolld_<version>_<arch>.deb from the built tree (dist/ compiled by tsc, build/Release/enrolld_tpm.node by
# node-gyp, node_modules installed): `npm run package:deb` or `deploy/deb/build.sh [OUTDIR]` (default: dist/deb).
#
#   /usr/lib/enrolld/{package.json, dist/agent, build/Release/enrolld_tpm.node, node_modules (production deps only)}
#   /usr/bin/enrolld                          wrapper: node --jitless (deploy/deb/enrolld)
#   /lib/systemd/system/enrolld.service       systemd/enrolld.service (Debian 12 keeps units in /lib)
#   /usr/lib/sysusers.d/enrolld.conf          systemd/enrolld.sysusers
#   /usr/lib/tmpfiles.d/enrolld.conf          systemd/enrolld.tmpfiles
#   /etc/enrolld/config.json                  example configuration (conffile, 0640; the admin edits it)
#   /usr/share/man/man8/enrolld.8.gz          generated from `enrolld help` (deploy/man/generate.mjs)
#   /usr/share/man/man5/enrolld.json.5.gz     deploy/man/enrolld.json.5
#   /usr/share/bash-completion/completions/enrolld   generated like enrolld(8)
#   /usr/share/doc/enrolld/{README.md.gz, changelog.gz, copyright}
#
# Not shipped: dist/test, dist/bench, dist/deploy (the lab server: `enrolld demo` says so), source maps, dev deps.
# Files are root:root (dpkg-deb --root-owner-group), so the build itself needs no root.
#
# Maintainer scripts are debhelper's snippets (dh_installsysusers, dh_installtmpfiles, dh_installsystemd
# --no-start --restart-after-upgrade, compat 13) written out here, with one change: systemd-tmpfiles runs only
# where /proc is mounted; in a chroot without it (image builds) the directories are left to
# systemd-tmpfiles-setup.service at first boot, so `dpkg --configure` still succeeds.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:-$top/dist/deb}

die() { echo "deploy/deb/build.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required"; }
need dpkg-deb
need node
need npm
need gzip

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
doc="$root/usr/share/doc/enrolld"

umask 022
mkdir -p "$lib/build/Release" "$lib/node_modules" "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/lib/sysusers.d" \
  "$root/usr/lib/tmpfiles.d" "$root/etc/enrolld" "$doc" "$root/usr/share/man/man8" "$root/usr/share/man/man5" \
  "$root/usr/share/bash-completion/completions" "$root/DEBIAN"

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
    # cbor-x's optional native string extractor: prebuilt, unstripped, musl and glibc, for several Node ABIs; cbor-x
    # falls back to its JavaScript decoder (the agent's CBOR messages are small).
    */cbor-extract | */@cbor-extract/* | */node-gyp-build-optional-packages | */detect-libc) ;;
    "$top"/node_modules/*) rel=${p#"$top"/}; mkdir -p "$lib/$(dirname "$rel")"; cp -a "$p" "$lib/$rel" ;;
  esac
done
# Dependencies nest (node_modules/a/node_modules/b): each copy above brought its subtree; drop build leftovers.
find "$lib/node_modules" \( -name '*.md' -o -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \) -type f -delete
# …and what Debian ships elsewhere or not at all: documentation and test fixtures (policy §12.3), linter configs.
find "$lib/node_modules" -type d \( -name fixture -o -name fixtures -o -name test -o -name tests -o -name docs -o -name help \) -prune -exec rm -rf {} +
find "$lib/node_modules" -type f \( -name '*.html' -o -name '*.txt' -o -name '.eslintrc*' -o -name '.npmignore' -o -name '.travis.yml' -o -name '.editorconfig' \) -delete
[ -d "$lib/node_modules/pkijs" ] || die "production dependencies not found in node_modules (run npm ci)"

install -m 0755 deploy/deb/enrolld "$root/usr/bin/enrolld"
install -m 0644 systemd/enrolld.service "$root/lib/systemd/system/enrolld.service"
install -m 0644 systemd/enrolld.sysusers "$root/usr/lib/sysusers.d/enrolld.conf"
install -m 0644 systemd/enrolld.tmpfiles "$root/usr/lib/tmpfiles.d/enrolld.conf"
install -m 0640 deploy/examples/config.json "$root/etc/enrolld/config.json"
chmod 0750 "$root/etc/enrolld"
# enrolld(8) and the completion come from the `enrolld help` tables (deploy/man/generate.mjs).
node deploy/man/generate.mjs dist "$stage"
install -m 0644 "$stage/enrolld.bash-completion" "$root/usr/share/bash-completion/completions/enrolld"
# Debian policy §12.1/§12.3: man pages and documentation gzip -9n (no name, no time stamp: reproducible).
gzip -9nc "$stage/enrolld.8" >"$root/usr/share/man/man8/enrolld.8.gz"
gzip -9nc deploy/man/enrolld.json.5 >"$root/usr/share/man/man5/enrolld.json.5.gz"
gzip -9nc README.md >"$doc/README.md.gz"
gzip -9nc deploy/deb/changelog >"$doc/changelog.gz"
install -m 0644 deploy/deb/copyright "$doc/copyright"
mkdir -p "$root/usr/share/lintian/overrides"
install -m 0644 deploy/deb/lintian-overrides "$root/usr/share/lintian/overrides/enrolld"
# The shipped dependencies' licences (policy §12.5) go into copyright, not beside the code: one stanza per module,
# its licence text indented as DEP-5 wants (Apache-2.0 by reference to common-licenses, as lintian asks).
node - "$lib" >>"$doc/copyright" <<'JS'
const fs = require('node:fs');
const path = require('node:path');
const lib = process.argv[2];
const out = [];
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const d = path.join(dir, e.name);
    if (e.name.startsWith('@')) { walk(d); continue; }
    let p;
    try { p = JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8')); } catch { continue; }
    const lic = typeof p.license === 'string' ? p.license : 'other';
    out.push({ rel: path.relative(lib, d), name: `${p.name} ${p.version}`, lic, text: licenceText(d, lic) });
    if (fs.existsSync(path.join(d, 'node_modules'))) walk(path.join(d, 'node_modules'));
  }
};
const licenceText = (d, lic) => {
  if (lic === 'Apache-2.0') return ' On Debian systems the full text of the Apache License, Version 2.0 is in\n /usr/share/common-licenses/Apache-2.0.';
  const f = fs.readdirSync(d).sort().find((n) => /^(licen[cs]e|copying)/i.test(n));
  if (!f) return ` See https://www.npmjs.com/package/${path.basename(d)}`;
  return fs.readFileSync(path.join(d, f), 'utf8').replace(/\s+$/, '').split('\n').map((l) => ' ' + (l.trimEnd() || '.')).join('\n');
};
walk(path.join(lib, 'node_modules'));
out.sort((x, y) => (x.rel < y.rel ? -1 : 1));
for (const m of out) process.stdout.write(`\nFiles: usr/lib/enrolld/${m.rel}/*\nCopyright: the authors of ${m.name}\nLicense: ${m.lic}\n${m.text}\n`);
JS
find "$lib/node_modules" -type f \( -iname 'licen[cs]e*' -o -iname 'copying*' -o -iname 'changelog*' -o -iname 'history*' -o -iname 'readme*' \) -delete
# npm leaves executable bits on plain files: 0644, and 0755 for scripts with a #! line (policy §10.4). The addon is
# a shared object loaded by node: 0644 (policy §8.1).
find "$lib" -type d -empty -delete
find "$lib" -type f -exec chmod 0644 {} +
find "$lib" -type d -exec chmod 0755 {} +
find "$lib" -type f -name '*.js' -exec awk 'FNR == 1 { if (/^#!/) print FILENAME; nextfile }' {} + | xargs -r -d '\n' chmod 0755
# Symbols and build paths out of the addon, as dh_strip does (policy §10.1).
if command -v strip >/dev/null 2>&1; then strip --strip-unneeded --remove-section=.comment --remove-section=.note "$lib/build/Release/enrolld_tpm.node"; fi

size=$(du -sk "$root" | cut -f1)
# The lowest Node version package.json "engines" admits (e.g. "^20.19.0 || ^22.12.0 || ^24.0.0" → 20.19.0): Debian
# ships only even (LTS) majors, so a lower bound says the same as the range.
node_min=$(node -p 'const m = /\d+(\.\d+)*/.exec(require("./package.json").engines?.node ?? ""); m ? m[0] : "20"')
# libtss2-esys/libtss2-tctildr: the addon links them (pkg-config tss2-esys tss2-tctildr tss2-mu tss2-rc);
# libtss2-tcti-device0 provides device:/dev/tpmrm0. Debian 12 names (t64 names on newer releases are alternatives).
# nodejs (>= $node_min): see above. systemd | …-sysusers and
# init-system-helpers: what dh_installsysusers and dh_installsystemd add for the maintainer scripts below.
cat >"$root/DEBIAN/control" <<EOF
Package: enrolld
Version: $version
Architecture: $arch
Maintainer: enrolld maintainers <enrolld@example.invalid>
Installed-Size: $size
Section: admin
Priority: optional
Depends: nodejs (>= $node_min), init-system-helpers (>= 1.54~), systemd | systemd-standalone-sysusers | systemd-sysusers, libtss2-esys-3.0.2-0 | libtss2-esys-3.0.2-0t64, libtss2-tctildr0 | libtss2-tctildr0t64, libtss2-mu0 | libtss2-mu-4.0.1-0t64, libtss2-rc0 | libtss2-rc0t64, libtss2-tcti-device0 | libtss2-tcti-device0t64, libc6
Homepage: https://example.invalid/enrolld
Description: TPM-backed certificate enrollment agent (EST, RFC 7030/8295)
 enrolld enrolls and renews device certificates over EST whose private keys
 never leave the TPM, polls package availability lists (RFC 8295) and
 publishes device status to MQTT. Runs as the hardened enrolld.service.
EOF
echo /etc/enrolld/config.json >"$root/DEBIAN/conffiles"

cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e

if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	# dh_installsysusers: user and group enrolld, membership in tss (needs no /proc; honours DPKG_ROOT).
	systemd-sysusers ${DPKG_ROOT:+--root="$DPKG_ROOT"} enrolld.conf
	# dh_installtmpfiles where it can work: systemd-tmpfiles refuses to run without /proc. In a chroot without it
	# systemd-tmpfiles-setup.service applies /usr/lib/tmpfiles.d/enrolld.conf at first boot.
	if [ -x "$(command -v systemd-tmpfiles)" ]; then
		if [ -n "${DPKG_ROOT:-}" ] || [ -e /proc/self/fd ]; then
			systemd-tmpfiles ${DPKG_ROOT:+--root="$DPKG_ROOT"} --create enrolld.conf
		else
			echo "enrolld: /proc is not mounted: /usr/lib/tmpfiles.d/enrolld.conf is applied at boot" >&2
		fi
	fi
	# The shipped config is root:root 0640 (dpkg-deb --root-owner-group); the service reads it as group enrolld.
	if [ -z "${DPKG_ROOT:-}" ] && getent group enrolld >/dev/null 2>&1; then
		chgrp enrolld /etc/enrolld
		if [ -f /etc/enrolld/config.json ]; then chgrp enrolld /etc/enrolld/config.json; fi
	fi
fi

# dh_installsystemd --no-start: enabled (WantedBy=dev-tpmrm0.device), not started (the device has no
# configuration until `enrolld provision` ran); an upgrade restarts it only if it was running.
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	# This will only remove masks created by d-s-h on package removal.
	deb-systemd-helper unmask 'enrolld.service' >/dev/null || true

	# was-enabled defaults to true, so new installations run enable.
	if deb-systemd-helper --quiet was-enabled 'enrolld.service'; then
		# Enables the unit on first installation, creates new symlinks on upgrades if the unit file has changed.
		deb-systemd-helper enable 'enrolld.service' >/dev/null || true
	else
		# Update the statefile to add new symlinks (if any), which need to be cleaned up on purge.
		deb-systemd-helper update-state 'enrolld.service' >/dev/null || true
	fi
fi
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			deb-systemd-invoke try-restart 'enrolld.service' >/dev/null || true
		fi
	fi
fi
exit 0
EOF
cat >"$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
# dh_installsystemd: stop on removal only (an upgrade restarts it from postinst).
if [ -z "${DPKG_ROOT:-}" ] && [ "$1" = remove ] && [ -d /run/systemd/system ] ; then
	deb-systemd-invoke stop 'enrolld.service' >/dev/null || true
fi
exit 0
EOF
cat >"$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
# dh_installsystemd
if [ -z "${DPKG_ROOT:-}" ] && [ "$1" = remove ] && [ -d /run/systemd/system ] ; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = "remove" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper mask 'enrolld.service' >/dev/null || true
	fi
fi
if [ "$1" = "purge" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper purge 'enrolld.service' >/dev/null || true
		deb-systemd-helper unmask 'enrolld.service' >/dev/null || true
	fi
fi
# State (/var/lib/enrolld) names TPM objects of this device: never removed automatically, not even on purge.
exit 0
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
# dh_md5sums: every file but the conffiles.
(cd "$root" && find . \( -path ./DEBIAN -o -path ./etc \) -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort | xargs -d '\n' md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control" "$root/DEBIAN/conffiles"

mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out/$pkg.deb" >/dev/null
echo "$out/$pkg.deb"
