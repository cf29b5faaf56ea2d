"""The User-Agent and Accept-Encoding lines a request sends are libcurl's
own whichever way they are written: a request without headers of its own
gets them from a list made once per statement (transfer_default_headers,
for speed), one with headers gets them from libcurl; the server must not
tell the two apart but by the headers asked for.  And what the list
replaces keeps working: a compressed response is decoded, user_agent is
sent (an empty one sends none), a proxy's CONNECT still names the agent.

The server here is this test's own, on 127.0.0.1: it records each
request's head and answers a small gzip-compressed JSON object."""
import gzip
import os
import socket
import threading

from _common import check, connect, finish, read_head

heads = []                  # request heads received, in order
BODY = gzip.compress(b'{"id": 1, "word": "decoded"}')


def serve(sock):
    while True:
        try:
            c, _ = sock.accept()
        except OSError:
            return
        with c:
            head = read_head(c)
            heads.append(head)
            if head.startswith(b"CONNECT "):
                continue        # no tunnel: the head is all this test wants
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      b"Content-Encoding: gzip\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY)


srv = socket.socket(socket.AF_INET)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
threading.Thread(target=serve, args=(srv,), daemon=True).start()
BASE = "http://127.0.0.1:%d" % srv.getsockname()[1]
for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(var, None)


def lines(head, names):
    """The header lines of head whose names are in names, in order."""
    out = []
    for ln in head.decode("latin-1").split("\r\n")[1:]:
        if ln.split(":", 1)[0].strip().lower() in names:
            out.append(ln)
    return out


conn = connect()
DEFAULTS = ("user-agent", "accept-encoding")
q = "SELECT status, error, data FROM api_fetch(?, 1, ?)"

# One request with no headers of its own, one with a header: the same
# default lines, once each, and both responses decoded.
items = '[{"url": "%s/a"}, {"url": "%s/b", "headers": {"X-Probe": "1"}}]' % (BASE, BASE)
rows = conn.execute(q, (items, "{}")).fetchall()
check(rows == [(200, None, '{"id": 1, "word": "decoded"}')] * 2,
      f"both gzip responses decoded: {rows}")
check(len(heads) == 2 and lines(heads[0], DEFAULTS) and
      sorted(lines(heads[0], DEFAULTS)) == sorted(lines(heads[1], DEFAULTS)),
      f"with and without headers of its own, the same default lines: "
      f"{[lines(h, DEFAULTS) for h in heads]}")
ua = [ln for ln in lines(heads[0], DEFAULTS) if ln.lower().startswith("user-agent")]
ae = [ln for ln in lines(heads[0], DEFAULTS) if ln.lower().startswith("accept-encoding")]
check(len(ua) == 1 and ua[0].startswith("User-Agent: apifetch/"), f"one User-Agent: {ua}")
check(len(ae) == 1 and "gzip" in ae[0], f"one Accept-Encoding, naming gzip: {ae}")

# user_agent given, and given empty: sent as given, or not at all.
del heads[:]
conn.execute(q, ('["%s/c"]' % BASE, '{"user_agent": "etl/2 (+ops@example.com)"}')).fetchall()
conn.execute(q, ('["%s/d"]' % BASE, '{"user_agent": ""}')).fetchall()
check([lines(h, ("user-agent",)) for h in heads]
      == [["User-Agent: etl/2 (+ops@example.com)"], []],
      f"user_agent sent as given, an empty one not at all: "
      f"{[lines(h, ('user-agent',)) for h in heads]}")

# Through a proxy an https request starts with CONNECT, which does not get
# the request's headers: the agent is named there by libcurl's option.
del heads[:]
os.environ["https_proxy"] = BASE
row = conn.execute(q, ('["https://127.0.0.1:9/e"]',
                       '{"max_attempts": 1, "timeout_ms": 3000}')).fetchone()
del os.environ["https_proxy"]
check(len(heads) == 1 and heads[0].startswith(b"CONNECT 127.0.0.1:9 ")
      and lines(heads[0], ("user-agent",)) == ["User-Agent: apifetch/" + ua[0].split("/", 1)[1]]
      and row[0] is None,
      f"the proxy's CONNECT names the agent: {heads[:1]}, row {row}")

srv.close()
finish()
