-- etl_incremental.sql: fetch only what changed since the last run.
-- Run it from the repository root, again and again on the same database
-- file, with `make serve` running in a second terminal (the bundled test
-- server, on 127.0.0.1:8080):
--
--   sqlite3 shop.db < sql/etl_incremental.sql
--
-- The first run loads the whole collection; each later run asks only for
-- the items whose updated_at is past the newest one already here (since=),
-- and upserts them: changed items are updated in place, new ones inserted.
-- The responses are kept in a cache file beside the database (shop.db ->
-- shop.db-apifetch-cache), cache_mode http: the API sends an ETag, so while
-- nothing changes, every run after the first to find nothing asks for the
-- same since= URL and gets a bodiless 304.
-- Against a real API: change the profile's base_url below (and add its key
-- to headers), "changes" to its collection's path, since to its "changed
-- after" parameter, and record_path and paginate (docs/pagination.md).  An
-- API whose since is "at or after" gives the newest items again each run:
-- the upsert makes that harmless.  `.load ./apifetch` is the module built
-- here; after `make install`, `.load apifetch` finds it from any directory.
-- tests/py/etl_incremental.py runs it six times on one file as changes
-- arrive.
.bail on
.load ./apifetch
.headers on

-- The API: base_url is the one line to change; relative URLs resolve on it.
SELECT api_fetch_profile('shop', '{"base_url": "http://127.0.0.1:8080/",
                                   "max_attempts": 3}') ->> 'base_url' AS api;

CREATE TABLE IF NOT EXISTS items(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  rev INTEGER,
  updated_at TEXT NOT NULL        -- the API's, ISO 8601 UTC: text order is time order
);
CREATE TABLE IF NOT EXISTS sync_log(
  run INTEGER PRIMARY KEY, at TEXT, since TEXT, pages INTEGER, fetched INTEGER,
  inserted INTEGER, updated INTEGER, from_cache INTEGER, errors INTEGER);

-- Where this run starts: the newest updated_at already stored ('' the first
-- time: everything), and the cache file named after the database (a
-- database in memory gets a cache in memory, which lasts this run only).
DROP TABLE IF EXISTS temp.sync;
CREATE TEMP TABLE sync AS
SELECT coalesce((SELECT max(updated_at) FROM items), '') AS since,
       (SELECT CASE file WHEN '' THEN ':memory:' ELSE file || '-apifetch-cache' END
          FROM pragma_database_list WHERE name = 'main') AS cache;

-- The changed items, 10 a page, the pages after the first fetched at once.
-- The options are built in SQL: since goes in as a query parameter.
DROP TABLE IF EXISTS temp.fetched;
CREATE TEMP TABLE fetched AS
SELECT f.url, f.page, f.status, f.error, f.cache,
       f.data ->> 'id' AS id, f.data ->> 'name' AS name,
       f.data ->> 'rev' AS rev, f.data ->> 'updated_at' AS updated_at
  FROM sync,
       api_fetch('["changes?per_page=10"]', 4,
                 json_object('profile', 'shop', 'query', json_object('since', sync.since),
                             'cache', sync.cache, 'cache_mode', 'http',
                             'record_path', 'data',
                             'paginate', json_object('type', 'page',
                                                     'total_pages', 'meta.total_pages'))) AS f;

INSERT INTO sync_log(at, since, pages, fetched, inserted, updated, from_cache, errors)
SELECT datetime('now'), (SELECT since FROM sync), count(DISTINCT url), count(id),
       count(id) FILTER (WHERE id NOT IN (SELECT id FROM items)),
       count(id) FILTER (WHERE id IN (SELECT id FROM items)),
       count(DISTINCT url) FILTER (WHERE cache IN ('hit', 'revalidated')),
       count(DISTINCT url) FILTER (WHERE error IS NOT NULL)
  FROM fetched;

-- The upsert, only if every page came: since is the newest updated_at
-- stored, so storing part of the changes would skip the rest for good.
-- A run with an error changes nothing (see sync_log); the next one retries.
-- Rows older than what is stored never overwrite it.
INSERT INTO items(id, name, rev, updated_at)
SELECT id, name, rev, updated_at FROM fetched
 WHERE id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM fetched WHERE error IS NOT NULL)
ON CONFLICT(id) DO UPDATE SET name = excluded.name, rev = excluded.rev,
                              updated_at = excluded.updated_at
 WHERE excluded.updated_at > items.updated_at;

-- Each since= is its own URL, so the cache holds one entry per run that
-- found changes: entries stored more than a week ago go.
SELECT since, pages, fetched, inserted, updated, from_cache, errors,
       api_fetch_cache_prune((SELECT cache FROM sync), '{"older_than_ms": 604800000}')
         AS cache_pruned
  FROM sync_log ORDER BY run DESC LIMIT 1;
SELECT count(*) AS items, max(updated_at) AS synced_to, sum(rev > 0) AS changed_since_load
  FROM items;
SELECT url, error FROM fetched WHERE error IS NOT NULL;
