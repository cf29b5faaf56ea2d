#!/usr/bin/python3
"""api_fetch_create(name, arguments): a wide table from bound values, as a
Python host makes one (CREATE VIRTUAL TABLE's arguments cannot be bound).

Every value bound and quoted by the extension: a url_query and a header
with both kinds of quotes, a name that needs quoting, in temp and in an
attached database; an unknown or malformed key is an error naming it and
runs nothing; a wrong value fails with the wide face's message; and no more
than plain CREATE could do: refused on a locked connection (the Datasette
plugin's) and from a view (DIRECTONLY, tests/py/surface.py).

    /usr/bin/python3 tests/py/create_func.py BASE_URL     (run by tests/run.py)
"""
import json
import os
import sqlite3
import tempfile

from _common import BASE, check, connect, error_of, finish

conn = connect()
conn.execute("CREATE TABLE ids(id INTEGER, note TEXT)")
conn.executemany("INSERT INTO ids VALUES (?, ?)", [(1, "it's"), (2, 'say "hi"')])

# A url_query with quotes of both kinds, a header value with them too: all
# bound, nothing formatted into SQL by the caller.
args = {"url_query": f"SELECT '{BASE}/echo?id=' || id, note FROM ids",
        "headers": {"X-Note": "it's \"quoted\""}, "concurrency": 2,
        "input_prefix": "in_", "columns": "query_id TEXT, \"headers_x-note\" TEXT, in_note TEXT"}
name = conn.execute("SELECT api_fetch_create(?, ?)", ("temp.my posts", json.dumps(args))).fetchall()[0][0]
check(name == '"temp"."my posts"', f"returns the quoted name: {name}")
rows = conn.execute('SELECT query_id, "headers_x-note", in_note FROM temp."my posts" '
                    "ORDER BY query_id").fetchall()
check(rows == [("1", "it's \"quoted\"", "it's"), ("2", "it's \"quoted\"", 'say "hi"')],
      f"the table fetches with the values as given: {rows}")

# An attached database; a booleans and a number; a name with a dot that is
# not a schema stays one name.
with tempfile.TemporaryDirectory() as d:
    conn.execute("ATTACH ? AS f", (os.path.join(d, "f.db"),))
    name = conn.execute("SELECT api_fetch_create('f.posts', ?)", (json.dumps(
        {"url_list": json.dumps([f"{BASE}/obj?id=3"]), "columns": "id INTEGER, title TEXT",
         "retry_unsafe": False, "timeout_ms": 5000}),)).fetchall()[0][0]
    check(name == '"f"."posts"', f"in an attached database: {name}")
    rows = conn.execute("SELECT id, title FROM f.posts").fetchall()
    check(rows == [(3, "post 3")], f"and it fetches: {rows}")
    name = conn.execute("SELECT api_fetch_create('v1.items', ?)", (json.dumps(
        {"url_list": f"{BASE}/obj?id=4", "columns": "id INTEGER"}),)).fetchall()[0][0]
    check(name == '"v1.items"', f"a dot not after a schema is part of the name: {name}")
    conn.commit()
    conn.execute("DETACH f")

# Errors name the argument; nothing is created, nothing runs.
conn.execute("CREATE TABLE victim(x)")
for bad, want in [
        ({"url_list": "[]", "x=1); DROP TABLE victim; --": 1}, "unknown argument \"x=1); DROP"),
        ({"url_lst": "[]"}, 'did you mean "url_list"'),
        ({"url_list": "[]", "concurrency": 0}, "api_fetch_create: concurrency"),
        ({"url_list": None}, "argument url_list is null"),
        ([1, 2], "must be a JSON object, got an array")]:
    got = error_of(lambda: conn.execute("SELECT api_fetch_create('temp.bad', ?)",
                                        (json.dumps(bad),)).fetchall())
    check(got is not None and want in got and got.startswith("api_fetch_create: "),
          f"{json.dumps(bad)[:50]}: {got}")
n = conn.execute("SELECT count(*) FROM temp.sqlite_master WHERE name = 'bad'").fetchone()[0]
check(n == 0, f"no table made by the bad calls ({n})")
n = conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'victim'").fetchone()[0]
check(n == 1, "and the table a key tried to drop is there")
got = error_of(lambda: conn.execute("SELECT api_fetch_create('temp.\"my posts\"', ?)",
                                    (json.dumps({"url_list": "[]", "columns": "id"}),)).fetchall())
check(got is None, f"a name with a quote in it is one name, quoted: {got}")
got = error_of(lambda: conn.execute("SELECT api_fetch_create('temp.my posts', ?)",
                                    (json.dumps({"url_list": "[]"}),)).fetchall())
check(got is not None and "already exists" in got, f"an existing table: {got}")

# Locked settings (a host running others' SQL, as the Datasette plugin
# does): refused, whatever the SELECT-only rule of the host lets through.
conn.execute("""SELECT api_fetch_config('{"lock": true}')""")
got = error_of(lambda: conn.execute("SELECT api_fetch_create('temp.t2', ?)",
                                    (json.dumps({"url_list": "[]"}),)).fetchall())
check(got is not None and "locked" in got, f"refused on a locked connection: {got}")
got = error_of(lambda: conn.execute("CREATE VIRTUAL TABLE temp.t3 USING api_fetch(url_list='[]', columns='id')"))
check(got is None, f"where the host's own CREATE still works: {got}")
finish()
