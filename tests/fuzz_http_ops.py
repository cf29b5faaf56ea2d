#!/usr/bin/python3
"""The responses of the hostile-server fuzz run (tests/fuzz_http.py serves
them): a valid JSON page for each collection kind, the mutation operators
that break it, and the bytes that result.  Pure functions of the request:

    r = build(seed, kind, page, hop, attempt, path, query)   # a Resp
    data = serialize(r)                                      # its bytes
    r.ops, r.delivery, r.keep_alive, r.expect_next, r.expect_pages

How a response is delivered (r.delivery: all at once, dripped, cut, reset,
never) and whether the connection stays open (r.keep_alive) is decided
here and carried out by the server.  PORTS must hold the server's two ports
(main, alt): absolute links and redirects point at them.

Collections (kind): none (an array of records), link (an array + a Link
header), next ({"items", "links": {"next"}}), cursor ({"items",
"next_cursor"}), page ({"data", "meta": {"total_pages"}}, X-Total-Count =
PER_PAGE x pages, Link rel="last"); a seed fixes how many pages (1..6).
Each operator is in OPS with a weight and the kinds it applies to; plan()
says which apply to a page, build() applies them.
"""
import json
import random
import urllib.parse
import zlib

KINDS = ("none", "link", "next", "cursor", "page")
PER_PAGE = 3           # items per page that X-Total-Count counts in
PORTS = [0, 0]         # main, alt: set by the server once it listens


# ---------------------------------------------------------------------------
# The valid response, before mutation

class Resp:
    """One response, described in parts so that operators can break any of
    them; serialize() turns it into bytes."""

    def __init__(self):
        self.pre = b""              # sent before the status line (1xx responses, garbage)
        self.version = b"HTTP/1.1"
        self.status = 200
        self.reason = b"OK"
        self.status_line = None     # bytes: replaces version/status/reason
        self.no_head = False        # HTTP/0.9: no status line, no headers
        self.headers = []           # (name, value) bytes pairs, or raw lines (bytes)
        self.body = b""             # the entity (before content coding)
        self.coded = None           # bytes on the wire if a content coding was applied
        self.framing = "cl"         # cl, chunked, close (read to EOF), raw (as given)
        self.cl_values = None       # Content-Length values to send instead of the true one
        self.chunker = None         # function(bytes) -> bytes for chunked framing
        self.keep_alive = True      # keep reading requests on this connection afterwards
        self.eol = b"\r\n"
        self.delivery = ("all", 0, 0)  # all, drip, slow, cut, rst, hang, nothing
        self.ops = []               # names of the operators applied
        self.decoy = False
        self.expect_next = None
        self.expect_pages = None


def page_info(seed, kind):
    """How many pages the seed's collection has (1..6)."""
    return random.Random(f"{seed}:pages").randint(1, 6)


def base_url(port=None):
    return f"http://127.0.0.1:{port or PORTS[0]}"


def make_records(rng, seed, p, n):
    recs = []
    for r in range(n):
        recs.append({"id": seed * 100 + p * 10 + r, "name": f"s{seed} p{p} r{r}",
                     "v": rng.choice([1, 2.5, "x", True, None, [1, 2], {"k": r}])})
    return recs


def next_ref(rng, path, q, p, port=None):
    """A reference to page p of the same collection: absolute, relative,
    query-only, network-path or on the other port.  All are valid."""
    q2 = dict(q)
    q2.pop("h", None)
    q2["p"] = str(p)
    if path.startswith("/r/"):
        # Served after a redirect "elsewhere": a relative reference resolved
        # against the URL first asked for, not this one, arrives at /f/
        # with via=r (RFC 3986 section 5.1.3: the base is the last URI used).
        q2["via"] = "r"
    qs = urllib.parse.urlencode(q2)
    form = rng.choice(["abs", "abs", "rel", "query", "netpath", "alt"])
    if port:
        form = "abs"
    if form == "abs":
        return f"{base_url(port)}{path}?{qs}"
    if form == "rel":
        return f"{path.rsplit('/', 1)[1]}?{qs}"
    if form == "query":
        return f"?{qs}"
    if form == "netpath":
        return f"//127.0.0.1:{PORTS[0]}{path}?{qs}"
    return f"{base_url(PORTS[1])}{path}?{qs}"


def decoy_url(path, q, why):
    q2 = dict(q)
    q2["d"] = why
    return f"{base_url()}{path}?{urllib.parse.urlencode(q2)}"


def valid_response(rng, seed, kind, p, path, q):
    """The response a well-behaved server would send for page p."""
    r = Resp()
    npages = page_info(seed, kind)
    last = p >= npages - 1
    n = 0 if p >= npages else rng.choice([1, 2, 3, 3])
    if last and p > 0 and rng.random() < 0.3:
        n = 0                                   # an empty last page
    recs = make_records(rng, seed, p, n)
    r.headers.append((b"Content-Type", b"application/json"))
    if kind in ("none", "link"):
        doc = recs
        if kind == "link" and not last:
            ref = next_ref(rng, path, q, p + 1)
            links = [f'<{ref}>; rel="next"']
            if p > 0:
                links.insert(0, f'<{next_ref(rng, path, q, p - 1)}>; rel="prev"')
            r.headers.append((b"Link", ", ".join(links).encode()))
            r.expect_next = p + 1 if n else None
    elif kind == "next":
        doc = {"items": recs, "links": {"next": None if last else next_ref(rng, path, q, p + 1)}}
        r.expect_next = None if last or not n else p + 1
    elif kind == "cursor":
        cur = None
        if not last:
            cur = rng.choice([f"c{p + 1}", f"c{p + 1}~a b&c=d%/\u00e9", f"c{p + 1}~{'z' * 200}"])
        doc = {"items": recs, "next_cursor": cur}
        r.expect_next = None if last or not n else p + 1
    else:                                       # page: 1-based ?page=N
        doc = {"data": recs, "meta": {"page": p + 1, "total_pages": npages}}
        r.headers.append((b"X-Total-Count", str(npages * PER_PAGE).encode()))
        q2 = {k: v for k, v in q.items() if k not in ("page", "h")}
        q2["page"] = str(npages)
        r.headers.append((b"Link", f'<{path}?{urllib.parse.urlencode(q2)}>; rel="last"'.encode()))
        if p == 0 and n:
            r.expect_pages = npages
    r.body = json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode()
    r.doc = doc
    return r


# ---------------------------------------------------------------------------
# Mutation operators: each takes (resp, rng, ctx) and changes resp

def set_header(r, name, value):
    r.headers = [h for h in r.headers if not (isinstance(h, tuple) and h[0].lower() == name.lower())]
    if value is not None:
        r.headers.append((name, value))


GARBAGE_STATUS = [b"GARBAGE", b"", b" ", b"HTTP/1.1", b"HTTP/1.1 ", b"HTTP/1.1 abc OK",
                  b"HTTP/1.1 2OO OK", b"HTTP/1.1 -200 OK", b"HTTP/1.1 0200 OK",
                  b"HTTP/1.1 99999999999999999999 Big", b"HTTP/1.1 2000000000 Huge",
                  b"HTTP/1.1 200", b"HTTP/1.1  200 OK", b"HTTP/1.1\t200\tOK", b"http/1.1 200 ok",
                  b"HTTP/1.1 200 OK\x00junk", b"HTTP/1.1 200 \xff\xfe\x80", b"ICY 200 OK",
                  b"HTTP/ 200 OK", b"HTTP/1 200 OK", b"HTTP/1.1 20 OK", b"HTTP/1.1 2000 OK",
                  b"HTTP/1.1 2e2 OK", b"HTTP/1.1 +200 OK", b"\x16\x03\x01\x00\x05hello",
                  b"HTTP/1.1 200 OK " + b"x" * 70000]
ODD_STATUS = [0, 1, 99, 100, 101, 102, 199, 201, 203, 205, 206, 226, 299, 300, 305, 306,
              399, 400, 401, 403, 404, 405, 410, 418, 451, 499, 501, 505, 599, 600, 999, 1000,
              65535, 65536, 4294967296]
ODD_VERSION = [b"HTTP/1.0", b"HTTP/2", b"HTTP/2.0", b"HTTP/1.2", b"HTTP/3", b"HTTP/0.9",
               b"HTTP/9.9", b"HTTP/1.10", b"HTTP/01.1", b"HTTP/1.1.1"]


def op_status_garbage(r, rng, ctx):
    r.status_line = rng.choice(GARBAGE_STATUS)


def op_status_http09(r, rng, ctx):
    r.no_head = True
    r.framing = "close"
    r.keep_alive = False


def op_status_1xx(r, rng, ctx):
    parts = []
    for _ in range(rng.choice([1, 1, 2, 5, 50, 500])):
        code = rng.choice([100, 102, 103, 103, 150, 199])
        hdr = b""
        if code == 103 or rng.random() < 0.3:
            hdr = b'Link: </hint>; rel="next"\r\nX-Hint: 1\r\n'
        parts.append(b"HTTP/1.1 %d Info\r\n%s\r\n" % (code, hdr))
    if rng.random() < 0.2:
        parts.append(b"HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nhello")
    r.pre = b"".join(parts)


def op_status_nobody(r, rng, ctx):
    """204 or 304 with a body anyway (and a length that says so, or not)."""
    r.status, r.reason = rng.choice([(204, b"No Content"), (304, b"Not Modified"), (205, b"Reset")])
    if rng.random() < 0.5:
        r.framing = rng.choice(["cl", "chunked", "close"])


def op_status_odd(r, rng, ctx):
    r.status = rng.choice(ODD_STATUS)
    r.reason = b"Odd"


def op_version(r, rng, ctx):
    r.version = rng.choice(ODD_VERSION)
    r.ops[-1] += f"({r.version.decode()})"


def op_retry_after(r, rng, ctx):
    """429 or 503 with a Retry-After, valid or not; on some seeds only the
    first attempt fails, then the page answers."""
    fails = rng.choice([1, 1, 2, 99])
    if ctx["attempt"] > fails:
        r.ops[-1] += "(passed)"
        return
    r.status, r.reason = rng.choice([(429, b"Too Many"), (503, b"Unavailable"), (500, b"Err"),
                                     (502, b"Bad"), (504, b"Gw"), (408, b"Req")])
    values = [b"0", b"1", b"-1", b"1.5", b"abc", b"", b" 1 ", b"99999999999999999999999",
              b"3600", b"Fri, 31 Dec 9999 23:59:59 GMT", b"Mon, 01 Jan 1900 00:00:00 GMT",
              b"Sun, 06 Nov 1994 08:49:37 GMT", b"Sunday, 06-Nov-94 08:49:37 GMT",
              b"Sun Nov  6 08:49:37 1994", b"Wed, 32 Foo 2024 99:99:99 GMT", b"1\x002",
              b"0x10", b"1e3", b"\xff\xfe", b"9" * 100, b"1, 2", b"Thu"]
    for _ in range(rng.choice([1, 1, 2])):
        r.headers.append((b"Retry-After", rng.choice(values)))


def op_hdr_huge(r, rng, ctx):
    size = rng.choice([60000, 100 * 1024 - 20, 100 * 1024 + 10, 200 * 1024, 300 * 1024])
    name = rng.choice([b"X-Big", b"Link", b"Content-Type", b"Retry-After", b"Location",
                       b"X-Total-Count", b"Set-Cookie"])
    r.headers.append((name, b"a" * size))


def op_hdr_many(r, rng, ctx):
    n = rng.choice([500, 1000, 3000, 10000])
    name = rng.choice([b"X-H", b"Link", b"Set-Cookie", b"Content-Type"])
    for k in range(n):
        v = b"%d" % k if name != b"Link" else b'</x%d>; rel="item"' % k
        r.headers.append((name, v))


def op_hdr_fold(r, rng, ctx):
    """obs-fold (RFC 9112 section 5.2): a header continued on the next line."""
    hs = [k for k, h in enumerate(r.headers) if isinstance(h, tuple)]
    target = rng.choice([b"Content-Type", b"Link", b"Content-Length", b"X-Total-Count",
                         b"Retry-After", b"X-Other"])
    if target == b"Content-Length":
        r.cl_values = [b"\r\n %d" % len(r.body)]
        return
    for k in hs:
        name, value = r.headers[k]
        if name == target:
            cut = rng.randint(0, len(value))
            r.headers[k] = name + b": " + value[:cut] + rng.choice([b"\r\n ", b"\r\n\t", b"\r\n   "]) + value[cut:]
            return
    if hs and rng.random() < 0.5:
        r.headers.insert(0, b" leading-fold: at the very first header")
    else:
        r.headers.append(b"X-Other: a\r\n b\r\n\tc")


def op_hdr_ctl(r, rng, ctx):
    """NUL and control bytes in header names and values."""
    for _ in range(rng.randint(1, 3)):
        bad = rng.choice([b"\x00", b"\x01", b"\x1b[31m", b"\x7f", b"\r", b"\x0b", b"\x0c", b"\x00\x00"])
        k = rng.randrange(len(r.headers) + 1)
        if k == len(r.headers) or not isinstance(r.headers[k], tuple):
            r.headers.append(b"X-C" + bad + b"tl: v" + bad + b"w")
        else:
            name, value = r.headers[k]
            cut = rng.randint(0, len(value))
            if rng.random() < 0.7:
                r.headers[k] = (name, value[:cut] + bad + value[cut:])
            else:
                r.headers[k] = (name[:1] + bad + name[1:], value)


def op_hdr_non_utf8(r, rng, ctx):
    bad = rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf5\x80\x80\x80", b"\x80", b"\xe9t\xe9"])
    where = rng.choice([b"Content-Type", b"X-Total-Count", b"Link", b"X-Any"])
    for k, h in enumerate(r.headers):
        if isinstance(h, tuple) and h[0] == where:
            r.headers[k] = (h[0], h[1] + bad)
            return
    r.headers.append((where, b"application/json; x=" + bad))


def op_hdr_syntax(r, rng, ctx):
    """Lines that are not headers: no colon, empty name, space before the
    colon, only spaces, a request line."""
    lines = [b"NoColonHere", b": empty-name", b"Content-Type : application/json",
             b"   ", b"GET / HTTP/1.1", b"X-A:", b":", b"\t", b"HTTP/1.1 200 OK",
             b"Content-Type:application/json", b"X-A:    spaced    "]
    for _ in range(rng.randint(1, 3)):
        r.headers.insert(rng.randrange(len(r.headers) + 1), rng.choice(lines))


def op_eol(r, rng, ctx):
    r.eol = rng.choice([b"\n", b"\r", b"\n\r", b"\r\r\n"])


def op_cl_dup(r, rng, ctx):
    n = len(r.body)
    r.cl_values = rng.choice([
        [b"%d" % n, b"%d" % n], [b"%d" % n, b"%d" % (n + 5)], [b"%d" % (n + 5), b"%d" % n],
        [b"%d, %d" % (n, n)], [b"%d,%d" % (n, n + 1)], [b"-1"], [b"+%d" % n], [b"0x%x" % n],
        [b" %d " % n], [b"99999999999999999999"], [b"18446744073709551616"], [b"1e3"], [b""],
        [b"abc"], [b"%d" % n + b"\x00"], [b"0%d" % n], [b"%d" % (n - 1), b"%d" % n]])
    r.framing = "cl"


def op_te_cl(r, rng, ctx):
    """Transfer-Encoding and Content-Length both (RFC 9112 section 6.3: TE wins)."""
    r.framing = "chunked"
    r.cl_values = [rng.choice([b"%d" % len(r.body), b"0", b"5", b"100000"])]


def op_te_weird(r, rng, ctx):
    te = rng.choice([b"gzip, chunked", b"chunked, gzip", b"chunked, identity", b"identity",
                     b"Chunked", b"CHUNKED", b"chunked ", b"x-unknown", b"chunked, chunked",
                     b"deflate", b"chunkedx", b""])
    r.framing = "raw_chunked" if b"chunked" in te.lower() and rng.random() < 0.7 else "raw"
    r.headers.append((b"Transfer-Encoding", te))
    if rng.random() < 0.3:
        r.headers.append((b"Transfer-Encoding", b"chunked"))


def chunks_of(body, rng):
    out, k = [], 0
    while k < len(body):
        n = rng.choice([1, 2, 7, 100, 4096, len(body)])
        out.append(body[k:k + n])
        k += n
    return out


def op_chunk_fault(r, rng, ctx):
    r.framing = "chunked"
    fault = rng.choice(["bad_size", "negative", "huge", "ext", "spaces", "no_crlf", "truncated",
                        "no_last", "trailers", "big_trailer", "size_over", "size_under",
                        "early_zero", "one_byte", "leading_zeros", "no_final_crlf", "lf_only"])
    r.ops[-1] += f"({fault})"

    def chunker(body):
        parts = chunks_of(body, rng)
        out = []
        for k, c in enumerate(parts):
            size = b"%x" % len(c)
            if fault == "bad_size" and k == 0:
                size = rng.choice([b"zz", b"g", b"", b" ", b"0x%x" % len(c), b"1 2"])
            elif fault == "negative" and k == 0:
                size = b"-%x" % len(c)
            elif fault == "huge" and k == 0:
                size = rng.choice([b"ffffffffffffffffff", b"7fffffffffffffff", b"ffffffff", b"1" + b"0" * 40])
            elif fault == "ext":
                size += rng.choice([b";a=b", b';q="x;y"', b";" + b"e" * 5000, b"; \x00"])
            elif fault == "spaces":
                size = b"  " + size + b"  "
            elif fault == "leading_zeros":
                size = b"0" * rng.choice([5, 100, 10000]) + size
            elif fault == "size_over" and k == len(parts) - 1:
                size = b"%x" % (len(c) + rng.choice([1, 10, 1000]))
            elif fault == "size_under" and k == 0 and len(c) > 1:
                size = b"%x" % (len(c) - 1)
            crlf = b"\r\n"
            if fault == "no_crlf" and k == 0:
                crlf = rng.choice([b"", b"\r", b"\n", b"XX"])
            if fault == "lf_only":
                out.append(size + b"\n" + c + b"\n")
                continue
            out.append(size + b"\r\n" + c + crlf)
            if fault == "early_zero" and k == 0:
                out.append(b"0\r\n\r\n")
                break
            if fault == "truncated" and k == len(parts) // 2:
                out[-1] = out[-1][:max(1, len(out[-1]) // 2)]
                r.keep_alive = False
                return b"".join(out)
        if fault == "no_last":
            r.keep_alive = rng.random() < 0.5
            return b"".join(out)
        end = b"0\r\n"
        if fault == "trailers":
            end += rng.choice([b"X-T: 1\r\n", b"Content-Length: 5\r\nLink: </t>; rel=\"next\"\r\n",
                               b"Bad Trailer\r\n", b"X-T: \x00\r\n"])
        if fault == "big_trailer":
            end += b"X-Big: " + b"t" * rng.choice([1000, 70000, 200000]) + b"\r\n"
        if fault == "no_final_crlf":
            r.keep_alive = False
            return b"".join(out) + end
        if fault == "lf_only":
            return b"".join(out) + b"0\n\n"
        return b"".join(out) + end + b"\r\n"
    r.chunker = chunker


def op_length(r, rng, ctx):
    how = rng.choice(["short_keep", "long_keep", "long_close", "absent_keep", "absent_close",
                      "zero", "short_close"])
    r.ops[-1] += f"({how})"
    n = len(r.body)
    r.framing = "cl"
    if how == "short_keep":
        r.cl_values = [b"%d" % max(0, n - rng.randint(1, max(1, n)))]
    elif how == "short_close":
        r.cl_values = [b"%d" % max(0, n - rng.randint(1, max(1, n)))]
        r.keep_alive = False
    elif how == "long_keep":
        r.cl_values = [b"%d" % (n + rng.choice([1, 10, 100000]))]
    elif how == "long_close":
        r.cl_values = [b"%d" % (n + rng.choice([1, 10, 100000]))]
        r.keep_alive = False
    elif how == "absent_keep":
        r.framing = "raw"
    elif how == "absent_close":
        r.framing = "close"
        r.keep_alive = False
    else:
        r.cl_values = [b"0"]


def deep(depth, rng):
    o, c = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
    return o * depth + b"1" + c * depth


def op_body(r, rng, ctx):
    how = rng.choice(["truncate", "utf8", "deep", "numbers", "nul", "bom", "trailing", "empty",
                      "keys", "surrogates", "flip", "scalars", "big", "many", "dupkeys",
                      "escapes", "huge_string"])
    r.ops[-1] += f"({how})"
    b = r.body
    if how == "truncate":
        r.body = b[:rng.randrange(max(1, len(b)))]
    elif how == "utf8":
        bad = rng.choice([b"\x80", b"\xc0\x80", b"\xed\xa0\x80", b"\xf5\x80\x80\x80", b"\xff",
                          b"\xe2\x82", b"\xf0\x9f\x98", b"\xc3"])
        k = b.find(b'"s') + 1 if b'"s' in b else rng.randrange(len(b) + 1)
        r.body = b[:k] + bad + b[k:]
    elif how == "deep":
        d = rng.choice([999, 1000, 1001, 2000, 100000])
        inner = deep(d, rng)
        r.body = b"[" + inner + b"]" if rng.random() < 0.5 else inner
    elif how == "numbers":
        nums = [b"1e999999", b"-1e999999", b"1" * 5000, b"-0", b"0.0000000000000000000001",
                b"1E+400", b"18446744073709551616", b"-9223372036854775809",
                b"9223372036854775807", b"1.7976931348623157e309", b"01", b"1.", b".5",
                b"-", b"1e", b"NaN", b"Infinity", b"0x10"]
        r.body = b'[{"id": %s, "name": "n", "v": %s}]' % (rng.choice(nums), rng.choice(nums))
    elif how == "nul":
        k = rng.randrange(len(b) + 1)
        r.body = b[:k] + rng.choice([b"\x00", b"\\u0000", b"\x00" * 100]) + b[k:]
    elif how == "bom":
        bom = rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf\xef\xbb\xbf"])
        if rng.random() < 0.7:
            r.body = bom + b
        else:
            k = rng.randrange(len(b) + 1)
            r.body = b[:k] + bom + b[k:]
    elif how == "trailing":
        r.body = b + rng.choice([b"x", b" []", b"\n{}", b"\x00", b",", b"]", b" " * 1000])
    elif how == "empty":
        r.body = rng.choice([b"", b" ", b"\r\n", b"null", b"[]", b"{}", b"0", b'""', b"[null]",
                             b"true", b"[[]]", b"[{}]"])
    elif how == "keys":
        keys = [b"", b"_url", b"_error", b"__i", b"a" * 10000, b"\xc3\xa9", b"a.b", b"a_b",
                b"ID", b"id", b"\\u0000", b"rowid", b"oid", b"_rowid_"]
        rec = b", ".join(b'"%s": %d' % (rng.choice(keys), k) for k in range(rng.randint(1, 20)))
        if rng.random() < 0.3:
            rec = b", ".join(b'"k%d": %d' % (k, k) for k in range(rng.choice([1001, 3000])))
        r.body = b"[{" + rec + b"}]"
    elif how == "surrogates":
        r.body = b'[{"id": 1, "name": "%s"}]' % rng.choice(
            [b"\\ud800", b"\\udfff", b"\\ud800\\ud800", b"\\uDC00x", b"\\u12", b"\\x41", b"\\",
             b"\\uZZZZ", b"\\ud83d\\ude00", b"\\u0000"])
    elif how == "flip":
        ba = bytearray(b)
        for _ in range(rng.randint(1, 5)):
            if ba:
                ba[rng.randrange(len(ba))] = rng.randrange(256)
        r.body = bytes(ba)
    elif how == "scalars":
        r.body = rng.choice([b'[1, "a", null, true, [1], {"id": 2}]', b"[[1, 2], [3]]",
                             b'"just a string"', b"42", b'[{"id": 1}, 5]'])
    elif how == "big":
        # About max_bytes (1 MiB in the run): just under, just over, far over.
        n = rng.choice([1000000, 1048576 - 30, 1048576 + 10, 3 * 1048576])
        pad = max(0, n - 30)
        r.body = b'[{"id": 1, "name": "' + b"x" * pad + b'"}]'
    elif how == "many":
        n = rng.choice([1000, 20000])
        r.body = b"[" + b",".join(b'{"id": %d}' % k for k in range(n)) + b"]"
    elif how == "dupkeys":
        r.body = b'[{"id": 1, "id": 2, "name": "a", "name": {"x": 1}}]'
    elif how == "escapes":
        r.body = b'[{"id": 1, "name": "\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u2028"}]'
    else:
        r.body = b'[{"id": 1, "name": "' + b"\\u00e9" * rng.choice([1000, 100000]) + b'"}]'


_BOMB = []


def gzip_bytes(data):
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def gzip_bomb():
    if not _BOMB:
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        chunk = bytes(1 << 20)
        _BOMB.append(b"".join(c.compress(chunk) for _ in range(32)) + c.flush())
    return _BOMB[0]


def op_coding(r, rng, ctx):
    how = rng.choice(["gzip_plain", "gzip_trunc", "gzip_bomb", "gzip_ok", "gzip_trailing",
                      "deflate_plain", "deflate_raw", "br_garbage", "zstd_garbage", "unknown",
                      "double", "empty_gzip", "identity", "gzip_cut_header"])
    r.ops[-1] += f"({how})"
    b = r.body
    ce = b"gzip"
    if how == "gzip_plain":
        r.coded = b
    elif how == "gzip_trunc":
        g = gzip_bytes(b)
        r.coded = g[:rng.randrange(1, len(g))]
    elif how == "gzip_bomb":
        r.coded = gzip_bomb()
    elif how == "gzip_ok":
        r.coded = gzip_bytes(b)
    elif how == "gzip_trailing":
        r.coded = gzip_bytes(b) + rng.choice([b"junk", gzip_bytes(b), b"\x00" * 10])
    elif how == "deflate_plain":
        ce, r.coded = b"deflate", b
    elif how == "deflate_raw":
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        ce, r.coded = b"deflate", c.compress(b) + c.flush()
    elif how == "br_garbage":
        ce, r.coded = b"br", rng.choice([b, b"\x00\x01\x02garbage"])
    elif how == "zstd_garbage":
        ce, r.coded = b"zstd", rng.choice([b, b"\x28\xb5\x2f\xfd\x00garbage"])
    elif how == "unknown":
        ce, r.coded = rng.choice([b"x-foo", b"compress", b"\x00", b"gzip;q=1"]), b
    elif how == "double":
        ce, r.coded = rng.choice([b"gzip, gzip", b"gzip, deflate", b"identity, gzip"]), gzip_bytes(b)
    elif how == "empty_gzip":
        r.coded = b""
    elif how == "identity":
        ce, r.coded = b"identity", b
    else:
        r.coded = gzip_bytes(b)[:5]
    r.headers.append((b"Content-Encoding", ce))


GARBAGE_LOCATIONS = [b"", b" ", b"http://", b"http://[::1", b"http://[", b"::::", b"\x00",
                     b"http://127.0.0.1:99999/x", b"http://127.0.0.1:-1/x", b"http:x", b"http:/x",
                     b"//", b"///", b"?", b"#", b"\xff\xfe", b"http://user:pw@127.0.0.1:1/",
                     b"http://%zz/", b"http://exa mple/", b"h\x00ttp://x", b"\\\\server\\share",
                     b"http://127.0.0.1:PORT/\r\nX-Injected: 1", b"http://0x7f.1:1/", b"x" * 9000]
SCHEMES = [b"ftp://127.0.0.1/x", b"file:///etc/passwd", b"gopher://127.0.0.1:70/x",
           b"dict://127.0.0.1:1/x", b"ldap://127.0.0.1/x", b"data:text/plain,hi",
           b"javascript:alert(1)", b"telnet://127.0.0.1:1", b"smb://127.0.0.1/x",
           b"HTTP://127.0.0.1:PORT/upper", b"mailto:x@y", b"scp://127.0.0.1/x",
           b"https://127.0.0.1:PORT/x"]


def hop_target(ctx, hop, port=None, path=None):
    q2 = dict(ctx["q"])
    q2["h"] = str(hop)
    return f"{base_url(port)}{path or ctx['path']}?{urllib.parse.urlencode(q2)}".encode()


def op_redirect(r, rng, ctx):
    how = rng.choice(["garbage", "relative", "loop", "chain", "port", "closed", "scheme",
                      "noloc", "huge", "many", "odd3xx", "ipv6", "localhost"])
    # Drawn apart, so that adding it left the draws above as they were.
    if random.Random("{seed}:{kind}:{p}:{h}:elsewhere".format(**ctx)).random() < 0.2:
        how = "elsewhere"
    r.ops[-1] += f"({how})"
    r.status, r.reason = rng.choice([(301, b"Moved"), (302, b"Found"), (303, b"See Other"),
                                     (307, b"Temp"), (308, b"Perm")])
    h = ctx["h"]
    nxt = hop_target(ctx, h + 1)
    loc = None
    if how == "garbage":
        loc = rng.choice(GARBAGE_LOCATIONS).replace(b"PORT", str(PORTS[0]).encode())
    elif how == "relative":
        q2 = dict(ctx["q"])
        q2["h"] = str(h + 1)
        qs = urllib.parse.urlencode(q2).encode()
        leaf = ctx["path"].rsplit("/", 1)[1].encode()
        loc = rng.choice([leaf + b"?" + qs, b"?" + qs, b"./" + leaf + b"?" + qs,
                          b"../" + ctx["path"].split("/")[2].encode() + b"/" + leaf + b"?" + qs,
                          ctx["path"].encode() + b"?" + qs,
                          b"//127.0.0.1:%d" % PORTS[0] + ctx["path"].encode() + b"?" + qs])
    elif how == "loop":
        loc = hop_target(ctx, h)
    elif how == "chain":
        loc = nxt
    elif how == "port":
        loc = hop_target(ctx, h + 1, PORTS[1])
    elif how == "closed":
        loc = b"http://127.0.0.1:9/closed"
    elif how == "scheme":
        loc = rng.choice(SCHEMES).replace(b"PORT", str(PORTS[rng.randrange(2)]).encode())
    elif how == "huge":
        loc = nxt + b"&pad=" + b"x" * rng.choice([10000, 70000, 200000])
    elif how == "many":
        r.headers.append((b"Location", nxt))
        loc = rng.choice([b"http://127.0.0.1:9/second", nxt, b"garbage"])
    elif how == "odd3xx":
        r.status = rng.choice([300, 304, 305, 306, 309, 399])
        loc = nxt
    elif how == "ipv6":
        loc = b"http://[::1]:%d/x" % PORTS[0]
    elif how == "localhost":
        loc = hop_target(ctx, h + 1).replace(b"127.0.0.1", b"localhost")
    elif how == "elsewhere":
        # The same collection under /r/: its relative links must be read
        # against this new URL.
        loc = hop_target(ctx, h + 1, path="/r/" + ctx["path"].split("/", 2)[2])
    if loc is not None:
        r.headers.append((b"Location", loc))


def op_link(r, rng, ctx):
    """Link headers for the link paginator (RFC 8288).  The `oracle` forms
    have one right answer, the next page p+1; decoy URLs (marked d=) must
    never be asked for."""
    path, q, p = ctx["path"], ctx["q"], ctx["p"]
    real = next_ref(rng, path, q, p + 1)
    dec = lambda why: decoy_url(path, q, why)
    oracle = {
        "quoted_comma": f'<{real}>; title="a, b"; rel="next"',
        "quoted_decoy": f'<{dec("quoted")}>; title="x, <{dec("inner")}>; rel=next"; rel="prev", <{real}>; rel="next"',
        "multi_rel": f'<{real}>; rel="prev next"',
        "upper": f'<{real}>; REL=NEXT',
        "bws": f'<{real}> ; rel = "next"',
        "nospace": f'<{real}>;rel=next',
        "prefix_rel": f'<{dec("nextpage")}>; rel="nextpage", <{dec("archive")}>; rel="next-archive", <{real}>; rel="next"',
        "second_rel": f'<{dec("second_rel")}>; rel="prev"; rel="next", <{real}>; rel="next"',
        "escaped_quote": f'<{dec("escaped")}>; title="a\\", <{dec("esc_inner")}>; rel=\\"next"; rel="prev", <{real}>; rel="next"',
        "many_first": ", ".join([f'<{dec("many")}&n={k}>; rel="item"' for k in range(300)] + [f'<{real}>; rel="next"']),
        "split_lines": None,
        "rel_in_url": f'<{dec("rel_in_url")}&rel=next>; rel="prev", <{real}>; rel="next"',
        "title_star": f"<{real}>; title*=UTF-8'de'n%c3%a4chstes; rel=\"next\"",
    }
    fuzzy = {
        "missing_gt": f'<{real}; rel="next"',
        "missing_lt": f'{real}>; rel="next"',
        "empty": "",
        "only_lt": "<",
        "cycle_self": f'<{next_ref(rng, path, q, p)}>; rel="next"',
        "cycle_zero": f'<{next_ref(rng, path, q, 0)}>; rel="next"',
        "huge": f'<{real}>; rel="next"; x="{"y" * rng.choice([1000, 70000, 200000])}"',
        "huge_url": f'<{real}&pad={"z" * rng.choice([5000, 70000])}>; rel="next"',
        "many_next": ", ".join(f'<{next_ref(rng, path, q, p + 1)}>; rel="next"' for _ in range(2000)),
        "garbage_url": f'<{rng.choice(["http://[::1", "ftp://127.0.0.1/x", "file:///etc/passwd", "", " ", "http://127.0.0.1:9/x", "javascript:x"])}>; rel="next"',
        "unterminated_quote": f'<{real}>; rel="next',
        "nul": f'<{real}>; rel="ne\x00xt"',
        "commas": ",,,, ,," + f'<{real}>; rel="next",,,',
    }
    name = rng.choice(list(oracle) + list(fuzzy))
    r.ops[-1] += f"({name})"
    set_header(r, b"Link", None)
    if name == "split_lines":
        r.headers.append((b"Link", f'<{dec("split")}>; rel="prev"'.encode()))
        r.headers.append((b"Link", f'<{real}>; rel="next"'.encode()))
    else:
        v = oracle.get(name, fuzzy.get(name))
        r.headers.append((b"Link", v.encode("utf-8", "surrogateescape")))
    # Only the link paginator reads rel="next"; on the other kinds this is
    # just a header to survive.
    r.link_oracle = name in oracle and ctx["kind"] == "link"
    r.expect_next = p + 1 if r.link_oracle and r.doc else None


def op_total(r, rng, ctx):
    """page: the number of pages, in the body, X-Total-Count or rel="last",
    as something other than a small whole number."""
    values = [10 ** 12, 10 ** 30, -1, 0, 3.5, "3", "abc", None, True, [3], {"n": 3}, "1e3",
              2 ** 63, -(2 ** 63), "", " 4", "4 "]
    v = rng.choice(values)
    where = rng.choice(["body", "header", "last"])
    r.ops[-1] += f"({where}={v!r:.20})"
    if where == "body" and isinstance(getattr(r, "doc", None), dict) and "meta" in r.doc:
        r.doc["meta"]["total_pages"] = v
        r.body = json.dumps(r.doc).encode()
    elif where == "header":
        set_header(r, b"X-Total-Count", rng.choice([b"99999999999999999999", b"-5", b"abc", b"",
                                                    b"12abc", b"0", b"\x00", b"1e3", b" 9"]))
    else:
        q2 = {k: v for k, v in ctx["q"].items() if k not in ("page", "h")}
        q2["page"] = rng.choice(["99999999999999", "-1", "abc", "0", "", "5&page=2", "1.5"])
        set_header(r, b"Link", f'<{ctx["path"]}?{urllib.parse.urlencode(q2, safe="&=")}>; rel="last"'.encode())


def op_next_value(r, rng, ctx):
    """next and cursor: the value the next page comes from, as anything."""
    doc = getattr(r, "doc", None)
    if not isinstance(doc, dict):
        return
    key = "next_cursor" if "next_cursor" in doc else "links"
    values = [None, "", 0, 12, -1, 1.5, True, [1], {"a": 1}, "x" * 100000, "\u0000x",
              "c1\u0000c2", "\ud800", "javascript:alert(1)", "file:///etc/passwd",
              "http://[::1", "http://nonexistent.invalid/x", "http://xn--nxasmq6b.invalid/",
              "http://\u00e9\u00e9.invalid/", " ", "../../..", "#frag", "?", "//",
              "http://127.0.0.1:9/refused", f"http://127.0.0.1:{PORTS[1]}/f/1/next?p=1",
              "http://127.0.0.1:" + str(PORTS[0]) + ctx["path"] + "?" + urllib.parse.urlencode(ctx["q"])]
    v = rng.choice(values)
    r.ops[-1] += f"({v!r:.24})"
    if key == "next_cursor":
        doc["next_cursor"] = v
    else:
        doc["links"] = {"next": v} if rng.random() < 0.8 else v
    # json.dumps writes the NUL and the lone surrogate as \u0000 and \ud800.
    r.body = json.dumps(doc).encode()


def op_deliver(r, rng, ctx):
    how = rng.choice(["drip", "drip", "slow", "cut", "cut", "rst", "rst", "hang", "nothing",
                      "rst_first"])
    r.ops[-1] += f"({how})"
    r.delivery = (how, rng.random(), rng.randint(2, 40))


OPS = [
    # name, weight, kinds (None: all)
    ("status_garbage", 3, None, op_status_garbage),
    ("status_http09", 1, None, op_status_http09),
    ("status_1xx", 2, None, op_status_1xx),
    ("status_nobody", 2, None, op_status_nobody),
    ("status_odd", 2, None, op_status_odd),
    ("version", 2, None, op_version),
    ("retry_after", 3, None, op_retry_after),
    ("hdr_huge", 2, None, op_hdr_huge),
    ("hdr_many", 1, None, op_hdr_many),
    ("hdr_fold", 2, None, op_hdr_fold),
    ("hdr_ctl", 2, None, op_hdr_ctl),
    ("hdr_non_utf8", 2, None, op_hdr_non_utf8),
    ("hdr_syntax", 2, None, op_hdr_syntax),
    ("eol", 1, None, op_eol),
    ("cl_dup", 3, None, op_cl_dup),
    ("te_cl", 2, None, op_te_cl),
    ("te_weird", 2, None, op_te_weird),
    ("chunk_fault", 4, None, op_chunk_fault),
    ("length", 4, None, op_length),
    ("body", 6, None, op_body),
    ("coding", 4, None, op_coding),
    ("redirect", 4, None, op_redirect),
    ("link", 3, ("none", "cursor", "next", "page"), op_link),
    ("link", 10, ("link",), op_link),
    ("deliver", 4, None, op_deliver),
    ("total", 6, ("page",), op_total),
    ("next_value", 6, ("next", "cursor"), op_next_value),
]


# Each operator is drawn on its own, with probability weight x DRAW, from a
# random stream of its own (seed, kind, page, hop, operator name), so that
# adding or changing one operator leaves what every seed does with the
# others as it was: the corpus of seeds keeps its meaning.
DRAW = 0.02


def plan(seed, kind, p, h):
    """The operators for this page and hop, in the order to apply them, as
    (name, function, rng) triples; [] for a clean answer."""
    base = f"{seed}:{kind}:{p}:{h}"
    clean = 0.1 if kind == "none" else (0.35 if p == 0 else 0.5)
    if h >= 4:
        clean = 0.6                    # long redirect chains end, mostly
    if random.Random(base).random() < clean:
        return []
    draws = [(random.Random(f"{base}:{n}").random(), n, w, f)
             for n, w, k, f in OPS if k is None or kind in k]
    chosen = [(n, f) for d, n, w, f in draws if d < w * DRAW]
    if not chosen:                     # not clean, so at least one
        d, n, w, f = min(draws, key=lambda x: x[0] / x[2])
        chosen = [(n, f)]
    random.Random(f"{base}:order").shuffle(chosen)
    return [(n, f, random.Random(f"{base}:{n}:run")) for n, f in chosen]


def build(seed, kind, p, h, attempt, path, q, mutate=True):
    rng0 = random.Random(f"{seed}:{kind}:{p}:base")
    r = valid_response(rng0, seed, kind, p, path, q)
    if not mutate:
        return r
    ctx = {"path": path, "q": q, "p": p, "h": h, "attempt": attempt, "seed": seed, "kind": kind}
    r.link_oracle = False
    for name, fn, rng in plan(seed, kind, p, h):
        r.ops.append(name)
        fn(r, rng, ctx)
    # Only a response with nothing but a well-formed Link (or nothing at
    # all) wrong with it tells what the client must ask for next.
    if any(not (o.startswith("link") and r.link_oracle) and not o.endswith("(passed)")
           for o in r.ops):
        r.expect_next = None
        r.expect_pages = None
    return r


def serialize(r):
    body = r.coded if r.coded is not None else r.body
    if r.no_head:
        return r.pre + body
    if r.status_line is not None:
        lines = [r.status_line]
    else:
        reason = b"" if r.reason is None else b" " + r.reason
        lines = [r.version + b" " + str(r.status).encode() + reason]
    for h in r.headers:
        lines.append(h if isinstance(h, bytes) else h[0] + b": " + h[1])
    if r.framing in ("chunked", "raw_chunked"):
        if r.framing == "chunked":
            lines.append(b"Transfer-Encoding: chunked")
        body = r.chunker(body) if r.chunker else b"".join(
            b"%x\r\n%s\r\n" % (len(c), c) for c in [body] if c) + b"0\r\n\r\n"
    if r.cl_values is not None:
        for v in r.cl_values:
            lines.append(b"Content-Length: " + v if not v.startswith(b"\r\n") else b"Content-Length:" + v)
    elif r.framing == "cl":
        lines.append(b"Content-Length: %d" % len(body))
    if not r.keep_alive and r.framing in ("close",):
        lines.append(b"Connection: close")
    return r.pre + r.eol.join(lines) + r.eol + r.eol + body
