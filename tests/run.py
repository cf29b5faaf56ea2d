#!/usr/bin/python3
"""apifetch test runner.

    /usr/bin/python3 tests/run.py [--sanitize] [--valgrind] [--no-packages] [--update] [NAME ...]

1. Runs the C unit tests (tests/unit), one result per test function.
2. Starts the loopback test server (tests/loopback.py) on an ephemeral
   127.0.0.1 port.
3. Runs every tests/sql/NAME.sql through the real sqlite3 shell
   (`sqlite3 -batch :memory:`), with `$BASE` replaced by the server's base
   URL, and compares what the shell prints (stdout and stderr together) with
   tests/sql/NAME.expected.  The server's counters are reset before each file.
   `$TLS_BASE` and `$CA_FILE` name an nginx server (tests/nginx.conf) with
   TLS from a CA made for the run, offering HTTP/2.
4. Runs tests/py/*.py with /usr/bin/python3 (the extension loaded through
   Python's sqlite3 module, as Datasette does), each given the base URL;
   exit status 0 passes.
5. Runs the conformance corpus (tests/conformance.py): the wide face
   against pandas.json_normalize's committed output, case by case.
6. Runs every example of the docs (tests/docs.py: README.md,
   ARCHITECTURE.md, docs/*.md) and compares what it prints with the page.
6b. Runs every sql/*.sql example script as a user runs it, `sqlite3 DB <
   sql/NAME.sql`, each against a server of its own on 127.0.0.1:8080 in a
   network namespace of its own (tests/examples.py).
7. Runs tests/pkg/*.py, the packages `make dist` built (dist/: the .deb and
   the wheels, a release build) used as a user uses them: apt-get install,
   pip into a fresh venv, the real Datasette from ../shared/vendor, and the
   examples of docs/install.md; exit status 0 passes.  They run without the
   sanitizer runtime, and install into the system: root only.
   --no-packages leaves them out (CI runs them once, in its first run: the
   packages are the same release build in every run).
8. Stops the server and prints `N passed, N failed` as its last line.

--demo runs sql/demo.sql as tests/examples.py does and prints what it prints.

--valgrind runs every sqlite3 shell under valgrind memcheck (errors and
definite leaks fail the test; valgrind output is part of what is compared,
so any report shows as a difference too).

--sanitize runs the shell with the AddressSanitizer runtime preloaded (for a
`make SANITIZE=1` build); any sanitizer report fails the test that caused
it.  --update rewrites the .expected files from the actual output (review
the diff before committing it).  NAME restricts the run to those SQL tests.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import conformance
import docs
import examples

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")
SQLITE = os.environ.get("SQLITE3", "sqlite3")
PYTHON = "/usr/bin/python3"    # Debian's, whose sqlite3 module can load extensions
TIMEOUT = 300          # seconds any one SQL file may take: a hang is a failure

passed = 0
failed = 0


def report(ok, name, detail=""):
    global passed, failed
    if ok:
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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(os.path.join(TESTS, "nginx.conf")) as f:
        conf = f.read().replace("@PORT@", str(port)).replace("@DIR@", workdir)
    with open(os.path.join(workdir, "nginx.conf"), "w") as f:
        f.write(conf)
    proc = subprocess.Popen(["nginx", "-p", workdir, "-e", os.path.join(workdir, "error.log"),
                             "-c", os.path.join(workdir, "nginx.conf")])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise SystemExit("nginx did not start: " + open(os.path.join(workdir, "error.log")).read())
    return proc, f"https://127.0.0.1:{port}", os.path.join(workdir, "ca.pem")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_unit():
    exe = os.path.join(TESTS, "unit")
    r = subprocess.run(wrap + [exe], capture_output=True, text=True, timeout=300)
    seen = 0
    for line in r.stdout.splitlines():
        m = re.match(r"(PASS|FAIL) (\S+)(.*)", line)
        if m:
            seen += 1
            report(m.group(1) == "PASS", "unit/" + m.group(2), m.group(3))
    if r.returncode != 0 or seen == 0:
        report(False, "unit", f"exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")


# --valgrind: every sqlite3 shell runs under valgrind memcheck; any error or
# definite leak makes it exit 98, which fails the test.
VALGRIND = ["valgrind", "--quiet", "--error-exitcode=98", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
            "--trace-children=no"]
wrap = []


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


def main(argv):
    global wrap
    sanitize = "--sanitize" in argv
    if "--valgrind" in argv:
        wrap = VALGRIND
    update = "--update" in argv
    only = [a for a in argv if not a.startswith("--")]
    env = sanitizer_env() if sanitize else dict(os.environ)

    if "--demo" in argv:
        return examples.show("demo", env)

    if not only:
        run_unit()

    server, port = start_server()
    base = f"http://127.0.0.1:{port}"
    tlsdir = tempfile.mkdtemp(prefix="apifetch-tls-")
    tls, tls_base, ca_file = start_tls_server(tlsdir)
    # $TLS_BASE: nginx over https with HTTP/2; $CA_FILE: the CA that signed it.
    subst = {"$TLS_BASE": tls_base, "$CA_FILE": ca_file}
    try:
        sqldir = os.path.join(TESTS, "sql")
        for name in sorted(os.listdir(sqldir)):
            if not name.endswith(".sql"):
                continue
            stem = name[:-4]
            if only and stem not in only:
                continue
            reset_server(base)
            code, out, secs = run_sql(os.path.join(sqldir, name), base, env, subst)
            expected_path = os.path.join(sqldir, stem + ".expected")
            if update and code is not None:
                with open(expected_path, "w") as f:
                    f.write(out)
            expected = open(expected_path).read() if os.path.exists(expected_path) else None
            if code is None:
                report(False, f"sql/{stem}", out)
            elif expected is None:
                report(False, f"sql/{stem}", "no .expected file")
            elif out != expected:
                diff = subprocess.run(["diff", "-u", expected_path, "-"], input=out,
                                      capture_output=True, text=True).stdout
                report(False, f"sql/{stem}", diff[-4000:])
            elif sanitize and code == 99:
                report(False, f"sql/{stem}", "sanitizer report")
            elif wrap and code == 98:
                report(False, f"sql/{stem}", "valgrind report")
            else:
                report(True, f"sql/{stem} ({secs:.1f}s)")

        if not only or "conformance" in only:
            reset_server(base)
            conformance.run(base, env, SQLITE, report, update=update)

        # Python tests (tests/py/*.py): the extension loaded by Python's
        # sqlite3 module, as Datasette loads it; threads.  Exit 0 passes.
        pydir = os.path.join(TESTS, "py")
        for name in sorted(os.listdir(pydir)):
            if not name.endswith(".py") or name.startswith("_") or (only and name[:-3] not in only):
                continue
            reset_server(base)
            penv = dict(env)
            if sanitize:
                # The interpreter's own allocations are not ours to judge.
                penv["ASAN_OPTIONS"] = ("detect_leaks=0:abort_on_error=0:exitcode=99:"
                                        "intercept_tls_get_addr=0")
            t0 = time.time()
            try:
                r = subprocess.run([PYTHON, os.path.join(pydir, name), base], cwd=ROOT,
                                   env=penv, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
                ok, out = r.returncode == 0, r.stdout
            except subprocess.TimeoutExpired:
                ok, out = False, f"timed out after {TIMEOUT} s"
            report(ok, f"py/{name[:-3]} ({time.time() - t0:.1f}s)", "" if ok else out[-3000:])

        # The docs: every example runs and prints what the page shows.
        if not only or "docs" in only:
            reset_server(base)
            docs.main([base], report=lambda ok, name, detail="": report(ok, name, detail),
                      env=env)

        # The sql/*.sql scripts, unmodified, as a user runs them.
        if not only or "examples" in only:
            examples.run(report, env, SQLITE, wrap, update=update)

        # Package tests (tests/pkg/*.py): what users install, installed.
        pkgdir = os.path.join(TESTS, "pkg")
        for name in sorted(os.listdir(pkgdir)) if "--no-packages" not in argv else []:
            if not name.endswith(".py") or name.startswith("_") or (only and name[:-3] not in only):
                continue
            reset_server(base)
            penv = {k: v for k, v in os.environ.items()
                    if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
            t0 = time.time()
            try:
                r = subprocess.run([PYTHON, os.path.join(pkgdir, name), base], cwd=ROOT,
                                   env=penv, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
                ok, out = r.returncode == 0, r.stdout
            except subprocess.TimeoutExpired:
                ok, out = False, f"timed out after {TIMEOUT} s"
            report(ok, f"pkg/{name[:-3]} ({time.time() - t0:.1f}s)", "" if ok else out[-4000:])
    finally:
        stop(server)
        stop(tls)
        shutil.rmtree(tlsdir, ignore_errors=True)

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
