-- stale-while-revalidate (RFC 5861 section 3): within the window a stale
-- entry answers at once, marked stale, and is revalidated in the
-- background of the same scan: that request gives no row, and the next
-- scan finds the entry renewed.  stale-if-error (section 4) and
-- cache_stale_ms answer only for a dropped connection or a 500, 502, 503
-- or 504.  X-Trace: the server answers the same URL (the same
-- entry) otherwise; /stats counts the requests it saw.
.load ./apifetch
.headers on
.shell rm -f build/cache-swr.db build/cache-swr.db-wal build/cache-swr.db-shm
CREATE TEMP TABLE o(opts);
INSERT INTO o VALUES ('{"cache": "build/cache-swr.db", "max_attempts": 1}');
SELECT cache FROM api_fetch('["$BASE/cache?id=1&etag=s1&cc=max-age=0,stale-while-revalidate=600"]', 1, (SELECT opts FROM o));
-- Stale within the window: the stored copy, one row; its revalidation (a
-- 304 that now says max-age=600) went out all the same.
SELECT url_index, status, cache, data ->> 'id' AS id FROM api_fetch('[{"url": "$BASE/cache?id=1&etag=s1&cc=max-age=0,stale-while-revalidate=600",
  "headers": {"X-Trace": "cc=max-age=600"}}]', 1, (SELECT opts FROM o));
SELECT data ->> 'requests' AS requests, data ->> 'not_modified' AS not_modified FROM api_fetch('["$BASE/stats"]');
SELECT 'renewed' AS step, cache FROM api_fetch('["$BASE/cache?id=1&etag=s1&cc=max-age=0,stale-while-revalidate=600"]', 1, (SELECT opts FROM o));
-- A 200 in the background replaces the entry: the next scan has the new body.
SELECT count(*) FROM api_fetch('["$BASE/cache?id=2&cc=max-age=0,stale-while-revalidate=600"]', 1, (SELECT opts FROM o));
SELECT cache, data ->> 'body' AS body FROM api_fetch('[{"url": "$BASE/cache?id=2&cc=max-age=0,stale-while-revalidate=600",
  "headers": {"X-Trace": "body=new&cc=max-age=600"}}]', 1, (SELECT opts FROM o));
SELECT 'replaced' AS step, cache, data ->> 'body' AS body FROM api_fetch('["$BASE/cache?id=2&cc=max-age=0,stale-while-revalidate=600"]', 1, (SELECT opts FROM o));
-- Not past the window, not with must-revalidate, not when the request
-- says no-cache: those ask first.
SELECT count(*) FROM api_fetch('["$BASE/cache?id=3&etag=s3&cc=max-age=0,stale-while-revalidate=0",
  "$BASE/cache?id=4&etag=s4&cc=max-age=0,must-revalidate,stale-while-revalidate=600",
  "$BASE/cache?id=5&etag=s5&cc=max-age=0,stale-while-revalidate=600"]', 3, (SELECT opts FROM o));
SELECT url_index, cache FROM api_fetch('["$BASE/cache?id=3&etag=s3&cc=max-age=0,stale-while-revalidate=0",
  "$BASE/cache?id=4&etag=s4&cc=max-age=0,must-revalidate,stale-while-revalidate=600",
  {"url": "$BASE/cache?id=5&etag=s5&cc=max-age=0,stale-while-revalidate=600", "headers": {"Cache-Control": "no-cache"}}]',
  3, (SELECT opts FROM o)) ORDER BY url_index;
-- stale-if-error: a 503 or a reset connection gets the stored copy; a 400
-- or a 404 is the server's answer, not a failure, and is given as it is.
SELECT count(*) FROM api_fetch('["$BASE/cache?id=6&etag=s6&cc=max-age=0,stale-if-error=600"]', 1, (SELECT opts FROM o));
SELECT fail, status, error, cache FROM (
  SELECT 'fail_conditional=' || value AS q, value AS fail FROM json_each('["503", "reset", "400", "404"]')) AS f,
  api_fetch(json_array(json_object('url', '$BASE/cache?id=6&etag=s6&cc=max-age=0,stale-if-error=600',
    'headers', json_object('X-Trace', f.q))), 1, (SELECT opts FROM o));
-- With max_requests the budget is the scan's own URLs': no refresh in the
-- background, the stale entry is revalidated before it answers.
SELECT api_fetch_config('{"max_requests": 100}') IS NOT NULL AS budget;
SELECT cache FROM api_fetch('["$BASE/cache?id=7&etag=s7&cc=max-age=0,stale-while-revalidate=600"]', 1, (SELECT opts FROM o));
SELECT cache FROM api_fetch('["$BASE/cache?id=7&etag=s7&cc=max-age=0,stale-while-revalidate=600"]', 1, (SELECT opts FROM o));
