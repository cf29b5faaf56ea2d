-- The host's defaults, on a locked connection: their credentials go only to
-- the defaults' base_url origin, as a profile's do (tests/sql/locked_profile.sql).
.load ./apifetch
SELECT api_fetch_config('{"allow_hosts": ["127.0.0.1:$PORT", "localhost:$PORT"],
  "defaults": {"base_url": "$BASE/", "headers": {"X-Api-Key": "h-key-2"}}, "lock": true}') IS NOT NULL AS locked;
SELECT url, data ->> '$.headers.x-api-key' AS header FROM api_fetch('["echo"]');
SELECT url, data ->> '$.headers.x-api-key' AS header FROM api_fetch('["http://localhost:$PORT/echo"]');
