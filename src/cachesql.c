/*
** cachesql.c - the HTTP cache as SQL sees it: a table of its entries, and
** a function that deletes some.
**
**   SELECT host, count(*), sum(size) FROM api_fetch_cache('responses.db') GROUP BY host;
**   SELECT url, status, stored_at, fresh FROM api_fetch_cache('responses.db');
**   SELECT api_fetch_cache_prune('responses.db', '{"host": "api.example.com"}');
**   SELECT api_fetch_cache_prune('responses.db', '{"older_than_ms": 86400000}');
**
** The cache is named as the cache option names it (a file, or ":memory:"
** for the connection's own), or not at all for the host's default cache.
** Both are SQLITE_DIRECTONLY (a cache is a file, named by whoever wrote
** the SQL), and refuse to run on a locked connection: there the cache is
** the host's, shared by everyone whose SQL runs on it, who should neither
** read the URLs the others fetched nor empty it.  The host reads its
** cache file with the sqlite3 shell, as any SQLite database.  Neither
** shows keys, request headers or bodies, which are not stored.
*/
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "apifetch.h"
#include "cache.h"

/* The columns, and the SQL that reads them from the store.  Times are
** UTC text as SQLite's datetime() writes it, so that they compare with
** datetime('now', '-1 day'). */
#define CACHE_COLUMNS \
  "host TEXT, url TEXT, final_url TEXT, method TEXT, status INTEGER, " \
  "content_type TEXT, size INTEGER, stored_at TEXT, fresh_until TEXT, " \
  "last_used TEXT, fresh INTEGER"
#define N_CACHE_COLUMNS 11
#define COL_CACHE_ARG   N_CACHE_COLUMNS  /* the hidden argument */
static const char zCacheSelect[] =
  "SELECT host, url, final_url, method, status, content_type, size,"
  " datetime(stored_at/1000, 'unixepoch'), datetime(fresh_until/1000, 'unixepoch'),"
  " datetime(last_used/1000, 'unixepoch'), fresh_until > ?1"
  " FROM apifetch_cache ORDER BY rowid";

typedef struct CacheTable CacheTable;
struct CacheTable {
  sqlite3_vtab base;             /* Base class.  Must be first */
  Conn *pConn;
};
typedef struct CacheCursor CacheCursor;
struct CacheCursor {
  sqlite3_vtab_cursor base;      /* Base class.  Must be first */
  sqlite3_stmt *pStmt;           /* On the store's own connection */
  CacheStore *pOwn;              /* A store opened read-only for this listing, or NULL */
  int bEof;
  sqlite3_int64 iRow;
};

static int cacheConnect(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                        sqlite3_vtab **ppVtab, char **pzErr){
  CacheTable *t;
  int rc;
  (void)argc; (void)argv; (void)pzErr;
  rc = sqlite3_declare_vtab(db, "CREATE TABLE x(" CACHE_COLUMNS ", cache HIDDEN)");
  if( rc ) return rc;
  t = sqlite3_malloc(sizeof(*t));
  if( t==0 ) return SQLITE_NOMEM;
  memset(t, 0, sizeof(*t));
  t->pConn = (Conn*)pAux;
  /* It opens (and may create) a file by name. */
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *ppVtab = &t->base;
  return SQLITE_OK;
}

static int cacheDisconnect(sqlite3_vtab *p){
  sqlite3_free(p);
  return SQLITE_OK;
}

/* idxNum 1: the cache is given (the argument); 0: the host's default. */
static int cacheBestIndex(sqlite3_vtab *p, sqlite3_index_info *pInfo){
  int i;
  (void)p;
  pInfo->idxNum = 0;
  for(i=0; i<pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    if( c->iColumn!=COL_CACHE_ARG || c->op!=SQLITE_INDEX_CONSTRAINT_EQ ) continue;
    if( !c->usable ) return SQLITE_CONSTRAINT;
    pInfo->aConstraintUsage[i].argvIndex = 1;
    pInfo->aConstraintUsage[i].omit = 1;
    pInfo->idxNum = 1;
  }
  pInfo->estimatedCost = 1e5;
  pInfo->estimatedRows = 10000;
  return SQLITE_OK;
}

static int cacheOpen(sqlite3_vtab *p, sqlite3_vtab_cursor **pp){
  CacheCursor *c = sqlite3_malloc(sizeof(*c));
  (void)p;
  if( c==0 ) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  c->bEof = 1;
  *pp = &c->base;
  return SQLITE_OK;
}

/* The statement first: it runs on the store's connection. */
static void cache_cursor_reset(CacheCursor *c){
  sqlite3_finalize(c->pStmt);
  c->pStmt = 0;
  cachestore_close(c->pOwn);
  c->pOwn = 0;
}

static int cacheClose(sqlite3_vtab_cursor *cur){
  cache_cursor_reset((CacheCursor*)cur);
  sqlite3_free(cur);
  return SQLITE_OK;
}

static int cache_error(sqlite3_vtab_cursor *cur, int rc, char *zErr){
  sqlite3_free(cur->pVtab->zErrMsg);
  cur->pVtab->zErrMsg = zErr;
  return zErr ? rc : SQLITE_NOMEM;
}

static char *locked_error(const char *zWho){
  return sqlite3_mprintf("%s: the settings of this connection are locked, and its cache "
                         "is the host's: not to be read or pruned from SQL", zWho);
}

static int cacheNext(sqlite3_vtab_cursor *cur){
  CacheCursor *c = (CacheCursor*)cur;
  int rc = sqlite3_step(c->pStmt);
  c->iRow++;
  if( rc==SQLITE_ROW ) return SQLITE_OK;
  c->bEof = 1;
  if( rc==SQLITE_DONE ) return SQLITE_OK;
  return cache_error(cur, rc, sqlite3_mprintf("api_fetch_cache: cannot read the cache: %s",
                                              sqlite3_errstr(rc)));
}

static int cacheFilter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr,
                       int argc, sqlite3_value **argv){
  CacheCursor *c = (CacheCursor*)cur;
  Conn *pConn = ((CacheTable*)cur->pVtab)->pConn;
  const char *zName = 0;
  CacheStore *pStore = 0;
  char *zErr = 0;
  int rc, bOwn = 0;
  (void)idxStr; (void)argc;
  if( pConn->guard.bLocked ){
    return cache_error(cur, SQLITE_ERROR, locked_error("api_fetch_cache"));
  }
  cache_cursor_reset(c);
  c->bEof = 1;
  c->iRow = 0;
  if( idxNum==1 ){
    zName = (const char*)sqlite3_value_text(argv[0]);
    if( zName==0 && sqlite3_value_type(argv[0])!=SQLITE_NULL ) return SQLITE_NOMEM;
  }
  rc = conn_cache_existing(pConn, "api_fetch_cache", zName, 0, &pStore, &bOwn, &zErr);
  if( rc ) return cache_error(cur, rc, zErr);
  if( bOwn ) c->pOwn = pStore;
  cachestore_flush(pStore);              /* last_used as it is */
  rc = sqlite3_prepare_v2(pStore->db, zCacheSelect, -1, &c->pStmt, 0);
  if( rc ){
    return cache_error(cur, rc, sqlite3_mprintf("api_fetch_cache: cannot read cache \"%s\": %s",
                                                pStore->zName, sqlite3_errmsg(pStore->db)));
  }
  sqlite3_bind_int64(c->pStmt, 1, cache_now_ms());
  c->bEof = 0;
  return cacheNext(cur);
}

static int cacheEof(sqlite3_vtab_cursor *cur){
  return ((CacheCursor*)cur)->bEof;
}

static int cacheColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i){
  CacheCursor *c = (CacheCursor*)cur;
  if( i<N_CACHE_COLUMNS ) sqlite3_result_value(ctx, sqlite3_column_value(c->pStmt, i));
  return SQLITE_OK;
}

static int cacheRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  *pRowid = ((CacheCursor*)cur)->iRow;
  return SQLITE_OK;
}

sqlite3_module cachesql_module = {
  0,                /* iVersion */
  0,                /* xCreate: none, it is eponymous only */
  cacheConnect,     /* xConnect */
  cacheBestIndex,   /* xBestIndex */
  cacheDisconnect,  /* xDisconnect */
  0,                /* xDestroy */
  cacheOpen,        /* xOpen */
  cacheClose,       /* xClose */
  cacheFilter,      /* xFilter */
  cacheNext,        /* xNext */
  cacheEof,         /* xEof */
  cacheColumn,      /* xColumn */
  cacheRowid,       /* xRowid */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};

/**************************************************************************
** api_fetch_cache_prune(cache, what): delete the entries that match every
** condition of what, a JSON object; returns how many.
**
**   {"host": "api.example.com"}     entries of that host
**   {"older_than_ms": 86400000}     stored (or confirmed by a 304) more than
**                                   a day ago
**   {"unused_for_ms": 604800000}    not used for a week
**   {"stale": true}                 no longer fresh by their headers
**   {"all": true}                   every entry
*/
typedef struct Prune Prune;
struct Prune {
  const char *zHost;             /* or NULL */
  sqlite3_int64 olderThanMs;     /* or -1 */
  sqlite3_int64 unusedForMs;     /* or -1 */
  int bStale, bAll;
};

/* SQLITE_OK, or SQLITE_ERROR with *pzErr (NULL: out of memory, which
** must not read as "no conditions"). */
static int prune_read(const cJSON *pRoot, Prune *w, char **pzErr){
  const cJSON *v;
  memset(w, 0, sizeof(*w));
  w->olderThanMs = -1;
  w->unusedForMs = -1;
  *pzErr = 0;
  if( !cJSON_IsObject(pRoot) ){     /* {} is "no condition", said below */
    *pzErr = sqlite3_mprintf("api_fetch_cache_prune: what to delete must be an object such as "
                           "{\"host\": \"api.example.com\"}, {\"older_than_ms\": 86400000}, "
                           "{\"stale\": true} or {\"all\": true}");
    return SQLITE_ERROR;
  }
  cJSON_ArrayForEach(v, pRoot){
    const char *k = v->string;
    if( strcmp(k, "host")==0 && cJSON_IsString(v) ){
      w->zHost = v->valuestring;
    }else if( (strcmp(k, "older_than_ms")==0 || strcmp(k, "unused_for_ms")==0)
           && cJSON_IsNumber(v) && v->valuedouble>=0 && v->valuedouble<9e15 ){
      *(k[0]=='o' ? &w->olderThanMs : &w->unusedForMs) = (sqlite3_int64)v->valuedouble;
    }else if( (strcmp(k, "stale")==0 || strcmp(k, "all")==0) && cJSON_IsBool(v) ){
      if( k[0]=='s' ) w->bStale = cJSON_IsTrue(v); else w->bAll = cJSON_IsTrue(v);
    }else{
      *pzErr = sqlite3_mprintf("api_fetch_cache_prune: \"%s\" must be %s", k,
          strcmp(k, "host")==0 ? "a string"
          : (strcmp(k, "older_than_ms")==0 || strcmp(k, "unused_for_ms")==0)
            ? "a number of milliseconds"
          : (strcmp(k, "stale")==0 || strcmp(k, "all")==0) ? "true or false"
          : "one of host, older_than_ms, unused_for_ms, stale, all");
      return SQLITE_ERROR;
    }
  }
  if( !w->zHost && w->olderThanMs<0 && w->unusedForMs<0 && !w->bStale && !w->bAll ){
    *pzErr = sqlite3_mprintf("api_fetch_cache_prune: no condition is set; to delete every "
                             "entry say {\"all\": true}");
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

static int prune_run(CacheStore *s, const Prune *w, sqlite3_int64 *pn){
  sqlite3_stmt *st = 0;
  sqlite3_int64 now = cache_now_ms();
  int rc = sqlite3_prepare_v2(s->db,
      "DELETE FROM apifetch_cache WHERE (?1 IS NULL OR host = ?1)"
      " AND (?2 < 0 OR stored_at < ?3 - ?2) AND (NOT ?4 OR fresh_until <= ?3)"
      " AND (?5 < 0 OR last_used < ?3 - ?5)", -1, &st, 0);
  if( rc==SQLITE_OK ){
    if( w->zHost ) sqlite3_bind_text(st, 1, w->zHost, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, w->olderThanMs);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int(st, 4, w->bStale);
    sqlite3_bind_int64(st, 5, w->unusedForMs);
    rc = sqlite3_step(st);
    if( rc==SQLITE_DONE ){
      rc = SQLITE_OK;
      *pn = sqlite3_changes64(s->db);
    }
  }
  sqlite3_finalize(st);
  return rc;
}

void cachesql_prune_func(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Conn *pConn = (Conn*)sqlite3_user_data(ctx);
  const char *zName = (const char*)sqlite3_value_text(argv[0]);
  const char *zWhat = (const char*)sqlite3_value_text(argv[1]);
  CacheStore *pStore = 0;
  cJSON *pRoot;
  Prune w;
  char *zErr = 0;
  sqlite3_int64 n = 0;
  int rc;
  (void)argc;
  if( pConn->guard.bLocked ){
    zErr = locked_error("api_fetch_cache_prune");
    if( zErr==0 ){ sqlite3_result_error_nomem(ctx); return; }
    sqlite3_result_error(ctx, zErr, -1);
    sqlite3_free(zErr);
    return;
  }
  /* Out of memory converting a name must not read as NULL, which is the
  ** host's default cache: that would prune another cache. */
  if( (zName==0 && sqlite3_value_type(argv[0])!=SQLITE_NULL)
   || (zWhat==0 && sqlite3_value_type(argv[1])!=SQLITE_NULL) ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if( zWhat==0 ) zWhat = "";
  errno = 0;
  pRoot = cJSON_ParseWithOpts(zWhat, 0, 1);
  if( pRoot==0 && errno==ENOMEM ){ sqlite3_result_error_nomem(ctx); return; }
  rc = prune_read(pRoot, &w, &zErr);
  if( rc && zErr==0 ){ cJSON_Delete(pRoot); sqlite3_result_error_nomem(ctx); return; }
  if( rc==SQLITE_OK ){
    int bOwn = 0;                        /* never, when writing: the store is kept */
    rc = conn_cache_existing(pConn, "api_fetch_cache_prune", zName, 1, &pStore, &bOwn, &zErr);
    assert( bOwn==0 );
    if( rc==SQLITE_OK ){
      cachestore_flush(pStore);
      rc = prune_run(pStore, &w, &n);
      if( rc && rc!=SQLITE_NOMEM ){
        zErr = sqlite3_mprintf("api_fetch_cache_prune: cache \"%s\": %s",
                               pStore->zName, sqlite3_errmsg(pStore->db));
      }
    }
    /* An error without its message is out of memory: never a count of 0. */
    if( rc==SQLITE_NOMEM || (rc && zErr==0) ){
      sqlite3_free(zErr);
      cJSON_Delete(pRoot);
      sqlite3_result_error_nomem(ctx);
      return;
    }
  }
  cJSON_Delete(pRoot);
  if( zErr ){
    sqlite3_result_error(ctx, zErr, -1);
    sqlite3_free(zErr);
    return;
  }
  sqlite3_result_int64(ctx, n);
}
