#!/usr/bin/python3
"""The Datasette plugin in the real Datasette, from source, in `make test`:
python/apifetch (with the freshly built ./apifetch.so) and
python/datasette-apifetch installed by pip into a venv in a temp folder
(--system-site-packages, so Debian's packages that Datasette needs stay
visible; --no-index --no-build-isolation: offline, Debian's setuptools).
No `make dist`, no root, no system install; tests/pkg/datasette.py tests the
built wheels as users install them.

1. The plugin's core promises, over HTTP: a profile from the configuration
   fetches; a host outside allow_hosts is refused with a clear message; the
   connection is locked (settings, profiles, SQL load_extension()); Datasette's
   time limit interrupts a query, its transfers cancelled.
2. A page view is bounded by default: a stored wide table of 3 URLs, with no
   cache configured, fetches each URL once per page view (the plugin's own
   cache, removed when Datasette exits); with "cache": null, for contrast,
   every read of the table fetches.
3. A bad setting stops Datasette at start with one line.

Where ../shared/vendor (the vendored Datasette) is missing, or the venv
cannot be made, it says why and exits 77 (skipped).

    /usr/bin/python3 tests/py/datasette.py BASE_URL      (run by tests/run.py)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from _common import BASE, ROOT, check, finish
from _datasette import (Datasette, check_refused_at_start, loopback_reset, loopback_stats,
                        make_wide_db, vendor_missing, write_config)

LOOPBACK = BASE.split("//", 1)[1]


def skip(why):
    print(f"skipped: {why}")
    sys.exit(77)


why = vendor_missing()
if why:
    skip(why)
# Datasette's own environment: the extension as built (a SANITIZE=1 run
# keeps its runtime preloaded), nothing from the caller's Python setup.
ENV = {k: v for k, v in os.environ.items()
       if k not in ("PYTHONPATH", "VIRTUAL_ENV", "APIFETCH_CONFIG", "PIP_FIND_LINKS",
                    "PIP_INDEX_URL", "PIP_NO_INDEX")}


def install_plugin(home):
    """A venv in home with both packages from source; its python."""
    venv = os.path.join(home, "venv")
    r = subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv],
                       capture_output=True, text=True)
    if r.returncode != 0:
        skip(f"cannot make a venv (python3-venv, in `make deps`): {(r.stdout + r.stderr)[-300:]}")
    # Copies: pip builds in the source folder, which may be read-only.
    src = os.path.join(home, "src")
    for pkg in ("apifetch", "datasette-apifetch"):
        shutil.copytree(os.path.join(ROOT, "python", pkg), os.path.join(src, pkg),
                        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    libs = os.path.join(home, "libs")          # none: ./apifetch.so links the system's libcjson
    os.mkdir(libs)
    with open(os.path.join(ROOT, "VERSION")) as f:
        version = f.read().strip()
    # --no-deps: Datasette is the vendored source on PYTHONPATH, which pip
    # cannot see; apifetch is the other folder of this same command.
    r = subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "--no-index",
                        "--no-build-isolation", "--no-deps", os.path.join(src, "apifetch"),
                        os.path.join(src, "datasette-apifetch")], cwd=home,
                       env=dict(ENV, APIFETCH_VERSION=version,
                                APIFETCH_SO=os.path.join(ROOT, "apifetch.so"),
                                APIFETCH_LIBS=libs, PIP_DISABLE_PIP_VERSION_CHECK="1"),
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, "pip install of python/apifetch and python/datasette-apifetch "
          f"from source into a venv {(r.stdout + r.stderr).strip()[-500:]}")
    return os.path.join(venv, "bin", "python")


home = tempfile.mkdtemp(prefix="apifetch-datasette-")
servers = []


def datasette(args, name):
    ds = Datasette(python, args, home, name, ENV)
    servers.append(ds)
    return ds


try:
    python = install_plugin(home)
    conf = {"allow_hosts": [LOOPBACK], "block_private": False, "max_requests": 200,
            "profiles": {"local": {"base_url": BASE + "/", "max_attempts": 2}}}
    write_config(os.path.join(home, "metadata.json"), conf)
    write_config(os.path.join(home, "nocache.json"), dict(conf, defaults={"cache": None}))
    urls = [f"{BASE}/cache?id={i}&key=c{i}" for i in (1, 2, 3)]
    make_wide_db(check, python, home, ENV, "wide.db", urls)

    # 1. The core promises.
    ds = datasette(["--memory", "wide.db", "-m", "metadata.json", "-p", "0",
                    "--setting", "sql_time_limit_ms", "1000"], "main")
    if ds.started(check, "the plugin from source"):
        status, body = ds.get("/-/plugins.json")
        check('"datasette-apifetch"' in body and '"prepare_connection"' in body,
              f"/-/plugins lists datasette-apifetch: {body[:200]}")
        status, data = ds.sql("SELECT data ->> 'title' AS title FROM api_fetch("
                              "'[\"obj?id=1\", \"obj?id=2\"]', 2, '{\"profile\": \"local\"}') "
                              "ORDER BY url_index")
        check(data == [{"title": "post 1"}, {"title": "post 2"}],
              f"a profile from the configuration fetches: {status} {str(data)[:200]}")
        err = ds.one("SELECT error FROM api_fetch('[\"http://example.com/\"]')")
        check(err == "refused by allow_hosts: example.com:80 is not allowed (http://example.com/)",
              f"a host outside allow_hosts is refused, saying why: {err}")
        config = json.loads(ds.one("SELECT api_fetch_config()"))
        check(config["lock"] is True and config["profiles"] == ["local"]
              and config["allow_hosts"] == [LOOPBACK], f"api_fetch_config(), locked: {config}")
        for sql in ("""SELECT api_fetch_config('{"allow_hosts": null}')""",
                    """SELECT api_fetch_profile('local', '{"base_url": "http://example.com/"}')"""):
            err = ds.one(sql)
            check("locked" in str(err), f"{sql[7:50]}...: {err}")
        err = ds.one("SELECT load_extension('libcurl.so.4', 'curl_version')")
        check(err == "not authorized", f"SQL load_extension() is off: {err}")
        loopback_reset(BASE)
        t0 = time.time()
        status, body = ds.get("/_memory", sql="SELECT count(*) FROM api_fetch('[\"obj?delay=5000\", "
                              "\"obj?delay=5000&id=2\"]', 2, '{\"profile\": \"local\"}')")
        secs = time.time() - t0
        check(status == 400 and "<h1>SQL Interrupted</h1>" in body and secs < 4.5,
              f"Datasette's time limit (1 s) interrupts a query waiting 5 s: {status} "
              f"after {secs:.1f} s")
        time.sleep(0.3)
        check(loopback_stats(BASE)["inflight"] == 0, "... its transfers were cancelled "
              f"(in flight: {loopback_stats(BASE)['inflight']})")

        # 2. A page view, no cache configured: the plugin's own.
        own = config.get("cache") or ""
        check(os.path.basename(own) == "cache.db" and os.path.isdir(os.path.dirname(own))
              and os.stat(os.path.dirname(own)).st_mode & 0o077 == 0,
              f"no cache configured: the plugin's own cache file, in a private folder: {own}")
        for path in ("/wide/posts", "/wide/posts.json"):
            loopback_reset(BASE)
            status, body = ds.get(path)
            stats = loopback_stats(BASE)
            check(status == 200 and "post 3" in body
                  and stats["keys"] in ({"c1": 1, "c2": 1, "c3": 1}, {}),
                  f"no cache configured: GET {path}: {stats['requests']} HTTP requests "
                  f"(per URL {json.dumps(stats['keys'], sort_keys=True)}; at most one each)")
        ds.stop()
        check(own and not os.path.exists(os.path.dirname(own)),
              f"the plugin's own cache is removed when Datasette exits: {own}")

    # ... and without a cache, by name, for contrast.
    ds = datasette(["wide.db", "-m", "nocache.json", "-p", "0"], "nocache")
    if ds.started(check, '"defaults": {"cache": null}'):
        loopback_reset(BASE)
        status, body = ds.get("/wide/posts")
        stats = loopback_stats(BASE)
        check(status == 200 and "post 3" in body and stats["keys"].get("c1", 0) > 1,
              f'"defaults": {{"cache": null}}: GET /wide/posts: {stats["requests"]} HTTP '
              f"requests (per URL {json.dumps(stats['keys'], sort_keys=True)}): every read "
              "fetches")
        ds.stop()

    # 3. A bad setting stops Datasette at start, in one line.
    for bad, says in (({"allow_host": ["x"]}, "datasette-apifetch: unknown setting 'allow_host'"),
                      ({"max_requests": "lots"},
                       "datasette-apifetch: api_fetch_config: max_requests")):
        write_config(os.path.join(home, "bad.json"), bad)
        ds = datasette(["--memory", "-p", "0", "-m", "bad.json"], "bad")
        check_refused_at_start(check, ds, bad, says)
finally:
    for s in servers:
        if s.proc.poll() is None:
            s.stop()
    shutil.rmtree(home, ignore_errors=True)

finish()
