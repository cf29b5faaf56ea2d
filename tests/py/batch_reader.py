#!/usr/bin/python3
"""A reader that takes rows in batches and works between them (Python's
fetchmany, then a pause) keeps the window busy while it works: every
transfer started while a batch was handed out is sent before the batch
returns, not at the next call, which comes after the pause.

50 URLs at concurrency 50 each answer after 300 ms; the reader takes 45
rows, pauses 150 ms, and so on.  50 ms into each pause the server must
already have in flight the 45 requests started for the 45 rows just taken
(all of them were started before fetchmany returned).  With curl driven at
most once a millisecond while rows were handed out (d3d3dbd), most of them
waited unsent through the pause: 0 to 30 in flight, and the whole read took
1.7x as long (c=50, 1,000 URLs: 4.2 s against 2.5 s).  Also: every
url_index exactly once, no error.

    /usr/bin/python3 tests/py/batch_reader.py BASE_URL     (run by tests/run.py)
"""
import json
import time
import urllib.request

from _common import BASE, check, connect, finish

CONC, N, BATCH, DELAY_MS, PAUSE_S = 50, 300, 45, 300, 0.15


def inflight():
    with urllib.request.urlopen(f"{BASE}/stats", timeout=10) as r:
        return json.loads(r.read())["inflight"]


urllib.request.urlopen(f"{BASE}/stats/reset", timeout=10).read()
conn = connect()
urls = [f"{BASE}/obj?id={i}&delay={DELAY_MS}&key=batch_reader" for i in range(N)]
cur = conn.execute("SELECT url_index, error FROM api_fetch(?, ?)", (json.dumps(urls), CONC))
rows, seen = [], []
while True:
    got = cur.fetchmany(BATCH)
    if not got:
        break
    rows += got
    time.sleep(0.05)
    # Started for these rows, if URLs were left to start (Python has stepped
    # one row past the batch: that one's slot is busy too).
    left = N - CONC - (len(rows) - BATCH)
    if left >= BATCH:
        seen.append(inflight())
    time.sleep(PAUSE_S - 0.05)
check(sorted(r[0] for r in rows) == list(range(N)), f"every url_index once ({len(rows)} rows)")
check([r for r in rows if r[1]] == [], "no error rows")
check(len(seen) >= 3 and min(seen) >= BATCH,
      f"{BATCH} or more in flight 50 ms into each pause (saw {seen})")
finish()
