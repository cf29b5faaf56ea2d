#!/usr/bin/python3
"""W8 of tests/bench.py: the Datasette pattern, many small statements on one
SQLite connection, against the same URLs in one statement.

    /usr/bin/python3 tests/bench_statements.py LIB CA_FILE URLS.json PER C STATUS_URL

One sqlite3 connection (Python's, as Datasette has) loads LIB, trusts
CA_FILE (api_fetch_config's ca_file), runs one untimed statement of the first
C URLs at concurrency C (it opens the connections both timed phases may
reuse: neither pays those handshakes, and the one that runs second is not
favoured), then runs len(URLS) / PER statements of
PER URLs each at concurrency PER, one after another, each read to its end
(count(*), count(error)); then all the URLs in one statement at
concurrency C, on the same connection.  Connections opened in each phase:
nginx's accepted count (stub_status at STATUS_URL) before and after it.

Prints one JSON line: {"many": {"wall", "cpu", "conns"}, "one": {...}}, wall
and CPU (time.process_time: all threads) in seconds.  Exits 1 if a row has
an error or a count is wrong.
"""
import json
import sqlite3
import sys
import time
import urllib.request


def accepts(status_url):
    """nginx's accepted connections so far (this request's own not counted)."""
    with urllib.request.urlopen(status_url, timeout=10) as r:
        return int(r.read().decode().splitlines()[2].split()[0]) - 1


def phase(con, batches, c, status_url):
    """Runs the statements, each read to its end; returns (times, rows, errors)."""
    a0 = accepts(status_url)
    t, cpu = time.monotonic(), time.process_time()
    rows = errors = 0
    for urls in batches:
        r, e = con.execute("SELECT count(*), count(error) FROM api_fetch(?, ?)",
                           (json.dumps(urls), c)).fetchone()
        rows, errors = rows + r, errors + e
    wall, cpu = time.monotonic() - t, time.process_time() - cpu
    # The status request after counts itself once more: -1.
    return {"wall": wall, "cpu": cpu, "conns": accepts(status_url) - a0 - 1}, rows, errors


def main():
    lib, ca, path, per, c = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), \
        int(sys.argv[5])
    status_url = sys.argv[6]
    with open(path) as f:
        urls = json.load(f)
    con = sqlite3.connect(":memory:")
    con.enable_load_extension(True)
    con.load_extension(lib)
    con.execute("SELECT api_fetch_config(json_object('ca_file', ?))", (ca,)).fetchone()
    _, rows0, err0 = phase(con, [urls[:c]], c, status_url)
    many, rows1, err1 = phase(con, [urls[i:i + per] for i in range(0, len(urls), per)], per,
                            status_url)
    one, rows2, err2 = phase(con, [urls], c, status_url)
    con.close()
    print(json.dumps({"many": many, "one": one}))
    if err0 or err1 or err2 or rows1 != len(urls) or rows2 != len(urls):
        print(f"bench_statements: rows {rows0}, {rows1}, {rows2} with {err0}, {err1}, {err2} "
              f"errors, "
              f"expected {len(urls)} and none", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
