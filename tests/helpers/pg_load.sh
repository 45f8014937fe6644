# Copy the tables of an SQLite case database into the PostgreSQL started by
# tests/helpers/pg.sh (sourced, after pg.sh).
#
#   pg_load_sqlite FILE DB [TABLE...]
#
# Creates database DB when missing, then copies each TABLE (default: every
# table of FILE but SQLite's own and the change log) row for row: sqlite3
# writes CSV with NULL as \N, psql's \copy reads it back, so NULL stays
# NULL, '' stays '', and quotes, commas and line breaks survive.  A table
# DB does not have yet is made with every column TEXT (COLLATE "C", so it
# sorts as SQLite's BINARY does); a table it has (native-pg.sql's) keeps
# its own definition and receives the columns FILE has.  User triggers are
# off during the copy, so a million rows do not each fire one.

pg_load_sqlite() {
	# CREATE ... IF NOT EXISTS would say NOTICE for each table kept.
	PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
	export PGOPTIONS
	_file=$1 _db=$2
	shift 2
	if [ $# -eq 0 ]; then
		set -- $(sqlite3 "$_file" "SELECT name FROM sqlite_master WHERE type = 'table'
			AND name NOT LIKE 'sqlite_%' AND name <> 'deadlined_changes' ORDER BY name")
	fi
	if [ "$(PG_DB=postgres pg_psql -tAc "SELECT count(*) FROM pg_database WHERE datname = '$_db'")" = 0 ]; then
		PG_DB=postgres pg_psql -c "CREATE DATABASE \"$_db\"" || return 1
	fi
	for _t in "$@"; do
		_cols=$(sqlite3 "$_file" "SELECT group_concat('\"' || name || '\"', ', ')
			FROM pragma_table_info('$_t')")
		_defs=$(sqlite3 "$_file" "SELECT group_concat('\"' || name || '\" TEXT COLLATE \"C\"', ', ')
			FROM pragma_table_info('$_t')")
		[ -n "$_cols" ] || { echo "pg_load_sqlite: $_file has no table $_t" >&2; return 1; }
		PG_DB=$_db pg_psql -c "CREATE TABLE IF NOT EXISTS \"$_t\" ($_defs)" \
			-c "ALTER TABLE \"$_t\" DISABLE TRIGGER USER" || return 1
		sqlite3 -csv -nullvalue '\N' "$_file" "SELECT $_cols FROM \"$_t\"" |
			PG_DB=$_db pg_psql -c "\\copy \"$_t\" ($_cols) FROM STDIN WITH (FORMAT csv, NULL '\\N')" ||
			return 1
		PG_DB=$_db pg_psql -c "ALTER TABLE \"$_t\" ENABLE TRIGGER USER" || return 1
	done
	# Hint bits and the visibility map set now, not by the first reader.
	PG_DB=$_db pg_psql -c "VACUUM ANALYZE"
}
