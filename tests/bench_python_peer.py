#!/usr/bin/python3
"""The Python pattern apifetch replaces, written the way a data engineer would.

    /usr/bin/python3 tests/bench_python_peer.py URLS.json CONCURRENCY [--rate-limited]
                                                [--cafile CA.pem]

URLS.json holds a JSON array of URLs.  One shared aiohttp.ClientSession with
TCPConnector(limit=CONCURRENCY), an asyncio.Semaphore(CONCURRENCY) around each
request, tenacity retries (3 attempts, exponential backoff with jitter, on
connection errors, timeouts, 5xx and 429), asyncio.gather, then
pandas.json_normalize on each response, pd.concat, and DataFrame.to_sql into
an in-memory SQLite table.

--rate-limited (tests/bench.py's limits group, issue 19): the retry as it is
written against an API known to answer 429: 8 attempts, and a wait that
honours Retry-After when the answer has one, else exponential backoff with
jitter (0.5 s doubling, at most 10 s).  The semaphore stays the only pacing,
as in the usual pattern: it reads no rate-limit fields.

--cafile (W6, HTTPS): the session's SSL context trusts this CA, as the
pattern is written against a server with a private CA
(ssl.create_default_context(cafile=...) given to the connector).

Prints one JSON line on stdout: {"rows", "failed", "t_import", "t_fetch",
"t_frame", "t_sql"} (seconds per phase; t_import is the interpreter's time to
import aiohttp, pandas and tenacity).  Used by tests/bench.py.
"""
import time

T0 = time.monotonic()

import asyncio  # noqa: E402
import json  # noqa: E402
import ssl  # noqa: E402
import sqlite3  # noqa: E402
import sys  # noqa: E402

import aiohttp  # noqa: E402
import pandas as pd  # noqa: E402
from tenacity import (retry, retry_if_exception, stop_after_attempt,  # noqa: E402
                      wait_random_exponential)

T_IMPORT = time.monotonic() - T0


def retryable(exc):
    if isinstance(exc, aiohttp.ClientResponseError):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError))


@retry(stop=stop_after_attempt(3), wait=wait_random_exponential(multiplier=0.1, max=2),
       retry=retry_if_exception(retryable), reraise=True)
async def get_json(session, url):
    async with session.get(url) as resp:
        resp.raise_for_status()
        return await resp.json(content_type=None)


_backoff = wait_random_exponential(multiplier=0.5, max=10)


def wait_retry_after(state):
    """Retry-After (delta seconds) if the failed answer had one, else backoff."""
    exc = state.outcome.exception()
    ra = getattr(exc, "headers", None) and exc.headers.get("Retry-After")
    if ra and ra.isdigit():
        return float(ra)
    return _backoff(state)


@retry(stop=stop_after_attempt(8), wait=wait_retry_after,
       retry=retry_if_exception(retryable), reraise=True)
async def get_json_rate_limited(session, url):
    async with session.get(url) as resp:
        resp.raise_for_status()
        return await resp.json(content_type=None)


async def fetch_all(urls, concurrency, fetch=get_json, cafile=None):
    sem = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=30, connect=10)
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=ssl.create_default_context(
        cafile=cafile) if cafile else None)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async def one(url):
            async with sem:
                return await fetch(session, url)

        return await asyncio.gather(*(one(u) for u in urls), return_exceptions=True)


def main():
    path, concurrency = sys.argv[1], int(sys.argv[2])
    with open(path) as f:
        urls = json.load(f)

    t = time.monotonic()
    opts = sys.argv[3:]
    fetch = get_json_rate_limited if "--rate-limited" in opts else get_json
    cafile = opts[opts.index("--cafile") + 1] if "--cafile" in opts else None
    results = asyncio.run(fetch_all(urls, concurrency, fetch, cafile))
    t_fetch = time.monotonic() - t

    t = time.monotonic()
    frames, failed = [], 0
    for url, payload in zip(urls, results):
        if isinstance(payload, BaseException):
            failed += 1
            print(f"failed: {url}: {payload!r}", file=sys.stderr)
            continue
        df = pd.json_normalize(payload)
        df["source_url"] = url
        frames.append(df)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    # sqlite3 cannot bind lists or dicts (json_normalize leaves arrays as is).
    for col in df.columns[df.dtypes == object]:
        if df[col].map(lambda v: isinstance(v, (list, dict))).any():
            df[col] = df[col].map(lambda v: json.dumps(v) if isinstance(v, (list, dict)) else v)
    t_frame = time.monotonic() - t

    t = time.monotonic()
    con = sqlite3.connect(":memory:")
    df.to_sql("t", con, index=False)
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0] if len(df.columns) else 0
    con.close()
    t_sql = time.monotonic() - t

    assert rows == len(df)
    print(json.dumps({"rows": rows, "failed": failed, "t_import": round(T_IMPORT, 4),
                      "t_fetch": round(t_fetch, 4), "t_frame": round(t_frame, 4),
                      "t_sql": round(t_sql, 4)}))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
