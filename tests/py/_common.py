"""What the tests in tests/py share (not a test itself: tests/run.py runs
the files whose names do not start with "_").

    from _common import BASE, ROOT, check, connect, error_of, finish, read_head
    from _common import serve_threads, shell_usage, time_limit
"""
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time

BASE = sys.argv[1]          # the loopback server, given by tests/run.py
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = 0


def check(ok, what):
    """One result line; the test fails at finish() if any check failed."""
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    failures += 0 if ok else 1


def connect():
    """A connection with the extension loaded, as Datasette loads it."""
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    conn.enable_load_extension(True)
    conn.load_extension(os.path.join(ROOT, "apifetch"))
    conn.enable_load_extension(False)
    return conn


def shell_usage(sql):
    """sql run by a sqlite3 shell of its own ($SQLITE3, else sqlite3) with the
    extension loaded: (its output stripped, its exit status as wait4 gives
    it, its rusage: CPU and peak RSS of that process alone)."""
    p = subprocess.Popen([os.environ.get("SQLITE3", "sqlite3"), "-batch", ":memory:"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    p.stdin.write(".load ./apifetch\n" + sql + "\n")
    p.stdin.close()
    out = p.stdout.read().strip()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = status
    return out, status, usage


def time_limit(conn, seconds):
    """A time limit the way Datasette sets one: a progress handler, every
    1,000 opcodes, that asks to stop once `seconds` from now have passed."""
    deadline = time.monotonic() + seconds
    conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 1000)


def finish():
    print(f"{failures} failures")
    sys.exit(1 if failures else 0)


def error_of(fn):
    """The SQLite error text fn() raises, or None if it raises none."""
    try:
        fn()
    except sqlite3.Error as e:
        return str(e)
    return None


def read_head(sock):
    """The bytes of an HTTP request's head read from sock, up to and with
    its blank line (what arrived, if the peer closed before it)."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return head


def serve_threads(handler, backlog=8):
    """A server of the test's own on 127.0.0.1 (an ephemeral port): each
    connection accepted goes to handler(conn) on a daemon thread of its
    own, until the socket is closed.  Returns the listening socket."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)

    def accept_loop():
        while True:
            try:
                c, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(c,), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    return sock
