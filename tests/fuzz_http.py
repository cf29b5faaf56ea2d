#!/usr/bin/python3
"""A hostile HTTP/1.1 server for apifetch's bounded fuzz run (make fuzz-http).

    /usr/bin/python3 tests/fuzz_http.py [--port N] [--tls CERT KEY]
                                  serve; prints "PORT <main> <alt> [<tls>]"
    /usr/bin/python3 tests/fuzz_http.py --show SEED [KIND [PAGE [HOP [ATTEMPT]]]]
                                  the mutations and the bytes that request gets

Standard library only (asyncio), raw bytes on the socket so that it can send
anything; listens on 127.0.0.1 only, on two ephemeral ports (the second one
is where redirects and links "to another port" go; it serves the same), and
with --tls on a third that serves the same over TLS (ALPN http/1.1).

Every answer is made deterministically from the request target:

    /f/<seed>/<kind>?b=<batch>&i=<url_index>&p=<page>[&h=<hop>]
    /ok/<kind>?b=...&i=...            the same, never mutated
    /r/<seed>/<kind>?...              the same, where a redirect "elsewhere"
                                      leads; its links carry via=r, and a
                                      request at /f/ with via=r means a
                                      relative link was resolved against the
                                      URL before the redirect (a decoy)

<kind> is the collection the query asks for: none (an array of records),
link (an array + a Link header), next ({"items", "links": {"next"}}),
cursor ({"items", "next_cursor"}) or page ({"data", "meta": {"total_pages"}},
X-Total-Count = 3 x pages, Link rel="last"; the page is the `page`
parameter apifetch adds, 1-based).  A seed fixes the collection (how many
pages); (seed, kind, page, hop) fixes the mutation operators applied to the
valid response of that page (tests/fuzz_http_ops.py: OPS, plan, build,
serialize; this file only serves them); `attempt` (how many times this
batch asked for this page and hop) lets a page fail first and then answer.
Next links keep b and i and carry p+1, redirects keep the query and carry
h+1, so the server can tell which url_index and page each request is for.

Nothing here waits without a bound: a drip ends within DRIP_MAX seconds, a
hold (hang, slow past the client's timeout, a connection kept open) ends
when the client hangs up or after HOLD_MAX seconds, an idle keep-alive
connection is closed after HOLD_MAX seconds.  Bodies stay under a few MiB;
the gzip bomb (32 MiB of zeros in 32 KB) is made once.  The server is
what keeps time: fuzz_http_ops.py decides what to send and how (all at
once, dripped, cut, reset, never), this file carries it out.

Control routes (never mutated, never logged):
  /_log?b=N     what batch N asked for, as JSON, then forgets it:
                {"requests": [{"i", "p", "h", "kind", "seed", "ops", "decoy",
                 "expect_next", "expect_pages"}, ...]}
                expect_next / expect_pages: this page was answered cleanly,
                so a client that read it must ask for page p+1 (a chain) or
                for pages 1..N-1 (page 0 of a numbered collection)
  /_stats       {"requests", "connections", "bytes", "errors"}: errors are
                exceptions in this server (a bug here), which fail the run
"""
import argparse
import asyncio
import json
import re
import signal
import socket
import ssl
import struct
import sys
import traceback
import urllib.parse

from fuzz_http_ops import PORTS, build, serialize

HOLD_MAX = 12.0        # seconds: longest any connection is held open waiting
DRIP_MAX = 0.8         # seconds: a drip meant to arrive before the timeout

LOG = {}               # batch -> list of request records
CURSORS = {}           # (batch, i, page) -> the cursor a clean page before it named
ATTEMPTS = {}          # (batch, i, p, h, path) -> times asked
STATS = {"requests": 0, "connections": 0, "bytes": 0, "errors": 0}


class Drop(Exception):
    """The connection is done with: close it (how was decided already)."""


# ---------------------------------------------------------------------------
# The server

def rst(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


async def hold(reader, seconds=HOLD_MAX):
    """Wait until the client hangs up (or sends more), at most `seconds`."""
    try:
        await asyncio.wait_for(reader.read(65536), timeout=seconds)
    except (asyncio.TimeoutError, ConnectionError):
        pass


async def send(reader, writer, r, data):
    how, frac, pieces = r.delivery
    if how == "all":
        writer.write(data)
        await writer.drain()
    elif how == "drip":
        step = max(1, len(data) // pieces)
        delay = DRIP_MAX / max(1, -(-len(data) // step))
        for k in range(0, len(data), step):
            writer.write(data[k:k + step])
            await writer.drain()
            await asyncio.sleep(delay)
    elif how == "slow":
        # One byte at a time, past the client's timeout, until it hangs up.
        t_end = asyncio.get_running_loop().time() + HOLD_MAX
        for k in range(len(data)):
            if asyncio.get_running_loop().time() > t_end:
                break
            writer.write(data[k:k + 1])
            await writer.drain()
            try:
                got = await asyncio.wait_for(reader.read(1), timeout=0.25)
                if not got:
                    break
            except asyncio.TimeoutError:
                pass
        raise Drop()
    elif how in ("cut", "rst"):
        writer.write(data[:int(len(data) * frac)])
        await writer.drain()
        if how == "rst":
            await asyncio.sleep(0.01)
            rst(writer)
        raise Drop()
    elif how == "rst_first":
        rst(writer)
        raise Drop()
    elif how == "nothing":
        raise Drop()
    elif how == "hang":
        await hold(reader)
        raise Drop()
    STATS["bytes"] += len(data)


def parse_target(target):
    u = urllib.parse.urlsplit(target)
    q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
    return u.path, q


def page_of(kind, q):
    """Which page (0-based) a request is for, or None if it cannot tell."""
    try:
        if kind == "page":
            return int(q.get("page", "1")) - 1
        if kind == "cursor":
            c = q.get("cursor")
            if c is None:
                return 0
            m = re.match(r"c(\d+)", c)
            return int(m.group(1)) if m else None
        return int(q.get("p", "0"))
    except ValueError:
        return None


def respond_bytes(path, q, record=True):
    """The response to the request for path?q, and the log record."""
    m = re.fullmatch(r"/(f|r|ok)/(?:(\d+)/)?(none|link|next|cursor|page)", path)
    if not m:
        return None, None
    mutate = m.group(1) != "ok"
    seed = int(m.group(2) or 0)
    kind = m.group(3)
    p = page_of(kind, q)
    try:
        h = int(q.get("h", "0"))
    except ValueError:
        h = 0
    key = (q.get("b"), q.get("i"), p, h, path, q.get("d"))
    attempt = ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1 if record else 1
    r = build(seed, kind, p if p is not None and 0 <= p < 10000 else 999, h, attempt, path, q,
              mutate)
    rec = None
    if record and "b" in q:
        try:
            i = int(q.get("i", "-1"))
        except ValueError:
            i = -1
        decoy = q.get("d") or ("wrong_base" if m.group(1) == "f" and "via" in q else None)
        # A cursor must come back exactly as the page before named it.
        want = CURSORS.get((q["b"], i, p))
        if kind == "cursor" and want is not None and q.get("cursor") != want:
            decoy = "cursor_changed"
        if kind == "cursor" and r.expect_next is not None:
            CURSORS[(q["b"], i, r.expect_next)] = r.doc["next_cursor"]
        rec = {"i": i, "p": p, "h": h, "kind": kind, "seed": seed, "ops": r.ops,
               "decoy": decoy, "attempt": attempt,
               "expect_next": r.expect_next, "expect_pages": r.expect_pages}
        if decoy == "cursor_changed":
            rec["ops"] = r.ops + [f"got cursor {q.get('cursor')!r:.60}, named {want!r:.60}"]
        LOG.setdefault(q["b"], []).append(rec)
    return r, serialize(r)


async def read_request(reader):
    """The request line and headers; None at EOF.  Anything that does not
    look like an HTTP request (a TLS ClientHello, say) ends the connection."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=HOLD_MAX)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            ConnectionError):
        return None
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return None
    return parts[0], parts[1]


def control(path, q):
    if path == "/_log":
        recs = LOG.pop(q.get("b", ""), [])
        for k in [k for k in CURSORS if k[0] == q.get("b")]:
            del CURSORS[k]
        for k in [k for k in ATTEMPTS if k[0] == q.get("b")]:
            del ATTEMPTS[k]
        return json.dumps({"requests": recs}).encode()
    if path == "/_stats":
        return json.dumps(STATS).encode()
    return None


async def handle(reader, writer):
    STATS["connections"] += 1
    try:
        while True:
            req = await read_request(reader)
            if req is None:
                break
            method, target = req
            path, q = parse_target(target)
            body = control(path, q)
            if body is not None:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
                continue
            STATS["requests"] += 1
            r, data = respond_bytes(path, q)
            if r is None:
                msg = b'{"error":"not a fuzz route"}'
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n%s" % (len(msg), msg))
                await writer.drain()
                continue
            if method == "HEAD":
                data = data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
            await send(reader, writer, r, data)
            if not r.keep_alive:
                break
    except Drop:
        pass
    except (ConnectionError, OSError):
        pass
    except Exception:
        # A bug here, not in the client: counted, and the run fails on it.
        STATS["errors"] += 1
        traceback.print_exc()
    finally:
        try:
            writer.close()
        except Exception:
            pass


def show(argv):
    seed = int(argv[0])
    kind = argv[1] if len(argv) > 1 else "none"
    p = int(argv[2]) if len(argv) > 2 else 0
    h = int(argv[3]) if len(argv) > 3 else 0
    attempt = int(argv[4]) if len(argv) > 4 else 1
    PORTS[:] = [8080, 8081]
    q = {"b": "0", "i": "0"}
    if kind == "page":
        q["page"] = str(p + 1)
    elif kind == "cursor" and p:
        q["cursor"] = f"c{p}"
    elif kind != "cursor":
        q["p"] = str(p)
    if h:
        q["h"] = str(h)
    path = f"/f/{seed}/{kind}"
    r = build(seed, kind, p, h, attempt, path, q)
    data = serialize(r)
    print(f"seed {seed} kind {kind} page {p} hop {h} attempt {attempt}: ops {r.ops or ['(clean)']}, "
          f"delivery {r.delivery[0]}, keep-alive {r.keep_alive}, {len(data)} bytes, "
          f"expect_next {r.expect_next}, expect_pages {r.expect_pages}")
    sys.stdout.write(repr(data[:1500])[2:-1] + ("..." if len(data) > 1500 else "") + "\n")


async def main(args):
    servers = []
    for port in (args.port, 0):
        servers.append(await asyncio.start_server(handle, "127.0.0.1", port,
                                                  backlog=1024, limit=1 << 16))
    PORTS[:] = [s.sockets[0].getsockname()[1] for s in servers]
    line = f"PORT {PORTS[0]} {PORTS[1]}"
    if args.tls:
        # The same answers over TLS (ALPN http/1.1 only), for https:// URLs;
        # the client trusts the certificate through the ca_file option.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        ctx.set_alpn_protocols(["http/1.1"])
        servers.append(await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx,
                                                  backlog=1024, limit=1 << 16))
        line += f" {servers[-1].sockets[0].getsockname()[1]}"
    print(line, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for s in servers:
        s.close()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--show":
        show(sys.argv[2:])
        sys.exit(0)
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"),
                    help="also serve over TLS on a third port (printed third)")
    asyncio.run(main(ap.parse_args()))
