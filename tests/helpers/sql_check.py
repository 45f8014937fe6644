#!/usr/bin/python3
"""sql_check.py: no value from the data is ever pasted into SQL.

A static check of the C files given (daemon/*.c): every SQL text handed to
SQLite (sqlite3_prepare*, sqlite3_exec) or to ODBC (SQLExecDirect,
SQLPrepare), and to the files' own wrappers that pass one of their
parameters on as that text, must be
  - a string literal, or literals and macros that are literals, or
  - a named constant (static const char NAME[] = literals), or
  - one of the few dynamic texts listed in ALLOWED below, each with why
    nothing from the data can reach it.
Values then go in through sqlite3_bind_* or SQLBindParameter.  Prints every call site with its
class, and exits 1 naming any SQL text it cannot account for (a new one
built with snprintf, asprintf or strcat from data, say).
"""
import re
import sys

SQLITE_CALLS = {"sqlite3_prepare": 1, "sqlite3_prepare_v2": 1, "sqlite3_prepare_v3": 1,
                "sqlite3_prepare16": 1, "sqlite3_prepare16_v2": 1, "sqlite3_exec": 1,
                "SQLExecDirect": 1, "SQLPrepare": 1}

# (file, function, SQL expression): why it is safe.
ALLOWED = {
    ("source_sqlite.c", "probe", "sql"):
        'snprintf of "SELECT %s FROM %s LIMIT 0" from relations[], a table of '
        "string literals (the contract's relation and column names)",
    ("source_sqlite.c", "sqlite_rows", "sql"):
        'snprintf of "SELECT %s FROM %s" from the relation and column names of source.c\'s '
        "teams_table, workers_table and expected_table (string literals: the contract's "
        "names), the only callers of the rows op",
    ("source_sqlite.c", "sqlite_exec_for_test", "sql"):
        "test-only entry (tests/unit/test_source.c proves writes fail); the daemon never calls it",
    ("ssd.c", "create_table", "create.s"):
        "CREATE TABLE of a CSV file's table and header names (identifiers cannot be bound): "
        "table_name() and check_header() admit only [A-Za-z_][A-Za-z0-9_]*, and they are "
        "double-quoted; the values go in through insert.s's bound parameters",
    ("ssd.c", "create_table", "insert.s"):
        'INSERT INTO "table" VALUES (?, ...): the same checked table name and one ? per column',
    ("ssd.c", "complete_table", "sql"):
        "CREATE TABLE / ALTER TABLE ADD COLUMN of standard[], a table of string literals "
        "(the SSD's table and column names)",
    ("ssd.c", "ssd_install_views", "VIEWS_SQL"):
        "conf/schema/ssd-views.sql, compiled in as a constant array of bytes by the Makefile",
    ("state_sqlite.c", "migrate", "migrations[v]"):
        "the migrations[] array of string literals",
    ("source_sqlite.c", "updated_since", "sql"):
        'snprintf of a column name from source.updated_column, which conf.c (read_column) '
        "accepts only as a plain identifier (letters, digits, _) and which is double-quoted; "
        "the value compared with it is bound",
    ("state_sqlite.c", "migrate", "sql"):
        'snprintf of "PRAGMA user_version = %d" from the loop counter (PRAGMA takes no parameters)',
    ("source_odbc.c", "odbc_setup_session", "src->d->session"):
        "dialects[], a table of string literals (one per server)",
    ("source_odbc.c", "odbc_setup_session", "sql"):
        'snprintf of dialects[]\'s literal "SET statement_timeout = " and a whole number of '
        "seconds from the configuration (a SET takes no parameters)",
    ("source_odbc.c", "walk_statement", "ws.sql"):
        "odbc_walk_prepare's snprintf of SQL_WALK (literals) with a filter made of literals "
        "(\" WHERE case_ref = ?\", odbc_range_next's \"case_ref > ?\" / \"<= ?\" / "
        "\"IS NULL\", or nothing) and dialects[]'s literal COLLATE; every case_ref is bound",
    ("source_odbc_ahead.c", "reader_range", "ws.sql"):
        "odbc_walk_prepare's SQL_WALK with odbc_range_next's filter, as walk_statement's",
    ("source_odbc_ahead.c", "reader_connect", "sql"):
        'snprintf of "SET TRANSACTION SNAPSHOT \'%s\'" (which takes no parameters) with the '
        "id pg_export_snapshot() returned, which export_snapshot accepts only as hex digits "
        "and '-'",
    ("source_odbc.c", "chunk_end", "sql"):
        "snprintf of literals, dialects[]'s literal COLLATE and a whole number of rows "
        "(CHUNK_BLOCKS * source.fetch_rows, 1..10000 in conf.c); the lower bound is bound",
    ("source_odbc.c", "relation_present", "sql"):
        'snprintf of "SELECT %s FROM %s WHERE 1 = 0" from relations[] and source.c\'s '
        "directory tables, string literals (the contract's relation and column names)",
    ("source_odbc.c", "odbc_rows", "sql"):
        'snprintf of "SELECT %s FROM %s" from source.c\'s directory tables, string literals',
    ("source_odbc.c", "column_is_number", "sql"):
        "snprintf of source.updated_column, which conf.c (read_column) accepts only as a "
        "plain identifier (letters, digits, _)",
    ("source_odbc.c", "updated_since", "sql"):
        "snprintf of source.updated_column, a plain identifier (conf.c, read_column); the "
        "mark compared with it is bound (bind_mark)",
    ("source_odbc.c", "odbc_exec_for_test", "sql"):
        "test-only entry (tests/unit/test_source_odbc.c proves writes fail); the daemon never "
        "calls it",
}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def split_args(text, start):
    """The top-level arguments of the call whose '(' is at start."""
    depth, args, cur, i, quote = 0, [], "", start, None
    while i < len(text):
        c = text[i]
        if quote:
            cur += c
            if c == "\\":
                cur += text[i + 1]
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
            cur += c
        elif c in "([{":
            depth += 1
            if depth > 1:
                cur += c
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append(cur.strip())
                return args
            cur += c
        elif c == "," and depth == 1:
            args.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    return args


def functions(text):
    """(name, params, body start, body end) of each function definition."""
    out = []
    for m in re.finditer(r"^[A-Za-z_][\w \t\*]*?\b(\w+)\s*\(([^;{)]*(?:\([^)]*\)[^;{)]*)*)\)\s*\{",
                         text, flags=re.M):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        params = [re.findall(r"(\w+)\s*(?:\[\s*\])?$", p.strip()) for p in m.group(2).split(",")]
        out.append((m.group(1), [p[0] if p else "" for p in params], m.end(), i))
    return out


def uncast(expr):
    """Without a cast to ODBC's unsigned char text: (SQLCHAR *)sql is sql."""
    return re.sub(r"^\(\s*SQLCHAR\s*\*\s*\)\s*", "", expr)


def literal_only(expr, macros):
    """Literals, adjacent literals and macros that are literals."""
    rest = re.sub(r'"(?:\\.|[^"\\])*"', " ", expr)
    for word in rest.split():
        if word not in macros:
            return False
    return bool(expr.strip())


def main(paths):
    sites, unknown = [], []
    files = []
    for path in paths:
        name = path.rsplit("/", 1)[-1]
        text = strip_comments(open(path).read())
        macros = set()
        for m in re.finditer(r"^#define\s+(\w+)\s+((?:[^\n\\]|\\\n)*)", text, flags=re.M):
            if literal_only(m.group(2).replace("\\\n", " "), macros):
                macros.add(m.group(1))
        consts = set()
        # The value runs to the first ';' outside a literal (SQL of several
        # statements has its own inside).
        for m in re.finditer(r'static const char (\w+)\[\]\s*=\s*((?:"(?:\\.|[^"\\])*"|[^;"])*);',
                             text):
            if literal_only(m.group(2), macros):
                consts.add(m.group(1))
        files.append((name, text, macros, consts, functions(text)))

    # Wrappers: functions passing a parameter on as the SQL text.  A static
    # one is known in its own file; one that is not static (a backend split
    # into a family of files) in every file.
    shared = dict(SQLITE_CALLS)
    own = {name: {} for name, *_ in files}
    changed = True
    while changed:
        changed = False
        for name, text, macros, consts, funcs in files:
            visible = dict(shared, **own[name])
            for fname, params, start, end in funcs:
                if fname in visible:
                    continue
                body = text[start:end]
                for callee, idx in list(visible.items()):
                    for m in re.finditer(r"\b%s\s*\(" % callee, body):
                        args = split_args(body, m.end() - 1)
                        if len(args) > idx and uncast(args[idx]) in params:
                            exported = not re.search(r"^static\b[^;{]*\b%s\s*\(" % fname,
                                                     text, flags=re.M)
                            (shared if exported else own[name])[fname] = \
                                params.index(uncast(args[idx]))
                            visible[fname] = params.index(uncast(args[idx]))
                            changed = True
    for name, text, macros, consts, funcs in files:
        def owner(pos):
            for fname, params, start, end in funcs:
                if start <= pos < end:
                    return fname, params
            return None, []

        calls = dict(shared, **own[name])
        for callee, idx in calls.items():
            for m in re.finditer(r"(?<![\w.>])%s\s*\(" % callee, text):
                fname, params = owner(m.start())
                if fname is None:
                    continue          # a definition, not a call
                args = split_args(text, m.end() - 1)
                if len(args) <= idx:
                    continue
                expr = uncast(args[idx])
                line = text.count("\n", 0, m.start()) + 1
                if literal_only(expr, macros):
                    kind = "literal"
                elif expr in consts:
                    kind = "constant"
                elif expr in params and fname in calls:
                    kind = "wrapper parameter (its callers are checked)"
                elif (name, fname, expr) in ALLOWED:
                    kind = "dynamic, allowed: " + ALLOWED[(name, fname, expr)]
                else:
                    kind = "UNACCOUNTED"
                    unknown.append("%s:%d %s(%s) in %s()" % (name, line, callee, expr, fname))
                sites.append((name, line, callee, expr, kind))
    for name, line, callee, expr, kind in sorted(sites):
        print("%s:%d: %s(%s): %s" % (name, line, callee, expr, kind))
    counts = {}
    for s in sites:
        k = s[4].split(":")[0]
        counts[k] = counts.get(k, 0) + 1
    print("SQL call sites: %d (%s)" % (len(sites), ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    if unknown:
        print("SQL text not accounted for (bind the values instead):\n  " + "\n  ".join(unknown))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
