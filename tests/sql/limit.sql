-- Closing the cursor early (LIMIT) returns promptly, cancels what is in
-- flight and starts nothing more.  1,000 URLs of 1 s each at concurrency 10
-- would take 100 s.
.load ./apifetch
.headers on
CREATE TEMP TABLE t0 AS SELECT julianday('now') AS t;
SELECT count(*) AS rows FROM (
  SELECT url FROM api_fetch((SELECT json_group_array('$BASE/obj?delay=1000&key=slow&id=' || value)
                               FROM generate_series(1, 1000)), 10)
   LIMIT 5);
SELECT (julianday('now') - t) * 86400 < 3.0 AS prompt FROM t0;
-- At most the first window and its refill were ever sent.
SELECT data ->> '$.keys.slow' <= 20 AS nothing_more_started FROM api_fetch('["$BASE/stats"]');
-- The cancelled transfers' connections were closed: after a short pause the
-- server has nothing in flight (it would still be serving 10 requests for
-- most of a second had they been left open).
SELECT count(*) AS paused FROM api_fetch('["$BASE/obj?delay=200"]');
SELECT data ->> '$.inflight' AS inflight_after_close FROM api_fetch('["$BASE/stats"]');
