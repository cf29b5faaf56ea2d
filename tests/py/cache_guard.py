"""The cache under the guard (issue 16, hole 1), the parts the shell test
tests/sql/cache_guard.sql cannot show: a stored copy whose origin the guard
now refuses is not revalidated (a 304 would hand over its body) nor given
stale on an error; the address a body came from is kept with its entry; an
entry whose address is not an IP address is refused under block_private; a
cache file of the format before the address was kept is refused by name.

The loopback server's /cache serves obj(id) with the caching headers
asked for and answers 304 to a matching ETag; /stats count requests and
304s; /stats/fail?code=C makes /cache answer C."""
import json
import os
import sqlite3
import tempfile
import urllib.request

from _common import BASE, check, connect, error_of, finish

TMP = tempfile.TemporaryDirectory()
PORT = BASE.rsplit(":", 1)[1]


def server(route):
    with urllib.request.urlopen(BASE + route, timeout=10) as r:
        return json.load(r)


def config(conn, settings):
    conn.execute("SELECT api_fetch_config(?)", (json.dumps(settings),)).fetchall()


def fetch(conn, url, opts):
    """(status, cache, error) of one URL, and the server's requests and 304s meanwhile."""
    before = server("/stats")
    rows = conn.execute("SELECT status, cache, error FROM api_fetch(?, 1, ?)",
                        (json.dumps([url]), json.dumps(opts))).fetchall()
    after = server("/stats")
    assert len(rows) == 1, rows
    return rows[0], {k: after[k] - before[k] for k in ("requests", "not_modified")}


def set_column(cache, url, column, value):
    """A cache file is data: edit an entry as a stranger (or an old
    version) could have left it."""
    raw = sqlite3.connect(cache)
    try:
        raw.execute(f"UPDATE apifetch_cache SET {column} = ? WHERE url = ?", (value, url))
        raw.commit()
    except sqlite3.Error as e:
        print(f"(cannot set {column}: {e})")
    raw.close()


def address_of(cache, url):
    raw = sqlite3.connect(cache)
    try:
        return raw.execute("SELECT address FROM apifetch_cache WHERE url = ?", (url,)).fetchall()
    except sqlite3.Error as e:
        return str(e)
    finally:
        raw.close()


# ---------------------------------------------------------------------------
# The address a body came from is kept with its entry.
cache = os.path.join(TMP.name, "guard.db")
conn = connect()
u = BASE + "/cache?id=7001&etag=v1"
r, _ = fetch(conn, u, {"cache": cache})
addr = address_of(cache, u)
check(r[1] == "miss" and addr == [("127.0.0.1",)], f"the address is stored ({r}, {addr})")
# A 304 keeps the address the body came from.
r, s = fetch(conn, u, {"cache": cache})
addr = address_of(cache, u)
check(r[1] == "revalidated" and s["not_modified"] == 1 and addr == [("127.0.0.1",)],
      f"a 304 keeps it ({r}, {s}, {addr})")

# ---------------------------------------------------------------------------
# Revalidation and stale-if-error.  The entry's body came, by a redirect,
# from a host the guard now refuses (final_url, as a redirect leaves it):
# sending its ETag would let the allowed host answer 304 and have the
# refused host's body given; falling back on it after an error would give
# it too.  The request goes out as if nothing were stored.
set_column(cache, u, "final_url", f"http://localhost:{PORT}/cache?id=7001&etag=v1")
config(conn, {"allow_hosts": [f"127.0.0.1:{PORT}"]})
r, s = fetch(conn, u, {"cache": cache})
check(r[1] == "miss" and r[2] is None and s == {"requests": 1, "not_modified": 0},
      f"304: no validators sent for a refused entry, a fresh body fetched ({r}, {s})")
u2 = BASE + "/cache?id=7002&cc=max-age=0"
fetch(conn, u2, {"cache": cache})
set_column(cache, u2, "final_url", f"http://localhost:{PORT}/cache?id=7002")
server("/stats/fail?code=503")
try:
    r, s = fetch(conn, u2, {"cache": cache, "cache_stale_ms": 3600000, "max_attempts": 1})
finally:
    server("/stats/fail?code=0")
check(r[1] != "stale" and r[2] == "HTTP 503", f"stale-if-error: not a refused entry ({r})")
set_column(cache, u2, "final_url", None)
server("/stats/fail?code=503")
try:
    r, s = fetch(conn, u2, {"cache": cache, "cache_stale_ms": 3600000, "max_attempts": 1})
finally:
    server("/stats/fail?code=0")
check(r[1] == "stale" and r[2] is None, f"stale-if-error: an allowed entry still is ({r})")
conn.close()

# ---------------------------------------------------------------------------
# block_private, offline: an entry whose address is not known, or is not
# an IP address, is not known to be allowed.
u3 = BASE + "/cache?id=7003&cc=max-age=600"
conn = connect()
fetch(conn, u3, {"cache": cache})
conn.close()
for value in (None, "not-an-ip", "10.1.2.3"):
    set_column(cache, u3, "address", value)
    conn = connect()
    config(conn, {"block_private": True})
    r, s = fetch(conn, u3, {"cache": cache, "cache_mode": "offline"})
    conn.close()
    want = ("is a private address (10.0.0.0/8)" if value == "10.1.2.3"
            else f"the address it came from ({value or 'none recorded'}) is not an IP address")
    check(r[0] is None and r[1] is None and r[2] == "refused by block_private: "
          + ("10.1.2.3 " if value == "10.1.2.3" else "") + want and s["requests"] == 0,
          f"block_private, address {value!r}: refused ({r})")

# ---------------------------------------------------------------------------
# A cache of format 1 (before the address was kept): refused by name, and
# left as it was.
old = os.path.join(TMP.name, "format1.db")
conn = connect()
fetch(conn, BASE + "/cache?id=7004&cc=max-age=600", {"cache": old})
conn.close()
raw = sqlite3.connect(old)
if "address" in [c[1] for c in raw.execute("PRAGMA table_info(apifetch_cache)")]:
    raw.execute("ALTER TABLE apifetch_cache DROP COLUMN address")
raw.execute("UPDATE apifetch_cache_meta SET value = 1 WHERE name = 'format'")
raw.commit()
raw.close()
with open(old, "rb") as f:
    before = f.read()
conn = connect()
e = error_of(lambda: fetch(conn, BASE + "/cache?id=7004&cc=max-age=600", {"cache": old}))
e2 = error_of(lambda: conn.execute("SELECT * FROM api_fetch_cache(?)", (old,)).fetchall())
conn.close()
want = f'api_fetch: cache "{old}" was made by another version of apifetch (format 1; ' \
       'this one reads 3): name a new file'
check(e == want and e2 is not None and "(format 1; this one reads 3)" in e2,
      f"format 1: refused by name ({e}; {e2})")
with open(old, "rb") as f:
    check(f.read() == before, "format 1: the file is left as it was")

finish()
