#!/usr/bin/python3
"""A query stopped while it waits for its OAuth2 token (issue 22
follow-up): the token fetch waits as the engine does, so conn.interrupt()
from another thread, a time limit through a progress handler (Datasette's),
deadline_ms and max_query_ms each stop it within docs/security.md's 0.1 s
(0.5 s here, for a loaded machine), not after timeout_ms.  The token
endpoint is the loopback server's, answering after 10 s (delay=10000).

    /usr/bin/python3 tests/py/oauth2_stop.py BASE_URL     (run by tests/run.py)
"""
import json
import sqlite3
import threading
import time
import urllib.request

from _common import BASE, check, connect, finish, time_limit

SQL = "SELECT url_index, status, error FROM api_fetch(?, 4, ?)"
URLS = json.dumps([f"{BASE}/oauth/api?realm=stop&id={i}" for i in range(3)])


def opts(realm, **kw):
    o = {"oauth2": {"token_url": f"{BASE}/oauth/token?realm={realm}&delay=10000",
                    "client_id": "etl", "client_secret": "s-1"},
         "base_url": BASE + "/", "max_attempts": 1, "timeout_ms": 20000}
    o.update(kw)
    return json.dumps(o)


def run(conn, o):
    t0 = time.monotonic()
    try:
        return conn.execute(SQL, (URLS, o)).fetchall(), time.monotonic() - t0
    except sqlite3.OperationalError as e:
        return str(e), time.monotonic() - t0


def inflight():
    with urllib.request.urlopen(BASE + "/stats", timeout=10) as r:
        return json.loads(r.read())["inflight"]


# 1. conn.interrupt() from another thread, 0.3 s into the token fetch.
conn = connect()
threading.Timer(0.3, conn.interrupt).start()
got, secs = run(conn, opts("stop1"))
check(got == "interrupted", f"interrupt: error {got!r}")
check(secs < 0.8, f"interrupt: stopped after {secs:.2f} s (asked at 0.3 s)")
st = dict(conn.execute("SELECT name, value FROM api_fetch_stats()").fetchall())
check(st["interrupted"] == 1, f"interrupt: stats say interrupted: {st['interrupted']}")
time.sleep(0.2)
check(inflight() == 0, "interrupt: the token request was hung up")
check(conn.execute("SELECT count(*) FROM api_fetch(?)", (json.dumps([BASE + "/obj?id=1"]),))
      .fetchone()[0] == 1, "interrupt: connection usable afterwards")
conn.close()

# 2. A time limit as Datasette sets one: a progress handler, 0.3 s.
conn = connect()
time_limit(conn, 0.3)
got, secs = run(conn, opts("stop2"))
check(got == "interrupted", f"time limit: error {got!r}")
check(secs < 0.8, f"time limit: stopped after {secs:.2f} s (limit 0.3 s)")
conn.close()

# 3. deadline_ms: every URL an error row saying so, as for any request the
#    deadline cut short (docs/reference.md, Errors).
conn = connect()
got, secs = run(conn, opts("stop3", deadline_ms=300))
check(secs < 0.8, f"deadline_ms: ended after {secs:.2f} s (deadline 0.3 s)")
check(isinstance(got, list) and sorted(got) == [(i, None, "deadline_ms (300) reached"
                                                 if i == 0 else
                                                 "deadline_ms (300) reached before this "
                                                 "request was started") for i in range(3)],
      f"deadline_ms: rows {got!r}")
conn.close()

# 4. max_query_ms, the host's limit, the same way.
conn = connect()
conn.execute("""SELECT api_fetch_config('{"max_query_ms": 300}')""")
got, secs = run(conn, opts("stop4"))
check(secs < 0.8, f"max_query_ms: ended after {secs:.2f} s (limit 0.3 s)")
check(isinstance(got, list) and len(got) == 3
      and all(r[2].startswith("max_query_ms (300) reached") for r in got),
      f"max_query_ms: rows {got!r}")
conn.close()

finish()
