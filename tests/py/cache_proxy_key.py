#!/usr/bin/python3
"""The proxy is part of the cache key (src/cacheflow.c request_key): an
egress proxy that authenticates each caller (its credentials in the proxy
option's URL, from ${env:} or a profile) may let one caller reach what it
refuses another, or answer each differently.  Two callers of one URL
through the same proxy with different credentials must not share an entry:
the second is asked of the proxy, not given the first one's answer.  One
caller asking again still gets a hit.

    /usr/bin/python3 tests/py/cache_proxy_key.py BASE_URL     (run by tests/run.py)
"""
import base64
import json
import os

from _common import check, connect, finish, read_head, serve_threads

seen = []                   # Proxy-Authorization of each request the proxy received


def serve_one(c):
    with c:
        head = read_head(c).decode("latin-1")
        auth = next((h.split(":", 1)[1].strip() for h in head.split("\r\n")
                     if h.lower().startswith("proxy-authorization:")), None)
        seen.append(auth)
        who = base64.b64decode(auth.split(" ", 1)[1]).decode().split(":")[0] if auth else None
        body = json.dumps({"for": who}).encode()
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                  b"Cache-Control: max-age=600\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


proxy = serve_threads(serve_one)
PORT = proxy.getsockname()[1]
for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
    os.environ.pop(var, None)

conn = connect()
Q = ("SELECT cache, json_extract(data, '$.for') FROM api_fetch(?, 1, ?)")
URL = json.dumps(["http://api.test/report"])


def fetch(user):
    opt = {"cache": ":memory:", "proxy": f"http://{user}:pw-{user}@127.0.0.1:{PORT}",
           "timeout_ms": 5000, "max_attempts": 1}
    return conn.execute(Q, (URL, json.dumps(opt))).fetchone()


check(fetch("alice") == ("miss", "alice"), "alice through the proxy: fetched")
check(fetch("alice") == ("hit", "alice"), "alice again: from the cache")
row = fetch("bob")
check(row == ("miss", "bob"), f"bob, other proxy credentials: asked, not given alice's entry ({row})")
check(len(seen) == 2, f"the proxy was asked twice ({len(seen)})")
proxy.close()
finish()
