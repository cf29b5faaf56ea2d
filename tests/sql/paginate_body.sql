-- Pagination in the request body: GraphQL Relay cursors (/relay) and page,
-- offset or cursor in a JSON POST body (/search), with the guarantees of
-- the URL kinds: a row or an error row a page, max_pages, fan-out.
.load ./apifetch
.headers on
-- Relay: pageInfo.hasNextPage and endCursor, the cursor into variables.after;
-- the URL stays the one asked for, so every page keeps the credentials.
SELECT page, url, count(*) AS n, min(data ->> '$.node.id') AS first, max(data ->> '$.node.id') AS last
  FROM api_fetch('[{"url": "$BASE/relay?total=25", "method": "POST",
    "body": {"query": "query($first: Int, $after: String) { items(first: $first, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }",
             "variables": {"first": 10}}}]', 10,
    '{"record_path": "data.items.edges",
      "paginate": {"type": "graphql", "page_info": "data.items.pageInfo"}}')
 GROUP BY page ORDER BY page;
-- Another variable name (param), and max_pages.
SELECT count(*), max(page) FROM api_fetch('[{"url": "$BASE/relay?total=25", "method": "POST",
    "body": {"query": "q", "variables": {"first": 5}}}]', 10,
    '{"record_path": "data.items.edges",
      "paginate": {"type": "graphql", "page_info": "data.items.pageInfo", "max_pages": 3}}');
SELECT count(*) AS pages FROM api_fetch('[{"url": "$BASE/relay?total=25&var=cursor", "method": "POST",
    "body": {"query": "q", "variables": {"first": 10}}}]', 10,
    '{"paginate": {"type": "graphql", "param": "cursor", "page_info": "data.items.pageInfo"}}');
-- hasNextPage true and no endCursor: an error row for the page that was to come.
SELECT page, error FROM api_fetch('[{"url": "$BASE/relay?total=25&style=nocursor", "method": "POST",
    "body": {"query": "q", "variables": {"first": 10}}}]', 10,
    '{"record_path": "data.items.edges",
      "paginate": {"type": "graphql", "page_info": "data.items.pageInfo"}}') GROUP BY page;
-- A server that hands the same cursor again: the chain ends, not at max_pages.
SELECT count(DISTINCT page) AS pages FROM api_fetch('[{"url": "$BASE/relay?total=25&style=again",
    "method": "POST", "body": {"query": "q", "variables": {"first": 10}}}]', 10,
    '{"record_path": "data.items.edges",
      "paginate": {"type": "graphql", "page_info": "data.items.pageInfo"}}');
-- A body that cannot take the cursor: the first page is an error row, unsent.
SELECT page, status, error FROM api_fetch('[{"url": "$BASE/relay?total=25", "method": "POST",
    "body": "query { items { edges { node { id } } } }"}]', 10,
    '{"paginate": {"type": "graphql", "page_info": "data.items.pageInfo"}}');
SELECT page, error FROM api_fetch('[{"url": "$BASE/relay", "method": "POST",
    "body": {"query": "q", "variables": [1]}}]', 10,
    '{"paginate": {"type": "graphql", "page_info": "data.items.pageInfo"}}');
-- Page numbers in the body, the total from page 1: the others at once.
SELECT page, count(*) AS n, min(data ->> 'id') AS first, max(data ->> 'id') AS last
  FROM api_fetch('[{"url": "$BASE/search?total=45&delay=200", "method": "POST", "body": {"q": "x"}}]', 10,
    '{"record_path": "data",
      "paginate": {"type": "page", "body_path": "page", "total_pages": "meta.total_pages"}}')
 GROUP BY page ORDER BY page;
SELECT data ->> '$.max_inflight' AS max_inflight FROM api_fetch('["$BASE/stats"]');
-- Offset and cursor in the body; what the server was sent.
SELECT page, data ->> '$.got.offset' AS offset FROM api_fetch('[{"url": "$BASE/search?total=25",
    "method": "POST", "body": {"limit": 10}}]', 10,
    '{"record_path": "", "paginate": {"type": "offset", "per_page": 10, "body_path": "offset",
      "total_items": "meta.total"}}') ORDER BY page;
SELECT page, data ->> '$.got.cursor' AS cursor FROM api_fetch('[{"url": "$BASE/search?total=25",
    "method": "POST", "body": {}}]', 10,
    '{"record_path": "", "paginate": {"type": "cursor", "cursor_path": "meta.next_cursor",
      "body_path": "cursor"}}') ORDER BY page;
-- No total: one page after another until an empty one.
SELECT page, count(data) AS n FROM api_fetch('[{"url": "$BASE/search?total=25", "method": "POST",
    "body": {}}]', 10,
    '{"record_path": "data", "paginate": {"type": "page", "body_path": "page"}}')
 GROUP BY page ORDER BY page;
-- What cannot go together.
SELECT * FROM api_fetch('["$BASE/search"]', 1, '{"paginate": {"type": "graphql"}}');
SELECT * FROM api_fetch('["$BASE/search"]', 1,
  '{"paginate": {"type": "next", "next_path": "a", "body_path": "b"}}');
SELECT * FROM api_fetch('["$BASE/search"]', 1,
  '{"paginate": {"type": "page", "per_page": 10, "size_param": "limit", "body_path": "page"}}');
-- exit status: 1
