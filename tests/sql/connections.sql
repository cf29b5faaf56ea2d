-- Connections are reused: 1,000 URLs to one host at concurrency 10 open
-- about 10 TCP connections, not 1,000.
.load ./apifetch
.headers on
SELECT count(*) AS rows, sum(status = 200) AS ok
  FROM api_fetch((SELECT json_group_array('$BASE/obj?id=' || value)
                    FROM generate_series(1, 1000)), 10);
SELECT data ->> '$.requests' AS requests,
       data ->> '$.connections' BETWEEN 10 AND 12 AS about_10_connections
  FROM api_fetch('["$BASE/stats"]');
