# Crash safety of a full poll into the PostgreSQL store: test_crash_fullpoll.sh
# against a real PostgreSQL 15 (tests/helpers/pg.sh).  deadlined --once is
# killed with SIGKILL in its first run (between the chunks it copies
# straight into obligations) and at random in the staged full polls of
# twelve days (the walk, the COPY into the stage, the short transactions,
# the final transaction, delivery); nothing is lost and nothing doubled.
CRASH_STORE=postgresql
. tests/integration/test_crash_fullpoll.sh
