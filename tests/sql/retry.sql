-- Retries: connect errors, timeouts, resets and 408/425/429/500/502/503/504
-- are retried with backoff; `attempts` tells how many tries were made.
.load ./apifetch
.headers on

-- Fails twice with 503, then answers: three attempts.
SELECT status, attempts, error, data ->> '$.attempt' AS server_attempt
  FROM api_fetch('["$BASE/flaky?key=a&fail=2"]', 1, '{"retry_base_ms": 10}');

-- Each retryable status.
SELECT url_index, status, attempts FROM api_fetch('[
  "$BASE/flaky?key=s408&fail=1&code=408", "$BASE/flaky?key=s425&fail=1&code=425",
  "$BASE/flaky?key=s429&fail=1&code=429", "$BASE/flaky?key=s500&fail=1&code=500",
  "$BASE/flaky?key=s502&fail=1&code=502", "$BASE/flaky?key=s504&fail=1&code=504",
  "$BASE/flaky?key=s404&fail=1&code=404", "$BASE/flaky?key=s400&fail=1&code=400"]', 8,
  '{"retry_base_ms": 1}') ORDER BY url_index;

-- max_attempts bounds the tries; the last status and error are reported.
SELECT status, attempts, error FROM api_fetch('["$BASE/flaky?key=b&fail=9"]', 1,
  '{"max_attempts": 4, "retry_base_ms": 1}');
SELECT status, attempts FROM api_fetch('["$BASE/flaky?key=c&fail=9"]', 1,
  '{"max_attempts": 1}');

-- Transport failures are retried too: refused, reset, truncated, timed out
-- (breaker 0: four failures in a row on one host would open its circuit).
SELECT url_index, attempts, substr(error, 1, instr(error, ':') - 1) AS error_kind FROM api_fetch('[
  "http://127.0.0.1:1/", "$BASE/reset", "$BASE/truncated", "$BASE/obj?delay=3000"]', 4,
  '{"max_attempts": 2, "retry_base_ms": 1, "timeout_ms": 300, "breaker": 0}') ORDER BY url_index;

-- Retry-After in delta-seconds is honoured (backoff alone would be ~1 ms).
SELECT status, attempts, elapsed_ms >= 1000 AS waited_retry_after
  FROM api_fetch('["$BASE/flaky?key=d&fail=1&code=429&retry_after=1"]', 1,
                 '{"retry_base_ms": 1, "retry_max_ms": 1}');
-- ... and as an HTTP-date (2 s ahead: at least 1 s after rounding to seconds).
SELECT status, attempts, elapsed_ms >= 1000 AS waited_retry_after
  FROM api_fetch('["$BASE/flaky?key=e&fail=1&code=503&retry_after_date=2"]', 1,
                 '{"retry_base_ms": 1, "retry_max_ms": 1}');
-- A Retry-After longer than retry_after_max_ms is not slept through: the
-- request ends at once with an error that says why.
SELECT status, attempts, error, elapsed_ms < 1000 AS prompt
  FROM api_fetch('["$BASE/flaky?key=f&fail=1&code=429&retry_after=3600"]', 1,
                 '{"retry_after_max_ms": 5000}');

-- POST and PATCH are not retried unless retry_unsafe says so.
SELECT status, attempts FROM api_fetch('[{"url": "$BASE/flaky?key=g&fail=1", "method": "POST", "body": {"x": 1}}]');
SELECT status, attempts FROM api_fetch('[{"url": "$BASE/flaky?key=h&fail=1", "method": "PATCH", "body": "x"}]');
SELECT status, attempts FROM api_fetch('[{"url": "$BASE/flaky?key=i&fail=1", "method": "POST"}]', 1,
  '{"retry_unsafe": true, "retry_base_ms": 1}');
-- PUT and DELETE are idempotent and retried.
SELECT status, attempts FROM api_fetch('[{"url": "$BASE/flaky?key=j&fail=1", "method": "PUT", "body": "x"},
  {"url": "$BASE/flaky?key=k&fail=1", "method": "DELETE"}]', 2, '{"retry_base_ms": 1}');
-- A POST that could not even connect was never sent, so it is retried.
SELECT attempts FROM api_fetch('[{"url": "http://127.0.0.1:1/", "method": "POST"}]', 1,
  '{"retry_base_ms": 1}');

-- The server saw exactly the attempts reported above.
SELECT data ->> '$.keys.a' AS a, data ->> '$.keys.b' AS b, data ->> '$.keys.g' AS g,
       data ->> '$.keys.i' AS i
  FROM api_fetch('["$BASE/stats"]');
