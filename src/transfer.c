/*
** transfer.c - one transfer of the engine: its libcurl easy handle, set up
** for the request (and redirect hop) at hand, the callbacks libcurl calls
** while it runs (the body and its limits; the connection's host and
** address checks), and what came back (headers asked for, why it failed).
** It decides nothing about retries, redirects or scheduling (engine.c,
** policy.c).  The engine calls it so:
**
**   hop_reset(t);                -- a new attempt starts from req as asked
**   rc = transfer_setup(e, t);   -- a fresh easy handle for t's next request
**   ... curl_multi runs it, calling on_body and the guard's hooks ...
**   z = header_value(t->easy, "Link", &bOom);    -- what came back
**   z = failure_text(e, t, cc, status);           -- why it failed, or NULL
**   rc = hop_headers(t);         -- a redirect: what the next hop may send
*/
#include <assert.h>
#include <string.h>
#include <strings.h>
#include "apifetch.h"
#include "engine_int.h"

/**************************************************************************
** libcurl callbacks
*/
static size_t on_body(char *pData, size_t size, size_t nmemb, void *pArg){
  Transfer *t = pArg;
  size_t n = size*nmemb;
  sqlite3_int64 max = t->pEngine->pOpt->max_bytes;
  Engine *e = t->pEngine;
  if( t->eTarget==TARGET_NO_QUERY ) return 0;   /* another resource's (on_debug) */
  /* A streamed body's part waits to be read: libcurl holds these bytes and
  ** reads no more until the part is taken (done_pop, chunk.c). */
  if( t->pPartOut ) return CURL_WRITEFUNC_PAUSE;
  if( t->eStream==STREAM_UNDECIDED ) chunk_decide(t);
  /* max_bytes is per response: a streamed one's parts given count too. */
  if( t->nBytesOut + (sqlite3_int64)(t->nBody + n) > max ){
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
    if( pNew==0 ){ t->bOom = 1; return 0; }
    t->pBody = pNew;
    t->nAlloc = nNew;
  }
  memcpy(t->pBody + t->nBody, pData, n);
  t->nBody += n;
  t->pBody[t->nBody] = 0;
  if( t->eStream==STREAM_YES && t->nBody>=APIFETCH_PART_BYTES && chunk_cut(t) ){
    t->bOom = 1;
    return 0;
  }
  return t->bEnough ? 0 : n;        /* 0: the sample has its part, the rest is not read */
}

/* libcurl 7.88.1 sends a request without its query string when an
** allocation fails inside it: parseurlandfillconn() ignores a failed
** curl_url_get() of the query, where later libcurl returns
** CURLE_OUT_OF_MEMORY.  The server then answers for another resource,
** 200 and no error.  What libcurl sent shows it: the request line, the
** first bytes of CURLINFO_HEADER_OUT (for HTTP/2 too, which 7.88 shows as
** "GET /p?a=1 HTTP/2").  libcurl calls this only with CURLOPT_VERBOSE,
** which transfer_setup sets only for a URL with a query.  Its cost is
** libcurl's, formatting its informational lines for us: about 5% more
** instructions per transfer (valgrind, 2,000 small responses, HTTP/1.1
** and HTTP/2 alike); this callback adds a call and a compare per piece.
** transfer_result turns a lost query into out of memory. */
static int on_debug(CURL *h, curl_infotype type, char *p, size_t n, void *pArg){
  Transfer *t = pArg;
  (void)h;
  /* Through a proxy from the environment an https request goes in a
  ** tunnel, whose CONNECT host:port head comes first: that is not the
  ** request, which follows it (libcurl sends that head in one piece). */
  if( type==CURLINFO_HEADER_OUT && t->eTarget<TARGET_QUERY
   && !(t->eTarget==TARGET_METHOD && n>=8 && memcmp(p, "CONNECT ", 8)==0) ){
    request_target_scan(&t->eTarget, p, n);
  }
  return 0;
}

/* The value of response header zName of the transfer's last response
** (its several lines joined by ", ", as RFC 9110 section 5.3 allows), or
** NULL if it has none; *pbOom on out-of-memory.  libcurl keeps every
** header of a transfer for curl_easy_header() (7.83+), so the engine need
** not watch header lines go by: what a request's caller wants to read
** (the paginator a Link, say) it names in req.azWant. */
char *header_value(CURL *h, const char *zName, int *pbOom){
  struct curl_header *pHdr;
  size_t i = 0, nAmount = 1;
  Buf b = {0, 0, 0, 0};
  for(i=0; i<nAmount; i++){
    if( curl_easy_header(h, zName, i, CURLH_HEADER, -1, &pHdr)!=CURLHE_OK ) break;
    nAmount = pHdr->amount;
    if( b.n ) buf_append(&b, STRCONST(", "));
    buf_append(&b, pHdr->value, strlen(pHdr->value));
  }
  if( b.bOom ){ *pbOom = 1; buf_free(&b); return 0; }
  return b.z;
}

/* allow_hosts: is the URL libcurl is working on (the redirect target,
** after a redirect) refused?  Then say why in t->zNote (as a cache answer
** would: guard_url_refusal). */
static int host_refused(Transfer *t){
  const Guard *g = t->pEngine->pGuard;
  char *zUrl = 0, *zWhy;
  int bOom = 0;
  if( g==0 || (g->azAllowHost==0 && !(t->bProxied && g->bBlockPrivate)) ) return 0;
  curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &zUrl);
  zWhy = guard_url_refusal(g, zUrl, t->req.pHeaders, &bOom);
  /* Through a proxy the target is not resolved here: its URL is all that
  ** block_private can judge. */
  if( zWhy==0 && !bOom && t->bProxied ) zWhy = guard_proxied_refusal(g, zUrl, &bOom);
  if( zWhy==0 && !bOom ) return 0;
  sqlite3_free(t->zNote);
  t->zNote = zWhy;                /* NULL on out of memory: refused all the same */
  t->bRefused = 1;
  return 1;
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
  char *zWhy;
  int bOom = 0;
  (void)purpose;
  if( host_refused(t) ) return CURL_SOCKET_BAD;
  /* Through the options' proxy every socket is the proxy's, whose
  ** address is the host's choice (guard_proxy_refused). */
  zWhy = t->bProxied ? 0 : guard_address_refusal(t->pEngine->pGuard, &a->addr, &bOom);
  if( zWhy || bOom ){
    sqlite3_free(t->zNote);
    t->zNote = zWhy;
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

/* Does header line zLine describe the request's body? */
static int header_is_body(const char *zLine){
  static const char *const azBody[] = { "content-type", "content-encoding", "expect", 0 };
  size_t n = strcspn(zLine, ":;");
  int i;
  for(i=0; azBody[i]; i++){
    if( strlen(azBody[i])==n && strncasecmp(zLine, azBody[i], n)==0 ) return 1;
  }
  return 0;
}

/* The headers a request sends where a redirect has taken it, into
** t->pHopHeaders: all of req's on its own origin, and on another only those
** that describe the body (libcurl itself drops only Authorization and
** Cookie, so an API key in X-Api-Key would follow a redirect anywhere).
** Without a body, none of those.  SQLITE_OK or SQLITE_NOMEM. */
int hop_headers(Transfer *t){
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
void hop_reset(Transfer *t){
  sqlite3_free(t->zHopUrl);
  t->zHopUrl = 0;
  t->nRedirect = 0;
  t->bHopGet = 0;
  t->bHopForeign = 0;
  curl_slist_free_all(t->pHopHeaders);
  t->pHopHeaders = 0;
}

/* curl_easy_setopt that remembers a failure in the caller's `bad`: a
** dropped header, proxy or CA file would be a silently different request,
** so any failure fails it (they fail only for want of memory). */
#define SETOPT(h, opt, val) (bad |= curl_easy_setopt(h, opt, val)!=CURLE_OK)

/* The guard's hooks: the host checked before DNS, at connect and before
** each request; the address at connect.  SQLITE_OK, or SQLITE_NOMEM if an
** option failed. */
static int setup_guard(CURL *h, const Guard *g, Transfer *t){
  int bad = 0;
  if( g->bBlockPrivate || g->azAllowHost ){
    SETOPT(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    SETOPT(h, CURLOPT_OPENSOCKETDATA, t);
  }
  if( g->azAllowHost ){
    SETOPT(h, CURLOPT_RESOLVER_START_FUNCTION, on_resolver_start);
    SETOPT(h, CURLOPT_RESOLVER_START_DATA, t);
  }
  if( g->azAllowHost || (g->bBlockPrivate && t->bProxied) ){
    SETOPT(h, CURLOPT_PREREQFUNCTION, on_prereq);
    SETOPT(h, CURLOPT_PREREQDATA, t);
  }
  return bad ? SQLITE_NOMEM : SQLITE_OK;
}

/* The method and body of t's request, or of its redirect hop (a hop that
** became a GET sends no body).  SQLITE_OK, or SQLITE_NOMEM if an option
** failed. */
static int setup_method(CURL *h, Transfer *t){
  const char *zMethod = t->bHopGet ? (t->req.zMethod && strcmp(t->req.zMethod, "HEAD")==0
                                      ? "HEAD" : "GET") : t->req.zMethod;
  const char *pBody = t->bHopGet ? 0 : t->req.pBody;
  int bad = 0;
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

/* The credentials t's request sends, if any.  SQLITE_OK, or SQLITE_NOMEM
** if an option failed. */
static int setup_auth(CURL *h, const Engine *e, const Transfer *t){
  const Options *o = e->pOpt;
  int bad = 0;
  if( t->req.bNoCredentials || t->bHopForeign || t->bNoToken ){
    /* A page or redirect off the origin asked, a request off the token's: none. */
  }else if( o->oauth2.zTokenUrl && e->zToken ){
    /* authflow_token's, which wins over a bearer or basic (a profile's, say). */
    SETOPT(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    SETOPT(h, CURLOPT_XOAUTH2_BEARER, e->zToken);
  }else if( o->zBearer ){
    SETOPT(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    SETOPT(h, CURLOPT_XOAUTH2_BEARER, o->zBearer);
  }else if( o->zBasic ){
    SETOPT(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    SETOPT(h, CURLOPT_USERPWD, o->zBasic);
  }
  return bad ? SQLITE_NOMEM : SQLITE_OK;
}

/* The lines libcurl 7.88 writes into every request for CURLOPT_USERAGENT
** and CURLOPT_ACCEPT_ENCODING "" (the encodings it was built to decode, in
** its order: content_encoding.c), as a list made once per statement.  Why:
** libcurl formats each of those lines with its own printf a byte at a
** time, twice (aprintf, then into the request), for every request: 3.5k
** of W3's 126k instructions a request (callgrind, 2,000 requests, c=50,
** 2026-12-06).  Given as a header of the request's own, a line is copied
** once, and libcurl leaves out its own (Curl_checkheaders).  The options
** stay set all the same: CURLOPT_USERAGENT for a proxy's CONNECT, which
** does not get the request's headers (CURLHEADER_SEPARATE), and
** CURLOPT_ACCEPT_ENCODING for decoding the response.  An empty user_agent
** sends none, as libcurl does; a libcurl that decodes nothing writes its
** own line ("identity"). */
struct curl_slist *transfer_default_headers(const Options *o, int *pbOom){
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  const char *zAgent = o->user_agent ? o->user_agent : "apifetch/" APIFETCH_VERSION;
  struct curl_slist *pList = 0, *pNew;
  char zEnc[64];
  size_t n;
  if( zAgent[0] ){
    char *z = sqlite3_mprintf("User-Agent: %s", zAgent);
    pList = z ? curl_slist_append(0, z) : 0;
    sqlite3_free(z);
    if( pList==0 ) goto oom;
  }
  sqlite3_snprintf(sizeof(zEnc), zEnc, "Accept-Encoding: %s%s%s",
                   (v->features & CURL_VERSION_LIBZ) ? "deflate, gzip, " : "",
                   (v->features & CURL_VERSION_BROTLI) ? "br, " : "",
                   (v->features & CURL_VERSION_ZSTD) ? "zstd, " : "");
  n = strlen(zEnc);
  if( n > sizeof("Accept-Encoding: ")-1 ){
    zEnc[n-2] = 0;                  /* the last ", " */
    if( (pNew = curl_slist_append(pList, zEnc))==0 ) goto oom;
    pList = pNew;
  }
  return pList;
oom:
  curl_slist_free_all(pList);
  *pbOom = 1;
  return 0;
}

int transfer_setup(Engine *e, Transfer *t){
  const Options *o = e->pOpt;
  CURL *h = t->easy;
  const char *zUrl = t->zHopUrl ? t->zHopUrl : t->req.zUrl;
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
  t->nBody = t->nNoLine = 0;
  t->eStream = STREAM_UNDECIDED;
  t->bEnough = 0;
  t->bTooBig = 0;
  t->bOom = 0;
  t->bRefused = 0;
  t->eTarget = TARGET_METHOD;
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
  if( url_has_query(zUrl) ){
    SETOPT(h, CURLOPT_DEBUGFUNCTION, on_debug);
    SETOPT(h, CURLOPT_DEBUGDATA, t);
    SETOPT(h, CURLOPT_VERBOSE, 1L);
  }
  /* Safe defaults: http(s) only; TLS peer and host verification stay at
  ** libcurl's default (on).  Redirects are followed by the engine, not by
  ** libcurl (redirect_follow in engine.c), so that each hop is checked
  ** like a request. */
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
    ** (found by make fuzz-http; refused by libcurl since 8.8.0, curl PR 13421).  A
    ** transfer that does not want HTTP/2 is never multiplexed. */
    SETOPT(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  }
  SETOPT(h, CURLOPT_TCP_NODELAY, 1L);
  /* Before setup_guard, whose checks depend on it. */
  if( guard_proxy_setup(h, e->pGuard, o, &t->bProxied) ) bad = 1;
  if( e->pGuard && setup_guard(h, e->pGuard, t) ) bad = 1;
  SETOPT(h, CURLOPT_USERAGENT, o->user_agent ? o->user_agent : "apifetch/" APIFETCH_VERSION);
  if( o->ca_file ){
    SETOPT(h, CURLOPT_CAINFO, o->ca_file);
  }else if( e->pGuard && e->pGuard->zCaFile ){
    SETOPT(h, CURLOPT_CAINFO, e->pGuard->zCaFile);
  }
  if( setup_auth(h, e, t) ) bad = 1;
  /* No headers of its own: libcurl's default lines, made once (see
  ** transfer_default_headers); with headers, libcurl writes them. */
  if( pHeaders==0 ) pHeaders = e->pDefaultHeaders;
  if( t->pCached ){
    int bOom = 0;
    pHeaders = cacheflow_conditional(t, pHeaders, &bOom);
    if( bOom ) return SQLITE_NOMEM;
  }
  if( pHeaders ) SETOPT(h, CURLOPT_HTTPHEADER, pHeaders);
  if( setup_method(h, t) ) bad = 1;
  return bad ? SQLITE_NOMEM : SQLITE_OK;
}

/* Failures libcurl reports in words about itself that are the server's
** doing: the code, a piece of libcurl's detail that tells the case apart
** (NULL: no detail at all), and what the server did, in plain words.  The
** first row that matches wins; libcurl's own text stays in the message.
** Only once a status line has come: before, nothing was parsed. */
static const struct {
  CURLcode cc;
  const char *zDetail;
  const char *zWhat;
} aServerFault[] = {
  /* libcurl 7.88's header store (curl_easy_header) refuses a folded line
  ** (obs-fold, RFC 9112 section 5.2) with no header line before it, and
  ** in a chunked trailer also a line without a colon. */
  { CURLE_BAD_FUNCTION_ARGUMENT, 0, "malformed response header: a line that starts with a "
    "space or tab (obs-fold) and has no header line before it to continue" },
  { CURLE_BAD_FUNCTION_ARGUMENT, "chunked-encoded", "malformed chunked body: a trailer line "
    "that is not a header field" },
  /* Chunked framing (RFC 9112 section 7.1).  libcurl keeps a trailer line
  ** in a buffer of at most 4 KiB and calls a longer one "Out of memory"
  ** (as real want of memory, far less likely there). */
  { CURLE_RECV_ERROR, "Out of memory in chunked-encoding", "malformed chunked body: a trailer "
    "line over libcurl's limit of 4 KiB" },
  { CURLE_RECV_ERROR, "hexadecimal", "malformed chunked body: a chunk size that is not a "
    "hexadecimal number of at most 16 digits" },
  { CURLE_RECV_ERROR, "Malformed encoding found in chunked-encoding", "malformed chunked "
    "body: chunk data not followed by a line end" },
};

/* What the server did wrong, if cc with libcurl's detail zErr is one of
** aServerFault's, else NULL. */
static const char *server_fault(CURLcode cc, const char *zErr){
  int i;
  for(i=0; i<ArraySize(aServerFault); i++){
    const char *zDetail = aServerFault[i].zDetail;
    if( aServerFault[i].cc==cc && (zDetail ? strstr(zErr, zDetail)!=0 : zErr[0]==0) ){
      return aServerFault[i].zWhat;
    }
  }
  return 0;
}

CURLcode transfer_result(Transfer *t, CURLcode cc, long *pStatus){
  long eVersion = 0;
  char *zScheme = 0;
  /* Connections that met a failure are not kept for the next statement
  ** (keep.c): libcurl 7.88 keeps what a server did to them in the multi
  ** handle's connection cache -- a status line saying HTTP/2 on a cleartext
  ** HTTP/1.1 connection marks the host as multiplexing, and the next
  ** statement's requests then go onto a connection still busy, and cross
  ** (tests/sql/hostile.sql; curl PR 13421, fixed in 8.8.0). */
  if( (cc!=CURLE_OK && !t->bEnough) || (curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &eVersion)==CURLE_OK
                       && eVersion>=CURL_HTTP_VERSION_2_0
                       && curl_easy_getinfo(t->easy, CURLINFO_SCHEME, &zScheme)==CURLE_OK
                       && zScheme && strcasecmp(zScheme, "https")!=0) ){
    t->pEngine->bTainted = 1;
  }
  if( t->eTarget==TARGET_NO_QUERY ){
    /* libcurl lost the query for want of memory (on_debug): what a libcurl
    ** that says so gives, out of memory and no response, so that nothing
    ** of the other resource's answer is taken, followed or retried. */
    *pStatus = 0;
    sqlite3_snprintf(sizeof(t->zErr), t->zErr, "libcurl sent the request without "
                     "its URL's query string (an allocation inside libcurl failed)");
    return CURLE_OUT_OF_MEMORY;
  }
  return cc;
}

char *failure_text(Engine *e, Transfer *t, CURLcode cc, long status){
  const char *zNote = t->zNote ? t->zNote : "";
  const char *zSep = t->zNote ? "; " : "";
  if( t->bRefused && t->zNote ) return sqlite3_mprintf("%s", t->zNote);
  if( t->bEnough ) return sqlite3_mprintf("CREATE's sample read this body's first part only");
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
  if( cc!=CURLE_OK && status>0 && server_fault(cc, t->zErr) ){
    return sqlite3_mprintf("%s (libcurl says \"%s%s%s\")%s%s", server_fault(cc, t->zErr),
                           curl_easy_strerror(cc), t->zErr[0] ? ": " : "", t->zErr,
                           zSep, zNote);
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

/**************************************************************************
** What an attempt did, for the source's xAttempt (request_log)
*/

/* libcurl's time to the end of a phase, or -1 for one not gone through:
** its times count from the start of the request, 0 where a phase did not
** happen (a reused connection looks nothing up; plain HTTP has no TLS). */
static sqlite3_int64 phase_us(CURL *h, CURLINFO what, int bTotal){
  curl_off_t us = 0;
  if( curl_easy_getinfo(h, what, &us)!=CURLE_OK ) return -1;
  return us>0 || bTotal ? (sqlite3_int64)us : -1;
}

int transfer_report(Engine *e, Transfer *t, CURLcode cc, long status, const char *zError){
  static const CURLINFO aPhase[PHASE_COUNT] = {
    CURLINFO_NAMELOOKUP_TIME_T, CURLINFO_CONNECT_TIME_T, CURLINFO_APPCONNECT_TIME_T,
    CURLINFO_STARTTRANSFER_TIME_T, CURLINFO_TOTAL_TIME_T
  };
  AttemptInfo a;
  curl_off_t nBytes = 0;
  char *zWhy = 0, *zFail = 0;
  int i, rc;
  assert( e->src.xAttempt && t->easy );
  memset(&a, 0, sizeof(a));
  a.pReq = &t->req;
  a.zUrl = t->zHopUrl ? t->zHopUrl : t->req.zUrl;
  a.zMethod = t->bHopGet ? "GET" : t->req.zMethod ? t->req.zMethod
            : t->req.pBody ? "POST" : "GET";
  a.iAttempt = t->nAttempt;
  a.status = status;
  a.eCache = e->pCache==0 ? CACHE_NONE
           : t->pCached && status==304 ? CACHE_REVALIDATED : CACHE_MISS;
  for(i=0; i<PHASE_COUNT; i++) a.aPhaseUs[i] = phase_us(t->easy, aPhase[i], i==PHASE_TOTAL);
  if( curl_easy_getinfo(t->easy, CURLINFO_SIZE_DOWNLOAD_T, &nBytes)==CURLE_OK ){
    a.nBytes = (sqlite3_int64)nBytes;
  }
  if( zError==0 ){
    /* This attempt's own failure: retry_delay has not yet noted why there
    ** is no other (that goes in the row of the response). */
    zWhy = failure_text(e, t, cc, status);
    if( zWhy==0 && (cc!=CURLE_OK || status>=400 || (status<200 && status!=0)) ){
      return SQLITE_NOMEM;
    }
    zError = zWhy;
  }
  a.zError = zError;
  rc = e->src.xAttempt(e->src.pCtx, &a, &zFail);
  sqlite3_free(zWhy);
  if( rc ){
    sqlite3_free(e->zFail);
    e->zFail = zFail;
  }
  return rc;
}

int answer_report(Engine *e, const Response *r, char **pzErr){
  AttemptInfo a;
  int i;
  assert( e->src.xAttempt );
  memset(&a, 0, sizeof(a));
  a.pReq = &r->req;
  a.zUrl = r->req.zUrl;
  a.zMethod = r->req.zMethod ? r->req.zMethod : r->req.pBody ? "POST" : "GET";
  a.status = r->status;
  a.zError = r->zError;
  a.eCache = r->eCache;
  a.nBytes = (sqlite3_int64)r->nBody;
  for(i=0; i<PHASE_COUNT; i++) a.aPhaseUs[i] = -1;
  return e->src.xAttempt(e->src.pCtx, &a, pzErr);
}
