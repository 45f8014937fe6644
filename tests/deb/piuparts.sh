#!/bin/sh
# make piuparts: the package built by make deb, under piuparts in a Debian 12
# chroot made by debootstrap from the mirror apt uses here: install, remove,
# purge, and nothing left behind (piuparts' own comparison of the chroot
# before and after).  Needs the mirror and about 150 MB; the base tarball is
# kept in $PIUPARTS_CACHE (build/piuparts) for later runs.  Its log is
# $PIUPARTS_CACHE/piuparts.log.
#   tests/deb/piuparts.sh OUT
set -eu
out=${1:-build/deb}
cache=${PIUPARTS_CACHE:-build/piuparts}
version=$(sed -n 's/^VERSION *:= *//p' Makefile)
deb=$out/deadlined_${version}_$(dpkg --print-architecture).deb
# The first deb line of apt's sources: the same mirror and suite as apt-get.
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list)
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")

scripts/deps.sh piuparts
mkdir -p "$cache/tmp"
base=$cache/$suite.tar.gz
if [ -s "$base" ]; then basearg="--basetgz=$base"; else basearg="--save=$base"; fi
echo "piuparts: $deb on $suite from $mirror (log: $cache/piuparts.log)"
# Not deadlined's: systemd, pulled in for systemd-sysusers (the first
# alternative of the dependency dh_installsysusers adds), creates these with
# its tmpfiles.d at install and leaves them when it is purged in its turn.
systemd_leftovers="/root/.ssh/ /var/cache/private/ /var/lib/private/ /var/log/private/
/var/lib/systemd/coredump/ /var/lib/systemd/pstore/"
ignores=$(for f in $systemd_leftovers; do printf ' --ignore=%s' "$f"; done)
# shellcheck disable=SC2086  # $ignores is a list of options
if piuparts --tmpdir="$(readlink -f "$cache/tmp")" -d "$suite" -m "$mirror" "$basearg" \
	$ignores -l "$cache/piuparts.log" "$deb" >/dev/null 2>&1; then
	grep -E 'PASS:' "$cache/piuparts.log" | tail -n 1
else
	grep -E 'ERROR|FAIL' "$cache/piuparts.log" | tail -n 20 >&2
	echo "piuparts failed: $cache/piuparts.log" >&2
	exit 1
fi
