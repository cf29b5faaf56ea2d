"""What the tests in tests/py share (not a test itself: tests/run.py runs
the files whose names do not start with "_").

    from _common import BASE, ROOT, check, connect, error_of, finish, read_head
"""
import os
import sqlite3
import sys

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
