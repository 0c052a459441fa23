#!/bin/sh
# Builds enrolld_<version>_<arch>.deb from the built tree (dist/bundle by `npm run build:bundle`, dist/agent by tsc for
# the man page tables, build/Release/enrolld_tpm.node by node-gyp, node_modules installed for the licence list):
# `npm run package:deb` or `deploy/deb/build.sh [OUTDIR]` (default: dist/deb).
#
#   /usr/lib/enrolld/{package.json, dist/bundle (esbuild output + source maps), build/Release/enrolld_tpm.node}
#   /usr/bin/enrolld                          wrapper: node --jitless dist/bundle/enrolld.mjs (deploy/deb/enrolld)
#   /lib/systemd/system/enrolld.service       systemd/enrolld.service (Debian 12 keeps units in /lib)
#   /usr/lib/sysusers.d/enrolld.conf          systemd/enrolld.sysusers
#   /usr/lib/tmpfiles.d/enrolld.conf          systemd/enrolld.tmpfiles
#   /etc/enrolld/config.json                  example configuration (conffile, 0640; the admin edits it)
#   /usr/share/man/man8/enrolld.8.gz          generated from `enrolld help` (deploy/man/generate.mjs)
#   /usr/share/man/man5/enrolld.json.5.gz     deploy/man/enrolld.json.5
#   /usr/share/bash-completion/completions/enrolld   generated like enrolld(8)
#   /usr/share/doc/enrolld/{README.md.gz, changelog.gz, copyright}
#
# Not shipped: node_modules, the tsc output, tests, the lab server (deploy/lab/) and the demo chunk that drives it.
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
[ -f dist/agent/cli/help.js ] || die "dist/agent missing (enrolld(8) is generated from it): run npm run build first"
[ -f dist/bundle/enrolld.mjs ] || die "dist/bundle/enrolld.mjs missing: run npm run build:bundle first"
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
mkdir -p "$lib/build/Release" "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/lib/sysusers.d" \
  "$root/usr/lib/tmpfiles.d" "$root/etc/enrolld" "$doc" "$root/usr/share/man/man8" "$root/usr/share/man/man5" \
  "$root/usr/share/bash-completion/completions" "$root/DEBIAN"

# Application: the production build (dist/bundle: launcher, main.mjs, lazy chunks, vendor/*.cjs, their source maps),
# the addon, package.json (packageRoot() looks for it to find build/Release). The bundle needs no node_modules.
# No lab code: the bundle never contains deploy/lab/ (the demo finds the lab at run time in a development tree), and
# the demo chunk itself is left out too, so `enrolld demo` says the demo needs the development tree.
cp package.json "$lib/"
mkdir -p "$lib/dist"
cp -R dist/bundle "$lib/dist/bundle"
demo=$(grep -l 'agent/cli/demo\.ts' "$lib"/dist/bundle/*.mjs.map | sed 's/\.map$//') || die "dist/bundle: no chunk carries agent/cli/demo.ts"
for f in $demo; do rm -f "$f" "$f.map"; done
if grep -l 'deploy/lab/' "$lib"/dist/bundle/*.map "$lib"/dist/bundle/vendor/*.map 2>/dev/null; then die "dist/bundle carries lab code (deploy/lab/)"; fi
cp build/Release/enrolld_tpm.node "$lib/build/Release/"

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
# The bundled dependencies' licences (policy §12.5) go into copyright: the production dependency tree exactly as npm
# resolved it (npm ls reads the installed node_modules; nothing is downloaded), less type declarations and cbor-x's
# optional native extractor, which the bundle leaves out (cbor-x falls back to its JavaScript decoder). One Files
# stanza for the bundle names every module; one standalone License paragraph per licence holds each module's own
# text, indented as DEP-5 wants (Apache-2.0 by reference to common-licenses, as lintian asks).
npm ls --omit=dev --all --parseable 2>/dev/null | while read -r p; do
  case "$p" in
    "$top"/node_modules/@types/*) ;;
    */cbor-extract | */@cbor-extract/* | */node-gyp-build-optional-packages | */detect-libc) ;;
    "$top"/node_modules/*) echo "$p" ;;
  esac
done >"$stage/modules"
grep -q '/node_modules/pkijs$' "$stage/modules" || die "production dependencies not found in node_modules (run npm ci)"
node - "$stage/modules" >>"$doc/copyright" <<'JS'
const fs = require('node:fs');
const path = require('node:path');
const dirs = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean);
const indent = (t) => t.replace(/\s+$/, '').split('\n').map((l) => ' ' + (l.trimEnd() || '.')).join('\n');
const mods = dirs.map((d) => {
  const p = JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8'));
  const lic = typeof p.license === 'string' ? p.license.replace(/^\((.*)\)$/, '$1').replace(/ OR /g, ' or ').replace(/ AND /g, ' and ') : 'other';
  const f = fs.readdirSync(d).sort().find((n) => /^(licen[cs]e|copying)/i.test(n));
  const text = f ? fs.readFileSync(path.join(d, f), 'utf8') : '';
  const holders = text.split('\n').map((l) => l.trim()).filter((l) => /^(\(c\)|copyright\b)/i.test(l) && !/^copyright (notice|holders?)\b/i.test(l));
  return { name: `${p.name} ${p.version}`, lic, text, holders: holders.length ? holders : [`the authors of ${p.name}`] };
}).sort((x, y) => (x.name < y.name ? -1 : 1));
const names = [...new Set(mods.flatMap((m) => m.lic.split(/ (?:or|and) /)))].sort();
const out = [];
out.push('', 'Files: usr/lib/enrolld/dist/bundle/*', 'Copyright: 2026 the enrolld authors');
for (const m of mods) for (const h of new Set(m.holders)) out.push(` ${h} (${m.name})`);
out.push(`License: Apache-2.0 and ${names.filter((n) => n !== 'Apache-2.0').join(' and ')}`);
out.push(indent(`The agent (Apache-2.0) bundled by esbuild with these npm modules, each under its own licence (its text follows in the License paragraph of that name):\n${mods.map((m) => `${m.name}: ${m.lic}`).join('\n')}`));
for (const n of names) {
  if (n === 'Apache-2.0') continue;
  const of = mods.filter((m) => m.lic.split(/ (?:or|and) /).includes(n));
  out.push('', `License: ${n}`);
  out.push(of.map((m) => indent(`${m.name}:\n\n${m.text.trim() || `no licence file; package.json says ${m.lic}`}`)).join('\n .\n .\n'));
}
process.stdout.write(out.join('\n') + '\n');
JS
# npm leaves executable bits on plain files: 0644, and 0755 for scripts with a #! line (policy §10.4). The addon is
# a shared object loaded by node: 0644 (policy §8.1).
find "$lib" -type d -empty -delete
find "$lib" -type f -exec chmod 0644 {} +
find "$lib" -type d -exec chmod 0755 {} +
find "$lib" -type f \( -name '*.js' -o -name '*.mjs' \) -exec awk 'FNR == 1 { if (/^#!/) print FILENAME; nextfile }' {} + | xargs -r -d '\n' chmod 0755
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
