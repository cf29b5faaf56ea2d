#!/usr/bin/python3
"""The module loads under any file name, with no entry point given.

sqlite3_load_extension() without an entry point first tries
sqlite3_extension_init, then sqlite3_X_init with X the letters of the file
name after "lib": for the .deb's libsqlite3_mod_apifetch.so that is
sqlite3_sqlitemodapifetch_init, which no module exports.  So the module
exports sqlite3_extension_init as well as sqlite3_apifetch_init, and hosts
that take a path (the sqlite3 shell, Python, Datasette, better-sqlite3) load
it whatever it is called.  Tried here on copies of ./apifetch.so named as
the .deb names it and as nobody would, from the shell and Python's sqlite3,
and by both entry points named explicitly.

    /usr/bin/python3 tests/py/load_names.py BASE_URL     (run by tests/run.py)
"""
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile

from _common import BASE, ROOT, check, finish

NAMES = ["libsqlite3_mod_apifetch.so", "foo.so", "apifetch-0.2.0.so"]
URLS = json.dumps([BASE + "/array?n=3"])
QUERY = f"SELECT count(*) FROM api_fetch('{URLS}');"

exports = subprocess.run(["nm", "-D", "--defined-only", os.path.join(ROOT, "apifetch.so")],
                         capture_output=True, text=True).stdout.split()
check("sqlite3_extension_init" in exports and "sqlite3_apifetch_init" in exports,
      "apifetch.so exports sqlite3_extension_init and sqlite3_apifetch_init")

with tempfile.TemporaryDirectory(prefix="apifetch-names-") as d:
    for name in NAMES:
        path = os.path.join(d, name)
        shutil.copyfile(os.path.join(ROOT, "apifetch.so"), path)
        # The shell, as a user types it: the full name, and without ".so".
        for arg in (path, path[:-3]):
            r = subprocess.run(["sqlite3", ":memory:", f".load {arg}", QUERY], cwd=d,
                               capture_output=True, text=True, timeout=60)
            out = (r.stdout + r.stderr).strip()
            check(out == "3", f"sqlite3 shell: .load {os.path.basename(arg)}: {out[-300:]}")
        conn = sqlite3.connect(":memory:")
        conn.enable_load_extension(True)
        try:
            conn.load_extension(path)
            got = conn.execute(QUERY).fetchone()[0]
        except sqlite3.Error as e:
            got = str(e)
        check(got == 3, f"Python sqlite3: load_extension({name!r}): {got}")

    # Named explicitly, either entry point registers the same surface as
    # ./apifetch loaded the usual way.
    SURFACE = ("SELECT group_concat(name, ' ') FROM (SELECT DISTINCT name FROM pragma_function_list"
               " WHERE name LIKE 'api_fetch%' ORDER BY name);")
    usual = subprocess.run(["sqlite3", ":memory:", ".load ./apifetch", SURFACE], cwd=ROOT,
                           capture_output=True, text=True, timeout=60).stdout.strip()
    path = os.path.join(d, "foo.so")
    for entry in ("sqlite3_apifetch_init", "sqlite3_extension_init"):
        r = subprocess.run(["sqlite3", ":memory:", f".load {path} {entry}", SURFACE, QUERY],
                           cwd=d, capture_output=True, text=True, timeout=60)
        out = (r.stdout + r.stderr).strip().split("\n")
        check(usual.startswith("api_fetch") and out == [usual, "3"],
              f".load foo.so {entry}: the functions of .load ./apifetch ({usual}), a fetch: {out}")

finish()
