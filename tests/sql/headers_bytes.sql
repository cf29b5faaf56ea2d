-- A header value may hold bytes that are not UTF-8 (RFC 9110 section 5.5:
-- obs-text, in practice ISO-8859-1).  What the headers column and the
-- content_type column give is TEXT, so it must be UTF-8: Python's sqlite3
-- (and so Datasette) cannot even read a row that holds other bytes as
-- TEXT, and one hostile header would fail the whole query there.  Bytes
-- that are not UTF-8 are read as ISO-8859-1, as Python's http.client and
-- the Fetch standard read them; a value that is UTF-8 is kept as it is.
.load ./apifetch
.headers on
SELECT hex(headers ->> 'x-q') AS q, headers ->> 'x-u' AS u, hex(content_type) AS type
  FROM api_fetch('["$BASE/rawresponse?hex=485454502f312e3120323030204f4b0d0a436f6e74656e742d547970653a206170706c69636174696f6e2f6a736f6e3b20783de90d0a582d513a20636166e920ff0d0a582d553a20636166c3a90d0a436f6e74656e742d4c656e6774683a20320d0a436f6e6e656374696f6e3a20636c6f73650d0a0d0a7b7d"]', 1, '{"response_headers": true}');
SELECT hex(headers ->> 'x-q') AS q, headers ->> 'x-u' AS u, hex(content_type) AS type
  FROM api_fetch('["$BASE/rawresponse?hex=485454502f312e3120323030204f4b0d0a436f6e74656e742d547970653a206170706c69636174696f6e2f6a736f6e3b20783de90d0a582d513a20636166e920ff0d0a582d553a20636166c3a90d0a436f6e74656e742d4c656e6774683a20320d0a436f6e6e656374696f6e3a20636c6f73650d0a0d0a7b7d"]', 1,
                 '{"response_headers": true, "cache": ":memory:", "cache_mode": "ttl"}');
