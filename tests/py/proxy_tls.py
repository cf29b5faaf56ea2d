"""An https URL with a query through a proxy from the environment: libcurl
first sends the proxy `CONNECT host:port`, then the request inside the
tunnel.  The check that libcurl sent the query it was asked for
(transfer.c's on_debug, against a libcurl 7.88 allocation failure) must
judge the request, not the CONNECT head: before, every such URL was an
error row, "Out of memory: libcurl sent the request without its URL's
query string".  A TLS server and a CONNECT proxy of this test's own, on
127.0.0.1; the proxy counts the tunnels it opened, so the test knows the
request went through it."""
import http.server
import json
import os
import select
import socket
import ssl
import subprocess
import tempfile
import threading

from _common import check, connect, finish, read_head, serve_threads

work = tempfile.mkdtemp(prefix="apifetch-proxy-tls-")
cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
threading.Thread(target=tls.serve_forever, daemon=True).start()
TLS = "https://127.0.0.1:%d" % tls.server_address[1]

tunnels = []


def relay(a, b):
    socks = [a, b]
    while True:
        r, _, _ = select.select(socks, [], [], 5)
        if not r:
            return
        for s in r:
            data = s.recv(65536)
            if not data:
                return
            (b if s is a else a).sendall(data)


def proxy_conn(c):
    with c:
        head = read_head(c)
        if b"\r\n\r\n" not in head:
            return
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, target = line.split(" ")[:2]
        if method != "CONNECT":
            c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        tunnels.append(target)
        host, port = target.rsplit(":", 1)
        with socket.create_connection((host, int(port))) as up:
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            relay(c, up)


proxy = serve_threads(proxy_conn)
for var in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ[var] = "http://127.0.0.1:%d" % proxy.getsockname()[1]
for var in ("no_proxy", "NO_PROXY", "http_proxy", "HTTP_PROXY"):
    os.environ.pop(var, None)

conn = connect()
rows = conn.execute(
    "SELECT url_index, status, error, data ->> 'path' FROM api_fetch(?, 1, ?) ORDER BY url_index",
    (json.dumps([TLS + "/obj?a=1", TLS + "/obj"]),
     json.dumps({"ca_file": cert, "max_attempts": 1}))).fetchall()
check(rows == [(0, 200, None, "/obj?a=1"), (1, 200, None, "/obj")],
      f"both URLs answered through the tunnel, the query sent and seen: {rows}")
check(len(tunnels) >= 1 and all(t == TLS.split("//")[1] for t in tunnels),
      f"the proxy opened the tunnels: {tunnels}")
proxy.close()
tls.shutdown()
subprocess.run(["rm", "-rf", work])
finish()
