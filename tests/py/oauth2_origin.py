#!/usr/bin/python3
"""The oauth2 token goes to one origin, the API's (issue 22 item 1, found
by a review): that of base_url, else of an audience that is an http(s)
URL; without either the query is refused.  Before, a query's oauth2 on an
unlocked connection sent the token to every host its url_list or
url_query named, so a url_query built from API data could hand it to a
third host.  127.0.0.1 and localhost on the loopback port are two
origins; /echo shows the Authorization it got, /oauth/log the token
requests.

    /usr/bin/python3 tests/py/oauth2_origin.py BASE_URL     (run by tests/run.py)
"""
import json
import urllib.parse
import urllib.request

from _common import BASE, check, connect, error_of, finish

PORT = urllib.parse.urlsplit(BASE).port
OTHER = f"http://localhost:{PORT}"


def log(realm):
    with urllib.request.urlopen(f"{BASE}/oauth/log?realm={realm}") as r:
        return json.load(r)


def oauth(realm, **kw):
    o = {"token_url": f"{BASE}/oauth/token?realm={realm}", "client_id": "etl",
         "client_secret": "s-7e01"}
    o.update(kw)
    return o


def auths(conn, urls, **opt):
    """Each URL's (status, error, the Authorization it got) in url_index order."""
    opt.setdefault("max_attempts", 1)
    return conn.execute("SELECT status, error, coalesce(json_extract(data, '$.token'), "
                        "json_extract(data, '$.headers.authorization')) FROM api_fetch(?, 1, ?) "
                        "ORDER BY url_index", (json.dumps(urls), json.dumps(opt))).fetchall()


conn = connect()

# base_url's origin: the API gets the token, a second host in the list none.
rows = auths(conn, [f"{BASE}/oauth/api?realm=b1&id=1", f"{OTHER}/echo?i=1"],
             oauth2=oauth("b1"), base_url=f"{BASE}/oauth/")
check(rows == [(200, None, "b1-1"), (200, None, None)],
      f"base_url: a url_list's second host (localhost) gets no token: {rows}")
rows = auths(conn, ["api?realm=b1&id=2"], oauth2=oauth("b1"), base_url=f"{BASE}/oauth/")
check(rows == [(200, None, "b1-1")], f"base_url: a relative URL gets it: {rows}")

# The API's 401 off the origin is the row: no new token is fetched for it.
rows = auths(conn, [f"{OTHER}/oauth/api?realm=b1&id=3"], oauth2=oauth("b1"),
             base_url=f"{BASE}/oauth/")
check(rows == [(401, "HTTP 401", None)] and len(log("b1")) == 1,
      f"another origin's 401 is its row, and asks for no token: {rows}, {len(log('b1'))}")

# Nothing on the token's origin: the token endpoint is not even asked.
rows = auths(conn, [f"{OTHER}/echo?i=2"], oauth2=oauth("b2"), base_url=f"{BASE}/")
check(rows == [(200, None, None)] and log("b2") == [],
      f"no request on the token's origin: no token fetched: {rows}, {log('b2')}")

# A url_query built from data (an API's answer naming a third host).
conn.execute("CREATE TEMP TABLE hosts(u)")
conn.execute("INSERT INTO hosts VALUES (?), (?)", (f"{BASE}/oauth/api?realm=q1&id=1",
                                                  f"{OTHER}/echo?from=data"))
conn.execute("CREATE VIRTUAL TABLE temp.w USING api_fetch(url_query='SELECT u FROM temp.hosts', "
             "columns='token TEXT, headers_authorization TEXT', max_attempts=1, base_url='%s/', "
             "oauth2='%s')" % (BASE, json.dumps(oauth("q1"))))
rows = conn.execute("SELECT _url, token, headers_authorization FROM temp.w "
                    "ORDER BY _url_index").fetchall()
check([r[1:] for r in rows] == [("q1-1", None), (None, None)],
      f"url_query: the host its data names gets no token: {rows}")

# No base_url: an audience that is a URL names the origin.
rows = auths(conn, [f"{BASE}/oauth/api?realm=a1&id=1", f"{OTHER}/echo?i=3"],
             oauth2=oauth("a1", audience=f"{BASE}/"))
check(rows == [(200, None, "a1-1"), (200, None, None)],
      f"audience URL: the second host gets no token: {rows}")

# Both: base_url's origin, not the audience's.
rows = auths(conn, [f"{BASE}/oauth/api?realm=a2&id=1", f"{OTHER}/echo?i=5"],
             oauth2=oauth("a2", audience=f"{OTHER}/"), base_url=f"{BASE}/oauth/")
check(rows == [(200, None, "a2-1"), (200, None, None)],
      f"base_url wins over an audience URL: {rows}")

# Neither: refused, before anything is sent.
want = ("api_fetch: oauth2 needs base_url, or an audience that is a URL, to know which "
        "origin its token is for")
for kw in ({}, {"audience": "orders-api"}, {"audience": "ftp://127.0.0.1/"}):
    err = error_of(lambda: auths(conn, [f"{BASE}/oauth/api?realm=n1&id=1"],
                                 oauth2=oauth("n1", **kw)))
    check(err == want and log("n1") == [], f"no base_url, audience {kw}: refused: {err}")

# A profile's base_url binds the token of a query's oauth2 too.
conn.execute("SELECT api_fetch_profile('api', ?)", (json.dumps({"base_url": f"{BASE}/oauth/"}),))
rows = auths(conn, ["api?realm=p1&id=1", f"{OTHER}/echo?i=4"], profile="api",
             oauth2=oauth("p1"))
check(rows == [(200, None, "p1-1"), (200, None, None)],
      f"a profile's base_url: the second host gets no token: {rows}")
finish()
