# The pair tests' process handling (tests/helpers/ha_lib.sh, lease_lib.sh)
# must never signal or wait on a process that is not the test's own.  A
# pid the test holds for a process that has ended may be given to any
# other process (dash reaps a child at once, and pids come round), so:
#   - a stranger whose pid stands in PIDS (as a reused pid would) is not
#     signalled by the cleanup's ha_end, nor waited on by gone;
#   - a retired process's pid file becomes NAME.gone and its pid leaves
#     PIDS, so leader's look-up cannot find it either;
#   - the test's own children are still signalled.
# The stranger is a real process that is not this shell's child (left
# behind by a shell that has exited), and writes down any TERM it gets.
. tests/integration/lib.sh
. tests/helpers/pg.sh
. tests/helpers/lease_lib.sh

sh -c '(trap "echo TERM >> \"$1\"; exit" TERM; i=0
	while [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done) > /dev/null 2>&1 &
	echo $! > "$2"' sh "$TMP/stranger.sig" "$TMP/stranger.pid"
S=$(cat "$TMP/stranger.pid")
kill -0 "$S" && ok || bad "the stranger did not start"
ha_ours "$S" && bad "ha_ours takes a stranger ($S) for the test's own" || ok

# The test's own: one ended by the test and retired, one still running.
ha_spawn K sleep 60
ha_spawn R sleep 60
k=$(pid K)
r=$(pid R)
ha_ours "$k" && ok || bad "ha_ours does not take the test's own child ($k) for its own"
kill -KILL "$k"
ha_retire K
[ -e "$TMP/K.gone" ] && [ ! -e "$TMP/K.pid" ] && ok || bad "a retired process kept its pid file"
case " $PIDS " in
*" $k "*) bad "a retired process's pid $k is still in PIDS ($PIDS)" ;;
*" $r "*) ok ;;
*) bad "retiring K dropped R's pid $r from PIDS ($PIDS)" ;;
esac

# The stranger's pid in PIDS, as if a pid were reused: not waited on, not
# signalled; the test's own child is.
PIDS="$PIDS $S"
t0=$(date +%s%N)
gone "$S" 3000 && ok || bad "gone waited on a stranger and gave up"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 1000 ] && ok || bad "gone waited $ms ms on a stranger"
ha_end TERM
gone "$r" 3000 && ok || bad "ha_end TERM did not end the test's own child"
sleep 0.5
[ ! -e "$TMP/stranger.sig" ] && ok || bad "ha_end signalled a stranger whose pid stood in PIDS"
kill -KILL "$S"
PIDS=""
finish
