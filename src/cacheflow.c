/*
** cacheflow.c - the HTTP cache in the engine's flow.
**
**   a new request      cacheflow_lookup: the guard first (a URL it refuses
**                      is its error row, stored or not); a fresh entry
**                      answers it with no slot, token or request (cache
**                      "hit"); offline, any entry does, and no entry is an
**                      error row; else the entry rides along with the
**                      request.  An entry from where the guard now refuses
**                      (its final URL, its address) is none of these.
**   sending it         cacheflow_conditional: If-None-Match and
**                      If-Modified-Since from the entry's validators
**   a 304              cacheflow_revalidated: the stored body, its
**                      freshness renewed ("revalidated")
**   a failure          cacheflow_stale: the entry, if the policy allows
**                      ("stale"), once retries are spent
**   a response         cacheflow_store: stored if the mode and its status
**                      allow ("miss"); an HTTP error row (a 404) too,
**                      cacheflow_store_error, and a stored one answers as
**                      the same error row ("hit")
**   an unsafe method   cacheflow_invalidate, at each hop's status: what is
**                      stored for its URL goes
**
** The modes (cache_mode): http follows the server's headers (RFC 9111,
** httpcache.c); ttl takes any 2xx (and 404, 410... status_storable) and
** calls it fresh for cache_ttl_ms;
** refresh always asks the server (conditionally when it can) and stores
** the answer; offline never asks.  Only GET and HEAD are cached: another
** method may change something on the server, which a re-run must do again.
** But a POST that only reads (a GraphQL query, a search) the user may let
** be cached, cache_post: its body is in the key, so only the same POST
** finds it, and its response is judged as a GET's would be.
** Partial bodies are never stored, nor a status the retries would ask
** again (status_storable).  What the cache gives
** is not counted against max_requests or max_total_bytes: they count
** network traffic.
*/
#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "apifetch.h"
#include "engine_int.h"

/* Freshness by the RFC's heuristic (10% of the time since Last-Modified)
** is capped at a day. */
#define CACHE_HEURISTIC_CAP_S 86400

/* t + ms, where t came from the cache file (which may hold any int64, as
** any input may) and ms is a knob (0 to 2^53): at most INT64_MAX, never
** an overflow. */
static sqlite3_int64 time_after(sqlite3_int64 t, sqlite3_int64 ms){
  return t > INT64_MAX - ms ? INT64_MAX : t + ms;
}

static int method_is_post(const Request *q){
  return q->zMethod ? strcmp(q->zMethod, "POST")==0 : q->pBody!=0;   /* a body without a
                                                                     ** method is a POST */
}

static int method_cacheable(const Options *o, const Request *q){
  if( o->bCachePost && method_is_post(q) ) return 1;
  if( q->zMethod ) return strcmp(q->zMethod, "GET")==0 || strcmp(q->zMethod, "HEAD")==0;
  return q->pBody==0;
}

/* The method whose rules decide whether q's response may be stored (RFC
** 9111 section 3): a POST let in by cache_post is judged as a GET. */
static const char *method_stored_as(const Options *o, const Request *q){
  return o->bCachePost && method_is_post(q) ? "GET" : q->zMethod;
}

static void entry_free(Cached *c){
  if( c ){
    cached_clear(c);
    sqlite3_free(c);
  }
}

/* A Response for request q made of stored entry c, whose body and
** content type it takes, and its header lines with the option
** response_headers; NULL on out of memory (q is then freed).  A stored
** error status (a 404) is the row the network's is (engine.c
** transfer_finish, failure_text): the error "HTTP 404" and no body nor
** content type, unless on_status says its body is data. */
static Response *response_from(const Options *o, Request *q, Cached *c, int eCache){
  Response *r = response_new(q);
  int i, bOom = 0, bHeaders = o->response_headers;
  if( r==0 ) return 0;
  if( c->status>=400 && onstatus_action(o, c->status)!=STATUS_DATA ){
    r->zError = sqlite3_mprintf("HTTP %ld", c->status);
    if( r->zError==0 ){ response_free(r); return 0; }
    r->eErr = ERR_HTTP;
    sqlite3_free(c->pBody);
    sqlite3_free(c->zContentType);
    c->pBody = c->zContentType = 0;
    c->nBody = 0;
  }
  r->status = c->status;
  r->eCache = eCache;
  r->zContentType = c->zContentType;
  r->pBody = c->pBody;
  r->nBody = c->nBody;
  r->zFinalUrl = c->zFinalUrl;
  c->zFinalUrl = 0;
  c->zContentType = 0;
  c->pBody = 0;
  c->nBody = 0;
  if( bHeaders && c->zHeaders ){
    r->zHeaders = header_lines_json(c->zHeaders);
    if( r->zHeaders==0 ){
      response_free(r);
      return 0;
    }
  }
  if( r->req.nWant>0 ){
    r->azHeader = sqlite3_malloc64(sizeof(char*)*(size_t)r->req.nWant);
    if( r->azHeader ){
      memset(r->azHeader, 0, sizeof(char*)*(size_t)r->req.nWant);
      r->nHeader = r->req.nWant;
      for(i=0; i<r->nHeader; i++){
        r->azHeader[i] = cached_header(c->zHeaders, r->req.azWant[i], &bOom);
      }
    }
    if( r->azHeader==0 || bOom ){
      response_free(r);
      return 0;
    }
  }
  return r;
}

/* Answer e->pending without the network: from entry c (taken), or, with
** c NULL, an error row saying why not (zWhy, taken; an error of kind eErr). */
static int answer_pending(Engine *e, Cached *c, int eCache, char *zWhy, int eErr,
                          Response **ppResp){
  Response *r;
  Cached none;
  assert( e->bPending );
  assert( (c==0)==(zWhy!=0) );
  e->bPending = 0;
  memset(&none, 0, sizeof(none));
  r = response_from(e->pOpt, &e->pending, c ? c : &none, eCache);
  if( c ) cached_clear(c);
  if( r==0 ){ sqlite3_free(zWhy); return SQLITE_NOMEM; }
  if( zWhy ){
    r->zError = zWhy;
    r->eErr = eErr;
  }
  *ppResp = r;
  return SQLITE_OK;
}

/* An offline error row: zWhy is a constant. */
static int answer_offline(Engine *e, const char *zWhy, Response **ppResp){
  char *z = sqlite3_mprintf("%s", zWhy);
  if( z==0 ) return SQLITE_NOMEM;
  return answer_pending(e, 0, CACHE_MISS, z, ERR_OFFLINE, ppResp);
}

/* Would the guard refuse stored entry c, were it fetched now?  Its body
** came from c->zAddress, after redirects to c->zFinalUrl: a request that
** went there now would be refused by allow_hosts at the last hop, or by
** block_private at the connection, with these words.  NULL if not (or on
** out of memory: *pbOom). */
static char *entry_refusal(const Engine *e, const Cached *c, int *pbOom){
  char *zWhy = c->zFinalUrl ? guard_url_refusal(e->pGuard, c->zFinalUrl, 0, pbOom) : 0;
  if( zWhy==0 && !*pbOom ) zWhy = guard_ip_refusal(e->pGuard, c->zAddress, pbOom);
  return zWhy;
}

/* How old entry c is now, in seconds (section 4.2.3), from its stored
** Date and Age; it was asked for and came at tStored. */
static int entry_age_s(const Cached *c, sqlite3_int64 now, sqlite3_int64 *pAge){
  CacheInfo info;
  int bOom = 0;
  char *zDate = cached_header(c->zHeaders, "date", &bOom);
  char *zAge = cached_header(c->zHeaders, "age", &bOom);
  if( !bOom ){
    cacheinfo_parse(&info, 0, 0, zDate, zAge, 0, 0, 0, 0);
    *pAge = cache_current_age(&info, c->tStored/1000, c->tStored/1000, now/1000);
  }
  sqlite3_free(zDate);
  sqlite3_free(zAge);
  return bOom ? SQLITE_NOMEM : SQLITE_OK;
}

/* May entry c, fresh until tFresh, answer a request with directives *pRq
** now, without the server?  CACHE_HIT (fresh enough), CACHE_STALE (stale,
** but within the request's max-stale), or CACHE_MISS (ask the server). */
static int entry_answers(const Cached *c, const CacheRequest *pRq, sqlite3_int64 tFresh,
                         sqlite3_int64 now, int *peCache){
  sqlite3_int64 age = 0;
  *peCache = CACHE_MISS;
  if( pRq->bNoCache || pRq->maxAge==0 ) return SQLITE_OK;     /* 5.2.1.4, 5.2.1.1 */
  if( pRq->maxAge>0 ){
    int rc = entry_age_s(c, now, &age);
    if( rc ) return rc;
    if( age>pRq->maxAge ) return SQLITE_OK;
  }
  if( now<tFresh ){
    /* 5.2.1.3: fresh for at least min-fresh more seconds. */
    if( pRq->minFresh<=0 || (tFresh - now)/1000 >= pRq->minFresh ) *peCache = CACHE_HIT;
    return SQLITE_OK;
  }
  /* 5.2.1.2: stale within max-stale, unless the response forbids any
  ** stale use (must-revalidate, no-cache: stale_until -1; 4.2.4). */
  if( pRq->maxStale>=0 && c->tStaleUntil>=0
   && (now - tFresh)/1000 <= pRq->maxStale ){
    *peCache = CACHE_STALE;
  }
  return SQLITE_OK;
}

/* May a response of this status be stored (cache_statuses)?  RFC 9111
** section 3 lets any final status be stored that has explicit freshness
** or is cacheable by default (RFC 9110 section 15.1: 404, 410, 301...);
** cache_storable judges the headers.  apifetch keeps back what it would
** ask again anyway: a status the retries repeat (408, 425, 429, 500,
** 502-504, on_status "retry"), and every 5xx but 501, a server's passing
** trouble that the next run should not be told again from the cache.
** Stored, such an answer would also take the place of the good copy that
** stale-if-error and cache_stale_ms fall back on.  401 and 407 speak of
** the credentials, which change (an oauth2 token is fetched again).
** ttl and refresh, which ignore the headers, keep 2xx and the statuses
** cacheable by default. */
static int status_storable(const Options *o, long status){
  if( status<200 || status>599 || status==206 || status==304 ) return 0;
  if( policy_status_retryable(status, onstatus_action(o, status)) ) return 0;
  if( status<=299 ) return 1;
  if( o->eCacheStatuses==CS_2XX ) return 0;
  if( (status>=500 && status!=501) || status==401 || status==407 ) return 0;
  return o->eCacheMode==CM_HTTP || cache_status_heuristic(status);
}

/* RFC 5861 section 3: may stale entry c (fresh until tFresh) answer now,
** while a revalidation goes out in the background?  Only within its
** stale-while-revalidate window, and only where neither it (must-revalidate,
** no-cache: tStaleUntil -1) nor the request (no-cache, max-age, min-fresh:
** it wants a fresher answer) forbids a stale answer. */
static int entry_while_revalidate(const Cached *c, const CacheRequest *pRq,
                                  sqlite3_int64 tFresh, sqlite3_int64 now, int *pbYes){
  CacheInfo info;
  int bOom = 0;
  char *zCc;
  *pbYes = 0;
  if( pRq->bNoCache || pRq->maxAge>=0 || pRq->minFresh>0 || c->tStaleUntil<0 || now<tFresh ){
    return SQLITE_OK;
  }
  zCc = cached_header(c->zHeaders, "cache-control", &bOom);
  if( bOom ) return SQLITE_NOMEM;
  if( zCc==0 ) return SQLITE_OK;
  cacheinfo_parse(&info, zCc, 0, 0, 0, 0, 0, 0, 0);
  sqlite3_free(zCc);
  *pbYes = info.staleWhileRevalidate>0 && (now - tFresh)/1000 < info.staleWhileRevalidate;
  return SQLITE_OK;
}

/* Entry c without its body (NULL on out of memory): what a revalidation
** needs, its validators and times. */
static Cached *entry_shell(const Cached *c){
  Cached *p = sqlite3_malloc64(sizeof(Cached));
  if( p==0 ) return 0;
  *p = *c;
  p->pBody = 0;
  p->nBody = 0;
  p->zContentType = c->zContentType ? sqlite3_mprintf("%s", c->zContentType) : 0;
  p->zHeaders = c->zHeaders ? sqlite3_mprintf("%s", c->zHeaders) : 0;
  p->zFinalUrl = c->zFinalUrl ? sqlite3_mprintf("%s", c->zFinalUrl) : 0;
  p->zAddress = c->zAddress ? sqlite3_mprintf("%s", c->zAddress) : 0;
  if( (c->zContentType && !p->zContentType) || (c->zHeaders && !p->zHeaders)
   || (c->zFinalUrl && !p->zFinalUrl) || (c->zAddress && !p->zAddress) ){
    entry_free(p);
    return 0;
  }
  return p;
}

/* Answer e->pending from stale entry c (taken), marked "stale", and make
** a copy of it the pending request again, as a background revalidation
** (Transfer bBackground): conditional on c's validators, its response
** updates the entry and gives no row, so the URL keeps its one answer. */
static int answer_revalidating(Engine *e, Cached *c, Response **ppResp){
  Request bg;
  Cached *pShell = entry_shell(c);
  int rc = pShell ? request_copy(&bg, &e->pending) : SQLITE_NOMEM;
  if( rc==SQLITE_OK ) rc = cachestore_touch(e->pCache, c->iId);
  if( rc==SQLITE_OK ){
    rc = answer_pending(e, c, CACHE_STALE, 0, ERR_NONE, ppResp);
    if( rc==SQLITE_OK ){
      assert( !e->bPending && e->pPendCached==0 );
      e->pending = bg;
      e->bPending = 1;
      e->bPendBackground = 1;
      e->pPendCached = pShell;
      return SQLITE_OK;
    }
  }
  if( pShell ) request_clear(&bg);
  entry_free(pShell);
  cached_clear(c);
  return rc;
}

/* only-if-cached and nothing stored fits: 504 (section 5.2.1.7). */
static int answer_gateway_timeout(Engine *e, Response **ppResp){
  char *z = sqlite3_mprintf("504 Gateway Timeout: the request says only-if-cached "
                            "and the cache holds no response that fits it");
  int rc;
  if( z==0 ) return SQLITE_NOMEM;
  rc = answer_pending(e, 0, CACHE_MISS, z, ERR_HTTP, ppResp);
  if( rc==SQLITE_OK ) (*ppResp)->status = 504;
  return rc;
}

int cacheflow_lookup(Engine *e, Response **ppResp, char **pzErr){
  const Options *o = e->pOpt;
  int bOffline = o->eCacheMode==CM_OFFLINE;
  sqlite3_int64 now, tFresh;
  CacheRequest rq;
  Cached c;
  char *zWhy;
  int rc, bFresh, bOom = 0, eCache;
  *ppResp = 0;
  assert( e->bPending && e->pPendCached==0 );
  /* The guard first, as for a request (and by the same function): a URL
  ** it refuses is refused in every cache_mode, stored or not, and is not
  ** even looked up.  Not a cache row, and no request: no attempt. */
  zWhy = guard_url_refusal(e->pGuard, e->pending.zUrl, e->pending.pHeaders, &bOom);
  if( bOom ) return SQLITE_NOMEM;
  if( zWhy ) return answer_pending(e, 0, CACHE_NONE, zWhy, ERR_NETWORK, ppResp);
  if( !method_cacheable(o, &e->pending) ){
    if( !bOffline ) return SQLITE_OK;
    return answer_offline(e, "cache_mode is offline and only GET and HEAD requests are "
                          "cached", ppResp);
  }
  rc = cachekey_directives(&e->pending, &rq);
  if( rc ) return rc;
  cachekey_of(e->pOpt, e->pCache, &e->pending, e->aPendKey);
  rc = cachestore_get(e->pCache, e->aPendKey, e->pending.pHeaders, o->user_agent, &c, pzErr);
  if( rc==SQLITE_ROW && (sqlite3_int64)c.nBody > o->max_bytes ){
    cached_clear(&c);                      /* stored under a larger max_bytes */
    rc = SQLITE_DONE;
  }
  if( rc==SQLITE_ROW && (zWhy = entry_refusal(e, &c, &bOom))!=0 ){
    /* Stored from where the guard now refuses: not an answer (nor a copy
    ** to revalidate or to fall back on).  Offline that is the error row;
    ** else the request goes out as if nothing were stored, and the guard
    ** judges where it leads this time. */
    cached_clear(&c);
    if( bOffline ) return answer_pending(e, 0, CACHE_NONE, zWhy, ERR_NETWORK, ppResp);
    sqlite3_free(zWhy);
    rc = SQLITE_DONE;
  }
  if( bOom ){ cached_clear(&c); return SQLITE_NOMEM; }
  if( rc==SQLITE_ROW && !status_storable(o, c.status) ){
    /* Stored under another policy (cache_statuses "rfc", or an on_status
    ** without "retry" for it): this scan would not have kept it, so it
    ** does not answer from it either. */
    cached_clear(&c);
    rc = SQLITE_DONE;
  }
  if( rc==SQLITE_DONE ){
    if( bOffline ) return answer_offline(e, "not in the cache, and cache_mode is offline", ppResp);
    return rq.bOnlyIfCached ? answer_gateway_timeout(e, ppResp) : SQLITE_OK;
  }
  if( rc!=SQLITE_ROW ) return rc;
  now = cache_now_ms();
  tFresh = o->eCacheMode==CM_TTL ? time_after(c.tStored, o->cacheTtlMs) : c.tFreshUntil;
  bFresh = now < tFresh;
  /* refresh always asks (and offline never does), whatever the request
  ** says; in http and ttl the request's own directives have their say. */
  eCache = bOffline ? (bFresh ? CACHE_HIT : CACHE_STALE) : CACHE_MISS;
  if( !bOffline && o->eCacheMode!=CM_REFRESH ){
    rc = entry_answers(&c, &rq, tFresh, now, &eCache);
    if( rc ){ cached_clear(&c); return rc; }
  }
  /* With max_requests the budget is the user's URLs': a refresh in the
  ** background could spend what a later URL of the scan needs, so there
  ** the stale entry is revalidated before it answers, as without the
  ** directive. */
  if( eCache==CACHE_MISS && o->eCacheMode==CM_HTTP
   && !(e->pGuard && e->pGuard->maxRequests) ){
    int bSwr;
    rc = entry_while_revalidate(&c, &rq, tFresh, now, &bSwr);
    if( rc ){ cached_clear(&c); return rc; }
    if( bSwr ) return answer_revalidating(e, &c, ppResp);
  }
  if( eCache!=CACHE_MISS ){
    rc = cachestore_touch(e->pCache, c.iId);
    if( rc ){ cached_clear(&c); return rc; }
    return answer_pending(e, &c, eCache, 0, ERR_NONE, ppResp);
  }
  if( rq.bOnlyIfCached ){
    cached_clear(&c);
    return answer_gateway_timeout(e, ppResp);
  }
  e->pPendCached = sqlite3_malloc64(sizeof(Cached));
  if( e->pPendCached==0 ){ cached_clear(&c); return SQLITE_NOMEM; }
  *e->pPendCached = c;
  return SQLITE_OK;
}

void cacheflow_release(Transfer *t){
  entry_free(t->pCached);
  t->pCached = 0;
  curl_slist_free_all(t->pCondHeaders);
  t->pCondHeaders = 0;
}

struct curl_slist *cacheflow_conditional(Transfer *t, struct curl_slist *pBase, int *pbOom){
  char *zEtag, *zDate;
  struct curl_slist *l, *pNew = 0;
  curl_slist_free_all(t->pCondHeaders);
  t->pCondHeaders = 0;
  if( t->pCached==0 ) return pBase;
  zEtag = cached_header(t->pCached->zHeaders, "etag", pbOom);
  zDate = cached_header(t->pCached->zHeaders, "last-modified", pbOom);
  if( *pbOom || (zEtag==0 && zDate==0) ){
    sqlite3_free(zEtag);
    sqlite3_free(zDate);
    return *pbOom ? 0 : pBase;
  }
  for(l=pBase; l && !*pbOom; l=l->next){
    struct curl_slist *p = curl_slist_append(pNew, l->data);
    if( p ) pNew = p; else *pbOom = 1;
  }
  if( !*pbOom && zEtag ){
    char *z = sqlite3_mprintf("If-None-Match: %s", zEtag);
    struct curl_slist *p = z ? curl_slist_append(pNew, z) : 0;
    if( p ) pNew = p; else *pbOom = 1;
    sqlite3_free(z);
  }
  if( !*pbOom && zDate ){
    char *z = sqlite3_mprintf("If-Modified-Since: %s", zDate);
    struct curl_slist *p = z ? curl_slist_append(pNew, z) : 0;
    if( p ) pNew = p; else *pbOom = 1;
    sqlite3_free(z);
  }
  sqlite3_free(zEtag);
  sqlite3_free(zDate);
  if( *pbOom ){
    curl_slist_free_all(pNew);
    return 0;
  }
  t->pCondHeaders = pNew;
  return pNew;
}

/**************************************************************************
** Header lines and freshness
*/

/* Is a header line of zName one that a 304 does not update, or that is
** never stored (a cookie may be a secret)? */
static int header_skipped(const char *zName, size_t n, int b304){
  static const char *const azNever[] = { "set-cookie", "set-cookie2", 0 };
  static const char *const az304[] = { "content-length", "content-encoding",
      "transfer-encoding", "content-range", "connection", "keep-alive", 0 };
  int i;
  for(i=0; azNever[i]; i++){
    if( strlen(azNever[i])==n && strncasecmp(azNever[i], zName, n)==0 ) return 1;
  }
  for(i=0; b304 && az304[i]; i++){
    if( strlen(az304[i])==n && strncasecmp(az304[i], zName, n)==0 ) return 1;
  }
  return 0;
}

/* The header lines of t's last response, "Name: value\r\n" each; with
** zOld (a stored entry's lines, on a 304), those of its lines whose name
** the response does not have follow (RFC 9111 section 4.3.4), and those a
** 304 does not update whatever it says (the stored body's Content-Length
** stays, though a 304 may say "Content-Length: 0").  Secrets
** redacted, as in the url column: a response may quote them (a Link to
** the next page carries the request's api_key), and the file is shared. */
static char *header_block(CURL *h, const Options *o, const char *zOld, int *pbOom){
  struct curl_header *p = 0;
  const char *z;
  Buf b = {0, 0, 0, 0};
  while( (p = curl_easy_nextheader(h, CURLH_HEADER, -1, p))!=0 ){
    if( header_skipped(p->name, strlen(p->name), zOld!=0) ) continue;
    buf_append(&b, p->name, strlen(p->name));
    buf_append(&b, STRCONST(": "));
    buf_append(&b, p->value, strlen(p->value));
    buf_append(&b, STRCONST("\r\n"));
  }
  for(z=zOld; z && *z; ){
    size_t nLine = strcspn(z, "\r\n"), nName = strcspn(z, ":");
    struct curl_header *pHdr;
    if( nName<nLine ){
      char *zName = sqlite3_mprintf("%.*s", (int)nName, z);
      if( zName==0 ){ b.bOom = 1; break; }
      if( header_skipped(z, nName, 1)
       || curl_easy_header(h, zName, 0, CURLH_HEADER, -1, &pHdr)!=CURLHE_OK ){
        buf_append(&b, z, nLine);
        buf_append(&b, STRCONST("\r\n"));
      }
      sqlite3_free(zName);
    }
    z += nLine;
    while( *z=='\r' || *z=='\n' ) z++;
  }
  if( b.bOom ){ *pbOom = 1; buf_free(&b); return 0; }
  if( b.z && options_hides(o) ){
    char *zShown = options_redact(o, b.z);
    buf_free(&b);
    if( zShown==0 ) *pbOom = 1;
    return zShown;
  }
  return b.z;
}

char *cacheflow_header_lines(CURL *h, const Options *o, int *pbOom){
  return header_block(h, o, 0, pbOom);
}

/* Set c's tFreshUntil and tStaleUntil from its header lines: it was asked
** for at tRequest and came at tResponse (unix ms); *pbStorable to whether
** the headers allow storing it (RFC 9111 section 3).  SQLITE_OK or
** SQLITE_NOMEM. */
static int entry_times(Engine *e, Cached *c, sqlite3_int64 tRequest,
                       sqlite3_int64 tResponse, const char *zMethod, int *pbStorable){
  const Options *o = e->pOpt;
  static const char *const azName[] = { "cache-control", "expires", "date", "age",
      "last-modified", "etag", "vary", "pragma" };
  char *az[8];
  CacheInfo info;
  sqlite3_int64 lifetime, age;
  int i, bOom = 0;
  for(i=0; i<8; i++) az[i] = cached_header(c->zHeaders, azName[i], &bOom);
  if( !bOom ) cacheinfo_parse(&info, az[0], az[1], az[2], az[3], az[4], az[5], az[6], az[7]);
  for(i=0; i<8; i++) sqlite3_free(az[i]);
  if( bOom ) return SQLITE_NOMEM;
  lifetime = cache_freshness_lifetime(&info, c->status, tResponse/1000, CACHE_HEURISTIC_CAP_S);
  age = cache_current_age(&info, tRequest/1000, tResponse/1000, tResponse/1000);
  c->tFreshUntil = tResponse + (lifetime>age ? (lifetime - age)*1000 : 0);
  c->tStaleUntil = (info.bMustRevalidate || info.bNoCache) ? -1
                 : c->tFreshUntil + (info.staleIfError>0 ? info.staleIfError*1000 : 0);
  /* Under ttl the entry is fresh for cache_ttl_ms whatever its headers
  ** say: so says fresh_until too, for api_fetch_cache and pruning. */
  if( o->eCacheMode==CM_TTL && c->tFreshUntil < tResponse + o->cacheTtlMs ){
    c->tFreshUntil = tResponse + o->cacheTtlMs;
  }
  c->tStored = tResponse;
  *pbStorable = cache_storable(zMethod, c->status, &info);
  return SQLITE_OK;
}

/* When t's attempt was sent, on the wall clock. */
static sqlite3_int64 attempt_sent(const Transfer *t, sqlite3_int64 now){
  sqlite3_int64 d = clock_ms() - t->tAttempt;
  return d>0 && d<now ? now - d : now;
}

/**************************************************************************
** Answers after the network
*/

/* t's stored entry as its response (t's request moves into it). */
static int answer_slot(Transfer *t, int eCache, Response **ppResp){
  int nAttempt = t->nAttempt, nRequest = t->nRequest;
  Response *r = response_from(t->pEngine->pOpt, &t->req, t->pCached, eCache);
  if( r==0 ) return SQLITE_NOMEM;
  r->nAttempt = nAttempt;
  r->nRequest = nRequest;
  r->elapsed_ms = clock_ms() - t->tFirst;
  *ppResp = r;
  return SQLITE_OK;
}

/* Section 4.1: entry c answers only requests that send what q sent for
** the fields its Vary names (none: any request for its key).  Set from its
** header lines as they are now: those of a 200, or of a 304 merged in
** (section 4.3.4), for a server that starts to vary names it there, and
** the 304 confirms the body for q's values only. */
static int entry_vary(Engine *e, Cached *c, const Request *q){
  int bOom = 0;
  char *zVary = cached_header(c->zHeaders, "vary", &bOom);
  if( bOom ) return SQLITE_NOMEM;
  c->bVary = zVary!=0;
  if( zVary ){
    cachestore_vary_key(e->pCache, zVary, q->pHeaders, e->pOpt->user_agent, c->aVary);
    sqlite3_free(zVary);
  }
  return SQLITE_OK;
}

int cacheflow_revalidated(Engine *e, Transfer *t, Response **ppResp, char **pzErr){
  Cached *c = t->pCached;
  sqlite3_int64 now = cache_now_ms();
  char *zBlock;
  int bOom = 0, bStorable, rc;
  assert( c );
  zBlock = header_block(t->easy, e->pOpt, c->zHeaders ? c->zHeaders : "", &bOom);
  if( bOom ) return SQLITE_NOMEM;
  sqlite3_free(c->zHeaders);
  c->zHeaders = zBlock;
  /* Only the times are wanted: the entry is freshened in place (RFC 9111
  ** section 4.3.4), not stored anew. */
  rc = entry_times(e, c, attempt_sent(t, now), now, method_stored_as(e->pOpt, &t->req),
                   &bStorable);
  if( rc ) return rc;
  /* Where this 304 came from: the entry's final URL is now the last hop's,
  ** or none if no redirect was followed this time (redacted as stored). */
  {
    const Options *o = e->pOpt;
    char *z = 0;
    if( t->nRedirect>0 && t->zHopUrl ){
      z = options_hides(o) ? options_redact(o, t->zHopUrl) : sqlite3_mprintf("%s", t->zHopUrl);
      if( z==0 ) return SQLITE_NOMEM;
    }
    sqlite3_free(c->zFinalUrl);
    c->zFinalUrl = z;
  }
  rc = entry_vary(e, c, &t->req);
  if( rc ) return rc;
  rc = cachestore_refresh(e->pCache, t->aKey, c, pzErr);
  if( rc ) return rc;
  return answer_slot(t, CACHE_REVALIDATED, ppResp);
}

int cacheflow_stale(Engine *e, Transfer *t, long status, Response **ppResp){
  const Options *o = e->pOpt;
  const Cached *c = t->pCached;
  sqlite3_int64 now = cache_now_ms();
  sqlite3_int64 tFresh = o->eCacheMode==CM_TTL ? time_after(c->tStored, o->cacheTtlMs)
                                               : c->tFreshUntil;
  *ppResp = 0;
  if( status!=0 && status!=500 && status!=502 && status!=503 && status!=504 ) return SQLITE_OK;
  /* must-revalidate and no-cache forbid it (RFC 9111 section 4.2.4), but
  ** not under ttl, which is the user overriding the server's headers. */
  if( c->tStaleUntil<0 && o->eCacheMode!=CM_TTL ) return SQLITE_OK;
  /* Stale only as far as cache_stale_ms, or the server's stale-if-error,
  ** allows: with neither, never (not even an entry stale by 0 ms, which
  ** is one that expired this very millisecond). */
  if( now>=tFresh
   && !(o->cacheStaleMs>0 && now<=time_after(tFresh, o->cacheStaleMs))
   && !(c->tStaleUntil>c->tFreshUntil && now<=c->tStaleUntil) ){
    return SQLITE_OK;
  }
  /* "stale" even when still fresh (refresh asks about fresh entries): the
  ** copy stands in for a fetch that failed, and a "hit" is an answer
  ** without a request (api_fetch_stats). */
  return answer_slot(t, CACHE_STALE, ppResp);
}

/* Section 4.4: an unsafe method (RFC 9110 section 9.2.1: all but GET,
** HEAD, OPTIONS and TRACE) that got a non-error status (2xx, 3xx) may have
** changed what its URL, and the URLs of its Location and Content-Location
** of the same origin, would answer: what is stored for them goes.  Judged
** per hop, as the hop just answered: a 307 or 308 carries a PUT to another
** URL, which it changes there; and once the status came, the request had
** its effect, whatever becomes of the body (over max_bytes, cut off). */
int cacheflow_invalidate(Engine *e, Transfer *t, long status, char **pzErr){
  static const char *const azSafe[] = { "GET", "HEAD", "OPTIONS", "TRACE" };
  static const char *const azField[] = { "Location", "Content-Location" };
  const Options *o = e->pOpt;
  const char *zMethod = t->req.zMethod ? t->req.zMethod : (t->req.pBody ? "POST" : "GET");
  const char *zUrl = t->zHopUrl ? t->zHopUrl : t->req.zUrl;
  int i, rc = SQLITE_OK;
  if( e->pCache==0 || t->easy==0 || status<200 || status>399 || t->bHopGet ) return SQLITE_OK;
  if( method_cacheable(o, &t->req) ) return SQLITE_OK;    /* cache_post's POST reads */
  for(i=0; i<(int)ArraySize(azSafe); i++){
    if( strcmp(zMethod, azSafe[i])==0 ) return SQLITE_OK;
  }
  for(i=-1; rc==SQLITE_OK && i<(int)ArraySize(azField); i++){
    struct curl_header *pH = 0;
    char *zTarget = 0, *zShown;
    int bOom = 0, bSame = 0;
    if( i<0 ){
      zTarget = sqlite3_mprintf("%s", zUrl);
      if( zTarget==0 ) return SQLITE_NOMEM;
    }else{
      if( curl_easy_header(t->easy, azField[i], 0, CURLH_HEADER, -1, &pH)!=CURLHE_OK ){
        continue;
      }
      zTarget = url_resolve_oom(zUrl, pH->value, &bOom);
      if( bOom ) return SQLITE_NOMEM;
      if( zTarget==0 ) continue;                   /* not a URL: nothing to forget */
      rc = url_same_origin(zUrl, zTarget, &bSame);
      if( rc || !bSame ){ sqlite3_free(zTarget); continue; }
    }
    zShown = options_hides(o) ? options_redact(o, zTarget) : zTarget;
    rc = zShown ? cachestore_invalidate(e->pCache, zShown, pzErr) : SQLITE_NOMEM;
    if( zShown!=zTarget ) sqlite3_free(zShown);
    sqlite3_free(zTarget);
  }
  return rc;
}

/* Do header zName of t's response and of stored lines zStored agree?  1 if
** the response has no such field (nothing to disagree with). */
static int field_agrees(Transfer *t, const char *zStored, const char *zName, int *pbOom){
  struct curl_header *pH;
  char *zOld;
  int bSame;
  if( curl_easy_header(t->easy, zName, 0, CURLH_HEADER, -1, &pH)!=CURLHE_OK ) return 1;
  zOld = cached_header(zStored, zName, pbOom);
  bSame = zOld && strcmp(zOld, pH->value)==0;
  sqlite3_free(zOld);
  return bSame;
}

/* Section 4.3.5: a 200 to a HEAD (r, from t) updates or invalidates the
** stored GET response that could have been chosen for the same request.
** Where every validator it has (ETag, Last-Modified) matches the stored
** one's, and its Content-Length the stored length, its header fields
** freshen the entry as a 304's would (4.3.4); else the entry is out of
** date and made stale, to be revalidated before it is used again. */
static int head_freshen(Engine *e, Transfer *t, const Response *r, char **pzErr){
  const Options *o = e->pOpt;
  Request q = r->req;                  /* the same request as a GET, for its key */
  unsigned char aKey[CACHE_KEY_SIZE];
  sqlite3_int64 now = cache_now_ms();
  Cached c;
  int rc, bOom = 0, bSame, bStorable;
  q.zMethod = (char*)"GET";
  cachekey_of(e->pOpt, e->pCache, &q, aKey);
  rc = cachestore_get(e->pCache, aKey, r->req.pHeaders, o->user_agent, &c, pzErr);
  if( rc!=SQLITE_ROW ) return rc==SQLITE_DONE ? SQLITE_OK : rc;
  bSame = field_agrees(t, c.zHeaders, "etag", &bOom)
       && field_agrees(t, c.zHeaders, "last-modified", &bOom);
  if( bSame && !bOom ){
    curl_off_t n = -1;
    char *zLen = cached_header(c.zHeaders, "content-length", &bOom);
    if( curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &n)==CURLE_OK && n>=0 ){
      bSame = zLen ? strtoll(zLen, 0, 10)==(sqlite3_int64)n : (sqlite3_int64)c.nBody==n;
    }
    sqlite3_free(zLen);
  }
  if( !bOom && bSame ){
    char *zBlock = header_block(t->easy, o, c.zHeaders ? c.zHeaders : "", &bOom);
    if( !bOom ){
      sqlite3_free(c.zHeaders);
      c.zHeaders = zBlock;
      rc = entry_times(e, &c, attempt_sent(t, now), now, "GET", &bStorable);
      if( rc ) bOom = 1;
    }
  }else if( !bOom ){
    c.tFreshUntil = 0;
    c.tStaleUntil = -1;              /* known out of date: no stand-in either */
  }
  rc = bOom ? SQLITE_NOMEM : cachestore_refresh(e->pCache, aKey, &c, pzErr);
  cached_clear(&c);
  return rc;
}

int cacheflow_store_error(Engine *e, Transfer *t, Response *r, char **pzErr){
  char *zType = 0;
  int rc;
  assert( r->zError && r->pBody==0 && r->zContentType==0 );
  r->eCache = CACHE_MISS;              /* fetched, as a 200 is, stored or not */
  if( !status_storable(e->pOpt, r->status) || t->bRefused || t->nBytesOut>0 ){
    return SQLITE_OK;
  }
  /* The body and content type stay in the entry, so that a later scan
  ** whose on_status says "data" has them; the row goes without. */
  if( curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &zType)==CURLE_OK && zType ){
    r->zContentType = sqlite3_mprintf("%s", zType);
    if( r->zContentType==0 ) return SQLITE_NOMEM;
  }
  r->pBody = t->pBody;
  r->nBody = t->nBody;
  rc = cacheflow_store(e, t, r, pzErr);
  r->pBody = 0;
  r->nBody = 0;
  sqlite3_free(r->zContentType);
  r->zContentType = 0;
  return rc;
}

int cacheflow_store(Engine *e, Transfer *t, Response *r, char **pzErr){
  const Options *o = e->pOpt;
  sqlite3_int64 now = cache_now_ms();
  CacheRequest rq;
  Cached c;
  char *zUrl, *zIp = 0;
  int rc, bOom = 0, bStorable;
  r->eCache = CACHE_MISS;
  if( !method_cacheable(o, &r->req) ) return SQLITE_OK;   /* cacheflow_invalidate's */
  if( r->status==200 && r->req.zMethod && strcmp(r->req.zMethod, "HEAD")==0 ){
    rc = head_freshen(e, t, r, pzErr);
    if( rc ) return rc;
  }
  if( !status_storable(o, r->status) ) return SQLITE_OK;
  if( o->cacheMaxBytes>0 && (sqlite3_int64)r->nBody > o->cacheMaxBytes ) return SQLITE_OK;
  /* Section 5.2.1.5: the request's no-store. */
  rc = cachekey_directives(&r->req, &rq);
  if( rc || rq.bNoStore ) return rc;
  memset(&c, 0, sizeof(c));
  c.status = r->status;
  c.zContentType = r->zContentType;
  c.pBody = r->pBody;
  c.nBody = r->nBody;
  c.tStored = now;
  c.zFinalUrl = r->zFinalUrl;
  /* Where the body came from, for block_private to judge a later hit by
  ** (libcurl's own buffer: c does not own it). */
  if( curl_easy_getinfo(t->easy, CURLINFO_PRIMARY_IP, &zIp)==CURLE_OK && zIp && zIp[0] ){
    c.zAddress = zIp;
  }
  c.zHeaders = header_block(t->easy, o, 0, &bOom);
  if( bOom ) return SQLITE_NOMEM;
  rc = entry_times(e, &c, attempt_sent(t, now), now, method_stored_as(o, &r->req), &bStorable);
  if( rc ){ sqlite3_free(c.zHeaders); return rc; }
  /* ttl and refresh store whatever the headers say: the user chose them
  ** over the server's word. */
  if( !bStorable && o->eCacheMode==CM_HTTP ){
    sqlite3_free(c.zHeaders);
    return SQLITE_OK;
  }
  rc = entry_vary(e, &c, &r->req);
  if( rc ){ sqlite3_free(c.zHeaders); return rc; }
  /* As the url column shows them: secrets redacted. */
  zUrl = options_hides(o) ? options_redact(o, r->req.zUrl) : r->req.zUrl;
  if( options_hides(o) && r->zFinalUrl ) c.zFinalUrl = options_redact(o, r->zFinalUrl);
  rc = zUrl && (c.zFinalUrl || !r->zFinalUrl)
     ? cachestore_put(e->pCache, t->aKey, zUrl, r->req.zMethod, &c, o->cacheMaxBytes, pzErr)
     : SQLITE_NOMEM;
  if( zUrl!=r->req.zUrl ) sqlite3_free(zUrl);
  if( c.zFinalUrl!=r->zFinalUrl ) sqlite3_free(c.zFinalUrl);
  sqlite3_free(c.zHeaders);
  return rc;
}
