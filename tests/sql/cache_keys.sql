-- RFC 9111 in the cache's flow, end to end through one cache file:
-- invalidation after unsafe methods (4.4), the cache key and Vary (4.1),
-- the request's own directives (5.2.1).  "hit" means no request was made.
.load ./apifetch
.headers on
.shell rm -f build/cache-keys.db build/cache-keys.db-wal build/cache-keys.db-shm
CREATE TEMP TABLE o(opts);
INSERT INTO o VALUES ('{"cache": "build/cache-keys.db"}');
-- 4.4: a POST, PUT or DELETE that succeeds makes the next GET ask again;
-- so does one whose Location or Content-Location names the URL (same
-- origin); another origin's Location does not.
SELECT cache FROM api_fetch('["$BASE/cache?id=1&cc=max-age=600"]', 1, (SELECT opts FROM o));
SELECT cache FROM api_fetch('["$BASE/cache?id=1&cc=max-age=600"]', 1, (SELECT opts FROM o));
SELECT status FROM api_fetch('[{"url": "$BASE/cache?id=1&cc=max-age=600", "method": "POST", "body": "x"}]',
  1, (SELECT opts FROM o));
SELECT 'after POST' AS step, cache FROM api_fetch('["$BASE/cache?id=1&cc=max-age=600"]', 1, (SELECT opts FROM o));
SELECT count(*) FROM api_fetch('["$BASE/cache?id=2&cc=max-age=600", "$BASE/cache?id=3&cc=max-age=600",
  "$BASE/cache?id=4&cc=max-age=600"]', 3, (SELECT opts FROM o));
SELECT status FROM api_fetch('[{"url": "$BASE/cache?id=9&location=/cache%3Fid%3D2%26cc%3Dmax-age%3D600", "method": "PUT"},
  {"url": "$BASE/cache?id=9&content_location=$BASE/cache%3Fid%3D3%26cc%3Dmax-age%3D600", "method": "DELETE"},
  {"url": "$BASE/cache?id=9&location=http://localhost:1/cache%3Fid%3D4%26cc%3Dmax-age%3D600", "method": "PATCH"}]',
  1, (SELECT opts FROM o));
SELECT url_index, cache FROM api_fetch('["$BASE/cache?id=2&cc=max-age=600", "$BASE/cache?id=3&cc=max-age=600",
  "$BASE/cache?id=4&cc=max-age=600"]', 3, (SELECT opts FROM o)) ORDER BY url_index;
-- A failed POST (an error status) invalidates nothing.
SELECT count(*) FROM api_fetch('["$BASE/status/500?k=1"]', 1, (SELECT opts FROM o));
-- 4.1: the key is the method and URL (and what keeps identities apart);
-- a header that changes per request does not split it, credentials and
-- key-like headers do, and Vary matches the headers it names.
SELECT url_index, cache FROM api_fetch('[
  {"url": "$BASE/cache?id=10&cc=max-age=600", "headers": {"X-Request-Id": "a1"}},
  {"url": "$BASE/cache?id=11&cc=max-age=600", "headers": {"Authorization": "Bearer one"}},
  {"url": "$BASE/cache?id=12&cc=max-age=600", "headers": {"X-Api-Key": "k1"}},
  {"url": "$BASE/cache?id=13&cc=max-age=600&vary=X-Lang", "headers": {"X-Lang": "fr"}}]',
  1, (SELECT opts FROM o)) ORDER BY url_index;
SELECT url_index, cache FROM api_fetch('[
  {"url": "$BASE/cache?id=10&cc=max-age=600", "headers": {"X-Request-Id": "b2"}},
  {"url": "$BASE/cache?id=11&cc=max-age=600", "headers": {"Authorization": "Bearer two"}},
  {"url": "$BASE/cache?id=12&cc=max-age=600", "headers": {"X-Api-Key": "k2"}},
  {"url": "$BASE/cache?id=13&cc=max-age=600&vary=X-Lang", "headers": {"X-Lang": "de"}},
  {"url": "$BASE/cache?id=13&cc=max-age=600&vary=X-Lang", "headers": {"X-Lang": "fr"}},
  {"url": "$BASE/cache?id=13&cc=max-age=600&vary=X-Lang", "headers": {"X-Lang": "de", "X-Trace": "z"}}]',
  1, (SELECT opts FROM o)) ORDER BY url_index;
-- 5.2.1: the request's Cache-Control and Pragma.
SELECT count(*) FROM api_fetch('["$BASE/cache?id=20&cc=max-age=600&etag=e20", "$BASE/cache?id=21&cc=max-age=0"]',
  2, (SELECT opts FROM o));
SELECT url_index, status, cache, error FROM api_fetch('[
  {"url": "$BASE/cache?id=20&cc=max-age=600&etag=e20", "headers": {"Cache-Control": "no-cache"}},
  {"url": "$BASE/cache?id=20&cc=max-age=600&etag=e20", "headers": {"Pragma": "no-cache"}},
  {"url": "$BASE/cache?id=20&cc=max-age=600&etag=e20", "headers": {"Cache-Control": "max-age=0"}},
  {"url": "$BASE/cache?id=20&cc=max-age=600&etag=e20", "headers": {"Cache-Control": "max-age=3600"}},
  {"url": "$BASE/cache?id=20&cc=max-age=600&etag=e20", "headers": {"Cache-Control": "min-fresh=3600"}},
  {"url": "$BASE/cache?id=20&cc=max-age=600&etag=e20", "headers": {"Cache-Control": "only-if-cached"}},
  {"url": "$BASE/cache?id=22&cc=max-age=600", "headers": {"Cache-Control": "only-if-cached"}},
  {"url": "$BASE/cache?id=21&cc=max-age=0", "headers": {"Cache-Control": "max-stale"}},
  {"url": "$BASE/cache?id=21&cc=max-age=0", "headers": {"Cache-Control": "only-if-cached"}},
  {"url": "$BASE/cache?id=23&cc=max-age=600", "headers": {"Cache-Control": "no-store"}}]',
  1, (SELECT opts FROM o)) ORDER BY url_index;
-- no-store stored nothing: the plain GET asks.
SELECT cache FROM api_fetch('["$BASE/cache?id=23&cc=max-age=600"]', 1, (SELECT opts FROM o));
.shell rm -f build/cache-keys.db build/cache-keys.db-wal build/cache-keys.db-shm
