"""What the tests in tests/py share (not a test itself: tests/run.py runs
the files whose names do not start with "_").

    from _common import BASE, ROOT, check, connect, finish
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
