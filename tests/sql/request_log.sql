-- request_log: a row per attempt (retries, redirect hops, cache answers,
-- refusals), kept in a table after the statement, with the phases' times
-- from libcurl, secrets redacted as the url column shows them.
.load ./apifetch
.headers on
.shell rm -f build/request-log.db build/request-log.db-wal build/request-log.db-shm

-- A retry gives two rows, attempt 1 and 2; a redirect a row per hop.
SELECT url_index, status, attempts FROM api_fetch('["$BASE/flaky?key=rl1&fail=1",
  "$BASE/redirect?to=/obj"]', 1, '{"retry_base_ms": 10, "request_log": "api_requests"}')
 ORDER BY url_index;
SELECT url_index, page, attempt, method, replace(url, '$BASE', 'BASE') AS url, status,
       bytes > 0 AS has_bytes, cache, error
  FROM api_requests ORDER BY rowid;

-- The phases, in milliseconds: each ends no earlier than the one before
-- (a phase not gone through is NULL: no TLS over http, no connect on a
-- reused connection); run_id and at are there.
SELECT count(*) AS rows_, count(DISTINCT run_id) AS runs, count(at) AS stamped,
       sum(total_ms IS NOT NULL AND first_byte_ms IS NOT NULL) AS timed,
       sum(coalesce(dns_ms, 0) <= coalesce(connect_ms, dns_ms, 0)
           AND coalesce(connect_ms, dns_ms, 0) <= coalesce(tls_ms, connect_ms, dns_ms, 0)
           AND coalesce(tls_ms, connect_ms, dns_ms, 0) <= first_byte_ms
           AND first_byte_ms <= total_ms) AS ordered,
       sum(tls_ms IS NULL) AS no_tls
  FROM api_requests;
-- Over TLS, a fresh connection: every phase, in order.
SELECT status FROM api_fetch('["$TLS_BASE/conn?rl=1"]', 1,
  '{"ca_file": "$CA_FILE", "request_log": "api_requests"}');
SELECT dns_ms <= connect_ms AND connect_ms <= tls_ms AND tls_ms <= first_byte_ms
       AND first_byte_ms <= total_ms AS tls_ordered
  FROM api_requests WHERE url LIKE '%/conn?rl=1';

-- Each statement is a run of its own.
SELECT count(*) FROM api_fetch('["$BASE/obj"]', 1, '{"request_log": "api_requests"}');
SELECT count(DISTINCT run_id) AS runs FROM api_requests;

-- A profile's query key is a secret: not in the log either.
SELECT api_fetch_profile('keyed', '{"query": {"key": "s3cr3t-k3y"}}') IS NOT NULL AS stored;
SELECT status FROM api_fetch('["$BASE/obj?rl=secret"]', 1,
  '{"profile": "keyed", "request_log": "api_requests"}');
SELECT replace(url, '$BASE', 'BASE') AS url, instr(url, 's3cr3t') AS shown
  FROM api_requests WHERE url LIKE '%rl=secret%';

-- The cache: a miss, then a hit (attempt 0: nothing sent), then a 304.
CREATE TEMP TABLE cache_log(run_id, at, url_index, page, attempt, method, url, status,
  dns_ms, connect_ms, tls_ms, first_byte_ms, total_ms, bytes, cache, error);
SELECT cache FROM api_fetch('["$BASE/cache?id=71&etag=e71&cc=max-age=600"]', 1,
  '{"cache": ":memory:", "request_log": "temp.cache_log"}');
SELECT cache FROM api_fetch('["$BASE/cache?id=71&etag=e71&cc=max-age=600"]', 1,
  '{"cache": ":memory:", "request_log": "temp.cache_log"}');
SELECT cache FROM api_fetch('["$BASE/cache?id=71&etag=e71&cc=max-age=600"]', 1,
  '{"cache": ":memory:", "cache_mode": "refresh", "request_log": "temp.cache_log"}');
SELECT attempt, status, cache, total_ms IS NULL AS untimed, bytes > 0 AS has_bytes
  FROM cache_log ORDER BY rowid;

-- Into a file of its own: table api_requests there, WAL.
SELECT status FROM api_fetch('["$BASE/obj?rl=file"]', 1,
  '{"request_log": "file:build/request-log.db"}');
ATTACH 'build/request-log.db' AS logfile;
SELECT attempt, status, replace(url, '$BASE', 'BASE') AS url FROM logfile.api_requests;
PRAGMA logfile.journal_mode;
DETACH logfile;

-- Rows go in batches; a statement of many URLs keeps them all.
SELECT count(*) FROM api_fetch((SELECT json_group_array('$BASE/obj?n=' || value)
  FROM generate_series(1, 1200)), 20, '{"request_log": "temp.many"}');
SELECT count(*), count(DISTINCT url) FROM temp.many;

-- Errors: a table of another shape, a name that is not one.
CREATE TABLE not_a_log(a, b);
SELECT status FROM api_fetch('["$BASE/obj"]', 1, '{"request_log": "not_a_log"}');
SELECT status FROM api_fetch('["$BASE/obj"]', 1, '{"request_log": "x; DROP TABLE t"}');
SELECT status FROM api_fetch('["$BASE/obj"]', 1, '{"request_log": 3}');

-- A refusal is an attempt too: allow_hosts refuses localhost here.
SELECT api_fetch_config('{"allow_hosts": ["127.0.0.1:$PORT"]}') IS NOT NULL AS set_;
SELECT error FROM api_fetch('["http://localhost:$PORT/obj?rl=refused"]', 1,
  '{"request_log": "api_requests"}');
SELECT attempt, status, error FROM api_requests WHERE url LIKE '%rl=refused%';

-- Locked: only the host's request_log (defaults); a query may neither name
-- another nor turn it off.
SELECT api_fetch_config('{"defaults": {"request_log": "temp.host_log"}, "lock": true}')
  IS NOT NULL AS locked;
SELECT status FROM api_fetch('["$BASE/obj?rl=host"]');
SELECT count(*) AS host_rows FROM temp.host_log;
SELECT status FROM api_fetch('["$BASE/obj"]', 1, '{"request_log": "api_requests"}');
SELECT status FROM api_fetch('["$BASE/obj"]', 1, '{"request_log": "file:build/other.db"}');
SELECT status FROM api_fetch('["$BASE/obj"]', 1, '{"request_log": null}');
-- exit status: 1
