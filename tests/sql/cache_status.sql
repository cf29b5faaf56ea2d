-- Storable statuses beyond 2xx (RFC 9111 sections 3 and 4.2.2): a 404,
-- 410 or 301 that says how long it holds, or a status cacheable by
-- default (RFC 9110 section 15.1) under ttl, is stored, and a stored one
-- gives the same row as the network's (status, error, no data), marked
-- hit.  A 5xx, 408, 425 or 429 is never stored: the retries ask again,
-- and a good stored copy stays to stand in (stale-if-error).
-- cache_statuses "2xx" stores 2xx only.  The last statement fails: a bad value.
-- exit status: 1
.load ./apifetch
.headers on
.shell rm -f build/cache-status.db build/cache-status.db-wal build/cache-status.db-shm
CREATE TEMP TABLE o(opts);
INSERT INTO o VALUES ('{"cache": "build/cache-status.db", "max_attempts": 1}');
CREATE TEMP TABLE u(urls);
INSERT INTO u VALUES ('["$BASE/cache?id=1&status=404&cc=max-age=600",
  "$BASE/cache?id=2&status=410&expires=600",
  "$BASE/cache?id=3&status=404",
  "$BASE/cache?id=4&status=503&cc=max-age=600",
  "$BASE/cache?id=5&status=429&cc=max-age=600",
  "$BASE/cache?id=6&status=500&cc=max-age=600",
  "$BASE/cache?id=7&status=501&cc=max-age=600"]');
SELECT url_index, status, error, content_type, data, cache
  FROM api_fetch((SELECT urls FROM u), 1, (SELECT opts FROM o)) ORDER BY url_index;
SELECT 'again' AS run, url_index, status, error, content_type, data, cache, attempts
  FROM api_fetch((SELECT urls FROM u), 1, (SELECT opts FROM o)) ORDER BY url_index;
-- on_status "data": a stored 404's body is its record, as the network's is.
SELECT status, error, data ->> 'id' AS id, cache FROM api_fetch('["$BASE/cache?id=1&status=404&cc=max-age=600"]',
  1, json_set((SELECT opts FROM o), '$.on_status', json('{"404": "data"}')));
-- on_error "skip": no row, from the cache as from the network.
SELECT count(*) AS skipped FROM api_fetch('["$BASE/cache?id=1&status=404&cc=max-age=600"]', 1,
  json_set((SELECT opts FROM o), '$.on_error', 'skip'));
-- on_status "retry" for 404: the user says it passes, so it is asked again.
SELECT status, cache FROM api_fetch('["$BASE/cache?id=1&status=404&cc=max-age=600"]', 1,
  json_set((SELECT opts FROM o), '$.on_status', json('{"404": "retry"}')));
-- ttl: a 404 without caching headers is kept for cache_ttl_ms; a 503 is not.
SELECT url_index, status, cache FROM api_fetch('["$BASE/cache?id=8&status=404", "$BASE/cache?id=9&status=503"]', 1,
  json_set((SELECT opts FROM o), '$.cache_mode', 'ttl')) ORDER BY url_index;
SELECT 'again' AS run, url_index, status, cache FROM api_fetch('["$BASE/cache?id=8&status=404", "$BASE/cache?id=9&status=503"]', 1,
  json_set((SELECT opts FROM o), '$.cache_mode', 'ttl')) ORDER BY url_index;
-- A 503 that says max-age=600 is not stored over a stored 200: the next
-- failure still finds the 200 to stand in (cache_stale_ms).
SELECT status, cache FROM api_fetch('["$BASE/cache?id=10&cc=max-age=0"]', 1, (SELECT opts FROM o));
SELECT status, error, cache FROM api_fetch('[{"url": "$BASE/cache?id=10&cc=max-age=0",
  "headers": {"X-Trace": "status=503&cc=max-age=600"}}]', 1, (SELECT opts FROM o));
SELECT status, error, cache FROM api_fetch('[{"url": "$BASE/cache?id=10&cc=max-age=0",
  "headers": {"X-Trace": "status=503"}}]', 1, json_set((SELECT opts FROM o), '$.cache_stale_ms', 600000));
-- cache_statuses "2xx": a 404 is not stored, whatever it says.
.shell rm -f build/cache-status2.db build/cache-status2.db-wal build/cache-status2.db-shm
UPDATE o SET opts = json_set(opts, '$.cache', 'build/cache-status2.db', '$.cache_statuses', '2xx');
SELECT cache FROM api_fetch('["$BASE/cache?id=1&status=404&cc=max-age=600"]', 1,
  (SELECT opts FROM o));
SELECT cache FROM api_fetch('["$BASE/cache?id=1&status=404&cc=max-age=600"]', 1,
  (SELECT opts FROM o));
SELECT count(*) AS stored FROM api_fetch_cache('build/cache-status2.db');
SELECT count(*) FROM api_fetch('["$BASE/cache?id=1"]', 1, json_set((SELECT opts FROM o), '$.cache_statuses', 'some'));
