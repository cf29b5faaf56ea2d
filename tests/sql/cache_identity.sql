-- Two identities must never share a cache entry (RFC 9111 section 4.1
-- keys on the URL and Vary; apifetch also keys what may tell callers
-- apart).  Each pair below is the same URL asked for twice with one
-- header changed: a header that may name the caller or pick the data is
-- keyed ("miss" the second time), one that is only per-request noise is
-- not ("hit": no request).
.load ./apifetch
.headers on
.shell rm -f build/cache-identity.db build/cache-identity.db-wal build/cache-identity.db-shm
CREATE TEMP TABLE o(opts);
INSERT INTO o VALUES ('{"cache": "build/cache-identity.db"}');
SELECT count(*) FROM api_fetch('[
  {"url": "$BASE/cache?id=1&cc=max-age=600", "headers": {"X-Customer": "acme"}},
  {"url": "$BASE/cache?id=2&cc=max-age=600", "headers": {"Subscription": "s-acme"}},
  {"url": "$BASE/cache?id=3&cc=max-age=600", "headers": {"X-Shop-Domain": "acme.example"}},
  {"url": "$BASE/cache?id=4&cc=max-age=600", "headers": {"Host": "acme.example"}},
  {"url": "$BASE/cache?id=5&cc=max-age=600", "headers": {"X-Request-Id": "r1"}},
  {"url": "$BASE/cache?id=6&cc=max-age=600", "headers": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}]',
  1, (SELECT opts FROM o));
SELECT url_index, cache FROM api_fetch('[
  {"url": "$BASE/cache?id=1&cc=max-age=600", "headers": {"X-Customer": "globex"}},
  {"url": "$BASE/cache?id=2&cc=max-age=600", "headers": {"Subscription": "s-globex"}},
  {"url": "$BASE/cache?id=3&cc=max-age=600", "headers": {"X-Shop-Domain": "globex.example"}},
  {"url": "$BASE/cache?id=4&cc=max-age=600", "headers": {"Host": "globex.example"}},
  {"url": "$BASE/cache?id=5&cc=max-age=600", "headers": {"X-Request-Id": "r2"}},
  {"url": "$BASE/cache?id=6&cc=max-age=600", "headers": {"traceparent": "00-1bf7651916cd43dd8448eb211c80319c-c7ad6b7169203331-01"}}]',
  1, (SELECT opts FROM o)) ORDER BY url_index;
-- A 304 that names a Vary the stored response did not (a server that
-- starts to negotiate on Accept-Language, which is not keyed by itself):
-- the entry then answers only the language it was confirmed for (RFC 9111
-- sections 4.1 and 4.3.4), not every request for the URL.
SELECT cache FROM api_fetch('[{"url": "$BASE/cache?id=7&cc=max-age=0&etag=e7&vary304=Accept-Language&cc304=max-age=600",
  "headers": {"Accept-Language": "fr"}}]', 1, (SELECT opts FROM o));
SELECT url_index, cache FROM api_fetch('[
  {"url": "$BASE/cache?id=7&cc=max-age=0&etag=e7&vary304=Accept-Language&cc304=max-age=600", "headers": {"Accept-Language": "fr"}},
  {"url": "$BASE/cache?id=7&cc=max-age=0&etag=e7&vary304=Accept-Language&cc304=max-age=600", "headers": {"Accept-Language": "fr"}},
  {"url": "$BASE/cache?id=7&cc=max-age=0&etag=e7&vary304=Accept-Language&cc304=max-age=600", "headers": {"Accept-Language": "de"}}]',
  1, (SELECT opts FROM o)) ORDER BY url_index;
-- Section 4.4 for every hop that got a non-error status: a PUT that a
-- 307 carries to a stored URL changed it there; a POST answered 200 whose
-- body was then refused (max_bytes) still had its effect.  Both make the
-- next GET of those URLs ask again.
SELECT count(*) FROM api_fetch('["$BASE/cache?id=8&cc=max-age=600", "$BASE/cache?id=9&cc=max-age=600"]',
  1, (SELECT opts FROM o));
SELECT status, error FROM api_fetch('[{"url": "$BASE/redirect?to=/cache%3Fid%3D8%26cc%3Dmax-age%3D600&code=307",
  "method": "PUT", "body": "x"}]', 1, (SELECT opts FROM o));
SELECT status, error FROM api_fetch('[{"url": "$BASE/cache?id=9&cc=max-age=600", "method": "POST", "body": "x"}]',
  1, '{"cache": "build/cache-identity.db", "max_bytes": 10}');
SELECT url_index, cache FROM api_fetch('["$BASE/cache?id=8&cc=max-age=600", "$BASE/cache?id=9&cc=max-age=600"]',
  1, (SELECT opts FROM o)) ORDER BY url_index;
-- A 304 that says Vary: * (section 4.1: matches no request): the entry
-- answers nothing after it, it is asked again.
SELECT url_index, cache FROM api_fetch('[
  "$BASE/cache?id=12&cc=max-age=0&etag=e12&vary304=*&cc304=max-age=600",
  "$BASE/cache?id=12&cc=max-age=0&etag=e12&vary304=*&cc304=max-age=600",
  "$BASE/cache?id=12&cc=max-age=0&etag=e12&vary304=*&cc304=max-age=600"]',
  1, (SELECT opts FROM o)) ORDER BY url_index;
.shell rm -f build/cache-identity.db build/cache-identity.db-wal build/cache-identity.db-shm
