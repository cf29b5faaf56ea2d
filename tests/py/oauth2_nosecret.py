#!/usr/bin/python3
"""A client whose client_secret is "" (a public client, or a careless
host): its access tokens are secrets all the same (found by the review
of issue 22).  Before, what hid a token, and what bound a locked
connection's defaults to their own origin, both asked "was any secret
given?", and an empty secret is no secret:

  - a token a server quotes in a next page's URL showed in the url column,
    in _url, in request_log rows and in an on_error 'fail' message;
  - on a locked connection, the host's defaults with such an oauth2 sent
    the host's token to any host allow_hosts lists, where an echoing
    endpoint showed it to the stranger's query.

    /usr/bin/python3 tests/py/oauth2_nosecret.py BASE_URL     (run by tests/run.py)
"""
import json
import urllib.parse

from _common import BASE, check, connect, error_of, finish

PORT = urllib.parse.urlsplit(BASE).port


def oauth(realm):
    return {"token_url": f"{BASE}/oauth/token?realm={realm}", "client_id": "pub",
            "client_secret": ""}


# A next page whose URL quotes the token (/oauth/api?quote=1).
conn = connect()
opt = {"oauth2": oauth("ns1"), "base_url": BASE + "/",
       "paginate": {"type": "next", "next_path": "next"},
       "max_attempts": 1, "request_log": "log"}
rows = conn.execute("SELECT url FROM api_fetch(?, 1, ?)", (json.dumps(
    [f"{BASE}/oauth/api?realm=ns1&id=1&quote=1"]), json.dumps(opt))).fetchall()
check(len(rows) == 2 and rows[1][0].endswith("&seen=[secret]") and "ns1-1" not in str(rows),
      f"url column: the token a server quotes shows as [secret]: {rows}")
logged = conn.execute("SELECT url FROM log ORDER BY page").fetchall()
check(len(logged) == 2 and "ns1-1" not in str(logged) and "[secret]" in logged[1][0],
      f"request_log: the token shows as [secret]: {logged}")

conn.execute("CREATE VIRTUAL TABLE temp.w USING api_fetch(url_list=?, columns='id INTEGER', "
             "oauth2=?, paginate=?, max_attempts=1, base_url=?)".replace("?", "'%s'") % (
                 json.dumps([f"{BASE}/oauth/api?realm=ns2&id=1&quote=1"]),
                 json.dumps(oauth("ns2")), json.dumps({"type": "next", "next_path": "next"}),
                 BASE + "/"))
rows = conn.execute("SELECT _url FROM temp.w").fetchall()
check(len(rows) == 2 and "ns2-1" not in str(rows) and "[secret]" in rows[1][0],
      f"_url: the token shows as [secret]: {rows}")

# The next page fails (a 401 after the token is revoked is not it: the
# error names the page's URL, which quotes the token).
opt = {"oauth2": oauth("ns3"), "base_url": BASE + "/",
       "paginate": {"type": "next", "next_path": "next"},
       "max_attempts": 1, "on_error": "fail"}
err = error_of(lambda: conn.execute("SELECT url FROM api_fetch(?, 1, ?)", (json.dumps(
    [f"{BASE}/oauth/api?realm=ns3&id=1&quote=1&next_status=404"]), json.dumps(opt))).fetchall())
check(err is not None and "ns3-1" not in err, f"on_error 'fail': no token in the message: {err}")

# Locked: the host's defaults, an oauth2 with an empty secret and a
# base_url; a stranger's URL on another host allow_hosts lists.
locked = connect()
locked.execute("SELECT api_fetch_config(?)", (json.dumps({
    "allow_hosts": [f"127.0.0.1:{PORT}", f"localhost:{PORT}"],
    "defaults": {"base_url": f"{BASE}/oauth/", "oauth2": oauth("ns4"), "max_attempts": 1},
    "lock": True}),))
rows = locked.execute("SELECT status, data FROM api_fetch(?, 1)", (json.dumps(
    [f"http://localhost:{PORT}/echo"]),)).fetchall()
check(len(rows) == 1 and rows[0][0] == 200 and "authorization" not in json.loads(rows[0][1])["headers"],
      f"locked: the defaults' token goes to no other origin: {rows}")
rows = locked.execute("SELECT status, error FROM api_fetch(?, 1)", (json.dumps(
    ["api?realm=ns4&id=3"]),)).fetchall()
check(rows == [(200, None)], f"locked: the defaults' own origin still gets it: {rows}")
finish()
