# deadlined-web's tray in pages, served by several threads, with curl from
# 127.0.0.2 (the trusted proxy address): 60 open deadlines for team T3's
# manager make two pages of 50; the counts by state are the state store's
# own (read here by sqlite3, not by deadlined-web); the filters stay in the
# pages' links; 40 requests at once all get the same page; /metrics says
# the SQLite store has no pair ("single").
. tests/integration/lib.sh
. tests/integration/web_lib.sh

WEB_MANY=60 WEB_EXTRA='threads = 3;' web_setup || bad "first poll: $(cat "$TMP/poll1.out")"
web_start || { bad "deadlined-web did not start: $(cat "$TMP/web.err")"; finish; exit; }
W="http://127.0.0.1:$WEB_PORT"
tray() { curl -s --interface 127.0.0.2 -H "X-Forwarded-Email: $1" "$W$2"; }
rows() { grep -o 'name="item" id="i[0-9]*" value="[^"]*"' | sed 's/.*value="//; s/"$//'; }
q() { sqlite3 -cmd '.timeout 5000' "$TMP/state.db" "$1"; }

wait_until 10 grep -q 'serving with 3 threads' "$TMP/web.err" && ok || bad "web.threads not used: $(cat "$TMP/web.err")"
all=$(q "SELECT COUNT(*) FROM obligations WHERE closed IS NULL AND manager_email = 'tm3@council.example'")
[ "$all" = 60 ] && ok || bad "setup: $all open for tm3, want 60"

p1=$(tray tm3@council.example /)
printf '%s' "$p1" | rows > "$TMP/p1"
[ "$(wc -l < "$TMP/p1")" = 50 ] && ok || bad "page 1 has $(wc -l < "$TMP/p1") rows, want 50"
printf '%s' "$p1" | grep -q '<h2 id="counts">60 open deadlines</h2>' && ok || bad "page 1 does not count all 60"
printf '%s' "$p1" | grep -q '<caption>Open deadlines, page 1 of 2</caption>' && ok || bad "page 1's caption"
printf '%s' "$p1" | grep -q 'href="/?rule=&amp;state=&amp;team=&amp;page=2" rel="next">Next' && ok \
	|| bad "page 1 has no Next link to page 2"
printf '%s' "$p1" | grep -q 'rel="prev"' && bad "page 1 has a Previous link" || ok
printf '%s' "$p1" | grep -q '<span aria-current="page"><span class="visually-hidden">Page </span>1' \
	&& ok || bad "page 1 is not marked current"
# The counts by state are the store's.
for s in overdue due-soon open; do
	n=$(q "SELECT COUNT(*) FROM obligations WHERE closed IS NULL AND state = '$s'
		AND manager_email = 'tm3@council.example'")
	label=$(case $s in overdue) echo Overdue ;; due-soon) echo 'Due soon' ;; open) echo Open ;; esac)
	printf '%s' "$p1" | grep -q ">$label: $n</a>" && ok || bad "count of $s is not $n"
done

p2=$(tray tm3@council.example '/?page=2')
printf '%s' "$p2" | rows > "$TMP/p2"
[ "$(wc -l < "$TMP/p2")" = 10 ] && ok || bad "page 2 has $(wc -l < "$TMP/p2") rows, want 10"
[ "$(cat "$TMP/p1" "$TMP/p2" | sort -u | wc -l)" = 60 ] && ok || bad "the two pages do not hold 60 different rows"
printf '%s' "$p2" | grep -q 'page=2\|rel="next"' && printf '%s' "$p2" | grep -q 'rel="next"' \
	&& bad "the last page has a Next link" || ok
printf '%s' "$p2" | grep -q 'href="/?rule=&amp;state=&amp;team=" rel="prev">Previous' && ok \
	|| bad "page 2 has no Previous link to page 1"
# Worst first across the pages: page 1's last row is no better than page 2's first.
worst() { q "SELECT level * 1000 + days_overdue FROM obligations WHERE case_ref || '|' || rule = '$1'"; }
[ "$(worst "$(tail -n 1 "$TMP/p1")")" -ge "$(worst "$(head -n 1 "$TMP/p2")")" ] && ok \
	|| bad "page 2 starts worse than page 1 ends"
# Past the last page: the last page.  Not a number: the first.
tray tm3@council.example '/?page=99' | rows | cmp -s - "$TMP/p2" && ok || bad "page 99 is not the last page"
tray tm3@council.example '/?page=x' | rows | cmp -s - "$TMP/p1" && ok || bad "page=x is not the first page"

# A filter stays in the links; its pages hold only what it chooses.
over=$(q "SELECT COUNT(*) FROM obligations WHERE closed IS NULL AND state = 'overdue'
	AND manager_email = 'tm3@council.example'")
f1=$(tray tm3@council.example '/?state=overdue&rule=decision&team=T3')
n=$(printf '%s' "$f1" | rows | wc -l)
[ "$n" = $((over < 50 ? over : 50)) ] && ok || bad "state=overdue page 1 has $n rows ($over overdue)"
if [ "$over" -gt 50 ]; then
	printf '%s' "$f1" | grep -q 'href="/?rule=decision&amp;state=overdue&amp;team=T3&amp;page=2" rel="next"' \
		&& ok || bad "the filters are not kept in the Next link"
else
	bad "setup: only $over overdue for tm3; the filtered paging is not tested"
fi

# Several threads: 40 requests at once, every one the same page 1.
i=0 curls=
while [ $i -lt 40 ]; do
	tray tm3@council.example / > "$TMP/par.$i" &
	curls="$curls $!" i=$((i + 1))
done
wait $curls
same=0
for f in "$TMP"/par.*; do rows < "$f" | cmp -s - "$TMP/p1" && same=$((same + 1)); done
[ "$same" = 40 ] && ok || bad "only $same of 40 concurrent requests got page 1"

# Bulk acknowledge of what is on page 2: the form lists the two chosen.
a=$(sed -n 1p "$TMP/p2") b=$(sed -n 2p "$TMP/p2")
form=$(curl -s --interface 127.0.0.2 -H "X-Forwarded-Email: tm3@council.example" -G \
	--data-urlencode "item=$a" --data-urlencode "item=$b" "$W/ack")
printf '%s' "$form" | grep -c "<input type=\"hidden\" name=\"item\" value=\"\($a\|$b\)\">" | grep -qx 2 \
	&& ok || bad "the ack form does not carry the two items chosen on page 2"

# The counts follow cover made through the same connection (which leaves
# PRAGMA data_version as it was): a deputy of tm3 (60), then of tm1 too (5),
# then of tm3 alone again.
post() { curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 -H "X-Forwarded-Email: $1" -d "$3" "$W$2"; }
csrf() { tray "$1" /cover | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n 1; }
deputy_count() { tray deputy@council.example / | sed -n 's/.*<h2 id="counts">\([0-9]*\) open deadline.*/\1/p'; }
today=$(date +%F) until=$(date -d '+7 days' +%F)
cover="deputy=deputy%40council.example&from=$today&to=$until"
[ "$(post tm3@council.example /cover "csrf=$(csrf tm3@council.example)&$cover")" = 303 ] \
	&& [ "$(deputy_count)" = 60 ] && ok || bad "the deputy of tm3 does not count 60: $(deputy_count)"
[ "$(post tm1@council.example /cover "csrf=$(csrf tm1@council.example)&$cover")" = 303 ] \
	&& [ "$(deputy_count)" = 65 ] && ok || bad "the deputy of tm3 and tm1 does not count 65: $(deputy_count)"
cid=$(q "SELECT id FROM cover WHERE manager = 'tm1@council.example'")
[ "$(post tm1@council.example /cover/end "csrf=$(csrf tm1@council.example)&id=$cid")" = 303 ] \
	&& [ "$(deputy_count)" = 60 ] && ok || bad "after tm1's cover ended the deputy counts $(deputy_count), not 60"

# /metrics on SQLite: no pair, said so.
m=$(curl -s "$W/metrics")
printf '%s\n' "$m" | grep -qx 'deadlined_ha_role{role="single"} 1' && ok || bad "metrics role: $(printf '%s' "$m" | grep ha_)"
printf '%s\n' "$m" | grep -q '^deadlined_ha_epoch' && bad "an epoch on a store no pair shares" || ok

web_quit
finish
