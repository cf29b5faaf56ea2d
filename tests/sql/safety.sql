-- Safe defaults: only http and https (also after redirects), a small
-- redirect limit, a response size cap, and no requests from views or
-- triggers (SQLITE_VTAB_DIRECTONLY).
.load ./apifetch
.headers on
-- Redirects are followed, up to max_redirects (default 5).
SELECT status, data ->> '$.id' AS id FROM api_fetch('["$BASE/redirects?n=3"]');
SELECT status, attempts, error FROM api_fetch('["$BASE/redirects?n=6"]');
SELECT status, error FROM api_fetch('["$BASE/redirects?n=2"]', 1, '{"max_redirects": 1}');
-- A redirect to another scheme is refused, never followed.
SELECT url_index, error FROM api_fetch('[
  "$BASE/redirect?to=file:///etc/passwd",
  "$BASE/redirect?to=gopher://127.0.0.1:70/",
  "$BASE/redirect?to=ftp://127.0.0.1/x"]') ORDER BY url_index;

-- Bodies over max_bytes give an error row, whether the size is announced
-- (Content-Length) or not (chunked): no unbounded buffering.
SELECT url_index, attempts, error, data IS NULL AS no_data FROM api_fetch('[
  "$BASE/huge?mb=2", "$BASE/huge?mb=2&chunked=1", "$BASE/huge?mb=0.5"]', 3,
  '{"max_bytes": 1000000}') ORDER BY url_index, record_index LIMIT 3;
SELECT count(*) AS records_of_small_body FROM api_fetch('["$BASE/huge?mb=0.5"]', 1, '{"max_bytes": 1000000}');

-- A view or trigger cannot call api_fetch: a database file from someone else
-- cannot make this connection send requests.
CREATE VIEW v AS SELECT * FROM api_fetch('["$BASE/obj?key=from_view"]');
SELECT * FROM v;
CREATE TABLE t(x);
CREATE TRIGGER tr AFTER INSERT ON t BEGIN
  INSERT INTO t SELECT url FROM api_fetch('["$BASE/obj?key=from_trigger"]');
END;
INSERT INTO t VALUES (1);
SELECT data ->> '$.keys.from_view' AS from_view, data ->> '$.keys.from_trigger' AS from_trigger
  FROM api_fetch('["$BASE/stats"]');
-- TLS verification is on: the user agent announces apifetch.
SELECT data ->> '$.headers.user-agent' AS user_agent FROM api_fetch('["$BASE/echo"]');
-- The shell ends with status 1, after the errors this file shows on purpose:
-- exit status: 1
