-- Exactly `concurrency` transfers are in flight while work remains, never
-- more: the server counts requests it is handling at once.
.load ./apifetch
.headers on
CREATE TEMP VIEW stats AS SELECT data FROM api_fetch('["$BASE/stats"]');
CREATE TEMP VIEW reset AS SELECT data FROM api_fetch('["$BASE/stats/reset"]');

SELECT count(*) AS rows, sum(status = 200) AS ok
  FROM api_fetch((SELECT json_group_array('$BASE/obj?delay=150&id=' || value)
                    FROM generate_series(1, 12)), 1);
SELECT 1 AS concurrency, data ->> '$.max_inflight' AS max_inflight FROM stats;
SELECT count(*) FROM reset;

SELECT count(*) AS rows, sum(status = 200) AS ok
  FROM api_fetch((SELECT json_group_array('$BASE/obj?delay=300&id=' || value)
                    FROM generate_series(1, 95)), 10);
SELECT 10 AS concurrency, data ->> '$.max_inflight' AS max_inflight FROM stats;
SELECT count(*) FROM reset;

SELECT count(*) AS rows, sum(status = 200) AS ok
  FROM api_fetch((SELECT json_group_array('$BASE/obj?delay=500&id=' || value)
                    FROM generate_series(1, 450)), 100);
SELECT 100 AS concurrency, data ->> '$.max_inflight' AS max_inflight FROM stats;
SELECT count(*) FROM reset;

SELECT count(*) AS rows, sum(status = 200) AS ok
  FROM api_fetch((SELECT json_group_array('$BASE/obj?delay=1500&id=' || value)
                    FROM generate_series(1, 2000)), 1000);
SELECT 1000 AS concurrency, data ->> '$.max_inflight' AS max_inflight FROM stats;
