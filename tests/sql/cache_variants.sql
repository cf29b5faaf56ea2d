-- A server that varies on a header that never repeats (here X-Request-Id,
-- which is not in the key by itself) makes a new variant of the URL's
-- entry at every request.  A lookup looks at the 16 most recently used
-- variants of a key; the others are found by nothing, and are not kept:
-- else every request would add a row until the size cap evicted entries
-- that are found.
.load ./apifetch
.shell rm -f build/cache-variants.db build/cache-variants.db-wal build/cache-variants.db-shm
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM i WHERE n<40)
SELECT count(*) FROM api_fetch((SELECT json_group_array(json_object(
    'url', '$BASE/cache?id=1&cc=max-age=600&vary=X-Request-Id',
    'headers', json_object('X-Request-Id', 'r' || n))) FROM i), 1,
  '{"cache": "build/cache-variants.db"}');
SELECT count(*) <= 16 AS bounded FROM api_fetch_cache('build/cache-variants.db');
-- The most recent variants still answer.
SELECT cache FROM api_fetch('[{"url": "$BASE/cache?id=1&cc=max-age=600&vary=X-Request-Id",
  "headers": {"X-Request-Id": "r40"}}]', 1, '{"cache": "build/cache-variants.db"}');
.shell rm -f build/cache-variants.db build/cache-variants.db-wal build/cache-variants.db-shm
