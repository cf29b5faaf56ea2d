#!/usr/bin/python3
"""Many transfers in flight (issue 20, item 3).

1. concurrency 10,000: every url_index exactly once, no error, no retry, and
   the window is the 10,000 asked, or, where the open-file limit cannot be
   raised that far, what it allows, which api_fetch_stats says ("window",
   "open_files_limit") and the server saw in flight at once.
2. A turn costs what is ready, not the window: a window of 2,000 whose
   answers come in a few at a time (delays spread over half a second) costs
   little more CPU per request than a window of 20.  With curl_multi_perform
   and curl_multi_poll, which visit every transfer on each call, it cost 9x
   (libcurl 7.88, 2026-12-06: 322 against 35 us a request); over epoll
   (src/sockets.c) 2.4x.  The rest is connecting: 2,000 connections for
   6,000 requests, against 20 for 2,000.

    /usr/bin/python3 tests/py/many_in_flight.py BASE_URL     (run by tests/run.py)

Each query runs in a child Python (the extension loaded by sqlite3, as
Datasette loads it) that reports its own CPU time (getrusage).  The
100,000-URL run at concurrency 5,000 against nginx is too heavy for `make
test` on 2 cores: it is `make bench`'s W9.
"""
import json
import os
import subprocess
import sys
import urllib.request

from _common import BASE, ROOT, check, finish

CHILD = r"""
import json, resource, sqlite3, sys
urls, conc = json.loads(sys.stdin.read()), int(sys.argv[2])
c = sqlite3.connect(':memory:')
c.enable_load_extension(True)
c.load_extension(sys.argv[1])
r0 = resource.getrusage(resource.RUSAGE_SELF)
rows = c.execute("SELECT url_index, error FROM api_fetch(?, ?)", (json.dumps(urls), conc)).fetchall()
r1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
st = dict(c.execute("SELECT name, value FROM api_fetch_stats()").fetchall())
print(json.dumps({"index": sorted(r[0] for r in rows), "errors": [e for _, e in rows if e][:3],
                  "stats": st, "cpu_us": cpu * 1e6 / len(urls)}))
"""


def server_stats(path):
    with urllib.request.urlopen(f"{BASE}/stats{path}", timeout=10) as r:
        return json.loads(r.read())


def fetch(urls, conc):
    r = subprocess.run([sys.executable, "-c", CHILD, os.path.join(ROOT, "apifetch"), str(conc)],
                       input=json.dumps(urls), capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        check(False, f"concurrency {conc}: the query ran: {r.stderr[-500:]}")
        return None
    return json.loads(r.stdout)


def answered_once(out, n, what):
    check(out["index"] == list(range(n)), f"{what}: every url_index exactly once")
    check(out["errors"] == [], f"{what}: no error: {out['errors']}")
    check(out["stats"]["retries"] == 0, f"{what}: no retry ({out['stats']['retries']})")


# 1. Concurrency 10,000.
N = 10000
server_stats("/reset")
out = fetch([f"{BASE}/obj?delay=1000&id={i}" for i in range(N)], N)
if out:
    answered_once(out, N, "concurrency 10000")
    st, peak = out["stats"], server_stats("")["max_inflight"]
    limit = st.get("open_files_limit", -1)
    if st["window"] < N:
        print(f"note: the window was capped at {st['window']} by the open-file limit ({limit})")
        check(0 < limit < 2 * N + 64, f"a smaller window only where the open-file limit "
              f"({limit}) is below what 10,000 need")
        check(st["window"] >= (limit - 200) // 2, f"and as large as the limit allows: "
              f"{st['window']} of {limit}")
    check(peak == st["window"], f"the server saw the window in flight: {peak} of {st['window']}")

# 2. A wide window costs little more per request than a narrow one.
narrow = fetch([f"{BASE}/obj?id={i}" for i in range(2000)], 20)
wide = fetch([f"{BASE}/obj?delay={200 + (i * 37) % 500}&id={i}" for i in range(6000)], 2000)
if narrow and wide:
    answered_once(wide, 6000, "concurrency 2000")
    ratio = wide["cpu_us"] / narrow["cpu_us"]
    print(f"note: CPU a request: {narrow['cpu_us']:.0f} us at 20, {wide['cpu_us']:.0f} us at 2000")
    check(ratio < 5, f"a window of 2000 costs {ratio:.1f}x the CPU a request of a window of 20 "
          "(under 5x)")
finish()
