-- response_headers with a streamed body (format ndjson, src/chunk.c): the
-- headers column is the response's headers on every row, those of the
-- parts given before the body ended as of its last part.
.load ./apifetch
.headers on
SELECT count(*) AS rows, count(headers) AS with_headers, count(DISTINCT headers) AS distinct_headers,
       max(headers ->> 'content-type') AS type
  FROM api_fetch('["$BASE/ndjson?mb=1"]', 1, '{"format": "ndjson", "response_headers": true}');
