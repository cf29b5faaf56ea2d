#!/usr/bin/python3
"""APIFETCH_CONFIG, the host's settings for every connection of a process:
its profiles exist on every connection (Datasette runs a pool of them, in
threads), a bad value fails the load and leaves nothing registered (before,
a later call jumped into the unloaded library), and loading again keeps a
connection's profiles and limits.

    /usr/bin/python3 tests/py/config_env.py BASE_URL     (run by tests/run.py)
"""
import json
import os
import sqlite3
import subprocess
import sys
import threading

from _common import BASE, ROOT, check, finish

if os.environ.get("APIFETCH_CONFIG_CHILD") != "1":
    # The settings are read when the extension is loaded, so the test runs
    # again in a child process that has them in its environment.
    port = BASE.rsplit(":", 1)[1]
    env = dict(os.environ, APIFETCH_CONFIG_CHILD="1", APIFETCH_CONFIG=json.dumps({
        "allow_hosts": [f"127.0.0.1:{port}"], "max_requests": 50,
        # A profile's ${env:NAME} is checked against the allow_env given with it.
        "allow_env": ["APIFETCH_TEST_TOKEN"],
        "lock": True,
        "profiles": {"loop": {"base_url": BASE + "/", "max_attempts": 1,
                              "headers": {"X-K": "${env:APIFETCH_TEST_TOKEN}"}}}}))
    r = subprocess.run([sys.executable, __file__, BASE], env=env, capture_output=True, text=True)
    sys.stdout.write(r.stdout + r.stderr)
    check(r.returncode == 0, "child with APIFETCH_CONFIG")

    # A bad APIFETCH_CONFIG fails the load, and nothing stays registered.
    bad = dict(os.environ, APIFETCH_CONFIG='{"bogus": 1}')
    r = subprocess.run(["sqlite3", ":memory:"], input=".load ./apifetch\n"
                       "SELECT api_fetch_version();\nSELECT 'still here';\n",
                       env=bad, cwd=ROOT, capture_output=True, text=True)
    out = r.stdout + r.stderr
    check("APIFETCH_CONFIG: api_fetch_config: unknown setting \"bogus\"" in out,
          "bad APIFETCH_CONFIG: the load fails naming it")
    check("no such function: api_fetch_version" in out and "still here" in out,
          f"bad APIFETCH_CONFIG: nothing registered, no crash (exit {r.returncode})")
    finish()

# In the child: 12 connections in 6 threads, each using the host's profile.
errors, results = [], []


def worker():
    try:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.enable_load_extension(True)
        conn.load_extension(os.path.join(ROOT, "apifetch"))
        conn.load_extension(os.path.join(ROOT, "apifetch"))    # twice: nothing lost
        conn.enable_load_extension(False)
        for _ in range(2):
            results.append(conn.execute(
                "SELECT data ->> '$.headers.x-k' = ? FROM api_fetch('[\"echo\"]', 1, "
                "'{\"profile\": \"loop\"}')", (os.environ["APIFETCH_TEST_TOKEN"],)).fetchone()[0])
        cfg = json.loads(conn.execute("SELECT api_fetch_config()").fetchone()[0])
        results.append(cfg["lock"] is True and cfg["profiles"] == ["loop"])
        conn.close()
    except Exception as e:      # noqa: BLE001 - reported below
        errors.append(repr(e))


threads = [threading.Thread(target=worker) for _ in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
check(not errors, f"pooled connections: no errors {errors[:2]}")
check(len(results) == 18 and all(results), f"profile from APIFETCH_CONFIG on every connection: {results}")
finish()
