-- on_status: per status or class ("4xx"), what a response with that final
-- status gives: "data" (its body parsed as records, like a 200), "skip"
-- (no row), "error" (an error row), "fail" (the statement fails) or
-- "retry" (retried as a 503 is).  An exact code wins over its class;
-- statuses it does not name, and failures without a status, follow
-- on_error as before.
.load ./apifetch
.headers on

-- A 404 whose body is the answer: a row of data, no error.
SELECT url_index, status, error, data FROM api_fetch('["$BASE/status/404", "$BASE/obj?id=1"]',
  2, '{"on_status": {"404": "data"}}') WHERE url_index=0;

-- skip drops a 404 and keeps the 500's error row, which on_error "skip"
-- would have dropped too.
SELECT url_index, status, error FROM api_fetch('["$BASE/status/404", "$BASE/status/500",
  "$BASE/obj?id=2"]', 3, '{"on_status": {"404": "skip"}, "max_attempts": 1}')
 ORDER BY url_index;

-- An exact code wins over its class: 404 data, the rest of 4xx skipped.
SELECT url_index, status, error, data ->> 'status' AS body FROM api_fetch('["$BASE/status/404",
  "$BASE/status/410", "$BASE/status/400"]', 3, '{"on_status": {"4xx": "skip", "404": "data"}}')
 ORDER BY url_index;

-- error overrides on_error "skip" for the statuses it names.
SELECT url_index, status, error FROM api_fetch('["$BASE/status/409", "$BASE/status/404"]', 2,
  '{"on_error": "skip", "on_status": {"409": "error"}}') ORDER BY url_index;

-- fail: the statement fails at the first 5xx, while 4xx stay error rows.
SELECT url_index, status FROM api_fetch('["$BASE/status/404"]', 1,
  '{"on_status": {"5xx": "fail"}}');
SELECT url_index, status FROM api_fetch('["$BASE/status/503"]', 1,
  '{"on_status": {"5xx": "fail"}, "max_attempts": 2, "retry_base_ms": 1}');

-- retry: a 409 "try again" is retried with the usual backoff, up to
-- max_attempts; without it, a 409 is final at once.
SELECT status, attempts, data ->> 'attempt' AS attempt
  FROM api_fetch('["$BASE/flaky?key=c1&fail=2&code=409"]', 1,
  '{"on_status": {"409": "retry"}, "retry_base_ms": 1}');
SELECT status, attempts, error FROM api_fetch('["$BASE/flaky?key=c2&fail=2&code=409"]', 1,
  '{"retry_base_ms": 1}');
SELECT status, attempts, error FROM api_fetch('["$BASE/flaky?key=c3&fail=9&code=409"]', 1,
  '{"on_status": {"4xx": "retry"}, "max_attempts": 3, "retry_base_ms": 1}');

-- A 2xx may be named too: a 204 skipped.
SELECT count(*) AS rows FROM api_fetch('["$BASE/status/204"]', 1, '{"on_status": {"204": "skip"}}');

-- Through a profile, and on the wide face as an argument.
SELECT api_fetch_profile('lenient', '{"on_status": {"404": "data"}}') IS NOT NULL AS ok;
SELECT status, error, data FROM api_fetch('["$BASE/status/404"]', 1, '{"profile": "lenient"}');
SELECT status, error FROM api_fetch('["$BASE/status/404"]', 1,
  '{"profile": "lenient", "on_status": null}');
CREATE VIRTUAL TABLE temp.w USING api_fetch(url_list='["$BASE/status/404", "$BASE/status/410"]',
  on_status='{"404": "data", "410": "error"}');
SELECT _url_index, _status, _error, status FROM temp.w ORDER BY _url_index;

-- Mistakes are errors that name them.
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"on_status": {"4xy": "skip"}}');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"on_status": {"600": "skip"}}');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"on_status": {"404": "ignore"}}');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"on_status": {"404": 1}}');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"on_status": ["404"]}');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"on_status": {"404": "skip", "404": "data"}}');
-- exit status: 1
