/*
** reqobj.c - one item of url_list (or a url_query row's JSON) into a
** Request: a URL string, or a request object with url, method, headers,
** form, body, input and format, each key read by its row of aMember[].
** Kept apart from source.c, which streams the items and applies the
** options to each: this file only knows what one item may say.
*/
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>
#include "apifetch.h"

/* zList names where the item came from: "url_list item" or "url_query row". */
int request_item_error(char **pzErr, const char *zList, sqlite3_int64 i, char *zWhy){
  *pzErr = zWhy ? sqlite3_mprintf("api_fetch: %s %lld: %s", zList, i, zWhy) : 0;
  sqlite3_free(zWhy);
  return zWhy ? SQLITE_ERROR : SQLITE_NOMEM;
}

/* Where a request object is, and what its members have said. */
typedef struct Item Item;
struct Item {
  const char *zList;              /* "url_list item" or "url_query row" */
  sqlite3_int64 iItem;            /* Its number */
  Request *pReq;                  /* What it makes */
  const char *zBodyType;          /* The Content-Type its body implies, or NULL */
  char **pzErr;
};
static int item_fail(Item *p, char *zWhy){
  return request_item_error(p->pzErr, p->zList, p->iItem, zWhy);
}
/* A string member, decoded into *pz. */
static int item_string(Item *p, JsonSpan val, const char *zKey, char **pz){
  int bNul = 0;
  if( json_type(val)!='"' ) return item_fail(p, sqlite3_mprintf("\"%s\" must be a string", zKey));
  sqlite3_free(*pz);
  *pz = json_string_decode(val, &bNul);
  if( *pz==0 ){
    return bNul ? item_fail(p, sqlite3_mprintf("a string holds a NUL character")) : SQLITE_NOMEM;
  }
  return SQLITE_OK;
}
static int item_url(Item *p, JsonSpan val){
  return item_string(p, val, "url", &p->pReq->zUrl);
}
static int item_method(Item *p, JsonSpan val){
  char *z;
  int rc = item_string(p, val, "method", &p->pReq->zMethod);
  if( rc ) return rc;
  /* Any RFC 9110 token (section 9.1: M-SEARCH, MKCOL, ...); letters are
  ** upper-cased, as the docs promise methods without case. */
  for(z=p->pReq->zMethod; *z; z++){
    if( *z>='a' && *z<='z' ) *z -= 'a'-'A';
    if( !http_is_tchar((unsigned char)*z) ){
      return item_fail(p, sqlite3_mprintf("\"method\" \"%s\" is not an HTTP method",
                                          p->pReq->zMethod));
    }
  }
  if( p->pReq->zMethod[0]==0 ) return item_fail(p, sqlite3_mprintf("\"method\" is empty"));
  return SQLITE_OK;
}
static int item_headers(Item *p, JsonSpan val){
  cJSON *pH;
  char **az = 0;
  int n = 0, i, rc;
  char zWhere[64];
  if( json_has_nul(val.z, val.n) ){
    return item_fail(p, sqlite3_mprintf("\"headers\" hold \\u0000, a NUL character"));
  }
  errno = 0;
  pH = cJSON_ParseWithLength(val.z, val.n);
  if( pH==0 && errno==ENOMEM ) return SQLITE_NOMEM;
  if( pH==0 ){
    /* json_validate accepted it; cJSON refuses a lone surrogate. */
    return item_fail(p, sqlite3_mprintf("\"headers\" holds a \\u escape that is not a character"));
  }
  sqlite3_snprintf(sizeof(zWhere), zWhere, "%s %lld", p->zList, p->iItem);
  rc = options_parse_headers(0, pH, zWhere, &az, &n, p->pzErr);
  cJSON_Delete(pH);
  for(i=0; i<n && rc==SQLITE_OK; i++){
    struct curl_slist *pNew = curl_slist_append(p->pReq->pHeaders, az[i]);
    if( pNew==0 ) rc = SQLITE_NOMEM; else p->pReq->pHeaders = pNew;
  }
  strlist_free(az, n);
  return rc;
}
/* An HTML form: application/x-www-form-urlencoded. */
static int item_form(Item *p, JsonSpan val){
  size_t pos = 0;
  JsonSpan fk, fv;
  Buf b = {0, 0, 0, 0};
  if( json_type(val)!='{' ) return item_fail(p, sqlite3_mprintf("\"form\" must be an object"));
  while( json_object_next(val, &pos, &fk, &fv) ){
    int bNul = 0;
    char *zK = json_string_decode(fk, &bNul), *zV = 0, *eK, *eV;
    if( bNul ){
      /* the key holds a NUL: said below */
    }else if( json_type(fv)=='"' ){
      zV = json_string_decode(fv, &bNul);
    }else if( json_type(fv)=='n' || json_type(fv)=='t' || json_type(fv)=='f' ){
      zV = sqlite3_mprintf("%.*s", (int)fv.n, fv.z);
    }else{
      sqlite3_free(zK);
      buf_free(&b);
      return item_fail(p, sqlite3_mprintf("\"form\" values must be strings, numbers or booleans"));
    }
    if( bNul ){
      sqlite3_free(zK); sqlite3_free(zV);
      buf_free(&b);
      return item_fail(p, sqlite3_mprintf("\"form\" holds a NUL character"));
    }
    eK = zK ? curl_easy_escape(0, zK, 0) : 0;
    eV = zV ? curl_easy_escape(0, zV, 0) : 0;
    if( b.n ) buf_append(&b, STRCONST("&"));
    if( eK && eV ){
      buf_append(&b, eK, strlen(eK));
      buf_append(&b, STRCONST("="));
      buf_append(&b, eV, strlen(eV));
    }else{
      b.bOom = 1;
    }
    curl_free(eK); curl_free(eV);
    sqlite3_free(zK); sqlite3_free(zV);
  }
  if( b.bOom ){ buf_free(&b); return SQLITE_NOMEM; }
  sqlite3_free(p->pReq->pBody);
  p->pReq->pBody = b.z ? b.z : sqlite3_mprintf("");
  if( p->pReq->pBody==0 ) return SQLITE_NOMEM;
  p->pReq->nBody = b.n;
  p->zBodyType = "Content-Type: application/x-www-form-urlencoded";
  return SQLITE_OK;
}
/* A string is sent as it is; any other JSON value is sent as its own
** exact text (no re-encoding, so big integers survive) as JSON. */
static int item_body(Item *p, JsonSpan val){
  Request *pReq = p->pReq;
  if( json_type(val)=='"' ){
    int rc = item_string(p, val, "body", &pReq->pBody);
    if( rc ) return rc;
    pReq->nBody = strlen(pReq->pBody);
    p->zBodyType = "Content-Type: text/plain;charset=UTF-8";
    return SQLITE_OK;
  }
  sqlite3_free(pReq->pBody);
  pReq->pBody = sqlite3_malloc64(val.n+1);
  if( pReq->pBody==0 ) return SQLITE_NOMEM;
  memcpy(pReq->pBody, val.z, val.n);
  pReq->pBody[val.n] = 0;
  pReq->nBody = val.n;
  p->zBodyType = "Content-Type: application/json";
  return SQLITE_OK;
}

/* "input": any JSON value, carried as its exact text to every row the
** request gives (the function's input column, the wide face's _input).  A
** key of its own rather than "any other key": an unknown key stays an
** error, so a misspelt "methdo" is not carried off silently as data. */
static int item_input(Item *p, JsonSpan val){
  sqlite3_free(p->pReq->zInput);
  p->pReq->zInput = sqlite3_mprintf("%.*s", (int)val.n, val.z);
  return p->pReq->zInput ? SQLITE_OK : SQLITE_NOMEM;
}

/* This request's format (the format option's words), over the options'. */
static int item_format(Item *p, JsonSpan val){
  static const char *const azWord[] = { "json", "ndjson", "text", "blob", "auto" };
  int i;
  if( json_type(val)=='"' ){
    for(i=0; i<ArraySize(azWord); i++){
      if( json_string_eq(val, azWord[i], strlen(azWord[i])) ){
        p->pReq->iFormat = 1 + FMT_JSON + i;
        return SQLITE_OK;
      }
    }
  }
  return item_fail(p, sqlite3_mprintf("\"format\" must be \"json\", \"ndjson\", \"text\", "
                                      "\"blob\" or \"auto\""));
}

/* The members of a request object: one row each. */
static const struct {
  const char *zKey;
  int (*xRead)(Item*, JsonSpan);
} aMember[] = {
  { "url", item_url }, { "method", item_method }, { "headers", item_headers },
  { "form", item_form }, { "body", item_body }, { "input", item_input },
  { "format", item_format },
};

static int parse_object(Item *p, JsonSpan v){
  Request *pReq = p->pReq;
  size_t pos = 0;
  JsonSpan k, val;
  while( json_object_next(v, &pos, &k, &val) ){
    int i, rc;
    for(i=0; i<ArraySize(aMember); i++){
      if( json_string_eq(k, aMember[i].zKey, strlen(aMember[i].zKey)) ) break;
    }
    if( i==ArraySize(aMember) ){
      int bNul = 0;
      char *zKey = json_string_decode(k, &bNul), *zWhy;
      if( zKey==0 && !bNul ) return SQLITE_NOMEM;
      zWhy = sqlite3_mprintf("unknown key \"%s\" (a request object has url, method, headers, "
                             "body, form, input, format)", zKey ? zKey : "?");
      sqlite3_free(zKey);
      return item_fail(p, zWhy);
    }
    rc = aMember[i].xRead(p, val);
    if( rc ) return rc;
  }
  /* Like fetch() in browsers: a string body is text, any other JSON value
  ** is JSON; a Content-Type the request gives itself wins (headers may
  ** come after body in the object, hence here, at the end). */
  if( p->zBodyType==0 && pReq->pBody==0 && pReq->zMethod
   && (strcmp(pReq->zMethod, "POST")==0 || strcmp(pReq->zMethod, "PUT")==0
       || strcmp(pReq->zMethod, "PATCH")==0) ){
    p->zBodyType = "Content-Type:";   /* no body: drop libcurl's form default */
  }
  if( p->zBodyType && request_add_header(pReq, p->zBodyType) ) return SQLITE_NOMEM;
  /* libcurl asks large bodies to wait for "100 Continue", which many
  ** servers never send: a one second stall per request.  Send at once. */
  if( pReq->pBody && request_add_header(pReq, "Expect:") ) return SQLITE_NOMEM;
  if( pReq->zUrl==0 ) return item_fail(p, sqlite3_mprintf("request object has no \"url\""));
  return SQLITE_OK;
}

/* Turn one url_list JSON item (a string or a request object) into pReq.
** Called twice per item: once to validate, once to send. */
int request_parse_item(JsonSpan v, const char *zList, sqlite3_int64 iItem, Request *pReq,
                      char **pzErr){
  Item it;
  memset(pReq, 0, sizeof(*pReq));
  pReq->iIndex = iItem;
  it.zList = zList;
  it.iItem = iItem;
  it.pReq = pReq;
  it.zBodyType = 0;
  it.pzErr = pzErr;
  if( json_type(v)=='"' ){
    int bNul = 0;
    pReq->zUrl = json_string_decode(v, &bNul);
    if( pReq->zUrl ) return SQLITE_OK;
    return bNul ? item_fail(&it, sqlite3_mprintf("the URL holds a NUL character")) : SQLITE_NOMEM;
  }
  if( json_type(v)=='{' ) return parse_object(&it, v);
  {
    char t = json_type(v);
    return item_fail(&it, sqlite3_mprintf("got %s; expected a URL string or a request object",
                                          t=='n' ? "a number" : t=='[' ? "an array"
                                          : t=='z' ? "null" : "a boolean"));
  }
}

