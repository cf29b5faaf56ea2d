-- Pagination: every kind, on the loopback server's /items and /cursor.
.load ./apifetch
.headers on
-- Page numbers with the total in the body: page 1 first, then pages 2-5
-- all at once (the server sees 4 in flight), rows say their page.
SELECT page, count(*) AS n, min(data ->> 'id') AS first, max(data ->> 'id') AS last
  FROM api_fetch('["$BASE/items?total=45&delay=200"]', 10,
    '{"record_path": "data", "paginate": {"type": "page", "total_pages": "meta.total_pages"}}')
 GROUP BY page ORDER BY page;
SELECT data ->> '$.max_inflight' AS max_inflight FROM api_fetch('["$BASE/stats"]');
-- The total from the X-Total-Count header, or from Link rel="last".
SELECT count(*), count(DISTINCT data ->> 'id'), max(page) FROM api_fetch('["$BASE/items?total=45"]', 10,
  '{"record_path": "data", "paginate": {"type": "page", "total_header": "X-Total-Count", "per_page": 10}}');
SELECT count(*), count(DISTINCT data ->> 'id'), max(page) FROM api_fetch('["$BASE/items?total=45"]', 10,
  '{"record_path": "data", "paginate": {"type": "page", "last_link": true}}');
-- Offset and limit, total items in the body; the URL of each page.
SELECT page, url FROM api_fetch('["$BASE/items?total=25"]', 10,
  '{"record_path": "data", "paginate": {"type": "offset", "per_page": 10, "size_param": "limit",
    "total_items": "meta.total"}}') WHERE record_index = 0 ORDER BY page;
-- No total: one page after another until an empty page (its row has no data).
SELECT page, count(data) FROM api_fetch('["$BASE/items?total=25"]', 10,
  '{"record_path": "data", "paginate": {"type": "page"}}') GROUP BY page ORDER BY page;
-- Chains: a cursor in the body, a next URL in the body (relative), the Link
-- header; two collections at once, each followed in order.
SELECT url_index, page, count(*) FROM api_fetch('["$BASE/cursor?total=25", "$BASE/cursor?total=12"]', 10,
  '{"record_path": "items", "paginate": {"type": "cursor", "cursor_path": "next_cursor"}}')
 GROUP BY url_index, page ORDER BY url_index, page;
SELECT page, url FROM api_fetch('["$BASE/cursor?total=25"]', 10,
  '{"record_path": "items", "paginate": {"type": "next", "next_path": "links.next"}}')
 WHERE record_index = 0 ORDER BY page;
SELECT count(*), max(page) FROM api_fetch('["$BASE/items?total=45"]', 10,
  '{"record_path": "data", "paginate": {"type": "link"}}');
-- The Link header as RFC 8288 writes it: a parameter that holds a comma
-- and a semicolon, several links in one header, rel values in capitals
-- among others, a second rel in one link (ignored: the link is not next).
SELECT url_index, count(*) AS pages, group_concat(data ->> 'p') AS p
  FROM api_fetch('["$BASE/links?n=3&style=quoted", "$BASE/links?n=3&style=several",
                   "$BASE/links?n=3&style=twice"]', 3, '{"paginate": {"type": "link"}}')
 GROUP BY url_index ORDER BY url_index;
-- A chain that comes back to a page it fetched (0 -> 1 -> 2 -> 0) ends
-- there rather than going round until max_pages (it used to take 1000).
SELECT count(*) AS pages, group_concat(data ->> 'p') AS p FROM api_fetch('["$BASE/links?p=0&n=3&style=cycle"]', 1,
  '{"paginate": {"type": "link"}}');
SELECT value AS requests FROM api_fetch_stats() WHERE name = 'requests';
-- (A chain of distinct pages is not cut: 25 items over 3 pages.)
SELECT count(*) AS items FROM api_fetch('["$BASE/cursor?total=25&per=10"]', 1,
  '{"record_path": "items", "paginate": {"type": "next", "next_path": "links.next", "max_pages": 50}}');
-- max_pages bounds every kind.
SELECT count(*), max(page) FROM api_fetch('["$BASE/items?total=45"]', 10,
  '{"record_path": "data", "paginate": {"type": "page", "total_pages": "meta.total_pages", "max_pages": 2}}');
-- A page that fails after its retries is an error row naming it; the other pages arrive.
SELECT page, status, error, count(*) FROM api_fetch('["$BASE/items?total=45&fail_page=3"]', 10,
  '{"record_path": "data", "max_attempts": 2, "retry_base_ms": 0,
    "paginate": {"type": "page", "total_pages": "meta.total_pages"}}')
 GROUP BY page ORDER BY page;
-- The wide face: the same option as an argument, _page a hidden column.
CREATE VIRTUAL TABLE temp.items USING api_fetch(url_list='["$BASE/items?total=23"]',
  record_path='data', paginate='{"type": "page", "total_pages": "meta.total_pages"}');
SELECT _page, count(*) FROM items GROUP BY _page ORDER BY _page;
-- Bad paginate options.
SELECT * FROM api_fetch('["$BASE/items"]', 1, '{"paginate": {"type": "pages"}}');
SELECT * FROM api_fetch('["$BASE/items"]', 1, '{"paginate": {"type": "offset"}}');
SELECT * FROM api_fetch('["$BASE/items"]', 1, '{"paginate": {"type": "cursor"}}');
SELECT * FROM api_fetch('["$BASE/items"]', 1, '{"paginate": {"type": "page", "total": "x"}}');
SELECT * FROM api_fetch('["$BASE/items"]', 1, '{"paginate": 3}');
SELECT * FROM api_fetch('["$BASE/items"]', 1, '{"paginate": {"type": "page", "max_pages": 0}}');
-- A next page on another origin (here localhost for 127.0.0.1) is asked
-- for without credentials: no bearer, no headers (API keys live there).
-- On the same origin they are sent as on the first page.
SELECT url_index, page, json_extract(data, '$.headers.authorization') IS NOT NULL AS auth,
       json_extract(data, '$.headers.x-api-key') IS NOT NULL AS api_key
  FROM api_fetch('["$BASE/raw?body=%7B%22next%22%3A%22%2Fecho%22%7D",
                   "$BASE/raw?body=%7B%22next%22%3A%22http%3A%2F%2Flocalhost%3A$PORT%2Fecho%22%7D"]', 1,
                 '{"bearer": "t0k", "headers": {"X-Api-Key": "k"},
                   "paginate": {"type": "next", "next_path": "next"}}')
 ORDER BY url_index, page;
-- The shell ends with status 1, after the errors this file shows on purpose:
-- exit status: 1
-- url_query with pagination (the wide face): the query's rows are read
-- once; pages still being fetched after its last row do not run it again.
CREATE TABLE targets(u TEXT);
INSERT INTO targets VALUES ('$BASE/items?total=12&per_page=5');
CREATE VIRTUAL TABLE temp.qpages USING api_fetch(url_query='SELECT u FROM main.targets',
  record_path=data, paginate='{"type": "page", "total_pages": "meta.total_pages"}',
  columns='id INTEGER');
SELECT _url_index, _page, count(*) AS n, min(id) AS first, max(id) AS last FROM qpages
 GROUP BY _url_index, _page ORDER BY _url_index, _page;
