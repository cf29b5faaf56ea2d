-- api_fetch_columns(table): the columns= declaration of a wide table's
-- columns, to declare the same table in a database file (which must not
-- infer).  The types say what inference chose, TIMESTAMP and ANY included,
-- and names that are not plain words are quoted.
.load ./apifetch
.headers on
CREATE VIRTUAL TABLE temp.posts USING api_fetch(
  url_list='["$BASE/obj?id=1", "$BASE/obj?id=2"]', concurrency=2);
SELECT api_fetch_columns('temp.posts') AS columns;
SELECT api_fetch_columns('posts') AS unqualified;
CREATE VIRTUAL TABLE temp.kinds USING api_fetch(url_list='[
  "$BASE/raw?body={\"n\":1,\"at\":\"2024-03-10T12:00:00%2B02:00\",\"full%20name\":\"a\",\"q\\\"x\":2,\"none\":null,\"tags\":[1],\"r\":1.5,\"s\":\"7\"}"]');
SELECT api_fetch_columns('temp.kinds') AS columns;
-- A declared table gives back its declaration, in the same words.
CREATE VIRTUAL TABLE temp.decl USING api_fetch(url_list='["$BASE/obj?id=1"]',
  columns='id INTEGER, raw JSON, created TIMESTAMP, x');
SELECT api_fetch_columns('temp.decl') AS columns;
-- The declaration read back declares the same columns.
CREATE VIRTUAL TABLE temp.again USING api_fetch(url_list='["$BASE/obj?id=1"]',
  columns='id INTEGER, title TEXT, done INTEGER, tags TEXT, author_name TEXT, author_geo_lat REAL, author_geo_lng REAL');
SELECT api_fetch_columns('temp.again') = api_fetch_columns('temp.posts') AS same;
-- A key named as a hidden column (all twelve) makes a data column of
-- another name: the hidden columns' names are the reserved names.
CREATE VIRTUAL TABLE temp.clash USING api_fetch(url_list='[
  "$BASE/raw?body={\"_url\":1,\"_url_index\":2,\"_record_index\":3,\"_status\":4,\"_error\":5,\"_attempts\":6,\"_elapsed_ms\":7,\"_content_type\":8,\"_extra\":9,\"_mismatches\":10,\"_page\":11,\"_cache\":12}"]');
SELECT api_fetch_columns('temp.clash') AS columns;
SELECT _status, _error IS NULL AS ok, _extra IS NULL AS no_extra FROM temp.clash;
-- Errors name the function and the table.
SELECT api_fetch_columns('temp.nosuch');
CREATE TABLE plain(a);
SELECT api_fetch_columns('plain');
SELECT api_fetch_columns(NULL);
-- The shell ends with status 1, after the errors this file shows on purpose:
-- exit status: 1
