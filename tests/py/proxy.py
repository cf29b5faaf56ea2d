"""block_private is checked on the address connected to; through a proxy
from the environment that would be the proxy's, and the proxy would fetch
the private address for us.  So with block_private apifetch connects
directly, and the loopback server is refused as it should be."""
import os

from _common import BASE, check, connect, finish

# A proxy on an address that is not there (TEST-NET-1, documentation).
for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ[var] = "http://192.0.2.1:9"
for var in ("no_proxy", "NO_PROXY"):
    os.environ.pop(var, None)

conn = connect()
q = "SELECT status, error FROM api_fetch(?, 1, '{\"timeout_ms\": 1500, \"max_attempts\": 1}')"
url = '["%s/obj?id=1"]' % BASE

# Without block_private libcurl goes through the proxy (so this test can tell).
status, error = conn.execute(q, (url,)).fetchone()
check(status is None and error is not None and "refused by block_private" not in error,
      f"without block_private the environment's proxy is used: {error}")

conn.execute("""SELECT api_fetch_config('{"block_private": true}')""")
status, error = conn.execute(q, (url,)).fetchone()
check(error == "refused by block_private: 127.0.0.1 is a loopback address (127.0.0.0/8)",
      f"with block_private the proxy is not used, the address is checked: {error}")
finish()
