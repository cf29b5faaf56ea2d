/*
** hoststats.c - api_fetch_host_stats: a row per host (origin) of the last
** statement's scans, from what the engine counted (hostlimit.c), kept in
** the Conn when each scan ends.
**
**   .load ./apifetch
**   SELECT count(*) FROM api_fetch(:urls, 50);
**   SELECT host, requests, s2xx, s429, retries, errors, p95_ms, final_window,
**          limit_wait_ms, breaker_trips FROM api_fetch_host_stats;
**
** Latencies are per attempt (libcurl's total time) read from a fixed
** log-scale histogram, four buckets a doubling: within 19% of the true
** quantile, in bounded memory whatever the number of requests; max_ms is
** exact.
*/
#include <assert.h>
#include <string.h>
#include "apifetch.h"

typedef struct HostStatsTable HostStatsTable;
struct HostStatsTable {
  sqlite3_vtab base;        /* Base class.  Must be first */
  Conn *pConn;              /* Whose hosts */
};
typedef struct HostStatsCursor HostStatsCursor;
struct HostStatsCursor {
  sqlite3_vtab_cursor base; /* Base class.  Must be first */
  int i;                    /* Row: Conn.hosts.aHost[i] */
};

/* The columns, in order. */
enum { HC_HOST, HC_REQUESTS, HC_1XX, HC_2XX, HC_3XX, HC_4XX, HC_5XX, HC_429, HC_RETRIES,
       HC_ERRORS, HC_BYTES, HC_P50, HC_P95, HC_P99, HC_MAX, HC_WINDOW, HC_WAIT, HC_TRIPS,
       HC_BREAKER };

static int hostsConnect(sqlite3*, void*, int, const char *const*, sqlite3_vtab**, char**);
static int hostsBestIndex(sqlite3_vtab*, sqlite3_index_info*);
static int hostsDisconnect(sqlite3_vtab*);
static int hostsOpen(sqlite3_vtab*, sqlite3_vtab_cursor**);
static int hostsClose(sqlite3_vtab_cursor*);
static int hostsFilter(sqlite3_vtab_cursor*, int, const char*, int, sqlite3_value**);
static int hostsNext(sqlite3_vtab_cursor*);
static int hostsEof(sqlite3_vtab_cursor*);
static int hostsColumn(sqlite3_vtab_cursor*, sqlite3_context*, int);
static int hostsRowid(sqlite3_vtab_cursor*, sqlite3_int64*);

/* Declares the table. */
static int hostsConnect(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                        sqlite3_vtab **ppVtab, char **pzErr){
  HostStatsTable *t;
  int rc;
  (void)argc; (void)argv; (void)pzErr;
  rc = sqlite3_declare_vtab(db, "CREATE TABLE x(host TEXT, requests INTEGER, "
      "s1xx INTEGER, s2xx INTEGER, s3xx INTEGER, s4xx INTEGER, s5xx INTEGER, s429 INTEGER, "
      "retries INTEGER, errors INTEGER, bytes INTEGER, p50_ms REAL, p95_ms REAL, "
      "p99_ms REAL, max_ms REAL, final_window INTEGER, limit_wait_ms INTEGER, "
      "breaker_trips INTEGER, breaker TEXT)");
  if( rc ) return rc;
  t = sqlite3_malloc(sizeof(*t));
  if( t==0 ) return SQLITE_NOMEM;
  memset(t, 0, sizeof(*t));
  t->pConn = (Conn*)pAux;
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  *ppVtab = &t->base;
  return SQLITE_OK;
}

/* A full scan of a small table: the one plan. */
static int hostsBestIndex(sqlite3_vtab *p, sqlite3_index_info *pInfo){
  (void)p;
  pInfo->estimatedCost = 10;
  pInfo->estimatedRows = APIFETCH_MAX_HOSTS;
  return SQLITE_OK;
}

static int hostsDisconnect(sqlite3_vtab *p){ sqlite3_free(p); return SQLITE_OK; }

static int hostsOpen(sqlite3_vtab *p, sqlite3_vtab_cursor **pp){
  HostStatsCursor *c = sqlite3_malloc(sizeof(*c));
  (void)p;
  if( c==0 ) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  *pp = &c->base;
  return SQLITE_OK;
}

static int hostsClose(sqlite3_vtab_cursor *c){ sqlite3_free(c); return SQLITE_OK; }

/* Back to the first host. */
static int hostsFilter(sqlite3_vtab_cursor *c, int n, const char *z, int argc,
                       sqlite3_value **argv){
  (void)n; (void)z; (void)argc; (void)argv;
  ((HostStatsCursor*)c)->i = 0;
  return SQLITE_OK;
}

static int hostsNext(sqlite3_vtab_cursor *c){ ((HostStatsCursor*)c)->i++; return SQLITE_OK; }

static int hostsEof(sqlite3_vtab_cursor *c){
  return ((HostStatsCursor*)c)->i >= ((HostStatsTable*)c->pVtab)->pConn->hosts.nHost;
}

/* Column i of the current host. */
static int hostsColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i){
  static const char *const azBreaker[] = { "closed", "open", "half-open" };
  const Host *h = &((HostStatsTable*)cur->pVtab)->pConn->hosts.aHost[((HostStatsCursor*)cur)->i];
  assert( ((HostStatsCursor*)cur)->i < APIFETCH_MAX_HOSTS );
  switch( i ){
    case HC_HOST:     sqlite3_result_text(ctx, h->zOrigin, -1, SQLITE_TRANSIENT); break;
    case HC_REQUESTS: sqlite3_result_int64(ctx, h->nRequest); break;
    case HC_1XX: case HC_2XX: case HC_3XX: case HC_4XX: case HC_5XX:
      sqlite3_result_int64(ctx, h->aClass[i - HC_1XX]);
      break;
    case HC_429:      sqlite3_result_int64(ctx, h->n429); break;
    case HC_RETRIES:  sqlite3_result_int64(ctx, h->nRetry); break;
    case HC_ERRORS:   sqlite3_result_int64(ctx, h->nError); break;
    case HC_BYTES:    sqlite3_result_int64(ctx, h->nBytes); break;
    case HC_P50:      sqlite3_result_double(ctx, host_latency_ms(h, 0.50)); break;
    case HC_P95:      sqlite3_result_double(ctx, host_latency_ms(h, 0.95)); break;
    case HC_P99:      sqlite3_result_double(ctx, host_latency_ms(h, 0.99)); break;
    case HC_MAX:      sqlite3_result_double(ctx, host_latency_ms(h, 1.0)); break;
    case HC_WINDOW:   sqlite3_result_int(ctx, h->nWindow); break;
    case HC_WAIT:     sqlite3_result_int64(ctx, h->waitMs); break;
    case HC_TRIPS:    sqlite3_result_int64(ctx, h->nTrip); break;
    default:
      assert( i==HC_BREAKER && h->eBreaker>=BRK_CLOSED && h->eBreaker<=BRK_HALF );
      sqlite3_result_text(ctx, azBreaker[h->eBreaker], -1, SQLITE_STATIC);
  }
  return SQLITE_OK;
}

static int hostsRowid(sqlite3_vtab_cursor *c, sqlite3_int64 *p){
  *p = ((HostStatsCursor*)c)->i;
  return SQLITE_OK;
}

sqlite3_module hoststats_module = {
  0,                /* iVersion */
  0,                /* xCreate: none, it is eponymous only */
  hostsConnect,     /* xConnect */
  hostsBestIndex,   /* xBestIndex */
  hostsDisconnect,  /* xDisconnect */
  0,                /* xDestroy */
  hostsOpen,        /* xOpen */
  hostsClose,       /* xClose */
  hostsFilter,      /* xFilter */
  hostsNext,        /* xNext */
  hostsEof,         /* xEof */
  hostsColumn,      /* xColumn */
  hostsRowid,       /* xRowid */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};
