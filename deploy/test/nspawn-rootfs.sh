#!/bin/sh
# Builds (once) the Debian 12 root file system that test/integration/systemd-nspawn.test.ts boots under
# systemd-nspawn, and prints its path. Called from .ci/run before `npm test`, so the test itself never waits for
# debootstrap (minutes on the first run).
#
#   deploy/test/nspawn-rootfs.sh           build if missing, print the path
#   deploy/test/nspawn-rootfs.sh --path    only print the path the test looks for (nothing is built)
#
# The root is `debootstrap --variant=minbase bookworm` from the Debian mirror apt itself uses (first bookworm
# entry of /etc/apt/sources.list{,.d/*.list,.d/*.sources}), plus systemd, dbus and the tss2 libraries the addon
# links (the enrolld .deb Depends on them; the container's dpkg checks that). It is cached under
# ${ENROLLD_TEST_CACHE:-/var/cache/enrolld-test}/rootfs-<hash of suite + package list>: built in a temporary
# directory beside it and renamed into place, so an interrupted build never leaves a half root behind.
# Needs root and debootstrap; without them it says so and exits 0 (the test then reports its skip with the reason).
set -eu

SUITE=bookworm
# Sorted, one per line: the hash (and so the cache name) changes whenever the list does.
PACKAGES="dbus
libstdc++6
libtss2-esys-3.0.2-0
libtss2-mu0
libtss2-rc0
libtss2-tctildr0
libtss2-tcti-device0
libtss2-tcti-swtpm0
systemd
tpm-udev"

cache=${ENROLLD_TEST_CACHE:-/var/cache/enrolld-test}
hash=$(printf '%s\n%s\n' "$SUITE" "$PACKAGES" | sha256sum | cut -c1-16)
rootfs="$cache/rootfs-$hash"

if [ "${1:-}" = --path ]; then echo "$rootfs"; exit 0; fi
say() { echo "nspawn-rootfs: $*" >&2; }

if [ -x "$rootfs/usr/lib/systemd/systemd" ] || [ -x "$rootfs/lib/systemd/systemd" ]; then echo "$rootfs"; exit 0; fi
if [ "$(id -u)" != 0 ]; then say "not root: cannot debootstrap; the systemd-nspawn test will skip"; exit 0; fi
if ! command -v debootstrap >/dev/null 2>&1; then say "debootstrap is not installed; the systemd-nspawn test will skip"; exit 0; fi

# The mirror apt uses: one-line (.list) or deb822 (.sources) entries naming the suite.
mirror=$(
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && awk -v s="$SUITE" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) { if ($(i+1) == s) print $i; break } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && awk -v s="$SUITE" '
      /^[ \t]*$/ { if (uri != "" && suites ~ ("(^| )" s "( |$)")) print uri; uri = ""; suites = ""; next }
      /^URIs:/ { uri = $2 } /^Suites:/ { $1 = ""; suites = $0 }
      END { if (uri != "" && suites ~ ("(^| )" s "( |$)")) print uri }' "$f"
  done | head -n 1
)
mirror=$(printf '%s\n' "$mirror" | head -n 1)
if [ -z "$mirror" ]; then say "no $SUITE entry in /etc/apt/sources.list*: cannot pick a mirror; the test will skip"; exit 0; fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
# Another run may have finished it while this one waited for the lock.
if [ -x "$rootfs/usr/lib/systemd/systemd" ] || [ -x "$rootfs/lib/systemd/systemd" ]; then echo "$rootfs"; exit 0; fi

tmp=$(mktemp -d "$cache/.build-$hash.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
include=$(printf '%s' "$PACKAGES" | tr '\n' ',')
say "debootstrap --variant=minbase $SUITE from $mirror (+ $include) into $tmp"
started=$(date +%s)
if ! debootstrap --variant=minbase --include="$include" "$SUITE" "$tmp" "$mirror" >"$cache/debootstrap-$hash.log" 2>&1; then
  say "debootstrap failed (last lines of $cache/debootstrap-$hash.log follow); the test will skip"
  tail -n 20 "$cache/debootstrap-$hash.log" >&2
  exit 0
fi
# A booted container needs no package caches; the hostname makes the journal lines recognisable.
rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"* 2>/dev/null || true
echo enrolld-test >"$tmp/etc/hostname"
: >"$tmp/etc/machine-id"
chmod 0755 "$tmp"
mv -T "$tmp" "$rootfs"
trap - EXIT INT TERM
say "built $rootfs in $(( $(date +%s) - started )) s"
echo "$rootfs"
