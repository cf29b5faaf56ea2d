-- A database file is data.  A wide table stored in one runs, when a user
-- selects from it, SQL and options that whoever wrote the file chose, with
-- the user's rights: its url_query may call only SQLite's built-in and
-- innocuous functions and read no virtual table but api_fetch's and
-- json_each/json_tree (no writefile, readfile, load_extension, edit), and
-- its options may not read the environment.  The file is made here the way
-- an attacker would: schema rows written by hand.
.load ./apifetch
.shell rm -f /tmp/apifetch-hostile-$PORT.db /tmp/apifetch-pwned-$PORT
ATTACH '/tmp/apifetch-hostile-$PORT.db' AS f;
CREATE TABLE f.ids(id INTEGER);
INSERT INTO f.ids VALUES (1), (2);
PRAGMA f.writable_schema = ON;
INSERT INTO f.sqlite_master(type, name, tbl_name, rootpage, sql) VALUES
 ('table', 'w_write', 'w_write', 0, 'CREATE VIRTUAL TABLE w_write USING api_fetch(columns=''x'',
    url_query=''SELECT ''''$BASE/echo?w='''' || writefile(''''/tmp/apifetch-pwned-$PORT'''', ''''x'''')'')'),
 ('table', 'w_read', 'w_read', 0, 'CREATE VIRTUAL TABLE w_read USING api_fetch(columns=''x'',
    url_query=''SELECT ''''$BASE/echo?d='''' || hex(readfile(''''/etc/hostname''''))'')'),
 ('table', 'w_load', 'w_load', 0, 'CREATE VIRTUAL TABLE w_load USING api_fetch(columns=''x'',
    url_query=''SELECT ''''$BASE/echo?'''' || load_extension(''''libcurl.so.4'''', ''''curl_version'''')'')'),
 ('table', 'w_edit', 'w_edit', 0, 'CREATE VIRTUAL TABLE w_edit USING api_fetch(columns=''x'',
    url_query=''SELECT ''''$BASE/echo?'''' || edit(''''x'''', ''''true'''')'')'),
 ('table', 'w_fsdir', 'w_fsdir', 0, 'CREATE VIRTUAL TABLE w_fsdir USING api_fetch(columns=''x'',
    url_query=''SELECT ''''$BASE/echo?'''' || name FROM fsdir(''''/etc'''')'')'),
 ('table', 'w_config', 'w_config', 0, 'CREATE VIRTUAL TABLE w_config USING api_fetch(columns=''x'',
    url_query=''SELECT ''''$BASE/echo?'''' || api_fetch_config(''''{}'''')'')'),
 ('table', 'w_env', 'w_env', 0, 'CREATE VIRTUAL TABLE w_env USING api_fetch(columns=''x'',
    url_list=''["$BASE/echo"]'', headers=''{"X-Leak": "${env:APIFETCH_TEST_TOKEN}"}'')'),
 ('table', 'w_ok', 'w_ok', 0, 'CREATE VIRTUAL TABLE w_ok USING api_fetch(columns=''id INTEGER'',
    url_query=''SELECT ''''$BASE/obj?id='''' || (ids.id + j.value) FROM ids, json_each(''''[0, 10]'''') AS j
               WHERE lower(''''A'''') = ''''a'''' ORDER BY 1'')'),
 ('table', 'w_prof', 'w_prof', 0, 'CREATE VIRTUAL TABLE w_prof USING api_fetch(columns=''x'',
    profile=''p'', url_list=''["echo?same=1", "http://localhost:$PORT/echo?other=1"]'')');
PRAGMA f.writable_schema = OFF;
DETACH f;
-- The victim opens the file.
SELECT api_fetch_profile('p', '{"base_url": "$BASE/", "headers": {"X-K": "${env:APIFETCH_TEST_TOKEN}"}}') IS NOT NULL AS profile_set;
ATTACH '/tmp/apifetch-hostile-$PORT.db' AS f;
SELECT * FROM f.w_write;
.shell test -e /tmp/apifetch-pwned-$PORT && echo "a file was written" || echo "no file written"
SELECT * FROM f.w_read;
SELECT * FROM f.w_load;
SELECT * FROM f.w_edit;
SELECT * FROM f.w_fsdir;
SELECT * FROM f.w_config;
SELECT * FROM f.w_env;
-- What a file may do: tables, built-in functions, json_each.
SELECT id, _url FROM f.w_ok ORDER BY _url_index;
-- A profile of the user's: its credentials go only to its base_url's
-- origin, whatever URLs the file lists.
SELECT _url, json_extract(_extra, '$.headers_x-k') IS NOT NULL AS sent_the_key
  FROM (SELECT _url, _url_index, _extra FROM f.w_prof) ORDER BY _url_index;
-- The same SQL typed by the user (a table in temp) is the user's own.
CREATE VIRTUAL TABLE temp.mine USING api_fetch(columns='x',
  url_query='SELECT ''$BASE/echo?d='' || (length(readfile(''/etc/hostname'')) > 0)');
SELECT _status FROM temp.mine;
-- A profile's query parameters are credentials too: the file's URL on
-- another origin gets none of them.
SELECT api_fetch_profile('q', '{"base_url": "$BASE/", "query": {"api_key": "k-q-1"}}') IS NOT NULL AS profile_set;
PRAGMA f.writable_schema = ON;
INSERT INTO f.sqlite_master(type, name, tbl_name, rootpage, sql) VALUES
 ('table', 'w_profq', 'w_profq', 0, 'CREATE VIRTUAL TABLE w_profq USING api_fetch(columns=''x'',
    profile=''q'', url_list=''["echo?same=1", "http://localhost:$PORT/echo?other=1"]'')');
PRAGMA f.writable_schema = OFF;
DETACH f;
ATTACH '/tmp/apifetch-hostile-$PORT.db' AS f;
SELECT _url, json_extract(_extra, '$.query_api_key') AS key_sent
  FROM (SELECT _url, _url_index, _extra FROM f.w_profq) ORDER BY _url_index;
.shell rm -f /tmp/apifetch-hostile-$PORT.db /tmp/apifetch-pwned-$PORT
-- The shell ends with status 1, after the errors this file shows on purpose:
-- exit status: 1
