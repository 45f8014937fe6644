# deadlined-web in headless Chromium (Debian's) through nginx, driven by
# puppeteer-core, with axe-core on every page (tests/web/browser.js), the
# tray's second page among them (team T3's manager has 60 open); then
# the state store holds what the team manager did in the browser.
# puppeteer-core@24 and axe-core are installed by npm into build/npm (the
# tests' own folder, never global); puppeteer-core downloads no browser.
. tests/integration/lib.sh
. tests/integration/web_lib.sh

NPM_DIR=${NPM_DIR:-$PWD/build/npm}
if [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null 2>&1; then
	not_run "chromium or node is not installed (scripts/deps.sh test)"
	finish; exit
fi
if [ ! -d "$NPM_DIR/node_modules/puppeteer-core" ] || [ ! -d "$NPM_DIR/node_modules/axe-core" ]; then
	mkdir -p "$NPM_DIR"
	if ! npm install --prefix "$NPM_DIR" --no-audit --no-fund --no-save --silent \
		puppeteer-core@24 axe-core@4 > "$TMP/npm.log" 2>&1; then
		not_run "npm could not install puppeteer-core and axe-core: $(tail -n 3 "$TMP/npm.log")"
		finish; exit
	fi
fi
WEB_MANY=60 web_setup || bad "first poll: $(cat "$TMP/poll1.out")"
web_start || { bad "deadlined-web did not start: $(cat "$TMP/web.err")"; finish; exit; }
nginx_start || { bad "nginx did not start"; finish; exit; }
until=$(date -d '+10 days' +%F)
NODE_PATH="$NPM_DIR/node_modules" HOME="$TMP" SCREENSHOT=${SCREENSHOT:-} node tests/web/browser.js \
	"http://127.0.0.1:$PROXY_PORT" "$until" > "$TMP/browser.out" 2>&1
rc=$?
while read -r line; do
	case $line in ok\ *) ok ;; FAIL*) bad "browser: ${line#FAIL }" ;; esac
done < "$TMP/browser.out"
[ $rc = 0 ] && ok || bad "browser run: rc $rc: $(tail -n 5 "$TMP/browser.out")"
grep -c '^ok axe on' "$TMP/browser.out" | grep -qx 10 && ok || bad "axe did not run on every page"
n=$(sqlite3 "$TMP/state.db" "SELECT COUNT(*) FROM acks WHERE who = 'tm1@council.example'
	AND until = '$until' AND reason LIKE 'Family moved;%' AND case_ref IN ('A1', 'A2', 'A3')")
[ "$n" = 3 ] && ok || bad "state store: $n acks from the browser, want 3"
web_quit
finish
