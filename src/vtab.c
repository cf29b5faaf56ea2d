/*
** vtab.c - the api_fetch table-valued function.
**
**   .load ./apifetch
**   SELECT url, status, data ->> '$.title'
**     FROM api_fetch('["https://api.example.com/posts/1",
**                      "https://api.example.com/posts/2"]', 20);
**   SELECT * FROM api_fetch((SELECT json_group_array(url) FROM targets), 50,
**                           '{"record_path": "data.items", "on_error": "skip"}');
**
** One row per record: a JSON array body gives a row per element, anything
** else one row; record_path picks the array.  A request that fails gives one
** row with `error` set and `data` NULL (on_error "row"), no row ("skip"), or
** fails the statement ("fail").  A response with no records (an empty array,
** an empty body) gives one row with record_index and data NULL, so that every
** URL asked for shows up.  Rows come in completion order; url_index gives
** the position in url_list (0-based, like json_each.key).
**
** The table is eponymous-only and SQLITE_VTAB_DIRECTONLY: it can be used in
** a top-level statement but not from a view or trigger, so opening a hostile
** database file cannot make it send requests.
*/
#include <string.h>
#include "apifetch.h"

/* Columns.  The last three are the hidden function arguments. */
enum {
  COL_URL, COL_URL_INDEX, COL_RECORD_INDEX, COL_STATUS, COL_ERROR,
  COL_ATTEMPTS, COL_ELAPSED_MS, COL_CONTENT_TYPE, COL_DATA,
  COL_URL_LIST, COL_CONCURRENCY, COL_OPTIONS
};
#define SCHEMA \
  "CREATE TABLE x(url TEXT, url_index INTEGER, record_index INTEGER, " \
  "status INTEGER, error TEXT, attempts INTEGER, elapsed_ms INTEGER, " \
  "content_type TEXT, data TEXT, " \
  "url_list HIDDEN, concurrency HIDDEN, options HIDDEN)"

/* idxNum bits: which arguments xFilter receives, in argv order. */
#define ARG_URL_LIST    1
#define ARG_CONCURRENCY 2
#define ARG_OPTIONS     4

typedef struct FetchTable FetchTable;
struct FetchTable {
  sqlite3_vtab base;        /* Base class.  Must be first */
};

typedef struct FetchCursor FetchCursor;
struct FetchCursor {
  sqlite3_vtab_cursor base; /* Base class.  Must be first */
  Options opt;              /* Parsed options and concurrency */
  UrlList list;             /* The url_list being read */
  Engine *pEngine;          /* Fetch engine, NULL before xFilter */
  Response *pResp;          /* Response the current row comes from */
  RecordIter iter;          /* Records of pResp */
  JsonSpan rec;             /* Current record, if bHasRecord */
  int bHasRecord;           /* The current row has a record (data) */
  sqlite3_int64 iRecord;    /* record_index of the current row */
  sqlite3_int64 iRowid;     /* Rows returned so far */
  int bEof;                 /* No more rows */
};

static int fetchConnect(sqlite3*, void*, int, const char *const*, sqlite3_vtab**, char**);
static int fetchBestIndex(sqlite3_vtab*, sqlite3_index_info*);
static int fetchDisconnect(sqlite3_vtab*);
static int fetchOpen(sqlite3_vtab*, sqlite3_vtab_cursor**);
static int fetchClose(sqlite3_vtab_cursor*);
static int fetchFilter(sqlite3_vtab_cursor*, int, const char*, int, sqlite3_value**);
static int fetchNext(sqlite3_vtab_cursor*);
static int fetchEof(sqlite3_vtab_cursor*);
static int fetchColumn(sqlite3_vtab_cursor*, sqlite3_context*, int);
static int fetchRowid(sqlite3_vtab_cursor*, sqlite3_int64*);

static sqlite3_module fetchModule = {
  0,                /* iVersion */
  0,                /* xCreate: 0 makes the table eponymous-only */
  fetchConnect,     /* xConnect */
  fetchBestIndex,   /* xBestIndex */
  fetchDisconnect,  /* xDisconnect */
  0,                /* xDestroy */
  fetchOpen,        /* xOpen */
  fetchClose,       /* xClose */
  fetchFilter,      /* xFilter */
  fetchNext,        /* xNext */
  fetchEof,         /* xEof */
  fetchColumn,      /* xColumn */
  fetchRowid,       /* xRowid */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};

static int fetchConnect(sqlite3 *db, void *pAux, int argc,
                        const char *const *argv, sqlite3_vtab **ppVtab,
                        char **pzErr){
  FetchTable *p;
  int rc;
  (void)pAux; (void)argc; (void)argv; (void)pzErr;
  rc = sqlite3_declare_vtab(db, SCHEMA);
  if( rc ) return rc;
  p = sqlite3_malloc(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *ppVtab = &p->base;
  return SQLITE_OK;
}

static int fetchDisconnect(sqlite3_vtab *pVtab){
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

/* The arguments are equality constraints on the hidden columns.  They are
** required inputs, not filters: if one is present but not usable yet (a
** join whose other side has not run), the plan is impossible. */
static int fetchBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  int aIdx[3] = { -1, -1, -1 };
  int i, n = 0, idxNum = 0;
  (void)pVtab;
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

static int fetchOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur){
  FetchCursor *c = sqlite3_malloc(sizeof(*c));
  (void)pVtab;
  if( c==0 ) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  options_init(&c->opt);
  c->bEof = 1;
  *ppCur = &c->base;
  return SQLITE_OK;
}

static void cursor_reset(FetchCursor *c){
  engine_free(c->pEngine);
  c->pEngine = 0;
  response_free(c->pResp);
  c->pResp = 0;
  urllist_close(&c->list);
  options_clear(&c->opt);
  c->bEof = 1;
  c->iRowid = 0;
}

static int fetchClose(sqlite3_vtab_cursor *cur){
  FetchCursor *c = (FetchCursor*)cur;
  cursor_reset(c);
  sqlite3_free(c);
  return SQLITE_OK;
}

static int cursor_error(FetchCursor *c, int rc, char *zErr){
  sqlite3_vtab *pVtab = c->base.pVtab;
  sqlite3_free(pVtab->zErrMsg);
  pVtab->zErrMsg = zErr ? zErr : sqlite3_mprintf("api_fetch: out of memory");
  return rc==SQLITE_OK ? SQLITE_ERROR : rc;
}

static int source_next(void *pCtx, Request *pReq, char **pzErr){
  return urllist_next((UrlList*)pCtx, pReq, pzErr);
}

static int fetchFilter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr,
                       int argc, sqlite3_value **argv){
  FetchCursor *c = (FetchCursor*)cur;
  sqlite3_value *pList = 0, *pConc = 0, *pOpts = 0;
  char *zErr = 0, *zList;
  const char *zText;
  int i = 0, rc, nList;
  RequestSource src;
  (void)idxStr; (void)argc;

  cursor_reset(c);
  if( idxNum & ARG_URL_LIST ) pList = argv[i++];
  if( idxNum & ARG_CONCURRENCY ) pConc = argv[i++];
  if( idxNum & ARG_OPTIONS ) pOpts = argv[i++];

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
    c->opt.concurrency = (int)v;
  }
  if( pOpts && sqlite3_value_type(pOpts)!=SQLITE_NULL ){
    rc = options_parse(&c->opt, (const char*)sqlite3_value_text(pOpts), &zErr);
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
  rc = urllist_open(&c->list, zList, (size_t)nList, &c->opt, &zErr);
  if( rc ) return cursor_error(c, rc, zErr);

  src.pCtx = &c->list;
  src.xNext = source_next;
  c->pEngine = engine_new(&c->opt, src, &zErr);
  if( c->pEngine==0 ) return cursor_error(c, SQLITE_NOMEM, zErr);
  c->bEof = 0;
  return fetchNext(cur);
}

/* Set up the rows of a freshly completed response.  Returns SQLITE_OK with
** c->pResp holding the rows, or with c->pResp NULL when on_error says skip. */
static int cursor_take_response(FetchCursor *c){
  Response *r = c->pResp;
  const char *zWhy = 0;
  sqlite3_int64 iWhere = -1;

  c->bHasRecord = 0;
  c->iRecord = -1;
  if( r->zError==0 && r->nBody>0 ){
    JsonError err;
    if( json_validate(r->pBody, r->nBody, APIFETCH_JSON_MAX_DEPTH, &err) ){
      const char *zType = r->zContentType ? r->zContentType : "none";
      r->zError = sqlite3_mprintf(
          "response is not valid JSON (%s at byte %lld, Content-Type: %s)",
          err.zWhat, (sqlite3_int64)err.offset, zType);
    }else if( records_begin(&c->iter, json_root(r->pBody, r->nBody),
                            c->opt.azRecordPath, c->opt.nRecordPath,
                            &zWhy, &iWhere) ){
      r->zError = iWhere<0 ? sqlite3_mprintf("%s", zWhy)
                 : sqlite3_mprintf("%s (in element %lld of the top-level array)",
                                   zWhy, iWhere);
    }else if( records_next(&c->iter, &c->rec) ){
      c->bHasRecord = 1;
      c->iRecord = 0;
    }
  }
  if( r->zError ){
    if( c->opt.on_error==ON_ERROR_SKIP ){
      response_free(r);
      c->pResp = 0;
      return SQLITE_OK;
    }
    if( c->opt.on_error==ON_ERROR_FAIL ){
      return cursor_error(c, SQLITE_ERROR, sqlite3_mprintf(
          "api_fetch: url_list item %lld (%s) failed after %d attempt%s: %s",
          r->req.iIndex, r->req.zUrl, r->nAttempt, r->nAttempt==1 ? "" : "s",
          r->zError));
    }
  }
  return SQLITE_OK;
}

static int fetchNext(sqlite3_vtab_cursor *cur){
  FetchCursor *c = (FetchCursor*)cur;
  char *zErr = 0;
  int rc;
  if( c->pResp && c->bHasRecord ){
    if( records_next(&c->iter, &c->rec) ){
      c->iRecord++;
      c->iRowid++;
      return SQLITE_OK;
    }
  }
  for(;;){
    response_free(c->pResp);
    c->pResp = 0;
    rc = engine_next(c->pEngine, &c->pResp, &zErr);
    if( rc==SQLITE_DONE ){
      c->bEof = 1;
      return SQLITE_OK;
    }
    if( rc!=SQLITE_ROW ) return cursor_error(c, rc, zErr);
    rc = cursor_take_response(c);
    if( rc ) return rc;
    if( c->pResp ) break;
  }
  c->iRowid++;
  return SQLITE_OK;
}

static int fetchEof(sqlite3_vtab_cursor *cur){
  return ((FetchCursor*)cur)->bEof;
}

static int fetchColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i){
  FetchCursor *c = (FetchCursor*)cur;
  Response *r = c->pResp;
  switch( i ){
    case COL_URL:
      sqlite3_result_text(ctx, r->req.zUrl, -1, SQLITE_TRANSIENT);
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
      if( c->bHasRecord && r->zError==0 ){
        sqlite3_result_text64(ctx, c->rec.z, c->rec.n, SQLITE_TRANSIENT, SQLITE_UTF8);
      }
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

int vtab_register(sqlite3 *db){
  return sqlite3_create_module(db, "api_fetch", &fetchModule, 0);
}
