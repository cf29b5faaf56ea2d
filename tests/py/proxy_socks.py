#!/usr/bin/python3
"""A SOCKS5 proxy under block_private (issue 22 follow-up).  With
socks5:// libcurl resolves the target itself and hands the proxy an
address; the open-socket callback sees only the proxy's, so block_private
would judge nothing: a name that resolves to a private address (this
machine's own name, a DNS answer of an attacker's) would be reached through
the host's proxy.  So under block_private a socks5:// proxy is refused
before anything is sent, with a message that says to use socks5h://, where
the proxy resolves the target and block_private judges the URL as written
(docs/reference.md, Proxies).

The proxy is a real SOCKS5 one (RFC 1928, no authentication, CONNECT) of
this test's own on 127.0.0.1: it records the address type and address each
CONNECT names, and relays to the target.

    /usr/bin/python3 tests/py/proxy_socks.py BASE_URL     (run by tests/run.py)
"""
import json
import os
import socket
import struct
import threading
import urllib.parse

from _common import BASE, check, connect, finish, serve_threads

seen = []                   # (address type, target host, port) per CONNECT


def recv_n(c, n):
    b = b""
    while len(b) < n:
        chunk = c.recv(n - len(b))
        if not chunk:
            raise OSError("closed")
        b += chunk
    return b


def relay(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve_one(c):
    try:
        _, n = recv_n(c, 2)
        recv_n(c, n)
        c.sendall(b"\x05\x00")                        # no authentication
        _, cmd, _, atyp = recv_n(c, 4)
        if atyp == 1:
            host = socket.inet_ntop(socket.AF_INET, recv_n(c, 4))
        elif atyp == 4:
            host = socket.inet_ntop(socket.AF_INET6, recv_n(c, 16))
        else:
            host = recv_n(c, recv_n(c, 1)[0]).decode()
        port = struct.unpack(">H", recv_n(c, 2))[0]
        seen.append(({1: "ipv4", 3: "name", 4: "ipv6"}[atyp], host, port))
        up = socket.create_connection((host, port), timeout=5)
        c.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("0.0.0.0") + b"\x00\x00")
        threading.Thread(target=relay, args=(up, c), daemon=True).start()
        relay(c, up)
    except OSError:
        c.close()


proxy = serve_threads(serve_one)
PORT = proxy.getsockname()[1]
for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
    os.environ.pop(var, None)

# A name that resolves, here, to the loopback server's address: what a
# stranger's DNS name pointing at a private address looks like.
NAME = socket.gethostname()
try:
    loop = socket.gethostbyname(NAME).startswith("127.")
except OSError:
    loop = False
if not loop:
    NAME = "localhost"      # still a name libcurl resolves for socks5://
SERVER_PORT = urllib.parse.urlsplit(BASE).port
BY_NAME = f"http://{NAME}:{SERVER_PORT}/obj?id=7"
Q = "SELECT status, error, json_extract(data, '$.id') FROM api_fetch(?, 1, ?)"


def fetch(conn, url, **opt):
    opt.setdefault("timeout_ms", 5000)
    opt.setdefault("max_attempts", 1)
    try:
        return conn.execute(Q, (json.dumps([url]), json.dumps(opt))).fetchall()
    except Exception as e:                       # sqlite3.OperationalError
        return str(e)


# 1. Without block_private socks5:// works: libcurl resolves, the proxy is
#    handed an address (so the proxy here is a working one).
conn = connect()
row = fetch(conn, BY_NAME, proxy=f"socks5://127.0.0.1:{PORT}")
check(row == [(200, None, 7)] and seen and seen[-1][0] == "ipv4",
      f"plain: through socks5://, the proxy given an address: {row}, {seen}")
conn.close()


def guarded(scheme):
    c = connect()
    c.execute("SELECT api_fetch_config(?)", (json.dumps({
        "block_private": True,
        "profiles": {"corp": {"proxy": f"{scheme}://127.0.0.1:{PORT}"}}}),))
    return c


# 2. block_private, the host's socks5:// proxy: refused before anything is
#    sent (it would reach the loopback server through the proxy).
n = len(seen)
conn = guarded("socks5")
row = fetch(conn, BY_NAME, profile="corp")
check(row == "api_fetch: a socks5:// proxy resolves the target here, where block_private "
             "cannot check the address: use socks5h:// (the proxy resolves it)"
      and len(seen) == n,
      f"block_private: socks5:// refused, nothing sent: {row}, {seen[n:]}")
conn.close()

# 3. block_private, socks5h://: the proxy is given the name as written, and
#    a loopback address written in the URL is refused.
conn = guarded("socks5h")
row = fetch(conn, BY_NAME, profile="corp")
check(row == [(200, None, 7)] and seen[-1] == ("name", NAME, SERVER_PORT),
      f"block_private: socks5h:// hands the proxy the name: {row}, {seen[-1:]}")
n = len(seen)
row = fetch(conn, BASE + "/obj?id=1", profile="corp")
check(row[0][2] is None and "refused by block_private: 127.0.0.1" in (row[0][1] or "")
      and len(seen) == n, f"block_private: socks5h:// to 127.0.0.1 refused: {row}")
conn.close()

finish()
