/*
** vtab.c - the two faces of the api_fetch module, and api_fetch_stats.
**
** 1. The table-valued function, fixed columns, one row per record:
**
**   SELECT url, status, data ->> '$.title'
**     FROM api_fetch('["https://api.example.com/posts/1", "..."]', 20);
**   SELECT * FROM api_fetch((SELECT json_group_array(url) FROM targets), 50,
**                           '{"record_path": "data.items", "on_error": "skip"}');
**
** 2. The wide face, flattened and typed columns (flatten.c, infer.c):
**
**   CREATE VIRTUAL TABLE temp.posts USING api_fetch(url_list='[...]',
**                                                   concurrency=20);
**   CREATE TABLE posts AS SELECT * FROM temp.posts;
**
** One row per record on both faces: a JSON array body gives a row per
** element, anything else one row; record_path picks the array.  A request
** that fails gives one row with the error and no data (on_error "row"), no
** row ("skip"), or fails the statement ("fail").  A response with no records
** gives one row with record_index NULL, so every URL asked for shows up.
** Rows come in completion order; url_index is the position in the list.
**
** The module is SQLITE_VTAB_DIRECTONLY: usable in a top-level statement but
** not from a view or trigger, so opening a hostile database file cannot
** make it send requests.
**
** The wide face infers its columns when it is created (or connected, for a
** table in a database file) from the first `sample` URLs, in list order, so
** the columns do not depend on which response came first.  Those responses
** are kept and given to the first scan, so CREATE then SELECT fetches each
** URL once.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "apifetch.h"

/**************************************************************************
** Tables and cursors
*/

/* Columns of the table-valued function.  The last three are its hidden
** arguments. */
enum {
  COL_URL, COL_URL_INDEX, COL_RECORD_INDEX, COL_STATUS, COL_ERROR,
  COL_ATTEMPTS, COL_ELAPSED_MS, COL_CONTENT_TYPE, COL_DATA, COL_PAGE,
  COL_URL_LIST, COL_CONCURRENCY, COL_OPTIONS
};
#define TVF_SCHEMA \
  "CREATE TABLE x(url TEXT, url_index INTEGER, record_index INTEGER, " \
  "status INTEGER, error TEXT, attempts INTEGER, elapsed_ms INTEGER, " \
  "content_type TEXT, data TEXT, page INTEGER, " \
  "url_list HIDDEN, concurrency HIDDEN, options HIDDEN)"

/* Hidden columns of the wide face, after the data columns. */
enum {
  WCOL_URL, WCOL_URL_INDEX, WCOL_RECORD_INDEX, WCOL_STATUS, WCOL_ERROR,
  WCOL_ATTEMPTS, WCOL_ELAPSED_MS, WCOL_CONTENT_TYPE, WCOL_EXTRA,
  WCOL_MISMATCHES, WCOL_PAGE
};
static const char *const azWideHidden[] = {
  "_url", "_url_index", "_record_index", "_status", "_error", "_attempts",
  "_elapsed_ms", "_content_type", "_extra", "_mismatches", "_page", 0
};
static const char *const azWideHiddenType[] = {
  "TEXT", "INTEGER", "INTEGER", "INTEGER", "TEXT", "INTEGER", "INTEGER",
  "TEXT", "TEXT", "TEXT", "INTEGER"
};

/* idxNum bits of the table-valued function: arguments present, in order. */
#define ARG_URL_LIST    1
#define ARG_CONCURRENCY 2
#define ARG_OPTIONS     4

#define DEFAULT_SAMPLE      10
#define DEFAULT_MAX_COLUMNS 1000
#define MAX_COLUMNS         1900   /* under SQLite's default limit of 2000 */

typedef struct FetchTable FetchTable;
struct FetchTable {
  sqlite3_vtab base;        /* Base class.  Must be first */
  sqlite3 *db;              /* The connection */
  Conn *pConn;         /* Its counters */
  int bWide;                /* The wide face (else the function) */
  /* The wide face only: */
  Options opt;              /* Fetch options, concurrency, record_path */
  char *zUrlList;           /* url_list text, or NULL */
  char *zUrlQuery;          /* url_query SQL, or NULL */
  Shape shape;              /* Columns, types, flattening rules */
  int nSample;              /* URLs sampled to infer the columns */
  Response *pCache;         /* Sampled responses for the first scan */
  int bInQuery;             /* Stepping its url_query now (so not to be scanned) */
  int bFromFile;            /* Stored in a database file: its arguments are data */
  FetchTable *pNextTable;   /* Next of the connection's tables (Conn.pTableList) */
};

typedef struct FetchCursor FetchCursor;
struct FetchCursor {
  sqlite3_vtab_cursor base; /* Base class.  Must be first */
  FetchTable *pTab;
  Options optOwn;           /* The function's options (the wide face uses pTab's) */
  const Options *pOpt;      /* Options in force */
  UrlList list;             /* url_list being read */
  sqlite3_stmt *pQuery;     /* url_query being read, or NULL */
  sqlite3_stmt *pProbe;     /* Statement that tells whether the query was stopped */
  sqlite3_int64 nQueryRow;  /* Rows read from pQuery */
  PageQueue pages;          /* Pages still to request (paginate) */
  Request pending;          /* A request read ahead of the engine */
  int bPending;             /* pending is set */
  Response *pCache;         /* Responses left from the sample, to give first */
  Engine *pEngine;          /* Fetch engine, NULL before xFilter */
  Response *pResp;          /* Response the current row comes from */
  RecordIter iter;          /* Records of pResp */
  JsonSpan rec;             /* Current record, if bHasRecord */
  int bHasRecord;           /* The current row has a record (data) */
  sqlite3_int64 iRecord;    /* record_index of the current row */
  sqlite3_int64 iRowid;     /* Rows returned so far */
  int bEof;                 /* No more rows */
  int bCounted;             /* This scan is counted in pConn->nScan */
  sqlite3_int64 tStart;     /* When the scan started, ms */
  sqlite3_int64 tProgress;  /* When progress was last shown, ms, or 0 */
  int bProgress;            /* Progress is to be shown */
  Row row;                  /* The wide face's current row */
};

static void stat_add(FetchTable *t, int i, sqlite3_int64 n){
  t->pConn->aStat[i] += n;
}

/**************************************************************************
** Request sources
*/

/* A url_template value from the url_query row: the column of that name. */
static char *query_param(void *pCtx, const char *zName, int *pbMissing){
  sqlite3_stmt *p = (sqlite3_stmt*)pCtx;
  int i, n = sqlite3_column_count(p);
  for(i=0; i<n; i++){
    if( sqlite3_stricmp(sqlite3_column_name(p, i), zName)==0 ){
      const char *z = (const char*)sqlite3_column_text(p, i);
      if( z==0 ){ *pbMissing = TEMPLATE_MISSING; return 0; }
      if( (int)strlen(z)!=sqlite3_column_bytes(p, i) ){   /* a blob or text with a NUL */
        *pbMissing = TEMPLATE_NUL;
        return 0;
      }
      return sqlite3_mprintf("%s", z);
    }
  }
  *pbMissing = TEMPLATE_MISSING;
  return 0;
}

/* url_query: one URL or request object per row of a read-only query. */
static int query_next(FetchCursor *c, Request *pReq, char **pzErr){
  FetchTable *t = c->pTab;
  int rc;
  /* A url_query may read other wide tables, whose url_query may read
  ** others: a chain, bounded here, as a table that reads itself is refused
  ** in fetchFilter.  Either would otherwise recurse until the stack ends. */
  if( t->pConn->guard.nQueryDepth>=APIFETCH_MAX_QUERY_DEPTH ){
    *pzErr = sqlite3_mprintf("api_fetch: url_query reads wide tables whose url_query "
        "reads wide tables, more than %d deep", APIFETCH_MAX_QUERY_DEPTH);
    return -1;
  }
  t->pConn->guard.nQueryDepth++;
  t->bInQuery++;
  rc = sqlite3_step(c->pQuery);
  t->bInQuery--;
  t->pConn->guard.nQueryDepth--;
  if( rc==SQLITE_DONE ) return 0;
  if( rc!=SQLITE_ROW ){
    /* An error of a wide table the query reads is passed on as it is. */
    const char *zMsg = sqlite3_errmsg(c->pTab->db);
    *pzErr = strncmp(zMsg, "api_fetch: ", 11)==0 ? sqlite3_mprintf("%s", zMsg)
           : sqlite3_mprintf("api_fetch: url_query failed: %s", zMsg);
    return -1;
  }
  if( c->pOpt->zUrlTemplate==0 && sqlite3_column_type(c->pQuery, 0)==SQLITE_NULL ){
    *pzErr = sqlite3_mprintf("api_fetch: url_query row %lld is NULL, not a URL",
                             c->nQueryRow);
    return -1;
  }
  if( c->pOpt->zUrlTemplate ){
    /* url_template: the row's columns, by name, fill the placeholders. */
    char *zWhy = 0;
    char *zUrl = request_from_template(c->pOpt, query_param, c->pQuery, &zWhy);
    if( zUrl==0 ){
      *pzErr = zWhy ? sqlite3_mprintf("api_fetch: url_query row %lld: %s", c->nQueryRow, zWhy)
                    : 0;
      sqlite3_free(zWhy);
      return -1;
    }
    rc = request_from_text(zUrl, strlen(zUrl), c->nQueryRow, c->pOpt, pReq, pzErr);
    sqlite3_free(zUrl);
    if( rc ) return -1;   /* rc is reused: the row's step result is not needed now */
  }else{
    const char *z = (const char*)sqlite3_column_text(c->pQuery, 0);
    int n = sqlite3_column_bytes(c->pQuery, 0);
    if( z==0 ){ *pzErr = 0; return -1; }
    if( request_from_text(z, (size_t)n, c->nQueryRow, c->pOpt, pReq, pzErr) ) return -1;
  }
  c->nQueryRow++;
  return 1;
}

/* The engine's requests: one read ahead, then pages found so far (so that
** a collection is finished before more starting URLs are begun), then the
** next starting URL. */
static int source_next(void *pCtx, Request *pReq, char **pzErr){
  FetchCursor *c = (FetchCursor*)pCtx;
  int r;
  if( c->bPending ){
    *pReq = c->pending;
    memset(&c->pending, 0, sizeof(c->pending));
    c->bPending = 0;
    return 1;
  }
  r = pagequeue_next(&c->pOpt->paginate, &c->pages, pReq);
  if( r ){
    if( r<0 ) *pzErr = sqlite3_mprintf("api_fetch: out of memory");
    return r;
  }
  r = c->pQuery ? query_next(c, pReq, pzErr) : urllist_next(&c->list, pReq, pzErr);
  if( r>0 && paginate_first(&c->pOpt->paginate, pReq) ){
    request_clear(pReq);
    *pzErr = sqlite3_mprintf("api_fetch: out of memory");
    return -1;
  }
  return r;
}

/* Has this connection been interrupted (sqlite3_interrupt(), Ctrl-C in the
** shell, Python's conn.interrupt()) or has its progress handler asked to
** stop (a host's time limit)?  SQLite 3.40 has no sqlite3_is_interrupted(),
** and neither check runs while a virtual table waits, so a small looping
** statement is run: it fails with SQLITE_INTERRUPT in either case (its
** few thousand opcodes also give a progress handler its turn). */
static int cursor_cancelled(void *pCtx){
  FetchCursor *c = (FetchCursor*)pCtx;
  int rc;
  if( c->pProbe==0 ){
    rc = sqlite3_prepare_v2(c->pTab->db,
        "WITH RECURSIVE n(i) AS (VALUES(1) UNION ALL SELECT i+1 FROM n WHERE i<1000) "
        "SELECT count(*) FROM n", -1, &c->pProbe, 0);
    if( rc ) return 0;
  }
  rc = sqlite3_step(c->pProbe);
  sqlite3_reset(c->pProbe);
  return rc==SQLITE_INTERRUPT;
}

/* A source that stops after nLeft requests (the sample). */
typedef struct LimitSource LimitSource;
struct LimitSource {
  FetchCursor *c;
  int nLeft;
};
static int limit_next(void *pCtx, Request *pReq, char **pzErr){
  LimitSource *p = (LimitSource*)pCtx;
  if( p->nLeft<=0 ) return 0;
  p->nLeft--;
  return source_next(p->c, pReq, pzErr);
}

static int limit_cancelled(void *pCtx){
  return cursor_cancelled(((LimitSource*)pCtx)->c);
}

static void scan_progress(FetchCursor *c, int bEnd);

/* A scan's engine asks this about every 100 ms while it waits: stop?  The
** wait is also when a progress line is due that no completed URL prints. */
static int scan_waiting(void *pCtx){
  FetchCursor *c = (FetchCursor*)pCtx;
  if( cursor_cancelled(c) ) return 1;
  scan_progress(c, 0);
  return 0;
}

/**************************************************************************
** A url_query stored in a database file
**
** Such a query comes from whoever wrote the file, and runs when a user
** selects from the table, with the user's rights: it must not reach what
** SQLite keeps from schema code when trusted_schema is off (see "Defense
** Against The Dark Arts").  SQLite 3.52 has a prepare flag for exactly
** this (SQLITE_PREPARE_FROM_DDL, passed below; older versions ignore it);
** on older versions, and as a stricter rule on all of them, the compiled
** program is read (EXPLAIN): every function it calls must be one of
** SQLite's built-ins or be declared innocuous, none DIRECTONLY (so no
** writefile, readfile, load_extension, edit, api_fetch_config), and every
** virtual table it opens must be an api_fetch table or json_each/json_tree.
** Anything the check cannot read is refused: it fails closed.
*/
#ifndef SQLITE_PREPARE_FROM_DDL
# define SQLITE_PREPARE_FROM_DDL 0x20
#endif

/* Is function zName with nArg arguments allowed?  1 yes, 0 no, or an error. */
static int sandbox_function_ok(sqlite3 *db, const char *zName, int nArg){
  sqlite3_stmt *p = 0;
  int rc = sqlite3_prepare_v2(db,
      "SELECT builtin, flags FROM pragma_function_list WHERE name = ?1 COLLATE NOCASE "
      "AND narg IN (?2, -1) ORDER BY narg = ?2 DESC LIMIT 1", -1, &p, 0);
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(p, 1, zName, -1, SQLITE_STATIC);
    sqlite3_bind_int(p, 2, nArg);
    rc = sqlite3_step(p);
    if( rc==SQLITE_ROW ){
      int bBuiltin = sqlite3_column_int(p, 0);
      int flags = sqlite3_column_int(p, 1);
      rc = !(flags & SQLITE_DIRECTONLY) && (bBuiltin || (flags & SQLITE_INNOCUOUS));
    }else{
      rc = rc==SQLITE_DONE ? 0 : -rc;     /* not listed: refused */
    }
  }else{
    rc = -rc;
  }
  sqlite3_finalize(p);
  return rc;
}

/* The vtab pointers that EXPLAIN shows for json_each and json_tree on this
** connection (eponymous tables: one instance per connection). */
static int sandbox_json_vtabs(sqlite3 *db, unsigned long long *aOut){
  sqlite3_stmt *p = 0;
  int n = 0, rc = sqlite3_prepare_v2(db,
      "EXPLAIN SELECT 1 FROM json_each('[]'), json_tree('[]')", -1, &p, 0);
  while( rc==SQLITE_OK && sqlite3_step(p)==SQLITE_ROW ){
    const char *zOp = (const char*)sqlite3_column_text(p, 1);
    const char *zP4 = (const char*)sqlite3_column_text(p, 5);
    if( zOp && zP4 && strcmp(zOp, "VOpen")==0 && strncmp(zP4, "vtab:", 5)==0 && n<2 ){
      aOut[n++] = strtoull(zP4+5, 0, 16);
    }
  }
  sqlite3_finalize(p);
  return n;
}

/* Check the program of url_query (see above).  SQLITE_OK, or an error with
** *pzErr naming what was refused. */
static int query_sandbox_check(FetchTable *t, char **pzErr){
  sqlite3_stmt *p = 0;
  char *zSql = sqlite3_mprintf("EXPLAIN %s", t->zUrlQuery);
  unsigned long long aJson[2];
  int nJson = -1, rc;
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(t->db, zSql, -1, &p, 0);
  sqlite3_free(zSql);
  while( rc==SQLITE_OK && (rc = sqlite3_step(p))==SQLITE_ROW ){
    const char *zOp = (const char*)sqlite3_column_text(p, 1);
    const char *zP4 = (const char*)sqlite3_column_text(p, 5);
    rc = SQLITE_OK;
    if( zOp==0 ) continue;
    if( strcmp(zOp, "Function")==0 || strcmp(zOp, "PureFunc")==0
     || strncmp(zOp, "Agg", 3)==0 ){
      /* P4 is "name(nArg)" */
      const char *zParen = zP4 ? strrchr(zP4, '(') : 0;
      char *zName;
      int ok;
      if( zParen==0 || zParen==zP4 ){
        if( strcmp(zOp, "AggStep")!=0 && strncmp(zOp, "Agg", 3)==0 ) continue;  /* no P4 */
        *pzErr = sqlite3_mprintf("api_fetch: url_query of a table stored in a database "
                                 "file: cannot tell which function %s calls", zOp);
        rc = SQLITE_ERROR;
        break;
      }
      zName = sqlite3_mprintf("%.*s", (int)(zParen - zP4), zP4);
      if( zName==0 ){ rc = SQLITE_NOMEM; break; }
      ok = sandbox_function_ok(t->db, zName, atoi(zParen+1));
      if( ok<0 ){
        rc = -ok;
      }else if( !ok ){
        *pzErr = sqlite3_mprintf("api_fetch: url_query of a table stored in a database file "
            "may not call %s(): only SQLite's built-in functions and functions declared "
            "innocuous (a file's SQL runs with your rights; create the table in temp to run "
            "your own SQL)", zName);
        rc = SQLITE_ERROR;
      }
      sqlite3_free(zName);
      if( rc ) break;
    }else if( strcmp(zOp, "VOpen")==0 ){
      unsigned long long v = zP4 && strncmp(zP4, "vtab:", 5)==0 ? strtoull(zP4+5, 0, 16) : 0;
      FetchTable *pT;
      int i;
      for(pT=(FetchTable*)t->pConn->pTableList; pT && (unsigned long long)(uintptr_t)pT!=v;
          pT=pT->pNextTable){}
      if( pT ) continue;
      if( nJson<0 ) nJson = sandbox_json_vtabs(t->db, aJson);
      for(i=0; i<nJson && aJson[i]!=v; i++){}
      if( v && i<nJson ) continue;
      *pzErr = sqlite3_mprintf("api_fetch: url_query of a table stored in a database file "
          "may read no virtual table but api_fetch tables, json_each and json_tree (a file's "
          "SQL runs with your rights; create the table in temp to run your own SQL)");
      rc = SQLITE_ERROR;
      break;
    }
  }
  if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  if( rc && *pzErr==0 ){
    *pzErr = sqlite3_mprintf("api_fetch: url_query: %s", sqlite3_errmsg(t->db));
  }
  sqlite3_finalize(p);
  return rc ? SQLITE_ERROR : SQLITE_OK;
}

/* Open the wide table's request source on cursor c. */
static int open_wide_source(FetchCursor *c, char **pzErr){
  FetchTable *t = c->pTab;
  if( t->zUrlQuery ){
    const char *zTail = 0;
    int rc = sqlite3_prepare_v3(t->db, t->zUrlQuery, -1,
                                t->bFromFile ? SQLITE_PREPARE_FROM_DDL : 0, &c->pQuery, &zTail);
    if( rc ){
      *pzErr = sqlite3_mprintf("api_fetch: url_query: %s", sqlite3_errmsg(t->db));
      return SQLITE_ERROR;
    }
    while( zTail && (*zTail==' ' || *zTail=='\t' || *zTail=='\n' || *zTail=='\r'
                     || *zTail==';') ) zTail++;
    if( c->pQuery==0 || (zTail && *zTail) ){
      *pzErr = sqlite3_mprintf("api_fetch: url_query must be exactly one SELECT statement");
      return SQLITE_ERROR;
    }
    if( !sqlite3_stmt_readonly(c->pQuery) ){
      *pzErr = sqlite3_mprintf("api_fetch: url_query must be a read-only statement");
      return SQLITE_ERROR;
    }
    if( t->bFromFile && query_sandbox_check(t, pzErr) ) return SQLITE_ERROR;
    c->nQueryRow = 0;
    return SQLITE_OK;
  }else{
    size_t n = strlen(t->zUrlList);
    char *z = sqlite3_malloc64(n+1);
    if( z==0 ) return SQLITE_NOMEM;
    memcpy(z, t->zUrlList, n+1);
    return urllist_open(&c->list, z, n, c->pOpt, pzErr);
  }
}

/**************************************************************************
** Responses into rows (both faces)
*/

static int cursor_error(FetchCursor *c, int rc, char *zErr){
  sqlite3_vtab *pVtab = c->base.pVtab;
  sqlite3_free(pVtab->zErrMsg);
  pVtab->zErrMsg = zErr ? zErr : sqlite3_mprintf("api_fetch: out of memory");
  return rc==SQLITE_OK ? SQLITE_ERROR : rc;
}

/* Check the body of r and find its first record.  Sets r->zError for a
** body that is not JSON or does not have the records asked for; returns
** SQLITE_NOMEM if that text cannot be made (the row would show neither
** data nor error). */
static int response_records(Response *r, const Options *o, RecordIter *it,
                            JsonSpan *pRec, int *pbHas){
  *pbHas = 0;
  if( r->zError==0 && r->nBody>0 ){
    JsonError err;
    char *zWhy = 0;
    if( json_validate(r->pBody, r->nBody, APIFETCH_JSON_MAX_DEPTH, &err) ){
      r->zError = sqlite3_mprintf(
          "response is not valid JSON (%s at byte %lld, Content-Type: %s)",
          err.zWhat, (sqlite3_int64)err.offset,
          r->zContentType ? r->zContentType : "none");
      r->eErr = ERR_BODY;
    }else if( records_begin(it, json_root(r->pBody, r->nBody),
                            o->azRecordPath, o->nRecordPath, &zWhy) ){
      r->zError = zWhy ? zWhy : sqlite3_mprintf("out of memory");
      r->eErr = ERR_BODY;
    }else if( records_next(it, pRec) ){
      *pbHas = 1;
    }
    if( r->eErr==ERR_BODY && r->zError==0 ) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* The live counters, and the one-line progress report on stderr:
**   api_fetch: 532/1000 URLs (53%), 240 req/s, 3 retries, 2 errors, ETA 2 s
** every half second once a scan has run for a second, also while nothing
** completes; on a terminal the line is rewritten in place.  req/s counts
** HTTP requests (retries too); the ETA comes from URLs done per second. */
static void scan_progress(FetchCursor *c, int bEnd){
  Conn *p = c->pTab->pConn;
  sqlite3_int64 now = clock_ms(), el = now - c->tStart;
  /* With url_query, or pages found on the way, the total is not known. */
  sqlite3_int64 nDone, nTotal = c->pQuery || c->pOpt->paginate.eType!=PAGE_NONE
                                ? -1 : c->list.nTotal;
  double rate, reqRate;
  char zEta[48] = "", zTotal[48] = "", zCap[96] = "";
  const char *zCapped = 0;
  int bTty, nWindow;
  p->aStat[STAT_ELAPSED_MS] = el;
  if( c->pEngine ) p->aStat[STAT_RATE_WAIT_MS] = engine_rate_wait_ms(c->pEngine);
  if( !c->bProgress ) return;
  if( bEnd ? c->tProgress==0 && c->pOpt->progress!=1
           : (el<1000 || now - c->tProgress<500) ) return;
  c->tProgress = now;
  nDone = p->aStat[STAT_URLS];
  rate = el>0 ? nDone*1000.0/el : 0;
  reqRate = el>0 ? p->aStat[STAT_REQUESTS]*1000.0/el : 0;
  if( nTotal>=0 ){
    sqlite3_snprintf(sizeof(zTotal), zTotal, "/%lld URLs (%d%%)", nTotal,
                     nTotal ? (int)(nDone*100/nTotal) : 100);
    if( !bEnd && rate>0 ){
      sqlite3_snprintf(sizeof(zEta), zEta, ", ETA %lld s",
                       (sqlite3_int64)((nTotal - nDone)/rate + 0.5));
    }
  }else{
    sqlite3_snprintf(sizeof(zTotal), zTotal, " URLs");
  }
  if( c->pEngine ){
    nWindow = engine_window_size(c->pEngine, &zCapped);
    if( zCapped ){
      sqlite3_snprintf(sizeof(zCap), zCap, ", %d in flight at most (capped by %s)",
                       nWindow, zCapped);
    }
  }
  bTty = isatty(2);
  fprintf(stderr, "%sapi_fetch: %lld%s, %.0f req/s, %lld retries, %lld errors%s%s%s%s",
          bTty ? "\r" : "", nDone, zTotal, reqRate, p->aStat[STAT_RETRIES],
          p->aStat[STAT_ERRORS], zCap, zEta, bEnd ? ", done" : "",
          bTty ? (bEnd ? "\033[K\n" : "\033[K") : "\n");
  fflush(stderr);
}

/* Set up the rows of a freshly completed response.  Returns SQLITE_OK with
** c->pResp holding the rows, or with c->pResp NULL when on_error says skip. */
static int cursor_take_response(FetchCursor *c){
  Response *r = c->pResp;
  FetchTable *t = c->pTab;
  if( response_records(r, c->pOpt, &c->iter, &c->rec, &c->bHasRecord) ){
    return cursor_error(c, SQLITE_NOMEM, 0);
  }
  c->iRecord = c->bHasRecord ? 0 : -1;
  if( c->pOpt->paginate.eType!=PAGE_NONE && r->zError==0 ){
    JsonSpan root = { "", 0 };
    if( r->nBody ) root = json_root(r->pBody, r->nBody);
    if( paginate_follow(&c->pOpt->paginate, r, root, !c->bHasRecord, &c->pages) ){
      return cursor_error(c, SQLITE_NOMEM, 0);
    }
    if( c->pages.pFirst && c->pEngine ) engine_wake(c->pEngine);
  }
  stat_add(t, STAT_URLS, 1);
  stat_add(t, STAT_REQUESTS, r->nRequest);
  stat_add(t, STAT_RETRIES, r->nAttempt>0 ? r->nAttempt-1 : 0);
  stat_add(t, STAT_BYTES, (sqlite3_int64)r->nBody);
  scan_progress(c, 0);
  if( r->zError && c->pOpt->nSecret ){
    /* Secrets never show: not in error text, which may quote a URL. */
    char *z = options_redact(c->pOpt, r->zError);
    if( z==0 ) return cursor_error(c, SQLITE_NOMEM, 0);   /* never the raw text */
    sqlite3_free(r->zError);
    r->zError = z;
  }
  if( r->zError ){
    static const int aKind[] = { STAT_ERRORS, STAT_ERR_HTTP, STAT_ERR_TIMEOUT,
      STAT_ERR_NETWORK, STAT_ERR_TOO_BIG, STAT_ERR_BODY, STAT_ERR_DEADLINE };
    stat_add(t, STAT_ERRORS, 1);
    if( r->eErr>ERR_NONE && r->eErr<=ERR_DEADLINE ) stat_add(t, aKind[r->eErr], 1);
    if( c->pOpt->on_error==ON_ERROR_SKIP ){
      response_free(r);
      c->pResp = 0;
      return SQLITE_OK;
    }
    if( c->pOpt->on_error==ON_ERROR_FAIL ){
      char *zUrl = c->pOpt->nSecret ? options_redact(c->pOpt, r->req.zUrl) : 0;
      char *zMsg;
      if( c->pOpt->nSecret && zUrl==0 ) return cursor_error(c, SQLITE_NOMEM, 0);
      zMsg = sqlite3_mprintf(
          "api_fetch: url_list item %lld (%s) failed after %d attempt%s: %s",
          r->req.iIndex, zUrl ? zUrl : r->req.zUrl, r->nAttempt, r->nAttempt==1 ? "" : "s",
          r->zError);
      sqlite3_free(zUrl);
      return cursor_error(c, SQLITE_ERROR, zMsg);
    }
  }
  return SQLITE_OK;
}

/* The current row is settled: count it and, on the wide face, build it. */
static int cursor_row(FetchCursor *c){
  FetchTable *t = c->pTab;
  c->iRowid++;
  stat_add(t, STAT_ROWS, 1);
  if( c->bHasRecord && c->pResp->zError==0 ) stat_add(t, STAT_RECORDS, 1);
  if( t->bWide ){
    int bData = c->bHasRecord && c->pResp->zError==0;
    int rc = shape_record(&t->shape, &c->iter, bData ? &c->rec : 0, &c->row);
    if( rc ) return cursor_error(c, rc, 0);
    stat_add(t, STAT_EXTRA_KEYS, c->row.nExtra);
    stat_add(t, STAT_TYPE_MISMATCHES, c->row.nMismatch);
  }
  return SQLITE_OK;
}

static void scan_end(FetchCursor *c){
  if( c->bCounted ){
    c->pTab->pConn->nScan--;
    c->bCounted = 0;
  }
}

static int fetchNext(sqlite3_vtab_cursor *cur){
  FetchCursor *c = (FetchCursor*)cur;
  char *zErr = 0;
  int rc;
  if( c->pResp && c->bHasRecord && c->pResp->zError==0 ){
    if( records_next(&c->iter, &c->rec) ){
      c->iRecord++;
      return cursor_row(c);
    }
  }
  for(;;){
    response_free(c->pResp);
    c->pResp = 0;
    if( c->pCache ){
      c->pResp = c->pCache;
      c->pCache = c->pResp->pNext;
      c->pResp->pNext = 0;
    }else{
      rc = engine_next(c->pEngine, &c->pResp, &zErr);
      if( rc==SQLITE_DONE ){
        c->bEof = 1;
        scan_progress(c, 1);
        scan_end(c);
        return SQLITE_OK;
      }
      if( rc==SQLITE_INTERRUPT ) c->pTab->pConn->aStat[STAT_INTERRUPTED] = 1;
      if( rc!=SQLITE_ROW ) return cursor_error(c, rc, zErr);
    }
    rc = cursor_take_response(c);
    if( rc ) return rc;
    if( c->pResp ) break;
  }
  return cursor_row(c);
}

static void cursor_reset(FetchCursor *c){
  engine_free(c->pEngine);
  c->pEngine = 0;
  response_free(c->pResp);
  c->pResp = 0;
  while( c->pCache ){
    Response *r = c->pCache;
    c->pCache = r->pNext;
    response_free(r);
  }
  if( c->bPending ){
    request_clear(&c->pending);
    c->bPending = 0;
  }
  pagequeue_clear(&c->pages);
  sqlite3_finalize(c->pQuery);
  c->pQuery = 0;
  sqlite3_finalize(c->pProbe);
  c->pProbe = 0;
  urllist_close(&c->list);
  options_clear(&c->optOwn);
  c->bEof = 1;
  c->iRowid = 0;
  scan_end(c);
}

static void scan_begin(FetchCursor *c){
  Conn *p = c->pTab->pConn;
  if( p->nScan==0 ) memset(p->aStat, 0, sizeof(p->aStat));
  p->nScan++;
  c->bCounted = 1;
  c->tStart = clock_ms();
  c->tProgress = 0;
}

/* The wide face's first scan after CREATE: give the sampled responses
** instead of fetching them again, as long as the source still starts with
** the same requests. */
static int take_cache(FetchCursor *c, char **pzErr){
  FetchTable *t = c->pTab;
  Response **pp = &t->pCache;
  while( *pp ){
    Request req;
    int r = source_next(c, &req, pzErr);
    if( r<0 ) return SQLITE_ERROR;
    if( r==0 ) break;
    if( req.iIndex!=(*pp)->req.iIndex || strcmp(req.zUrl, (*pp)->req.zUrl)!=0
     || ((req.zMethod==0)!=((*pp)->req.zMethod==0))
     || (req.zMethod && strcmp(req.zMethod, (*pp)->req.zMethod)!=0) ){
      c->pending = req;
      c->bPending = 1;
      break;
    }
    request_clear(&req);
    pp = &(*pp)->pNext;
  }
  /* What matched is given first; the rest is dropped. */
  c->pCache = t->pCache;
  t->pCache = *pp;
  *pp = 0;
  while( t->pCache ){
    Response *r = t->pCache;
    t->pCache = r->pNext;
    response_free(r);
  }
  return SQLITE_OK;
}

static int fetchFilter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr,
                       int argc, sqlite3_value **argv){
  FetchCursor *c = (FetchCursor*)cur;
  FetchTable *t = c->pTab;
  char *zErr = 0;
  int rc;
  RequestSource src;
  (void)idxStr; (void)argc;

  cursor_reset(c);
  if( t->bInQuery ){
    return cursor_error(c, SQLITE_ERROR, sqlite3_mprintf(
        "api_fetch: a url_query reads the wide table it belongs to"));
  }
  if( t->pConn->guard.bDisabled ){
    rc = guard_refuses(&t->pConn->guard, &t->opt, &zErr);
    return cursor_error(c, rc, zErr);
  }
  scan_begin(c);
  if( t->bWide ){
    c->pOpt = &t->opt;
    rc = open_wide_source(c, &zErr);
    if( rc==SQLITE_OK && t->pCache ) rc = take_cache(c, &zErr);
    if( rc ) return cursor_error(c, rc, zErr);
  }else{
    sqlite3_value *pList = 0, *pConc = 0, *pOpts = 0;
    const char *zText;
    char *zList;
    int i = 0, nList;
    if( idxNum & ARG_URL_LIST ) pList = argv[i++];
    if( idxNum & ARG_CONCURRENCY ) pConc = argv[i++];
    if( idxNum & ARG_OPTIONS ) pOpts = argv[i++];
    c->pOpt = &c->optOwn;

    if( pList==0 ){
      return cursor_error(c, SQLITE_ERROR, sqlite3_mprintf(
          "api_fetch: the url_list argument is required: "
          "api_fetch(url_list [, concurrency [, options]])"));
    }
    if( sqlite3_value_type(pList)!=SQLITE_TEXT ){
      static const char *const azType[] = { "?", "an integer", "a real", "text", "a blob", "NULL" };
      return cursor_error(c, SQLITE_ERROR, sqlite3_mprintf(
          "api_fetch: url_list is %s; expected a JSON array of URLs or text with "
          "one URL a line", azType[sqlite3_value_type(pList)]));
    }
    if( pConc && sqlite3_value_type(pConc)!=SQLITE_NULL ){
      sqlite3_int64 v = sqlite3_value_int64(pConc);
      if( sqlite3_value_numeric_type(pConc)!=SQLITE_INTEGER
       || v<1 || v>APIFETCH_MAX_CONCURRENCY ){
        return cursor_error(c, SQLITE_ERROR, sqlite3_mprintf(
            "api_fetch: concurrency must be an integer between 1 and %d, got %s",
            APIFETCH_MAX_CONCURRENCY, sqlite3_value_text(pConc)));
      }
      c->optOwn.concurrency = (int)v;
    }
    c->optOwn.xProfile = conn_profile;
    c->optOwn.pProfileCtx = t->pConn;
    c->optOwn.pGuard = &t->pConn->guard;
    if( pOpts && sqlite3_value_type(pOpts)!=SQLITE_NULL ){
      rc = options_parse(&c->optOwn, (const char*)sqlite3_value_text(pOpts), &zErr);
      if( rc ) return cursor_error(c, rc, zErr);
    }

    /* url_list is read twice (checked, then streamed), so keep a copy: the
    ** argument value only lives until xFilter returns. */
    zText = (const char*)sqlite3_value_text(pList);    /* text, then bytes */
    nList = sqlite3_value_bytes(pList);
    zList = zText ? sqlite3_malloc64((sqlite3_uint64)nList + 1) : 0;
    if( zList==0 ) return cursor_error(c, SQLITE_NOMEM, 0);
    memcpy(zList, zText, nList);
    zList[nList] = 0;
    rc = urllist_open(&c->list, zList, (size_t)nList, c->pOpt, &zErr);
    if( rc ) return cursor_error(c, rc, zErr);
  }

  rc = guard_refuses(&t->pConn->guard, c->pOpt, &zErr);
  if( rc ) return cursor_error(c, rc, zErr);
  c->bProgress = c->pOpt->progress==1 || (c->pOpt->progress<0 && isatty(2));
  src.pCtx = c;
  src.xNext = source_next;
  src.xCancelled = scan_waiting;
  c->pEngine = engine_new(c->pOpt, &t->pConn->guard, &t->pConn->budget, src, &zErr);
  if( c->pEngine==0 ) return cursor_error(c, SQLITE_NOMEM, zErr);
  t->pConn->aStat[STAT_WINDOW] = engine_window_size(c->pEngine, 0);
  c->bEof = 0;
  return fetchNext(cur);
}

static int fetchEof(sqlite3_vtab_cursor *cur){
  return ((FetchCursor*)cur)->bEof;
}

static void result_cell(sqlite3_context *ctx, const FetchCursor *c, const Cell *p){
  switch( p->eType ){
    case SQLITE_INTEGER: sqlite3_result_int64(ctx, p->i); break;
    case SQLITE_FLOAT:   sqlite3_result_double(ctx, p->r); break;
    case SQLITE_TEXT:
      sqlite3_result_text64(ctx, p->z ? p->z : c->row.arena.z + p->off, p->n,
                            SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
    default: break;
  }
}

static int fetchColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i){
  FetchCursor *c = (FetchCursor*)cur;
  FetchTable *t = c->pTab;
  Response *r = c->pResp;
  int bData = c->bHasRecord && r->zError==0;
  if( t->bWide ){
    if( i<t->shape.schema.nCol ){
      if( bData ) result_cell(ctx, c, &c->row.aCell[i]);
      return SQLITE_OK;
    }
    switch( i - t->shape.schema.nCol ){
      case WCOL_URL:          i = COL_URL; break;
      case WCOL_URL_INDEX:    i = COL_URL_INDEX; break;
      case WCOL_RECORD_INDEX: i = COL_RECORD_INDEX; break;
      case WCOL_STATUS:       i = COL_STATUS; break;
      case WCOL_ERROR:        i = COL_ERROR; break;
      case WCOL_ATTEMPTS:     i = COL_ATTEMPTS; break;
      case WCOL_ELAPSED_MS:   i = COL_ELAPSED_MS; break;
      case WCOL_CONTENT_TYPE: i = COL_CONTENT_TYPE; break;
      case WCOL_PAGE:         i = COL_PAGE; break;
      case WCOL_EXTRA:
        if( bData && c->row.extra.n ){
          sqlite3_result_text64(ctx, c->row.extra.z, c->row.extra.n, SQLITE_TRANSIENT,
                                SQLITE_UTF8);
        }
        return SQLITE_OK;
      case WCOL_MISMATCHES:
        if( bData && c->row.mism.n ){
          sqlite3_result_text64(ctx, c->row.mism.z, c->row.mism.n, SQLITE_TRANSIENT,
                                SQLITE_UTF8);
        }
        return SQLITE_OK;
      default: return SQLITE_OK;
    }
  }
  switch( i ){
    case COL_URL:
      if( c->pOpt->nSecret ){
        char *z = options_redact(c->pOpt, r->req.zUrl);
        if( z==0 ){ sqlite3_result_error_nomem(ctx); break; }
        sqlite3_result_text(ctx, z, -1, sqlite3_free);
      }else{
        sqlite3_result_text(ctx, r->req.zUrl, -1, SQLITE_TRANSIENT);
      }
      break;
    case COL_URL_INDEX:
      sqlite3_result_int64(ctx, r->req.iIndex);
      break;
    case COL_RECORD_INDEX:
      if( c->bHasRecord ) sqlite3_result_int64(ctx, c->iRecord);
      break;
    case COL_STATUS:
      if( r->status ) sqlite3_result_int64(ctx, r->status);
      break;
    case COL_ERROR:
      if( r->zError ) sqlite3_result_text(ctx, r->zError, -1, SQLITE_TRANSIENT);
      break;
    case COL_ATTEMPTS:
      sqlite3_result_int(ctx, r->nAttempt);
      break;
    case COL_ELAPSED_MS:
      sqlite3_result_int64(ctx, r->elapsed_ms);
      break;
    case COL_CONTENT_TYPE:
      if( r->zContentType ) sqlite3_result_text(ctx, r->zContentType, -1, SQLITE_TRANSIENT);
      break;
    case COL_DATA:
      if( bData ){
        sqlite3_result_text64(ctx, c->rec.z, c->rec.n, SQLITE_TRANSIENT, SQLITE_UTF8);
      }
      break;
    case COL_PAGE:
      sqlite3_result_int(ctx, r->req.iPage);
      break;
    default:
      /* The hidden arguments read back as NULL: they are inputs only. */
      break;
  }
  return SQLITE_OK;
}

static int fetchRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  *pRowid = ((FetchCursor*)cur)->iRowid;
  return SQLITE_OK;
}

static int fetchOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur){
  FetchTable *t = (FetchTable*)pVtab;
  FetchCursor *c = sqlite3_malloc(sizeof(*c));
  if( c==0 ) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  c->pTab = t;
  options_init(&c->optOwn);
  c->pOpt = &c->optOwn;
  c->bEof = 1;
  if( t->bWide && row_init(&c->row, &t->shape) ){
    sqlite3_free(c);
    return SQLITE_NOMEM;
  }
  conn_window_enter(t->pConn);
  *ppCur = &c->base;
  return SQLITE_OK;
}

static int fetchClose(sqlite3_vtab_cursor *cur){
  FetchCursor *c = (FetchCursor*)cur;
  cursor_reset(c);
  row_clear(&c->row);
  conn_window_leave(c->pTab->pConn);
  sqlite3_free(c);
  return SQLITE_OK;
}

/**************************************************************************
** The table-valued function's plan
*/

/* The arguments are equality constraints on the hidden columns.  They are
** required inputs, not filters: if one is present but not usable yet (a
** join whose other side has not run), the plan is impossible. */
static int fetchBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  int aIdx[3] = { -1, -1, -1 };
  int i, n = 0, idxNum = 0;
  if( ((FetchTable*)pVtab)->bWide ){
    pInfo->estimatedCost = 1e6;
    pInfo->estimatedRows = 1000;
    return SQLITE_OK;
  }
  for(i=0; i<pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    int k = c->iColumn - COL_URL_LIST;
    if( k<0 || k>2 || c->op!=SQLITE_INDEX_CONSTRAINT_EQ ) continue;
    if( !c->usable ) return SQLITE_CONSTRAINT;
    aIdx[k] = i;
  }
  for(i=0; i<3; i++){
    if( aIdx[i]<0 ) continue;
    pInfo->aConstraintUsage[aIdx[i]].argvIndex = ++n;
    pInfo->aConstraintUsage[aIdx[i]].omit = 1;
    idxNum |= 1<<i;
  }
  pInfo->idxNum = idxNum;
  pInfo->estimatedCost = (idxNum & ARG_URL_LIST) ? 1e6 : 1e30;
  pInfo->estimatedRows = 1000;
  return SQLITE_OK;
}

/**************************************************************************
** The wide face: arguments, sampling, schema
*/

static void table_free(FetchTable *t){
  FetchTable **pp;
  if( t->pConn ){
    for(pp=(FetchTable**)&t->pConn->pTableList; *pp && *pp!=t; pp=&(*pp)->pNextTable){}
    if( *pp ) *pp = t->pNextTable;
  }
  options_clear(&t->opt);
  sqlite3_free(t->zUrlList);
  sqlite3_free(t->zUrlQuery);
  shape_clear(&t->shape);
  while( t->pCache ){
    Response *r = t->pCache;
    t->pCache = r->pNext;
    response_free(r);
  }
  sqlite3_free(t);
}

/* An argument value as SQL wrote it: 'text' and "text" are dequoted. */
static char *arg_value(const char *z){
  size_t n = strlen(z), i, k = 0;
  char *zOut;
  char q;
  while( n>0 && (z[n-1]==' ' || z[n-1]=='\t' || z[n-1]=='\n' || z[n-1]=='\r') ) n--;
  while( n>0 && (*z==' ' || *z=='\t' || *z=='\n' || *z=='\r') ){ z++; n--; }
  zOut = sqlite3_malloc64(n+1);
  if( zOut==0 ) return 0;
  q = n>=2 ? z[0] : 0;
  if( (q=='\'' || q=='"') && z[n-1]==q ){
    for(i=1; i<n-1; i++){
      zOut[k++] = z[i];
      if( z[i]==q && i+1<n-1 && z[i+1]==q ) i++;
    }
  }else{
    memcpy(zOut, z, n);
    k = n;
  }
  zOut[k] = 0;
  return zOut;
}

/* One of three words: *pOut is its index in az. */
static int parse_choice_arg(const char *zKey, const char *zVal, const char *const az[3],
                            int *pOut, char **pzErr){
  int k;
  for(k=0; k<3; k++){
    if( strcmp(zVal, az[k])==0 ){ *pOut = k; return SQLITE_OK; }
  }
  *pzErr = sqlite3_mprintf("api_fetch: %s must be '%s', '%s' or '%s', got '%s'",
                           zKey, az[0], az[1], az[2], zVal);
  return SQLITE_ERROR;
}

static int parse_int_arg(const char *zKey, const char *zVal, int lo, int hi,
                         int *pOut, char **pzErr){
  sqlite3_int64 v = 0;
  const char *z = zVal;
  int bNeg = *z=='-';
  if( bNeg ) z++;
  if( *z==0 ) goto bad;
  for(; *z; z++){
    if( *z<'0' || *z>'9' || v>1000000000 ) goto bad;
    v = v*10 + (*z-'0');
  }
  if( bNeg ) v = -v;
  if( v<lo || v>hi ) goto bad;
  *pOut = (int)v;
  return SQLITE_OK;
bad:
  *pzErr = sqlite3_mprintf("api_fetch: %s must be an integer between %d and %d, got %s",
                           zKey, lo, hi, zVal);
  return SQLITE_ERROR;
}

/* meta='["id", ["groups", "name"]]' or meta='id' (one key). */
static int parse_meta(Shape *sh, const char *zVal, const char *zPrefix, char **pzErr){
  JsonError err;
  size_t n = strlen(zVal), pos = 0;
  JsonSpan arr, item;
  int nItem = 0;
  int bNul = 0;
  if( json_skip_ws(zVal, n, 0)>=n || zVal[json_skip_ws(zVal, n, 0)]!='[' ){
    /* A plain key. */
    sh->aMeta = sqlite3_malloc(sizeof(MetaPath));
    if( sh->aMeta==0 ) return SQLITE_NOMEM;
    sh->aMeta[0].az = sqlite3_malloc(sizeof(char*));
    if( sh->aMeta[0].az==0 ) return SQLITE_NOMEM;
    sh->aMeta[0].az[0] = sqlite3_mprintf("%s", zVal);
    sh->aMeta[0].n = 1;
    sh->aMeta[0].zName = sqlite3_mprintf("%s%s", zPrefix, zVal);
    sh->nMeta = 1;
    return (sh->aMeta[0].az[0] && sh->aMeta[0].zName) ? SQLITE_OK : SQLITE_NOMEM;
  }
  if( json_validate(zVal, n, 8, &err) ){
    *pzErr = sqlite3_mprintf("api_fetch: meta is not valid JSON: %s at byte %lld",
                             err.zWhat, (sqlite3_int64)err.offset);
    return SQLITE_ERROR;
  }
  arr = json_root(zVal, n);
  while( json_array_next(arr, &pos, &item) ) nItem++;
  sh->aMeta = sqlite3_malloc64(sizeof(MetaPath)*(size_t)(nItem ? nItem : 1));
  if( sh->aMeta==0 ) return SQLITE_NOMEM;
  memset(sh->aMeta, 0, sizeof(MetaPath)*(size_t)(nItem ? nItem : 1));
  pos = 0;
  while( json_array_next(arr, &pos, &item) ){
    MetaPath *m = &sh->aMeta[sh->nMeta++];
    Buf name = {0, 0, 0, 0};
    JsonSpan key;
    size_t p2 = 0;
    int nKey = 0;
    if( json_type(item)=='"' ){
      m->az = sqlite3_malloc(sizeof(char*));
      if( m->az==0 ) return SQLITE_NOMEM;
      m->az[0] = json_string_decode(item, &bNul);
      if( m->az[0]==0 ) goto bad_key;
      m->n = 1;
    }else if( json_type(item)=='[' ){
      while( json_array_next(item, &p2, &key) ) nKey++;
      if( nKey==0 || nKey>APIFETCH_MAX_PATH ){
        *pzErr = sqlite3_mprintf("api_fetch: meta item %d must have 1 to %d keys",
                                 sh->nMeta-1, APIFETCH_MAX_PATH);
        return SQLITE_ERROR;
      }
      m->az = sqlite3_malloc64(sizeof(char*)*(size_t)nKey);
      if( m->az==0 ) return SQLITE_NOMEM;
      p2 = 0;
      while( json_array_next(item, &p2, &key) ){
        if( json_type(key)!='"' ){
          *pzErr = sqlite3_mprintf("api_fetch: meta item %d must be a list of strings",
                                   sh->nMeta-1);
          return SQLITE_ERROR;
        }
        m->az[m->n] = json_string_decode(key, &bNul);
        if( m->az[m->n]==0 ) goto bad_key;
        m->n++;
      }
    }else{
      *pzErr = sqlite3_mprintf("api_fetch: meta item %d must be a key or a list of keys",
                               sh->nMeta-1);
      return SQLITE_ERROR;
    }
    buf_append(&name, zPrefix, strlen(zPrefix));
    for(nKey=0; nKey<m->n; nKey++){
      if( nKey ) buf_append(&name, sh->zSep, strlen(sh->zSep));
      buf_append(&name, m->az[nKey], strlen(m->az[nKey]));
    }
    if( name.bOom || name.z==0 ){ buf_free(&name); return SQLITE_NOMEM; }
    m->zName = name.z;
  }
  return SQLITE_OK;
bad_key:
  if( bNul ){
    *pzErr = sqlite3_mprintf("api_fetch: meta: a key holds a NUL character");
    return SQLITE_ERROR;
  }
  return SQLITE_NOMEM;
}

/* Fetch the first nSample requests and grow the schema from their records,
** in url_index order.  The responses are kept for the first scan. */
static int sample_schema(FetchTable *t, char **pzErr){
  FetchCursor c;
  LimitSource lim;
  RequestSource src;
  Options o = t->opt;              /* a shallow copy: only concurrency differs */
  Engine *e;
  Response *r, **pp;
  int rc = SQLITE_OK;

  memset(&c, 0, sizeof(c));
  c.pTab = t;
  c.pOpt = &t->opt;
  rc = guard_refuses(&t->pConn->guard, &t->opt, pzErr);
  if( rc ) return rc;
  conn_window_enter(t->pConn);
  rc = open_wide_source(&c, pzErr);
  if( rc ) goto done;
  lim.c = &c;
  lim.nLeft = t->nSample;
  src.pCtx = &lim;
  src.xNext = limit_next;
  src.xCancelled = limit_cancelled;
  if( o.concurrency>t->nSample ) o.concurrency = t->nSample;
  e = engine_new(&o, &t->pConn->guard, &t->pConn->budget, src, pzErr);
  if( e==0 ){ rc = SQLITE_NOMEM; goto done; }
  while( (rc = engine_next(e, &r, pzErr))==SQLITE_ROW ){
    /* Keep the list sorted by url_index. */
    for(pp=&t->pCache; *pp && (*pp)->req.iIndex<r->req.iIndex; pp=&(*pp)->pNext){}
    r->pNext = *pp;
    *pp = r;
  }
  engine_free(e);
  if( rc!=SQLITE_DONE ) goto done;
  rc = SQLITE_OK;

  for(r=t->pCache; r && rc==SQLITE_OK; r=r->pNext){
    RecordIter it;
    JsonSpan rec;
    int bHas;
    /* A body that is not JSON, or has no records at the path, gets its
    ** error here, and the first scan reports it as an error row. */
    rc = response_records(r, &t->opt, &it, &rec, &bHas);
    while( bHas && rc==SQLITE_OK ){
      rc = shape_learn(&t->shape, &it, rec);
      bHas = records_next(&it, &rec);
    }
  }
  if( rc==SQLITE_OK ) rc = shape_finish(&t->shape);
  if( rc==SQLITE_OK && t->shape.schema.nCol==0 ){
    const char *zWhy = 0;
    char *zRedacted = 0;
    int n = 0;
    for(r=t->pCache; r; r=r->pNext){
      if( zWhy==0 ) zWhy = r->zError;
      n++;
    }
    /* The error may quote a URL, and URLs may hold secrets. */
    if( zWhy && t->opt.nSecret && (zWhy = zRedacted = options_redact(&t->opt, zWhy))==0 ){
      rc = SQLITE_NOMEM;
      goto done;
    }
    *pzErr = sqlite3_mprintf(
        "api_fetch: no columns found in the %d sampled response%s; declare them "
        "with columns='name TYPE, ...' or sample more URLs%s%s%s",
        n, n==1 ? "" : "s", zWhy ? " (first error: " : "", zWhy ? zWhy : "",
        zWhy ? ")" : "");
    sqlite3_free(zRedacted);
    rc = SQLITE_ERROR;
  }
done:
  cursor_reset(&c);
  conn_window_leave(t->pConn);
  return rc;
}

/* The key of a key=value CREATE argument: *pz, *pn.  0 if there is no "=". */
static int arg_key(const char *zArg, const char **pz, size_t *pn){
  const char *zEq = strchr(zArg, '=');
  const char *z = zArg + strspn(zArg, " \t\n\r");
  size_t n;
  if( zEq==0 || zEq<z ) return 0;
  n = (size_t)(zEq - z);
  while( n>0 && (z[n-1]==' ' || z[n-1]=='\t' || z[n-1]=='\n' || z[n-1]=='\r') ) n--;
  *pz = z;
  *pn = n;
  return 1;
}

static const char *const azWideArg[] = {
  "url_list", "url_query", "concurrency", "columns", "sample", "sep", "max_level",
  "meta", "meta_prefix", "record_prefix", "timestamps", "numeric_strings",
  "max_columns", 0
};

static int wide_connect(sqlite3 *db, FetchTable *t, int argc, const char *const *argv,
                        char **pzErr){
  char *azVal[16] = { 0 };     /* values of azWideArg, by index */
  int i, k, rc = SQLITE_OK, maxCol = DEFAULT_MAX_COLUMNS;
  char *zErr = 0;
  Buf sql = {0, 0, 0, 0};

  t->bWide = 1;
  options_init(&t->opt);
  t->shape.rules.numericStrings = NUMSTR_EXACT;
  t->shape.rules.timestamps = TS_UTC;
  t->shape.maxLevel = -1;
  t->nSample = -1;                 /* default: see below */

  {
    /* A table stored in a file (not temp, not an in-memory main) runs
    ** arguments that whoever wrote the file chose: data, not the user's SQL. */
    const char *zFile = sqlite3_db_filename(db, argv[1]);
    t->bFromFile = zFile && zFile[0];
    t->opt.bFromFile = t->bFromFile;
  }
  t->opt.xProfile = conn_profile;
  t->opt.pProfileCtx = t->pConn;
  t->opt.pGuard = &t->pConn->guard;
  /* profile=name first, wherever it is: the other arguments override it. */
  for(i=3; i<argc && rc==SQLITE_OK; i++){
    const char *zK;
    size_t nK;
    if( arg_key(argv[i], &zK, &nK) && nK==7 && memcmp(zK, "profile", 7)==0 ){
      char *zVal = arg_value(strchr(argv[i], '=')+1);
      if( zVal==0 ) rc = SQLITE_NOMEM;
      else rc = options_set(&t->opt, "profile", zVal, &zErr);
      sqlite3_free(zVal);
    }
  }
  for(i=3; i<argc && rc==SQLITE_OK; i++){
    const char *zEq = strchr(argv[i], '=');
    const char *zK;
    char *zKey, *zVal;
    size_t nKey;
    if( zEq==0 ){
      zErr = sqlite3_mprintf("api_fetch: argument \"%s\" is not key=value", argv[i]);
      rc = SQLITE_ERROR;
      break;
    }
    arg_key(argv[i], &zK, &nKey);
    for(k=3; k<i; k++){
      /* Only known keys get this far, so this loop is short. */
      const char *zK2;
      size_t nK2;
      if( arg_key(argv[k], &zK2, &nK2) && nK2==nKey && memcmp(zK, zK2, nKey)==0 ) break;
    }
    if( k<i ){
      zErr = sqlite3_mprintf("api_fetch: argument %.*s is given twice", (int)nKey, zK);
      rc = SQLITE_ERROR;
      break;
    }
    zKey = sqlite3_mprintf("%.*s", (int)nKey, zK);
    zVal = arg_value(zEq+1);
    if( zKey==0 || zVal==0 ){
      sqlite3_free(zKey); sqlite3_free(zVal);
      rc = SQLITE_NOMEM;
      break;
    }
    for(k=0; azWideArg[k] && strcmp(zKey, azWideArg[k])!=0; k++){}
    if( azWideArg[k] ){
      azVal[k] = zVal;
      zVal = 0;
    }else{
      rc = strcmp(zKey, "profile")==0 ? SQLITE_OK      /* applied first, above */
                                      : options_set(&t->opt, zKey, zVal, &zErr);
      if( rc==SQLITE_NOTFOUND ){
        zErr = sqlite3_mprintf(
            "api_fetch: unknown argument \"%s\" (table arguments: url_list, url_query, "
            "concurrency, columns, sample, sep, max_level, meta, meta_prefix, "
            "record_prefix, timestamps, numeric_strings, max_columns; options: "
            "timeout_ms, connect_timeout_ms, deadline_ms, max_attempts, retry_base_ms, "
            "retry_max_ms, retry_after_max_ms, retry_unsafe, rate, burst, per_host, "
            "max_bytes, max_redirects, on_error, progress, user_agent, ca_file, headers, "
            "record_path, paginate, bearer, basic, url_template, base_url, query, "
            "profile)", zKey);
        rc = SQLITE_ERROR;
      }
    }
    sqlite3_free(zKey);
    sqlite3_free(zVal);
    if( rc ) break;
  }
  /* url_list (0), url_query (1), concurrency (2), columns (3), sample (4),
  ** sep (5), max_level (6), meta (7), meta_prefix (8), record_prefix (9),
  ** timestamps (10), numeric_strings (11), max_columns (12). */
  if( rc==SQLITE_OK && (azVal[0]==0)==(azVal[1]==0) ){
    zErr = sqlite3_mprintf(azVal[0]
        ? "api_fetch: give url_list or url_query, not both"
        : "api_fetch: CREATE VIRTUAL TABLE ... USING api_fetch(...) needs "
          "url_list='[...]' or url_query='SELECT ...'");
    rc = SQLITE_ERROR;
  }
  if( rc==SQLITE_OK && azVal[2] ){
    rc = parse_int_arg("concurrency", azVal[2], 1, APIFETCH_MAX_CONCURRENCY,
                       &t->opt.concurrency, &zErr);
  }
  if( rc==SQLITE_OK && azVal[4] ){
    rc = parse_int_arg("sample", azVal[4], 1, 100000, &t->nSample, &zErr);
  }
  if( rc==SQLITE_OK && t->nSample<0 ){
    /* A full window: the sample's round trip is one the scan would make
    ** anyway (a smaller sample costs the query a round: W1 took 1.23x its
    ** bound with 10). */
    t->nSample = t->opt.concurrency>DEFAULT_SAMPLE ? t->opt.concurrency : DEFAULT_SAMPLE;
  }
  if( rc==SQLITE_OK && azVal[6] ){
    rc = parse_int_arg("max_level", azVal[6], 0, APIFETCH_JSON_MAX_DEPTH, &t->shape.maxLevel, &zErr);
  }
  if( rc==SQLITE_OK && azVal[12] ){
    rc = parse_int_arg("max_columns", azVal[12], 1, MAX_COLUMNS, &maxCol, &zErr);
  }
  if( rc==SQLITE_OK && azVal[10] ){
    static const char *const az[] = { "utc", "keep", "epoch" };   /* TS_* order */
    rc = parse_choice_arg("timestamps", azVal[10], az, &t->shape.rules.timestamps, &zErr);
  }
  if( rc==SQLITE_OK && azVal[11] ){
    static const char *const az[] = { "never", "exact", "decimal" };  /* NUMSTR_* order */
    rc = parse_choice_arg("numeric_strings", azVal[11], az, &t->shape.rules.numericStrings,
                          &zErr);
  }
  if( rc==SQLITE_OK ) rc = options_check(&t->opt, &zErr);
  if( rc==SQLITE_OK ){
    t->shape.zSep = sqlite3_mprintf("%s", azVal[5] ? azVal[5] : "_");
    t->shape.zRecordPrefix = sqlite3_mprintf("%s", azVal[9] ? azVal[9] : "");
    if( t->shape.zSep==0 || t->shape.zRecordPrefix==0 ) rc = SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK && azVal[7] ){
    if( t->opt.nRecordPath==0 ){
      zErr = sqlite3_mprintf("api_fetch: meta needs record_path (meta fields are "
                             "copied from the objects around the records)");
      rc = SQLITE_ERROR;
    }else{
      rc = parse_meta(&t->shape, azVal[7], azVal[8] ? azVal[8] : "", &zErr);
    }
  }
  if( rc==SQLITE_OK ){
    t->zUrlList = azVal[0];
    t->zUrlQuery = azVal[1];
    azVal[0] = azVal[1] = 0;
    if( t->zUrlList ){
      /* Check the whole list now, so that a bad item fails the CREATE. */
      FetchCursor c;
      memset(&c, 0, sizeof(c));
      c.pTab = t;
      c.pOpt = &t->opt;
      rc = open_wide_source(&c, &zErr);
      urllist_close(&c.list);
    }
  }
  if( rc==SQLITE_OK ) rc = schema_init(&t->shape.schema, azWideHidden, maxCol);
  if( rc==SQLITE_OK ){
    const char *zFile = sqlite3_db_filename(db, argv[1]);
    if( azVal[3] ){
      rc = schema_declare(&t->shape.schema, azVal[3], &t->shape.rules, &zErr);
    }else if( zFile && zFile[0] ){
      /* xConnect is xCreate (the function face needs it so), so a table
      ** stored in a file would sample whenever a connection first looks
      ** at it: .schema, PRAGMA table_info, a Datasette listing.  A file
      ** from someone else could make a connection fetch by being opened. */
      zErr = sqlite3_mprintf("api_fetch: a wide table in a database file must declare its "
          "columns (columns='id INTEGER, ...'), so that opening the file never fetches; to "
          "infer them, create it in temp (CREATE VIRTUAL TABLE temp.%s ...), then "
          "CREATE TABLE %s AS SELECT * FROM temp.%s", argv[2], argv[2], argv[2]);
      rc = SQLITE_ERROR;
    }else{
      rc = sample_schema(t, &zErr);
    }
  }

  if( rc==SQLITE_OK ){
    buf_append(&sql, "CREATE TABLE x(", 15);
    for(i=0; i<t->shape.schema.nCol; i++){
      const Column *p = &t->shape.schema.aCol[i];
      const char *zT = schema_type_name(p);
      size_t j;
      buf_append(&sql, "\"", 1);
      for(j=0; j<p->nName; j++){
        buf_append(&sql, p->zName+j, 1);
        if( p->zName[j]=='"' ) buf_append(&sql, "\"", 1);
      }
      buf_append(&sql, "\" ", 2);
      buf_append(&sql, zT, strlen(zT));
      buf_append(&sql, ", ", 2);
    }
    for(i=0; azWideHidden[i]; i++){
      buf_append(&sql, azWideHidden[i], strlen(azWideHidden[i]));
      buf_append(&sql, " ", 1);
      buf_append(&sql, azWideHiddenType[i], strlen(azWideHiddenType[i]));
      buf_append(&sql, azWideHidden[i+1] ? " HIDDEN, " : " HIDDEN)", 8);
    }
    if( sql.bOom ){
      rc = SQLITE_NOMEM;
    }else{
      rc = sqlite3_declare_vtab(db, sql.z);
      if( rc ) zErr = sqlite3_mprintf("api_fetch: cannot declare the table: %s",
                                      sqlite3_errmsg(db));
    }
  }
  buf_free(&sql);
  for(k=0; k<16; k++) sqlite3_free(azVal[k]);
  if( rc && zErr==0 ) zErr = sqlite3_mprintf("api_fetch: out of memory");
  *pzErr = zErr;
  return rc;
}

/* xCreate and xConnect: the same function, which makes the module both
** eponymous (the function face) and creatable (the wide face). */
static int fetchConnect(sqlite3 *db, void *pAux, int argc,
                        const char *const *argv, sqlite3_vtab **ppVtab,
                        char **pzErr){
  FetchTable *t;
  int rc;
  t = sqlite3_malloc(sizeof(*t));
  if( t==0 ) return SQLITE_NOMEM;
  memset(t, 0, sizeof(*t));
  t->db = db;
  t->pConn = (Conn*)pAux;
  t->pNextTable = (FetchTable*)t->pConn->pTableList;
  t->pConn->pTableList = t;
  if( argc==3 && sqlite3_stricmp(argv[0], argv[2])==0 ){
    rc = sqlite3_declare_vtab(db, TVF_SCHEMA);
  }else{
    rc = wide_connect(db, t, argc, argv, pzErr);
  }
  if( rc ){
    table_free(t);
    return rc;
  }
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *ppVtab = &t->base;
  return SQLITE_OK;
}

static int fetchDisconnect(sqlite3_vtab *pVtab){
  table_free((FetchTable*)pVtab);
  return SQLITE_OK;
}

sqlite3_module vtab_fetch_module = {
  0,                /* iVersion */
  fetchConnect,     /* xCreate: the same as xConnect (eponymous and creatable) */
  fetchConnect,     /* xConnect */
  fetchBestIndex,   /* xBestIndex */
  fetchDisconnect,  /* xDisconnect */
  fetchDisconnect,  /* xDestroy */
  fetchOpen,        /* xOpen */
  fetchClose,       /* xClose */
  fetchFilter,      /* xFilter */
  fetchNext,        /* xNext */
  fetchEof,         /* xEof */
  fetchColumn,      /* xColumn */
  fetchRowid,       /* xRowid */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};
