-- Freshening a stored response (RFC 9111 sections 4.3.4 and 4.3.5).  The
-- request header X-Trace makes the loopback server answer the same
-- URL (the same entry: the header is not in the key) with other headers.
.load ./apifetch
.headers on
.shell rm -f build/cache-freshen.db build/cache-freshen.db-wal build/cache-freshen.db-shm
CREATE TEMP TABLE o(opts);
INSERT INTO o VALUES ('{"cache": "build/cache-freshen.db", "response_headers": true}');
-- 4.3.4: a 304 replaces the stored Cache-Control and Expires and renews
-- the times: stale before it, fresh for 600 s after it, with no request.
SELECT cache FROM api_fetch('["$BASE/cache?id=1&etag=v1&cc=max-age=0"]', 1, (SELECT opts FROM o));
SELECT cache, headers ->> 'cache-control' AS cc, headers ->> 'expires' IS NOT NULL AS expires
  FROM api_fetch('[{"url": "$BASE/cache?id=1&etag=v1&cc=max-age=0",
  "headers": {"X-Trace": "cc=max-age=600&expires=600"}}]', 1, (SELECT opts FROM o));
SELECT 'after 304' AS step, cache, headers ->> 'cache-control' AS cc, headers ->> 'expires' IS NOT NULL AS expires,
  headers ->> 'etag' AS etag
  FROM api_fetch('["$BASE/cache?id=1&etag=v1&cc=max-age=0"]', 1, (SELECT opts FROM o));
SELECT fresh, (julianday(fresh_until) - julianday(stored_at))*86400 > 590 AS for_600s FROM api_fetch_cache('build/cache-freshen.db')
  WHERE url LIKE '%id=1&%';
-- 4.3.5: a HEAD whose 200 has the stored GET's validator (and length)
-- freshens it: the next GET is a hit, not a revalidation.
SELECT cache FROM api_fetch('["$BASE/cache?id=2&etag=v2&cc=max-age=0"]', 1, (SELECT opts FROM o));
SELECT status, cache FROM api_fetch('[{"url": "$BASE/cache?id=2&etag=v2&cc=max-age=0", "method": "HEAD",
  "headers": {"X-Trace": "cc=max-age=600"}}]', 1, (SELECT opts FROM o));
SELECT 'after HEAD' AS step, cache, headers ->> 'cache-control' AS cc, data ->> 'id' AS id
  FROM api_fetch('["$BASE/cache?id=2&etag=v2&cc=max-age=0"]', 1, (SELECT opts FROM o));
-- A HEAD with another validator says the stored GET is out of date:
-- stale, so the next GET asks (here the server still has v3: a 304).
SELECT cache FROM api_fetch('["$BASE/cache?id=3&etag=v3&cc=max-age=600"]', 1, (SELECT opts FROM o));
SELECT status, cache FROM api_fetch('[{"url": "$BASE/cache?id=3&etag=v3&cc=max-age=600", "method": "HEAD",
  "headers": {"X-Trace": "etag=v4"}}]', 1, (SELECT opts FROM o));
SELECT 'after HEAD v4' AS step, cache FROM api_fetch('["$BASE/cache?id=3&etag=v3&cc=max-age=600"]', 1, (SELECT opts FROM o));
-- So does one whose Content-Length differs, the validators aside.
SELECT cache FROM api_fetch('["$BASE/cache?id=4&etag=v4&cc=max-age=600"]', 1, (SELECT opts FROM o));
SELECT status, cache FROM api_fetch('[{"url": "$BASE/cache?id=4&etag=v4&cc=max-age=600", "method": "HEAD",
  "headers": {"X-Trace": "body=longer"}}]', 1, (SELECT opts FROM o));
SELECT 'after HEAD longer' AS step, cache FROM api_fetch('["$BASE/cache?id=4&etag=v4&cc=max-age=600"]', 1, (SELECT opts FROM o));
