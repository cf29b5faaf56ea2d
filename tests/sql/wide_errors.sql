-- The wide face: bad arguments are SQL errors that name the problem; bad
-- responses are error rows; nothing crashes or hangs.
.load ./apifetch
.headers on
CREATE VIRTUAL TABLE temp.e1 USING api_fetch;
CREATE VIRTUAL TABLE temp.e2 USING api_fetch(concurrency=2);
CREATE VIRTUAL TABLE temp.e3 USING api_fetch(url_list='["$BASE/obj"]', url_query='SELECT 1');
CREATE VIRTUAL TABLE temp.e4 USING api_fetch(url_list='["$BASE/obj"]', bogus=1);
CREATE VIRTUAL TABLE temp.e5 USING api_fetch(url_list='["$BASE/obj"]', concurrency);
CREATE VIRTUAL TABLE temp.e6 USING api_fetch(url_list='["$BASE/obj"]', concurrency=0);
CREATE VIRTUAL TABLE temp.e7 USING api_fetch(url_list='["$BASE/obj"]', sample=-1);
CREATE VIRTUAL TABLE temp.e8 USING api_fetch(url_list='["$BASE/obj"]', timestamps='local');
CREATE VIRTUAL TABLE temp.e9 USING api_fetch(url_list='["$BASE/obj"]', numeric_strings=1);
CREATE VIRTUAL TABLE temp.e10 USING api_fetch(url_list='["$BASE/obj"]', timeout_ms='soon');
CREATE VIRTUAL TABLE temp.e11 USING api_fetch(url_list='["$BASE/obj"]', on_error='ignore');
CREATE VIRTUAL TABLE temp.e12 USING api_fetch(url_list='["$BASE/obj"]', meta='["x"]');
CREATE VIRTUAL TABLE temp.e13 USING api_fetch(url_list='["$BASE/obj"]', sample=1, sample=2);
CREATE VIRTUAL TABLE temp.e2b USING api_fetch(url_list='["$BASE/obj"]', timeout_ms=5, timeout_ms=6);
SELECT api_fetch_profile('p', '{}') IS NOT NULL AND api_fetch_profile('q', '{}') IS NOT NULL AS defined;
CREATE VIRTUAL TABLE temp.e2c USING api_fetch(url_list='["$BASE/obj"]', profile='p', profile='q');
CREATE VIRTUAL TABLE temp.e14 USING api_fetch(url_list='["$BASE/obj", 7]');
CREATE VIRTUAL TABLE temp.e15 USING api_fetch(url_list='["file:///etc/passwd"]');
CREATE VIRTUAL TABLE temp.e16 USING api_fetch(url_list='["$BASE/obj"]', columns='id VARCHAR(10)');
CREATE VIRTUAL TABLE temp.e17 USING api_fetch(url_list='["$BASE/obj"]', columns='id INTEGER, ID TEXT');
CREATE VIRTUAL TABLE temp.e18 USING api_fetch(url_list='["$BASE/obj"]', columns='_url TEXT');
CREATE VIRTUAL TABLE temp.e19 USING api_fetch(url_list='["$BASE/obj"]', columns=' ');
CREATE VIRTUAL TABLE temp.e20 USING api_fetch(url_list='["$BASE/obj"]', max_columns=3);
SELECT name FROM pragma_table_info('e20');
SELECT _extra FROM e20;
-- No columns to infer: a clear error, with the first response's error.
CREATE VIRTUAL TABLE temp.e21 USING api_fetch(url_list='["$BASE/status/500", "$BASE/raw?body=[]"]',
  max_attempts=1);
CREATE VIRTUAL TABLE temp.e22 USING api_fetch(url_list='["$BASE/wrap?n=1"]', record_path='meta');

-- url_query must be one read-only statement.
CREATE TABLE targets(u TEXT);
INSERT INTO targets VALUES (NULL);
CREATE VIRTUAL TABLE temp.q1 USING api_fetch(url_query='DELETE FROM targets', columns='id INTEGER');
SELECT * FROM q1;
CREATE VIRTUAL TABLE temp.q2 USING api_fetch(url_query='SELECT 1; SELECT 2', columns='id INTEGER');
SELECT * FROM q2;
CREATE VIRTUAL TABLE temp.q3 USING api_fetch(url_query='SELECT u FROM targets', columns='id INTEGER');
SELECT * FROM q3;
CREATE VIRTUAL TABLE temp.q4 USING api_fetch(url_query='SELECT ''gopher://x''', columns='id INTEGER');
SELECT * FROM q4;
CREATE VIRTUAL TABLE temp.q5 USING api_fetch(url_query='SELECT nosuch FROM targets');
SELECT count(*) FROM targets;

-- A view or trigger in the database cannot make a wide table fetch
-- (SQLITE_VTAB_DIRECTONLY); the TEMP schema is the application's own, trusted.
CREATE VIRTUAL TABLE main.ok USING api_fetch(url_list='["$BASE/obj?id=1"]');
CREATE VIEW v AS SELECT id FROM ok;
SELECT * FROM v;
CREATE TABLE log(x);
CREATE TRIGGER tr AFTER INSERT ON log BEGIN SELECT id FROM ok; END;
INSERT INTO log VALUES (1);
SELECT id FROM ok;

-- Bad bodies: each an error row naming the problem, the other URLs still there.
CREATE VIRTUAL TABLE temp.bodies USING api_fetch(url_list='[
  "$BASE/obj?id=1",
  "$BASE/raw?body={\"a\":1",
  "$BASE/nested?depth=100000",
  "$BASE/raw?hex=7b2261223a2280ff227d",
  "$BASE/raw?body={\"id\":2,\"id\":3}",
  "$BASE/bigstring?mb=50",
  "$BASE/wrap?n=1"]', sample=1, concurrency=1);
SELECT _url_index, id, _error,
       CASE WHEN length(_extra)>100 THEN 'long: ' || length(_extra) ELSE _extra END AS extra
  FROM bodies ORDER BY _url_index;
-- A 50 MB string is a value like any other (max_bytes bounds it).
CREATE VIRTUAL TABLE temp.big USING api_fetch(url_list='["$BASE/bigstring?mb=50"]');
SELECT id, length(s) FROM big;
CREATE VIRTUAL TABLE temp.big2 USING api_fetch(url_list='["$BASE/bigstring?mb=50"]',
  max_bytes=1000000, columns='id INTEGER, s TEXT');
SELECT id, _error FROM big2;
-- record_path that points at a non-array, after the sample: an error row.
CREATE VIRTUAL TABLE temp.rp USING api_fetch(url_list='[
  "$BASE/wrap?n=2", "$BASE/raw?body={\"data\":{\"items\":{\"id\":1}}}"]',
  record_path='data.items', sample=1, concurrency=1);
SELECT id, _url_index, _error FROM rp ORDER BY _url_index, id;
-- Found by fuzzing: a value with text after it; a deep chain of long keys
-- stops being flattened once the name passes 256 bytes (it stays JSON).
CREATE VIRTUAL TABLE temp.junk USING api_fetch(url_list='["$BASE/obj"]', timeout_ms='5000abc');
CREATE VIRTUAL TABLE temp.deep USING api_fetch(url_list='[
  "$BASE/raw?body={\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":{\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\":{\"ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\":{\"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\":{\"e\":{\"f\":1}}}}}}"]');
SELECT length(name), type FROM pragma_table_info('deep');
SELECT * FROM deep;
-- A url_query that reads its own table, directly or through another, is an
-- error, not a recursion until the stack ends; so is a chain of tables
-- reading tables more than 8 deep.  A chain within the bound works.
CREATE VIRTUAL TABLE temp.selfref USING api_fetch(url_query='SELECT _url FROM temp.selfref', columns='x');
SELECT count(*) FROM temp.selfref;
CREATE VIRTUAL TABLE temp.ping USING api_fetch(url_query='SELECT _url FROM temp.pong', columns='x');
CREATE VIRTUAL TABLE temp.pong USING api_fetch(url_query='SELECT _url FROM temp.ping', columns='x');
SELECT count(*) FROM temp.ping;
CREATE TABLE chain_src(url TEXT);
INSERT INTO chain_src VALUES ('$BASE/obj?id=7');
CREATE VIRTUAL TABLE temp.c0 USING api_fetch(url_query='SELECT url FROM chain_src', columns='id INTEGER');
CREATE VIRTUAL TABLE temp.c1 USING api_fetch(url_query='SELECT _url FROM temp.c0', columns='id INTEGER');
CREATE VIRTUAL TABLE temp.c2 USING api_fetch(url_query='SELECT _url FROM temp.c1', columns='id INTEGER');
CREATE VIRTUAL TABLE temp.c3 USING api_fetch(url_query='SELECT _url FROM temp.c2', columns='id INTEGER');
CREATE VIRTUAL TABLE temp.c4 USING api_fetch(url_query='SELECT _url FROM temp.c3', columns='id INTEGER');
CREATE VIRTUAL TABLE temp.c5 USING api_fetch(url_query='SELECT _url FROM temp.c4', columns='id INTEGER');
CREATE VIRTUAL TABLE temp.c6 USING api_fetch(url_query='SELECT _url FROM temp.c5', columns='id INTEGER');
CREATE VIRTUAL TABLE temp.c7 USING api_fetch(url_query='SELECT _url FROM temp.c6', columns='id INTEGER');
CREATE VIRTUAL TABLE temp.c8 USING api_fetch(url_query='SELECT _url FROM temp.c7', columns='id INTEGER');
SELECT 'c7' AS t, id FROM temp.c7;
SELECT 'c8' AS t, id FROM temp.c8;
-- The shell ends with status 1, after the errors this file shows on purpose:
-- exit status: 1
