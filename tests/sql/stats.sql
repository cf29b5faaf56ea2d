-- api_fetch_stats(): the counters of the last scan, by kind; progress on stderr.
.load ./apifetch
.headers on
SELECT count(*) FROM api_fetch('[
  "$BASE/obj?id=1", "$BASE/status/404", "$BASE/text", "$BASE/reset",
  "$BASE/raw?body=xx&status=200", "$BASE/huge?mb=1",
  "$BASE/flaky?key=s1&fail=1", "$BASE/slow?bytes=10&bps=1"]', 8,
  '{"max_attempts": 2, "retry_base_ms": 0, "max_bytes": 100000, "timeout_ms": 1500}');
SELECT name, value FROM api_fetch_stats()
 WHERE name NOT IN ('bytes', 'elapsed_ms', 'rate_wait_ms', 'open_files_limit');
SELECT value > 0 AS bytes_counted FROM api_fetch_stats() WHERE name = 'bytes';
SELECT value >= 1400 AS elapsed_counted FROM api_fetch_stats() WHERE name = 'elapsed_ms';
-- Time spent waiting for the rate limit: 5 requests at 10/s, burst 1.
SELECT count(*) FROM api_fetch('["$BASE/obj?id=1", "$BASE/obj?id=2", "$BASE/obj?id=3",
  "$BASE/obj?id=4", "$BASE/obj?id=5"]', 5, '{"rate": 10}');
SELECT value BETWEEN 300 AND 1000 AS rate_wait_ms_plausible FROM api_fetch_stats()
 WHERE name = 'rate_wait_ms';
-- Every counter is documented.
SELECT count(*) AS undocumented FROM api_fetch_stats() WHERE about IS NULL OR about = '';
-- progress: true prints a progress line on stderr (here only the final one:
-- the query is short); the runner replaces the rate with N.
SELECT count(*) FROM api_fetch('["$BASE/obj?id=1", "$BASE/obj?id=2"]', 2, '{"progress": true}');
SELECT count(*) FROM api_fetch('["$BASE/obj?id=1"]', 1, '{"progress": 1}');
SELECT count(*) FROM api_fetch('["$BASE/obj?id=1"]', 1, '{"progress": "yes"}');
-- A slow query's progress while it runs: tests/py/progress.py (the number
-- of lines depends on timing).
-- The shell ends with status 1, after the errors this file shows on purpose:
-- exit status: 1
