/*
** options.c - the options of api_fetch and the arguments of its wide face,
** read into an Options by the rows of knobs.c, each checked with an error
** message that names it and what is wrong with it.
**
**   SELECT * FROM api_fetch(:urls, 20,
**     '{"timeout_ms": 5000, "max_attempts": 4, "on_error": "skip",
**       "headers": {"X-Api-Key": "${env:API_KEY}"}, "paginate": {"type": "link"}}');
**   CREATE VIRTUAL TABLE temp.t USING api_fetch(url_list='[...]', timeout_ms=5000);
**
** The plain kinds (integers, numbers, booleans, words, text, paths) are
** read by knobs.c; the special ones here: headers, query and the
** credentials (which may read the environment, ${env:NAME}, as allow_env
** allows; what they read, and all that a profile gives them, is
** remembered to be redacted), profile, base_url,
** user_agent, and paginate (whose keys are knobs too; paginate.c checks
** what each kind needs).
*/
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>
#include "apifetch.h"

static void secrets_free(Secret *a, int n){
  int i;
  for(i=0; i<n; i++){
    sqlite3_free(a[i].zValue);
    sqlite3_free(a[i].zAfter);
  }
  sqlite3_free(a);
}

void options_init(Options *p){
  memset(p, 0, sizeof(*p));
  knob_defaults(p, KF_OPTION|KF_TABLE|KF_PAGINATE);
}

void options_clear(Options *p){
  const char *(*x)(void*, const char*) = p->xProfile;
  void *pCtx = p->pProfileCtx;
  const Guard *pGuard = p->pGuard;
  OAuthToken *const *ppTokens = p->ppTokens;
  int bFromFile = p->bFromFile;
  int i;
  /* Every text knob, then what special ones own. */
  for(i=0; i<nKnob; i++){
    const Knob *k = &aKnob[i];
    if( (k->mFace & (KF_OPTION|KF_TABLE|KF_PAGINATE))==0 || k->nSize==0 ) continue;
    if( k->eKind==KNOB_TEXT ){
      char **pz = (char**)((char*)p + k->iOffset);
      sqlite3_free(*pz);
      *pz = 0;
    }
    if( k->eKind==KNOB_PATH ) keypath_clear((KeyPath*)((char*)p + k->iOffset));
  }
  sqlite3_free(p->user_agent);
  sqlite3_free(p->zCache);
  sqlite3_free(p->zReqLog);
  strlist_free(p->azHeader, p->nHeader);
  paginate_clear(&p->paginate);
  sqlite3_free(p->zBearer);
  sqlite3_free(p->zBasic);
  sqlite3_free(p->zProxy);
  sqlite3_free(p->zNoProxy);
  oauth2_clear(&p->oauth2);
  sqlite3_free(p->zBaseUrl);
  sqlite3_free(p->zCredOrigin);
  strlist_free(p->azQuery, p->nQuery);
  secrets_free(p->aSecret, p->nSecret);
  options_init(p);
  p->xProfile = x;
  p->pProfileCtx = pCtx;
  p->pGuard = pGuard;
  p->ppTokens = ppTokens;
  p->bFromFile = bFromFile;
}

/* A header name is an RFC 9110 token; a value may not hold CR or LF, which
** would let SQL smuggle extra headers into the request. */
static int header_ok(const char *zName, const char *zValue){
  const char *z;
  if( zName[0]==0 ) return 0;
  for(z=zName; *z; z++){
    if( *z<=' ' || *z>=127 || strchr("\"(),/:;<=>?@[\\]{}", *z) ) return 0;
  }
  for(z=zValue; *z; z++){
    if( *z=='\r' || *z=='\n' ) return 0;
  }
  return 1;
}

/* Remember zValue as a secret, to be redacted (after zAfter, if not NULL:
** see Secret).  A secret that could not be remembered could not be
** redacted, so out of memory is an error here, never a skip. */
static int secret_keep(Options *p, const char *zValue, const char *zAfter){
  Secret *a;
  if( zValue[0]==0 ) return SQLITE_OK;              /* nothing to hide */
  a = sqlite3_realloc64(p->aSecret, sizeof(Secret)*(size_t)(p->nSecret+1));
  if( a==0 ) return SQLITE_NOMEM;
  p->aSecret = a;
  a[p->nSecret].zValue = sqlite3_mprintf("%s", zValue);
  a[p->nSecret].zAfter = zAfter ? sqlite3_mprintf("%s", zAfter) : 0;
  p->nSecret++;
  if( a[p->nSecret-1].zValue==0 || (zAfter && a[p->nSecret-1].zAfter==0) ){
    return SQLITE_NOMEM;                  /* options_clear frees what was had */
  }
  return SQLITE_OK;
}

/* z with each ${env:NAME} replaced by the environment variable's value;
** the values are remembered in p->aSecret so that they can be redacted.
** Only options are expanded, never a request object or a URL: those may
** be built from data (an API's response fed back through url_query), and
** data must not be able to ask for the host's secrets.  p->pGuard says
** which variables may be read.
** Returns a sqlite3_malloc'd string, or NULL with *pzErr (or OOM). */
static char *expand_secrets(Options *p, const char *z, const char *zWhere, char **pzErr){
  Buf b = {0, 0, 0, 0};
  const char *s = z;
  for(;;){
    const char *e = strstr(s, "${env:"), *end;
    char zName[256];
    const char *zVal;
    if( e==0 ){ buf_append(&b, s, strlen(s)); break; }
    buf_append(&b, s, (size_t)(e-s));
    end = strchr(e, '}');
    if( end==0 || end-e-6<=0 || end-e-6>=(long)sizeof(zName) ){
      *pzErr = sqlite3_mprintf("api_fetch: %s: \"${env:\" without a name and \"}\"", zWhere);
      buf_free(&b);
      return 0;
    }
    memcpy(zName, e+6, (size_t)(end-e-6));
    zName[end-e-6] = 0;
    if( p->bFromFile && !p->bEnvGranted ){
      /* The README's promise: data cannot ask for secrets, and a file is data. */
      *pzErr = sqlite3_mprintf("api_fetch: %s: a table stored in a database file may not "
                               "read ${env:%s} (its arguments are data); put the secret in a "
                               "profile, or create the table in temp", zWhere, zName);
      buf_free(&b);
      return 0;
    }
    if( !p->bEnvGranted && guard_env_refused(p->pGuard, zName) ){
      /* The same whether it is set or not: no telling which names exist. */
      *pzErr = sqlite3_mprintf("api_fetch: %s: environment variable %s may not be read "
                               "on this connection (api_fetch_config's allow_env)",
                               zWhere, zName);
      buf_free(&b);
      return 0;
    }
    zVal = getenv(zName);
    if( zVal==0 ){
      *pzErr = sqlite3_mprintf("api_fetch: %s: environment variable %s is not set",
                               zWhere, zName);
      buf_free(&b);
      return 0;
    }
    buf_append(&b, zVal, strlen(zVal));
    if( secret_keep(p, zVal, 0) ){
      buf_free(&b);
      return 0;
    }
    s = end + 1;
  }
  if( b.bOom ){ buf_free(&b); return 0; }
  return b.z ? b.z : sqlite3_mprintf("");
}

char *options_redact(const Options *p, const char *z){
  char *zOut = sqlite3_mprintf("%s", z ? z : "");
  const OAuthToken *t;
  int i;
  for(i=0; zOut && i<p->nSecret; i++){
    const Secret *pS = &p->aSecret[i];
    zOut = text_redact(zOut, pS->zValue, pS->zAfter ? pS->zAfter : "");
  }
  /* The connection's OAuth2 tokens: a server may quote one in a URL. */
  for(t=p->ppTokens ? *p->ppTokens : 0; zOut && t; t=t->pNext){
    if( t->zToken ) zOut = text_redact(zOut, t->zToken, "");
  }
  return zOut;
}

int options_hides(const Options *p){
  const OAuthToken *t;
  if( p->nSecret>0 ) return 1;
  for(t=p->ppTokens ? *p->ppTokens : 0; t; t=t->pNext){
    if( t->zToken ) return 1;
  }
  return 0;
}

int options_has_credentials(const Options *p){
  return p->nSecret>0 || p->oauth2.zTokenUrl!=0;
}

/* Parse a headers object into "Name: value" lines: the options' (pOpt,
** values with secrets expanded) or a request object's (pOpt NULL). */
int options_parse_headers(Options *pOpt, const cJSON *v,
                         const char *zWhere, char ***pazOut, int *pnOut, char **pzErr){
  const cJSON *h;
  int n = 0;
  char **az;
  if( !cJSON_IsObject(v) ){
    *pzErr = sqlite3_mprintf("api_fetch: %s headers must be an object, got %s",
                             zWhere, knob_json_kind(v));
    return SQLITE_ERROR;
  }
  cJSON_ArrayForEach(h, v) n++;
  if( n>APIFETCH_MAX_HEADERS ){
    *pzErr = sqlite3_mprintf("api_fetch: %s headers: more than %d headers", zWhere,
                             APIFETCH_MAX_HEADERS);
    return SQLITE_ERROR;
  }
  az = sqlite3_malloc64(sizeof(char*)*(n ? n : 1));
  if( az==0 ) return SQLITE_NOMEM;
  n = 0;
  cJSON_ArrayForEach(h, v){
    if( !cJSON_IsString(h) ){
      *pzErr = sqlite3_mprintf(
          "api_fetch: %s header \"%s\" must be a string, got %s",
          zWhere, h->string, knob_json_kind(h));
      strlist_free(az, n);
      return SQLITE_ERROR;
    }
    {
      char *zVal = pOpt ? expand_secrets(pOpt, h->valuestring, "headers", pzErr)
                        : sqlite3_mprintf("%s", h->valuestring);
      if( zVal==0 ){ strlist_free(az, n); return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM; }
      if( !header_ok(h->string, zVal) ){
        sqlite3_free(zVal);
        *pzErr = sqlite3_mprintf(
            "api_fetch: %s header \"%s\" is not a valid header name and value",
            zWhere, h->string);
        strlist_free(az, n);
        return SQLITE_ERROR;
      }
      /* "Name;" is how libcurl sends a header with an empty value. */
      az[n] = zVal[0] ? sqlite3_mprintf("%s: %s", h->string, zVal)
                      : sqlite3_mprintf("%s;", h->string);
      /* A profile's headers are the host's, and hold its keys: hidden from
      ** the SQL that uses them as ${env:} values are. */
      if( az[n] && pOpt && pOpt->bInProfile && secret_keep(pOpt, zVal, 0) ){
        sqlite3_free(az[n]);
        az[n] = 0;
      }
      sqlite3_free(zVal);
    }
    if( az[n]==0 ){ strlist_free(az, n); return SQLITE_NOMEM; }
    n++;
  }
  *pazOut = az;
  *pnOut = n;
  return SQLITE_OK;
}

/* headers: given after a profile's, these come first, so they win (a
** request sends the first of two headers with one name). */
static int set_headers(Options *p, const Knob *pKnob, const cJSON *v, char **pzErr){
  char **az = 0, **azAll;
  int n = 0, rc = options_parse_headers(p, v, "option", &az, &n, pzErr), k;
  (void)pKnob;
  if( rc ) return rc;
  azAll = sqlite3_realloc64(az, sizeof(char*)*(size_t)(n + p->nHeader + 1));
  if( azAll==0 ){ strlist_free(az, n); return SQLITE_NOMEM; }
  for(k=0; k<p->nHeader; k++) azAll[n+k] = p->azHeader[k];
  sqlite3_free(p->azHeader);
  p->azHeader = azAll;
  p->nHeader += n;
  return SQLITE_OK;
}

/* bearer, basic and proxy (whose URL may hold a user and password):
** secrets, maybe from the environment. */
static int set_credential(Options *p, const Knob *k, const cJSON *v, char **pzErr){
  const char *zKey = k->zName;
  char **pz = (char**)((char*)p + k->iOffset);     /* zBearer, zBasic or zProxy */
  assert( k->nSize==sizeof(char*) );
  if( !cJSON_IsString(v) ){
    *pzErr = sqlite3_mprintf("api_fetch: option %s must be a string, got %s", zKey,
                             knob_json_kind(v));
    return SQLITE_ERROR;
  }
  sqlite3_free(*pz);
  *pz = expand_secrets(p, v->valuestring, zKey, pzErr);
  if( *pz==0 ) return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
  if( !header_ok("Authorization", *pz) ){
    /* Not quoted: it may hold a secret. */
    *pzErr = sqlite3_mprintf("api_fetch: option %s holds a line break", zKey);
    return SQLITE_ERROR;
  }
  if( pz==&p->zBasic && strchr(*pz, ':')==0 ){
    *pzErr = sqlite3_mprintf("api_fetch: option basic must be \"user:password\"");
    return SQLITE_ERROR;
  }
  if( pz==&p->zProxy ){
    if( !guard_proxy_url_ok(*pz) ){
      /* Not quoted: it may hold a password. */
      *pzErr = sqlite3_mprintf("api_fetch: option proxy must be an http://, https://, "
                               "socks5:// or socks5h:// URL, or \"\" for none");
      return SQLITE_ERROR;
    }
    if( p->bFromFile && !p->bInProfile ){
      /* A file is data: its proxy would see every request, credentials too. */
      *pzErr = sqlite3_mprintf("api_fetch: a table stored in a database file cannot name "
                               "its own proxy (its arguments are data); use a profile");
      return SQLITE_ERROR;
    }
    p->bProxyHost = p->bInProfile;          /* for a locked guard (guard_refuses) */
  }
  /* A profile's credentials are the host's: hidden as ${env:} values are. */
  return p->bInProfile ? secret_keep(p, *pz, 0) : SQLITE_OK;
}

/* no_proxy: which of the query's it is matters (guard_proxy_refused): the
** host's routing, a profile's or the defaults', is not the query's to
** change once locked, nor ever a file's. */
static int set_no_proxy(Options *p, const Knob *k, const cJSON *v, char **pzErr){
  if( !cJSON_IsString(v) ){
    *pzErr = sqlite3_mprintf("api_fetch: option %s must be a string, got %s", k->zName,
                             knob_json_kind(v));
    return SQLITE_ERROR;
  }
  if( p->bFromFile && !p->bInProfile ){
    /* A file is data: it would send requests around the host's proxy. */
    *pzErr = sqlite3_mprintf("api_fetch: a table stored in a database file cannot set "
                             "its own no_proxy (its arguments are data); use a profile");
    return SQLITE_ERROR;
  }
  sqlite3_free(p->zNoProxy);
  p->zNoProxy = sqlite3_mprintf("%s", v->valuestring);
  if( p->zNoProxy==0 ) return SQLITE_NOMEM;
  p->bNoProxyOwn = !p->bInProfile;
  return SQLITE_OK;
}

static char *oauth2_expand(void *pCtx, const char *z, const char *zWhere, char **pzErr){
  return expand_secrets((Options*)pCtx, z, zWhere, pzErr);
}

/* oauth2: its object is read by oauth.c; its client secret is hidden
** wherever it came from (options_redact also hides the tokens then). */
static int set_oauth2(Options *p, const Knob *k, const cJSON *v, char **pzErr){
  int rc = oauth2_parse(&p->oauth2, v, oauth2_expand, p, pzErr);
  (void)k;
  return rc || p->oauth2.zSecret==0 ? rc : secret_keep(p, p->oauth2.zSecret, 0);
}

/* query: parameters added to every URL, a call's replacing its profile's. */
static int set_query(Options *p, const Knob *k, const cJSON *v, char **pzErr){
  (void)k;
  const cJSON *q;
  if( !cJSON_IsObject(v) ){
    *pzErr = sqlite3_mprintf("api_fetch: option query must be an object of parameters");
    return SQLITE_ERROR;
  }
  if( cJSON_GetArraySize(v)>APIFETCH_MAX_QUERY ){
    *pzErr = sqlite3_mprintf("api_fetch: option query has more than %d parameters",
                             APIFETCH_MAX_QUERY);
    return SQLITE_ERROR;
  }
  cJSON_ArrayForEach(q, v){
    char **az;
    char *zVal = 0;
    int j;
    if( json_key_repeated(v, q) ){
      *pzErr = sqlite3_mprintf("api_fetch: option query has parameter \"%s\" twice",
                               q->string);
      return SQLITE_ERROR;
    }
    if( cJSON_IsString(q) ){
      zVal = expand_secrets(p, q->valuestring, "query", pzErr);
      if( zVal==0 ) return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
    }else if( cJSON_IsNumber(q) || cJSON_IsBool(q) ){
      char *zTxt = cJSON_PrintUnformatted(q);
      zVal = zTxt ? sqlite3_mprintf("%s", zTxt) : 0;
      cJSON_free(zTxt);
      if( zVal==0 ) return SQLITE_NOMEM;
    }else{
      *pzErr = sqlite3_mprintf("api_fetch: query parameter \"%s\" must be a string, "
                               "number or boolean", q->string);
      return SQLITE_ERROR;
    }
    if( p->bInProfile ){
      /* A profile's parameters may be the host's keys ("api_key"): each
      ** value hidden where URLs show it, after its "name=" (see Secret). */
      char *zAfter = sqlite3_mprintf("%s=", q->string);
      int rc = zAfter ? secret_keep(p, zVal, zAfter) : SQLITE_NOMEM;
      sqlite3_free(zAfter);
      if( rc ){ sqlite3_free(zVal); return rc; }
    }
    for(j=0; j<p->nQuery && strcmp(p->azQuery[j], q->string)!=0; j+=2){}
    if( j<p->nQuery ){
      sqlite3_free(p->azQuery[j+1]);
      p->azQuery[j+1] = zVal;
      continue;
    }
    if( p->nQuery/2>=APIFETCH_MAX_QUERY ){
      sqlite3_free(zVal);
      *pzErr = sqlite3_mprintf("api_fetch: option query has more than %d parameters "
                               "(with its profile's)", APIFETCH_MAX_QUERY);
      return SQLITE_ERROR;
    }
    az = sqlite3_realloc64(p->azQuery, sizeof(char*)*(size_t)(p->nQuery+2));
    if( az==0 ){ sqlite3_free(zVal); return SQLITE_NOMEM; }
    p->azQuery = az;
    az[p->nQuery] = sqlite3_mprintf("%s", q->string);
    az[p->nQuery+1] = zVal;
    if( az[p->nQuery]==0 ){ sqlite3_free(zVal); return SQLITE_NOMEM; }
    p->nQuery += 2;
  }
  return SQLITE_OK;
}

/* profile: its options first (options_parse puts it first), then the rest. */
static int set_profile(Options *p, const Knob *k, const cJSON *v, char **pzErr){
  (void)k;
  const char *zJson;
  int rc;
  if( !cJSON_IsString(v) ){
    *pzErr = sqlite3_mprintf("api_fetch: option profile must be a string, got %s",
                             knob_json_kind(v));
    return SQLITE_ERROR;
  }
  if( p->bInProfile ){
    *pzErr = sqlite3_mprintf("api_fetch: a profile cannot name another profile");
    return SQLITE_ERROR;
  }
  zJson = p->xProfile ? p->xProfile(p->pProfileCtx, v->valuestring) : 0;
  if( zJson==0 ){
    *pzErr = sqlite3_mprintf("api_fetch: no profile named \"%s\" on this connection "
                             "(define it with api_fetch_profile)", v->valuestring);
    return SQLITE_ERROR;
  }
  /* Its ${env:} names were checked against allow_env when it was stored
  ** (conn.c): it keeps that right after a lock. */
  p->bInProfile = 1;
  p->bEnvGranted = 1;
  rc = options_parse(p, zJson, pzErr);
  p->bInProfile = 0;
  p->bEnvGranted = 0;
  /* A file, or a stranger's SQL on a locked connection, may name a profile
  ** of the host's, but not send its credentials elsewhere. */
  if( rc==SQLITE_OK && (p->bFromFile || (p->pGuard && p->pGuard->bLocked)) ){
    rc = options_bind_credentials(p);
  }
  return rc;
}

int options_bind_credentials(Options *p){
  sqlite3_free(p->zCredOrigin);
  p->zCredOrigin = sqlite3_mprintf("%s", p->zBaseUrl ? p->zBaseUrl : "");
  return p->zCredOrigin ? SQLITE_OK : SQLITE_NOMEM;
}

/* paginate: an object of knobs (KF_PAGINATE); it replaces a profile's
** whole, and null turns the profile's off. */
static int set_paginate(Options *p, const Knob *pKnob, const cJSON *v, char **pzErr){
  const cJSON *e;
  int rc = SQLITE_OK;
  (void)pKnob;
  paginate_clear(&p->paginate);
  knob_defaults(p, KF_PAGINATE);
  if( cJSON_IsNull(v) ) return SQLITE_OK;
  if( !cJSON_IsObject(v) ){
    *pzErr = sqlite3_mprintf("api_fetch: option paginate must be an object such as "
                             "{\"type\": \"page\", \"total_pages\": \"meta.total_pages\"}");
    return SQLITE_ERROR;
  }
  cJSON_ArrayForEach(e, v){
    const Knob *k = knob_find(e->string, KF_PAGINATE);
    if( k==0 ){
      char *z = knob_unknown("unknown paginate key", e->string, KF_PAGINATE);
      *pzErr = z ? sqlite3_mprintf("api_fetch: %s", z) : 0;
      sqlite3_free(z);
      return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
    }
    if( json_key_repeated(v, e) ){
      *pzErr = sqlite3_mprintf("api_fetch: paginate key %s is given twice", e->string);
      return SQLITE_ERROR;
    }
    if( k->eKind==KNOB_SPECIAL ){                 /* "type": a row of paginate.c */
      assert( k->eSpecial==KS_PAGE_TYPE );
      p->paginate.pKind = cJSON_IsString(e) ? paginate_kind(e->valuestring) : 0;
      if( p->paginate.pKind==0 ){
        *pzErr = sqlite3_mprintf("api_fetch: paginate type must be %s", k->zType);
        return SQLITE_ERROR;
      }
    }else{
      rc = knob_set_json(p, k, e, "api_fetch: paginate", pzErr);
      if( rc ) return rc;
    }
  }
  return paginate_check(&p->paginate, pzErr);
}

/* cache: a file name, ":memory:", or null for none (over a profile's or
** the host's default). */
static int set_cache(Options *p, const Knob *k, const cJSON *v, char **pzErr){
  (void)k;
  sqlite3_free(p->zCache);
  p->zCache = 0;
  if( cJSON_IsNull(v) ) return SQLITE_OK;
  if( !cJSON_IsString(v) || v->valuestring[0]==0 ){
    *pzErr = sqlite3_mprintf("api_fetch: option cache must be the name of a file, "
                             "\":memory:\" or null, got %s",
                             cJSON_IsString(v) ? "\"\"" : knob_json_kind(v));
    return SQLITE_ERROR;
  }
  p->zCache = sqlite3_mprintf("%s", v->valuestring);
  return p->zCache ? SQLITE_OK : SQLITE_NOMEM;
}

/* Is z[0..n) an SQL identifier that needs no quoting (a letter or _, then
** letters, digits, _)?  The table is named in SQL text, so only those. */
static int plain_identifier(const char *z, size_t n){
  size_t i;
  if( n==0 || (z[0]>='0' && z[0]<='9') ) return 0;
  for(i=0; i<n; i++){
    char c = z[i];
    if( !((c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9') || c=='_') ) return 0;
  }
  return 1;
}

/* request_log: "table", "schema.table", "file:PATH", or null for none
** (over a profile's or the host's default).  Checked for its form here;
** whether this query may write it is reqlog_open's (reqlog.c). */
static int set_request_log(Options *p, const Knob *k, const cJSON *v, char **pzErr){
  const char *z = cJSON_IsString(v) ? v->valuestring : 0;
  const char *zDot = z ? strchr(z, '.') : 0;
  int bOk;
  (void)k;
  sqlite3_free(p->zReqLog);
  p->zReqLog = 0;
  if( cJSON_IsNull(v) ) return SQLITE_OK;
  if( z && strncmp(z, "file:", 5)==0 ){
    bOk = z[5]!=0;
  }else if( zDot ){
    bOk = plain_identifier(z, (size_t)(zDot-z)) && plain_identifier(zDot+1, strlen(zDot+1));
  }else{
    bOk = z && plain_identifier(z, strlen(z));
  }
  if( !bOk ){
    char *zGot = z ? sqlite3_mprintf("\"%.80s\"", z) : sqlite3_mprintf("%s", knob_json_kind(v));
    if( zGot==0 ) return SQLITE_NOMEM;
    *pzErr = sqlite3_mprintf("api_fetch: option request_log must be a table name "
        "(\"api_requests\", \"main.api_requests\": letters, digits, _), \"file:PATH\" "
        "or null, got %s", zGot);
    sqlite3_free(zGot);
    return SQLITE_ERROR;
  }
  p->zReqLog = sqlite3_mprintf("%s", z);
  return p->zReqLog ? SQLITE_OK : SQLITE_NOMEM;
}

/* user_agent: sent as it is, so no line break may smuggle in a header. */
static int set_user_agent(Options *p, const Knob *k, const cJSON *v, char **pzErr){
  if( !cJSON_IsString(v) ){
    *pzErr = sqlite3_mprintf("api_fetch: option %s must be a string, got %s", k->zName,
                             knob_json_kind(v));
    return SQLITE_ERROR;
  }
  if( !header_ok("User-Agent", v->valuestring) ){
    *pzErr = sqlite3_mprintf("api_fetch: option user_agent holds a line break");
    return SQLITE_ERROR;
  }
  sqlite3_free(p->user_agent);
  p->user_agent = sqlite3_mprintf("%s", v->valuestring);
  return p->user_agent ? SQLITE_OK : SQLITE_NOMEM;
}

/* base_url: checked as a URL now, so that a relative one fails here and
** not at each request. */
static int set_base_url(Options *p, const Knob *k, const cJSON *v, char **pzErr){
  char *zWhy = 0;
  int rc;
  if( !cJSON_IsString(v) ){
    *pzErr = sqlite3_mprintf("api_fetch: option %s must be a string, got %s", k->zName,
                             knob_json_kind(v));
    return SQLITE_ERROR;
  }
  rc = url_check(v->valuestring, &zWhy);
  if( rc==SQLITE_ERROR ){
    *pzErr = sqlite3_mprintf("api_fetch: option base_url: %s", zWhy);
    sqlite3_free(zWhy);
  }
  if( rc ) return rc;
  sqlite3_free(p->zBaseUrl);
  p->zBaseUrl = sqlite3_mprintf("%s", v->valuestring);
  return p->zBaseUrl ? SQLITE_OK : SQLITE_NOMEM;
}

/* shard: "k/n", one text on both faces (a wide table's argument is text,
** and a shell forms it from a variable: "$K/4").  Decimal digits only, no
** sign or space, so "1/4" means one thing wherever it was written; null
** clears a shard a profile set. */
static int set_shard(Options *p, const Knob *k, const cJSON *v, char **pzErr){
  const char *z;
  sqlite3_int64 a[2] = {0, 0};
  int i;
  if( cJSON_IsNull(v) ){ p->shard.k = p->shard.n = 0; return SQLITE_OK; }
  if( !cJSON_IsString(v) ){
    *pzErr = sqlite3_mprintf("api_fetch: option %s must be \"k/n\" (shard k of n, "
                             "0 <= k < n), got %s", k->zName, knob_json_kind(v));
    return SQLITE_ERROR;
  }
  z = v->valuestring;
  for(i=0; i<2; i++){
    const char *zStart = z;
    for(; *z>='0' && *z<='9' && z-zStart<9; z++) a[i] = a[i]*10 + (*z-'0');
    if( z==zStart || (*z>='0' && *z<='9') || *z!=(i==0 ? '/' : 0) ){
      *pzErr = sqlite3_mprintf("api_fetch: option shard must be \"k/n\" with k and n whole "
                               "numbers of at most 9 digits, such as \"0/4\"; got \"%.40s\"",
                               v->valuestring);
      return SQLITE_ERROR;
    }
    if( i==0 ) z++;
  }
  if( a[1]==0 ){
    *pzErr = sqlite3_mprintf("api_fetch: option shard \"%s\": n, the number of shards, "
                             "must be at least 1", v->valuestring);
    return SQLITE_ERROR;
  }
  if( a[0]>=a[1] ){
    *pzErr = sqlite3_mprintf("api_fetch: option shard \"%s\": k must be less than n "
                             "(the shards of %lld are 0 to %lld)", v->valuestring, a[1], a[1]-1);
    return SQLITE_ERROR;
  }
  p->shard.k = a[0];
  p->shard.n = a[1];
  return SQLITE_OK;
}

/* The readers of the KNOB_SPECIAL options, by their knob's eSpecial: a new
** special option is a KS_* value, its knob's row, and a row here. */
static int (*const aSetSpecial[KS_PAGE_TYPE])(Options*, const Knob*, const cJSON*, char**) = {
  [KS_USER_AGENT] = set_user_agent,
  [KS_CACHE]      = set_cache,
  [KS_HEADERS]    = set_headers,
  [KS_PAGINATE]   = set_paginate,
  [KS_BEARER]     = set_credential,
  [KS_BASIC]      = set_credential,
  [KS_BASE_URL]   = set_base_url,
  [KS_QUERY]      = set_query,
  [KS_REQUEST_LOG] = set_request_log,
  [KS_PROFILE]    = set_profile,
  [KS_SHARD]      = set_shard,
  [KS_ON_STATUS]  = onstatus_set,
  [KS_PROXY]      = set_credential,
  [KS_OAUTH2]     = set_oauth2,
  [KS_NO_PROXY]   = set_no_proxy,
};
/* The options' values come first in the KS_* enum, up to KS_PAGE_TYPE. */
_Static_assert(ArraySize(aSetSpecial)==KS_NO_PROXY+1, "KS_* options and aSetSpecial differ");

/* One member of an options object. */
static int set_option(Options *p, const cJSON *v, char **pzErr){
  const Knob *k = knob_find(v->string, KF_OPTION);
  if( k==0 ){
    char *z = knob_unknown("unknown option", v->string, KF_OPTION);
    *pzErr = z ? sqlite3_mprintf("api_fetch: %s", z) : 0;
    sqlite3_free(z);
    return *pzErr ? SQLITE_NOTFOUND : SQLITE_NOMEM;
  }
  if( k->eKind==KNOB_SPECIAL ){
    assert( k->eSpecial>KS_NONE && k->eSpecial<ArraySize(aSetSpecial) );
    assert( aSetSpecial[k->eSpecial]!=0 );
    return aSetSpecial[k->eSpecial](p, k, v, pzErr);
  }
  return knob_set_json(p, k, v, "api_fetch: option", pzErr);
}

int options_check(const Options *p, char **pzErr){
  if( p->retry_max_ms<p->retry_base_ms ){
    *pzErr = sqlite3_mprintf(
        "api_fetch: option retry_max_ms (%lld) is less than retry_base_ms (%lld)",
        p->retry_max_ms, p->retry_base_ms);
    return SQLITE_ERROR;
  }
  if( p->eFormat==FMT_NDJSON && p->recordPath.n ){
    *pzErr = sqlite3_mprintf("api_fetch: option record_path does not apply to format "
                             "ndjson: each line is a record");
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

/* A table argument (KF_TABLE) as SQL wrote it, key=value. */
static int set_table_arg(Options *p, const Knob *k, const char *zValue, char **pzErr){
  switch( k->eKind ){
    case KNOB_INT: {
      sqlite3_int64 v = 0;
      const char *z = zValue;
      int bNeg = *z=='-';
      if( bNeg ) z++;
      if( *z==0 ) goto bad_int;
      for(; *z; z++){
        if( *z<'0' || *z>'9' || v>1000000000 ) goto bad_int;
        v = v*10 + (*z-'0');
      }
      if( bNeg ) v = -v;
      if( v<k->iMin || v>k->iMax ) goto bad_int;
      knob_store_int(p, k, v);
      return SQLITE_OK;
    bad_int:
      *pzErr = sqlite3_mprintf("api_fetch: %s must be an integer between %lld and %lld, "
                               "got %s", k->zName, k->iMin, k->iMax, zValue);
      return SQLITE_ERROR;
    }
    case KNOB_CHOICE: {
      int i = knob_choice(k, zValue);
      if( i<0 ){
        *pzErr = sqlite3_mprintf("api_fetch: %s must be %s, got '%s'", k->zName, k->zType,
                                 zValue);
        return SQLITE_ERROR;
      }
      knob_store_int(p, k, i);
      return SQLITE_OK;
    }
    default: {
      char **pz = (char**)((char*)p + k->iOffset);
      assert( k->eKind==KNOB_TEXT );
      sqlite3_free(*pz);
      *pz = sqlite3_mprintf("%s", zValue);
      return *pz ? SQLITE_OK : SQLITE_NOMEM;
    }
  }
}

/* One argument of CREATE VIRTUAL TABLE ... USING api_fetch(key=value): a
** table argument, or an option.  An option that takes text takes the value
** as it is; the others read it as JSON (so 5000, true, '{"X-A": "1"}' and
** '["a","b"]' work) and fall back to a string, which then gets the usual
** "must be ..., got a string" message.  SQLITE_NOTFOUND, with the "unknown
** argument" message, for a key that is neither. */
int options_set(Options *p, const char *zKey, const char *zValue, char **pzErr){
  const Knob *k = knob_find(zKey, KF_OPTION|KF_TABLE);
  cJSON *v = 0;
  int rc;
  if( k==0 ){
    char *z = knob_unknown("unknown argument", zKey, KF_OPTION|KF_TABLE);
    *pzErr = z ? sqlite3_mprintf("api_fetch: %s", z) : 0;
    sqlite3_free(z);
    return *pzErr ? SQLITE_NOTFOUND : SQLITE_NOMEM;
  }
  if( k->mFace==KF_TABLE ) return set_table_arg(p, k, zValue, pzErr);
  if( k->eKind==KNOB_TEXT || k->eKind==KNOB_CHOICE || strcmp(k->zType, "text")==0 ){
    v = cJSON_CreateString(zValue);
  }else{
    if( json_has_nul(zValue, strlen(zValue)) ){
      *pzErr = sqlite3_mprintf("api_fetch: argument %s holds \\u0000, a NUL character, "
                               "which no option can take", zKey);
      return SQLITE_ERROR;
    }
    /* cJSON says NULL for bad JSON and for out of memory alike; malloc
    ** sets ENOMEM.  Not JSON: the text as a string. */
    errno = 0;
    v = cJSON_ParseWithOpts(zValue, 0, 1);                       /* all of it */
    if( v==0 && errno==ENOMEM ) return SQLITE_NOMEM;
    if( v==0 ) v = cJSON_CreateString(zValue);
  }
  if( v==0 ) return SQLITE_NOMEM;
  v->string = (char*)zKey;
  rc = set_option(p, v, pzErr);
  v->string = 0;
  cJSON_Delete(v);
  return rc;
}

/* An argument value as SQL wrote it: 'text' and "text" are dequoted. */
static char *arg_value(const char *z){
  size_t n = strlen(z), i, k = 0;
  char *zOut;
  char q;
  while( n>0 && (z[n-1]==' ' || z[n-1]=='\t' || z[n-1]=='\n' || z[n-1]=='\r') ) n--;
  while( n>0 && (*z==' ' || *z=='\t' || *z=='\n' || *z=='\r') ){ z++; n--; }
  zOut = sqlite3_malloc64(n+1);
  if( zOut==0 ) return 0;
  q = n>=2 ? z[0] : 0;
  if( (q=='\'' || q=='"') && z[n-1]==q ){
    for(i=1; i<n-1; i++){
      zOut[k++] = z[i];
      if( z[i]==q && i+1<n-1 && z[i+1]==q ) i++;
    }
  }else{
    memcpy(zOut, z, n);
    k = n;
  }
  zOut[k] = 0;
  return zOut;
}

/* The key of a key=value CREATE argument: *pz, *pn.  0 if there is no "=". */
static int arg_key(const char *zArg, const char **pz, size_t *pn){
  const char *zEq = strchr(zArg, '=');
  const char *z = zArg + strspn(zArg, " \t\n\r");
  size_t n;
  if( zEq==0 || zEq<z ) return 0;
  n = (size_t)(zEq - z);
  while( n>0 && (z[n-1]==' ' || z[n-1]=='\t' || z[n-1]=='\n' || z[n-1]=='\r') ) n--;
  *pz = z;
  *pn = n;
  return 1;
}

/* One key=value argument into p (knobs.c says which are allowed). */
static int set_arg(Options *p, const char *zArg, char **pzErr){
  const char *zK;
  size_t nK;
  char *zKey, *zVal;
  int rc;
  if( !arg_key(zArg, &zK, &nK) ){
    *pzErr = sqlite3_mprintf("api_fetch: argument \"%s\" is not key=value", zArg);
    return SQLITE_ERROR;
  }
  zKey = sqlite3_mprintf("%.*s", (int)nK, zK);
  zVal = arg_value(strchr(zArg, '=')+1);
  rc = zKey && zVal ? options_set(p, zKey, zVal, pzErr) : SQLITE_NOMEM;
  if( rc==SQLITE_NOTFOUND ) rc = SQLITE_ERROR;
  sqlite3_free(zKey);
  sqlite3_free(zVal);
  return rc;
}

/* The CREATE VIRTUAL TABLE arguments, key=value each: a profile first,
** wherever it is (the others override it), each key once. */
int options_set_args(Options *p, int nArg, const char *const *azArg, char **pzErr){
  int i, k, rc = SQLITE_OK;
  for(i=0; i<nArg && rc==SQLITE_OK; i++){
    const char *zK;
    size_t nK;
    if( arg_key(azArg[i], &zK, &nK) && nK==7 && memcmp(zK, "profile", 7)==0 ){
      rc = set_arg(p, azArg[i], pzErr);
    }
  }
  for(i=0; i<nArg && rc==SQLITE_OK; i++){
    const char *zK, *zK2;
    size_t nK, nK2;
    if( arg_key(azArg[i], &zK, &nK) ){
      for(k=0; k<i; k++){
        if( arg_key(azArg[k], &zK2, &nK2) && nK2==nK && memcmp(zK, zK2, nK)==0 ) break;
      }
      if( k<i ){
        *pzErr = sqlite3_mprintf("api_fetch: argument %.*s is given twice", (int)nK, zK);
        return SQLITE_ERROR;
      }
      if( nK==7 && memcmp(zK, "profile", 7)==0 ) continue;     /* applied first */
    }
    rc = set_arg(p, azArg[i], pzErr);
  }
  return rc;
}

int options_parse(Options *p, const char *zJson, char **pzErr){
  cJSON *pRoot, *v;
  int rc = SQLITE_OK;
  if( zJson==0 ) return SQLITE_OK;
  if( json_has_nul(zJson, strlen(zJson)) ){
    *pzErr = sqlite3_mprintf("api_fetch: options hold \\u0000, a NUL character, "
                             "which no option can take");
    return SQLITE_ERROR;
  }
  errno = 0;
  pRoot = cJSON_ParseWithOpts(zJson, 0, 1);   /* nothing may follow the object */
  if( pRoot==0 && errno==ENOMEM ) return SQLITE_NOMEM;   /* not "invalid JSON" */
  if( pRoot==0 || !cJSON_IsObject(pRoot) ){
    *pzErr = sqlite3_mprintf("api_fetch: options must be a JSON object, got %s",
                             pRoot ? knob_json_kind(pRoot) : "invalid JSON");
    cJSON_Delete(pRoot);
    return SQLITE_ERROR;
  }
  /* A profile first, wherever it is in the object: what is given here
  ** overrides it. */
  v = cJSON_GetObjectItemCaseSensitive(pRoot, "profile");
  if( v ){
    rc = set_option(p, v, pzErr);
    if( rc ) goto done;
  }
  cJSON_ArrayForEach(v, pRoot){
    if( json_key_repeated(pRoot, v) ){
      *pzErr = sqlite3_mprintf("api_fetch: option %s is given twice", v->string);
      rc = SQLITE_ERROR;
      goto done;
    }
    if( strcmp(v->string, "profile")==0 ) continue;
    rc = set_option(p, v, pzErr);
    if( rc==SQLITE_NOTFOUND ) rc = SQLITE_ERROR;
    if( rc ) goto done;
  }
  rc = options_check(p, pzErr);
done:
  cJSON_Delete(pRoot);
  if( rc==SQLITE_NOMEM && *pzErr==0 ) *pzErr = sqlite3_mprintf("api_fetch: out of memory");
  return rc;
}
