-- A 304 does not update Content-Length (nor Content-Encoding,
-- Transfer-Encoding: RFC 9111 section 3.2): the stored body's length stays
-- with the entry, whether the 304 sends no such field or one of its own
-- (the loopback server's 304 says "Content-Length: 0", as many do).  So
-- response_headers gives the same value on a hit after a revalidation as
-- on the miss that stored it; a HEAD's freshening (4.3.5) keeps it too.
.load ./apifetch
.headers on
.shell rm -f build/cache-304-length.db build/cache-304-length.db-wal build/cache-304-length.db-shm
CREATE TEMP TABLE o(opts);
INSERT INTO o VALUES ('{"cache": "build/cache-304-length.db", "response_headers": true}');
SELECT 'miss' AS step, cache, headers ->> 'content-length' AS length
  FROM api_fetch('["$BASE/cache?id=1&etag=v1&cc=no-cache"]', 1, (SELECT opts FROM o));
SELECT 'revalidated' AS step, cache, headers ->> 'content-length' AS length
  FROM api_fetch('["$BASE/cache?id=1&etag=v1&cc=no-cache"]', 1, (SELECT opts FROM o));
SELECT 'again' AS step, cache, headers ->> 'content-length' AS length
  FROM api_fetch('["$BASE/cache?id=1&etag=v1&cc=no-cache"]', 1, (SELECT opts FROM o));
-- A HEAD with the same validator and length freshens the GET's entry.
SELECT 'miss' AS step, cache, headers ->> 'content-length' AS length
  FROM api_fetch('["$BASE/cache?id=2&etag=v2&cc=max-age=0"]', 1, (SELECT opts FROM o));
SELECT 'HEAD' AS step, status, cache FROM api_fetch('[{"url": "$BASE/cache?id=2&etag=v2&cc=max-age=0",
  "method": "HEAD", "headers": {"X-Trace": "cc=max-age=600"}}]', 1, (SELECT opts FROM o));
SELECT 'after HEAD' AS step, cache, headers ->> 'content-length' AS length
  FROM api_fetch('["$BASE/cache?id=2&etag=v2&cc=max-age=0"]', 1, (SELECT opts FROM o));
