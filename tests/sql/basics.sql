-- The table-valued function: one row per record, exact JSON in `data`.
.load ./apifetch
.headers on
SELECT api_fetch_version() LIKE 'apifetch 0.2.0%, libcurl %, cJSON %' AS version_ok;

-- An object body is one record; `data` is JSON usable with ->>.
SELECT url_index, record_index, status, error, attempts, content_type,
       data ->> '$.title' AS title, data ->> '$.author.geo.lat' AS lat
  FROM api_fetch('["$BASE/obj?id=7"]');

-- An array body gives one row per element, in order within the response.
SELECT url_index, record_index, data FROM api_fetch('["$BASE/array?n=3"]');

-- Several URLs: rows arrive in completion order; url_index restores input order.
SELECT url_index, count(*) AS records, min(status), max(status)
  FROM api_fetch('["$BASE/array?n=2&delay=300", "$BASE/array?n=4", "$BASE/obj?id=1&delay=100"]', 3)
 GROUP BY url_index ORDER BY url_index;

-- The URLs can come from a query, through a scalar subquery.
CREATE TABLE targets(id INTEGER PRIMARY KEY);
INSERT INTO targets VALUES (3), (1), (2);
SELECT t.id, f.data ->> '$.title' AS title
  FROM api_fetch((SELECT json_group_array('$BASE/obj?id=' || id) FROM targets), 2) AS f
  JOIN targets t ON t.id = f.data ->> '$.id'
 ORDER BY t.id;

-- Or be plain text, one URL a line; blank lines and # comments are skipped.
SELECT url_index, data ->> '$.id' AS id FROM api_fetch('
# two posts
$BASE/obj?id=11

$BASE/obj?id=12
') ORDER BY url_index;

-- Integers beyond 2^53 keep every digit: data is the server's own text.
SELECT data, data ->> '$' AS sqlite_reads FROM api_fetch(
  '["$BASE/raw?body=%5B9007199254740993%2C1234567890123456789%2C123456789012345678901234567890%5D"]')
  ORDER BY record_index;

-- Unicode passes through untouched.
SELECT data FROM api_fetch('["$BASE/raw?body=%7B%22k%22%3A%22h%C3%A9llo%20%E2%9C%93%22%7D"]');

-- A response with no records still gives one row, so no URL goes missing:
-- an empty array, an empty 200 body, a 204.
SELECT url_index, status, error IS NULL AS ok, record_index, data
  FROM api_fetch('["$BASE/raw?body=%5B%5D", "$BASE/raw?body=", "$BASE/status/204"]')
 ORDER BY url_index;

-- Scalars are records too.
SELECT record_index, data FROM api_fetch('["$BASE/raw?body=%5B1%2C%22two%22%2Cnull%2Ctrue%5D"]')
 ORDER BY record_index;

-- The hidden arguments can be given by name, and read back as NULL.
SELECT count(*), url_list IS NULL FROM api_fetch WHERE url_list = '["$BASE/array?n=5"]' AND concurrency = 1;

-- An empty list is no work and no rows.
SELECT count(*) FROM api_fetch('[]');
SELECT count(*) FROM api_fetch('');
