-- etl_graphql.sql: a GraphQL query into a table.
-- A profile holds the API's defaults (endpoint, auth from the environment,
-- retries); the query and its variables go in a POST body; record_path
-- points into data; the wide face flattens the records.
.load ./apifetch
.headers on

-- In real use: "bearer": "${env:GRAPHQL_TOKEN}" (the token is read from the
-- environment and never shown).  The local test server needs none.
SELECT api_fetch_profile('gql', '{"base_url": "$BASE/", "max_attempts": 3,
                                  "retry_unsafe": true, "timeout_ms": 10000,
                                  "headers": {"Accept": "application/json"}}') IS NOT NULL AS profile;

CREATE VIRTUAL TABLE temp.gql_users USING api_fetch(
  url_list='[{"url": "graphql", "method": "POST",
              "body": {"query": "query Users($first: Int) { users(first: $first) { id name address { city } } }",
                       "variables": {"first": 25}}}]',
  profile='gql', record_path='data.users');

DROP TABLE IF EXISTS users;
CREATE TABLE users AS SELECT * FROM temp.gql_users;

SELECT name, type FROM pragma_table_info('users');
SELECT address_city, count(*) AS users FROM users GROUP BY address_city ORDER BY address_city;
