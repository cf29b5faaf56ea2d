#!/usr/bin/python3
"""A profile's values are the host's secrets.  A host (Datasette's plugin,
apifetch.load(profiles=), api_fetch_config) gives SQL a profile with its
keys in query, headers, bearer and basic; the SQL that uses it, maybe a
stranger's, must not read them back: not in the url column, the wide
face's _url, an on_error "fail" message, the progress line, api_fetch_stats,
the api_fetch_cache listing, nor anywhere in the bytes of the cache file;
while the server still gets them, and the cache still answers.  And a
profile's ${env:NAME} is checked against the allow_env given with it.

    /usr/bin/python3 tests/py/profile_secrets.py BASE_URL     (run by tests/run.py)
"""
import base64
import glob
import json
import os
import sqlite3
import subprocess
import tempfile

from _common import BASE, ROOT, check, connect, finish

Q, H, B, P = "kq-7f3a91", "kh-52c0de", "kb-9e41aa", "kp-0d77b3"
SECRETS = (Q, H, B, P)
PROFILES = {
    "shop": {"base_url": BASE + "/", "query": {"api_key": Q, "per_page": 10},
             "headers": {"X-Api-Key": H}, "bearer": B, "max_attempts": 1,
             "paginate": {"type": "link"}},
    "basic": {"base_url": BASE + "/", "basic": "user:" + P, "max_attempts": 1},
}
# Where a header's or a credential's value may show: a URL that holds it
# (a server's next link or redirect may quote it).
QUOTING = f"obj?id=1&h={H}&b={B}"


def shows(text):
    """The secrets that text shows."""
    return [s for s in SECRETS if s in (text or "")]


def configure(conn):
    # What apifetch.load(conn, config=..., profiles=...) and the Datasette
    # plugin send.
    conn.execute("SELECT api_fetch_config(?)",
                 (json.dumps({"max_requests": 1000, "profiles": PROFILES}),)).fetchone()


conn = connect()
configure(conn)

# The server gets them all.
row = conn.execute("SELECT data FROM api_fetch('[\"echo\"]', 1, '{\"profile\": \"shop\"}')").fetchone()
got = json.loads(row[0])
check(got["query"].get("api_key") == Q and got["headers"].get("x-api-key") == H
      and got["headers"].get("authorization") == "Bearer " + B,
      "the server gets the profile's query key, header and bearer")
row = conn.execute("SELECT data FROM api_fetch('[\"echo\"]', 1, '{\"profile\": \"basic\"}')").fetchone()
check(json.loads(row[0])["headers"].get("authorization")
      == "Basic " + base64.b64encode(f"user:{P}".encode()).decode(),
      "the server gets the profile's basic credentials")

# The url column: its own URLs, the pages the server names, a URL quoting them.
urls = [r[0] for r in conn.execute(
    "SELECT url FROM api_fetch(?, 2, '{\"profile\": \"shop\"}') ORDER BY url",
    (json.dumps(["items?total=25", QUOTING]),))]
check(len(urls) >= 4 and not any(shows(u) for u in urls), f"url column: {urls}")
check(all("api_key=[secret]" in u for u in urls), "url column: api_key=[secret] in each")
check(any("per_page=[secret]" in u for u in urls) and all("127.0.0.1" in u for u in urls),
      "url column: a query value is hidden after its name only, not in the rest of the URL")
url = conn.execute("SELECT url FROM api_fetch(?, 1, '{\"profile\": \"basic\"}')",
                   (json.dumps([f"obj?id=1&p=user:{P}"]),)).fetchone()[0]
check(not shows(url) and "p=[secret]" in url, f"url column, basic: {url}")

# The wide face's _url.
conn.execute(f"CREATE VIRTUAL TABLE temp.w USING api_fetch(url_list='[\"items?total=25\", \"{QUOTING}\"]', "
             "profile='shop', columns='id INTEGER')")
wide = [r[0] for r in conn.execute("SELECT DISTINCT _url FROM w")]
check(len(wide) == 4 and not any(shows(u) for u in wide), f"wide face _url: {wide}")

# on_error "fail": the message quotes the URL.
try:
    conn.execute("SELECT * FROM api_fetch(?, 1, '{\"profile\": \"shop\", \"on_error\": \"fail\"}')",
                 (json.dumps([f"status/500?h={H}&b={B}"]),)).fetchall()
    msg = ""
except sqlite3.OperationalError as e:
    msg = str(e)
check("failed after 1 attempt" in msg and "[secret]" in msg and not shows(msg),
      f"on_error fail message: {msg}")

# api_fetch_stats.
stats = json.dumps(conn.execute("SELECT * FROM api_fetch_stats()").fetchall())
check(not shows(stats), "api_fetch_stats shows none")

# The cache: listing and file, and a second run answered from it.
d = tempfile.mkdtemp(prefix="apifetch-secrets-")
cache = os.path.join(d, "c.db")
opts = json.dumps({"profile": "shop", "cache": cache, "cache_mode": "ttl",
                   "cache_ttl_ms": 600000})
first = conn.execute("SELECT url, data FROM api_fetch(?, 2, ?) ORDER BY url",
                     (json.dumps(["items?total=25", QUOTING]), opts)).fetchall()
listing = json.dumps(conn.execute("SELECT * FROM api_fetch_cache(?)", (cache,)).fetchall())
check(len(first) == 4 and "api_key=[secret]" in listing and not shows(listing),
      "api_fetch_cache lists the URLs redacted")
again = conn.execute("SELECT url, data FROM api_fetch(?, 2, ?) ORDER BY url",
                     (json.dumps(["items?total=25", QUOTING]), opts)).fetchall()
hits = conn.execute("SELECT value FROM api_fetch_stats() WHERE name = 'cache_hits'").fetchone()[0]
check(again == first and hits == 4,
      f"the second run is answered from the cache, pages too (cache_hits {hits} of 4)")
conn.close()
data = b"".join(open(f, "rb").read() for f in glob.glob(cache + "*"))
check(len(data) > 0 and not any(s.encode() in data for s in SECRETS),
      "no secret in the bytes of the cache file")

# The progress line on stderr (the shell, as a terminal-less host runs it).
script = (".load ./apifetch\n"
          f"SELECT api_fetch_config('{json.dumps({'profiles': PROFILES})}') IS NOT NULL;\n"
          f"SELECT url FROM api_fetch('[\"items?total=25\", \"{QUOTING}\"]', 2, "
          "'{\"profile\": \"shop\", \"progress\": true}');\n")
p = subprocess.run([os.environ.get("SQLITE3", "sqlite3"), "-batch", ":memory:"], input=script,
                   capture_output=True, text=True, cwd=ROOT)
check("api_fetch:" in p.stderr and "done" in p.stderr and "[secret]" in p.stdout
      and not shows(p.stdout + p.stderr), f"progress on stderr: {p.stderr.strip()!r}")

# allow_env: a profile's ${env:NAME} is checked when it is stored, against
# the allow_env given with it (APIFETCH_CONFIG and apifetch.load give both
# in one call); one it allows works after the lock, and is hidden.
os.environ["APIFETCH_PROFILE_OTHER"] = "other-7c1d"
token = os.environ["APIFETCH_TEST_TOKEN"]
for what, settings in [
        ("profile", {"allow_env": ["APIFETCH_TEST_TOKEN"],
                     "profiles": {"x": {"bearer": "${env:APIFETCH_PROFILE_OTHER}"}}}),
        ("defaults", {"allow_env": ["APIFETCH_TEST_TOKEN"],
                      "defaults": {"headers": {"X-K": "${env:APIFETCH_PROFILE_OTHER}"}}})]:
    conn = connect()
    try:
        conn.execute("SELECT api_fetch_config(?)", (json.dumps(settings),)).fetchone()
        msg = ""
    except sqlite3.OperationalError as e:
        msg = str(e)
    check("APIFETCH_PROFILE_OTHER" in msg and "allow_env" in msg,
          f"a {what} reading a variable not in allow_env is refused: {msg}")
    check(conn.execute("SELECT api_fetch_config() ->> 'allow_env'").fetchone()[0] is None,
          f"... and nothing of that call is applied ({what})")
    conn.close()
conn = connect()
conn.execute("SELECT api_fetch_config(?)", (json.dumps(
    {"allow_env": ["APIFETCH_TEST_TOKEN"], "lock": True,
     "profiles": {"t": {"base_url": BASE + "/", "query": {"t": "${env:APIFETCH_TEST_TOKEN}"}}}}),)
).fetchone()
url, data = conn.execute("SELECT url, data FROM api_fetch('[\"echo\"]', 1, '{\"profile\": \"t\"}')"
                         ).fetchone()
check(json.loads(data)["query"].get("t") == token and token not in url and "t=[secret]" in url,
      f"a profile allowed by the allow_env given with it works after the lock: {url}")
finish()
