#!/usr/bin/python3
"""The Datasette plugin in the real Datasette (0.64.8, from ../shared/vendor
beside the repository, run with Debian's Python packages as its README
says), over HTTP:

1. The two wheels from dist/ into a fresh venv with pip (docs/install.md:
   python-install, datasette-install), and into another with `datasette
   install dist/*.whl` (datasette-install-files).
2. The docs' instance (datasette-metadata, datasette-run), and its
   datasette-queries example, curl for curl: a profile from the
   configuration, a disallowed host refused with a clear message, SQL
   load_extension() refused, and Datasette's own "SQL Interrupted" page for
   a query stopped by its time limit.
3. Pooled connections: many queries at once on 6 SQL threads, each using the
   configuration's profile; all answer, several at the same moment; limits
   and profiles locked on each.
4. Safe by default: no configuration, and Datasette's --load-extension
   switching SQL load_extension() on: nothing may be fetched, private
   addresses blocked, locked, load_extension() off.  UNSAFE_allow_any_host
   (the docs' datasette-unsafe): any host, private ones still blocked.
   A bad configuration stops Datasette at start with the plugin's message,
   one line (Datasette's "Error: ..."), not a traceback.
5. A wide table stored in a database file, its page view: how many HTTP
   requests it makes with no cache configured (the plugin's own: at most one
   per URL), and with "defaults": {"cache": null}: default settings,
   suggest_facets off, ?_nocount=1&_nosuggest=1 (the numbers docs/install.md
   gives).
6. A default cache in the configuration (the docs' datasette-cache: the
   plugin's defaults, cache_mode ttl): a stored wide table over 3 URLs that
   send no caching headers, its page views (HTML and .json) fetch each URL
   once, and none after a restart (the cache is a file); one page view
   with "cache": null for contrast (printed); a query naming another cache
   file is refused on the locked connections.  A defaults that is not an
   object, a bad option in it, or a cache file that cannot be opened stops
   Datasette at start (4c).

The docs say `datasette ARGS`; Datasette is not installed as a package
here, so the test runs `VENV/bin/python -m datasette ARGS` with the
vendored source on PYTHONPATH, on port 0 (a free port) instead of 8001.

    /usr/bin/python3 tests/pkg/datasette.py BASE_URL      (run by tests/run.py)
"""
import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import threading
import time

from _pkg import (BASE, LOOPBACK, ROOT, VERSION, build_id, check, clean_env, examples, fatal,
                  finish, localise, make_venv, remove_tree, run_console, scratch, wheel_files)

sys.path.insert(0, os.path.join(ROOT, "tests", "py"))
from _datasette import (PYTHONPATH, Datasette as DatasetteIn,  # noqa: E402 (the path first)
                        check_refused_at_start, loopback_reset as _reset, loopback_stats as _stats,
                        make_wide_db, vendor_missing)

why = vendor_missing()
if why:
    fatal(why)


def loopback_stats():
    return _stats(BASE)


def loopback_reset():
    _reset(BASE)


def Datasette(python, args, cwd, name):
    """A Datasette process, without the sanitizer runtime (clean_env)."""
    return DatasetteIn(python, args, cwd, name, clean_env())


def started(ds, what):
    return ds.started(check, what)


ex = examples()
home = scratch("datasette")
servers = []
try:
    # 1. The packages, as the docs install them.
    wheel_files()
    python = make_venv(home)
    run_console("datasette-install", ex["datasette-install"][1], home)
    # datasette install, as the docs give it, into another venv: Datasette
    # runs pip in its own environment with the wheel files named.
    other = os.path.join(home, "other-venv")
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", other],
                   check=True)
    other_python = os.path.join(other, "bin", "python")
    run_console("datasette-install-files", ex["datasette-install-files"][1], home,
                env=clean_env(PYTHONPATH=PYTHONPATH, PIP_NO_INDEX="1"),
                replace=[("$ datasette ", f"$ {other_python} -m datasette ")])
    r = subprocess.run([other_python, "-c", "import apifetch, datasette_apifetch; "
                        "print(apifetch.__version__)"], cwd=home,
                       env=clean_env(PYTHONPATH=PYTHONPATH),
                       capture_output=True, text=True)
    check(r.stdout.strip() == VERSION, "datasette install dist/*.whl: both packages in "
          f"Datasette's environment ({(r.stdout + r.stderr).strip()[-300:]})")

    # 2. The docs' instance and its queries.
    with open(os.path.join(home, "metadata.json"), "w") as f:
        f.write(localise(ex["datasette-metadata"][1]))
    argv = shlex.split(ex["datasette-run"][1].strip()[2:])
    check(argv[0] == "datasette" and "-p" in argv, f"docs datasette-run: {' '.join(argv)}")
    args = argv[1:]
    args[args.index("-p") + 1] = "0"
    docs_ds = Datasette(python, args, home, "docs")
    servers.append(docs_ds)
    if started(docs_ds, "the docs' instance"):
        run_console("datasette-queries", ex["datasette-queries"][1], home,
                    replace=[("127.0.0.1:8001", f"127.0.0.1:{docs_ds.port}")])
        status, body = docs_ds.get("/-/plugins.json")
        check('"datasette-apifetch"' in body and '"prepare_connection"' in body,
              f"/-/plugins lists datasette-apifetch: {body[:200]}")
        # The time limit on the JSON API too, and nothing left in flight.
        loopback_reset()
        t0 = time.time()
        status, data = docs_ds.sql("SELECT count(*) FROM api_fetch('[\"obj?delay=8000\", "
                                   "\"obj?delay=8000&id=2\"]', 2, '{\"profile\": \"local\"}')")
        secs = time.time() - t0
        check(status == 400 and isinstance(data, dict) and data.get("title") == "SQL Interrupted",
              f"time limit, JSON API: {status} {str(data)[:200]} after {secs:.1f} s")
        time.sleep(0.3)
        check(loopback_stats()["inflight"] == 0, "time limit: the stopped query's transfers "
              f"were cancelled (in flight: {loopback_stats()['inflight']})")
        config = json.loads(docs_ds.one("SELECT api_fetch_config()"))
        check(config["lock"] is True and config["profiles"] == ["local"]
              and config["allow_hosts"] == [LOOPBACK] and config["max_requests"] == 200
              and config["max_total_bytes"] == 50000000 and config["allow_env"] == []
              and config["max_concurrency"] == 20,
              f"api_fetch_config(): the configuration over the defaults, locked: {config}")
        for sql in ("""SELECT api_fetch_config('{"allow_hosts": null}')""",
                    """SELECT api_fetch_profile('local', '{"base_url": "http://example.com/"}')"""):
            err = docs_ds.one(sql)
            check("locked" in str(err), f"{sql[7:50]}...: {err}")

    # 3. Many pooled connections, each with the profile.
    pool = Datasette(python, args + ["--setting", "num_sql_threads", "6"], home, "pool")
    servers.append(pool)
    if started(pool, "6 SQL threads"):
        loopback_reset()
        answers = {}

        def ask(k):
            answers[k] = pool.sql(
                "SELECT data ->> 'id' AS id FROM api_fetch("
                f"'[\"obj?id={k}&delay=400\"]', 1, '{{\"profile\": \"local\"}}')")

        threads = [threading.Thread(target=ask, args=(k,)) for k in range(24)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        secs = time.time() - t0
        good = [k for k, (status, data) in answers.items()
                if status == 200 and data == [{"id": k}]]
        stats = loopback_stats()
        check(len(good) == 24, f"24 queries at once, each with the configuration's profile: "
              f"{len(good)}/24 answered right in {secs:.1f} s "
              + ("" if len(good) == 24 else str([answers.get(k) for k in range(24)
                                                 if k not in good][:3])))
        check(stats["max_inflight"] >= 4, f"... on several pooled connections at once "
              f"(the server saw {stats['max_inflight']} requests in flight together)")

    # 4a. No configuration: safe by default, even with --load-extension.
    wheel_path = subprocess.run([python, "-c", "import apifetch; print(apifetch.loadable_path())"],
                                cwd=home, env=clean_env(), capture_output=True,
                                text=True).stdout.strip()
    bare = Datasette(python, ["--memory", "-p", "0", f"--load-extension={wheel_path}"], home, "bare")
    servers.append(bare)
    if started(bare, "no configuration, --load-extension"):
        config = json.loads(bare.one("SELECT api_fetch_config()"))
        check(config["allow_hosts"] == [] and config["block_private"] is True
              and config["lock"] is True and config["allow_env"] == [],
              f"no configuration: no host, private addresses blocked, locked: {config}")
        err = bare.one(f"SELECT error FROM api_fetch('[\"{BASE}/obj\"]')")
        check(str(err).startswith("refused by"), f"no configuration: the loopback server is refused: {err}")
        err = bare.one("SELECT error FROM api_fetch('[\"https://example.com/\"]')")
        check(str(err).startswith("refused by allow_hosts"), f"no configuration: a public host is refused: {err}")
        err = bare.one("SELECT load_extension('libcurl.so.4', 'curl_version')")
        check(err == "not authorized", f"load_extension() off although --load-extension "
              f"switched it on: {err}")
        check(bare.one("SELECT api_fetch_version()").startswith(f"apifetch {build_id()},"),
              "loaded twice (--load-extension, then the plugin): one working module")

    # 4b. UNSAFE_allow_any_host, as the docs give it.
    with open(os.path.join(home, "unsafe.json"), "w") as f:
        f.write(localise(ex["datasette-unsafe"][1]))
    unsafe = Datasette(python, ["--memory", "-p", "0", "-m", "unsafe.json"], home, "unsafe")
    servers.append(unsafe)
    if started(unsafe, "UNSAFE_allow_any_host"):
        config = json.loads(unsafe.one("SELECT api_fetch_config()"))
        check(config["allow_hosts"] is None and config["block_private"] is True and config["lock"],
              f"UNSAFE_allow_any_host: any host, private addresses still blocked: {config}")
        err = unsafe.one(f"SELECT error FROM api_fetch('[\"{BASE}/obj\"]')")
        check(str(err).startswith("refused by block_private"), f"... the loopback server: {err}")

    # 4c. A bad configuration stops Datasette at start, saying why.
    for bad, says in (({"lock": False}, "datasette-apifetch: lock is not a setting"),
                      ({"max_requests": "lots"}, "datasette-apifetch: api_fetch_config: max_requests"),
                      ({"allow_host": ["x"]}, "datasette-apifetch: unknown setting 'allow_host'"),
                      # A null opened every host (allow_hosts) or passed as
                      # "not set"; 1 passed as true.  Each names the setting.
                      ({"allow_hosts": None}, "datasette-apifetch: allow_hosts is null; leave it "
                       "out for its default (every host is UNSAFE_allow_any_host: true)"),
                      ({"allow_env": None}, "datasette-apifetch: allow_env is null"),
                      ({"block_private": None}, "datasette-apifetch: block_private is null"),
                      ({"max_requests": None}, "datasette-apifetch: max_requests is null"),
                      ({"UNSAFE_allow_any_host": 1},
                       "datasette-apifetch: UNSAFE_allow_any_host must be true or false"),
                      ({"allow_hosts": "127.0.0.1"},
                       "datasette-apifetch: api_fetch_config: allow_hosts must be an array"),
                      ({"defaults": "ttl"}, "datasette-apifetch: defaults must be an object"),
                      ({"defaults": {"cache_mode": "sometimes"}},
                       "datasette-apifetch: api_fetch_config: defaults: api_fetch:"),
                      ({"defaults": {"cache": "/nonexistent/apifetch-cache.db"}},
                       "datasette-apifetch: defaults: api_fetch: cache")):
        with open(os.path.join(home, "bad.json"), "w") as f:
            json.dump({"plugins": {"datasette-apifetch": bad}}, f)
        ds = Datasette(python, ["--memory", "-p", "0", "-m", "bad.json"], home, "bad")
        servers.append(ds)
        check_refused_at_start(check, ds, bad, says)

    # 5. A stored wide table's page view, over /cache URLs that send no
    # caching header (key=wN counted per URL by the server): by default the
    # plugin's own short ttl cache fetches each URL at most once per page
    # view; with "defaults": {"cache": null}, every read of the table fetches.
    make_wide_db(check, python, home, clean_env(), "wide.db",
                 [f"{BASE}/cache?id={i}&key=w{i}" for i in (1, 2, 3)])
    nocache = json.loads(localise(ex["datasette-metadata"][1]))
    nocache["plugins"]["datasette-apifetch"]["defaults"] = {"cache": None}
    with open(os.path.join(home, "nocache.json"), "w") as f:
        json.dump(nocache, f)
    costs = {}
    for name, conf, extra in (("default", "metadata.json", []),
                              ("no cache", "nocache.json", []),
                              ("no cache, suggest_facets off", "nocache.json",
                               ["--setting", "suggest_facets", "off"])):
        ds = Datasette(python, ["wide.db", "-p", "0", "-m", conf] + extra, home, "wide")
        servers.append(ds)
        if not started(ds, f"wide.db, {name}"):
            continue
        for path in ("/wide", "/wide/posts", "/wide/posts.json", "/wide/posts?_nocount=1&_nosuggest=1"):
            loopback_reset()
            status, body = ds.get(path)
            keys = loopback_stats()["keys"]
            costs[(name, path)] = sum(keys.values())
            check(status == 200 and (path == "/wide" or "post 3" in body)
                  and (name != "default" or max(keys.values(), default=0) <= 1),
                  f"{name}: GET {path}: {status}, {costs[(name, path)]} HTTP requests"
                  + (" (at most one per URL)" if name == "default" else ""))
        ds.stop()
    print("page view costs (HTTP requests to the 3 URLs):",
          json.dumps({f"{k[0]} {k[1]}": v for k, v in costs.items()}))
    docs = open(os.path.join(ROOT, "docs", "install.md")).read()
    m = re.search(r"default settings \| [^|]* \| (\d+) \(", docs)
    documented = int(m.group(1)) if m else None
    uncached_cost = costs.get(("no cache", "/wide/posts"))
    # Facet suggestions each have a 50 ms time limit: on a loaded machine
    # one may be stopped before it has read the table, or part of it (a
    # read whose first row came before its third request was sent: 188 in
    # a CI run), never the other way.
    check(documented is not None and uncached_cost is not None
          and 6 < uncached_cost <= documented,
          f"no cache, default settings: {uncached_cost} requests per page view "
          f"(docs/install.md: {documented}, fewer only if a suggestion timed out)")
    check(costs.get(("no cache", "/wide"), 99) <= 3, "the database page: at most one read "
          "(its table count, which Datasette stops after 5 ms)")
    check(costs.get(("no cache, suggest_facets off", "/wide/posts")) == 6
          and costs.get(("no cache, suggest_facets off", "/wide/posts.json")) == 6,
          "no cache, suggest_facets off: 6 requests, the count and the rows (3 URLs each)")
    check(costs.get(("no cache", "/wide/posts?_nocount=1&_nosuggest=1")) == 3,
          "no cache, ?_nocount=1&_nosuggest=1: 3 requests, the rows")

    # 6. A default cache from the configuration (the docs' datasette-cache):
    # the same kind of stored wide table, over /cache URLs that send no
    # caching header at all, so that only cache_mode ttl makes them
    # cacheable; each URL carries key=cN, counted per URL by the server.
    cache_file = os.path.join(home, "apifetch-cache.db")
    cache_conf = localise(ex["datasette-cache"][1]).replace("/var/cache/datasette/apifetch.db",
                                                            cache_file)
    check(json.loads(cache_conf)["plugins"]["datasette-apifetch"]["defaults"]["cache_mode"]
          == "ttl", "docs datasette-cache: a ttl cache in the plugin's defaults")
    with open(os.path.join(home, "cache.json"), "w") as f:
        f.write(cache_conf)
    make_wide_db(check, python, home, clean_env(), "cached.db",
                 [f"{BASE}/cache?id={i}&key=c{i}" for i in (1, 2, 3)])
    views = ["/cached/posts"] * 3 + ["/cached/posts.json"] * 2
    # Without a cache, for contrast: every read of the table fetches.
    ds = Datasette(python, ["cached.db", "-p", "0", "-m", "nocache.json"], home, "nocache")
    servers.append(ds)
    uncached = None
    if started(ds, "cached.db, no cache"):
        loopback_reset()
        status, body = ds.get(views[0])
        uncached = loopback_stats()
        check(status == 200 and "post 3" in body and uncached["keys"].get("c1", 0) > 1,
              f"no cache: one page view, {uncached['requests']} HTTP requests "
              f"(per URL {json.dumps(uncached['keys'], sort_keys=True)})")
        ds.stop()
    for run in ("first start", "restarted"):
        ds = Datasette(python, ["cached.db", "-p", "0", "-m", "cache.json"], home, "cache")
        servers.append(ds)
        if not started(ds, f"cached.db, ttl cache, {run}"):
            continue
        loopback_reset()
        pages = [ds.get(path) for path in views]
        stats = loopback_stats()
        want = {"c1": 1, "c2": 1, "c3": 1} if run == "first start" else {}
        check(stats["keys"] == want and stats["requests"] == len(want),
              f"ttl cache, {run}: {len(views)} page views (HTML and .json), "
              f"{stats['requests']} HTTP requests (per URL {json.dumps(stats['keys'], sort_keys=True)}"
              f"; {'each URL once' if want else 'none: the cache file outlives the server'})")
        check(all(status == 200 and all(f"post {i}" in body for i in (1, 2, 3))
                  for status, body in pages),
              f"ttl cache, {run}: every page shows the 3 rows "
              f"({[status for status, _ in pages]})")
        rows = json.loads(pages[-1][1]).get("rows", []) if pages[-1][0] == 200 else []
        check(len(rows) == 3, f"ttl cache, {run}: posts.json has 3 rows: {str(rows)[:200]}")
        status, data = ds.sql("SELECT id, title, _cache FROM posts ORDER BY id", db="cached")
        check(status == 200 and data == [{"id": i, "title": f"post {i}", "_cache": "hit"}
                                         for i in (1, 2, 3)],
              f"ttl cache, {run}: the _cache column says hit: {str(data)[:300]}")
        if run == "restarted":
            config = json.loads(ds.one("SELECT api_fetch_config()", db="cached"))
            check(config["cache"] == cache_file and config["lock"] is True,
                  f"api_fetch_config() names the host's cache, locked: {config}")
            err = ds.one("SELECT count(*) FROM api_fetch_cache()", db="cached")
            check("locked" in str(err) and "not to be read or pruned" in str(err),
                  f"api_fetch_cache() is refused to Datasette's SQL: {err}")
            n = sqlite3.connect(cache_file).execute("SELECT count(*) FROM apifetch_cache") \
                .fetchone()[0]
            check(n == 3, f"the host reads its cache file: the 3 stored responses ({n})")
            other = os.path.join(home, "other-cache.db")
            err = ds.one(f"SELECT status FROM api_fetch('[\"{BASE}/cache?id=1\"]', 1, "
                         f"'{{\"cache\": \"{other}\"}}')", db="cached")
            check(str(err) == f'api_fetch: cache "{other}" is not allowed: the settings of '
                  "this connection are locked (the host names the cache in api_fetch_config's "
                  "defaults)" and not os.path.exists(other),
                  f"a query naming another cache file is refused, the file not made: {err}")
            # The host's policy too, as docs/install.md says (it said a
            # query could change it for itself); going without is allowed.
            install_md = " ".join(open(os.path.join(ROOT, "docs", "install.md")).read().split())
            for opts in ({"cache_ttl_ms": 1}, {"cache_mode": "refresh"}):
                key = next(iter(opts))
                err = ds.one(f"SELECT status FROM api_fetch('[\"{BASE}/cache?id=1&key=c1\"]', 1, "
                             f"'{json.dumps(opts)}')", db="cached")
                check(str(err) == f"api_fetch: {key} may not be set here: the settings of this "
                      "connection are locked, and the host's cache is used with the host's policy "
                      "(api_fetch_config's defaults)",
                      f"a query's {key} is refused on the locked connections: {err}")
                if key == "cache_ttl_ms":
                    check(f"`{err}`" in install_md and "may change the policy" not in install_md,
                          "docs/install.md quotes that refusal, and says nothing else")
            status, data = ds.sql(f"SELECT status, cache FROM api_fetch('[\"{BASE}/cache?id=1&"
                                  "key=c1\"]', 1, '{\"cache\": null}')", db="cached")
            check(data == [{"status": 200, "cache": None}],
                  f'a query may go without the cache ("cache": null): {data}')
            err = ds.one("""SELECT api_fetch_config('{"defaults": null}')""", db="cached")
            check("locked" in str(err), f"the defaults cannot be changed from SQL: {err}")
        ds.stop()
    print("page views with the ttl cache: HTTP requests per URL",
          "at most 1 (see above); without it, one page view:",
          uncached["requests"] if uncached else "?", "requests")
finally:
    for s in servers:
        if s.proc.poll() is None:
            s.stop()
    remove_tree(home)

finish()
