-- The wide face: CREATE VIRTUAL TABLE ... USING api_fetch(...) gives
-- flattened, typed columns; metadata are hidden columns.
.load ./apifetch
.headers on

-- Columns inferred from the responses, nested objects joined with _, arrays
-- kept as JSON text, booleans as 0/1.
CREATE VIRTUAL TABLE temp.posts USING api_fetch(
  url_list='["$BASE/obj?id=1&key=p1", "$BASE/obj?id=2&key=p2"]', concurrency=2);
SELECT name, type FROM pragma_table_info('posts');
SELECT * FROM posts ORDER BY id;
-- CREATE then SELECT fetched each URL once: the sample is kept for the first scan.
SELECT data ->> '$.keys' AS requests_per_key FROM api_fetch('["$BASE/stats"]');
-- Metadata are hidden columns that a query can name.
SELECT _url_index, _record_index, _status, _error, _attempts, _elapsed_ms >= 0 AS ms,
       _content_type, _extra, _mismatches FROM posts ORDER BY _url_index;
-- Later scans fetch again (the one above and this one: 3 requests per URL).
SELECT count(*) FROM posts;
SELECT data ->> '$.keys' AS requests_per_key FROM api_fetch('["$BASE/stats"]');
-- CREATE TABLE AS gives a table whose declared types are the inferred ones.
CREATE TABLE posts_copy AS SELECT * FROM posts;
SELECT name, type FROM pragma_table_info('posts_copy');
SELECT typeof(id), typeof(done), typeof(author_geo_lat), typeof(tags) FROM posts_copy LIMIT 1;

-- Column order follows url_list, not arrival: the first URL is the slowest.
CREATE VIRTUAL TABLE temp.ordered USING api_fetch(url_list='[
  "$BASE/raw?body={\"b\":1,\"z\":{\"y\":2}}&delay=300",
  "$BASE/raw?body={\"a\":1}&delay=10"]', concurrency=2);
SELECT name FROM pragma_table_info('ordered');

-- Integers are exact, to the last digit; beyond 64 bits they are TEXT.
CREATE VIRTUAL TABLE temp.ints USING api_fetch(url_list='[
  "$BASE/raw?body={\"a\":9007199254740993,\"b\":1234567890123456789,\"c\":123456789012345678901234567890,\"d\":-9223372036854775808}"]');
SELECT name, type FROM pragma_table_info('ints');
SELECT a, typeof(a), b, c, typeof(c), d FROM ints;
CREATE TABLE ints_copy AS SELECT * FROM ints;
SELECT a, b, c, typeof(c) FROM ints_copy;

-- Strings become numbers only when the whole column is numeric and each
-- prints back exactly: "02134" and "12.50" stay text.
CREATE VIRTUAL TABLE temp.strs USING api_fetch(url_list='[
  "$BASE/raw?body=[{\"n\":\"42\",\"zip\":\"02134\",\"p\":\"12.50\",\"r\":\"2.5\"},{\"n\":\"-7\",\"zip\":\"12345\",\"p\":\"3\",\"r\":\"10\"}]"]');
SELECT name, type FROM pragma_table_info('strs');
SELECT n, typeof(n), zip, p, typeof(p), r, typeof(r) FROM strs;
-- A REAL column gives REAL for an integer too (pandas' float64), exactly up
-- to 2^53; beyond, a double would change the digits: the integer is kept
-- and counted as a mismatch.
CREATE VIRTUAL TABLE temp.reals USING api_fetch(url_list='[
  "$BASE/raw?body=[{\"b\":2.5},{\"b\":2},{\"b\":9007199254740992},{\"b\":9007199254740993}]"]');
SELECT b, typeof(b), _mismatches FROM reals;
-- numeric_strings='decimal' also takes "12.50" as 12.5; 'never' keeps all text.
CREATE VIRTUAL TABLE temp.strs2 USING api_fetch(url_list='[
  "$BASE/raw?body=[{\"n\":\"42\",\"p\":\"12.50\"},{\"n\":\"-7\",\"p\":\"3\"}]"]', numeric_strings='decimal');
SELECT p, typeof(p) FROM strs2;
CREATE VIRTUAL TABLE temp.strs3 USING api_fetch(url_list='[
  "$BASE/raw?body=[{\"n\":\"42\"}]"]', numeric_strings='never');
SELECT n, typeof(n) FROM strs3;

-- Timestamps with an offset are normalised to UTC; or kept; or unix epoch.
CREATE VIRTUAL TABLE temp.ts USING api_fetch(url_list='[
  "$BASE/raw?body=[{\"t\":\"2024-03-10T12:00:00%2B02:00\",\"u\":\"2024-01-01T00:00:00\"},{\"t\":\"2024-03-10T05:30:00.250-04:30\",\"u\":\"x\"},{\"t\":\"2000-01-01T00:30:00%2B01:00\"}]"]');
SELECT name, type FROM pragma_table_info('ts');
SELECT t, u FROM ts;
CREATE VIRTUAL TABLE temp.ts_keep USING api_fetch(url_list='[
  "$BASE/raw?body=[{\"t\":\"2024-03-10T12:00:00%2B02:00\"}]"]', timestamps='keep');
SELECT t FROM ts_keep;
CREATE VIRTUAL TABLE temp.ts_epoch USING api_fetch(url_list='[
  "$BASE/raw?body=[{\"t\":\"2024-03-10T12:00:00%2B02:00\"},{\"t\":\"1970-01-01T00:00:01.5Z\"}]"]', timestamps='epoch');
SELECT name, type FROM pragma_table_info('ts_epoch');
SELECT t, typeof(t) FROM ts_epoch;

-- Drift never loses data: keys the sample did not have go to _extra, values
-- that do not fit their column are kept as they are and listed, and both are
-- counted.  sample=1: only the first URL is used to infer the columns.
CREATE VIRTUAL TABLE temp.drift USING api_fetch(url_list='[
  "$BASE/raw?body={\"id\":1,\"v\":2.5}",
  "$BASE/raw?body={\"id\":\"x7\",\"v\":3,\"w\":{\"k\":[1]},\"extra\":null}&delay=100"]',
  sample=1, concurrency=1);
SELECT name, type FROM pragma_table_info('drift');
SELECT id, typeof(id), v, _extra, _mismatches FROM drift ORDER BY _url_index;
SELECT name, value FROM api_fetch_stats() WHERE name IN
  ('urls', 'rows', 'records', 'extra_keys', 'type_mismatches', 'errors');

-- Declared columns: no sampling; undeclared keys go to _extra.
CREATE VIRTUAL TABLE temp.decl USING api_fetch(url_list='["$BASE/obj?id=5&key=d1"]',
  columns='id INTEGER, "author_name" TEXT, done BOOLEAN, tags JSON, title REAL, missing TEXT');
SELECT data ->> '$.keys.d1' AS fetched_at_create FROM api_fetch('["$BASE/stats"]');
SELECT name, type FROM pragma_table_info('decl');
SELECT id, author_name, done, tags, title, missing, _extra, _mismatches FROM decl;

-- Name collisions: a second value for one name gets _2 (SQLite names ignore
-- case); a key named like a hidden column too.
CREATE VIRTUAL TABLE temp.names USING api_fetch(url_list='[
  "$BASE/raw?body={\"a_b\":1,\"a\":{\"b\":2},\"id\":3,\"ID\":4,\"_url\":\"u\",\"k\":5,\"k\":6}"]');
SELECT name FROM pragma_table_info('names');
SELECT * FROM names;

-- sep, max_level, record_path, meta with their prefixes.
CREATE VIRTUAL TABLE temp.lv USING api_fetch(url_list='["$BASE/obj?id=1"]', sep='.', max_level=1);
SELECT name, type FROM pragma_table_info('lv');
SELECT "author.name", "author.geo" FROM lv;
CREATE VIRTUAL TABLE temp.groups USING api_fetch(url_list='[
  "$BASE/raw?body={\"org\":\"acme\",\"groups\":[{\"name\":\"g1\",\"items\":[{\"sku\":\"a\"},{\"sku\":\"b\"}]},{\"name\":\"g2\",\"items\":[{\"sku\":\"c\"}]}]}"]',
  record_path='groups.items', meta='["org", ["groups", "name"]]', meta_prefix='m_',
  record_prefix='r_');
SELECT name FROM pragma_table_info('groups');
SELECT *, _record_index FROM groups;

-- Responses that fail give rows with _error and NULL data (or none: on_error).
CREATE VIRTUAL TABLE temp.mixed USING api_fetch(url_list='[
  "$BASE/obj?id=1", "$BASE/status/404", "$BASE/text", "$BASE/raw?body=[]"]');
SELECT id, _url_index, _status, _error, _record_index FROM mixed ORDER BY _url_index;
CREATE VIRTUAL TABLE temp.mixed_skip USING api_fetch(url_list='[
  "$BASE/obj?id=1", "$BASE/status/404"]', on_error='skip');
SELECT id, _url_index FROM mixed_skip;
-- The README's copy keeps failed URLs out of the data: a query that does not
-- read _error (SELECT *, so CREATE TABLE AS) gets no row for them; they are
-- counted in api_fetch_stats, and a query that reads _error lists them.
CREATE VIRTUAL TABLE temp.fetched USING api_fetch(url_list='[
  "$BASE/obj?id=1", "$BASE/status/404", "$BASE/obj?id=2"]', max_attempts=1);
CREATE TABLE fetched_copy AS SELECT * FROM temp.fetched ORDER BY id;
SELECT id, title FROM fetched_copy;
SELECT name, value FROM api_fetch_stats() WHERE name IN ('urls', 'rows', 'errors');
SELECT _url_index, _status, _error FROM temp.fetched WHERE _error IS NOT NULL;
SELECT count(*) AS data_rows FROM temp.fetched;
SELECT count(*) AS all_rows, count(_error) AS errors FROM temp.fetched;
-- An on_error given keeps its meaning: row gives the error row to SELECT *
-- too, skip gives it to no query.
CREATE VIRTUAL TABLE temp.fetched_row USING api_fetch(url_list='[
  "$BASE/obj?id=1", "$BASE/status/404"]', max_attempts=1, on_error='row');
SELECT id, title FROM fetched_row ORDER BY id;
SELECT _url_index, _error FROM mixed_skip WHERE _error IS NOT NULL;
-- So too on a table wider than 63 columns (SQLite's colUsed has a bit of
-- its own for the first 63 only, so the hidden columns come first).
CREATE VIRTUAL TABLE temp.wide70 USING api_fetch(url_query='
  SELECT ''$BASE/raw?body='' || (SELECT json_group_object(''k'' || value, value)
                                  FROM generate_series(1, 70))
  UNION ALL SELECT ''$BASE/status/404''', max_attempts=1);
SELECT count(*) AS columns FROM pragma_table_info('wide70');
SELECT count(*) AS data_rows, max(k70) FROM (SELECT * FROM wide70);
SELECT count(*) AS all_rows, count(_error) AS errors FROM wide70;

-- url_query: the URLs come from a query, read when the table is scanned.
CREATE TABLE targets(u TEXT);
INSERT INTO targets VALUES ('$BASE/obj?id=11'), ('$BASE/obj?id=12');
CREATE VIRTUAL TABLE temp.q USING api_fetch(url_query='SELECT u FROM targets ORDER BY rowid');
SELECT id, _url_index FROM q ORDER BY id;
INSERT INTO targets VALUES ('{"url": "$BASE/obj?id=13", "method": "GET"}');
SELECT id, _url_index FROM q ORDER BY id;

-- Options of the table-valued function are table arguments here too.
CREATE VIRTUAL TABLE temp.hdr USING api_fetch(url_list='["$BASE/echo"]',
  headers='{"X-Probe": "yes"}', timeout_ms=5000, user_agent='wide-test');
SELECT "headers_X-Probe", "headers_User-Agent", method FROM hdr;
