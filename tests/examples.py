#!/usr/bin/python3
"""The example scripts, sql/*.sql, run exactly as their headers tell a user to:

    sqlite3 NAME.db < sql/NAME.sql        (from the repository root, `make serve` running)

Each script runs unmodified, by that command, from the repository root, on
a fresh database file in a directory of its own, against the bundled server
(tests/loopback.py) on 127.0.0.1:8080, the address the scripts name.

So that a run depends neither on port 8080 being free nor on `make serve`,
each script runs in a private network namespace (`unshare -rn`: with a user
namespace, so no root is needed) whose loopback interface this file brings
up, with a server of its own on 127.0.0.1:8080 there.  Where unshare is
refused (a container without user namespaces), the script runs here against
a server started on 8080 if that port is free; if it is not, the script is
reported as skipped, saying why.

A script passes when the shell exits 0, prints no error line, and prints
exactly tests/examples/NAME.expected once what depends on the clock or the
build is normalised: a `seconds` column, libcurl's "after N ms", the commit
in api_fetch_version().  --update rewrites those files from what the
scripts printed (read the diff).

    /usr/bin/python3 tests/examples.py [--update] [NAME ...]   (tests/run.py calls run())
    /usr/bin/python3 tests/examples.py --show NAME             (make demo: NAME's output as is)
    tests/examples.py --inside NAME          (what runs in the namespace; not for people)
"""
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SQLDIR = os.path.join(ROOT, "sql")
EXPDIR = os.path.join(ROOT, "tests", "examples")
PYTHON = "/usr/bin/python3"
PORT = 8080                 # what the scripts' profiles name, as `make serve` serves
TIMEOUT = 300               # seconds a script may take: a hang is a failure
SETUP_FAILED = 75           # --inside's exit status when it could not start the server
# run()'s caller's environment and wrapper for the shell (the sanitizer's
# preload, valgrind) reach --inside here; unshare and the server run without them.
SHELL_ENV = "APIFETCH_EXAMPLES_SHELL"


def scripts():
    return sorted(n[:-4] for n in os.listdir(SQLDIR) if n.endswith(".sql"))


# ---- inside the namespace ------------------------------------------------

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up():
    """Brings up lo: a new network namespace has it down.  An ioctl, as
    `ip link set lo up` does, so the tests need no iproute2.  A no-op where
    lo is up already (the fallback, outside a namespace)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, SIOCGIFFLAGS, ifreq))[1]
        if not flags & IFF_UP:
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


def inside(name):
    """Starts the server on 127.0.0.1:8080, runs `sqlite3 NAME.db <
    sql/NAME.sql` from the repository root on a fresh file, prints what the
    shell printed and exits with its status."""
    shell = json.loads(os.environ.pop(SHELL_ENV, "{}"))
    try:
        loopback_up()
    except OSError as e:
        sys.stderr.write(f"examples: cannot bring up the loopback interface: {e}\n")
        return SETUP_FAILED
    server = subprocess.Popen([PYTHON, os.path.join(ROOT, "tests", "loopback.py"),
                               "--port", str(PORT)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    if not line.startswith(f"PORT {PORT}"):
        server.kill()
        err = server.stderr.read().strip().splitlines()
        sys.stderr.write(f"examples: the test server could not listen on 127.0.0.1:{PORT}: "
                         f"{err[-1] if err else line!r}\n")
        return SETUP_FAILED
    work = tempfile.mkdtemp(prefix="apifetch-example-")
    try:
        def once():
            with open(os.path.join(SQLDIR, name + ".sql")) as script:
                return subprocess.run(shell.get("wrap", []) + [shell.get("sqlite", "sqlite3"),
                                      os.path.join(work, name + ".db")],
                                      stdin=script, cwd=ROOT,
                                      env={**os.environ, **shell.get("env", {})},
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      timeout=TIMEOUT)
        r = once()
        sys.stdout.buffer.write(r.stdout)
        if r.returncode == 0 and shell.get("rerun"):
            again = once()          # what it prints may differ (incremental jobs)
            if again.returncode != 0:
                sys.stdout.buffer.write(f"examples: run again on the same database, sql/{name}.sql "
                                        f"ended with status {again.returncode}:\n".encode()
                                        + again.stdout)
                return again.returncode
        return r.returncode
    except subprocess.TimeoutExpired:
        print(f"examples: sql/{name}.sql timed out after {TIMEOUT} s", flush=True)
        return 124                  # a hang is the script's failure, not a skip
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


# ---- outside: how to run, and the checks -----------------------------------

def isolation():
    """(argv prefix, why not) for running a script: unshare -rn where the
    kernel allows it, else nothing, with the reason unshare failed."""
    try:
        r = subprocess.run(["unshare", "-rn", "true"], capture_output=True, text=True,
                           timeout=30)
        if r.returncode == 0:
            return ["unshare", "-rn"], None
        why = r.stderr.strip() or f"exit {r.returncode}"
    except (OSError, subprocess.TimeoutExpired) as e:
        why = str(e)
    return [], f"unshare -rn is not possible here ({why})"


def run_one(name, prefix, env=None, sqlite="sqlite3", wrap=(), rerun=False):
    """(exit status, what the shell printed, why it could not run or None).
    rerun: then run it once more on the same database, as a user re-running
    a job does; that run must end with status 0 too."""
    extra = {k: v for k, v in (env or {}).items() if os.environ.get(k) != v}
    penv = dict(os.environ)
    penv[SHELL_ENV] = json.dumps({"env": extra, "sqlite": sqlite, "wrap": list(wrap),
                                  "rerun": rerun})
    # A session of its own, so that a timeout ends the server and the shell too.
    p = subprocess.Popen(prefix + [PYTHON, os.path.abspath(__file__), "--inside", name],
                         cwd=ROOT, env=penv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=TIMEOUT + 30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return None, f"timed out after {TIMEOUT + 30} s", None
    out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    if p.returncode == SETUP_FAILED:
        return None, err, err.strip()
    return p.returncode, out + err, None


def _repad(cell, new):
    """new in place of a box cell's text, padded to the cell's width, so a
    normalised number leaves the table's shape as it was."""
    return new.ljust(len(cell)) if len(new) <= len(cell) else new


def normalise(out):
    """What depends on the clock or the build, made constant."""
    lines, header = [], None
    for line in out.split("\n"):
        line = re.sub(r"(apifetch \S+ \()([0-9a-f]{7,40})\)",
                      lambda m: m[1] + "#" * len(m[2]) + ")", line)
        if line.startswith("┌"):
            header = None
        elif line.startswith("│"):
            cells = line.split("│")
            if header is None:
                header = [c.strip() for c in cells]
            else:
                for i, c in enumerate(cells):
                    if i < len(header) and header[i] == "seconds" and c.strip():
                        cells[i] = _repad(c, " N")
                    cells[i] = _repad(cells[i], re.sub(r"after \d+ ms", "after N ms", cells[i]))
                line = "│".join(cells)
        else:
            line = re.sub(r"after \d+ ms", "after N ms", line)
        lines.append(line)
    return "\n".join(lines)


def skipped(name, why):
    print(f"SKIP {name}: {why}")
    sys.stdout.flush()


def run(report, env=None, sqlite="sqlite3", wrap=(), update=False, only=(), skip=skipped):
    """One result per sql/*.sql through report(ok, name, detail); a script
    that could not be run at all goes to skip(name, why)."""
    prefix, no_ns = isolation()
    if no_ns:
        print(f"examples: {no_ns}: the scripts run here, against a server of their own "
              f"on 127.0.0.1:{PORT} if that port is free")
    for name in scripts():
        if only and name not in only:
            continue
        code, out, why = run_one(name, prefix, env, sqlite, wrap, rerun=True)
        if why:
            if no_ns:
                why = f"{no_ns}, and {why.removeprefix('examples: ')}"
            skip(f"example/{name}.sql", why)
            continue
        test = f"example/{name}.sql"
        if code is None:
            report(False, test, out)
            continue
        out = normalise(out)
        exp = os.path.join(EXPDIR, name + ".expected")
        bad = re.search(r"(?m)^(Error|Parse error|Runtime error)", out)
        if update and code == 0 and not bad:
            with open(exp, "w") as f:
                f.write(out)
        if code != 0 or bad:
            report(False, test, f"sqlite3 {name}.db < sql/{name}.sql: exit {code}\n{out[-3000:]}")
        elif not os.path.exists(exp):
            report(False, test, f"no tests/examples/{name}.expected (--update writes it)")
        elif out != open(exp).read():
            diff = subprocess.run(["diff", "-u", exp, "-"], input=out,
                                  capture_output=True, text=True).stdout
            report(False, test, diff[-3000:])
        else:
            report(True, test)


def show(name, env=None):
    """make demo: runs one script as run() does and prints what it printed."""
    prefix, no_ns = isolation()
    code, out, why = run_one(name, prefix, env)
    if why:
        sys.stderr.write(f"sql/{name}.sql could not run: {no_ns or ''}{', and ' if no_ns else ''}"
                         f"{why.removeprefix('examples: ')}\n")
        return 1
    print(out, end="")
    return code


def main(argv):
    if argv[:1] == ["--inside"]:
        return inside(argv[1])
    if argv[:1] == ["--show"]:
        return show(argv[1])
    counts = [0, 0]

    def report(ok, name, detail=""):
        counts[0 if ok else 1] += 1
        print(("PASS " if ok else "FAIL ") + name)
        if not ok and detail:
            print("  " + detail.rstrip().replace("\n", "\n  "))
        sys.stdout.flush()
    run(report, update="--update" in argv, only=[a for a in argv if not a.startswith("--")])
    print(f"{counts[0]} passed, {counts[1]} failed")
    return 1 if counts[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
