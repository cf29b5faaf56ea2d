-- Request objects: method, headers and body per URL; option headers are sent
-- with every request, and a request's own header of the same name wins.
.load ./apifetch
.headers on
.mode line
SELECT data ->> '$.method' AS method, data ->> '$.body' AS body,
       data ->> '$.headers.content-type' AS content_type,
       data ->> '$.headers.x-team' AS x_team, data ->> '$.headers.x-req' AS x_req
  FROM api_fetch('[{"url": "$BASE/echo", "method": "POST",
                    "headers": {"X-Req": "1", "X-Team": "mine"},
                    "body": {"id": 9007199254740993, "tags": ["a"]}}]', 1,
                 '{"headers": {"X-Team": "data", "Authorization": "Bearer t0k3n"}}');
.mode list
SELECT url_index, data ->> '$.method' AS method, data ->> '$.body' AS body,
       data ->> '$.headers.content-type' AS content_type, data ->> '$.headers.x-team' AS x_team
  FROM api_fetch('[
    {"url": "$BASE/echo"},
    {"url": "$BASE/echo", "method": "put", "body": "plain text"},
    {"url": "$BASE/echo", "method": "PATCH", "body": [1, 2],
     "headers": {"Content-Type": "application/merge-patch+json"}},
    {"url": "$BASE/echo", "method": "DELETE"},
    {"url": "$BASE/echo", "method": "POST"},
    {"url": "$BASE/echo", "method": "POST", "body": "a=1&b=2",
     "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
  ]', 3, '{"headers": {"X-Team": "data"}}') ORDER BY url_index;
-- HEAD: status and headers, no body.
SELECT status, content_type, data, error FROM api_fetch('[{"url": "$BASE/obj", "method": "HEAD"}]');
-- A large body is sent whole (no Expect: 100-continue stall).
SELECT length(data ->> '$.body') AS body_bytes FROM api_fetch(
  json_array(json_object('url', '$BASE/echo', 'method', 'POST',
                         'body', (SELECT group_concat('x', '') FROM generate_series(1, 2000000)))));
