#!/usr/bin/python3
"""Concurrency above the open-file limit.  A transfer needs a socket (and a
socket pair while its name resolves); past the limit, transfers used to fail
to open sockets and be retried without a word.  Now the extension raises the
soft limit toward the hard one when it is loaded, and where that is not
enough it caps the window, says so in api_fetch_stats ("window",
"open_files_limit") and on the progress line, with the numbers, and every URL
is answered without a retry.

    /usr/bin/python3 tests/py/fd_limit.py BASE_URL     (run by tests/run.py)
"""
import json
import os
import resource
import subprocess
import sys

from _common import BASE, ROOT, check, finish

N, CONC = 1000, 600
CHILD = """
import json, sqlite3, sys
c = sqlite3.connect(':memory:')
c.enable_load_extension(True)
c.load_extension(sys.argv[1])
rows = c.execute("SELECT count(*), count(error) FROM api_fetch(?, %d, '{\\"progress\\": true}')",
                 (sys.stdin.read(),)).fetchone()
st = dict(c.execute("SELECT name, value FROM api_fetch_stats()").fetchall())
import resource
print(json.dumps({"rows": rows, "stats": st, "soft": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}))
""" % CONC
urls = json.dumps([f"{BASE}/obj?delay=100&id={i}" for i in range(N)])


def run(soft, hard):
    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    r = subprocess.run([sys.executable, "-c", CHILD, os.path.join(ROOT, "apifetch")],
                       input=urls, capture_output=True, text=True, preexec_fn=limit, timeout=120)
    if r.returncode != 0:
        return None, r.stderr
    return json.loads(r.stdout), r.stderr


hard_max = resource.getrlimit(resource.RLIMIT_NOFILE)[1]

# 1. A hard limit too low for the concurrency asked: the window is capped.
out, err = run(256, 256)
check(out is not None, f"capped: ran ({err[-300:] if out is None else ''})")
if out:
    st = out["stats"]
    check(out["rows"] == [N, 0], f"capped: every URL answered, no error: {out['rows']}")
    check(st["retries"] == 0 and st["requests"] == N, f"capped: no retries ({st['retries']})")
    check(0 < st["window"] < CONC, f"capped: stats window {st['window']} < concurrency {CONC}")
    check(st.get("open_files_limit") == 256, f"capped: stats open_files_limit {st.get('open_files_limit')}")
    want = f"{st['window']} in flight at most (capped by the open-file limit: 256, "
    check(want in err and "free, 2 a transfer, 64 kept back)" in err,
          f"capped: the progress line says so, with the numbers: {err.strip().splitlines()[-1:]}")

# 2. A low soft limit under a higher hard one: raised at load, not capped.
if hard_max >= 4096:
    out, err = run(256, 4096)
    check(out is not None and out["soft"] == 4096, f"raised: soft limit now {out and out['soft']}")
    if out:
        check(out["rows"] == [N, 0] and out["stats"]["window"] == CONC,
              f"raised: window {out['stats']['window']}, rows {out['rows']}")
else:
    check(False, f"this machine's hard limit on open files ({hard_max}) is below 4096")
finish()
