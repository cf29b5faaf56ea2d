/*
** apifetch.h - internal interfaces shared by the files of the apifetch
** SQLite extension.  Nothing here is exported from apifetch.so: the only
** public symbol is sqlite3_apifetch_init() in apifetch.c.
**
** The pieces, from SQL arguments to rows:
**
**   options.c   Options (the options JSON object) and UrlList (url_list,
**               streamed one Request at a time, validated up front).
**   engine.c    Engine: a curl_multi scheduler that turns Requests into
**               Responses (window, per-host cap, rate, retries, deadline).
**   policy.c    Pure decisions the engine asks for: what is retryable,
**               backoff with full jitter, Retry-After, the token bucket.
**   json.c      A strict, non-recursive JSON scanner: validation, spans,
**               member/element iteration, record_path, string decoding.
**   vtab.c      The api_fetch table-valued function over all of the above.
*/
#ifndef APIFETCH_H
#define APIFETCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef SQLITE_CORE
# include <sqlite3.h>
#else
# include <sqlite3ext.h>
  SQLITE_EXTENSION_INIT3
#endif
#include <curl/curl.h>

#define APIFETCH_VERSION "0.1.0"

/* Hard limits on what SQL may ask for. */
#define APIFETCH_MAX_CONCURRENCY 10000
#define APIFETCH_JSON_MAX_DEPTH  1000   /* same nesting limit as SQLite's json1 */

/**************************************************************************
** json.c
*/
typedef struct JsonError JsonError;
struct JsonError {
  size_t offset;            /* Byte offset of the problem in the input */
  const char *zWhat;        /* Static text: what was wrong there */
};

typedef struct JsonSpan JsonSpan;
struct JsonSpan {
  const char *z;            /* First byte of a JSON value (not NUL-terminated) */
  size_t n;                 /* Its length in bytes */
};

/* Is z[0..n) exactly one valid JSON text (RFC 8259), UTF-8, nested at most
** maxDepth deep?  Returns 0 if so, else 1 with *pErr filled in. */
int json_validate(const char *z, size_t n, int maxDepth, JsonError *pErr);

/* The remaining json_* functions assume input that json_validate accepted. */
size_t json_skip_ws(const char *z, size_t n, size_t i);
size_t json_skip_value(const char *z, size_t n, size_t i);
JsonSpan json_root(const char *z, size_t n);

/* Iterate the elements of an array or the members of an object.  *pPos
** starts at 0; each call returns 1 and the next item, or 0 at the end. */
int json_array_next(JsonSpan arr, size_t *pPos, JsonSpan *pElem);
int json_object_next(JsonSpan obj, size_t *pPos, JsonSpan *pKey, JsonSpan *pVal);

/* Does the JSON string literal pStr (quotes included) decode to zKey? */
int json_string_eq(JsonSpan str, const char *zKey, size_t nKey);

/* Decode a JSON string literal into a NUL-terminated sqlite3_malloc'd
** string.  Returns NULL on out-of-memory or, with *pbNul set, when the
** string contains U+0000 (which C strings cannot carry). */
char *json_string_decode(JsonSpan str, int *pbNul);

/* Look up member zKey of an object.  Returns 1 if found. */
int json_object_get(JsonSpan obj, const char *zKey, JsonSpan *pVal);

/* JSON type of the value a span starts with: '{', '[', '"', 'n' (number),
** 't', 'f' or 'z' (null). */
char json_type(JsonSpan v);

/**************************************************************************
** Records: the rows one response body yields (json.c).
**
** With no record_path a top-level array gives one record per element and
** anything else one record.  With a record_path (a list of object keys) the
** array found at that path gives the records; if the top level is an array,
** the path is followed in each element, as pandas.json_normalize does.
*/
typedef struct RecordIter RecordIter;
struct RecordIter {
  JsonSpan root;            /* The whole response document */
  char **azPath;            /* record_path keys, or NULL (not owned) */
  int nPath;                /* Number of keys in azPath */
  int bOuter;               /* True if iterating a top-level array with a path */
  size_t outerPos;          /* Position in the top-level array if bOuter */
  JsonSpan cur;             /* The array whose elements are being returned */
  size_t curPos;            /* Position in cur */
  int bSingle;              /* One record: the root itself, not yet returned */
};

/* Prepare to iterate.  Returns 0, or 1 with a static reason in *pzWhy and
** the 0-based top-level element the problem is in (or -1) in *piWhere. */
int records_begin(RecordIter *p, JsonSpan root, char **azPath, int nPath,
                  const char **pzWhy, sqlite3_int64 *piWhere);
int records_next(RecordIter *p, JsonSpan *pRec);

/**************************************************************************
** policy.c - pure functions, no I/O, unit-tested in tests/unit.c.
*/
int policy_status_retryable(long status);
int policy_curlcode_retryable(CURLcode rc);
int policy_curlcode_unsent(CURLcode rc);   /* request surely never reached a server */
int policy_method_idempotent(const char *zMethod);

/* Backoff before retry number `retry` (1 = first retry): a uniformly random
** delay in [0, min(capMs, baseMs * 2^(retry-1))] ("full jitter"). `rnd` is a
** uniform random 64-bit value supplied by the caller. */
sqlite3_int64 policy_backoff_ms(int retry, sqlite3_int64 baseMs,
                                sqlite3_int64 capMs, uint64_t rnd);

/* Parse a Retry-After value (RFC 9110 section 10.2.3): delta-seconds or an
** HTTP-date.  Returns the delay in ms (0 for a date in the past), or -1 if
** the value is neither. `nowEpoch` is the current unix time in seconds. */
sqlite3_int64 policy_retry_after_ms(const char *zValue, sqlite3_int64 nowEpoch);

uint64_t policy_random(uint64_t *pState);

typedef struct TokenBucket TokenBucket;
struct TokenBucket {
  double rate;              /* Tokens added per second; 0 means unlimited */
  double burst;             /* Capacity of the bucket */
  double tokens;            /* Tokens available at time tLast */
  sqlite3_int64 tLast;      /* Time of the last refill, ms */
};
void bucket_init(TokenBucket *b, double rate, double burst, sqlite3_int64 nowMs);
/* Take a token: returns 0 if one was taken, else the ms until one is due. */
sqlite3_int64 bucket_take(TokenBucket *b, sqlite3_int64 nowMs);

/**************************************************************************
** options.c
*/
enum { ON_ERROR_ROW = 0, ON_ERROR_SKIP = 1, ON_ERROR_FAIL = 2 };

typedef struct Options Options;
struct Options {
  int concurrency;               /* Transfers in flight at once */
  sqlite3_int64 timeout_ms;      /* Per-attempt total time limit */
  sqlite3_int64 connect_timeout_ms;  /* Per-attempt connect time limit */
  sqlite3_int64 deadline_ms;     /* Whole-query time limit, 0 for none */
  int max_attempts;              /* Tries per request, including the first */
  sqlite3_int64 retry_base_ms;   /* Backoff base */
  sqlite3_int64 retry_max_ms;    /* Backoff cap */
  sqlite3_int64 retry_after_max_ms;  /* Longest Retry-After we will honour */
  int retry_unsafe;              /* Retry POST/PATCH too */
  double rate;                   /* Requests started per second, 0 = no limit */
  int burst;                     /* Token bucket capacity */
  int per_host;                  /* Connections per host, 0 = no cap */
  sqlite3_int64 max_bytes;       /* Largest response body accepted */
  int max_redirects;             /* Redirects followed */
  int on_error;                  /* ON_ERROR_ROW, _SKIP or _FAIL */
  char *user_agent;              /* User-Agent header value */
  char *ca_file;                 /* CA bundle to verify TLS with, or NULL */
  char **azHeader;               /* "Name: value" lines sent with every request */
  int nHeader;                   /* Number of entries in azHeader */
  char **azRecordPath;           /* record_path keys */
  int nRecordPath;               /* Number of keys in azRecordPath */
};

void options_init(Options *p);
int options_parse(Options *p, const char *zJson, char **pzErr);
void options_clear(Options *p);

/* One HTTP request, as taken from url_list. */
typedef struct Request Request;
struct Request {
  sqlite3_int64 iIndex;          /* 0-based position in url_list */
  char *zUrl;                    /* The URL */
  char *zMethod;                 /* Upper-case method; NULL means GET */
  char *pBody;                   /* Request body or NULL */
  size_t nBody;                  /* Bytes in pBody */
  struct curl_slist *pHeaders;   /* Headers to send, options' merged in */
};
void request_clear(Request *p);

/* url_list, streamed: a JSON array of URL strings and request objects, or
** text with one URL a line (blank lines and lines starting '#' skipped). */
typedef struct UrlList UrlList;
struct UrlList {
  char *z;                       /* Copy of the url_list text (owned) */
  size_t n;                      /* Its length */
  int bJson;                     /* True for a JSON array */
  size_t pos;                    /* Where the next item starts */
  sqlite3_int64 nItem;           /* Items returned so far */
  sqlite3_int64 nTotal;          /* Items in the list (known after open) */
  const Options *pOpt;           /* Headers to merge (not owned) */
};

/* Take ownership of z (sqlite3_malloc'd), validate every item. */
int urllist_open(UrlList *p, char *z, size_t n, const Options *pOpt,
                 char **pzErr);
/* Returns 1 with the next request, 0 at the end, -1 on error (*pzErr). */
int urllist_next(UrlList *p, Request *pReq, char **pzErr);
void urllist_close(UrlList *p);

/* Check a URL: parseable by libcurl, scheme http or https.  Returns NULL if
** fine, else a sqlite3_malloc'd description. */
char *url_check(const char *zUrl);

/**************************************************************************
** engine.c
*/
typedef struct Response Response;
struct Response {
  Request req;                   /* What was asked (owned) */
  long status;                   /* HTTP status of the last attempt, 0 if none */
  char *zError;                  /* Why it failed, or NULL (owned) */
  int nAttempt;                  /* Attempts made */
  sqlite3_int64 elapsed_ms;      /* From first start to completion */
  char *zContentType;            /* Content-Type of the response, or NULL */
  char *pBody;                   /* Response body (owned), may be NULL */
  size_t nBody;                  /* Bytes in pBody */
  Response *pNext;               /* Next in the engine's done queue */
};
void response_free(Response *p);

/* Where the engine takes requests from. */
typedef struct RequestSource RequestSource;
struct RequestSource {
  void *pCtx;
  int (*xNext)(void *pCtx, Request *pReq, char **pzErr);  /* as urllist_next */
};

typedef struct Engine Engine;
Engine *engine_new(const Options *pOpt, RequestSource src, char **pzErr);
/* SQLITE_ROW with *ppResp (caller frees), SQLITE_DONE, or an error code
** with *pzErr set. */
int engine_next(Engine *p, Response **ppResp, char **pzErr);
void engine_free(Engine *p);

sqlite3_int64 clock_ms(void);

/**************************************************************************
** vtab.c
*/
int vtab_register(sqlite3 *db);

#endif /* APIFETCH_H */
