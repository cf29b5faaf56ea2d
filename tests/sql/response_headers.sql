-- response_headers: the final response's headers as a JSON object, in the
-- hidden column headers (function) and _headers (wide face).  Names lower
-- case, sorted; a header given once is a string, one repeated an array of
-- its values in order.  Set-Cookie is left out and secrets are redacted, as
-- in the cache, so a cache hit gives the same value as the fetch.
.load ./apifetch
.headers on

-- Off by default: NULL, and SELECT * does not show it.
SELECT status, headers FROM api_fetch('["$BASE/headers?id=r7"]');
SELECT count(*) AS columns FROM pragma_table_xinfo('api_fetch') WHERE name='headers';

-- On: the whole object; ->> picks one header, a repeated one is an array.
SELECT status, headers ->> 'x-request-id' AS request_id, headers -> 'x-multi' AS multi,
       headers ->> 'content-type' AS type, headers ->> 'set-cookie' AS cookie
  FROM api_fetch('["$BASE/headers?id=r7"]', 1, '{"response_headers": true}');
SELECT headers FROM api_fetch('["$BASE/headers?id=r8"]', 1, '{"response_headers": true}');

-- An HTTP error row has the headers of its response too; after a redirect,
-- the final response's; a request that got no whole response, NULL.
SELECT status, error, headers ->> 'x-request-id' AS request_id
  FROM api_fetch('["$BASE/headers?id=e1&status=404"]', 1, '{"response_headers": true}');
SELECT status, headers ->> 'x-request-id' AS request_id, headers ->> 'location' AS location
  FROM api_fetch('["$BASE/redirect?to=/headers%3Fid%3Dr9"]', 1, '{"response_headers": true}');
SELECT error IS NOT NULL AS failed, headers FROM api_fetch('["http://127.0.0.1:9/x"]', 1,
  '{"response_headers": true, "max_attempts": 1}');

-- The header lines kept are bounded by libcurl's limit: 240,000 bytes of
-- them are kept; more than 300 KiB are an error, with the option or not.
SELECT status, error, length(headers) > 240000 AS kept
  FROM api_fetch('["$BASE/headers?pad=3"]', 1, '{"response_headers": true}');
SELECT status, error, headers IS NULL AS none, data FROM api_fetch('["$BASE/headers?pad=4"]', 1,
  '{"response_headers": true, "max_attempts": 1}');
SELECT status, error FROM api_fetch('["$BASE/headers?pad=4"]', 1, '{"max_attempts": 1}');

-- A value that echoes a secret (a profile's header here) is redacted.
SELECT api_fetch_profile('p', '{"headers": {"X-Api-Key": "k-secret-123"}}') IS NOT NULL AS ok;
SELECT url, headers ->> 'x-echo' AS echo FROM api_fetch('["$BASE/headers?echo=k-secret-123"]',
  1, '{"profile": "p", "response_headers": true}');

-- From the cache: a hit gives the same object as the fetch that stored it.
SELECT cache, headers FROM api_fetch('["$BASE/cache?id=5&cc=max-age%3D60&etag=e5"]', 1,
  '{"cache": ":memory:", "response_headers": true}');
SELECT cache, headers FROM api_fetch('["$BASE/cache?id=5&cc=max-age%3D60&etag=e5"]', 1,
  '{"cache": ":memory:", "response_headers": true}');

-- The wide face: _headers, hidden (not among the table's columns).
CREATE VIRTUAL TABLE temp.h USING api_fetch(url_list='["$BASE/headers?id=w1"]',
  response_headers=true);
SELECT id, _headers ->> 'x-request-id' AS request_id FROM temp.h;
SELECT name FROM pragma_table_info('h');
