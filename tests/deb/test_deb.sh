# The Debian package (make check-deb, after make deb has built it into OUT):
# lintian finds no error or warning; the package holds every program, unit
# and manual page of the tree with the right modes and no secrets; then, in
# a throwaway root (dpkg --root, never this machine): a first install makes
# the user and the state directory and leaves the service disabled, the
# installed deadlined accepts the installed example, an upgrade keeps an
# edited conffile and takes an unedited one, a state database from a newer
# release is refused, a downgrade is let in with a warning, remove keeps the
# configuration and purge leaves nothing.
#
# Maintainer scripts run with --force-script-chrootless: on this machine,
# with DPKG_ROOT naming the root (systemd-sysusers --root, deb-systemd-helper
# and the postinst all honour it), since the root has no shell or libraries
# to chroot into.  --force-depends because the root has no libc either.
#   sh tests/deb/test_deb.sh OUT
. tests/integration/lib.sh
OUT=${1:-build/deb}
VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
DEB=$OUT/deadlined_${VERSION}_$(dpkg --print-architecture).deb
R=$TMP/root
host_passwd=$(md5sum /etc/passwd /etc/group)

[ -f "$DEB" ] || { bad "no $DEB: run make deb first (its log: $OUT/build.log)"; finish; exit 1; }

# The package's version is the tree's.
[ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ] && ok \
	|| bad "package version $(dpkg-deb -f "$DEB" Version), Makefile's VERSION $VERSION"

# lintian: nothing at warning or above (overrides, if any, carry reasons).
if lintian --fail-on error,warning "$OUT"/deadlined_"${VERSION}"_*.changes \
	>"$TMP/lintian.log" 2>&1; then ok; else bad "lintian: $(cat "$TMP/lintian.log")"; fi

# Build-Depends names the package of every pkg-config module the Makefile
# builds with (this machine has them all, so a missing one would not show
# in the build here, only on a clean builder).
awk '/^Build-Depends:/ { f = 1; sub(/^Build-Depends:/, "") } f && /^[A-Z]/ { f = 0 } f' \
	debian/control | tr ',|' '\n\n' | sed 's/^ *//; s/[ (].*//' | grep . > "$TMP/build-deps"
for m in $(sed -n 's/^PKGS *:= *//p' Makefile); do
	owner=$(dpkg -S "$(pkg-config --variable=pcfiledir "$m")/$m.pc" 2>/dev/null | cut -d: -f1)
	[ -n "$owner" ] && grep -qx "$owner" "$TMP/build-deps" && ok \
		|| bad "debian/control's Build-Depends lacks ${owner:-the package} for pkg-config's $m"
done

# Library dependencies are dh_shlibdeps', with versions, and the ones the
# programs link.
dep=$(dpkg-deb -f "$DEB" Depends)
for lib in libc6 libconfig9 libcurl4 libsqlite3-0 libsystemd0 libjansson4 libssl3; do
	printf '%s' "$dep" | grep -q "$lib" && ok || bad "Depends lacks $lib: $dep"
done

# Every file: owner root, the mode it should have.  mode_of PATH from the
# package's listing.
dpkg-deb -c "$DEB" > "$TMP/contents"
mode_of() { awk -v p="./${1#/}" '$6 == p { print $1 " " $2 }' "$TMP/contents"; }
want_mode() {
	got=$(mode_of "$1")
	[ "$got" = "$2 root/root" ] && ok || bad "$1: '${got:-missing}', want '$2 root/root'"
}
UNITDIR=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
for p in $(sed -n 's/^SBIN_PROGS *:= *//p' Makefile); do want_mode "/usr/sbin/$p" -rwxr-xr-x; done
for p in $(sed -n 's/^BIN_PROGS *:= *//p' Makefile); do want_mode "/usr/bin/$p" -rwxr-xr-x; done
for u in systemd/*.service systemd/*.socket systemd/*.timer; do
	[ -e "$u" ] && want_mode "$UNITDIR/${u##*/}" -rw-r--r--
done
for u in systemd/*.service; do want_mode "$UNITDIR/${u##*/}.d/debian.conf" -rw-r--r--; done
for m in man/*.[1-8]; do want_mode "/usr/share/man/man${m##*.}/${m##*/}.gz" -rw-r--r--; done
for f in conf/rules/*.conf; do want_mode "/etc/deadlined/rules/${f##*/}" -rw-r--r--; done
for f in /etc/deadlined/deadlined.conf /usr/share/deadlined/schema/native.sql \
	/usr/lib/sysusers.d/deadlined.conf \
	/usr/share/doc/deadlined/README.Debian /usr/share/doc/deadlined/copyright; do
	want_mode "$f" -rw-r--r--
done
# No secrets, no state, nothing under /var or /usr/local, nothing set-id.
bad_files=$(grep -E '\.pass$|secret|credential|\./var/|\./usr/local/|^[^ ]*[sS]' "$TMP/contents")
[ -z "$bad_files" ] && ok || bad "the package ships: $bad_files"
# Every file in /etc/deadlined is a conffile, and nothing else is.
dpkg-deb -e "$DEB" "$TMP/ctl"
awk '$6 ~ /^\.\/etc\// && $1 !~ /^d/ { print substr($6, 2) }' "$TMP/contents" | sort > "$TMP/etc-files"
sort "$TMP/ctl/conffiles" | cmp -s - "$TMP/etc-files" && ok \
	|| bad "conffiles $(cat "$TMP/ctl/conffiles") vs files in /etc $(cat "$TMP/etc-files")"

# Each unit with the package's drop-in beside it (systemd-analyze reads
# NAME.service.d/ next to the file): valid, and as confined as with the
# dynamic user (test_service.sh holds deadlined.service alone to 1.5).
dpkg-deb -x "$DEB" "$TMP/x"
mkdir "$TMP/units"
for u in "$TMP/x$UNITDIR"/*; do
	if [ -d "$u" ]; then cp -r "$u" "$TMP/units/"
	else sed "s#=/usr/sbin/#=$TMP/x/usr/sbin/#; s#=/usr/bin/#=$TMP/x/usr/bin/#" "$u" \
		> "$TMP/units/${u##*/}"; fi
done
for u in "$TMP/units"/*.service; do
	n=${u##*/}
	out=$(systemd-analyze verify --man=no "$u" 2>&1); rc=$?
	[ $rc = 0 ] && [ -z "$out" ] && ok || bad "systemd-analyze verify $n with the drop-in: rc $rc: $out"
	sec=$(systemd-analyze security --offline=yes "$u" 2>/dev/null)
	score=$(printf '%s\n' "$sec" | sed -n "s/.*Overall exposure level for $n: \([0-9.]*\).*/\1/p")
	printf '%s\n' "$sec" | grep -q 'runs under a static non-root user' && ok \
		|| bad "$n: the drop-in's static user not seen"
	[ -n "$score" ] && awk "BEGIN { exit !($score <= 1.5) }" && ok \
		|| bad "$n: exposure with the drop-in '$score' > 1.5"
	echo "$n exposure with the package's drop-in: $score"
done

# The previous release: this package relabelled $VERSION~prev, whose example
# configuration and referral rules differ, so that the upgrade meets both
# an edited conffile (kept, the new one beside it) and an unedited one
# (replaced).
dpkg-deb -R "$DEB" "$TMP/prev"
sed -i "s/^Version: .*/Version: ${VERSION}~prev/" "$TMP/prev/DEBIAN/control"
echo '# as the previous release shipped it' >> "$TMP/prev/etc/deadlined/deadlined.conf"
echo '# as the previous release shipped it' >> "$TMP/prev/etc/deadlined/rules/referral.conf"
(cd "$TMP/prev" && find . -path ./DEBIAN -prune -o -type f -print | sed 's#^\./##' | sort |
	xargs md5sum > DEBIAN/md5sums)
dpkg-deb --root-owner-group -b "$TMP/prev" "$TMP/prev.deb" >/dev/null

# dpkg installs (even into a directory) only as root.
if [ "$(id -u)" -ne 0 ]; then
	not_run "install, upgrade, remove and purge in a throwaway root: dpkg needs root"
	finish
	exit
fi
mkdir -p "$R/etc" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/info"
: > "$R/var/lib/dpkg/status"
echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"
echo 'root:x:0:' > "$R/etc/group"
rdpkg() {
	dpkg --root="$R" --force-script-chrootless --force-depends --log="$TMP/dpkg.log" "$@" \
		>>"$TMP/dpkg.out" 2>&1
}
# installed_version: what the root's dpkg database says.
installed_version() {
	dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${db:Status-Abbrev}${Version}' deadlined \
		2>/dev/null
}

# First install.
rdpkg -i "$TMP/prev.deb" && ok || bad "dpkg -i the previous package: $(tail -5 "$TMP/dpkg.out")"
[ "$(installed_version)" = "ii ${VERSION}~prev" ] && ok || bad "installed: '$(installed_version)'"
user=$(grep '^deadlined:' "$R/etc/passwd")
uid=$(echo "$user" | cut -d: -f3)
case $user in
deadlined:x:*:*:*:/var/lib/deadlined:/usr/sbin/nologin) ok ;;
*) bad "the system user: '$user'" ;;
esac
[ -n "$uid" ] && [ "$uid" -lt 1000 ] && ok || bad "uid '$uid' is not a system uid"
grep -q '^deadlined:' "$R/etc/group" && ok || bad "no group deadlined"
st=$(stat -c '%a %u' "$R/var/lib/deadlined" 2>&1)
[ "$st" = "700 $uid" ] && ok || bad "/var/lib/deadlined: '$st', want '700 $uid'"
[ "$(stat -c %a "$R/usr/sbin/deadlined")" = 755 ] && ok || bad "installed deadlined's mode"
# Disabled: no symlink anywhere under the root's /etc/systemd.
[ -z "$(find "$R/etc" -name 'deadlined.service' 2>/dev/null)" ] && ok \
	|| bad "the service was enabled on install: $(find "$R/etc" -name deadlined.service)"
# The installed daemon accepts the installed example and rule pack.
out=$($VG "$R/usr/sbin/deadlined" -n -c "$R/etc/deadlined/deadlined.conf" 2>&1); rc=$?
case $rc:$out in
"0:deadlined: $R/etc/deadlined/deadlined.conf: configuration OK ("*" rules)") ok ;;
*) bad "installed deadlined -n on the installed example: exit $rc: $out" ;;
esac
for p in usr/sbin/deadlined usr/bin/deadlinectl; do
	v=$("$R/$p" --version 2>&1)
	[ "$v" = "${p##*/} $VERSION" ] && ok || bad "installed $p --version: '$v'"
done

# The administrator edits the configuration, adds a secret, and the
# daemon has state.
echo '# local edit' >> "$R/etc/deadlined/deadlined.conf"
mkdir -m 0700 "$R/etc/deadlined/credentials"
echo 'hunter2' > "$R/etc/deadlined/credentials/smtp.pass"
sqlite3 "$R/var/lib/deadlined/state.db" 'CREATE TABLE t (x);'

# Upgrade, answering dpkg's question about the edited file the way an
# administrator keeping theirs does (--force-confold; N at the prompt).
rdpkg --force-confold -i "$DEB" && ok || bad "upgrade: $(tail -5 "$TMP/dpkg.out")"
[ "$(installed_version)" = "ii $VERSION" ] && ok || bad "after upgrade: '$(installed_version)'"
grep -q '^# local edit$' "$R/etc/deadlined/deadlined.conf" && ok || bad "upgrade lost the edit"
cmp -s "$R/etc/deadlined/deadlined.conf.dpkg-dist" conf/deadlined.conf && ok \
	|| bad "the new example is not beside the edited one as deadlined.conf.dpkg-dist"
cmp -s "$R/etc/deadlined/rules/referral.conf" conf/rules/referral.conf && ok \
	|| bad "the unedited rules/referral.conf was not upgraded"
[ "$(grep -c '^deadlined:' "$R/etc/passwd")" = 1 ] && [ "$(grep '^deadlined:' "$R/etc/passwd")" = "$user" ] \
	&& ok || bad "upgrade changed the user: $(grep '^deadlined:' "$R/etc/passwd")"
[ -f "$R/var/lib/deadlined/state.db" ] && ok || bad "upgrade lost the state"
[ -z "$(find "$R/etc" -name 'deadlined.service' 2>/dev/null)" ] && ok || bad "upgrade enabled the service"

# A downgrade: the state database now carries a schema version newer than
# the installed deadlined knows (as a newer release would leave it); the
# daemon refuses it, says why, and leaves it alone.
sed -e "s#\"/var/lib/deadlined/#\"$R/var/lib/deadlined/#" \
	"$R/etc/deadlined/deadlined.conf" > "$R/etc/deadlined/downgrade.conf"
sqlite3 "$R/var/lib/deadlined/cases.db" < conf/schema/native.sql
grep -q "$R/var/lib/deadlined/state.db" "$R/etc/deadlined/downgrade.conf" && ok \
	|| bad "the example's state.database is no longer /var/lib/deadlined/state.db"
rm -f "$R/var/lib/deadlined/state.db"
sqlite3 "$R/var/lib/deadlined/state.db" 'PRAGMA user_version = 999;'
out=$($VG "$R/usr/sbin/deadlined" --once -c "$R/etc/deadlined/downgrade.conf" 2>&1); rc=$?
case $rc:$out in
1:*"schema version 999, newer than this deadlined understands"*"refusing to use it"*) ok ;;
*) bad "deadlined on a newer state database: exit $rc: $out" ;;
esac
[ "$(sqlite3 "$R/var/lib/deadlined/state.db" 'PRAGMA user_version')" = 999 ] && ok \
	|| bad "the newer state database was changed"
rm -f "$R/etc/deadlined/downgrade.conf"
# dpkg itself lets the previous package back in; its postinst says why the
# service may then not start.  Going forward again says nothing of it.
: > "$TMP/dpkg.out"
rdpkg --force-confold -i "$TMP/prev.deb" && ok || bad "downgrade: $(tail -5 "$TMP/dpkg.out")"
tr '\n' ' ' < "$TMP/dpkg.out" | grep -q \
	"deadlined: downgraded from $VERSION to ${VERSION}~prev\. *If $VERSION migrated the state database" \
	&& ok || bad "no downgrade warning: $(cat "$TMP/dpkg.out")"
: > "$TMP/dpkg.out"
rdpkg --force-confold -i "$DEB" && ! grep -q 'downgraded' "$TMP/dpkg.out" && ok \
	|| bad "reinstalling $VERSION: $(tail -5 "$TMP/dpkg.out")"

# Remove: the programs go, the configuration and the state stay.
rdpkg -r deadlined && ok || bad "dpkg -r: $(tail -5 "$TMP/dpkg.out")"
[ ! -e "$R/usr/sbin/deadlined" ] && [ ! -e "$R$UNITDIR/deadlined.service" ] && ok \
	|| bad "remove left the program or the unit"
grep -q '^# local edit$' "$R/etc/deadlined/deadlined.conf" && [ -f "$R/var/lib/deadlined/state.db" ] \
	&& ok || bad "remove took the configuration or the state"

# Purge: nothing of deadlined's is left but its system user.
rdpkg -P deadlined && ok || bad "dpkg -P: $(tail -5 "$TMP/dpkg.out")"
[ -z "$(installed_version)" ] || [ "$(installed_version)" = "pn" ] && ok \
	|| bad "after purge the package is '$(installed_version)'"
[ ! -e "$R/etc/deadlined" ] && [ ! -e "$R/var/lib/deadlined" ] && ok \
	|| bad "left after purge: $(ls -d "$R/etc/deadlined" "$R/var/lib/deadlined" 2>/dev/null)"
left=$(cd "$R" && find . -path ./var/lib/dpkg -prune -o -type f -print | grep -v -E \
	'^\./etc/(passwd|group|shadow|gshadow)-?$|^\./etc/\.pwd\.lock$' | sort)
[ -z "$left" ] && ok || bad "files left after purge: $left"

# This machine was never touched.
[ "$(md5sum /etc/passwd /etc/group)" = "$host_passwd" ] && ok || bad "this machine's passwd changed"
[ ! -e /usr/lib/sysusers.d/deadlined.conf ] && ok || bad "deadlined installed on this machine"

echo "package: $(du -k "$DEB" | cut -f1) KiB, $(grep -c '^-' "$TMP/contents") files"
finish
