-- Adaptive per host (issue 19): a server that answers 429 with no hint at
-- all (/limited/none: 10 requests a 1 s window) is paced at the rate it
-- accepted and the host's window halves, so far fewer requests are refused
-- than when sent as fast as `concurrency` allows (adaptive false).
.load ./apifetch
.headers on
CREATE TEMP TABLE run(adaptive, rows, ok, s429, window);

INSERT INTO run SELECT 1, count(*), sum(status = 200), NULL, NULL
  FROM api_fetch((SELECT json_group_array('$BASE/limited/none?limit=10&key=on&id=' || value)
                    FROM generate_series(1, 30)), 20, '{"max_attempts": 10, "retry_base_ms": 100}');
UPDATE run SET s429 = (SELECT s429 FROM api_fetch_host_stats),
               window = (SELECT final_window FROM api_fetch_host_stats) WHERE adaptive = 1;
INSERT INTO run SELECT 0, count(*), sum(status = 200), NULL, NULL
  FROM api_fetch((SELECT json_group_array('$BASE/limited/none?limit=10&key=off&id=' || value)
                    FROM generate_series(1, 30)), 20,
                 '{"max_attempts": 10, "retry_base_ms": 100, "adaptive": false}');
UPDATE run SET s429 = (SELECT s429 FROM api_fetch_host_stats),
               window = (SELECT final_window FROM api_fetch_host_stats) WHERE adaptive = 0;

SELECT adaptive, rows, ok, window < 20 AS shrank FROM run ORDER BY adaptive;
SELECT (SELECT s429 FROM run WHERE adaptive = 1) < (SELECT s429 FROM run WHERE adaptive = 0)
       AS fewer_429;
