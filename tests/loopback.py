#!/usr/bin/python3
"""Loopback HTTP/1.1 test server for apifetch's tests and benchmarks.

    /usr/bin/python3 tests/loopback.py [--port N]

Listens on 127.0.0.1 only (port 0: an ephemeral port), prints `PORT <n>` once
listening, serves until SIGTERM.  Standard library only (asyncio), keep-alive,
holds thousands of concurrent delayed requests.

Every route takes `delay=<ms>` (wait before answering; the request counts as
in flight meanwhile, and a client that hangs up ends the wait) and `key=<s>`
(counted per key in /stats).

  /stats                 {"inflight", "max_inflight", "connections", "requests", "keys",
                         "not_modified", "body_bytes", "by_key"}; by_key: for each key,
                         {"requests", "inflight", "max_inflight", "status": {"200": n,
                         "429": n, ...}} (a request that is never answered, /hang,
                         has no status)
  /stats/reset           zero the counters, /changes back to step 0, forget every
                         /limited window and /outage start (these routes are never
                         counted, nor is a connection that served only them; a
                         connection open across a reset counts again once it
                         serves a counted request: apifetch keeps connections
                         between statements)
  /stats/advance         the /changes data set moves on one step (a run of an incremental
                         sync sees new changes); answers {"step": S}
  /stats/fail?code=C     from now on /cache answers C (503; "reset": TCP RST),
                         and /changes C (503 for reset); code=0 back to normal
  /cache?id=N&cc=S&etag=E&lm=T&expires=S&vary=V&age=A&cookie=C
                         obj(N) with Cache-Control S, ETag "E", Last-Modified
                         unix time T, Expires now+S seconds, Vary V, Age A,
                         Set-Cookie session=C; expires_raw=X: Expires lines
                         as given, "|" between them; location=L and
                         content_location=L: those fields (any method);
                         If-None-Match "E" or If-Modified-Since >= T: 304;
                         fail_conditional=C: a request with If-None-Match or
                         If-Modified-Since (a client revalidating what it
                         stored) answers C (503; "reset": TCP RST) instead, so
                         the same URL first stores and then fails, with no
                         state in the server (stale-if-error, tests/torture.c);
                         status=C: the full response's status (404, 503...);
                         a request header X-Trace (a trace header, which the
                         cache leaves out of its key): more of these
                         parameters, over the URL's (the same URL, so the
                         same cache entry, answered otherwise: freshening)
                         vary304=V, cc304=S: a 304 says Vary V, Cache-Control S
  /changes?since=T&page=N&per_page=K   an incrementally synced collection: the
                         items whose updated_at > T (T "" or absent: all), oldest
                         first, {"data": [{"id","name","rev","updated_at"}, ...],
                         "meta": {"page","per_page","total","total_pages","step"}}.
                         Step 0: items 1-25, rev 0, updated_at 2024-03-01T00:MM:00Z
                         (MM = id).  Step k (each /stats/advance): items k, k+10 and
                         k+20 updated (rev k, name "item I rev k") and item 25+k
                         added, updated_at 2024-03-01THH:0J:00Z (HH = k, J = 1..4 in
                         that order).  ETag (of the body) and Cache-Control: no-cache;
                         If-None-Match with the same ETag: 304
  /oauth/token?realm=R&exp=S&fail=C   an OAuth2 token endpoint (RFC 6749 section 4.4):
                         {"access_token": "R-N", "token_type": "Bearer", "expires_in": S},
                         a new token each time (N counts), valid in realm R; fail=C:
                         status C and {"error": "invalid_client", ...}; each request's
                         Authorization and form go to /oauth/log
  /oauth/api?realm=R&id=N   obj(N) with "token": the bearer sent, when realm R issued it
                         and it is not revoked; else 401, WWW-Authenticate: Bearer;
                         quote=1: and "next", a URL that quotes the token (next_status=C:
                         whose answer has status C); status=C: answered with status C
  /oauth/revoke?realm=R  realm R's tokens no longer valid (as an expiry the client
                         did not see coming)
  /oauth/log?realm=R     [{"auth": ..., "form": ...}] of realm R's token requests
  /obj?id=N              {"id":N,"title":"post N","done":false,"author":{...},"tags":[...]}
  /array?n=K             [{"id":1,"name":"item 1"}, ...] K elements
  /wrap?n=K              {"meta":{"page":1,"total":K},"data":{"items":[{"id":1},...]}}
  /raw?body=S&type=T&status=C   exactly S (hex=HEX for raw bytes instead)
  /rawresponse?hex=HEX   exactly these bytes as the whole response (status
                         line, headers and body), then close
  /case?name=NAME        the "doc" of tests/conformance/cases/NAME.json
  /bigstring?mb=N        {"id":1,"s":"xxx..."} with an N MiB string
  /loop                  a redirect to itself
  /items?page=N&per_page=K&total=T (or offset=O&limit=K)   a paginated collection:
                         meta.total_pages, meta.total, X-Total-Count, Link next/last;
                         fail_page=N: that page answers 500
  /cursor?cursor=C&per=K&total=T   next_cursor / links.next until the end
  /bighdr?kb=N           a response with one header line of N KiB
  /links?p=N&n=K&style=S pages with Link headers in RFC 8288's forms (quoted,
                         several, twice, cycle: see the route)
  /graphql               POST {"query": "...users...", "variables": {"first": N}}:
                         {"data": {"users": [N users]}}
  /relay?total=T&style=S&var=V   POST {"query": "...", "variables": {"first": K,
                         "after": C}} (V: the cursor's variable, "after"):
                         a GraphQL Relay connection of T items, K a page, under
                         data.items: edges [{cursor, node}] and pageInfo
                         {hasNextPage, endCursor}; S: nocursor (hasNextPage true,
                         endCursor null), again (endCursor always the first one)
  /search?total=T        POST {"page": P} (1-based), {"offset": N} or {"cursor": C},
                         "limit" (10): {"data": [...], "meta": {"total", "total_pages",
                         "next_cursor"}, "got": what the body asked for}
  /gzipbomb              Content-Encoding: gzip, ~260 KB that decodes to 256 MiB
  /status/C              status C, body {"status":C} (none for 204/304)
  /flaky?key=K&fail=k&code=C&retry_after=S&retry_after_date=S
                         the first k requests for K fail with C (503), with
                         Retry-After delta-seconds or HTTP-date now+S; then 200
  /limited/FORM?limit=L&window=W&key=K&id=N
                         a rate-limited API: L requests (default 100) per window of W
                         whole seconds (default 1) per client address and key, the
                         windows fixed and aligned to the clock (window k covers unix
                         time [kW, (k+1)W)), as many APIs count; within the budget obj(N),
                         over it 429 (which uses no budget).  FORM says how the limit is
                         told, on every 2xx and 429 (T: whole seconds to the window's
                         end, rounded up; R: requests left after this one):
                           github       X-RateLimit-Limit: L, X-RateLimit-Remaining: R,
                                        X-RateLimit-Used, X-RateLimit-Reset: the end
                                        as unix time (exact: windows are aligned)
                           ietf         RateLimit-Policy: "default";q=L;w=W and
                                        RateLimit: "default";r=R;t=T (structured
                                        fields, draft-ietf-httpapi-ratelimit-headers-10)
                           draft        RateLimit-Limit: L, RateLimit-Remaining: R,
                                        RateLimit-Reset: T (the older drafts, up to -06)
                           retry_after  nothing on 2xx; 429 with Retry-After: T
                           none         no hint at all, a bare 429
                         the header forms send no Retry-After: the 429 says only what
                         the fields say.  Counted in by_key like any keyed route.
  /outage?key=K&for=S&code=C&id=N
                         for S seconds (default 5) from the first request for K,
                         answer C (503; "reset": TCP RST; "hang": never answer), then
                         obj(N): a host that is down and recovers, for a circuit
                         breaker's half-open probe (/flaky: down for k requests)
  /reset                 TCP RST instead of an answer
  /reset_mid             headers and part of the body, then RST
  /truncated             Content-Length 100, 10 bytes sent, then close
  /text, /html           non-JSON bodies
  /ndjson?n=N&bad=K,L&type=T&mb=M&cut=C&blank=1
                         N lines {"id": i, "name": ...} (i from 1), lines K, L not
                         JSON, Content-Type T (application/x-ndjson); mb=M: about
                         M MiB of lines instead of N; cut=C: the connection closes
                         after C lines (Content-Length promised more); blank=1: a
                         blank line after each; chunked, sent as it is made;
                         long=B: first a line of about B bytes ({"id": 0, "pad":
                         "xx..."}), sent in 16 KiB pieces
  /huge?mb=N&chunked=1   a valid JSON array of about N MiB, streamed
  /redirect?to=URL&code=C   one redirect to URL
  /redirects?n=K         a chain of K redirects ending at /obj?id=0
  /rbase/a/start?to=H    a redirect to H/rbase/b/page1 (H: "" for this server, or
                         http://host:port), whose next page is the relative
                         "page2" in its Link header and in its body's "next":
                         /rbase/b/page2 is right, /rbase/a/page2 (resolved
                         against the URL first asked for) is wrong; page2 says
                         whether it got an Authorization header
  /badnext?v=NAME        a page whose next page is BADNEXT[NAME], at meta.next in
                         the body and, if a string, in a Link rel="next" header
  /echo                  {"method","path","query","headers","body"} of the request
  /hang                  never answers (the connection is accepted and the request
                         read; it stays open until the client hangs up)
  /nested?depth=N        [[[...]]] N deep
  /slow?bytes=N&bps=B    N bytes at B bytes per second
"""
import argparse
import base64
import asyncio
import email.utils
import json
import math
import os
import re
import resource
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
import zlib

CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conformance", "cases")

STATS = {"inflight": 0, "max_inflight": 0, "connections": 0, "requests": 0, "keys": {},
         "not_modified": 0, "body_bytes": 0, "by_key": {}}
FLAKY = {}
LIMITED = {}      # /limited: (client address, key) -> [window number, requests admitted]
OUTAGE = {}       # /outage: key -> time.monotonic() of its first request
FAIL = {"code": 0}
OAUTH = {}        # /oauth: realm -> {"valid": set of tokens, "issued": n, "log": [...]}
CHANGES = {"step": 0, "resets": 0}

REASONS = {200: "OK", 204: "No Content", 301: "Moved Permanently", 302: "Found",
           303: "See Other", 307: "Temporary Redirect", 308: "Permanent Redirect",
           304: "Not Modified", 400: "Bad Request", 404: "Not Found",
           429: "Too Many Requests", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class Drop(Exception):
    """The handler has dealt with the connection itself; close it."""


# Next pages as a server may name them (/badnext): values that end a
# collection, and values that name a page that cannot be followed.
BADNEXT = {"absent": ..., "null": None, "false": False, "empty": "", "object": {"a": 1},
           "array": [1], "true": True, "number": 5, "nul": "a\u0000b",
           "javascript": "javascript:x", "ftp": "ftp://127.0.0.1/x", "ipv6": "http://[::1"}


def head(status, headers, length=None):
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
    for k, v in headers:
        lines.append(f"{k}: {v}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


_BOMB = []
_BOMB_LOCK = threading.Lock()


def gzip_bomb():
    """About 260 KB of gzip that decodes to 256 MiB of zeros (made once)."""
    with _BOMB_LOCK:
        if not _BOMB:
            c = zlib.compressobj(9, zlib.DEFLATED, 31)        # gzip framing
            chunk = bytes(1 << 20)
            _BOMB.append(b"".join(c.compress(chunk) for _ in range(256)) + c.flush())
    return _BOMB[0]


def obj(i):
    return {"id": i, "title": f"post {i}", "done": False,
            "author": {"name": f"user {i}", "geo": {"lat": 1.5, "lng": -0.25}},
            "tags": ["a", "b"]}


def rst(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def wait_or_hangup(reader, seconds):
    """Sleep, but return early (True) if the client closes the connection."""
    try:
        await asyncio.wait_for(reader.read(1), timeout=seconds)
        return True
    except asyncio.TimeoutError:
        return False


async def respond(method, path, q, headers, body, reader, writer):
    """Returns (status, headers, body bytes) or writes itself and raises Drop."""
    js = [("Content-Type", "application/json")]
    if path == "/obj":
        return 200, js, json.dumps(obj(int(q.get("id", 1)))).encode()
    if path == "/array":
        n = int(q.get("n", 3))
        return 200, js, json.dumps([{"id": i, "name": f"item {i}"} for i in range(1, n + 1)]).encode()
    if path == "/wrap":
        n = int(q.get("n", 2))
        return 200, js, json.dumps({"meta": {"page": 1, "total": n},
                                    "data": {"items": [{"id": i} for i in range(1, n + 1)]}}).encode()
    if path == "/case":
        # A document of the conformance corpus, tests/conformance/cases/NAME.json.
        name = q.get("name", "")
        if not re.fullmatch(r"[a-z0-9_]+", name):
            return 400, js, b'{"error":"bad name"}'
        with open(os.path.join(CASES, name + ".json"), encoding="utf-8") as f:
            doc = json.load(f)["doc"]
        return 200, js, json.dumps(doc, ensure_ascii=False).encode()
    if path == "/raw":
        data = bytes.fromhex(q["hex"]) if "hex" in q else q.get("body", "").encode()
        return int(q.get("status", 200)), [("Content-Type", q.get("type", "application/json"))], data
    if path == "/rawresponse":
        writer.write(bytes.fromhex(q.get("hex", "")))
        await writer.drain()
        writer.close()
        raise Drop()
    if path == "/cache":
        return cache_route(method, q, headers, writer)
    if path == "/changes":
        return changes_route(q, headers)
    if path == "/headers":
        # Response headers as data: a repeated one, a mixed-case one, and
        # one that echoes the query's echo= (a secret, in the tests).
        h = list(js) + [("X-Multi", "a"), ("x-multi", "b"), ("X-Request-Id", q.get("id", "r1")),
                        ("Set-Cookie", "session=s1")]
        if "echo" in q:
            h.append(("X-Echo", q["echo"]))
        for i in range(int(q.get("pad", 0))):       # pad=N: N lines of 80,000 bytes
            h.append((f"X-Pad-{i}", "p" * 80000))
        code = int(q.get("status", 200))
        return code, h, json.dumps({"id": q.get("id", "r1"), "status": code}).encode()
    if path.startswith("/status/"):
        code = int(path[8:])
        if code < 200 or code > 599:
            return 400, js, b'{"error":"bad status"}'
        return code, js, b"" if code in (204, 304) else json.dumps({"status": code}).encode()
    if path == "/flaky":
        key = q.get("key", "")
        n = FLAKY[key] = FLAKY.get(key, 0) + 1
        if n <= int(q.get("fail", 1)):
            h = list(js)
            if "retry_after" in q:
                h.append(("Retry-After", q["retry_after"]))
            if "retry_after_date" in q:
                h.append(("Retry-After", email.utils.formatdate(
                    time.time() + float(q["retry_after_date"]), usegmt=True)))
            return int(q.get("code", 503)), h, json.dumps({"error": "flaky", "attempt": n}).encode()
        return 200, js, json.dumps({"key": key, "attempt": n}).encode()
    if path.startswith("/limited/"):
        return limited_route(path[9:], q, writer)
    if path == "/outage":
        key = q.get("key", "")
        t0 = OUTAGE.setdefault(key, time.monotonic())
        if time.monotonic() - t0 < float(q.get("for", 5)):
            code = q.get("code", "503")
            if code == "reset":
                rst(writer)
                raise Drop()
            if code == "hang":
                await reader.read()
                raise Drop()
            return int(code), js, json.dumps({"error": "outage", "key": key}).encode()
        return 200, js, json.dumps(obj(int(q.get("id", 1)))).encode()
    if path == "/reset":
        rst(writer)
        raise Drop()
    if path == "/reset_mid":
        writer.write(head(200, js, 100000) + b"[" + b" " * 999)
        await writer.drain()
        await asyncio.sleep(0.05)
        rst(writer)
        raise Drop()
    if path == "/truncated":
        writer.write(head(200, js, 100) + b'{"partial":')
        await writer.drain()
        writer.close()
        raise Drop()
    if path == "/text":
        return 200, [("Content-Type", "text/plain")], b"hello, this is not json"
    if path == "/html":
        return 200, [("Content-Type", "text/html")], b"<html><body>nope</body></html>"
    if path == "/ndjson":
        await send_ndjson(writer, q, method == "HEAD")
        raise Drop()
    if path == "/huge":
        await send_huge(writer, float(q.get("mb", 1)), q.get("chunked") == "1", method == "HEAD")
        raise Drop()
    if path == "/redirect":
        return int(q.get("code", 302)), [("Location", q.get("to", "/obj"))] + js, b"{}"
    if path == "/items":
        # A collection of `total` items: ?page=N&per_page=K (1-based pages)
        # or ?offset=O&limit=K; the body says meta.total_pages and
        # meta.total, the headers X-Total-Count and Link next/last.
        total, per = int(q.get("total", 45)), int(q.get("per_page", q.get("limit", 10)))
        pages = max(1, -(-total // per))
        if "offset" in q:
            start, page = int(q["offset"]), int(q["offset"]) // per + 1
        else:
            page = int(q.get("page", 1))
            start = (page - 1) * per
        if q.get("fail_page") == str(page):
            return 500, js, b'{"error":"this page fails"}'
        data = [{"id": i + 1, "name": f"item {i + 1}"} for i in range(start, min(total, start + per))]
        extra = "&".join(f"{k}={v}" for k, v in q.items() if k not in ("page", "offset"))
        link = []
        if page < pages:
            link.append(f'</items?page={page + 1}&{extra}>; rel="next"')
        link.append(f'</items?page={pages}&{extra}>; rel="last"')
        hdr = js + [("X-Total-Count", str(total)), ("Link", ", ".join(link))]
        return 200, hdr, json.dumps({"data": data, "meta": {"page": page, "per_page": per,
                                     "total_pages": pages, "total": total}}).encode()
    if path == "/bighdr":
        # One header line of kb KiB (libcurl refuses a line over 100 KiB).
        return 200, js + [("X-Big", "x" * (int(q.get("kb", 1)) * 1024))], b'{"ok":1}'
    if path == "/links":
        # Link headers in the forms RFC 8288 allows, for the link paginator:
        # ?p=N&n=K&style=S, pages 0..K-1, body [{"p": N}].  style: plain;
        # quoted (a parameter holding a comma and a semicolon before rel);
        # several (other links first, rel in capitals among others); twice
        # (a first link whose second rel says next, which must be ignored);
        # cycle (the last page links back to page 0).
        p, n, style = int(q.get("p", 0)), int(q.get("n", 3)), q.get("style", "plain")
        nxt = p + 1 if p + 1 < n else (0 if style == "cycle" else None)
        link = []
        if nxt is not None:
            target = f"/links?p={nxt}&n={n}&style={style}"
            if style == "quoted":
                link.append(f'<{target}>; title="page, next; really"; rel="next"')
            elif style == "several":
                link.append('<https://other.example/doc,1>; rel="describedby"')
                link.append(f'</links?p=0&n={n}&style={style}>; rel=first')
                link.append(f'<{target}>; rel="prev NEXT"')
            elif style == "twice":
                link.append('</nowhere>; rel="prev"; rel="next"')
                link.append(f'<{target}>; rel=next')
            else:
                link.append(f'<{target}>; rel="next"')
        return 200, js + ([("Link", ", ".join(link))] if link else []), \
            json.dumps([{"p": p}]).encode()
    if path == "/cursor":
        # Cursor pagination: ?cursor=C (an item number), per=K, total=T;
        # next_cursor and links.next (a relative URL) until the end.
        total, per = int(q.get("total", 25)), int(q.get("per", 10))
        start = int(q.get("cursor", "0") or 0)
        items = [{"id": i + 1} for i in range(start, min(total, start + per))]
        nxt = start + per if start + per < total else None
        keep = "&".join(f"{k}={v}" for k, v in q.items() if k != "cursor")
        return 200, js, json.dumps({"items": items, "next_cursor": str(nxt) if nxt else None,
                                    "links": {"next": f"cursor?cursor={nxt}&{keep}" if nxt else None}
                                    }).encode()
    if path == "/graphql":
        # POST {"query": "...", "variables": {"first": N}}: N users under data.users.
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return 400, js, b'{"errors":[{"message":"body is not JSON"}]}'
        if method != "POST" or "users" not in str(req.get("query", "")):
            return 400, js, b'{"errors":[{"message":"expected a POST with a users query"}]}'
        n = int((req.get("variables") or {}).get("first", 2))
        return 200, js, json.dumps({"data": {"users": [
            {"id": i, "name": f"user {i}", "address": {"city": f"city {i % 3}"}}
            for i in range(1, n + 1)]}}).encode()
    if path == "/relay":
        return relay_route(method, q, body)
    if path == "/search":
        return search_route(method, q, body)
    if path == "/loop":
        return 302, [("Location", "/loop")] + js, b"{}"
    if path == "/gzipbomb":
        # A small body that decodes to 256 MiB of zeros.
        return 200, js + [("Content-Encoding", "gzip")], await asyncio.to_thread(gzip_bomb)
    if path == "/redirects":
        n = int(q.get("n", 1))
        if n <= 0:
            return 200, js, json.dumps(obj(0)).encode()
        return 302, [("Location", f"/redirects?n={n - 1}")] + js, b"{}"
    if path == "/rbase/a/start":
        return 302, [("Location", q.get("to", "") + "/rbase/b/page1")] + js, b"{}"
    if path == "/rbase/b/page1":
        return 200, js + [("Link", '<page2>; rel="next"')], \
            json.dumps({"items": [{"p": "b1"}], "next": "page2"}).encode()
    if path in ("/rbase/b/page2", "/rbase/a/page2"):
        auth = "authorization" in headers
        return 200, js, json.dumps({"items": [{"p": path[7] + "2", "auth": auth}],
                                    "next": None}).encode()
    if path == "/badnext":
        v = BADNEXT[q.get("v", "absent")]
        meta = {} if v is ... else {"next": v}
        link = [("Link", f'<{v}>; rel="next"')] if isinstance(v, str) and v and "\0" not in v else []
        return 200, js + link, json.dumps({"items": [{"v": q.get("v")}], "meta": meta}).encode()
    if path.startswith("/oauth/"):
        return oauth_route(path, q, headers, body)
    if path == "/echo":
        return 200, js, json.dumps({"method": method, "path": path, "query": q,
                                    "headers": headers,
                                    "body": body.decode("utf-8", "replace")}).encode()
    if path == "/hang":
        await reader.read()       # until the client hangs up
        raise Drop()
    if path == "/bigstring":
        n = int(float(q.get("mb", 1)) * 2**20)
        return 200, js, b'{"id":1,"s":"' + b"x" * n + b'"}'
    if path == "/nested":
        d = int(q.get("depth", 1000))
        return 200, js, b"[" * d + b"]" * d
    if path == "/slow":
        n, bps = int(q.get("bytes", 10)), float(q.get("bps", 1))
        writer.write(head(200, js, n))
        for _ in range(n):
            if await wait_or_hangup(reader, 1 / bps):
                raise Drop()
            writer.write(b" ")
            await writer.drain()
        raise Drop("done")
    return 404, js, b'{"error":"not found"}'


LIMIT_FORMS = ("github", "ietf", "draft", "retry_after", "none")


def relay_cursor(i):
    """An opaque Relay cursor, as servers make them: base64 of an offset."""
    return base64.b64encode(f"arrayconnection:{i}".encode()).decode()


def relay_route(method, q, body):
    """A GraphQL Relay connection (the Cursor Connections spec) over items
    1..total; the page after the cursor "after", "first" items long."""
    js = [("Content-Type", "application/json")]
    try:
        req = json.loads(body or b"{}")
        var = req.get("variables") or {}
        first = int(var.get("first", 10))
        after = var.get(q.get("var", "after"))
        start = 0 if after is None else \
            int(base64.b64decode(after).decode().split(":")[1]) + 1
    except (ValueError, TypeError, IndexError, AttributeError):
        return 200, js, b'{"errors":[{"message":"bad request body or cursor"}],"data":null}'
    if method != "POST":
        return 405, js, b'{"errors":[{"message":"POST a GraphQL query"}]}'
    total, style = int(q.get("total", 25)), q.get("style", "")
    edges = [{"cursor": relay_cursor(i), "node": {"id": i + 1}}
             for i in range(start, min(total, start + first))]
    more = start + first < total
    end = edges[-1]["cursor"] if edges else None
    if style == "nocursor" and more:
        end = None
    if style == "again":
        end, more = relay_cursor(first - 1), True
    return 200, js, json.dumps({"data": {"items": {
        "edges": edges, "pageInfo": {"hasNextPage": more, "endCursor": end}}}}).encode()


def search_route(method, q, body):
    """Numbered and cursor pages asked for in a JSON POST body."""
    js = [("Content-Type", "application/json")]
    try:
        req = json.loads(body or b"{}")
        limit = int(req.get("limit", 10))
        if "page" in req:
            start = (int(req["page"]) - 1) * limit
        elif "offset" in req:
            start = int(req["offset"])
        else:
            start = int(req.get("cursor") or 0)
    except (ValueError, TypeError, AttributeError):
        return 400, js, b'{"error":"bad request body"}'
    if method != "POST":
        return 405, js, b'{"error":"POST the search"}'
    total = int(q.get("total", 25))
    items = [{"id": i + 1} for i in range(max(start, 0), min(total, start + limit))]
    nxt = start + limit if start + limit < total else None
    got = {k: req[k] for k in ("page", "offset", "cursor") if k in req}
    return 200, js, json.dumps({"data": items, "got": got, "meta": {
        "total": total, "total_pages": -(-total // limit),
        "next_cursor": str(nxt) if nxt else None}}).encode()


def limited_route(form, q, writer):
    """/limited/FORM: a fixed-window limit per client address and key, told
    in one of the forms real APIs use (the module docstring lists them)."""
    js = [("Content-Type", "application/json")]
    if form not in LIMIT_FORMS:
        return 404, js, json.dumps({"error": "no such form", "forms": LIMIT_FORMS}).encode()
    limit, window = int(q.get("limit", 100)), int(q.get("window", 1))
    if limit < 1 or window < 1:
        return 400, js, b'{"error":"limit and window must be positive integers"}'
    peer = writer.get_extra_info("peername")
    slot = ((peer[0] if peer else ""), q.get("key", ""))
    now = time.time()
    k = int(now // window)
    state = LIMITED.get(slot)
    if state is None or state[0] != k:
        state = LIMITED[slot] = [k, 0]
    ok = state[1] < limit
    if ok:
        state[1] += 1
    end = (k + 1) * window
    left = limit - state[1]
    delta = max(0, math.ceil(end - now))
    h = list(js)
    if form == "github":
        h += [("X-RateLimit-Limit", str(limit)), ("X-RateLimit-Remaining", str(left)),
              ("X-RateLimit-Used", str(state[1])), ("X-RateLimit-Reset", str(end)),
              ("X-RateLimit-Resource", "core")]
    elif form == "ietf":
        h += [("RateLimit-Policy", f'"default";q={limit};w={window}'),
              ("RateLimit", f'"default";r={left};t={delta}')]
    elif form == "draft":
        h += [("RateLimit-Limit", str(limit)), ("RateLimit-Remaining", str(left)),
              ("RateLimit-Reset", str(delta))]
    elif form == "retry_after" and not ok:
        h.append(("Retry-After", str(max(1, delta))))
    if not ok:
        return 429, h, json.dumps({"error": "rate limit exceeded", "limit": limit,
                                   "window": window}).encode()
    return 200, h, json.dumps(obj(int(q.get("id", 1)))).encode()


def oauth_route(path, q, headers, body):
    js = [("Content-Type", "application/json")]
    realm = OAUTH.setdefault(q.get("realm", "r"), {"valid": set(), "issued": 0, "log": []})
    if path == "/oauth/token":
        realm["log"].append({"auth": headers.get("authorization"), "form": body.decode()})
        if "fail" in q:
            return int(q["fail"]), js, json.dumps({"error": "invalid_client",
                                                   "error_description": "unknown client"}).encode()
        realm["issued"] += 1
        tok = "%s-%d" % (q.get("realm", "r"), realm["issued"])
        realm["valid"].add(tok)
        return 200, js, json.dumps({"access_token": tok, "token_type": "Bearer",
                                    "expires_in": float(q.get("exp", 3600))}).encode()
    if path == "/oauth/api":
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in realm["valid"]:
            return 401, js + [("WWW-Authenticate", 'Bearer error="invalid_token"')], b'{"error": 401}'
        page = dict(obj(int(q.get("id", 1))), token=auth[7:])
        if q.get("quote") == "1":       # a next page whose URL quotes the token
            page["next"] = "/oauth/api?realm=%s&id=2&seen=%s" % (q.get("realm", "r"), auth[7:])
            if "next_status" in q:      # ... and that answers this status
                page["next"] += "&status=" + q["next_status"]
        return int(q.get("status", 200)), js, json.dumps(page).encode()
    if path == "/oauth/revoke":
        realm["valid"].clear()
        return 200, js, b"{}"
    if path == "/oauth/log":
        return 200, js, json.dumps(realm["log"]).encode()
    return 404, js, b"{}"


def changes_items(step):
    """The /changes data set at a step: {id: item}."""
    items = {i: {"id": i, "name": f"item {i}", "rev": 0,
                 "updated_at": f"2024-03-01T00:{i:02d}:00Z"} for i in range(1, 26)}
    for k in range(1, step + 1):
        for j, i in enumerate((k, k + 10, k + 20, 25 + k), 1):
            items[i] = {"id": i, "name": f"item {i} rev {k}", "rev": k,
                        "updated_at": f"2024-03-01T{k:02d}:{j:02d}:00Z"}
    return items


def changes_route(q, headers):
    """The items changed since q["since"], a page of them, with an ETag."""
    if FAIL["code"]:
        code = 503 if FAIL["code"] == "reset" else int(FAIL["code"])
        return code, [("Content-Type", "application/json")], b'{"error":"failing"}'
    since = q.get("since", "")
    page, per = max(1, int(q.get("page", 1))), max(1, int(q.get("per_page", 10)))
    changed = sorted((it for it in changes_items(CHANGES["step"]).values()
                      if it["updated_at"] > since), key=lambda it: (it["updated_at"], it["id"]))
    body = json.dumps({"data": changed[(page - 1) * per:page * per],
                       "meta": {"page": page, "per_page": per, "total": len(changed),
                                "total_pages": max(1, -(-len(changed) // per)),
                                "step": CHANGES["step"]}}).encode()
    etag = '"%08x"' % zlib.crc32(body)
    h = [("ETag", etag), ("Cache-Control", "no-cache")]
    if headers.get("if-none-match") == etag:
        STATS["not_modified"] += 1
        return 304, h, b""
    return 200, [("Content-Type", "application/json")] + h, body


def cache_route(method, q, headers, writer):
    """A cacheable object, with the caching headers the query asks for."""
    if "x-trace" in headers:
        q = dict(q, **dict(urllib.parse.parse_qsl(headers["x-trace"])))
    if FAIL["code"] == "reset":
        rst(writer)
        raise Drop()
    if FAIL["code"]:
        return int(FAIL["code"]), [("Content-Type", "application/json")], b'{"error":"failing"}'
    inm, ims = headers.get("if-none-match"), headers.get("if-modified-since")
    if "fail_conditional" in q and (inm is not None or ims is not None):
        if q["fail_conditional"] == "reset":
            rst(writer)
            raise Drop()
        return int(q["fail_conditional"]), [("Content-Type", "application/json")], b'{"error":"failing"}'
    h = []
    if "cc" in q:
        h.append(("Cache-Control", q["cc"]))
    if "etag" in q:
        h.append(("ETag", '"%s"' % q["etag"]))
    if "lm" in q:
        h.append(("Last-Modified", email.utils.formatdate(float(q["lm"]), usegmt=True)))
    if "expires" in q:
        h.append(("Expires", email.utils.formatdate(time.time() + float(q["expires"]), usegmt=True)))
    if "location" in q:
        h.append(("Location", q["location"]))
    if "content_location" in q:
        h.append(("Content-Location", q["content_location"]))
    if "expires_raw" in q:          # as given; "|" separates field lines
        h.extend(("Expires", v) for v in q["expires_raw"].split("|"))
    if "vary" in q:
        h.append(("Vary", q["vary"]))
    if "age" in q:
        h.append(("Age", q["age"]))
    if "cookie" in q:
        h.append(("Set-Cookie", "session=%s; HttpOnly" % q["cookie"]))
    fresh = False
    if "etag" in q and inm is not None:
        fresh = inm == '"%s"' % q["etag"]
    elif "lm" in q and ims is not None:
        t = email.utils.parsedate_to_datetime(ims).timestamp()
        fresh = t >= float(q["lm"])
    if fresh:
        STATS["not_modified"] += 1
        # vary304=V, cc304=S: the 304 says Vary V and Cache-Control S instead
        # (a server that starts to vary, or changes its policy, meanwhile)
        h = [(k, v) for k, v in h if not (k == "Vary" and "vary304" in q)
             and not (k == "Cache-Control" and "cc304" in q)]
        if "vary304" in q:
            h.append(("Vary", q["vary304"]))
        if "cc304" in q:
            h.append(("Cache-Control", q["cc304"]))
        return 304, h, b""
    body = dict(obj(int(q.get("id", 1))), etag=q.get("etag"))
    if "body" in q:
        body["body"] = q["body"]
    return int(q.get("status", 200)), [("Content-Type", "application/json")] + h, json.dumps(body).encode()


def ndjson_line(i, bad):
    if i in bad:
        return b'{"id": %d, "name": oops}\n' % i
    return b'{"id": %d, "name": "line %d", "tags": ["a"], "geo": {"lat": 1.5}}\n' % (i, i)


async def send_ndjson(writer, q, head_only):
    bad = {int(x) for x in q.get("bad", "").split(",") if x}
    blank = b"\n" if q.get("blank") == "1" else b""
    if "mb" in q:
        n = max(1, int(float(q["mb"]) * 1024 * 1024 / len(ndjson_line(1, ()))))
    else:
        n = int(q.get("n", 3))
    cut = int(q.get("cut", 0))
    hdrs = [("Content-Type", q.get("type", "application/x-ndjson"))]
    if cut:
        writer.write(head(200, hdrs, sum(len(ndjson_line(i, bad) + blank) for i in range(1, n + 1))))
    else:
        writer.write(head(200, hdrs + [("Transfer-Encoding", "chunked")]))
    if head_only:
        return
    if "long" in q:
        pad = int(q["long"])
        for k, piece in enumerate([b'{"id": 0, "pad": "'] + [b"x" * 16384] * (pad // 16384)
                                  + [b'"}\n']):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            if k % 64 == 0:
                await writer.drain()
    block = []
    for i in range(1, n + 1):
        block.append(ndjson_line(i, bad) + blank)
        if len(block) == 500 or i == n or i == cut:
            data = b"".join(block)
            block = []
            writer.write(data if cut else b"%x\r\n%s\r\n" % (len(data), data))
            await writer.drain()
        if i == cut:
            writer.close()
            return
    writer.write(b"0\r\n\r\n")
    await writer.drain()


async def send_huge(writer, mb, chunked, head_only):
    elem = b'{"id":123456,"name":"' + b"x" * 90 + b'"},'   # 111 bytes
    count = max(1, int(mb * 1024 * 1024 / len(elem)))
    total = 1 + len(elem) * count          # "[" + elements, last "," becomes "]"
    hdrs = [("Content-Type", "application/json")]
    if chunked:
        writer.write(head(200, hdrs + [("Transfer-Encoding", "chunked")]))
    else:
        writer.write(head(200, hdrs, total))
    if head_only:
        return
    per = max(1, 65536 // len(elem))
    first = True
    sent = 0
    while sent < count:
        k = min(per, count - sent)
        block = (b"[" if first else b"") + elem * k
        sent += k
        if sent == count:
            block = block[:-1] + b"]"
        first = False
        writer.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
        await writer.drain()
    if chunked:
        writer.write(b"0\r\n\r\n")
        await writer.drain()


async def read_request(reader):
    line = await reader.readline()
    if not line:
        return None
    try:
        method, target, _version = line.decode("latin-1").split()
    except ValueError:
        raise ValueError("bad request line")
    headers = {}
    while True:
        h = await reader.readline()
        if not h:
            return None
        if h in (b"\r\n", b"\n"):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    body = b""
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                break
            body += await reader.readexactly(size)
            await reader.readline()
    return method, target, headers, body


async def handle(reader, writer):
    counted = -1              # the reset after which it last served a counted request
    try:
        while True:
            try:
                req = await read_request(reader)
            except (ValueError, asyncio.IncompleteReadError):
                writer.write(head(400, [("Connection", "close")], 0))
                break
            if req is None:
                break
            method, target, headers, body = req
            url = urllib.parse.urlsplit(target)
            q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            if url.path == "/stats":
                data = json.dumps(STATS).encode()
                writer.write(head(200, [("Content-Type", "application/json")], len(data)) + data)
                await writer.drain()
                continue
            if url.path == "/stats/fail":
                code = q.get("code", "503")
                FAIL["code"] = code if code == "reset" else int(code)
                writer.write(head(200, [("Content-Type", "application/json")], 11) + b'{"ok":true}')
                await writer.drain()
                continue
            if url.path == "/stats/advance":
                CHANGES["step"] += 1
                data = json.dumps({"step": CHANGES["step"]}).encode()
                writer.write(head(200, [("Content-Type", "application/json")], len(data)) + data)
                await writer.drain()
                continue
            if url.path == "/stats/reset":
                STATS.update(max_inflight=STATS["inflight"], connections=0, requests=0, keys={},
                             not_modified=0, body_bytes=0, by_key={})
                FLAKY.clear()
                LIMITED.clear()
                OUTAGE.clear()
                CHANGES["step"] = 0
                CHANGES["resets"] += 1
                writer.write(head(200, [("Content-Type", "application/json")], 14) + b'{"reset":true}')
                await writer.drain()
                continue
            STATS["requests"] += 1
            if counted != CHANGES["resets"]:
                STATS["connections"] += 1
                counted = CHANGES["resets"]
            per = None
            if "key" in q:
                STATS["keys"][q["key"]] = STATS["keys"].get(q["key"], 0) + 1
                per = STATS["by_key"].setdefault(q["key"], {"requests": 0, "inflight": 0,
                                                            "max_inflight": 0, "status": {}})
                per["requests"] += 1
                per["inflight"] += 1
                per["max_inflight"] = max(per["max_inflight"], per["inflight"])
            STATS["inflight"] += 1
            STATS["max_inflight"] = max(STATS["max_inflight"], STATS["inflight"])
            try:
                if "delay" in q and await wait_or_hangup(reader, int(q["delay"]) / 1000):
                    raise Drop()
                status, hdrs, data = await respond(method, url.path, q, headers, body, reader, writer)
                if per is not None:
                    per["status"][str(status)] = per["status"].get(str(status), 0) + 1
                if method == "HEAD":
                    writer.write(head(status, hdrs, len(data)))
                else:
                    writer.write(head(status, hdrs, len(data)) + data)
                    STATS["body_bytes"] += len(data)
                await writer.drain()
            finally:
                STATS["inflight"] -= 1
                if per is not None:
                    per["inflight"] -= 1
            if headers.get("connection", "").lower() == "close":
                break
    except Drop:
        pass
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = await asyncio.start_server(handle, "127.0.0.1", args.port, backlog=8192,
                                        limit=1 << 20)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
