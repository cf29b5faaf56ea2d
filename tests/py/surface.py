#!/usr/bin/python3
"""The SQL surface, pinned: the functions and modules apifetch registers
(src/apifetch.c, aFunc[] and aModule[]), with their argument counts and
flags, exactly; and what those flags are for, tried on a real database file.

A function or table with side effects, or that reveals the settings, is
SQLITE_DIRECTONLY: SQL stored in a database file (a view, a trigger) cannot
call it, so opening someone's file and reading a view cannot change your
connection's limits or profiles, or fetch.  Dropping that flag fails here
twice: in pragma_function_list, and in the file, read with trusted_schema
ON, where only DIRECTONLY still refuses.  A rename, a new function or a
lost one fails too: change this list on purpose, with docs/security.md.

    /usr/bin/python3 tests/py/surface.py BASE_URL     (run by tests/run.py)
"""
import json
import os
import re
import sqlite3
import tempfile
import urllib.request

from _common import BASE, check, connect, finish


def sqlite_flags():
    """The SQLITE_* function flags, from the sqlite3.h the build uses."""
    with open("/usr/include/sqlite3.h") as f:
        text = f.read()
    return {m.group(1): int(m.group(2), 16)
            for m in re.finditer(r"#define SQLITE_(DETERMINISTIC|DIRECTONLY|SUBTYPE|INNOCUOUS)"
                                 r"\s+0x([0-9a-fA-F]+)", text)}


F = sqlite_flags()
check(len(F) == 4, f"sqlite3.h gives the function flags: {F}")
# pragma_function_list's flags column: DETERMINISTIC, DIRECTONLY, SUBTYPE,
# INNOCUOUS (and internal bits) of what was registered.
FUNCTIONS = [   # name, nArg, flags: exactly src/apifetch.c's aFunc[]
    ("api_fetch_cache_prune", 2, F["DIRECTONLY"]),  # opens (makes) a file, deletes
    ("api_fetch_columns", 1, F["DIRECTONLY"]),    # connects a wide table: may fetch its sample
    ("api_fetch_config", 0, F["DIRECTONLY"]),     # reveals the settings
    ("api_fetch_config", 1, F["DIRECTONLY"]),     # changes them
    ("api_fetch_create", 2, F["DIRECTONLY"]),     # runs a CREATE, which fetches its sample
    ("api_fetch_profile", 2, F["DIRECTONLY"]),    # stores credentials
    ("api_fetch_version", 0, F["INNOCUOUS"]),     # no side effects
]
MODULES = ["api_fetch", "api_fetch_cache", "api_fetch_host_stats", "api_fetch_options",
           "api_fetch_stats"]


def requests():
    with urllib.request.urlopen(BASE + "/stats", timeout=10) as r:
        return json.load(r)["requests"]


conn = connect()
rows = conn.execute("SELECT name, builtin, type, enc, narg, flags FROM pragma_function_list "
                    "WHERE name LIKE 'api%fetch%' ORDER BY name, narg").fetchall()
want = [(n, 0, "s", "utf8", a, fl) for n, a, fl in FUNCTIONS]
check(rows == want, "the functions, their arguments and flags are exactly these:\n       " +
      "\n       ".join(map(str, want)) + "\n     got:\n       " +
      "\n       ".join(map(str, rows)))
mods = [r[0] for r in conn.execute("SELECT name FROM pragma_module_list "
                                   "WHERE name LIKE 'api%fetch%' ORDER BY name")]
check(mods == MODULES, f"the modules are exactly {MODULES}: {mods}")
conn.close()

# A database file as a stranger would make it: no extension loaded, so
# nothing checks what its views and triggers name.
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "stranger.db")
    cache = os.path.join(d, "made-by-a-view.db")
    raw = sqlite3.connect(path)
    raw.executescript(f"""
        CREATE VIEW set_config AS SELECT api_fetch_config('{{"max_requests": 7}}') AS c;
        CREATE VIEW read_config AS SELECT api_fetch_config() AS c;
        CREATE TABLE t(x);
        CREATE TRIGGER store_profile AFTER INSERT ON t BEGIN
          SELECT api_fetch_profile('p', '{{"base_url": "{BASE}/", "bearer": "x"}}');
        END;
        CREATE VIEW fetch AS SELECT status FROM api_fetch('["{BASE}/obj?id=1"]');
        CREATE VIEW version AS SELECT api_fetch_version() AS v;
        CREATE VIEW stats AS SELECT count(*) AS n FROM api_fetch_stats;
        CREATE VIEW options AS SELECT count(*) AS n FROM api_fetch_options;
        CREATE VIEW cache_list AS SELECT count(*) AS n FROM api_fetch_cache('{cache}');
        CREATE VIEW cache_prune AS SELECT api_fetch_cache_prune('{cache}', '{{"all": true}}') AS n;
        CREATE VIEW columns AS SELECT api_fetch_columns('temp.w') AS c;
        CREATE VIEW make AS SELECT api_fetch_create('temp.made',
          '{{"url_list": "[\\"{BASE}/obj?id=1\\"]"}}') AS c;
    """)
    raw.commit()
    raw.close()

    conn = connect()
    conn.execute("ATTACH ? AS f", (path,))

    def refused(sql, what):
        try:
            conn.execute(sql).fetchall()
            return "ran"
        except sqlite3.Error as e:
            return "refused" if f"unsafe use of {what}" in str(e) else f"other error: {e}"

    # trusted_schema ON trusts the file's functions unless they are
    # DIRECTONLY: a refusal now is the flag's, and nothing else's.
    conn.execute("PRAGMA trusted_schema = ON")
    limit = conn.execute("SELECT api_fetch_config() ->> 'max_requests'").fetchone()[0]
    got = refused("SELECT c FROM f.set_config", "api_fetch_config()")
    check(got == "refused", f"a file's view calling api_fetch_config('{{...}}') is refused "
          f"with \"unsafe use of\": {got}")
    now = conn.execute("SELECT api_fetch_config() ->> 'max_requests'").fetchone()[0]
    check(now == limit, f"and the settings are unchanged: max_requests {limit} -> {now}")
    got = refused("SELECT c FROM f.read_config", "api_fetch_config()")
    check(got == "refused", f"a file's view reading api_fetch_config() is refused: {got}")
    got = refused("INSERT INTO f.t VALUES (1)", "api_fetch_profile()")
    check(got == "refused", f"a file's trigger calling api_fetch_profile() is refused: {got}")
    n = conn.execute("SELECT count(*) FROM json_each(api_fetch_config() -> 'profiles')") \
        .fetchone()[0]
    check(n == 0, f"and no profile was stored ({n})")
    before = requests()
    got = refused("SELECT * FROM f.fetch", 'virtual table "api_fetch"')
    check(got == "refused", f"a file's view reading the api_fetch table is refused: {got}")
    check(requests() == before, f"and nothing was fetched ({requests() - before} requests)")
    got = refused("SELECT * FROM f.cache_list", 'virtual table "api_fetch_cache"')
    check(got == "refused", f"a file's view reading api_fetch_cache is refused: {got}")
    got = refused("SELECT * FROM f.cache_prune", "api_fetch_cache_prune()")
    check(got == "refused", f"a file's view calling api_fetch_cache_prune is refused: {got}")
    got = refused("SELECT * FROM f.columns", "api_fetch_columns()")
    check(got == "refused", f"a file's view calling api_fetch_columns is refused: {got}")
    check(not os.path.exists(cache), "and no cache file was made")
    got = refused("SELECT * FROM f.make", "api_fetch_create()")
    check(got == "refused", f"a file's view calling api_fetch_create is refused: {got}")
    n = conn.execute("SELECT count(*) FROM temp.sqlite_master WHERE name = 'made'").fetchone()[0]
    check(n == 0, f"and no table was made ({n})")

    # INNOCUOUS ones may be used by a file's views even when the schema is
    # not trusted.
    conn.execute("PRAGMA trusted_schema = OFF")
    for view in ("version", "stats", "options"):
        got = refused(f"SELECT * FROM f.{view}", "")
        check(got == "ran", f"a file's view of {view} runs with trusted_schema OFF: {got}")

    # The same calls typed at the top level, or in a temp view (the
    # connection's own SQL, which SQLite does not count as a schema's), do
    # run: the refusals above were the file's, not the calls'.
    conn.execute("CREATE TEMP VIEW mine AS SELECT api_fetch_config('{\"max_requests\": 3}') AS c")
    conn.execute("SELECT * FROM mine").fetchall()
    now = conn.execute("SELECT api_fetch_config() ->> 'max_requests'").fetchone()[0]
    check(now == 3, f"a temp view may call api_fetch_config('{{...}}') (max_requests {now})")
    conn.execute("SELECT api_fetch_config('{\"max_requests\": 7}')")
    now = conn.execute("SELECT api_fetch_config() ->> 'max_requests'").fetchone()[0]
    check(now == 7, f"typed directly, api_fetch_config('{{...}}') sets max_requests ({now})")
    got = conn.execute(f"SELECT status FROM api_fetch('[\"{BASE}/obj?id=1\"]')").fetchall()
    check(got == [(200,)], f"typed directly, api_fetch fetches: {got}")
    conn.close()
finish()
