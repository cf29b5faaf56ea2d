#!/usr/bin/python3
"""Benchmarks: apifetch against the Python pattern it replaces and a curl floor.

    /usr/bin/python3 tests/bench.py [--runs N] [--workloads W1,W2] [--memory [N]]
                                    [--[no-]flatten] [--flatten-responses R]
                                    [--sqlite3 PATH] [--curl PATH]

(`make bench` runs it with the defaults.)  Standard library only; needs
./apifetch.so (make), the sqlite3 shell, curl, and for the Python peer
python3-aiohttp, python3-pandas and python3-tenacity.

Starts tests/loopback.py on an ephemeral port and, for each workload in
WORKLOADS (N URLs /obj?delay=D&id=i, concurrency C, physical bound
ceil(N/C) x D), times three tools, each as a fresh child process, --runs times
(interleaved), and reports medians:

  apifetch  sqlite3 shell: .load ./apifetch, CREATE TABLE t AS SELECT * FROM
            api_fetch('<JSON list literal>', C); SELECT count(*) FROM t
  python    tests/bench_python_peer.py: aiohttp + Semaphore + tenacity +
            gather + pandas.json_normalize + concat + DataFrame.to_sql
  curl      curl --parallel --parallel-immediate --parallel-max C, with
            `url =` / `output = /dev/null`
            config lines: fetching only, a floor for the HTTP work

Wall time is time.monotonic() around the child; CPU (user+sys) and peak RSS
(ru_maxrss) come from os.wait4 on the child.  Every run resets the server's
/stats first and reads max_inflight afterwards (column "infl"), so a run that
did not reach the concurrency shows it; before the timed runs a check asserts
that apifetch reaches exactly C in flight and reports the server's CPU.

--memory N adds one apifetch run of N URLs /obj?id=i (no delay) at concurrency
100, streamed (SELECT count(*) FROM api_fetch(...), no table), with its wall
time and peak RSS, next to a baseline: the same shell and script holding the
same JSON literal without fetching (SELECT length('<literal>')).  The
difference is what the fetch itself costs; it should not grow with N.

The flatten section (on by default, after the workloads; --no-flatten skips
it) needs no server: it builds tests/bench_flatten.c with cc -O2 against
src/json.c, src/flatten.c and src/infer.c, and runs it on an in-memory corpus
of R responses (--flatten-responses, default 2000) of 100 nested records of
about 300 bytes (60 MB).  Best of 3 passes each, it compares (a) parsing with
cJSON (cJSON_ParseWithLength + cJSON_Delete) with (b) apifetch's work per
response end to end (json_validate, records_begin, shape_record for every
record, every cell read).  Target: b/a >= 0.50 in records/s, i.e. flattening
and typing cost no more than parsing does.  `--workloads '' --tools apifetch`
runs this section alone.

Exit status: 0, or 1 if any run failed or produced the wrong row count (a
flatten ratio below target is reported, not an error).
"""
import argparse
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"
SCRATCH = None          # a temporary directory under /tmp, set in main()

# name, URL count, per-request delay (ms), concurrency.  Add rows here.
WORKLOADS = [
    {"name": "W1", "n": 100, "delay_ms": 200, "concurrency": 20},
    {"name": "W2", "n": 1000, "delay_ms": 200, "concurrency": 100},
]

TOOLS = ["apifetch", "python", "curl"]


def bound_s(w):
    return math.ceil(w["n"] / w["concurrency"]) * w["delay_ms"] / 1000


# ---------------------------------------------------------------- server

class Server:
    def __init__(self):
        self.proc = subprocess.Popen([PYTHON, os.path.join(ROOT, "tests", "loopback.py"),
                                      "--port", "0"],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"loopback server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.base = f"http://127.0.0.1:{self.port}"

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            return json.loads(r.read())

    def reset(self):
        self.get("/stats/reset")

    def stats(self):
        return self.get("/stats")

    def cpu_s(self):
        """user+sys seconds the server process has used so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc.stdout.close()


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
        subprocess.run([cc, "-O2", "-o", exe, src], check=True, capture_output=True)
        SPAWN = exe
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"bench: cannot build the rusage helper with {cc} ({e}); peak RSS below "
              "includes the driver's own RSS as a floor", file=sys.stderr)


def measure(argv, stdin_path=None):
    """Run argv as a child in ROOT; returns dict wall, cpu, rss_mb, rc, out, err."""
    ru_path = os.path.join(SCRATCH, "rusage")
    if SPAWN:
        argv = [SPAWN, ru_path] + list(argv)
    with tempfile.TemporaryFile(dir=SCRATCH) as out, tempfile.TemporaryFile(dir=SCRATCH) as err, \
            open(stdin_path or os.devnull, "rb") as inp:
        t0 = time.monotonic()
        p = subprocess.Popen(argv, cwd=ROOT, stdin=inp, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        utime, stime, maxrss = ru.ru_utime, ru.ru_stime, ru.ru_maxrss
        if SPAWN:
            with open(ru_path) as f:
                utime, stime, maxrss = (float(x) for x in f.read().split())
            os.unlink(ru_path)
        out.seek(0)
        err.seek(0)
        return {"wall": wall, "cpu": utime + stime, "rss_mb": maxrss / 1024,
                "rc": p.returncode, "out": out.read().decode(errors="replace"),
                "err": err.read().decode(errors="replace")}


def sql_literal(text):
    return "'" + text.replace("'", "''") + "'"


class Workload:
    """The files each tool needs for one URL list."""

    def __init__(self, name, urls, concurrency, sqlite3, curl):
        self.name, self.urls, self.c = name, urls, concurrency
        self.sqlite3, self.curl = sqlite3, curl
        lit = sql_literal(json.dumps(urls))
        self.list_json = self._write("urls.json", json.dumps(urls))
        self.sql_table = self._write("table.sql", (
            ".load ./apifetch\n"
            f"CREATE TABLE t AS SELECT * FROM api_fetch({lit}, {concurrency});\n"
            "SELECT count(*), count(error) FROM t;\n"))
        self.sql_stream = self._write("stream.sql", (
            ".load ./apifetch\n"
            f"SELECT count(*), count(error) FROM api_fetch({lit}, {concurrency});\n"))
        self.sql_baseline = self._write("baseline.sql", (
            ".load ./apifetch\n"
            f"SELECT length({lit}), 0;\n"))
        self.curl_cfg = self._write("curl.cfg", "".join(
            f'url = "{u}"\noutput = "/dev/null"\n' for u in urls))

    def _write(self, suffix, text):
        path = os.path.join(SCRATCH, f"{self.name}.{suffix}")
        with open(path, "w") as f:
            f.write(text)
        return path

    def run(self, tool, sql=None):
        """One measured run; adds rows (int or None), failed (str or None)."""
        if tool == "apifetch":
            r = measure([self.sqlite3, "-bail", "-batch", ":memory:"], sql or self.sql_table)
            try:
                rows, errors = (int(x) for x in r["out"].strip().splitlines()[-1].split("|"))
            except (ValueError, IndexError):
                rows, errors = None, None
            r["rows"] = rows
            r["failed"] = (f"rc {r['rc']}" if r["rc"] else
                           f"{errors} rows with an error" if errors else None)
        elif tool == "python":
            r = measure([PYTHON, os.path.join(ROOT, "tests", "bench_python_peer.py"),
                         self.list_json, str(self.c)])
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
            r = measure([self.curl, "--silent", "--show-error", "--parallel",
                         "--parallel-immediate", "--parallel-max", str(self.c),
                         "--config", self.curl_cfg])
            r["rows"] = None
            r["failed"] = f"rc {r['rc']}" if r["rc"] else None
        else:
            raise ValueError(tool)
        if r["failed"]:
            r["failed"] += ": " + (r["err"].strip().splitlines() or [""])[-1][:200]
        return r


# ---------------------------------------------------------------- flatten

# The flatten micro-benchmark: sources relative to ROOT, and its target.
FLATTEN_SRC = ["tests/bench_flatten.c", "src/json.c", "src/flatten.c", "src/infer.c"]
FLATTEN_LIBS = ["-lsqlite3", "-lcjson", "-lm", "-pthread"]
FLATTEN_TARGET = 0.50


def run_flatten(responses):
    """Build and run tests/bench_flatten.c; prints its lines and a verdict.
    Returns False if it could not be built or run."""
    exe = os.path.join(SCRATCH, "bench_flatten")
    cc = os.environ.get("CC", "cc")
    print(f"\nflatten: apifetch's per-response work vs cJSON parsing, in memory, "
          f"{responses} responses x 100 records", flush=True)
    try:
        subprocess.run([cc, "-O2", "-DSQLITE_CORE", "-Isrc", "-o", exe] + FLATTEN_SRC
                       + FLATTEN_LIBS, cwd=ROOT, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", None) or str(e)
        print(f"  FAILED: cannot build tests/bench_flatten.c with {cc}: "
              f"{err.strip().splitlines()[-1][:200] if err.strip() else e}")
        return False
    r = subprocess.run([exe, "-r", str(responses)], cwd=ROOT, capture_output=True, text=True)
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


def main():
    global SCRATCH
    ap = argparse.ArgumentParser(description="apifetch benchmarks (see the docstring)")
    ap.add_argument("--runs", type=int, default=3, help="runs per tool and workload (median)")
    ap.add_argument("--workloads", default=",".join(w["name"] for w in WORKLOADS),
                    help="comma-separated names from WORKLOADS ('' for none)")
    ap.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of "
                    + ",".join(TOOLS) + " (apifetch is always run)")
    ap.add_argument("--memory", type=int, nargs="?", const=100000, metavar="N",
                    help="also measure apifetch's peak RSS streaming N URLs (default 100000)")
    ap.add_argument("--memory-concurrency", type=int, default=100, metavar="C")
    ap.add_argument("--flatten", action=argparse.BooleanOptionalAction, default=True,
                    help="the in-memory flatten vs cJSON benchmark (default: on)")
    ap.add_argument("--flatten-responses", type=int, default=2000, metavar="R",
                    help="responses of 100 records in its corpus (default 2000)")
    ap.add_argument("--sqlite3", default=shutil.which("sqlite3") or "sqlite3")
    ap.add_argument("--curl", default=shutil.which("curl") or "curl")
    args = ap.parse_args()

    names = [x for x in args.workloads.split(",") if x]
    unknown = [x for x in names if x not in {w["name"] for w in WORKLOADS}]
    tools = ["apifetch"] + [t for t in args.tools.split(",") if t and t != "apifetch"]
    if unknown or any(t not in TOOLS for t in tools) or args.runs < 1 \
            or args.flatten_responses < 1:
        ap.error(f"unknown workload/tool or bad --runs/--flatten-responses: "
                 f"{unknown or args.tools}")
    workloads = [w for w in WORKLOADS if w["name"] in names]
    need_server = bool(workloads or args.memory)
    if need_server and not os.path.exists(os.path.join(ROOT, "apifetch.so")):
        sys.exit("bench: ./apifetch.so is missing, run make first")

    SCRATCH = tempfile.mkdtemp(prefix="apifetch-bench-", dir="/tmp")
    ok = True
    if not need_server:
        # Nothing to fetch: only the flatten section (if on).
        try:
            if args.flatten:
                ok &= run_flatten(args.flatten_responses)
        finally:
            shutil.rmtree(SCRATCH, ignore_errors=True)
        return 0 if ok else 1
    build_spawn()
    server = Server()
    try:
        print(f"apifetch bench: loopback :{server.port}, {os.cpu_count()} CPUs, "
              f"runs={args.runs}, medians shown", flush=True)

        # Warm-up (untimed): page cache, .pyc files, the server's first connections.
        warm = Workload("warm", urls_for(server, 5, 0), 5, args.sqlite3, args.curl)
        for tool in tools:
            r = warm.run(tool)
            if r["failed"]:
                sys.exit(f"bench: warm-up {tool} failed: {r['failed']}")

        table, summary = [], []
        for w in workloads:
            wl = Workload(w["name"], urls_for(server, w["n"], w["delay_ms"]), w["concurrency"],
                          args.sqlite3, args.curl)
            bound = bound_s(w)

            # The server must not be the bottleneck: apifetch reaches exactly C in flight.
            server.reset()
            cpu0 = server.cpu_s()
            r = wl.run("apifetch")
            cpu = server.cpu_s() - cpu0
            st = server.stats()
            good = st["max_inflight"] == w["concurrency"] and not r["failed"]
            ok &= good
            print(f"{w['name']} check: max_inflight {st['max_inflight']} (concurrency "
                  f"{w['concurrency']}), {st['requests']} requests on {st['connections']} "
                  f"connections, server CPU {cpu:.2f} s in {r['wall']:.2f} s"
                  + ("" if good else "  <-- NOT OK" + (f" ({r['failed']})" if r["failed"] else "")),
                  flush=True)

            runs = {t: [] for t in tools}
            for _ in range(args.runs):
                for tool in tools:
                    server.reset()
                    r = wl.run(tool)
                    r["infl"] = server.stats()["max_inflight"]
                    runs[tool].append(r)
                    if r["failed"] or (r["rows"] is not None and r["rows"] != w["n"]):
                        ok = False
                        print(f"  {w['name']} {tool}: FAILED: {r['failed'] or ''} "
                              f"rows={r['rows']}", flush=True)

            med = {t: {k: statistics.median(x[k] for x in runs[t])
                       for k in ("wall", "cpu", "rss_mb", "infl")} for t in tools}
            base = med["apifetch"]["wall"]
            for t in tools:
                m = med[t]
                rows = w["n"] if t == "curl" else statistics.median(
                    x["rows"] or 0 for x in runs[t])
                table.append([w["name"], t, f"{m['wall']:.2f}", f"{m['cpu']:.2f}",
                              f"{m['rss_mb']:.1f}", f"{rows:.0f}" + ("*" if t == "curl" else ""),
                              f"{rows / m['wall']:,.0f}", f"{m['wall'] / base:.2f}x",
                              f"{m['infl']:.0f}", f"{bound:.2f}"])

            parts = [f"apifetch {base / bound:.2f}x bound"]
            for t in tools[1:]:
                s = f"{t} {med[t]['wall'] / base:.2f}x apifetch"
                if t == "python":
                    ph = {k: statistics.median(x["phases"].get(k, 0) for x in runs[t])
                          for k in ("t_import", "t_fetch", "t_frame", "t_sql")}
                    s += (f" (import {ph['t_import']:.2f} s, fetch {ph['t_fetch']:.2f} s"
                          f" = {ph['t_fetch'] / bound:.2f}x bound, frame {ph['t_frame']:.2f} s,"
                          f" to_sql {ph['t_sql']:.2f} s)")
                parts.append(s)
            summary.append(f"{w['name']} ({w['n']} URLs, {w['delay_ms']} ms, "
                           f"c={w['concurrency']}, bound {bound:.2f} s): " + ", ".join(parts))

        if table:
            print()
            print(fmt_table(["workload", "tool", "wall s", "CPU s", "RSS MB", "rows", "rows/s",
                             "vs apifetch", "infl", "bound s"], table,
                            right={2, 3, 4, 5, 6, 7, 8, 9}))
            print("(wall, CPU, RSS, infl: medians; RSS = peak of the child, MiB; "
                  "infl = the server's max in flight; *curl: URLs fetched, no rows)")
            print()
            for s in summary:
                print(s)

        if args.memory:
            n, c = args.memory, args.memory_concurrency
            print(f"\nmemory: {n} URLs /obj?id=i (no delay), concurrency {c}, streamed "
                  "(SELECT count(*) FROM api_fetch(...), no table)", flush=True)
            wl = Workload(f"mem{n}", urls_for(server, n, 0), c, args.sqlite3, args.curl)
            lit_mb = os.path.getsize(wl.list_json) / 2**20
            b = wl.run("apifetch", sql=wl.sql_baseline)
            server.reset()
            r = wl.run("apifetch", sql=wl.sql_stream)
            st = server.stats()
            if r["failed"] or r["rows"] != n:
                ok = False
                print(f"  FAILED: {r['failed'] or ''} rows={r['rows']}")
            print(f"  URL list {lit_mb:.1f} MiB of JSON")
            print(f"  baseline (same shell + literal, no fetch): peak RSS {b['rss_mb']:.1f} MB")
            print(f"  apifetch: rows {r['rows']}, wall {r['wall']:.2f} s "
                  f"({n / r['wall']:,.0f} rows/s), CPU {r['cpu']:.2f} s, peak RSS "
                  f"{r['rss_mb']:.1f} MB = baseline + {r['rss_mb'] - b['rss_mb']:.1f} MB; "
                  f"server max_inflight {st['max_inflight']}, {st['connections']} connections")

        if args.flatten:
            ok &= run_flatten(args.flatten_responses)
    finally:
        server.stop()
        shutil.rmtree(SCRATCH, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
