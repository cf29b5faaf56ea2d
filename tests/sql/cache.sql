-- The HTTP cache through the sqlite3 shell (and so under --valgrind):
-- tests/py/cache.py has the rest.  The loopback server's /cache serves
-- obj(id) with the caching headers asked for; its /stats count requests.
.load ./apifetch
.headers on
.shell rm -f build/cache-sql.db build/cache-sql.db-wal build/cache-sql.db-shm build/cache-sql-bad.db
-- No cache: the cache column is NULL.
SELECT status, cache FROM api_fetch('["$BASE/cache?id=1&cc=max-age=600"]');
-- A file: first a miss, then a hit without a request; an ETag revalidates.
SELECT url_index, cache, data ->> 'id' AS id FROM api_fetch('["$BASE/cache?id=2&cc=max-age=600",
  "$BASE/cache?id=3&etag=v3", "$BASE/cache?id=4"]', 3, '{"cache": "build/cache-sql.db"}')
 ORDER BY url_index;
SELECT url_index, cache, data ->> 'id' AS id FROM api_fetch('["$BASE/cache?id=2&cc=max-age=600",
  "$BASE/cache?id=3&etag=v3", "$BASE/cache?id=4"]', 3, '{"cache": "build/cache-sql.db"}')
 ORDER BY url_index;
SELECT name, value FROM api_fetch_stats()
 WHERE name IN ('urls', 'requests', 'cache_hits', 'cache_revalidated', 'cache_misses');
SELECT data ->> 'requests' AS requests, data ->> 'not_modified' AS not_modified
  FROM api_fetch('["$BASE/stats"]');
-- What it holds, and pruning it.
SELECT host, method, status, content_type, size, fresh
  FROM api_fetch_cache('build/cache-sql.db') ORDER BY url;
SELECT api_fetch_cache_prune('build/cache-sql.db', '{"stale": true}') AS pruned;
SELECT count(*) FROM api_fetch_cache('build/cache-sql.db');
SELECT api_fetch_cache_prune('build/cache-sql.db', '{}');
SELECT api_fetch_cache_prune('build/cache-sql.db', '{"host": 7}');
-- Offline: a stored URL without the network, a missing one an error row.
SELECT url_index, cache, error FROM api_fetch('["$BASE/cache?id=2&cc=max-age=600",
  "$BASE/cache?id=99"]', 2, '{"cache": "build/cache-sql.db", "cache_mode": "offline"}')
 ORDER BY url_index;
-- The server failing: the stored copy, marked stale, with cache_stale_ms.
SELECT count(*) FROM api_fetch('["$BASE/cache?id=5&cc=max-age=0"]', 1, '{"cache": ":memory:"}');
SELECT data FROM api_fetch('["$BASE/stats/fail?code=503"]');
SELECT status, cache, error FROM api_fetch('["$BASE/cache?id=5&cc=max-age=0"]', 1,
  '{"cache": ":memory:", "cache_stale_ms": 60000, "max_attempts": 1}');
SELECT status, cache, error FROM api_fetch('["$BASE/cache?id=5&cc=max-age=0"]', 1,
  '{"cache": ":memory:", "max_attempts": 1}');
SELECT data FROM api_fetch('["$BASE/stats/fail?code=0"]');
-- The size cap: room for two bodies; the least recently used goes.
SELECT count(*) FROM api_fetch('["$BASE/cache?id=11&cc=max-age=600"]', 1, '{"cache": ":memory:"}');
SELECT count(*) FROM api_fetch('["$BASE/cache?id=12&cc=max-age=600"]', 1, '{"cache": ":memory:"}');
-- (a few ms between: recency is kept in ms, and a tie goes by age)
SELECT count(*) FROM api_fetch('["$BASE/obj?id=1&delay=20"]');
SELECT count(*) FROM api_fetch('["$BASE/cache?id=11&cc=max-age=600"]', 1, '{"cache": ":memory:"}');
SELECT count(*) FROM api_fetch('["$BASE/cache?id=13&cc=max-age=600"]', 1,
  '{"cache": ":memory:", "cache_max_bytes": 300}');
SELECT substr(url, instr(url, '?')) AS query FROM api_fetch_cache(':memory:')
 WHERE url LIKE '%id=1_&%' ORDER BY url;
-- Not a cache: a clear error naming the file.
.shell head -c 4096 /dev/urandom > build/cache-sql-bad.db
SELECT count(*) FROM api_fetch('["$BASE/cache?id=1"]', 1, '{"cache": "build/cache-sql-bad.db"}');
SELECT count(*) FROM api_fetch_cache('build/cache-sql-bad.db');
-- Locked: only the host's cache.
SELECT api_fetch_config('{"defaults": {"cache": "build/cache-sql.db"}, "lock": true}') ->> 'cache';
SELECT cache FROM api_fetch('["$BASE/cache?id=2&cc=max-age=600"]');
SELECT cache FROM api_fetch('["$BASE/cache?id=2&cc=max-age=600"]', 1, '{"cache": ":memory:"}');
SELECT cache FROM api_fetch('["$BASE/cache?id=2&cc=max-age=600"]', 1, '{"cache": null}');
SELECT count(*) FROM api_fetch_cache(':memory:');
SELECT count(*) > 0 FROM api_fetch_cache();
.shell rm -f build/cache-sql.db build/cache-sql.db-wal build/cache-sql.db-shm build/cache-sql-bad.db
-- The shell ends with status 1, after the errors this file shows on purpose:
-- exit status: 1
