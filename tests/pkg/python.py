#!/usr/bin/python3
"""The Python package, as a user installs it: the wheel from dist/ into a
fresh venv (/usr/bin/python3 -m venv --system-site-packages) with pip, from
the file, then apifetch.load() and fetches from the loopback server.

1. The wheels: the tag, the version, where the project lives (Project-URL
   of both wheels, as pip show and PyPI show them).
2. docs/install.md's examples python-install, python and python-create
   (doctests).
3. What the doctest does not show: load() with no settings, loading twice
   keeps profiles and limits, SQL load_extension() is off afterwards, a bad
   setting raises with api_fetch_config's message and leaves the
   connection fetching nothing, locked; a config that is not a dict is
   refused before loading; loadable_path() and __version__.

    /usr/bin/python3 tests/pkg/python.py BASE_URL      (run by tests/run.py)
"""
import json
import os
import subprocess
import zipfile

from _pkg import (BASE, LOOPBACK, VERSION, build_id, check, clean_env, examples, finish,
                  make_venv, remove_tree, run_pycon, scratch, wheel_files)

wheel, plugin = wheel_files()
for w in (wheel, plugin):
    with zipfile.ZipFile(w) as z:
        metadata = z.read(next(n for n in z.namelist()
                               if n.endswith(".dist-info/METADATA"))).decode()
    urls = [l for l in metadata.splitlines() if l.startswith("Project-URL: ")]
    check("Project-URL: Source, https://github.com/apifetch/apifetch" in urls
          and any(u.startswith("Project-URL: Documentation, ") for u in urls),
          f"{os.path.basename(w)}: Project-URL: {urls}")
with zipfile.ZipFile(wheel) as z:
    meta = z.read(f"apifetch-{VERSION}.dist-info/WHEEL").decode()
    names = z.namelist()
check("Tag: py3-none-linux_" in meta and "Root-Is-Purelib: false" in meta,
      f"{os.path.basename(wheel)}: tagged for this platform, not manylinux "
      f"({[l for l in meta.splitlines() if l.startswith('Tag')]})")
check("apifetch/apifetch.so" in names and "apifetch/_version.py" in names,
      "holds the module and the version")

home = scratch("python")
try:
    python = make_venv(home)
    run_pycon("python", examples()["python"][1], python, cwd=home)
    run_pycon("python-create", examples()["python-create"][1], python, cwd=home)

    probe = r'''
import json, sqlite3, sys
import apifetch
base = sys.argv[1]
out = {"version": apifetch.__version__, "path": apifetch.loadable_path()}
conn = sqlite3.connect(":memory:")
apifetch.load(conn)
out["sql_version"] = conn.execute("SELECT api_fetch_version()").fetchone()[0]
out["config"] = json.loads(conn.execute("SELECT api_fetch_config()").fetchone()[0])
out["rows"] = conn.execute("SELECT count(*) FROM api_fetch(?)",
                           (json.dumps([base + "/array?n=5"]),)).fetchone()[0]
try:
    conn.execute("SELECT load_extension('libcurl.so.4', 'curl_version')").fetchone()
    out["load_extension"] = "allowed"
except sqlite3.OperationalError as e:
    out["load_extension"] = str(e)

# Loading a second time keeps profiles and limits (the C contract).
conn = sqlite3.connect(":memory:")
apifetch.load(conn, config={"max_requests": 7, "lock": True},
              profiles={"p": {"base_url": base + "/"}})
apifetch.load(conn)
out["second"] = json.loads(conn.execute("SELECT api_fetch_config()").fetchone()[0])
out["second_rows"] = conn.execute("""SELECT data ->> 'id' FROM api_fetch('["obj?id=42"]', 1,
                                     '{"profile": "p"}')""").fetchone()[0]
conn = sqlite3.connect(":memory:")
try:
    apifetch.load(conn, config={"max_requests": "lots"})
    out["bad"] = "accepted"
except sqlite3.OperationalError as e:
    out["bad"] = str(e)
# What the failed load() left: apifetch, but fetching nothing, locked.
out["bad_config"] = json.loads(conn.execute("SELECT api_fetch_config()").fetchone()[0])
try:
    conn.execute("SELECT count(*) FROM api_fetch(?)", (json.dumps([base + "/obj"]),)).fetchone()
    out["bad_fetch"] = "fetched"
except sqlite3.OperationalError as e:
    out["bad_fetch"] = str(e)
# Settings that cannot even be sent: the same.
conn = sqlite3.connect(":memory:")
try:
    apifetch.load(conn, config={"max_requests": 5, "allow_hosts": {"127.0.0.1"}})
    out["unsendable"] = "accepted"
except TypeError as e:
    out["unsendable"] = json.loads(conn.execute("SELECT api_fetch_config()").fetchone()[0])
# A config that is not a dict: refused before anything is loaded.
conn = sqlite3.connect(":memory:")
try:
    apifetch.load(conn, config=[("allow_hosts", ["127.0.0.1"])])
    out["not_dict"] = "accepted"
except TypeError as e:
    out["not_dict"] = str(e)
try:
    conn.execute("SELECT api_fetch_version()")
    out["not_dict_loaded"] = True
except sqlite3.OperationalError:
    out["not_dict_loaded"] = False
print(json.dumps(out))
'''
    r = subprocess.run([python, "-c", probe, BASE], cwd=home, env=clean_env(),
                       capture_output=True, text=True, timeout=120)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        out = {}
        check(False, f"the probe ran: {r.stdout[-1500:]}{r.stderr[-1500:]}")
    if out:
        check(out["version"] == VERSION, f"apifetch.__version__ is VERSION: {out['version']}")
        check(out["path"].startswith(home) and out["path"].endswith("/apifetch/apifetch.so")
              and os.path.exists(out["path"]),
              f"loadable_path() is the module in the venv: {out['path']}")
        check(out["sql_version"].startswith(f"apifetch {build_id()}, libcurl "),
              f"api_fetch_version(): {out['sql_version']}")
        check(out["config"]["lock"] is False and out["config"]["allow_hosts"] is None,
              "load(conn) with no settings leaves the defaults, unlocked")
        check(out["rows"] == 5, f"a fetch from the loopback server: {out['rows']} rows")
        check(out["load_extension"] == "not authorized",
              f"SQL load_extension() is off after load(): {out['load_extension']!r}")
        check(out["second"].get("max_requests") == 7 and out["second"].get("lock") is True
              and out["second"].get("profiles") == ["p"] and out["second_rows"] == 42,
              f"loading twice keeps limits and profiles: {out['second']}, profile row "
              f"{out['second_rows']}")
        check(out["bad"].startswith("api_fetch_config: max_requests must be"),
              f"a bad setting raises api_fetch_config's error: {out['bad']!r}")
        bad = out["bad_config"]
        check(bad["disabled"] is True and bad["lock"] is True
              and out["bad_fetch"].startswith("api_fetch: fetching is disabled"),
              f"... and leaves the connection fetching nothing, locked: {bad}; "
              f"a fetch: {out['bad_fetch']!r}")
        un = out["unsendable"]
        check(isinstance(un, dict) and un.get("disabled") is True and un.get("lock") is True,
              f"settings json cannot encode (a set): TypeError, fetching off, locked: {un}")
        check(out["not_dict"] == "apifetch.load: config must be a dict or None, not list"
              and out["not_dict_loaded"] is False,
              f"a config that is not a dict: TypeError before loading: {out['not_dict']!r}, "
              f"loaded: {out['not_dict_loaded']}")
finally:
    remove_tree(home)

finish()
