#!/usr/bin/python3
"""apifetch test runner.

    /usr/bin/python3 tests/run.py [--sanitize] [--update] [NAME ...]

1. Runs the C unit tests (tests/unit), one result per test function.
2. Starts the loopback test server (tests/loopback.py) on an ephemeral
   127.0.0.1 port.
3. Runs every tests/sql/NAME.sql through the real sqlite3 shell
   (`sqlite3 -batch :memory:`), with `$BASE` replaced by the server's base
   URL, and compares what the shell prints (stdout and stderr together) with
   tests/sql/NAME.expected.  The server's counters are reset before each file.
4. Runs every sql/*.sql example script the same way; each must finish with
   exit status 0 and print no error.
5. Stops the server and prints `N passed, N failed` as its last line.

--demo runs sql/demo.sql against the server and prints what it prints.

--sanitize runs the shell with the AddressSanitizer runtime preloaded (for a
`make SANITIZE=1` build); any sanitizer report fails the test that caused
it.  --update rewrites the .expected files from the actual output (review
the diff before committing it).  NAME restricts the run to those SQL tests.
"""
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")
SQLITE = os.environ.get("SQLITE3", "sqlite3")
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
    # libcurl's global state lives until exit by design (the extension can
    # not know when it is unloaded); everything else must be freed.
    env["LSAN_OPTIONS"] = f"suppressions={TESTS}/lsan.supp:print_suppressions=0"
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=99"
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


def run_unit():
    exe = os.path.join(TESTS, "unit")
    r = subprocess.run([exe], capture_output=True, text=True, timeout=120)
    seen = 0
    for line in r.stdout.splitlines():
        m = re.match(r"(PASS|FAIL) (\S+)(.*)", line)
        if m:
            seen += 1
            report(m.group(1) == "PASS", "unit/" + m.group(2), m.group(3))
    if r.returncode != 0 or seen == 0:
        report(False, "unit", f"exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")


def run_sql(path, base, env):
    with open(path) as f:
        script = f.read().replace("$BASE", base)
    t0 = time.time()
    try:
        r = subprocess.run([SQLITE, "-batch", ":memory:"], input=script, cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {TIMEOUT} s", 0
    return r.returncode, r.stdout.replace(base, "$BASE"), time.time() - t0


def reset_server(base):
    urllib.request.urlopen(base + "/stats/reset", timeout=10).read()


def main(argv):
    sanitize = "--sanitize" in argv
    update = "--update" in argv
    only = [a for a in argv if not a.startswith("--")]
    env = sanitizer_env() if sanitize else dict(os.environ)

    if "--demo" in argv:
        server, port = start_server()
        try:
            base = f"http://127.0.0.1:{port}"
            code, out, secs = run_sql(os.path.join(ROOT, "sql", "demo.sql"), base, env)
            print(out.replace("$BASE", base), end="")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)
        return code

    if not only:
        run_unit()

    server, port = start_server()
    base = f"http://127.0.0.1:{port}"
    try:
        sqldir = os.path.join(TESTS, "sql")
        for name in sorted(os.listdir(sqldir)):
            if not name.endswith(".sql"):
                continue
            stem = name[:-4]
            if only and stem not in only:
                continue
            reset_server(base)
            code, out, secs = run_sql(os.path.join(sqldir, name), base, env)
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
            else:
                report(True, f"sql/{stem} ({secs:.1f}s)")

        exdir = os.path.join(ROOT, "sql")
        for name in sorted(os.listdir(exdir)) if not only else []:
            if not name.endswith(".sql"):
                continue
            reset_server(base)
            code, out, secs = run_sql(os.path.join(exdir, name), base, env)
            bad = code != 0 or re.search(r"(?m)^(Error|Parse error|Runtime error)", out or "")
            report(not bad, f"example/{name} ({secs:.1f}s)", "" if not bad else out[-3000:])
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
