#!/usr/bin/python3
"""The proxy and no_proxy options, and the guard with a proxy in the way
(issue 22 item 4), through a real forward proxy of this test's own on
127.0.0.1 that counts the requests it carries: it forwards those for the
loopback server, and answers itself for any other host (api.test, which
does not resolve here: only the proxy would resolve it).

  - proxy: requests go through it, with the proxy's credentials from
    ${env:}, which no error text shows; no_proxy: those hosts directly;
    "": directly, whatever the environment says; the environment's
    http_proxy is still used when no option says otherwise;
  - block_private or a locked connection: a query's own proxy is refused
    before anything is sent; the host's (a profile's) is used; then
    allow_hosts still judges the URL asked, and block_private the URL's
    host as written (127.0.0.1, localhost), since the proxy resolves it;
    nothing refused reaches the proxy.

    /usr/bin/python3 tests/py/proxy_option.py BASE_URL     (run by tests/run.py)
"""
import base64
import http.client
import json
import os
import urllib.parse

from _common import BASE, check, connect, error_of, finish, read_head, serve_threads

seen = []                   # (request line, Proxy-Authorization) the proxy received


def serve_one(c):
    with c:
        head = read_head(c).decode("latin-1")
        line = head.split("\r\n", 1)[0]
        auth = next((h.split(":", 1)[1].strip() for h in head.split("\r\n")
                     if h.lower().startswith("proxy-authorization:")), None)
        seen.append((line, auth))
        method, url, _ = line.split(" ", 2)
        u = urllib.parse.urlsplit(url)
        if u.hostname == "127.0.0.1":
            up = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
            up.request(method, u.path + ("?" + u.query if u.query else ""))
            r = up.getresponse()
            status, body = r.status, r.read()
            up.close()
        else:
            status, body = 200, json.dumps({"via": "proxy", "url": url}).encode()
        c.sendall(b"HTTP/1.1 %d OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                  b"Content-Length: %d\r\n\r\n" % (status, len(body)) + body)


proxy = serve_threads(serve_one, 32)
PROXY = "http://127.0.0.1:%d" % proxy.getsockname()[1]

ENV = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
       "no_proxy", "NO_PROXY")
for var in ENV:
    os.environ.pop(var, None)
os.environ["PROXY_PASS"] = "pp-5e1f0c"

Q = ("SELECT status, error, json_extract(data, '$.id') FROM api_fetch(?, 1, ?)")


def fetch(conn, url, **opt):
    opt.setdefault("timeout_ms", 5000)
    opt.setdefault("max_attempts", 1)
    return conn.execute(Q, (json.dumps([url]), json.dumps(opt))).fetchone()


conn = connect()
target = BASE + "/obj?id=7"

row = fetch(conn, target, proxy=PROXY)
check(row == (200, None, 7) and [s[0] for s in seen] == [f"GET {target} HTTP/1.1"],
      f"proxy: the request goes through it, the answer comes back: {row}, {seen}")

n = len(seen)
row = fetch(conn, target, proxy=PROXY, no_proxy="127.0.0.1")
check(row == (200, None, 7) and len(seen) == n, f"no_proxy: that host directly: {row}, {seen[n:]}")

n = len(seen)
row = fetch(conn, target, proxy="http://u:${env:PROXY_PASS}@127.0.0.1:%d" % proxy.getsockname()[1])
want = "Basic " + base64.b64encode(b"u:pp-5e1f0c").decode()
check(row == (200, None, 7) and seen[n:] == [(f"GET {target} HTTP/1.1", want)],
      f"the proxy's credentials from ${{env:}} are sent to it: {seen[n:]}")
err = error_of(lambda: fetch(conn, target, proxy="ftp://u:${env:PROXY_PASS}@127.0.0.1:1"))
check(err == 'api_fetch: option proxy must be an http://, https://, socks5:// or socks5h:// '
      'URL, or "" for none', f"another scheme is refused, the URL not shown: {err}")
row = fetch(conn, BASE + "/obj?id=8",
            proxy="http://u:${env:PROXY_PASS}@127.0.0.1:1", connect_timeout_ms=2000)
check(row[0] is None and "pp-5e1f0c" not in (row[1] or ""),
      f"an unreachable proxy is an error row that does not show its password: {row}")

# The environment: used as libcurl always has (the host's choice), unless
# an option says otherwise.
os.environ["http_proxy"] = PROXY
n = len(seen)
row = fetch(conn, target)
check(row == (200, None, 7) and len(seen) == n + 1, f"the environment's http_proxy is used: {row}")
row = fetch(conn, target, proxy="")
check(row == (200, None, 7) and len(seen) == n + 1, f'proxy "": directly, whatever the '
      f"environment says: {row}, {seen[n:]}")
del os.environ["http_proxy"]

# A stranger on a guarded connection cannot pick the proxy.
guarded = connect()
guarded.execute("""SELECT api_fetch_config('{"block_private": true}')""")
n = len(seen)
err = error_of(lambda: fetch(guarded, target, proxy=PROXY))
check(err == "api_fetch: option proxy is not allowed: this connection is under block_private "
      "(only the host's proxy is used: a profile's or the defaults')" and len(seen) == n,
      f"block_private: the query's own proxy is refused, nothing sent: {err}")

locked = connect()
locked.execute("SELECT api_fetch_config(?)", (json.dumps({
    "block_private": True, "allow_hosts": ["api.test", "127.0.0.1:*", "localhost:*", "[::1]:*"],
    "profiles": {"corp": {"proxy": PROXY, "max_attempts": 1, "timeout_ms": 5000}},
    "lock": True}),))
err = error_of(lambda: fetch(locked, "http://api.test/x", proxy=PROXY))
check(err is not None and "this connection is locked" in err and len(seen) == n,
      f"locked: the query's own proxy is refused: {err}")
row = fetch(locked, "http://api.test/x?id=1", profile="corp")
check(row[:2] == (200, None) and [s[0] for s in seen[n:]] == ["GET http://api.test/x?id=1 HTTP/1.1"],
      f"locked: the host's proxy (a profile's) is used: {row}, {seen[n:]}")
n = len(seen)
for url, why in ((BASE + "/obj?id=1", "refused by block_private: 127.0.0.1 is a loopback "
                  "address (127.0.0.0/8)"),
                 ("http://localhost:1/x", "refused by block_private: localhost is loopback "
                  "(RFC 6761)"),
                 ("http://[::1]:1/x", "refused by block_private: ::1 is a loopback address (::1)"),
                 ("http://other.test/x", "refused by allow_hosts: other.test:80 is not allowed "
                  "(http://other.test/x)")):
    row = fetch(locked, url, profile="corp")
    check(row == (None, why, None), f"through the host's proxy {url} is refused: {row}")
check(len(seen) == n, f"nothing refused reached the proxy: {seen[n:]}")

# A name with its trailing dot is the same name (RFC 1034 section 3.1), and
# a proxy may resolve "localhost." or "169.254.169.254." as it would
# without it: judged so (before: sent to the proxy, with no allow_hosts to
# stop them); an international name is judged as libcurl sends it.
anyhost = connect()
anyhost.execute("SELECT api_fetch_config(?)", (json.dumps({
    "block_private": True, "lock": True,
    "profiles": {"corp": {"proxy": PROXY, "max_attempts": 1, "timeout_ms": 5000}}}),))
n = len(seen)
for url, why in (("http://localhost./x", "localhost is loopback (RFC 6761)"),
                 ("http://api.localhost../x", "api.localhost is loopback (RFC 6761)"),
                 ("http://127.0.0.1./x", "127.0.0.1 is a loopback address (127.0.0.0/8)"),
                 ("http://169.254.169.254./latest/meta-data/", "169.254.169.254 is a "
                  "link-local address (169.254.0.0/16)"),
                 # libcurl sends an international name as IDNA makes it:
                 # these reached the proxy as 127.0.0.1, 169.254.169.254 and
                 # localhost before.
                 ("http://127\u30020\u30020\u30021/x", "127.0.0.1 is a loopback address "
                  "(127.0.0.0/8)"),
                 ("http://\u2460\u2465\u2468.\u2461\u2464\u2463.\u2460\u2465\u2468."
                  "\u2461\u2464\u2463/latest/", "169.254.169.254 is a link-local address "
                  "(169.254.0.0/16)"),
                 ("http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/x",
                  "localhost is loopback (RFC 6761)")):
    row = fetch(anyhost, url, profile="corp")
    check(row == (None, "refused by block_private: " + why, None),
          f"through the host's proxy {url} is refused: {row}")
check(len(seen) == n, f"nothing refused reached the proxy: {seen[n:]}")

# Locked, the host's routing stays: a query may neither turn the host's
# proxy off ("") nor send hosts around it (no_proxy), whether the proxy is
# a profile's or the defaults' (before: both went directly, around it).
by_profile, by_defaults = connect(), connect()
by_profile.execute("SELECT api_fetch_config(?)", (json.dumps({
    "allow_hosts": ["127.0.0.1:*"], "lock": True,
    "profiles": {"corp": {"proxy": PROXY, "no_proxy": "corp.test"}}}),))
by_defaults.execute("SELECT api_fetch_config(?)", (json.dumps({
    "allow_hosts": ["127.0.0.1:*"], "lock": True, "defaults": {"proxy": PROXY}}),))
n = len(seen)
for conn_, opt in ((by_profile, {"profile": "corp", "proxy": ""}),
                   (by_profile, {"profile": "corp", "no_proxy": "127.0.0.1"}),
                   (by_defaults, {"proxy": ""}), (by_defaults, {"no_proxy": "*"})):
    name = "proxy" if "proxy" in opt else "no_proxy"
    err = error_of(lambda: fetch(conn_, target, **opt))
    check(err == f"api_fetch: option {name} is not allowed: this connection is locked (only "
          "the host's proxy is used: a profile's or the defaults')",
          f"locked: the query's own {opt} is refused: {err}")
row = fetch(by_profile, target, profile="corp")
check(row == (200, None, 7) and len(seen) == n + 1,
      f"locked: the profile's proxy, with its own no_proxy, is used: {row}, {seen[n:]}")
row = fetch(by_defaults, target)
check(row == (200, None, 7) and len(seen) == n + 2, f"locked: the defaults' proxy is used: {row}")

# A table stored in a database file may not route around the environment's
# proxy either (its arguments are data): not with proxy='' nor no_proxy.
import sqlite3
import tempfile
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "routes.db")
    raw = sqlite3.connect(path)         # as a stranger makes one: CREATE would refuse
    raw.execute("CREATE TABLE t(x)")
    raw.execute("PRAGMA writable_schema=ON")
    for name, arg in (("off", "proxy=''"), ("around", "no_proxy='*'")):
        raw.execute("INSERT INTO sqlite_master(type, name, tbl_name, rootpage, sql) "
                    "VALUES ('table', ?, ?, 0, ?)", (name, name,
                    f"CREATE VIRTUAL TABLE {name} USING api_fetch(url_list='"
                    + json.dumps([target]) + f"', columns='id INTEGER', {arg}, max_attempts=1)"))
    raw.commit()
    raw.close()
    os.environ["http_proxy"] = PROXY
    reader = connect()
    reader.execute("ATTACH ? AS f", (path,))
    n = len(seen)
    for name, what in (("off", "name its own proxy"), ("around", "set its own no_proxy")):
        err = error_of(lambda: reader.execute(f"SELECT id FROM f.{name}").fetchall())
        check(err == f"api_fetch: a table stored in a database file cannot {what} (its "
              "arguments are data); use a profile" and len(seen) == n,
              f"a file's {name} table is refused: {err}")
    reader.close()
    del os.environ["http_proxy"]
proxy.close()
finish()
