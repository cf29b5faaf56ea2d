"""The test runner itself: a test that crashes, or ends with another exit
status than it states, or a unit check that fails, is reported as a
failure -- whatever it printed first.  tests/run.py is run on a folder of
SQL files made here (--sql-dir) and on tests/unit with a check that fails
on purpose (APIFETCH_UNIT_SELFTEST)."""
import os
import re
import shutil
import subprocess
import tempfile

from _common import ROOT, check, finish

RUN = [os.path.join(ROOT, "tests", "run.py")]
PYTHON = "/usr/bin/python3"

# name: (script, what it prints, verdict)
CASES = {
    # Right output, then SIGSEGV: a crash at teardown looks just like this.
    "crash": (".print before\n.shell kill -SEGV $PPID\n.print after\n", "before\n", "FAIL"),
    # Right output, then an exit status nobody asked for.
    "exit7": (".print hello\n.exit 7\n", "hello\n", "FAIL"),
    # An error the file shows on purpose, and says it ends with status 1.
    "stated": (".print one\nSELECT no_such_function();\n-- exit status: 1\n",
               "one\nParse error near line 2: no such function: no_such_function\n"
               "  SELECT no_such_function();\n         ^--- error here\n", "PASS"),
    # The same error without saying so.
    "unstated": (".print one\nSELECT no_such_function();\n",
                 "one\nParse error near line 2: no such function: no_such_function\n"
                 "  SELECT no_such_function();\n         ^--- error here\n", "FAIL"),
    "clean": (".print fine\n", "fine\n", "PASS"),
}

work = tempfile.mkdtemp(prefix="apifetch-harness-")
try:
    for name, (script, printed, _) in CASES.items():
        with open(os.path.join(work, name + ".sql"), "w") as f:
            f.write(script)
        with open(os.path.join(work, name + ".expected"), "w") as f:
            f.write(printed)
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
    r = subprocess.run([PYTHON] + RUN + ["--sql-dir", work], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    for name, (_, _, verdict) in CASES.items():
        got = re.search(rf"(?m)^(PASS|FAIL) sql/{name}\b", r.stdout)
        check(got is not None and got.group(1) == verdict,
              f"sql/{name}: {verdict} (runner said {got.group(1) if got else 'nothing'})")
    check("killed by signal SIGSEGV" in r.stdout, "the crash is named")
    check("exit status 7, the file expects exit status 0" in r.stdout, "the exit status is named")
    last = r.stdout.rstrip("\n").rsplit("\n", 1)[-1]
    check(last == "2 passed, 3 failed, 0 skipped" and r.returncode == 1,
          f"closing line and exit status: {last!r}, {r.returncode}")

    # A unit check that fails: tests/unit exits non-zero by itself, and the
    # runner reports the test function.
    env["APIFETCH_UNIT_SELFTEST"] = "1"
    u = subprocess.run([os.path.join(ROOT, "tests", "unit")], env=env,
                       capture_output=True, text=True, timeout=120)
    check(u.returncode == 1 and "FAIL selftest_fails" in u.stdout,
          f"tests/unit exits 1 when a check fails (exit {u.returncode})")
    r = subprocess.run([PYTHON] + RUN + ["--sections", "unit"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    last = r.stdout.rstrip("\n").rsplit("\n", 1)[-1]
    check("FAIL unit/selftest_fails" in r.stdout and re.fullmatch(r"\d+ passed, 1 failed, 0 skipped",
                                                                  last) and r.returncode == 1,
          f"the runner reports the failed unit check: {last!r}, exit {r.returncode}")
    del env["APIFETCH_UNIT_SELFTEST"]
    u = subprocess.run([os.path.join(ROOT, "tests", "unit")], env=env,
                       capture_output=True, text=True, timeout=120)
    check(u.returncode == 0 and "FAIL" not in u.stdout, f"and 0 when none does (exit {u.returncode})")

    # A docs example whose shell crashes after printing what the page shows.
    import sys
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import docs
    page = "sqlite> .print shown\nshown\n"
    crash = "sqlite> .print shown\nshown\nsqlite> .shell kill -SEGV $PPID\n"
    out = docs.render_session(crash, "http://127.0.0.1:1", env, ROOT)
    check("killed by signal 11" in out, f"a docs example that crashes does not match its page: {out!r}")
    out = docs.render_session(page, "http://127.0.0.1:1", env, ROOT)
    check("killed" not in out and "shown" in out, f"and one that does not crash does: {out!r}")
finally:
    shutil.rmtree(work, ignore_errors=True)
finish()
