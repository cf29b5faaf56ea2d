"""Issue 20's workloads of tests/bench.py: real-world transport.

bench.py drives these (it is the one to run); this file holds what they
add, so that bench.py keeps its W1-W5 shape:

  tls_setup     a throwaway CA and a server certificate for 127.0.0.1, made
                with openssl in the scratch folder at bench start (only if
                W6-W8 are chosen), and the nginx server blocks that use it:
                one TLS 1.3 listener offering HTTP/1.1 only (ALPN), one
                with `http2`, both serving the same docroot
  wrk_run       W3's wrk peer: the same 20,000 paths /w3/<i>.json walked by
                a Lua request() (each thread from its own offset), the
                same connections (-c C, -t 2), a fixed duration; its
                requests/s is what the W3 target compares
  run_w8        200 statements x 5 URLs on ONE SQLite connection (Python's
                sqlite3 loading the extension, tests/bench_statements.py),
                then the same 1,000 URLs in one statement on that
                connection; HTTP/1.1 and HTTP/2
  run_w9        100,000 URLs at c=5,000 and at c=50 on the same URLs,
                streamed: every url_index exactly once (checked in SQL),
                peak RSS, requests/s; the fd limit raised in the child
                (ulimit -n), or the workload SKIPPED with the reason
  target_lines  the MET / NOT MET lines of W3 (wrk), W6, W7, W8, W9
"""
import json
import os
import re
import resource
import statistics
import subprocess

# Targets (issue 20).
W3_WRK_SHARE = 0.75     # W3: apifetch requests/s >= 75% of wrk's
W6_CURL = 1.5           # W6: apifetch requests/s >= 1.5x curl --parallel's
W6_PYTHON = 20.0        # W6: ... and >= 20x the Python pattern's
W7_CURL = 1.5           # W7: >= 1.5x curl --parallel --http2
W8_RATIO = 2.0          # W8: per-statement cost <= 2x the one-statement cost
WRK_SECONDS = 5         # W3's wrk run, at --scale 1 (at least 2 s)
W9_FD_SLACK = 1000      # W9: fds beyond the concurrency (the shell, SQLite, libcurl)


# ---------------------------------------------------------------- TLS

def tls_setup(scratch):
    """A CA and a certificate for 127.0.0.1 signed by it; returns
    {"dir", "ca", "cert", "key"}.  EC P-256 keys: quick to make, and the
    handshake cost is that of a usual modern server."""
    d = os.path.join(scratch, "tls")
    os.makedirs(d, exist_ok=True)

    def ssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=apifetch bench CA")
    ssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "san.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.cnf")
    return {"dir": d, "ca": os.path.join(d, "ca.pem"), "cert": os.path.join(d, "server.pem"),
            "key": os.path.join(d, "server.key")}


def tls_servers(tls, docroot, ports):
    """nginx server blocks: ports["h1"] TLS with HTTP/1.1 only (no `http2`,
    so ALPN offers none: every client speaks HTTP/1.1, as W6 asks),
    ports["h2"] TLS with `http2`.  TLS 1.3 only; keep-alive as the plain
    listener (keepalive_requests in http{} applies to HTTP/2 too)."""
    out = []
    for kind, port in sorted(ports.items()):
        out.append(f"""
    server {{
        listen 127.0.0.1:{port} ssl{' http2' if kind == 'h2' else ''} backlog=4096;
        ssl_certificate {tls['cert']};
        ssl_certificate_key {tls['key']};
        ssl_protocols TLSv1.3;
        ssl_session_cache shared:bench_{kind}:10m;
        root {docroot};
    }}""")
    return "".join(out)


# ---------------------------------------------------------------- wrk (W3)

WRK_LUA = """-- tests/bench_net.py: W3's paths, walked in order; thread k starts at
-- its own offset so that the threads do not ask for the same file at once.
local paths = {%s}
local n = #paths
local k = 0
function setup(thread)
  thread:set("offset", k * math.floor(n / %d))
  k = k + 1
end
function init(args)
  i = offset
end
function request()
  i = i %% n + 1
  return wrk.format("GET", paths[i])
end
"""
WRK_THREADS = 2


def wrk_script(path, urls):
    """The Lua script for wrk: urls' paths (same host and port for all)."""
    paths = [re.sub(r"^https?://[^/]+", "", u) for u in urls]
    with open(path, "w") as f:
        f.write(WRK_LUA % (",".join(json.dumps(p) for p in paths), WRK_THREADS))
    return path


def wrk_argv(wrk, script, url, concurrency, seconds):
    return [wrk, "-t", str(WRK_THREADS), "-c", str(concurrency), "-d", f"{seconds}s",
            "-s", script, url]


def wrk_parse(out):
    """(requests, requests/s, problems) from wrk's report; problems is a
    string (socket errors, non-2xx answers) or None."""
    m = re.search(r"^\s*(\d+) requests in ", out, re.M)
    rps = re.search(r"^Requests/sec:\s*([\d.]+)", out, re.M)
    bad = [ln.strip() for ln in out.splitlines()
           if ln.strip().startswith(("Socket errors", "Non-2xx"))]
    return (int(m.group(1)) if m else None, float(rps.group(1)) if rps else None,
            "; ".join(bad) or None)


# ---------------------------------------------------------------- W8

def run_w8(w, nginx, tls, args, measure, lib, ok_box, python):
    """200 statements x 5 URLs, then 1,000 URLs in one statement, on one
    SQLite connection, per protocol; each a fresh child --runs times.
    Returns {row label: medians} for the table and {kind: ratio}."""
    n = w["statements"] * w["per"]
    rows, ratios = {}, {}
    for kind in w["tls"]:
        urls = [f"{nginx.tls_base[kind]}/{w['files']}/{i}.json" for i in range(n)]
        path = os.path.join(os.path.dirname(tls["dir"]), f"W8.{kind}.urls.json")
        with open(path, "w") as f:
            json.dump(urls, f)
        runs = []
        for _ in range(args.runs):
            tok = nginx.before_run()
            r = measure([python, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "bench_statements.py"),
                         lib, tls["ca"], path, str(w["per"]), str(w["concurrency"]),
                         nginx.base + "/nginx_status"])
            r.update(nginx.after_run(tok))
            try:
                r.update(json.loads(r["out"].strip().splitlines()[-1]))
            except (ValueError, IndexError):
                pass
            bad = (f"timed out after {r['timed_out']:.0f} s" if r["timed_out"] else
                   f"rc {r['rc']}: " + (r["err"].strip().splitlines() or [""])[-1][:200]
                   if r["rc"] or "many" not in r else None)
            if bad:
                ok_box[0] = False
                print(f"  W8 {kind}: FAILED: {bad}", flush=True)
                return rows, ratios
            runs.append(r)
        mm = {k: statistics.median(x[k] for x in runs) for k in ("rss_mb", "conns")}
        for label, key, stmts in ((f"{w['statements']} x {w['per']}", "many", w["statements"]),
                                  (f"1 x {n:,}", "one", 1)):
            m = {"wall": statistics.median(x[key]["wall"] for x in runs),
                 "cpu": statistics.median(x[key]["cpu"] for x in runs),
                 "rss_mb": mm["rss_mb"], "rows": n, "infl": None,
                 "conns": statistics.median(x[key]["conns"] for x in runs)}
            m["rate"] = m["req_rate"] = n / m["wall"]
            m["per_stmt_ms"] = m["wall"] / stmts * 1000
            rows[f"{kind} {label}"] = m
        many, one = rows[f"{kind} {w['statements']} x {w['per']}"], rows[f"{kind} 1 x {n:,}"]
        # Per statement: the 200 statements' wall / 200.  The same URLs in
        # one statement cost one's wall / 200 per 5 URLs: the ratio of the
        # two is the ratio of the walls.
        ratios[kind] = many["wall"] / one["wall"]
        print(f"W8 {kind}: {w['statements']} statements x {w['per']} URLs: "
              f"{many['per_stmt_ms']:.2f} ms a statement ({many['conns']:.0f} connections "
              f"opened); 1 statement x {n:,} URLs (c={w['concurrency']}): "
              f"{one['wall'] / w['statements'] * 1000:.2f} ms per {w['per']} URLs "
              f"({one['conns']:.0f} connections opened); ratio {ratios[kind]:.1f}x; "
              f"nginx saw {mm['conns']:.0f} connections in the child", flush=True)
    return rows, ratios


# ---------------------------------------------------------------- W9

def w9_fd_check(c):
    """(needed, None) if the child can have c + W9_FD_SLACK descriptors
    (raising its soft limit as far as the hard one), else (needed, why)."""
    need = c + W9_FD_SLACK
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        return need, (f"the hard limit on open files is {hard}, under the {need} that "
                      f"concurrency {c} needs (raise it: ulimit -Hn, or LimitNOFILE)")
    return need, None


def w9_script(path, lib, base, files, nfiles, n, c):
    """Streamed, no table: rows, distinct url_index, its range, errors."""
    urls = (f"(SELECT json_group_array('{base}/{files}/' || (value % {nfiles}) || "
            f"'.json?k=' || value) FROM generate_series(0, {n - 1}))")
    with open(path, "w") as f:
        f.write(f".load {lib}\n"
                f"SELECT count(*), count(DISTINCT url_index), min(url_index), max(url_index), "
                f"count(error) FROM api_fetch({urls}, {c});\n")
    return path


def run_w9(w, nginx, args, measure, lib, ok_box, scratch, timeout):
    """100,000 URLs at c=5,000 and c=50 (the same URLs), streamed; returns
    ({row label: medians}, skipped reason or None)."""
    n, rows = w["n"], {}
    need, why = w9_fd_check(w["concurrency"])
    if why:
        return rows, why
    for c in (w["concurrency"], w["base_concurrency"]):
        script = w9_script(os.path.join(scratch, f"W9.{c}.sql"), lib, nginx.base, w["files"],
                           w["nfiles"], n, c)
        # Raised in the child (the shell), not in this driver.
        argv = ["sh", "-c", f'ulimit -n {need} && exec "$0" "$@"',
                args.sqlite3, "-bail", "-batch", ":memory:"]
        runs = []
        for _ in range(args.runs):
            tok = nginx.before_run()
            r = measure(argv, script, timeout)
            r.update(nginx.after_run(tok))
            try:
                got = [int(x) for x in r["out"].strip().splitlines()[-1].split("|")]
            except (ValueError, IndexError):
                got = None
            exact = got == [n, n, 0, n - 1, 0]
            r["exact"] = exact
            if r["timed_out"] or r["rc"] or not exact:
                ok_box[0] = False
                print(f"  W9 c={c}: FAILED: " + (
                    f"timed out after {r['timed_out']:.0f} s" if r["timed_out"] else
                    f"rc {r['rc']}: " + (r["err"].strip().splitlines() or [""])[-1][:300]
                    if r["rc"] else
                    f"rows|distinct url_index|min|max|errors = {got}, expected "
                    f"{[n, n, 0, n - 1, 0]}"), flush=True)
            runs.append(r)
        m = {k: statistics.median(x[k] for x in runs)
             for k in ("wall", "cpu", "rss_mb", "conns", "requests")}
        m.update(rows=n, infl=None, rate=n / m["wall"], req_rate=n / m["wall"],
                 exact=all(x["exact"] for x in runs), rss_max=max(x["rss_mb"] for x in runs))
        print(f"W9 c={c:,}: {n:,} URLs in {m['wall']:.2f} s = {m['rate']:,.0f} req/s, peak RSS "
              f"{m['rss_max']:.1f} MB, every url_index once: "
              f"{'yes' if m['exact'] else 'NO'}; {m['requests']:.0f} requests on "
              f"{m['conns']:.0f} connections", flush=True)
        rows[f"apifetch c={c:,}"] = m
    return rows, None


# ---------------------------------------------------------------- targets

def table_notes(w, res):
    """Lines under bench.py's table for W3's wrk row, W7, W8, W9."""
    name = w["name"]
    if name == "W3" and "wrk" in res:
        return ["W3 wrk: run for a fixed time over the same paths (Lua request()); its wall and "
                "CPU are scaled to the list's length at the rate it got"]
    if name == "W7":
        return ["W7: python not run (aiohttp speaks HTTP/1.1 only)"]
    if name == "W8":
        return [f"W8: Python's sqlite3, one connection; 'h1 {w['statements']} x {w['per']}': "
                f"the statements one after another (c={w['per']} each), 'h1 1 x N': the same "
                f"URLs in one statement (c={w['concurrency']}), after an untimed first "
                "statement; wall and CPU of each phase alone, RSS the child's peak; conns = "
                "connections nginx accepted during the phase"]
    if name == "W9":
        return ["W9: the simple face streamed (SELECT count(*), count(DISTINCT url_index), ...), "
                "no table; the target lines give the largest peak RSS of the runs"]
    return []


def verdict(ok):
    return "MET    " if ok else "NOT MET"


def floor_lines(w, face, res):
    """W3, W6, W7: what the libcurl floor peers (tests/bench_libcurl.c) got
    against the target's peer (wrk; curl), and apifetch's share of the floor
    it can reach on this libcurl (a fresh easy handle a transfer): how much
    of a target is left to apifetch's own code.  Once, with the first face."""
    if face != "apifetch" or "libcurl" not in res or face not in res:
        return []
    peer = "wrk" if w["name"] == "W3" else "curl"
    if peer not in res:
        return []
    a, p = res[face]["req_rate"], res[peer]["req_rate"]
    parts = []
    for t in ("libcurl", "libcurl-reuse"):
        if t in res:
            f = res[t]["req_rate"]
            parts.append(f"{t} {f:,.0f} req/s = " + (f"{f / p:.0%} of wrk's" if peer == "wrk"
                                                       else f"{f / p:.2f}x curl's"))
    return [f"info     {w['name']} floor: " + "; ".join(parts)
            + f"; apifetch = {a / res['libcurl']['req_rate']:.0%} of libcurl (fresh handles, "
            "as apifetch on libcurl < 8.1)"]


def target_lines(w, face, res, extra):
    """The target lines of one of issue 20's workloads for one face (W3:
    wrk; W6, W7: curl and python; W8, W9: their own rows, face ignored,
    extra = W8's ratios / W9's skip reason)."""
    name, m = w["name"], res.get(face)
    if name in ("W3", "W6", "W7") and m is None:
        return []
    if name == "W3":
        if "wrk" not in res:
            return [f"n/a      W3 {face}: wrk not run"]
        a, k = m["req_rate"], res["wrk"]["req_rate"]
        return [f"{verdict(a >= W3_WRK_SHARE * k)}  W3 {face}: {a:,.0f} requests/s >= "
                f"{W3_WRK_SHARE:.0%} of wrk's {k:,.0f} on the same nginx ({a / k:.0%})"
                ] + floor_lines(w, face, res)
    if name in ("W6", "W7"):
        out = []
        want = W6_CURL if name == "W6" else W7_CURL
        curl = "curl --parallel" + (" --http2" if name == "W7" else "")
        if "curl" in res:
            c = res["curl"]["req_rate"]
            out.append(f"{verdict(m['req_rate'] >= want * c)}  {name} {face}: "
                       f"{m['req_rate']:,.0f} requests/s >= {want}x {curl}'s {c:,.0f} "
                       f"({m['req_rate'] / c:.2f}x)")
        if name == "W6" and "python" in res:
            p = res["python"]["req_rate"]
            out.append(f"{verdict(m['req_rate'] >= W6_PYTHON * p)}  W6 {face}: "
                       f"{m['req_rate']:,.0f} requests/s >= {W6_PYTHON:.0f}x the Python "
                       f"pattern's {p:,.0f} ({m['req_rate'] / p:.1f}x)")
        return out + floor_lines(w, face, res)
    if name == "W8":
        return [f"{verdict(x <= W8_RATIO)}  W8 {kind}: per-statement cost {x:.1f}x that of "
                f"the same URLs in one statement <= {W8_RATIO:.0f}x" for kind, x in extra.items()]
    if name == "W9":
        if extra:
            return [f"SKIPPED  W9: {extra}"]
        hi, lo = (res.get(f"apifetch c={c:,}") for c in (w["concurrency"], w["base_concurrency"]))
        if not (hi and lo):
            return []
        return [f"{verdict(hi['exact'] and lo['exact'])}  W9: {w['n']:,} URLs at "
                f"c={w['concurrency']:,}: every url_index exactly once",
                f"info     W9: c={w['concurrency']:,} peak RSS {hi['rss_max']:.1f} MB, "
                f"{hi['req_rate']:,.0f} req/s = {hi['req_rate'] / lo['req_rate']:.2f}x c="
                f"{w['base_concurrency']}'s {lo['req_rate']:,.0f} (peak RSS "
                f"{lo['rss_max']:.1f} MB)"]
    return []
