-- Responses that break HTTP/1.1 itself, each sent byte for byte by the
-- loopback server (/rawresponse).  Found by the hostile-server fuzz run
-- (make fuzz-http, tests/fuzz_http.py); each case is one that once crashed
-- or lost a row.  Every URL gives its row, and nothing crashes.
.load ./apifetch
.headers on
-- A first header line that is folded (starts with a space), on the second
-- transfer of a slot (concurrency 1): libcurl 7.88 kept a pointer to the
-- first transfer's last header after freeing it and realloc'd it here, a
-- double free, while apifetch reused easy handles.
SELECT url_index, status, error, data
  FROM api_fetch('["$BASE/obj?id=1",
    "$BASE/rawresponse?hex=485454502f312e3120323030204f4b0d0a20466f6c6465643a2066697273740d0a436f6e74656e742d547970653a206170706c69636174696f6e2f6a736f6e0d0a436f6e74656e742d4c656e6774683a20320d0a0d0a5b5d",
    "$BASE/obj?id=3"]', 1, '{"max_attempts": 1}')
 ORDER BY url_index;
-- A status line that says HTTP/2 on a cleartext HTTP/1.1 connection: libcurl
-- 7.88 then takes the host for one that multiplexes and sends the next
-- request on a connection still busy with another response (here the slow
-- one), so responses cross between URLs.  Cleartext transfers ask for
-- HTTP/1.1 only, which keeps each request on a connection of its own, so
-- the slow body arrives whole (30 spaces: not JSON, but all of them; before,
-- the third request on its connection cut it off).
SELECT url_index, status, error, data
  FROM api_fetch('["$BASE/slow?bytes=30&bps=60",
    "$BASE/rawresponse?hex=485454502f32203230300d0a436f6e74656e742d547970653a206170706c69636174696f6e2f6a736f6e0d0a436f6e74656e742d4c656e6774683a20320d0a0d0a5b5d",
    "$BASE/obj?id=3"]', 2, '{"max_attempts": 1, "timeout_ms": 5000}')
 ORDER BY url_index;
