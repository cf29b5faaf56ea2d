-- Connections, TLS sessions and DNS are kept across statements on one
-- SQLite connection (src/keep.c): the second statement to a host goes over
-- the connection the first one opened.  The servers count.
.load ./apifetch
.headers on
-- HTTP/1.1: the loopback server counts the connections it served.
SELECT count(*) AS rows FROM api_fetch('["$BASE/obj?id=1"]');
SELECT count(*) AS rows FROM api_fetch('["$BASE/obj?id=2"]');
SELECT data ->> '$.connections' AS connections, data ->> '$.requests' AS requests
  FROM api_fetch('["$BASE/stats"]');
-- HTTPS with HTTP/2: nginx names the connection and counts its requests.
CREATE TEMP TABLE first AS
  SELECT data ->> '$.connection' AS c FROM api_fetch('["$TLS_BASE/conn"]', 1, '{"ca_file": "$CA_FILE"}');
SELECT data ->> '$.connection' = (SELECT c FROM first) AS same_connection,
       data ->> '$.protocol' AS protocol
  FROM api_fetch('["$TLS_BASE/conn"]', 1, '{"ca_file": "$CA_FILE"}');
-- With a per-host cap of 1, 20 requests at once go as HTTP/2 streams on one
-- connection: the kept one.
SELECT count(*) AS rows, count(DISTINCT data ->> '$.connection') AS connections,
       max(data ->> '$.connection' = (SELECT c FROM first)) AS kept
  FROM api_fetch((SELECT json_group_array('$TLS_BASE/conn?i=' || value)
                    FROM generate_series(1, 20)), 20, '{"ca_file": "$CA_FILE", "per_host": 1}');
-- The guard: a kept connection never carries a request the settings now
-- refuse.  allow_hosts: allowed, fetched, then no longer allowed.
SELECT api_fetch_config('{"allow_hosts": ["127.0.0.1:$PORT"]}') ->> 'allow_hosts' AS allow_hosts;
SELECT status FROM api_fetch('["$BASE/obj?id=3"]');
SELECT api_fetch_config('{"allow_hosts": ["api.example.com"]}') ->> 'allow_hosts' AS allow_hosts;
SELECT status, error FROM api_fetch('["$BASE/obj?id=4"]');
-- block_private turned on after a fetch over a kept connection: the
-- loopback address is refused, though a connection to it is open.
SELECT api_fetch_config('{"allow_hosts": null}') ->> 'allow_hosts' AS allow_hosts;
SELECT status FROM api_fetch('["$BASE/obj?id=5"]');
SELECT status FROM api_fetch('["$BASE/obj?id=6"]');
SELECT api_fetch_config('{"block_private": true}') ->> 'block_private' AS block_private;
SELECT status, error FROM api_fetch('["$BASE/obj?id=7"]');
-- Two scans at once on one connection (a join): the second has handles of
-- its own, the kept ones are not shared between them.
SELECT api_fetch_config('{"block_private": false}') ->> 'block_private' AS block_private;
SELECT a.status AS a, b.status AS b
  FROM api_fetch('["$BASE/obj?id=8", "$BASE/obj?id=9"]') AS a
  JOIN api_fetch('["$BASE/obj?id=10"]') AS b;
SELECT status FROM api_fetch('["$BASE/obj?id=11"]');
