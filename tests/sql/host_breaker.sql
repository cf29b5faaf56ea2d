-- The circuit breaker per host (issue 19): after `breaker` consecutive
-- failures the host's other requests end at once with an error row that
-- says so, instead of each spending its attempts; other hosts go on; after
-- breaker_cooldown_ms one probe is let through and a recovered host is used
-- again.  /outage answers 503 for `for` seconds from a key's first request.
.load ./apifetch
.headers on

-- breaker 3: three 503s, then the circuit is open for the other five.
SELECT url_index, status, attempts, error
  FROM api_fetch((SELECT json_group_array('$BASE/outage?key=b&for=60&id=' || value)
                    FROM generate_series(1, 8)), 1, '{"max_attempts": 2, "retry_base_ms": 1, "breaker": 3}');
SELECT host, requests, s5xx, errors, breaker_trips, breaker FROM api_fetch_host_stats;

-- breaker 0: never open; each request spends its attempts.
SELECT count(*) AS rows, sum(status = 503) AS s503, sum(attempts) AS attempts
  FROM api_fetch((SELECT json_group_array('$BASE/outage?key=z&for=60&id=' || value)
                    FROM generate_series(1, 8)), 1, '{"max_attempts": 2, "retry_base_ms": 1, "breaker": 0}');

-- Half-open: localhost is another origin than 127.0.0.1.  Its outage lasts
-- 1 s; the circuit opens after 2 failures; 1.2 s of the healthy host later
-- the cool-down (1 s) is over, the probe succeeds and the circuit closes.
SELECT url_index, status, error
  FROM api_fetch(json_array('http://localhost:$PORT/outage?key=h&for=1&id=1',
                            'http://localhost:$PORT/outage?key=h&for=1&id=2',
                            'http://localhost:$PORT/outage?key=h&for=1&id=3',
                            '$BASE/obj?delay=600&id=4', '$BASE/obj?delay=600&id=5',
                            'http://localhost:$PORT/outage?key=h&for=1&id=6',
                            'http://localhost:$PORT/outage?key=h&for=1&id=7'), 1,
                 '{"max_attempts": 1, "breaker": 2, "breaker_cooldown_ms": 1000}');
SELECT host, requests, s2xx, s5xx, errors, breaker_trips, breaker
  FROM api_fetch_host_stats ORDER BY host;
