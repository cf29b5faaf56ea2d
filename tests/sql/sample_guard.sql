-- A wide table's first scan reuses the responses CREATE sampled, but only
-- under the limits they were fetched under: after api_fetch_config changes
-- them, the URLs are fetched again, so the guard judges each as it is now
-- (a sample is no back door around allow_hosts, as a cache hit is not).
.load ./apifetch
CREATE VIRTUAL TABLE temp.w USING api_fetch(url_list='["http://localhost:$PORT/obj?id=7", "$BASE/obj?id=8"]');
CREATE VIRTUAL TABLE temp.kept USING api_fetch(url_list='["$BASE/obj?id=9"]');
SELECT api_fetch_config('{"allow_hosts": ["127.0.0.1:$PORT"], "lock": true}') IS NOT NULL AS locked;
SELECT _url_index, id, title, _error FROM temp.w ORDER BY _url_index;
SELECT id, title FROM temp.kept;
-- Fetched again, not replayed: requests the server saw after the lock.
SELECT name, value FROM api_fetch_stats WHERE name IN ('requests', 'urls');
