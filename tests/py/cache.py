"""The persistent HTTP cache (issue 13), item by item: the modes, the keys,
what is never stored, stale-if-error, LRU, the SQL face, the files it
refuses, processes sharing a file, resuming a killed crawl, the guard,
pagination and the wide face through the cache, the counters.

The loopback server's /cache route serves obj(id) with whatever caching
headers the query asks for and answers 304 to a matching validator; its
/stats count requests, 304s and body bytes, which is how "no request" and
"no body" are proved here."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

from _common import BASE, ROOT, check, connect, error_of, finish

TMP = tempfile.TemporaryDirectory()
D = TMP.name
_n = [0]


def path(name):
    return os.path.join(D, name)


def server(route):
    with urllib.request.urlopen(BASE + route, timeout=10) as r:
        return json.load(r)


def stats():
    return server("/stats")


def fail(code):
    server(f"/stats/fail?code={code}")


def uid():
    """A fresh object id: no two checks share a URL."""
    _n[0] += 1
    return 1000 + _n[0]


def fetch(conn, urls, opts, conc=4, cols="url, status, cache, error, data"):
    if isinstance(urls, str):
        urls = [urls]
    return conn.execute(f"SELECT {cols} FROM api_fetch(?, ?, ?) ORDER BY url_index, record_index",
                        (json.dumps(urls), conc, json.dumps(opts))).fetchall()


def one(conn, url, opts):
    """(status, cache, error, data) of one URL, and what the server saw."""
    before = stats()
    rows = fetch(conn, url, opts)
    after = stats()
    assert len(rows) == 1, rows
    seen = {k: after[k] - before[k] for k in ("requests", "not_modified", "body_bytes")}
    return rows[0][1:], seen


def counters(conn):
    return dict(conn.execute("SELECT name, value FROM api_fetch_stats()").fetchall())


def entries(conn, cache, where="1"):
    return conn.execute(f"SELECT url, final_url, status, size, fresh FROM api_fetch_cache(?) "
                        f"WHERE {where}", (cache,)).fetchall()


def C(i, **q):
    return BASE + f"/cache?id={i}" + "".join(f"&{k}={v}" for k, v in q.items())


# ---------------------------------------------------------------------------
# Mode http: the server's headers.
conn = connect()
H = {"cache": path("http.db")}

u = C(uid(), cc="max-age=60")
(r1, s1), (r2, s2) = one(conn, u, H), one(conn, u, H)
check(r1[1] == "miss" and s1["requests"] == 1, f"max-age: first a miss ({r1[1]}, {s1})")
check(r2[1] == "hit" and s2["requests"] == 0 and r2[3] == r1[3],
      f"max-age: then a hit, no request, the same body ({r2[1]}, {s2})")

u = C(uid())
one(conn, u, H)
r, s = one(conn, u, H)
check(r[1] == "miss" and s["requests"] == 1 and s["not_modified"] == 0,
      f"no freshness, no validator: fetched again, a miss ({r[1]}, {s})")

u = C(uid(), etag="e1")
r1, s1 = one(conn, u, H)
r2, s2 = one(conn, u, H)
check(r2[1] == "revalidated" and s2["requests"] == 1 and s2["not_modified"] == 1
      and s2["body_bytes"] == 0 and r2[0] == 200 and r2[3] == r1[3],
      f"ETag: If-None-Match, a 304, no body, the stored body given ({r2[1]}, {s2})")

lm = int(time.time()) - 5       # so recent that the heuristic gives no freshness
u = C(uid(), lm=lm)
one(conn, u, H)
r, s = one(conn, u, H)
check(r[1] == "revalidated" and s["not_modified"] == 1 and s["body_bytes"] == 0,
      f"Last-Modified: If-Modified-Since, a 304 ({r[1]}, {s})")

u = C(uid(), cc="no-store", etag="ns")
one(conn, u, H)
r, s = one(conn, u, H)
check(r[1] == "miss" and s["requests"] == 1 and s["not_modified"] == 0
      and entries(conn, H["cache"], f"url = '{u}'") == [],
      f"no-store: never stored ({r[1]}, {s})")

u = C(uid(), cc="no-cache,max-age=600", etag="nc")
one(conn, u, H)
(r2, s2), (r3, s3) = one(conn, u, H), one(conn, u, H)
check(r2[1] == r3[1] == "revalidated" and s2["not_modified"] == s3["not_modified"] == 1,
      f"no-cache: asked every time, even with max-age ({r2[1]} {r3[1]}, {s2} {s3})")

u = C(uid(), expires=600)
one(conn, u, H)
r, s = one(conn, u, H)
check(r[1] == "hit" and s["requests"] == 0, f"Expires in the future: a hit ({r[1]}, {s})")
u = C(uid(), expires=-600)
one(conn, u, H)
r, s = one(conn, u, H)
check(r[1] == "miss" and s["requests"] == 1, f"Expires in the past: fetched again ({r[1]}, {s})")

u = C(uid(), cc="max-age=100", age=50)
one(conn, u, H)
r, s = one(conn, u, H)
check(r[1] == "hit" and s["requests"] == 0, f"Age 50 of max-age 100: still fresh ({r[1]}, {s})")
u = C(uid(), cc="max-age=100", age=150)
one(conn, u, H)
r, s = one(conn, u, H)
check(r[1] == "miss" and s["requests"] == 1, f"Age 150 of max-age 100: stale on arrival ({r[1]}, {s})")

i = uid()
u = C(i, cc="max-age=600", vary="X-Lang")
ra, sa = one(conn, u, dict(H, headers={"X-Lang": "fr"}))
rb, sb = one(conn, u, dict(H, headers={"X-Lang": "de"}))
rc, sc = one(conn, u, dict(H, headers={"X-Lang": "fr"}))
rd, sd = one(conn, u, H)
check(ra[1] == rb[1] == rd[1] == "miss" and rc[1] == "hit"
      and sb["requests"] == 1 and sc["requests"] == 0,
      f"Vary: another header value is another entry ({ra[1]} {rb[1]} {rc[1]} {rd[1]})")
check(len(entries(conn, H["cache"], f"url = '{u}'")) == 3, "Vary: three entries for one URL")
u = C(uid(), cc="max-age=600", vary="*")
one(conn, u, H)
r, s = one(conn, u, H)
check(r[1] == "miss" and s["requests"] == 1, f"Vary: * is never stored ({r[1]})")

u = C(uid(), cc="max-age=600")
r, s = one(conn, u, dict(H, user_agent="agent-a"))
r2, s2 = one(conn, u, dict(H, user_agent="agent-b"))
check(r2[1] == "miss" and s2["requests"] == 1, "another User-Agent is another entry")

u = BASE + f"/cache?id={uid()}&cc=max-age=600"
r, _ = one(conn, [{"url": u, "method": "HEAD"}], H)
r2, s2 = one(conn, [{"url": u, "method": "HEAD"}], H)
r3, s3 = one(conn, u, H)
check(r2[1] == "hit" and r3[1] == "miss" and s3["requests"] == 1,
      f"HEAD is cached, under its own key ({r[1]} {r2[1]} {r3[1]})")

# ---------------------------------------------------------------------------
# Mode ttl: anything 2xx, fresh for cache_ttl_ms, then asked again.
T = dict(H, cache_mode="ttl", cache_ttl_ms=400)
u = C(uid(), cc="no-store", etag="t1")
(r1, s1), (r2, s2) = one(conn, u, T), one(conn, u, T)
check(r1[1] == "miss" and r2[1] == "hit" and s2["requests"] == 0,
      f"ttl: stores even no-store, a hit within the ttl ({r1[1]} {r2[1]}, {s2})")
time.sleep(0.5)
r3, s3 = one(conn, u, T)
check(r3[1] == "revalidated" and s3["not_modified"] == 1,
      f"ttl: past the ttl, asked again (conditionally) ({r3[1]}, {s3})")
r4, s4 = one(conn, u, T)
check(r4[1] == "hit" and s4["requests"] == 0, f"ttl: the 304 renewed it ({r4[1]}, {s4})")
u = C(uid(), cc="max-age=3600")
one(conn, u, T)
time.sleep(0.5)
r, s = one(conn, u, T)
check(r[1] == "miss" and s["requests"] == 1,
      f"ttl: its ttl, not the server's max-age, says when ({r[1]}, {s})")

# ---------------------------------------------------------------------------
# Mode refresh: always asks, conditionally when it can, and stores.
R = dict(H, cache_mode="refresh")
u = C(uid(), cc="max-age=3600", etag="r1")
one(conn, u, H)
r, s = one(conn, u, R)
check(r[1] == "revalidated" and s["requests"] == 1 and s["not_modified"] == 1,
      f"refresh: a fresh entry is asked about anyway, conditionally ({r[1]}, {s})")
u = C(uid(), cc="no-store")
r1, s1 = one(conn, u, R)
check(r1[1] == "miss" and s1["requests"] == 1 and len(entries(conn, H["cache"], f"url = '{u}'")) == 1,
      f"refresh: stores what it gets, no-store too ({r1[1]})")
r2, s2 = one(conn, u, R)
check(r2[1] == "miss" and s2["requests"] == 1, f"refresh: no validator, fetched again ({r2[1]})")

# ---------------------------------------------------------------------------
# Mode offline: never the network.
O = dict(H, cache_mode="offline")
fresh, old, missing = C(uid(), cc="max-age=600"), C(uid()), C(uid(), cc="max-age=600")
one(conn, fresh, H)
one(conn, old, H)
before = stats()
rows = fetch(conn, [fresh, old, missing], O)
check(stats()["requests"] == before["requests"], "offline: no request at all")
check([r[2] for r in rows] == ["hit", "stale", "miss"] and rows[0][4] and rows[1][4],
      f"offline: a fresh entry is a hit, an old one given as stale ({[r[2] for r in rows]})")
check(rows[2][3] is not None and "not in the cache" in rows[2][3] and "offline" in rows[2][3]
      and rows[2][4] is None, f"offline: a missing URL is an error row saying so: {rows[2][3]}")
r, s = one(conn, [{"url": fresh, "method": "POST", "body": {"a": 1}}], O)
check(r[2] is not None and "offline" in r[2] and s["requests"] == 0,
      f"offline: a POST is an error row: {r[2]}")

# ---------------------------------------------------------------------------
# Keys.
K = {"cache": path("keys.db")}
kconn = connect()
u = C(uid(), cc="max-age=600")
ra, _ = one(kconn, u, dict(K, bearer="tok-alpha-7731"))
rb, sb = one(kconn, u, dict(K, bearer="tok-bravo-7731"))
rc, sc = one(kconn, u, dict(K, bearer="tok-alpha-7731"))
check(rb[1] == "miss" and sb["requests"] == 1 and rc[1] == "hit" and sc["requests"] == 0,
      f"bearer: another token is another entry ({ra[1]} {rb[1]} {rc[1]})")
u = C(uid(), cc="max-age=600")
one(kconn, u, dict(K, basic="user:pw-charlie-7731"))
rb, sb = one(kconn, u, dict(K, basic="user:pw-delta-7731"))
rn, sn = one(kconn, u, K)
check(rb[1] == "miss" and rn[1] == "miss" and sn["requests"] == 1,
      f"basic: another password, or none, is another entry ({rb[1]} {rn[1]})")
# Absent is not empty: "bearer": "" sends "Authorization: Bearer " (as a
# ${env:} set but empty would), and "user_agent": "" sends none; both once
# shared the entry of the request without them.
for name, opts in (("bearer", {"bearer": ""}), ("user_agent", {"user_agent": ""})):
    u = C(uid(), cc="max-age=600")
    one(kconn, u, dict(K, **opts))
    r, s = one(kconn, u, K)
    check(r[1] == "miss", f"an empty {name} and none are different entries ({r[1]})")
u = C(uid(), cc="max-age=600")
one(kconn, u, dict(K, headers={"X-Api-Key": "hdr-echo-7731"}))
r, s = one(kconn, u, dict(K, headers={"X-Api-Key": "hdr-foxtrot-7731"}))
check(r[1] == "miss", f"a header's value is in the key ({r[1]})")
os.environ["APIFETCH_CACHE_TEST_SECRET"] = "env-golf-7731"
u = C(uid(), cc="max-age=600")
r, s = one(kconn, u, dict(K, query={"key": "${env:APIFETCH_CACHE_TEST_SECRET}"}))
r2, s2 = one(kconn, u, dict(K, query={"key": "${env:APIFETCH_CACHE_TEST_SECRET}"}))
stored = [e[0] for e in entries(kconn, K["cache"], "url LIKE '%key=%'")]
check(r2[1] == "hit" and len(stored) == 1 and "env-golf" not in stored[0] and "key=" in stored[0],
      f"${{env:}} in query: a hit, the URL stored redacted: {stored}")
os.environ["APIFETCH_CACHE_TEST_SECRET"] = "env-hotel-7731"
r3, s3 = one(kconn, u, dict(K, query={"key": "${env:APIFETCH_CACHE_TEST_SECRET}"}))
check(r3[1] == "miss", f"${{env:}}: another value of the secret is another entry ({r3[1]})")
for m in ("POST", "PUT"):
    u = BASE + f"/echo?id={uid()}"
    one(kconn, [{"url": u, "method": m, "body": {"n": 1}}], K)
    r, s = one(kconn, [{"url": u, "method": m, "body": {"n": 1}}], K)
    check(r[1] is None or r[1] == "miss", f"{m}: not cached ({r[1]})")
    check(s["requests"] == 1 and entries(kconn, K["cache"], f"url = '{u}'") == [],
          f"{m}: asked again, nothing stored")
# Not under ttl or refresh either, which store what the headers forbid.
for mode in ("ttl", "refresh"):
    u = BASE + f"/echo?id={uid()}"
    one(kconn, [{"url": u, "method": "POST", "body": {"n": 1}}], dict(K, cache_mode=mode))
    check(entries(kconn, K["cache"], f"url = '{u}'") == [], f"{mode}: a POST is not stored")
# A body on a GET (request objects may carry one): another body, another entry.
u = BASE + f"/cache?id={uid()}&cc=max-age=600"
reqs = lambda b: [{"url": u, "method": "GET", "body": b}]
one(kconn, reqs("alpha"), K)
r, s = one(kconn, reqs("beta"), K)
r2, s2 = one(kconn, reqs("alpha"), K)
check(r[1] == "miss" and s["requests"] == 1 and r2[1] == "hit",
      f"the request body is in the key ({r[1]} {r2[1]})")
# A cookie the server sets is never stored (it may be a session).
u = C(uid(), cc="max-age=600", cookie="cookie-india-7731")
one(kconn, u, K)
r, s = one(kconn, u, K)
check(r[1] == "hit", f"a response with Set-Cookie is stored ({r[1]})")
# basic over a relative redirect and a Link to the next page: libcurl
# resolves the Location with user:password written into it, which became
# the url of page 2 and the entry's final_url, in clear.
ru = BASE + f"/rbase/a/start?k={uid()}"
rows = kconn.execute("SELECT url, status, error FROM api_fetch(?, 1, ?)",
                     (json.dumps([ru]), json.dumps(dict(K, basic="user:pw-juliet-7731",
                                                        cache_mode="ttl",
                                                        paginate={"type": "link"})))).fetchall()
check(len(rows) == 2 and all(r[1] == 200 and "pw-juliet" not in r[0] and "user@" not in r[0]
                             for r in rows),
      f"basic through a redirect and a next page: no user or password in url ({rows})")
kconn.close()
# Not one secret in the file, its WAL or its shared memory, in any form.
import base64
raw = b""
for f in os.listdir(D):
    if f.startswith("keys.db"):
        raw += open(path(f), "rb").read()
secrets = [b"tok-alpha-7731", b"tok-bravo-7731", b"pw-charlie-7731", b"pw-delta-7731",
           b"hdr-echo-7731", b"hdr-foxtrot-7731", b"env-golf-7731", b"env-hotel-7731",
           base64.b64encode(b"user:pw-charlie-7731"), base64.b64encode(b"user:pw-delta-7731"),
           b"session=cookie-india", b"pw-juliet-7731"]
found = [s.decode() for s in secrets if s in raw]
check(len(raw) > 0 and not found, f"no secret anywhere in the cache files ({len(raw)} bytes): {found}")

# ---------------------------------------------------------------------------
# Never stored: errors a retry would ask again, partial bodies, bodies too
# big.  A 404 is stored (issue 23 item 4; tests/sql/cache_status.sql).
N = {"cache": path("never.db"), "cache_mode": "ttl", "max_attempts": 1}
nconn = connect()
u = BASE + f"/status/404?id={uid()}"
r1, _ = one(nconn, u, N)
r2, s2 = one(nconn, u, N)
check(r1[2] == "HTTP 404" and r2[1] == "hit" and r2[2] == "HTTP 404" and s2["requests"] == 0,
      f"/status/404: stored under ttl, the same error row from the cache ({r2})")
for route in ("/status/500", "/status/429", "/truncated", "/reset_mid"):
    u = BASE + route + f"?id={uid()}"
    r1, _ = one(nconn, u, N)
    r2, s2 = one(nconn, u, N)
    check(r1[2] is not None and r2[1] != "hit" and s2["requests"] == 1
          and entries(nconn, N["cache"], f"url = '{u}'") == [],
          f"{route}: not stored ({r1[2]})")
u = BASE + f"/bigstring?mb=0.01&id={uid()}"
r1, _ = one(nconn, u, dict(N, max_bytes=5000))
check(r1[2] is not None and entries(nconn, N["cache"], f"url = '{u}'") == [],
      f"a body over max_bytes: an error, not stored ({r1[2]})")
small = C(uid(), cc="max-age=600")
one(nconn, small, N)
r1, _ = one(nconn, u, dict(N, cache_max_bytes=5000))
r2, s2 = one(nconn, u, dict(N, cache_max_bytes=5000))
check(r1[2] is None and r2[1] == "miss" and s2["requests"] == 1
      and entries(nconn, N["cache"], f"url = '{u}'") == [],
      f"a body over cache_max_bytes: given, not stored ({r1[1]} {r2[1]})")
check(len(entries(nconn, N["cache"], f"url = '{small}'")) == 1,
      "and it did not push out what was there")
r1, _ = one(nconn, u, N)
r2, s2 = one(nconn, u, dict(N, max_bytes=5000))
check(r2[1] != "hit" and r2[2] is not None and s2["requests"] == 1,
      f"stored under a larger max_bytes, not given past a smaller one ({r2[1]}, {r2[2]})")
nconn.close()

# ---------------------------------------------------------------------------
# stale-if-error.
S = {"cache": path("stale.db"), "max_attempts": 2, "retry_base_ms": 1, "retry_max_ms": 5}
sconn = connect()
ok_url, mr_url = C(uid(), cc="max-age=0"), C(uid(), cc="max-age=0,must-revalidate")
one(sconn, ok_url, S)
one(sconn, mr_url, S)
try:
    fail(503)
    r, s = one(sconn, ok_url, dict(S, cache_stale_ms=600000))
    check(r[0] == 200 and r[1] == "stale" and r[2] is None and r[3] and s["requests"] == 2,
          f"503 after retries, cache_stale_ms: the stored copy, marked stale ({r[:3]}, {s})")
    r, s = one(sconn, ok_url, S)
    check(r[1] != "stale" and r[2] is not None and "503" in r[2] and r[3] is None,
          f"503 without cache_stale_ms: the error row ({r[:3]})")
    r, s = one(sconn, mr_url, dict(S, cache_stale_ms=600000))
    check(r[1] != "stale" and r[2] is not None and r[3] is None,
          f"must-revalidate forbids serving it stale ({r[:3]})")
    r, s = one(sconn, ok_url, dict(S, cache_stale_ms=1))
    check(r[1] != "stale" and r[2] is not None,
          f"staler than cache_stale_ms: the error row ({r[:3]})")
    fail("reset")
    r, s = one(sconn, ok_url, dict(S, cache_stale_ms=600000))
    check(r[1] == "stale" and r[2] is None and r[3], f"a reset connection: stale ({r[:3]})")
    c = counters(sconn)
    check(c["cache_stale"] == 1 and c["errors"] == 0, f"counted as cache_stale: {c['cache_stale']}")
    # refresh asks even when the entry is fresh; if that fails, the copy
    # given is not a hit (a hit is an answer without a request).
    fresh_url = C(uid(), cc="max-age=600")
    fail(0)
    one(sconn, fresh_url, S)
    fail(503)
    r, s = one(sconn, fresh_url, dict(S, cache_mode="refresh"))
    c = counters(sconn)
    check(r[0] == 200 and r[1] == "stale" and r[2] is None and s["requests"] == 2
          and c["cache_hits"] == 0 and c["cache_stale"] == 1,
          f"refresh, the server failing: the fresh copy, marked stale, not hit ({r[:3]}, {s})")
finally:
    fail(0)
sconn.close()

# ---------------------------------------------------------------------------
# LRU: a small cache_max_bytes; the least recently used go first.
L = {"cache": ":memory:", "cache_max_bytes": 0}
lconn = connect()
urls = [C(uid(), cc="max-age=600") for _ in range(5)]
size = None
for u in urls[:3]:
    one(lconn, u, L)
    time.sleep(0.005)
size = entries(lconn, ":memory:")[0][3]
L["cache_max_bytes"] = 3 * size + size // 2       # room for three
r, _ = one(lconn, urls[0], L)                      # the oldest, used again
time.sleep(0.005)
one(lconn, urls[3], L)                             # a fourth: one must go
kept = [e[0] for e in entries(lconn, ":memory:")]
check(r[1] == "hit" and sorted(kept) == sorted([urls[0], urls[2], urls[3]]),
      f"over the cap, only the least recently used goes (the recent hit stays): "
      f"{[urls.index(k) for k in kept]}")
time.sleep(0.005)
one(lconn, urls[4], L)
kept = [e[0] for e in entries(lconn, ":memory:")]
check(sorted(kept) == sorted([urls[0], urls[3], urls[4]]),
      f"and the next: {[urls.index(k) for k in kept]}")
many = [C(uid(), cc="max-age=600") for _ in range(30)]
fetch(lconn, many, dict(L, cache_max_bytes=0), conc=1)
n_before = lconn.execute("SELECT count(*), sum(size) FROM api_fetch_cache(':memory:')").fetchone()
one(lconn, C(uid(), cc="max-age=600"), dict(L, cache_max_bytes=n_before[1]))
n_after = lconn.execute("SELECT count(*) FROM api_fetch_cache(':memory:')").fetchone()[0]
check(n_after == n_before[0], f"one in, one out, of {n_before[0]} entries: {n_after} left")
lconn.close()

# ---------------------------------------------------------------------------
# The SQL face: api_fetch_cache and api_fetch_cache_prune.
P = {"cache": path("prune.db")}
pconn = connect()
fetch(pconn, [C(uid(), cc="max-age=600"), C(uid(), cc="max-age=600"), C(uid())], P)
fetch(pconn, ["http://localhost:" + BASE.rsplit(":", 1)[1] + f"/cache?id={uid()}&cc=max-age=600"], P)
cols = [d[0] for d in pconn.execute("SELECT * FROM api_fetch_cache(?)", (P["cache"],)).description]
check(cols == ["host", "url", "final_url", "method", "status", "content_type", "size",
               "stored_at", "fresh_until", "last_used", "fresh"], f"its columns: {cols}")
rows = pconn.execute("SELECT host, method, status, content_type, size > 0, fresh,"
                     " stored_at <= datetime('now') FROM api_fetch_cache(?) ORDER BY host, fresh",
                     (P["cache"],)).fetchall()
check(rows == [("127.0.0.1", "GET", 200, "application/json", 1, 0, 1),
               ("127.0.0.1", "GET", 200, "application/json", 1, 1, 1),
               ("127.0.0.1", "GET", 200, "application/json", 1, 1, 1),
               ("localhost", "GET", 200, "application/json", 1, 1, 1)], f"its rows: {rows}")
prune = lambda what, cache=P["cache"]: pconn.execute("SELECT api_fetch_cache_prune(?, ?)",
                                                     (cache, what)).fetchone()[0]
check(prune('{"host": "localhost"}') == 1, "prune by host")
check(prune('{"stale": true}') == 1, "prune the stale")
check(prune('{"older_than_ms": 3600000}') == 0, "prune older than an hour: none")
time.sleep(0.02)
check(prune('{"older_than_ms": 10, "host": "nowhere"}') == 0, "conditions combine (and)")
check(prune('{"older_than_ms": 10}') == 2, "prune older than 10 ms")
fetch(pconn, [C(uid(), cc="max-age=600")], P)
check(prune('{"all": true}') == 1 and entries(pconn, P["cache"]) == [], "prune all")
for what, want in [("{}", "no condition"), ('{"all": false}', "no condition"),
                   ("[1]", "must be an object"), ("nonsense", "must be an object"),
                   (None, "must be an object"),
                   ('{"host": 1}', '"host" must be a string'),
                   ('{"older_than_ms": -1}', '"older_than_ms" must be a number'),
                   ('{"older_than_ms": "1"}', '"older_than_ms" must be a number'),
                   ('{"stale": 1}', '"stale" must be true or false'),
                   ('{"bogus": true}', "one of host, older_than_ms, unused_for_ms, stale, all")]:
    e = error_of(lambda: prune(what))
    check(e is not None and want in e, f"prune({what}): {e}")
e = error_of(lambda: pconn.execute("SELECT * FROM api_fetch_cache()").fetchall())
check(e is not None and "no cache named" in e, f"api_fetch_cache() without a default: {e}")
e = error_of(lambda: prune('{"all": true}', None))
check(e is not None and "no cache named" in e, f"prune(NULL, ...) without a default: {e}")
# Listing or pruning a file that is not there says so, and makes none.
typo = path("typo.db")
e = error_of(lambda: pconn.execute("SELECT * FROM api_fetch_cache(?)", (typo,)).fetchall())
e2 = error_of(lambda: prune('{"all": true}', typo))
e3 = error_of(lambda: pconn.execute("SELECT * FROM api_fetch_cache('')").fetchall())
check(e is not None and "no cache" in e and typo in e and e2 is not None and "no cache" in e2
      and not any(f.startswith("typo.db") for f in os.listdir(D))
      and e3 is not None and "must be the name of a file" in e3,
      f"a cache that is not there: {e} / {e2} / {e3}; no file made")
pconn.close()

# ":memory:" lives with its connection.
m1, m2 = connect(), connect()
u = C(uid(), cc="max-age=600")
one(m1, u, {"cache": ":memory:"})
r, s = one(m2, u, {"cache": ":memory:"})
r1, s1 = one(m1, u, {"cache": ":memory:"})
check(r[1] == "miss" and s["requests"] == 1 and r1[1] == "hit",
      f":memory: is the connection's own ({r[1]} on another, {r1[1]} on its own)")
check(len(entries(m2, ":memory:")) == 1 and len(entries(m1, ":memory:")) == 1,
      ":memory: lists only its own connection's entries")
m1.close()
m2.close()

# ---------------------------------------------------------------------------
# Files that are not a cache: a clear error naming the file, no crash.
bconn = connect()
with open(path("random.db"), "wb") as f:
    f.write(os.urandom(8192))
foreign = sqlite3.connect(path("foreign.db"))
foreign.execute("CREATE TABLE customers(id, name)")
foreign.execute("INSERT INTO customers VALUES (1, 'x')")
foreign.commit()
foreign.close()
os.mkdir(path("dir.db"))
oldfmt = path("oldfmt.db")
one(bconn, C(uid()), {"cache": oldfmt})
bconn.close()
bconn = connect()
raw = sqlite3.connect(oldfmt)
raw.execute("UPDATE apifetch_cache_meta SET value = 99 WHERE name = 'format'")
raw.commit()
raw.close()
for name, want in [("random.db", "not a database"), ("foreign.db", "not an apifetch cache"),
                   ("dir.db", "cannot open"), ("oldfmt.db", "another version"),
                   ("random.db/x.db", "cannot open"), ("nodir/x.db", "cannot open")]:
    p = path(name)
    e = error_of(lambda: fetch(bconn, C(uid(), cc="max-age=60"), {"cache": p}))
    e2 = error_of(lambda: bconn.execute("SELECT * FROM api_fetch_cache(?)", (p,)).fetchall())
    check(e is not None and p in e and want in e and e2 is not None and p in e2,
          f"{name}: {e}")
with open(path("foreign.db"), "rb") as f:
    data = f.read()
check(b"apifetch" not in data and data[18:20] == b"\x01\x01",
      f"the foreign database was not written to, nor switched to WAL "
      f"(header bytes 18-19: {data[18:20].hex()})")
bconn.close()

# A cache file with something added to our schema is not ours: a trigger
# would run on this connection (a recursive query in one hung a store past
# every interrupt; another rewrote every stored body), an index or a view
# would be used.  Refused at once, naming the file.
for name, extra in [
        ("hang", "CREATE TRIGGER evil AFTER INSERT ON apifetch_cache BEGIN SELECT count(*) FROM"
                 " (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c)"
                 " SELECT x FROM c); END"),
        ("poison", "CREATE TRIGGER evil AFTER INSERT ON apifetch_cache BEGIN UPDATE"
                   " apifetch_cache SET body = '{\"pwned\":1}', fresh_until = 9e15"
                   " WHERE id = new.id; END"),
        ("index", "CREATE INDEX evil ON apifetch_cache(url)"),
        ("view", "CREATE VIEW evil AS SELECT 1")]:
    tconn = connect()
    tfile = path(f"trig-{name}.db")
    one(tconn, C(uid()), {"cache": tfile})
    tconn.close()
    raw = sqlite3.connect(tfile)
    raw.execute(extra)
    raw.commit()
    raw.close()
    tconn = connect()
    t0 = time.time()
    e = error_of(lambda: fetch(tconn, C(uid(), cc="max-age=600"), {"cache": tfile}))
    e2 = error_of(lambda: tconn.execute("SELECT * FROM api_fetch_cache(?)", (tfile,)).fetchall())
    took = time.time() - t0
    tconn.close()
    check(e is not None and tfile in e and "not an apifetch cache" in e and e2 is not None
          and "not an apifetch cache" in e2 and took < 5,
          f"a cache file with a {name} added is refused in {took:.2f} s: {e}")

# A cache file is input like any other: times at the ends of the int64
# range (a corrupt file, or someone's) must not overflow the arithmetic
# (the sanitizer build stops on it), nor crash anything.
hconn = connect()
hfile = path("hostile.db")
hu = [C(uid(), cc="max-age=600", etag="h") for _ in range(3)]
fetch(hconn, hu, {"cache": hfile})
hconn.close()
raw = sqlite3.connect(hfile)
raw.execute("UPDATE apifetch_cache SET stored_at = 9223372036854775807,"
            " fresh_until = 9223372036854775807, stale_until = 9223372036854775807"
            " WHERE url = ?", (hu[0],))
raw.execute("UPDATE apifetch_cache SET stored_at = -9223372036854775808,"
            " fresh_until = -9223372036854775808, stale_until = -9223372036854775808"
            " WHERE url = ?", (hu[1],))
raw.execute("UPDATE apifetch_cache SET body = x'00ff', content_type = NULL, headers = NULL,"
            " final_url = 'not a url', size = -5 WHERE url = ?", (hu[2],))
raw.commit()
raw.close()
hconn = connect()
for mode in ("http", "ttl", "refresh", "offline"):
    try:
        fail(503 if mode == "refresh" else 0)
        rows = fetch(hconn, hu, {"cache": hfile, "cache_mode": mode, "max_attempts": 1,
                                 "cache_stale_ms": 2**53}, cols="url, cache, error")
    finally:
        fail(0)
    check(len(rows) == 3 and rows[0][1] in ("hit", "stale") and rows[0][2] is None,
          f"{mode}: times at the ends of the range ({[r[1:] for r in rows]})")
hconn.close()

# ---------------------------------------------------------------------------
# The guard.
gconn = connect()
host_cache = path("host.db")
gconn.execute("SELECT api_fetch_config(?)",
              (json.dumps({"defaults": {"cache": host_cache}, "max_requests": 1,
                           "lock": True}),))
u = C(uid(), cc="max-age=600")
r1 = gconn.execute("SELECT cache FROM api_fetch(?)", (json.dumps([u]),)).fetchall()
r2 = gconn.execute("SELECT cache FROM api_fetch(?)", (json.dumps([u]),)).fetchall()
check(r1 == [("miss",)] and r2 == [("hit",)], f"locked: the host's default cache applies ({r1} {r2})")
e = error_of(lambda: fetch(gconn, u, {"cache": path("mine.db")}))
check(e is not None and "not allowed" in e and "locked" in e and not os.path.exists(path("mine.db")),
      f"locked: a query naming another cache is an error, no file made: {e}")
e = error_of(lambda: fetch(gconn, u, {"cache": ":memory:"}))
check(e is not None and "not allowed" in e, f"locked: not even :memory: ({e})")
r = fetch(gconn, u, {"cache": None})
check(len(r) == 1 and r[0][2] is None and r[0][3] is None, f'locked: "cache": null is allowed ({r})')
r = fetch(gconn, u, {"cache": host_cache})
check(r[0][2] == "hit", "locked: naming the host's cache is allowed")
# Listing and pruning are refused once locked: the host's cache is shared
# by everyone whose SQL runs on the connection.
for sql, args in (("SELECT * FROM api_fetch_cache(?)", (path("mine.db"),)),
                  ("SELECT * FROM api_fetch_cache()", ()),
                  ("SELECT api_fetch_cache_prune(?, '{\"all\": true}')", (path("mine.db"),)),
                  ("SELECT api_fetch_cache_prune(NULL, '{\"all\": true}')", ())):
    e = error_of(lambda: gconn.execute(sql, args).fetchall())
    check(e is not None and "locked" in e and "not to be read or pruned" in e,
          f"locked: {sql.split('(')[0]}... {args and 'of another file' or 'of the host'} "
          f"is refused: {e}")
check(not os.path.exists(path("mine.db")), "locked: and no file was made")
# The host's cache comes with the host's policy: a query that stored under
# ttl for 285,000 years pinned a no-store response for every other user, and
# a cap of 200 bytes evicted everyone's entries.
pinned = C(uid(), cc="no-store")
for opts in ({"cache_mode": "ttl", "cache_ttl_ms": 9000000000000000},
             {"cache_max_bytes": 200}, {"cache_mode": "refresh"}, {"cache_stale_ms": 1}):
    e = error_of(lambda: fetch(gconn, pinned, opts))
    key = next(iter(opts))
    check(e is not None and f"{key} may not be set here" in e and "locked" in e,
          f"locked: a query's {key} is refused: {e}")
r = fetch(gconn, pinned, {"cache_mode": "http", "cache_ttl_ms": 3600000})
check(len(r) == 1 and r[0][2] == "miss", f"locked: the host's own values may be restated ({r})")
n_host = sqlite3.connect(host_cache).execute("SELECT count(*) FROM apifetch_cache"
                                             " WHERE url = ?", (pinned,)).fetchone()[0]
check(n_host == 0, f"locked: the no-store response was not stored ({n_host})")
warm = [C(uid(), cc="max-age=600") for _ in range(10)]
for u in warm:
    gconn.execute("SELECT count(*) FROM api_fetch(?)", (json.dumps([u]),)).fetchall()
before = stats()["requests"]
rows = gconn.execute("SELECT cache FROM api_fetch(?, 10)", (json.dumps(warm),)).fetchall()
check(rows == [("hit",)] * 10 and stats()["requests"] == before,
      f"max_requests 1: a warm run of 10 URLs passes ({len(rows)} rows)")
e = error_of(lambda: gconn.execute("SELECT cache FROM api_fetch(?, 10)",
                                   (json.dumps([C(uid(), cc="max-age=600") for _ in range(3)]),)
                                   ).fetchall())
check(e is not None and "max_requests" in e, f"max_requests 1: a cold run of 3 does not ({e})")
n = sqlite3.connect(host_cache).execute("SELECT count(*) FROM apifetch_cache").fetchone()[0]
check(n >= 11, f"the host reads its cache file as a database ({n} entries)")
gconn.close()

# A wide table stored in a database file may not name a cache.
fconn = connect()
fconn.execute("ATTACH ? AS f", (path("tables.db"),))
ul = json.dumps([C(uid(), cc="max-age=600")]).replace("'", "''")
e = error_of(lambda: (fconn.execute(f"CREATE VIRTUAL TABLE f.w USING api_fetch(url_list='{ul}', "
                                    f"columns='id INTEGER', cache='{path('w.db')}')"),
                      fconn.execute("SELECT * FROM f.w").fetchall()))
check(e is not None and "may not name a cache" in e and not os.path.exists(path("w.db")),
      f"a wide table in a file naming a cache: {e}")
fconn.execute("SELECT api_fetch_config(?)", (json.dumps({"defaults": {"cache": path("fhost.db")}}),))
e = error_of(lambda: (fconn.execute(f"CREATE VIRTUAL TABLE f.w2 USING api_fetch(url_list='{ul}', "
                                    "columns='id INTEGER', cache_mode='ttl', "
                                    "cache_ttl_ms=9000000000000000, cache_max_bytes=300)"),
                      fconn.execute("SELECT * FROM f.w2").fetchall()))
check(e is not None and "cache_mode may not be set here" in e and "database file" in e,
      f"a wide table in a file setting the host's cache policy: {e}")
fconn.close()

# APIFETCH_CONFIG: the host's default cache and policy, for a process.
code = (f"import sys, json; sys.path.insert(0, {os.path.join(ROOT, 'tests', 'py')!r}); "
        f"sys.argv = ['x', {BASE!r}]; from _common import connect; c = connect(); "
        f"u = json.dumps([{C(uid(), cc='no-store')!r}]); "
        "print(json.dumps([c.execute('SELECT cache FROM api_fetch(?)', (u,)).fetchall() "
        "for _ in range(2)]))")
env = dict(os.environ, APIFETCH_CONFIG=json.dumps(
    {"defaults": {"cache": path("envcfg.db"), "cache_mode": "ttl"}, "lock": True}))
out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                     timeout=60)
check(out.stdout.strip() == '[[["miss"]], [["hit"]]]',
      f"APIFETCH_CONFIG names the cache and its mode: {out.stdout.strip()} {out.stderr[-300:]}")

# ---------------------------------------------------------------------------
# Pagination through the cache: each page its own entry.
PG = {"cache": path("pages.db"), "cache_mode": "ttl", "record_path": "data"}
pconn = connect()


def pages(url, opts):
    before = stats()["requests"]
    rows = sorted(fetch(pconn, url, opts, cols="page, data ->> '$.id', cache, error"))
    return rows, stats()["requests"] - before


for name, pag in [("total_pages", {"type": "page", "total_pages": "meta.total_pages"}),
                  ("total_header", {"type": "page", "total_header": "X-Total-Count",
                                    "per_page": 10}),
                  ("link", {"type": "link"})]:
    u = BASE + f"/items?per_page=10&total=35&k={uid()}"
    rows1, n1 = pages(u, dict(PG, paginate=pag))
    rows2, n2 = pages(u, dict(PG, paginate=pag))
    check(len(rows1) == 35 and n1 == 4 and {r[2] for r in rows1} == {"miss"},
          f"{name}: 35 rows from 4 pages, each a miss ({len(rows1)}, {n1} requests)")
    check(n2 == 0 and [r[:2] for r in rows2] == [r[:2] for r in rows1]
          and {r[2] for r in rows2} == {"hit"} and len(entries(pconn, PG["cache"],
                                                               f"url LIKE '%&k={u[-4:]}%'")) == 4,
          f"{name}: again, all hits, no request, the same rows, 4 entries ({n2} requests)")
# Fan-out from a cached first page: only the first page is stored, then the
# whole collection is asked for; the total comes from the stored page.
for name, pag in [("total_pages", {"type": "page", "total_pages": "meta.total_pages"}),
                  ("total_header", {"type": "page", "total_header": "X-Total-Count",
                                    "per_page": 10})]:
    u = BASE + f"/items?per_page=10&total=35&k={uid()}&delay=100"
    rows1, n1 = pages(u, dict(PG, paginate=dict(pag, max_pages=1)))
    t0 = time.time()
    before = stats()
    rows2, n2 = pages(u, dict(PG, paginate=pag))
    secs = time.time() - t0
    check(n1 == 1 and len(rows1) == 10 and n2 == 3 and len(rows2) == 35
          and [r[2] for r in rows2 if r[0] == 0] == ["hit"] * 10
          and {r[2] for r in rows2 if r[0] > 0} == {"miss"},
          f"{name}: a cached first page still gives the total: 3 pages fetched ({n2})")
    check(secs < 0.3, f"{name}: and fetched at once, not one after another ({secs:.2f} s)")
# A redirect, then a relative next page: the stored page keeps its final URL.
for name, pag in [("link", {"type": "link"}), ("next", {"type": "next", "next_path": "next"})]:
    u = BASE + f"/rbase/a/start?k={uid()}"
    o = dict(PG, record_path="items", paginate=pag)
    r1 = sorted(fetch(pconn, u, o, cols="page, data ->> '$.p', cache, error"))
    before = stats()["requests"]
    r2 = sorted(fetch(pconn, u, o, cols="page, data ->> '$.p', cache, error"))
    n2 = stats()["requests"] - before
    check([r[1] for r in r1] == ["b1", "b2"] and [r[1] for r in r2] == ["b1", "b2"]
          and [r[2] for r in r2] == ["hit", "hit"] and n2 == 0,
          f"{name} after a redirect: page 2 from the final URL, cached or not ({r1} {r2})")
    fu = entries(pconn, PG["cache"], f"url = '{u}'")
    check(len(fu) == 1 and fu[0][1] == BASE + "/rbase/b/page1",
          f"{name}: the entry of the redirected URL says where it led: {fu}")
pconn.close()

# ---------------------------------------------------------------------------
# The wide face: its sample at CREATE goes through the cache, and _cache.
wconn = connect()
wurls = [C(uid(), cc="max-age=600") for _ in range(3)]
ul = json.dumps(wurls)
before = stats()["requests"]
wconn.execute(f"CREATE VIRTUAL TABLE temp.w USING api_fetch(url_list='{ul}', "
              f"cache='{path('wide.db')}')")
n_create = stats()["requests"] - before
# The first scan gives the sample's own responses (misses); the next, hits.
rows1 = wconn.execute("SELECT id, title, _cache FROM w ORDER BY id").fetchall()
rows = wconn.execute("SELECT id, title, _cache FROM w ORDER BY id").fetchall()
n_select = stats()["requests"] - before - n_create
check(n_create == 3 and n_select == 0 and [r[2] for r in rows1] == ["miss"] * 3
      and [r[2] for r in rows] == ["hit"] * 3 and rows[0][1].startswith("post ")
      and [r[:2] for r in rows] == [r[:2] for r in rows1],
      f"wide: the sample is stored at CREATE, later scans get hits ({n_create}, {n_select}, {rows})")
wconn.execute(f"CREATE VIRTUAL TABLE temp.w2 USING api_fetch(url_list='{ul}', "
              f"cache='{path('wide.db')}')")
check(stats()["requests"] - before == 3, "wide: a second table's sample is answered by the cache")
wconn.execute(f"CREATE VIRTUAL TABLE temp.w3 USING api_fetch(url_list='{ul}')")
check([r[0] for r in wconn.execute("SELECT _cache FROM w3")] == [None] * 3,
      "wide: no cache, _cache is NULL")
wconn.close()

# ---------------------------------------------------------------------------
# The counters: requests and bytes are the network's; the cache's own.
sconn = connect()
X = {"cache": ":memory:"}
a, b, c = C(uid(), cc="max-age=600"), C(uid(), etag="x"), C(uid())
fetch(sconn, [a, b, c], X)
st1 = counters(sconn)
before = stats()
rows = fetch(sconn, [a, b, c], X)
after = stats()
st2 = counters(sconn)
sizes = [len(r[4]) for r in rows]
check(st1["cache_misses"] == 3 and st1["requests"] == 3 and st1["cache_hits"] == 0
      and st1["cache_bytes_saved"] == 0, f"cold: 3 misses, 3 requests: {st1}")
check(st2["cache_hits"] == 1 and st2["cache_revalidated"] == 1 and st2["cache_misses"] == 1
      and st2["cache_stale"] == 0 and st2["requests"] == 2 == after["requests"] - before["requests"]
      and st2["bytes"] == after["body_bytes"] - before["body_bytes"] == sizes[2]
      and st2["cache_bytes_saved"] == sizes[0] + sizes[1] and st2["urls"] == 3,
      f"warm: a hit, a revalidation, a miss; requests and bytes the network's: {st2}")
fetch(sconn, [a], {})
st3 = counters(sconn)
check(all(st3[k] == 0 for k in ("cache_hits", "cache_revalidated", "cache_stale",
                                "cache_misses", "cache_bytes_saved"))
      and fetch(sconn, [a], {})[0][2] is None, "no cache: the cache's counters are 0, cache NULL")
sconn.close()

# ---------------------------------------------------------------------------
# Two processes filling one cache file at once (the file new to both).
WORKER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[5])
from _common import connect
base, cache, lo, hi = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
start = float(sys.argv[6])
extra = sys.argv[7] if len(sys.argv) > 7 else ""
c = connect()
urls = [f"{base}/cache?id={i}&cc=max-age=3600{extra}" for i in range(lo, hi)]
while time.time() < start:
    time.sleep(0.001)
r = c.execute("SELECT count(*), count(error), total(cache = 'hit') FROM api_fetch(?, ?, ?)",
              (json.dumps(urls), int(sys.argv[8]) if len(sys.argv) > 8 else 20,
               json.dumps({"cache": cache}))).fetchone()
print(json.dumps(r), flush=True)
"""
worker = path("worker.py")
with open(worker, "w") as f:
    f.write(WORKER)
pydir = os.path.join(ROOT, "tests", "py")
shared = path("shared.db")
start = time.time() + 0.5
procs = [subprocess.Popen([sys.executable, worker, BASE, shared, str(lo), str(lo + 300), pydir,
                           str(start), "&delay=2"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
         for lo in (200000, 200300)]
outs = [p.communicate(timeout=120) for p in procs]
res = [json.loads(o[0]) if p.returncode == 0 and o[0] else (p.returncode, o[1][-500:])
       for p, o in zip(procs, outs)]
raw = sqlite3.connect(shared)
check(raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal", "the cache file is in WAL mode")
n_entries = raw.execute("SELECT count(*) FROM apifetch_cache").fetchone()[0]
integrity = raw.execute("PRAGMA integrity_check").fetchone()[0]
total = raw.execute("SELECT (SELECT value FROM apifetch_cache_meta WHERE name = 'total_bytes')"
                    " = (SELECT sum(size) FROM apifetch_cache)").fetchone()[0]
raw.close()
check(res == [[300, 0, 0.0], [300, 0, 0.0]] and n_entries == 600 and integrity == "ok" and total,
      f"two processes, 300 URLs each into one new file: {res}, {n_entries} entries, "
      f"integrity {integrity}, total_bytes right: {bool(total)}")

# ---------------------------------------------------------------------------
# Six processes opening one new file at the same instant, 25 times over.
# Switching a new file to WAL is the one step SQLite's busy timeout does
# not cover (two SHARED holders both wanting EXCLUSIVE: one gets SQLITE_BUSY
# at once); before the open waited for it, about 1 round in 10 failed here
# with "database is locked".
OPENER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from _common import connect
c = connect()
d, start, rounds = sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
errors = []
for i in range(rounds):
    while time.time() < start + i * 0.12:
        time.sleep(0.0005)
    try:
        c.execute("SELECT count(*) FROM api_fetch('[]', 1, ?)",
                  (json.dumps({"cache": f"{d}/open{i}.db"}),)).fetchall()
    except sqlite3.Error as e:
        errors.append(f"round {i}: {e}")
print(json.dumps(errors), flush=True)
""".replace("import json, sys, time", "import json, sqlite3, sys, time")
opener = path("opener.py")
with open(opener, "w") as f:
    f.write(OPENER)
odir = path("opens")
os.mkdir(odir)
ROUNDS = 25
start = time.time() + 0.8
procs = [subprocess.Popen([sys.executable, opener, pydir, odir, str(start), str(ROUNDS)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
         for _ in range(6)]
outs = [p.communicate(timeout=120) for p in procs]
errs = [json.loads(o[0]) if p.returncode == 0 and o[0] else [o[1][-300:]]
        for p, o in zip(procs, outs)]
made = []
for i in range(ROUNDS):
    raw = sqlite3.connect(os.path.join(odir, f"open{i}.db"))
    made.append((raw.execute("PRAGMA journal_mode").fetchone()[0],
                 raw.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'apifetch_cache'")
                 .fetchone()[0]))
    raw.close()
check(all(e == [] for e in errs) and made == [("wal", 1)] * ROUNDS,
      f"six processes open one new file at once, {ROUNDS} times: no error "
      f"({sum(len(e) for e in errs)} errors: {[e for e in errs if e][:2]}), "
      f"every file one WAL cache ({made.count(('wal', 1))} of {ROUNDS})")

# ---------------------------------------------------------------------------
# Resume: a crawl killed half-way fetches, run again, only what is missing.
crawl = path("crawl.db")
N_URLS = 400
base_req = stats()["requests"]
proc = subprocess.Popen([sys.executable, worker, BASE, crawl, "300000", str(300000 + N_URLS),
                         pydir, "0", "&delay=50", "10"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
deadline = time.time() + 60
while time.time() < deadline and proc.poll() is None:
    if stats()["requests"] - base_req >= N_URLS // 2:
        break
    time.sleep(0.005)
sent_before_kill = stats()["requests"] - base_req
proc.send_signal(signal.SIGKILL)
proc.communicate()
killed = proc.returncode == -signal.SIGKILL
raw = sqlite3.connect(crawl)
stored = raw.execute("SELECT count(*) FROM apifetch_cache").fetchone()[0]
raw.close()
rconn = connect()
before = stats()["requests"]
rows = fetch(rconn, [C(i, cc="max-age=3600", delay=50) for i in range(300000, 300000 + N_URLS)],
             {"cache": crawl}, conc=10, cols="url_index, status, cache, error")
rerun = stats()["requests"] - before
rconn.close()
raw = sqlite3.connect(crawl)
integrity = raw.execute("PRAGMA integrity_check").fetchone()[0]
final = raw.execute("SELECT count(*) FROM apifetch_cache").fetchone()[0]
raw.close()
print(f"resume: killed={killed} after {sent_before_kill} requests, {stored} entries stored; "
      f"rerun: {rerun} requests, {len(rows)} rows, {sum(r[2] == 'hit' for r in rows)} hits, "
      f"{final} entries, integrity {integrity}")
check(killed and 0 < stored < N_URLS, f"the crawl was killed half-way ({stored} stored)")
check(rerun == N_URLS - stored and len(rows) == N_URLS
      and sorted(r[0] for r in rows) == list(range(N_URLS))
      and all(r[1] == 200 and r[3] is None for r in rows)
      and sum(r[2] == "hit" for r in rows) == stored,
      f"the rerun asked only for the {N_URLS} - {stored} missing ({rerun}), all rows back")
check(integrity == "ok" and final == N_URLS, f"the file is sound ({integrity}), {final} entries")

finish()
