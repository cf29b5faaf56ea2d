/*
** vtab.c - the two faces of the api_fetch module, an adapter as SQLite's
** ext/misc tables are: the methods, the mapping of SQL arguments into
** options (options.c) and a ScanSpec, and the wide table's DDL.  The scan
** itself, from the requests to the rows, is scan.c; the typed cells come
** from infer.c, the limits from the Conn (conn.c).
**
** 1. The table-valued function, fixed columns, one row per record:
**
**   SELECT url, status, data ->> '$.title'
**     FROM api_fetch('["https://api.example.com/posts/1", "..."]', 20);
**   SELECT * FROM api_fetch((SELECT json_group_array(url) FROM targets), 50,
**                           '{"record_path": "data.items", "on_error": "skip"}');
**
** 2. The wide face, flattened and typed columns:
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
** The wide face's on_error, when not given, depends on the query: a row
** for a failed URL only if the query reads _error.  SELECT *, and so the
** documented CREATE TABLE posts AS SELECT * FROM temp.posts, cannot see
** _error (it is hidden), and a row of NULLs there would pass for data;
** SELECT _url, _error FROM temp.posts WHERE _error IS NOT NULL lists the
** failures, and api_fetch_stats counts them either way.
**
** The module is SQLITE_VTAB_DIRECTONLY: usable in a top-level statement but
** not from a view or trigger, so opening a hostile database file cannot
** make it send requests.
**
** The wide face infers its columns when it is created from the first
** `sample` URLs, in list order, so the columns do not depend on which
** response came first (scan_sample, scan.c).  Those responses are kept and
** given to the first scan, so CREATE then SELECT fetches each URL once.
*/
#include <assert.h>
#include <string.h>
#include "apifetch.h"
#include "scan.h"

/* Columns of the table-valued function.  Then its hidden arguments, and
** last the hidden columns cache, headers (response_headers) and input
** (what the request carried: a request object's "input", a url_template
** item, a url_query row's other columns): hidden so that SELECT * (and the
** tables made from it) are the same with them as without; last so that no
** argument falls on them. */
enum {
  COL_URL, COL_URL_INDEX, COL_RECORD_INDEX, COL_STATUS, COL_ERROR,
  COL_ATTEMPTS, COL_ELAPSED_MS, COL_CONTENT_TYPE, COL_DATA, COL_PAGE,
  COL_URL_LIST, COL_CONCURRENCY, COL_OPTIONS, COL_CACHE, COL_HEADERS, COL_INPUT
};
#define TVF_SCHEMA \
  "CREATE TABLE x(url TEXT, url_index INTEGER, record_index INTEGER, " \
  "status INTEGER, error TEXT, attempts INTEGER, elapsed_ms INTEGER, " \
  "content_type TEXT, data TEXT, page INTEGER, " \
  "url_list HIDDEN, concurrency HIDDEN, options HIDDEN, cache TEXT HIDDEN, " \
  "headers TEXT HIDDEN, input TEXT HIDDEN)"

/* The cache column: where the response came from (Response.eCache). */
static const char *const azCacheWord[] = { 0, "miss", "hit", "revalidated", "stale" };

/* Hidden columns of the wide face, before the data columns: each is the
** function's column of the same meaning (iAs), but _extra and _mismatches,
** which are the wide face's own.  First, so that xBestIndex's colUsed,
** which has a bit of its own only for the first 63 columns, always says
** whether a query reads _error (WIDE_ERROR).  Their names are also the
** names a data column may not take (FetchTable.azReserved). */
static const struct {
  const char *zName, *zType;
  int iAs;                        /* COL_* of the function, -1 _extra, -2 _mismatches */
} aWideHidden[] = {
  { "_url", "TEXT", COL_URL },                 { "_url_index", "INTEGER", COL_URL_INDEX },
  { "_record_index", "INTEGER", COL_RECORD_INDEX }, { "_status", "INTEGER", COL_STATUS },
  { "_error", "TEXT", COL_ERROR },             { "_attempts", "INTEGER", COL_ATTEMPTS },
  { "_elapsed_ms", "INTEGER", COL_ELAPSED_MS },
  { "_content_type", "TEXT", COL_CONTENT_TYPE },
  { "_extra", "TEXT", -1 },                    { "_mismatches", "TEXT", -2 },
  { "_page", "INTEGER", COL_PAGE },             { "_cache", "TEXT", COL_CACHE },
  { "_headers", "TEXT", COL_HEADERS },          { "_input", "TEXT", COL_INPUT },
};
/* A row for every column of the function but data (the data columns are
** its twin) and the three arguments, and the wide face's own two: a column
** added to the function and not here fails to compile. */
#define N_WIDE_HIDDEN (COL_INPUT+1 - 1 - 3 + 2)
_Static_assert(ArraySize(aWideHidden)==N_WIDE_HIDDEN,
               "aWideHidden[] has a row per column of the function but data and the arguments");
#define WIDE_ERROR 4                      /* aWideHidden[] index of _error */

/* The plan xBestIndex chose, passed to xFilter as idxNum (idxStr is not
** used).  The function: a bit for each argument given, in this order, and
** xFilter's argv holds those given, in the same order:
**   0x01  url_list     (required: a plan without it costs 1e30)
**   0x02  concurrency
**   0x04  options
** The wide face: 0x01, WIDE_READS_ERROR, if the query reads _error (its
** bit of colUsed), which decides on_error's default. */
#define ARG_URL_LIST    1
#define ARG_CONCURRENCY 2
#define ARG_OPTIONS     4
#define WIDE_READS_ERROR 1

#define DEFAULT_SAMPLE  10

typedef struct FetchTable FetchTable;
struct FetchTable {
  sqlite3_vtab base;        /* Base class.  Must be first */
  sqlite3 *db;              /* The connection */
  Conn *pConn;              /* Its limits, profiles, counters */
  int bWide;                /* The wide face (else the function) */
  FetchTable *pNextTable;   /* Next of the connection's tables (Conn.pTableList) */
  /* The wide face only: */
  Options opt;              /* Its arguments: options, url_list or url_query, shape */
  Shape shape;              /* Columns, types, flattening rules */
  const char *azReserved[N_WIDE_HIDDEN+1];  /* aWideHidden[]'s names, for shape */
  Response *pSample;        /* Sampled responses, for the first scan */
  unsigned iSampleGen;      /* The limits' guard.iGen when they were fetched */
  int bInQuery;             /* Stepping its url_query now (so not to be scanned) */
  int bFromFile;            /* Stored in a database file: its arguments are data */
  char *zSchema, *zName;    /* Where it is and its name, for api_fetch_columns */
};

typedef struct FetchCursor FetchCursor;
struct FetchCursor {
  sqlite3_vtab_cursor base; /* Base class.  Must be first */
  FetchTable *pTab;
  Options optOwn;           /* The function's options (the wide face uses pTab's) */
  Scan scan;                /* The scan of the last xFilter (scan.c) */
  sqlite3_int64 iRowid;     /* Rows returned so far */
  int bEof;                 /* No more rows */
  Row row;                  /* The wide face's current row, made by the scan */
};

static int cursor_error(FetchCursor *c, int rc, char *zErr){
  sqlite3_vtab *pVtab = c->base.pVtab;
  sqlite3_free(pVtab->zErrMsg);
  pVtab->zErrMsg = zErr ? zErr : sqlite3_mprintf("api_fetch: out of memory");
  return rc==SQLITE_OK ? SQLITE_ERROR : rc;
}

/* Is v (a vtab pointer from EXPLAIN) one of this connection's tables? */
static int own_table(void *pCtx, unsigned long long v){
  FetchTable *t;
  for(t=(FetchTable*)((Conn*)pCtx)->pTableList; t; t=t->pNextTable){
    if( (unsigned long long)(uintptr_t)&t->base==v ) return 1;
  }
  return 0;
}

/* What a scan of the wide table t reads: its options, its url_list or its
** url_query (described in *q, which must outlive scan_open), its shape. */
static void wide_spec(FetchTable *t, ScanSpec *p, QuerySpec *q){
  memset(p, 0, sizeof(*p));
  p->db = t->db;
  p->pConn = t->pConn;
  p->pOpt = &t->opt;
  p->nLimit = -1;
  p->pShape = &t->shape;
  if( t->opt.zUrlQuery ){
    q->db = t->db;
    q->zSql = t->opt.zUrlQuery;
    q->bFromFile = t->bFromFile;
    q->pnQueryDepth = &t->pConn->guard.nQueryDepth;
    q->pbInQuery = &t->bInQuery;
    q->xOwnTable = own_table;
    q->pOwnCtx = t->pConn;
    p->pQuery = q;
  }else{
    p->zList = t->opt.zUrlList;
    p->nList = strlen(t->opt.zUrlList);
  }
}

/**************************************************************************
** The cursor methods (both faces)
*/

/* xNext: the scan's next row. */
static int fetchNext(sqlite3_vtab_cursor *cur){
  FetchCursor *c = (FetchCursor*)cur;
  char *zErr = 0;
  int rc = scan_step(&c->scan, &zErr);
  if( rc==SQLITE_ROW ){
    c->iRowid++;
    return SQLITE_OK;
  }
  if( rc==SQLITE_DONE ){
    c->bEof = 1;
    return SQLITE_OK;
  }
  return cursor_error(c, rc, zErr);
}

/* Back to before xFilter: a cursor is filtered again for each row of the
** outer side of a join. */
static void cursor_reset(FetchCursor *c){
  scan_close(&c->scan);
  options_clear(&c->optOwn);
  c->bEof = 1;
  c->iRowid = 0;
}

/* The function's arguments (idxNum, argv as xFilter has them): url_list,
** concurrency, options, into c->optOwn and the scan's url_list. */
static int filter_function(FetchCursor *c, int idxNum, sqlite3_value **argv, ScanSpec *p,
                           char **pzErr){
  static const char *const azType[] = { "?", "an integer", "a real", "text", "a blob", "NULL" };
  const Knob *kConc = knob_find("concurrency", KF_TABLE);
  sqlite3_value *pList = 0, *pConc = 0, *pOpts = 0;
  const char *zText;
  int i = 0, rc;
  if( idxNum & ARG_URL_LIST ) pList = argv[i++];
  if( idxNum & ARG_CONCURRENCY ) pConc = argv[i++];
  if( idxNum & ARG_OPTIONS ) pOpts = argv[i++];
  p->pOpt = &c->optOwn;
  if( pList==0 ){
    *pzErr = sqlite3_mprintf("api_fetch: the url_list argument is required: "
                             "api_fetch(url_list [, concurrency [, options]])");
    return SQLITE_ERROR;
  }
  if( sqlite3_value_type(pList)==SQLITE_BLOB ){
    /* readfile('urls.txt') gives a BLOB: its bytes are the text, if they
    ** are UTF-8 (what the text path assumes; anything else would reach
    ** libcurl and the error rows as bytes of an unknown charset). */
    const char *zBlob = (const char*)sqlite3_value_blob(pList);
    size_t nBlob = (size_t)sqlite3_value_bytes(pList);
    size_t iBad = zBlob ? json_utf8_prefix(zBlob, nBlob) : 0;
    if( iBad<nBlob ){
      *pzErr = sqlite3_mprintf("api_fetch: url_list is a blob that is not UTF-8 text "
                               "(byte %lld is 0x%02x); give it as UTF-8", (sqlite3_int64)iBad,
                               (unsigned char)zBlob[iBad]);
      return SQLITE_ERROR;
    }
  }else if( sqlite3_value_type(pList)!=SQLITE_TEXT ){
    *pzErr = sqlite3_mprintf("api_fetch: url_list is %s; expected a JSON array of URLs or "
                             "text with one URL a line", azType[sqlite3_value_type(pList)]);
    return SQLITE_ERROR;
  }
  if( pConc && sqlite3_value_type(pConc)!=SQLITE_NULL ){
    sqlite3_int64 v = sqlite3_value_int64(pConc);
    if( sqlite3_value_numeric_type(pConc)!=SQLITE_INTEGER || v<kConc->iMin || v>kConc->iMax ){
      *pzErr = sqlite3_mprintf("api_fetch: concurrency must be an integer between %lld and "
                               "%lld, got %s", kConc->iMin, kConc->iMax,
                               sqlite3_value_text(pConc));
      return SQLITE_ERROR;
    }
    c->optOwn.concurrency = (int)v;
  }
  rc = conn_options_start(c->pTab->pConn, &c->optOwn, pzErr);
  if( rc ) return rc;
  if( pOpts && sqlite3_value_type(pOpts)!=SQLITE_NULL ){
    rc = options_parse(&c->optOwn, (const char*)sqlite3_value_text(pOpts), pzErr);
    if( rc ) return rc;
  }
  zText = (const char*)sqlite3_value_text(pList);        /* text, then bytes */
  if( zText==0 ) return SQLITE_NOMEM;
  p->zList = zText;               /* argv outlives scan_open, which parses it */
  p->nList = (size_t)sqlite3_value_bytes(pList);
  return SQLITE_OK;
}

/* Free the sampled responses not yet given to a scan. */
static void sample_drop(FetchTable *t){
  while( t->pSample ){
    Response *r = t->pSample;
    t->pSample = r->pNext;
    response_free(r);
  }
}

/* xFilter: map the plan's arguments (idxNum, above) into a ScanSpec and
** open the scan; then the first row. */
static int fetchFilter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr,
                       int argc, sqlite3_value **argv){
  FetchCursor *c = (FetchCursor*)cur;
  FetchTable *t = c->pTab;
  ScanSpec spec;
  QuerySpec q;
  char *zErr = 0;
  int rc;
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
  if( t->bWide ){
    wide_spec(t, &spec, &q);
    spec.pRow = &c->row;
    /* The sample stands in for the first scan's fetches only under the
    ** limits it was fetched under: after api_fetch_config changed them
    ** (a host allow_hosts no longer lists, block_private), fetch again, so
    ** that the guard judges every URL as it is now. */
    if( t->iSampleGen!=t->pConn->guard.iGen ) sample_drop(t);
    spec.ppReplay = &t->pSample;
  }else{
    memset(&spec, 0, sizeof(spec));
    spec.db = t->db;
    spec.pConn = t->pConn;
    spec.nLimit = -1;
    rc = filter_function(c, idxNum, argv, &spec, &zErr);
    if( rc ) return cursor_error(c, rc, zErr);
  }
  spec.onError = spec.pOpt->on_error;
  if( spec.onError<0 ){
    /* Not given: the wide face's rows are data, unless the query reads
    ** _error (see the top of the file); the function always has error. */
    spec.onError = t->bWide && !(idxNum & WIDE_READS_ERROR) ? ON_ERROR_SKIP : ON_ERROR_ROW;
  }
  rc = scan_open(&c->scan, &spec, &zErr);
  if( rc ) return cursor_error(c, rc, zErr);
  c->bEof = 0;
  return fetchNext(cur);
}

/* xEof: past the last row (or never filtered). */
static int fetchEof(sqlite3_vtab_cursor *cur){
  return ((FetchCursor*)cur)->bEof;
}

/* xColumn: column i of the current row.  The wide face's hidden columns
** are the function's (aWideHidden[].iAs), then its data columns the row's
** cells. */
static int fetchColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i){
  FetchCursor *c = (FetchCursor*)cur;
  FetchTable *t = c->pTab;
  const Scan *s = &c->scan;
  Response *r = s->pResp;
  int bData = s->bHasRecord && r->zError==0 && s->zReject==0;
  if( t->bWide ){
    if( i>=N_WIDE_HIDDEN ){
      if( bData ) row_result(ctx, &c->row, i-N_WIDE_HIDDEN);
      return SQLITE_OK;
    }
    assert( i>=0 );
    if( aWideHidden[i].iAs<0 ){
      if( bData ) row_result_json(ctx, &c->row, aWideHidden[i].iAs!=-1);
      return SQLITE_OK;
    }
    i = aWideHidden[i].iAs;
  }
  switch( i ){
    case COL_URL:
      if( options_hides(s->pOpt) ){
        char *z = options_redact(s->pOpt, r->req.zUrl);
        if( z==0 ) return SQLITE_NOMEM;        /* never the raw URL */
        sqlite3_result_text(ctx, z, -1, sqlite3_free);
      }else{
        sqlite3_result_text(ctx, r->req.zUrl, -1, SQLITE_TRANSIENT);
      }
      break;
    case COL_URL_INDEX:    sqlite3_result_int64(ctx, r->req.iIndex); break;
    case COL_RECORD_INDEX: if( s->bHasRecord ) sqlite3_result_int64(ctx, s->iRecord); break;
    case COL_STATUS:       if( r->status ) sqlite3_result_int64(ctx, r->status); break;
    case COL_ERROR: {
      const char *zErr = scan_row_error(s);
      if( zErr ) sqlite3_result_text(ctx, zErr, -1, SQLITE_TRANSIENT);
      break;
    }
    case COL_ATTEMPTS:     sqlite3_result_int(ctx, r->nAttempt); break;
    case COL_ELAPSED_MS:   sqlite3_result_int64(ctx, r->elapsed_ms); break;
    case COL_CONTENT_TYPE:
      if( r->zContentType ) sqlite3_result_text(ctx, r->zContentType, -1, SQLITE_TRANSIENT);
      break;
    case COL_DATA:
      if( bData && s->eFormat==FMT_BLOB ){
        sqlite3_result_blob64(ctx, s->rec.z, s->rec.n, SQLITE_TRANSIENT);
      }else if( bData ){
        sqlite3_result_text64(ctx, s->rec.z, s->rec.n, SQLITE_TRANSIENT, SQLITE_UTF8);
      }
      break;
    case COL_PAGE:         sqlite3_result_int(ctx, r->req.iPage); break;
    case COL_CACHE:
      assert( r->eCache>=CACHE_NONE && r->eCache<=CACHE_STALE );
      if( r->eCache ) sqlite3_result_text(ctx, azCacheWord[r->eCache], -1, SQLITE_STATIC);
      break;
    case COL_HEADERS:
      if( r->zHeaders ) sqlite3_result_text(ctx, r->zHeaders, -1, SQLITE_TRANSIENT);
      break;
    case COL_INPUT:
      if( r->req.zInput ) sqlite3_result_text(ctx, r->req.zInput, -1, SQLITE_TRANSIENT);
      break;
    default:
      /* The hidden arguments read back as NULL: they are inputs only. */
      break;
  }
  return SQLITE_OK;
}

/* xRowid: the row's number in this scan, from 1. */
static int fetchRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  *pRowid = ((FetchCursor*)cur)->iRowid;
  return SQLITE_OK;
}

/* xOpen: a cursor, at EOF until xFilter.  It holds the statement's place
** in the connection's budget window until xClose. */
static int fetchOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur){
  FetchTable *t = (FetchTable*)pVtab;
  FetchCursor *c = sqlite3_malloc(sizeof(*c));
  if( c==0 ) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  c->pTab = t;
  options_init(&c->optOwn);
  c->bEof = 1;
  if( t->bWide && row_init(&c->row, &t->shape) ){
    sqlite3_free(c);
    return SQLITE_NOMEM;
  }
  conn_window_enter(t->pConn);
  *ppCur = &c->base;
  return SQLITE_OK;
}

/* xClose: the scan closed (transfers in flight cancelled), the cursor freed. */
static int fetchClose(sqlite3_vtab_cursor *cur){
  FetchCursor *c = (FetchCursor*)cur;
  cursor_reset(c);
  row_clear(&c->row);
  conn_window_leave(c->pTab->pConn);
  sqlite3_free(c);
  return SQLITE_OK;
}

/* xBestIndex.  The function: the arguments are equality constraints on the
** hidden columns, consumed (argvIndex, omit) in the order of their idxNum
** bits.  They are required inputs, not filters: if one is present but not
** usable yet (a join whose other side has not run), the plan is
** impossible; without url_list it costs 1e30 and xFilter says what is
** missing.  The wide face: nothing to consume; idxNum says whether the
** query reads _error (WIDE_READS_ERROR), which decides on_error's default. */
static int fetchBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  int aIdx[3] = { -1, -1, -1 };
  int i, n = 0, idxNum = 0;
  if( ((FetchTable*)pVtab)->bWide ){
    assert( aWideHidden[WIDE_ERROR].iAs==COL_ERROR && WIDE_ERROR<63 );
    if( pInfo->colUsed & ((sqlite3_uint64)1<<WIDE_ERROR) ) pInfo->idxNum = WIDE_READS_ERROR;
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
** The wide face: CREATE arguments, sampling, the declared table
*/

static void table_free(FetchTable *t){
  FetchTable **pp;
  for(pp=(FetchTable**)&t->pConn->pTableList; *pp && *pp!=t; pp=&(*pp)->pNextTable){}
  if( *pp ) *pp = t->pNextTable;
  options_clear(&t->opt);
  shape_clear(&t->shape);
  sqlite3_free(t->zSchema);
  sqlite3_free(t->zName);
  sample_drop(t);
  sqlite3_free(t);
}

/* All the arguments, argv[3..argc), then the checks across them. */
static int wide_args(FetchTable *t, int argc, const char *const *argv, char **pzErr){
  int rc = options_set_args(&t->opt, argc-3, argv+3, pzErr);
  if( rc ) return rc;
  if( (t->opt.zUrlList==0)==(t->opt.zUrlQuery==0) ){
    *pzErr = sqlite3_mprintf(t->opt.zUrlList
        ? "api_fetch: give url_list or url_query, not both"
        : "api_fetch: CREATE VIRTUAL TABLE ... USING api_fetch(...) needs "
          "url_list='[...]' or url_query='SELECT ...'");
    return SQLITE_ERROR;
  }
  if( t->opt.zMeta && t->opt.recordPath.n==0 ){
    *pzErr = sqlite3_mprintf("api_fetch: meta needs record_path (meta fields are "
                             "copied from the objects around the records)");
    return SQLITE_ERROR;
  }
  if( t->opt.nSample<0 ){
    /* A full window: the sample's round trip is one the scan would make
    ** anyway (a smaller sample costs the query a round: W1 took 1.23x its
    ** bound with 10). */
    t->opt.nSample = t->opt.concurrency>DEFAULT_SAMPLE ? t->opt.concurrency : DEFAULT_SAMPLE;
  }
  return options_check(&t->opt, pzErr);
}

/* The shape from the arguments: separator, levels, meta, type rules; the
** data columns may not take the hidden columns' names. */
static int wide_shape(FetchTable *t, char **pzErr){
  int i;
  for(i=0; i<N_WIDE_HIDDEN; i++) t->azReserved[i] = aWideHidden[i].zName;
  t->azReserved[N_WIDE_HIDDEN] = 0;
  return shape_configure(&t->shape, &t->opt, t->azReserved, pzErr);
}

/* The error of a CREATE that found no columns: the first sampled error,
** if any, secrets redacted (it may quote a URL). */
static int sample_no_columns(FetchTable *t, char **pzErr){
  const char *zWhy = 0;
  char *zRedacted = 0;
  Response *r;
  int n = 0;
  for(r=t->pSample; r; r=r->pNext){
    if( zWhy==0 ) zWhy = r->zError;
    n++;
  }
  if( zWhy && options_hides(&t->opt) && (zWhy = zRedacted = options_redact(&t->opt, zWhy))==0 ){
    return SQLITE_NOMEM;
  }
  *pzErr = sqlite3_mprintf(
      "api_fetch: no columns found in the %d sampled response%s; declare them "
      "with columns='name TYPE, ...' or sample more URLs%s%s%s",
      n, n==1 ? "" : "s", zWhy ? " (first error: " : "", zWhy ? zWhy : "",
      zWhy ? ")" : "");
  sqlite3_free(zRedacted);
  return SQLITE_ERROR;
}

/* CREATE TABLE x(_url TEXT HIDDEN, ..., "name" TYPE, ...) for the shape. */
static int wide_declare(sqlite3 *db, FetchTable *t, char **pzErr){
  Buf sql = {0, 0, 0, 0};
  int i, rc;
  buf_append(&sql, STRCONST("CREATE TABLE x("));
  for(i=0; i<N_WIDE_HIDDEN; i++){
    buf_append(&sql, aWideHidden[i].zName, strlen(aWideHidden[i].zName));
    buf_append(&sql, STRCONST(" "));
    buf_append(&sql, aWideHidden[i].zType, strlen(aWideHidden[i].zType));
    buf_append(&sql, STRCONST(" HIDDEN, "));
  }
  schema_append_columns(&t->shape.schema, &sql, 1);
  buf_append(&sql, STRCONST(")"));
  if( sql.bOom ){
    rc = SQLITE_NOMEM;
  }else{
    rc = sqlite3_declare_vtab(db, sql.z);
    if( rc ) *pzErr = sqlite3_mprintf("api_fetch: cannot declare the table: %s",
                                      sqlite3_errmsg(db));
  }
  buf_free(&sql);
  return rc;
}

static int wide_connect(sqlite3 *db, FetchTable *t, int argc, const char *const *argv,
                        char **pzErr){
  const char *zFile = sqlite3_db_filename(db, argv[1]);
  char *zErr = 0;
  int rc;
  t->bWide = 1;
  options_init(&t->opt);
  t->zSchema = sqlite3_mprintf("%s", argv[1]);
  t->zName = sqlite3_mprintf("%s", argv[2]);
  if( t->zSchema==0 || t->zName==0 ) return SQLITE_NOMEM;
  /* A table stored in a file (not temp, not an in-memory main) runs
  ** arguments that whoever wrote the file chose: data, not the user's SQL. */
  t->bFromFile = zFile && zFile[0];
  t->opt.bFromFile = t->bFromFile;
  rc = conn_options_start(t->pConn, &t->opt, &zErr);
  if( rc==SQLITE_OK ) rc = wide_args(t, argc, argv, &zErr);
  if( rc==SQLITE_OK ) rc = wide_shape(t, &zErr);
  if( rc==SQLITE_OK && t->opt.zUrlList ){
    /* Check the whole list now, so that a bad item fails the CREATE. */
    RequestStream s;
    rc = stream_open_list(&s, &t->opt, t->opt.zUrlList, strlen(t->opt.zUrlList), &zErr);
    stream_close(&s);
  }
  if( rc==SQLITE_OK ){
    if( t->opt.zColumns ){
      rc = shape_declare(&t->shape, t->opt.zColumns, &zErr);
    }else if( t->bFromFile ){
      /* xConnect is xCreate (the function face needs it so), so a table
      ** stored in a file would sample whenever a connection first looks
      ** at it: .schema, PRAGMA table_info, a Datasette listing.  A file
      ** from someone else could make a connection fetch by being opened. */
      zErr = sqlite3_mprintf("api_fetch: a wide table in a database file must declare its "
          "columns (columns='id INTEGER, ...'), so that opening the file never fetches; to "
          "infer them, create it in temp (CREATE VIRTUAL TABLE temp.%s ...), then "
          "SELECT api_fetch_columns('temp.%s') gives the columns to declare, or "
          "CREATE TABLE %s AS SELECT * FROM temp.%s copies the data",
          argv[2], argv[2], argv[2], argv[2]);
      rc = SQLITE_ERROR;
    }else{
      ScanSpec spec;
      QuerySpec q;
      wide_spec(t, &spec, &q);
      spec.nLimit = t->opt.nSample;
      spec.bSample = 1;
      rc = scan_sample(&spec, &t->pSample, &zErr);
      t->iSampleGen = t->pConn->guard.iGen;
      if( rc==SQLITE_OK && shape_column_count(&t->shape)==0 ) rc = sample_no_columns(t, &zErr);
    }
  }
  if( rc==SQLITE_OK ) rc = wide_declare(db, t, &zErr);
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

/* xDisconnect and xDestroy: the table and its sample freed.  Nothing is
** stored outside the table object, so dropping it is only that too. */
static int fetchDisconnect(sqlite3_vtab *pVtab){
  table_free((FetchTable*)pVtab);
  return SQLITE_OK;
}

/* The columns of the wide table zName in schema zSchema (NULL: the one
** SQL would find, in temp, then main, then the attached), or NULL if the
** connection has no such wide table connected (api_fetch_columns). */
const Schema *vtab_wide_schema(Conn *pConn, const char *zSchema, const char *zName){
  FetchTable *t, *pBest = 0;
  int iBest = 3;
  for(t=(FetchTable*)pConn->pTableList; t; t=t->pNextTable){
    int iRank;
    if( !t->bWide || sqlite3_stricmp(t->zName, zName)!=0 ) continue;
    if( zSchema ){
      if( sqlite3_stricmp(t->zSchema, zSchema)==0 ) return &t->shape.schema;
      continue;
    }
    iRank = sqlite3_stricmp(t->zSchema, "temp")==0 ? 0
          : sqlite3_stricmp(t->zSchema, "main")==0 ? 1 : 2;
    if( iRank<iBest ){ pBest = t; iBest = iRank; }
  }
  return pBest ? &pBest->shape.schema : 0;
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
