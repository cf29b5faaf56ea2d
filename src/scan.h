/*
** scan.h - one scan of api_fetch (scan.c), for the SQL faces that run one
** (vtab.c).  A Scan holds a record iterator by value, hence shape.h.
*/
#ifndef APIFETCH_SCAN_H
#define APIFETCH_SCAN_H
#include "apifetch.h"
#include "shape.h"

/**************************************************************************
** scan.c - one scan of api_fetch: open / step / close
*/
/* What a scan reads: the caller (vtab.c) maps SQL arguments into this. */
typedef struct ScanSpec ScanSpec;
struct ScanSpec {
  sqlite3 *db;                   /* The connection (the probe runs on it) */
  Conn *pConn;                   /* Its limits, counters, caches */
  const Options *pOpt;           /* Options in force; outlive the scan */
  const char *zList;             /* url_list text (nList bytes), or */
  size_t nList;
  const QuerySpec *pQuery;       /* ... the url_query to read requests from */
  Response **ppReplay;           /* Sampled responses the stream gives first
                                 ** (taken from this list), or NULL */
  sqlite3_int64 nLimit;          /* Starting requests to make, -1 for all */
  int onError;                   /* ON_ERROR_* in force */
  Shape *pShape;                 /* The wide face's shape, NULL for the function */
  Row *pRow;                     /* The wide face's row, owned by the caller */
  int bSample;                   /* CREATE's sample: not counted, no progress
                                 ** (the first scan counts its responses) */
};
typedef struct Scan Scan;
struct Scan {
  sqlite3 *db;                   /* As in the ScanSpec */
  Conn *pConn;
  const Options *pOpt;
  int onError;
  Shape *pShape;
  Row *pRow;
  int bSample;
  Options optCapped;             /* A shallow copy of *pOpt, concurrency capped
                                 ** at nLimit (never cleared: owns nothing) */
  RequestStream stream;          /* Where the requests come from */
  sqlite3_stmt *pProbe;          /* Tells whether the query was stopped */
  Response *pGive;               /* Sampled responses to give before fetching */
  Engine *pEngine;               /* The fetch engine, NULL until opened */
  Response *pResp;               /* Response the current row comes from */
  int eFormat;                   /* FMT_* pResp's body is read in (formats.c) */
  RecordIter iter;               /* Records of pResp, FMT_JSON */
  LineIter lines;                /* Its lines, FMT_NDJSON */
  char *zRowError;               /* The current row's own error (a line that is
                                 ** not JSON), or NULL (owned) */
  char *zText;                   /* FMT_TEXT: the body converted to UTF-8, or NULL
                                 ** when it was UTF-8 already (owned) */
  JsonSpan rec;                  /* Current record, if bHasRecord */
  int bHasRecord;                /* The current row has a record (data) */
  sqlite3_int64 iRecord;         /* record_index of the current row */
  char *zReject;                 /* Why on_mismatch 'reject' made the current
                                 ** row an error row, or NULL (owned) */
  ScanReport report;             /* Counted in the Conn; progress */
  ReqLog *pLog;                  /* request_log's rows, or NULL for none */
};
/* The error of the current row: its own (a bad line), else its response's. */
const char *scan_row_error(const Scan *s);
/* Open s (its old contents ignored) as p says.  On an error, s holds what
** was opened: scan_close() it either way. */
int scan_open(Scan *s, const ScanSpec *p, char **pzErr);
/* The next row: SQLITE_ROW (s->pResp, s->rec, s->iRecord and *pRow are
** the row), SQLITE_DONE, or an error code with *pzErr (NULL: out of memory). */
int scan_step(Scan *s, char **pzErr);
void scan_close(Scan *s);
/* CREATE's sample: the first p->nLimit requests fetched into *ppSample, in
** url_index order, and p->pShape grown from their records. */
int scan_sample(const ScanSpec *p, Response **ppSample, char **pzErr);

#endif /* APIFETCH_SCAN_H */
