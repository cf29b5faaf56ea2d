"""sql/etl_incremental.sql run as its header says, `sqlite3 DB < script`,
four times on one database file against the loopback server's /changes
(tests/loopback.py), whose data set /stats/advance moves on a step between
runs:

1. step 0, empty database: the whole collection (25 items, 3 pages),
   every item inserted;
2. step 1 (items 1, 11, 21 changed, 26 new): one request, since= the newest
   updated_at of run 1; 3 rows updated in place, 1 inserted;
3. no change: since= run 2's newest, a new URL: one request, nothing;
4. no change again: the same URL, revalidated from the cache file beside
   the database (ETag, a bodiless 304);
5. step 2 and a failing server: the run stores nothing and logs the error
   (since= would otherwise move past what it missed); run again once the
   server is back: the changes of step 2.

The server's request counts and the table after each run are checked.

    /usr/bin/python3 tests/py/etl_incremental.py BASE_URL     (run by tests/run.py)
"""
import json
import os
import sqlite3
import subprocess
import tempfile
import urllib.request

from _common import BASE, ROOT, check, finish

SQLITE = os.environ.get("SQLITE3", "sqlite3")
with open(os.path.join(ROOT, "sql", "etl_incremental.sql")) as f:
    # As shipped it fetches from `make serve` (127.0.0.1:8080); here from
    # the server tests/run.py started, whose data set this test moves on.
    SCRIPT = f.read().replace("http://127.0.0.1:8080", BASE)


def server(path):
    with urllib.request.urlopen(BASE + path, timeout=10) as r:
        return json.load(r)


def run(db, what):
    """Runs the script on db; (server stats for the run, the run's
    sync_log row, {id: (name, rev, updated_at)})."""
    before = server("/stats")
    r = subprocess.run([SQLITE, db], input=SCRIPT, cwd=ROOT, text=True, timeout=120,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    after = server("/stats")
    stats = {k: after[k] - before[k] for k in ("requests", "not_modified", "body_bytes")}
    ok = r.returncode == 0 and "Error" not in r.stdout
    print("\n".join("     | " + line for line in r.stdout.splitlines()))
    check(ok, f"{what}: sqlite3 {os.path.basename(db)} < sql/etl_incremental.sql: exit "
          f"{r.returncode}" + ("" if ok else "\n" + r.stdout[-2000:]))
    conn = sqlite3.connect(db)
    log = conn.execute("SELECT since, pages, fetched, inserted, updated, from_cache, errors "
                       "FROM sync_log ORDER BY run DESC LIMIT 1").fetchone()
    items = {i: (n, rv, u) for i, n, rv, u in
             conn.execute("SELECT id, name, rev, updated_at FROM items")}
    conn.close()
    print(f"     {what}: {stats['requests']} requests ({stats['not_modified']} answered 304, "
          f"{stats['body_bytes']} body bytes); sync_log {log}; {len(items)} items")
    return stats, log, items


def expected(step):
    """The server's items at a step, as the table should hold them."""
    items = {i: (f"item {i}", 0, f"2024-03-01T00:{i:02d}:00Z") for i in range(1, 26)}
    for k in range(1, step + 1):
        for j, i in enumerate((k, k + 10, k + 20, 25 + k), 1):
            items[i] = (f"item {i} rev {k}", k, f"2024-03-01T{k:02d}:{j:02d}:00Z")
    return items


server("/stats/reset")                # step 0
with tempfile.TemporaryDirectory() as d:
    db = os.path.join(d, "shop.db")

    stats, log, items = run(db, "run 1, empty database")
    check(stats["requests"] == 3 and log == ("", 3, 25, 25, 0, 0, 0),
          f"run 1: the whole collection, 3 pages, 25 items inserted: {stats['requests']} "
          f"requests, {log}")
    check(items == expected(0), "run 1: the table holds the 25 items")
    check(os.path.exists(db + "-apifetch-cache"), "run 1: the cache file beside the database")

    server("/stats/advance")
    stats, log, items = run(db, "run 2, after step 1")
    check(stats["requests"] == 1 and log == ("2024-03-01T00:25:00Z", 1, 4, 1, 3, 0, 0),
          f"run 2: only the changes since run 1's newest: 1 request, 4 items, 3 updated, "
          f"1 inserted: {stats['requests']} requests, {log}")
    check(items == expected(1), "run 2: the upsert updated items 1, 11, 21 and added 26: "
          + str({i: items.get(i) for i in (1, 11, 21, 26)}))

    stats, log, items = run(db, "run 3, no change")
    check(stats["requests"] == 1 and stats["not_modified"] == 0
          and log == ("2024-03-01T01:04:00Z", 1, 0, 0, 0, 0, 0),
          f"run 3: since= run 2's newest (a new URL): 1 request, nothing new: {log}")
    check(items == expected(1), "run 3: the table unchanged")

    stats, log, items = run(db, "run 4, no change")
    check(stats["requests"] == 1 and stats["not_modified"] == 1 and stats["body_bytes"] == 0
          and log == ("2024-03-01T01:04:00Z", 1, 0, 0, 0, 1, 0),
          f"run 4: the same URL, revalidated from the cache (304, no body): {stats}, {log}")
    check(items == expected(1), "run 4: the table unchanged")

    server("/stats/advance")
    server("/stats/fail?code=503")
    try:
        stats, log, items = run(db, "run 5, after step 2, the API failing")
    finally:
        server("/stats/fail?code=0")
    check(log[6] == 1 and log[3:5] == (0, 0) and items == expected(1),
          f"run 5: the error logged, nothing stored (since= stays): {log}")

    stats, log, items = run(db, "run 6, the API back, after step 2")
    check(stats["requests"] == 1 and log == ("2024-03-01T01:04:00Z", 1, 4, 1, 3, 0, 0),
          f"run 6: the changes of step 2 since run 2's newest: {stats['requests']} request, {log}")
    check(items == expected(2), "run 6: the table holds step 2's items: "
          + str({i: items.get(i) for i in (2, 12, 22, 27)}))

finish()
