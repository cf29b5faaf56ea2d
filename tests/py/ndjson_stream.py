#!/usr/bin/python3
"""An NDJSON body is streamed (format ndjson, src/chunk.c): its rows come
while it arrives, and a process's peak memory does not grow with the body.
One response of about 1 MiB and one of 96 MiB, each read by a sqlite3 shell
of its own: every line once, and the second's peak RSS within a few MiB of
the first's (read whole, it would be 96 MiB more; as a JSON array it is).
Also: a server that stops mid-body after rows were given: every whole line
that came is a row, then an error row saying how many, not a retry that
would give them twice.

    /usr/bin/python3 tests/py/ndjson_stream.py BASE_URL     (run by tests/run.py)
"""
import os

from _common import BASE, check, finish, shell_usage


def peak(mb, fmt):
    """Run a scan of one response of about mb MiB; (its output, peak RSS KiB)."""
    url = f"{BASE}/ndjson?mb={mb}" if fmt == "ndjson" else f"{BASE}/huge?mb={mb}&chunked=1"
    sql = (f"SELECT count(*), count(data), count(error) FROM api_fetch('[\"{url}\"]', 1, "
           f"'{{\"format\": \"{fmt}\", \"max_bytes\": 1000000000}}');")
    out, _, usage = shell_usage(sql)
    return out, usage.ru_maxrss


LINE = len(b'{"id": 1, "name": "line 1", "tags": ["a"], "geo": {"lat": 1.5}}\n')
small, rss_small = peak(1, "ndjson")
big, rss_big = peak(96, "ndjson")
n_big = int(96 * 1024 * 1024 / LINE)
check(small == f"{int(1024 * 1024 / LINE)}|{int(1024 * 1024 / LINE)}|0", f"1 MiB: every line a record ({small})")
check(big == f"{n_big}|{n_big}|0", f"96 MiB: every line a record ({big})")
if "asan" in os.environ.get("LD_PRELOAD", ""):
    # AddressSanitizer keeps freed memory in quarantine (256 MiB): peak RSS
    # says nothing there.  The rows are still checked.
    print("info peak RSS not checked under AddressSanitizer")
else:
    check(rss_big - rss_small < 8 * 1024,
          f"peak RSS flat: {rss_small} KiB at 1 MiB, {rss_big} KiB at 96 MiB (less than 8 MiB more)")
    # The same records as one JSON array are read whole: the contrast the bound is about.
    arr, rss_arr = peak(96, "json")
    check(rss_arr - rss_small > 64 * 1024,
          f"(a JSON array of 96 MiB is read whole: {rss_arr} KiB, so the check above can fail)")

cut, _, _ = shell_usage(f"SELECT count(data), 1 + max(record_index), max(attempts), max(error) "
                       f"FROM api_fetch('[\"{BASE}/ndjson?n=40000&cut=30000\"]', 1, "
                       "'{\"format\": \"ndjson\", \"retry_base_ms\": 1}');")
given, last, attempts, error = (cut.split("|", 3) + ["", "", "", ""])[:4]
check(given == last == "30000" and attempts == "1",
      f"cut off after rows were given: every whole line that came once, one attempt "
      f"({cut[:60]})")
check(f"after its first {given} lines were given (not retried: they would be given twice)" in error,
      f"the error row says how many lines were given: {error!r}")
finish()
