-- on_status for a success whose body would be streamed (format ndjson,
-- src/chunk.c): a 200 named "skip", "error", "fail" or "retry" is not
-- records, so it is not given in parts.  One response is one verdict: no
-- row, one error row, the statement failing, or a retry -- as for a body
-- that fits in one part -- never a row per part, nor parts given as data.
.load ./apifetch
.headers on
SELECT count(*) AS rows, count(data) AS data, count(error) AS errors, max(error) AS error
  FROM api_fetch('["$BASE/ndjson?mb=1"]', 1, '{"format": "ndjson", "on_status": {"200": "error"}}');
SELECT count(*) AS rows FROM api_fetch('["$BASE/ndjson?mb=1"]', 1,
  '{"format": "ndjson", "on_status": {"2xx": "skip"}}');
SELECT count(*) AS rows, count(data) AS data, max(attempts) AS attempts
  FROM api_fetch('["$BASE/ndjson?mb=1"]', 1,
                 '{"format": "ndjson", "on_status": {"200": "retry"}, "max_attempts": 2, "retry_base_ms": 1}');
SELECT count(*) FROM api_fetch('["$BASE/ndjson?mb=1"]', 1, '{"format": "ndjson", "on_status": {"200": "fail"}}');
-- Unnamed, or named "data": streamed as before, every line a row.
SELECT count(*) AS rows, count(data) AS data FROM api_fetch('["$BASE/ndjson?mb=1"]', 1,
  '{"format": "ndjson", "on_status": {"200": "data", "404": "skip"}}');
-- exit status: 1
