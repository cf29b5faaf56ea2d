-- etl_paginate_upsert.sql: copy a paginated collection into a table.
-- Run it from the repository root, again and again on one database file,
-- with `make serve` running in a second terminal (the bundled test server,
-- on 127.0.0.1:8080): rows are upserted, so reruns update, never duplicate.
--
--   sqlite3 shop.db < sql/etl_paginate_upsert.sql
--
-- Against a real API: change the profile's base_url below (and add its key
-- to headers), "items" to its collection's path, and paginate
-- (docs/pagination.md).  `.load ./apifetch` is the module built here; after
-- `make install`, `.load apifetch` finds it from any directory.
.bail on
.load ./apifetch
.headers on

-- The API: base_url is the one line to change; relative URLs resolve on it.
SELECT api_fetch_profile('shop', '{"base_url": "http://127.0.0.1:8080/",
                                   "max_attempts": 4}') ->> 'base_url' AS api;

CREATE TABLE IF NOT EXISTS items(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  page INTEGER,
  fetched_at TEXT
);
CREATE TABLE IF NOT EXISTS fetch_errors(url TEXT, status INTEGER, error TEXT, at TEXT);

-- The first page says how many pages there are; the other 9 are then
-- fetched 10 at a time.  One statement: fetch, check, upsert.
CREATE TEMP TABLE fetched AS
SELECT url, page, status, error, data ->> 'id' AS id, data ->> 'name' AS name
  FROM api_fetch('["items?total=95&per_page=10"]', 10,
                 '{"profile": "shop", "record_path": "data",
                   "paginate": {"type": "page", "total_pages": "meta.total_pages"}}');

INSERT INTO fetch_errors SELECT url, status, error, datetime('now') FROM fetched WHERE error IS NOT NULL;

INSERT INTO items(id, name, page, fetched_at)
SELECT id, name, page, datetime('now') FROM fetched WHERE error IS NULL AND id IS NOT NULL
ON CONFLICT(id) DO UPDATE SET name = excluded.name, page = excluded.page,
                              fetched_at = excluded.fetched_at;

SELECT count(*) AS items, count(DISTINCT page) AS pages,
       (SELECT count(*) FROM fetch_errors) AS errors FROM items;
DROP TABLE fetched;
