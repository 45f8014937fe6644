# The fuzz corpora, replayed: every kept input of every fuzz target runs
# through the target's checks (built with replay.c, no libFuzzer needed),
# so a change that breaks an invariant on a once-interesting input fails
# here on every machine.  `make fuzz` finds new inputs (tests/fuzz/run.sh).
. tests/integration/lib.sh
# libconfig 1.5's own leak on some syntax errors (see the files).
LSAN_OPTIONS="suppressions=$(pwd)/tests/fuzz/lsan.supp:print_suppressions=0"
VALGRIND_OPTS="--suppressions=$(pwd)/tests/fuzz/valgrind.supp"
export LSAN_OPTIONS VALGRIND_OPTS

for t in conf date duration evaluate csv; do
	replay=$BUILD/fuzz/replay_$t
	corpus=tests/fuzz/corpus/$t
	n=$(ls "$corpus" 2>/dev/null | wc -l)
	bytes=$(cat "$corpus"/* 2>/dev/null | wc -c)
	if [ "$n" -gt 0 ]; then ok; else bad "$t: $corpus is empty"; fi
	# The budget that keeps the repository small (tests/fuzz/run.sh merges).
	if [ "$n" -lt 200 ] && [ "$bytes" -lt 1000000 ]; then ok
	else bad "$t: corpus of $n files and $bytes bytes; keep it under 200 files and 1 MB"; fi
	if ${VG:-} "$replay" "$corpus" > "$TMP/$t.out" 2>&1; then
		ok
	else
		# Again, naming each input, to show which one failed.
		${VG:-} "$replay" -v "$corpus" > "$TMP/$t.out" 2>&1
		bad "$t: replay of $corpus failed:
$(tail -n 25 "$TMP/$t.out")"
	fi
done

# Inputs that show bugs already reported and not yet fixed: with
# FUZZ_STRICT=1 the targets check what those bugs break.  A *.san input
# shows its bug only to the sanitizers.  See tests/fuzz/known/README.md.
for f in tests/fuzz/known/*/*; do
	[ -f "$f" ] || continue
	case $f in
	*.md) continue ;;
	*.san) [ "${SANITIZE:-}" = 1 ] || continue ;;
	esac
	t=${f#tests/fuzz/known/}
	t=${t%%/*}
	if command -v known_bug >/dev/null 2>&1; then
		known_bug "fuzz $t: ${f##*/}" -- env FUZZ_STRICT=1 sh -c '"$@" > /dev/null 2>&1' sh \
			${VG:-} "$BUILD/fuzz/replay_$t" "$f"
	fi
	# Without FUZZ_STRICT the target must pass it: the rest still counts.
	if ${VG:-} "$BUILD/fuzz/replay_$t" "$f" > "$TMP/known.out" 2>&1; then ok
	else bad "$t: $f fails even without FUZZ_STRICT: $(tail -n 5 "$TMP/known.out")"; fi
done
finish
