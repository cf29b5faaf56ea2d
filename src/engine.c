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

/**************************************************************************
** The retry heap: T_WAITING slots ordered by tDue.
*/
static void heap_push(Engine *e, Transfer *t){
  int i = e->nHeap++;
  assert( e->nHeap<=e->nXfer && t->state==T_WAITING );
  while( i>0 ){
    int up = (i-1)/2;
    if( e->apHeap[up]->tDue<=t->tDue ) break;
    e->apHeap[i] = e->apHeap[up];
    i = up;
  }
  e->apHeap[i] = t;
}

static Transfer *heap_pop(Engine *e){
  Transfer *top;
  Transfer *last;
  int i = 0;
  assert( e->nHeap>0 );
  top = e->apHeap[0];
  last = e->apHeap[--e->nHeap];
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

/* Every slot is in exactly one place: the idle stack, in curl (running) or
** on the retry heap; and each response waiting to be read holds an idle
** slot's share of the window (engine_fill starts nothing while nDone takes
** every idle slot), which is what bounds memory by `concurrency`.  The
** counts are checked on every call; the walk over the slots, linear in
** the window, only in APIFETCH_DEBUG builds (SANITIZE=1, the fuzzers), as
** SQLite keeps its costly checks for SQLITE_DEBUG. */
static void engine_check(const Engine *e){
  assert( e->nIdle + e->nRunning + e->nHeap == e->nXfer );
  assert( e->nDone>=0 && e->nDone<=e->nIdle );
  assert( (e->pDone==0)==(e->nDone==0) );
#ifdef APIFETCH_DEBUG
  int i, nIdle = 0, nRunning = 0, nWaiting = 0;
  for(i=0; i<e->nXfer; i++){
    int s = e->aXfer[i].state;
    nIdle += s==T_IDLE;
    nRunning += s==T_RUNNING;
    nWaiting += s==T_WAITING;
  }
  assert( nIdle==e->nIdle && nRunning==e->nRunning && nWaiting==e->nHeap );
  for(i=1; i<e->nHeap; i++) assert( e->apHeap[(i-1)/2]->tDue<=e->apHeap[i]->tDue );
#endif
  (void)e;
}

/**************************************************************************
** Starting and finishing transfers
*/
static void slot_release(Engine *e, Transfer *t);
static void engine_fail(Engine *e, char *zErr);


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
  if( status>0 && t->nRedirect>0 ){
    r->zFinalUrl = t->zHopUrl;      /* the hop that answered (see Response) */
    t->zHopUrl = 0;
  }
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
    if( e->pCache ){
      char *zErr = 0;
      int rc = cacheflow_store(e, t, r, &zErr);
      if( rc ){
        engine_fail(e, zErr);
        response_free(r);
        return rc;
      }
    }
  }
  slot_release(e, t);
  done_push(e, r);
  return SQLITE_OK;
}

static void engine_fail(Engine *e, char *zErr){
  sqlite3_free(e->zFail);
  e->zFail = zErr;
}

static void slot_release(Engine *e, Transfer *t){
  assert( t->state!=T_IDLE && e->nIdle<e->nXfer );
  t->nBody = 0;
  sqlite3_free(t->zNote);
  t->zNote = 0;
  t->nAttempt = 0;
  t->nRequest = 0;
  hop_reset(t);
  cacheflow_release(t);
  t->state = T_IDLE;
  e->apIdle[e->nIdle++] = t;
}

/* The pending request is one that cannot be sent (Request.zFail): its
** response is that error, at once, without a slot, a token or a request
** against max_requests.  The caller has checked that an idle slot is free
** for the response to hold while it waits to be read. */
static int engine_refuse(Engine *e){
  Response *r = sqlite3_malloc64(sizeof(*r));
  if( r==0 ) return SQLITE_NOMEM;
  memset(r, 0, sizeof(*r));
  r->req = e->pending;
  e->bPending = 0;
  r->zError = r->req.zFail;
  r->req.zFail = 0;
  r->eErr = ERR_BODY;                 /* what the page before it said */
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
  /* libcurl resolves the Location with the user and password of basic
  ** (CURLOPT_USERPWD) written into it: where the URL asked for had none,
  ** the hop's has none either, or the password would be shown in url and
  ** in errors, stored in a cache, and carried into next-page URLs.  It is
  ** still sent, by the option, to the same origin. */
  rc = url_has_userinfo(t->req.zUrl);
  if( rc<0 ) return SQLITE_NOMEM;
  zNew = rc ? sqlite3_mprintf("%s", zLoc) : url_strip_userinfo(zLoc);
  if( zNew==0 ) return SQLITE_NOMEM;
  zLoc = zNew;
  if( t->nRedirect>=o->max_redirects ){
    *pzError = sqlite3_mprintf("redirected more than max_redirects (%d) times, last to %s",
                               o->max_redirects, zLoc);
    sqlite3_free(zNew);
    return *pzError ? -1 : SQLITE_NOMEM;
  }
  rc = url_check(zLoc, &zWhy);
  if( rc ) sqlite3_free(zNew);
  if( rc==SQLITE_NOMEM ) return SQLITE_NOMEM;
  if( rc ){
    *pzError = sqlite3_mprintf("redirect refused: %s", zWhy);
    sqlite3_free(zWhy);
    return *pzError ? -1 : SQLITE_NOMEM;
  }
  if( e->pGuard && e->pGuard->maxRequests && e->pBudget->nRequests>=e->pGuard->maxRequests ){
    e->bOverRequests = 1;
    *pzError = sqlite3_mprintf("max_requests reached before redirect to %s", zLoc);
    sqlite3_free(zNew);
    return *pzError ? -1 : SQLITE_NOMEM;
  }
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
  cc = transfer_result(t, cc, &status);
  curl_multi_remove_handle(e->multi, t->easy);
  e->nRunning--;
  if( cc==CURLE_OK && !t->bRefused ){
    int r = redirect_follow(e, t, status, &zError);
    if( r==1 ) return SQLITE_OK;
    if( r<0 ) return transfer_finish(e, t, status, zError, ERR_NETWORK);
    if( r ) return r;
  }
  /* Our write callback refused the body for want of memory: libcurl calls
  ** that "Failed writing received data", which is no error of the server. */
  if( t->bOom ) return SQLITE_NOMEM;
  if( t->pCached && cc==CURLE_OK && status==304 && !t->bRefused ){
    Response *r = 0;
    char *zErr = 0;
    int rc = cacheflow_revalidated(e, t, &r, &zErr);
    if( rc ){
      engine_fail(e, zErr);
      return rc;
    }
    slot_release(e, t);
    done_push(e, r);
    return SQLITE_OK;
  }
  delay = retry_delay(e, t, cc, status, now);
  if( delay>=0 ){
    t->state = T_WAITING;
    t->tDue = now + delay;
    heap_push(e, t);
    return SQLITE_OK;
  }
  if( t->pCached && (cc!=CURLE_OK || status>=500) && !t->bRefused && !e->bOverBytes ){
    Response *r = 0;
    int rc = cacheflow_stale(e, t, cc==CURLE_OK ? status : 0, &r);
    if( rc ) return rc;
    if( r ){
      slot_release(e, t);
      done_push(e, r);
      return SQLITE_OK;
    }
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
        if( r>0 && e->pCache && !e->pending.zFail ){
          /* Answered from the cache: no slot, no token, no request. */
          Response *pHit = 0;
          rc = cacheflow_lookup(e, &pHit, pzErr);
          if( rc ) return rc;
          if( pHit ){
            done_push(e, pHit);
            continue;
          }
        }
      }
      if( !e->bPending ) break;
      if( e->pending.zFail ){
        if( engine_refuse(e) ) return SQLITE_NOMEM;
        continue;
      }
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
      t->pCached = e->pPendCached;
      e->pPendCached = 0;
      memcpy(t->aKey, e->aPendKey, sizeof(t->aKey));
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
    if( e->pPendCached ){ cached_clear(e->pPendCached); sqlite3_free(e->pPendCached); }
    e->pPendCached = 0;
  }else{
    int n = e->bSrcDone ? 0 : e->src.xNext(e->src.pCtx, &req, pzErr);
    if( n<0 ) return SQLITE_ERROR;
    if( n==0 ){ e->bSrcDone = 1; return SQLITE_DONE; }
  }
  r = sqlite3_malloc64(sizeof(*r));
  if( r ){
    memset(r, 0, sizeof(*r));
    r->req = req;
    if( req.zFail ){               /* it would not have been sent anyway: why */
      r->zError = req.zFail;
      r->req.zFail = 0;
      r->eErr = ERR_BODY;
    }else{
      r->zError = sqlite3_mprintf("%s before this request was started", e->zExpired);
      r->eErr = ERR_DEADLINE;
    }
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
    engine_check(e);
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
        if( rc ){
          *pzErr = e->zFail;
          e->zFail = 0;
          return rc;
        }
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
                   CacheStore *pCache, RequestSource src, char **pzErr){
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
  e->pCache = pCache;
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
      cacheflow_release(t);
      sqlite3_free(t->pBody);
      sqlite3_free(t->zNote);
    }
  }
  if( e->pPendCached ){ cached_clear(e->pPendCached); sqlite3_free(e->pPendCached); }
  /* The hits' recency, written now that the scan is over. */
  if( e->pCache ) cachestore_flush(e->pCache);
  for(r=e->pDone; r; r=rNext){ rNext = r->pNext; response_free(r); }
  if( e->bPending ) request_clear(&e->pending);
  if( e->multi ) curl_multi_cleanup(e->multi);
  if( e->share ) curl_share_cleanup(e->share);
  sqlite3_free(e->aXfer);
  sqlite3_free(e->apIdle);
  sqlite3_free(e->apHeap);
  sqlite3_free(e->zExpired);
  sqlite3_free(e->zFail);
  sqlite3_free(e);
}
