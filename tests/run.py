#!/usr/bin/python3
"""apifetch test runner.

    /usr/bin/python3 tests/run.py [--sanitize] [--valgrind] [--update]
                                  [--sections S,S,...] [--sql-dir DIR] [NAME ...]

Sections, in order (--sections picks some; the default is all but pkg):

  unit         the C unit tests (tests/unit), one result per test function;
               the program's exit status must agree with them.
  sql          every tests/sql/NAME.sql through the real sqlite3 shell
               (`sqlite3 -batch :memory:`), `$BASE` replaced by the loopback
               server's base URL (tests/loopback.py, an ephemeral 127.0.0.1
               port, its counters reset before each file), `$TLS_BASE` and
               `$CA_FILE` by an nginx with TLS from a CA made for the run and
               HTTP/2 (tests/nginx.conf).  What the shell prints (stdout and
               stderr together) must equal NAME.expected, and its exit status
               the one the file states on a line `-- exit status: N` (0 if
               none); a signal always fails.  --sql-dir takes the files from
               another folder (tests/py/harness.py uses it).
  conformance  the wide face against pandas.json_normalize's committed
               output, case by case (tests/conformance.py).
  py           tests/py/*.py with /usr/bin/python3 (the extension loaded by
               Python's sqlite3 module, as Datasette loads it), given the
               base URL; exit status 0 passes, 77 is "skipped" (the test
               prints why) -- except under CI (CI=true), where what a test
               needs must be there and 77 fails.
  docs         every example of README.md, ARCHITECTURE.md and docs/*.md
               (tests/docs.py) prints what the page shows.
  examples     every sql/*.sql script, run as a user runs it, `sqlite3 DB <
               sql/NAME.sql`, each against a server of its own on
               127.0.0.1:8080 in a network namespace of its own
               (tests/examples.py).
  pkg          tests/pkg/*.py: the packages `make dist` built (dist/: the
               .deb and the wheels, a release build) used as a user uses
               them: apt-get install, pip into a fresh venv, the real
               Datasette, the examples of docs/install.md.  They install into
               the system, so they need root: `make test-packages` runs them
               (CI does), `make test` does not.

The last line is `N passed, N failed, N skipped`; the exit status is 1 if
anything failed.

--demo runs sql/demo.sql as tests/examples.py does and prints what it prints.

--valgrind runs every sqlite3 shell under valgrind memcheck (errors and
definite leaks fail the test; valgrind output is part of what is compared,
so any report shows as a difference too).

--sanitize runs the shell with the AddressSanitizer runtime preloaded (for a
`make SANITIZE=1` build); any sanitizer report fails the test that caused
it.  --update rewrites the .expected files from the actual output (review
the diff before committing it).  NAME restricts the run to those tests.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import conformance
import docs
import examples
import nginx_limit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")
SQLITE = os.environ.get("SQLITE3", "sqlite3")
PYTHON = "/usr/bin/python3"    # Debian's, whose sqlite3 module can load extensions
TIMEOUT = 300          # seconds any one SQL file may take: a hang is a failure

SECTIONS = ["unit", "sql", "conformance", "py", "docs", "examples", "pkg"]
SKIPPED = 77           # a py or pkg test's exit status for "cannot run here"
IN_CI = os.environ.get("CI", "").lower() == "true"

passed = 0
failed = 0
skipped = 0


def report(ok, name, detail="", skip=False):
    global passed, failed, skipped
    if skip:
        skipped += 1
        print(f"SKIP {name}")
        if detail:
            print("  " + detail.rstrip().replace("\n", "\n  "))
    elif ok:
        passed += 1
        print(f"PASS {name}")
    else:
        failed += 1
        print(f"FAIL {name}")
        if detail:
            print("  " + detail.rstrip().replace("\n", "\n  "))
    sys.stdout.flush()


def sanitizer_env():
    env = dict(os.environ)
    libasan = subprocess.run(["cc", "-print-file-name=libasan.so"],
                             capture_output=True, text=True).stdout.strip()
    libubsan = subprocess.run(["cc", "-print-file-name=libubsan.so"],
                              capture_output=True, text=True).stdout.strip()
    env["LD_PRELOAD"] = f"{libasan} {libubsan}"
    # intercept_tls_get_addr=0: LeakSanitizer's tracer otherwise crashes at
    # exit now and then reading a dynamic TLS block of the .load'ed
    # libraries ("Tracer caught signal 11", google/sanitizers issue 1353;
    # GCC 12's libasan with glibc 2.36), which is no report about the code:
    # tests/fuzz_http_run.py says more.  Leaks are still looked for.
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=99:intercept_tls_get_addr=0"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    return env


def start_server():
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(TESTS, "loopback.py"),
                             "--port", "0"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.match(r"PORT (\d+)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"test server did not start: {line!r}")
    return proc, int(m.group(1))


def start_tls_server(workdir):
    """nginx with TLS (a CA made here and now) and HTTP/2 on a free port.
    Returns (process, base URL, CA file)."""
    def ssl(*args):
        subprocess.run(["openssl", *args], cwd=workdir, check=True, capture_output=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=apifetch test CA")
    ssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(workdir, "san.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.cnf")
    proc, port = nginx_limit.start_nginx("nginx.conf", workdir, {})
    return proc, f"https://127.0.0.1:{port}", os.path.join(workdir, "ca.pem")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def skip(name, why):
    """A test that cannot run on this machine: skipped, but not under CI."""
    if IN_CI:
        report(False, name, "skipped, but under CI (CI=true) it must run: " + why)
    else:
        report(True, name, why, skip=True)


def exit_text(code):
    return f"killed by signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"


def run_unit():
    """One result per test function; the program's exit status must agree:
    0 when every function passed, 1 when one failed, never a signal."""
    exe = os.path.join(TESTS, "unit")
    r = subprocess.run(wrap + [exe], capture_output=True, text=True, timeout=300)
    seen = fails = 0
    lines = r.stdout.splitlines()
    for k, line in enumerate(lines):
        m = re.match(r"(PASS|FAIL) (\S+)(.*)", line)
        if m:
            seen += 1
            fails += m.group(1) == "FAIL"
            # A test's own lines ("  check failed at ...") come before its verdict.
            j = k
            while j > 0 and lines[j - 1].startswith("  "):
                j -= 1
            report(m.group(1) == "PASS", "unit/" + m.group(2), "\n".join(lines[j:k]))
    if seen == 0 or r.returncode != (1 if fails else 0):
        report(False, "unit", f"{exit_text(r.returncode)} after {seen} tests, {fails} failed\n"
               f"{r.stdout[-2000:]}\n{r.stderr[-2000:]}")


# --valgrind: every sqlite3 shell runs under valgrind memcheck; any error or
# definite leak makes it exit 98, which fails the test.
VALGRIND = ["valgrind", "--quiet", "--error-exitcode=98", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
            "--trace-children=no"]
wrap = []


def expected_exit(script):
    """The exit status a SQL test states (`-- exit status: N`), else 0."""
    m = re.search(r"(?m)^-- exit status: (\d+)$", script)
    return int(m.group(1)) if m else 0


def judge_sql(code, out, expected, expected_path, want_exit, sanitize):
    """(ok, why) for one SQL test: its output, then its exit status."""
    if code is None:
        return False, out
    if code < 0:                     # whatever it printed first
        return False, exit_text(code) + "\n" + out[-2000:]
    if sanitize and code == 99:
        return False, "sanitizer report\n" + out[-3000:]
    if wrap and code == 98:
        return False, "valgrind report\n" + out[-3000:]
    if expected is None:
        return False, "no .expected file"
    if out != expected:
        return False, subprocess.run(["diff", "-u", expected_path, "-"], input=out,
                                     capture_output=True, text=True).stdout[-4000:]
    if code != want_exit:
        return False, (f"{exit_text(code)}, the file expects {exit_text(want_exit)}"
                       " (a line `-- exit status: N` says so)")
    return True, ""


def run_sql(path, base, env, subst={}):
    with open(path) as f:
        script = f.read()
    for k, v in subst.items():
        script = script.replace(k, v)
    script = script.replace("$BASE", base).replace("$PORT", base.rsplit(":", 1)[1])
    t0 = time.time()
    try:
        r = subprocess.run(wrap + [SQLITE, "-batch", ":memory:"], input=script, cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {TIMEOUT} s", 0
    # Progress lines (option progress) hold rates that vary run to run.
    out = re.sub(r"(?m)^(api_fetch: .*) \d+ req/s", r"\1 N req/s", r.stdout)
    # libcurl's connect errors say how long the attempt took.
    out = re.sub(r"(port \d+ after) \d+ ms", r"\1 N ms", out)
    # ... and its timeouts how long the transfer ran (2000, or 2001 when slow).
    out = re.sub(r"(timed out after) \d+ milliseconds", r"\1 N milliseconds", out)
    # ... and a trickle how many bytes came in that time.
    out = re.sub(r"(milliseconds with) \d+ (out of \d+ bytes)", r"\1 N \2", out)
    out = re.sub(r"(?m)^(api_fetch: .*) ETA \d+ s", r"\1 ETA N s", out)
    for k, v in subst.items():
        out = out.replace(v, k)
    out = out.replace(base, "$BASE")
    out = re.sub(":" + base.rsplit(":", 1)[1] + r"(?!\d)", ":$PORT", out)
    return r.returncode, out, time.time() - t0


def reset_server(base):
    urllib.request.urlopen(base + "/stats/reset", timeout=10).read()


# A stand-in secret for the tests that read one from the environment.
os.environ.setdefault("APIFETCH_TEST_TOKEN", "tok-3f9a7c1e")


def run_py_tests(folder, prefix, base, env, only, clean_env=None):
    """tests/py or tests/pkg: each file a test, given the base URL."""
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py") or name.startswith("_") or (only and name[:-3] not in only):
            continue
        reset_server(base)
        penv = clean_env(env) if clean_env else dict(env)
        t0 = time.time()
        try:
            r = subprocess.run([PYTHON, os.path.join(folder, name), base], cwd=ROOT,
                               env=penv, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
            code, out = r.returncode, r.stdout
        except subprocess.TimeoutExpired:
            code, out = None, f"timed out after {TIMEOUT} s"
        label = f"{prefix}/{name[:-3]} ({time.time() - t0:.1f}s)"
        if code == SKIPPED:
            skip(label, out[-2000:])
        else:
            report(code == 0, label, "" if code == 0 else
                   (exit_text(code) + "\n" if code is not None else "") + out[-4000:])


def main(argv):
    global wrap
    sanitize = "--sanitize" in argv
    if "--valgrind" in argv:
        wrap = VALGRIND
    update = "--update" in argv
    args, only, k = list(argv), [], 0
    sections = [s for s in SECTIONS if s != "pkg"]
    sqldir = os.path.join(TESTS, "sql")
    while k < len(args):
        a = args[k]
        if a in ("--sections", "--sql-dir") and k + 1 < len(args):
            if a == "--sections":
                sections = args[k + 1].split(",")
                bad = [s for s in sections if s not in SECTIONS]
                if bad:
                    raise SystemExit(f"run.py: no section {bad[0]!r}; the sections: "
                                     + ", ".join(SECTIONS))
            else:
                sqldir, sections = os.path.abspath(args[k + 1]), ["sql"]
            k += 2
            continue
        if not a.startswith("--"):
            only.append(a)
        k += 1
    env = sanitizer_env() if sanitize else dict(os.environ)

    if "--demo" in argv:
        return examples.show("demo", env)

    if "unit" in sections and not only:
        run_unit()

    server, port = start_server()
    base = f"http://127.0.0.1:{port}"
    tlsdir = tempfile.mkdtemp(prefix="apifetch-tls-")
    tls = None
    try:
        tls, tls_base, ca_file = start_tls_server(tlsdir)
    except Exception as ex:
        # Nothing can run without it: say why, stop what was started, and
        # still end with the closing line.
        report(False, "nginx (TLS, HTTP/2)", f"could not start: {ex}")
        stop(server)
        shutil.rmtree(tlsdir, ignore_errors=True)
        print(f"{passed} passed, {failed} failed, {skipped} skipped")
        return 1
    # $TLS_BASE: nginx over https with HTTP/2; $CA_FILE: the CA that signed it.
    subst = {"$TLS_BASE": tls_base, "$CA_FILE": ca_file}
    try:
        for name in sorted(os.listdir(sqldir)) if "sql" in sections else []:
            if not name.endswith(".sql"):
                continue
            stem = name[:-4]
            if only and stem not in only:
                continue
            reset_server(base)
            script_path = os.path.join(sqldir, name)
            code, out, secs = run_sql(script_path, base, env, subst)
            expected_path = os.path.join(sqldir, stem + ".expected")
            if update and code is not None and code >= 0:
                with open(expected_path, "w") as f:
                    f.write(out)
            expected = open(expected_path).read() if os.path.exists(expected_path) else None
            with open(script_path) as f:
                want_exit = expected_exit(f.read())
            ok, why = judge_sql(code, out, expected, expected_path, want_exit, sanitize)
            report(ok, f"sql/{stem}" + (f" ({secs:.1f}s)" if ok else ""), why)

        if "conformance" in sections and (not only or "conformance" in only):
            reset_server(base)
            conformance.run(base, env, SQLITE, report, update=update)

        # Python tests (tests/py/*.py): the extension loaded by Python's
        # sqlite3 module, as Datasette loads it; threads.
        def py_env(e):
            if sanitize:
                # The interpreter's own allocations are not ours to judge.
                e["ASAN_OPTIONS"] = ("detect_leaks=0:abort_on_error=0:exitcode=99:"
                                     "intercept_tls_get_addr=0")
            return e
        if "py" in sections:
            run_py_tests(os.path.join(TESTS, "py"), "py", base, env, only, py_env)

        # The docs: every example runs and prints what the page shows.
        if "docs" in sections and (not only or "docs" in only):
            reset_server(base)
            docs.main([base], report=lambda ok, name, detail="": report(ok, name, detail),
                      env=env)

        # The sql/*.sql scripts, unmodified, as a user runs them.
        if "examples" in sections and (not only or "examples" in only):
            examples.run(report, env, SQLITE, wrap, update=update, skip=skip)

        # Package tests (tests/pkg/*.py): what users install, installed.
        # Release builds: without the sanitizer runtime.
        if "pkg" in sections:
            run_py_tests(os.path.join(TESTS, "pkg"), "pkg", base, env, only, lambda e: {
                k: v for k, v in e.items()
                if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")})
    finally:
        stop(server)
        stop(tls)
        shutil.rmtree(tlsdir, ignore_errors=True)

    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
