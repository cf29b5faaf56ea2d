#!/usr/bin/python3
"""Stopping a query that waits on slow responses, from Python's sqlite3
(as Datasette does): conn.interrupt() from another thread, and a time limit
through a progress handler.  Each must end the query within about a second
with an "interrupted" error, and cancel its transfers (the server sees no
request left in flight).

    /usr/bin/python3 tests/py/interrupt.py BASE_URL     (run by tests/run.py)
"""
import json
import sqlite3
import threading
import time
import urllib.request

from _common import BASE, check, connect, finish, time_limit


def stats():
    with urllib.request.urlopen(BASE + "/stats", timeout=10) as r:
        return json.loads(r.read())


SLOW = json.dumps([f"{BASE}/obj?id={i}&delay=10000" for i in range(20)])


def run_until_stopped(conn, sql, args):
    t0 = time.monotonic()
    try:
        conn.execute(sql, args).fetchall()
        return None, time.monotonic() - t0
    except sqlite3.OperationalError as e:
        return str(e), time.monotonic() - t0


# 1. conn.interrupt() from another thread, 0.5 s in: the function face.
conn = connect()
threading.Timer(0.5, conn.interrupt).start()
err, secs = run_until_stopped(conn, "SELECT count(*) FROM api_fetch(?, 10)", (SLOW,))
# Exactly SQLite's word: Datasette shows its "SQL Interrupted" page only then.
check(err == "interrupted", f"interrupt: error {err!r}")
check(secs < 1.5, f"interrupt: stopped after {secs:.2f} s (asked at 0.5 s)")
time.sleep(0.3)
check(stats()["inflight"] == 0, f"interrupt: transfers cancelled (server in flight: {stats()['inflight']})")
# The connection is usable afterwards.
check(conn.execute("SELECT count(*) FROM api_fetch(?)", (json.dumps([BASE + "/obj?id=1"]),))
      .fetchone()[0] == 1, "interrupt: connection usable afterwards")
conn.close()

# 2. A time limit the way Datasette sets one: a progress handler that asks
#    to stop after 0.7 s.
conn = connect()
time_limit(conn, 0.7)
err, secs = run_until_stopped(conn, "SELECT count(*) FROM api_fetch(?, 10)", (SLOW,))
check(err == "interrupted", f"time limit: error {err!r}")
check(secs < 1.7, f"time limit: stopped after {secs:.2f} s (limit 0.7 s)")
conn.set_progress_handler(None, 0)
# The detail is in the counters.
st = dict(conn.execute("SELECT name, value FROM api_fetch_stats()").fetchall())
check(st["interrupted"] == 1 and st["urls"] == 0, f"time limit: stats say interrupted: {st['interrupted']}")
conn.execute("SELECT count(*) FROM api_fetch(?)", (json.dumps([BASE + "/obj?id=1"]),)).fetchall()
st = dict(conn.execute("SELECT name, value FROM api_fetch_stats()").fetchall())
check(st["interrupted"] == 0, "the next scan's counters start at 0")
conn.close()

# 3. The wide face, stopped while it samples at CREATE.
conn = connect()
threading.Timer(0.5, conn.interrupt).start()
err, secs = run_until_stopped(
    conn, "CREATE VIRTUAL TABLE temp.w USING api_fetch(url_list='" + SLOW + "')", ())
check(err == "interrupted", f"wide CREATE: error {err!r}")
check(secs < 1.5, f"wide CREATE: stopped after {secs:.2f} s")
conn.close()

# 4. conn.interrupt() within the statement's first 100 ms, before the scan
#    has asked even once whether it was stopped: asking then prepares its
#    probe, which an interrupt already set fails (it used to be taken for
#    "not stopped", and the query ran to its end: 2 s here).
conn = connect()
MID = json.dumps([f"{BASE}/obj?id={i}&delay=2000" for i in range(10)])
def interrupt_once_sent():
    t_end = time.monotonic() + 5
    while stats()["inflight"] == 0 and time.monotonic() < t_end:
        time.sleep(0.005)
    conn.interrupt()
threading.Thread(target=interrupt_once_sent).start()
err, secs = run_until_stopped(conn, "SELECT count(*) FROM api_fetch(?, 10)", (MID,))
check(err == "interrupted", f"early interrupt: error {err!r}")
check(secs < 1.0, f"early interrupt: stopped after {secs:.2f} s (asked as the first request went)")
conn.close()
time.sleep(0.3)

# 5. A time limit on a join that runs api_fetch once per row, each scan
#    shorter than the 100 ms between questions: the period is the
#    statement's, not each scan's (each scan used to start it again, and
#    the query was never asked: 1.6 s here, and no error).
conn = connect()
time_limit(conn, 0.15)
err, secs = run_until_stopped(
    conn, "WITH RECURSIVE n(i) AS (VALUES(1) UNION ALL SELECT i+1 FROM n WHERE i<20) "
          "SELECT count(*) FROM n, api_fetch(json_array(? || '/obj?delay=80&id=' || n.i))",
    (BASE,))
check(err == "interrupted", f"time limit on a join: error {err!r}")
check(secs < 1.0, f"time limit on a join: stopped after {secs:.2f} s (limit 0.15 s)")
conn.close()

# 6. A time limit under a host's authorizer that refuses recursive queries
#    and functions (a sandbox for untrusted SQL): the probe that asks
#    needs neither (it was a recursive count(*), whose prepare the
#    authorizer refused, taken for "not stopped": the query ran its 2 s).
conn = connect()
conn.set_authorizer(lambda code, *a: sqlite3.SQLITE_DENY
                    if code in (sqlite3.SQLITE_RECURSIVE, sqlite3.SQLITE_FUNCTION) else sqlite3.SQLITE_OK)
time_limit(conn, 0.3)
err, secs = run_until_stopped(conn, "SELECT url_index FROM api_fetch(?, 10)", (MID,))
check(err == "interrupted", f"time limit under an authorizer: error {err!r}")
check(secs < 1.0, f"time limit under an authorizer: stopped after {secs:.2f} s (limit 0.3 s)")
conn.close()
time.sleep(0.3)

# 7. A time limit that comes while a wide table's url_query runs (its rows
#    are SQL's to compute): the error is SQLite's own word, as when the
#    engine waits, so that Datasette shows its "SQL Interrupted" page (it
#    read "api_fetch: url_query failed: interrupted").
conn = connect()
conn.execute("CREATE VIRTUAL TABLE temp.q USING api_fetch(url_query='WITH RECURSIVE "
             "n(i) AS (VALUES(1) UNION ALL SELECT i+1 FROM n WHERE i<100000000) "
             "SELECT ''" + BASE + "/obj?id=''||i FROM n WHERE i=99999999', columns='id INTEGER')")
time_limit(conn, 0.3)
err, secs = run_until_stopped(conn, "SELECT count(*) FROM q", ())
check(err == "interrupted", f"time limit in url_query: error {err!r}")
check(secs < 1.0, f"time limit in url_query: stopped after {secs:.2f} s (limit 0.3 s)")
conn.close()

finish()
