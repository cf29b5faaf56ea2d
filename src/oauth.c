/*
** oauth.c - OAuth2 client credentials (RFC 6749 section 4.4): the oauth2
** option, the exchange with the token endpoint, and the tokens a
** connection keeps.
**
**   SELECT data FROM api_fetch('["https://api.example.com/v1/orders"]', 8,
**     '{"oauth2": {"token_url": "https://auth.example.com/oauth/token",
**                  "client_id": "etl", "client_secret": "${env:CLIENT_SECRET}",
**                  "scope": "orders:read", "audience": "https://api.example.com"}}');
**
** The engine asks oauth2_token() for the token before it starts a request
** (engine.c).  The exchange is a plain easy handle, run to its end there and
** then: the window waits for it, so the requests of a scan, however many
** are in flight, share one token fetch.  It waits as the engine does,
** though: an interrupt or the deadline stops it (token_perform).  A token is fetched again when its
** expires_in (less a tenth, at most a minute) has run out, or once a 401
** has said it is no longer good (oauth2_token_stale).  Tokens live in the
** connection's Keep, in memory only, keyed by a hash of everything that
** asks for one (token URL, client id and secret, scope, audience, how the
** client authenticates); they are never written to a file, and the
** cache's keys hold that hash, not the token (cacheflow.c).
**
** The token endpoint is fetched as carefully as an API: allow_hosts on its
** URL, block_private on the address connected to, the options' proxy,
** timeouts and CA file; no redirect is followed (a token endpoint that
** redirects is an error, RFC 6749 section 3.2 names its one URL); https is
** required unless its host is loopback by name or address (section 3.2
** asks for TLS; a token endpoint on the host itself is a test's or a
** sidecar's).
**
** The token is the API's, and goes to its origin only (oauth2_origin):
** base_url's, else an audience's that is an http(s) URL, and a query
** with neither is refused.  A request to another origin goes without it
** (engine.c), as a redirect or a next page there does.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include "apifetch.h"

#define OAUTH_MAX_BODY (1<<20)     /* A token response is small */

void oauth2_clear(OAuth2 *p){
  sqlite3_free(p->zTokenUrl);
  sqlite3_free(p->zClientId);
  sqlite3_free(p->zSecret);
  sqlite3_free(p->zScope);
  sqlite3_free(p->zAudience);
  memset(p, 0, sizeof(*p));
}

/* Is zUrl's host loopback, by name or address (so that plain http is
** allowed for a token endpoint)? */
static int url_is_loopback(const char *zUrl){
  CURLU *h = curl_url();
  char *zHost = 0;
  int bLoop = 0;
  if( h && curl_url_set(h, CURLUPART_URL, zUrl, 0)==CURLUE_OK
   && curl_url_get(h, CURLUPART_HOST, &zHost, 0)==CURLUE_OK ){
    unsigned char a[4];
    bLoop = strcasecmp(zHost, "localhost")==0 || strcmp(zHost, "[::1]")==0
         || (inet_pton(AF_INET, zHost, a)==1 && a[0]==127);
  }
  curl_free(zHost);
  curl_url_cleanup(h);
  return bLoop;
}

/* The hex SHA-256 of what asks for p's tokens, into p->zKey. */
static void oauth2_key(OAuth2 *p){
  const char *az[] = { p->zTokenUrl, p->zClientId, p->zSecret, p->zScope, p->zAudience,
                       p->bAuthBody ? "body" : "basic" };
  unsigned char aHash[SHA256_SIZE];
  Sha256 h;
  int i;
  sha256_init(&h);
  for(i=0; i<ArraySize(az); i++){
    /* Each field with its length and presence: none run together. */
    size_t n = az[i] ? strlen(az[i]) : (size_t)-1;
    sha256_update(&h, &n, sizeof(n));
    if( az[i] ) sha256_update(&h, az[i], strlen(az[i]));
  }
  sha256_final(&h, aHash);
  for(i=0; i<SHA256_SIZE; i++) sqlite3_snprintf(3, p->zKey + 2*i, "%02x", aHash[i]);
}

int oauth2_parse(OAuth2 *p, const cJSON *v, OAuth2Expand xExpand, void *pCtx, char **pzErr){
  static const char *const azKey[] = { "token_url", "client_id", "client_secret", "scope",
                                       "audience", "auth" };
  const cJSON *m;
  char *zWhy = 0;
  oauth2_clear(p);
  if( cJSON_IsNull(v) ) return SQLITE_OK;            /* a profile's, turned off */
  if( !cJSON_IsObject(v) ){
    *pzErr = sqlite3_mprintf("api_fetch: option oauth2 must be an object or null, got %s",
                             knob_json_kind(v));
    return SQLITE_ERROR;
  }
  cJSON_ArrayForEach(m, v){
    char **apField[] = { &p->zTokenUrl, &p->zClientId, &p->zSecret, &p->zScope,
                         &p->zAudience, 0 };
    int i;
    for(i=0; i<ArraySize(azKey) && strcmp(azKey[i], m->string); i++){}
    if( i==ArraySize(azKey) ){
      *pzErr = sqlite3_mprintf("api_fetch: oauth2: unknown key \"%s\" (known: token_url, "
                               "client_id, client_secret, scope, audience, auth)", m->string);
      goto fail;
    }
    if( !cJSON_IsString(m) ){
      *pzErr = sqlite3_mprintf("api_fetch: oauth2: %s must be a string, got %s", m->string,
                               knob_json_kind(m));
      goto fail;
    }
    if( apField[i]==0 ){                               /* auth */
      if( strcmp(m->valuestring, "basic")!=0 && strcmp(m->valuestring, "body")!=0 ){
        *pzErr = sqlite3_mprintf("api_fetch: oauth2: auth must be \"basic\" or \"body\", "
                                 "got \"%s\"", m->valuestring);
        goto fail;
      }
      p->bAuthBody = m->valuestring[0]=='b' && m->valuestring[1]=='o';
      continue;
    }
    sqlite3_free(*apField[i]);
    /* The client's id and secret may come from the environment. */
    *apField[i] = i==1 || i==2 ? xExpand(pCtx, m->valuestring, "oauth2", pzErr)
                               : sqlite3_mprintf("%s", m->valuestring);
    if( *apField[i]==0 ){
      if( *pzErr ) goto fail;
      oauth2_clear(p);
      return SQLITE_NOMEM;
    }
  }
  if( p->zTokenUrl==0 || p->zClientId==0 || p->zSecret==0 ){
    *pzErr = sqlite3_mprintf("api_fetch: oauth2 needs token_url, client_id and client_secret");
    goto fail;
  }
  if( url_check(p->zTokenUrl, &zWhy) ){
    *pzErr = zWhy ? sqlite3_mprintf("api_fetch: oauth2: token_url: %s", zWhy) : 0;
    sqlite3_free(zWhy);
    oauth2_clear(p);
    return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  if( strncasecmp(p->zTokenUrl, "https://", 8)!=0 && !url_is_loopback(p->zTokenUrl) ){
    *pzErr = sqlite3_mprintf("api_fetch: oauth2: token_url must be https (RFC 6749 section "
                             "3.2), or http on a loopback host: %s", p->zTokenUrl);
    goto fail;
  }
  if( p->zAudience ){
    /* An audience that is an http(s) URL names the API (oauth2_origin). */
    int rc = url_check(p->zAudience, &zWhy);
    sqlite3_free(zWhy);
    if( rc==SQLITE_NOMEM ) goto fail;
    p->bAudienceUrl = rc==SQLITE_OK;
  }
  oauth2_key(p);
  return SQLITE_OK;
fail:
  oauth2_clear(p);
  return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
}

const char *oauth2_origin(const OAuth2 *p, const char *zBaseUrl){
  assert( p->zTokenUrl );
  return zBaseUrl ? zBaseUrl : p->bAudienceUrl ? p->zAudience : 0;
}

int oauth2_check_origin(const OAuth2 *p, const char *zBaseUrl, char **pzErr){
  if( p->zTokenUrl==0 || oauth2_origin(p, zBaseUrl) ) return SQLITE_OK;
  /* Not the first URL's origin instead: a url_list's or url_query's
  ** first URL may come from data, and it would then choose where the
  ** token goes. */
  *pzErr = sqlite3_mprintf("api_fetch: oauth2 needs base_url, or an audience that is a URL, "
                           "to know which origin its token is for");
  return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
}

/**************************************************************************
** The exchange
*/
typedef struct TokenCall TokenCall;
struct TokenCall {
  const Guard *pGuard;       /* The connection's limits, or NULL */
  int bProxied;              /* Through the options' proxy: its address is not checked */
  char *zRefused;            /* Why the guard refused the address, or NULL */
  int bOom;                  /* Out of memory in a callback */
  Buf body;                  /* The response */
};

static size_t token_body(char *pData, size_t size, size_t nmemb, void *pArg){
  TokenCall *c = pArg;
  size_t n = size*nmemb;
  if( c->body.n + n > OAUTH_MAX_BODY ) return 0;
  buf_append(&c->body, pData, n);
  return c->body.bOom ? 0 : n;
}

/* block_private on the address connected to, as for every request. */
static curl_socket_t token_socket(void *pArg, curlsocktype purpose, struct curl_sockaddr *a){
  TokenCall *c = pArg;
  (void)purpose;
  if( !c->bProxied ){
    c->zRefused = guard_address_refusal(c->pGuard, &a->addr, &c->bOom);
    if( c->zRefused || c->bOom ) return CURL_SOCKET_BAD;
  }
  return socket(a->family, a->socktype, a->protocol);
}

/* "&name=value", value form-encoded. */
static void form_add(Buf *b, CURL *h, const char *zName, const char *zValue){
  char *z;
  if( zValue==0 ) return;
  z = curl_easy_escape(h, zValue, 0);
  if( z==0 ){ b->bOom = 1; return; }
  if( b->n ) buf_append(b, "&", 1);
  buf_append(b, zName, strlen(zName));
  buf_append(b, "=", 1);
  buf_append(b, z, strlen(z));
  curl_free(z);
}

/* The RFC 6749 section 5 answer in c->body (HTTP status) into pTok, or
** why not, without the endpoint's name (the caller adds it). */
static char *token_read(TokenCall *c, long status, OAuthToken *pTok, sqlite3_int64 now){
  cJSON *pRoot = cJSON_ParseWithLength(c->body.z ? c->body.z : "", c->body.n);
  const cJSON *pTokVal = cJSON_GetObjectItemCaseSensitive(pRoot, "access_token");
  const cJSON *pType = cJSON_GetObjectItemCaseSensitive(pRoot, "token_type");
  const cJSON *pExp = cJSON_GetObjectItemCaseSensitive(pRoot, "expires_in");
  char *zWhy = 0;
  const char *z;
  double exp = -1;
  int bFail = 1;
  if( status!=200 ){
    /* Section 5.2: error and error_description say why. */
    const cJSON *pErr = cJSON_GetObjectItemCaseSensitive(pRoot, "error");
    const cJSON *pDesc = cJSON_GetObjectItemCaseSensitive(pRoot, "error_description");
    zWhy = sqlite3_mprintf("HTTP %ld%s%s%s%s", status, cJSON_IsString(pErr) ? ", " : "",
                           cJSON_IsString(pErr) ? pErr->valuestring : "",
                           cJSON_IsString(pDesc) ? ": " : "",
                           cJSON_IsString(pDesc) ? pDesc->valuestring : "");
  }else if( !cJSON_IsString(pTokVal) || pTokVal->valuestring[0]==0 ){
    zWhy = sqlite3_mprintf("no access_token in its answer");
  }else if( !cJSON_IsString(pType) || strcasecmp(pType->valuestring, "bearer")!=0 ){
    /* Section 7.1: a client must not use a token whose type it does not know. */
    zWhy = sqlite3_mprintf("token_type is not Bearer");
  }else{
    for(z=pTokVal->valuestring; *z && *z>' ' && *z<127; z++){}
    if( *z ){
      zWhy = sqlite3_mprintf("its access_token holds a space or control character");
    }else if( pExp ){
      if( cJSON_IsNumber(pExp) ) exp = pExp->valuedouble;
      else if( cJSON_IsString(pExp) ) exp = strtod(pExp->valuestring, 0);
      if( exp>=0 && exp<1e9 ) bFail = 0;
      else zWhy = sqlite3_mprintf("expires_in is not a number of seconds");
    }else{
      bFail = 0;
    }
  }
  if( !bFail ){
    sqlite3_int64 ms = (sqlite3_int64)(exp*1000);
    sqlite3_int64 margin = ms/10 < 60000 ? ms/10 : 60000;
    sqlite3_free(pTok->zToken);
    pTok->zToken = sqlite3_mprintf("%s", pTokVal->valuestring);
    pTok->tRefresh = exp<0 ? 0 : now + ms - margin;
    pTok->bStale = 0;
    pTok->iGen++;
    if( pTok->zToken==0 ) c->bOom = 1;
  }else if( zWhy==0 ){
    c->bOom = 1;                   /* the message could not be made */
  }
  cJSON_Delete(pRoot);
  return zWhy;
}

/* h run to its end, as curl_easy_perform() would, but on a multi handle of
** its own so that the wait can be cut short (curl_easy_perform() waits up
** to a second between its progress callbacks, ten times what
** docs/security.md promises): pStop's probe is asked every
** APIFETCH_CANCEL_CHECK_MS, and its deadline ends the wait.  *peStop:
** 0, SQLITE_INTERRUPT (the query was stopped) or SQLITE_ABORT (the
** deadline came first); libcurl's code means nothing then.  A multi call
** that fails says so in zErr (CURL_ERROR_SIZE bytes). */
static CURLcode token_perform(CURL *h, const TokenStop *pStop, int *peStop, char *zErr){
  CURLM *m = curl_multi_init();
  CURLMcode mc = CURLM_OK;
  CURLcode cc = CURLE_OUT_OF_MEMORY;
  *peStop = 0;
  assert( pStop->xCancelled==0 || pStop->ptCheck );
  if( m==0 ) return CURLE_OUT_OF_MEMORY;
  if( curl_multi_add_handle(m, h)!=CURLM_OK ){ curl_multi_cleanup(m); return cc; }
  for(;;){
    CURLMsg *pMsg;
    sqlite3_int64 now, tmo = APIFETCH_CANCEL_CHECK_MS;
    int nRunning, nLeft;
    if( (mc = curl_multi_perform(m, &nRunning))!=CURLM_OK ) break;
    pMsg = curl_multi_info_read(m, &nLeft);
    if( pMsg && pMsg->msg==CURLMSG_DONE ){ cc = pMsg->data.result; break; }
    now = clock_ms();
    if( pStop->tDeadline && now>=pStop->tDeadline ){ *peStop = SQLITE_ABORT; break; }
    if( pStop->xCancelled && now - *pStop->ptCheck >= APIFETCH_CANCEL_CHECK_MS ){
      *pStop->ptCheck = now;
      if( pStop->xCancelled(pStop->pCtx) ){ *peStop = SQLITE_INTERRUPT; break; }
    }
    if( pStop->tDeadline && pStop->tDeadline - now < tmo ) tmo = pStop->tDeadline - now;
    if( (mc = curl_multi_poll(m, 0, 0, (int)tmo, 0))!=CURLM_OK ) break;
  }
  if( mc!=CURLM_OK && mc!=CURLM_OUT_OF_MEMORY ){
    sqlite3_snprintf(CURL_ERROR_SIZE, zErr, "curl_multi: %s", curl_multi_strerror(mc));
    cc = CURLE_FAILED_INIT;
  }
  curl_multi_remove_handle(m, h);
  curl_multi_cleanup(m);
  return cc;
}

/* Ask the token endpoint for a token into pTok: SQLITE_OK with *pzWhy set
** if it was refused or failed, with *pbExpired set if pStop's deadline
** came first; SQLITE_INTERRUPT, SQLITE_NOMEM.  *pnSent: requests sent. */
static int token_fetch(const OAuth2 *p, const Options *o, const Guard *g,
                       const TokenStop *pStop, OAuthToken *pTok, char **pzWhy,
                       int *pbExpired, int *pnSent){
  TokenCall c;
  Buf form = {0, 0, 0, 0};
  struct curl_slist *pHdr = 0;
  CURL *h;
  CURLcode cc;
  char zErr[CURL_ERROR_SIZE] = "", *zWhy = 0;
  long status = 0;
  int bad = 0, bOom = 0, eStop = 0;
  memset(&c, 0, sizeof(c));
  c.pGuard = g;
  zWhy = guard_url_refusal(g, p->zTokenUrl, 0, &bOom);
  if( zWhy || bOom ) goto done;
  h = curl_easy_init();
  if( h==0 ){ bOom = 1; goto done; }
  form_add(&form, h, "grant_type", "client_credentials");
  form_add(&form, h, "scope", p->zScope);
  form_add(&form, h, "audience", p->zAudience);
  if( p->bAuthBody ){
    form_add(&form, h, "client_id", p->zClientId);
    form_add(&form, h, "client_secret", p->zSecret);
  }else{
    /* Section 2.3.1: id and secret form-encoded, then HTTP Basic. */
    char *zId = curl_easy_escape(h, p->zClientId, 0);
    char *zSecret = curl_easy_escape(h, p->zSecret, 0);
    bad |= zId==0 || zSecret==0
        || curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC)!=CURLE_OK
        || curl_easy_setopt(h, CURLOPT_USERNAME, zId)!=CURLE_OK
        || curl_easy_setopt(h, CURLOPT_PASSWORD, zSecret)!=CURLE_OK;
    curl_free(zId);
    curl_free(zSecret);
  }
  pHdr = curl_slist_append(0, "Accept: application/json");
  bad |= form.bOom || pHdr==0 || guard_proxy_setup(h, g, o, &c.bProxied)!=SQLITE_OK;
  if( !bad && c.bProxied ) zWhy = guard_proxied_refusal(g, p->zTokenUrl, &bOom);
  if( bad || zWhy || bOom ){ bOom |= bad; curl_easy_cleanup(h); goto done; }
  bad |= curl_easy_setopt(h, CURLOPT_URL, p->zTokenUrl)!=CURLE_OK
      || curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L)!=CURLE_OK
      || curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https")!=CURLE_OK
      || curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L)!=CURLE_OK
      || curl_easy_setopt(h, CURLOPT_POSTFIELDS, form.z)!=CURLE_OK
      || curl_easy_setopt(h, CURLOPT_HTTPHEADER, pHdr)!=CURLE_OK
      || curl_easy_setopt(h, CURLOPT_USERAGENT, o->user_agent ? o->user_agent
                                                : "apifetch/" APIFETCH_VERSION)!=CURLE_OK
      || curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms)!=CURLE_OK
      || curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms)!=CURLE_OK
      || curl_easy_setopt(h, CURLOPT_ERRORBUFFER, zErr)!=CURLE_OK
      || curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, token_body)!=CURLE_OK
      || curl_easy_setopt(h, CURLOPT_WRITEDATA, &c)!=CURLE_OK
      || curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, token_socket)!=CURLE_OK
      || curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &c)!=CURLE_OK
      || ((o->ca_file || (g && g->zCaFile))
          && curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file ? o->ca_file : g->zCaFile)!=CURLE_OK);
  if( bad ){ bOom = 1; curl_easy_cleanup(h); goto done; }
  cc = token_perform(h, pStop, &eStop, zErr);
  (*pnSent)++;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  if( c.bOom ){ bOom = 1; goto done; }
  if( eStop ){
    *pbExpired = eStop==SQLITE_ABORT;   /* else interrupted: the statement ends */
  }else if( c.zRefused ){
    zWhy = c.zRefused;
    c.zRefused = 0;
  }else if( cc!=CURLE_OK ){
    zWhy = sqlite3_mprintf("%s%s%s", curl_easy_strerror(cc), zErr[0] ? ": " : "", zErr);
  }else{
    zWhy = token_read(&c, status, pTok, clock_ms());
    bOom = c.bOom;
  }
done:
  buf_free(&form);
  buf_free(&c.body);
  curl_slist_free_all(pHdr);
  sqlite3_free(c.zRefused);
  if( bOom ){ sqlite3_free(zWhy); return SQLITE_NOMEM; }
  if( eStop==SQLITE_INTERRUPT ) return SQLITE_INTERRUPT;
  if( zWhy ){
    *pzWhy = sqlite3_mprintf("oauth2 token endpoint %s: %s", p->zTokenUrl, zWhy);
    sqlite3_free(zWhy);
    if( *pzWhy==0 ) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/**************************************************************************
** The connection's tokens
*/
int oauth2_token(OAuthToken **ppList, const OAuth2 *p, const Options *o, const Guard *g,
                 const TokenStop *pStop, OAuthToken **ppTok, char **pzWhy, int *pnSent){
  OAuthToken *t;
  sqlite3_int64 now = clock_ms();
  int rc, bExpired = 0;
  assert( p->zTokenUrl && p->zKey[0] );
  *ppTok = 0;
  *pzWhy = 0;
  for(t=*ppList; t && strcmp(t->zKey, p->zKey)!=0; t=t->pNext){}
  if( t && t->zToken && !t->bStale && (t->tRefresh==0 || now<t->tRefresh) ){
    *ppTok = t;
    return SQLITE_OK;
  }
  if( t==0 ){
    t = sqlite3_malloc64(sizeof(*t));
    if( t==0 ) return SQLITE_NOMEM;
    memset(t, 0, sizeof(*t));
    memcpy(t->zKey, p->zKey, sizeof(t->zKey));
    t->pNext = *ppList;
    *ppList = t;
  }
  rc = token_fetch(p, o, g, pStop, t, pzWhy, &bExpired, pnSent);
  if( rc==SQLITE_OK && *pzWhy==0 && !bExpired ) *ppTok = t;
  return rc;
}

void oauth2_token_stale(OAuthToken *pList, const OAuth2 *p, unsigned iGen){
  OAuthToken *t;
  for(t=pList; t; t=t->pNext){
    /* Only the token that was refused: a 401 for one already replaced
    ** needs no new fetch, just the retry with the new one. */
    if( strcmp(t->zKey, p->zKey)==0 && t->iGen==iGen ) t->bStale = 1;
  }
}

void oauth2_tokens_free(OAuthToken *pList){
  while( pList ){
    OAuthToken *pNext = pList->pNext;
    sqlite3_free(pList->zToken);
    sqlite3_free(pList);
    pList = pNext;
  }
}
