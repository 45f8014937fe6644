# make install / make uninstall into a DESTDIR: every file in its place, the
# unit pointing at the installed program, and uninstall removing what it
# installed while keeping the administrator's configuration.
. tests/integration/lib.sh
D="$TMP/root"
UNITDIR=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
make -s install DESTDIR="$D" PREFIX=/usr SANITIZE="${SANITIZE:-}" >"$TMP/make.log" 2>&1 \
	&& ok || bad "make install: $(tail -5 "$TMP/make.log")"
for f in /usr/sbin/deadlined /usr/bin/deadlinectl /etc/deadlined/deadlined.conf \
	/etc/deadlined/rules/referral.conf /usr/share/deadlined/schema/native.sql \
	"$UNITDIR/deadlined.service" /usr/share/man/man8/deadlined.8 \
	/usr/share/man/man5/deadlined.conf.5 /usr/share/man/man1/deadlinectl.1; do
	[ -f "$D$f" ] && ok || bad "not installed: $f"
done
grep -qx 'ExecStart=/usr/sbin/deadlined' "$D$UNITDIR/deadlined.service" && ok || bad "unit's ExecStart"
# The installed example checks out against its installed rule pack.
expect 0 'deadlined: '"$D"'/etc/deadlined/deadlined.conf: configuration OK (19 rules)' '' \
	-- $VG "$D/usr/sbin/deadlined" -n -c "$D/etc/deadlined/deadlined.conf"
# An administrator's edit survives a second install.
echo '# local edit' >> "$D/etc/deadlined/deadlined.conf"
make -s install DESTDIR="$D" PREFIX=/usr SANITIZE="${SANITIZE:-}" >/dev/null 2>&1
grep -q '^# local edit$' "$D/etc/deadlined/deadlined.conf" && ok || bad "install overwrote the config"
make -s uninstall DESTDIR="$D" PREFIX=/usr >/dev/null 2>&1 && ok || bad "make uninstall"
left=$(cd "$D" && find . -type f ! -path './etc/deadlined/*' | sort)
[ -z "$left" ] && ok || bad "left after uninstall: $left"
[ -f "$D/etc/deadlined/deadlined.conf" ] && ok || bad "uninstall removed the configuration"
finish
