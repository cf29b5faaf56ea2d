/*
** cachekey.c - a request as the cache sees it: its key (RFC 9111 section
** 4.1, and which of its headers are keyed so that two identities never
** share an entry) and its own directives (section 5.2.1).  The flow that
** looks entries up and stores them is cacheflow.c's.
*/
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include "apifetch.h"
#include "cache.h"

/* Is request header line zLine ("Name: value") part of the cache key?
** RFC 9111 section 4.1 keys on the method and URL, and matches the headers
** a response's Vary names; but what the trust model needs stays in: two
** identities must never share an entry, and an API may take the caller's
** key, tenant, customer or shop in any header it likes (Host itself picks
** a virtual host).  No list of names can know them all, so it is the other
** way round: every header is keyed but those known to say nothing of who
** asks or what is picked -- per-request noise (request ids, traces), the
** request's own cache directives and validators, and content negotiation,
** which a server that negotiates names in Vary -- so that one that changes
** per request does not make every lookup miss.  Even these are keyed when
** their value holds a secret (a profile's or ${env:}'s).  bearer, basic
** and the user agent are keyed by cachekey_of itself. */
static int header_keyed(void *pCtx, const char *zLine){
  static const char *const azVolatile[] = {
      /* per request: ids and traces (W3C, B3, vendors') */
      "x-request-id", "request-id", "x-correlation-id", "correlation-id",
      "x-trace", "x-trace-id", "x-span-id", "traceparent", "tracestate", "baggage",
      "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled",
      "x-b3-flags", "x-amzn-trace-id", "x-cloud-trace-context", "sentry-trace",
      "uber-trace-id", "x-datadog-trace-id", "x-datadog-parent-id",
      "x-datadog-sampling-priority", "x-datadog-origin",
      /* the request's say in the cache (section 5.2.1) and validators */
      "cache-control", "pragma", "if-none-match", "if-modified-since", "if-match",
      "if-unmodified-since", "if-range",
      /* negotiation: a server that picks by these sends Vary */
      "accept", "accept-encoding", "accept-language", "accept-charset",
      /* the connection's, not the resource's */
      "connection", "keep-alive", "te", "expect", "date", "dnt", "priority" };
  const Options *o = (const Options*)pCtx;
  size_t nName = strcspn(zLine, ":");
  char zName[64];
  int i;
  for(i=0; i<o->nSecret; i++){
    if( o->aSecret[i].zValue[0] && strstr(zLine+nName, o->aSecret[i].zValue) ) return 1;
  }
  if( nName>=sizeof(zName) ) return 1;        /* unusual: keyed */
  for(i=0; i<(int)nName; i++) zName[i] = (char)tolower((unsigned char)zLine[i]);
  zName[nName] = 0;
  for(i=0; i<(int)ArraySize(azVolatile); i++){
    if( strcmp(zName, azVolatile[i])==0 ) return 0;
  }
  return 1;
}

void cachekey_of(const Options *o, CacheStore *pCache, const Request *q, unsigned char *aKey){
  CacheKeyParts k;
  memset(&k, 0, sizeof(k));
  k.zMethod = q->zMethod;
  k.zUrl = q->zUrl;
  k.pBody = q->pBody;
  k.nBody = q->nBody;
  k.pHeaders = q->pHeaders;
  k.xKeyed = header_keyed;
  k.pKeyedCtx = (void*)o;
  if( !q->bNoCredentials ){
    /* With oauth2 whose client asks, not the token, which changes on
    ** every refresh (and is a secret). */
    k.zBearer = o->oauth2.zTokenUrl ? o->oauth2.zKey : o->zBearer;
    k.zBasic = o->zBasic;
  }
  k.zUserAgent = o->user_agent;
  /* An egress proxy that authenticates each caller (credentials in its
  ** URL) may answer each differently, or refuse one what it lets another
  ** reach: the callers of one proxy do not share entries. */
  if( o->zProxy && o->zProxy[0] ) k.zProxy = o->zProxy;
  cachestore_key(pCache, &k, aKey);
}

/* The value of request header zName in list l, its lines joined by ", ";
** NULL if absent (*pbOom on out of memory). */
static char *request_header(const struct curl_slist *l, const char *zName, int *pbOom){
  size_t n = strlen(zName);
  Buf b = {0, 0, 0, 0};
  int bFound = 0;
  for(; l; l=l->next){
    const char *z = l->data;
    if( strncasecmp(z, zName, n)!=0 || z[n]!=':' ) continue;
    for(z+=n+1; *z==' ' || *z=='\t'; z++){}
    if( bFound ) buf_append(&b, STRCONST(", "));
    buf_append(&b, z, strlen(z));
    bFound = 1;
  }
  if( b.bOom ){ *pbOom = 1; buf_free(&b); return 0; }
  if( bFound && b.z==0 ){
    b.z = sqlite3_mprintf("%s", "");
    if( b.z==0 ) *pbOom = 1;
  }
  return b.z;
}

/* The request's own Cache-Control and Pragma directives (section 5.2.1). */
int cachekey_directives(const Request *q, CacheRequest *pRq){
  int bOom = 0;
  char *zCc = request_header(q->pHeaders, "cache-control", &bOom);
  char *zPragma = request_header(q->pHeaders, "pragma", &bOom);
  if( !bOom ) cache_request_parse(pRq, zCc, zPragma);
  sqlite3_free(zCc);
  sqlite3_free(zPragma);
  return bOom ? SQLITE_NOMEM : SQLITE_OK;
}

