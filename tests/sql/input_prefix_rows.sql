-- input_prefix whatever the format: the parent's fields are columns of an
-- NDJSON response's lines too (the CREATE's sample learns them from the
-- lines, as from a JSON body's records), not only of a JSON body's records.
.load ./apifetch
CREATE TABLE ids(id INTEGER, tag TEXT);
INSERT INTO ids VALUES (1, 'a'), (2, 'b');
-- NDJSON: the sample infers p_id and p_tag, and each line has its parent's.
CREATE VIRTUAL TABLE temp.lines USING api_fetch(format='ndjson', input_prefix='p_',
  url_query='SELECT ''$BASE/ndjson?n=2&k='' || id, id, tag FROM ids');
SELECT group_concat(name, ' ') FROM pragma_table_info('lines');
SELECT p_id, p_tag, id, name FROM temp.lines ORDER BY p_id, id;
-- Declared columns: the same, without a sample.
CREATE VIRTUAL TABLE temp.declared USING api_fetch(format='ndjson', input_prefix='p_',
  columns='p_id INTEGER, id INTEGER',
  url_query='SELECT ''$BASE/ndjson?n=2&k='' || id, id FROM ids');
SELECT p_id, id, typeof(p_id) FROM temp.declared ORDER BY p_id, id;
-- The function face (input, one per row) was already right; unchanged.
SELECT record_index, input FROM api_fetch('[{"url": "$BASE/ndjson?n=2", "input": {"id": 3},
  "format": "ndjson"}]') ORDER BY record_index;
