#!/usr/bin/python3
"""The reference pages name exactly the settings the extension knows.
Every option, table argument, paginate key and api_fetch_config setting is
declared once, in src/knobs.c, and listed by SELECT * FROM api_fetch_options;
the tables of the docs that list them must name the same ones, no more, no
fewer.  (A new option without docs, or docs of an option that is gone,
fails here.)

    /usr/bin/python3 tests/py/knobs_doc.py BASE_URL     (run by tests/run.py)
"""
import os
import re

from _common import ROOT, check, connect, finish


def doc_table(path, heading, first_col):
    """The backticked names in the first column of the table under heading
    whose first column is called first_col."""
    with open(os.path.join(ROOT, path)) as f:
        text = f.read()
    part = text[text.index(heading):]
    names = set()
    lines = part.split("\n")
    i = next(k for k, l in enumerate(lines) if l.startswith("| " + first_col + " |"))
    for line in lines[i + 2:]:
        if not line.startswith("|"):
            break
        cell = line.split("|")[1]
        names.update(re.findall(r"`([a-z0-9_]+)`", cell))
    return names


conn = connect()
known = {}
for name, applies in conn.execute("SELECT name, applies FROM api_fetch_options"):
    known.setdefault(applies, set()).add(name)

for applies, path, heading, col in (
        ("option", "docs/reference.md", "## Options", "option"),
        ("table", "docs/reference.md", "### Arguments", "argument"),
        ("paginate", "docs/pagination.md", "The keys of the `paginate` object", "key"),
        ("config", "docs/security.md", "What a stranger's SQL can then do", "limit")):
    documented = doc_table(path, heading, col)
    missing, extra = known[applies] - documented, documented - known[applies]
    check(not missing and not extra,
          f"{path} {heading!r} names the {applies} settings of api_fetch_options "
          f"(not documented: {sorted(missing)}; not known: {sorted(extra)})")

# Every setting has a type and a line of help.
bad = conn.execute("SELECT name FROM api_fetch_options WHERE type = '' OR about = '' "
                   "OR about IS NULL").fetchall()
check(not bad, f"every setting says its type and what it does: {bad}")
finish()
