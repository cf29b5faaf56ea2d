-- TLS is verified by default; ca_file trusts a given CA.  Where the server
-- offers HTTP/2 (ALPN), transfers are multiplexed over one connection.
.load ./apifetch
.headers on
-- The test CA is not in the system store: verification fails, no data.
SELECT status, attempts, substr(error, 1, instr(error, ':') - 1) AS error_kind, data
  FROM api_fetch('["$TLS_BASE/conn"]');
-- Trusting the CA explicitly works.
SELECT status, error, data ->> '$.protocol' AS protocol
  FROM api_fetch('["$TLS_BASE/conn"]', 1, '{"ca_file": "$CA_FILE"}');
-- 200 requests at concurrency 50 share one HTTP/2 connection.
SELECT count(*) AS rows, sum(status = 200) AS ok,
       count(DISTINCT data ->> '$.connection') AS connections,
       min(data ->> '$.protocol') AS protocol
  FROM api_fetch((SELECT json_group_array('$TLS_BASE/conn?i=' || value)
                    FROM generate_series(1, 200)), 50, '{"ca_file": "$CA_FILE"}');
-- per_host caps connections, not requests: once the host answers over
-- HTTP/2, its window opens to the concurrency and the requests go as streams
-- on the one connection per_host allows (api_fetch_host_stats: final_window).
SELECT count(*) AS rows, sum(status = 200) AS ok,
       count(DISTINCT data ->> '$.connection') AS connections
  FROM api_fetch((SELECT json_group_array('$TLS_BASE/conn?p=' || value)
                    FROM generate_series(1, 100)), 20, '{"ca_file": "$CA_FILE", "per_host": 1}');
SELECT final_window FROM api_fetch_host_stats;
