-- The cache under the guard (issue 16, hole 1): an answer from the cache
-- passes the checks a request would, so that a response stored while a
-- host, a port or an address was allowed is not given to a query once it
-- is not.  A refused URL is the same error row as a refused request,
-- whether or not it is cached; the server's /stats show that only one of
-- these asked it anything (a redirect's first hop, to a host allowed).
.load ./apifetch
.headers on
.shell rm -f build/cache-guard.db build/cache-guard.db-wal build/cache-guard.db-shm
SELECT api_fetch_config('{"defaults": {"cache": "build/cache-guard.db"},
  "allow_hosts": ["127.0.0.1:$PORT", "localhost:$PORT"]}') IS NOT NULL AS set_;
-- Stored while allowed: a fresh entry, and one whose redirect led to
-- another allowed host.
SELECT url_index, cache, error FROM api_fetch('["$BASE/cache?id=1&cc=max-age=600",
  "$BASE/redirect?to=http://localhost:$PORT/cache%3Fid=2%26cc=max-age=600"]', 2)
 ORDER BY url_index;
SELECT url_index, cache, error FROM api_fetch('["$BASE/cache?id=1&cc=max-age=600",
  "$BASE/redirect?to=http://localhost:$PORT/cache%3Fid=2%26cc=max-age=600"]', 2)
 ORDER BY url_index;
SELECT count(*) FROM api_fetch('["$BASE/stats/reset"]', 1, '{"cache": null}');
-- The host taken out of allow_hosts: both refused, as a request would be.
SELECT api_fetch_config('{"allow_hosts": ["localhost:$PORT"]}') IS NOT NULL AS set_;
SELECT status, cache, error FROM api_fetch('["$BASE/cache?id=1&cc=max-age=600"]');
-- The host allowed on another port only.
SELECT api_fetch_config('{"allow_hosts": ["127.0.0.1:1", "localhost:$PORT"]}') IS NOT NULL AS set_;
SELECT status, cache, error FROM api_fetch('["$BASE/cache?id=1&cc=max-age=600"]');
-- The host the redirect led to taken out: the stored answer came from
-- it, so it is not given; the request goes out, and is refused where it
-- leads now.
SELECT api_fetch_config('{"allow_hosts": ["127.0.0.1:$PORT"]}') IS NOT NULL AS set_;
SELECT status, cache, error FROM api_fetch(
  '["$BASE/redirect?to=http://localhost:$PORT/cache%3Fid=2%26cc=max-age=600"]');
-- block_private: the address the stored response came from (127.0.0.1 is
-- loopback) is refused as the address of a connection would be.
SELECT api_fetch_config('{"allow_hosts": null, "block_private": true}') IS NOT NULL AS set_;
SELECT status, cache, error FROM api_fetch('["$BASE/cache?id=1&cc=max-age=600"]');
SELECT count(*) AS entries FROM api_fetch_cache('build/cache-guard.db');
-- The host's offline mode, locked, on another connection sharing the
-- file: a refused URL is refused, stored or not; an allowed one is given.
.open :memory:
.load ./apifetch
SELECT api_fetch_config('{"defaults": {"cache": "build/cache-guard.db", "cache_mode": "offline"},
  "allow_hosts": ["localhost:$PORT"], "lock": true}') IS NOT NULL AS set_;
SELECT url_index, status, cache, error FROM api_fetch('["$BASE/cache?id=1&cc=max-age=600",
  "$BASE/cache?id=99", "$BASE/redirect?to=http://localhost:$PORT/cache%3Fid=2%26cc=max-age=600",
  "http://localhost:$PORT/cache?id=99"]', 4) ORDER BY url_index;
.open :memory:
.load ./apifetch
SELECT api_fetch_config('{"defaults": {"cache": "build/cache-guard.db", "cache_mode": "offline"},
  "allow_hosts": ["127.0.0.1:$PORT"], "lock": true}') IS NOT NULL AS set_;
SELECT url_index, status, cache, error FROM api_fetch('["$BASE/cache?id=1&cc=max-age=600",
  "$BASE/redirect?to=http://localhost:$PORT/cache%3Fid=2%26cc=max-age=600"]', 2)
 ORDER BY url_index;
.open :memory:
.load ./apifetch
SELECT api_fetch_config('{"defaults": {"cache": "build/cache-guard.db", "cache_mode": "offline"},
  "block_private": true, "lock": true}') IS NOT NULL AS set_;
SELECT url_index, status, cache, error FROM api_fetch('["$BASE/cache?id=1&cc=max-age=600",
  "$BASE/cache?id=99"]', 2) ORDER BY url_index;
.open :memory:
.load ./apifetch
SELECT data ->> 'requests' AS requests FROM api_fetch('["$BASE/stats"]');
.shell rm -f build/cache-guard.db build/cache-guard.db-wal build/cache-guard.db-shm
