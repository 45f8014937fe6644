# A case database path that is a FIFO, a socket or a device is refused at
# once with one line naming it (issue 14): before, SQLite's open blocked on
# a FIFO for ever (deadlined --once, deadlinectl list and check-data hung).
. tests/integration/lib.sh
PY=/usr/bin/python3
ln -s "$PWD/conf/rules" "$TMP/rules"
mkfifo "$TMP/fifo.db"
$PY -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$TMP/sock.db"
ln -s /dev/zero "$TMP/zero.db"
mkdir "$TMP/dir.db"
for what in fifo:FIFO sock:socket zero:device dir:directory; do
	name=${what%%:*} kind=${what#*:}
	cat > "$TMP/d.conf" <<CONF
source = { database = "$TMP/$name.db"; };
state = { database = "$TMP/state.db"; };
rules = {
  @include "rules/referral.conf"
};
CONF
	for cmd in "$DEADLINED --once -c $TMP/d.conf" "$DEADLINECTL -c $TMP/d.conf list" \
		   "$DEADLINECTL -c $TMP/d.conf check-data"; do
		t0=$(date +%s)
		err=$(timeout 20 $cmd 2>&1 >/dev/null); rc=$?
		t=$(($(date +%s) - t0))
		lines=$(printf '%s\n' "$err" | wc -l)
		[ $rc != 124 ] && [ $rc != 0 ] && [ "$t" -le 5 ] && [ "$lines" = 1 ] &&
		printf '%s' "$err" | grep -q "case database $TMP/$name.db: is a $kind.*not a regular file" \
			&& ok || bad "$name as the case database, ${cmd%% *}: rc $rc after $t s: $err"
	done
done
finish
