-- Header-paced (issue 19): a server that tells its limit in rate-limit
-- fields is never sent more than it allows.  /limited allows 10 requests a
-- 1 s window per key; 25 URLs at concurrency 10 with one attempt each: the
-- first 10 go at once (nothing is known before the first answer), and sent
-- as fast as the window allows, the other 15 would be answered 429.  Each of
-- the three forms: GitHub's X-RateLimit-*, the IETF RateLimit fields, the
-- older draft's RateLimit-*.
.load ./apifetch
.headers on

SELECT 'github' AS form, count(*) AS rows, sum(status = 200) AS ok, sum(status = 429) AS s429
  FROM api_fetch((SELECT json_group_array('$BASE/limited/github?limit=10&key=g&id=' || value)
                    FROM generate_series(1, 25)), 10, '{"max_attempts": 1}');
SELECT 'ietf' AS form, count(*) AS rows, sum(status = 200) AS ok, sum(status = 429) AS s429
  FROM api_fetch((SELECT json_group_array('$BASE/limited/ietf?limit=10&key=i&id=' || value)
                    FROM generate_series(1, 25)), 10, '{"max_attempts": 1}');
SELECT 'draft' AS form, count(*) AS rows, sum(status = 200) AS ok, sum(status = 429) AS s429
  FROM api_fetch((SELECT json_group_array('$BASE/limited/draft?limit=10&key=d&id=' || value)
                    FROM generate_series(1, 25)), 10, '{"max_attempts": 1}');

-- The waits count as rate-limit wait, and the host's row says so.
SELECT value > 500 AS waited FROM api_fetch_stats WHERE name = 'rate_wait_ms';
SELECT host, requests, s2xx, s429, errors, limit_wait_ms > 500 AS waited, breaker
  FROM api_fetch_host_stats;

-- adaptive false: the fields are not read, and the window's budget is
-- overrun (what every request got before).
SELECT 'off' AS form, count(*) AS rows, sum(status = 429) > 0 AS some_429
  FROM api_fetch((SELECT json_group_array('$BASE/limited/github?limit=10&key=o&id=' || value)
                    FROM generate_series(1, 25)), 10, '{"max_attempts": 1, "adaptive": false}');
