-- A request that fails is one row with status and error, data NULL; the
-- other URLs are unaffected.  on_error chooses row (default), skip or fail.
.load ./apifetch
.headers on
CREATE TABLE r AS SELECT * FROM api_fetch('[
  "$BASE/obj?id=1",
  "$BASE/status/404",
  "$BASE/text",
  "$BASE/raw?body=%7B%22a%22%3A",
  "$BASE/raw?body=%5B1%2C2%5D%20x",
  "$BASE/html",
  "$BASE/status/500",
  "http://127.0.0.1:1/refused",
  "$BASE/nested?depth=100000",
  "$BASE/raw?hex=22ff22",
  "$BASE/bighdr?kb=101"
]', 4, '{"retry_base_ms": 1, "retry_max_ms": 5}');
-- (curl's detail for a refused connection includes a timing: print only its kind)
SELECT url_index, status, attempts,
       CASE WHEN error LIKE 'Couldn''t connect%' THEN substr(error, 1, instr(error, ':') - 1) ELSE error END AS error,
       data IS NULL AS no_data FROM r ORDER BY url_index;
SELECT count(*) AS rows, count(DISTINCT url_index) AS urls FROM r;

-- skip: failures give no row.
SELECT url_index, status FROM api_fetch('["$BASE/obj?id=1", "$BASE/status/404", "$BASE/obj?id=2"]', 2,
  '{"on_error": "skip"}') ORDER BY url_index;

-- fail: the statement fails, naming the item, the URL and the reason.
SELECT url_index FROM api_fetch('["$BASE/obj?id=1", "$BASE/status/404"]', 1, '{"on_error": "fail"}');
SELECT url_index FROM api_fetch('["$BASE/text"]', 1, '{"on_error": "fail"}');
-- The shell ends with status 1, after the errors this file shows on purpose:
-- exit status: 1
