#!/usr/bin/python3
"""Scale-out with the shard option, as docs/scale-out.md runs it: 4 shards
under GNU parallel, each a sqlite3 shell writing its own database file,
merged with ATTACH, equal row for row to the same statements run in one
process.  Both faces, with pagination (pages follow their starting URL into
its shard) and an error row; the wide face reads its URLs from url_query.
The shards together send the requests of the single run, no more: a shard
never requests another's URLs.

    /usr/bin/python3 tests/py/shards.py BASE_URL     (run by tests/run.py)

Exit status 77 (skipped) where GNU parallel is not installed (Debian
package `parallel`, in the Makefile's DEB_PKGS; CI has it).
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import urllib.request

from _common import BASE, ROOT, check, finish

SQLITE = os.environ.get("SQLITE3", "sqlite3")
N = 4
if shutil.which("parallel") is None:
    print("GNU parallel is not installed (apt-get install parallel)")
    sys.exit(77)

# 11 collections of 0 to 30 items, 5 a page; collection 6's second page fails.
URLS = [f"{BASE}/items?total={t}&per_page=5" for t in (0, 3, 5, 12, 30, 7, 16, 1, 22, 9, 14)]
URLS[6] += "&fail_page=2"
PAGINATE = {"type": "page", "total_pages": "meta.total_pages"}


def script(shard):
    """The statements of one run: shard "K/4" or None for every URL.  The
    function face takes its shard from @k, set by the shell; the wide face's
    argument is text in the CREATE, written in by whoever writes the script
    (the shell's here-doc in docs/scale-out.md)."""
    opts = {"record_path": "data", "paginate": PAGINATE, "max_attempts": 1}
    wide_shard = f"shard='{shard}', " if shard else ""
    shard_sql = "@k || '/4'" if shard else "NULL"
    return f"""
.bail on
.load {os.path.join(ROOT, "apifetch")}
CREATE TABLE items AS
  SELECT url_index, record_index, page, url, status, error, data
    FROM api_fetch('{json.dumps(URLS)}', 4,
                   json_set('{json.dumps(opts)}', '$.shard', {shard_sql}));
CREATE TABLE targets(u TEXT);
INSERT INTO targets SELECT value FROM json_each('{json.dumps(URLS)}');
CREATE VIRTUAL TABLE temp.w USING api_fetch({wide_shard}url_query='SELECT u FROM main.targets',
  record_path=data, paginate='{json.dumps(PAGINATE)}', max_attempts=1, concurrency=4,
  columns='id INTEGER, name TEXT');
CREATE TABLE witems AS
  SELECT _url_index, _record_index, _page, _status, _error, id, name FROM w;
"""


def requests_sent():
    with urllib.request.urlopen(BASE + "/stats", timeout=10) as r:
        return json.load(r)["requests"]


def reset():
    urllib.request.urlopen(BASE + "/stats/reset", timeout=10).read()


ORDER = {"items": "url_index, page, record_index", "witems": "_url_index, _page, _record_index"}


def rows(conn, table, schema="main"):
    return conn.execute(f"SELECT * FROM {schema}.{table} ORDER BY {ORDER[table]}").fetchall()


with tempfile.TemporaryDirectory(prefix="apifetch-shards-") as d:
    # One process, every URL.
    reset()
    with open(os.path.join(d, "one.sql"), "w") as f:
        f.write(script(None))
    r = subprocess.run(f"{SQLITE} one.db < one.sql", shell=True, cwd=d,
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0 and r.stdout + r.stderr == "",
          f"the single run succeeds quietly: {r.stdout}{r.stderr}")
    sent_one = requests_sent()

    # Four shards under GNU parallel, each with its own script and database.
    reset()
    for k in range(N):
        with open(os.path.join(d, f"shard{k}.sql"), "w") as f:
            f.write(script(f"{k}/{N}"))
    r = subprocess.run(["parallel", "-j", str(N), "--halt", "now,fail=1",
                        SQLITE + ' shard{}.db -cmd ".parameter set @k {}" < shard{}.sql',
                        ":::"] + [str(k) for k in range(N)],
                       cwd=d, capture_output=True, text=True, timeout=120)
    check(r.returncode == 0 and r.stdout + r.stderr == "",
          f"4 shards under GNU parallel succeed quietly: {r.returncode} {r.stdout}{r.stderr}")
    sent_shards = requests_sent()
    check(sent_shards == sent_one,
          f"the shards send the single run's requests, no more ({sent_shards} and {sent_one})")

    merged = sqlite3.connect(os.path.join(d, "merged.db"))
    for k in range(N):
        merged.execute("ATTACH ? AS ?", (os.path.join(d, f"shard{k}.db"), f"s{k}"))
    merged.execute("ATTACH ? AS one", (os.path.join(d, "one.db"),))
    for table, col in (("items", "url_index"), ("witems", "_url_index")):
        for k in range(N):
            bad = merged.execute(f"SELECT count(*) FROM s{k}.{table} WHERE {col} % {N} != {k}"
                                 ).fetchone()[0]
            own = merged.execute(f"SELECT count(*) FROM s{k}.{table}").fetchone()[0]
            check(bad == 0 and own > 0,
                  f"shard {k}'s {table} holds {own} rows, all of url_index % {N} = {k}")
        union = " UNION ALL ".join(f"SELECT * FROM s{k}.{table}" for k in range(N))
        merged.execute(f"CREATE TABLE {table} AS {union}")
        a, b = rows(merged, table), rows(merged, table, "one")
        check(a == b and len(a) > 50,
              f"{table}: the merge equals the single run row for row ({len(a)} and {len(b)})")
    pages = merged.execute("SELECT count(DISTINCT url_index || '/' || page) FROM items "
                           "WHERE page > 0").fetchone()[0]
    errors = merged.execute("SELECT count(*) FROM items WHERE error IS NOT NULL").fetchone()[0]
    check(pages > 10 and errors == 1,
          f"pages beyond the first were followed inside their shard ({pages}), "
          f"the failing page is one error row ({errors})")
    merged.close()
finish()
