"""The progress line (option progress) while a query runs: every half
second after the first second, also while nothing completes (a user watching
one slow URL sees it), with an ETA once URLs complete, and a last line that
says done.  The shell is the real sqlite3 shell; its stderr is the progress
output.  How many lines appear depends on timing, so the checks are on
which lines appear."""
import os
import subprocess

from _common import BASE, ROOT, check, finish


def progress(urls):
    sql = (".load ./apifetch\n"
           "SELECT count(*) FROM api_fetch('%s', 1, '{\"progress\": true}');\n"
           % str(urls).replace("'", '"'))
    r = subprocess.run([os.environ.get("SQLITE3", "sqlite3"), "-batch", ":memory:"], input=sql,
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    return r.stdout.strip(), r.stderr.splitlines()


# One URL that takes 2.5 s: lines while it is out, then done.
out, lines = progress([f"{BASE}/obj?id=1&delay=2500"])
check(out == "1", f"the row arrives: {out!r}")
check(any(ln.startswith("api_fetch: 0/1 URLs (0%), 0 req/s, 0 retries, 0 errors")
          for ln in lines), f"a progress line while the URL is still out: {lines}")
check(lines[-1:] and lines[-1].startswith("api_fetch: 1/1 URLs (100%)")
      and lines[-1].endswith(", done"), f"the last line says done: {lines[-1:]}")
check(all(ln.startswith("api_fetch: ") for ln in lines), f"nothing else on stderr: {lines}")

# Two URLs one after the other (1.3 s, then 1.7 s): halfway, an ETA.
out, lines = progress([f"{BASE}/obj?id=1&delay=1300", f"{BASE}/obj?id=2&delay=1700"])
check(out == "2", f"both rows arrive: {out!r}")
check(any(ln.startswith("api_fetch: 1/2 URLs (50%)") and ", ETA " in ln for ln in lines),
      f"a line at 1/2 with an ETA: {lines}")
check(lines[-1:] and lines[-1].startswith("api_fetch: 2/2 URLs (100%)")
      and lines[-1].endswith(", done"), f"the last line says done: {lines[-1:]}")
finish()
