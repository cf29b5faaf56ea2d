-- etl_graphql.sql: a GraphQL query into a table.
-- A profile holds the API's defaults (endpoint, auth from the environment,
-- retries); the query and its variables go in a POST body; record_path
-- points into data; the wide face flattens the records.  Run it from the
-- repository root, with `make serve` running in a second terminal (the
-- bundled test server, on 127.0.0.1:8080):
--
--   sqlite3 users.db < sql/etl_graphql.sql
--
-- Against a real API: change the profile's base_url below, add its token
-- (below), and write your query.  `.load ./apifetch` is the module built
-- here; after `make install`, `.load apifetch` finds it from any directory.
.bail on
.load ./apifetch
.headers on

-- The API: base_url is the one line to change.  In real use add "bearer":
-- "${env:GRAPHQL_TOKEN}" (the token is read from the environment and never
-- shown).  The local test server needs none.
SELECT api_fetch_profile('gql', '{"base_url": "http://127.0.0.1:8080/", "max_attempts": 3,
                                  "retry_unsafe": true, "timeout_ms": 10000,
                                  "headers": {"Accept": "application/json"}}') ->> 'base_url' AS api;

CREATE VIRTUAL TABLE temp.gql_users USING api_fetch(
  url_list='[{"url": "graphql", "method": "POST",
              "body": {"query": "query Users($first: Int) { users(first: $first) { id name address { city } } }",
                       "variables": {"first": 25}}}]',
  profile='gql', record_path='data.users');

DROP TABLE IF EXISTS users;
CREATE TABLE users AS SELECT * FROM temp.gql_users;

SELECT name, type FROM pragma_table_info('users');
SELECT address_city, count(*) AS users FROM users GROUP BY address_city ORDER BY address_city;
