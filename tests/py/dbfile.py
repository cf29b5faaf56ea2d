"""A database file cannot make a connection fetch by being opened or looked
at.  xConnect is xCreate for api_fetch (the function face needs it so), so a
wide table stored in a file must declare its columns: otherwise every new
connection would sample its URLs on .schema, PRAGMA table_info or a
Datasette listing.  In temp or an in-memory database, inference works."""
import json
import os
import sqlite3
import tempfile
import urllib.request

from _common import BASE, check, connect, finish


def requests():
    with urllib.request.urlopen(BASE + "/stats", timeout=10) as r:
        return json.load(r)["requests"]


url_list = json.dumps([BASE + "/obj?id=1"])
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "hostile.db")
    conn = connect()
    conn.execute("ATTACH ? AS f", (path,))
    try:
        conn.execute(f"CREATE VIRTUAL TABLE f.inferred USING api_fetch(url_list='{url_list}')")
        check(False, "a wide table in a file without columns is refused")
    except sqlite3.Error as e:
        check("must declare its columns" in str(e) and "api_fetch_columns('temp.inferred')"
              in str(e), f"a wide table in a file without columns is refused: {e}")
    # What api_fetch_columns gives declares, in the file, the table that
    # temp inferred: the same columns, the same typed values.
    two = json.dumps([BASE + "/obj?id=1", BASE + "/raw?body=" +
                      urllib.request.quote('{"id":2,"at":"2024-03-10T12:00:00+02:00","n":null}')])
    conn.execute(f"CREATE VIRTUAL TABLE temp.inferred USING api_fetch(url_list='{two}')")
    cols = conn.execute("SELECT api_fetch_columns('temp.inferred')").fetchone()[0]
    conn.execute(f"CREATE VIRTUAL TABLE f.declared USING api_fetch(url_list='{two}', "
                 f"columns='{cols.replace(chr(39), chr(39) * 2)}')")
    def info(t):
        return conn.execute(f"SELECT name, type FROM pragma_table_info('{t}')").fetchall()

    def typed(t):
        cells = ", ".join(f'"{n}", typeof("{n}")' for n, _ in info(t.split(".")[1]))
        return conn.execute(f"SELECT {cells} FROM {t} ORDER BY id").fetchall()
    check(info("inferred") == info("declared") and typed("temp.inferred") == typed("f.declared"),
          f"declared with api_fetch_columns ({cols}), the file's table is temp's: "
          f"{typed('f.declared')}")
    check("at TIMESTAMP" in cols and "n ANY" in cols, f"timestamps and nulls keep their kind: {cols}")
    conn.execute(f"CREATE VIRTUAL TABLE f.posts USING api_fetch(url_list='{url_list}', "
                 "columns='id INTEGER, title TEXT')")
    conn.execute(f"CREATE VIRTUAL TABLE inmem USING api_fetch(url_list='{url_list}')")
    check([r[1] for r in conn.execute("PRAGMA table_info(inmem)")][:2] == ["id", "title"],
          "in an in-memory database the columns are inferred")
    conn.close()

    # A new connection looks at the file the ways Datasette does: no request.
    before = requests()
    conn = connect()
    conn.execute("ATTACH ? AS f", (path,))
    cols = [r[1] for r in conn.execute("PRAGMA f.table_info(posts)")]
    conn.execute("SELECT sql FROM f.sqlite_master").fetchall()
    check(cols == ["id", "title"], f"its declared columns: {cols}")
    check(requests() == before, f"looking at it sent no request ({requests() - before})")
    rows = conn.execute("SELECT id, title FROM f.posts").fetchall()
    check(rows == [(1, "post 1")] and requests() == before + 1,
          f"selecting from it fetches, once: {rows}")
    conn.close()

    # A file made by hand (or by someone else) with a table that would
    # infer its columns: looking at it is an error, and sends nothing.
    evil = os.path.join(d, "evil.db")
    raw = sqlite3.connect(evil)
    raw.execute("CREATE TABLE t(x)")
    raw.execute("PRAGMA writable_schema=ON")
    raw.execute("INSERT INTO sqlite_master(type, name, tbl_name, rootpage, sql) "
                "VALUES ('table', 'evil', 'evil', 0, ?)",
                (f"CREATE VIRTUAL TABLE evil USING api_fetch(url_list='{url_list}')",))
    raw.commit()
    raw.close()
    before = requests()
    conn = connect()
    conn.execute("ATTACH ? AS e", (evil,))
    try:
        conn.execute("PRAGMA e.table_info(evil)").fetchall()
        conn.execute("SELECT * FROM e.evil").fetchall()
        check(False, "a file's inferring table cannot be used")
    except sqlite3.Error as e:
        check("must declare its columns" in str(e), f"a file's inferring table cannot be used: {e}")
    check(requests() == before, f"and looking at it sent no request ({requests() - before})")
    conn.close()
finish()
