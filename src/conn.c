/*
** conn.c - what apifetch keeps per database connection: the limits (guard.c),
** the profiles, the counters of the last scan, and the budget window that
** the limits are counted in.
**
**   SELECT api_fetch_config('{"allow_hosts": ["api.example.com"], "lock": true,
**                             "profiles": {"crm": {"base_url": "https://crm.example.com/"}}}');
**   SELECT api_fetch_profile('gh', '{"base_url": "https://api.github.com/"}');
**   SELECT name, value FROM api_fetch_stats();
**
** One Conn is shared by every function and module that apifetch registers
** on a connection; each registration holds a reference, so the Conn lives
** until the last of them is dropped (the connection closes).  Loading the
** extension again into the same connection finds the Conn it already has
** (a process-wide list, keyed by the connection), so profiles and limits
** survive a second load.
*/
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "apifetch.h"
#include "cache.h"

/**************************************************************************
** The counters of api_fetch_stats(), a row per STAT_* (apifetch.h) in its
** order: name and help as the table shows them.  The length check below and
** statsColumn's assert catch a row missing or out of place.
*/
static const struct StatInfo {
  int eStat;                     /* STAT_*: its index in aStatInfo */
  const char *zName, *zAbout;    /* The name and about columns */
} aStatInfo[] = {
  { STAT_URLS, "urls", "URLs answered (a response or an error)" },
  { STAT_ROWS, "rows", "rows returned" },
  { STAT_RECORDS, "records", "records returned" },
  { STAT_REQUESTS, "requests", "HTTP requests sent, retries included" },
  { STAT_RETRIES, "retries", "requests that were retries" },
  { STAT_BYTES, "bytes", "response body bytes received" },
  { STAT_ERRORS, "errors", "URLs that gave an error (the errors_* below by kind)" },
  { STAT_ERR_HTTP, "errors_http", "an HTTP status of 400 or more (or below 200)" },
  { STAT_ERR_TIMEOUT, "errors_timeout", "timeout_ms or connect_timeout_ms ran out" },
  { STAT_ERR_NETWORK, "errors_network", "connection, DNS, TLS, protocol or redirect failure" },
  { STAT_ERR_TOO_BIG, "errors_too_big", "the body was over max_bytes" },
  { STAT_ERR_BODY, "errors_body", "the body was not JSON, did not fit record_path, or named a "
    "next page that cannot be followed" },
  { STAT_ERR_DEADLINE, "errors_deadline", "deadline_ms ran out" },
  { STAT_RATE_WAIT_MS, "rate_wait_ms", "milliseconds new requests waited for the rate limit" },
  { STAT_ELAPSED_MS, "elapsed_ms", "milliseconds since the scan started" },
  { STAT_EXTRA_KEYS, "extra_keys", "values that had no column and went to _extra" },
  { STAT_TYPE_MISMATCHES, "type_mismatches", "values that did not fit their column's type" },
  { STAT_MISMATCHES_NULLED, "mismatches_nulled", "of those, values on_mismatch 'null' made "
    "NULL" },
  { STAT_RECORDS_REJECTED, "records_rejected", "records on_mismatch 'reject' made error rows "
    "(or skipped, or failed the statement, as on_error says)" },
  { STAT_INTERRUPTED, "interrupted", "1 if the scan was stopped by sqlite3_interrupt or a time "
    "limit" },
  { STAT_WINDOW, "window", "transfers allowed in flight at once: concurrency, unless "
    "max_concurrency or the open-file limit capped it" },
  { STAT_OPEN_FILES, "open_files_limit", "the process's limit on open files (-1: none) when "
    "the scan started: a transfer may hold 2, so the window is at most half of what is left "
    "less 64; raise it with ulimit -n (or LimitNOFILE=) for a larger window" },
  { STAT_CACHE_HITS, "cache_hits", "URLs answered from the cache without a request" },
  { STAT_CACHE_REVALIDATED, "cache_revalidated", "URLs whose stored copy the server confirmed "
    "(304 Not Modified)" },
  { STAT_CACHE_STALE, "cache_stale", "URLs answered with a stale stored copy because the fetch "
    "failed (or offline)" },
  { STAT_CACHE_MISSES, "cache_misses", "URLs the cache could not answer, fetched (and stored if "
    "allowed)" },
  { STAT_CACHE_BYTES_SAVED, "cache_bytes_saved", "body bytes the cache gave instead of the "
    "network" },
};
_Static_assert(ArraySize(aStatInfo)==STAT_COUNT, "a STAT_* without its row in aStatInfo");

/**************************************************************************
** The process-wide list of Conns, so that a second load finds its Conn.
** Guarded by a mutex: connections in several threads load at once.
*/
static pthread_mutex_t connMutex = PTHREAD_MUTEX_INITIALIZER;
static Conn *pConnList = 0;

int conn_attach(sqlite3 *db, Conn **ppConn, char **pzErr){
  Conn *p;
  pthread_mutex_lock(&connMutex);
  for(p=pConnList; p && p->db!=db; p=p->pNextConn){}
  if( p ) p->nRef++;
  pthread_mutex_unlock(&connMutex);
  if( p ){
    /* Loaded again: the settings stay as they are (APIFETCH_CONFIG was
    ** applied at the first load, and the connection may be locked since). */
    *ppConn = p;
    return SQLITE_OK;
  }
  p = sqlite3_malloc(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->nRef = 1;
  {
    const char *zEnv = getenv("APIFETCH_CONFIG");
    if( zEnv && zEnv[0] ){
      char *zErr = 0;
      int rc = conn_configure(p, zEnv, &zErr);
      if( rc ){
        /* A host that asked for limits must not get a connection without
        ** them: the load fails. */
        *pzErr = sqlite3_mprintf("apifetch: APIFETCH_CONFIG: %s", zErr ? zErr : "out of memory");
        sqlite3_free(zErr);
        guard_clear(&p->guard);
        profiles_clear(p);
        sqlite3_free(p);
        return SQLITE_ERROR;
      }
    }
  }
  pthread_mutex_lock(&connMutex);
  p->pNextConn = pConnList;
  pConnList = p;
  pthread_mutex_unlock(&connMutex);
  *ppConn = p;
  return SQLITE_OK;
}

void conn_ref(Conn *p){
  pthread_mutex_lock(&connMutex);
  p->nRef++;
  pthread_mutex_unlock(&connMutex);
}

static void conn_caches_close(Conn *p){
  CacheStore *s, *sNext;
  for(s=p->pStores; s; s=sNext){ sNext = s->pNext; cachestore_close(s); }
  p->pStores = 0;
}

/* The destructor of every registration (and of conn_attach's reference). */
void conn_release(void *pArg){
  Conn *p = (Conn*)pArg, **pp;
  int bFree;
  pthread_mutex_lock(&connMutex);
  assert( p->nRef>0 );
  bFree = --p->nRef==0;
  if( bFree ){
    for(pp=&pConnList; *pp && *pp!=p; pp=&(*pp)->pNextConn){}
    if( *pp ) *pp = p->pNextConn;
  }
  pthread_mutex_unlock(&connMutex);
  if( !bFree ) return;
  keep_clear(&p->keep);          /* its connections close (keep.c) */
  guard_clear(&p->guard);
  profiles_clear(p);
  conn_caches_close(p);
  sqlite3_free(p->zDefaults);
  sqlite3_free(p->zDefaultCache);
  sqlite3_free(p);
}

/**************************************************************************
** Caches: opened when a query first names one, kept while the connection
** is open (a ":memory:" cache lives exactly that long).
*/
/* The store of zName this connection has open, or NULL. */
static CacheStore *conn_store_find(Conn *p, const char *zName){
  CacheStore *s;
  for(s=p->pStores; s && strcmp(s->zName, zName)!=0; s=s->pNext){}
  return s;
}

int conn_cache_named(Conn *p, const char *zName, int bFromFile, int eOpen, CacheStore **pp,
                     char **pzErr){
  CacheStore *s;
  int rc;
  *pp = 0;
  if( zName==0 ) zName = p->zDefaultCache;
  if( zName==0 ){
    *pzErr = sqlite3_mprintf("api_fetch: no cache named, and the host set none "
                             "(api_fetch_config's defaults)");
    return SQLITE_ERROR;
  }
  if( (p->guard.bLocked || bFromFile)
   && (p->zDefaultCache==0 || strcmp(p->zDefaultCache, zName)!=0) ){
    /* A cache file is a file written: SQL from someone else, or a table
    ** stored in someone else's file, gets only the host's. */
    *pzErr = sqlite3_mprintf("api_fetch: cache \"%s\" is not allowed: %s", zName,
        bFromFile ? "a table stored in a database file may not name a cache (it would "
                    "write a file); the host's default cache, if any, applies"
                  : "the settings of this connection are locked (the host names the "
                    "cache in api_fetch_config's defaults)");
    return SQLITE_ERROR;
  }
  s = conn_store_find(p, zName);
  if( s==0 ){
    /* ":memory:" is the connection's own: there is no file to spare. */
    if( strcmp(zName, ":memory:")==0 ) eOpen = CACHE_OPEN_MAKE;
    rc = cachestore_open(zName, eOpen, &s, pzErr);
    if( rc ) return rc;
    if( eOpen==CACHE_OPEN_READ ){          /* the caller's alone, kept by no one */
      *pp = s;
      return SQLITE_OK;
    }
    s->pNext = p->pStores;
    p->pStores = s;
  }
  *pp = s;
  return SQLITE_OK;
}

/* Where the cache is the host's (locked settings, or a table stored in a
** file), so is the policy that writes to it: a query that stored under ttl
** with a ttl of 285,000 years, or with a cap of 200 bytes, would pin a
** no-store response for every other user of the file, or empty it. */
static int cache_policy_check(Conn *p, const Options *o, char **pzErr){
  Options d;
  const char *zWhich = 0;
  int rc;
  options_init(&d);
  rc = conn_options_start(p, &d, pzErr);
  if( rc==SQLITE_OK ){
    if( o->eCacheMode!=d.eCacheMode ) zWhich = "cache_mode";
    else if( o->cacheTtlMs!=d.cacheTtlMs ) zWhich = "cache_ttl_ms";
    else if( o->cacheStaleMs!=d.cacheStaleMs ) zWhich = "cache_stale_ms";
    else if( o->cacheMaxBytes!=d.cacheMaxBytes ) zWhich = "cache_max_bytes";
    else if( o->eCacheStatuses!=d.eCacheStatuses ) zWhich = "cache_statuses";
  }
  options_clear(&d);
  if( rc==SQLITE_OK && zWhich ){
    *pzErr = sqlite3_mprintf("api_fetch: %s may not be set here: %s", zWhich,
        o->bFromFile ? "a table stored in a database file uses the host's cache with the "
                       "host's policy (api_fetch_config's defaults)"
                     : "the settings of this connection are locked, and the host's cache "
                       "is used with the host's policy (api_fetch_config's defaults)");
    rc = SQLITE_ERROR;
  }
  return rc;
}

int conn_cache_existing(Conn *p, const char *zFunc, const char *zName, int bWrite,
                        CacheStore **pp, int *pbOwn, char **pzErr){
  const char *z = zName ? zName : p->zDefaultCache;
  int rc, bOpen;
  *pp = 0;
  *pbOwn = 0;
  if( z && z[0]==0 ){
    *pzErr = sqlite3_mprintf("%s: the cache must be the name of a file or \":memory:\", "
                             "got \"\"", zFunc);
    return SQLITE_ERROR;
  }
  /* Listing or pruning a cache that is not there: say so, rather than
  ** make an empty one (a typo left new files behind). */
  bOpen = z && (strcmp(z, ":memory:")==0 || conn_store_find(p, z)!=0);
  if( z && !bOpen && access(z, F_OK)!=0 ){
    *pzErr = sqlite3_mprintf("%s: no cache \"%s\" (no such file)", zFunc, z);
    return SQLITE_ERROR;
  }
  /* Nor make one of an empty file, nor touch a file that is not a cache:
  ** a listing is a read, and writes nothing. */
  rc = conn_cache_named(p, zName, 0, bWrite ? CACHE_OPEN_WRITE : CACHE_OPEN_READ, pp, pzErr);
  *pbOwn = rc==SQLITE_OK && !bWrite && !bOpen;
  return rc;
}

int conn_cache(Conn *p, const Options *o, CacheStore **pp, char **pzErr){
  *pp = 0;
  if( o->zCache==0 ) return SQLITE_OK;
  if( p->guard.bLocked || o->bFromFile ){
    int rc = cache_policy_check(p, o, pzErr);
    if( rc ) return rc;
  }
  return conn_cache_named(p, o->zCache, o->bFromFile, CACHE_OPEN_MAKE, pp, pzErr);
}

/**************************************************************************
** The budget window
*/
void conn_window_enter(Conn *p){
  if( p->nWindow++==0 ){
    memset(&p->budget, 0, sizeof(p->budget));
    p->budget.tStart = clock_ms();
    /* The first question a period after the statement's start: asking
    ** costs a statement (scan_cancelled's probe), which in a statement of
    ** a few URLs was most of its time (make bench W8: 0.46 ms a statement
    ** of 5 URLs over HTTP/2, half of it the probe), and an interrupt from
    ** before the statement began is SQLite's to clear. */
    p->budget.tCancelCheck = p->budget.tStart;
  }
}

void conn_window_leave(Conn *p){
  assert( p->nWindow>0 );
  p->nWindow--;
}

/**************************************************************************
** Profiles: named options objects, checked when stored, parsed when used.
*/
void profiles_clear(Conn *p){
  int i;
  for(i=0; i<p->nProfile; i++){
    sqlite3_free(p->aProfile[i].zName);
    sqlite3_free(p->aProfile[i].zJson);
  }
  sqlite3_free(p->aProfile);
  p->aProfile = 0;
  p->nProfile = 0;
}

const char *conn_profile(void *pCtx, const char *zName){
  Conn *p = (Conn*)pCtx;
  int i;
  for(i=0; i<p->nProfile; i++){
    if( strcmp(p->aProfile[i].zName, zName)==0 ) return p->aProfile[i].zJson;
  }
  return 0;
}

/* Is zJson a good profile?  Its ${env:} names are checked against g, the
** settings in force when it is stored: a profile that was allowed to read
** a variable then keeps that right after a later lock (that is how a host
** gives SQL a credential without giving it the variable). */
static int profile_check(const Guard *g, const char *zJson, char **pzErr){
  Options o;
  int rc;
  options_init(&o);
  o.bInProfile = 1;
  o.pGuard = g;
  rc = options_parse(&o, zJson, pzErr);
  options_clear(&o);
  return rc;
}

int conn_options_start(Conn *p, Options *o, char **pzErr){
  int rc;
  o->xProfile = conn_profile;
  o->pProfileCtx = p;
  o->pGuard = &p->guard;
  o->ppTokens = &p->keep.pTokens;
  if( p->zDefaults==0 ) return SQLITE_OK;
  /* As a profile: the host's, its ${env:} checked when it was set. */
  o->bInProfile = 1;
  o->bEnvGranted = 1;
  rc = options_parse(o, p->zDefaults, pzErr);
  o->bInProfile = 0;
  o->bEnvGranted = 0;
  /* Locked, the defaults' credentials are bound like a profile's. */
  return rc || !p->guard.bLocked || !options_has_credentials(o) ? rc
                                                           : options_bind_credentials(o);
}

/* defaults: an options object every query starts from, checked as a
** profile; *pzCache gets the cache it names (NULL for none). */
static int defaults_check(const Guard *g, const cJSON *v, char **pzJson, char **pzCache,
                          char **pzErr){
  Options o;
  char *zOpt, *zErr = 0;
  int rc;
  *pzJson = *pzCache = 0;
  if( cJSON_IsNull(v) ) return SQLITE_OK;
  if( !cJSON_IsObject(v) ){
    *pzErr = sqlite3_mprintf("api_fetch_config: defaults must be an options object or null");
    return SQLITE_ERROR;
  }
  zOpt = cJSON_PrintUnformatted(v);
  if( zOpt==0 ) return SQLITE_NOMEM;
  options_init(&o);
  o.bInProfile = 1;
  o.pGuard = g;
  rc = options_parse(&o, zOpt, &zErr);
  if( rc==SQLITE_OK ) *pzJson = sqlite3_mprintf("%s", zOpt);
  if( rc==SQLITE_OK && o.zCache ) *pzCache = sqlite3_mprintf("%s", o.zCache);
  if( rc==SQLITE_OK && (*pzJson==0 || (o.zCache && *pzCache==0)) ) rc = SQLITE_NOMEM;
  if( rc==SQLITE_ERROR ){
    *pzErr = zErr ? sqlite3_mprintf("api_fetch_config: defaults: %s", zErr) : 0;
  }
  if( rc ){
    sqlite3_free(*pzJson);
    sqlite3_free(*pzCache);
    *pzJson = *pzCache = 0;
  }
  sqlite3_free(zErr);
  options_clear(&o);
  cJSON_free(zOpt);
  return rc;
}

/* Store (zJson) or remove (NULL) profile zName.  zJson was checked. */
static int profile_put(Conn *p, const char *zName, const char *zJson){
  int i;
  char *zCopy = 0;
  for(i=0; i<p->nProfile && strcmp(p->aProfile[i].zName, zName)!=0; i++){}
  if( zJson==0 ){
    if( i<p->nProfile ){
      sqlite3_free(p->aProfile[i].zName);
      sqlite3_free(p->aProfile[i].zJson);
      p->aProfile[i] = p->aProfile[--p->nProfile];
    }
    return SQLITE_OK;
  }
  zCopy = sqlite3_mprintf("%s", zJson);
  if( zCopy==0 ) return SQLITE_NOMEM;
  if( i==p->nProfile ){
    Profile *a = sqlite3_realloc64(p->aProfile, sizeof(Profile)*(size_t)(p->nProfile+1));
    char *zN = sqlite3_mprintf("%s", zName);
    if( a ) p->aProfile = a;
    if( a==0 || zN==0 ){
      sqlite3_free(zN);
      sqlite3_free(zCopy);
      return SQLITE_NOMEM;
    }
    a[i].zName = zN;
    a[i].zJson = 0;
    p->nProfile++;
  }
  sqlite3_free(p->aProfile[i].zJson);
  p->aProfile[i].zJson = zCopy;
  return SQLITE_OK;
}

/* api_fetch_profile(name, options): per-API defaults for this connection,
** used as {"profile": "name"} in the options of later calls.  NULL options
** remove the profile.  Returns the options as stored. */
void conn_profile_func(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Conn *p = (Conn*)sqlite3_user_data(ctx);
  const char *zName = (const char*)sqlite3_value_text(argv[0]);
  const char *zJson = (const char*)sqlite3_value_text(argv[1]);
  char *zErr = 0;
  int rc;
  (void)argc;
  if( zName==0 || zName[0]==0 ){
    sqlite3_result_error(ctx, "api_fetch_profile: the name must be a non-empty string", -1);
    return;
  }
  if( p->guard.nQueryDepth>0 ){
    /* A url_query may be stored in someone else's database file. */
    sqlite3_result_error(ctx, "api_fetch_profile: not allowed inside a url_query", -1);
    return;
  }
  if( p->guard.bLocked ){
    sqlite3_result_error(ctx, "api_fetch_profile: the settings of this connection are "
                              "locked (profiles too)", -1);
    return;
  }
  /* Check it now: a bad profile should fail here, not in a later query. */
  if( zJson && profile_check(&p->guard, zJson, &zErr) ){
    char *zMsg = sqlite3_mprintf("api_fetch_profile: %s", zErr ? zErr : "out of memory");
    sqlite3_result_error(ctx, zMsg ? zMsg : "api_fetch_profile: out of memory", -1);
    sqlite3_free(zMsg);
    sqlite3_free(zErr);
    return;
  }
  rc = profile_put(p, zName, zJson);
  if( rc ){ sqlite3_result_error_nomem(ctx); return; }
  if( zJson ) sqlite3_result_text(ctx, zJson, -1, SQLITE_TRANSIENT);
}

/**************************************************************************
** Settings: api_fetch_config() and APIFETCH_CONFIG
*/

/* Check each profile of a "profiles" settings object against g, as
** api_fetch_config stores them (null removes one).  SQLITE_OK, or an error
** code with *pzErr (NULL on OOM). */
static int profiles_check(const Guard *g, const cJSON *pProf, char **pzErr){
  const cJSON *v;
  int rc = SQLITE_OK;
  cJSON_ArrayForEach(v, pProf){
    char *zOpt, *zErr = 0;
    if( v->string[0]==0 || json_key_repeated(pProf, v) ){
      *pzErr = sqlite3_mprintf("api_fetch_config: profile \"%s\" %s", v->string,
                               v->string[0] ? "is given twice" : "needs a name");
      rc = SQLITE_ERROR;
      break;
    }
    if( cJSON_IsNull(v) ) continue;
    if( !cJSON_IsObject(v) ){
      *pzErr = sqlite3_mprintf("api_fetch_config: profile \"%s\" must be an options "
                               "object or null", v->string);
      rc = SQLITE_ERROR;
      break;
    }
    zOpt = cJSON_PrintUnformatted(v);
    if( zOpt==0 ){ rc = SQLITE_NOMEM; break; }
    rc = profile_check(g, zOpt, &zErr);
    cJSON_free(zOpt);
    if( rc ){
      *pzErr = zErr ? sqlite3_mprintf("api_fetch_config: profile \"%s\": %s", v->string,
                                      zErr) : 0;
      sqlite3_free(zErr);
      break;
    }
  }
  return rc;
}

/* Apply a JSON object of settings (guard.c's, and "profiles") to p, all or
** nothing.  SQLITE_OK, or an error code with *pzErr (NULL on OOM). */
int conn_configure(Conn *p, const char *zJson, char **pzErr){
  cJSON *pRoot, *pProf, *pDef, *v;
  char *zDefaults = 0, *zDefaultCache = 0;
  Guard g, gCheck;
  int rc;
  if( json_has_nul(zJson, strlen(zJson)) ){
    *pzErr = sqlite3_mprintf("api_fetch_config: the settings hold \\u0000, a NUL character");
    return SQLITE_ERROR;
  }
  errno = 0;
  pRoot = cJSON_ParseWithOpts(zJson, 0, 1);
  if( pRoot==0 && errno==ENOMEM ) return SQLITE_NOMEM;   /* not "must be an object" */
  if( pRoot==0 || !cJSON_IsObject(pRoot) ){
    cJSON_Delete(pRoot);
    *pzErr = sqlite3_mprintf("api_fetch_config: the settings must be a JSON object");
    return SQLITE_ERROR;
  }
  if( p->guard.bLocked ){
    cJSON_Delete(pRoot);
    *pzErr = sqlite3_mprintf("api_fetch_config: the settings of this connection are locked");
    return SQLITE_ERROR;
  }
  pProf = cJSON_GetObjectItemCaseSensitive(pRoot, "profiles");
  if( pProf && !cJSON_IsObject(pProf) ){
    cJSON_Delete(pRoot);
    *pzErr = sqlite3_mprintf("api_fetch_config: profiles must be an object of "
                             "{\"name\": {options}, ...}");
    return SQLITE_ERROR;
  }
  /* The limits, applied to a copy; the copy replaces them at the end. */
  rc = guard_set(&p->guard, pRoot, &g, pzErr);
  if( rc ){
    cJSON_Delete(pRoot);
    return rc;
  }
  /* Every profile, and the defaults, are checked before anything changes,
  ** against the allow_env this call sets (a host's APIFETCH_CONFIG or
  ** apifetch.load() gives both at once), but as stored before its lock:
  ** "null: any until locked" lets a host lock in the same call a profile
  ** that reads a variable no SQL may read (see profile_check).  A shallow
  ** copy, only read. */
  gCheck = g;
  gCheck.bLocked = p->guard.bLocked;
  assert( gCheck.bLocked==0 );                 /* a locked one was refused above */
  if( pProf ) rc = profiles_check(&gCheck, pProf, pzErr);
  pDef = cJSON_GetObjectItemCaseSensitive(pRoot, "defaults");
  if( rc==SQLITE_OK && pDef ){
    rc = defaults_check(&gCheck, pDef, &zDefaults, &zDefaultCache, pzErr);
  }
  if( rc==SQLITE_OK && pProf ){
    /* Profiles last: a failure here (out of memory) may leave some stored,
    ** but never a limit half applied. */
    cJSON_ArrayForEach(v, pProf){
      char *zOpt = cJSON_IsNull(v) ? 0 : cJSON_PrintUnformatted(v);
      if( !cJSON_IsNull(v) && zOpt==0 ){ rc = SQLITE_NOMEM; break; }
      rc = profile_put(p, v->string, zOpt);
      cJSON_free(zOpt);
      if( rc ) break;
    }
  }
  cJSON_Delete(pRoot);
  if( rc ){
    guard_clear(&g);
    sqlite3_free(zDefaults);
    sqlite3_free(zDefaultCache);
    return rc;
  }
  guard_replace(&p->guard, &g);
  if( pDef ){
    sqlite3_free(p->zDefaults);
    sqlite3_free(p->zDefaultCache);
    p->zDefaults = zDefaults;
    p->zDefaultCache = zDefaultCache;
  }
  return SQLITE_OK;
}

/* The settings as a JSON object, with the names of the profiles (their
** options may hold credentials: they are not shown). */
static char *conn_describe(Conn *p){
  cJSON *o = guard_describe(&p->guard), *a;
  char *zJson, *z;
  int i;
  if( o==0 ) return 0;
  /* Of the defaults, the cache only: the rest may hold credentials. */
  if( (p->zDefaultCache ? cJSON_AddStringToObject(o, "cache", p->zDefaultCache)
                        : cJSON_AddNullToObject(o, "cache"))==0 ){
    cJSON_Delete(o);
    return 0;
  }
  a = cJSON_AddArrayToObject(o, "profiles");
  for(i=0; a && i<p->nProfile; i++){
    cJSON *pName = cJSON_CreateString(p->aProfile[i].zName);
    if( pName==0 || !cJSON_AddItemToArray(a, pName) ){ cJSON_Delete(pName); a = 0; }
  }
  zJson = a ? cJSON_PrintUnformatted(o) : 0;
  cJSON_Delete(o);
  if( zJson==0 ) return 0;
  z = sqlite3_mprintf("%s", zJson);
  cJSON_free(zJson);
  return z;
}

/* api_fetch_config([settings]): apply settings (unless locked), return the
** settings in force as JSON. */
void conn_config_func(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Conn *p = (Conn*)sqlite3_user_data(ctx);
  char *z;
  if( argc==1 && sqlite3_value_type(argv[0])!=SQLITE_NULL ){
    char *zErr = 0;
    int rc;
    if( p->guard.nQueryDepth>0 ){
      /* SQLITE_DIRECTONLY keeps views and triggers out; a url_query, which
      ** may be stored in someone else's database file, is kept out here. */
      sqlite3_result_error(ctx, "api_fetch_config: not allowed inside a url_query", -1);
      return;
    }
    rc = conn_configure(p, (const char*)sqlite3_value_text(argv[0]), &zErr);
    if( rc ){
      if( zErr ){
        sqlite3_result_error(ctx, zErr, -1);
        sqlite3_free(zErr);
      }else{
        sqlite3_result_error_nomem(ctx);
      }
      return;
    }
  }
  z = conn_describe(p);
  if( z==0 ){ sqlite3_result_error_nomem(ctx); return; }
  sqlite3_result_text(ctx, z, -1, sqlite3_free);
}

/**************************************************************************
** Counting a scan, and its progress line
*/

/* A scan starts: the counters start from 0 unless another scan of the
** connection is running (a join runs one per row of a statement: they add). */
void conn_scan_begin(Conn *p, ScanReport *r, int bAsked){
  if( p->nScan==0 ){ memset(p->aStat, 0, sizeof(p->aStat)); p->hosts.nHost = 0; }
  p->nScan++;
  memset(r, 0, sizeof(*r));
  r->bCounted = 1;
  r->tStart = clock_ms();
  r->bAsked = bAsked==1;
  r->bShow = bAsked==1 || (bAsked<0 && isatty(2));
}

void conn_scan_end(Conn *p, ScanReport *r){
  if( r->bCounted ){
    assert( p->nScan>0 );
    p->nScan--;
    r->bCounted = 0;
  }
}

void conn_count_response(Conn *p, const Response *r){
  static const int aKind[] = { STAT_ERRORS, STAT_ERR_HTTP, STAT_ERR_TIMEOUT,
    STAT_ERR_NETWORK, STAT_ERR_TOO_BIG, STAT_ERR_BODY, STAT_ERR_DEADLINE };
  p->aStat[STAT_URLS]++;
  p->aStat[STAT_REQUESTS] += r->nRequest;
  p->aStat[STAT_RETRIES] += r->nAttempt>0 ? r->nAttempt-1 : 0;
  if( r->eCache==CACHE_HIT || r->eCache==CACHE_REVALIDATED || r->eCache==CACHE_STALE ){
    p->aStat[STAT_CACHE_BYTES_SAVED] += (sqlite3_int64)r->nBody;
  }else{
    p->aStat[STAT_BYTES] += (sqlite3_int64)r->nBody;
  }
  if( r->eCache ){
    static const int aCache[] = { 0, STAT_CACHE_MISSES, STAT_CACHE_HITS,
                                  STAT_CACHE_REVALIDATED, STAT_CACHE_STALE };
    p->aStat[aCache[r->eCache]]++;
  }
  if( r->zError ){
    p->aStat[STAT_ERRORS]++;
    if( r->eErr>ERR_NONE && r->eErr<=ERR_DEADLINE ) p->aStat[aKind[r->eErr]]++;
  }
}

void conn_count_row(Conn *p, int bRecord, int nExtra, int nMismatch){
  p->aStat[STAT_ROWS]++;
  if( bRecord ) p->aStat[STAT_RECORDS]++;
  p->aStat[STAT_EXTRA_KEYS] += nExtra;
  p->aStat[STAT_TYPE_MISMATCHES] += nMismatch;
}

void conn_count_mismatch(Conn *p, int nNulled, int bRejected){
  p->aStat[STAT_MISMATCHES_NULLED] += nNulled;
  p->aStat[STAT_RECORDS_REJECTED] += bRejected;
}

/* The live counters, and the one-line progress report on stderr:
**   api_fetch: 532/1000 URLs (53%), 240 req/s, 3 retries, 2 errors, ETA 2 s
** every half second once a scan has run for a second, also while nothing
** completes; on a terminal the line is rewritten in place.  req/s counts
** HTTP requests (retries too); the ETA comes from URLs done per second.
** nTotal is the number of URLs, or -1 if not known (url_query, pages). */
void conn_scan_report(Conn *p, ScanReport *r, const Engine *e, sqlite3_int64 nTotal, int bEnd){
  sqlite3_int64 now = clock_ms(), el = now - r->tStart;
  sqlite3_int64 nDone = p->aStat[STAT_URLS];
  double rate, reqRate;
  char zEta[48] = "", zTotal[48] = "", zCap[160] = "", zHeld[160] = "";
  const char *zCapped = 0;
  int bTty, nWindow;
  p->aStat[STAT_ELAPSED_MS] = el;
  if( e ) p->aStat[STAT_RATE_WAIT_MS] = engine_rate_wait_ms(e);
  if( !r->bShow ) return;
  if( bEnd ? r->tShown==0 && !r->bAsked : (el<1000 || now - r->tShown<500) ) return;
  r->tShown = now;
  rate = el>0 ? nDone*1000.0/el : 0;
  reqRate = el>0 ? p->aStat[STAT_REQUESTS]*1000.0/el : 0;
  if( nTotal>=0 ){
    sqlite3_snprintf(sizeof(zTotal), zTotal, "/%lld URLs (%d%%)", nTotal,
                     nTotal ? (int)(nDone*100/nTotal) : 100);
    if( !bEnd && rate>0 ){
      sqlite3_snprintf(sizeof(zEta), zEta, ", ETA %lld s",
                       (sqlite3_int64)((nTotal - nDone)/rate + 0.5));
    }
  }else{
    sqlite3_snprintf(sizeof(zTotal), zTotal, " URLs");
  }
  if( e ){
    nWindow = engine_window_size(e, &zCapped);
    if( zCapped ) sqlite3_snprintf(sizeof(zCap), zCap,
                                   ", %d in flight at most (capped by %s)", nWindow, zCapped);
    if( !bEnd ) hosts_held_text(engine_hosts(e), zHeld, sizeof(zHeld));
  }
  bTty = isatty(2);
  fprintf(stderr, "%sapi_fetch: %lld%s, %.0f req/s, %lld retries, %lld errors%s%s%s%s%s",
          bTty ? "\r" : "", nDone, zTotal, reqRate, p->aStat[STAT_RETRIES],
          p->aStat[STAT_ERRORS], zCap, zHeld, zEta, bEnd ? ", done" : "",
          bTty ? (bEnd ? "\033[K\n" : "\033[K") : "\n");
  fflush(stderr);
}

/**************************************************************************
** api_fetch_stats: SELECT * FROM api_fetch_stats() -> (name, value, about)
*/
static int statsConnect(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                        sqlite3_vtab **ppVtab, char **pzErr){
  (void)argc; (void)argv; (void)pzErr;
  return pos_connect(db, pAux, "CREATE TABLE x(name TEXT, value INTEGER, about TEXT)", ppVtab);
}
static int statsBestIndex(sqlite3_vtab *p, sqlite3_index_info *pInfo){
  (void)p;
  pInfo->estimatedCost = 10;
  pInfo->estimatedRows = STAT_COUNT;
  return SQLITE_OK;
}
static int statsEof(sqlite3_vtab_cursor *c){ return ((PosCursor*)c)->i>=STAT_COUNT; }
static int statsColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i){
  PosCursor *c = (PosCursor*)cur;
  Conn *p = (Conn*)((PosTable*)cur->pVtab)->pAux;
  assert( c->i>=0 && c->i<STAT_COUNT );
  assert( aStatInfo[c->i].eStat==c->i );
  if( i==0 ) sqlite3_result_text(ctx, aStatInfo[c->i].zName, -1, SQLITE_STATIC);
  if( i==1 ) sqlite3_result_int64(ctx, p->aStat[c->i]);
  if( i==2 ) sqlite3_result_text(ctx, aStatInfo[c->i].zAbout, -1, SQLITE_STATIC);
  return SQLITE_OK;
}
sqlite3_module conn_stats_module = {
  0,                /* iVersion */
  0,                /* xCreate: none, it is eponymous only */
  statsConnect,     /* xConnect */
  statsBestIndex,   /* xBestIndex */
  pos_disconnect,   /* xDisconnect */
  0,                /* xDestroy */
  pos_open,         /* xOpen */
  pos_close,        /* xClose */
  pos_filter,       /* xFilter */
  pos_next,         /* xNext */
  statsEof,         /* xEof */
  statsColumn,      /* xColumn */
  pos_rowid,        /* xRowid */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};

/**************************************************************************
** api_fetch_options: every knob of knobs.c, as a table
**
**   SELECT name, applies, type, "default", about FROM api_fetch_options;
*/
static int knobsConnect(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                        sqlite3_vtab **ppVtab, char **pzErr){
  (void)argc; (void)argv; (void)pzErr;
  return pos_connect(db, pAux,
      "CREATE TABLE x(name TEXT, applies TEXT, type TEXT, \"default\" TEXT, about TEXT)", ppVtab);
}
static int knobsBestIndex(sqlite3_vtab *p, sqlite3_index_info *pInfo){
  (void)p;
  pInfo->estimatedCost = 100;
  pInfo->estimatedRows = nKnob;
  return SQLITE_OK;
}
static int knobsEof(sqlite3_vtab_cursor *c){ return ((PosCursor*)c)->i>=nKnob; }
static int knobsColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i){
  const Knob *k = &aKnob[((PosCursor*)cur)->i];
  static const char *const azApplies[] = { "option", "table", "paginate", "config" };
  assert( ((PosCursor*)cur)->i>=0 && ((PosCursor*)cur)->i<nKnob );
  switch( i ){
    case 0: sqlite3_result_text(ctx, k->zName, -1, SQLITE_STATIC); break;
    case 1: {
      int b = k->mFace==KF_OPTION ? 0 : k->mFace==KF_TABLE ? 1 : k->mFace==KF_PAGINATE ? 2 : 3;
      sqlite3_result_text(ctx, azApplies[b], -1, SQLITE_STATIC);
      break;
    }
    case 2: sqlite3_result_text(ctx, k->zType, -1, SQLITE_STATIC); break;
    case 3:
      if( k->zDefault ){
        sqlite3_result_text(ctx, k->zDefault, -1, SQLITE_STATIC);
      }else if( k->eKind==KNOB_BOOL ){
        sqlite3_result_text(ctx, k->iDefault ? "true" : "false", -1, SQLITE_STATIC);
      }else if( k->eKind==KNOB_CHOICE ){
        const char *s = k->zWords;
        int j;
        for(j=0; j<k->iDefault; j++) s += strcspn(s, " ") + 1;
        sqlite3_result_text(ctx, s, (int)strcspn(s, " "), SQLITE_TRANSIENT);
      }else if( k->eKind==KNOB_INT ){
        char *z = sqlite3_mprintf("%lld", k->iDefault);   /* NULL: out of memory */
        if( z==0 ){ sqlite3_result_error_nomem(ctx); break; }
        sqlite3_result_text(ctx, z, -1, sqlite3_free);
      }
      break;
    default: sqlite3_result_text(ctx, k->zAbout, -1, SQLITE_STATIC); break;
  }
  return SQLITE_OK;
}
sqlite3_module conn_options_module = {
  0,                /* iVersion */
  0,                /* xCreate: none, it is eponymous only */
  knobsConnect,     /* xConnect */
  knobsBestIndex,   /* xBestIndex */
  pos_disconnect,   /* xDisconnect */
  0,                /* xDestroy */
  pos_open,         /* xOpen */
  pos_close,        /* xClose */
  pos_filter,       /* xFilter */
  pos_next,         /* xNext */
  knobsEof,         /* xEof */
  knobsColumn,      /* xColumn */
  pos_rowid,        /* xRowid */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};
