"""block_private is checked on the address connected to; through a proxy
from the environment that would be the proxy's, and the proxy would fetch
the private address for us.  So with block_private apifetch connects
directly, and the loopback server is refused as it should be.

The proxy here is a real one of this test's own, on ::1 (the server is on
127.0.0.1): it answers every request itself and records the request line,
and under block_private a request through it would be refused naming ::1,
so each check can tell exactly which way a request went."""
import os
import socket
import threading

from _common import BASE, check, connect, finish, read_head

seen = []                   # request lines the proxy received


def serve(sock):
    while True:
        try:
            c, _ = sock.accept()
        except OSError:
            return
        with c:
            data = read_head(c)
            seen.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
            body = b'{"via": "proxy"}'
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body)


proxy = socket.socket(socket.AF_INET6)
proxy.bind(("::1", 0))
proxy.listen(8)
threading.Thread(target=serve, args=(proxy,), daemon=True).start()
PROXY = "http://[::1]:%d" % proxy.getsockname()[1]

for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ[var] = PROXY
for var in ("no_proxy", "NO_PROXY"):
    os.environ.pop(var, None)

conn = connect()
q = ("SELECT status, error, data FROM api_fetch(?, 1, "
     "'{\"timeout_ms\": 5000, \"max_attempts\": 1}')")
target = "%s/obj?id=1" % BASE
url = '["%s"]' % target

# Without block_private libcurl goes through the environment's proxy (so
# this test can tell the two ways apart).
row = conn.execute(q, (url,)).fetchone()
check(row == (200, None, '{"via": "proxy"}') and seen == [f"GET {target} HTTP/1.1"],
      f"without block_private the environment's proxy is used: {row}, proxy saw {seen}")

conn.execute("""SELECT api_fetch_config('{"block_private": true}')""")
row = conn.execute(q, (url,)).fetchone()
check(row == (None, "refused by block_private: 127.0.0.1 is a loopback address (127.0.0.0/8)",
              None) and len(seen) == 1,
      f"with block_private the proxy is not used, the address is checked: {row}, proxy saw {seen}")
proxy.close()
finish()
