#!/usr/bin/python3
"""The hostile-server fuzz run (make fuzz-http): real apifetch queries, run
by the real sqlite3 shell, against tests/fuzz_http.py, seed by seed.

    /usr/bin/python3 tests/fuzz_http_run.py [--start S] [--seeds N] [--jobs J]
        [--batch K] [--sanitize] [--variant V] [--concurrency C]
        [--seed-list S1,S2,...] [--out DIR] [--save-all] [--no-corpus]
        [--strict] [-v]

Seeds START .. START+N-1 are cut into batches of K (8) consecutive seeds.
Each batch is one sqlite3 process running one query over K URLs, one per
seed (/f/<seed>/<kind>?b=<batch>&i=<url_index>), at concurrency C > 1 most
of the time so that hostile connections overlap.  The batch's first seed
picks its variant (VARIANTS: the function face with and without each
paginate kind, the wide face with declared or inferred columns, with and
without pagination) and its concurrency; --variant and --concurrency fix
them.  Options are short on purpose: OPTIONS below.

What each batch must show (anything else is a failure):
  - the shell was not killed by a signal, printed no sanitizer report and
    no error (with on_error "row" no statement may fail);
  - it ended within a bound derived from the options: per page, attempts x
    timeout_ms plus the longest retry wait; pages over concurrency, plus
    one chain's worth, plus a margin (x2 for the wide face, whose CREATE
    samples first); and every row's elapsed_ms within the per-page bound;
  - every url_index asked for has a row; every (url_index, page) is one
    response: one error row, one empty row, or records 0..n-1; pages are
    0..k with no gap and below max_pages; no row has both data and an
    error; a row without error has a status 200..399 and attempts in
    1..max_attempts; data is JSON by SQLite's json_valid too;
  - every page the server was asked for (it logs url_index and page from
    the tags it put in its links) is a row, and no decoy link (a URL in a
    Link header that is not rel="next" by RFC 8288) was asked for;
  - where the server answered a page cleanly and the row says it was read
    without error, the next page (a chain) or all pages (a total) were
    asked for;
  - api_fetch_stats() counts as many responses and rows as were returned.

Failures are written to DIR (a fresh /tmp/apifetch-fuzz-http.* by default)
with the SQL script, the shell's output and the server's log, and printed
with a one-line reproduction (the batch, and each seed alone where that
alone fails).  tests/fuzz_http_corpus.txt lists batches that once failed;
they run first, every time.  tests/fuzz_http_known.txt lists failures
that are known and owned (each line a pattern and why): they are printed as
KNOWN and do not fail the run, unless --strict.  Exit status 0 only if
nothing else failed.
"""
import argparse
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")
SQLITE = os.environ.get("SQLITE3", "sqlite3")
PYTHON = "/usr/bin/python3"
CORPUS = os.path.join(TESTS, "fuzz_http_corpus.txt")
KNOWN = os.path.join(TESTS, "fuzz_http_known.txt")

MAX_PAGES = 5
# Memory: concurrency (at most 8) x max_bytes (1 MiB) of bodies, their rows,
# the shell, libcurl and its libraries; without the sanitizer build.
RSS_BOUND_MB = 128
# breaker 0: every URL of a batch is one host, the hostile server, and most
# of its answers fail; with the circuit breaker on, five failures in a row
# would end the batch's other URLs unsent (rows saying so), and the fuzzer
# would stop exercising what it is for.  The breaker has tests of its own
# (tests/sql/host_breaker.sql).
OPTIONS = {"timeout_ms": 2000, "connect_timeout_ms": 1000, "max_attempts": 2,
           "retry_base_ms": 20, "retry_max_ms": 100, "retry_after_max_ms": 1000,
           "max_bytes": 1048576, "max_redirects": 3, "breaker": 0}
COLUMNS = "id INTEGER, name TEXT, v ANY"


def pg(**kw):
    kw["max_pages"] = MAX_PAGES
    return kw


DEADLINE = {"deadline_ms": 3000}

# name: (face, server kind, paginate, record_path, columns declared?[, more options])
VARIANTS = {
    "fn_plain":       ("fn", "none", None, None, None),
    "fn_link":        ("fn", "link", pg(type="link"), None, None),
    "fn_next":        ("fn", "next", pg(type="next", next_path="links.next"), "items", None),
    "fn_cursor":      ("fn", "cursor", pg(type="cursor", cursor_path="next_cursor"), "items", None),
    "fn_page":        ("fn", "page", pg(type="page", total_pages="meta.total_pages"), "data", None),
    "fn_page_header": ("fn", "page", pg(type="page", total_header="X-Total-Count", per_page=3),
                       "data", None),
    "fn_page_last":   ("fn", "page", pg(type="page", last_link=True), "data", None),
    "wide_declared":  ("wide", "none", None, None, COLUMNS),
    "wide_inferred":  ("wide", "none", None, None, None),
    "wide_link":      ("wide", "link", pg(type="link"), None, COLUMNS),
    "wide_cursor":    ("wide", "cursor", pg(type="cursor", cursor_path="next_cursor"), "items",
                       COLUMNS),
    "wide_next_inferred": ("wide", "next", pg(type="next", next_path="links.next"), "items", None),
    # A query deadline shorter than the slowest faults: what it cuts off
    # must still be a row each.
    "fn_plain_deadline": ("fn", "none", None, None, None, DEADLINE),
    "fn_link_deadline":  ("fn", "link", pg(type="link"), None, None, DEADLINE),
    # The same answers over TLS (ALPN http/1.1): https transfers want HTTP/2
    # and wait for a multiplexed stream where one is on offer.
    "fn_tls":        ("fn", "none", None, None, None, {"_tls": True}),
    "fn_tls_link":   ("fn", "link", pg(type="link"), None, None, {"_tls": True}),
    "wide_tls_next": ("wide", "next", pg(type="next", next_path="links.next"), "items", COLUMNS,
                      {"_tls": True}),
}
# LeakSanitizer's own stop-the-world tracer sometimes crashes at exit
# ("Tracer caught signal 11", google/sanitizers issue 1353): with
# LSAN_OPTIONS=verbosity=1 it is seen reading a dynamic TLS block of the
# libraries .load brings in whose bounds are garbage ("DTLS 5 at
# 0x0000000000e5-0x0010000011e7"), a runtime problem with GCC 12's libasan
# and glibc 2.36, not a report about the code.  intercept_tls_get_addr=0
# stops that bookkeeping (0 crashes in 30 runs of a batch that crashed 2 to
# 8 times in 30 without it); a batch whose only complaint is still that is
# run once more.
LSAN_TRACER_CRASH = re.compile(r"Tracer caught signal 11.*\n.*LeakSanitizer has encountered a fatal error")
SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                       r"UndefinedBehaviorSanitizer|SUMMARY: \w+Sanitizer")


def sanitizer_env():
    """tests/run.py's: the ASan and UBSan runtimes preloaded, with
    intercept_tls_get_addr=0 (see above)."""
    import run
    return run.sanitizer_env()


def sql_text(s):
    return "'" + s.replace("'", "''") + "'"


class Batch:
    def __init__(self, bid, seeds, variant, conc, sample=None):
        self.bid, self.seeds, self.variant, self.conc, self.sample = bid, seeds, variant, conc, sample
        face, kind, paginate, record_path, columns = VARIANTS[variant][:5]
        self.more = dict(VARIANTS[variant][5]) if len(VARIANTS[variant]) > 5 else {}
        self.tls = self.more.pop("_tls", False)       # https:// to the TLS listener
        self.face, self.kind, self.paginate = face, kind, paginate
        self.record_path, self.columns = record_path, columns
        self.good_first = face == "wide" and columns is None   # so that CREATE finds columns

    def urls(self, base):
        out = []
        if self.good_first:
            out.append(f"{base}/ok/{self.kind}?b={self.bid}&i=0&p=0")
        for s in self.seeds:
            i = len(out)
            extra = "" if self.kind in ("page", "cursor") else "&p=0"
            out.append(f"{base}/f/{s}/{self.kind}?b={self.bid}&i={i}{extra}")
        return out

    def options(self):
        o = dict(OPTIONS)
        if self.paginate:
            o["paginate"] = self.paginate
        if self.record_path:
            o["record_path"] = self.record_path
        o.update(self.more)
        return o

    def script(self, base, ca_file):
        urls = json.dumps(self.urls(base))
        if self.tls:
            self.more["ca_file"] = ca_file
        lines = [".load ./apifetch"]
        if self.face == "fn":
            lines += [".mode json",
                      "SELECT url_index AS i, page AS p, record_index AS r, status AS s, error AS e,"
                      " attempts AS a, elapsed_ms AS ms, data IS NOT NULL AS d,"
                      " CASE WHEN data IS NULL THEN NULL ELSE json_valid(data) END AS v"
                      f" FROM api_fetch({sql_text(urls)}, {self.conc},"
                      f" {sql_text(json.dumps(self.options()))});"]
        else:
            args = [f"url_list={sql_text(urls)}", f"concurrency={self.conc}"]
            for k, v in self.options().items():
                args.append(f"{k}={sql_text(json.dumps(v)) if isinstance(v, dict) else sql_text(v) if isinstance(v, str) else v}")
            if self.columns:
                args.append(f"columns={sql_text(self.columns)}")
            if self.sample:
                args.append(f"sample={self.sample}")
            lines += ["CREATE VIRTUAL TABLE temp.t USING api_fetch(" + ", ".join(args) + ");",
                      ".mode json",
                      'SELECT _url_index AS "@i", _page AS "@p", _record_index AS "@r",'
                      ' _status AS "@s", _error AS "@e", _attempts AS "@a", _elapsed_ms AS "@ms",'
                      ' _extra AS "@x", * FROM temp.t;']
        lines += [".print @@STATS", ".mode list",
                  "SELECT name || '=' || value FROM api_fetch_stats();"]
        return "\n".join(lines) + "\n"

    def pages(self):
        return MAX_PAGES if self.paginate else 1

    @staticmethod
    def per_page_ms_default():
        o = OPTIONS
        a = o["max_attempts"]
        return a * o["timeout_ms"] + (a - 1) * max(o["retry_max_ms"], o["retry_after_max_ms"])

    def per_page_ms(self):
        o = OPTIONS
        a = o["max_attempts"]
        ms = a * o["timeout_ms"] + (a - 1) * max(o["retry_max_ms"], o["retry_after_max_ms"])
        return min(ms, self.more.get("deadline_ms", ms))

    def bound_s(self, slow):
        n = len(self.seeds) + (1 if self.good_first else 0)
        p = self.pages()
        b = (math.ceil(n * p / self.conc) + p) * self.per_page_ms() / 1000
        if "deadline_ms" in self.more:
            b = min(b, self.more["deadline_ms"] / 1000)
        b += 10
        if self.face == "wide":
            b *= 2
        return b * (2 if slow else 1)

    def repro(self, sanitize):
        s = ",".join(map(str, self.seeds))
        return (f"{PYTHON} tests/fuzz_http_run.py --variant {self.variant} --concurrency {self.conc}"
                f"{f' --sample {self.sample}' if self.sample else ''} --seed-list {s}"
                f"{' --sanitize' if sanitize else ''}")


def parse_rows(text, face):
    """The JSON rows the shell printed, as dicts with keys i p r s e a ms d v
    (d: the row carries data)."""
    text = text.strip()
    if not text:
        return []
    rows = []
    for pairs in json.loads(text, object_pairs_hook=lambda kv: kv):
        if face == "fn":
            rows.append(dict(pairs))
        else:
            hidden = dict(pairs[:8])
            data = pairs[8:]
            rows.append({"i": hidden["@i"], "p": hidden["@p"], "r": hidden["@r"],
                         "s": hidden["@s"], "e": hidden["@e"], "a": hidden["@a"],
                         "ms": hidden["@ms"],
                         "d": int(hidden["@x"] is not None or any(v is not None for _, v in data)),
                         "v": None})
    return rows


def check(batch, rc, out, err, wall, log, sanitize):
    """Everything wrong with one batch's run, as a list of strings."""
    bad = []
    n = len(batch.seeds) + (1 if batch.good_first else 0)
    if rc is None:
        return [f"hang: still running after {batch.bound_s(sanitize):.0f} s (killed)"]
    if rc < 0:
        bad.append(f"killed by signal {-rc} ({signal.Signals(-rc).name})")
    if LSAN_TRACER_CRASH.search(err) and not SANITIZER.search(err):
        bad.append("LeakSanitizer tracer crashed (not a report)")
    elif SANITIZER.search(err) or (sanitize and rc == 99):
        m = SANITIZER.search(err)
        bad.append("sanitizer report: " + err[m.start():m.start() + 300].replace("\n", " | ")
                   if m else f"sanitizer exit {rc}")
    errs = [l for l in err.splitlines() if re.match(r"(Parse error|Runtime error|Error)", l)]
    if errs:
        bad.append("statement failed: " + " | ".join(errs)[:600])
    if wall > batch.bound_s(sanitize):
        bad.append(f"too slow: {wall:.1f} s, bound {batch.bound_s(sanitize):.0f} s")
    if bad and rc != 0 and "@@STATS" not in out:
        return bad
    body, _, stats_text = out.partition("@@STATS\n")
    try:
        rows = parse_rows(body, batch.face)
    except ValueError as ex:
        return bad + [f"shell output is not the expected JSON ({ex}): {body[:300]!r}"]
    stats = dict(l.split("=", 1) for l in stats_text.split("\n") if "=" in l)

    groups = {}
    for row in rows:
        groups.setdefault((row["i"], row["p"]), []).append(row)
    per_ms = batch.per_page_ms() + (4000 if sanitize else 1500)
    for i in range(n):
        if not any(k[0] == i for k in groups):
            bad.append(f"url_index {i} (seed {seed_of(batch, i)}) has no row")
    pages_of = {}
    for (i, p), rs in sorted(groups.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1] or 0)):
        where = f"url_index {i} (seed {seed_of(batch, i)}) page {p}"
        if not isinstance(i, int) or not 0 <= i < n:
            bad.append(f"row with url_index {i!r} not asked for")
            continue
        pages_of.setdefault(i, set()).add(p)
        errors = [r for r in rs if r["e"] is not None]
        data = [r for r in rs if r["d"]]
        if any(r["e"] is not None and r["d"] for r in rs):
            bad.append(f"{where}: a row has both data and an error: {errors[0]['e']!r}")
        if errors and len(rs) != 1:
            bad.append(f"{where}: an error row and {len(rs) - 1} other rows for one response")
        elif data and sorted(r["r"] for r in rs) != list(range(len(rs))):
            bad.append(f"{where}: record_index {sorted(r['r'] for r in rs if r['r'] is not None)} "
                       f"over {len(rs)} rows")
        elif not errors and not data and len(rs) != 1:
            bad.append(f"{where}: {len(rs)} empty rows for one response")
        for r in rs:
            if r["e"] is None and (r["s"] is None or not 200 <= r["s"] < 400):
                bad.append(f"{where}: no error but status {r['s']}")
            # (A wide row's record can be all NULL: {} or {"id": null}.)
            if batch.face == "fn" and r["e"] is None and r["d"] == 0 and r["r"] is not None:
                bad.append(f"{where}: record_index {r['r']} without data")
            # Never sent: after the deadline, or a next page named but not
            # followable (the row stands for it, with 0 attempts).
            unstarted = r["e"] is not None and (
                r["e"].endswith("before this request was started")
                or r["e"].startswith("circuit open for ")
                or r["e"].startswith("pagination: the next page cannot be followed: "))
            if r["a"] is None or not (0 if unstarted else 1) <= r["a"] <= OPTIONS["max_attempts"]:
                bad.append(f"{where}: attempts {r['a']}")
            if r["ms"] is not None and r["ms"] > per_ms:
                bad.append(f"{where}: elapsed_ms {r['ms']} over the bound {per_ms} "
                           f"(error {r['e']!r})")
            if r["d"] and r["v"] == 0:
                bad.append(f"{where}: data that SQLite's json_valid() rejects")
            if r["e"] is not None and not r["e"].strip():
                bad.append(f"{where}: an empty error text")
        bad_here = [b for b in bad if b.startswith(where)]
        if len(bad_here) > 3:                  # one response's rows say the same thing
            for b in bad_here[3:]:
                bad.remove(b)
    for i, ps in pages_of.items():
        if None in ps:
            bad.append(f"url_index {i}: a row with page NULL")
            continue
        if ps != set(range(max(ps) + 1)):
            bad.append(f"url_index {i} (seed {seed_of(batch, i)}): pages {sorted(ps)} have a gap")
        if max(ps) >= batch.pages():
            bad.append(f"url_index {i}: page {max(ps)} past max_pages {batch.pages()}")

    # What the server saw against what came back.
    ok = {k for k, rs in groups.items() if all(r["e"] is None for r in rs)}
    for rec in log:
        i, p = rec["i"], rec["p"]
        desc = f"(seed {rec['seed']} {rec['kind']} page {p} hop {rec['h']}: {','.join(rec['ops']) or 'clean'})"
        if rec["decoy"]:
            bad.append(f"url_index {i}: asked for a decoy link d={rec['decoy']} {desc}")
            continue
        if p is None or not 0 <= i < n:
            continue
        if (i, p) not in groups:
            bad.append(f"url_index {i}: the server was asked for page {p} but no row has it "
                       f"{desc}; rows have pages {sorted(pages_of.get(i, []))}")
        if (i, p) in ok and rec["expect_next"] is not None and rec["expect_next"] < batch.pages() \
                and (i, rec["expect_next"]) not in groups:
            bad.append(f"url_index {i}: page {p} was read without error and names page "
                       f"{rec['expect_next']}, which was never asked for {desc}")
        if (i, p) in ok and p == 0 and rec["expect_pages"]:
            want = set(range(min(rec["expect_pages"], batch.pages())))
            if not want <= pages_of.get(i, set()):
                bad.append(f"url_index {i}: page 0 says {rec['expect_pages']} pages but rows have "
                           f"pages {sorted(pages_of.get(i, []))} {desc}")
    if stats:
        if int(stats.get("rows", -1)) != len(rows):
            bad.append(f"api_fetch_stats rows {stats.get('rows')} but {len(rows)} rows came back")
        if int(stats.get("urls", -1)) != len(groups):
            bad.append(f"api_fetch_stats urls {stats.get('urls')} but {len(groups)} responses came back")
    elif rc == 0:
        bad.append("no api_fetch_stats output")
    batch.errors = [r["e"] for r in rows if r["e"] is not None]
    batch.max_ms = max([r["ms"] for r in rows if r["ms"] is not None] or [0])
    batch.result = {"rows": len(rows), "pages": len(groups),
                    "requests": int(stats.get("requests", 0) or 0)}
    return list(dict.fromkeys(bad))


def run_shell(script, timeout, env):
    """The sqlite3 shell on script: (exit code or None if it was killed for
    running past timeout, stdout, stderr, peak RSS in kB).  Only this child
    is ever killed.  The peak RSS is VmHWM from /proc, read every 20 ms
    while it runs: wait4's ru_maxrss would not do, as Linux carries the
    parent's high-water mark into a child through vfork and exec, and this
    driver's own memory grows with the rows it reads."""
    proc = subprocess.Popen([SQLITE, "-batch", ":memory:"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    chunks = {1: [], 2: []}

    def pump(f, key):
        for block in iter(lambda: f.read(65536), b""):
            chunks[key].append(block)

    def feed():
        try:
            proc.stdin.write(script.encode())
            proc.stdin.close()
        except OSError:
            pass
    threads = [threading.Thread(target=pump, args=(proc.stdout, 1)),
               threading.Thread(target=pump, args=(proc.stderr, 2)),
               threading.Thread(target=feed)]
    for t in threads:
        t.start()
    deadline = time.time() + timeout
    killed = False
    hwm = 0
    while True:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        pid, status = os.waitpid(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.time() > deadline and not killed:
            proc.kill()
            killed = True
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in threads:
        t.join()
    proc.stdout.close()
    proc.stderr.close()
    rc = None if killed else proc.returncode
    return rc, b"".join(chunks[1]), b"".join(chunks[2]), hwm


def seed_of(batch, i):
    k = i - (1 if batch.good_first else 0)
    return "ok" if k < 0 else batch.seeds[k] if k < len(batch.seeds) else "?"


class Runner:
    def __init__(self, args):
        self.args = args
        self.env = sanitizer_env() if args.sanitize else dict(os.environ)
        self.lock = threading.Lock()
        self.bid = 0
        self.totals = {"batches": 0, "urls": 0, "pages": 0, "rows": 0, "requests": 0,
                       "server": 0}
        self.failures = []
        self.tracer_flakes = 0      # LeakSanitizer tracer crashes, run again
        self.max_rss_mb = 0         # the largest peak RSS of any shell
        self.max_rss_batch = ""     # ... and which batch it was
        self.max_row_ms = 0         # the longest elapsed_ms of any row
        self.max_wall_share = 0     # the largest wall time / bound of any batch
        self.known = [] if args.strict else load_known()
        self.known_hits = []        # batches whose every failure is a known one
        self.coverage = {}          # operator (with its variant) -> responses it shaped
        self.error_kinds = {}       # error text, digits as N -> rows

    def start_server(self, out_dir):
        # A self-signed certificate for 127.0.0.1, made for the run, is both
        # the TLS listener's and the ca_file the https variants trust.
        cert, key = os.path.join(out_dir, "cert.pem"), os.path.join(out_dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        self.server = subprocess.Popen([PYTHON, os.path.join(TESTS, "fuzz_http.py"), "--port", "0",
                                        "--tls", cert, key], stdout=subprocess.PIPE, text=True)
        line = self.server.stdout.readline()
        m = re.match(r"PORT (\d+) (\d+) (\d+)", line)
        if not m:
            self.server.kill()
            raise SystemExit(f"fuzz_http.py did not start: {line!r}")
        self.port = int(m.group(1))
        self.base = f"http://127.0.0.1:{self.port}"
        self.tls_base = f"https://127.0.0.1:{m.group(3)}"
        self.ca_file = cert

    def stop_server(self):
        self.server.send_signal(signal.SIGTERM)
        try:
            self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.server.kill()

    def server_log(self, bid):
        with urllib.request.urlopen(f"{self.base}/_log?b={bid}", timeout=30) as f:
            return json.load(f)["requests"]

    def run(self, batch):
        """Run one batch; returns the list of failures (also kept on batch).
        A LeakSanitizer tracer crash alone gets one more run."""
        bad = self.run_once(batch)
        if bad == ["LeakSanitizer tracer crashed (not a report)"]:
            with self.lock:
                self.tracer_flakes += 1
            again = self.new_batch(batch.seeds, batch.variant, batch.conc, batch.sample)
            bad = self.run_once(again)
            batch.__dict__.update(again.__dict__)
        return bad

    def run_once(self, batch):
        script = batch.script(self.tls_base if batch.tls else self.base, self.ca_file)
        t0 = time.time()
        rc, out, err, rss_kb = run_shell(script, batch.bound_s(self.args.sanitize), self.env)
        wall = time.time() - t0
        batch.rss_mb = rss_kb / 1024
        with self.lock:
            if batch.rss_mb > self.max_rss_mb:
                self.max_rss_mb = batch.rss_mb
                self.max_rss_batch = f"{batch.variant} c{batch.conc} seeds {batch.seeds[0]}..{batch.seeds[-1]}"
        out = out.decode("utf-8", "surrogateescape")
        err = err.decode("utf-8", "surrogateescape")
        log = self.server_log(batch.bid)
        batch.result = {"rows": 0, "pages": 0, "requests": 0}
        bad = check(batch, rc, out, err, wall, log, self.args.sanitize)
        if not self.args.sanitize and batch.rss_mb > RSS_BOUND_MB:
            bad.append(f"peak RSS {batch.rss_mb:.0f} MB, over {RSS_BOUND_MB} MB")
        batch.wall, batch.rc, batch.out, batch.err, batch.log, batch.bad = wall, rc, out, err, log, bad
        batch.script_text = script
        return bad

    def new_batch(self, seeds, variant, conc, sample=None):
        with self.lock:
            self.bid += 1
            bid = self.bid
        return Batch(bid, seeds, variant, conc, sample)

    def batch_for(self, seeds):
        first = seeds[0]
        names = sorted(VARIANTS)
        variant = self.args.variant or names[(first // max(1, self.args.batch)) % len(names)]
        conc = self.args.concurrency or random.Random(f"conc:{first}").choice([1, 2, 3, 4, 6, 8, 8, 8])
        sample = self.args.sample
        if sample is None and variant.startswith("wide") and VARIANTS[variant][4] is None:
            sample = [None, 3][first % 2]
        return self.new_batch(seeds, variant, conc, sample)

    def record(self, batch, label):
        with self.lock:
            t = self.totals
            t["batches"] += 1
            t["urls"] += len(batch.seeds) + (1 if batch.good_first else 0)
            t["pages"] += batch.result["pages"]
            t["rows"] += batch.result["rows"]
            t["requests"] += batch.result["requests"]
            t["server"] += len(batch.log)
            self.max_row_ms = max(self.max_row_ms, getattr(batch, "max_ms", 0))
            self.max_wall_share = max(self.max_wall_share,
                                      batch.wall / batch.bound_s(self.args.sanitize))
            for e in getattr(batch, "errors", []):
                e = re.sub(r"\d+", "N", e)[:160]
                self.error_kinds[e] = self.error_kinds.get(e, 0) + 1
            for rec in batch.log:
                for op in rec["ops"] or ["clean"]:
                    self.coverage[op] = self.coverage.get(op, 0) + 1
            # Known patterns see each failure followed by its batch's context:
            # " [VARIANT; OP OP ...]" with every operator the server applied.
            context = f" [{batch.variant}; " + " ".join(
                sorted({op for rec in batch.log for op in rec["ops"]})) + "]"
            unknown = [b for b in batch.bad
                       if not any(k.search(b + context) for k, _ in self.known)]
            if batch.bad and not unknown:
                self.known_hits.append((label, batch))
                print(f"KNOWN {label} batch {batch.bid} ({batch.variant}, seeds "
                      f"{batch.seeds[0]}..{batch.seeds[-1]}): {batch.bad[0]} ("
                      + next(w for k, w in self.known if k.search(batch.bad[0] + context)) + ")")
            elif batch.bad:
                self.failures.append((label, batch))
                print(f"FAIL {label} batch {batch.bid} ({batch.variant}, concurrency {batch.conc}, "
                      f"seeds {batch.seeds[0]}..{batch.seeds[-1]}, {batch.wall:.1f} s)")
                for b in batch.bad[:12]:
                    print("  " + b)
                if len(batch.bad) > 12:
                    print(f"  ... and {len(batch.bad) - 12} more")
            elif self.args.verbose:
                print(f"ok   {label} batch {batch.bid} ({batch.variant}, c{batch.conc}, "
                      f"seeds {batch.seeds[0]}..{batch.seeds[-1]}): {batch.result['pages']} responses, "
                      f"{len(batch.log)} server requests, {batch.wall:.1f} s")
            sys.stdout.flush()

    def save(self, label, batch, out_dir):
        stem = os.path.join(out_dir, f"batch-{batch.bid}")
        with open(stem + ".sql", "w") as f:
            f.write(batch.script_text.replace(self.base, "$BASE").replace(self.tls_base, "$TLS_BASE")
                    .replace(self.ca_file, "$CA_FILE"))
        with open(stem + ".out", "w", errors="surrogateescape") as f:
            f.write(f"exit {batch.rc}, {batch.wall:.1f} s\n--- stdout\n{batch.out}\n--- stderr\n{batch.err}\n")
        with open(stem + ".log.json", "w") as f:
            json.dump(batch.log, f, indent=1)
        return stem


def load_known():
    """tests/fuzz_http_known.txt: REGEX  # why; a failure matching one is
    reported as known and does not fail the run (--strict: it does).  The
    text matched is the failure, then " [VARIANT; OP OP ...]": the batch's
    variant and every operator the server applied in it."""
    out = []
    if os.path.exists(KNOWN):
        for line in open(KNOWN):
            pat, _, why = line.partition("#")
            if pat.strip():
                out.append((re.compile(pat.strip()), why.strip()))
    return out


def load_corpus():
    """tests/fuzz_http_corpus.txt: VARIANT CONCURRENCY SEED,SEED,... [sample=N] # why"""
    out = []
    if not os.path.exists(CORPUS):
        return out
    for line in open(CORPUS):
        line = line.split("#", 1)[0].split()
        if len(line) >= 3:
            sample = int(line[3].split("=")[1]) if len(line) > 3 else None
            out.append((line[0], int(line[1]), [int(s) for s in line[2].split(",")], sample))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--start", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=96)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--variant", choices=sorted(VARIANTS))
    ap.add_argument("--concurrency", type=int)
    ap.add_argument("--sample", type=int)
    ap.add_argument("--seed-list")
    ap.add_argument("--sanitize", action="store_true")
    ap.add_argument("--no-corpus", action="store_true")
    ap.add_argument("--strict", action="store_true",
                    help="known failures (tests/fuzz_http_known.txt) fail the run too")
    ap.add_argument("--out")
    ap.add_argument("--save-all", action="store_true",
                    help="save every batch's script, output and server log, not only failures")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    out_dir = args.out or tempfile.mkdtemp(prefix="apifetch-fuzz-http.")
    os.makedirs(out_dir, exist_ok=True)

    runner = Runner(args)
    runner.start_server(out_dir)
    t0 = time.time()
    work = []
    try:
        if args.seed_list:
            seeds = [int(s) for s in args.seed_list.split(",")]
            work.append(("repro", runner.batch_for(seeds)))
        else:
            if not args.no_corpus:
                for variant, conc, seeds, sample in load_corpus():
                    work.append(("corpus", runner.new_batch(seeds, variant, conc, sample)))
            seeds = list(range(args.start, args.start + args.seeds))
            for k in range(0, len(seeds), args.batch):
                work.append(("seeds", runner.batch_for(seeds[k:k + args.batch])))
        print(f"fuzz-http: {len(work)} batches, {args.jobs} at a time, "
              f"{'sanitizer build, ' if args.sanitize else ''}server on {runner.base}, "
              f"results in {out_dir}")
        sys.stdout.flush()

        def one(item):
            label, batch = item
            runner.run(batch)
            runner.record(batch, label)
            if args.save_all:
                runner.save(label, batch, out_dir)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            list(pool.map(one, work))

        # Each failure: saved, tried again, and each seed on its own.
        lines = []
        for label, batch in runner.failures:
            stem = runner.save(label, batch, out_dir)
            again = runner.new_batch(batch.seeds, batch.variant, batch.conc, batch.sample)
            again_bad = runner.run(again)
            alone = []
            if len(batch.seeds) > 1 and not args.seed_list:
                for s in batch.seeds:
                    b1 = runner.new_batch([s], batch.variant, batch.conc, batch.sample)
                    if runner.run(b1):
                        alone.append((s, b1))
                        runner.save(label, b1, out_dir)
            lines.append(f"{label} batch {batch.bid}: {batch.bad[0]}")
            lines.append(f"  again: {'failed: ' + again_bad[0] if again_bad else 'passed'}")
            lines.append(f"  reproduce: {batch.repro(args.sanitize)}")
            for s, b1 in alone:
                lines.append(f"  seed {s} alone fails ({b1.bad[0]}): {b1.repro(args.sanitize)}")
            lines.append(f"  files: {stem}.sql .out .log.json")
        if lines:
            with open(os.path.join(out_dir, "failures.txt"), "w") as f:
                f.write("\n".join(lines) + "\n")
            print("\n".join(lines))
        with open(os.path.join(out_dir, "coverage.txt"), "w") as f:
            for op, k in sorted(runner.coverage.items()):
                f.write(f"{k:6d} {op}\n")
        with open(os.path.join(out_dir, "errors.txt"), "w", errors="surrogateescape") as f:
            for e, k in sorted(runner.error_kinds.items(), key=lambda kv: -kv[1]):
                f.write(f"{k:6d} {e}\n")
        with urllib.request.urlopen(f"{runner.base}/_stats", timeout=30) as f:
            server = json.load(f)
    finally:
        runner.stop_server()
    t = runner.totals
    if runner.tracer_flakes:
        print(f"fuzz-http: LeakSanitizer's tracer crashed at exit in {runner.tracer_flakes} "
              f"batches (not a report); each was run again")
    if server["errors"]:
        print(f"fuzz-http: the server itself failed {server['errors']} times (see its traceback)")
    print(f"fuzz-http: {t['batches']} batches, {t['urls']} URLs, {t['pages']} responses "
          f"(url_index x page), {t['rows']} rows, {t['requests']} attempts counted by apifetch, "
          f"{server['requests']} requests answered by the server, "
          f"{len(runner.coverage)} operator variants, "
          f"largest shell {runner.max_rss_mb:.0f} MB ({runner.max_rss_batch}), "
          f"longest row {runner.max_row_ms} ms "
          f"(bound {Batch.per_page_ms_default()} + slack), slowest batch at "
          f"{100 * runner.max_wall_share:.0f}% of its bound, "
          f"{time.time() - t0:.0f} s: {len(runner.failures)} failed"
          + (f", {len(runner.known_hits)} known failures (tests/fuzz_http_known.txt)"
             if runner.known_hits else ""))
    return 1 if runner.failures or server["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
