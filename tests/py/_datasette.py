"""The real Datasette, as the Datasette tests share it (not a test itself):
tests/py/datasette.py (the plugin from source, in `make test`) and
tests/pkg/datasette.py (the plugin from the built wheels) both import it.

Datasette 0.64.8 is vendored beside the repository (../shared/vendor, see
its README.md) and run with Debian's Python packages, the vendored source on
PYTHONPATH: it is not installed as a package here, so a test runs
`PYTHON -m datasette ARGS`, PYTHON being a venv's that holds the plugin.

    from _datasette import Datasette, vendor_missing, ...
"""
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENDOR = os.path.normpath(os.path.join(ROOT, "..", "shared", "vendor"))
DATASETTE_SRC = os.path.join(VENDOR, "datasette-0.64.8")
ASGI_CSRF_SRC = os.path.join(VENDOR, "asgi-csrf-0.10")
PYTHONPATH = f"{DATASETTE_SRC}:{ASGI_CSRF_SRC}"
PLUGIN = "datasette-apifetch"


def vendor_missing():
    """Why the vendored Datasette cannot be used, or None."""
    for d in (DATASETTE_SRC, ASGI_CSRF_SRC):
        if not os.path.isdir(d):
            return (f"the vendored Datasette is missing: {d} (see ../shared/vendor/README.md); "
                    "this test runs the real Datasette and cannot run without it")
    return None


def loopback_stats(base):
    with urllib.request.urlopen(base + "/stats", timeout=10) as r:
        return json.loads(r.read())


def loopback_reset(base):
    urllib.request.urlopen(base + "/stats/reset", timeout=10).read()


class Datasette:
    """A Datasette process on a free 127.0.0.1 port.  env: the environment
    to run it in (the vendored source is put on its PYTHONPATH)."""

    def __init__(self, python, args, cwd, name, env):
        self.log = os.path.join(cwd, f"datasette-{name}.log")
        env = dict(env, PYTHONPATH=PYTHONPATH)
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([python, "-m", "datasette"] + args, cwd=cwd, env=env,
                                         stdout=log, stderr=subprocess.STDOUT)
        self.port = None
        deadline = time.time() + 60
        while time.time() < deadline:
            m = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", self.output())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)

    def output(self):
        with open(self.log) as f:
            return f.read()

    def get(self, path, **params):
        """(status, body text) of a GET."""
        url = f"http://127.0.0.1:{self.port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def sql(self, sql, db="_memory"):
        """(status, JSON) of a query through the JSON API."""
        status, body = self.get(f"/{db}.json", sql=sql, _shape="array")
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    def one(self, sql, db="_memory"):
        """The first value of the first row, or the error."""
        status, data = self.sql(sql, db)
        if isinstance(data, list) and data:
            return next(iter(data[0].values()))
        return data.get("error") if isinstance(data, dict) else data

    def started(self, check, what):
        """check()s that it started; True if it did."""
        check(self.port is not None, f"{what}: Datasette started" +
              ("" if self.port else ":\n" + self.output()[-3000:]))
        return self.port is not None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def write_config(path, plugin_config):
    """A metadata.json with the plugin's configuration."""
    with open(path, "w") as f:
        json.dump({"plugins": {PLUGIN: plugin_config}}, f)


def check_refused_at_start(check, ds, bad, says):
    """A bad configuration stops Datasette at start with one line,
    Datasette's "Error: ...": it was the end of a traceback of hundreds of
    lines, wrapped at 80 columns."""
    out = ds.output().strip()
    check(ds.port is None and ds.proc.poll() not in (None, 0)
          and len(out.splitlines()) == 1 and out.startswith("Error: " + says),
          f"bad configuration {json.dumps(bad)}: Datasette does not start, saying why in "
          f"one line: {out[:300] if len(out.splitlines()) == 1 else out[-300:]} "
          f"({len(out.splitlines())} lines)")


# A stored wide table of 3 URLs and 5 columns in a database file, made by a
# Python that can import apifetch: python -c WIDE_DB FILE URL_1 URL_2 URL_3
# prints its row count.
WIDE_DB = r'''
import sqlite3, sys, apifetch
conn = sqlite3.connect(sys.argv[1])
apifetch.load(conn)
urls = ", ".join(f'"{url}"' for url in sys.argv[2:])
conn.execute(f"""CREATE VIRTUAL TABLE posts USING api_fetch(url_list='[{urls}]',
                 columns='id INTEGER, title TEXT, done INTEGER, tags JSON, author_name TEXT')""")
conn.commit()
print(conn.execute("SELECT count(*) FROM posts").fetchone()[0])
'''


def make_wide_db(check, python, cwd, env, name, urls):
    """name (in cwd): a stored wide table over urls."""
    r = subprocess.run([python, "-c", WIDE_DB, name] + urls, cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=60)
    ok = r.stdout.strip() == str(len(urls))
    check(ok, f"{name}: a stored wide table of {len(urls)} URLs, 5 columns "
          f"{(r.stdout + r.stderr).strip()[-300:]}")
    return ok
