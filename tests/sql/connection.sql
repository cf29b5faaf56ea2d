-- What apifetch keeps per connection: profiles and limits, set with
-- api_fetch_profile() or api_fetch_config('{"profiles": ...}'), kept when
-- the extension is loaded again, and frozen (profiles too) by "lock".
.load ./apifetch
SELECT api_fetch_profile('a', '{"base_url": "$BASE/", "record_path": "items"}');
SELECT api_fetch_config('{"profiles": {"b": {"base_url": "$BASE/", "max_attempts": 1}}}')
       ->> 'profiles' AS profiles;
-- A second load keeps them (it used to start the connection afresh).
.load ./apifetch
SELECT api_fetch_config() ->> 'profiles' AS profiles_after_second_load;
SELECT url_index, status FROM api_fetch('["obj?id=1"]', 1, '{"profile": "b"}');
-- null removes a profile; a bad one fails the whole call and changes nothing.
SELECT api_fetch_config('{"profiles": {"a": null}}') ->> 'profiles' AS profiles;
SELECT api_fetch_config('{"max_requests": 5, "profiles": {"c": {"speed": 1}}}');
SELECT api_fetch_config('{"profiles": {"c": 3}}');
SELECT api_fetch_config('{"profiles": []}');
SELECT api_fetch_config() ->> 'max_requests' AS max_requests_unchanged;
-- A profile's ${env:} names are checked against allow_env when it is
-- stored, the allow_env given in the same call if any; once stored, it
-- keeps the right after a lock, while the SQL on the connection may not
-- read the variable itself.
SELECT api_fetch_config('{"allow_env": ["APIFETCH_TEST_TOKEN"]}') ->> 'allow_env' AS allow_env;
SELECT api_fetch_profile('h', '{"headers": {"X-K": "${env:HOME}"}}');
SELECT api_fetch_config('{"profiles": {"h": {"headers": {"X-K": "${env:HOME}"}}}}');
SELECT api_fetch_config('{"allow_env": ["HOME"], "profiles": {"h": {"headers": {"X-K": "${env:APIFETCH_TEST_TOKEN}"}}}}');
SELECT api_fetch_config('{"profiles": {"tok": {"base_url": "$BASE/",
         "headers": {"X-K": "${env:APIFETCH_TEST_TOKEN}"}}}}') ->> 'allow_env' AS allow_env;
SELECT api_fetch_config('{"allow_env": [], "lock": true}') ->> 'lock' AS locked;
SELECT (data ->> '$.headers.x-k') NOT LIKE '%env:%' AS expanded, url
  FROM api_fetch('["echo"]', 1, '{"profile": "tok"}');
SELECT * FROM api_fetch('["$BASE/echo"]', 1, '{"headers": {"X-K": "${env:APIFETCH_TEST_TOKEN}"}}');
-- Locked: no profile may be added, changed or removed, by either function.
SELECT api_fetch_profile('tok', NULL);
SELECT api_fetch_profile('new', '{}');
SELECT api_fetch_config('{"profiles": {"new": {}}}');
.load ./apifetch
SELECT api_fetch_config() ->> 'lock' AS still_locked_after_second_load,
       api_fetch_config() ->> 'profiles' AS profiles;
-- The shell ends with status 1, after the errors this file shows on purpose:
-- exit status: 1
