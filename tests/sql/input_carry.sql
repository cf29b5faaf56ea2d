-- Input rows carried into the output: what a request carried (a request
-- object's "input", a url_template item, a url_query row's other columns)
-- is the function's hidden column input and the wide face's _input, on
-- every row the request gives, its later pages' rows too; input_prefix
-- makes it columns of the wide face as well (dlt's include_from_parent).
-- exit status: 1
.load ./apifetch
-- The function: a request object's "input", any JSON value, as it is.
SELECT url_index, input, data ->> 'title' AS title
  FROM api_fetch('[{"url": "$BASE/obj?id=1", "input": {"sku": "a-1", "qty": 3}},
                   "$BASE/obj?id=2",
                   {"url": "$BASE/status/404", "input": [7, "x"]}]') ORDER BY url_index;
-- url_template: the item of parameters is the input.
SELECT input, data ->> 'title' FROM api_fetch('[{"id": 5, "tag": "x"}]', 1,
  '{"url_template": "$BASE/obj?id={id}"}');
-- Every page of a paginated URL carries its request's input.
SELECT page, count(*), min(input ->> 'owner'), max(input ->> 'owner')
  FROM api_fetch('[{"url": "$BASE/items?total=25", "input": {"owner": "ann"}},
                   {"url": "$BASE/items?total=5", "input": {"owner": "bob"}}]', 10,
    '{"record_path": "data", "paginate": {"type": "page", "total_pages": "meta.total_pages"}}')
 GROUP BY page, input ->> 'owner' ORDER BY input ->> 'owner', page;
-- The wide face from url_query: the row's columns after the first, by name,
-- typed as JSON; with input_prefix also as typed columns.
CREATE TABLE ids(id INTEGER, name TEXT, weight REAL);
INSERT INTO ids VALUES (1, 'one', 1.5), (2, 'two', NULL);
CREATE VIRTUAL TABLE temp.posts USING api_fetch(
  url_query='SELECT ''$BASE/obj?id='' || id, id AS id, name, weight FROM ids',
  input_prefix='parent_');
SELECT group_concat(name, ' ') FROM pragma_table_info('posts');
SELECT id, title, parent_id, parent_name, parent_weight, _input FROM temp.posts ORDER BY id;
SELECT typeof(parent_id), typeof(parent_weight) FROM temp.posts WHERE id = 1;
-- Without input_prefix, _input only; with url_template every column is carried.
CREATE VIRTUAL TABLE temp.t USING api_fetch(url_query='SELECT id, name FROM ids',
  url_template='$BASE/obj?id={id}', columns='id INTEGER, title TEXT');
SELECT id, title, _input FROM temp.t ORDER BY id;
-- A query of one column carries nothing; a request object's own "input" is
-- kept, but not beside other columns; a blob cannot be carried as JSON.
CREATE VIRTUAL TABLE temp.u USING api_fetch(url_query='SELECT json_object(''url'',
  ''$BASE/obj?id='' || id, ''input'', json_object(''n'', name)) FROM ids',
  columns='id INTEGER');
SELECT id, _input FROM temp.u ORDER BY id;
CREATE VIRTUAL TABLE temp.v USING api_fetch(url_query='SELECT ''$BASE/obj?id='' || id FROM ids',
  columns='id INTEGER');
SELECT id, _input IS NULL FROM temp.v ORDER BY id;
CREATE VIRTUAL TABLE temp.w USING api_fetch(url_query='SELECT json_object(''url'',
  ''$BASE/obj'', ''input'', 1), id FROM ids', columns='id INTEGER');
SELECT count(*) FROM temp.w;
CREATE VIRTUAL TABLE temp.x USING api_fetch(url_query='SELECT ''$BASE/obj'', x''00ff'' AS raw',
  columns='id INTEGER');
SELECT count(*) FROM temp.x;
