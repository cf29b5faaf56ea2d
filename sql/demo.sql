-- demo.sql: what apifetch is for, against the bundled local test server.
-- Run it with `make demo` (which starts the server and fills in $BASE).
.load ./apifetch
.headers on
.mode box

SELECT api_fetch_version() AS version;

-- 100 "slow" API calls (200 ms each) at concurrency 20: about 1 second,
-- not 20.  Each response is an object; data ->> pulls fields out.  (The
-- recursive CTE counts 1 to 100: generate_series is only in the sqlite3 shell.)
CREATE TEMP TABLE t0 AS SELECT julianday('now') AS t;
CREATE TABLE posts AS
SELECT data ->> '$.id' AS id, data ->> '$.title' AS title,
       data ->> '$.author.name' AS author, status, attempts
  FROM api_fetch((WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < 100)
                  SELECT json_group_array('$BASE/obj?delay=200&id=' || value) FROM n), 20);
SELECT count(*) AS posts, round((julianday('now') - t) * 86400, 2) AS seconds FROM posts, t0;
SELECT * FROM posts ORDER BY id LIMIT 3;

-- Arrays become one row per element; record_path reaches nested arrays.
SELECT url_index, record_index, data
  FROM api_fetch('["$BASE/wrap?n=2", "$BASE/wrap?n=3"]', 2, '{"record_path": "data.items"}')
 ORDER BY url_index, record_index;

-- Flaky endpoints are retried with backoff; failures are rows, not surprises.
SELECT url, status, attempts, error
  FROM api_fetch('["$BASE/flaky?key=demo&fail=2", "$BASE/status/404", "http://127.0.0.1:1/down"]',
                 3, '{"retry_base_ms": 50}')
 ORDER BY url_index;

-- The wide face: flattened, typed columns, like pandas.json_normalize.
CREATE VIRTUAL TABLE temp.wide_posts USING api_fetch(
  url_list='["$BASE/obj?id=1", "$BASE/obj?id=2", "$BASE/obj?id=3"]');
SELECT * FROM temp.wide_posts ORDER BY id;

-- A paginated collection of 50 pages, 200 ms each, at concurrency 10: the
-- first page gives the page count, the other 49 are fetched 10 at a time.
-- One page after another would take 50 x 0.2 s = 10 s.
UPDATE t0 SET t = julianday('now');
SELECT count(*) AS items, count(DISTINCT page) AS pages,
       round((julianday('now') - (SELECT t FROM t0)) * 86400, 2) AS seconds
  FROM api_fetch('["$BASE/items?total=500&per_page=10&delay=200"]', 10,
                 '{"record_path": "data", "paginate": {"type": "page", "total_pages": "meta.total_pages"}}');
