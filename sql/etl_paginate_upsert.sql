-- etl_paginate_upsert.sql: copy a paginated collection into a table.
-- Run again and again: rows are upserted, so reruns update, never duplicate.
-- Against a real API: replace $BASE/items with its collection URL and
-- adjust paginate (see README, "paginate").  `make demo` style: the tests
-- run it against the local server with $BASE filled in.
.load ./apifetch
.headers on

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
  FROM api_fetch('["$BASE/items?total=95&per_page=10"]', 10,
                 '{"record_path": "data", "max_attempts": 4,
                   "paginate": {"type": "page", "total_pages": "meta.total_pages"}}');

INSERT INTO fetch_errors SELECT url, status, error, datetime('now') FROM fetched WHERE error IS NOT NULL;

INSERT INTO items(id, name, page, fetched_at)
SELECT id, name, page, datetime('now') FROM fetched WHERE error IS NULL AND id IS NOT NULL
ON CONFLICT(id) DO UPDATE SET name = excluded.name, page = excluded.page,
                              fetched_at = excluded.fetched_at;

SELECT count(*) AS items, count(DISTINCT page) AS pages,
       (SELECT count(*) FROM fetch_errors) AS errors FROM items;
DROP TABLE fetched;
