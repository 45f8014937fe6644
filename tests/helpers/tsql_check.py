#!/usr/bin/python3
"""tsql_check.py: check a T-SQL script that no SQL Server here can run.

    tsql_check.py FILE.sql SQLITE_TWIN.sql

Splits FILE on GO lines (sqlcmd's batches) and parses each batch with
python3-sqlglot's tsql dialect.  sqlglot is lenient (it reads || and
boolean sort keys in tsql), so what T-SQL lacks is looked for in the parse
trees too: the || operator, an IS [NOT] NULL or comparison as a sort key,
a derived table without a name, two-argument MAX/MIN, and a CREATE VIEW
that does not begin its batch.  Finally the views created must be exactly
those of the SQLite twin.  Prints one line per problem; exit 1 if any.
"""
import re
import sys

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel


def views(sql, dialect):
    names = set()
    for st in sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.RAISE):
        if isinstance(st, exp.Create) and st.args.get("kind", "").upper() == "VIEW":
            names.add(st.this.name.lower())
    return names


def problems(batch, where):
    out = []
    try:
        trees = [t for t in sqlglot.parse(batch, read="tsql", error_level=ErrorLevel.RAISE) if t]
    except Exception as e:  # sqlglot's ParseError and TokenError
        return ["%s: does not parse as T-SQL: %s" % (where, str(e).splitlines()[0])]
    creates = [t for t in trees if isinstance(t, exp.Create)]
    if creates and (len(trees) != 1):
        out.append("%s: CREATE VIEW must be alone in its batch (put GO around it)" % where)
    for t in trees:
        for node in t.walk(bfs=False):
            node = node[0] if isinstance(node, tuple) else node
            if isinstance(node, exp.DPipe):
                out.append("%s: || is not T-SQL concatenation: use CONCAT()" % where)
            if isinstance(node, exp.Ordered) and isinstance(
                    node.this, (exp.Is, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.LT)):
                out.append("%s: a predicate as a sort key (%s): use CASE WHEN" % (where, node.sql()))
            if isinstance(node, exp.Subquery) and isinstance(node.parent, (exp.From, exp.Join)) \
                    and not node.alias:
                out.append("%s: a derived table needs a name" % where)
            if isinstance(node, (exp.Max, exp.Min)) and (node.args.get("expression") or node.args.get("expressions")):
                out.append("%s: two-argument %s is SQLite's: use CASE" % (where, node.key.upper()))
    return out


def main():
    path, twin = sys.argv[1], sys.argv[2]
    text = open(path).read()
    found = []
    line = 1
    for batch in re.split(r"(?im)^\s*GO\s*$", text):
        start = line
        line += batch.count("\n")
        if batch.strip() and re.sub(r"--[^\n]*", "", batch).strip():
            found += problems(batch, "%s:%d" % (path, start + 1))
    mine = set()
    for batch in re.split(r"(?im)^\s*GO\s*$", text):
        try:
            if re.sub(r"--[^\n]*", "", batch).strip():
                mine |= views(batch, "tsql")
        except Exception:
            pass  # reported above
    theirs = views(open(twin).read(), "sqlite")
    if mine != theirs:
        found.append("%s: views %s; %s has %s" % (path, sorted(mine), twin, sorted(theirs)))
    for p in found:
        print(p)
    print("%s: %d batches, %d views, %d problems" % (path, len(re.findall(r"(?im)^\s*GO\s*$", text)),
                                                    len(mine), len(found)))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
