-- Where a chain's next page is and what it may be: found by the hostile
-- HTTP server fuzz run (make fuzz-http).
.load ./apifetch
.headers on
-- A relative next page is resolved against the URL the page came from
-- after its redirects (RFC 3986 section 5.1.3, RFC 8288 section 3.2):
-- /rbase/a/start redirects to /rbase/b/page1, whose next page is "page2",
-- in its Link header and in its body.  /rbase/b/page2 is right;
-- /rbase/a/page2 (resolved against the URL first asked for) was wrong.
-- The url column stays the URL asked for.
SELECT page, url, data ->> 'p' AS p FROM api_fetch('["$BASE/rbase/a/start"]', 1,
  '{"record_path": "items", "paginate": {"type": "link"}}') ORDER BY page;
SELECT page, url, data ->> 'p' AS p FROM api_fetch('["$BASE/rbase/a/start"]', 1,
  '{"record_path": "items", "paginate": {"type": "next", "next_path": "next"}}') ORDER BY page;
-- A redirect to another origin (localhost for 127.0.0.1): the next page is
-- on that origin, and gets no credentials, as the redirect did not.
SELECT page, url, data ->> 'p' AS p, data ->> 'auth' AS auth
  FROM api_fetch('["$BASE/rbase/a/start?to=http://localhost:$PORT"]', 1,
    '{"record_path": "items", "bearer": "t0k",
      "paginate": {"type": "next", "next_path": "next"}}') ORDER BY page;
-- Absent, null, false and "" say there is no next page: the collection
-- ends, one page each.  Anything else that cannot be followed is an error
-- row for the next page (its number, the URL of the page that named it)
-- saying what and where, not a collection that ends without a word.
SELECT url_index, page, data ->> 'v' AS v, error
  FROM api_fetch('["$BASE/badnext?v=absent", "$BASE/badnext?v=null", "$BASE/badnext?v=false",
                   "$BASE/badnext?v=empty", "$BASE/badnext?v=object", "$BASE/badnext?v=array",
                   "$BASE/badnext?v=true", "$BASE/badnext?v=nul", "$BASE/badnext?v=number"]', 4,
    '{"record_path": "items", "paginate": {"type": "cursor", "cursor_path": "meta.next"}}')
 ORDER BY url_index, page;
SELECT url_index, page, data ->> 'v' AS v, error
  FROM api_fetch('["$BASE/badnext?v=null", "$BASE/badnext?v=empty", "$BASE/badnext?v=number",
                   "$BASE/badnext?v=object", "$BASE/badnext?v=nul", "$BASE/badnext?v=javascript",
                   "$BASE/badnext?v=ftp", "$BASE/badnext?v=ipv6"]', 4,
    '{"record_path": "items", "paginate": {"type": "next", "next_path": "meta.next"}}')
 ORDER BY url_index, page;
SELECT url_index, page, data ->> 'v' AS v, error
  FROM api_fetch('["$BASE/badnext?v=absent", "$BASE/badnext?v=javascript",
                   "$BASE/badnext?v=ftp", "$BASE/badnext?v=ipv6"]', 4,
    '{"record_path": "items", "paginate": {"type": "link"}}')
 ORDER BY url_index, page;
-- They count as body errors; the row is an error like any other for
-- on_error (skip: no row; fail: the statement fails).
SELECT name, value FROM api_fetch_stats() WHERE name IN ('urls', 'requests', 'errors', 'errors_body');
SELECT count(*) FROM api_fetch('["$BASE/badnext?v=true"]', 1,
  '{"on_error": "skip", "record_path": "items", "paginate": {"type": "cursor", "cursor_path": "meta.next"}}');
SELECT count(*) FROM api_fetch('["$BASE/badnext?v=true"]', 1,
  '{"on_error": "fail", "record_path": "items", "paginate": {"type": "cursor", "cursor_path": "meta.next"}}');
-- max_pages reached: the next page would not be followed anyway, no row.
SELECT count(*) FROM api_fetch('["$BASE/badnext?v=true"]', 1,
  '{"record_path": "items", "paginate": {"type": "cursor", "cursor_path": "meta.next", "max_pages": 1}}');
-- A next page the connection's limits refuse is an error row too, with
-- its own URL: it is a URL, only not one this connection may fetch.
SELECT api_fetch_config('{"allow_hosts": ["127.0.0.1:$PORT"]}') IS NOT NULL AS set_;
SELECT page, error FROM api_fetch('["$BASE/raw?body=%7B%22next%22%3A%22http%3A%2F%2Flocalhost%3A$PORT%2Fobj%22%7D"]', 1,
  '{"paginate": {"type": "next", "next_path": "next"}}') ORDER BY page;
SELECT api_fetch_config('{"allow_hosts": null}') IS NOT NULL AS set_;
-- The wide face: the same row, _page and _error.
CREATE VIRTUAL TABLE temp.bad USING api_fetch(url_list='["$BASE/badnext?v=object"]',
  record_path='items', paginate='{"type": "cursor", "cursor_path": "meta.next"}');
SELECT _page, v, _error FROM bad ORDER BY _page;
-- The shell ends with status 1, after the errors this file shows on purpose:
-- exit status: 1
