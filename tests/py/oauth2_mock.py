#!/usr/bin/python3
"""The oauth2 option against a real OAuth2 server nobody here wrote:
oauth2-mock-server from the npm registry (tests/oauth2_mock/, installed by
`make deps`), started here on 127.0.0.1 with tokens that live 2 seconds.
The API is the loopback server's /echo, which shows the Authorization it
got: 30 requests at concurrency 20 carry one JWT the server issued (its
iss and scope claims), from one token request, the audience asked for the
API's URL (which binds the token to /echo's origin); past expires_in the next
statement gets a new one; the client's id and secret arrive as the server
reads them, by HTTP Basic or in the form.  Without Node.js or the package
the test is skipped (exit 77), which fails under CI.

    /usr/bin/python3 tests/py/oauth2_mock.py BASE_URL     (run by tests/run.py)
"""
import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time

from _common import BASE, ROOT, check, connect, finish

MOCK = os.path.join(ROOT, "tests", "oauth2_mock")
node = shutil.which("node") or shutil.which("nodejs")
if node is None or not os.path.isdir(os.path.join(MOCK, "node_modules", "oauth2-mock-server")):
    print("skipped: needs Node.js and oauth2-mock-server in tests/oauth2_mock (make deps)")
    sys.exit(77)

TTL = 2
proc = subprocess.Popen([node, os.path.join(MOCK, "server.js"), str(TTL)],
                        stdout=subprocess.PIPE, text=True)
lines = queue.Queue()
threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
tokens = []                 # what the server logged for each token it issued


def drain(wait=0.0):
    time.sleep(wait)
    while not lines.empty():
        line = lines.get()
        if line.startswith("TOKEN "):
            tokens.append(json.loads(line[6:]))


try:
    _, port, issuer = lines.get(timeout=30).split()
    TOKEN_URL = f"http://127.0.0.1:{port}/token"
    os.environ["MOCK_CLIENT_SECRET"] = "ms-41c9e2"

    def oauth(**kw):
        o = {"token_url": TOKEN_URL, "client_id": "etl",
             "client_secret": "${env:MOCK_CLIENT_SECRET}", "scope": "read:items",
             "audience": BASE + "/"}
        o.update(kw)
        return {"oauth2": o, "max_attempts": 1}

    def bearers(conn, n, conc, opt):
        urls = [f"{BASE}/echo?i={i}" for i in range(n)]
        return conn.execute("SELECT status, error, json_extract(data, '$.headers.authorization') "
                            "FROM api_fetch(?, ?, ?)", (json.dumps(urls), conc, json.dumps(opt))).fetchall()

    def claims(jwt):
        part = jwt.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

    conn = connect()
    rows = bearers(conn, 30, 20, oauth())
    drain(0.2)
    sent = {r[2] for r in rows}
    jwt = next(iter(sent))[7:] if len(sent) == 1 else ""
    check(all(r[:2] == (200, None) for r in rows) and len(sent) == 1 and len(tokens) == 1,
          f"30 requests at concurrency 20: one token request, one bearer: {len(tokens)} token "
          f"requests, {len(sent)} bearers")
    c = claims(jwt) if jwt.count(".") == 2 else {}
    check(c.get("iss") == issuer and c.get("scope") == "read:items",
          f"the bearer is the server's JWT with the scope asked: {c}")
    check(tokens[:1] == [{"auth": "basic", "client_id": "etl", "client_secret": "ms-41c9e2",
                          "scope": "read:items"}],
          f"the server read the client's id and secret by HTTP Basic: {tokens[:1]}")

    rows = bearers(conn, 3, 3, oauth())
    drain(0.2)
    check({r[2] for r in rows} == sent and len(tokens) == 1,
          "the next statement within expires_in sends the same token, fetches none")
    time.sleep(TTL)
    rows = bearers(conn, 3, 3, oauth())
    drain(0.2)
    new = {r[2] for r in rows}
    check(len(new) == 1 and new != sent and all(r[:2] == (200, None) for r in rows)
          and len(tokens) == 2, f"past expires_in: one new token: {len(tokens)} token requests")

    rows = bearers(conn, 1, 1, oauth(auth="body", scope="write:items"))
    drain(0.2)
    check(rows[0][:2] == (200, None) and tokens[-1:] == [{
        "auth": "body", "client_id": "etl", "client_secret": "ms-41c9e2", "scope": "write:items"}],
          f"auth body: the server read them from the form: {tokens[-1:]}")
finally:
    proc.terminate()
    proc.wait(timeout=10)
finish()
