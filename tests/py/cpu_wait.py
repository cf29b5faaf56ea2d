"""Waiting costs no CPU: a retry that is due while the rate limit has no
token sleeps until the token comes, it does not spin.  (With rate 0.5 the
retry waits 2 s; spinning, that was 2 s of CPU.)  The shell is the real
sqlite3 shell; its CPU time is read with getrusage."""
import os
import resource
import subprocess
import time

from _common import BASE, ROOT, check, finish

sql = (".load ./apifetch\n"
       "SELECT status, attempts FROM api_fetch('[\"%s/flaky?key=cpuwait&fail=1\"]', 1,"
       " '{\"rate\": 0.5, \"burst\": 1, \"max_attempts\": 2, \"retry_base_ms\": 0}');\n" % BASE)
before = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.time()
r = subprocess.run([os.environ.get("SQLITE3", "sqlite3"), "-batch", ":memory:"], input=sql,
                   cwd=ROOT, capture_output=True, text=True, timeout=60)
wall = time.time() - t0
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
check(r.stdout.strip() == "200|2", f"the retry succeeds: {r.stdout.strip()!r} {r.stderr.strip()!r}")
check(wall >= 1.5, f"it waited for the token: {wall:.2f} s")
check(cpu < 0.5 * wall, f"and slept while waiting: {cpu:.2f} s of CPU in {wall:.2f} s")
finish()
