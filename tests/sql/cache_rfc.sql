-- RFC 9111's parsing rules, end to end: each URL is fetched twice through
-- one cache file; "hit" the second time means the cache took the response
-- as fresh, "miss" that it did not.  The loopback server's /cache sends
-- the header fields the query asks for (expires_raw: Expires lines as
-- given, "|" between them; "+" is a space in a query).
.load ./apifetch
.headers on
.shell rm -f build/cache-rfc.db build/cache-rfc.db-wal build/cache-rfc.db-shm
CREATE TEMP TABLE u(name, url);
INSERT INTO u VALUES
  -- Age that is not a non-negative integer is ignored (5.1): still fresh.
  ('age abc',        '$BASE/cache?id=1&cc=max-age=600&age=abc'),
  ('age -7200',      '$BASE/cache?id=2&cc=max-age=600&age=-7200'),
  ('age 7200.0',     '$BASE/cache?id=3&cc=max-age=600&age=7200.0'),
  ('age 7200',       '$BASE/cache?id=4&cc=max-age=600&age=7200'),
  -- Expires: an IMF-fixdate, or already expired (5.3).
  ('expires ok',     '$BASE/cache?id=10&expires_raw=Thu,+01+Jan+2099+00:00:00+GMT'),
  ('2-digit year',   '$BASE/cache?id=11&expires_raw=Thu,+01+Jan+99+00:00:00+GMT'),
  ('no comma',       '$BASE/cache?id=12&expires_raw=Thu+01+Jan+2099+00:00:00+GMT'),
  ('extra spaces',   '$BASE/cache?id=13&expires_raw=Thu,++01+Jan+2099++00:00:00+GMT'),
  ('dashes',         '$BASE/cache?id=14&expires_raw=Thu,+01-Jan-2099+00:00:00+GMT'),
  ('1-digit hour',   '$BASE/cache?id=15&expires_raw=Thu,+01+Jan+2099+0:00:00+GMT'),
  ('two lines',      '$BASE/cache?id=16&expires_raw=Thu,+01+Jan+2099+00:00:00+GMT|Thu,+01+Jan+2099+00:00:00+GMT'),
  ('zone UTC',       '$BASE/cache?id=17&expires_raw=Thu,+01+Jan+2099+00:00:00+UTC'),
  ('RFC 850',        '$BASE/cache?id=18&expires_raw=Thursday,+01-Jan-2099+00:00:00+GMT'),
  -- Cache-Control by section 5.2's grammar: no spaces around '=', and a
  -- max-age given twice with different values is stale (4.2.1).
  ('max-age = 600',  '$BASE/cache?id=20&cc=max-age+=+600'),
  ('max-age=600a',   '$BASE/cache?id=21&cc=max-age=600a'),
  ('max-age=600.5',  '$BASE/cache?id=22&cc=max-age=600.5'),
  ('twice, 600, 0',  '$BASE/cache?id=23&cc=max-age=600,+max-age=0'),
  ('twice, 0, 600',  '$BASE/cache?id=24&cc=max-age=0,+max-age=600'),
  ('twice, same',    '$BASE/cache?id=25&cc=max-age=600,+max-age=600');
SELECT count(*) AS fetched FROM api_fetch((SELECT json_group_array(url) FROM u), 8,
  '{"cache": "build/cache-rfc.db"}');
SELECT u.name, f.cache FROM u JOIN api_fetch((SELECT json_group_array(url) FROM u), 8,
  '{"cache": "build/cache-rfc.db"}') AS f ON f.url = u.url ORDER BY u.rowid;
-- Methods are RFC 9110 tokens (9.1): M-SEARCH is one, "G T" is not.
SELECT status, data ->> 'method' AS method
  FROM api_fetch('[{"url": "$BASE/echo", "method": "m-search"}]');
.shell rm -f build/cache-rfc.db build/cache-rfc.db-wal build/cache-rfc.db-shm
SELECT error FROM api_fetch('[{"url": "$BASE/echo", "method": "G T"}]');
-- exit status: 1
