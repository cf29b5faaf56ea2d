#!/usr/bin/python3
"""The oauth2 option (issue 22 item 1) against the loopback server's token
endpoint and API (/oauth/*, a realm per case): one token for all the
requests of a scan, however many are in flight, kept by the connection for
the next statement; a 401 gets one new token and one retry; a token past
its expires_in is fetched anew; a failing endpoint is an error row naming
it, for every URL; the client authenticates by HTTP Basic or in the form;
the token goes to no other origin than base_url's (here the loopback
server's; tests/py/oauth2_origin.py tests that rule), and is not in the
cache's key; the
guard judges the token endpoint as it judges an API.  (tests/py/
oauth2_mock.py runs the same against oauth2-mock-server.)

    /usr/bin/python3 tests/py/oauth2.py BASE_URL     (run by tests/run.py)
"""
import base64
import json
import os
import time
import urllib.parse
import urllib.request

from _common import BASE, check, connect, error_of, finish

os.environ["OAUTH_TEST_SECRET"] = "cs-8d21f4"
HOST = urllib.parse.urlsplit(BASE).netloc


def get(path):
    with urllib.request.urlopen(BASE + path) as r:
        return json.load(r)


def oauth(realm, **kw):
    o = {"token_url": f"{BASE}/oauth/token?realm={realm}", "client_id": "etl",
         "client_secret": "${env:OAUTH_TEST_SECRET}", "scope": "orders:read items"}
    o.update(kw)
    return o


def fetch(conn, urls, conc=1, **opt):
    opt.setdefault("max_attempts", 1)
    opt.setdefault("base_url", BASE + "/")      # the token's origin
    return conn.execute("SELECT url_index, status, error, json_extract(data, '$.token') "
                        "FROM api_fetch(?, ?, ?) ORDER BY url_index",
                        (json.dumps(urls), conc, json.dumps(opt))).fetchall()


def api(realm, n, delay=0):
    return [f"{BASE}/oauth/api?realm={realm}&id={i}&delay={delay}" for i in range(n)]


conn = connect()

# Concurrency 20: one token fetch for 60 requests, then none for the next statement.
rows = fetch(conn, api("c20", 60, delay=50), 20, oauth2=oauth("c20"))
log = get("/oauth/log?realm=c20")
check(len(rows) == 60 and all(r[1:] == (200, None, "c20-1") for r in rows) and len(log) == 1,
      f"60 requests at concurrency 20 share one token: {len(log)} token requests, {rows[:2]}")
rows = fetch(conn, api("c20", 5), 5, oauth2=oauth("c20"))
check(all(r[1:] == (200, None, "c20-1") for r in rows) and len(get("/oauth/log?realm=c20")) == 1,
      "the next statement on the connection uses the token it has")
other = connect()
rows = fetch(other, api("c20", 1), oauth2=oauth("c20"))
check(rows[0][1:] == (200, None, "c20-2"), f"another connection gets its own: {rows}")

# Client authentication: HTTP Basic by default (RFC 6749 2.3.1), else in the form.
first = log[0]
want = "Basic " + base64.b64encode(b"etl:cs-8d21f4").decode()
form = urllib.parse.parse_qs(first["form"])
check(first["auth"] == want and form == {"grant_type": ["client_credentials"],
                                         "scope": ["orders:read items"]},
      f"auth basic: id and secret in Authorization, grant and scope in the form: {first}")
fetch(conn, api("body", 1), oauth2=oauth("body", auth="body", audience="https://api"))
first = get("/oauth/log?realm=body")[0]
form = urllib.parse.parse_qs(first["form"])
check(first["auth"] is None and form == {"grant_type": ["client_credentials"],
                                         "scope": ["orders:read items"], "audience": ["https://api"],
                                         "client_id": ["etl"], "client_secret": ["cs-8d21f4"]},
      f"auth body: id and secret in the form, with the audience: {first}")

# A 401 (the token revoked or expired early): one new token, the request again.
fetch(conn, api("r401", 1), oauth2=oauth("r401"))
get("/oauth/revoke?realm=r401")
rows = fetch(conn, api("r401", 20, delay=20), 20, oauth2=oauth("r401"))
check(all(r[1:] == (200, None, "r401-2") for r in rows) and len(get("/oauth/log?realm=r401")) == 2,
      f"20 requests refused with 401 share one new token and are each sent again: "
      f"{len(get('/oauth/log?realm=r401'))} token requests, {rows[:2]}")
# A token endpoint whose tokens the API never takes: the 401 is retried once, then is the row.
rows = fetch(conn, [f"{BASE}/oauth/api?realm=elsewhere"], oauth2=oauth("never"))
check(rows == [(0, 401, "HTTP 401", None)] and len(get("/oauth/log?realm=never")) == 2,
      f"a second 401 is the row: {rows}, {len(get('/oauth/log?realm=never'))} token requests")

# expires_in: a token past it (less a tenth) is not sent again.
rows = fetch(conn, api("exp", 1), oauth2=oauth("exp", token_url=f"{BASE}/oauth/token?realm=exp&exp=1"))
time.sleep(1.0)
rows += fetch(conn, api("exp", 1), oauth2=oauth("exp", token_url=f"{BASE}/oauth/token?realm=exp&exp=1"))
check([r[3] for r in rows] == ["exp-1", "exp-2"], f"a token past expires_in is replaced: {rows}")

# A failing token endpoint: an error row naming it for every URL, one request to it.
url = f"{BASE}/oauth/token?realm=fail&fail=401"
rows = fetch(conn, api("fail", 3), 2, oauth2=oauth("fail", token_url=url))
why = f"oauth2 token endpoint {url}: HTTP 401, invalid_client: unknown client"
check(rows == [(i, None, why, None) for i in range(3)] and len(get("/oauth/log?realm=fail")) == 1,
      f"a failing token endpoint is every URL's error row: {rows}")
check(all("cs-8d21f4" not in (r[2] or "") for r in rows), "the client secret shows nowhere")

# No other origin gets the token: a redirect to localhost (another origin) carries none.
to = f"http://localhost:{HOST.split(':')[1]}/echo"
r = conn.execute("SELECT json_extract(data, '$.headers.authorization') FROM api_fetch(?, 1, ?)",
                 (json.dumps([f"{BASE}/redirect?to={urllib.parse.quote(to)}"]),
                  json.dumps({"oauth2": oauth("redir"), "base_url": BASE + "/"}))).fetchall()
check(r == [(None,)] and len(get("/oauth/log?realm=redir")) == 1,
      f"a redirect to another origin carries no token: {r}")

# The token is hidden where apifetch shows a URL: a next page that quotes it.
rows = conn.execute("SELECT url FROM api_fetch(?, 1, ?)", (json.dumps(
    [f"{BASE}/oauth/api?realm=quote&id=1&quote=1"]), json.dumps({"oauth2": oauth("quote"),
    "base_url": BASE + "/", "paginate": {"type": "next", "next_path": "next"},
    "max_attempts": 1}))).fetchall()
check(len(rows) == 2 and rows[1][0] == f"{BASE}/oauth/api?realm=quote&id=2&seen=[secret]",
      f"a token a server quotes in a URL shows as [secret]: {rows}")

# The cache's key holds who asked, not the token: a new token still hits.
copt = {"oauth2": oauth("cache"), "base_url": BASE + "/", "cache": ":memory:", "cache_mode": "ttl"}
fetch(conn, api("cache", 1), **copt)
get("/oauth/revoke?realm=cache")
rows = conn.execute("SELECT status, cache FROM api_fetch(?, 1, ?)",
                    (json.dumps(api("cache", 1)), json.dumps(copt))).fetchall()
check(rows == [(200, "hit")], f"the cache answers across tokens: {rows}")

# The guard judges the token endpoint: allow_hosts, block_private; https unless loopback.
g = connect()
g.execute("SELECT api_fetch_config(?)", (json.dumps({"allow_hosts": [HOST]}),))
url = f"http://localhost:{HOST.split(':')[1]}/oauth/token?realm=g"
rows = fetch(g, api("g", 2), oauth2=oauth("g", token_url=url))
why = (f"oauth2 token endpoint {url}: refused by allow_hosts: localhost:{HOST.split(':')[1]} "
       f"is not allowed ({url})")
check(rows == [(0, None, why, None), (1, None, why, None)] and get("/oauth/log?realm=g") == [],
      f"allow_hosts refuses the token endpoint before it is asked: {rows}")
g.execute("""SELECT api_fetch_config('{"block_private": true, "allow_hosts": null}')""")
rows = fetch(g, api("g", 1), oauth2=oauth("g"))
check(rows[0][2] == f"oauth2 token endpoint {BASE}/oauth/token?realm=g: refused by "
      "block_private: 127.0.0.1 is a loopback address (127.0.0.0/8)" and get("/oauth/log?realm=g") == [],
      f"block_private refuses the token endpoint's address: {rows}")
err = error_of(lambda: fetch(conn, api("x", 1), oauth2=oauth("x", token_url="http://auth.example/t")))
check(err == "api_fetch: oauth2: token_url must be https (RFC 6749 section 3.2), or http on a "
      "loopback host: http://auth.example/t", f"plain http elsewhere is refused: {err}")
err = error_of(lambda: fetch(conn, api("x", 1), oauth2={"token_url": BASE}))
check(err == "api_fetch: oauth2 needs token_url, client_id and client_secret", f"{err}")
finish()
