-- cache_post: a POST (a GraphQL query) is cached only when asked, keyed by
-- its body.  The loopback server's /stats counts the requests it served.
.load ./apifetch
.headers on
-- Off by default: the same POST twice goes to the server twice.
SELECT cache FROM api_fetch('[{"url": "$BASE/graphql", "method": "POST",
    "body": {"query": "{ users { id } }", "variables": {"first": 1}}}]', 1,
  '{"cache": ":memory:", "cache_mode": "ttl"}');
SELECT cache FROM api_fetch('[{"url": "$BASE/graphql", "method": "POST",
    "body": {"query": "{ users { id } }", "variables": {"first": 1}}}]', 1,
  '{"cache": ":memory:", "cache_mode": "ttl"}');
SELECT data ->> 'requests' AS requests FROM api_fetch('["$BASE/stats"]');
-- On: the second is a hit, no request; another body is another key.
SELECT url_index, cache, count(*) AS users FROM api_fetch('[
    {"url": "$BASE/graphql", "method": "POST", "body": {"query": "{ users { id } }", "variables": {"first": 2}}},
    {"url": "$BASE/graphql", "method": "POST", "body": {"query": "{ users { id } }", "variables": {"first": 3}}}]', 1,
  '{"cache": ":memory:", "cache_mode": "ttl", "cache_post": true, "record_path": "data.users"}')
 GROUP BY url_index ORDER BY url_index;
SELECT url_index, cache, count(*) AS users FROM api_fetch('[
    {"url": "$BASE/graphql", "method": "POST", "body": {"query": "{ users { id } }", "variables": {"first": 2}}},
    {"url": "$BASE/graphql", "method": "POST", "body": {"query": "{ users { id } }", "variables": {"first": 4}}}]', 1,
  '{"cache": ":memory:", "cache_mode": "ttl", "cache_post": true, "record_path": "data.users"}')
 GROUP BY url_index ORDER BY url_index;
SELECT data ->> 'requests' AS requests FROM api_fetch('["$BASE/stats"]');
-- Only POST: a PUT is never cached.
SELECT cache FROM api_fetch('[{"url": "$BASE/echo", "method": "PUT", "body": {}}]', 1,
  '{"cache": ":memory:", "cache_mode": "ttl", "cache_post": true}');
SELECT cache FROM api_fetch('[{"url": "$BASE/echo", "method": "PUT", "body": {}}]', 1,
  '{"cache": ":memory:", "cache_mode": "ttl", "cache_post": true}');
SELECT method, status FROM api_fetch_cache(':memory:') ORDER BY url, size;
