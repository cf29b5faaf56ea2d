-- rate is the statement's, per_host each host's: a request its host holds
-- back (per_host: 1, its one slot busy with a slow response) gives its
-- token back, so the other host's requests go on at the rate instead of
-- waiting behind the slow one.
.load ./apifetch
CREATE TEMP TABLE t(url TEXT, status INTEGER);
INSERT INTO t SELECT url, status FROM api_fetch(
  json_array('$BASE/slow?bytes=2&bps=1', '$BASE/obj?id=1',
    'http://localhost:$PORT/obj?id=1', 'http://localhost:$PORT/obj?id=2',
    'http://localhost:$PORT/obj?id=3', 'http://localhost:$PORT/obj?id=4',
    'http://localhost:$PORT/obj?id=5', 'http://localhost:$PORT/obj?id=6',
    'http://localhost:$PORT/obj?id=7', 'http://localhost:$PORT/obj?id=8'),
  4, '{"rate": 20, "per_host": 1}');
SELECT count(*) AS rows, sum(status = 200) AS ok FROM t;
-- In completion order (rowid): every localhost row before the slow one.
SELECT (SELECT max(rowid) FROM t WHERE url LIKE 'http://localhost%')
     < (SELECT rowid FROM t WHERE url LIKE '%/slow%') AS others_went_on;
