#!/usr/bin/python3
"""Benchmarks: apifetch against the Python pattern it replaces and a curl floor.

    /usr/bin/python3 tests/bench.py [--runs N] [--workloads W1,W2,...,W9]
                                    [--tools apifetch,apifetch-wide,python,curl,wrk,
                                             libcurl,libcurl-reuse]
                                    [--scale F] [--wrk PATH]
                                    [--w5 N1,N2,...] [--memory [N]]
                                    [--[no-]flatten] [--flatten-responses R]
                                    [--sqlite3 PATH] [--curl PATH] [--nginx PATH]
                                    [--lib PATH] [--only limits]

(`make bench` runs it with the defaults.)  Standard library only; needs
./apifetch.so (make), the sqlite3 shell, curl, nginx (Debian nginx-light) for
W3-W9, openssl for W6-W8, wrk for W3's wrk peer, and for the Python peer
python3-aiohttp, python3-pandas and python3-tenacity (make bench-deps).

It starts its own servers on 127.0.0.1, each only if a selected workload
needs it, and stops them by PID when done:

  loopback  tests/loopback.py on an ephemeral port: latency-bound work (W1,
            W2: /obj?delay=D&id=i), with its own in-flight counters
  nginx     tests/nginx_bench.conf (a template: @PORT@, a free port picked
            here; @DIR@, the scratch folder for pid, logs and temp paths;
            @DOCROOT@), in the foreground, a master and 2 workers, serving
            static JSON generated into the scratch folder (never the repo),
            deterministic content:
              /w3/<i>.json  i < 20,000: {"id":i,"name":"item i","value":...}
              /w4/<i>.json  i < 2,000: a JSON array of 100 records of about
                            300 bytes, nested (address.geo.lat, stats.views,
                            tags [...], created "2024-..+02:00"), 58 MB in all
            W6-W8 (tests/bench_net.py): two more listeners on the same
            docroot, TLS 1.3 with a certificate of a throwaway CA made
            with openssl at bench start: "h1" offering HTTP/1.1 only,
            "h2" with `http2`; every tool is told to trust the CA

Workloads (WORKLOADS; --workloads picks a subset, e.g. W3,W4):

  W1  100 URLs, 200 ms latency (loopback), c=20, bound ceil(N/C) x D = 1.0 s
  W2  1,000 URLs, 200 ms latency (loopback), c=100, bound 2.0 s
  W3  20,000 small objects from nginx, c=50: requests per second
  W4  2,000 responses x 100 nested records (200,000 rows) from nginx, c=20:
      rows per second and peak memory
  W5  N URLs streamed through SELECT count(*) (apifetch's wide face with
      url_query over generate_series, so the list is never a literal), c=50,
      nginx /w3/ files; N = 10,000, 100,000 and 1,000,000 (--w5 to change):
      peak RSS at each N, wall and rows/s.  apifetch only: the peers are not
      run (a million-URL list held in a Python list / curl config is not
      what they are for), the table says so.
  W6  W3's 20,000 objects over HTTPS, HTTP/1.1 keep-alive, c=50: apifetch,
      python (its SSL context trusting the CA) and curl (--cacert --http1.1)
  W7  the same over HTTP/2: apifetch (multiplexing by default) and curl
      --http2; python not run (aiohttp speaks HTTP/1.1 only)
  W8  200 statements x 5 URLs over HTTPS on ONE SQLite connection (Python's
      sqlite3, tests/bench_statements.py: the Datasette pattern), then the
      same 1,000 URLs in one statement at c=50 on that connection, over "h1"
      and "h2": the per-statement cost against the one statement's
  W9  100,000 URLs /w3/<i % 20000>.json?k=i at c=5,000 and at c=50 (the
      same URLs), streamed: every url_index exactly once (checked in SQL),
      peak RSS, requests/s.  The child's fd limit is raised (ulimit -n) to
      c + 1,000 and nginx's workers take c + 1,000 connections each; if
      the hard limit is lower, W9 is SKIPPED and says why
  --scale F multiplies the URL counts of W3 and W6-W9 (W8: its
  statements), e.g. 0.1 for a quick check of the workloads.

Tools, each a fresh child process per run, --runs times (interleaved), medians:

  apifetch       sqlite3 shell: .load ./apifetch, CREATE TABLE t AS SELECT *
                 FROM api_fetch('<JSON list literal>', C); SELECT count(*) FROM t
  apifetch-wide  sqlite3 shell: CREATE VIRTUAL TABLE temp.w USING
                 api_fetch(url_list='<list>', concurrency=C); CREATE TABLE t
                 AS SELECT * FROM temp.w; SELECT count(*) FROM t (flattened,
                 typed columns, as json_normalize)
  python         tests/bench_python_peer.py: aiohttp + Semaphore + tenacity +
                 gather + pandas.json_normalize + concat + DataFrame.to_sql
  curl           curl --parallel --parallel-immediate --parallel-max C, with
                 `url =` / `output = /dev/null` config lines: fetching only, a
                 floor for the HTTP work (its "rows" are the records in what
                 it fetched, marked *)
  libcurl        W3, W6, W7: tests/bench_libcurl.c (make tests/bench_libcurl),
                 this machine's libcurl and nothing else: C transfers on one
                 multi handle (perform + poll), TLS sessions shared, bodies
                 counted and dropped, no headers of its own, no rows; a fresh
                 easy handle a transfer, as apifetch must on libcurl < 8.1
                 (curl issue 11101).  The floor apifetch can reach here: the
                 targets block prints apifetch's share of it
  libcurl-reuse  the same with each easy handle used again (only a new
                 CURLOPT_URL): the floor of this libcurl, unsafe before 8.1
  wrk            W3 only: wrk -t 2 -c C for a fixed time, a Lua request()
                 walking the same paths; what nginx serves to a client that
                 does nothing but HTTP (wall and CPU scaled to the list's
                 length at the rate it got)

Wall time is time.monotonic() around the child; CPU (user+sys, all threads)
and peak RSS (ru_maxrss) come from wait4 on the child.  Every child has a
timeout (killed with its process group when it passes; the run fails).

Server checks, before the timed runs of each workload: loopback: apifetch
reaches exactly C in flight (the server's own max_inflight), with the
server's CPU.  nginx: one untimed run each of curl and apifetch (also the
warm-up), with nginx's CPU (master + workers, from /proc) and its request and
connection counters (stub_status): nginx is not the bottleneck if, in the
fastest run, its busiest share stays well under its 2 workers and the two
tools' rates are consistent with a client-bound run (printed, with the
verdict).  Every timed run also records connections ("conns") and, on the
loopback server, the maximum in flight ("infl").

The table has one row per workload and tool: wall, CPU, peak RSS, rows,
rows/s, and the wall-time ratio to apifetch, python and curl (this tool's
wall / that tool's wall: below 1 is faster).  Under it, the targets block,
one line per target and face, MET or NOT MET with the numbers:

  W1, W2   apifetch wall / bound <= 1.10
  W3       apifetch requests/s >= curl --parallel's, and >= 75% of wrk's
  W4       apifetch rows/s >= 10x the Python pattern's, and peak RSS <= 1/5
           of the Python pattern's
  W5       peak RSS < 64 MB at every N
  W6       apifetch requests/s >= 1.5x curl --parallel's, >= 20x the Python
           pattern's
  W7       apifetch requests/s >= 1.5x curl --parallel --http2's
  W8       per-statement cost <= 2x that of the same URLs in one statement,
           for h1 and h2
  W9       every url_index exactly once (peak RSS and the req/s against
           c=50 printed with it)

--memory N adds one apifetch run of N URLs /obj?id=i (no delay, loopback) at
concurrency 100, streamed (SELECT count(*) FROM api_fetch(...), no table),
with its wall time and peak RSS, next to a baseline: the same shell and
script holding the same JSON literal without fetching (SELECT
length('<literal>')).  The difference is what the fetch itself costs; it
should not grow with N.

The cache section (on by default, after the workloads; --no-cache skips it;
issue 13), each run a fresh sqlite3 shell with a file cache in the scratch
folder:

  C1  W2's 1,000 URLs x 200 ms (loopback /cache?delay=200&cc=max-age=3600),
      c=100: a cold run into an empty cache, then a warm re-run.  Target: the
      warm run sends no request and is >= 50x faster than the cold one.
  C2  the same URLs with only an ETag (stale as soon as stored): a cold run,
      then a revalidation run, every URL answered 304.  Target: wall / bound
      <= 1.10 (the same 2.0 s bound as W2), no body bytes sent.
  C3  lookup cost: a cache grown to each size of --cache-sizes (default
      10,000, 100,000 and 1,000,000 entries, nginx /w3/<i % 20000>.json?k=i,
      cache_mode ttl), and at each size a warm run over the same 10,000 of
      its URLs: microseconds per URL.  Target: at the largest size at most
      2x the smallest (flat).

The flatten section (on by default, after the workloads; --no-flatten skips
it) needs no server: it builds tests/bench_flatten.c with cc -O2 against
the module's sources (make tests/bench_flatten), and runs it on an in-memory corpus
of R responses (--flatten-responses, default 2000) of 100 nested records of
about 300 bytes (60 MB).  Best of 3 passes each, it compares (a) parsing with
cJSON (cJSON_ParseWithLength + cJSON_Delete) with (b) apifetch's work per
response end to end (json_validate, records_begin, shape_record for every
record, every cell read).  Target: b/a >= 0.50 in records/s, i.e. flattening
and typing cost no more than parsing does.  `--workloads ''` runs this
section alone.

The limits section (issue 19; L1-L4 in --workloads, on by default; `--only
limits` runs it alone, in about 3 minutes), one run per tool, apifetch with
no `rate` and the Python pattern with --rate-limited (bench_python_peer.py:
semaphore + tenacity honouring Retry-After), each on a budget of its own (a
key per run), 429s counted by the server:

  L1  2,000 URLs, c=50, loopback /limited/github?limit=100&window=1: 100
      requests/s, told in X-RateLimit-* on every answer; bound 20 s
  L2  the same with /limited/retry_after: 429 + Retry-After only
  L3  the same on nginx limit_req (tests/nginx_limit.py: 100 r/s, burst 10
      nodelay, 429 with no hint), /obj.json
  L4  1,000 URLs /obj?delay=100 on a healthy loopback, c=50, timeout_ms 2000,
      alone and with 10 URLs /hang of a second loopback (a host that accepts
      and never answers) among them: apifetch only (the peer's 30 s
      timeouts x attempts would be most of the section)

Targets (issue 19), reported MET / NOT MET, not errors, each with every URL
fetched (a run that gives up on URLs is not met): L1 wall <= 1.10 x
bound and 429s <= 1% of URLs; L2 wall <= 1.25 x bound and 429s <= 10%; L3
wall <= 1.25 x bound; L4 the hang costs no more than one breaker
threshold's worth of timeouts (printed with the numbers: the threshold is the
engine's to choose, so the verdict is left to the reader until it exists).

The NDJSON section (issue 21; on by default, after the others; --no-ndjson
skips it; `--workloads '' --no-cache --no-flatten` runs it alone, in about a
minute), on an nginx of its own serving the same records as NDJSON and as
JSON arrays (about 100 bytes each, nested):

  N1  1,000 responses x 1,000 records from nginx, c=20, into a table (CREATE
      TABLE t AS SELECT * FROM api_fetch(...)), format ndjson against the
      JSON-array face (format json) on the same records, both faces.
      Target: ndjson rows/s >= the JSON array's, on each face.
  N2  one NDJSON response of 1 MB, then one of 200 MB (max_bytes 1e9),
      streamed through SELECT count(*).  Target: peak RSS at 200 MB within
      16 MB of that at 1 MB (flat: the body is read in parts, src/chunk.c).

Exit status: 0, or 1 if any run failed, timed out or produced the wrong row
count, or a server check failed (targets NOT MET and a flatten ratio below
target are reported, not errors).
"""
import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import bench_net        # tests/, beside this file: issue 20's workloads (W3's wrk, W6-W9)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"
SCRATCH = None          # a temporary directory under /tmp, set in main()
LIB = "./apifetch"      # what the shell .loads (--lib)

# The libcurl floor peers (tests/bench_libcurl.c): this libcurl and nothing else.
FLOORS = ("libcurl", "libcurl-reuse")

# server "loopback": n URLs /obj?delay=D&id=i, physical bound ceil(n/C) x D.
# server "nginx": n URLs /<files>/<i>.json (i < n), `records` records each.
# W5 ("stream"): apifetch's wide face with url_query, N from --w5.
WORKLOADS = [
    {"name": "W1", "server": "loopback", "n": 100, "delay_ms": 200, "concurrency": 20},
    {"name": "W2", "server": "loopback", "n": 1000, "delay_ms": 200, "concurrency": 100},
    {"name": "W3", "server": "nginx", "files": "w3", "n": 20000, "records": 1,
     "concurrency": 50, "peers": ("python", "curl", "wrk") + FLOORS, "scaled": True},
    {"name": "W4", "server": "nginx", "files": "w4", "n": 2000, "records": 100,
     "concurrency": 20},
    {"name": "W5", "server": "nginx", "files": "w3", "stream": True, "concurrency": 50},
    # Issue 20 (tests/bench_net.py).  tls: the TLS listener, "h1" offering
    # HTTP/1.1 only, "h2" HTTP/2; peers: the peers run (besides the faces).
    {"name": "W6", "server": "nginx", "files": "w3", "n": 20000, "records": 1,
     "concurrency": 50, "tls": "h1", "peers": ("python", "curl") + FLOORS, "scaled": True},
    {"name": "W7", "server": "nginx", "files": "w3", "n": 20000, "records": 1,
     "concurrency": 50, "tls": "h2", "peers": ("curl",) + FLOORS, "scaled": True},
    {"name": "W8", "server": "nginx", "files": "w3", "run": "statements", "statements": 200,
     "per": 5, "concurrency": 50, "tls": ("h1", "h2"), "scaled": True},
    {"name": "W9", "server": "nginx", "files": "w3", "run": "scale", "n": 100000,
     "nfiles": 20000, "concurrency": 5000, "base_concurrency": 50, "scaled": True},
]
W5_DEFAULT = [10000, 100000, 1000000]

# The limits section (issue 19): a server that allows LIMIT_RATE requests/s.
LIMIT_WORKLOADS = [
    {"name": "L1", "server": "loopback", "form": "github", "n": 2000, "concurrency": 50,
     "slack": 1.10, "max_429": 0.01, "what": "X-RateLimit-* headers"},
    {"name": "L2", "server": "loopback", "form": "retry_after", "n": 2000, "concurrency": 50,
     "slack": 1.25, "max_429": 0.10, "what": "429 + Retry-After only"},
    {"name": "L3", "server": "nginx_limit", "n": 2000, "concurrency": 50,
     "slack": 1.25, "max_429": None, "what": "nginx limit_req, no hint"},
    {"name": "L4", "server": "hang", "n": 1000, "hang": 10, "delay_ms": 100,
     "concurrency": 50, "timeout_ms": 2000, "what": "a hanging host among healthy URLs"},
]
LIMIT_RATE = 100
GROUPS = {"limits": [w["name"] for w in LIMIT_WORKLOADS]}

W3_FILES = 20000        # /w3/<i>.json, one small object each
W4_FILES = 2000         # /w4/<i>.json, W4_RECORDS records each
W4_RECORDS = 100

TOOLS = ["apifetch", "apifetch-wide", "python", "curl", "wrk", *FLOORS]
FACES = ["apifetch", "apifetch-wide"]
PEERS = ["python", "curl", "wrk", *FLOORS]
FETCH_ONLY = ("curl", "wrk", *FLOORS)   # no rows made: their rows are the records fetched
TLS = None              # bench_net.tls_setup's files, if W6-W8 are chosen

# Targets (issue 5).
BOUND_SLACK = 1.10      # W1, W2: apifetch wall / bound
W4_SPEEDUP = 10.0       # W4: apifetch rows/s >= 10x the Python pattern's
W4_RSS_FRACTION = 0.20  # W4: apifetch peak RSS <= 1/5 of the Python pattern's
W5_RSS_MB = 64.0        # W5: peak RSS below this at every N

CHILD_TIMEOUT = 300     # seconds, any one child (W5: more, by N)


def scaled(w, f):
    """W3 and W6-W9 with their URL counts (W8: statements) times f (--scale)."""
    if f == 1 or not w.get("scaled"):
        return w
    key = "statements" if w.get("run") == "statements" else "n"
    return dict(w, **{key: max(1, round(w[key] * f))})


def bound_s(w):
    return math.ceil(w["n"] / w["concurrency"]) * w["delay_ms"] / 1000


def w5_timeout(n):
    return 120 + n / 2000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_s(pid):
    """user+sys seconds of one process so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def stop_pid(proc, extra_pids=()):
    """SIGTERM the process we started (and wait), SIGKILL it and extra_pids
    (its children, by PID) if it does not go."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            for pid in [proc.pid] + list(extra_pids):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait()


# ---------------------------------------------------------------- servers

class Loopback:
    """tests/loopback.py: delayed answers, in-flight counters."""
    kind = "loopback"

    def __init__(self):
        self.proc = subprocess.Popen([PYTHON, os.path.join(ROOT, "tests", "loopback.py"),
                                      "--port", "0"],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            stop_pid(self.proc)
            raise RuntimeError(f"loopback server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.base = f"http://127.0.0.1:{self.port}"

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            return json.loads(r.read())

    def stats(self):
        return self.get("/stats")

    def cpu_s(self):
        return proc_cpu_s(self.proc.pid)

    def before_run(self):
        self.get("/stats/reset")
        return self.cpu_s()

    def after_run(self, cpu0):
        st = self.stats()
        return {"conns": st["connections"], "infl": st["max_inflight"],
                "requests": st["requests"], "srv_cpu": self.cpu_s() - cpu0}

    def stop(self):
        stop_pid(self.proc)
        self.proc.stdout.close()


class Nginx:
    """nginx from tests/nginx_bench.conf serving DOCROOT, master + workers."""
    kind = "nginx"

    def __init__(self, exe, docroot, tls=None, connections=4096, name="nginx"):
        """tls: bench_net.tls_setup's files, for the TLS listeners of W6-W8
        (self.tls_base {"h1": URL, "h2": URL}); connections: the most
        connections one worker may have to take (W9: all of them); name:
        its directory under the scratch directory."""
        self.dir = os.path.join(SCRATCH, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        ports = {"h1": free_port(), "h2": free_port()} if tls else {}
        self.tls_base = {k: f"https://127.0.0.1:{p}" for k, p in ports.items()}
        # A connection holds a socket and, while it is sent, a file.
        main = (f"worker_rlimit_nofile {2 * connections + 100};" if connections > 4096 else "")
        with open(os.path.join(ROOT, "tests", "nginx_bench.conf")) as f:
            conf = f.read()
        # @MAIN@ and @SERVERS@ stand on lines of their own (the comment
        # naming them keeps its text).
        conf = re.sub(r"^@MAIN@$", main, conf, flags=re.M)
        conf = re.sub(r"^@SERVERS@$", lambda _: bench_net.tls_servers(tls, docroot, ports)
                      if tls else "", conf, flags=re.M)
        conf = (conf.replace("@WORKER_CONNECTIONS@", str(max(connections, 4096)))
                .replace("@PORT@", str(self.port)).replace("@DIR@", self.dir)
                .replace("@DOCROOT@", docroot))
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.errlog = os.path.join(self.dir, "error.log")
        self.workers = int(next((ln.split()[1].rstrip(";") for ln in conf.splitlines()
                                 if ln.strip().startswith("worker_processes")), "1")
                           .replace("auto", str(os.cpu_count())))
        self.proc = subprocess.Popen([exe, "-p", self.dir + "/", "-e", self.errlog,
                                      "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self.kids = []
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}: "
                                   + self.error_log_tail())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                self.kids = children_of(self.proc.pid)
                if len(self.kids) >= self.workers:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("nginx did not start: " + self.error_log_tail())
            time.sleep(0.05)

    def error_log_tail(self, n=5):
        try:
            with open(self.errlog) as f:
                return " | ".join(f.read().strip().splitlines()[-n:])
        except OSError:
            return ""

    def error_log_lines(self):
        try:
            with open(self.errlog) as f:
                return sum(1 for ln in f if "[notice]" not in ln)
        except OSError:
            return 0

    def status(self):
        """stub_status: accepted connections and requests so far (this one
        request and its connection not counted)."""
        with urllib.request.urlopen(self.base + "/nginx_status", timeout=10) as r:
            lines = r.read().decode().splitlines()
        accepts, _, requests = (int(x) for x in lines[2].split())
        return {"accepts": accepts - 1, "requests": requests - 1}

    def cpu_s(self):
        """user+sys seconds of the master and its workers so far."""
        self.kids = children_of(self.proc.pid) or self.kids
        return sum(proc_cpu_s(p) for p in [self.proc.pid] + self.kids)

    def before_run(self):
        return (self.status(), self.cpu_s())

    def after_run(self, token):
        st0, cpu0 = token
        cpu = self.cpu_s() - cpu0
        st = self.status()
        # The "before" status request itself is in st's counts (+1 each).
        return {"conns": st["accepts"] - st0["accepts"] - 1, "infl": None,
                "requests": st["requests"] - st0["requests"] - 1, "srv_cpu": cpu}

    def stop(self):
        stop_pid(self.proc, self.kids or children_of(self.proc.pid))


# ---------------------------------------------------------------- static files

def _splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return state, z ^ (z >> 31)


class Rng:
    """A fixed-seed PRNG (splitmix64): the same files on every machine."""

    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state, z = _splitmix64(self.state)
        return z

    def below(self, n):
        return self.next() % n


CITIES = ["Berlin", "Paris", "Lisbon", "Oslo", "Madrid", "Vienna", "Prague", "Dublin",
          "Warsaw", "Rome", "Athens", "Helsinki"]
TAGS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]


def w3_object(i):
    return {"id": i, "name": f"item {i}", "value": (i * 37 % 1000) / 4}


def w4_record(rng, i):
    """About 290 bytes of compact JSON, nested like a real API object."""
    r = rng.next
    uuid = "%08x-%04x-%04x-%04x-%012x" % (r() >> 32, r() >> 48, r() >> 48, r() >> 48, r() >> 16)
    return {"id": 1000000 + i, "uuid": uuid, "name": f"user {i}",
            "email": f"user{i}@example.com", "active": rng.below(10) < 7,
            "score": rng.below(40000) / 4,
            "created": "2024-%02d-%02dT%02d:%02d:%02d+02:00" % (
                1 + rng.below(12), 1 + rng.below(28), rng.below(24), rng.below(60),
                rng.below(60)),
            "address": {"city": CITIES[rng.below(len(CITIES))],
                        "geo": {"lat": (rng.below(18000000) - 9000000) / 1e5,
                                "lng": (rng.below(36000000) - 18000000) / 1e5}},
            "tags": [TAGS[(k * 2 + rng.below(2)) % len(TAGS)] for k in range(rng.below(4))],
            "stats": {"views": rng.below(100000), "likes": rng.below(1000)}}


def make_docroot(docroot, sets):
    """Writes /w3 and/or /w4 under docroot; returns {set: bytes}."""
    sizes = {}
    old_umask = os.umask(0o022)         # readable by nginx's workers
    try:
        return _make_docroot(docroot, sets, sizes)
    finally:
        os.umask(old_umask)


def _make_docroot(docroot, sets, sizes):
    for name in sets:
        d = os.path.join(docroot, name)
        os.makedirs(d, exist_ok=True)
        total = 0
        if name == "w3":
            for i in range(W3_FILES):
                body = json.dumps(w3_object(i), separators=(",", ":"))
                with open(os.path.join(d, f"{i}.json"), "w") as f:
                    f.write(body)
                total += len(body)
        elif name == "w4":
            for j in range(W4_FILES):
                rng = Rng(j + 1)
                body = json.dumps([w4_record(rng, j * W4_RECORDS + k)
                                   for k in range(W4_RECORDS)], separators=(",", ":"))
                with open(os.path.join(d, f"{j}.json"), "w") as f:
                    f.write(body)
                total += len(body)
        sizes[name] = total
    return sizes


# ---------------------------------------------------------------- measuring

# A child's ru_maxrss starts at the RSS of the process that forked it (Linux
# carries the old image's high-water mark across exec; with vfork, as
# subprocess uses, that is the driver's peak so far, 20 MB and more).  So each
# child is started by this tiny helper, which forks it from a 1 MB image and
# reports its rusage from wait4.  Built with cc (make needs it anyway) into
# the scratch directory; without cc the driver's floor is reported as such.
SPAWN_C = r"""
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 3) return 127;
    pid_t pid = fork();
    if (pid < 0) { perror("spawn: fork"); return 127; }
    if (pid == 0) { execvp(argv[2], argv + 2); perror(argv[2]); _exit(127); }
    int status; struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) { perror("spawn: wait4"); return 127; }
    FILE *f = fopen(argv[1], "w");
    if (!f) { perror(argv[1]); return 127; }
    fprintf(f, "%ld.%06ld %ld.%06ld %ld\n", (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
            (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec, ru.ru_maxrss);
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
"""
SPAWN = None            # path of the built helper, or None


def build_spawn():
    global SPAWN
    src, exe = os.path.join(SCRATCH, "spawn.c"), os.path.join(SCRATCH, "spawn")
    with open(src, "w") as f:
        f.write(SPAWN_C)
    cc = os.environ.get("CC", "cc")
    try:
        subprocess.run([cc, "-O2", "-o", exe, src], check=True, capture_output=True,
                       timeout=120)
        SPAWN = exe
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        print(f"bench: cannot build the rusage helper with {cc} ({e}); peak RSS below "
              "includes the driver's own RSS as a floor", file=sys.stderr)


def measure(argv, stdin_path=None, timeout=CHILD_TIMEOUT):
    """Run argv as a child in ROOT, in its own process group, killed (the
    group) after timeout seconds.  Returns dict wall, cpu, rss_mb, rc, out,
    err, timed_out."""
    ru_path = os.path.join(SCRATCH, "rusage")
    if SPAWN:
        argv = [SPAWN, ru_path] + list(argv)
    with tempfile.TemporaryFile(dir=SCRATCH) as out, tempfile.TemporaryFile(dir=SCRATCH) as err, \
            open(stdin_path or os.devnull, "rb") as inp:
        lock, state = threading.Lock(), {"done": False, "killed": False}
        t0 = time.monotonic()
        p = subprocess.Popen(argv, cwd=ROOT, stdin=inp, stdout=out, stderr=err,
                             start_new_session=True)

        def kill():
            with lock:
                if not state["done"]:
                    state["killed"] = True
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        except BaseException:
            kill()
            os.wait4(p.pid, 0)
            raise
        finally:
            with lock:
                state["done"] = True
            timer.cancel()
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        utime, stime, maxrss = ru.ru_utime, ru.ru_stime, ru.ru_maxrss
        if SPAWN and os.path.exists(ru_path):
            with open(ru_path) as f:
                utime, stime, maxrss = (float(x) for x in f.read().split())
            os.unlink(ru_path)
        out.seek(0)
        err.seek(0)
        return {"wall": wall, "cpu": utime + stime, "rss_mb": maxrss / 1024,
                "rc": p.returncode, "out": out.read().decode(errors="replace"),
                "err": err.read().decode(errors="replace"),
                "timed_out": timeout if state["killed"] else None}


def sql_literal(text):
    return "'" + text.replace("'", "''") + "'"


def parse_count_line(out):
    """The shell's last line `rows|errors`."""
    try:
        rows, errors = (int(x) for x in out.strip().splitlines()[-1].split("|"))
        return rows, errors
    except (ValueError, IndexError):
        return None, None


class Workload:
    """The files each tool needs for one URL list."""

    def __init__(self, name, urls, concurrency, sqlite3, curl, rows=None, timeout=CHILD_TIMEOUT,
                 peer_args=(), ca=None, http2=False, wrk=None, wrk_seconds=None):
        """ca: a CA file to trust (HTTPS, W6-W8): every tool is told;
        http2: curl asks for HTTP/2 (else HTTP/1.1); wrk: its path (W3)."""
        self.name, self.urls, self.c = name, urls, concurrency
        self.peer_args = list(peer_args) + (["--cafile", ca] if ca else [])
        self.curl_args = ["--cacert", ca, "--http2" if http2 else "--http1.1"] if ca else []
        self.sqlite3, self.curl = sqlite3, curl
        self.rows = len(urls) if rows is None else rows     # expected rows
        self.timeout = timeout
        self.wrk, self.wrk_seconds = wrk, wrk_seconds
        lit = sql_literal(json.dumps(urls))
        self.list_json = self._write("urls.json", json.dumps(urls))
        pre = (f".load {LIB}\n" + (
            f"SELECT api_fetch_config(json_object('ca_file', {sql_literal(ca)})) IS NOT NULL;\n"
            if ca else ""))
        self.sql_table = self._write("table.sql", (
            pre +
            f"CREATE TABLE t AS SELECT * FROM api_fetch({lit}, {concurrency});\n"
            "SELECT count(*), count(error) FROM t;\n"))
        self.sql_wide = self._write("wide.sql", (
            pre +
            f"CREATE VIRTUAL TABLE temp.w USING api_fetch(url_list={lit}, "
            f"concurrency={concurrency});\n"
            "CREATE TABLE t AS SELECT * FROM temp.w;\n"
            "SELECT count(*), (SELECT value FROM api_fetch_stats() WHERE name = 'errors') "
            "FROM t;\n"))
        self.sql_stream = self._write("stream.sql", (
            pre +
            f"SELECT count(*), count(error) FROM api_fetch({lit}, {concurrency});\n"))
        self.sql_baseline = self._write("baseline.sql", (
            f".load {LIB}\n"
            f"SELECT length({lit}), 0;\n"))
        self.url_lines = self._write("urls.txt", "".join(u + "\n" for u in urls))
        self.floor_args = (["--cacert", ca] if ca else []) + (["--http2"] if http2 else [])
        self.curl_cfg = self._write("curl.cfg", "".join(
            f'url = "{u}"\noutput = "/dev/null"\n' for u in urls))

    def run_wrk(self):
        """wrk for a fixed time on the same paths: its wall and CPU are
        scaled to this list's length at the rate it got (the rows column
        then compares like the other tools'); rows None, as curl's."""
        script = bench_net.wrk_script(os.path.join(SCRATCH, f"{self.name}.wrk.lua"), self.urls)
        base = self.urls[0].split("/", 3)
        r = measure(bench_net.wrk_argv(self.wrk, script, "/".join(base[:3]) + "/", self.c,
                                       self.wrk_seconds), None, self.timeout)
        n, rps, bad = bench_net.wrk_parse(r["out"])
        r["rows"] = None
        r["failed"] = (f"rc {r['rc']}" if r["rc"] else "no Requests/sec in its report"
                       if not rps else bad)
        if rps:
            scale = len(self.urls) / rps / r["wall"]
            r["wall"], r["cpu"] = r["wall"] * scale, r["cpu"] * scale
            r["wrk_requests"] = n
        return r

    def _write(self, suffix, text):
        path = os.path.join(SCRATCH, f"{self.name}.{suffix}")
        with open(path, "w") as f:
            f.write(text)
        return path

    def run(self, tool, sql=None):
        """One measured run; adds rows (int or None), failed (str or None)."""
        if tool in FACES:
            script = sql or (self.sql_table if tool == "apifetch" else self.sql_wide)
            r = measure([self.sqlite3, "-bail", "-batch", ":memory:"], script, self.timeout)
            rows, errors = parse_count_line(r["out"])
            r["rows"] = rows
            r["failed"] = (f"rc {r['rc']}" if r["rc"] else
                           f"{errors} rows with an error" if errors else None)
        elif tool == "python":
            r = measure([PYTHON, os.path.join(ROOT, "tests", "bench_python_peer.py"),
                         self.list_json, str(self.c)] + self.peer_args, None, self.timeout)
            try:
                info = json.loads(r["out"].strip().splitlines()[-1])
            except (ValueError, IndexError):
                info = {}
            r["rows"] = info.get("rows")
            r["phases"] = info
            r["failed"] = (f"rc {r['rc']}" if r["rc"] else
                           f"{info.get('failed')} failed" if info.get("failed") else None)
        elif tool == "curl":
            # --parallel-immediate: open the C connections at once instead of
            # waiting to learn whether the first can multiplex (+0.2 s on W1).
            r = measure([self.curl, "--silent", "--show-error", "--fail", "--parallel",
                         "--parallel-immediate", "--parallel-max", str(self.c),
                         *self.curl_args, "--config", self.curl_cfg], None, self.timeout)
            r["rows"] = None
            r["failed"] = f"rc {r['rc']}" if r["rc"] else None
        elif tool in FLOORS:
            r = measure([os.path.join(ROOT, "tests", "bench_libcurl"), self.url_lines,
                         str(self.c), "fresh" if tool == "libcurl" else "reuse",
                         *self.floor_args], None, self.timeout)
            r["rows"] = None
            r["failed"] = f"rc {r['rc']}: {r['err'].strip()[:200]}" if r["rc"] else None
        elif tool == "wrk":
            r = self.run_wrk()
        else:
            raise ValueError(tool)
        if r["timed_out"]:
            r["failed"] = f"timed out after {r['timed_out']:.0f} s"
        elif r["failed"]:
            r["failed"] += ": " + (r["err"].strip().splitlines() or [""])[-1][:200]
        return r


# ---------------------------------------------------------------- flatten

# The flatten micro-benchmark, built by the Makefile from the module's own
# source list (make tests/bench_flatten), so that it cannot drift from it.
FLATTEN_TARGET = 0.50


def run_flatten(responses):
    """Build and run tests/bench_flatten.c; prints its lines and a verdict.
    Returns False if it could not be built or run."""
    exe = os.path.join(ROOT, "tests", "bench_flatten")
    print(f"\nflatten: apifetch's per-response work vs cJSON parsing, in memory, "
          f"{responses} responses x 100 records", flush=True)
    try:
        subprocess.run(["make", "-s", "tests/bench_flatten"], cwd=ROOT, check=True,
                       capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        err = getattr(e, "stderr", None) or str(e)
        print(f"  FAILED: make tests/bench_flatten: "
              f"{err.strip().splitlines()[-1][:200] if err.strip() else e}")
        return False
    try:
        r = subprocess.run([exe, "-r", str(responses)], cwd=ROOT, capture_output=True,
                           text=True, timeout=max(300, responses / 10))
    except subprocess.TimeoutExpired as e:
        print(f"  FAILED: timed out after {e.timeout:.0f} s")
        return False
    for line in r.stdout.splitlines():
        print("  " + line)
    ratio = None
    for line in r.stdout.splitlines():
        if line.startswith("ratio b/a"):
            try:
                ratio = float(line.rsplit(":", 1)[1])
            except ValueError:
                pass
    if r.returncode or ratio is None:
        print(f"  FAILED: rc {r.returncode}: " + (r.stderr.strip().splitlines() or [""])[-1][:200])
        return False
    print(f"  verdict: b/a = {ratio:.2f}, target >= {FLATTEN_TARGET:.2f} "
          + ("MET" if ratio >= FLATTEN_TARGET else "NOT MET")
          + " (flatten + type must cost no more than parsing does: >= 50% of the "
          "parse-only rate end to end)", flush=True)
    return True


def urls_for(server, n, delay_ms):
    q = f"delay={delay_ms}&" if delay_ms else ""
    return [f"{server.base}/obj?{q}id={i}" for i in range(1, n + 1)]


def static_urls(server, files, n, tls=None):
    """tls: "h1" or "h2", the URLs of that TLS listener (W6, W7)."""
    base = server.tls_base[tls] if tls else server.base
    return [f"{base}/{files}/{i}.json" for i in range(n)]


# ---------------------------------------------------------------- reporting

def fmt_table(header, rows, right):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    out = []
    for row in [header] + rows:
        out.append("  ".join(str(x).rjust(w) if i in right else str(x).ljust(w)
                             for i, (x, w) in enumerate(zip(row, widths))).rstrip())
        if row is header:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def med(runs, key):
    vals = [x[key] for x in runs if x.get(key) is not None]
    return statistics.median(vals) if vals else None


def verdict(ok):
    return "MET    " if ok else "NOT MET"


# ---------------------------------------------------------------- the runs

def nginx_check(w, wl, nginx, tools):
    """Untimed runs of curl and apifetch (also the warm-up); prints rates,
    nginx's CPU and counters, and whether nginx was the bottleneck.
    Returns False if a run failed."""
    good, seen = True, []
    for tool in [t for t in ("curl", "apifetch") if t in tools]:
        tok = nginx.before_run()
        r = wl.run(tool)
        s = nginx.after_run(tok)
        if r["failed"]:
            good = False
        rate = wl.rows / r["wall"]
        seen.append((tool, r, s, rate))
        print(f"{w['name']} check: {tool}: {len(wl.urls)} URLs in {r['wall']:.2f} s = "
              f"{len(wl.urls) / r['wall']:,.0f} req/s ({rate:,.0f} rows/s); client CPU "
              f"{r['cpu']:.2f} s = {r['cpu'] / r['wall']:.2f} cores; nginx CPU "
              f"{s['srv_cpu']:.2f} s = {s['srv_cpu'] / r['wall']:.2f} cores of its "
              f"{nginx.workers} workers; {s['requests']} requests on {s['conns']} connections"
              + (f"  <-- FAILED ({r['failed']})" if r["failed"] else ""), flush=True)
    if not seen:
        return good
    # nginx is the bottleneck only if its workers were saturated in the fastest
    # run; otherwise each tool was held back by itself (its CPU, its event
    # loop) or by sharing the machine's cores, not by the server.
    tool, r, s, rate = max(seen, key=lambda x: x[3])
    srv_cores = s["srv_cpu"] / r["wall"]
    cli_cores = r["cpu"] / r["wall"]
    total = srv_cores + cli_cores
    fast = srv_cores < 0.8 * min(nginx.workers, os.cpu_count() or 1)
    why = ("" if not fast else
           f"; the client is: {cli_cores:.2f} cores of CPU" if cli_cores >= 0.9 else
           "; the CPUs are, shared by client and server" if total > 0.85 * (os.cpu_count() or 1)
           else "")
    print(f"{w['name']} check: nginx sustained {len(wl.urls) / r['wall']:,.0f} req/s for "
          f"{tool} using {srv_cores:.2f} of {nginx.workers} worker cores; client + nginx "
          f"= {total:.2f} of {os.cpu_count()} CPUs: "
          + ("nginx is not the bottleneck" if fast else "nginx may be the bottleneck <-- CHECK")
          + why
          + (f"; the slower tools ran below that rate, so nginx did not hold them back"
             if len(seen) > 1 else ""), flush=True)
    return good


def run_workload(w, server, tools, args, ok_box):
    """Timed runs of one W1-W4, W6 or W7 workload; returns {tool: medians}
    and prints the checks."""
    tools = [t for t in tools if t in FACES or t in w.get("peers", ("python", "curl"))]
    if w["server"] == "loopback":
        wl = Workload(w["name"], urls_for(server, w["n"], w["delay_ms"]), w["concurrency"],
                      args.sqlite3, args.curl)
        # The server must not be the bottleneck: apifetch reaches exactly C in flight.
        cpu0 = server.before_run()
        r = wl.run("apifetch")
        st = server.after_run(cpu0)
        good = st["infl"] == w["concurrency"] and not r["failed"]
        ok_box[0] &= good
        print(f"{w['name']} check: max_inflight {st['infl']} (concurrency "
              f"{w['concurrency']}), {st['requests']} requests on {st['conns']} "
              f"connections, server CPU {st['srv_cpu']:.2f} s in {r['wall']:.2f} s"
              + ("" if good else "  <-- NOT OK" + (f" ({r['failed']})" if r["failed"] else "")),
              flush=True)
    else:
        wl = Workload(w["name"], static_urls(server, w["files"], w["n"], w.get("tls")),
                      w["concurrency"], args.sqlite3, args.curl, rows=w["n"] * w["records"],
                      ca=TLS["ca"] if w.get("tls") else None, http2=w.get("tls") == "h2",
                      wrk=args.wrk, wrk_seconds=max(2, round(bench_net.WRK_SECONDS
                                                             * args.scale)))
        ok_box[0] &= nginx_check(w, wl, server, tools)
        errs0 = server.error_log_lines()

    runs = {t: [] for t in tools}
    for _ in range(args.runs):
        for tool in tools:
            tok = server.before_run()
            r = wl.run(tool)
            r.update(server.after_run(tok))
            runs[tool].append(r)
            if r["failed"] or (r["rows"] is not None and r["rows"] != wl.rows):
                ok_box[0] = False
                print(f"  {w['name']} {tool}: FAILED: {r['failed'] or ''} "
                      f"rows={r['rows']} (expected {wl.rows})", flush=True)
    if w["server"] == "nginx" and server.error_log_lines() > errs0:
        ok_box[0] = False
        print(f"  {w['name']}: nginx logged errors: {server.error_log_tail()}", flush=True)

    out = {}
    for t in tools:
        m = {k: med(runs[t], k) for k in ("wall", "cpu", "rss_mb", "infl", "conns", "srv_cpu")}
        m["rows"] = wl.rows if t in FETCH_ONLY else med(runs[t], "rows") or 0
        m["rate"] = m["rows"] / m["wall"]
        m["req_rate"] = len(wl.urls) / m["wall"]
        if t == "python":
            m["phases"] = {k: statistics.median(x["phases"].get(k, 0) for x in runs[t])
                           for k in ("t_import", "t_fetch", "t_frame", "t_sql")}
        out[t] = m
    return out


def run_w5(w, nginx, ns, args, ok_box):
    """apifetch's wide face with url_query, streamed through count(*), per N."""
    out = {}
    c = w["concurrency"]
    for n in ns:
        q = (f"SELECT ''{nginx.base}/{w['files']}/'' || (value % {W3_FILES}) || ''.json'' "
             f"FROM generate_series(1, {n})")
        path = os.path.join(SCRATCH, f"W5.{n}.sql")
        with open(path, "w") as f:
            f.write(f".load {LIB}\n"
                    f"CREATE VIRTUAL TABLE temp.w5 USING api_fetch(url_query='{q}', "
                    f"concurrency={c}, columns='id INTEGER');\n"
                    "SELECT count(*), count(_error) FROM temp.w5;\n")
        runs = []
        for _ in range(args.runs):
            tok = nginx.before_run()
            r = measure([args.sqlite3, "-bail", "-batch", ":memory:"], path, w5_timeout(n))
            r.update(nginx.after_run(tok))
            r["rows"], errors = parse_count_line(r["out"])
            r["failed"] = (f"timed out after {r['timed_out']:.0f} s" if r["timed_out"] else
                           f"rc {r['rc']}: " + (r["err"].strip().splitlines() or [""])[-1][:200]
                           if r["rc"] else f"{errors} rows with an error" if errors else None)
            runs.append(r)
            if r["failed"] or r["rows"] != n:
                ok_box[0] = False
                print(f"  W5 N={n}: FAILED: {r['failed'] or ''} rows={r['rows']}", flush=True)
        m = {k: med(runs, k) for k in ("wall", "cpu", "rss_mb", "conns", "srv_cpu", "requests")}
        m["rows"] = med(runs, "rows") or 0
        m["rate"] = m["rows"] / m["wall"]
        m["rss_all"] = [x["rss_mb"] for x in runs]
        print(f"W5 N={n:,}: wall {m['wall']:.2f} s, {m['rate']:,.0f} rows/s, peak RSS "
              f"{m['rss_mb']:.1f} MB (runs: {', '.join(f'{x:.1f}' for x in m['rss_all'])}), "
              f"client CPU {m['cpu'] / m['wall']:.2f} cores, nginx CPU "
              f"{m['srv_cpu'] / m['wall']:.2f} cores, {m['requests']:.0f} requests on "
              f"{m['conns']:.0f} connections", flush=True)
        out[n] = m
    return out


# ---------------------------------------------------------------- cache

CACHE_WARM_SPEEDUP = 50.0   # C1: cold wall / warm wall
CACHE_FLAT = 2.0            # C3: us/URL at the largest size / at the smallest
CACHE_SIZES = [10000, 100000, 1000000]


def cache_script(name, urls_sql, c, opts):
    """A shell script fetching the URLs urls_sql gives (an SQL expression of
    a JSON array) with options opts; prints rows|errors|hits."""
    path = os.path.join(SCRATCH, f"{name}.sql")
    with open(path, "w") as f:
        f.write(f".load {LIB}\n"
                f"SELECT count(*), count(error), count(*) FILTER (WHERE cache = 'hit') "
                f"FROM api_fetch({urls_sql}, {c}, {sql_literal(json.dumps(opts))});\n")
    return path


def cache_run(script, args, server, timeout=CHILD_TIMEOUT):
    tok = server.before_run()
    r = measure([args.sqlite3, "-bail", "-batch", ":memory:"], script, timeout)
    r.update(server.after_run(tok))
    try:
        r["rows"], r["errors"], r["hits"] = (
            int(x) for x in r["out"].strip().splitlines()[-1].split("|"))
    except (ValueError, IndexError):
        r["rows"] = r["errors"] = r["hits"] = None
    r["failed"] = (f"timed out after {r['timed_out']:.0f} s" if r["timed_out"] else
                   f"rc {r['rc']}: " + (r["err"].strip().splitlines() or [""])[-1][:200]
                   if r["rc"] else f"{r['errors']} rows with an error" if r["errors"] else None)
    return r


def rm_cache(db):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)


def run_cache_pair(name, loopback, args, ok_box, qs):
    """Cold then warm/revalidation runs of 1,000 x 200 ms; medians."""
    n, c, d = 1000, 100, 200
    urls = [f"{loopback.base}/cache?delay={d}&id={i}&{qs}" for i in range(n)]
    db = os.path.join(SCRATCH, f"{name}.db")
    script = cache_script(name, sql_literal(json.dumps(urls)), c, {"cache": db})
    cold, warm = [], []
    for _ in range(args.runs):
        rm_cache(db)
        for runs in (cold, warm):
            r = cache_run(script, args, loopback)
            r["not_modified"] = loopback.stats()["not_modified"]
            r["body_bytes"] = loopback.stats()["body_bytes"]
            runs.append(r)
            if r["failed"] or r["rows"] != n:
                ok_box[0] = False
                print(f"  {name}: FAILED: {r['failed'] or ''} rows={r['rows']}", flush=True)
    rm_cache(db)
    return cold, warm, math.ceil(n / c) * d / 1000


def run_cache(loopback, nginx, args, ok_box):
    lines = []
    print("\ncache: C1 warm re-run, C2 revalidation (1,000 URLs x 200 ms, c=100, file cache)",
          flush=True)
    cold, warm, bound = run_cache_pair("C1", loopback, args, ok_box, "cc=max-age=3600")
    cw, ww = med(cold, "wall"), med(warm, "wall")
    reqs = max(r["requests"] for r in warm)
    hits = min(r["hits"] or 0 for r in warm)
    print(f"  C1 cold: wall {cw:.2f} s ({cw / bound:.2f}x bound {bound:.2f} s), "
          f"{med(cold, 'requests'):.0f} requests; warm: wall {ww * 1000:.0f} ms, "
          f"{reqs} requests, {hits} hits; cold/warm = {cw / ww:.0f}x", flush=True)
    lines.append(f"{verdict(cw / ww >= CACHE_WARM_SPEEDUP and reqs == 0)}  C1 warm re-run: "
                 f"no request ({reqs}) and {cw / ww:.0f}x faster than cold "
                 f">= {CACHE_WARM_SPEEDUP:.0f}x")
    cold, reval, bound = run_cache_pair("C2", loopback, args, ok_box, "etag=v1")
    rw = med(reval, "wall")
    nm = min(r["not_modified"] for r in reval)
    bb = max(r["body_bytes"] for r in reval)
    print(f"  C2 cold: wall {med(cold, 'wall'):.2f} s; revalidation: wall {rw:.2f} s "
          f"({rw / bound:.2f}x bound), {nm} answered 304, {bb} body bytes sent", flush=True)
    lines.append(f"{verdict(rw / bound <= BOUND_SLACK and bb == 0 and nm == 1000)}  C2 "
                 f"revalidation: wall / bound = {rw:.2f} s / {bound:.2f} s = {rw / bound:.2f} "
                 f"<= {BOUND_SLACK:.2f}, {nm} x 304, {bb} body bytes")
    if nginx and args.cache_sizes:
        lines += run_cache_lookup(nginx, args, ok_box)
    return lines


def run_cache_lookup(nginx, args, ok_box):
    """C3: grow one cache file, timing a warm run of the same 10,000 URLs at each size."""
    db = os.path.join(SCRATCH, "C3.db")
    rm_cache(db)
    opts = {"cache": db, "cache_mode": "ttl", "cache_ttl_ms": 86400000, "cache_max_bytes": 0}

    def urls_sql(a, b):            # URLs a..b-1 as a JSON array built in SQL
        return (f"(WITH RECURSIVE k(i) AS (VALUES({a}) UNION ALL SELECT i+1 FROM k "
                f"WHERE i<{b - 1}) SELECT json_group_array('{nginx.base}/w3/' || "
                f"(i % {W3_FILES}) || '.json?k=' || i) FROM k)")
    probe = cache_script("C3probe", urls_sql(0, 10000), 50, opts)
    have, us = 0, []
    print(f"  C3: lookup cost, warm runs of 10,000 URLs in a cache of "
          f"{', '.join(f'{n:,}' for n in args.cache_sizes)} entries", flush=True)
    for n in sorted(args.cache_sizes):
        while have < n:                            # grow in steps of 100,000 at most
            step = min(n - have, 100000)
            r = cache_run(cache_script("C3fill", urls_sql(have, have + step), 50, opts),
                          args, nginx, timeout=w5_timeout(step))
            if r["failed"] or r["rows"] != step:
                ok_box[0] = False
                print(f"  C3 fill: FAILED: {r['failed'] or ''} rows={r['rows']}", flush=True)
                return []
            have += step
        runs = [cache_run(probe, args, nginx) for _ in range(args.runs)]
        bad = [r for r in runs if r["failed"] or r["hits"] != 10000 or r["requests"]]
        if bad:
            ok_box[0] = False
            print(f"  C3 probe at {n:,}: FAILED: {bad[0]['failed'] or ''} hits={bad[0]['hits']} "
                  f"requests={bad[0]['requests']}", flush=True)
            return []
        w = med(runs, "wall")
        us.append((n, w / 10000 * 1e6))
        print(f"  C3 {n:,} entries ({os.path.getsize(db) / 2**20:.0f} MB): warm run "
              f"{w * 1000:.0f} ms = {w / 10000 * 1e6:.1f} us/URL, peak RSS "
              f"{med(runs, 'rss_mb'):.1f} MB", flush=True)
    rm_cache(db)
    x = us[-1][1] / us[0][1]
    return [f"{verdict(x <= CACHE_FLAT)}  C3 lookup: {us[-1][1]:.1f} us/URL at "
            f"{us[-1][0]:,} entries / {us[0][1]:.1f} at {us[0][0]:,} = {x:.2f} <= "
            f"{CACHE_FLAT:.1f} (" + ", ".join(f"{n:,}: {u:.1f}" for n, u in us) + ")"]


def print_results(selected, results, w5, tools, w5_ns):
    table, notes = [], []
    for w in selected:
        if w.get("stream"):
            for n in w5_ns:
                m = w5.get(n)
                if not m:
                    continue
                table.append([f"W5 N={n:,}", "apifetch-wide", f"{m['wall']:.2f}",
                              f"{m['cpu']:.2f}", f"{m['rss_mb']:.1f}", f"{m['rows']:,.0f}",
                              f"{m['rate']:,.0f}", "-", "-", "-", f"{m['conns']:.0f}", "-",
                              "-"])
            notes.append("W5: apifetch only (wide face, url_query over generate_series, "
                         "SELECT count(*)); python and curl not run: a list of a million "
                         "URLs held whole is not what they are for")
            continue
        res = results.get(w["name"])
        if not res:
            continue
        notes += bench_net.table_notes(w, res)
        # W6-W9 run fewer tools, or rows of their own (W8, W9: bench_net).
        for t in [t for t in tools if t in res] + [t for t in res if t not in tools]:
            m = res[t]
            ratios = []
            for peer in ("apifetch", "python", "curl"):
                ratios.append(f"{m['wall'] / res[peer]['wall']:.2f}x" if peer in res else "-")
            table.append([w["name"], t, f"{m['wall']:.2f}", f"{m['cpu']:.2f}",
                          f"{m['rss_mb']:.1f}",
                          f"{m['rows']:,.0f}" + ("*" if t in FETCH_ONLY else ""),
                          f"{m['rate']:,.0f}"] + ratios
                         + [f"{m['conns']:.0f}" if m["conns"] is not None else "-",
                            f"{m['infl']:.0f}" if m["infl"] is not None else "-",
                            f"{bound_s(w):.2f}" if w["server"] == "loopback" else "-"])
    if not table:
        return
    print()
    print(fmt_table(["workload", "tool", "wall s", "CPU s", "RSS MB", "rows", "rows/s",
                     "vs apifetch", "vs python", "vs curl", "conns", "infl", "bound s"], table,
                    right=set(range(2, 13))))
    print("(medians; CPU = user+sys of the child, all threads; RSS = its peak, MiB; "
          "vs X = this wall / X's wall, below 1 is faster; conns = connections the server "
          "accepted; infl = the loopback server's max in flight; *curl, wrk: the records in "
          "what it fetched, no rows made; W3: rows/s = requests/s)")
    for n in notes:
        print(n)


def print_targets(selected, results, w5, w5_ns, extra=None):
    """extra: {workload: what bench_net.target_lines needs beyond the
    results (W8's ratios, W9's reason to skip)}."""
    lines = []
    for w in selected:
        name = w["name"]
        if w.get("run"):
            lines += bench_net.target_lines(w, None, results.get(name, {}),
                                            (extra or {}).get(name))
            continue
        if w.get("stream"):
            # Judged on the largest peak of any run, not the median: the peak
            # is what a host has to have.
            got = [(n, max(w5[n]["rss_all"])) for n in w5_ns if n in w5]
            if got:
                worst = max(r for _, r in got)
                lines.append(f"{verdict(worst < W5_RSS_MB)}  W5 apifetch-wide peak RSS < "
                             f"{W5_RSS_MB:.0f} MB at every N (largest of the runs): "
                             + ", ".join(f"{r:.1f} MB at N={n:,}" for n, r in got))
            continue
        res = results.get(name)
        if not res:
            continue
        for face in [f for f in FACES if f in res]:
            m = res[face]
            if w["server"] == "loopback":
                b = bound_s(w)
                x = m["wall"] / b
                lines.append(f"{verdict(x <= BOUND_SLACK)}  {name} {face}: wall / bound = "
                             f"{m['wall']:.2f} s / {b:.2f} s = {x:.2f} <= {BOUND_SLACK:.2f}")
            elif name == "W3":
                if "curl" not in res:
                    lines.append(f"n/a      W3 {face}: curl not run")
                else:
                    a, c = m["req_rate"], res["curl"]["req_rate"]
                    lines.append(f"{verdict(a >= c)}  W3 {face}: {a:,.0f} requests/s >= curl "
                                 f"--parallel's {c:,.0f} ({a / c:.2f}x)")
                lines += bench_net.target_lines(w, face, res, None)
            elif name in ("W6", "W7"):
                lines += bench_net.target_lines(w, face, res, None)
            elif name == "W4":
                if "python" not in res:
                    lines.append(f"n/a      W4 {face}: python not run")
                    continue
                p = res["python"]
                sp = m["rate"] / p["rate"]
                lines.append(f"{verdict(sp >= W4_SPEEDUP)}  W4 {face}: {m['rate']:,.0f} rows/s "
                             f">= {W4_SPEEDUP:.0f}x the Python pattern's {p['rate']:,.0f} "
                             f"({sp:.1f}x)")
                fr = m["rss_mb"] / p["rss_mb"]
                lines.append(f"{verdict(fr <= W4_RSS_FRACTION)}  W4 {face}: peak RSS "
                             f"{m['rss_mb']:.1f} MB <= 1/5 of the Python pattern's "
                             f"{p['rss_mb']:.1f} MB ({fr:.2f})")
    if lines:
        print("\ntargets:")
        for ln in lines:
            print("  " + ln)


def print_details(selected, results):
    out = []
    for w in selected:
        res = results.get(w["name"])
        if not res or w.get("stream") or w.get("run"):
            continue
        base = res["apifetch"]["wall"]
        if w["server"] == "loopback":
            b = bound_s(w)
            head = (f"{w['name']} ({w['n']} URLs, {w['delay_ms']} ms, c={w['concurrency']}, "
                    f"bound {b:.2f} s): ")
            parts = [f"{t} {res[t]['wall'] / b:.2f}x bound" for t in FACES if t in res]
        else:
            b = None
            head = (f"{w['name']} ({w['n']:,} URLs from nginx, {w['records']} record(s) each, "
                    f"c={w['concurrency']}): ")
            parts = [f"{t} {res[t]['req_rate']:,.0f} req/s, {res[t]['rate']:,.0f} rows/s"
                     for t in FACES if t in res]
        for t in PEERS:
            if t not in res:
                continue
            s = f"{t} {res[t]['wall'] / base:.2f}x apifetch's wall"
            if t == "python":
                ph = res[t]["phases"]
                s += (f" (import {ph['t_import']:.2f} s, fetch {ph['t_fetch']:.2f} s"
                      + (f" = {ph['t_fetch'] / b:.2f}x bound" if b else "")
                      + f", frame {ph['t_frame']:.2f} s, to_sql {ph['t_sql']:.2f} s)")
            parts.append(s)
        out.append(head + "; ".join(parts))
    if out:
        print()
        for s in out:
            print(s)


def run_limits(selected, tools, args, ok_box):
    """The limits section: L1-L4, one run per tool; prints a table and the
    targets.  Starts and stops its own servers."""
    import nginx_limit          # tests/, beside this file
    tools = [t for t in ("apifetch", "python") if t in tools]
    rows, lines = [], []
    lb = lb2 = ngx = None
    try:
        lb = Loopback()
        for w in selected:
            bound = w["n"] / LIMIT_RATE
            if w["server"] == "hang":
                lb2 = lb2 or Loopback()
                rows.append(run_hang(w, lb, lb2, args, ok_box, lines))
                continue
            if w["server"] == "nginx_limit" and ngx is None:
                ngx = nginx_limit.start(os.path.join(SCRATCH, "nginx_limit"), rate=LIMIT_RATE,
                                        burst=10, exe=args.nginx)
            for tool in tools:
                key = f"{w['name']}-{tool}"
                if w["server"] == "nginx_limit":
                    urls = [f"{ngx.base}/obj.json?key={key}&id={i}" for i in range(w["n"])]
                else:
                    urls = [f"{lb.base}/limited/{w['form']}?limit={LIMIT_RATE}&window=1"
                            f"&key={key}&id={i}" for i in range(w["n"])]
                wl = Workload(key, urls, w["concurrency"], args.sqlite3, args.curl,
                              peer_args=["--rate-limited"])
                lb.get("/stats/reset")
                r = wl.run(tool)
                if w["server"] == "nginx_limit":
                    c = ngx.counts(key)
                    sent, n429 = c["requests"], c["429"]
                else:
                    st = lb.stats()["by_key"].get(key, {"requests": 0, "status": {}})
                    sent, n429 = st["requests"], st["status"].get("429", 0)
                errors = (parse_count_line(r["out"])[1] if tool == "apifetch" else
                          r.get("phases", {}).get("failed"))
                if r["timed_out"] or (r["rc"] and tool == "apifetch"):
                    ok_box[0] = False
                    print(f"  {key}: FAILED: {r['failed']}", flush=True)
                rows.append([w["name"], w["what"], tool, f"{r['wall']:.1f}", f"{bound:.0f}",
                             f"{r['wall'] / bound:.2f}", sent, n429,
                             f"{100 * n429 / w['n']:.1f}%", errors if errors is not None else "?"])
                print(f"  {key}: wall {r['wall']:.1f} s, {sent} requests, {n429} answered 429, "
                      f"{errors} URLs failed", flush=True)
                if tool == "apifetch":
                    # A run that gave up on URLs is fast for nothing: not met.
                    met = errors == 0 and r["wall"] <= w["slack"] * bound and (
                        w["max_429"] is None or n429 <= w["max_429"] * w["n"])
                    lines.append(f"{w['name']}  {verdict(met)}  wall {r['wall']:.1f} s / bound "
                                 f"{bound:.0f} s = {r['wall'] / bound:.2f} (target <= "
                                 f"{w['slack']:.2f})" + (
                                     f", 429s {n429} = {100 * n429 / w['n']:.1f}% (target <= "
                                     f"{100 * w['max_429']:.0f}%)" if w["max_429"] else "")
                                 + f", {errors} URLs failed (target 0)")
    finally:
        for srv in (ngx, lb, lb2):
            if srv:
                srv.stop()
    print(f"\nlimits: a server allowing {LIMIT_RATE} requests/s, no `rate` given; "
          "429s and requests as the server counted them")
    print(fmt_table(["wl", "server", "tool", "wall s", "bound s", "/bound", "requests", "429s",
                     "429 %", "failed"], rows, right={3, 4, 5, 6, 7, 8, 9}))
    print("\nlimits targets:")
    for ln in lines:
        print("  " + ln)


def run_hang(w, lb, lb2, args, ok_box, lines):
    """L4: the healthy URLs alone, then with a hanging host's among them."""
    healthy = [f"{lb.base}/obj?delay={w['delay_ms']}&id={i}" for i in range(w["n"])]
    step = w["n"] // w["hang"]
    mixed = list(healthy)
    for j in range(w["hang"]):
        mixed.insert(j * (step + 1), f"{lb2.base}/hang?id={j}")
    opts = json.dumps({"timeout_ms": w["timeout_ms"]})
    walls = {}
    for tag, urls in (("alone", healthy), ("hang", mixed)):
        wl = Workload(f"L4-{tag}", urls, w["concurrency"], args.sqlite3, args.curl)
        script = wl._write("opts.sql", (
            f".load {LIB}\n"
            f"CREATE TABLE t AS SELECT * FROM api_fetch({sql_literal(json.dumps(urls))}, "
            f"{w['concurrency']}, {sql_literal(opts)});\n"
            "SELECT count(*), count(error) FROM t;\n"))
        r = wl.run("apifetch", sql=script)
        walls[tag] = r["wall"]
        errors = parse_count_line(r["out"])[1]
        if r["rc"] or r["timed_out"] or errors != (w["hang"] if tag == "hang" else 0):
            ok_box[0] = False
            print(f"  L4 {tag}: FAILED: rc {r['rc']}, {errors} rows with an error", flush=True)
        print(f"  L4 {tag}: wall {r['wall']:.1f} s, {errors} URLs failed", flush=True)
    extra = walls["hang"] - walls["alone"]
    # The target: no more than one breaker threshold's worth of timeouts,
    # the threshold being apifetch's default (api_fetch_options: breaker).
    r = subprocess.run([args.sqlite3, ":memory:", f".load {LIB}",
                        "SELECT \"default\" FROM api_fetch_options WHERE name = 'breaker'"],
                       capture_output=True, text=True)
    breaker = int(r.stdout.strip() or 0)
    target = breaker * w["timeout_ms"] / 1000
    met = breaker > 0 and extra <= target and ok_box[0]
    lines.append(f"L4  {'MET    ' if met else 'NOT MET'}  {w['hang']} hanging URLs of another host "
                 f"among {w['n']:,}: +{extra:.1f} s over the healthy URLs alone "
                 f"({walls['alone']:.1f} s), target <= breaker ({breaker}) x timeout_ms "
                 f"({w['timeout_ms']}) = {target:.0f} s")
    bound = w["n"] / w["concurrency"] * w["delay_ms"] / 1000
    return ["L4", f"+{w['hang']} /hang URLs", "apifetch", f"{walls['hang']:.1f}",
            f"{bound:.0f}", f"{walls['hang'] / bound:.2f}", "", "", "",
            f"alone {walls['alone']:.1f} s"]


# ---------------------------------------------------------------- NDJSON

ND_FILES = 1000         # N1: /nd/<i>.ndjson and /nd/<i>.json, ND_RECORDS each
ND_RECORDS = 1000
ND_CONCURRENCY = 20
ND_BIG_MB = [1, 200]    # N2: /nd/big<M>.ndjson
ND_RSS_SLACK_MB = 16.0  # N2: peak RSS at the largest within this of the smallest


def nd_record(i):
    """About 100 bytes of compact JSON, the same in both forms."""
    return json.dumps({"id": i, "name": f"item {i}", "value": (i * 37 % 1000) / 4,
                       "geo": {"lat": (i % 180) - 90.5, "lng": (i % 360) - 180.25},
                       "tags": ["a", "b"][: i % 3]}, separators=(",", ":"))


def nd_docroot(docroot):
    """/nd/<i>.ndjson and .json (the same records), and /nd/big<M>.ndjson."""
    d = os.path.join(docroot, "nd")
    old_umask = os.umask(0o022)         # readable by nginx's workers
    try:
        os.makedirs(d, exist_ok=True)
        for j in range(ND_FILES):
            lines = [nd_record(j * ND_RECORDS + k) for k in range(ND_RECORDS)]
            with open(os.path.join(d, f"{j}.ndjson"), "w") as f:
                f.write("\n".join(lines) + "\n")
            with open(os.path.join(d, f"{j}.json"), "w") as f:
                f.write("[" + ",".join(lines) + "]")
        block = "".join(nd_record(k) + "\n" for k in range(ND_RECORDS)).encode()
        counts = {}
        for mb in ND_BIG_MB:
            n = max(1, mb * 1000000 // len(block))
            with open(os.path.join(d, f"big{mb}.ndjson"), "wb") as f:
                for _ in range(n):
                    f.write(block)
            counts[mb] = n * ND_RECORDS
        return counts
    finally:
        os.umask(old_umask)


def run_ndjson(args):
    """N1 and N2 on an nginx of their own; prints the results and targets.
    Returns False if a run failed or gave the wrong row count."""
    ok = True
    if SPAWN is None:
        build_spawn()
    docroot = os.path.join(SCRATCH, "nd_docroot")
    t0 = time.monotonic()
    big_rows = nd_docroot(docroot)
    nginx = Nginx(args.nginx, docroot, name="nginx_nd")
    try:
        print(f"\nNDJSON (issue 21): nginx :{nginx.port}, /nd/ {ND_FILES} files x {ND_RECORDS} "
              f"records as .ndjson and .json (generated in {time.monotonic() - t0:.1f} s)",
              flush=True)
        n_rows = ND_FILES * ND_RECORDS
        rates = {}
        for face in FACES:
            for fmt in ("ndjson", "json"):
                urls = [f"{nginx.base}/nd/{j}.{fmt}" for j in range(ND_FILES)]
                lit = sql_literal(json.dumps(urls))
                path = os.path.join(SCRATCH, f"N1.{face}.{fmt}.sql")
                with open(path, "w") as f:
                    if face == "apifetch":
                        f.write(f".load {LIB}\nCREATE TABLE t AS SELECT * FROM api_fetch({lit}, "
                                f"{ND_CONCURRENCY}, '{{\"format\": \"{fmt}\"}}');\n"
                                "SELECT count(*), count(error) FROM t;\n")
                    else:
                        f.write(f".load {LIB}\nCREATE VIRTUAL TABLE temp.w USING api_fetch("
                                f"url_list={lit}, concurrency={ND_CONCURRENCY}, format={fmt});\n"
                                "CREATE TABLE t AS SELECT * FROM temp.w;\n"
                                "SELECT count(*), (SELECT value FROM api_fetch_stats() "
                                "WHERE name = 'errors') FROM t;\n")
                runs = []
                for _ in range(args.runs):
                    r = measure([args.sqlite3, "-bail", "-batch", ":memory:"], path)
                    r["rows"], errors = parse_count_line(r["out"])
                    runs.append(r)
                    if r["rc"] or r["timed_out"] or errors or r["rows"] != n_rows:
                        ok = False
                        print(f"  N1 {face} {fmt}: FAILED: rc {r['rc']} rows={r['rows']} "
                              f"errors={errors}: " + (r["err"].strip().splitlines() or [""])[-1][:200])
                wall, rss = med(runs, "wall"), med(runs, "rss_mb")
                rates[face, fmt] = (n_rows / wall, n_rows / med(runs, "cpu"))
                print(f"  N1 {face:13} {fmt:6}: wall {wall:.2f} s, {n_rows / wall:,.0f} rows/s, "
                      f"CPU {med(runs, 'cpu'):.2f} s, peak RSS {rss:.1f} MB", flush=True)
        rss = {}
        for mb in ND_BIG_MB:
            path = os.path.join(SCRATCH, f"N2.{mb}.sql")
            with open(path, "w") as f:
                f.write(f".load {LIB}\nSELECT count(*), count(error) FROM api_fetch("
                        f"'[\"{nginx.base}/nd/big{mb}.ndjson\"]', 1, "
                        "'{\"format\": \"ndjson\", \"max_bytes\": 1000000000}');\n")
            runs = []
            for _ in range(args.runs):
                r = measure([args.sqlite3, "-bail", "-batch", ":memory:"], path)
                r["rows"], errors = parse_count_line(r["out"])
                runs.append(r)
                if r["rc"] or r["timed_out"] or errors or r["rows"] != big_rows[mb]:
                    ok = False
                    print(f"  N2 {mb} MB: FAILED: rc {r['rc']} rows={r['rows']} "
                          f"(expected {big_rows[mb]}) errors={errors}")
            rss[mb] = med(runs, "rss_mb")
            print(f"  N2 one response of {mb} MB: {big_rows[mb]:,} rows, wall "
                  f"{med(runs, 'wall'):.2f} s, peak RSS {rss[mb]:.1f} MB "
                  "(runs: " + ", ".join("%.1f" % x["rss_mb"] for x in runs) + ")", flush=True)
        print("NDJSON targets:")
        for face in FACES:
            (nd, nd_cpu), (js, js_cpu) = rates[face, "ndjson"], rates[face, "json"]
            # Wall is what the target says; per CPU second too, which a
            # shared machine's load does not move.
            print(f"  {verdict(nd >= js)}  N1 {face}: ndjson {nd:,.0f} rows/s >= the JSON "
                  f"array's {js:,.0f} (x{nd / js:.2f}; per CPU second {nd_cpu:,.0f} vs "
                  f"{js_cpu:,.0f}, x{nd_cpu / js_cpu:.2f})")
        lo, hi = rss[ND_BIG_MB[0]], rss[ND_BIG_MB[-1]]
        print(f"  {verdict(hi - lo <= ND_RSS_SLACK_MB)}  N2: peak RSS {hi:.1f} MB at "
              f"{ND_BIG_MB[-1]} MB, {lo:.1f} MB at {ND_BIG_MB[0]} MB (flat: within "
              f"{ND_RSS_SLACK_MB:.0f} MB)", flush=True)
    finally:
        nginx.stop()
        shutil.rmtree(docroot, ignore_errors=True)
    return ok


def main():
    global SCRATCH, LIB
    ap = argparse.ArgumentParser(description="apifetch benchmarks (see the docstring)")
    ap.add_argument("--runs", type=int, default=3, help="runs per tool and workload (median)")
    ap.add_argument("--only", choices=sorted(GROUPS), help="run one group alone (limits: "
                    "L1-L4, without the cache and flatten sections)")
    ap.add_argument("--workloads", default=",".join(w["name"] for w in WORKLOADS + LIMIT_WORKLOADS),
                    help="comma-separated names from WORKLOADS ('' for none)")
    ap.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of "
                    + ",".join(TOOLS) + " (apifetch is always run)")
    ap.add_argument("--w5", default=",".join(str(n) for n in W5_DEFAULT), metavar="N1,N2,...",
                    help="W5's URL counts (default %(default)s)")
    ap.add_argument("--memory", type=int, nargs="?", const=100000, metavar="N",
                    help="also measure apifetch's peak RSS streaming N URLs (default 100000)")
    ap.add_argument("--memory-concurrency", type=int, default=100, metavar="C")
    ap.add_argument("--cache", action=argparse.BooleanOptionalAction, default=True,
                    help="the cache section (default: on)")
    ap.add_argument("--cache-sizes", default=",".join(str(n) for n in CACHE_SIZES),
                    metavar="N1,N2,...", help="C3's cache sizes ('' to skip C3)")
    ap.add_argument("--flatten", action=argparse.BooleanOptionalAction, default=True,
                    help="the in-memory flatten vs cJSON benchmark (default: on)")
    ap.add_argument("--ndjson", action=argparse.BooleanOptionalAction, default=True,
                    help="the NDJSON section, N1 and N2 (default: on)")
    ap.add_argument("--flatten-responses", type=int, default=2000, metavar="R",
                    help="responses of 100 records in its corpus (default 2000)")
    ap.add_argument("--sqlite3", default=shutil.which("sqlite3") or "sqlite3")
    ap.add_argument("--curl", default=shutil.which("curl") or "curl")
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    ap.add_argument("--scale", type=float, default=1.0, metavar="F",
                    help="multiply the URL counts of W3 and W6-W9 (W8: its statements) by F, "
                    "e.g. 0.1 for a quick check (default 1)")
    ap.add_argument("--lib", default=LIB, help="the extension the shell loads "
                    "(default ./apifetch, i.e. ./apifetch.so; e.g. a copy, so that a rebuild "
                    "during a long run does not change it)")
    args = ap.parse_args()
    if args.only:
        args.workloads, args.cache, args.flatten = ",".join(GROUPS[args.only]), False, False
        args.ndjson = False

    names = [x.strip() for x in args.workloads.split(",") if x.strip()]
    unknown = [x for x in names if x not in {w["name"] for w in WORKLOADS + LIMIT_WORKLOADS}]
    limits = [w for w in LIMIT_WORKLOADS if w["name"] in names]
    tools = ["apifetch"] + [t for t in args.tools.split(",") if t and t != "apifetch"]
    try:
        w5_ns = [int(x) for x in args.w5.split(",") if x.strip()]
        args.cache_sizes = [int(x) for x in args.cache_sizes.split(",") if x.strip()]
    except ValueError:
        w5_ns = [0]
    if unknown or any(t not in TOOLS for t in tools) or args.runs < 1 \
            or args.flatten_responses < 1 or any(n < 1 for n in w5_ns) or not 0 < args.scale <= 1:
        ap.error(f"unknown workload/tool or bad --runs/--flatten-responses/--w5/--scale: "
                 f"{unknown or args.tools}")
    tools = [t for t in TOOLS if t in tools]            # table order
    LIB = args.lib
    selected = [scaled(w, args.scale) for w in WORKLOADS if w["name"] in names]
    if "wrk" in tools and not shutil.which(args.wrk):
        print(f"bench: {args.wrk} not found (make bench-deps installs Debian's wrk): W3's wrk "
              "peer not run", file=sys.stderr)
        tools.remove("wrk")
    if any(t in tools for t in FLOORS):
        # Built here as make bench builds it, so that a run of this script
        # alone measures the current source.
        mk = subprocess.run(["make", "-s", "tests/bench_libcurl"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
        if mk.returncode:
            print(f"bench: make tests/bench_libcurl failed: {mk.stderr.strip()[-300:]}: the "
                  "libcurl floor peers not run", file=sys.stderr)
            tools = [t for t in tools if t not in FLOORS]
    need_loopback = (any(w["server"] == "loopback" for w in selected) or bool(args.memory)
                     or args.cache)
    need_nginx = any(w["server"] == "nginx" for w in selected) or bool(args.cache
                                                                       and args.cache_sizes)
    lib = os.path.join(ROOT, LIB)
    if (need_loopback or need_nginx or limits) and not (os.path.exists(lib) or os.path.exists(lib + ".so")):
        sys.exit(f"bench: {LIB}.so is missing, run make first")

    SCRATCH = tempfile.mkdtemp(prefix="apifetch-bench-", dir="/tmp")
    global TLS
    # Traversable by nginx's workers, which run as another user when started as root.
    os.chmod(SCRATCH, 0o711)
    ok = [True]
    loopback = nginx = None
    try:
        if not (need_loopback or need_nginx):
            # Nothing to fetch but the limits section (if chosen): then the
            # flatten section (if on).
            if limits:
                build_spawn()
                run_limits(limits, tools, args, ok)
            if args.flatten:
                ok[0] &= run_flatten(args.flatten_responses)
            if args.ndjson:
                ok[0] &= run_ndjson(args)
            return 0 if ok[0] else 1
        build_spawn()
        if any(w.get("tls") for w in selected):
            TLS = bench_net.tls_setup(SCRATCH)
        # W9: one nginx worker may have to take all its connections.
        w9 = next((w for w in selected if w.get("run") == "scale"), None)
        w9_skip = w9 and bench_net.w9_fd_check(w9["concurrency"])[1]
        if need_loopback:
            loopback = Loopback()
        if need_nginx:
            sets = sorted({w["files"] for w in selected if w["server"] == "nginx"}
                          | ({"w3"} if args.cache and args.cache_sizes else set()))
            docroot = os.path.join(SCRATCH, "docroot")
            t0 = time.monotonic()
            sizes = make_docroot(docroot, sets)
            gen = time.monotonic() - t0
            nginx = Nginx(args.nginx, docroot, tls=TLS,
                          connections=w9["concurrency"] + 1000 if w9 and not w9_skip else 4096)
        print(f"apifetch bench: {os.cpu_count()} CPUs, runs={args.runs}, medians shown; "
              + ", ".join(([f"loopback :{loopback.port}"] if loopback else [])
                          + ([f"nginx :{nginx.port} ({nginx.workers} workers)"] if nginx else [])),
              flush=True)
        if nginx:
            print("static files in " + docroot + ": " + ", ".join(
                f"/{k}/ {W3_FILES if k == 'w3' else W4_FILES} files, {v / 1e6:.1f} MB"
                for k, v in sizes.items()) + f" (generated in {gen:.1f} s)", flush=True)

        # Warm-up (untimed): page cache, .pyc files, the servers' first connections.
        warm_urls = (urls_for(loopback, 5, 0) if loopback else
                     static_urls(nginx, sets[0], 5))
        warm = Workload("warm", warm_urls, 5, args.sqlite3, args.curl,
                        rows=5 * (W4_RECORDS if not loopback and sets[0] == "w4" else 1))
        for tool in [t for t in tools if t != "wrk"]:       # wrk runs for a time, not a list
            r = warm.run(tool)
            if r["failed"]:
                print(f"bench: warm-up {tool} failed: {r['failed']}", file=sys.stderr)
                return 1

        results, w5, extra = {}, {}, {}
        for w in selected:
            if w.get("run") == "statements":
                print(f"W8: {w['statements']} statements x {w['per']} URLs over HTTPS on one "
                      f"SQLite connection (Python's sqlite3), then the same URLs in one "
                      f"statement at c={w['concurrency']}", flush=True)
                results["W8"], extra["W8"] = bench_net.run_w8(
                    w, nginx, TLS, args, measure, os.path.join(ROOT, LIB), ok, PYTHON)
            elif w.get("run") == "scale":
                print(f"W9: {w['n']:,} URLs /w3/<i % {w['nfiles']}>.json?k=i at c="
                      f"{w['concurrency']:,} and c={w['base_concurrency']}, streamed", flush=True)
                if w9_skip:
                    print(f"W9: SKIPPED: {w9_skip}", flush=True)
                    extra["W9"] = w9_skip
                else:
                    results["W9"], extra["W9"] = bench_net.run_w9(
                        w, nginx, args, measure, LIB, ok, SCRATCH, w5_timeout(w["n"]))
            elif w.get("stream"):
                print(f"W5: {', '.join(f'{n:,}' for n in w5_ns)} URLs /{w['files']}/<i % "
                      f"{W3_FILES}>.json from url_query, concurrency {w['concurrency']}, "
                      "SELECT count(*) FROM temp.w5", flush=True)
                w5 = run_w5(w, nginx, w5_ns, args, ok)
            else:
                server = loopback if w["server"] == "loopback" else nginx
                results[w["name"]] = run_workload(w, server, tools, args, ok)

        print_results(selected, results, w5, tools, w5_ns)
        print_targets(selected, results, w5, w5_ns, extra)
        print_details(selected, results)

        if args.cache:
            lines = run_cache(loopback, nginx, args, ok)
            print("\ncache targets:")
            for ln in lines:
                print("  " + ln)

        if args.memory:
            n, c = args.memory, args.memory_concurrency
            print(f"\nmemory: {n} URLs /obj?id=i (no delay), concurrency {c}, streamed "
                  "(SELECT count(*) FROM api_fetch(...), no table)", flush=True)
            wl = Workload(f"mem{n}", urls_for(loopback, n, 0), c, args.sqlite3, args.curl,
                          timeout=w5_timeout(n))
            lit_mb = os.path.getsize(wl.list_json) / 2**20
            b = wl.run("apifetch", sql=wl.sql_baseline)
            loopback.before_run()
            r = wl.run("apifetch", sql=wl.sql_stream)
            st = loopback.stats()
            if r["failed"] or r["rows"] != n:
                ok[0] = False
                print(f"  FAILED: {r['failed'] or ''} rows={r['rows']}")
            print(f"  URL list {lit_mb:.1f} MiB of JSON")
            print(f"  baseline (same shell + literal, no fetch): peak RSS {b['rss_mb']:.1f} MB")
            print(f"  apifetch: rows {r['rows']}, wall {r['wall']:.2f} s "
                  f"({n / r['wall']:,.0f} rows/s), CPU {r['cpu']:.2f} s, peak RSS "
                  f"{r['rss_mb']:.1f} MB = baseline {r['rss_mb'] - b['rss_mb']:+.1f} MB; "
                  f"server max_inflight {st['max_inflight']}, {st['connections']} connections")

        if limits:
            run_limits(limits, tools, args, ok)

        if args.flatten:
            ok[0] &= run_flatten(args.flatten_responses)

        if args.ndjson:
            ok[0] &= run_ndjson(args)
    finally:
        for s in (nginx, loopback):
            if s:
                s.stop()
        shutil.rmtree(SCRATCH, ignore_errors=True)
    return 0 if ok[0] else 1


if __name__ == "__main__":
    sys.exit(main())
