/*
** hostlimit.c - what the engine learns per host (origin) during a scan:
** the rate-limit budget the server tells, the pace when it tells nothing
** but 429, the adaptive window, the circuit breaker, and the statistics
** that api_fetch_host_stats shows.
**
**   SELECT url, status FROM api_fetch(:urls, 50);          -- adaptive by default
**   SELECT url, status FROM api_fetch(:urls, 50, '{"adaptive": false, "breaker": 0}');
**   SELECT host, requests, "429s", p95_ms, final_window FROM api_fetch_host_stats;
**
** The engine asks host_admit() before every attempt and tells
** host_started() / host_attempt_done() what happened; it alone moves slots
** (engine.c's slot_state), this file only decides and counts.
**
** The hosts are a fixed table (HostTable, APIFETCH_MAX_HOSTS entries,
** open addressing on the origin's hash): no allocation per request.  Hosts
** past the cap share the last entry, "(other hosts)", whose limits are then
** the most cautious of theirs, which is safe if slow.
**
** Three controls, each chosen for a reason:
**  - Rate-limit fields (GitHub, IETF, old draft: policy_ratelimit).  The
**    budget left is the server's "remaining" less the requests in flight it
**    has not counted yet, and each start takes one, so it never goes below
**    zero; the starts are spread evenly over the time to the reset (pacing,
**    not burst-then-stall, which would send a window's budget at once and
**    meet the next window's edge with requests in flight).  Spent: new
**    requests wait for the reset, other hosts go on.
**  - No fields, but 429 or 503: the pace is set from the requests the host
**    accepted over the last second, less 5%, at most once per 100 ms, then
**    grows by 1 request/s per second of success (additive increase,
**    multiplicative decrease, on the rate).  A concurrency window alone does
**    not slow a fast server: on loopback one slot sends a thousand a second.
**  - The window (AIMD on concurrency, as TCP's congestion window): halved on
**    429/503, not below 1; +1 per window's worth of successes; never above
**    concurrency, nor per_host but on a host that multiplexes (HTTP/2).  It
**    bounds what a struggling host is handed.
** The `adaptive` option (default on) turns all three off; `rate` still applies.
**
** The breaker: `breaker` consecutive failures (no response, a timeout, a
** 5xx) open it; while open, the host's requests end at once with an error
** row; after breaker_cooldown_ms one probe is let through (half-open), and
** its success closes it again.
*/
#include <assert.h>
#include <string.h>
#include <sys/time.h>
#include "apifetch.h"
#include "engine_int.h"

#define HOST_WAIT_MS 5          /* Recheck a host whose window is full */
#define HOST_RESET_MARGIN_MS 10 /* After a reset, against clocks a hair apart */

/* "scheme://host:port" of zUrl, lower-cased, user info dropped, into z. */
static void host_origin(const char *zUrl, char *z, int n){
  const char *zHost = strstr(zUrl, "://"), *zEnd, *zAt, *p;
  int i = 0;
  if( zHost==0 ){ sqlite3_snprintf(n, z, "%s", "(no host)"); return; }
  zHost += 3;
  for(zEnd=zHost; *zEnd && *zEnd!='/' && *zEnd!='?' && *zEnd!='#'; zEnd++){}
  for(zAt=zEnd; zAt>zHost && zAt[-1]!='@'; zAt--){}
  for(p=zUrl; p<zEnd && i<n-1; p++){
    if( p==zHost && zAt>zHost ) p = zAt;       /* skip user:password@ */
    z[i++] = (*p>='A' && *p<='Z') ? *p + 32 : *p;
  }
  z[i] = 0;
}

static unsigned host_hash(const char *z){
  unsigned h = 2166136261u;                 /* FNV-1a */
  for(; *z; z++) h = (h ^ (unsigned char)*z) * 16777619u;
  return h;
}

void hosts_init(HostTable *p, int nCap, int nCapMux, const Options *pOpt){
  memset(p, 0, sizeof(*p));
  p->nCap = nCap<1 ? 1 : nCap;
  p->nCapMux = nCapMux<p->nCap ? p->nCap : nCapMux;
  p->bAdaptive = pOpt->adaptive;
  p->nBreaker = pOpt->breaker;
  p->cooldownMs = pOpt->breaker_cooldown_ms;
}

static Host *host_new(HostTable *p, const char *zOrigin){
  Host *h = &p->aHost[p->nHost++];
  sqlite3_snprintf(sizeof(h->zOrigin), h->zOrigin, "%s", zOrigin);
  h->nWindow = p->nCap;
  return h;
}

int host_find(HostTable *p, const char *zUrl){
  char zOrigin[HOST_ORIGIN_MAX];
  unsigned i;
  host_origin(zUrl ? zUrl : "", zOrigin, sizeof(zOrigin));
  for(i=host_hash(zOrigin); ; i++){
    int k = p->aSlot[i % ArraySize(p->aSlot)];
    if( k==0 ) break;
    if( strcmp(p->aHost[k-1].zOrigin, zOrigin)==0 ) return k-1;
  }
  if( p->nHost==APIFETCH_MAX_HOSTS-1 ){
    Host *h = host_new(p, "(other hosts)");
    h->nWindow = p->nCap;
  }
  if( p->nHost>=APIFETCH_MAX_HOSTS ) return APIFETCH_MAX_HOSTS-1;
  /* Twice as many slots as hosts: a free slot is always found. */
  p->aSlot[i % ArraySize(p->aSlot)] = (short)(p->nHost + 1);
  host_new(p, zOrigin);
  return p->nHost-1;
}

/* Requests the host accepted in the last second, from its ring of 100 ms
** counts, moved on to now. */
static int host_accepted(Host *h, sqlite3_int64 now, int nAdd){
  sqlite3_int64 k = now/100;
  int i, n = 0;
  if( k - h->iAcc >= ArraySize(h->aAcc) ) memset(h->aAcc, 0, sizeof(h->aAcc));
  else for(; h->iAcc<k; ) h->aAcc[++h->iAcc % ArraySize(h->aAcc)] = 0;
  h->iAcc = k;
  h->aAcc[k % ArraySize(h->aAcc)] += nAdd;
  for(i=0; i<ArraySize(h->aAcc); i++) n += h->aAcc[i];
  return n;
}

/* Start holding h back (why: HELD_*), or go on holding it. */
static sqlite3_int64 host_hold(Host *h, int eWhy, sqlite3_int64 now, sqlite3_int64 wait){
  if( h->tHeld==0 ) h->tHeld = now;
  h->eHeld = eWhy;
  return wait<1 ? 1 : wait;
}

sqlite3_int64 host_admit(Engine *e, int iHost, sqlite3_int64 now){
  HostTable *p = &e->hosts;
  Host *h = &p->aHost[iHost];
  sqlite3_int64 interval = 0;
  if( h->eBreaker==BRK_OPEN ){
    if( now < h->tOpen + p->cooldownMs ) return -1;
    h->eBreaker = BRK_HALF;          /* cool-down over: one probe */
    h->bProbe = 0;
  }
  if( h->eBreaker==BRK_HALF ){
    if( h->bProbe ) return host_hold(h, HELD_PROBE, now, HOST_WAIT_MS);
  }
  if( p->bAdaptive ){
    /* Before a host's first answer nothing is known of its budget: the
    ** first requests go out as the window allows (per_host bounds them).
    ** Holding all but one until it answers would cost every statement a
    ** round trip per host, a fifth of a 1 s latency-bound run (make bench
    ** W1: 1.23x its bound against 1.03x); a budget smaller than the window
    ** answers the rest 429, and they are retried at the pace then told. */
    if( h->nInFlight>=h->nWindow ){
      return host_hold(h, HELD_WINDOW, now, HOST_WAIT_MS);
    }
    if( h->bBudget ){
      if( now>=h->tReset ){
        /* A new window, not yet told: as much as the last one allowed,
        ** until a response says how much is left. */
        h->nLeft = h->nLimit>0 ? h->nLimit : 1;
        h->tReset = now + (h->windowMs>0 ? h->windowMs : 1000);
      }
      if( h->nLeft<=0 ){
        return host_hold(h, HELD_BUDGET, now, h->tReset + HOST_RESET_MARGIN_MS - now);
      }
      interval = (h->tReset - now)/h->nLeft;
    }else if( h->pace>0 ){
      interval = (sqlite3_int64)(1000.0/h->pace);
    }
    if( h->tNext>now ) return host_hold(h, h->bBudget ? HELD_BUDGET : HELD_PACE, now,
                                        h->tNext - now);
  }
  if( h->tHeld ){
    if( h->eHeld==HELD_BUDGET || h->eHeld==HELD_PACE ) h->waitMs += now - h->tHeld;
    h->tHeld = 0;
  }
  if( h->bBudget ) h->nLeft--;
  h->tNext = now + interval;
  if( h->eBreaker==BRK_HALF ) h->bProbe = 1;
  if( h->tFirst==0 ) h->tFirst = now;
  return 0;
}

void host_started(Engine *e, Transfer *t, int bAttempt){
  Host *h = &e->hosts.aHost[t->iHost];
  h->nInFlight++;
  h->nRequest++;
  if( bAttempt && t->nAttempt>0 ) h->nRetry++;
}

/* The latency histogram's bucket for us microseconds: four a doubling, so
** a percentile read from it is within 19% of the true one, in 512 bytes
** a host whatever the number of requests. */
static int lat_bucket(sqlite3_int64 us){
  int b = 0;
  if( us<4 ) return us<0 ? 0 : (int)us;
  while( (us>>b)>=8 ) b++;
  b = 4*(b+1) + (int)((us>>b) & 3);
  return b<HOST_LAT_BUCKETS ? b : HOST_LAT_BUCKETS-1;
}

/* The smallest value of bucket i, in microseconds. */
static sqlite3_int64 lat_value(int i){
  if( i<4 ) return i;
  return (sqlite3_int64)(4 + (i & 3)) << (i/4 - 1);
}

double host_latency_ms(const Host *h, double q){
  sqlite3_int64 n = 0, want;
  int i;
  for(i=0; i<HOST_LAT_BUCKETS; i++) n += h->aLat[i];
  if( n==0 ) return 0;
  if( q>=1.0 ) return h->latMaxUs/1000.0;
  want = (sqlite3_int64)(q*n + 0.999999);
  if( want<1 ) want = 1;
  for(i=0, n=0; i<HOST_LAT_BUCKETS; i++){
    n += h->aLat[i];
    if( n>=want ) break;
  }
  return lat_value(i)/1000.0;
}

static const char *easy_header(void *pCtx, const char *zName){
  struct curl_header *pH;
  if( curl_easy_header((CURL*)pCtx, zName, 0, CURLH_HEADER, -1, &pH)!=CURLHE_OK ) return 0;
  return pH->value;
}

static sqlite3_int64 epoch_ms(void){
  struct timeval tv;
  gettimeofday(&tv, 0);
  return (sqlite3_int64)tv.tv_sec*1000 + tv.tv_usec/1000;
}

/* A response told the budget: take it, unless it is an older word on the
** window already known (responses come back out of order). */
static void host_budget(Host *h, const RateLimit *r, sqlite3_int64 now){
  sqlite3_int64 tReset = now + r->resetMs;
  sqlite3_int64 nLeft = r->remaining - h->nInFlight;   /* sent, not yet counted */
  if( r->limit>0 ) h->nLimit = r->limit;
  if( r->windowMs>0 ) h->windowMs = r->windowMs;
  if( !h->bBudget || now>=h->tReset || tReset>=h->tReset + 1000 ){
    h->bBudget = 1;
    h->nLeft = nLeft;
    h->tReset = tReset;
  }else{
    /* The same window: delta-seconds forms round up, so the earliest
    ** reset told is the best. */
    if( nLeft<h->nLeft ) h->nLeft = nLeft;
    if( tReset<h->tReset ) h->tReset = tReset;
  }
}

/* per_host caps a host's connections (CURLMOPT_MAX_HOST_CONNECTIONS).  Over
** HTTP/1.1 a connection carries one request at a time, so the window stays
** within per_host too, or the requests over it would wait inside libcurl
** with their timeouts running.  A host that answered over HTTP/2 (ALPN,
** https only: cleartext is HTTP/1.1, transfer.c) takes many requests on
** one connection as streams: its window opens to the concurrency. */
static void host_multiplexed(Host *h, const HostTable *p, CURL *easy){
  long v = 0;
  if( h->bMux || p->nCapMux==p->nCap ) return;
  if( curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &v)!=CURLE_OK
   || v<CURL_HTTP_VERSION_2_0 ) return;
  h->bMux = 1;
  /* Not cut by a 429 or 503 yet: open at once, not +1 per window. */
  if( h->nWindow==p->nCap ) h->nWindow = p->nCapMux;
}

int host_attempt_done(Engine *e, Transfer *t, CURLcode cc, long status, sqlite3_int64 now){
  HostTable *p = &e->hosts;
  Host *h = &p->aHost[t->iHost];
  curl_off_t us = 0, nBytes = 0;
  RateLimit rl;
  int bFail, bTold = 0;
  assert( h->nInFlight>0 );
  h->nInFlight--;
  if( curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &us)==CURLE_OK ){
    h->aLat[lat_bucket(us)]++;
    if( us>h->latMaxUs ) h->latMaxUs = us;
  }
  if( curl_easy_getinfo(t->easy, CURLINFO_SIZE_DOWNLOAD_T, &nBytes)==CURLE_OK ){
    h->nBytes += nBytes;
  }
  if( cc==CURLE_OK && status>=100 && status<600 ) h->aClass[status/100 - 1]++;
  if( status==429 ) h->n429++;
  if( cc==CURLE_OK && !t->bRefused && p->bAdaptive ){
    bTold = policy_ratelimit(easy_header, t->easy, epoch_ms(), &rl);
    if( bTold ) host_budget(h, &rl, now);
  }
  if( p->bAdaptive && cc==CURLE_OK && (status==429 || status==503) ){
    if( now - h->tCut >= 100 ){
      h->tCut = now;
      h->nWindow = h->nWindow>1 ? h->nWindow/2 : 1;
      h->nGrow = 0;
      /* Nothing accepted lately says nothing of a rate: a host that is
      ** down is the breaker's, not a reason to crawl. */
      int nAcc = host_accepted(h, now, 0);
      if( !bTold && !h->bBudget && nAcc>0 ){
        sqlite3_int64 el = now - h->tFirst;
        double measured = nAcc * 1000.0 / (el<100 ? 100 : el>1000 ? 1000 : el);
        if( h->pace<=0 || measured<h->pace ) h->pace = measured;
        h->pace *= 0.95;
        if( h->pace<0.5 ) h->pace = 0.5;
      }
    }
  }else if( cc==CURLE_OK && status<400 ){
    host_accepted(h, now, 1);
    host_multiplexed(h, p, t->easy);
    if( ++h->nGrow>=h->nWindow ){
      h->nGrow = 0;
      if( h->nWindow<(h->bMux ? p->nCapMux : p->nCap) ) h->nWindow++;
    }
    if( h->pace>0 ) h->pace += 1.0/h->pace;
  }
  /* The breaker: a 4xx (429 too) is an answer, a server that lives. */
  bFail = (cc!=CURLE_OK && !t->bRefused && !t->bTooBig && !t->bEnough)
       || (cc==CURLE_OK && status>=500);
  if( !bFail ){
    h->nFail = 0;
    if( h->eBreaker==BRK_HALF ) h->eBreaker = BRK_CLOSED;
    return 0;
  }
  h->nFail++;
  if( p->nBreaker>0 && h->eBreaker!=BRK_OPEN
   && (h->eBreaker==BRK_HALF || h->nFail>=p->nBreaker) ){
    h->eBreaker = BRK_OPEN;
    h->tOpen = now;
    h->nTrip++;
    return 1;
  }
  return 0;
}

int host_open(const Engine *e, int iHost){
  return e->hosts.aHost[iHost].eBreaker==BRK_OPEN;
}

char *host_open_text(const Engine *e, int iHost){
  const Host *h = &e->hosts.aHost[iHost];
  return sqlite3_mprintf("circuit open for %s after %d consecutive failures",
                         h->zOrigin, e->hosts.nBreaker);
}

/* Milliseconds waited for hosts' limits so far, summed over the hosts. */
sqlite3_int64 hosts_wait_ms(const HostTable *p, sqlite3_int64 now){
  sqlite3_int64 n = 0;
  int i;
  for(i=0; i<p->nHost; i++){
    const Host *h = &p->aHost[i];
    n += h->waitMs + (h->tHeld && (h->eHeld==HELD_BUDGET || h->eHeld==HELD_PACE) ? now - h->tHeld : 0);
  }
  return n;
}

void hosts_held_text(const HostTable *p, char *z, int n){
  int i;
  z[0] = 0;
  for(i=0; i<p->nHost; i++){
    const Host *h = &p->aHost[i];
    if( h->tHeld && (h->eHeld==HELD_BUDGET || h->eHeld==HELD_PACE) ){
      sqlite3_snprintf(n, z, ", held back by %s's rate limit", h->zOrigin);
      return;
    }
  }
}

/* A scan's hosts into the statement's (pTo): counts add, the window and
** the breaker's state are the last scan's. */
void hosts_merge(HostTable *pTo, const HostTable *pFrom){
  int i, j;
  for(i=0; i<pFrom->nHost; i++){
    const Host *f = &pFrom->aHost[i];
    Host *h = 0;
    for(j=0; j<pTo->nHost && !h; j++) if( strcmp(pTo->aHost[j].zOrigin, f->zOrigin)==0 ){
      h = &pTo->aHost[j];
    }
    if( h==0 ){
      if( pTo->nHost>=APIFETCH_MAX_HOSTS ) continue;
      h = &pTo->aHost[pTo->nHost++];
      memset(h, 0, sizeof(*h));
      memcpy(h->zOrigin, f->zOrigin, sizeof(h->zOrigin));
    }
    h->nRequest += f->nRequest;
    for(j=0; j<5; j++) h->aClass[j] += f->aClass[j];
    h->n429 += f->n429;
    h->nRetry += f->nRetry;
    h->nError += f->nError;
    h->nBytes += f->nBytes;
    for(j=0; j<HOST_LAT_BUCKETS; j++) h->aLat[j] += f->aLat[j];
    if( f->latMaxUs>h->latMaxUs ) h->latMaxUs = f->latMaxUs;
    h->waitMs += f->waitMs;
    h->nTrip += f->nTrip;
    h->nWindow = f->nWindow;
    h->eBreaker = f->eBreaker;
  }
}
