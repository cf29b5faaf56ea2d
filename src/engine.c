/*
** engine.c - the fetch engine: turns a stream of Requests into a stream of
** Responses with libcurl's multi interface, on the caller's thread.
**
**   Engine *e = engine_new(pOpt, pGuard, pKeep, pBudget, pCache, src, &zErr);
**   while( (rc = engine_next(e, &pResp, &zErr))==SQLITE_ROW ){
**     ...; response_free(pResp);
**   }
**   engine_free(e);    -- also cancels whatever is still in flight
**
** src is a RequestSource: the engine asks it for the next Request when a
** slot is free, and whether the query has been stopped while it waits.
** engine_next ends with SQLITE_DONE, SQLITE_INTERRUPT, or an error with
** zErr set (a limit of the guard passed, out of memory).
**
** It is a pull engine: it drives curl only from inside engine_next(), and
** only until one response is complete, so a cursor that stops early costs
** nothing more, and memory is bounded by the window (`concurrency`), not by
** the number of URLs.  Each turn of its loop is curl's three beats:
** start what may start and perform, drain curl_multi_info_read, then wait
** for as long as engine_wait_ms says; perform and wait are sockets.c's
** curl_multi_socket_action over epoll, so that a turn costs what is ready
** and not the window (curl_multi_perform and curl_multi_poll visit every
** transfer on each call).
**
** The window is a fixed array of Transfer slots, one per unit of
** concurrency, each with the easy handle of its current request (made
** anew for every attempt and redirect hop: see transfer_setup).  A slot
** stays taken while its request waits to be retried, as with
** asyncio.Semaphore + tenacity: that bounds memory and keeps a struggling
** server from being handed more work.  A slot changes state only through
** slot_state(), which moves it between the idle stack, curl and the retry
** heap and checks the counts.  One multi handle per engine holds the
** connection cache, so connections are reused across requests and HTTP/2
** streams are multiplexed where the server offers it.
**
** Per-call policy (retry or not, how long to wait, rate) is in policy.c.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <assert.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "apifetch.h"
#include "engine_int.h"

/**************************************************************************
** Starting and finishing transfers
*/
static void engine_fail(Engine *e, char *zErr){
  sqlite3_free(e->zFail);
  e->zFail = zErr;
}

/* max_requests or max_total_bytes (api_fetch_config) was passed: the
** statement's error.  The one place each message is written. */
static int engine_limit_error(Engine *e, char **pzErr){
  if( e->bOverBytes ){
    *pzErr = sqlite3_mprintf("api_fetch: this query received more than "
        "max_total_bytes (%lld) set by api_fetch_config", e->pGuard->maxTotalBytes);
  }else{
    assert( e->bOverRequests );
    *pzErr = sqlite3_mprintf(
        "api_fetch: this query reached max_requests (%lld) set by api_fetch_config",
        e->pGuard->maxRequests);
  }
  return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
}

/* Has this query sent all the requests max_requests allows? */
static int requests_spent(const Engine *e){
  return e->pGuard && e->pGuard->maxRequests && e->pBudget->nRequests>=e->pGuard->maxRequests;
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
  slot_state(e, t, T_RUNNING);
  host_started(e, t, bAttempt);
  if( bAttempt ) t->nAttempt++;
  t->nRequest++;
  e->pBudget->nRequests++;
  return SQLITE_OK;
}

/* The slot's work is over: back to the idle stack, empty. */
static void slot_release(Engine *e, Transfer *t){
  assert( t->state!=T_IDLE );
  t->nBody = t->nNoLine = 0;
  t->bReauth = 0;
  t->bBackground = 0;
  sqlite3_free(t->zNote);
  t->zNote = 0;
  t->nAttempt = 0;
  t->nRequest = 0;
  t->nBytesOut = 0;
  t->nLinesOut = 0;
  t->pPartOut = 0;
  hop_reset(t);
  cacheflow_release(t);
  slot_state(e, t, T_IDLE);
}

/* A response made for slot t is queued and the slot freed.  A background
** revalidation's is not: its URL has its row (the stale copy), and the
** cache has been updated by now. */
static void slot_answered(Engine *e, Transfer *t, Response *r){
  int bBackground = t->bBackground;
  slot_release(e, t);
  if( bBackground ) response_free(r); else done_push(e, r);
}

/* The headers the request's caller reads, into r.  Not a response
** without them on out-of-memory: a lost Link ends a chain, a lost total
** fetches pages one by one past the end. */
static int response_headers(Response *r, CURL *h){
  int i, bOom = 0;
  r->azHeader = sqlite3_malloc64(sizeof(char*)*(size_t)r->req.nWant);
  if( r->azHeader==0 ) return SQLITE_NOMEM;
  r->nHeader = r->req.nWant;
  for(i=0; i<r->nHeader; i++) r->azHeader[i] = header_value(h, r->req.azWant[i], &bOom);
  return bOom ? SQLITE_NOMEM : SQLITE_OK;
}

/* response_headers: the final response's headers into r, from its header
** lines as the cache would keep them (a hit then shows the same).  Bounded
** by libcurl, which fails a response whose header lines pass 300 KiB ("Too
** large response headers", tests/sql/response_headers.sql) or a line 100 KiB. */
static int header_lines(Response *r, CURL *h, Engine *e){
  int bOom = 0;
  char *zLines = cacheflow_header_lines(h, e->pOpt, &bOom);
  if( zLines ){
    r->zHeaders = header_lines_json(zLines);
    if( r->zHeaders==0 ) bOom = 1;
    sqlite3_free(zLines);
  }
  return bOom ? SQLITE_NOMEM : SQLITE_OK;
}

/* Hand the slot's request and body over to a new Response and free the slot.
** zError is taken over (may be NULL). */
static int transfer_finish(Engine *e, Transfer *t, long status, char *zError, int eErr){
  Response *r;
  char *zType = 0;
  int rc = SQLITE_OK;
  /* A streamed body failed after parts were given: the whole lines it had
  ** still come, before the error (which counts them). */
  if( zError && t->nBytesOut>0 && t->nBody>0 && chunk_flush(t) ){
    sqlite3_free(zError);
    return SQLITE_NOMEM;
  }
  r = response_new(&t->req);
  if( r==0 ){ sqlite3_free(zError); return SQLITE_NOMEM; }
  r->status = status;
  r->zError = zError;
  r->eErr = zError ? eErr : ERR_NONE;
  if( zError ) e->hosts.aHost[t->iHost].nError++;
  if( zError && t->nLinesOut>0 ){
    /* Its parts were given: no retry (retry_delay), and no rows lost
    ** without a word. */
    r->zError = sqlite3_mprintf("%s, after its first %lld lines were given (not "
                                "retried: they would be given twice)", zError, t->nLinesOut);
    sqlite3_free(zError);
    if( r->zError==0 ){ response_free(r); return SQLITE_NOMEM; }
  }
  chunk_finish(t, r);
  r->nAttempt = t->nAttempt;
  r->nRequest = t->nRequest;
  r->elapsed_ms = clock_ms() - t->tFirst;
  if( status>0 && t->nRedirect>0 ){
    r->zFinalUrl = t->zHopUrl;      /* the hop that answered (see Response) */
    t->zHopUrl = 0;
  }
  if( zError==0 && t->easy
   && curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &zType)==CURLE_OK && zType ){
    r->zContentType = text_utf8_dup(zType);       /* a column: TEXT */
    if( r->zContentType==0 ) rc = SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK && zError==0 && r->req.nWant>0 ) rc = response_headers(r, t->easy);
  /* Headers of a whole response only: an HTTP error's, not the part of
  ** a head that came before a transfer failed. */
  if( rc==SQLITE_OK && status>0 && (zError==0 || eErr==ERR_HTTP) && e->pOpt->response_headers ){
    rc = header_lines(r, t->easy, e);
  }
  if( rc==SQLITE_OK && zError==0 ){
    r->pBody = t->pBody;
    r->nBody = t->nBody;
    t->pBody = 0;
    t->nAlloc = 0;
    if( e->pCache && t->nBytesOut>0 ){
      r->eCache = CACHE_MISS;             /* a body given in parts is not kept */
    }else if( e->pCache ){
      char *zErr = 0;
      rc = cacheflow_store(e, t, r, &zErr);
      if( rc ) engine_fail(e, zErr);
    }
  }else if( rc==SQLITE_OK && eErr==ERR_HTTP && status>0 && e->pCache && t->nLinesOut==0 ){
    char *zErr = 0;
    rc = cacheflow_store_error(e, t, r, &zErr);
    if( rc ) engine_fail(e, zErr);
  }
  if( rc ){
    response_free(r);             /* and the request: the statement fails */
    return rc;
  }
  slot_answered(e, t, r);
  return SQLITE_OK;
}

/* The pending request is one that cannot be sent (Request.zFail): its
** response is that error, at once, without a slot, a token or a request
** against max_requests.  The caller has checked that an idle slot is free
** for the response to hold while it waits to be read. */
static int engine_refuse(Engine *e){
  Response *r;
  e->bPending = 0;
  r = response_new(&e->pending);
  if( r==0 ) return SQLITE_NOMEM;
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
  if( t->nAttempt>=o->max_attempts || t->bRefused || t->bBackground ) return -1;
  if( t->nBytesOut>0 ) return -1;     /* parts of its body were given (chunk.c) */
  if( host_open(e, t->iHost) ){
    t->zNote = host_open_text(e, t->iHost);
    return -1;
  }
  if( cc!=CURLE_OK ){
    if( t->bTooBig || !policy_curlcode_retryable(cc) ) return -1;
  }else if( !policy_status_retryable(status, onstatus_action(o, status)) ){
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
** Returns SQLITE_OK, with *pbHop set if the next hop was started, or
** *pzError set (sqlite3_malloc'd) for a redirect that is refused: the
** response's error; neither when the response is final (not a redirect,
** or max_redirects is 0).  Else SQLITE_NOMEM. */
static int redirect_follow(Engine *e, Transfer *t, long status, int *pbHop, char **pzError){
  const Options *o = e->pOpt;
  const char *zLoc = 0, *zFrom = t->zHopUrl ? t->zHopUrl : t->req.zUrl;
  const char *zMethod = t->req.zMethod ? t->req.zMethod : t->req.pBody ? "POST" : "GET";
  char *zWhy = 0, *zNew;
  int rc, bUser;
  *pbHop = 0;
  *pzError = 0;
  if( status!=301 && status!=302 && status!=303 && status!=307 && status!=308 ) return SQLITE_OK;
  if( o->max_redirects==0 ) return SQLITE_OK;
  if( curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &zLoc)!=CURLE_OK || zLoc==0 ){
    return SQLITE_OK;
  }
  /* libcurl resolves the Location with the user and password of basic
  ** (CURLOPT_USERPWD) written into it: where the URL asked for had none,
  ** the hop's has none either, or the password would be shown in url and
  ** in errors, stored in a cache, and carried into next-page URLs.  It is
  ** still sent, by the option, to the same origin. */
  if( url_has_userinfo(t->req.zUrl, &bUser) ) return SQLITE_NOMEM;
  zNew = bUser ? sqlite3_mprintf("%s", zLoc) : url_strip_userinfo(zLoc);
  if( zNew==0 ) return SQLITE_NOMEM;
  if( t->nRedirect>=o->max_redirects ){
    *pzError = sqlite3_mprintf("redirected more than max_redirects (%d) times, last to %s",
                               o->max_redirects, zNew);
  }else if( (rc = url_check(zNew, &zWhy))!=SQLITE_OK ){
    if( rc!=SQLITE_NOMEM ) *pzError = sqlite3_mprintf("redirect refused: %s", zWhy);
    sqlite3_free(zWhy);
  }else if( requests_spent(e) ){
    e->bOverRequests = 1;
    *pzError = sqlite3_mprintf("max_requests reached before redirect to %s", zNew);
  }else{
    rc = SQLITE_OK;
    if( !t->bHopForeign ){
      int bSame;
      if( url_same_origin(zNew, zFrom, &bSame) ){ sqlite3_free(zNew); return SQLITE_NOMEM; }
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
    rc = transfer_start(e, t, 0);
    if( rc==SQLITE_OK ) *pbHop = 1;
    return rc;
  }
  sqlite3_free(zNew);
  return *pzError ? SQLITE_OK : SQLITE_NOMEM;
}

static int engine_expire(Engine *e);

/* What kind of failure the error row of an attempt that ended so is. */
static int failure_kind(const Transfer *t, CURLcode cc){
  if( t->bTooBig || cc==CURLE_FILESIZE_EXCEEDED ) return ERR_TOO_BIG;
  if( cc==CURLE_OPERATION_TIMEDOUT ) return ERR_TIMEOUT;
  return cc!=CURLE_OK ? ERR_NETWORK : ERR_HTTP;
}

/* t's easy handle is done (cc): follow a redirect, answer a 304 from the
** cache, wait to retry, fall back on a stale entry, or make its response. */
static int transfer_done(Engine *e, Transfer *t, CURLcode cc){
  long status = 0;
  sqlite3_int64 now = clock_ms(), delay;
  char *zError = 0;
  int rc;
  assert( t->state==T_RUNNING );
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  cc = transfer_result(t, cc, &status);
  if( e->src.xAttempt && (rc = transfer_report(e, t, cc, status, 0))!=SQLITE_OK ) return rc;
  if( host_attempt_done(e, t, cc, status, now) ){
    int i;            /* the circuit opened: its host's waiting requests end now */
    for(i=0; i<e->nXfer; i++){
      Transfer *w = &e->aXfer[i];
      if( w->state==T_WAITING && w->iHost==t->iHost ){ w->tDue = now; slot_state(e, w, T_WAITING); }
    }
  }
  curl_multi_remove_handle(e->multi, t->easy);
  if( authflow_reauth(e, t, cc, status) ){
    t->tDue = now;
    slot_state(e, t, T_WAITING);
    return SQLITE_OK;
  }
  if( status>0 ){
    char *zErr = 0;
    rc = cacheflow_invalidate(e, t, status, &zErr);
    if( rc ){
      engine_fail(e, zErr);
      return rc;
    }
  }
  if( cc==CURLE_OK && !t->bRefused ){
    int bHop;
    rc = redirect_follow(e, t, status, &bHop, &zError);
    if( rc ) return rc;
    if( bHop ) return SQLITE_OK;
    if( zError ) return transfer_finish(e, t, status, zError, ERR_NETWORK);
  }
  /* Our write callback refused the body for want of memory: libcurl calls
  ** that "Failed writing received data", which is no error of the server. */
  if( t->bOom ) return SQLITE_NOMEM;
  if( t->pCached && cc==CURLE_OK && status==304 && !t->bRefused ){
    Response *r = 0;
    char *zErr = 0;
    rc = cacheflow_revalidated(e, t, &r, &zErr);
    if( rc ){
      engine_fail(e, zErr);
      return rc;
    }
    slot_answered(e, t, r);
    return SQLITE_OK;
  }
  delay = retry_delay(e, t, cc, status, now);
  if( delay>=0 ){
    t->tDue = now + delay;
    slot_state(e, t, T_WAITING);
    return SQLITE_OK;
  }
  if( t->pCached && (cc!=CURLE_OK || status>=500) && !t->bRefused && !e->bOverBytes
   && t->nBytesOut==0 ){
    Response *r = 0;
    rc = cacheflow_stale(e, t, cc==CURLE_OK ? status : 0, &r);
    if( rc ) return rc;
    if( r ){
      slot_answered(e, t, r);
      return SQLITE_OK;
    }
  }
  /* on_status "data": this status's body is the answer, as a 200's is. */
  if( cc==CURLE_OK && !t->bRefused && (status>=400 || status<200)
   && onstatus_action(e->pOpt, status)==STATUS_DATA ){
    return transfer_finish(e, t, status, 0, ERR_NONE);
  }
  zError = failure_text(e, t, cc, status);
  if( zError==0 && (cc!=CURLE_OK || status>=400 || status<200) ) return SQLITE_NOMEM;
  return transfer_finish(e, t, status, zError, failure_kind(t, cc));
}

/**************************************************************************
** The scheduler
*/
/* The pending request into the top idle slot (still IDLE). */
static Transfer *slot_take_pending(Engine *e, sqlite3_int64 now){
  Transfer *t = e->apIdle[e->nIdle-1];
  t->req = e->pending;
  e->bPending = 0;
  t->pCached = e->pPendCached;
  e->pPendCached = 0;
  t->bBackground = e->bPendBackground;
  e->bPendBackground = 0;
  memcpy(t->aKey, e->aPendKey, sizeof(t->aKey));
  t->nAttempt = 0;
  t->tFirst = now;
  t->iHost = host_find(&e->hosts, t->req.zUrl);
  return t;
}

/* Forget the pending request: a background revalidation (Transfer
** bBackground) that is not to be made after all. */
static void engine_drop_pending(Engine *e){
  assert( e->bPending && e->bPendBackground );
  request_clear(&e->pending);
  e->bPending = 0;
  e->bPendBackground = 0;
  if( e->pPendCached ){ cached_clear(e->pPendCached); sqlite3_free(e->pPendCached); }
  e->pPendCached = 0;
}

/* Start every transfer that may start now: due retries first (they already
** hold a slot), then new requests into idle slots, each taking a token from
** the rate bucket.  *pWait gets the ms until the bucket has a token, or -1.
*/
static int engine_fill(Engine *e, sqlite3_int64 now, int *pnStarted,
                       sqlite3_int64 *pWait, char **pzErr){
  sqlite3_int64 hostWait;
  char *zRow;
  int rc, bLate;
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
            if( e->src.xAttempt && (rc = answer_report(e, pHit, pzErr))!=SQLITE_OK ) return rc;
            continue;
          }
        }
      }
      if( !e->bPending ) break;
      if( e->pending.zFail ){
        rc = engine_refuse(e);
        if( rc==SQLITE_OK && e->src.xAttempt ) rc = answer_report(e, e->pDoneLast, pzErr);
        if( rc ) return rc;
        continue;
      }
    }
    if( requests_spent(e) && !bRetry && e->bPendBackground ){
      engine_drop_pending(e);   /* a refresh the budget has no room for */
      continue;
    }
    if( requests_spent(e) ){
      e->bOverRequests = 1;
      return engine_limit_error(e, pzErr);
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
    t = bRetry ? e->apHeap[0] : slot_take_pending(e, now);
    hostWait = host_admit(e, t->iHost, now);
    if( hostWait ) bucket_refund(&e->bucket);   /* not sent now: its token back */
    if( hostWait<0 ){         /* its circuit is open: an error row, at once */
      char *zErr = host_open_text(e, t->iHost);
      if( zErr==0 ) return SQLITE_NOMEM;
      if( t->state==T_IDLE ){ t->tDue = now; slot_state(e, t, T_WAITING); }
      rc = transfer_finish(e, t, 0, zErr, ERR_NETWORK);
      if( rc ) return rc;
      continue;
    }
    if( hostWait>0 ){         /* its host holds it: the slot waits, others go on */
      t->tDue = now + hostWait;
      slot_state(e, t, T_WAITING);
      continue;
    }
    if( (rc = authflow_token(e, t, &zRow, &bLate, pzErr))!=SQLITE_OK ) return rc;
    if( zRow || bLate ){      /* no token to send: an error row naming the endpoint */
      bucket_refund(&e->bucket);
      if( t->state==T_IDLE ){ t->tDue = now; slot_state(e, t, T_WAITING); }
      if( bLate ) return engine_expire(e);       /* t's row says so too */
      rc = transfer_finish(e, t, 0, zRow, ERR_NETWORK);
      if( rc ) return rc;
      continue;
    }
    if( (rc = transfer_start(e, t, 1))!=SQLITE_OK ) return rc;
    (*pnStarted)++;
  }
  return SQLITE_OK;
}

/* Perform, then drain: let curl move on every transfer that can move
** (sockets.c: those on a ready socket or with a timer due, not all of
** them), and settle each one it reports done.  An error of the statement
** comes with *pzErr. */
static int engine_perform(Engine *e, char **pzErr){
  CURLMsg *m;
  int nLeft, rc = sockets_act(&e->sock, e->multi, pzErr);
  if( rc ){
    /* A multi handle whose call failed (out of memory) is not kept: libcurl
    ** 7.88 divided by zero in the next statement's use (tests/torture.c). */
    e->bTainted = 1;
    return rc;
  }
  while( (m = curl_multi_info_read(e->multi, &nLeft))!=0 ){
    if( m->msg==CURLMSG_DONE ){
      Transfer *t = 0;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char**)&t);
      if( rc==SQLITE_OK ) rc = transfer_done(e, t, m->data.result);
    }
  }
  if( rc ){
    *pzErr = e->zFail;
    e->zFail = 0;
    return rc;
  }
  if( e->bOverBytes || e->bOverRequests ) return engine_limit_error(e, pzErr);
  return SQLITE_OK;
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
    if( t->state==T_RUNNING && e->src.xAttempt ){
      int rc = transfer_report(e, t, CURLE_OK, 0, e->zExpired);
      if( rc ) return rc;
    }
    if( t->state==T_RUNNING ) curl_multi_remove_handle(e->multi, t->easy);
    if( t->state!=T_IDLE ){
      char *zErr = sqlite3_mprintf("%s", e->zExpired);
      if( zErr==0 || transfer_finish(e, t, 0, zErr, ERR_DEADLINE) ) return SQLITE_NOMEM;
    }
  }
  assert( e->nRunning==0 && e->nHeap==0 );
  return SQLITE_OK;
}

/* After the deadline: the next request not started becomes an error. */
static int engine_next_expired(Engine *e, Response **ppResp, char **pzErr){
  Response *r;
  Request req;
  if( e->bPending && e->bPendBackground ) engine_drop_pending(e);   /* no row of its own */
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
  r = response_new(&req);
  if( r==0 ) return SQLITE_NOMEM;
  if( r->req.zFail ){               /* it would not have been sent anyway: why */
    r->zError = r->req.zFail;
    r->req.zFail = 0;
    r->eErr = ERR_BODY;
  }else{
    r->zError = sqlite3_mprintf("%s before this request was started", e->zExpired);
    r->eErr = ERR_DEADLINE;
  }
  if( r->zError==0 ){
    response_free(r);
    return SQLITE_NOMEM;
  }
  *ppResp = r;
  return SQLITE_ROW;
}

/* How long engine_next may sleep, in ms (0: not at all): until a socket
** is ready or curl has a timer due, a retry falls due, the bucket refills
** (rateWait, from engine_fill: -1 for no wait), the deadline comes or it
** is time to ask again whether the query was stopped; and never over a
** second, so that a clock jump or a missed wake-up costs at most that. */
static sqlite3_int64 engine_wait_ms(Engine *e, sqlite3_int64 now, sqlite3_int64 rateWait){
  long curlTmo = -1;
  sqlite3_int64 tmo;
  curl_multi_timeout(e->multi, &curlTmo);
  tmo = (e->nRunning>0 && curlTmo>=0) ? curlTmo : 1000;
  if( e->src.xCancelled && tmo>APIFETCH_CANCEL_CHECK_MS ) tmo = APIFETCH_CANCEL_CHECK_MS;
  /* A retry already due that was not started waits on the bucket (rateWait)
  ** or on a slot (curl's timeout): only a future one shortens the sleep,
  ** else the loop would spin until a token comes. */
  if( e->nHeap>0 && e->apHeap[0]->tDue > now && e->apHeap[0]->tDue - now < tmo ){
    tmo = e->apHeap[0]->tDue - now;
  }
  if( rateWait>0 && rateWait<tmo ) tmo = rateWait;
  if( e->tDeadline && e->tDeadline - now < tmo ) tmo = e->tDeadline - now;
  if( tmo>1000 ) tmo = 1000;
  return tmo;
}

/* Nothing is ready: see whether the query was stopped, then wait. */
static int engine_wait(Engine *e, sqlite3_int64 now, sqlite3_int64 rateWait, char **pzErr){
  sqlite3_int64 tmo;
  /* SQLite cannot stop a statement while a virtual table waits, so ask
  ** whether it has been stopped: every period of the statement, not of
  ** this scan (a join's scans of 80 ms each were never asked; a host's
  ** progress handler gets no other turn). */
  if( e->src.xCancelled && now - e->pBudget->tCancelCheck >= APIFETCH_CANCEL_CHECK_MS ){
    e->pBudget->tCancelCheck = now;
    if( e->src.xCancelled(e->src.pCtx) ){
      /* Exactly SQLite's own word: hosts match it (Datasette shows its
      ** "SQL Interrupted" page only for an error that reads "interrupted"). */
      *pzErr = sqlite3_mprintf("interrupted");
      return SQLITE_INTERRUPT;
    }
    if( e->src.xWaiting ) e->src.xWaiting(e->src.pCtx);
  }
  tmo = engine_wait_ms(e, now, rateWait);
  return tmo>0 ? sockets_wait(&e->sock, (int)tmo, pzErr) : SQLITE_OK;
}

int engine_next(Engine *e, Response **ppResp, char **pzErr){
  *ppResp = 0;
  for(;;){
    sqlite3_int64 now = clock_ms(), rateWait = -1;
    int nStarted, rc;
    slot_check(e);
    if( e->tDeadline && now>=e->tDeadline && !e->bExpired && (rc = engine_expire(e))!=0 ){
      *pzErr = e->zFail;            /* NULL (out of memory) but from request_log */
      e->zFail = 0;
      return rc;
    }
    if( !e->bExpired ){
      rc = engine_fill(e, now, &nStarted, &rateWait, pzErr);
      if( rc ) return rc;
      /* Drive curl when there is nothing to hand out, or to send what was
      ** just started before handing out what is ready.  Not later, once a
      ** millisecond (d3d3dbd, to save the turn of curl's that each response
      ** handed out costs): the next call is the caller's to make, and a
      ** reader that takes a batch of rows and then works on them left the
      ** transfers started for that batch unsent through its work
      ** (tests/py/batch_reader.py: 45 in flight against 0 to 30; 1,000 URLs
      ** took 4.2 s against 2.5 s).  Curl moves only when this runs. */
      if( e->pDone==0 || nStarted>0 ){
        rc = engine_perform(e, pzErr);
        if( rc ) return rc;
      }
    }
    if( e->pDone ){
      *ppResp = done_pop(e);
      return SQLITE_ROW;
    }
    if( e->bExpired ) return engine_next_expired(e, ppResp, pzErr);
    if( e->bSrcDone && !e->bPending && e->nRunning==0 && e->nHeap==0 ){
      return SQLITE_DONE;
    }
    rc = engine_wait(e, now, rateWait, pzErr);
    if( rc ) return rc;
  }
}

/* How many transfers may be in flight: concurrency, capped by the host's
** max_concurrency and by the file descriptors left.  A transfer holds a
** socket, and while its name is resolved a socket pair too, so the window
** gets half of what is left after a reserve for the host (its database,
** its own sockets); above that, transfers failed to open sockets and the
** failures were absorbed by retries without a word. */
static int engine_window(const Options *pOpt, const Guard *pGuard, char *zWhy, int nWhy){
  int n = pOpt->concurrency;
  long nFree;
  zWhy[0] = 0;
  if( pGuard && pGuard->maxConcurrency && n>pGuard->maxConcurrency ){
    n = (int)pGuard->maxConcurrency;
    sqlite3_snprintf(nWhy, zWhy, "max_concurrency");
  }
  nFree = fds_available();
  if( nFree>=0 && n > (nFree - APIFETCH_FD_RESERVE)/2 ){
    n = nFree - APIFETCH_FD_RESERVE > 2 ? (int)((nFree - APIFETCH_FD_RESERVE)/2) : 1;
    /* The numbers, so that whoever asked for more knows what to raise. */
    sqlite3_snprintf(nWhy, zWhy, "the open-file limit: %ld, %ld free, 2 a transfer, %d kept back",
                     fds_limit(), nFree, APIFETCH_FD_RESERVE);
  }
  assert( n>=1 );
  return n;
}

Engine *engine_new(const Options *pOpt, const Guard *pGuard, Keep *pKeep, Budget *pBudget,
                   CacheStore *pCache, RequestSource src, char **pzErr){
  Engine *e = sqlite3_malloc64(sizeof(*e));
  char zCapped[sizeof(e->zCapped)];
  int i, bOom = 0, n = engine_window(pOpt, pGuard, zCapped, (int)sizeof(zCapped));
  if( e==0 ) goto oom;
  memset(e, 0, sizeof(*e));
  e->sock.fd = -1;
  e->nXfer = n;
  memcpy(e->zCapped, zCapped, sizeof(zCapped));
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
  if( !e->aXfer || !e->apIdle || !e->apHeap ) goto oom;
  /* The connection's kept handles, so that this statement starts with the
  ** connections, TLS sessions and names the last one left (keep.c). */
  e->pKeep = pKeep;
  /* A window too large to keep takes handles of its own: it drives them
  ** through the socket interface, which a kept handle never met (sockets.c). */
  if( keep_take(n>APIFETCH_KEEP_MAX_CONNS ? 0 : pKeep, pGuard, &e->multi, &e->share,
                &e->bKept) ){
    goto oom;
  }
  for(i=0; i<n; i++){
    e->aXfer[i].pEngine = e;
    e->apIdle[n-1-i] = &e->aXfer[i];
  }
  e->nIdle = n;
#ifdef APIFETCH_DEBUG
  e->bTrace = getenv("APIFETCH_TRACE")!=0;     /* see slot_state */
#endif
  /* Set for every statement: a kept multi handle has the last one's.
  ** HTTP/2 multiplexing is libcurl's default since 7.62; said anyway. */
  if( curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX)
   || curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)(n<16 ? 16 : n))
   || curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                        (long)(pOpt->per_host>0 ? pOpt->per_host : 0)) ){
    goto oom;
  }
  e->pDefaultHeaders = transfer_default_headers(pOpt, &bOom);
  if( bOom ) goto oom;
  if( sockets_open(&e->sock, e->multi, n<=APIFETCH_KEEP_MAX_CONNS) ){
    int err = errno;
    engine_free(e);
    *pzErr = sqlite3_mprintf("api_fetch: cannot watch the transfers' sockets "
                             "(epoll_create1): %s", strerror(err));
    return 0;
  }
  bucket_init(&e->bucket, pOpt->rate, pOpt->burst, clock_ms());
  hosts_init(&e->hosts, pOpt->per_host>0 && pOpt->per_host<n ? pOpt->per_host : n, n, pOpt);
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
  if( pzCapped ) *pzCapped = e->zCapped[0] ? e->zCapped : 0;
  return e->nXfer;
}

sqlite3_int64 engine_rate_wait_ms(const Engine *e){
  sqlite3_int64 now = clock_ms();
  return e->rateWaitMs + (e->tRateBlocked ? now - e->tRateBlocked : 0)
       + hosts_wait_ms(&e->hosts, now);
}

const HostTable *engine_hosts(const Engine *e){
  return &e->hosts;
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
  /* After every easy handle is removed: only idle connections are kept. */
  sockets_close(&e->sock, e->multi);
  keep_give(e->pKeep, e->multi, e->share, e->bKept, e->nXfer, e->bTainted);
  curl_slist_free_all(e->pDefaultHeaders);     /* after every easy handle */
  sqlite3_free(e->aXfer);
  sqlite3_free(e->apIdle);
  sqlite3_free(e->apHeap);
  sqlite3_free(e->zExpired);
  sqlite3_free(e->zFail);
  sqlite3_free(e->zToken);
  sqlite3_free(e->zOAuthFail);
  oauth2_tokens_free(e->pOwnTokens);
  sqlite3_free(e);
}
