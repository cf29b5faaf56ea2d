-- demo.sql: what apifetch is for, against the bundled local test server.
-- `make demo` builds the module and runs this file against a server of its
-- own.  By hand, from the repository root, with `make serve` running in a
-- second terminal (it serves 127.0.0.1:8080):
--
--   sqlite3 demo.db < sql/demo.sql
--
-- Against a real API: change the profile's base_url below (and add its key
-- to headers), then the paths.  `.load ./apifetch` is the module built here;
-- after `make install`, `.load apifetch` finds it from any directory.
.bail on
.load ./apifetch
.headers on
.mode box

-- The API: base_url is the one line to change; relative URLs resolve on it.
SELECT api_fetch_profile('demo', '{"base_url": "http://127.0.0.1:8080/"}') ->> 'base_url' AS api;

SELECT api_fetch_version() AS version;

-- 100 "slow" API calls (200 ms each) at concurrency 20: about 1 second,
-- not 20.  Each response is an object; data ->> pulls fields out.  (The
-- recursive CTE counts 1 to 100: generate_series is only in the sqlite3 shell.)
CREATE TEMP TABLE t0 AS SELECT julianday('now') AS t;
DROP TABLE IF EXISTS posts;          -- a second run starts afresh
CREATE TABLE posts AS
SELECT data ->> '$.id' AS id, data ->> '$.title' AS title,
       data ->> '$.author.name' AS author, status, attempts
  FROM api_fetch((WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < 100)
                  SELECT json_group_array('obj?delay=200&id=' || value) FROM n), 20,
                 '{"profile": "demo"}');
SELECT count(*) AS posts, round((julianday('now') - t) * 86400, 2) AS seconds FROM posts, t0;
SELECT * FROM posts ORDER BY id LIMIT 3;

-- Arrays become one row per element; record_path reaches nested arrays.
SELECT url_index, record_index, data
  FROM api_fetch('["wrap?n=2", "wrap?n=3"]', 2, '{"profile": "demo", "record_path": "data.items"}')
 ORDER BY url_index, record_index;

-- Flaky endpoints are retried with backoff; failures are rows, not surprises.
SELECT url, status, attempts, error
  FROM api_fetch('["flaky?key=demo&fail=2", "status/404", "http://127.0.0.1:1/down"]',
                 3, '{"profile": "demo", "retry_base_ms": 50}')
 ORDER BY url_index;

-- The wide face: flattened, typed columns, like pandas.json_normalize.
CREATE VIRTUAL TABLE temp.wide_posts USING api_fetch(
  url_list='["obj?id=1", "obj?id=2", "obj?id=3"]', profile='demo');
SELECT * FROM temp.wide_posts ORDER BY id;

-- A paginated collection of 50 pages, 200 ms each, at concurrency 10: the
-- first page gives the page count, the other 49 are fetched 10 at a time.
-- One page after another would take 50 x 0.2 s = 10 s.
UPDATE t0 SET t = julianday('now');
SELECT count(*) AS items, count(DISTINCT page) AS pages,
       round((julianday('now') - (SELECT t FROM t0)) * 86400, 2) AS seconds
  FROM api_fetch('["items?total=500&per_page=10&delay=200"]', 10,
                 '{"profile": "demo", "record_path": "data",
                   "paginate": {"type": "page", "total_pages": "meta.total_pages"}}');
