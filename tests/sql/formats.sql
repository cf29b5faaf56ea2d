-- The format option: how a body becomes records (json, ndjson, text, blob, auto).
-- exit status: 1
.load ./apifetch
.headers on
-- Today's default: a text body is not JSON, an error row.
SELECT status, error, data FROM api_fetch('["$BASE/text"]', 1);
-- text: the body as one TEXT value; blob: its bytes, with content_type.
SELECT status, error, typeof(data) AS t, data, content_type
  FROM api_fetch('["$BASE/text"]', 1, '{"format": "text"}');
SELECT typeof(data) AS t, hex(data) AS bytes, content_type
  FROM api_fetch('["$BASE/raw?hex=89504e470d0a00ff&type=image/png"]', 1, '{"format": "blob"}');
-- The charset is respected: Latin-1 converted, UTF-8 checked, an unknown one named.
SELECT data, hex(data) AS utf8 FROM api_fetch(
  '["$BASE/raw?hex=636166e9&type=text/plain;%20charset=ISO-8859-1"]', 1, '{"format": "text"}');
SELECT data FROM api_fetch('["$BASE/raw?hex=636166c3a9&type=text/plain;charset=utf-8"]', 1,
  '{"format": "text"}');
SELECT error, data FROM api_fetch('["$BASE/raw?hex=636166e9&type=text/plain"]', 1,
  '{"format": "text"}');
SELECT error FROM api_fetch('["$BASE/raw?hex=6361&type=text/plain;charset=x-klingon"]', 1,
  '{"format": "text"}');
-- An empty body is an empty value, not a missing one.
SELECT typeof(data) AS t, length(data) AS n FROM api_fetch('["$BASE/raw?body=&type=text/plain"]', 1,
  '{"format": "text"}');
-- A failed request is an error row whatever the format.
SELECT status, error, data FROM api_fetch('["$BASE/status/404"]', 1, '{"format": "text"}');
-- ndjson: one record a line, record_index the line's number from 0; a bad line
-- is an error row naming it, the other lines still arrive; blank lines skipped.
SELECT record_index, error, data ->> 'id' AS id FROM api_fetch('["$BASE/ndjson?n=4&bad=2"]', 1,
  '{"format": "ndjson"}');
SELECT record_index, data ->> 'name' AS name FROM api_fetch('["$BASE/ndjson?n=2&blank=1"]', 1,
  '{"format": "ndjson"}');
-- An empty NDJSON body is one row with no data: every URL shows.
SELECT url_index, status, record_index, error, data FROM api_fetch(
  '["$BASE/raw?body=&type=application/x-ndjson"]', 1, '{"format": "ndjson"}');
-- RFC 7464 sequences: the record separator (0x1E) before each text is white space.
SELECT data FROM api_fetch('["$BASE/raw?hex=1e7b2261223a317d0a1e7b2261223a327d0a&type=application/json-seq"]',
  1, '{"format": "auto"}');
-- on_error applies to a bad line as to a failed request.
SELECT record_index, data ->> 'id' AS id FROM api_fetch('["$BASE/ndjson?n=3&bad=2"]', 1,
  '{"format": "ndjson", "on_error": "skip"}');
SELECT count(*) FROM api_fetch('["$BASE/ndjson?n=3&bad=2"]', 1,
  '{"format": "ndjson", "on_error": "fail"}');
-- A multi-MB body, streamed in parts: every line once, the bad ones named.
SELECT count(*) AS rows, count(data) AS records, max(record_index) AS last,
       count(DISTINCT data ->> 'id') AS ids
  FROM api_fetch('["$BASE/ndjson?mb=4&bad=5,20000"]', 1, '{"format": "ndjson"}');
SELECT error FROM api_fetch('["$BASE/ndjson?mb=4&bad=5,20000"]', 1, '{"format": "ndjson"}')
 WHERE error IS NOT NULL;
SELECT name, value FROM api_fetch_stats WHERE name IN ('urls', 'rows', 'records', 'errors', 'errors_body');
-- Cut off after rows were given: every whole line that came is a row, once, then an
-- error row saying how many; not retried (that would give them twice).
SELECT count(data) = 1 + max(record_index) AS given_once, max(attempts) AS attempts,
       max(error) LIKE 'Transferred a partial file%, after its first % lines were given (not retried: they would be given twice)' AS said
  FROM api_fetch('["$BASE/ndjson?n=20000&cut=15000"]', 1, '{"format": "ndjson", "retry_base_ms": 1}');
SELECT count(data) AS given, 1 + max(record_index) AS last,
       max(error) LIKE '%after its first 15000 lines were given%' AS counted
  FROM api_fetch('["$BASE/ndjson?n=20000&cut=15000"]', 1, '{"format": "ndjson", "retry_base_ms": 1}');
-- Before any row was given, a failure is retried as ever.
SELECT attempts, error FROM api_fetch('["$BASE/ndjson?n=20&cut=10"]', 1,
  '{"format": "ndjson", "retry_base_ms": 1, "max_attempts": 2}');
-- max_bytes still bounds the whole streamed response.
SELECT count(data) > 0 AS some, max(error) LIKE 'response body exceeds max_bytes (1000000 bytes), '
       || 'after its first % lines were given (not retried%' AS said
  FROM api_fetch('["$BASE/ndjson?mb=2"]', 1, '{"format": "ndjson", "max_bytes": 1000000}');
-- The cache keeps a body of one part; one given in parts is not kept, a miss each time.
SELECT url_index, count(*) AS rows, group_concat(DISTINCT cache) AS cache FROM api_fetch(
  '["$BASE/ndjson?n=50", "$BASE/ndjson?mb=2"]', 1,
  '{"format": "ndjson", "cache": ":memory:", "cache_mode": "ttl"}') GROUP BY url_index;
SELECT url_index, count(*) AS rows, group_concat(DISTINCT cache) AS cache FROM api_fetch(
  '["$BASE/ndjson?n=50", "$BASE/ndjson?mb=2"]', 1,
  '{"format": "ndjson", "cache": ":memory:", "cache_mode": "ttl"}') GROUP BY url_index;
SELECT name, value FROM api_fetch_stats WHERE name IN ('cache_hits', 'cache_misses');
-- auto: chosen from Content-Type; an unknown type gives the bytes, never a guess.
SELECT url_index, content_type, typeof(data) AS t, substr(data, 1, 20) AS data
  FROM api_fetch('["$BASE/obj", "$BASE/html", "$BASE/ndjson?n=2", "$BASE/raw?hex=00ff&type=application/octet-stream"]',
                 1, '{"format": "auto"}') ORDER BY url_index, record_index;
-- Per request object, over the call's format.
SELECT url_index, typeof(data) AS t, error FROM api_fetch(
  '[{"url": "$BASE/text", "format": "text"}, "$BASE/text"]', 1) ORDER BY url_index;
SELECT * FROM api_fetch('[{"url": "$BASE/text", "format": "html"}]', 1);
SELECT * FROM api_fetch('["$BASE/text"]', 1, '{"format": "csv"}');
SELECT * FROM api_fetch('["$BASE/text"]', 1, '{"format": "ndjson", "record_path": "a"}');
-- The wide face: NDJSON records flatten like any others; the sample infers from the lines.
CREATE VIRTUAL TABLE temp.lines USING api_fetch(
  url_list='["$BASE/ndjson?n=3&bad=2", "$BASE/ndjson?n=2"]', format=ndjson);
SELECT name, type FROM pragma_table_info('lines');
SELECT _url_index, _record_index, _error, id, name, geo_lat, tags FROM temp.lines
 ORDER BY _url_index, _record_index;
-- A body streamed in parts: the sample reads and learns from its first part only, and
-- the scans give every line (the sample's part is not given in the response's place).
CREATE VIRTUAL TABLE temp.big USING api_fetch(url_list='["$BASE/ndjson?mb=20", "$BASE/ndjson?n=5"]',
  format=ndjson, max_bytes=100000000, request_log='sample_log');
SELECT url_index, error, bytes < 1000000 AS small FROM sample_log ORDER BY url_index;
SELECT _url_index, count(*), count(id), max(_record_index) FROM temp.big GROUP BY 1;
SELECT _url_index, count(*), count(id), max(_record_index) FROM temp.big GROUP BY 1;
-- text and blob are one value for the function's data column, not records to flatten.
CREATE VIRTUAL TABLE temp.page USING api_fetch(url_list='["$BASE/text"]', format=text);
