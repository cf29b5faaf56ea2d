/*
** policy.c - the engine's decisions, as pure functions with no I/O: what is
** worth retrying, how long to back off, what a Retry-After header asks for,
** and the token bucket behind the `rate` option.  tests/unit.c calls them
** directly.
**
** From SQL these show through options and the `attempts` column:
**   SELECT url, status, attempts FROM api_fetch(:urls, 20,
**       '{"max_attempts": 5, "retry_base_ms": 100, "rate": 50, "burst": 5}');
*/
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include "apifetch.h"

/* RFC 9110 section 15: these say "try again later", not "you are wrong".
** 425 Too Early (RFC 8470) is likewise safe to repeat.  Some APIs say it
** with another status (a 409 while a resource is being made): on_status
** "retry" adds those. */
int policy_status_retryable(long status, int eAction){
  if( eAction==STATUS_RETRY ) return 1;
  switch( status ){
    case 408: case 425: case 429:
    case 500: case 502: case 503: case 504:
      return 1;
  }
  return 0;
}

/* Transport failures that another attempt may well get past.  TLS
** verification failures, bad URLs, size limits and the like are final. */
int policy_curlcode_retryable(CURLcode rc){
  switch( rc ){
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
      return 1;
    default:
      return 0;
  }
}

/* Failures that prove the request was never delivered, so even a POST may
** be repeated without risk of doing it twice. */
int policy_curlcode_unsent(CURLcode rc){
  return rc==CURLE_COULDNT_RESOLVE_HOST || rc==CURLE_COULDNT_CONNECT;
}

/* RFC 9110 section 9.2.2. */
int policy_method_idempotent(const char *zMethod){
  static const char *const azSafe[] = {
    "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"
  };
  int i;
  if( zMethod==0 ) return 1;
  for(i=0; i<ArraySize(azSafe); i++){
    if( strcmp(zMethod, azSafe[i])==0 ) return 1;
  }
  return 0;
}

/* "Full jitter" from the AWS architecture blog's backoff study: spreads
** retries of many clients evenly instead of in synchronized waves. */
sqlite3_int64 policy_backoff_ms(int retry, sqlite3_int64 baseMs,
                                sqlite3_int64 capMs, uint64_t rnd){
  sqlite3_int64 ceiling = baseMs;
  int i;
  for(i=1; i<retry && ceiling<capMs; i++) ceiling *= 2;
  if( ceiling>capMs ) ceiling = capMs;
  if( ceiling<=0 ) return 0;
  return (sqlite3_int64)(rnd % (uint64_t)(ceiling+1));
}

/* An HTTP-date: IMF-fixdate, or the obsolete RFC 850 and asctime forms
** that RFC 9110 section 5.6.7 says recipients must still accept;
** curl_getdate() reads all three.  Each starts with a weekday name; asking
** for one keeps out what curl_getdate() would also read as a date
** ("20240101"), so that a number is never taken for one. */
int policy_http_date(const char *z, sqlite3_int64 *pEpoch){
  time_t t;
  if( z==0 ) return 0;
  while( *z==' ' || *z=='\t' ) z++;
  if( !isalpha((unsigned char)*z) ) return 0;
  t = curl_getdate(z, 0);
  if( t==(time_t)-1 ) return 0;
  *pEpoch = (sqlite3_int64)t;
  return 1;
}

sqlite3_int64 policy_retry_after_ms(const char *zValue, sqlite3_int64 nowEpoch){
  const char *z = zValue;
  sqlite3_int64 secs = 0;
  sqlite3_int64 t;
  if( z==0 ) return -1;
  while( *z==' ' || *z=='\t' ) z++;
  if( isdigit((unsigned char)*z) ){
    const char *zEnd;
    for(zEnd=z; isdigit((unsigned char)*zEnd); zEnd++){
      if( secs<1000000000 ) secs = secs*10 + (*zEnd-'0');
    }
    while( *zEnd==' ' || *zEnd=='\t' || *zEnd=='\r' || *zEnd=='\n' ) zEnd++;
    if( *zEnd ) return -1;
    return secs*1000;
  }
  if( !policy_http_date(z, &t) ) return -1;
  if( t<=nowEpoch ) return 0;
  return (t - nowEpoch)*1000;
}

/* xorshift64*: small, fast, good enough for jitter; never cryptographic. */
uint64_t policy_random(uint64_t *pState){
  uint64_t x = *pState ? *pState : 0x9E3779B97F4A7C15ull;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *pState = x;
  return x * 0x2545F4914F6CDD1Dull;
}

void bucket_init(TokenBucket *b, double rate, double burst, sqlite3_int64 nowMs){
  b->rate = rate;
  b->burst = burst<1 ? 1 : burst;
  b->tokens = b->burst;
  b->tLast = nowMs;
}

void bucket_refund(TokenBucket *b){
  if( b->rate>0 && (b->tokens += 1.0)>b->burst ) b->tokens = b->burst;
}

sqlite3_int64 bucket_take(TokenBucket *b, sqlite3_int64 nowMs){
  double wait;
  if( b->rate<=0 ) return 0;
  if( nowMs>b->tLast ){
    b->tokens += (double)(nowMs - b->tLast) * b->rate / 1000.0;
    if( b->tokens>b->burst ) b->tokens = b->burst;
    b->tLast = nowMs;
  }
  if( b->tokens>=1.0 ){
    b->tokens -= 1.0;
    return 0;
  }
  wait = (1.0 - b->tokens) * 1000.0 / b->rate;
  /* A tiny rate gives a wait past what an int64 holds; cast, that is
  ** undefined (on x86 a negative wait, so no limit at all). */
  if( wait>1e15 ) wait = 1e15;
  return wait<1.0 ? 1 : (sqlite3_int64)(wait + 0.999);
}

/**************************************************************************
** Rate-limit fields: what a response says of the budget its server keeps
** for this client.  Three forms are read, first found wins:
**   GitHub     X-RateLimit-Limit, -Remaining, -Reset (unix seconds)
**   IETF       RateLimit: "name";r=R;t=T and RateLimit-Policy: "name";q=Q;w=W
**              (draft-ietf-httpapi-ratelimit-headers-07 on: structured fields,
**              RFC 8941; t is delta seconds)
**   old draft  RateLimit-Limit, -Remaining, -Reset (delta seconds; up to -06)
*/

/* The non-negative integer at the start of z (after blanks), or -1. */
static sqlite3_int64 rl_int(const char *z){
  sqlite3_int64 v = 0;
  if( z==0 ) return -1;
  while( *z==' ' || *z=='\t' ) z++;
  if( !isdigit((unsigned char)*z) ) return -1;
  for(; isdigit((unsigned char)*z); z++){
    if( v<((sqlite3_int64)1<<40) ) v = v*10 + (*z-'0');
  }
  return v;
}

/* Parameter zKey ("r", "t", "q", "w") of the first item of a structured
** field list (RFC 8941 section 3.1.2: params follow ';'), or -1.  Only the
** first item counts: a server that sends several policies lists the one
** that binds first (draft-07, section 4). */
static sqlite3_int64 rl_param(const char *z, const char *zKey){
  size_t nKey = strlen(zKey);
  int bQuote = 0;
  if( z==0 ) return -1;
  for(; *z && (bQuote || *z!=','); z++){
    if( *z=='"' ) bQuote = !bQuote;
    if( bQuote || *z!=';' ) continue;
    while( z[1]==' ' ) z++;
    if( strncmp(z+1, zKey, nKey)==0 && z[1+nKey]=='=' ) return rl_int(z+2+nKey);
  }
  return -1;
}

int policy_ratelimit(const char *(*xHeader)(void*, const char*), void *pCtx,
                     sqlite3_int64 nowEpochMs, RateLimit *p){
  const char *z;
  p->remaining = p->limit = p->resetMs = p->windowMs = -1;
  if( (z = xHeader(pCtx, "X-RateLimit-Remaining"))!=0 ){
    sqlite3_int64 reset = rl_int(xHeader(pCtx, "X-RateLimit-Reset"));
    p->remaining = rl_int(z);
    p->limit = rl_int(xHeader(pCtx, "X-RateLimit-Limit"));
    if( reset>=0 ) p->resetMs = reset*1000>nowEpochMs ? reset*1000 - nowEpochMs : 0;
  }else if( (z = xHeader(pCtx, "RateLimit"))!=0 ){
    const char *zPol = xHeader(pCtx, "RateLimit-Policy");
    sqlite3_int64 t = rl_param(z, "t"), w = rl_param(zPol, "w");
    p->remaining = rl_param(z, "r");
    p->limit = rl_param(zPol, "q");
    if( t>=0 ) p->resetMs = t*1000;
    if( w>0 ) p->windowMs = w*1000;
  }else if( (z = xHeader(pCtx, "RateLimit-Remaining"))!=0 ){
    sqlite3_int64 t = rl_int(xHeader(pCtx, "RateLimit-Reset"));
    p->remaining = rl_int(z);
    p->limit = rl_int(xHeader(pCtx, "RateLimit-Limit"));
    if( t>=0 ) p->resetMs = t*1000;
  }
  return p->remaining>=0 && p->resetMs>=0;
}
