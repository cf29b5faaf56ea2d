-- shard "k/n": a process fetches only the starting URLs whose url_index % n
-- is k, and the pages that follow from them; url_index stays the index in
-- the whole list, so n shards' rows merge back (tests/py/shards.py runs 4
-- under GNU parallel; docs/scale-out.md).
.load ./apifetch
-- exit status: 1
.headers on
-- Shard 1 of 3 of five URLs: items 1 and 4, numbered as in the whole list.
SELECT url_index, data ->> 'id' AS id FROM api_fetch('["$BASE/obj?id=0&key=k0",
  "$BASE/obj?id=1&key=k1", "$BASE/obj?id=2&key=k2", "$BASE/obj?id=3&key=k3",
  "$BASE/obj?id=4&key=k4"]', 5, '{"shard": "1/3"}') ORDER BY url_index;
-- The other shards' URLs were never requested.
SELECT data -> '$.keys' AS requests_per_key FROM api_fetch('["$BASE/stats"]');
-- One URL a line, blank lines and comments not counted.
SELECT url_index, data ->> 'id' AS id FROM api_fetch('
$BASE/obj?id=0
# a comment

$BASE/obj?id=1
$BASE/obj?id=2', 5, '{"shard": "0/2"}') ORDER BY url_index;
-- url_query (the wide face): every row counts; the rows of other shards are
-- stepped over unread, so row 1, NULL, is shard 1's error, not shard 0's.
CREATE TABLE targets(u TEXT);
INSERT INTO targets VALUES ('$BASE/obj?id=10'), (NULL), ('$BASE/obj?id=12'), (NULL),
  ('$BASE/obj?id=14');
CREATE VIRTUAL TABLE temp.q USING api_fetch(shard='0/2', columns='id INTEGER',
  url_query='SELECT u FROM targets ORDER BY rowid');
SELECT _url_index, id FROM q ORDER BY _url_index;
-- Pagination follows each starting URL inside its shard.
SELECT url_index, page, count(*) AS n, min(data ->> 'id') AS first, max(data ->> 'id') AS last
  FROM api_fetch('["$BASE/items?total=25", "$BASE/items?total=12", "$BASE/items?total=7"]', 10,
    '{"record_path": "data", "paginate": {"type": "page", "total_pages": "meta.total_pages"},
      "shard": "1/2"}')
 GROUP BY url_index, page ORDER BY url_index, page;
-- The wide face: an argument, the same text.
CREATE VIRTUAL TABLE temp.posts USING api_fetch(shard='2/3', columns='id INTEGER, title TEXT',
  url_list='["$BASE/obj?id=0", "$BASE/obj?id=1", "$BASE/obj?id=2", "$BASE/obj?id=3",
  "$BASE/obj?id=4", "$BASE/obj?id=5"]');
SELECT _url_index, id, title FROM posts ORDER BY _url_index;
-- A shard past the end of the list has no rows; 0/1 is every URL.
SELECT count(*) FROM api_fetch('["$BASE/obj?id=0"]', 1, '{"shard": "3/4"}');
SELECT count(*) FROM api_fetch('["$BASE/obj?id=0", "$BASE/obj?id=1"]', 1, '{"shard": "0/1"}');
-- null: no shard (a profile's shard cleared).
SELECT count(*) FROM api_fetch('["$BASE/obj?id=0", "$BASE/obj?id=1"]', 1, '{"shard": null}');
-- Bad values say what is wrong.
SELECT * FROM api_fetch('[]', 1, '{"shard": "4/4"}');
SELECT * FROM api_fetch('[]', 1, '{"shard": "1/0"}');
SELECT * FROM api_fetch('[]', 1, '{"shard": "1 / 4"}');
SELECT * FROM api_fetch('[]', 1, '{"shard": "-1/4"}');
SELECT * FROM api_fetch('[]', 1, '{"shard": 1}');
SELECT * FROM api_fetch('[]', 1, '{"shard": "${env:K}/4"}');
CREATE VIRTUAL TABLE temp.bad USING api_fetch(url_list='[]', shard=1);
SELECT name, applies, type, "default" FROM api_fetch_options WHERE name = 'shard';
