/*
** cache.h - the store of the persistent HTTP cache (cache.c): a SQLite
** database on a connection of apifetch's own.  When to look up, store or
** revalidate is the engine's business (cacheflow.c); what is fresh or
** storable is httpcache.c's.  Included only by the files that use the
** store: cache.c, cacheflow.c and engine.c (through engine_int.h),
** cachesql.c and conn.c.
*/
#ifndef APIFETCH_CACHE_H
#define APIFETCH_CACHE_H
#include "apifetch.h"

#define CACHE_KEY_SIZE SHA256_SIZE

struct CacheStore {
  char *zName;                   /* As the option named it; ":memory:" for none */
  sqlite3 *db;                   /* apifetch's own connection to it */
  unsigned char aSalt[16];       /* Per file, random: keys mean nothing elsewhere */
  sqlite3_stmt *pGet, *pPut, *pRefresh, *pTouch, *pDrop, *pEvict, *pInvalidate;
  sqlite3_int64 *aTouch;         /* Entries hit, their last_used not yet written */
  int nTouch, nTouchAlloc;
  CacheStore *pNext;             /* Next of the connection's open stores (conn.c) */
};

/* What a request is, for its key (RFC 9111 section 4.1: the method and
** the URL; and what keeps two identities apart, credentials first).  The
** headers the response's Vary names are matched apart (the vary column).
** Which header lines are keyed is the caller's rule (xKeyed). */
typedef struct CacheKeyParts CacheKeyParts;
struct CacheKeyParts {
  const char *zMethod;           /* NULL: GET, or POST with a body */
  const char *zUrl;
  const char *pBody;             /* May be NULL */
  size_t nBody;
  const struct curl_slist *pHeaders;   /* Every header sent, in order */
  int (*xKeyed)(void*, const char *zLine);  /* 1: this "Name: value" line is keyed */
  void *pKeyedCtx;
  const char *zBearer, *zBasic;  /* Credentials sent, or NULL */
  const char *zUserAgent;
  const char *zProxy;            /* The proxy, credentials and all, or NULL (then
                                 ** not in the key: keys without one unchanged) */
};

/* A stored response. */
typedef struct Cached Cached;
struct Cached {
  long status;
  char *zContentType;            /* Or NULL */
  char *zHeaders;                /* Its header lines, "Name: value\r\n" each,
                                 ** Set-Cookie left out; or NULL */
  char *zFinalUrl;               /* Where redirects led (Response.zFinalUrl), or NULL */
  char *zAddress;                /* The IP address the body came from, as text
                                 ** (CURLINFO_PRIMARY_IP), or NULL if not known */
  sqlite3_int64 tStored;         /* Unix ms: stored, or last confirmed by a 304 */
  sqlite3_int64 tFreshUntil;     /* Unix ms: fresh until then, by its headers, or
                                 ** by cache_ttl_ms if stored under ttl (if later) */
  sqlite3_int64 tStaleUntil;     /* Unix ms: may be served stale on an error until
                                 ** then; -1 never (must-revalidate, no-cache) */
  char *pBody;                   /* NUL-terminated; nBody bytes */
  size_t nBody;
  sqlite3_int64 iId;              /* Its row (cachestore_get) */
  int bVary;                     /* The response had Vary: aVary is set */
  unsigned char aVary[CACHE_KEY_SIZE];  /* cachestore_vary_key of the request that
                                 ** fetched it, over the names its Vary lists */
};

/* How cachestore_open treats the file it is given. */
#define CACHE_OPEN_MAKE  0   /* the cache option: create it, or make an empty database a cache */
#define CACHE_OPEN_WRITE 1   /* a cache already (pruning); anything else is left as it was */
#define CACHE_OPEN_READ  2   /* the same, read-only (listing): the store writes nothing */
int cachestore_open(const char *zName, int eOpen, CacheStore **pp, char **pzErr);
void cachestore_close(CacheStore *p);
void cachestore_key(const CacheStore *p, const CacheKeyParts *k,
                    unsigned char aKey[CACHE_KEY_SIZE]);
/* The entry of key aKey whose Vary the request's headers (and user agent)
** match: SQLITE_ROW with *pOut filled, SQLITE_DONE if none, or an error. */
int cachestore_get(CacheStore *p, const unsigned char *aKey,
                   const struct curl_slist *pHeaders, const char *zUserAgent,
                   Cached *pOut, char **pzErr);
/* Store (or replace) an entry; evict least recently used entries while
** the store holds more than maxBytes of bodies (0: no cap). */
int cachestore_put(CacheStore *p, const unsigned char *aKey, const char *zUrlShown,
                   const char *zMethod, const Cached *c, sqlite3_int64 maxBytes,
                   char **pzErr);
/* A 304 made the entry fresh again: new times (tStored is now when it was
** confirmed), header lines, final URL and Vary hash. */
int cachestore_refresh(CacheStore *p, const unsigned char *aKey, const Cached *c,
                       char **pzErr);
/* Section 4.1: the request's values of the header fields the list zVary
** names (a response's Vary), hashed with the store's salt: a stored
** response answers a request only where the two agree. */
void cachestore_vary_key(const CacheStore *p, const char *zVary,
                         const struct curl_slist *pHeaders, const char *zUserAgent,
                         unsigned char aKey[CACHE_KEY_SIZE]);
/* Section 4.4: forget every entry stored for zUrlShown (as the url column
** shows it), after an unsafe method succeeded there. */
int cachestore_invalidate(CacheStore *p, const char *zUrlShown, char **pzErr);
/* A hit: the entry was used now (written in batches, cachestore_flush). */
int cachestore_touch(CacheStore *p, sqlite3_int64 iId);
int cachestore_flush(CacheStore *p);
void cached_clear(Cached *p);
/* The value of header zName in a block of header lines, several lines
** joined by ", "; NULL if absent (*pbOom on out of memory). */
char *cached_header(const char *zHeaders, const char *zName, int *pbOom);
/* Wall-clock time, unix ms: what the cache's times are in. */
sqlite3_int64 cache_now_ms(void);

#endif /* APIFETCH_CACHE_H */
