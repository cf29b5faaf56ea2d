/*
** engine.c - the fetch engine: turns a stream of Requests into a stream of
** Responses with libcurl's multi interface, on the caller's thread.
**
**   Engine *e = engine_new(&opts, &guard, source, &zErr);
**   while( engine_next(e, &pResp, &zErr)==SQLITE_ROW ){ ...; response_free(pResp); }
**   engine_free(e);    -- also cancels whatever is still in flight
**
** It is a pull engine: it drives curl only from inside engine_next(), and
** only until one response is complete, so a cursor that stops early costs
** nothing more, and memory is bounded by the window (`concurrency`), not by
** the number of URLs.
**
** The window is a fixed array of Transfer slots, one per unit of
** concurrency, each with the easy handle of its current attempt (made anew
** for each attempt: see transfer_setup).  A slot stays taken while its
** request waits to be retried, as with asyncio.Semaphore + tenacity: that
** bounds memory and keeps a struggling server from being handed more work.
** One multi handle per engine holds the connection cache, so connections
** are reused across requests and HTTP/2 streams are multiplexed where the
** server offers it.
**
** Per-call policy (retry or not, how long to wait, rate) is in policy.c.
*/
#include <string.h>
#include <strings.h>
#include <time.h>
#include <assert.h>
#include <dirent.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include "apifetch.h"

enum { T_IDLE = 0, T_RUNNING = 1, T_WAITING = 2 };

typedef struct Transfer Transfer;
struct Transfer {
  Engine *pEngine;          /* The engine this slot belongs to */
  CURL *easy;               /* Easy handle of the current attempt, or NULL */
  int state;                /* T_IDLE, T_RUNNING or T_WAITING */
  Request req;              /* The request being worked on */
  int nAttempt;             /* Attempts started for req */
  sqlite3_int64 tFirst;     /* When the first attempt started, ms */
  sqlite3_int64 tDue;       /* T_WAITING: when to try again, ms */
  char *pBody;              /* Response body so far */
  size_t nBody;             /* Bytes in pBody */
  size_t nAlloc;            /* Bytes allocated for pBody */
  int bTooBig;              /* Body went over max_bytes */
  int bRefused;             /* The guard refused an address or host: no retry */
  int nRequest;             /* Requests sent for req: attempts and redirects */
  sqlite3_int64 tAttempt;   /* When this attempt (its first request) started */
  /* Where the redirects of this attempt have led (see redirect_follow);
  ** every new attempt starts again from req as it was asked. */
  char *zHopUrl;            /* The URL now, or NULL for req.zUrl */
  int nRedirect;            /* Redirects followed in this attempt */
  int bHopGet;              /* A redirect turned the request into a GET */
  int bHopForeign;          /* A redirect left req's origin: no credentials */
  struct curl_slist *pHopHeaders;  /* req's headers as a hop may send them */
  char *zNote;              /* Why a retry was not made, for the error text */
  char zErr[CURL_ERROR_SIZE];   /* libcurl's detail for the last failure */
};

struct Engine {
  const Options *pOpt;      /* Options (owned by the caller) */
  const Guard *pGuard;      /* Connection limits (owned by the caller), or NULL */
  Budget *pBudget;          /* What the limits are counted against (shared) */
  int bOverBytes;           /* max_total_bytes was passed */
  int bOverRequests;        /* max_requests was passed by a redirect */
  const char *zDeadline;    /* "deadline_ms" or "max_query_ms" */
  sqlite3_int64 deadlineMs; /* Its value */
  RequestSource src;        /* Where requests come from */
  int bSrcDone;             /* src has no more requests */
  Request pending;          /* Taken from src but not yet started */
  int bPending;             /* pending is valid */
  CURLM *multi;             /* One multi handle: one connection cache */
  CURLSH *share;            /* DNS and TLS session cache for the handles */
  Transfer *aXfer;          /* The window: nXfer slots */
  int nXfer;                /* Slots: concurrency, unless capped (engine_window) */
  const char *zCapped;      /* What capped it, or NULL */
  Transfer **apIdle;        /* Stack of idle slots */
  int nIdle;                /* Entries in apIdle */
  int nDone;                /* Responses in pDone: each still holds its slot's share
                            ** of the window, so memory stays bounded by it */
  Transfer **apHeap;        /* Min-heap of T_WAITING slots by tDue */
  int nHeap;                /* Entries in apHeap */
  int nRunning;             /* Slots in T_RUNNING */
  Response *pDone;          /* Completed responses, oldest first */
  Response *pDoneLast;      /* Last entry of pDone */
  TokenBucket bucket;       /* The `rate` limit */
  uint64_t rnd;             /* PRNG state for jitter */
  sqlite3_int64 tDeadline;  /* Whole-query deadline, ms, or 0 */
  int bExpired;             /* The deadline has passed */
  char *zExpired;           /* Error text once expired */
  sqlite3_int64 tRateBlocked;   /* Since when a start waits for a token, or 0 */
  sqlite3_int64 rateWaitMs;     /* Total of those waits */
  sqlite3_int64 tCancelCheck;   /* When src.xCancelled was last asked */
};

/**************************************************************************
** The retry heap: T_WAITING slots ordered by tDue.
*/
static void heap_push(Engine *e, Transfer *t){
  int i = e->nHeap++;
  while( i>0 ){
    int up = (i-1)/2;
    if( e->apHeap[up]->tDue<=t->tDue ) break;
    e->apHeap[i] = e->apHeap[up];
    i = up;
  }
  e->apHeap[i] = t;
}

static Transfer *heap_pop(Engine *e){
  Transfer *top = e->apHeap[0], *last = e->apHeap[--e->nHeap];
  int i = 0;
  for(;;){
    int c = 2*i+1;
    if( c>=e->nHeap ) break;
    if( c+1<e->nHeap && e->apHeap[c+1]->tDue<e->apHeap[c]->tDue ) c++;
    if( last->tDue<=e->apHeap[c]->tDue ) break;
    e->apHeap[i] = e->apHeap[c];
    i = c;
  }
  if( e->nHeap>0 ) e->apHeap[i] = last;
  return top;
}

/**************************************************************************
** libcurl callbacks
*/
static size_t on_body(char *pData, size_t size, size_t nmemb, void *pArg){
  Transfer *t = pArg;
  size_t n = size*nmemb;
  sqlite3_int64 max = t->pEngine->pOpt->max_bytes;
  Engine *e = t->pEngine;
  if( (sqlite3_int64)(t->nBody + n) > max ){
    t->bTooBig = 1;
    return 0;                       /* aborts the transfer */
  }
  e->pBudget->nBytes += (sqlite3_int64)n;
  if( e->pGuard && e->pGuard->maxTotalBytes && e->pBudget->nBytes > e->pGuard->maxTotalBytes ){
    e->bOverBytes = 1;
    t->bRefused = 1;
    return 0;
  }
  if( t->nBody + n + 1 > t->nAlloc ){
    size_t nNew = t->nAlloc ? t->nAlloc*2 : 16384;
    curl_off_t cl = -1;
    char *pNew;
    /* Size the buffer from Content-Length once, rather than doubling; but
    ** not past 1 MiB on the server's word alone: a window of servers each
    ** announcing max_bytes would reserve concurrency x max_bytes. */
    if( t->nBody==0
     && curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl)==CURLE_OK
     && cl>0 && cl<=max ){
      nNew = cl < (1<<20) ? (size_t)cl + 1 : (size_t)1<<20;
    }
    while( nNew < t->nBody + n + 1 ) nNew *= 2;
    if( (sqlite3_int64)nNew > max+1 ) nNew = (size_t)max + 1;
    pNew = sqlite3_realloc64(t->pBody, nNew);
    if( pNew==0 ) return 0;
    t->pBody = pNew;
    t->nAlloc = nNew;
  }
  memcpy(t->pBody + t->nBody, pData, n);
  t->nBody += n;
  t->pBody[t->nBody] = 0;
  return n;
}

/* The value of response header zName of the transfer's last response
** (its several lines joined by ", ", as RFC 9110 section 5.3 allows), or
** NULL if it has none; *pbOom on out-of-memory.  libcurl keeps every
** header of a transfer for curl_easy_header() (7.83+), so the engine need
** not watch header lines go by: what a request's caller wants to read
** (the paginator a Link, say) it names in req.azWant. */
static char *header_value(CURL *h, const char *zName, int *pbOom){
  struct curl_header *pHdr;
  size_t i = 0, nAmount = 1;
  Buf b = {0, 0, 0, 0};
  for(i=0; i<nAmount; i++){
    if( curl_easy_header(h, zName, i, CURLH_HEADER, -1, &pHdr)!=CURLHE_OK ) break;
    nAmount = pHdr->amount;
    if( b.n ) buf_append(&b, ", ", 2);
    buf_append(&b, pHdr->value, strlen(pHdr->value));
  }
  if( b.bOom ){ *pbOom = 1; buf_free(&b); return 0; }
  return b.z;
}

/* allow_hosts: is the host of the URL libcurl is working on (the redirect
** target, after a redirect) refused?  Then say why in t->zNote. */
static int host_refused(Transfer *t){
  char *zUrl = 0;
  const struct curl_slist *l;
  if( t->pEngine->pGuard==0 || t->pEngine->pGuard->azAllowHost==0 ) return 0;
  /* A Host header would reach another virtual host at an allowed address. */
  for(l=t->req.pHeaders; l; l=l->next){
    /* "Host:" with a value, or "Host;", which libcurl sends as an empty one. */
    if( strncasecmp(l->data, "host", 4)==0 && (l->data[4]==':' || l->data[4]==';') ){
      sqlite3_free(t->zNote);
      t->zNote = sqlite3_mprintf("refused by allow_hosts: a Host header is not allowed "
                                 "(the host is the URL's)");
      t->bRefused = 1;
      return 1;
    }
  }
  curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &zUrl);
  if( zUrl ){
    char *zHostPort = 0;
    if( guard_host_refused(t->pEngine->pGuard, zUrl, &zHostPort) ){
      sqlite3_free(t->zNote);
      t->zNote = sqlite3_mprintf("refused by allow_hosts: %s is not allowed (%s)",
                                 zHostPort ? zHostPort : "the host", zUrl);
      sqlite3_free(zHostPort);
      t->bRefused = 1;
      return 1;
    }
  }
  return 0;
}

/* allow_hosts, first check: before the name is looked up, so that SQL
** cannot make the host resolve names of its choosing (DNS carries data
** out) or probe ports.  Not called when the name is in the DNS cache,
** which only names already allowed get into. */
static int on_resolver_start(void *pResolver, void *pReserved, void *pArg){
  (void)pResolver; (void)pReserved;
  return host_refused((Transfer*)pArg);
}

/* block_private and allow_hosts: refuse the connection before it is made,
** block_private on the address libcurl is about to connect to (after DNS,
** for every redirect). */
static curl_socket_t on_open_socket(void *pArg, curlsocktype purpose,
                                    struct curl_sockaddr *a){
  Transfer *t = pArg;
  const char *zWhy = guard_address_refused(t->pEngine->pGuard, &a->addr);
  (void)purpose;
  if( host_refused(t) ) return CURL_SOCKET_BAD;
  if( zWhy ){
    char zIp[INET6_ADDRSTRLEN] = "?";
    const void *pIp = a->family==AF_INET6
        ? (const void*)&((struct sockaddr_in6*)&a->addr)->sin6_addr
        : (const void*)&((struct sockaddr_in*)&a->addr)->sin_addr;
    inet_ntop(a->family, pIp, zIp, sizeof(zIp));
    sqlite3_free(t->zNote);
    t->zNote = sqlite3_mprintf("refused by block_private: %s is %s", zIp, zWhy);
    t->bRefused = 1;
    return CURL_SOCKET_BAD;
  }
  return socket(a->family, a->socktype, a->protocol);
}

/* allow_hosts, last check: before each request is sent, also on a reused
** connection. */
static int on_prereq(void *pArg, char *zIp, char *zLocal, int port, int localPort){
  (void)zIp; (void)zLocal; (void)port; (void)localPort;
  return host_refused((Transfer*)pArg) ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}

/**************************************************************************
** Starting and finishing transfers
*/
/* The headers a request sends where a redirect has taken it: all of req's
** on its own origin, and on another only those that describe the body
** (libcurl itself drops only Authorization and Cookie, so an API key in
** X-Api-Key would follow a redirect anywhere).  Without a body, none of
** those.  NULL with *pbOom on out-of-memory. */
static int header_is_body(const char *zLine){
  static const char *const azBody[] = { "content-type", "content-encoding", "expect", 0 };
  size_t n = strcspn(zLine, ":;");
  int i;
  for(i=0; azBody[i]; i++){
    if( strlen(azBody[i])==n && strncasecmp(zLine, azBody[i], n)==0 ) return 1;
  }
  return 0;
}

static int hop_headers(Transfer *t){
  const struct curl_slist *l;
  int bBody = !t->bHopGet && t->req.pBody;
  curl_slist_free_all(t->pHopHeaders);
  t->pHopHeaders = 0;
  for(l=t->req.pHeaders; l; l=l->next){
    struct curl_slist *pNew;
    int bKeep = header_is_body(l->data) ? bBody : !t->bHopForeign;
    if( !bKeep ) continue;
    pNew = curl_slist_append(t->pHopHeaders, l->data);
    if( pNew==0 ) return SQLITE_NOMEM;
    t->pHopHeaders = pNew;
  }
  return SQLITE_OK;
}

/* Back to req as asked, for a new attempt. */
static void hop_reset(Transfer *t){
  sqlite3_free(t->zHopUrl);
  t->zHopUrl = 0;
  t->nRedirect = 0;
  t->bHopGet = 0;
  t->bHopForeign = 0;
  curl_slist_free_all(t->pHopHeaders);
  t->pHopHeaders = 0;
}

/* curl_easy_setopt that remembers a failure: a dropped header, proxy or
** CA file would be a silently different request, so any failure fails it
** (they fail only for want of memory). */
#define SETOPT(h, opt, val) (bad |= curl_easy_setopt(h, opt, val)!=CURLE_OK)

static int transfer_setup(Engine *e, Transfer *t){
  const Options *o = e->pOpt;
  CURL *h = t->easy;
  const char *zUrl = t->zHopUrl ? t->zHopUrl : t->req.zUrl;
  const char *zMethod = t->bHopGet ? (t->req.zMethod && strcmp(t->req.zMethod, "HEAD")==0
                                      ? "HEAD" : "GET") : t->req.zMethod;
  const char *pBody = t->bHopGet ? 0 : t->req.pBody;
  struct curl_slist *pHeaders = t->nRedirect ? t->pHopHeaders : t->req.pHeaders;
  sqlite3_int64 tmo = o->timeout_ms;
  int bad = 0;
  /* A fresh easy handle for every attempt and hop, not curl_easy_reset():
  ** libcurl before 8.1.0 (Debian 12 has 7.88.1) keeps a pointer to the last
  ** header of the handle's previous transfer after freeing it, and a
  ** response whose first header line is folded (starts with a space) then
  ** makes it realloc freed memory: a double free (curl issue 11101, fixed by
  ** PR 11103; found by make fuzz-http).  Connections, DNS and TLS sessions
  ** live in the multi and share handles, so nothing worth keeping is lost. */
  if( h ) curl_easy_cleanup(h);
  h = t->easy = curl_easy_init();
  if( h==0 ) return SQLITE_NOMEM;
  t->nBody = 0;
  t->bTooBig = 0;
  t->bRefused = 0;
  t->zErr[0] = 0;
  /* timeout_ms is per attempt: the redirects of an attempt share it. */
  if( t->nRedirect ){
    tmo -= clock_ms() - t->tAttempt;
    if( tmo<1 ) tmo = 1;
  }
  SETOPT(h, CURLOPT_URL, zUrl);
  SETOPT(h, CURLOPT_PRIVATE, t);
  SETOPT(h, CURLOPT_SHARE, e->share);
  SETOPT(h, CURLOPT_NOSIGNAL, 1L);
  SETOPT(h, CURLOPT_ERRORBUFFER, t->zErr);
  SETOPT(h, CURLOPT_WRITEFUNCTION, on_body);
  SETOPT(h, CURLOPT_WRITEDATA, t);
  /* Safe defaults: http(s) only; TLS peer and host verification stay at
  ** libcurl's default (on).  Redirects are followed here, not by libcurl
  ** (transfer_done), so that each hop is checked like a request. */
  SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
  SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
  SETOPT(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_bytes);
  SETOPT(h, CURLOPT_TIMEOUT_MS, (long)tmo);
  SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
  SETOPT(h, CURLOPT_ACCEPT_ENCODING, "");   /* all libcurl decodes */
  /* Wait for a multiplexed HTTP/2 stream rather than open a connection
  ** only where TLS ALPN settles the question during the handshake.  On
  ** cleartext HTTP/1.1 libcurl cannot know until a response arrives, so a
  ** waiting transfer would queue behind a slow one (measured: retries stuck
  ** behind a 3 s request until their own timeout). */
  if( strncasecmp(zUrl, "https:", 6)==0 ){
    SETOPT(h, CURLOPT_PIPEWAIT, 1L);
  }else{
    /* Cleartext is HTTP/1.1 only.  libcurl 7.88 believes a status line
    ** that says HTTP/2, even on an HTTP/1.1 connection, marks the host as
    ** one that multiplexes, and then sends the next request on a connection
    ** still busy with another response: responses cross between URLs
    ** (found by make fuzz-http; refused upstream since 8.8.0, PR 13421).  A
    ** transfer that does not want HTTP/2 is never multiplexed. */
    SETOPT(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  }
  SETOPT(h, CURLOPT_TCP_NODELAY, 1L);
  if( e->pGuard && (e->pGuard->bBlockPrivate || e->pGuard->azAllowHost) ){
    SETOPT(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    SETOPT(h, CURLOPT_OPENSOCKETDATA, t);
  }
  if( e->pGuard && e->pGuard->bBlockPrivate ){
    /* Through a proxy (http_proxy and friends in the environment) the
    ** address checked would be the proxy's, and the proxy would connect
    ** wherever it was asked: connect directly. */
    SETOPT(h, CURLOPT_PROXY, "");
  }
  if( e->pGuard && e->pGuard->azAllowHost ){
    SETOPT(h, CURLOPT_RESOLVER_START_FUNCTION, on_resolver_start);
    SETOPT(h, CURLOPT_RESOLVER_START_DATA, t);
    SETOPT(h, CURLOPT_PREREQFUNCTION, on_prereq);
    SETOPT(h, CURLOPT_PREREQDATA, t);
  }
  SETOPT(h, CURLOPT_USERAGENT, o->user_agent ? o->user_agent : "apifetch/" APIFETCH_VERSION);
  if( o->ca_file ){
    SETOPT(h, CURLOPT_CAINFO, o->ca_file);
  }else if( e->pGuard && e->pGuard->zCaFile ){
    SETOPT(h, CURLOPT_CAINFO, e->pGuard->zCaFile);
  }
  if( t->req.bNoCredentials || t->bHopForeign ){
    /* A page or a redirect on another origin than the one asked: none. */
  }else if( o->zBearer ){
    SETOPT(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    SETOPT(h, CURLOPT_XOAUTH2_BEARER, o->zBearer);
  }else if( o->zBasic ){
    SETOPT(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    SETOPT(h, CURLOPT_USERPWD, o->zBasic);
  }
  if( pHeaders ) SETOPT(h, CURLOPT_HTTPHEADER, pHeaders);
  if( zMethod && strcmp(zMethod, "HEAD")==0 ){
    SETOPT(h, CURLOPT_NOBODY, 1L);
  }else if( (zMethod && strcmp(zMethod, "GET")!=0) || pBody ){
    if( zMethod && strcmp(zMethod, "POST")!=0 ){
      SETOPT(h, CURLOPT_CUSTOMREQUEST, zMethod);
    }
    if( pBody || zMethod==0 || strcmp(zMethod, "POST")==0
     || strcmp(zMethod, "PUT")==0 || strcmp(zMethod, "PATCH")==0 ){
      SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(pBody ? t->req.nBody : 0));
      SETOPT(h, CURLOPT_POSTFIELDS, pBody ? pBody : "");
    }
  }
  return bad ? SQLITE_NOMEM : SQLITE_OK;
}

/* Start the next request of slot t: a new attempt (bAttempt), or the next
** hop of a redirect. */
static int transfer_start(Engine *e, Transfer *t, int bAttempt){
  int rc;
  if( bAttempt ){
    hop_reset(t);
    t->tAttempt = clock_ms();
  }
  rc = transfer_setup(e, t);
  if( rc ) return rc;
  if( curl_multi_add_handle(e->multi, t->easy)!=CURLM_OK ) return SQLITE_NOMEM;
  t->state = T_RUNNING;
  if( bAttempt ) t->nAttempt++;
  t->nRequest++;
  e->nRunning++;
  e->pBudget->nRequests++;
  return SQLITE_OK;
}

static void done_push(Engine *e, Response *r){
  e->nDone++;
  r->pNext = 0;
  if( e->pDoneLast ) e->pDoneLast->pNext = r; else e->pDone = r;
  e->pDoneLast = r;
}

/* Hand the slot's request and body over to a new Response and free the slot.
** zError is taken over (may be NULL). */
static int transfer_finish(Engine *e, Transfer *t, long status, char *zError, int eErr){
  Response *r = sqlite3_malloc64(sizeof(*r));
  char *zType = 0;
  if( r==0 ){ sqlite3_free(zError); return SQLITE_NOMEM; }
  memset(r, 0, sizeof(*r));
  r->req = t->req;
  memset(&t->req, 0, sizeof(t->req));
  r->status = status;
  r->zError = zError;
  r->eErr = zError ? eErr : ERR_NONE;
  r->nAttempt = t->nAttempt;
  r->nRequest = t->nRequest;
  r->elapsed_ms = clock_ms() - t->tFirst;
  if( zError==0 && t->easy
   && curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &zType)==CURLE_OK && zType ){
    r->zContentType = sqlite3_mprintf("%s", zType);
  }
  if( zError==0 && zType && r->zContentType==0 ){
    response_free(r);             /* and the request: the statement fails */
    return SQLITE_NOMEM;
  }
  if( zError==0 && r->req.nWant>0 ){
    /* The headers the request's caller reads.  Not a response without
    ** them on out-of-memory: a lost Link ends a chain, a lost total
    ** fetches pages one by one past the end. */
    int i, bOom = 0;
    r->azHeader = sqlite3_malloc64(sizeof(char*)*(size_t)r->req.nWant);
    if( r->azHeader ){
      r->nHeader = r->req.nWant;
      for(i=0; i<r->nHeader; i++) r->azHeader[i] = header_value(t->easy, r->req.azWant[i], &bOom);
    }
    if( r->azHeader==0 || bOom ){
      response_free(r);
      return SQLITE_NOMEM;
    }
  }
  if( zError==0 ){
    r->pBody = t->pBody;
    r->nBody = t->nBody;
    t->pBody = 0;
    t->nAlloc = 0;
  }
  t->nBody = 0;
  sqlite3_free(t->zNote);
  t->zNote = 0;
  t->nAttempt = 0;
  t->nRequest = 0;
  hop_reset(t);
  t->state = T_IDLE;
  e->apIdle[e->nIdle++] = t;
  done_push(e, r);
  return SQLITE_OK;
}

/* Should the attempt that just ended be repeated?  Returns the delay in ms,
** or -1 for no (with t->zNote set when the reason is worth telling). */
static sqlite3_int64 retry_delay(Engine *e, Transfer *t, CURLcode cc,
                                 long status, sqlite3_int64 now){
  const Options *o = e->pOpt;
  sqlite3_int64 delay;
  if( t->nAttempt>=o->max_attempts || t->bRefused ) return -1;
  if( cc!=CURLE_OK ){
    if( t->bTooBig || !policy_curlcode_retryable(cc) ) return -1;
  }else if( !policy_status_retryable(status) ){
    return -1;
  }
  /* A non-idempotent request may already have had its effect, unless the
  ** failure proves it never left this machine. */
  if( !policy_method_idempotent(t->req.zMethod) && !o->retry_unsafe
   && !(cc!=CURLE_OK && policy_curlcode_unsent(cc)) ){
    return -1;
  }
  delay = policy_backoff_ms(t->nAttempt, o->retry_base_ms, o->retry_max_ms,
                            policy_random(&e->rnd));
  if( cc==CURLE_OK ){
    struct curl_header *pRa;
    if( curl_easy_header(t->easy, "Retry-After", 0, CURLH_HEADER, -1, &pRa)==CURLHE_OK ){
      sqlite3_int64 ra = policy_retry_after_ms(pRa->value, (sqlite3_int64)time(0));
      if( ra>o->retry_after_max_ms ){
        t->zNote = sqlite3_mprintf("Retry-After \"%.60s\" exceeds retry_after_max_ms (%lld)",
                                   pRa->value, o->retry_after_max_ms);
        return -1;
      }
      if( ra>delay ) delay = ra;
    }
  }
  if( e->tDeadline && now+delay>=e->tDeadline ){
    t->zNote = sqlite3_mprintf("no time left before %s for another attempt", e->zDeadline);
    return -1;
  }
  return delay;
}

static char *failure_text(Engine *e, Transfer *t, CURLcode cc, long status){
  const char *zNote = t->zNote ? t->zNote : "";
  const char *zSep = t->zNote ? "; " : "";
  if( t->bRefused && t->zNote ) return sqlite3_mprintf("%s", t->zNote);
  if( t->bTooBig || cc==CURLE_FILESIZE_EXCEEDED ){
    return sqlite3_mprintf("response body exceeds max_bytes (%lld bytes)",
                           e->pOpt->max_bytes);
  }
  if( cc==CURLE_OUT_OF_MEMORY && status>0 && t->nBody==0 && t->zErr[0]==0 ){
    /* libcurl before 8.6 reports a header line over its limit as out of
    ** memory, with no detail.  With a status line in and no body yet that
    ** is by far the likely cause; the libcurl text stays in the message. */
    return sqlite3_mprintf("response header too large: a header line over libcurl's "
                           "limit of 100 KiB (libcurl says \"%s\")", curl_easy_strerror(cc));
  }
  if( cc!=CURLE_OK ){
    return sqlite3_mprintf("%s%s%s%s%s", curl_easy_strerror(cc),
                           t->zErr[0] ? ": " : "", t->zErr, zSep, zNote);
  }
  if( status>=400 || status<200 ){
    return sqlite3_mprintf("HTTP %ld%s%s", status, zSep, zNote);
  }
  return 0;
}

/* A 3xx with a Location is followed here rather than by libcurl, so that
** every hop is a request like any other (allow_hosts, block_private and
** max_requests see it) and so that a hop to another origin (scheme, host,
** port) than the one asked carries no credentials and no headers but the
** body's (libcurl drops only Authorization and Cookie).  As in the fetch
** standard, 303 (and 301 or 302 after a POST) becomes a GET without a
** body; 307 and 308 keep the method and the body.
** Returns 1 if the next hop was started, 0 if the response is final (not a
** redirect, or max_redirects is 0), -1 with *pzError for a redirect that
** is refused, or SQLITE_NOMEM. */
static int redirect_follow(Engine *e, Transfer *t, long status, char **pzError){
  const Options *o = e->pOpt;
  const char *zLoc = 0, *zFrom = t->zHopUrl ? t->zHopUrl : t->req.zUrl;
  const char *zMethod = t->req.zMethod ? t->req.zMethod : t->req.pBody ? "POST" : "GET";
  char *zWhy, *zNew;
  int rc;
  if( status!=301 && status!=302 && status!=303 && status!=307 && status!=308 ) return 0;
  if( o->max_redirects==0 ) return 0;
  if( curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &zLoc)!=CURLE_OK || zLoc==0 ) return 0;
  if( t->nRedirect>=o->max_redirects ){
    *pzError = sqlite3_mprintf("redirected more than max_redirects (%d) times, last to %s",
                               o->max_redirects, zLoc);
    return *pzError ? -1 : SQLITE_NOMEM;
  }
  rc = url_check(zLoc, &zWhy);
  if( rc==SQLITE_NOMEM ) return SQLITE_NOMEM;
  if( rc ){
    *pzError = sqlite3_mprintf("redirect refused: %s", zWhy);
    sqlite3_free(zWhy);
    return *pzError ? -1 : SQLITE_NOMEM;
  }
  if( e->pGuard && e->pGuard->maxRequests && e->pBudget->nRequests>=e->pGuard->maxRequests ){
    e->bOverRequests = 1;
    *pzError = sqlite3_mprintf("max_requests reached before redirect to %s", zLoc);
    return *pzError ? -1 : SQLITE_NOMEM;
  }
  zNew = sqlite3_mprintf("%s", zLoc);
  if( zNew==0 ) return SQLITE_NOMEM;
  if( !t->bHopForeign ){
    int bSame = url_same_origin(zNew, zFrom);
    if( bSame<0 ){ sqlite3_free(zNew); return SQLITE_NOMEM; }
    t->bHopForeign = !bSame;
  }
  if( (status==303 && strcmp(zMethod, "HEAD")!=0)
   || ((status==301 || status==302) && strcmp(zMethod, "POST")==0) ){
    t->bHopGet = 1;
  }
  sqlite3_free(t->zHopUrl);
  t->zHopUrl = zNew;
  t->nRedirect++;
  if( hop_headers(t) ) return SQLITE_NOMEM;
  return transfer_start(e, t, 0)==SQLITE_OK ? 1 : SQLITE_NOMEM;
}

static int transfer_done(Engine *e, Transfer *t, CURLcode cc){
  long status = 0;
  sqlite3_int64 now = clock_ms(), delay;
  char *zError = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_multi_remove_handle(e->multi, t->easy);
  e->nRunning--;
  if( cc==CURLE_OK && !t->bRefused ){
    int r = redirect_follow(e, t, status, &zError);
    if( r==1 ) return SQLITE_OK;
    if( r<0 ) return transfer_finish(e, t, status, zError, ERR_NETWORK);
    if( r ) return r;
  }
  delay = retry_delay(e, t, cc, status, now);
  if( delay>=0 ){
    t->state = T_WAITING;
    t->tDue = now + delay;
    heap_push(e, t);
    return SQLITE_OK;
  }
  zError = failure_text(e, t, cc, status);
  if( zError==0 && (cc!=CURLE_OK || status>=400 || status<200) ) return SQLITE_NOMEM;
  return transfer_finish(e, t, status, zError,
      (t->bTooBig || cc==CURLE_FILESIZE_EXCEEDED) ? ERR_TOO_BIG
      : cc==CURLE_OPERATION_TIMEDOUT ? ERR_TIMEOUT
      : cc!=CURLE_OK ? ERR_NETWORK : ERR_HTTP);
}

/**************************************************************************
** The scheduler
*/

/* Start every transfer that may start now: due retries first (they already
** hold a slot), then new requests into idle slots, each taking a token from
** the rate bucket.  *pWait gets the ms until the bucket has a token, or -1.
*/
static int engine_fill(Engine *e, sqlite3_int64 now, int *pnStarted,
                       sqlite3_int64 *pWait, char **pzErr){
  int rc;
  *pWait = -1;
  *pnStarted = 0;
  for(;;){
    Transfer *t;
    int bRetry = e->nHeap>0 && e->apHeap[0]->tDue<=now;
    if( !bRetry ){
      if( e->nIdle - e->nDone <= 0 ) break;
      if( !e->bPending && !e->bSrcDone ){
        int r = e->src.xNext(e->src.pCtx, &e->pending, pzErr);
        if( r<0 ) return SQLITE_ERROR;
        if( r==0 ) e->bSrcDone = 1; else e->bPending = 1;
      }
      if( !e->bPending ) break;
    }
    if( e->pGuard && e->pGuard->maxRequests && e->pBudget->nRequests>=e->pGuard->maxRequests ){
      *pzErr = sqlite3_mprintf(
          "api_fetch: this query reached max_requests (%lld) set by api_fetch_config",
          e->pGuard->maxRequests);
      return SQLITE_ERROR;
    }
    *pWait = bucket_take(&e->bucket, now);
    if( *pWait>0 ){
      if( e->tRateBlocked==0 ) e->tRateBlocked = now;
      break;
    }
    if( e->tRateBlocked ){
      e->rateWaitMs += now - e->tRateBlocked;
      e->tRateBlocked = 0;
    }
    if( bRetry ){
      t = heap_pop(e);
    }else{
      t = e->apIdle[--e->nIdle];
      t->req = e->pending;
      e->bPending = 0;
      t->nAttempt = 0;
      t->tFirst = now;
    }
    rc = transfer_start(e, t, 1);
    if( rc ) return rc;
    (*pnStarted)++;
  }
  return SQLITE_OK;
}

static int engine_drain(Engine *e){
  CURLMsg *m;
  int nLeft, rc = SQLITE_OK;
  while( (m = curl_multi_info_read(e->multi, &nLeft))!=0 ){
    if( m->msg==CURLMSG_DONE ){
      Transfer *t = 0;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char**)&t);
      if( rc==SQLITE_OK ) rc = transfer_done(e, t, m->data.result);
    }
  }
  return rc;
}

/* The deadline passed: every request not yet answered gets an error
** response, the ones in flight are cancelled, nothing new is started. */
static int engine_expire(Engine *e){
  int i;
  e->bExpired = 1;
  e->zExpired = sqlite3_mprintf("%s (%lld) reached", e->zDeadline, e->deadlineMs);
  if( e->zExpired==0 ) return SQLITE_NOMEM;
  for(i=0; i<e->nXfer; i++){
    Transfer *t = &e->aXfer[i];
    if( t->state==T_RUNNING ){
      curl_multi_remove_handle(e->multi, t->easy);
      e->nRunning--;
    }
    if( t->state!=T_IDLE ){
      char *zErr = sqlite3_mprintf("%s", e->zExpired);
      if( zErr==0 || transfer_finish(e, t, 0, zErr, ERR_DEADLINE) ) return SQLITE_NOMEM;
    }
  }
  e->nHeap = 0;
  return SQLITE_OK;
}

/* After the deadline: the next request not started becomes an error. */
static int engine_next_expired(Engine *e, Response **ppResp, char **pzErr){
  Response *r;
  Request req;
  if( e->bPending ){
    req = e->pending;
    e->bPending = 0;
  }else{
    int n = e->bSrcDone ? 0 : e->src.xNext(e->src.pCtx, &req, pzErr);
    if( n<0 ) return SQLITE_ERROR;
    if( n==0 ){ e->bSrcDone = 1; return SQLITE_DONE; }
  }
  r = sqlite3_malloc64(sizeof(*r));
  if( r ){
    memset(r, 0, sizeof(*r));
    r->req = req;
    r->zError = sqlite3_mprintf("%s before this request was started", e->zExpired);
    r->eErr = ERR_DEADLINE;
  }
  if( r==0 || r->zError==0 ){
    if( r ) response_free(r); else request_clear(&req);
    return SQLITE_NOMEM;
  }
  *ppResp = r;
  return SQLITE_ROW;
}

int engine_next(Engine *e, Response **ppResp, char **pzErr){
  CURLMcode mc;
  *ppResp = 0;
  for(;;){
    sqlite3_int64 now = clock_ms(), wait = -1, tmo;
    long curlTmo = -1;
    int nStarted, nRun, rc;

    if( e->tDeadline && now>=e->tDeadline && !e->bExpired ){
      if( engine_expire(e) ) return SQLITE_NOMEM;
    }
    if( !e->bExpired ){
      rc = engine_fill(e, now, &nStarted, &wait, pzErr);
      if( rc ) return rc;
      /* Drive curl when there is nothing to hand out, or to send what was
      ** just started before handing out what is ready. */
      if( e->pDone==0 || nStarted>0 ){
        mc = curl_multi_perform(e->multi, &nRun);
        if( mc!=CURLM_OK ) goto multi_error;
        rc = engine_drain(e);
        if( rc ) return rc;
        if( e->bOverBytes ){
          *pzErr = sqlite3_mprintf("api_fetch: this query received more than "
              "max_total_bytes (%lld) set by api_fetch_config", e->pGuard->maxTotalBytes);
          return SQLITE_ERROR;
        }
        if( e->bOverRequests ){
          *pzErr = sqlite3_mprintf(
              "api_fetch: this query reached max_requests (%lld) set by api_fetch_config",
              e->pGuard->maxRequests);
          return SQLITE_ERROR;
        }
      }
    }
    if( e->pDone ){
      Response *r = e->pDone;
      e->pDone = r->pNext;
      e->nDone--;
      if( e->pDone==0 ) e->pDoneLast = 0;
      r->pNext = 0;
      *ppResp = r;
      return SQLITE_ROW;
    }
    if( e->bExpired ) return engine_next_expired(e, ppResp, pzErr);
    if( e->bSrcDone && !e->bPending && e->nRunning==0 && e->nHeap==0 ){
      return SQLITE_DONE;
    }

    /* Nothing ready.  SQLite cannot stop a statement while a virtual table
    ** waits, so ask whether it has been stopped. */
    if( e->src.xCancelled && now - e->tCancelCheck >= APIFETCH_CANCEL_CHECK_MS ){
      e->tCancelCheck = now;
      if( e->src.xCancelled(e->src.pCtx) ){
        /* Exactly SQLite's own word: hosts match it (Datasette shows its
        ** "SQL Interrupted" page only for an error that reads "interrupted"). */
        *pzErr = sqlite3_mprintf("interrupted");
        return SQLITE_INTERRUPT;
      }
    }
    /* Sleep until a socket is ready, curl has a timer due, a retry falls
    ** due, the bucket refills, the deadline comes or it is time to ask
    ** again whether the query was stopped. */
    curl_multi_timeout(e->multi, &curlTmo);
    tmo = (e->nRunning>0 && curlTmo>=0) ? curlTmo : 1000;
    if( e->src.xCancelled && tmo>APIFETCH_CANCEL_CHECK_MS ) tmo = APIFETCH_CANCEL_CHECK_MS;
    /* A retry already due that was not started waits on the bucket (wait)
    ** or on a slot (curl's timeout): only a future one shortens the sleep,
    ** else the loop would spin until a token comes. */
    if( e->nHeap>0 && e->apHeap[0]->tDue > now && e->apHeap[0]->tDue - now < tmo ){
      tmo = e->apHeap[0]->tDue - now;
    }
    if( wait>0 && wait<tmo ) tmo = wait;
    if( e->tDeadline && e->tDeadline - now < tmo ) tmo = e->tDeadline - now;
    if( tmo>1000 ) tmo = 1000;
    if( tmo>0 ){
      mc = curl_multi_poll(e->multi, 0, 0, (int)tmo, 0);
      if( mc!=CURLM_OK ) goto multi_error;
    }
  }

multi_error:
  *pzErr = sqlite3_mprintf("api_fetch: libcurl multi error: %s", curl_multi_strerror(mc));
  return SQLITE_ERROR;
}

static void raise_fd_limit(void){
  struct rlimit rl;
  if( getrlimit(RLIMIT_NOFILE, &rl)==0 && rl.rlim_cur<rl.rlim_max ){
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);    /* where allowed; engine_window copes if not */
  }
}

void engine_raise_fd_limit(void){
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, raise_fd_limit);
}

/* File descriptors this process may still open: the soft limit less those
** open now (counted in /proc/self/fd), or -1 if that cannot be told. */
static long fds_available(void){
  struct rlimit rl;
  DIR *d;
  long nOpen = 0;
  if( getrlimit(RLIMIT_NOFILE, &rl)!=0 || rl.rlim_cur==RLIM_INFINITY ) return -1;
  d = opendir("/proc/self/fd");
  if( d==0 ) return -1;
  while( readdir(d) ) nOpen++;
  closedir(d);
  return (long)rl.rlim_cur - (nOpen - 2);       /* "." and ".." */
}

/* How many transfers may be in flight: concurrency, capped by the host's
** max_concurrency and by the file descriptors left.  A transfer holds a
** socket, and while its name is resolved a socket pair too, so the window
** gets half of what is left after a reserve for the host (its database,
** its own sockets); above that, transfers failed to open sockets and the
** failures were absorbed by retries without a word. */
static int engine_window(const Options *pOpt, const Guard *pGuard, const char **pzWhy){
  int n = pOpt->concurrency;
  long nFree;
  *pzWhy = 0;
  if( pGuard && pGuard->maxConcurrency && n>pGuard->maxConcurrency ){
    n = (int)pGuard->maxConcurrency;
    *pzWhy = "max_concurrency";
  }
  nFree = fds_available();
  if( nFree>=0 && n > (nFree - APIFETCH_FD_RESERVE)/2 ){
    n = nFree - APIFETCH_FD_RESERVE > 2 ? (int)((nFree - APIFETCH_FD_RESERVE)/2) : 1;
    *pzWhy = "the open-file limit";
  }
  assert( n>=1 );
  return n;
}

Engine *engine_new(const Options *pOpt, const Guard *pGuard, Budget *pBudget,
                   RequestSource src, char **pzErr){
  Engine *e = sqlite3_malloc64(sizeof(*e));
  const char *zCapped;
  int i, n = engine_window(pOpt, pGuard, &zCapped);
  if( e==0 ) goto oom;
  memset(e, 0, sizeof(*e));
  e->nXfer = n;
  e->zCapped = zCapped;
  e->pOpt = pOpt;
  e->pGuard = pGuard;
  e->pBudget = pBudget;
  e->src = src;
  e->aXfer = sqlite3_malloc64(sizeof(Transfer)*n);
  /* Zeroed before anything can fail: engine_free cleans up every slot. */
  if( e->aXfer ) memset(e->aXfer, 0, sizeof(Transfer)*n);
  e->apIdle = sqlite3_malloc64(sizeof(Transfer*)*n);
  e->apHeap = sqlite3_malloc64(sizeof(Transfer*)*n);
  e->multi = curl_multi_init();
  e->share = curl_share_init();
  if( !e->aXfer || !e->apIdle || !e->apHeap || !e->multi || !e->share ) goto oom;
  for(i=0; i<n; i++){
    e->aXfer[i].pEngine = e;
    e->apIdle[n-1-i] = &e->aXfer[i];
  }
  e->nIdle = n;
  /* Checked like every option (the SSL session cache is allocated here). */
  if( curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS)
   || curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION)
   || curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX)
   || curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)(n<16 ? 16 : n))
   || (pOpt->per_host>0
       && curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)pOpt->per_host)) ){
    goto oom;
  }
  bucket_init(&e->bucket, pOpt->rate, pOpt->burst, clock_ms());
  e->rnd = (uint64_t)clock_ms() ^ (uint64_t)(uintptr_t)e ^ ((uint64_t)time(0)<<20);
  /* deadline_ms runs from this scan's start, max_query_ms from the start
  ** of the budget window (the statement): the earlier one applies. */
  e->zDeadline = "deadline_ms";
  e->deadlineMs = pOpt->deadline_ms;
  if( pOpt->deadline_ms>0 ) e->tDeadline = clock_ms() + pOpt->deadline_ms;
  if( pGuard && pGuard->maxQueryMs
   && (e->tDeadline==0 || pBudget->tStart + pGuard->maxQueryMs < e->tDeadline) ){
    e->zDeadline = "max_query_ms";
    e->deadlineMs = pGuard->maxQueryMs;
    e->tDeadline = pBudget->tStart + pGuard->maxQueryMs;
  }
  return e;
oom:
  engine_free(e);
  *pzErr = sqlite3_mprintf("api_fetch: out of memory starting the engine");
  return 0;
}

void engine_wake(Engine *e){
  /* Also after the deadline: a response that arrived in time and was read
  ** after it may name a next page, which must become an error row saying
  ** so (engine_next_expired), not vanish. */
  e->bSrcDone = 0;
}

int engine_window_size(const Engine *e, const char **pzCapped){
  if( pzCapped ) *pzCapped = e->zCapped;
  return e->nXfer;
}

sqlite3_int64 engine_rate_wait_ms(const Engine *e){
  return e->rateWaitMs + (e->tRateBlocked ? clock_ms() - e->tRateBlocked : 0);
}

void engine_free(Engine *e){
  Response *r, *rNext;
  int i;
  if( e==0 ) return;
  if( e->aXfer ){
    for(i=0; i<e->nXfer; i++){
      Transfer *t = &e->aXfer[i];
      if( t->state==T_RUNNING ) curl_multi_remove_handle(e->multi, t->easy);
      if( t->easy ) curl_easy_cleanup(t->easy);
      request_clear(&t->req);
      hop_reset(t);
      sqlite3_free(t->pBody);
      sqlite3_free(t->zNote);
    }
  }
  for(r=e->pDone; r; r=rNext){ rNext = r->pNext; response_free(r); }
  if( e->bPending ) request_clear(&e->pending);
  if( e->multi ) curl_multi_cleanup(e->multi);
  if( e->share ) curl_share_cleanup(e->share);
  sqlite3_free(e->aXfer);
  sqlite3_free(e->apIdle);
  sqlite3_free(e->apHeap);
  sqlite3_free(e->zExpired);
  sqlite3_free(e);
}
