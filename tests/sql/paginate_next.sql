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
