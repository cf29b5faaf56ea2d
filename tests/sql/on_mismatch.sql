-- Schema confirmation: on_mismatch says what a value that does not fit its
-- declared column's type becomes. keep (the default): kept, listed in
-- _mismatches; null: NULL, still listed; reject: the record is an error row
-- naming the column and the value (or no row, or a failed statement, as
-- on_error says). api_fetch_stats counts each.
.load ./apifetch
-- exit status: 1
CREATE TABLE ids(id INTEGER);
INSERT INTO ids VALUES (1), (2);
CREATE VIRTUAL TABLE temp.k USING api_fetch(url_list='[
  "$BASE/raw?body={\"id\":1,\"v\":2.5}",
  "$BASE/raw?body={\"id\":\"x7\",\"v\":\"big\"}"]', columns='id INTEGER, v REAL');
SELECT id, v, _error, _mismatches FROM temp.k ORDER BY _url_index;
CREATE VIRTUAL TABLE temp.n USING api_fetch(url_list='[
  "$BASE/raw?body={\"id\":1,\"v\":2.5}",
  "$BASE/raw?body={\"id\":\"x7\",\"v\":\"big\"}"]', columns='id INTEGER, v REAL',
  on_mismatch='null');
SELECT _url_index, id, v, _error, _mismatches FROM temp.n ORDER BY _url_index;
SELECT name, value FROM api_fetch_stats()
 WHERE name IN ('rows', 'records', 'type_mismatches', 'mismatches_nulled', 'records_rejected');
-- reject: the record is an error row to a query that reads _error ...
CREATE VIRTUAL TABLE temp.r USING api_fetch(url_list='[
  "$BASE/raw?body=[{\"id\":1},{\"id\":\"x7\"},{\"id\":3}]"]', columns='id INTEGER',
  on_mismatch='reject');
SELECT _record_index, id, _status, _error FROM temp.r ORDER BY _record_index;
SELECT name, value FROM api_fetch_stats()
 WHERE name IN ('rows', 'records', 'type_mismatches', 'mismatches_nulled', 'records_rejected');
-- ... no row to one that does not (on_error's default there: skip) ...
SELECT id FROM temp.r ORDER BY id;
SELECT name, value FROM api_fetch_stats() WHERE name IN ('rows', 'records_rejected');
-- ... and a failed statement with on_error 'fail'.
CREATE VIRTUAL TABLE temp.f USING api_fetch(url_list='["$BASE/raw?body=[{\"id\":1},{\"id\":\"x7\"}]"]',
  columns='id INTEGER', on_mismatch='reject', on_error='fail');
SELECT id FROM temp.f;
CREATE VIRTUAL TABLE temp.bad USING api_fetch(url_list='[]', on_mismatch='drop');
