#!/usr/bin/python3
"""One NDJSON line much longer than a part (src/chunk.c): the line waits
whole in the buffer, up to max_bytes, and costs time in proportion to its
length.  A hostile or broken server sends a 60 MB line in 16 KiB pieces;
looking for its end again from the buffer's start at every piece made the
work grow with the square of the line (1.8 s of CPU at 40 MB, 200 times a
blob's), so a server could make a scan spin for minutes under a raised
max_bytes.  The same bytes read as a blob are the yardstick.

    /usr/bin/python3 tests/py/ndjson_long_line.py BASE_URL     (run by tests/run.py)
"""
from _common import BASE, check, finish, shell_usage

LONG = 60_000_000


def cpu(fmt, what):
    """Run one scan of the long-line body; (its output, CPU seconds)."""
    sql = (f"SELECT {what} FROM api_fetch('[\"{BASE}/ndjson?n=2&long={LONG}\"]', 1, "
           f"'{{\"format\": \"{fmt}\"}}');")
    out, status, usage = shell_usage(sql)
    check(status == 0, f"format {fmt}: the shell exits 0 ({status})")
    return out, usage.ru_utime + usage.ru_stime


rows, t_ndjson = cpu("ndjson", "count(*), count(error), max(length(data ->> 'pad'))")
pad = LONG // 16384 * 16384
check(rows == f"3|0|{pad}", f"the long line and the two after it are records ({rows})")
_, t_blob = cpu("blob", "length(data)")
check(t_ndjson < t_blob + 1.5,
      f"a {LONG // 1000000} MB line costs time in proportion: {t_ndjson:.2f} s of CPU as NDJSON, "
      f"{t_blob:.2f} s as a blob (at most 1.5 s more)")
finish()
