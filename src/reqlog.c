/*
** reqlog.c - the request_log option: a row for every attempt a scan's
** engine made (as RequestSource.xAttempt tells them, see AttemptInfo), so
** that an ETL script keeps an audit of each run, and what one statement
** did is still there after the next (api_fetch_stats keeps only the last).
**
**   .load ./apifetch
**   SELECT count(*) FROM api_fetch('["http://127.0.0.1:8080/obj"]', 1,
**                                  '{"request_log": "main.api_requests"}');
**   SELECT run_id, url, status, attempt, total_ms FROM api_requests;
**
** Where the rows go:
**   "table", "schema.table"  that table of the scan's own connection,
**                            made if missing (a table of another shape is
**                            an error naming it)
**   "file:PATH"              table api_requests of that SQLite file, on a
**                            connection of its own in WAL mode, as the cache
**                            (cache.c): a rollback of the user's does not
**                            take the audit with it
**
** Rows are gathered in memory and written LOG_BATCH at a time, in one
** SAVEPOINT each: a row per transaction would cost a commit (a sync) per
** URL.  The scan writes the rest when it ends, and when it closes.  A
** SAVEPOINT cannot open while a statement writes (INSERT ... SELECT FROM
** api_fetch): the rows then join that statement's transaction.
**
** A row that cannot be written fails the statement, with what and where:
** an audit with holes in it would be worse than none, and an error row
** could not say which attempt it stands for.  Only what is left when a
** cursor closes without finishing (a LIMIT) has no statement to fail: a
** failure then goes to sqlite3_log.
**
** A log written is a file written: on a locked connection, or for a table
** stored in a database file, only the host's request_log (api_fetch_config's
** defaults) is allowed, and a query may not turn it off either.
*/
#include <assert.h>
#include <string.h>
#include <time.h>
#include "apifetch.h"

#define LOG_BATCH 512              /* Rows written in one transaction */
#define LOG_BUSY_MS 10000          /* How long a busy log file is waited for */
#define LOG_FILE_TABLE "api_requests"

/* The table, a column a line; a table named by the user must have these
** columns in this order (its types are not checked: SQLite's are loose). */
static const char *const azLogCol[] = {
  "run_id", "at", "url_index", "page", "attempt", "method", "url", "status",
  "dns_ms", "connect_ms", "tls_ms", "first_byte_ms", "total_ms", "bytes", "cache", "error"
};
static const char zLogColumns[] =
  "run_id TEXT, at TEXT, url_index INTEGER, page INTEGER, attempt INTEGER, method TEXT, "
  "url TEXT, status INTEGER, dns_ms REAL, connect_ms REAL, tls_ms REAL, first_byte_ms REAL, "
  "total_ms REAL, bytes INTEGER, cache TEXT, error TEXT";
/* The cache column's words, by CACHE_* */
static const char *const azLogCache[] = { 0, "miss", "hit", "revalidated", "stale" };

typedef struct LogRow LogRow;
struct LogRow {                    /* An attempt not yet written */
  char *zAt;                       /* When it ended, RFC 3339 UTC (owned) */
  sqlite3_int64 iIndex;            /* url_index */
  int iPage;                       /* page */
  int iAttempt;                    /* attempt, 0: nothing sent */
  char *zMethod;                   /* (owned) */
  char *zUrl;                      /* As the url column shows it: redacted (owned) */
  long status;                     /* 0: none (NULL) */
  sqlite3_int64 aPhaseUs[PHASE_COUNT];   /* -1: NULL */
  sqlite3_int64 nBytes;
  int eCache;                      /* CACHE_* */
  char *zError;                    /* Redacted, or NULL (owned) */
};

struct ReqLog {
  sqlite3 *db;                     /* Where rows go: the scan's connection or dbOwn */
  sqlite3 *dbOwn;                  /* The file's own connection, or NULL */
  char *zName;                     /* The option's value, for messages */
  char *zTable;                    /* "schema"."table" as SQL text */
  const Options *pOpt;             /* Its secrets are redacted (not owned) */
  sqlite3_stmt *pInsert;           /* INSERT INTO zTable */
  char zRun[48];                   /* This scan's run_id */
  LogRow *aRow;                    /* Rows not yet written */
  int nRow;
};

static void logrow_clear(LogRow *r){
  sqlite3_free(r->zAt);
  sqlite3_free(r->zMethod);
  sqlite3_free(r->zUrl);
  sqlite3_free(r->zError);
  memset(r, 0, sizeof(*r));
}

/* The wall clock now as "YYYY-MM-DDTHH:MM:SS.mmmZ" into zOut (48 bytes). */
static void log_now(char *zOut){
  struct timespec ts;
  char zMs[4];
  clock_gettime(CLOCK_REALTIME, &ts);
  sqlite3_snprintf(sizeof(zMs), zMs, "%03d", (int)(ts.tv_nsec/1000000));
  if( format_utc(zOut, (sqlite3_int64)ts.tv_sec, zMs, 3)==0 ) zOut[0] = 0;
}

/* An error of the log: the statement's message, with where. */
static int log_error(ReqLog *p, int rc, const char *zWhat, char **pzErr){
  if( (rc & 0xff)==SQLITE_NOMEM ) return SQLITE_NOMEM;
  *pzErr = sqlite3_mprintf("api_fetch: request_log \"%s\": %s: %s", p->zName, zWhat,
                           sqlite3_errmsg(p->db));
  return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
}

/* May this query write the log it names (or none)?  Locked settings, or a
** table stored in a database file, get the host's only. */
static int log_allowed(Conn *pConn, const Options *o, char **pzErr){
  Options d;
  int rc, bSame;
  if( !pConn->guard.bLocked && !o->bFromFile ) return SQLITE_OK;
  if( o->zReqLog==0 && (pConn->zDefaults==0 || strstr(pConn->zDefaults, "\"request_log\"")==0) ){
    return SQLITE_OK;              /* none asked, none set by the host: cheap */
  }
  options_init(&d);
  rc = conn_options_start(pConn, &d, pzErr);
  bSame = (d.zReqLog==0 && o->zReqLog==0)
       || (d.zReqLog && o->zReqLog && strcmp(d.zReqLog, o->zReqLog)==0);
  options_clear(&d);
  if( rc==SQLITE_OK && !bSame ){
    *pzErr = sqlite3_mprintf("api_fetch: request_log %s%s%s is not allowed: %s",
        o->zReqLog ? "\"" : "", o->zReqLog ? o->zReqLog : "null", o->zReqLog ? "\"" : "",
        o->bFromFile ? "a table stored in a database file may not name a request_log (it "
                       "would write a file); the host's, if any, applies"
                     : "the settings of this connection are locked (the host names the "
                       "request_log in api_fetch_config's defaults)");
    rc = *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  return rc;
}

/* The file of "file:PATH", opened as the cache opens its own. */
static int log_open_file(ReqLog *p, const char *zPath, char **pzErr){
  int rc = sqlite3_open_v2(zPath, &p->dbOwn, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE
                           |SQLITE_OPEN_NOMUTEX|SQLITE_OPEN_EXRESCODE, 0);
  p->db = p->dbOwn;
  if( rc==SQLITE_OK ){
    sqlite3_busy_timeout(p->dbOwn, LOG_BUSY_MS);
    rc = sqlite3_exec(p->dbOwn, "PRAGMA trusted_schema=OFF", 0, 0, 0);
  }
  /* WAL: several processes may log into one file; synchronous NORMAL: a
  ** commit survives the process being killed, which an audit needs. */
  if( rc==SQLITE_OK ) rc = db_wal(p->dbOwn, LOG_BUSY_MS);
  if( rc==SQLITE_OK ) rc = sqlite3_exec(p->dbOwn, "PRAGMA synchronous=NORMAL", 0, 0, 0);
  if( rc && p->dbOwn==0 ) return SQLITE_NOMEM;
  return rc ? log_error(p, rc, "cannot open the file", pzErr) : SQLITE_OK;
}

/* Make the table if it is missing, else check that it has our columns. */
static int log_table(ReqLog *p, const char *zSchema, const char *zTable, char **pzErr){
  sqlite3_stmt *pInfo = 0;
  Buf got;
  int rc, i = 0, bShape = 1;
  memset(&got, 0, sizeof(got));
  rc = sqlite3_prepare_v2(p->db, "SELECT name FROM pragma_table_info(?1, ?2) ORDER BY cid",
                          -1, &pInfo, 0);
  if( rc ) return log_error(p, rc, "cannot read its columns", pzErr);
  sqlite3_bind_text(pInfo, 1, zTable, -1, SQLITE_STATIC);
  sqlite3_bind_text(pInfo, 2, zSchema, -1, SQLITE_STATIC);
  while( (rc = sqlite3_step(pInfo))==SQLITE_ROW ){
    const char *z = (const char*)sqlite3_column_text(pInfo, 0);
    if( z==0 ) z = "";
    if( i>=ArraySize(azLogCol) || sqlite3_stricmp(z, azLogCol[i])!=0 ) bShape = 0;
    if( i ) buf_append(&got, STRCONST(", "));
    buf_append(&got, z, strlen(z));
    i++;
  }
  sqlite3_finalize(pInfo);
  if( rc!=SQLITE_DONE ){
    buf_free(&got);
    return log_error(p, rc, "cannot read its columns", pzErr);
  }
  if( got.bOom ) return SQLITE_NOMEM;
  if( i==0 ){
    char *zSql = sqlite3_mprintf("CREATE TABLE IF NOT EXISTS %s(%s)", p->zTable, zLogColumns);
    if( zSql==0 ) return SQLITE_NOMEM;
    rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
    sqlite3_free(zSql);
    return rc ? log_error(p, rc, "cannot make its table", pzErr) : SQLITE_OK;
  }
  if( !bShape || i!=ArraySize(azLogCol) ){
    *pzErr = sqlite3_mprintf("api_fetch: request_log \"%s\": table %s.%s has the columns (%s), "
                             "not those of a request log (%s)", p->zName, zSchema, zTable,
                             got.z, zLogColumns);
    buf_free(&got);
    return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  buf_free(&got);
  return SQLITE_OK;
}

int reqlog_open(Conn *pConn, sqlite3 *db, const Options *o, ReqLog **pp, char **pzErr){
  ReqLog *p;
  char *zSchema = 0, *zSql;
  const char *zTable;
  unsigned int rnd;
  int rc;
  *pp = 0;
  rc = log_allowed(pConn, o, pzErr);
  if( rc || o->zReqLog==0 ) return rc;
  p = sqlite3_malloc(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->pOpt = o;
  p->db = db;
  p->zName = sqlite3_mprintf("%s", o->zReqLog);
  if( p->zName==0 ){ reqlog_close(p); return SQLITE_NOMEM; }
  if( strncmp(o->zReqLog, "file:", 5)==0 ){
    rc = log_open_file(p, o->zReqLog+5, pzErr);
    zSchema = sqlite3_mprintf("main");
    zTable = LOG_FILE_TABLE;
  }else{
    const char *zDot = strchr(o->zReqLog, '.');
    zSchema = zDot ? sqlite3_mprintf("%.*s", (int)(zDot-o->zReqLog), o->zReqLog)
                   : sqlite3_mprintf("main");
    zTable = zDot ? zDot+1 : o->zReqLog;
  }
  if( rc==SQLITE_OK && zSchema==0 ) rc = SQLITE_NOMEM;
  if( rc==SQLITE_OK ){
    /* options.c let through only plain identifiers: quoting is for form. */
    p->zTable = sqlite3_mprintf("\"%w\".\"%w\"", zSchema, zTable);
    if( p->zTable==0 ) rc = SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK ) rc = log_table(p, zSchema, zTable, pzErr);
  if( rc==SQLITE_OK ){
    zSql = sqlite3_mprintf("INSERT INTO %s VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,"
                           "?13,?14,?15,?16)", p->zTable);
    if( zSql==0 ) rc = SQLITE_NOMEM;
    else{
      rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT, &p->pInsert, 0);
      sqlite3_free(zSql);
      if( rc ) rc = log_error(p, rc, "cannot write its table", pzErr);
    }
  }
  sqlite3_free(zSchema);
  if( rc ){
    reqlog_close(p);
    return rc;
  }
  /* The time the scan began and a random tag: several processes (or
  ** statements within a millisecond) logging into one table stay apart. */
  log_now(p->zRun);
  sqlite3_randomness(sizeof(rnd), &rnd);
  sqlite3_snprintf(sizeof(p->zRun)-(int)strlen(p->zRun), p->zRun+strlen(p->zRun),
                   "-%08x", rnd);
  *pp = p;
  return SQLITE_OK;
}

int reqlog_attempt(ReqLog *p, const AttemptInfo *a, char **pzErr){
  const Options *o = p->pOpt;
  char zAt[48];
  LogRow *r;
  if( p->aRow==0 ){
    p->aRow = sqlite3_malloc64(sizeof(LogRow)*LOG_BATCH);
    if( p->aRow==0 ) return SQLITE_NOMEM;
  }
  assert( p->nRow<LOG_BATCH );
  r = &p->aRow[p->nRow];
  memset(r, 0, sizeof(*r));
  log_now(zAt);
  r->zAt = sqlite3_mprintf("%s", zAt);
  r->iIndex = a->pReq->iIndex;
  r->iPage = a->pReq->iPage;
  r->iAttempt = a->iAttempt;
  r->zMethod = sqlite3_mprintf("%s", a->zMethod);
  /* Secrets never show: the URL as the url column shows it. */
  r->zUrl = options_hides(o) ? options_redact(o, a->zUrl) : sqlite3_mprintf("%s", a->zUrl);
  r->status = a->status;
  memcpy(r->aPhaseUs, a->aPhaseUs, sizeof(r->aPhaseUs));
  r->nBytes = a->nBytes;
  r->eCache = a->eCache;
  if( a->zError ){
    r->zError = options_hides(o) ? options_redact(o, a->zError) : sqlite3_mprintf("%s", a->zError);
  }
  if( r->zAt==0 || r->zMethod==0 || r->zUrl==0 || (a->zError && r->zError==0) ){
    logrow_clear(r);
    return SQLITE_NOMEM;
  }
  p->nRow++;
  return p->nRow>=LOG_BATCH ? reqlog_flush(p, pzErr) : SQLITE_OK;
}

/* Bind row r to the INSERT and run it. */
static int log_insert(ReqLog *p, const LogRow *r){
  sqlite3_stmt *q = p->pInsert;
  int i;
  sqlite3_bind_text(q, 1, p->zRun, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, r->zAt, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, r->iIndex);
  sqlite3_bind_int(q, 4, r->iPage);
  sqlite3_bind_int(q, 5, r->iAttempt);
  sqlite3_bind_text(q, 6, r->zMethod, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 7, r->zUrl, -1, SQLITE_STATIC);
  if( r->status>0 ) sqlite3_bind_int64(q, 8, r->status); else sqlite3_bind_null(q, 8);
  for(i=0; i<PHASE_COUNT; i++){
    if( r->aPhaseUs[i]>=0 ) sqlite3_bind_double(q, 9+i, (double)r->aPhaseUs[i]/1000.0);
    else sqlite3_bind_null(q, 9+i);
  }
  sqlite3_bind_int64(q, 14, r->nBytes);
  if( azLogCache[r->eCache] ) sqlite3_bind_text(q, 15, azLogCache[r->eCache], -1, SQLITE_STATIC);
  else sqlite3_bind_null(q, 15);
  if( r->zError ) sqlite3_bind_text(q, 16, r->zError, -1, SQLITE_STATIC);
  else sqlite3_bind_null(q, 16);
  sqlite3_step(q);
  return sqlite3_reset(q);
}

int reqlog_flush(ReqLog *p, char **pzErr){
  int i, rc = SQLITE_OK, bSave;
  if( p==0 || p->nRow==0 ) return SQLITE_OK;
  /* Fails while a statement writes (INSERT ... SELECT FROM api_fetch): the
  ** rows then join that statement's transaction. */
  bSave = sqlite3_exec(p->db, "SAVEPOINT apifetch_request_log", 0, 0, 0)==SQLITE_OK;
  for(i=0; i<p->nRow && rc==SQLITE_OK; i++) rc = log_insert(p, &p->aRow[i]);
  if( rc ){
    rc = log_error(p, rc, "cannot write a row", pzErr);
    if( bSave ){
      sqlite3_exec(p->db, "ROLLBACK TO apifetch_request_log", 0, 0, 0);
      sqlite3_exec(p->db, "RELEASE apifetch_request_log", 0, 0, 0);
    }
  }else if( bSave ){
    int rc2 = sqlite3_exec(p->db, "RELEASE apifetch_request_log", 0, 0, 0);
    if( rc2 ){
      rc = log_error(p, rc2, "cannot commit its rows", pzErr);
      sqlite3_exec(p->db, "ROLLBACK TO apifetch_request_log", 0, 0, 0);
      sqlite3_exec(p->db, "RELEASE apifetch_request_log", 0, 0, 0);
    }
  }
  for(i=0; i<p->nRow; i++) logrow_clear(&p->aRow[i]);
  p->nRow = 0;
  return rc;
}

void reqlog_close(ReqLog *p){
  char *zErr = 0;
  int rc;
  if( p==0 ) return;
  rc = reqlog_flush(p, &zErr);
  if( rc ){
    /* No statement is left to fail (a cursor closed before its end). */
    sqlite3_log(rc, "%s", zErr ? zErr : "api_fetch: request_log: out of memory");
  }
  sqlite3_free(zErr);
  sqlite3_finalize(p->pInsert);
  sqlite3_close(p->dbOwn);
  sqlite3_free(p->aRow);
  sqlite3_free(p->zName);
  sqlite3_free(p->zTable);
  sqlite3_free(p);
}
