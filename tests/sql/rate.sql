-- rate (requests per second) with burst, as a token bucket; per_host caps
-- connections to one host.
.load ./apifetch
.headers on
-- 11 requests at 20/s with burst 1 need at least 10 intervals of 50 ms.
CREATE TEMP TABLE t0 AS SELECT julianday('now') AS t;
SELECT count(*) AS rows FROM api_fetch((SELECT json_group_array('$BASE/obj?id=' || value)
  FROM generate_series(1, 11)), 10, '{"rate": 20}');
SELECT (julianday('now') - t) * 86400 >= 0.5 AS paced FROM t0;
-- With burst 10 the first 10 go at once: 11 requests need one interval.
DELETE FROM t0; INSERT INTO t0 VALUES (julianday('now'));
SELECT count(*) AS rows FROM api_fetch((SELECT json_group_array('$BASE/obj?delay=100&id=' || value)
  FROM generate_series(1, 11)), 20, '{"rate": 2, "burst": 10}');
SELECT data ->> '$.max_inflight' AS burst_in_flight FROM api_fetch('["$BASE/stats"]');
SELECT (julianday('now') - t) * 86400 BETWEEN 0.4 AND 3.0 AS one_interval FROM t0;
SELECT count(*) FROM api_fetch('["$BASE/stats/reset"]');

-- per_host 3: never more than 3 requests at once to the host, though the
-- window is 20.
SELECT count(*) AS rows FROM api_fetch((SELECT json_group_array('$BASE/obj?delay=200&id=' || value)
  FROM generate_series(1, 15)), 20, '{"per_host": 3}');
SELECT data ->> '$.max_inflight' AS max_inflight, data ->> '$.connections' AS connections
  FROM api_fetch('["$BASE/stats"]');
