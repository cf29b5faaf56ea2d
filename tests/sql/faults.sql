-- The fault matrix: one query over a good URL and every kind of fault.  Each
-- fault is an error row that says what happened, the good URL still gives
-- its row, nothing is lost, and the whole query ends in bounded time.
-- (How many attempts each took depends on timing, so it is not shown; the
-- retry rules have their own test, retry.sql.)
.load ./apifetch
.headers on
CREATE TEMP TABLE matrix(i INTEGER PRIMARY KEY, fault TEXT, url TEXT);
INSERT INTO matrix(fault, url) VALUES
  ('good',                    '$BASE/obj?id=1'),
  ('connection refused',      'http://127.0.0.1:9/refused'),
  ('reset mid-body',          '$BASE/reset_mid'),
  ('truncated body',          '$BASE/truncated'),
  ('accepts, never answers',  '$BASE/hang'),
  ('1 byte/s trickle',        '$BASE/slow?bytes=1000&bps=1'),
  ('1 GB body',               '$BASE/huge?mb=1024'),
  ('gzip bomb (256 MiB)',      '$BASE/gzipbomb'),
  ('redirect loop',           '$BASE/loop'),
  ('redirect to file://',     '$BASE/redirect?to=file:///etc/passwd'),
  ('redirect to gopher://',   '$BASE/redirect?to=gopher://127.0.0.1:70/x'),
  ('malformed JSON',          '$BASE/raw?body={"a":'),
  ('100,000-deep nesting',    '$BASE/nested?depth=100000'),
  ('invalid UTF-8',           '$BASE/raw?hex=7b2261223a2280ff227d'),
  ('429 storm, Retry-After: 3600', '$BASE/flaky?key=storm&fail=1000&code=429&retry_after=3600'),
  ('unresolvable host',       'http://nonexistent.invalid/x'),
  ('self-signed TLS',         '$TLS_BASE/conn');
-- An unresolvable host fails in the resolver: at once when the name server
-- says so, or by the timeout when it is slow to (a loaded machine, a
-- silent name server).  Both are the right error row; the test accepts either.
-- Every fault is on one host: breaker 0, or its circuit (host_limits.sql)
-- would end the last ones before their own error.
SELECT m.i, m.fault, f.status,
       CASE WHEN m.fault = 'unresolvable host' AND f.error LIKE 'Timeout was reached: Resolving timed out%'
            THEN 'Couldn''t resolve host name: Could not resolve host: nonexistent.invalid'
            ELSE f.error END AS error,
       f.data IS NOT NULL AS has_data
  FROM api_fetch((SELECT json_group_array(url) FROM (SELECT url FROM matrix ORDER BY i)), 20,
                 '{"timeout_ms": 4000, "connect_timeout_ms": 4000, "retry_base_ms": 10,
                   "breaker": 0}') AS f
  JOIN matrix AS m ON m.i = f.url_index + 1
 ORDER BY m.i;
-- Bounded: the slowest faults take 3 attempts of 4 s (about 12.5 s; the
-- 4 s leave room for a loaded machine, where 2 s saw a truncated body time
-- out before its first byte, and the third attempt lets a row that timed
-- out once still reach its own answer); without the bounds one would take
-- an hour or forever.
SELECT value < 30000 AS bounded_time FROM api_fetch_stats() WHERE name = 'elapsed_ms';
SELECT name, value FROM api_fetch_stats() WHERE name IN ('urls', 'rows', 'errors');
-- The same with the self-signed server's CA trusted: that row succeeds.
SELECT status, error IS NULL AS ok FROM api_fetch('["$TLS_BASE/conn"]', 1, '{"ca_file": "$CA_FILE"}');
-- The timeout itself holds: a server that never answers costs timeout_ms,
-- give or take scheduling, not more (elapsed_ms and libcurl's clock are
-- read a moment apart and rounded down: 299 has been seen).
SELECT elapsed_ms BETWEEN 290 AND 1500 AS timeout_honoured, error LIKE 'Timeout was reached%' AS says_timeout
  FROM api_fetch('["$BASE/hang"]', 1, '{"timeout_ms": 300, "max_attempts": 1}');
