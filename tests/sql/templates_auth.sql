-- Real-API requests: URL templates, query parameters, bodies and methods,
-- GraphQL, auth, secrets from the environment, profiles.
.load ./apifetch
.headers on
-- url_template filled from objects, values URL-encoded; query appended.
SELECT url, data ->> '$.query.q' AS q FROM api_fetch(
  '[{"id": 7, "q": "a b&c/é?"}, {"id": "x y", "q": 1}]', 2,
  '{"url_template": "$BASE/echo?id={id}&q={q}", "query": {"v": 2, "lang": "en US"}}')
 ORDER BY url_index;
SELECT * FROM api_fetch('[{"id": 7}]', 1, '{"url_template": "$BASE/echo?id={id}&q={q}"}');
SELECT * FROM api_fetch('["$BASE/echo"]', 1, '{"url_template": "$BASE/echo?id={id}"}');
-- base_url: an item is relative unless it starts with a scheme (RFC 3986),
-- so a query that holds "://" is still relative.
SELECT url, data ->> '$.query.next' AS next FROM api_fetch(
  '["echo?next=https://x.example/", "$BASE/echo?abs=1", "./echo?n=2"]', 1,
  '{"base_url": "$BASE/"}') ORDER BY url_index;
-- From a query on the wide face: params_query's columns fill the template.
CREATE TABLE users(id INTEGER, since TEXT);
INSERT INTO users VALUES (1, '2024-01-01T00:00:00+02:00'), (2, 'yesterday & today');
CREATE VIRTUAL TABLE temp.posts USING api_fetch(url_template='$BASE/echo?user={id}&since={since}',
  url_query='SELECT id, since FROM users ORDER BY id');
SELECT query_user, query_since FROM posts ORDER BY query_user;
-- Each method with a body: JSON, text, form; HEAD has none.
SELECT json_extract(data, '$.method') AS method, json_extract(data, '$.headers.content-type') AS type,
       json_extract(data, '$.body') AS body
  FROM api_fetch('[
    {"url": "$BASE/echo", "method": "POST", "body": {"a": 1}},
    {"url": "$BASE/echo", "method": "PUT", "body": "plain text"},
    {"url": "$BASE/echo", "method": "PATCH", "form": {"name": "a b", "n": 2}},
    {"url": "$BASE/echo", "method": "DELETE", "body": {"why": "gone"}}]', 1)
 ORDER BY url_index;
SELECT status, data FROM api_fetch('[{"url": "$BASE/echo", "method": "HEAD"}]');
-- GraphQL: a POST of query + variables, the records under data.
SELECT data ->> 'id' AS id, data ->> 'name' AS name FROM api_fetch('[{"url": "$BASE/graphql",
  "method": "POST", "body": {"query": "query($first: Int) { users(first: $first) { id name } }",
                             "variables": {"first": 3}}}]', 1, '{"record_path": "data.users"}');
-- Only idempotent methods are retried by default.
SELECT x.url_index, CASE x.url_index WHEN 0 THEN 'PUT' ELSE 'POST' END AS method, x.status,
       x.attempts FROM api_fetch('[
  {"url": "$BASE/flaky?key=ta1&fail=1", "method": "PUT"},
  {"url": "$BASE/flaky?key=ta2&fail=1", "method": "POST"}]', 2, '{"retry_base_ms": 0}') AS x
 ORDER BY x.url_index;
-- Auth: bearer and basic, the secret from the environment (the server
-- echoes what it got; shown here by shape only, so that the secret, which
-- the runner sets to tok-..., appears nowhere in this test's output).
SELECT substr(a, 1, 7) AS auth, length(a) AS len FROM (SELECT json_extract(data, '$.headers.authorization') AS a
  FROM api_fetch('["$BASE/echo"]', 1, '{"bearer": "${env:APIFETCH_TEST_TOKEN}"}'));
SELECT substr(a, 1, 6) AS auth, length(a) AS len FROM (SELECT json_extract(data, '$.headers.authorization') AS a
  FROM api_fetch('["$BASE/echo"]', 1, '{"basic": "ann:${env:APIFETCH_TEST_TOKEN}"}'));
SELECT * FROM api_fetch('["$BASE/echo"]', 1, '{"bearer": "${env:APIFETCH_NO_SUCH_VAR}"}');
-- Authorization is never sent to another host after a redirect: bearer,
-- or an Authorization header given by hand.  (To the same host it is.)
SELECT 'same host' AS redirect, json_extract(data, '$.headers.authorization') IS NOT NULL AS auth_sent
  FROM api_fetch('["$BASE/redirect?to=/echo"]', 1, '{"bearer": "${env:APIFETCH_TEST_TOKEN}"}');
SELECT url_index, json_extract(data, '$.headers.authorization') AS auth_after_redirect
  FROM api_fetch('["$BASE/redirect?to=http://localhost:$PORT/echo"]', 1,
                 '{"bearer": "${env:APIFETCH_TEST_TOKEN}"}')
UNION ALL
SELECT 1, json_extract(data, '$.headers.authorization')
  FROM api_fetch('["$BASE/redirect?to=http://localhost:$PORT/echo"]', 1,
                 '{"headers": {"Authorization": "Token ${env:APIFETCH_TEST_TOKEN}"}}');
-- A request object is data (it may come from an API's response through
-- url_query), so ${env:} in it is sent as written, never expanded: data
-- cannot ask for the host's secrets.  Its Authorization is dropped on a
-- redirect to another host too.
SELECT url_index, a AS auth FROM (
  SELECT url_index, json_extract(data, '$.headers.authorization') AS a FROM api_fetch(json_array(
    json_object('url', '$BASE/echo', 'headers', json_object('Authorization', 'Token k=${env:APIFETCH_TEST_TOKEN}')),
    json_object('url', '$BASE/redirect?to=http://localhost:$PORT/echo',
                'headers', json_object('Authorization', 'Token k=${env:APIFETCH_TEST_TOKEN}')))));
-- Secrets never show in output: not in url, error, the failing statement's
-- message, stats or progress.
SELECT url, error FROM api_fetch('["$BASE/status/404"]', 1,
  '{"query": {"api_key": "${env:APIFETCH_TEST_TOKEN}"}, "progress": true}');
SELECT name, value FROM api_fetch_stats() WHERE name = 'errors';
SELECT * FROM api_fetch('["$BASE/status/500"]', 1,
  '{"query": {"key": "${env:APIFETCH_TEST_TOKEN}"}, "on_error": "fail", "max_attempts": 1}');
-- Profiles: per-API defaults set once, used by name, overridden per call.
SELECT api_fetch_profile('crm', '{"base_url": "$BASE/", "headers": {"X-Api": "crm", "X-Env": "prod"},
  "bearer": "${env:APIFETCH_TEST_TOKEN}", "rate": 1000, "per_host": 4, "max_attempts": 2,
  "record_path": "data", "paginate": {"type": "page", "total_pages": "meta.total_pages"}}') IS NOT NULL AS defined;
SELECT count(*) AS items, max(page) AS last_page FROM api_fetch('["items?total=23"]', 5, '{"profile": "crm"}');
SELECT json_extract(data, '$.headers.x-api') AS api, json_extract(data, '$.headers.x-env') AS env,
       json_extract(data, '$.headers.authorization') IS NOT NULL AS has_auth
  FROM api_fetch('["echo"]', 1, '{"profile": "crm", "record_path": [], "paginate": null,
                                  "headers": {"X-Env": "test"}}');
-- A call's query parameter replaces its profile's of the same name; the
-- URL's own gives way to both; the profile's (the host's) shows as [secret].
SELECT api_fetch_profile('q', '{"query": {"a": "1", "b": "1"}}') IS NOT NULL AS defined;
SELECT url FROM api_fetch('["$BASE/echo?a=0&c=0"]', 1, '{"profile": "q", "query": {"a": "2"}}');
CREATE VIRTUAL TABLE temp.crm_items USING api_fetch(url_list='["items?total=12"]', profile='crm');
SELECT count(*), max(_page) FROM crm_items;
SELECT * FROM api_fetch('["$BASE/obj"]', 1, '{"profile": "nope"}');
SELECT api_fetch_profile('bad', '{"rate": "fast"}');
SELECT api_fetch_profile('crm', NULL);
SELECT * FROM api_fetch('["items"]', 1, '{"profile": "crm"}');
-- The shell ends with status 1, after the errors this file shows on purpose:
-- exit status: 1
