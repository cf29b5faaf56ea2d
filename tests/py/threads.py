#!/usr/bin/python3
"""Many connections in many threads fetching at once (Datasette runs queries
in a thread pool), and limits set for a host with APIFETCH_CONFIG.

    /usr/bin/python3 tests/py/threads.py BASE_URL     (run by tests/run.py)
"""
import json
import os
import subprocess
import sys
import threading

from _common import BASE, ROOT, check, connect, finish


# 1. 8 threads, a connection each, both faces at once, 50 URLs each with a
#    little latency so that the transfers overlap.
results = {}


def worker(k):
    conn = connect()
    urls = [f"{BASE}/obj?id={k * 1000 + i}&delay=20" for i in range(50)]
    rows = conn.execute("SELECT url_index, data ->> '$.id' FROM api_fetch(?, 10)",
                        (json.dumps(urls),)).fetchall()
    ok = sorted(rows) == [(i, k * 1000 + i) for i in range(50)]
    conn.execute("CREATE VIRTUAL TABLE temp.w USING api_fetch(url_list=" +
                 "'" + json.dumps(urls[:20]) + "', concurrency=5)")
    ids = sorted(r[0] for r in conn.execute("SELECT id FROM temp.w"))
    ok = ok and ids == [k * 1000 + i for i in range(20)]
    stats = dict(conn.execute("SELECT name, value FROM api_fetch_stats()").fetchall())
    ok = ok and stats["urls"] == 20
    results[k] = ok
    conn.close()


threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join(timeout=120)
check(len(results) == 8 and all(results.values()),
      f"8 threads x (50 URLs + a wide table of 20): every row right, per-connection stats "
      f"({sum(results.values())}/8 threads correct)")

# 2. One connection shared by threads in turn (check_same_thread=False).
conn = connect()
shared = []
lock = threading.Lock()


def turn(k):
    with lock:
        shared.append(conn.execute("SELECT count(*) FROM api_fetch(?)",
                                   (json.dumps([f"{BASE}/array?n={k}"]),)).fetchone()[0])


ts = [threading.Thread(target=turn, args=(k,)) for k in range(1, 6)]
for t in ts:
    t.start()
for t in ts:
    t.join(timeout=60)
check(sorted(shared) == [1, 2, 3, 4, 5], f"one connection used by 5 threads in turn: {sorted(shared)}")
conn.close()

# 3. A host's limits from APIFETCH_CONFIG, locked: untrusted SQL cannot
#    undo them.  (A child process: the variable is read at load time.)
child = r'''
import json, os, sqlite3, sys
conn = sqlite3.connect(":memory:")
conn.enable_load_extension(True)
conn.load_extension(os.path.join(sys.argv[1], "apifetch"))
conn.enable_load_extension(False)
out = {}
out["config"] = json.loads(conn.execute("SELECT api_fetch_config()").fetchone()[0])
out["row"] = conn.execute("SELECT error FROM api_fetch(?)", (json.dumps([sys.argv[2] + "/obj"]),)).fetchone()
try:
    conn.execute("SELECT api_fetch_config('{\"block_private\": false}')").fetchone()
    out["unlock"] = "allowed"
except sqlite3.OperationalError as e:
    out["unlock"] = str(e)
print(json.dumps(out))
'''
env = dict(os.environ, APIFETCH_CONFIG='{"block_private": true, "max_requests": 100, "lock": true}')
r = subprocess.run([sys.executable, "-c", child, ROOT, BASE], env=env, capture_output=True,
                   text=True, timeout=60)
try:
    out = json.loads(r.stdout)
except ValueError:
    out = {}
check(out.get("config", {}).get("block_private") is True and out.get("config", {}).get("lock") is True,
      f"APIFETCH_CONFIG read at load: {out.get('config')}")
check(out.get("row") and "refused by block_private" in out["row"][0],
      f"APIFETCH_CONFIG enforced: {out.get('row')}")
check("locked" in str(out.get("unlock")), f"APIFETCH_CONFIG locked: {out.get('unlock')}")
env["APIFETCH_CONFIG"] = '{"max_requests": "lots"}'
r = subprocess.run([sys.executable, "-c", child, ROOT, BASE], env=env, capture_output=True,
                   text=True, timeout=60)
check(r.returncode != 0 and "APIFETCH_CONFIG" in r.stderr,
      "a bad APIFETCH_CONFIG fails the load: " + (r.stderr.strip().splitlines() or [""])[-1])

finish()
