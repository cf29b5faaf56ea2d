/*
** cache.c - the store of the persistent HTTP cache: responses kept in a
** SQLite database that apifetch opens on a connection of its own, so that
** the user's transaction, and a read-only Datasette connection, are never
** touched.
**
**   SELECT * FROM api_fetch(:urls, 20, '{"cache": "responses.db"}');
**   SELECT host, count(*), sum(size) FROM api_fetch_cache('responses.db') GROUP BY host;
**
** A file is opened in WAL mode with a busy timeout, so several processes
** can share it; ":memory:" is a cache that lives with the connection.  A
** file that is not a database, or a database that is not a cache, is an
** error that says so; api_fetch_cache and _prune make no cache (a missing
** file or an empty one is an error too), and a listing opens the file
** read-only.  Keys are SHA-256 of a random salt kept in the file
** and of everything about the request that may change the answer (method,
** URL, body, every header sent, credentials), so two users' tokens never
** share an entry and no secret is stored in clear: the URL is stored as
** the url column shows it (secrets redacted), request headers and
** bodies not at all, and of the response's headers not Set-Cookie.  The IP
** address each body came from is kept with it, for the guard to judge a
** hit by (block_private, as it judges a connection).
**
** Each store is one transaction, committed before the row is returned: a
** crawl killed at any point keeps every response it has given.  What is
** fresh or storable is httpcache.c's to say; when to ask, the engine's.
*/
#include <ctype.h>
#include <assert.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "apifetch.h"
#include "cache.h"

/* The schema below; a file of another format is refused, by name.  2: the
** address column (the guard's block_private checks a hit against it).
** 3: keys of RFC 9111 section 4.1 (volatile headers out, Vary's in the
** vary column), and an index on url for invalidation (section 4.4). */
#define CACHE_FORMAT 3
#define CACHE_TEXT_(x) #x
#define CACHE_TEXT(x) CACHE_TEXT_(x)
#define CACHE_BUSY_MS 10000      /* how long a busy file is waited for */
#define CACHE_VARIANTS 16        /* variants of a key (Vary) kept and looked at */

/* The schema.  total_bytes is kept by triggers, so that the size cap is
** checked without a scan; last_used orders eviction, oldest first. */
static const char zSchema[] =
  "CREATE TABLE apifetch_cache_meta(name TEXT PRIMARY KEY, value) WITHOUT ROWID;"
  "CREATE TABLE apifetch_cache("
  "  id INTEGER PRIMARY KEY,"       /* the first 8 bytes of the key, or with vary of
                                    ** a hash of both (entry_id): one row a variant */
  "  key BLOB NOT NULL,"            /* SHA-256: salt, method, URL, body, credentials,
                                    ** keyed headers (cachestore_key) */
  "  vary BLOB,"                    /* SHA-256 of the request's values of the headers
                                    ** the response's Vary names; NULL: no Vary */
  "  host TEXT NOT NULL,"           /* for pruning and listing by host */
  "  url TEXT NOT NULL,"            /* as the url column shows it */
  "  final_url TEXT,"               /* where redirects led, if anywhere */
  "  address TEXT,"                 /* the IP address the body came from (libcurl's
                                    ** CURLINFO_PRIMARY_IP of the final hop) */
  "  method TEXT NOT NULL,"
  "  status INTEGER NOT NULL,"
  "  content_type TEXT,"
  "  headers TEXT,"                 /* the response's header lines, but Set-Cookie */
  "  stored_at INTEGER NOT NULL,"   /* unix ms: stored, or last confirmed by a 304 */
  "  fresh_until INTEGER NOT NULL," /* unix ms: fresh until then, as the policy that
                                    ** stored it said (its headers; ttl's at least) */
  "  stale_until INTEGER NOT NULL," /* unix ms: may be served stale on error; -1 never */
  "  last_used INTEGER NOT NULL,"   /* unix ms */
  "  size INTEGER NOT NULL,"        /* bytes of body */
  "  body BLOB NOT NULL);"
  "CREATE INDEX apifetch_cache_lru ON apifetch_cache(last_used);"
  "CREATE INDEX apifetch_cache_host ON apifetch_cache(host);"
  "CREATE INDEX apifetch_cache_url ON apifetch_cache(url);"
  "CREATE INDEX apifetch_cache_key ON apifetch_cache(key);"
  "CREATE TRIGGER apifetch_cache_ins AFTER INSERT ON apifetch_cache BEGIN"
  "  UPDATE apifetch_cache_meta SET value = value + new.size WHERE name = 'total_bytes'; END;"
  "CREATE TRIGGER apifetch_cache_del AFTER DELETE ON apifetch_cache BEGIN"
  "  UPDATE apifetch_cache_meta SET value = value - old.size WHERE name = 'total_bytes'; END;"
  "CREATE TRIGGER apifetch_cache_upd AFTER UPDATE OF size ON apifetch_cache BEGIN"
  "  UPDATE apifetch_cache_meta SET value = value - old.size + new.size"
  "   WHERE name = 'total_bytes'; END;"
  "INSERT INTO apifetch_cache_meta VALUES ('format', " CACHE_TEXT(CACHE_FORMAT) "),"
  "  ('total_bytes', 0),"
  "  ('salt', randomblob(16));";

sqlite3_int64 cache_now_ms(void){
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (sqlite3_int64)ts.tv_sec*1000 + ts.tv_nsec/1000000;
}

static int store_error(CacheStore *p, int rc, const char *zWhat, char **pzErr){
  if( rc==SQLITE_NOMEM ) return SQLITE_NOMEM;
  *pzErr = sqlite3_mprintf("api_fetch: cache \"%s\": %s: %s", p->zName, zWhat,
                           p->db ? sqlite3_errmsg(p->db) : sqlite3_errstr(rc));
  return rc ? rc : SQLITE_ERROR;
}

/* The schema of db as one text (type, name, table, SQL of each entry), or
** NULL with *pRc SQLITE_OK for an empty database. */
static char *schema_text(sqlite3 *db, int *pRc){
  sqlite3_stmt *s = 0;
  char *z = 0;
  *pRc = sqlite3_prepare_v2(db,
      "SELECT group_concat(type || char(31) || name || char(31) || tbl_name"
      " || char(31) || coalesce(sql, ''), char(30)) FROM"
      " (SELECT * FROM sqlite_schema ORDER BY type, name)", -1, &s, 0);
  if( *pRc==SQLITE_OK && (*pRc = sqlite3_step(s))==SQLITE_ROW ){
    const char *zText = (const char*)sqlite3_column_text(s, 0);
    *pRc = SQLITE_OK;
    if( zText && (z = sqlite3_mprintf("%s", zText))==0 ) *pRc = SQLITE_NOMEM;
  }
  sqlite3_finalize(s);
  return z;
}

/* Is the database empty (*pbEmpty), exactly ours (*pbOurs), or neither?
** Exactly: a file is data, and a trigger, view or index added to it would
** run or be used by this connection (a trigger's recursive query hung a
** store; one rewrote every stored body), so the schema is compared whole
** with the one zSchema makes. */
static int store_inspect(CacheStore *p, int *pbEmpty, int *pbOurs){
  sqlite3 *mem = 0;
  char *zFile, *zOurs = 0;
  int rc;
  *pbEmpty = *pbOurs = 0;
  zFile = schema_text(p->db, &rc);
  if( rc ) return rc;
  if( zFile==0 ){ *pbEmpty = 1; return SQLITE_OK; }
  rc = sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE|SQLITE_OPEN_NOMUTEX, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_exec(mem, zSchema, 0, 0, 0);
  if( rc==SQLITE_OK ) zOurs = schema_text(mem, &rc);
  if( rc==SQLITE_OK ) *pbOurs = zOurs && strcmp(zFile, zOurs)==0;
  sqlite3_close(mem);
  sqlite3_free(zOurs);
  sqlite3_free(zFile);
  return (rc & 0xff)==SQLITE_NOMEM ? SQLITE_NOMEM : rc;
}

static int store_other_format(CacheStore *p, sqlite3_int64 iFormat, char **pzErr){
  *pzErr = sqlite3_mprintf("api_fetch: cache \"%s\" was made by another version of "
                           "apifetch (format %lld; this one reads %d): name a new file",
                           p->zName, iFormat, CACHE_FORMAT);
  return SQLITE_ERROR;
}

/* Read the format and the salt of a database that is ours. */
static int store_settings(CacheStore *p, char **pzErr){
  sqlite3_stmt *s = 0;
  int rc = sqlite3_prepare_v2(p->db,
      "SELECT (SELECT value FROM apifetch_cache_meta WHERE name = 'format'),"
      " (SELECT value FROM apifetch_cache_meta WHERE name = 'salt')", -1, &s, 0);
  if( rc==SQLITE_OK && (rc = sqlite3_step(s))==SQLITE_ROW ){
    const void *pSalt = sqlite3_column_blob(s, 1);
    int nSalt = sqlite3_column_bytes(s, 1);
    sqlite3_int64 iFormat = sqlite3_column_int64(s, 0);
    if( iFormat!=CACHE_FORMAT ){
      sqlite3_finalize(s);
      return store_other_format(p, iFormat, pzErr);
    }
    if( nSalt!=(int)sizeof(p->aSalt) || pSalt==0 ){
      sqlite3_finalize(s);
      *pzErr = sqlite3_mprintf("api_fetch: cache \"%s\" is damaged (its salt is not %d "
                               "bytes): name a new file", p->zName, (int)sizeof(p->aSalt));
      return SQLITE_ERROR;
    }
    memcpy(p->aSalt, pSalt, sizeof(p->aSalt));
    rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  return rc ? store_error(p, rc, "cannot read its settings", pzErr) : SQLITE_OK;
}

/* An empty database (an empty file, say) named where a cache must exist
** already: api_fetch_cache and _prune look, they do not make one. */
static int store_not_made(CacheStore *p, char **pzErr){
  *pzErr = sqlite3_mprintf("api_fetch: cache \"%s\" is an empty database, not an apifetch "
                           "cache (a cache is made by api_fetch's cache option)", p->zName);
  return SQLITE_ERROR;
}

/* A database whose schema is not ours: a cache of another format (its
** meta table names one), which is named as such, or not a cache at all.
** Read only, and only from a plain table: a SELECT from one runs nothing
** of the file's (a view or a virtual table could). */
static int store_not_ours(CacheStore *p, char **pzErr){
  sqlite3_stmt *s = 0;
  int rc = sqlite3_prepare_v2(p->db,
      "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'apifetch_cache_meta'"
      " AND sql NOT LIKE 'CREATE VIRTUAL%'", -1, &s, 0);
  int bTable = rc==SQLITE_OK && sqlite3_step(s)==SQLITE_ROW;
  sqlite3_finalize(s);
  s = 0;
  if( bTable ){
    rc = sqlite3_prepare_v2(p->db, "SELECT value FROM apifetch_cache_meta"
                            " WHERE name = 'format' AND typeof(value) = 'integer'", -1, &s, 0);
    if( rc==SQLITE_OK && sqlite3_step(s)==SQLITE_ROW ){
      sqlite3_int64 iFormat = sqlite3_column_int64(s, 0);
      sqlite3_finalize(s);
      if( iFormat!=CACHE_FORMAT ) return store_other_format(p, iFormat, pzErr);
      s = 0;
    }
    sqlite3_finalize(s);
  }
  if( (rc & 0xff)==SQLITE_NOMEM ) return SQLITE_NOMEM;
  *pzErr = sqlite3_mprintf("api_fetch: cache \"%s\" is a database but not an apifetch "
                           "cache (its schema is not the one apifetch makes: other tables, "
                           "or a trigger, view or index added): name a new file", p->zName);
  return SQLITE_ERROR;
}

/* Check that the database is ours, or make the schema in an empty one
** (CACHE_OPEN_MAKE only).  An existing cache is only read here: opening it
** does not wait for a writer, and a database that is not ours is left as
** it was. */
static int store_schema(CacheStore *p, int eOpen, char **pzErr){
  int rc, bEmpty = 0, bOurs = 0;
  rc = store_inspect(p, &bEmpty, &bOurs);
  if( rc ) return store_error(p, rc, "cannot read it", pzErr);
  if( bOurs ) return store_settings(p, pzErr);
  if( !bEmpty ) return store_not_ours(p, pzErr);
  if( eOpen!=CACHE_OPEN_MAKE ) return store_not_made(p, pzErr);
  /* IMMEDIATE, then look again: two processes opening a new file at once
  ** make one schema. */
  rc = sqlite3_exec(p->db, "BEGIN IMMEDIATE", 0, 0, 0);
  if( rc ) return store_error(p, rc, "cannot open it", pzErr);
  rc = store_inspect(p, &bEmpty, &bOurs);
  if( rc ){
    rc = store_error(p, rc, "cannot read it", pzErr);
  }else if( bEmpty ){
    rc = sqlite3_exec(p->db, zSchema, 0, 0, 0);
    if( rc ) rc = store_error(p, rc, "cannot make its tables", pzErr);
  }else if( !bOurs ){
    rc = store_not_ours(p, pzErr);
  }
  if( rc==SQLITE_OK ) rc = store_settings(p, pzErr);
  if( rc ){
    sqlite3_exec(p->db, "ROLLBACK", 0, 0, 0);
    return rc;
  }
  rc = sqlite3_exec(p->db, "COMMIT", 0, 0, 0);
  return rc ? store_error(p, rc, "cannot open it", pzErr) : SQLITE_OK;
}

static int store_prepare(CacheStore *p){
  static const char *const azSql[] = {
    /* The variants of a key, the most recently used first; a few are
    ** looked at, not all (a server may vary on a header that never repeats). */
    "SELECT status, content_type, headers, stored_at, fresh_until, stale_until, body,"
    " final_url, address, vary, id FROM apifetch_cache WHERE key = ?1"
    " ORDER BY last_used DESC LIMIT " CACHE_TEXT(CACHE_VARIANTS),
    /* Two keys with the same first 8 bytes (one chance in 2^64 per pair)
    ** share a row: the later replaces the earlier, and the earlier's next
    ** lookup, finding another key, is a miss. */
    "INSERT INTO apifetch_cache(id, key, host, url, method, status, content_type, headers,"
    " stored_at, fresh_until, stale_until, last_used, size, body, final_url, address, vary)"
    " VALUES (?1, ?13, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?8, length(?11), ?11, ?12, ?14,"
    " ?15)"
    " ON CONFLICT(id) DO UPDATE SET key = excluded.key, host = excluded.host,"
    " url = excluded.url,"
    " final_url = excluded.final_url, address = excluded.address,"
    " method = excluded.method, status = excluded.status,"
    " content_type = excluded.content_type, headers = excluded.headers,"
    " stored_at = excluded.stored_at, fresh_until = excluded.fresh_until,"
    " stale_until = excluded.stale_until, last_used = excluded.last_used,"
    " size = excluded.size, body = excluded.body, vary = excluded.vary",
    /* A 304: the server says the body is current now, so it counts as
    ** stored now (cache_mode ttl counts cache_ttl_ms from stored_at).  The
    ** address stays the one the body came from: it is the body a hit
    ** gives, and block_private judges where that came from. */
    "UPDATE apifetch_cache SET headers = ?2, fresh_until = ?3, stale_until = ?4,"
    " last_used = ?5, stored_at = ?5, final_url = ?7, vary = ?8 WHERE id = ?1 AND key = ?6",
    "UPDATE apifetch_cache SET last_used = ?2 WHERE id = ?1",
    /* Before a put: a response with Vary replaces the one without, and one
    ** without replaces every variant (the server no longer varies).  And
    ** the variants a lookup no longer looks at go: a server that varies on
    ** a header that never repeats (Vary: traceparent) would else add a row
    ** per request, which nothing finds, until the size cap evicts entries
    ** that are found. */
    "DELETE FROM apifetch_cache WHERE key = ?1 AND id <> ?2 AND (vary IS NULL OR ?3 IS NULL"
    " OR id NOT IN (SELECT id FROM apifetch_cache WHERE key = ?1 AND id <> ?2"
    " ORDER BY last_used DESC LIMIT " CACHE_TEXT(CACHE_VARIANTS) " - 1))",
    /* The least recently used, while over the cap.  One a statement: the
    ** cap is looked at once per statement, so a batch would go whole even
    ** when its first entry is enough (every entry, the new one too, where
    ** there are fewer than the batch). */
    "DELETE FROM apifetch_cache WHERE rowid = (SELECT rowid FROM apifetch_cache"
    " ORDER BY last_used, rowid LIMIT 1) AND (SELECT value FROM apifetch_cache_meta"
    " WHERE name = 'total_bytes') > ?1",
    /* Section 4.4: every stored response for a URL, whatever its method
    ** or credentials (url is as shown, secrets redacted: two URLs that
    ** differ only in a secret both go, which errs the safe way). */
    "DELETE FROM apifetch_cache WHERE url = ?1",
  };
  sqlite3_stmt **apStmt[] = { &p->pGet, &p->pPut, &p->pRefresh, &p->pTouch, &p->pDrop,
                              &p->pEvict, &p->pInvalidate };
  int i, rc = SQLITE_OK;
  for(i=0; rc==SQLITE_OK && i<ArraySize(azSql); i++){
    rc = sqlite3_prepare_v3(p->db, azSql[i], -1, SQLITE_PREPARE_PERSISTENT, apStmt[i], 0);
  }
  return rc;
}

/* Switch a new file to WAL (db_wal, util.c: waits out another process
** doing the same). */
static int store_wal(CacheStore *p){
  return db_wal(p->db, CACHE_BUSY_MS);
}

int cachestore_open(const char *zName, int eOpen, CacheStore **pp, char **pzErr){
  CacheStore *p;
  int rc;
  *pp = 0;
  assert( eOpen==CACHE_OPEN_MAKE || eOpen==CACHE_OPEN_WRITE || eOpen==CACHE_OPEN_READ );
  if( eOpen==CACHE_OPEN_WRITE ){
    /* Looked at read-only first: a read-write connection rolls back a hot
    ** journal, and the last one to close checkpoints the WAL into the
    ** file, which would change a database that is not ours. */
    CacheStore *pLook = 0;
    rc = cachestore_open(zName, CACHE_OPEN_READ, &pLook, pzErr);
    cachestore_close(pLook);
    if( rc ) return rc;
  }
  p = sqlite3_malloc(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->zName = sqlite3_mprintf("%s", zName);
  if( p->zName==0 ){ sqlite3_free(p); return SQLITE_NOMEM; }
  /* Its own connection.  No URI names: a file name is a file.  NOMUTEX:
  ** it is used by one statement of one connection at a time. */
  rc = sqlite3_open_v2(zName, &p->db,
      (eOpen==CACHE_OPEN_READ ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE)
      |(eOpen==CACHE_OPEN_MAKE ? SQLITE_OPEN_CREATE : 0)
      |SQLITE_OPEN_NOMUTEX|SQLITE_OPEN_EXRESCODE, 0);
  if( rc==SQLITE_OK ){
    sqlite3_busy_timeout(p->db, CACHE_BUSY_MS);
    rc = sqlite3_exec(p->db, "PRAGMA trusted_schema=OFF", 0, 0, 0);
    if( rc ) rc = store_error(p, rc, "cannot open it", pzErr);
  }else{
    rc = store_error(p, rc, "cannot open it", pzErr);
  }
  /* Ours first: a database that is not is left untouched (not even
  ** switched to WAL). */
  if( rc==SQLITE_OK ) rc = store_schema(p, eOpen, pzErr);
  if( rc==SQLITE_OK && eOpen!=CACHE_OPEN_READ ){
    /* WAL: readers and a writer at a time, from several processes.
    ** synchronous NORMAL: a commit survives the process being killed (not
    ** the power going), which is what resuming a crawl needs. */
    rc = store_wal(p);
    if( rc==SQLITE_OK ) rc = sqlite3_exec(p->db, "PRAGMA synchronous=NORMAL", 0, 0, 0);
    /* Lookups read pages in place rather than copying them in: a large
    ** cache costs no more per URL than a small one.  Best effort: a build
    ** without mmap reads as usual. */
    if( rc==SQLITE_OK ) sqlite3_exec(p->db, "PRAGMA mmap_size=268435456", 0, 0, 0);
    if( rc ) rc = store_error(p, rc, "cannot open it", pzErr);
  }
  if( rc==SQLITE_OK ){
    rc = store_prepare(p);
    if( rc ) rc = store_error(p, rc, "cannot use it", pzErr);
  }
  if( rc ){
    cachestore_close(p);
    return rc;
  }
  *pp = p;
  return SQLITE_OK;
}

void cachestore_close(CacheStore *p){
  if( p==0 ) return;
  if( p->pTouch ) cachestore_flush(p);
  sqlite3_finalize(p->pGet);
  sqlite3_finalize(p->pPut);
  sqlite3_finalize(p->pRefresh);
  sqlite3_finalize(p->pTouch);
  sqlite3_finalize(p->pEvict);
  sqlite3_finalize(p->pDrop);
  sqlite3_finalize(p->pInvalidate);
  sqlite3_close(p->db);
  sqlite3_free(p->aTouch);
  sqlite3_free(p->zName);
  sqlite3_free(p);
}

/**************************************************************************
** Keys
*/

/* One field of the key, its length first, so that no two different
** requests can run together into the same bytes. */
static void key_field(Sha256 *h, const void *z, size_t n){
  unsigned char aLen[8];
  int i;
  for(i=0; i<8; i++) aLen[i] = (unsigned char)((uint64_t)n >> (8*i));
  sha256_update(h, aLen, sizeof(aLen));
  if( n ) sha256_update(h, z, n);
}
/* An absent field: a length no field has, so that no bearer and an empty
** one ("Authorization: Bearer " is sent), or no User-Agent and the
** default, are different keys. */
static void key_absent(Sha256 *h){
  static const unsigned char aNone[8] = { 0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff };
  sha256_update(h, aNone, sizeof(aNone));
}
static void key_text(Sha256 *h, const char *z){
  if( z==0 ){ key_absent(h); return; }
  key_field(h, z, strlen(z));
}

/* The request's key: the header lines k->xKeyed says are keyed, in their
** order; those it leaves out a response's Vary may name, and they are
** matched apart (cachestore_vary_key; Vary: * is never stored). */
void cachestore_key(const CacheStore *p, const CacheKeyParts *k,
                    unsigned char aKey[CACHE_KEY_SIZE]){
  Sha256 h;
  const struct curl_slist *l;
  int n = 0;
  sha256_init(&h);
  key_field(&h, p->aSalt, sizeof(p->aSalt));
  key_text(&h, k->zMethod ? k->zMethod : (k->pBody ? "POST" : "GET"));
  key_text(&h, k->zUrl);
  if( k->pBody ) key_field(&h, k->pBody, k->nBody); else key_absent(&h);
  for(l=k->pHeaders; l; l=l->next) n += k->xKeyed(k->pKeyedCtx, l->data);
  key_field(&h, &n, sizeof(n));
  for(l=k->pHeaders; l; l=l->next){
    if( k->xKeyed(k->pKeyedCtx, l->data) ) key_text(&h, l->data);
  }
  key_text(&h, k->zBearer);
  key_text(&h, k->zBasic);
  key_text(&h, k->zUserAgent);
  /* Last and only if set, so that keys without a proxy stay as they were;
  ** no user agent (a C string) can end in a field's length, which holds a
  ** NUL byte, so no key without one equals a key with one. */
  if( k->zProxy ) key_text(&h, k->zProxy);
  sha256_final(&h, aKey);
}

/* The values a request sends for header zName (n bytes), each line's with
** the spaces around it gone, then how many there were (0: absent): into h. */
static void vary_value(Sha256 *h, const char *zName, size_t n,
                       const struct curl_slist *pHeaders, const char *zUserAgent){
  const struct curl_slist *l;
  int nFound = 0;
  for(l=pHeaders; l; l=l->next){
    const char *z = l->data, *zEnd;
    if( strncasecmp(z, zName, n)!=0 || z[n]!=':' ) continue;
    for(z+=n+1; *z==' ' || *z=='\t'; z++){}
    for(zEnd=z+strlen(z); zEnd>z && (zEnd[-1]==' ' || zEnd[-1]=='\t'); zEnd--){}
    key_field(h, z, (size_t)(zEnd-z));
    nFound++;
  }
  /* User-Agent is the option's, not a header line, unless one is given. */
  if( nFound==0 && zUserAgent && n==10 && strncasecmp(zName, "user-agent", 10)==0 ){
    key_field(h, zUserAgent, strlen(zUserAgent));
    nFound++;
  }
  key_field(h, &nFound, sizeof(nFound));
}

void cachestore_vary_key(const CacheStore *p, const char *zVary,
                         const struct curl_slist *pHeaders, const char *zUserAgent,
                         unsigned char aKey[CACHE_KEY_SIZE]){
  Sha256 h;
  const char *z = zVary;
  sha256_init(&h);
  key_field(&h, p->aSalt, sizeof(p->aSalt));
  while( *z ){
    size_t n;
    while( *z==',' || *z==' ' || *z=='\t' ) z++;
    for(n=0; z[n] && http_is_tchar((unsigned char)z[n]); n++){}
    if( n>0 ){
      char aLow[64];
      size_t i, nLow = n<sizeof(aLow) ? n : sizeof(aLow);
      for(i=0; i<nLow; i++) aLow[i] = (char)tolower((unsigned char)z[i]);
      key_field(&h, aLow, nLow);
      vary_value(&h, z, n, pHeaders, zUserAgent);
    }
    z += n;
    while( *z && *z!=',' ) z++;              /* not a field name: skipped */
  }
  sha256_final(&h, aKey);
}

/**************************************************************************
** Entries
*/

/* The rowid of a key: its first 8 bytes. */
static sqlite3_int64 key_id(const unsigned char *aKey){
  uint64_t x = 0;
  int i;
  for(i=0; i<8; i++) x = (x<<8) | aKey[i];
  return (sqlite3_int64)x;
}
static int column_dup(sqlite3_stmt *s, int i, char **pz){
  const char *z = (const char*)sqlite3_column_text(s, i);
  *pz = 0;
  if( z==0 ) return sqlite3_column_type(s, i)==SQLITE_NULL ? SQLITE_OK : SQLITE_NOMEM;
  *pz = sqlite3_mprintf("%s", z);
  return *pz ? SQLITE_OK : SQLITE_NOMEM;
}

void cached_clear(Cached *p){
  sqlite3_free(p->zContentType);
  sqlite3_free(p->zHeaders);
  sqlite3_free(p->zFinalUrl);
  sqlite3_free(p->zAddress);
  sqlite3_free(p->pBody);
  memset(p, 0, sizeof(*p));
}

static int read_entry(sqlite3_stmt *s, Cached *pOut){
  const void *pBody = sqlite3_column_blob(s, 6);
  int nBody = sqlite3_column_bytes(s, 6);
  pOut->status = (long)sqlite3_column_int64(s, 0);
  pOut->tStored = sqlite3_column_int64(s, 3);
  pOut->tFreshUntil = sqlite3_column_int64(s, 4);
  pOut->tStaleUntil = sqlite3_column_int64(s, 5);
  if( sqlite3_column_bytes(s, 9)==CACHE_KEY_SIZE ){
    memcpy(pOut->aVary, sqlite3_column_blob(s, 9), CACHE_KEY_SIZE);
    pOut->bVary = 1;
  }
  if( column_dup(s, 1, &pOut->zContentType) || column_dup(s, 2, &pOut->zHeaders)
   || column_dup(s, 7, &pOut->zFinalUrl) || column_dup(s, 8, &pOut->zAddress) ){
    return SQLITE_NOMEM;
  }
  if( nBody>0 && pBody==0 ) return SQLITE_NOMEM;
  /* NUL-terminated, as the engine's bodies are. */
  pOut->pBody = sqlite3_malloc64((sqlite3_uint64)nBody + 1);
  if( pOut->pBody==0 ) return SQLITE_NOMEM;
  if( nBody ) memcpy(pOut->pBody, pBody, (size_t)nBody);
  pOut->pBody[nBody] = 0;
  pOut->nBody = (size_t)nBody;
  return SQLITE_OK;
}

/* The rowid of an entry: its key's first 8 bytes, or, for a response with
** Vary, those of a hash of the key and the request's values. */
static sqlite3_int64 entry_id(const unsigned char *aKey, const Cached *c){
  unsigned char aId[SHA256_SIZE];
  Sha256 h;
  if( !c->bVary ) return key_id(aKey);
  sha256_init(&h);
  sha256_update(&h, aKey, CACHE_KEY_SIZE);
  sha256_update(&h, c->aVary, CACHE_KEY_SIZE);
  sha256_final(&h, aId);
  return key_id(aId);
}

/* Is "*" a member of Vary list z?  Such a response matches no request
** (section 4.1): never stored so, but a 304 may say it of a stored one. */
static int vary_star(const char *z){
  while( *z ){
    size_t n;
    z += strspn(z, ", \t");
    n = strcspn(z, ", \t");
    if( n==1 && z[0]=='*' ) return 1;
    z += n;
  }
  return 0;
}

/* Does the stored row under s answer a request with these headers as far
** as its Vary goes (RFC 9111 section 4.1)? */
static int entry_matches(const CacheStore *p, sqlite3_stmt *s,
                         const struct curl_slist *pHeaders, const char *zUserAgent,
                         int *pbMatch){
  unsigned char aVary[CACHE_KEY_SIZE];
  int bOom = 0;
  char *zVary;
  *pbMatch = 1;
  if( sqlite3_column_type(s, 9)==SQLITE_NULL ) return SQLITE_OK;
  zVary = cached_header((const char*)sqlite3_column_text(s, 2), "vary", &bOom);
  if( bOom ) return SQLITE_NOMEM;
  if( zVary && vary_star(zVary) ){
    sqlite3_free(zVary);
    *pbMatch = 0;
    return SQLITE_OK;
  }
  cachestore_vary_key(p, zVary ? zVary : "", pHeaders, zUserAgent, aVary);
  sqlite3_free(zVary);
  *pbMatch = sqlite3_column_bytes(s, 9)==CACHE_KEY_SIZE
          && memcmp(sqlite3_column_blob(s, 9), aVary, CACHE_KEY_SIZE)==0;
  return SQLITE_OK;
}

int cachestore_get(CacheStore *p, const unsigned char *aKey,
                   const struct curl_slist *pHeaders, const char *zUserAgent,
                   Cached *pOut, char **pzErr){
  sqlite3_stmt *s = p->pGet;
  int rc, bMatch = 0;
  memset(pOut, 0, sizeof(*pOut));
  sqlite3_bind_blob(s, 1, aKey, CACHE_KEY_SIZE, SQLITE_STATIC);
  while( (rc = sqlite3_step(s))==SQLITE_ROW ){
    if( entry_matches(p, s, pHeaders, zUserAgent, &bMatch) ){ rc = SQLITE_NOMEM; break; }
    if( bMatch ) break;
  }
  if( rc==SQLITE_ROW ){
    pOut->iId = sqlite3_column_int64(s, 10);
    if( read_entry(s, pOut) ){
      cached_clear(pOut);
      rc = SQLITE_NOMEM;
    }
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if( rc==SQLITE_ROW || rc==SQLITE_DONE ) return rc;
  if( rc==SQLITE_NOMEM ) return rc;
  return store_error(p, rc, "cannot read an entry", pzErr);
}

/* The host of a URL, for the host column ("" if it has none); NULL on
** out of memory, which must not store "" (prune by host would miss it). */
static char *url_host(const char *zUrl){
  CURLU *u = curl_url();
  char *zHost = 0, *z = 0;
  CURLUcode uc = CURLUE_OUT_OF_MEMORY;
  if( u ){
    uc = curl_url_set(u, CURLUPART_URL, zUrl, 0);
    if( uc==CURLUE_OK ) uc = curl_url_get(u, CURLUPART_HOST, &zHost, 0);
  }
  if( uc!=CURLUE_OUT_OF_MEMORY ) z = sqlite3_mprintf("%s", zHost ? zHost : "");
  curl_free(zHost);
  curl_url_cleanup(u);
  return z;
}

/* Evict least recently used entries until the bodies fit in maxBytes. */
static int store_evict(CacheStore *p, sqlite3_int64 maxBytes){
  if( maxBytes<=0 ) return SQLITE_OK;
  for(;;){
    int rc;
    sqlite3_bind_int64(p->pEvict, 1, maxBytes);
    rc = sqlite3_step(p->pEvict);
    sqlite3_reset(p->pEvict);
    if( rc!=SQLITE_DONE ) return rc;
    if( sqlite3_changes(p->db)==0 ) return SQLITE_OK;
  }
}

/* Run statements sFirst (if not NULL) and s (bound), then the eviction, in
** one transaction. */
static int store_write2(CacheStore *p, sqlite3_stmt *sFirst, sqlite3_stmt *s,
                        sqlite3_int64 maxBytes, const char *zWhat, char **pzErr){
  int rc = sqlite3_exec(p->db, "BEGIN IMMEDIATE", 0, 0, 0);
  if( rc==SQLITE_OK && sFirst ){
    rc = sqlite3_step(sFirst);
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3_step(s);
    if( rc==SQLITE_DONE ) rc = store_evict(p, maxBytes);
    if( rc==SQLITE_DONE || rc==SQLITE_OK ) rc = sqlite3_exec(p->db, "COMMIT", 0, 0, 0);
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if( sFirst ){
    sqlite3_reset(sFirst);
    sqlite3_clear_bindings(sFirst);
  }
  if( rc ){
    rc = store_error(p, rc, zWhat, pzErr);
    if( !sqlite3_get_autocommit(p->db) ) sqlite3_exec(p->db, "ROLLBACK", 0, 0, 0);
  }
  return rc;
}

static int store_write(CacheStore *p, sqlite3_stmt *s, sqlite3_int64 maxBytes,
                       const char *zWhat, char **pzErr){
  return store_write2(p, 0, s, maxBytes, zWhat, pzErr);
}

int cachestore_put(CacheStore *p, const unsigned char *aKey, const char *zUrlShown,
                   const char *zMethod, const Cached *c, sqlite3_int64 maxBytes,
                   char **pzErr){
  sqlite3_stmt *s = p->pPut;
  char *zHost = url_host(zUrlShown);
  int rc;
  assert( c->nBody==0 || c->pBody!=0 );
  if( zHost==0 ) return SQLITE_NOMEM;
  sqlite3_int64 iId = entry_id(aKey, c);
  sqlite3_bind_int64(s, 1, iId);
  sqlite3_bind_blob(s, 13, aKey, CACHE_KEY_SIZE, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, zHost, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, zUrlShown, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, zMethod ? zMethod : "GET", -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 5, c->status);
  sqlite3_bind_text(s, 6, c->zContentType, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 7, c->zHeaders, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 8, c->tStored);
  sqlite3_bind_int64(s, 9, c->tFreshUntil);
  sqlite3_bind_int64(s, 10, c->tStaleUntil);
  sqlite3_bind_blob64(s, 11, c->pBody ? c->pBody : "", c->nBody, SQLITE_STATIC);
  sqlite3_bind_text(s, 12, c->zFinalUrl, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 14, c->zAddress, -1, SQLITE_STATIC);
  if( c->bVary ) sqlite3_bind_blob(s, 15, c->aVary, CACHE_KEY_SIZE, SQLITE_STATIC);
  sqlite3_bind_blob(p->pDrop, 1, aKey, CACHE_KEY_SIZE, SQLITE_STATIC);
  sqlite3_bind_int64(p->pDrop, 2, iId);
  if( c->bVary ) sqlite3_bind_int(p->pDrop, 3, 1);
  rc = store_write2(p, p->pDrop, s, maxBytes, "cannot store an entry", pzErr);
  sqlite3_free(zHost);
  return rc;
}

int cachestore_refresh(CacheStore *p, const unsigned char *aKey, const Cached *c,
                       char **pzErr){
  sqlite3_stmt *s = p->pRefresh;
  sqlite3_bind_int64(s, 1, c->iId);
  sqlite3_bind_blob(s, 6, aKey, CACHE_KEY_SIZE, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, c->zHeaders, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, c->tFreshUntil);
  sqlite3_bind_int64(s, 4, c->tStaleUntil);
  sqlite3_bind_int64(s, 5, c->tStored);
  sqlite3_bind_text(s, 7, c->zFinalUrl, -1, SQLITE_STATIC);
  if( c->bVary ) sqlite3_bind_blob(s, 8, c->aVary, CACHE_KEY_SIZE, SQLITE_STATIC);
  return store_write(p, s, 0, "cannot update an entry", pzErr);
}

int cachestore_invalidate(CacheStore *p, const char *zUrlShown, char **pzErr){
  sqlite3_bind_text(p->pInvalidate, 1, zUrlShown, -1, SQLITE_STATIC);
  return store_write(p, p->pInvalidate, 0, "cannot invalidate entries", pzErr);
}

/* A hit moves the entry to the back of the eviction order.  Writing that
** at every hit would make a warm re-run a transaction per URL: the keys are
** kept and written together, every 1024 hits and when the scan ends. */
int cachestore_touch(CacheStore *p, sqlite3_int64 iId){
  if( p->nTouch==p->nTouchAlloc ){
    int nNew = p->nTouchAlloc ? p->nTouchAlloc*2 : 64;
    sqlite3_int64 *a = sqlite3_realloc64(p->aTouch, (sqlite3_uint64)nNew*sizeof(*a));
    if( a==0 ) return SQLITE_NOMEM;
    p->aTouch = a;
    p->nTouchAlloc = nNew;
  }
  p->aTouch[p->nTouch++] = iId;
  return p->nTouch>=1024 ? cachestore_flush(p) : SQLITE_OK;
}

int cachestore_flush(CacheStore *p){
  sqlite3_int64 now = cache_now_ms();
  int i, rc;
  if( p->nTouch==0 ) return SQLITE_OK;
  rc = sqlite3_exec(p->db, "BEGIN IMMEDIATE", 0, 0, 0);
  for(i=0; rc==SQLITE_OK && i<p->nTouch; i++){
    sqlite3_bind_int64(p->pTouch, 1, p->aTouch[i]);
    sqlite3_bind_int64(p->pTouch, 2, now);
    rc = sqlite3_step(p->pTouch);
    sqlite3_reset(p->pTouch);
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  }
  if( rc==SQLITE_OK ) rc = sqlite3_exec(p->db, "COMMIT", 0, 0, 0);
  if( rc && !sqlite3_get_autocommit(p->db) ) sqlite3_exec(p->db, "ROLLBACK", 0, 0, 0);
  p->nTouch = 0;                /* recency is a hint: not worth a retry */
  return SQLITE_OK;
}

/**************************************************************************
** Header lines
*/
char *cached_header(const char *zHeaders, const char *zName, int *pbOom){
  size_t nName = strlen(zName);
  const char *z = zHeaders;
  Buf b = {0, 0, 0, 0};
  int bFound = 0;
  while( z && *z ){
    size_t nLine = strcspn(z, "\r\n");
    if( nLine>nName && z[nName]==':' && strncasecmp(z, zName, nName)==0 ){
      const char *v = z + nName + 1;
      size_t n = nLine - nName - 1;
      while( n && (*v==' ' || *v=='\t') ){ v++; n--; }
      if( bFound ) buf_append(&b, STRCONST(", "));
      buf_append(&b, v, n);
      bFound = 1;
    }
    z += nLine;
    while( *z=='\r' || *z=='\n' ) z++;
  }
  if( b.bOom ){ *pbOom = 1; buf_free(&b); return 0; }
  if( bFound && b.z==0 ){           /* present and empty */
    char *zEmpty = sqlite3_mprintf("%s", "");
    if( zEmpty==0 ) *pbOom = 1;
    return zEmpty;
  }
  return b.z;
}
