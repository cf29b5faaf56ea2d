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
** 425 Too Early (RFC 8470) is likewise safe to repeat. */
int policy_status_retryable(long status){
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
