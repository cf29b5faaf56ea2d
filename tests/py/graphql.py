#!/usr/bin/python3
"""Pagination in the request body against a real GraphQL server nobody here
wrote: json-graphql-server (npm, marmelab), installed by `make deps` under
tests/npm and started here on 127.0.0.1 (tests/graphql_server.cjs: an
ephemeral port), stopped by its PID.  Its lists are `allPosts(page:,
perPage:)`, pages from 0, and `_allPostsMeta { count }` gives the total.

1. Page numbers in the GraphQL variables (body_path "variables.page"), the
   total from _allPostsMeta.count: every post once, each page's posts on
   its row, the other pages asked for at once (fanned out from page 0).
2. max_pages caps them; without a total, one page after another until an
   empty one (its row has no data).
3. A page the server refuses (a GraphQL error: 200 and no "data") is an
   error row, and no page follows it.

Without node or the package it says why and exits 77 (skipped; under CI a
failure, tests/run.py).

    /usr/bin/python3 tests/py/graphql.py BASE_URL      (run by tests/run.py)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from _common import ROOT, check, connect, finish

SERVER = os.path.join(ROOT, "tests", "graphql_server.cjs")
PACKAGE = os.path.join(ROOT, "tests", "npm", "node_modules", "json-graphql-server")
QUERY = ("query($page: Int, $perPage: Int) { allPosts(page: $page, perPage: $perPage) "
         "{ id title } _allPostsMeta { count } }")


def start(folder):
    """json-graphql-server over 45 posts: its process and URL."""
    data = os.path.join(folder, "data.json")
    with open(data, "w") as f:
        json.dump({"posts": [{"id": i, "title": f"post {i}"} for i in range(1, 46)]}, f)
    proc = subprocess.Popen(["node", SERVER, data], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline().strip()
    if not line.isdigit():
        proc.kill()
        proc.wait()
        sys.exit(f"json-graphql-server did not start: {line}{proc.stdout.read()}")
    return proc, f"http://127.0.0.1:{line}/"


def pages(conn, url, paginate, query=QUERY, per_page=10):
    body = {"query": query, "variables": {"perPage": per_page}}
    return conn.execute(
        "SELECT page, status, error, data ->> 'id' FROM api_fetch(?, 10, ?) ORDER BY page, "
        "record_index", (json.dumps([{"url": url, "method": "POST", "body": body}]),
                         json.dumps({"record_path": "data.allPosts", "paginate": paginate}))
    ).fetchall()


def main():
    if shutil.which("node") is None or not os.path.isdir(PACKAGE):
        print("node or json-graphql-server (tests/npm, `make deps`) is missing")
        sys.exit(77)
    conn = connect()
    with tempfile.TemporaryDirectory() as folder:
        proc, url = start(folder)
        try:
            run(conn, url)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    finish()


def run(conn, url):
    numbered = {"type": "page", "start": 0, "body_path": "variables.page", "per_page": 10,
                "total_items": "data._allPostsMeta.count"}
    rows = pages(conn, url, numbered)
    check([r[3] for r in rows] == [str(i) for i in range(1, 46)]
          and all(r[1] == 200 and r[2] is None for r in rows),
          f"1. 45 posts, each once, in order: {len(rows)} rows")
    check(all((int(r[3]) - 1) // 10 == r[0] for r in rows), "1. page k holds posts 10k+1..10k+10")
    log = conn.execute(
        "SELECT count(*) FROM api_fetch(?, 10, ?) WHERE record_index = 0",
        (json.dumps([{"url": url, "method": "POST", "body": {"query": QUERY,
                      "variables": {"perPage": 20}}}]),
         json.dumps({"record_path": "data.allPosts", "paginate": dict(numbered, per_page=20)}))
    ).fetchone()[0]
    check(log == 3, f"1. 20 a page: 3 pages ({log})")

    rows = pages(conn, url, dict(numbered, max_pages=2))
    check(len(rows) == 20 and max(r[0] for r in rows) == 1, f"2. max_pages 2: 20 posts ({len(rows)})")
    rows = pages(conn, url, {"type": "page", "start": 0, "body_path": "variables.page"})
    check(len([r for r in rows if r[3]]) == 45 and rows[-1][0] == 5 and rows[-1][3] is None,
          f"2. no total: pages 0-4, then the empty page 5 ({rows[-1]})")

    bad = "query($page: Int) { allPosts(page: $page, perPage: 10) { id nosuchfield } }"
    rows = pages(conn, url, {"type": "page", "start": 0, "body_path": "variables.page"}, bad)
    check(len(rows) == 1 and rows[0][0] == 0 and rows[0][1] == 200
          and "record_path" in (rows[0][2] or ""),
          f"3. a GraphQL error (200, no data) is an error row and ends the pages: {rows}")


main()
