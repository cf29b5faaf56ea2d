-- etl_enrich.sql: enrich a table of IDs from a per-ID endpoint.
-- The URLs are built from the table by url_template + url_query, fetched
-- 20 at a time, flattened into typed columns, and joined back.  Run it
-- from the repository root, with `make serve` running in a second terminal
-- (the bundled test server, on 127.0.0.1:8080):
--
--   sqlite3 crm.db < sql/etl_enrich.sql
--
-- Against a real API: change the profile's base_url below (and add its key
-- to headers), url_template's path, and the table of IDs.  `.load
-- ./apifetch` is the module built here; after `make install`, `.load
-- apifetch` finds it from any directory.
.bail on
.load ./apifetch
.headers on

-- The API: base_url is the one line to change; url_template resolves on it.
SELECT api_fetch_profile('crm', '{"base_url": "http://127.0.0.1:8080/",
                                  "max_attempts": 3, "timeout_ms": 10000}') ->> 'base_url' AS api;

-- 40 customers (the recursive CTE counts 1 to 40: generate_series is only
-- in the sqlite3 shell).
CREATE TABLE IF NOT EXISTS customers(id INTEGER PRIMARY KEY, segment TEXT);
WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < 40)
INSERT OR IGNORE INTO customers(id, segment)
  SELECT value, CASE value % 3 WHEN 0 THEN 'gold' ELSE 'std' END FROM n;

-- One request per customer: /obj?id=<id>.  The columns (id, title, done,
-- tags, author_name, author_geo_lat, ...) are inferred from the first
-- responses; every customer's row is fetched once.
CREATE VIRTUAL TABLE temp.details USING api_fetch(
  url_template='obj?id={id}',
  url_query='SELECT id FROM customers ORDER BY id',
  concurrency=20, profile='crm');

DROP TABLE IF EXISTS customer_details;
CREATE TABLE customer_details AS SELECT * FROM temp.details;

-- Every customer accounted for: a details row, or an error to look at.
SELECT c.segment, count(*) AS customers, count(d.id) AS enriched
  FROM customers c LEFT JOIN customer_details d ON d.id = c.id
 GROUP BY c.segment ORDER BY c.segment;
SELECT name, type FROM pragma_table_info('customer_details') LIMIT 4;
