/*
** scan.c - one scan of api_fetch, from the requests to the rows: open /
** step / close.  vtab.c maps SQL into a ScanSpec and SQLite's calls onto
** these; what happens between is here, in the order a row is made:
**
**   scan_open    the stream of requests (source.c), the sampled responses
**                to give first, the guard, the counters, the cache and the
**                Engine (engine.c)
**   scan_step    the next record of the current response, else the next
**                response: its records (flatten.c), its later pages
**                (page feedback), counting, the progress line, secrets
**                redacted from its error, on_error; then the row
**                (shape_record, infer.c, on the wide face)
**   scan_close   everything scan_open made
**
** Used from SQL as the module's two faces are (see vtab.c):
**
**   .load ./apifetch
**   SELECT url, status, data ->> '$.title'
**     FROM api_fetch('["https://api.example.com/posts/1", "..."]', 20);
**   CREATE VIRTUAL TABLE temp.posts USING api_fetch(url_list='[...]');
**
** CREATE's sample is a scan too (scan_sample): its first `sample`
** requests, their responses kept for the first scan and their records
** read only once all are in, in url_index order, so that the columns do
** not depend on which response came first.  It is not counted and shows
** no progress: the first scan counts those responses when it gives them.
**
** SQLite cannot stop a statement while a virtual table waits, so the
** engine asks the scan (xCancelled) whether it was stopped; it also tells
** the scan that it waits (xWaiting), which is when a progress line is due
** that no completed URL prints.  Every progress line comes from
** scan_progress().
*/
#include <assert.h>
#include <string.h>
#include "apifetch.h"
#include "scan.h"

/**************************************************************************
** What the engine asks of a scan
*/

/* Has this connection been interrupted (sqlite3_interrupt(), Ctrl-C in the
** shell, Python's conn.interrupt()) or has its progress handler asked to
** stop (a host's time limit)?  SQLite 3.40 has no sqlite3_is_interrupted(),
** and neither check runs while a virtual table waits, so a small looping
** statement is run: it fails with SQLITE_INTERRUPT in either case (its
** few thousand opcodes also give a progress handler its turn).  It is
** prepared at the first question, which may come after the interrupt:
** SQLite's parser checks it too, and fails the prepare with
** SQLITE_INTERRUPT (taken for "not stopped", that query ran to its end).
** The probe needs of a host's authorizer only what any SELECT does
** (SQLITE_SELECT): a sandbox for untrusted SQL may refuse recursive
** queries or functions, and a probe it refused never asked (a recursive
** count(*) did: a time limit went unheeded for the whole query).  A join
** of VALUES lists, 2,000 rows that the WHERE clause turns down, no
** function called: about 19,000 opcodes (the recursive count ran 17,000). */
#define SCAN_PROBE_10 "(VALUES(0),(0),(0),(0),(0),(0),(0),(0),(0),(0))"
static int scan_cancelled(void *pCtx){
  Scan *s = (Scan*)pCtx;
  int rc;
  if( s->pProbe==0 ){
    rc = sqlite3_prepare_v2(s->db,
        "SELECT 1 FROM " SCAN_PROBE_10 " a, " SCAN_PROBE_10 " b, " SCAN_PROBE_10 " c, "
        "(VALUES(0),(0)) d WHERE a.column1+b.column1+c.column1+d.column1", -1, &s->pProbe, 0);
    if( rc ) return rc==SQLITE_INTERRUPT;
  }
  rc = sqlite3_step(s->pProbe);
  sqlite3_reset(s->pProbe);
  return rc==SQLITE_INTERRUPT;
}

static int scan_request(void *pCtx, Request *pReq, char **pzErr){
  return stream_next(&((Scan*)pCtx)->stream, pReq, pzErr);
}

/* The live counters, and a progress line if one is due (bEnd: the last).
** The one place a scan reports from; the sample does not report. */
static void scan_progress(Scan *s, int bEnd){
  if( s->bSample ) return;
  conn_scan_report(s->pConn, &s->report, s->pEngine, stream_total(&s->stream), bEnd);
}

/* An attempt is over: its row of request_log (set only with one). */
static int scan_attempt(void *pCtx, const AttemptInfo *a, char **pzErr){
  return reqlog_attempt(((Scan*)pCtx)->pLog, a, pzErr);
}

/* The engine waits: a progress line may be due although nothing completes. */
static void scan_waiting(void *pCtx){
  scan_progress((Scan*)pCtx, 0);
}

/**************************************************************************
** Open and close
*/

int scan_open(Scan *s, const ScanSpec *p, char **pzErr){
  const Options *pEngineOpt = p->pOpt;
  RequestSource src;
  CacheStore *pCache = 0;
  int rc;

  assert( p->pOpt && (p->zList!=0)!=(p->pQuery!=0) );
  assert( (p->pShape==0)==(p->pRow==0) || p->bSample );
  memset(s, 0, sizeof(*s));
  s->db = p->db;
  s->pConn = p->pConn;
  s->pOpt = p->pOpt;
  s->onError = p->onError;
  s->pShape = p->pShape;
  s->pRow = p->pRow;
  s->bSample = p->bSample;
  if( p->pQuery ){
    rc = stream_open_query(&s->stream, p->pOpt, p->pQuery, pzErr);
  }else{
    rc = stream_open_list(&s->stream, p->pOpt, p->zList, p->nList, pzErr);
  }
  if( rc ) return rc;
  s->stream.nLeft = p->nLimit;
  if( p->ppReplay && *p->ppReplay ){
    rc = stream_replay(&s->stream, p->ppReplay, &s->pGive, pzErr);
    if( rc ) return rc;
  }
  rc = guard_refuses(&s->pConn->guard, s->pOpt, pzErr);
  if( rc ) return rc;
  /* Here, with every option in (defaults, profile, the query's): a
  ** profile's oauth2 may have its base_url from the query. */
  rc = oauth2_check_origin(&s->pOpt->oauth2, s->pOpt->zBaseUrl, pzErr);
  if( rc ) return rc;
  if( !s->bSample ) conn_scan_begin(s->pConn, &s->report, s->pOpt->progress);
  if( p->nLimit>=0 && p->pOpt->concurrency>p->nLimit ){
    /* No window wider than the requests the scan may start. */
    s->optCapped = *p->pOpt;
    s->optCapped.concurrency = (int)p->nLimit;
    pEngineOpt = &s->optCapped;
  }
  rc = conn_cache(s->pConn, s->pOpt, &pCache, pzErr);
  if( rc ) return rc;
  rc = reqlog_open(s->pConn, s->db, s->pOpt, &s->pLog, pzErr);
  if( rc ) return rc;
  memset(&src, 0, sizeof(src));
  src.pCtx = s;
  src.xNext = scan_request;
  src.xCancelled = scan_cancelled;
  src.xWaiting = scan_waiting;
  if( s->pLog ) src.xAttempt = scan_attempt;     /* else no cost at all */
  src.bFirstPart = s->bSample;
  s->pEngine = engine_new(pEngineOpt, &s->pConn->guard, &s->pConn->keep, &s->pConn->budget,
                          pCache, src, pzErr);
  if( s->pEngine==0 ) return SQLITE_NOMEM;
  if( !s->bSample ){
    s->pConn->aStat[STAT_WINDOW] = engine_window_size(s->pEngine, 0);
    s->pConn->aStat[STAT_OPEN_FILES] = fds_limit();
  }
  return SQLITE_OK;
}

/* Safe on a Scan that is all zeros, or that scan_open left half made. */
void scan_close(Scan *s){
  /* The statement's per-host table outlives the engine. */
  if( s->pEngine && s->pConn && !s->bSample ){
    hosts_merge(&s->pConn->hosts, engine_hosts(s->pEngine));
  }
  engine_free(s->pEngine);
  reqlog_close(s->pLog);
  sqlite3_free(s->zReject);
  response_free(s->pResp);
  while( s->pGive ){
    Response *r = s->pGive;
    s->pGive = r->pNext;
    response_free(r);
  }
  stream_close(&s->stream);
  sqlite3_free(s->zRowError);
  sqlite3_free(s->zText);
  sqlite3_finalize(s->pProbe);
  if( s->pConn ) conn_scan_end(s->pConn, &s->report);
  memset(s, 0, sizeof(*s));
}

/**************************************************************************
** Responses into rows
*/

/* The next response, whoever made it: a sampled one first, then the
** engine's.  SQLITE_ROW with *ppResp (the caller's), SQLITE_DONE, or an
** error code with *pzErr. */
static int scan_response(Scan *s, Response **ppResp, char **pzErr){
  if( s->pGive ){
    Response *r = s->pGive;
    s->pGive = r->pNext;
    r->pNext = 0;
    *ppResp = r;
    return SQLITE_ROW;
  }
  return engine_next(s->pEngine, ppResp, pzErr);
}

/* Check the body of r as one JSON text and find its first record.  Sets
** r->zError for a body that is not JSON or does not have the records asked
** for; returns SQLITE_NOMEM if that text cannot be made (the row would
** show neither data nor error). */
static int json_records(Response *r, const Options *o, RecordIter *it,
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
                            o->recordPath.az, o->recordPath.n, &zWhy) ){
      r->zError = zWhy ? zWhy : sqlite3_mprintf("out of memory");
      r->eErr = ERR_BODY;
    }else{
      if( records_next(it, pRec) ) *pbHas = 1;
    }
    if( r->eErr==ERR_BODY && r->zError==0 ) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* r's error: its body cannot be read as its format says (zWhy taken). */
static int body_error(Response *r, char *zWhy){
  if( zWhy==0 ) return SQLITE_NOMEM;
  r->zError = zWhy;
  r->eErr = ERR_BODY;
  return SQLITE_OK;
}

/* The next line of an NDJSON body that makes a row: a record, or a line
** that is not JSON, a row with its own error naming it (the lines after it
** still come).  *pbRow says whether there was one. */
static int ndjson_row(Scan *s, int *pbRow){
  JsonSpan line;
  JsonError err;
  int rc;
  sqlite3_free(s->zRowError);
  s->zRowError = 0;
  s->bHasRecord = 0;
  *pbRow = lines_next(&s->lines, &line);
  if( !*pbRow ) return SQLITE_OK;
  rc = json_validate(line.z, line.n, APIFETCH_JSON_MAX_DEPTH, &err);
  if( rc==SQLITE_NOMEM ) return rc;
  if( rc ){
    s->zRowError = sqlite3_mprintf("line %lld is not valid JSON (%s at byte %lld of the line)",
                                   s->lines.iLine, err.zWhat, (sqlite3_int64)err.offset);
    if( s->zRowError==0 ) return SQLITE_NOMEM;
    if( !s->bSample ){
      s->pConn->aStat[STAT_ERRORS]++;
      s->pConn->aStat[STAT_ERR_BODY]++;
    }
    return SQLITE_OK;
  }
  s->rec = line;
  s->iRecord = s->lines.iLine - 1;     /* record_index names the line */
  s->bHasRecord = 1;
  return SQLITE_OK;
}

/* The first row of r's body as its format says (formats.c): s->eFormat,
** s->rec and s->bHasRecord set, r->zError if the body cannot be read so;
** *pbRow 0 when r gives no row at all (an NDJSON part with no lines). */
static int body_first(Scan *s, Response *r, int *pbRow){
  const Options *o = s->pOpt;
  char *zWhy = 0;
  size_t n = 0;
  int rc;
  sqlite3_free(s->zRowError);
  sqlite3_free(s->zText);
  s->zRowError = s->zText = 0;
  s->bHasRecord = 0;
  *pbRow = 1;
  s->eFormat = format_of(o->eFormat, r->req.iFormat, r->zContentType);
  if( r->zError ) return SQLITE_OK;
  if( s->eFormat==FMT_JSON ) return json_records(r, o, &s->iter, &s->rec, &s->bHasRecord);
  if( s->eFormat==FMT_NDJSON ){
    if( o->recordPath.n ){
      return body_error(r, sqlite3_mprintf("record_path does not apply to format ndjson: "
                                           "each line is a record"));
    }
    lines_begin(&s->lines, r->pBody, r->nBody, r->iLine);
    rc = ndjson_row(s, pbRow);
    /* A response with no lines is a row (every URL shows), unless others
    ** of its body gave rows already. */
    if( rc==SQLITE_OK && !*pbRow ) *pbRow = !r->bMore && r->iLine==0;
    return rc;
  }
  if( s->pShape ){
    return body_error(r, sqlite3_mprintf("format %s gives one %s value, for api_fetch's "
        "data column: a wide table takes json or ndjson records",
        s->eFormat==FMT_TEXT ? "text" : "blob", s->eFormat==FMT_TEXT ? "TEXT" : "BLOB"));
  }
  if( s->eFormat==FMT_TEXT ){
    rc = format_text(r->pBody ? r->pBody : "", r->nBody, r->zContentType, &s->zText, &n, &zWhy);
    if( rc==SQLITE_ERROR ) return body_error(r, zWhy);
    if( rc ) return rc;
  }
  s->rec.z = s->zText ? s->zText : r->pBody ? r->pBody : "";
  s->rec.n = s->zText ? n : r->nBody;
  s->bHasRecord = 1;
  return SQLITE_OK;
}

/* body_first, then what r's request carried (input_prefix's columns):
** set here, after the format's start has cleared the iterator, so that a
** JSON body's records and NDJSON lines alike have their parent's fields
** (the lines had none) and no row keeps an earlier response's. */
static int body_records(Scan *s, Response *r, int *pbRow){
  int rc;
  memset(&s->iter, 0, sizeof(s->iter));
  rc = body_first(s, r, pbRow);
  if( r->req.zInput ){          /* valid JSON: source.c made or checked it */
    s->iter.input = json_root(r->req.zInput, strlen(r->req.zInput));
  }
  return rc;
}

/* The next row of the current response after the first: 1 with it, 0 if
** it has no more. */
static int body_next(Scan *s, int *pbRow){
  *pbRow = 0;
  if( s->pResp==0 || s->pResp->zError ) return SQLITE_OK;
  if( s->eFormat==FMT_NDJSON ) return ndjson_row(s, pbRow);
  if( s->eFormat==FMT_JSON && s->bHasRecord && records_next(&s->iter, &s->rec) ){
    s->iRecord++;
    *pbRow = 1;
  }
  return SQLITE_OK;
}

const char *scan_row_error(const Scan *s){
  if( s->zRowError ) return s->zRowError;
  return s->pResp->zError ? s->pResp->zError : s->zReject;
}

/* on_error "fail": the statement fails with the first failed request. */
static int scan_fail(Scan *s, Response *r, char **pzErr){
  const Options *o = s->pOpt;
  int bHide = options_hides(o);
  char *zUrl = bHide ? options_redact(o, r->req.zUrl) : 0;
  if( bHide && zUrl==0 ) return SQLITE_NOMEM;
  if( s->zRowError ){
    *pzErr = sqlite3_mprintf("api_fetch: url_list item %lld (%s): %s", r->req.iIndex,
                             zUrl ? zUrl : r->req.zUrl, s->zRowError);
  }else{
    *pzErr = sqlite3_mprintf("api_fetch: url_list item %lld (%s) failed after %d attempt%s: %s",
                             r->req.iIndex, zUrl ? zUrl : r->req.zUrl, r->nAttempt,
                             r->nAttempt==1 ? "" : "s", r->zError);
  }
  sqlite3_free(zUrl);
  return SQLITE_ERROR;
}

/* What becomes of a response with status r->status: on_status's word for
** it (onstatus.c) as an ON_ERROR_*, else on_error's.  "error" and "fail"
** make an answer an error if it was not one (a 2xx named), so that its row
** is an error row; "data" and "retry" were the engine's, and leave the rest
** to on_error.  -1 for out of memory. */
static int status_verdict(Scan *s, Response *r){
  int eAct = onstatus_action(s->pOpt, r->status);
  if( (eAct==STATUS_ERROR || eAct==STATUS_FAIL) && r->zError==0 ){
    r->zError = sqlite3_mprintf("HTTP %ld", r->status);
    if( r->zError==0 ) return -1;
    r->eErr = ERR_HTTP;
  }
  switch( eAct ){
    case STATUS_SKIP:  return ON_ERROR_SKIP;
    case STATUS_ERROR: return ON_ERROR_ROW;
    case STATUS_FAIL:  return ON_ERROR_FAIL;
  }
  return s->onError;
}

/* on_error for a row with an error of its own (a line that is not JSON):
** "skip" moves on to the next row that has none, "fail" fails.  SQLITE_OK
** with s->pResp NULL when the response has no row left. */
static int scan_line_rule(Scan *s, char **pzErr){
  int bRow = 1, rc;
  while( s->zRowError && s->onError==ON_ERROR_SKIP ){
    rc = body_next(s, &bRow);
    if( rc ) return rc;
    if( !bRow ){ response_free(s->pResp); s->pResp = 0; return SQLITE_OK; }
  }
  if( s->zRowError && s->onError==ON_ERROR_FAIL ) return scan_fail(s, s->pResp, pzErr);
  return SQLITE_OK;
}

/* Set up the rows of a freshly taken response, s->pResp.  SQLITE_OK with
** s->pResp holding the rows, or with s->pResp NULL when on_status or
** on_error says skip. */
static int scan_take(Scan *s, char **pzErr){
  Response *r = s->pResp;
  int bRow, eOn = status_verdict(s, r);
  if( eOn<0 ) return SQLITE_NOMEM;
  if( body_records(s, r, &bRow) ) return SQLITE_NOMEM;
  if( s->eFormat!=FMT_NDJSON ) s->iRecord = s->bHasRecord ? 0 : -1;
  if( r->bMore ){
    /* A part of a streamed body (chunk.c): its rows only; the response is
    ** counted, and its pages found, with its last part. */
    s->pConn->aStat[STAT_BYTES] += (sqlite3_int64)r->nBody;
    if( !bRow ){ response_free(r); s->pResp = 0; return SQLITE_OK; }
    return scan_line_rule(s, pzErr);
  }
  if( s->pOpt->paginate.pKind && r->zError==0 ){
    /* Page feedback: this page says which pages come next (only a JSON
    ** body has a root to read paths in; any body, headers). */
    JsonSpan root = { "", 0 };
    int bMore = 0;
    /* Empty: no record at all (a JSON body's, or an NDJSON body's first
    ** line), which ends a chain of numbered pages. */
    int bEmpty = !s->bHasRecord && s->zRowError==0 && r->iLine==0;
    if( r->nBody && s->eFormat==FMT_JSON ) root = json_root(r->pBody, r->nBody);
    if( stream_follow(&s->stream, r, root, bEmpty, &bMore) ) return SQLITE_NOMEM;
    if( bMore && s->pEngine ) engine_wake(s->pEngine);
  }
  conn_count_response(s->pConn, r);
  scan_progress(s, 0);
  if( r->zError && options_hides(s->pOpt) ){
    /* Secrets never show: not in error text, which may quote a URL. */
    char *z = options_redact(s->pOpt, r->zError);
    if( z==0 ) return SQLITE_NOMEM;               /* never the raw text */
    sqlite3_free(r->zError);
    r->zError = z;
  }
  /* on_status "skip" drops an answer that is not an error too (a 204). */
  if( eOn==ON_ERROR_SKIP && (r->zError || onstatus_action(s->pOpt, r->status)==STATUS_SKIP) ){
    response_free(r);
    s->pResp = 0;
    return SQLITE_OK;
  }
  if( r->zError && eOn==ON_ERROR_FAIL ) return scan_fail(s, r, pzErr);
  if( !bRow ){ response_free(r); s->pResp = 0; return SQLITE_OK; }
  return scan_line_rule(s, pzErr);
}

/* on_mismatch 'reject': the record whose row w has a mismatch is an error
** row, its error naming the first column that did not fit and the value. */
static int scan_reject(Scan *s, const Row *w, char **pzErr){
  const Column *c = &s->pShape->schema.aCol[w->iMismatch];
  const Response *r = s->pResp;
  int n = w->mismatchVal.n>64 ? 64 : (int)w->mismatchVal.n;    /* a long value: its start */
  assert( w->nMismatch>0 && w->iMismatch>=0 && w->iMismatch<s->pShape->schema.nCol );
  s->zReject = sqlite3_mprintf("on_mismatch: column \"%s\" (%s) does not take %.*s%s",
                               c->zName, schema_type_name(c), n, w->mismatchVal.z,
                               n<(int)w->mismatchVal.n ? "..." : "");
  if( s->zReject==0 ) return SQLITE_NOMEM;
  conn_count_mismatch(s->pConn, 0, 1);
  if( s->onError==ON_ERROR_FAIL ){
    int bHide = options_hides(s->pOpt);
    char *zUrl = bHide ? options_redact(s->pOpt, r->req.zUrl) : 0;
    if( bHide && zUrl==0 ) return SQLITE_NOMEM;
    *pzErr = sqlite3_mprintf("api_fetch: url_list item %lld (%s) record %lld: %s",
                             r->req.iIndex, zUrl ? zUrl : r->req.zUrl, s->iRecord, s->zReject);
    sqlite3_free(zUrl);
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

/* The current row is settled: count it and, on the wide face, build it.
** SQLITE_ROW, or SQLITE_OK for a row on_error skips (a rejected record). */
static int scan_row(Scan *s, char **pzErr){
  int bData = s->bHasRecord && s->pResp->zError==0;
  sqlite3_free(s->zReject);
  s->zReject = 0;
  assert( s->zRowError==0 || !s->bHasRecord );
  if( s->pShape ){
    const Row *w = s->pRow;
    int rc = shape_record(s->pShape, &s->iter, bData ? &s->rec : 0, s->pRow);
    if( rc ) return rc;
    if( bData && w->nMismatch && s->pShape->eOnMismatch==MISMATCH_NULL ){
      conn_count_mismatch(s->pConn, w->nMismatch, 0);
    }
    if( bData && w->nMismatch && s->pShape->eOnMismatch==MISMATCH_REJECT ){
      rc = scan_reject(s, w, pzErr);
      if( rc ) return rc;
      if( s->onError==ON_ERROR_SKIP ){
        /* No row, but its values that did not fit are still counted. */
        s->pConn->aStat[STAT_TYPE_MISMATCHES] += w->nMismatch;
        return SQLITE_OK;
      }
      conn_count_row(s->pConn, 0, 0, w->nMismatch);
      return SQLITE_ROW;
    }
  }
  conn_count_row(s->pConn, bData, s->pRow ? s->pRow->nExtra : 0,
                 s->pRow ? s->pRow->nMismatch : 0);
  return SQLITE_ROW;
}

/* The statement ends with rc: request_log's rows gathered so far are
** written first, so that a failed run keeps its record too.  Returns rc,
** or the log's error when rc was not one. */
static int scan_log_flush(Scan *s, int rc, char **pzErr){
  char *zErr = 0;
  int rcLog = reqlog_flush(s->pLog, &zErr);
  if( rcLog==SQLITE_OK ) return rc;
  if( rc!=SQLITE_DONE ){
    sqlite3_log(rcLog, "%s", zErr ? zErr : "api_fetch: request_log: out of memory");
    sqlite3_free(zErr);
    return rc;
  }
  *pzErr = zErr;
  return rcLog;
}

/* The next record or response to make a row of: SQLITE_ROW with s
** positioned on it, SQLITE_DONE, or an error. */
static int scan_advance(Scan *s, char **pzErr){
  int rc;
  if( s->pResp ){
    int bRow;
    rc = body_next(s, &bRow);
    if( rc==SQLITE_OK && bRow ) rc = scan_line_rule(s, pzErr);
    if( rc ) return rc;
    if( bRow && s->pResp ) return SQLITE_ROW;
  }
  for(;;){
    response_free(s->pResp);
    s->pResp = 0;
    rc = scan_response(s, &s->pResp, pzErr);
    if( rc==SQLITE_DONE ){
      scan_progress(s, 1);
      conn_scan_end(s->pConn, &s->report);
      /* The log's last rows: a failure still fails the statement. */
      return s->pLog ? scan_log_flush(s, SQLITE_DONE, pzErr) : SQLITE_DONE;
    }
    if( rc==SQLITE_INTERRUPT ) s->pConn->aStat[STAT_INTERRUPTED] = 1;
    if( rc!=SQLITE_ROW ) return s->pLog ? scan_log_flush(s, rc, pzErr) : rc;
    rc = scan_take(s, pzErr);
    if( rc ) return rc;
    if( s->pResp ) return SQLITE_ROW;
  }
}

int scan_step(Scan *s, char **pzErr){
  int rc;
  assert( s->pEngine && !s->bSample );
  do{
    rc = scan_advance(s, pzErr);
    if( rc==SQLITE_ROW ) rc = scan_row(s, pzErr);
  }while( rc==SQLITE_OK );          /* a rejected record that on_error skips */
  return rc;
}

/**************************************************************************
** CREATE's sample
*/

int scan_sample(const ScanSpec *p, Response **ppSample, char **pzErr){
  Scan s;
  Response *r, **pp;
  int rc;
  assert( p->bSample && p->nLimit>=0 && p->pShape && p->ppReplay==0 );
  /* Refused before its url_query is even prepared. */
  rc = guard_refuses(&p->pConn->guard, p->pOpt, pzErr);
  if( rc ) return rc;
  conn_window_enter(p->pConn);
  rc = scan_open(&s, p, pzErr);
  if( rc==SQLITE_OK ){
    while( (rc = scan_response(&s, &r, pzErr))==SQLITE_ROW ){
      /* A streamed body (chunk.c): its first part is sample enough, and
      ** keeps the sample's memory bounded as the scan's is; the rest of it
      ** is dropped as it comes, and the URL fetched again (below). */
      if( r->iLine>0 ){
        response_free(r);
        continue;
      }
      /* Keep the list sorted by url_index. */
      for(pp=ppSample; *pp && (*pp)->req.iIndex<r->req.iIndex; pp=&(*pp)->pNext){}
      r->pNext = *pp;
      *pp = r;
    }
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
    if( rc==SQLITE_OK ) rc = reqlog_flush(s.pLog, pzErr);
  }
  scan_close(&s);
  conn_window_leave(p->pConn);
  /* A body that cannot be read as its format says (not JSON, no records
  ** at the path) gets its error here, and the first scan reports it as an
  ** error row.  s was closed: what body_records uses is set again. */
  s.pOpt = p->pOpt;
  s.pShape = p->pShape;
  s.bSample = 1;
  for(r=*ppSample; r && rc==SQLITE_OK; r=r->pNext){
    int bRow;
    rc = body_records(&s, r, &bRow);
    while( rc==SQLITE_OK && bRow ){
      if( s.bHasRecord ) rc = shape_learn(p->pShape, &s.iter, s.rec);
      if( rc==SQLITE_OK ){
        s.pResp = r;
        rc = body_next(&s, &bRow);
      }
    }
    s.pResp = 0;
  }
  sqlite3_free(s.zRowError);
  sqlite3_free(s.zText);
  /* A first part is not the response: not given to the first scan in its
  ** place (stream_replay then fetches it, and the URLs after it, anew). */
  for(pp=ppSample; *pp; ){
    r = *pp;
    if( !r->bMore ){ pp = &r->pNext; continue; }
    *pp = r->pNext;
    response_free(r);
  }
  if( rc==SQLITE_OK ) rc = shape_finish(p->pShape);
  return rc;
}
