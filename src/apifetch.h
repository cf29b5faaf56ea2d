/*
** apifetch.h - internal interfaces shared by the files of the apifetch
** SQLite extension.  Nothing here is exported from apifetch.so: the only
** public symbols are the entry point in apifetch.c, sqlite3_apifetch_init(),
** and its alias sqlite3_extension_init().
**
** The files, in layers: each calls only files in the rows below it (the
** test tests/py/layers.py checks this from the object files' symbols, and
** reads this table to do it; ARCHITECTURE.md says more).
**
**   apifetch.c   registration: the SQL surface as one table
**   create.c     api_fetch_create: a wide table from a JSON object of
**                arguments, the CREATE written and quoted for the caller
**   columns.c    api_fetch_columns: a wide table's columns= declaration
**   vtab.c       the two faces of api_fetch: the table-valued function and
**                the wide table; their methods, argument mapping, DDL
**   cachesql.c   api_fetch_cache and api_fetch_cache_prune: the cache in SQL
**   hoststats.c  api_fetch_host_stats: the last statement's hosts
**   scan.c       one scan: open / step / close; probe and cancellation,
**                records, on_error, page feedback, counting, progress;
**                CREATE's sample is a scan too
**   reqlog.c     request_log: a row per attempt into a table, the user's
**                database or a file of its own
**   conn.c       per connection: limits, profiles, counters, the budget
**                window; api_fetch_config, api_fetch_profile, api_fetch_stats,
**                api_fetch_options
**   engine.c     the curl_multi scheduler: window, per-host cap, rate,
**                retries, redirects, deadline
**   slot.c       the engine's slots: the one writer of a slot's state, the
**                idle stack and the retry heap, their invariant
**   sockets.c    the engine's sockets: over a window of 64, libcurl's socket
**                interface over epoll (a turn costs what is ready); below,
**                perform and poll
**   keep.c       per connection, between statements: libcurl's multi
**                handle (connections) and share (DNS, TLS sessions)
**   hostlimit.c  per host: rate-limit budget and pace, adaptive window,
**                circuit breaker, statistics
**   transfer.c   one transfer: its easy handle, the callbacks (body limits,
**                host and address checks), the headers asked for, failures
**   chunk.c      the done queue: responses waiting to be read, whole or, a
**                streamed body (format ndjson), in parts of whole lines,
**                the transfer paused while a part waits
**   authflow.c   OAuth2 in the engine's flow: the token an attempt sends,
**                bound to the API's origin; a 401 refreshes it once
**   cacheflow.c  the HTTP cache in the engine's flow: lookup, validators,
**                304, stale-if-error, storing; cache_mode
**   cachekey.c   a request as the cache sees it: its key (which headers),
**                its own Cache-Control directives
**   source.c     the stream of requests: url_list, request objects,
**                url_query, templates, pages, replay; shards
**   sandbox.c    a url_query stored in a file: what its program may reach
**   reqobj.c     one url_list item: a URL string, or a request object's keys
**   shape.c      records shaped into the wide face's rows: flattened values
**                through the schema, meta paths, the cells xColumn returns
**   infer.c      columns, type rules, typed values of the wide face
**   flatten.c    records of a response, flattening a record
**   formats.c    how a body becomes records: the format a Content-Type
**                asks for, NDJSON lines, text in its charset
**   options.c    the options and the wide face's arguments (a paginate
**                object is checked by its kind's row in paginate.c)
**   onstatus.c   the on_status option: what a response of each status
**                gives (data, skip, error, fail, retry)
**   oauth.c      OAuth2 client credentials: the oauth2 option, the token
**                endpoint exchange, the connection's tokens
**   paginate.c   one row per kind of pagination
**   guard.c      the limits: settings, address and host policy, ${env:}
**   knobs.c      every user-facing setting, declared once
**   request.c    Request and Response values: clear, copy, free
**   cache.c      the cache's store: a SQLite file of its own, keys, LRU
**   httpcache.c  pure: the RFC 9111 decisions of the HTTP cache (HTTP-dates
**                read by policy.c)
**   policy.c     pure: retryable, backoff, Retry-After, token bucket,
**                rate-limit fields
**   sha256.c     pure: SHA-256, for the cache's keys
**   scalar.c     pure: JSON numbers and RFC 3339 timestamps, locale-free
**   json.c       a strict, non-recursive JSON scanner
**   util.c       leaf helpers: buffers, string lists, paths, URLs, clock
**
** This header holds what crosses rows, a section per file in the table's
** order from the bottom up (util.c first).  What only a few files share has a
** header of its own, in a row of the table: a file includes only this one
** and headers of its own row or of rows below it, and a private header only
** from the files it names (layers.py checks these too).
**
**   engine_int.h  private to engine.c / slot.c / sockets.c / hostlimit.c / transfer.c / chunk.c / authflow.c / cacheflow.c: Engine,
**                 Transfer, the slot states, the calls between them
**   cache.h       of cache.c: the cache's store (CacheStore, Cached, keys)
**   shape.h       of shape.c / infer.c / flatten.c: records, flattening, columns,
**                 type rules, rows
**   scan.h        of scan.c: Scan and ScanSpec, for the faces that scan
**
** What functions return, one convention, SQLite's own.  A function that can
** fail returns a SQLite result code: SQLITE_OK, or the error (SQLITE_NOMEM
** for want of memory, else SQLITE_ERROR and the like with the message in
** its pzErr).  An iterator returns SQLITE_ROW with an item and SQLITE_DONE
** at the end.  What a call finds or decides comes back through an
** out-parameter, never in the code: no function returns 1 for "yes" where
** 1 is also SQLITE_ERROR.  A predicate that cannot fail returns 0 or 1; a
** function that makes a value returns it, NULL for out of memory.  Where an
** older function still differs, its comment says so.
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
#include <sys/socket.h>
#include <curl/curl.h>

/* Types named before they are defined, in the layer that defines them. */
typedef struct Buf Buf;
typedef struct KeyPath KeyPath;
typedef struct Request Request;
typedef struct Response Response;
typedef struct Guard Guard;
typedef struct Paginate Paginate;
typedef struct Options Options;
typedef struct PageSeen PageSeen;
typedef struct Schema Schema;      /* shape.h */
typedef struct Shape Shape;        /* shape.h */
typedef struct Row Row;            /* shape.h */
struct cJSON;

/* APIFETCH_VERSION (from the file VERSION) and APIFETCH_COMMIT (git rev-parse
** --short HEAD, only in a git checkout) are set by the Makefile. */

/* Hard limits on what SQL may ask for. */
#define APIFETCH_MAX_CONCURRENCY 10000
#define APIFETCH_MAX_QUERY_DEPTH 8  /* url_query steps nested in one another */
#define APIFETCH_MAX_HEADERS 100    /* in one headers object */
#define APIFETCH_MAX_QUERY 256      /* parameters in the query option */
#define APIFETCH_JSON_MAX_DEPTH  1000   /* same nesting limit as SQLite's json1 */
#define APIFETCH_MAX_COLUMNS 1900   /* data columns, under SQLite's default limit of 2000 */
#define APIFETCH_MAX_PATH 32      /* Keys in a record_path or meta path */
/* The choices of the numeric_strings and timestamps settings (infer.c). */
enum { NUMSTR_NEVER, NUMSTR_EXACT, NUMSTR_DECIMAL };         /* numeric_strings */
enum { TS_UTC, TS_KEEP, TS_EPOCH };                          /* timestamps */

/* The number of elements of an array (an array, not a pointer to one). */
#define ArraySize(X) ((int)(sizeof(X)/sizeof((X)[0])))
/* A string literal and its length, for buf_append(): the compiler counts
** (curl's STRCONST). */
#define STRCONST(X) "" X, (sizeof(X)-1)

/**************************************************************************
** util.c - leaf helpers: buffers, string lists, paths, URLs, the clock
*/
struct Buf {
  char *z;                        /* Text, NUL-terminated (owned) */
  size_t n;                       /* Bytes used, not counting the NUL */
  size_t nAlloc;                  /* Bytes allocated */
  int bOom;                       /* An allocation failed */
};
int buf_reserve(Buf *b, size_t nMore);
void buf_append(Buf *b, const char *z, size_t n);
void buf_append_json_string(Buf *b, const char *z, size_t n);
/* Is z[0..n) UTF-8?  The offset of the first byte that is not, or n. */
size_t utf8_check(const unsigned char *z, size_t n);
/* A copy of z that is UTF-8: as it is, or read as ISO-8859-1 if it is not
** UTF-8 (a header value's obs-text); NULL on out of memory. */
char *text_utf8_dup(const char *z);
void buf_free(Buf *b);


/* A list of sqlite3_malloc'd strings, and "a.b.c" split into {"a","b","c"}
** (SQLITE_ERROR for an empty key, SQLITE_NOMEM). */
void strlist_free(char **az, int n);
int path_split(const char *z, char ***paz, int *pn);


/* A JSON path: "a.b.c" split into keys, or ["a", "b.c"] as given. */
struct KeyPath {
  char **az;                     /* Keys (owned), NULL for no path */
  int n;                         /* Number of keys */
};
void keypath_clear(KeyPath *p);


/* Is v's key also the key of a member of object pObj before v?  (cJSON
** keeps repeated keys; options and settings refuse them.)  Quadratic in
** the members, which callers bound: they stop at the first unknown key, or
** cap the object's size first. */
int json_key_repeated(const struct cJSON *pObj, const struct cJSON *v);

/* RFC 9110 section 5.6.2: is c a tchar, a character of a token? */
int http_is_tchar(int c);

char *url_with_param(const char *zUrl, const char *zName, const char *zValue);
/* The same for nPair parameters, azPair holding name, value, name, value... */
char *url_with_params(const char *zUrl, const char *const *azPair, int nPair);
char *url_resolve(const char *zBase, const char *zRef);
/* The same, with *pbOom set when NULL means out of memory rather than "zRef
** is not a URL". */
char *url_resolve_oom(const char *zBase, const char *zRef, int *pbOom);


/* Check a URL: parseable by libcurl, scheme http or https.  Returns
** SQLITE_OK if fine, SQLITE_ERROR with a sqlite3_malloc'd description in
** *pzWhy, or SQLITE_NOMEM. */
int url_check(const char *zUrl, char **pzWhy);
/* Is zUrl a plain http(s) URL (a host name or dotted IPv4 address, a port,
** a path and query of unreserved and sub-delim characters, nothing else)
** that libcurl's parser accepts whatever its version?  0 says only "ask
** libcurl". */
int url_is_plain(const char *zUrl);
#define APIFETCH_PLAIN_URL_MAX 4096   /* longer URLs go to libcurl's parser */
/* zRef (a URL or a relative reference) resolved against zBase into *pzOut
** and checked as url_check does.  SQLITE_OK, SQLITE_ERROR with why in
** *pzWhy (zRef cannot be resolved, or what it resolves to is refused), or
** SQLITE_NOMEM; *pzOut is set only with SQLITE_OK (all sqlite3_malloc'd). */
int url_resolve_check(const char *zBase, const char *zRef, char **pzOut, char **pzWhy);


/* Does zUrl name a user (and maybe a password)?  *pbHas says; SQLITE_OK or
** SQLITE_NOMEM. */
int url_has_userinfo(const char *zUrl, int *pbHas);
/* zUrl without its user and password (sqlite3_malloc'd; a copy if it has
** none or is not a URL libcurl can parse), or NULL on OOM. */
char *url_strip_userinfo(const char *zUrl);
/* zOut (which it frees) with zValue after zAfter, as given and URL-encoded
** (%XX in either case), replaced by zAfter"[secret]"; NULL on out of
** memory: the secret could not be looked for, so no text at all rather
** than one that may show it. */
char *text_redact(char *zOut, const char *zValue, const char *zAfter);
/* Do URLs a and b have one origin (RFC 6454: scheme, host and port, the
** default port filled in)?  *pbSame says (0 if either cannot be parsed);
** SQLITE_OK or SQLITE_NOMEM. */
int url_same_origin(const char *a, const char *b, int *pbSame);
/* Does z start with a scheme (RFC 3986: ALPHA *(ALPHA / DIGIT / + - .) ":")?
** If not, it is a reference relative to a base. */
int url_has_scheme(const char *z);
/* Does zUrl have a query, and not an empty one ("?" alone, or "?#f")? */
int url_has_query(const char *zUrl);
/* Header lines ("Name: value\r\n" each, as the cache keeps them) as a
** JSON object: names lower case, in sorted order; a header given once a
** string, one given more than once an array of its values in the order
** they came.  sqlite3_malloc'd, NULL on out of memory. */
char *header_lines_json(const char *zLines);
/* Does the target of a request line have a query?  Fed the bytes of a
** request's head in order, as they are sent (libcurl's debug callback
** shows them as CURLINFO_HEADER_OUT, in one piece or more), it reads the
** second word of the first line ("GET /p?a=1 HTTP/1.1", or the absolute
** form to a proxy); *pState starts at TARGET_METHOD and ends at
** TARGET_QUERY or TARGET_NO_QUERY, where further bytes leave it. */
enum { TARGET_METHOD, TARGET_IN, TARGET_QUERY, TARGET_NO_QUERY };
void request_target_scan(int *pState, const char *p, size_t n);


/* Switch db's file to WAL.  Two processes doing this at once both hold a
** SHARED lock and want EXCLUSIVE; SQLite answers one of them SQLITE_BUSY at
** once, without calling the busy handler (waiting could deadlock), so a
** busy timeout does not cover this step: wait here, up to busyMs. */
int db_wal(sqlite3 *db, int busyMs);

sqlite3_int64 clock_ms(void);

/* Eponymous tables whose rows are positions 0, 1, ... of a list
** (api_fetch_stats, api_fetch_options, api_fetch_host_stats): the table
** holds the module's pAux, the cursor a position.  Each such table writes
** its xConnect (pos_connect with its declaration), xBestIndex, xEof and
** xColumn; these are the rest of its methods. */
typedef struct PosTable PosTable;
struct PosTable {
  sqlite3_vtab base;              /* Base class.  Must be first */
  void *pAux;                     /* The module's pAux (the Conn) */
};
typedef struct PosCursor PosCursor;
struct PosCursor {
  sqlite3_vtab_cursor base;       /* Base class.  Must be first */
  int i;                          /* The current row */
};
int pos_connect(sqlite3 *db, void *pAux, const char *zDecl, sqlite3_vtab **ppVtab);
int pos_disconnect(sqlite3_vtab *p);
int pos_open(sqlite3_vtab *p, sqlite3_vtab_cursor **pp);
int pos_close(sqlite3_vtab_cursor *c);
int pos_filter(sqlite3_vtab_cursor *c, int n, const char *z, int argc, sqlite3_value **argv);
int pos_next(sqlite3_vtab_cursor *c);
int pos_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *p);
/* File descriptors this process may still open (-1: cannot be told), and
** raising its soft limit toward the hard one (where allowed; once per
** process, at load, so that a large concurrency has the descriptors it
** needs). */
long fds_available(void);
void fds_raise_limit(void);
/* The soft limit on open files (RLIMIT_NOFILE), or -1: none, or unknown. */
long fds_limit(void);

/**************************************************************************
** json.c - a strict, non-recursive JSON scanner
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
** maxDepth deep?  SQLITE_OK if so, else SQLITE_ERROR (or SQLITE_NOMEM) with
** *pErr filled in. */
int json_validate(const char *z, size_t n, int maxDepth, JsonError *pErr);

/* Length of the longest well-formed UTF-8 prefix of z[0..n): n if all of
** it is UTF-8, else the offset of the first bad byte. */
size_t json_utf8_prefix(const char *z, size_t n);

/* The remaining json_* functions assume input that json_validate accepted. */
size_t json_skip_ws(const char *z, size_t n, size_t i);
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
/* Does JSON text z hold the escape \u0000?  cJSON would cut the string
** there without a word, so text bound for cJSON is checked first. */
int json_has_nul(const char *z, size_t n);
/* Decode into zOut, which has room for str.n-2 bytes; returns the length.
** A \u0000 gives a NUL byte. */
size_t json_string_decode_into(JsonSpan str, char *zOut);

/* Look up member zKey of an object.  Returns 1 if found. */
int json_object_get(JsonSpan obj, const char *zKey, JsonSpan *pVal);

/* JSON type of the value a span starts with: '{', '[', '"', 'n' (number),
** 't', 'f' or 'z' (null). */
char json_type(JsonSpan v);

/* z[0..n), a JSON object, with the value at path az[0..nKey) set to the
** JSON text zVal[0..nVal), appended to *pOut; the rest of z byte for byte.
** Missing keys are made (a null on the way too); SQLITE_ERROR if the root
** or a value on the way is another thing than an object. */
int json_set_path(const char *z, size_t n, char **az, int nKey, const char *zVal,
                  size_t nVal, Buf *pOut);

/**************************************************************************
** scalar.c - JSON numbers and RFC 3339 timestamps, independent of locale
*/
double parse_double(const char *z);
/* An integer literal into *pV; 0 if it does not fit in 64 bits. */
int parse_int64(const char *z, size_t n, sqlite3_int64 *pV);
/* A number literal: 'i' (fits int64), 'r' (a finite real), 'b' (too big:
** keep the text), or 0 if it is not a number. */
char number_kind(const char *z, size_t n, sqlite3_int64 *pI, double *pR);
/* An RFC 3339 date-time with an offset: 1 with the UTC unix time in *pSecs
** and the fraction digits at z[*piFrac..+*pnFrac). */
int parse_timestamp(const char *z, size_t n, sqlite3_int64 *pSecs, size_t *piFrac,
                    size_t *pnFrac);
/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" into zOut (48 bytes); its length, 0 if the
** year is out of range. */
size_t format_utc(char *zOut, sqlite3_int64 secs, const char *zFrac, size_t nFrac);
/* What a JSON string literal holds, as STR_* bits. */
#define STR_INT     0x01     /* an integer that prints back exactly */
#define STR_REAL    0x02     /* a number (int or real) that prints back exactly */
#define STR_DEC     0x04     /* any finite JSON number ("12.50") */
#define STR_TS      0x08     /* an RFC 3339 timestamp with an offset */
#define STR_TSFRAC  0x10     /* ... with fractional seconds */
unsigned string_class(JsonSpan v);



/**************************************************************************
** sha256.c - SHA-256 (FIPS 180-4), for the HTTP cache's keys; no I/O
*/
#define SHA256_SIZE 32            /* Bytes in a digest */
typedef struct Sha256 Sha256;
struct Sha256 {
  uint32_t h[8];                  /* Hash value so far (section 6.2) */
  uint64_t nBytes;                /* Message bytes given so far */
  unsigned char buf[64];          /* Bytes of a block not yet complete */
  size_t nBuf;                    /* How many of them, always < 64 */
};
void sha256_init(Sha256 *p);
/* Add n bytes (pData may be NULL when n is 0).  Any split of a message
** into updates gives the same digest. */
void sha256_update(Sha256 *p, const void *pData, size_t n);
/* The digest into aOut; p is then wiped and must be initialised again. */
void sha256_final(Sha256 *p, unsigned char aOut[SHA256_SIZE]);

/**************************************************************************
** policy.c - pure decisions of the engine, unit-tested in tests/unit.c
*/
/* What the on_status option asks of a response with a given final status
** (onstatus.c reads it, onstatus_action looks it up).  STATUS_DEFAULT:
** nothing asked, as if on_status were not given. */
enum { STATUS_DEFAULT, STATUS_DATA, STATUS_SKIP, STATUS_ERROR, STATUS_FAIL, STATUS_RETRY };
/* Is an answer with this status worth another attempt?  The statuses that
** say "try again later", and those on_status marks STATUS_RETRY (eAction,
** onstatus_action's): the one decision, for the engine's retry_delay. */
int policy_status_retryable(long status, int eAction);
int policy_curlcode_retryable(CURLcode rc);
int policy_curlcode_unsent(CURLcode rc);   /* request surely never reached a server */
int policy_method_idempotent(const char *zMethod);

/* Backoff before retry number `retry` (1 = first retry): a uniformly random
** delay in [0, min(capMs, baseMs * 2^(retry-1))] ("full jitter"). `rnd` is a
** uniform random 64-bit value supplied by the caller. */
sqlite3_int64 policy_backoff_ms(int retry, sqlite3_int64 baseMs,
                                sqlite3_int64 capMs, uint64_t rnd);

/* Parse an HTTP-date (RFC 9110 section 5.6.7: IMF-fixdate, or the obsolete
** RFC 850 and asctime forms).  Returns 1 with the unix time in *pEpoch, or
** 0 if z (NULL allowed) is not one. */
int policy_http_date(const char *z, sqlite3_int64 *pEpoch);

/* Parse a Retry-After value (RFC 9110 section 10.2.3): delta-seconds or an
** HTTP-date.  Returns the delay in ms (0 for a date in the past), or -1 if
** the value is neither. `nowEpoch` is the current unix time in seconds. */
sqlite3_int64 policy_retry_after_ms(const char *zValue, sqlite3_int64 nowEpoch);

uint64_t policy_random(uint64_t *pState);

/* What a response says of its host's rate limit (policy_ratelimit): each
** field -1 when not told. */
typedef struct RateLimit RateLimit;
struct RateLimit {
  sqlite3_int64 remaining;  /* Requests left in the current window */
  sqlite3_int64 limit;      /* Requests a window allows */
  sqlite3_int64 resetMs;    /* ms from now until the window resets */
  sqlite3_int64 windowMs;   /* The window's length, ms (IETF policy w) */
};
/* Read the rate-limit fields of a response, in whichever of the three forms
** it uses (GitHub X-RateLimit-*, IETF RateLimit/RateLimit-Policy, the older
** draft's RateLimit-*), through xHeader(pCtx, zName) (a header's value, or
** NULL).  Returns 1 if both remaining and reset were told, else 0. */
int policy_ratelimit(const char *(*xHeader)(void*, const char*), void *pCtx,
                     sqlite3_int64 nowEpochMs, RateLimit *p);

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
/* A token taken for a request that was not sent after all, given back. */
void bucket_refund(TokenBucket *b);

/**************************************************************************
** httpcache.c - RFC 9111 (HTTP Caching) decisions for a private cache, as
** pure functions: no I/O, no allocation, no clock (times are arguments,
** unix seconds).  Sections cited are RFC 9111's unless said otherwise.
**
** The store and the engine use them so:
**   on a response    cacheinfo_parse(); store it if cache_storable(), with
**                    the time the request was sent and the response came
**                    (a response without Date is dated when it came).
**   on a lookup      lifetime = cache_freshness_lifetime(), age =
**                    cache_current_age(); fresh while lifetime > age
**                    (section 4.2), else revalidate with If-None-Match /
**                    If-Modified-Since if bHasValidator, else fetch anew.
**   on an error      cache_stale_if_error() says if the stored response
**                    may be given instead.
** A request's own Cache-Control / Pragma parse the same way: its no-store
** forbids storing (5.2.1.5), its no-cache or max-age=0 a reply from the
** cache without revalidation (5.2.1.4, 5.2.1.1).
*/
#define CACHE_DELTA_MAX 2147483648LL  /* 2^31: delta-seconds saturate here (1.2.2) */

typedef struct CacheInfo CacheInfo;
struct CacheInfo {
  int bNoStore;                  /* no-store (5.2.2.5): never stored */
  int bNoCache;                  /* no-cache in either form (5.2.2.4), or Pragma:
                                 ** no-cache without Cache-Control (5.4) */
  int bPrivate;                  /* private (5.2.2.7): binds shared caches only */
  int bPublic;                   /* public (5.2.2.9): cacheable whatever the status */
  int bMustRevalidate;           /* must-revalidate (5.2.2.2): never used stale */
  int bImmutable;                /* immutable (RFC 8246): no revalidation while fresh */
  int bVaryStar;                 /* Vary has a member "*" (4.1): never matches */
  sqlite3_int64 maxAge;          /* max-age, seconds; -1 absent, 0 if malformed */
  sqlite3_int64 sMaxAge;         /* s-maxage, likewise; shared caches only, unused */
  sqlite3_int64 staleWhileRevalidate;  /* stale-while-revalidate (RFC 5861
                                 ** section 3), seconds; -1 absent or malformed */
  sqlite3_int64 staleIfError;    /* stale-if-error (RFC 5861 section 4), seconds;
                                 ** -1 absent or malformed */
  sqlite3_int64 date;            /* Date, unix seconds; -1 absent or invalid */
  sqlite3_int64 expires;         /* Expires; -1 absent, 0 invalid (expired, 5.3) */
  sqlite3_int64 lastModified;    /* Last-Modified; -1 absent or invalid */
  sqlite3_int64 age;             /* Age, seconds; 0 absent or invalid */
  int bHasValidator;             /* An ETag, or a valid Last-Modified (4.3.1) */
};

/* What a response's header fields say about caching.  Each argument is a
** field's value, NULL when the field is absent ("" is present and empty).
** Several Cache-Control, Pragma or Vary field lines may be given joined by
** ", " (RFC 9110 section 5.3); of the others pass the first line.
** Cache-Control directives are case-insensitive and may have their
** argument quoted, never spaced around '='; unknown ones are ignored.
** max-age given twice with different values is stale (4.2.1).  A
** malformed number is read the restrictive way: max-age as 0,
** stale-if-error as absent; one too large is 2^31 (1.2.2); an invalid Age
** is ignored (5.1).  Expires is an IMF-fixdate or expired (5.3); Date and
** Last-Modified are any HTTP-date (policy_http_date); dates before 1970
** read as 0. */
void cacheinfo_parse(CacheInfo *p, const char *zCacheControl, const char *zExpires,
                     const char *zDate, const char *zAge, const char *zLastModified,
                     const char *zEtag, const char *zVary, const char *zPragma);

/* A request's own directives (section 5.2.1), from its Cache-Control and
** Pragma (NULL when absent).  maxAge, maxStale and minFresh are seconds,
** -1 when absent; max-stale without a value is 2^31 (any staleness).  A
** malformed max-age reads as 0, a malformed max-stale or min-fresh as
** absent: each the reading that asks the server rather than trusts a copy. */
typedef struct CacheRequest CacheRequest;
struct CacheRequest {
  int bNoStore;                  /* no-store (5.2.1.5): the answer is not stored */
  int bNoCache;                  /* no-cache (5.2.1.4), or Pragma: no-cache: no
                                 ** stored answer without revalidating */
  int bOnlyIfCached;             /* only-if-cached (5.2.1.7): never the network */
  sqlite3_int64 maxAge;          /* max-age (5.2.1.1): no copy older than this */
  sqlite3_int64 maxStale;        /* max-stale (5.2.1.2): a copy stale by this much */
  sqlite3_int64 minFresh;        /* min-fresh (5.2.1.3): fresh this much longer */
};
void cache_request_parse(CacheRequest *p, const char *zCacheControl, const char *zPragma);

/* May this response be stored (section 3)?  The method GET or HEAD (NULL
** means GET); a final status other than 206 and 304; no no-store; no
** Vary: *; and max-age, Expires, public, private, or a status cacheable by
** default (RFC 9110 section 15.1: 200, 203, 204, 300, 301, 308, 404, 405,
** 410, 414, 501).  A validator alone does not make a response storable:
** section 3 lists no such case. */
int cache_storable(const char *zMethod, long status, const CacheInfo *p);
/* RFC 9110 section 15.1: is status cacheable by default (heuristically)? */
int cache_status_heuristic(long status);

/* Freshness lifetime in seconds, 0 to 2^31 (4.2.1): max-age, else Expires
** minus Date (or responseTime if there is no Date), else, for a status
** cacheable by default or a public or private response, 10% of the time
** from Last-Modified to Date, at most heuristicCapS (4.2.2; 0 or less: no
** heuristic), else 0.  0 for no-cache and no-store.  s-maxage is not used:
** this is not a shared cache. */
sqlite3_int64 cache_freshness_lifetime(const CacheInfo *p, long status,
                                       sqlite3_int64 responseTime,
                                       sqlite3_int64 heuristicCapS);

/* The response's current age at `now` (4.2.3), 0 to 2^31: requestTime is
** when the request was sent, responseTime when the response arrived. */
sqlite3_int64 cache_current_age(const CacheInfo *p, sqlite3_int64 requestTime,
                                sqlite3_int64 responseTime, sqlite3_int64 now);

/* May the stored response be given in place of an error: status 500, 502,
** 503, 504, or 0 for no response at all (RFC 5861 section 4)?  Yes if it is
** still fresh; else not under no-cache or must-revalidate (4.2.4); else if
** it is stale by no more than stale-if-error or clientStaleS, the caller's
** own allowance (4.2.4 lets the client permit stale responses; -1: none). */
int cache_stale_if_error(const CacheInfo *p, long status, sqlite3_int64 lifetime,
                         sqlite3_int64 currentAge, sqlite3_int64 clientStaleS);

/**************************************************************************
** cache.c - the store of the persistent HTTP cache; its structs and calls
** are in cache.h, for the files that use the store (cacheflow.c, cachesql.c,
** conn.c, engine.c).  Everyone else holds a CacheStore only by pointer.
*/
typedef struct CacheStore CacheStore;
enum { CM_HTTP, CM_TTL, CM_REFRESH, CM_OFFLINE };   /* the cache_mode option */
enum { CS_RFC, CS_2XX };                 /* the cache_statuses option */

/**************************************************************************
** request.c - the values that flow between the layers
*/
/* Kinds of failure, for the counters of api_fetch_stats(). */
enum { ERR_NONE, ERR_HTTP, ERR_TIMEOUT, ERR_NETWORK, ERR_TOO_BIG, ERR_BODY,
       ERR_DEADLINE, ERR_OFFLINE };
/* How a body becomes records: the format option (knobs.c's words, in
** this order).  FMT_AUTO is chosen from the Content-Type (formats.c). */
enum { FMT_JSON, FMT_NDJSON, FMT_TEXT, FMT_BLOB, FMT_AUTO };
/* Where a response came from, when a cache is in use (the cache column). */
enum { CACHE_NONE, CACHE_MISS, CACHE_HIT, CACHE_REVALIDATED, CACHE_STALE };


/* One HTTP request, as taken from url_list. */
struct Request {
  sqlite3_int64 iIndex;          /* 0-based position in url_list */
  int iPage;                     /* 0-based page of a paginated collection */
  int bChain;                    /* Numbered pages fetched one after another */
  char *zUrl;                    /* The URL */
  char *zMethod;                 /* Upper-case method; NULL means GET */
  char *pBody;                   /* Request body or NULL */
  size_t nBody;                  /* Bytes in pBody */
  struct curl_slist *pHeaders;   /* Headers to send, options' merged in */
  int bNoCredentials;            /* Another origin: no bearer, basic, headers, query */
  struct PageSeen *pSeen;        /* The pages its chain has fetched (paginate.c; owned) */
  /* A request that cannot be sent (a next page named but not followable):
  ** the engine sends nothing and gives a response with this error (owned). */
  char *zFail;
  const char *const *azWant;     /* Response headers to keep (not owned), or NULL */
  int nWant;                     /* Entries in azWant */
  /* The input carried to its rows (source.c): JSON text of a request
  ** object's "input", a url_template item, or a url_query row's other
  ** columns; its pages carry it too (owned), or NULL. */
  char *zInput;
  int iFormat;                   /* A request object's format: 1 + FMT_*, 0 for the
                                 ** options' */
};
void request_clear(Request *p);
/* A deep copy of p into *pTo (its page chain's set is not copied). */
int request_copy(Request *pTo, const Request *p);


struct Response {
  Request req;                   /* What was asked (owned) */
  long status;                   /* HTTP status of the last attempt, 0 if none */
  char *zError;                  /* Why it failed, or NULL (owned) */
  int eErr;                      /* ERR_*: what kind of failure, if zError */
  int nAttempt;                  /* Attempts made */
  int nRequest;                  /* HTTP requests sent: attempts and redirects */
  sqlite3_int64 elapsed_ms;      /* From first start to completion */
  /* The URL that gave the response, after the redirects followed: where
  ** it "was fetched from" (RFC 3986 section 5.1.3), the base of relative
  ** references in it (RFC 8288 section 3.2 for Link).  NULL when no
  ** redirect was followed or no response came: then it is req.zUrl, as
  ** response_url() says.  req.zUrl stays the URL asked for. */
  char *zFinalUrl;
  char *zContentType;            /* Content-Type of the response, or NULL */
  char *pBody;                   /* Response body (owned), may be NULL */
  size_t nBody;                  /* Bytes in pBody */
  char **azHeader;               /* Values of the headers req.azWant names (owned;
                                 ** each NULL if absent) */
  int nHeader;                   /* Entries in azHeader */
  int eCache;                    /* CACHE_*: NONE without a cache */
  /* response_headers: the final response's headers, the column's JSON
  ** object (header_lines_json) made once for all the response's rows from
  ** the header lines as the cache keeps them (Set-Cookie left out, secrets
  ** redacted), so that a cache hit shows what the fetch showed; else NULL
  ** (owned). */
  char *zHeaders;
  /* A streamed body (chunk.c) comes in parts, each a Response with whole
  ** lines: bMore on every part but the last, which has the rest (and the
  ** headers, the pages, the error if it failed after the parts). */
  int bMore;                     /* A part: more of this body is to come */
  int iSlot;                     /* A part: its engine slot (engine.c's) */
  sqlite3_int64 iLine;           /* Lines of the body before this part's first */
  Response *pNext;               /* Next in the engine's done queue */
};
/* A Response to q, which it takes (q left empty; also when NULL: out of
** memory); its other fields zero. */
Response *response_new(Request *q);
void response_free(Response *p);
/* The URL r came from: zFinalUrl, or req.zUrl when there was no redirect. */
const char *response_url(const Response *r);

/* Append header line zLine ("Name: value") to pReq unless it has a header
** of that name already.  SQLITE_OK or SQLITE_NOMEM. */
int request_add_header(Request *pReq, const char *zLine);

/**************************************************************************
** knobs.c - every user-facing setting, declared once
*/
enum { KNOB_INT, KNOB_REAL, KNOB_BOOL, KNOB_TEXT, KNOB_CHOICE, KNOB_PATH, KNOB_SPECIAL };
#define KF_OPTION   0x01         /* the options object, and a wide-face argument */
#define KF_TABLE    0x02         /* a wide-face argument only */
#define KF_PAGINATE 0x04         /* a key of the paginate option's object */
#define KF_CONFIG   0x08         /* a setting of api_fetch_config */
typedef struct Knob Knob;
struct Knob {
  const char *zName;
  unsigned char eKind;           /* KNOB_*: how its value is read */
  unsigned char mFace;           /* KF_*: where it applies */
  unsigned short iOffset;        /* Its field: in Options (OPTION, TABLE, PAGINATE) or Guard */
  unsigned short nSize;          /* The field's size: int or sqlite3_int64 for numbers */
  sqlite3_int64 iMin, iMax;      /* KNOB_INT, KNOB_REAL: the range */
  sqlite3_int64 iDefault;        /* KNOB_INT, KNOB_BOOL, KNOB_CHOICE: options_init's */
  const char *zWords;            /* KNOB_CHOICE: the words, in value order */
  const char *zType;             /* For api_fetch_options */
  const char *zDefault;          /* For api_fetch_options, when iDefault does not say */
  const char *zAbout;            /* One line of help */
  unsigned char eSpecial;        /* KNOB_SPECIAL: KS_*, the row of its reader */
};
/* The KNOB_SPECIAL knobs, each read by hand: options.c's aSetSpecial[] has
** a reader per option, set_paginate reads KS_PAGE_TYPE, guard_set the
** settings (conn.c the last two).  A new one is a value here, in its
** knob's row, and in its reader's table. */
enum {
  KS_NONE,                       /* not KNOB_SPECIAL */
  KS_USER_AGENT, KS_CACHE, KS_HEADERS, KS_PAGINATE, KS_BEARER, KS_BASIC, KS_BASE_URL,
  KS_QUERY, KS_REQUEST_LOG, KS_PROFILE, KS_SHARD, KS_ON_STATUS, KS_PROXY, KS_OAUTH2,
  KS_NO_PROXY,                   /* options */
  KS_PAGE_TYPE,                  /* the paginate key "type" */
  KS_ALLOW_HOSTS, KS_ALLOW_ENV, KS_CA_FILE, KS_DEFAULTS, KS_PROFILES,   /* settings */
  KS_COUNT
};
extern const Knob aKnob[];
extern const int nKnob;
const Knob *knob_find(const char *zName, int mFace);
/* "<zWhat> "x"; did you mean "y"? (known: ...)" (sqlite3_malloc'd). */
char *knob_unknown(const char *zWhat, const char *zName, int mFace);

/* Read v into k's field of pBase (an Options or a Guard), for the plain
** kinds (not KNOB_SPECIAL); zWhat starts the error messages. */
int knob_set_json(void *pBase, const Knob *k, const struct cJSON *v, const char *zWhat,
                  char **pzErr);
void knob_store_int(void *pBase, const Knob *k, sqlite3_int64 x);
/* The index of zWord among a KNOB_CHOICE's words, or -1. */
int knob_choice(const Knob *k, const char *zWord);
/* Set the integer, boolean and word defaults of the knobs of mFace. */
void knob_defaults(void *pBase, int mFace);
/* "a string", "a number", ... for messages. */
const char *knob_json_kind(const struct cJSON *v);

/**************************************************************************
** guard.c - per-connection limits for shared and untrusted use
**
** Read at load time from the environment variable APIFETCH_CONFIG (a JSON
** object), changed with SELECT api_fetch_config('{...}'), and frozen by
** "lock": true, after which SQL on the connection cannot change them.
*/
struct Guard {
  int bDisabled;                 /* No fetching at all */
  int bBlockPrivate;             /* Refuse loopback, private, link-local... addresses */
  char **azAllowHost;            /* Host names allowed (exact, lower case), or NULL */
  int nAllowHost;                /* Entries in azAllowHost; 0 with azAllowHost: none */
  sqlite3_int64 maxRequests;     /* Per query, retries included; 0 = no limit */
  sqlite3_int64 maxTotalBytes;   /* Per query, body bytes; 0 = no limit */
  sqlite3_int64 maxQueryMs;      /* Per query, as deadline_ms; 0 = no limit */
  sqlite3_int64 maxConcurrency;  /* Transfers in flight at most; 0 = no cap */
  char **azAllowEnv;             /* Variables ${env:NAME} may read, or NULL */
  int nAllowEnv;                 /* Entries in azAllowEnv */
  char *zCaFile;                 /* CA bundle for queries that name none, or NULL */
  int bLocked;                   /* No more changes */
  unsigned iGen;                 /* Settings changed this many times (guard_set):
                                 ** what was fetched under others is not reused */
  int nQueryDepth;               /* url_query steps under way (vtab.c): no changes */
};
/* What the limits of api_fetch_config count against: not one scan but a
** window of them (conn.c), one statement's worth, so that a query cannot
** reset its budget by running api_fetch once per row of a join. */
typedef struct Budget Budget;
struct Budget {
  sqlite3_int64 nRequests;       /* HTTP requests sent, retries and redirects too */
  sqlite3_int64 nBytes;          /* Response body bytes received */
  sqlite3_int64 tStart;          /* When the window opened, ms (clock_ms) */
  sqlite3_int64 tCancelCheck;    /* When the engine last asked whether the statement
                                 ** was stopped (engine_wait): the statement's, as a
                                 ** join's scans may each be shorter than the period */
};


void guard_clear(Guard *g);
/* May a query with options pOpt run on this connection?  SQLITE_OK, or an
** error code with the reason in *pzErr (NULL on out-of-memory). */
int guard_refuses(const Guard *g, const Options *pOpt, char **pzErr);
/* May ${env:zName} be read on this connection (g may be NULL: yes)? */
int guard_env_refused(const Guard *g, const char *zName);
/* The settings of g changed by the JSON object pRoot, into *pNew (a deep
** copy: g is unchanged).  Returns SQLITE_OK or an error with a message.
** The key "profiles" is left to conn.c. */
int guard_set(const Guard *g, const struct cJSON *pRoot, Guard *pNew, char **pzErr);
/* Replace the settings of g by *pNew (which is emptied). */
void guard_replace(Guard *g, Guard *pNew);
/* The settings as a JSON object, or NULL on out-of-memory. */
struct cJSON *guard_describe(const Guard *g);
/* Is this connected address one the guard refuses?  Returns a static
** reason, or NULL. */
const char *guard_address_refused(const Guard *g, const struct sockaddr *pAddr);
/* Is this URL's host and port refused by allow_hosts?  Returns 1 if so,
** with "host:port" in *pzHostPort (sqlite3_malloc'd; NULL on OOM). */
int guard_host_refused(const Guard *g, const char *zUrl, char **pzHostPort);
/* The one check of a request against the guard, made by the transfer
** before it sends (transfer.c) and by the cache before it answers
** (cacheflow.c), so that both refuse alike and say it alike: why the guard
** refuses it, as its error row says it (sqlite3_malloc'd), or NULL if it
** does not (or on out of memory, with *pbOom set).  g may be NULL: none.
**   guard_url_refusal      allow_hosts: zUrl's host and port (zUrl NULL:
**                          not checked), and no Host header in pHeaders
**   guard_address_refusal  block_private: the address connected to
**   guard_ip_refusal       the same for an address as text (libcurl's
**                          CURLINFO_PRIMARY_IP, kept with a cache entry);
**                          one that is not an IP address (or NULL) is refused */
char *guard_url_refusal(const Guard *g, const char *zUrl, const struct curl_slist *pHeaders,
                        int *pbOom);
char *guard_address_refusal(const Guard *g, const struct sockaddr *pAddr, int *pbOom);
char *guard_ip_refusal(const Guard *g, const char *zIp, int *pbOom);
/* Why an allow_hosts entry is malformed, or NULL. */
const char *guard_host_entry_error(const char *z);
/* Proxies (docs/security.md).  guard_proxy_refused: is pOpt's proxy one
** the guard refuses: on a locked connection any proxy or no_proxy that is
** not the host's ("" too: the host's routing stays), under block_private a
** proxy that is not the host's?  Returns the option's name, or NULL.  guard_proxy_setup: h's proxy as pOpt and g say (the
** environment's unless pOpt names one or "", none under block_private but
** the host's); *pbProxied if pOpt's is used.  SQLITE_OK or SQLITE_NOMEM.
** guard_proxied_refusal: with a proxy in the way block_private can judge
** only zUrl's host as libcurl sends it (an IP address, localhost; after
** IDNA, trailing dots aside): why it refuses,
** or NULL (*pbOom on out of memory). */
/* Is z a proxy URL of a scheme apifetch takes (or "", none)? */
int guard_proxy_url_ok(const char *z);
const char *guard_proxy_refused(const Guard *g, const Options *pOpt);
int guard_proxy_setup(CURL *h, const Guard *g, const Options *pOpt, int *pbProxied);
char *guard_proxied_refusal(const Guard *g, const char *zUrl, int *pbOom);

/**************************************************************************
** paginate.c - one row per kind of pagination
*/
/* paginate.c: the paginate option.  A kind is one row of aPageKind[]. */
typedef struct PageKind PageKind;
struct PageKind {
  const char *zName;             /* The "type" that names it */
  const char *zParam;            /* Default query parameter, or NULL */
  sqlite3_int64 iStart;          /* Default first page number or offset */
  sqlite3_int64 iStep;           /* Numbered: per page 1, or 0 for per_page */
  const char *zHeader;           /* A response header it always reads, or NULL */
  const char *(*xCheck)(const Paginate*);   /* What it lacks, or NULL */
  /* Chains: the URL of the page after r into *pzNext (NULL: r names none),
  ** or, when r names a next page that cannot be followed, why into *pzWhy.
  ** With bValue, not a URL but a value for the request (the JSON text of a
  ** string or number), put on the URL (param) or in the body (body_path).
  ** SQLITE_OK or SQLITE_NOMEM.  NULL for numbered kinds, whose pages are
  ** counted from the first. */
  int (*xNext)(const Paginate*, const Response *r, JsonSpan root, char **pzNext,
               char **pzWhy);
  int bValue;                    /* xNext gives a value to place, not a URL */
  const char *zBody;             /* Its value goes in the JSON body at zBody.param
                                 ** (a GraphQL variable), or NULL: on the URL */
};
struct Paginate {
  const PageKind *pKind;         /* Its kind, NULL for none */
  char *zParam;                  /* page, offset or cursor query parameter */
  sqlite3_int64 iStart;          /* First page number or offset, -1 for the kind's */
  sqlite3_int64 nPerPage;        /* Page size, 0 if not given */
  char *zSizeParam;              /* Parameter that sends nPerPage, or NULL */
  KeyPath totalPages;            /* Path to the number of pages */
  KeyPath totalItems;            /* Path to the number of items */
  char *zTotalHeader;            /* Header with the number of items */
  int bLastLink;                 /* Link rel="last" gives the last page */
  KeyPath cursor;                /* Path to the next cursor */
  KeyPath next;                  /* Path to the next URL */
  KeyPath pageInfo;              /* Path to a GraphQL Relay pageInfo object */
  KeyPath body;                  /* Path in the JSON request body that takes the
                                 ** page, offset or cursor, instead of param on
                                 ** the URL; none: the URL */
  int nMaxPages;                 /* Pages per starting URL at most */
  const char *azWant[3];         /* Response headers it reads (paginate_check): the
                                 ** kind's, Link for rel="last", the total's */
  int nWant;
};


void paginate_clear(Paginate *p);
/* paginate.c: the kind named zName, or NULL. */
const PageKind *paginate_kind(const char *zName);
/* After its keys are read: what its kind needs, defaults, headers wanted. */
int paginate_check(Paginate *p, char **pzErr);

/* Pages still to request (paginate.c): a FIFO of generators. */
typedef struct PageGen PageGen;
struct PageGen {
  Request proto;                 /* The page to copy (numbered) or to send */
  sqlite3_int64 iNext, iLast;    /* Pages still to make, inclusive */
  int bNumbered;                 /* Make numbered pages from proto */
  int bChain;                    /* They are a one-after-another chain */
  PageGen *pNext;
};
typedef struct PageQueue PageQueue;
struct PageQueue { PageGen *pFirst, *pLast; };
int paginate_first(const Paginate *p, Request *pReq);
/* Queue the pages after r (a chain's set of fetched pages moves from r to
** the next page's request). */
int paginate_follow(const Paginate *p, Response *r, JsonSpan root, int bEmpty,
                    PageQueue *q);
int pagequeue_next(const Paginate *p, PageQueue *q, Request *pReq);
void pagequeue_clear(PageQueue *q);

/**************************************************************************
** onstatus.c - the on_status option
*/
/* The reader of the option (options.c's aSetSpecial[]): a JSON object of
** statuses ("404") or classes ("4xx") to "data", "skip", "error", "fail"
** or "retry"; null clears it.  It replaces what a profile gave. */
int onstatus_set(Options *p, const Knob *k, const struct cJSON *v, char **pzErr);
/* What on_status asks of a final status: the code's STATUS_*, else its
** class's, else STATUS_DEFAULT (also for status 0: no response). */
int onstatus_action(const Options *p, long status);


/**************************************************************************
** oauth.c - OAuth2 client credentials (RFC 6749 section 4.4)
*/
typedef struct OAuth2 OAuth2;
struct OAuth2 {
  char *zTokenUrl;               /* The token endpoint, or NULL: no oauth2 */
  char *zClientId;               /* client_id (secrets expanded) */
  char *zSecret;                 /* client_secret (secrets expanded) */
  char *zScope;                  /* scope, or NULL */
  char *zAudience;               /* audience, or NULL */
  int bAuthBody;                 /* auth "body": id and secret in the form, not Basic */
  int bAudienceUrl;              /* zAudience is an http(s) URL: the API's (oauth2_origin) */
  char zKey[65];                 /* Hex SHA-256 of all the above: whose tokens */
};
/* A token the connection keeps (in its Keep, never in a file). */
typedef struct OAuthToken OAuthToken;
struct OAuthToken {
  char zKey[65];                 /* The OAuth2.zKey it is for */
  char *zToken;                  /* The access token, or NULL before the first */
  sqlite3_int64 tRefresh;        /* When to fetch a new one (clock_ms), 0: on a 401 only */
  unsigned iGen;                 /* Tokens fetched for this key: which one a request sent */
  int bStale;                    /* A 401 refused this one */
  OAuthToken *pNext;
};
/* What expands ${env:NAME} in client_id and client_secret (options.c's). */
typedef char *(*OAuth2Expand)(void *pCtx, const char *z, const char *zWhere, char **pzErr);
void oauth2_clear(OAuth2 *p);
/* The oauth2 option's object v (or null: none) into *p. */
int oauth2_parse(OAuth2 *p, const struct cJSON *v, OAuth2Expand xExpand, void *pCtx,
                 char **pzErr);
/* What stops a token fetch before o's timeouts do: the query stopped
** (xCancelled, as RequestSource's, asked every APIFETCH_CANCEL_CHECK_MS of
** the statement: *ptCheck is when it was last asked, the Budget's
** tCancelCheck that the engine's waits keep too; may be NULL) or its
** deadline (tDeadline, clock_ms; 0 for none). */
typedef struct TokenStop TokenStop;
struct TokenStop {
  int (*xCancelled)(void *pCtx);
  void *pCtx;
  sqlite3_int64 *ptCheck;
  sqlite3_int64 tDeadline;
};
/* The token for p from *ppList, fetched (synchronously, under o's timeouts
** and proxy and g's checks, until pStop says stop) when there is none, it
** is due or stale: *ppTok, or why the token endpoint failed in *pzWhy, or
** neither (NULL *ppTok and *pzWhy) when the deadline came first.  SQLITE_OK,
** SQLITE_INTERRUPT when xCancelled said so, or SQLITE_NOMEM; *pnSent
** counts the requests sent. */
int oauth2_token(OAuthToken **ppList, const OAuth2 *p, const Options *o, const Guard *g,
                 const TokenStop *pStop, OAuthToken **ppTok, char **pzWhy, int *pnSent);
/* A 401 refused token number iGen of p: the next oauth2_token fetches anew. */
void oauth2_token_stale(OAuthToken *pList, const OAuth2 *p, unsigned iGen);
void oauth2_tokens_free(OAuthToken *pList);
/* The URL whose origin p's token is for, the only one it goes to: zBaseUrl
** (the options' base_url) if not NULL, else p's audience if it is an http(s)
** URL; NULL: none, and the query is refused (oauth2_check_origin). */
const char *oauth2_origin(const OAuth2 *p, const char *zBaseUrl);
/* SQLITE_OK if p is no oauth2 or knows its origin, else SQLITE_ERROR with
** why in *pzErr (or SQLITE_NOMEM). */
int oauth2_check_origin(const OAuth2 *p, const char *zBaseUrl, char **pzErr);


/**************************************************************************
** formats.c - how a body becomes records (the format option)
*/
/* The format a body is read in, FMT_JSON, _NDJSON, _TEXT or _BLOB: its
** request object's (iFormat, Request's), else eFormat (the options'),
** FMT_AUTO resolved from its Content-Type (NULL: none). */
int format_of(int eFormat, int iFormat, const char *zContentType);
/* The same from a Content-Type (NULL: none): what FMT_AUTO maps it to. */
int format_auto(const char *zContentType);
/* The lines of an NDJSON body (JSON Lines; RFC 7464 JSON text sequences,
** whose record separators are read as white space): each call gives the
** next line that is not blank, and its number from 1. */
typedef struct LineIter LineIter;
struct LineIter {
  const char *z;                 /* The body (not owned) */
  size_t n, pos;                 /* Its length; where the next line starts */
  sqlite3_int64 iLine;           /* Number of the line last given */
};
void lines_begin(LineIter *p, const char *z, size_t n, sqlite3_int64 iLineBase);
int lines_next(LineIter *p, JsonSpan *pLine);
/* A text body as UTF-8: its charset (from zContentType; none: UTF-8)
** checked or converted.  SQLITE_OK with *pzOut NULL when z is UTF-8 as it
** is, or a converted copy (sqlite3_malloc'd, *pnOut bytes); SQLITE_ERROR
** with why in *pzWhy (an unknown charset, bytes that are not text in it);
** SQLITE_NOMEM. */
int format_text(const char *z, size_t n, const char *zContentType, char **pzOut,
                size_t *pnOut, char **pzWhy);

/**************************************************************************
** options.c - the options, and the wide face's arguments
*/
enum { ON_ERROR_ROW = 0, ON_ERROR_SKIP = 1, ON_ERROR_FAIL = 2 };
/* on_mismatch: a value that does not fit its declared column's type */
enum { MISMATCH_KEEP = 0, MISMATCH_NULL = 1, MISMATCH_REJECT = 2 };

/* A value options_redact hides.  Most are hidden wherever they appear; a
** profile's query value only after its parameter's "name=", which stays:
** such values are often short and plain ("per_page": 100), and hidden
** everywhere they would eat digits out of every URL. */
typedef struct Secret Secret;
struct Secret {
  char *zValue;                  /* The secret (owned, not empty) */
  char *zAfter;                  /* NULL, or what it is hidden after (owned) */
};

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
  int adaptive;                  /* Learn each host's limits (hostlimit.c) */
  int breaker;                   /* Consecutive failures that open a host's circuit, 0 off */
  sqlite3_int64 breaker_cooldown_ms;  /* Until an open circuit lets a probe through */
  sqlite3_int64 max_bytes;       /* Largest response body accepted */
  int max_redirects;             /* Redirects followed */
  int on_error;                  /* ON_ERROR_ROW, _SKIP, _FAIL, -1 if not given (vtab.c) */
  int progress;                  /* Progress on stderr: 1, 0, -1 if a terminal */
  int response_headers;          /* Keep the final response's headers (the headers column) */
  /* on_status: a STATUS_* per status 100..599 (aOnCode[status-100]) and
  ** per class 1xx..5xx (aOnClass[status/100-1]); 0 where not named.  Held
  ** by value: a scan's shallow copy of the options owns nothing. */
  unsigned char aOnCode[500];
  unsigned char aOnClass[5];
  char *user_agent;              /* User-Agent header value */
  char *ca_file;                 /* CA bundle to verify TLS with, or NULL */
  char *zCache;                  /* cache: a file, ":memory:", or NULL for none */
  char *zReqLog;                 /* request_log: "[schema.]table" or "file:PATH", or NULL */
  int eCacheMode;                /* cache_mode: CM_* */
  sqlite3_int64 cacheTtlMs;      /* cache_ttl_ms */
  sqlite3_int64 cacheStaleMs;    /* cache_stale_ms */
  sqlite3_int64 cacheMaxBytes;   /* cache_max_bytes, 0 for no cap */
  int bCachePost;                /* cache_post: a POST may be cached (its body is
                                 ** in the key), as GraphQL reads are */
  int eCacheStatuses;            /* cache_statuses: CS_* */
  char **azHeader;               /* "Name: value" lines sent with every request */
  int nHeader;                   /* Number of entries in azHeader */
  Paginate paginate;             /* How to follow pages, if at all */
  char *zBearer;                 /* Bearer token (secrets expanded), or NULL */
  char *zBasic;                  /* "user:password" for Basic auth, or NULL */
  char *zProxy;                  /* proxy URL ("": none, not the environment's), or NULL */
  int bProxyHost;                /* ... given by the host (a profile, the defaults) */
  OAuth2 oauth2;                 /* oauth2: client credentials (oauth.c) */
  char *zNoProxy;                /* no_proxy: hosts reached directly, or NULL */
  int bNoProxyOwn;               /* ... given by the query itself, not by the host */
  char *zUrlTemplate;            /* url_template, or NULL */
  char *zBaseUrl;                /* base_url for relative URLs, or NULL */
  char **azQuery;                /* query: name, value, name, value ... */
  int nQuery;                    /* Entries in azQuery (twice the pairs) */
  Secret *aSecret;               /* What never shows: values read from ${env:NAME},
                                 ** and every credential, header and query value
                                 ** a profile (or the host's defaults) gives */
  int nSecret;                   /* Entries in aSecret */
  /* Where profile names are looked up (set by the caller before parsing):
  ** returns the options JSON of profile zName, or NULL. */
  const char *(*xProfile)(void *pCtx, const char *zName);
  void *pProfileCtx;
  const Guard *pGuard;           /* The connection's limits (for ${env:}), or NULL */
  OAuthToken *const *ppTokens;   /* The connection's OAuth2 tokens (hidden too), or NULL */
  int bInProfile;                /* Parsing a profile (no nested profiles) */
  int bEnvGranted;               /* ... one whose ${env:} were checked when stored */
  int bFromFile;                 /* A table stored in a database file: no ${env:} */
  char *zCredOrigin;             /* Such a table's profile: its credentials go to this
                                 ** origin only ("" for none) */
  KeyPath recordPath;            /* record_path */
  int eFormat;                   /* format: FMT_* */
  struct {                       /* shard "k/n": only starting URLs whose
                                 ** url_index % n is k (source.c) */
    sqlite3_int64 k, n;          /* n is 0 for no shard: every URL */
  } shard;
  /* The wide face's table arguments (knobs.c, KF_TABLE) */
  char *zUrlList;                /* url_list, or NULL */
  char *zUrlQuery;               /* url_query, or NULL */
  char *zColumns;                /* columns, or NULL: inferred */
  int nSample;                   /* sample, -1 for the default */
  char *zSep;                    /* sep, NULL for "_" */
  int maxLevel;                  /* max_level, -1 for all */
  char *zMeta;                   /* meta, or NULL */
  char *zMetaPrefix;             /* meta_prefix, or NULL */
  char *zRecordPrefix;           /* record_prefix, or NULL */
  char *zInputPrefix;            /* input_prefix, or NULL: no input columns */
  int eTimestamps;               /* TS_* */
  int eNumericStrings;           /* NUMSTR_* */
  int eOnMismatch;               /* on_mismatch: MISMATCH_* */
  int maxColumns;                /* max_columns */
};


void options_init(Options *p);
int options_parse(Options *p, const char *zJson, char **pzErr);
void options_clear(Options *p);
/* One CREATE VIRTUAL TABLE argument, key=value: a table argument or an
** option; SQLITE_NOTFOUND, with a message, if it is neither. */
int options_set(Options *p, const char *zKey, const char *zValue, char **pzErr);
/* The arguments of CREATE VIRTUAL TABLE ... USING api_fetch(...) after the
** module's name, "key=value" each, 'quoted' or "quoted" values dequoted:
** a profile first, wherever it is, then each in order; a key given twice
** is an error. */
int options_set_args(Options *p, int nArg, const char *const *azArg, char **pzErr);
/* A headers object into "Name: value" lines: the options' (pOpt, values
** with ${env:} expanded) or a request object's (pOpt NULL); zWhere names it
** in messages. */
int options_parse_headers(Options *pOpt, const struct cJSON *v, const char *zWhere,
                          char ***pazOut, int *pnOut, char **pzErr);
/* z with every secret value (as given and URL-encoded) replaced by
** "[secret]" (after its zAfter, if it has one).  Returns a sqlite3_malloc'd
** copy (or NULL on OOM). */
char *options_redact(const Options *p, const char *z);
/* Has options_redact anything to hide in p: a secret, or an OAuth2 token
** of the connection?  (A token is a secret even when its client's secret
** is "", which is none.)  Where it is false, text may be shown as it is. */
int options_hides(const Options *p);
/* Does p carry credentials a locked connection binds to their origin:
** a secret, or the oauth2 option (whose client secret may be "")? */
int options_has_credentials(const Options *p);
/* Checks across options (after the last options_set). */
int options_check(const Options *p, char **pzErr);
/* The host's credentials in p (a profile's, or the defaults') go only to
** the origin of the base_url they came with ("" for none: nowhere),
** whatever URLs or base_url the query then gives (zCredOrigin). */
int options_bind_credentials(Options *p);

/**************************************************************************
** reqobj.c - one url_list item into a Request
*/
/* The JSON item v (a URL string or a request object) into *pReq, its
** url_index iItem; zList names where it came from ("url_list item",
** "url_query row") in errors.  Called twice per item: to check, to send. */
int request_parse_item(JsonSpan v, const char *zList, sqlite3_int64 iItem, Request *pReq,
                       char **pzErr);
/* The error "api_fetch: <zList> <i>: <zWhy>" into *pzErr (zWhy taken;
** NULL: out of memory): SQLITE_ERROR, or SQLITE_NOMEM. */
int request_item_error(char **pzErr, const char *zList, sqlite3_int64 i, char *zWhy);


/**************************************************************************
** sandbox.c - the url_query of a table stored in a database file
*/
/* A prepare flag of SQLite 3.52: the SQL comes from the schema, keep from it
** what trusted_schema=off keeps from schema code (older versions ignore it). */
#ifndef SQLITE_PREPARE_FROM_DDL
# define SQLITE_PREPARE_FROM_DDL 0x20
#endif
/* Check the program of zSql: SQLITE_OK, or an error with *pzErr naming what
** was refused.  xOwnTable says whether a vtab pointer is one of the
** connection's api_fetch tables. */
int sandbox_check(sqlite3 *db, const char *zSql, int (*xOwnTable)(void*, unsigned long long),
                  void *pOwnCtx, char **pzErr);


/**************************************************************************
** source.c - the stream of requests of a scan
*/
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

/* One row of url_query: a URL, or a request object as JSON text.  Checked
** like a url_list item, option headers merged. */
int request_from_text(const char *z, size_t n, sqlite3_int64 iIndex,
                      const Options *pOpt, Request *pReq, char **pzErr);
/* Why a url_template value could not be had (xValue's *piWhy). */
#define TEMPLATE_MISSING    1     /* no such parameter, or NULL */
#define TEMPLATE_NUL        2     /* it holds a NUL character */
#define TEMPLATE_NOT_SCALAR 3     /* an object or an array */


typedef struct QuerySpec QuerySpec;
struct QuerySpec {               /* A url_query to read requests from */
  sqlite3 *db;                   /* The connection to run it on */
  const char *zSql;              /* The SELECT */
  int bFromFile;                 /* Its table is stored in a file: sandboxed */
  int *pnQueryDepth;             /* url_query steps under way on the connection */
  int *pbInQuery;                /* Its table's flag: stepping its own url_query */
  /* Is vtab pointer v one of the connection's api_fetch tables? */
  int (*xOwnTable)(void *pCtx, unsigned long long v);
  void *pOwnCtx;
};
typedef struct RequestStream RequestStream;
struct RequestStream {
  const Options *pOpt;           /* The scan's options (not owned) */
  UrlList list;                  /* url_list being read, or */
  sqlite3 *db;                   /* ... url_query being read on db */
  sqlite3_stmt *pQuery;
  sqlite3_int64 nQueryRow;       /* Rows read from pQuery */
  int *pnQueryDepth, *pbInQuery; /* See QuerySpec */
  int (*xOwnTable)(void*, unsigned long long);
  void *pOwnCtx;
  PageQueue pages;               /* Pages found, still to request */
  Request pending;               /* A request read ahead (stream_replay) */
  int bPending;
  sqlite3_int64 nLeft;           /* Starting requests still to give, -1 for all */
  int bEnd;                      /* The starting requests are all given: a
                                 ** url_query is not stepped past its end (that
                                 ** would run it again from its first row) */
};
int stream_open_list(RequestStream *s, const Options *pOpt, const char *z, size_t n,
                     char **pzErr);
int stream_open_query(RequestStream *s, const Options *pOpt, const QuerySpec *q,
                      char **pzErr);
/* 1 with the next request, 0 at the end, -1 with *pzErr on error. */
int stream_next(RequestStream *s, Request *pReq, char **pzErr);
/* The pages after response r (pagination); *pbMore if any are queued. */
int stream_follow(RequestStream *s, Response *r, JsonSpan root, int bEmpty, int *pbMore);
/* Move the sampled responses that match the stream's first requests from
** *ppSample to *ppGive (the wide face's first scan). */
int stream_replay(RequestStream *s, Response **ppSample, Response **ppGive, char **pzErr);
/* The number of starting requests, or -1 if not known in advance. */
sqlite3_int64 stream_total(const RequestStream *s);
void stream_close(RequestStream *s);

/**************************************************************************
** cachekey.c - a request as the cache sees it
*/
/* q's key in store pCache (CACHE_KEY_SIZE bytes into aKey): the method,
** URL, body, credentials, user agent, proxy, and every header but those
** known to say nothing of who asks (ids, traces, the request's own
** directives and validators, Accept*: Vary's business). */
void cachekey_of(const Options *o, CacheStore *pCache, const Request *q, unsigned char *aKey);
/* q's own Cache-Control and Pragma (RFC 9111 section 5.2.1) into *pRq.
** SQLITE_OK or SQLITE_NOMEM. */
int cachekey_directives(const Request *q, CacheRequest *pRq);


/**************************************************************************
** hostlimit.c - per host (origin): what the engine learns of its limits,
** and its statistics; a fixed table, no allocation per request
*/
#define APIFETCH_MAX_HOSTS 32    /* Hosts of their own; more share the last entry */
#define HOST_ORIGIN_MAX 120      /* "scheme://host:port", cut to this */
#define HOST_LAT_BUCKETS 128     /* Latency histogram: four buckets a doubling of us */
enum { BRK_CLOSED, BRK_OPEN, BRK_HALF };                     /* Host.eBreaker */
enum { HELD_NONE, HELD_BUDGET, HELD_PACE, HELD_WINDOW, HELD_PROBE };   /* Host.eHeld */
typedef struct Host Host;
struct Host {
  char zOrigin[HOST_ORIGIN_MAX]; /* "http://example.com:80"-like, lower case */
  /* Statistics (api_fetch_host_stats) */
  sqlite3_int64 nRequest;        /* Requests sent: attempts and redirect hops */
  sqlite3_int64 aClass[5];       /* Responses 1xx .. 5xx */
  sqlite3_int64 n429;            /* Of them 429 */
  sqlite3_int64 nRetry;          /* Attempts after the first */
  sqlite3_int64 nError;          /* Requests that ended in an error row */
  sqlite3_int64 nBytes;          /* Response body bytes */
  unsigned int aLat[HOST_LAT_BUCKETS];   /* Attempts by total time */
  sqlite3_int64 latMaxUs;        /* The longest attempt, us */
  sqlite3_int64 waitMs;          /* Time requests were held for its limits */
  sqlite3_int64 nTrip;           /* Times its breaker opened */
  /* The adaptive window (AIMD) */
  int nWindow;                   /* Requests in flight it may have */
  int bMux;                      /* Answered over HTTP/2: streams, not connections */
  int nGrow;                     /* Successes since the window last grew */
  int nInFlight;                 /* Requests in flight now */
  /* The budget its rate-limit fields tell */
  int bBudget;                   /* It tells one */
  sqlite3_int64 nLeft;           /* Starts left before tReset */
  sqlite3_int64 nLimit;          /* A window's budget, 0 if not told */
  sqlite3_int64 windowMs;        /* A window's length, 0 if not told */
  sqlite3_int64 tReset;          /* When the window resets, ms (clock_ms) */
  sqlite3_int64 tNext;           /* The next start not before this, ms */
  /* Pace from 429s without fields */
  double pace;                   /* Starts per second, 0: none */
  sqlite3_int64 tCut;            /* Last decrease, ms */
  sqlite3_int64 tFirst;          /* First start, ms */
  int aAcc[10];                  /* Accepted requests per 100 ms, a ring */
  sqlite3_int64 iAcc;            /* The 100 ms period of aAcc's newest entry */
  /* The breaker */
  int eBreaker;                  /* BRK_* */
  int nFail;                     /* Consecutive failures */
  int bProbe;                    /* BRK_HALF: the probe is out */
  sqlite3_int64 tOpen;           /* When it opened, ms */
  sqlite3_int64 tHeld;           /* Since when a request waits for it, or 0 */
  int eHeld;                     /* Why: HELD_* */
};
typedef struct HostTable HostTable;
struct HostTable {
  Host aHost[APIFETCH_MAX_HOSTS];
  int nHost;                     /* Entries of aHost in use */
  short aSlot[2*APIFETCH_MAX_HOSTS];   /* Open addressing: index+1 into aHost, 0 free */
  int nCap;                      /* The largest window: concurrency or per_host */
  int nCapMux;                   /* ... of a host that multiplexes: concurrency */
  int bAdaptive;                 /* Options.adaptive */
  int nBreaker;                  /* Options.breaker */
  sqlite3_int64 cooldownMs;      /* Options.breaker_cooldown_ms */
};
void hosts_init(HostTable *p, int nCap, int nCapMux, const Options *pOpt);
/* The index of zUrl's host, added if new (past the cap: the shared one). */
int host_find(HostTable *p, const char *zUrl);
/* Latency quantile q (0.5, 0.95, 1 for the max) of h's attempts, ms. */
double host_latency_ms(const Host *h, double q);
sqlite3_int64 hosts_wait_ms(const HostTable *p, sqlite3_int64 now);
/* For the progress line: ", held back by HOST's rate limit" into z when a
** host holds requests back for a limit its server set, else "". */
void hosts_held_text(const HostTable *p, char *z, int n);
void hosts_merge(HostTable *pTo, const HostTable *pFrom);

/**************************************************************************
** keep.c - libcurl's handles kept between the statements of a connection:
** the multi handle (connections) and the share (DNS, TLS sessions).  keep.c
** says why these and how they stay bounded and safe with the guard.
*/
typedef struct Keep Keep;
struct Keep {
  CURLM *multi;                  /* Kept connections, or NULL */
  CURLSH *share;                 /* Kept DNS and TLS session caches, or NULL */
  unsigned iGen;                 /* Guard.iGen they were made under */
  sqlite3_int64 tIdle;           /* When last given back, ms */
  int bTaken;                    /* An engine holds them */
  OAuthToken *pTokens;           /* OAuth2 tokens of the connection (oauth.c) */
};
#define APIFETCH_KEEP_IDLE_MS 60000   /* Kept handles idle longer are closed */
#define APIFETCH_KEEP_MAX_CONNS 64    /* A statement's window over this: not kept */
/* Handles for an engine: k's (*pbKept 1), dropped and made afresh first if
** g changed or they idled too long; or fresh ones of its own (*pbKept 0)
** when k is NULL or taken.  SQLITE_OK or SQLITE_NOMEM. */
int keep_take(Keep *k, const Guard *g, CURLM **pMulti, CURLSH **pShare, int *pbKept);
/* The engine is done with them (its window was nWindow transfers; bDrop:
** its transfers met a failure, and nothing of them is to be trusted). */
void keep_give(Keep *k, CURLM *multi, CURLSH *share, int bKept, int nWindow, int bDrop);
/* Close what k keeps (the connection closes). */
void keep_clear(Keep *k);

/**************************************************************************
** engine.c - the curl_multi scheduler, and transfer.c - one transfer.
** The two structs are theirs alone; the rest of the extension sees an
** Engine only through the functions below.
*/
typedef struct Engine Engine;          /* engine_int.h: the engine row's alone */

/* One attempt as the engine saw it, for RequestSource.xAttempt.  Told for:
** every request libcurl finished (each attempt, retries included, each
** redirect hop, a conditional request the cache revalidated with, one the
** guard refused on the way, one the deadline cut short); and for an answer
** with no request (iAttempt 0): a cache hit, a page that could not be
** followed.  Not for a request never started (after the deadline).  All
** pointers are the engine's, valid during the call only. */
enum { PHASE_DNS, PHASE_CONNECT, PHASE_TLS, PHASE_FIRST_BYTE, PHASE_TOTAL, PHASE_COUNT };
typedef struct AttemptInfo AttemptInfo;
struct AttemptInfo {
  const Request *pReq;           /* The request (url_index, page) */
  const char *zUrl;              /* The URL asked: a redirect hop's own (not redacted) */
  const char *zMethod;           /* The method sent */
  int iAttempt;                  /* 1 for the first attempt; 0: nothing was sent */
  long status;                   /* HTTP status, 0 for none */
  const char *zError;            /* Why this attempt failed, or NULL */
  int eCache;                    /* CACHE_*: CACHE_NONE without a cache */
  /* libcurl's CURLINFO_*_TIME_T: microseconds from the start of the
  ** request to the end of each phase; -1 for a phase not gone through
  ** (no request, a reused connection, no TLS). */
  sqlite3_int64 aPhaseUs[PHASE_COUNT];
  sqlite3_int64 nBytes;          /* Body bytes received (or given by the cache) */
};
/* Where the engine takes requests from. */
typedef struct RequestSource RequestSource;
struct RequestSource {
  void *pCtx;
  int (*xNext)(void *pCtx, Request *pReq, char **pzErr);  /* as urllist_next */
  /* Has the query been stopped (sqlite3_interrupt, a time limit)?  Asked
  ** at least every APIFETCH_CANCEL_CHECK_MS while the engine waits; may be
  ** NULL. */
  int (*xCancelled)(void *pCtx);
  /* The engine waits with nothing completed: told after each xCancelled
  ** that said no, so that a progress line is not held up by one slow
  ** transfer.  May be NULL. */
  void (*xWaiting)(void *pCtx);
  /* An attempt is over (see AttemptInfo for which): told once each, in the
  ** order they end.  An error code (with *pzErr) fails the statement.  May
  ** be NULL, and is unless request_log is set: no cost then. */
  int (*xAttempt)(void *pCtx, const AttemptInfo *p, char **pzErr);
  /* CREATE's sample: a streamed body's first part is all it reads, the
  ** transfer then ends (its last response an error the sample drops). */
  int bFirstPart;
};
#define APIFETCH_CANCEL_CHECK_MS 100



/* pGuard (may be NULL), pKeep (NULL: nothing kept), pBudget and pCache
** (NULL: no cache) must outlive the engine. */
Engine *engine_new(const Options *pOpt, const Guard *pGuard, Keep *pKeep, Budget *pBudget,
                   CacheStore *pCache, RequestSource src, char **pzErr);
/* SQLITE_ROW with *ppResp (caller frees), SQLITE_DONE, SQLITE_INTERRUPT
** when src.xCancelled says so, or an error code with *pzErr set. */
int engine_next(Engine *p, Response **ppResp, char **pzErr);
void engine_free(Engine *p);
/* The source has more requests after all (pages found later). */
void engine_wake(Engine *p);
/* Transfers the engine lets be in flight at once: concurrency unless it was
** capped, then *pzCapped names what capped it ("max_concurrency", "the
** open-file limit"), else NULL. */
int engine_window_size(const Engine *p, const char **pzCapped);
/* File descriptors kept free for the host when the window is sized. */
#define APIFETCH_FD_RESERVE 64
/* Milliseconds new requests have waited for the rate limit so far, and
** for the hosts' limits (summed over hosts). */
sqlite3_int64 engine_rate_wait_ms(const Engine *p);
/* The scan's hosts. */
const HostTable *engine_hosts(const Engine *p);

/**************************************************************************
** conn.c - per-connection state: limits, profiles, counters
*/
enum {
  STAT_URLS, STAT_ROWS, STAT_RECORDS, STAT_REQUESTS, STAT_RETRIES, STAT_BYTES,
  STAT_ERRORS, STAT_ERR_HTTP, STAT_ERR_TIMEOUT, STAT_ERR_NETWORK, STAT_ERR_TOO_BIG,
  STAT_ERR_BODY, STAT_ERR_DEADLINE, STAT_RATE_WAIT_MS, STAT_ELAPSED_MS,
  STAT_EXTRA_KEYS, STAT_TYPE_MISMATCHES, STAT_MISMATCHES_NULLED, STAT_RECORDS_REJECTED,
  STAT_INTERRUPTED, STAT_WINDOW, STAT_OPEN_FILES,
  STAT_CACHE_HITS, STAT_CACHE_REVALIDATED, STAT_CACHE_STALE, STAT_CACHE_MISSES,
  STAT_CACHE_BYTES_SAVED, STAT_COUNT
};

typedef struct Profile Profile;
struct Profile {
  char *zName;                   /* Its name */
  char *zJson;                   /* The options object, checked when stored */
};

typedef struct Conn Conn;
struct Conn {
  sqlite3 *db;                   /* The connection */
  int nRef;                      /* Registrations holding this (conn_release) */
  Conn *pNextConn;               /* Next in the process-wide list */
  Guard guard;                   /* Limits (guard.c) */
  Profile *aProfile;             /* Profiles, unordered */
  int nProfile;
  sqlite3_int64 aStat[STAT_COUNT];  /* Counters of the current or last scan */
  int nScan;                     /* Scans running now */
  void *pTableList;              /* api_fetch tables of the connection (vtab.c) */
  int nWindow;                   /* api_fetch cursors open now (conn_window_*) */
  Budget budget;                 /* The limits' counters for the open window */
  char *zDefaults;               /* Options every query starts from, or NULL */
  char *zDefaultCache;           /* Their cache: the one a locked connection may use */
  CacheStore *pStores;           /* Caches opened on this connection, kept open */
  HostTable hosts;               /* The last statement's hosts (api_fetch_host_stats) */
  Keep keep;                     /* libcurl's handles between statements (keep.c) */
};

/* The Conn of db, made (with APIFETCH_CONFIG applied) if it has none yet;
** the caller holds one reference, dropped with conn_release. */
int conn_attach(sqlite3 *db, Conn **ppConn, char **pzErr);
void conn_ref(Conn *p);
void conn_release(void *p);
/* Apply settings (a JSON object: guard.c's and "profiles"), all or nothing. */
int conn_configure(Conn *p, const char *zJson, char **pzErr);
void profiles_clear(Conn *p);
/* A budget window is open while any api_fetch cursor is: a statement opens
** its cursors once and filters them once per row of a join, so the window
** spans the statement (and any statement that runs while it is open). */
void conn_window_enter(Conn *p);
void conn_window_leave(Conn *p);
/* Options.xProfile: the options JSON of profile zName, or NULL. */
const char *conn_profile(void *pCtx, const char *zName);
/* Make o (options_init'ed) this connection's: its profiles, its limits,
** the host's defaults applied.  The query's own options come after. */
int conn_options_start(Conn *p, Options *o, char **pzErr);
/* The cache o names, opened (once per connection), or *pp NULL for none;
** an error if the guard does not allow it. */
int conn_cache(Conn *p, const Options *o, CacheStore **pp, char **pzErr);
/* conn_cache_named for api_fetch_cache and _prune (zFunc): the cache must
** be one already (not a missing file, an empty one or another database,
** which is left as it was); "" is refused.  bWrite 0 (a listing): a file
** this connection does not have open is opened read-only for the caller
** alone, *pbOwn set, and the caller closes it (cachestore_close). */
int conn_cache_existing(Conn *p, const char *zFunc, const char *zName, int bWrite,
                        CacheStore **pp, int *pbOwn, char **pzErr);
/* The same for a cache named in SQL (zName NULL: the host's default),
** opened as eOpen says (a CACHE_OPEN_*; CACHE_OPEN_READ: not kept). */
int conn_cache_named(Conn *p, const char *zName, int bFromFile, int eOpen, CacheStore **pp,
                     char **pzErr);
void conn_config_func(sqlite3_context*, int, sqlite3_value**);   /* api_fetch_config */
void conn_profile_func(sqlite3_context*, int, sqlite3_value**);  /* api_fetch_profile */
extern sqlite3_module conn_stats_module;                          /* api_fetch_stats */
extern sqlite3_module conn_options_module;                        /* api_fetch_options */

/* A scan's place in the counters, and its progress line. */
typedef struct ScanReport ScanReport;
struct ScanReport {
  int bCounted;                  /* Counted in Conn.nScan */
  sqlite3_int64 tStart;          /* When the scan started, ms */
  sqlite3_int64 tShown;          /* When a progress line was last shown, or 0 */
  int bShow;                     /* Progress lines are shown */
  int bAsked;                    /* progress: true (a last line always) */
};
/* bAsked: the progress option (1, 0, or -1: if stderr is a terminal). */
void conn_scan_begin(Conn *p, ScanReport *r, int bAsked);
void conn_scan_end(Conn *p, ScanReport *r);
void conn_count_response(Conn *p, const Response *r);
void conn_count_row(Conn *p, int bRecord, int nExtra, int nMismatch);
/* on_mismatch's work on one record: values nulled, or the record rejected. */
void conn_count_mismatch(Conn *p, int nNulled, int bRejected);
/* Update the live counters; print a progress line if one is due.  nTotal:
** the URLs of the scan, -1 if not known. */
void conn_scan_report(Conn *p, ScanReport *r, const Engine *e, sqlite3_int64 nTotal, int bEnd);


/**************************************************************************
** reqlog.c - request_log: a row per attempt, for the scan (scan.c)
*/
typedef struct ReqLog ReqLog;
/* The log o->zReqLog names, ready to take rows (*pp NULL if o names none):
** the guard checked, the table made or its shape checked, a run id drawn.
** db is the connection whose database a table name means. */
int reqlog_open(Conn *pConn, sqlite3 *db, const Options *o, ReqLog **pp, char **pzErr);
/* One row for attempt a: kept, and written with the rows before it once
** enough have gathered. */
int reqlog_attempt(ReqLog *p, const AttemptInfo *a, char **pzErr);
/* Write the rows gathered so far. */
int reqlog_flush(ReqLog *p, char **pzErr);
/* Flush what is left (best effort: the caller could not report an error)
** and free p; NULL is a no-op. */
void reqlog_close(ReqLog *p);

/**************************************************************************
** hoststats.c - api_fetch_host_stats (a row per host of the last
** statement); its pAux is the Conn
*/
extern sqlite3_module hoststats_module;

/**************************************************************************
** cachesql.c - api_fetch_cache (a table of the entries) and
** api_fetch_cache_prune(); their pAux and user data are the Conn
*/
extern sqlite3_module cachesql_module;
void cachesql_prune_func(sqlite3_context*, int, sqlite3_value**);

/**************************************************************************
** vtab.c - the api_fetch module (both faces); its pAux is the Conn
*/
extern sqlite3_module vtab_fetch_module;
const Schema *vtab_wide_schema(Conn *pConn, const char *zSchema, const char *zName);

/**************************************************************************
** columns.c - api_fetch_columns(table): a wide table's columns as the
** text of a columns= argument; its user data is the Conn
*/
void columns_func(sqlite3_context *ctx, int argc, sqlite3_value **argv);

/**************************************************************************
** create.c - api_fetch_create(name, arguments): CREATE VIRTUAL TABLE from a
** JSON object of arguments; its user data is the Conn
*/
void create_func(sqlite3_context *ctx, int argc, sqlite3_value **argv);

#endif /* APIFETCH_H */
