-- Limits for shared and untrusted use (api_fetch_config, APIFETCH_CONFIG).
.load ./apifetch
SELECT api_fetch_config();
-- block_private: checked on the address about to be connected to.
SELECT api_fetch_config('{"block_private": true}') IS NOT NULL AS set_;
SELECT url_index, status, error, attempts FROM api_fetch('["$BASE/obj?id=1", "$BASE/redirect?to=/obj"]')
 ORDER BY url_index;
CREATE VIRTUAL TABLE temp.w USING api_fetch(url_list='["$BASE/obj?id=1"]');
-- Only globally reachable addresses: the special-purpose blocks too
-- (benchmarking, IETF assignments, documentation, local-use NAT64,
-- site-local), refused before any connection is made.
SELECT url_index, error FROM api_fetch('["http://198.18.0.1:9/", "http://192.0.0.1:9/",
  "http://203.0.113.9:9/", "http://[64:ff9b:1::1]:9/", "http://[fec0::1]:9/",
  "http://[100::1]:9/"]', 6, '{"connect_timeout_ms": 2000}') ORDER BY url_index;
-- allow_hosts: exact host names and ports (a bare name allows ports 80
-- and 443 only), also after a redirect.
SELECT api_fetch_config('{"block_private": false, "allow_hosts": ["127.0.0.1"]}') IS NOT NULL AS set_;
SELECT error FROM api_fetch('["$BASE/obj?id=1"]');
SELECT api_fetch_config('{"allow_hosts": ["127.0.0.1:$PORT"]}') IS NOT NULL AS set_;
SELECT url_index, status, error FROM api_fetch('["$BASE/obj?id=1", "http://localhost:$PORT/obj?id=2",
  "$BASE/redirect?to=http://localhost:$PORT/obj"]') ORDER BY url_index;
-- ... and before a name is looked up or a connection made, so that SQL can
-- neither probe ports (a closed port would say "Couldn't connect") nor make
-- the host look up names of its choosing; a refusal is not retried.
SELECT url_index, attempts, status, error FROM api_fetch('["http://127.0.0.2:1/",
  "http://nonexistent.invalid/", "$BASE/redirect?to=http://localhost:1/x",
  "http://127.0.0.1:1/", "http://127.0.0.1:22/", "$BASE/redirect?to=http://127.0.0.1:1/x"]', 3,
  '{"retry_base_ms": 1}') ORDER BY url_index;
SELECT api_fetch_config('{"allow_hosts": ["127.0.0.1:x"]}');
SELECT api_fetch_config('{"allow_hosts": ["127.0.0.1:*"]}') ->> 'allow_hosts' AS any_port;
SELECT count(*) FROM api_fetch('["$BASE/obj?id=1"]') WHERE error IS NULL;
SELECT api_fetch_config('{"allow_hosts": ["127.0.0.1:$PORT"]}') IS NOT NULL AS set_;
-- A Host header would reach another virtual host behind an allowed address.
SELECT status, error FROM api_fetch('[{"url": "$BASE/echo", "headers": {"Host": "internal.example"}}]');
SELECT status, error FROM api_fetch('["$BASE/echo"]', 1, '{"headers": {"host": "internal.example"}}');
SELECT status, error FROM api_fetch('["$BASE/echo"]', 1, '{"headers": {"Host": ""}}');
SELECT api_fetch_config('{"allow_hosts": []}') IS NOT NULL AS set_;
SELECT error FROM api_fetch('["$BASE/obj?id=1"]');
-- Budgets per query: requests (retries count), body bytes, time.
SELECT api_fetch_config('{"allow_hosts": null, "max_requests": 2}') IS NOT NULL AS set_;
SELECT count(*) FROM api_fetch('["$BASE/obj?id=1", "$BASE/obj?id=2"]', 1);
SELECT count(*) FROM api_fetch('["$BASE/obj?id=1", "$BASE/obj?id=2", "$BASE/obj?id=3"]', 1);
SELECT count(*) FROM api_fetch('["$BASE/flaky?key=g1&fail=2"]', 1, '{"retry_base_ms": 0}');
-- Redirects are requests too: one redirect fits in 2, five do not.
SELECT status FROM api_fetch('["$BASE/redirects?n=1"]', 1);
SELECT status FROM api_fetch('["$BASE/redirects?n=5"]', 1, '{"max_redirects": 10}');
SELECT api_fetch_config('{"max_requests": 0, "max_total_bytes": 1000}') IS NOT NULL AS set_;
SELECT count(*) FROM api_fetch('["$BASE/huge?mb=1"]', 1);
SELECT api_fetch_config('{"max_total_bytes": 0, "max_query_ms": 300}') IS NOT NULL AS set_;
SELECT error FROM api_fetch('["$BASE/obj?id=1&delay=2000"]', 1);
SELECT error FROM api_fetch('["$BASE/obj?id=1&delay=2000"]', 1, '{"deadline_ms": 100}');
-- Budgets count per statement, not per scan: a join that runs api_fetch
-- once for each of 200 rows spends one budget (it used to spend 200).
SELECT api_fetch_config('{"max_query_ms": 0, "max_requests": 5}') IS NOT NULL AS set_;
SELECT count(*) FROM api_fetch('["$BASE/stats/reset"]');
WITH RECURSIVE n(i) AS (VALUES(0) UNION ALL SELECT i+1 FROM n WHERE i<199)
SELECT count(*) FROM n, api_fetch(json_array('$BASE/obj?id=' || n.i));
SELECT api_fetch_config('{"max_requests": 0, "max_query_ms": 500}') IS NOT NULL AS set_;
SELECT data ->> 'requests' AS requests_sent FROM api_fetch('["$BASE/stats"]');
CREATE TEMP TABLE t0 AS SELECT julianday('now') AS t;
WITH RECURSIVE n(i) AS (VALUES(0) UNION ALL SELECT i+1 FROM n WHERE i<199)
SELECT count(*) AS urls, count(error) BETWEEN 100 AND 199 AS most_stopped, max(error) AS why
  FROM n, api_fetch(json_array('$BASE/obj?delay=20&id=' || n.i));
SELECT (julianday('now') - t) * 86400 < 2.0 AS within_the_limit FROM t0;
SELECT api_fetch_config('{"max_query_ms": 0}') IS NOT NULL AS set_;
-- max_concurrency caps the window of every query (a host's pool of
-- connections times 10000 transfers each would be too many).
SELECT api_fetch_config('{"max_concurrency": 5}') ->> 'max_concurrency' AS max_concurrency;
SELECT count(*) FROM api_fetch('["$BASE/stats/reset"]');
SELECT count(*) FROM api_fetch((WITH RECURSIVE n(i) AS (VALUES(0) UNION ALL SELECT i+1 FROM n WHERE i<29)
  SELECT json_group_array('$BASE/obj?delay=50&id=' || i) FROM n), 50);
SELECT value AS window FROM api_fetch_stats() WHERE name = 'window';
SELECT data ->> 'max_inflight' AS server_max_in_flight FROM api_fetch('["$BASE/stats"]');
SELECT api_fetch_config('{"max_concurrency": 20000}');
SELECT api_fetch_config('{"max_concurrency": 0}') ->> 'max_concurrency' AS max_concurrency;
-- Bad settings are refused whole.
SELECT api_fetch_config('{"bogus": 1}');
SELECT api_fetch_config('{"max_requests": -1}');
SELECT api_fetch_config('{"allow_hosts": "x"}');
SELECT api_fetch_config('[1]');
SELECT api_fetch_config('{"allow_hosts": ["a.example"], "allow_hosts": null}');
-- Locked: no change from SQL any more, not even to loosen what was set.
SELECT api_fetch_config('{"max_query_ms": 0, "disabled": true, "lock": true}');
SELECT api_fetch_config('{"disabled": false}');
SELECT api_fetch_config('{"lock": false}');
SELECT * FROM api_fetch('["$BASE/obj?id=1"]');
CREATE VIRTUAL TABLE temp.w2 USING api_fetch(url_list='["$BASE/obj?id=1"]');
-- A view or trigger cannot call api_fetch_config (SQLITE_DIRECTONLY).
CREATE VIEW v AS SELECT api_fetch_config('{"lock": false}');
SELECT * FROM v;
-- ca_file: the host may name a CA bundle for every query; SQL may name its
-- own until the settings are locked, and not after (no making libcurl read
-- a file named by a stranger).  A fresh connection, with fresh settings:
.open :memory:
.load ./apifetch
SELECT status, error IS NULL AS ok FROM api_fetch('["$TLS_BASE/conn"]');
SELECT api_fetch_config('{"ca_file": "$CA_FILE"}') ->> 'ca_file' AS ca_file;
SELECT status, error IS NULL AS ok FROM api_fetch('["$TLS_BASE/conn"]');
SELECT status, error IS NULL AS ok FROM api_fetch('["$TLS_BASE/conn"]', 1, '{"ca_file": "$CA_FILE"}');
SELECT api_fetch_config('{"ca_file": ""}');
SELECT api_fetch_config('{"lock": true}') ->> 'lock' AS locked;
SELECT status, error IS NULL AS ok FROM api_fetch('["$TLS_BASE/conn"]');
SELECT * FROM api_fetch('["$TLS_BASE/conn"]', 1, '{"ca_file": "/etc/shadow"}');
CREATE VIRTUAL TABLE temp.w3 USING api_fetch(url_list='["$TLS_BASE/conn"]', ca_file='/etc/shadow');
-- allow_env: which variables ${env:NAME} may read.  Any, by default; once
-- locked, only those listed (none if no list), so that a stranger's SQL
-- cannot send the host's environment anywhere.  The refusal is the same
-- for a variable that is not set: no telling which ones exist.
.open :memory:
.load ./apifetch
SELECT api_fetch_config('{"allow_env": ["APIFETCH_TEST_TOKEN"]}') ->> 'allow_env' AS allow_env;
SELECT (data ->> '$.headers.x-k') NOT LIKE '%env:%' AS expanded
  FROM api_fetch('["$BASE/echo"]', 1, '{"headers": {"X-K": "${env:APIFETCH_TEST_TOKEN}"}}');
SELECT * FROM api_fetch('["$BASE/echo"]', 1, '{"headers": {"X-K": "${env:HOME}"}}');
SELECT * FROM api_fetch('["$BASE/echo"]', 1, '{"query": {"k": "${env:APIFETCH_NO_SUCH_VAR}"}}');
.open :memory:
.load ./apifetch
SELECT api_fetch_config('{"lock": true}') ->> 'lock' AS locked;
SELECT * FROM api_fetch('["$BASE/echo"]', 1, '{"bearer": "${env:APIFETCH_TEST_TOKEN}"}');
SELECT api_fetch_profile('p', '{"basic": "u:${env:APIFETCH_TEST_TOKEN}"}');
CREATE VIRTUAL TABLE temp.envw USING api_fetch(url_list='["$BASE/echo"]', bearer='${env:HOME}');
-- A url_query (which may be stored in someone else's database file) cannot
-- change the settings or the profiles: SQLITE_DIRECTONLY covers views and
-- triggers, this covers url_query.
.open :memory:
.load ./apifetch
SELECT api_fetch_config('{"block_private": true}') ->> 'block_private' AS block_private;
CREATE VIRTUAL TABLE temp.sneaky USING api_fetch(columns='x',
  url_query='SELECT ''$BASE/obj?c='' || api_fetch_config(''{"block_private": false}'')');
SELECT * FROM temp.sneaky;
CREATE VIRTUAL TABLE temp.sneaky2 USING api_fetch(columns='x',
  url_query='SELECT ''$BASE/obj?p='' || api_fetch_profile(''p'', ''{}'')');
SELECT * FROM temp.sneaky2;
SELECT api_fetch_config() ->> 'block_private' AS still_blocked;
-- The shell ends with status 1, after the errors this file shows on purpose:
-- exit status: 1
