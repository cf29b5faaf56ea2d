#!/usr/bin/python3
"""The engine's slot states (src/engine.c, slot_state): every move is one
of the six the engine allows, and the counts it keeps (idle, running,
waiting) always add up to the window.  In an APIFETCH_DEBUG build (make
SANITIZE=1), with APIFETCH_TRACE set, each move is a line on stderr; this
test makes queries that take every move and reads those lines.  A release
build must print nothing, whatever the environment says: there the trace is
compiled out.

    /usr/bin/python3 tests/py/slot_trace.py BASE_URL     (run by tests/run.py)
"""
import json
import os
import re
import subprocess
import sys
import uuid

from _common import BASE, ROOT, check, finish

with open(os.path.join(ROOT, "build", "so", "flags")) as f:
    DEBUG = "-DAPIFETCH_DEBUG" in f.read().split()

KEY = uuid.uuid4().hex          # /flaky counts failures per key, server-wide
QUERIES = [
    # A redirect hop (RUNNING -> RUNNING), a retry (RUNNING -> WAITING ->
    # RUNNING) and plain answers (IDLE -> RUNNING -> IDLE), two slots.
    ("SELECT url_index, status FROM api_fetch(?, 2, "
     "'{\"retry_base_ms\": 1, \"retry_max_ms\": 5}') ORDER BY url_index",
     json.dumps([f"{BASE}/redirects?n=1", f"{BASE}/flaky?key={KEY}&fail=1",
                 f"{BASE}/obj?id=1"])),
    # A host whose rate-limit fields say its budget is spent: new requests
    # wait for it (IDLE -> WAITING), held again while it stays spent
    # (WAITING -> WAITING), then start (WAITING -> RUNNING).
    ("SELECT url_index, status FROM api_fetch(?, 2, '{\"max_attempts\": 1}') ORDER BY url_index",
     json.dumps([f"{BASE}/limited/github?limit=2&window=1&key={KEY}&id={i}" for i in range(6)])),
    # A retry that waits for a token when the deadline comes: WAITING -> IDLE.
    ("SELECT url_index, status, error FROM api_fetch(?, 1, '{\"rate\": 1, \"burst\": 1, "
     "\"retry_base_ms\": 1, \"retry_max_ms\": 1, \"max_attempts\": 5, \"deadline_ms\": 400}')",
     json.dumps([f"{BASE}/status/503"])),
]
EXPECTED = [
    [[0, 200], [1, 200], [2, 200]],
    [[i, 200] for i in range(6)],
    [[0, None, "deadline_ms (400) reached"]],
]
SCRIPT = """
import json, sqlite3, sys
conn = sqlite3.connect(":memory:")
conn.enable_load_extension(True)
conn.load_extension(sys.argv[1])
for sql, arg in json.loads(sys.argv[2]):
    print(json.dumps(conn.execute(sql, (arg,)).fetchall()))
"""

env = dict(os.environ, APIFETCH_TRACE="1")
p = subprocess.run([sys.executable, "-c", SCRIPT, os.path.join(ROOT, "apifetch"),
                    json.dumps(QUERIES)], env=env, capture_output=True, text=True, timeout=60)
check(p.returncode == 0, f"the queries ran (exit status {p.returncode}) {p.stderr[-400:]}")
rows = [json.loads(line) for line in p.stdout.splitlines()]
check(rows == EXPECTED, f"their rows: {rows}")

LINE = re.compile(r"apifetch: slot (\d+) (IDLE|RUNNING|WAITING) -> (IDLE|RUNNING|WAITING) "
                  r"\(idle (\d+), running (\d+), waiting (\d+)\) url_index (\d+)$")
lines = [line for line in p.stderr.splitlines() if line.startswith("apifetch: slot")]
if not DEBUG:
    check(lines == [], f"a release build traces nothing ({len(lines)} lines)")
    finish()

moves = [LINE.match(line) for line in lines]
check(lines and all(moves), "every trace line reads as slot_state writes it: "
      + "; ".join(l for l, m in zip(lines, moves) if not m)[:300])
moves = [m for m in moves if m]
ALLOWED = {("IDLE", "RUNNING"), ("IDLE", "WAITING"), ("RUNNING", "RUNNING"),
           ("RUNNING", "WAITING"), ("RUNNING", "IDLE"), ("WAITING", "RUNNING"),
           ("WAITING", "WAITING"), ("WAITING", "IDLE")}
seen = {(m[2], m[3]) for m in moves}
check(seen <= ALLOWED, f"only the allowed moves: {sorted(seen - ALLOWED)}")
check(seen == ALLOWED, f"the queries made every move: missing {sorted(ALLOWED - seen)}")
# The counts add up to the window: 2 slots, then 1.
sums = [int(m[4]) + int(m[5]) + int(m[6]) for m in moves]
check(sums != [] and set(sums) <= {1, 2} and sums[0] == 2 and sums[-1] == 1,
      f"idle + running + waiting is the window after every move: {sums}")
# Each slot's moves chain: it leaves the state it last entered (slots are
# told apart by their number and their query's window).
state, broken = {}, []
for m, n in zip(moves, sums):
    key = (n, m[1])
    if state.get(key, "IDLE") != m[2]:
        broken.append(m[0])
    state[key] = m[3]
check(broken == [], f"each slot leaves the state it was in: {broken[:3]}")
finish()
