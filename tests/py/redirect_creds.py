#!/usr/bin/python3
"""Redirects and credentials.  libcurl drops only Authorization and Cookie
when a redirect changes host, port or scheme, so an API key in X-Api-Key
(or any header from `headers`, often ${env:...}) used to reach whatever
host, or other port of the same host, a server redirected to.  apifetch
follows redirects itself: a hop to another origin carries no bearer, no
basic, no headers but the body's; a hop on the same origin keeps them.
303 (and 301/302 after a POST) become GET; 307/308 keep method and body.

    /usr/bin/python3 tests/py/redirect_creds.py BASE_URL     (run by tests/run.py)
"""
import json
import os
import re
import subprocess
import urllib.parse

from _common import BASE, ROOT, check, connect, finish

# A second loopback server: the same host on another port.
other = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "tests", "loopback.py"),
                          "--port", "0"], stdout=subprocess.PIPE, text=True)
OTHER = "http://127.0.0.1:" + re.match(r"PORT (\d+)", other.stdout.readline()).group(1)
PORT = BASE.rsplit(":", 1)[1]


def via(target, code=302):
    return f"{BASE}/redirect?code={code}&to=" + urllib.parse.quote(target, safe="")


try:
    conn = connect()
    opts = json.dumps({"bearer": "tok-bearer", "headers": {"X-Api-Key": "key-123"},
                       "max_attempts": 1})
    reqs = [
        via(f"{BASE}/echo"),                                   # 0 same origin
        via(f"http://localhost:{PORT}/echo"),                   # 1 another host
        via(f"{OTHER}/echo"),                                   # 2 same host, another port
        {"url": via(f"{OTHER}/echo"), "headers": {"Private-Token": "pt-9"}},   # 3
        via(f"{OTHER}/redirect?to=" + urllib.parse.quote(f"{BASE}/echo", safe="")),  # 4 away and back
    ]
    rows = conn.execute("SELECT url_index, data FROM api_fetch(?, 5, ?) ORDER BY url_index",
                        (json.dumps(reqs), opts)).fetchall()
    got = {i: json.loads(d)["headers"] if d else None for i, d in rows}
    check(len(got) == 5 and all(got.values()), f"every redirect answered: {rows}")
    h = got.get(0) or {}
    check(h.get("x-api-key") == "key-123" and h.get("authorization") == "Bearer tok-bearer",
          f"same origin: the key and the bearer follow: {h}")
    for i, what in ((1, "another host"), (2, "another port"), (3, "another port, request header"),
                    (4, "away and back")):
        h = got.get(i) or {}
        leaked = [k for k in ("x-api-key", "authorization", "private-token") if k in h]
        check(not leaked, f"{what}: no credentials follow ({leaked or 'none'})")

    # Methods and bodies across redirects.
    def post(code, target):
        return {"url": via(target, code), "method": "POST", "body": {"q": 1}}
    reqs = [post(307, f"{BASE}/echo"), post(308, f"{OTHER}/echo"), post(303, f"{BASE}/echo"),
            post(302, f"{BASE}/echo"), {"url": via(f"{BASE}/echo", 303), "method": "HEAD"}]
    rows = conn.execute("SELECT url_index, status, data FROM api_fetch(?, 5, ?) ORDER BY url_index",
                        (json.dumps(reqs), opts)).fetchall()
    e = {i: (s, json.loads(d) if d else None) for i, s, d in rows}
    check(e[0][1]["method"] == "POST" and e[0][1]["body"] == '{"q": 1}'
          and e[0][1]["headers"].get("content-type") == "application/json",
          f"307: method and body kept: {e[0][1]}")
    check(e[1][1]["method"] == "POST" and e[1][1]["body"] == '{"q": 1}'
          and e[1][1]["headers"].get("content-type") == "application/json"
          and "x-api-key" not in e[1][1]["headers"],
          f"308 to another origin: body and its type kept, the key dropped: {e[1][1]}")
    check(e[2][1]["method"] == "GET" and e[2][1]["body"] == ""
          and "content-type" not in e[2][1]["headers"], f"303: a GET without body: {e[2][1]}")
    check(e[3][1]["method"] == "GET" and e[3][1]["body"] == "", f"302 after POST: GET: {e[3][1]}")
    check(e[4][0] == 200 and e[4][1] is None, f"303 after HEAD stays HEAD: {e[4]}")

    # Each hop is a request: the counters and max_requests see it.
    st = conn.execute("SELECT count(*) FROM api_fetch(?, 1)", (json.dumps([f"{BASE}/redirects?n=3"]),)).fetchone()
    req = dict(conn.execute("SELECT name, value FROM api_fetch_stats()").fetchall())["requests"]
    check(req == 4, f"three redirects and the answer are 4 requests in the stats: {req}")
finally:
    other.terminate()
    other.wait(timeout=10)
finish()
