-- Bad input gets an SQL error that names the argument and the problem.
.load ./apifetch
SELECT * FROM api_fetch();
SELECT * FROM api_fetch(NULL);
SELECT * FROM api_fetch(42);
SELECT * FROM api_fetch(x'00');
SELECT * FROM api_fetch('["$BASE/obj",');
SELECT * FROM api_fetch('{"url": "$BASE/obj"}');
SELECT * FROM api_fetch('["$BASE/obj", 3]');
SELECT * FROM api_fetch('["$BASE/obj", ["$BASE/obj"]]');
SELECT * FROM api_fetch('[{"url": "$BASE/obj", "verb": "GET"}]');
SELECT * FROM api_fetch('[{"method": "GET"}]');
SELECT * FROM api_fetch('[{"url": "$BASE/obj", "headers": {"X": 1}}]');
SELECT * FROM api_fetch('[{"url": "$BASE/obj", "headers": {"X": "a\r\nInjected: 1"}}]');
-- A NUL character is an error naming it, not a silent cut (the text after
-- it would be lost) nor an out-of-memory.
SELECT * FROM api_fetch('$BASE/obj?id=1' || char(0) || 'http://evil.example/');
SELECT * FROM api_fetch('[{"url": "$BASE/echo", "method": "POST", "form": {"a\u0000": "b"}}]');
SELECT * FROM api_fetch('[{"id": "1\u0000"}]', 1, '{"url_template": "$BASE/obj?id={id}"}');
SELECT * FROM api_fetch('[{"id": {"a": 1}}]', 1, '{"url_template": "$BASE/obj?id={id}"}');
SELECT * FROM api_fetch('["$BASE/echo"]', 1, '{"query": {"k": "v\u0000&admin=1"}}');
SELECT * FROM api_fetch('["$BASE/echo"]', 1, '{"user_agent": "abc\u0000def"}');
SELECT * FROM api_fetch('["$BASE/echo"]', 1, '{"user_agent": "abc\\u0000def"}') LIMIT 0;
SELECT * FROM api_fetch('[{"url": "$BASE/echo", "headers": {"X-A": "abc\u0000def"}}]');
SELECT api_fetch_config('{"allow_hosts": ["a.example\u0000.evil"]}');
CREATE VIRTUAL TABLE temp.nul0 USING api_fetch(url_list='["$BASE/obj"]', headers='{"X-A": "a\u0000b"}');
CREATE VIRTUAL TABLE temp.nul USING api_fetch(url_query='SELECT x''41004242'' AS id',
  url_template='$BASE/obj?id={id}', columns='id INTEGER');
SELECT * FROM temp.nul;
CREATE VIRTUAL TABLE temp.nul2 USING api_fetch(url_query='SELECT ''$BASE/obj'' || char(0) AS u', columns='id INTEGER');
SELECT * FROM temp.nul2;
-- Bounded: at most 256 query parameters and 100 headers (beyond that the
-- work per request grows with the square), and a parameter given once.
WITH RECURSIVE n(i) AS (VALUES(1) UNION ALL SELECT i+1 FROM n WHERE i<257)
SELECT * FROM api_fetch('["$BASE/obj"]', 1, (SELECT json_object('query', json_group_object('p' || i, i)) FROM n));
WITH RECURSIVE n(i) AS (VALUES(1) UNION ALL SELECT i+1 FROM n WHERE i<101)
SELECT * FROM api_fetch('["$BASE/obj"]', 1, (SELECT json_object('headers', json_group_object('X-' || i, 'v')) FROM n));
WITH RECURSIVE n(i) AS (VALUES(1) UNION ALL SELECT i+1 FROM n WHERE i<101)
SELECT * FROM api_fetch((SELECT json_array(json_object('url', '$BASE/obj', 'headers', json_group_object('X-' || i, 'v'))) FROM n));
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"query": {"a": 1, "a": 2}}');
-- ... nor through the other options that become header lines.
SELECT * FROM api_fetch('["$BASE/echo"]', 1, '{"user_agent": "x\r\nInjected: 1"}');
SELECT * FROM api_fetch('["$BASE/echo"]', 1, '{"bearer": "t\r\nInjected: 1"}');
SELECT * FROM api_fetch('["$BASE/echo"]', 1, '{"basic": "u:p\nInjected: 1"}');
SELECT * FROM api_fetch('["ftp://example.com/file"]');
SELECT * FROM api_fetch('["file:///etc/passwd"]');
SELECT * FROM api_fetch('["http://exa mple.com/"]');
SELECT * FROM api_fetch('["/relative/path"]');
SELECT * FROM api_fetch('not a url');
SELECT * FROM api_fetch('["$BASE/obj"]', 0);
SELECT * FROM api_fetch('["$BASE/obj"]', 10001);
SELECT * FROM api_fetch('["$BASE/obj"]', 'many');
SELECT * FROM api_fetch('["$BASE/obj"]', 2.5);
SELECT * FROM api_fetch('["$BASE/obj"]', 1, 'fast');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '[1]');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"speed": 11}');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"timeout_ms": "5s"}');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"timeout_ms": 0}');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"max_attempts": 1.5}');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"on_error": "ignore"}');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"retry_unsafe": "yes"}');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"record_path": 3}');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"headers": "X: 1"}');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"rate": 5, "rate": 6}');
-- None of the above sent a request.
SELECT data ->> '$.requests' AS requests FROM api_fetch('["$BASE/stats"]');
-- NULL concurrency and options mean the defaults.
SELECT count(*) FROM api_fetch('["$BASE/obj"]', NULL, NULL);
-- Found by fuzzing: a huge number, text after the options object, a
-- record_path longer than 32 keys, a header with a lone surrogate escape.
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"timeout_ms": 1e300}');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"timeout_ms": 5000} trailing');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"record_path": "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a"}');
SELECT * FROM api_fetch('[{"url": "$BASE/obj", "headers": {"X-A": "\ud800"}}]');
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"paginate": {"per_page": 5}}');
-- The shell ends with status 1, after the errors this file shows on purpose:
-- exit status: 1
