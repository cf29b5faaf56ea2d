-- On a locked connection a stranger's SQL may use the host's profiles, but
-- a profile's credentials (bearer, basic, headers, query) go only to the
-- profile's own base_url origin: not to another host allow_hosts lists
-- (one that echoes requests would show them in `data`), and not through a
-- base_url the query sets.  The host's defaults the same.
.load ./apifetch
SELECT api_fetch_config('{"allow_hosts": ["127.0.0.1:$PORT", "localhost:$PORT"],
  "profiles": {"p": {"base_url": "$BASE/", "bearer": "b-tok-1", "headers": {"X-Api-Key": "h-key-1"},
                     "query": {"api_key": "q-key-1"}}},
  "lock": true}') IS NOT NULL AS locked;
-- The profile's own origin: every credential sent (the url shows none).
SELECT url, data ->> '$.headers.authorization' = 'Bearer b-tok-1' AS bearer,
       data ->> '$.headers.x-api-key' = 'h-key-1' AS header,
       data ->> '$.query.api_key' = 'q-key-1' AS query
  FROM api_fetch('["echo"]', 1, '{"profile": "p"}');
-- Another allowed origin, named by URL or by a base_url of the query's own:
-- none of them.
SELECT url, data ->> '$.headers.authorization' AS bearer, data ->> '$.headers.x-api-key' AS header,
       data ->> '$.query.api_key' AS query
  FROM api_fetch('["http://localhost:$PORT/echo"]', 1, '{"profile": "p"}');
SELECT url, data ->> '$.headers.authorization' AS bearer, data ->> '$.headers.x-api-key' AS header,
       data ->> '$.query.api_key' AS query
  FROM api_fetch('["echo"]', 1, '{"profile": "p", "base_url": "http://localhost:$PORT/"}');
