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

/* The columns, in order. */
enum { HC_HOST, HC_REQUESTS, HC_1XX, HC_2XX, HC_3XX, HC_4XX, HC_5XX, HC_429, HC_RETRIES,
       HC_ERRORS, HC_BYTES, HC_P50, HC_P95, HC_P99, HC_MAX, HC_WINDOW, HC_WAIT, HC_TRIPS,
       HC_BREAKER };

/* Declares the table; its rows are the positions of Conn.hosts.aHost
** (util.c's position-table methods do the rest). */
static int hostsConnect(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                        sqlite3_vtab **ppVtab, char **pzErr){
  (void)argc; (void)argv; (void)pzErr;
  return pos_connect(db, pAux, "CREATE TABLE x(host TEXT, requests INTEGER, "
      "s1xx INTEGER, s2xx INTEGER, s3xx INTEGER, s4xx INTEGER, s5xx INTEGER, s429 INTEGER, "
      "retries INTEGER, errors INTEGER, bytes INTEGER, p50_ms REAL, p95_ms REAL, "
      "p99_ms REAL, max_ms REAL, final_window INTEGER, limit_wait_ms INTEGER, "
      "breaker_trips INTEGER, breaker TEXT)", ppVtab);
}

/* A full scan of a small table: the one plan. */
static int hostsBestIndex(sqlite3_vtab *p, sqlite3_index_info *pInfo){
  (void)p;
  pInfo->estimatedCost = 10;
  pInfo->estimatedRows = APIFETCH_MAX_HOSTS;
  return SQLITE_OK;
}

/* Past the last host. */
static int hostsEof(sqlite3_vtab_cursor *c){
  return ((PosCursor*)c)->i >= ((Conn*)((PosTable*)c->pVtab)->pAux)->hosts.nHost;
}

/* Column i of the current host. */
static int hostsColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i){
  static const char *const azBreaker[] = { "closed", "open", "half-open" };
  const PosCursor *c = (const PosCursor*)cur;
  const Host *h = &((Conn*)((PosTable*)cur->pVtab)->pAux)->hosts.aHost[c->i];
  assert( c->i < APIFETCH_MAX_HOSTS );
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

sqlite3_module hoststats_module = {
  0,                /* iVersion */
  0,                /* xCreate: none, it is eponymous only */
  hostsConnect,     /* xConnect */
  hostsBestIndex,   /* xBestIndex */
  pos_disconnect,   /* xDisconnect */
  0,                /* xDestroy */
  pos_open,         /* xOpen */
  pos_close,        /* xClose */
  pos_filter,       /* xFilter */
  pos_next,         /* xNext */
  hostsEof,         /* xEof */
  hostsColumn,      /* xColumn */
  pos_rowid,        /* xRowid */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};
