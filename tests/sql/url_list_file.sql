-- url_list from a file: readfile() gives a BLOB, taken as text when it is
-- UTF-8 (one URL a line, or a JSON array); any other bytes are an error
-- that names url_list and the first bad byte.
-- exit status: 1
.load ./apifetch
SELECT writefile('/tmp/apifetch-urls-$PORT.txt',
  '# ids to enrich' || char(10) || '$BASE/obj?id=1' || char(10) || '$BASE/obj?id=2' || char(10)) > 0;
SELECT url_index, status, data ->> 'title' AS title
  FROM api_fetch(readfile('/tmp/apifetch-urls-$PORT.txt')) ORDER BY url_index;
SELECT writefile('/tmp/apifetch-urls-$PORT.txt', '["$BASE/obj?id=3"]') > 0;
SELECT url_index, data ->> 'title' AS title FROM api_fetch(readfile('/tmp/apifetch-urls-$PORT.txt'));
SELECT status, error FROM api_fetch(CAST('$BASE/echo?w=é' AS BLOB));
SELECT writefile('/tmp/apifetch-urls-$PORT.txt', x'2f6f626aff0a') > 0;
SELECT count(*) FROM api_fetch(readfile('/tmp/apifetch-urls-$PORT.txt'));
SELECT count(*) FROM api_fetch(x'');
.system rm -f /tmp/apifetch-urls-$PORT.txt
