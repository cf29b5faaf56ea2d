-- api_fetch_cache and api_fetch_cache_prune look at a cache; they do not
-- make one.  A file that is not a cache (empty, another database, one in
-- WAL mode with changes not yet checkpointed into it) is an error that
-- names it, and is left byte for byte as it was (an empty file gets no
-- -wal or -shm beside it).
.load ./apifetch
.headers on
.shell rm -rf build/cache-files && mkdir -p build/cache-files
-- An empty file.
.shell : > build/cache-files/empty.db
SELECT count(*) FROM api_fetch_cache('build/cache-files/empty.db');
SELECT api_fetch_cache_prune('build/cache-files/empty.db', '{"all": true}');
.shell wc -c < build/cache-files/empty.db; ls build/cache-files
-- Another database, and one in WAL mode whose last change is still in its
-- -wal file (the shell was told not to checkpoint when it closed).
.shell sqlite3 build/cache-files/other.db "CREATE TABLE t(a)" "INSERT INTO t VALUES (1)"
.shell sqlite3 build/cache-files/wal.db ".dbconfig no_ckpt_on_close on" "PRAGMA journal_mode=WAL" "CREATE TABLE t(a)" "INSERT INTO t VALUES (1)" > /dev/null
.shell cd build/cache-files && for f in other.db wal.db wal.db-wal; do cp $f $f.before; done
SELECT count(*) FROM api_fetch_cache('build/cache-files/other.db');
SELECT api_fetch_cache_prune('build/cache-files/other.db', '{"all": true}');
SELECT count(*) FROM api_fetch_cache('build/cache-files/wal.db');
SELECT api_fetch_cache_prune('build/cache-files/wal.db', '{"all": true}');
.shell cd build/cache-files && for f in other.db wal.db wal.db-wal; do cmp $f $f.before && echo "$f: as it was"; done; ls
-- A cache, made by the cache option: listed, then pruned.
SELECT cache FROM api_fetch('["$BASE/cache?id=1&cc=max-age=600"]', 1,
  '{"cache": "build/cache-files/cache.db"}');
SELECT count(*) FROM api_fetch_cache('build/cache-files/cache.db');
SELECT api_fetch_cache_prune('build/cache-files/cache.db', '{"all": true}') AS pruned;
SELECT count(*) FROM api_fetch_cache('build/cache-files/cache.db');
-- An empty file named by the cache option becomes a cache, as before.
SELECT cache FROM api_fetch('["$BASE/cache?id=2&cc=max-age=600"]', 1,
  '{"cache": "build/cache-files/empty.db"}');
SELECT count(*) FROM api_fetch_cache('build/cache-files/empty.db');
.shell rm -rf build/cache-files
-- The shell ends with status 1, after the errors this file shows on purpose:
-- exit status: 1
