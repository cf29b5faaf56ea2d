-- deadline_ms bounds the whole query: what is in flight is cancelled and
-- every request not answered gets an error row (nothing goes missing).
.load ./apifetch
.headers on
CREATE TEMP TABLE t0 AS SELECT julianday('now') AS t;
SELECT count(*) AS rows, count(DISTINCT url_index) AS urls, error, status IS NULL AS no_status
  FROM api_fetch((SELECT json_group_array('$BASE/obj?delay=3000&id=' || value)
                    FROM generate_series(1, 20)), 5, '{"deadline_ms": 500}')
 GROUP BY error ORDER BY error;
SELECT (julianday('now') - t) * 86400 < 2.0 AS prompt FROM t0;
-- Fast requests finish before the deadline and are unaffected.
SELECT count(*) AS rows, sum(error IS NULL) AS ok
  FROM api_fetch('["$BASE/obj?id=1", "$BASE/obj?id=2"]', 2, '{"deadline_ms": 5000}');
-- with on_error fail, the deadline fails the statement.
SELECT count(*) FROM api_fetch('["$BASE/obj?delay=3000"]', 1, '{"deadline_ms": 200, "on_error": "fail"}');
-- The shell ends with status 1, after the errors this file shows on purpose:
-- exit status: 1
