/*
** options.c - the arguments of api_fetch: the options JSON object and the
** url_list, each checked with an error message that names the argument and
** what is wrong with it.
**
**   SELECT * FROM api_fetch(
**     '["https://a.example/1", {"url": "https://a.example/2", "method": "POST",
**       "headers": {"X-Trace": "1"}, "body": {"q": 1}}]',
**     20,
**     '{"timeout_ms": 5000, "max_attempts": 4, "on_error": "skip"}');
**
** url_list is not turned into an array of requests: it is validated in one
** pass when the query starts (so a bad item fails the statement before any
** request is sent) and then read again one item at a time as the engine
** asks, so memory does not grow with the number of URLs.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>
#include "apifetch.h"

void options_init(Options *p){
  memset(p, 0, sizeof(*p));
  p->concurrency = 10;
  p->timeout_ms = 30000;
  p->connect_timeout_ms = 10000;
  p->deadline_ms = 0;
  p->max_attempts = 3;
  p->retry_base_ms = 250;
  p->retry_max_ms = 10000;
  p->retry_after_max_ms = 60000;
  p->rate = 0;
  p->burst = 1;
  p->per_host = 0;
  p->max_bytes = 64*1024*1024;
  p->max_redirects = 5;
  p->on_error = ON_ERROR_ROW;
  p->progress = -1;
}

void strlist_free(char **az, int n){
  int i;
  for(i=0; i<n; i++) sqlite3_free(az[i]);
  sqlite3_free(az);
}

int path_split(const char *z, char ***paz, int *pn){
  int n = 1, i;
  const char *s;
  char **az;
  for(s=z; *s; s++) if( *s=='.' ) n++;
  az = sqlite3_malloc64(sizeof(char*)*(size_t)n);
  if( az==0 ) return SQLITE_NOMEM;
  for(i=0; i<n; i++){
    const char *e = strchr(z, '.');
    size_t len = e ? (size_t)(e-z) : strlen(z);
    if( len==0 ){ strlist_free(az, i); return SQLITE_ERROR; }
    az[i] = sqlite3_mprintf("%.*s", (int)len, z);
    if( az[i]==0 ){ strlist_free(az, i); return SQLITE_NOMEM; }
    z += len + 1;
  }
  *paz = az;
  *pn = n;
  return SQLITE_OK;
}

void options_clear(Options *p){
  sqlite3_free(p->user_agent);
  sqlite3_free(p->ca_file);
  strlist_free(p->azHeader, p->nHeader);
  strlist_free(p->azRecordPath, p->nRecordPath);
  paginate_clear(&p->paginate);
  sqlite3_free(p->zBearer);
  sqlite3_free(p->zBasic);
  sqlite3_free(p->zUrlTemplate);
  sqlite3_free(p->zBaseUrl);
  sqlite3_free(p->zCredOrigin);
  strlist_free(p->azQuery, p->nQuery);
  strlist_free(p->azSecret, p->nSecret);
  {
    const char *(*x)(void*, const char*) = p->xProfile;
    void *pCtx = p->pProfileCtx;
    const Guard *pGuard = p->pGuard;
    int bFromFile = p->bFromFile;
    options_init(p);
    p->xProfile = x;
    p->pProfileCtx = pCtx;
    p->pGuard = pGuard;
    p->bFromFile = bFromFile;
  }
}

static char *dup_text(const char *z){
  return sqlite3_mprintf("%s", z);
}

/* What cJSON calls the type of a value, for error messages. */
static const char *json_type_name(const cJSON *v){
  if( cJSON_IsString(v) ) return "a string";
  if( cJSON_IsNumber(v) ) return "a number";
  if( cJSON_IsBool(v) ) return "a boolean";
  if( cJSON_IsNull(v) ) return "null";
  if( cJSON_IsArray(v) ) return "an array";
  return "an object";
}

/* Integer options: name, where in Options, smallest and largest value. */
typedef struct IntOption IntOption;
struct IntOption {
  const char *zName;
  size_t offset;
  int bWide;                   /* sqlite3_int64 rather than int */
  sqlite3_int64 iMin, iMax;
};
#define INT_OPT(name, field, lo, hi) \
  { name, offsetof(Options, field), sizeof(((Options*)0)->field)==8, lo, hi }
static const IntOption aIntOption[] = {
  INT_OPT("timeout_ms",         timeout_ms,         1, 86400000),
  INT_OPT("connect_timeout_ms", connect_timeout_ms, 1, 3600000),
  INT_OPT("deadline_ms",        deadline_ms,        0, 604800000),
  INT_OPT("max_attempts",       max_attempts,       1, 100),
  INT_OPT("retry_base_ms",      retry_base_ms,      0, 3600000),
  INT_OPT("retry_max_ms",       retry_max_ms,       0, 3600000),
  INT_OPT("retry_after_max_ms", retry_after_max_ms, 0, 86400000),
  INT_OPT("burst",              burst,              1, 1000000),
  INT_OPT("per_host",           per_host,           0, APIFETCH_MAX_CONCURRENCY),
  INT_OPT("max_bytes",          max_bytes,          1, (sqlite3_int64)1<<40),
  INT_OPT("max_redirects",      max_redirects,      0, 50),
};

static int set_int_option(Options *p, const IntOption *o, const cJSON *v,
                          char **pzErr){
  double d = v->valuedouble;
  sqlite3_int64 x;
  if( cJSON_IsNumber(v) && (d<(double)o->iMin || d>(double)o->iMax) ){
    /* Checked as a double first: casting 1e300 to an integer is undefined. */
    *pzErr = sqlite3_mprintf(
        "api_fetch: option %s must be between %lld and %lld, got %g",
        o->zName, o->iMin, o->iMax, d);
    return SQLITE_ERROR;
  }
  if( !cJSON_IsNumber(v) || d!=(double)(sqlite3_int64)d ){
    *pzErr = sqlite3_mprintf(
        "api_fetch: option %s must be an integer, got %s",
        o->zName, cJSON_IsNumber(v) ? "a fraction" : json_type_name(v));
    return SQLITE_ERROR;
  }
  x = (sqlite3_int64)d;
  if( x<o->iMin || x>o->iMax ){
    *pzErr = sqlite3_mprintf(
        "api_fetch: option %s must be between %lld and %lld, got %lld",
        o->zName, o->iMin, o->iMax, x);
    return SQLITE_ERROR;
  }
  if( o->bWide ){
    *(sqlite3_int64*)((char*)p + o->offset) = x;
  }else{
    *(int*)((char*)p + o->offset) = (int)x;
  }
  return SQLITE_OK;
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

/* z with each ${env:NAME} replaced by the environment variable's value;
** the values are remembered in p->azSecret so that they can be redacted.
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
    char **az;
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
    if( zVal[0] ){
      /* A secret that could not be remembered could not be redacted. */
      az = sqlite3_realloc64(p->azSecret, sizeof(char*)*(size_t)(p->nSecret+1));
      if( az ) p->azSecret = az;
      if( az==0 || (az[p->nSecret] = sqlite3_mprintf("%s", zVal))==0 ){
        buf_free(&b);
        return 0;
      }
      p->nSecret++;
    }
    s = end + 1;
  }
  if( b.bOom ){ buf_free(&b); return 0; }
  return b.z ? b.z : sqlite3_mprintf("");
}

/* strstr for a URL-encoded zEsc, whose %XX hex digits match in either
** case: they mean the same (RFC 3986 section 2.1), and libcurl 7.88's URL
** API writes them in lower case where curl_easy_escape wrote upper case. */
static char *find_escaped(const char *s, const char *zEsc){
  size_t n = strlen(zEsc), i;
  for(; *s; s++){
    for(i=0; i<n && s[i]; i++){
      char a = s[i], b = zEsc[i];
      if( (i>=1 && zEsc[i-1]=='%') || (i>=2 && zEsc[i-2]=='%') ){
        if( a>='A' && a<='F' ) a += 'a'-'A';
        if( b>='A' && b<='F' ) b += 'a'-'A';
      }
      if( a!=b ) break;
    }
    if( i==n ) return (char*)s;
  }
  return 0;
}

char *options_redact(const Options *p, const char *z){
  char *zOut = sqlite3_mprintf("%s", z ? z : "");
  int i, k;
  for(i=0; zOut && i<p->nSecret; i++){
    for(k=0; k<2 && zOut; k++){
      char *zEsc = k ? curl_easy_escape(0, p->azSecret[i], 0) : 0;
      const char *zFind = k ? zEsc : p->azSecret[i];
      char *hit;
      Buf b = {0, 0, 0, 0};
      const char *s = zOut;
      if( zFind==0 ){
        /* Out of memory: the encoded form cannot be looked for, so no
        ** text at all rather than one that may show it. */
        sqlite3_free(zOut);
        return 0;
      }
      if( zFind[0]==0 ){ curl_free(zEsc); continue; }
      while( (hit = k ? find_escaped(s, zFind) : strstr(s, zFind))!=0 ){
        buf_append(&b, s, (size_t)(hit-s));
        buf_append(&b, "[secret]", 8);
        s = hit + strlen(zFind);
      }
      if( s!=zOut ){
        buf_append(&b, s, strlen(s));
        sqlite3_free(zOut);
        zOut = b.bOom ? 0 : b.z;
        if( zOut==0 ) buf_free(&b);
      }else{
        buf_free(&b);
      }
      curl_free(zEsc);
    }
  }
  return zOut;
}

/* Parse a headers object into "Name: value" lines: the options' (pOpt,
** values with secrets expanded) or a request object's (pOpt NULL). */
static int parse_headers(Options *pOpt, const cJSON *v,
                         const char *zWhere, char ***pazOut, int *pnOut, char **pzErr){
  const cJSON *h;
  int n = 0;
  char **az;
  if( !cJSON_IsObject(v) ){
    *pzErr = sqlite3_mprintf("api_fetch: %s headers must be an object, got %s",
                             zWhere, json_type_name(v));
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
          zWhere, h->string, json_type_name(h));
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
      sqlite3_free(zVal);
    }
    if( az[n]==0 ){ strlist_free(az, n); return SQLITE_NOMEM; }
    n++;
  }
  *pazOut = az;
  *pnOut = n;
  return SQLITE_OK;
}

/* record_path: "data.items" or ["data", "items"] (for keys with dots). */
static int parse_record_path(Options *p, const cJSON *v, char **pzErr){
  int n = 0, i;
  char **az;
  if( cJSON_IsString(v) ){
    int rc;
    if( v->valuestring[0]==0 ) return SQLITE_OK;
    rc = path_split(v->valuestring, &az, &n);
    if( rc==SQLITE_ERROR ){
      *pzErr = sqlite3_mprintf(
          "api_fetch: option record_path \"%s\" has an empty key", v->valuestring);
    }
    if( rc ) return rc;
  }else if( cJSON_IsArray(v) ){
    const cJSON *k;
    n = cJSON_GetArraySize(v);
    az = sqlite3_malloc64(sizeof(char*)*(n ? n : 1));
    if( az==0 ) return SQLITE_NOMEM;
    i = 0;
    cJSON_ArrayForEach(k, v){
      if( !cJSON_IsString(k) ){
        strlist_free(az, i);
        *pzErr = sqlite3_mprintf(
            "api_fetch: option record_path item %d must be a string, got %s",
            i, json_type_name(k));
        return SQLITE_ERROR;
      }
      az[i] = dup_text(k->valuestring);
      if( az[i]==0 ){ strlist_free(az, i); return SQLITE_NOMEM; }
      i++;
    }
  }else{
    *pzErr = sqlite3_mprintf(
        "api_fetch: option record_path must be a string or an array of "
        "strings, got %s", json_type_name(v));
    return SQLITE_ERROR;
  }
  if( n>APIFETCH_MAX_PATH ){
    strlist_free(az, n);
    *pzErr = sqlite3_mprintf("api_fetch: option record_path has %d keys; at most %d",
                             n, APIFETCH_MAX_PATH);
    return SQLITE_ERROR;
  }
  strlist_free(p->azRecordPath, p->nRecordPath);
  p->azRecordPath = az;
  p->nRecordPath = n;
  return SQLITE_OK;
}

static int parse_string_option(const cJSON *v, char **pzOut, char **pzErr){
  if( !cJSON_IsString(v) ){
    *pzErr = sqlite3_mprintf("api_fetch: option %s must be a string, got %s",
                             v->string, json_type_name(v));
    return SQLITE_ERROR;
  }
  sqlite3_free(*pzOut);
  *pzOut = dup_text(v->valuestring);
  return *pzOut ? SQLITE_OK : SQLITE_NOMEM;
}

static int parse_one_option(Options *p, const cJSON *v, char **pzErr){
  const char *zKey = v->string;
  size_t i;
  for(i=0; i<sizeof(aIntOption)/sizeof(aIntOption[0]); i++){
    if( strcmp(zKey, aIntOption[i].zName)==0 ){
      return set_int_option(p, &aIntOption[i], v, pzErr);
    }
  }
  if( strcmp(zKey, "rate")==0 ){
    if( !cJSON_IsNumber(v) || v->valuedouble<0 || v->valuedouble>1e6 ){
      *pzErr = sqlite3_mprintf(
          "api_fetch: option rate must be a number of requests per second "
          "between 0 and 1000000, got %s",
          cJSON_IsNumber(v) ? "one out of range" : json_type_name(v));
      return SQLITE_ERROR;
    }
    p->rate = v->valuedouble;
    return SQLITE_OK;
  }
  if( strcmp(zKey, "retry_unsafe")==0 ){
    if( !cJSON_IsBool(v) ){
      *pzErr = sqlite3_mprintf(
          "api_fetch: option retry_unsafe must be true or false, got %s",
          json_type_name(v));
      return SQLITE_ERROR;
    }
    p->retry_unsafe = cJSON_IsTrue(v);
    return SQLITE_OK;
  }
  if( strcmp(zKey, "progress")==0 ){
    if( !cJSON_IsBool(v) && !(cJSON_IsNumber(v) && (v->valuedouble==0 || v->valuedouble==1)) ){
      *pzErr = sqlite3_mprintf(
          "api_fetch: option progress must be true or false, got %s", json_type_name(v));
      return SQLITE_ERROR;
    }
    p->progress = cJSON_IsBool(v) ? cJSON_IsTrue(v) : v->valuedouble==1;
    return SQLITE_OK;
  }
  if( strcmp(zKey, "on_error")==0 ){
    static const char *const az[] = { "row", "skip", "fail" };
    int k;
    for(k=0; k<3 && cJSON_IsString(v); k++){
      if( strcmp(v->valuestring, az[k])==0 ){ p->on_error = k; return SQLITE_OK; }
    }
    *pzErr = sqlite3_mprintf(
        "api_fetch: option on_error must be \"row\", \"skip\" or \"fail\", got %s%s%s",
        cJSON_IsString(v) ? "\"" : "",
        cJSON_IsString(v) ? v->valuestring : json_type_name(v),
        cJSON_IsString(v) ? "\"" : "");
    return SQLITE_ERROR;
  }
  if( strcmp(zKey, "user_agent")==0 ){
    int rc = parse_string_option(v, &p->user_agent, pzErr);
    if( rc==SQLITE_OK && !header_ok("User-Agent", p->user_agent) ){
      *pzErr = sqlite3_mprintf("api_fetch: option user_agent holds a line break");
      rc = SQLITE_ERROR;
    }
    return rc;
  }
  if( strcmp(zKey, "ca_file")==0 ) return parse_string_option(v, &p->ca_file, pzErr);
  if( strcmp(zKey, "headers")==0 ){
    /* Given after a profile's headers: these come first, so they win (a
    ** request sends the first of two headers with one name). */
    char **az = 0, **azAll;
    int n = 0, rc = parse_headers(p, v, "option", &az, &n, pzErr), k;
    if( rc ) return rc;
    azAll = sqlite3_realloc64(az, sizeof(char*)*(size_t)(n + p->nHeader + 1));
    if( azAll==0 ){ strlist_free(az, n); return SQLITE_NOMEM; }
    for(k=0; k<p->nHeader; k++) azAll[n+k] = p->azHeader[k];
    sqlite3_free(p->azHeader);
    p->azHeader = azAll;
    p->nHeader += n;
    return SQLITE_OK;
  }
  if( strcmp(zKey, "bearer")==0 || strcmp(zKey, "basic")==0 ){
    char **pz = zKey[1]=='e' ? &p->zBearer : &p->zBasic;
    if( !cJSON_IsString(v) ) return parse_string_option(v, pz, pzErr);
    sqlite3_free(*pz);
    *pz = expand_secrets(p, v->valuestring, zKey, pzErr);
    if( *pz==0 ) return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
    if( !header_ok("Authorization", *pz) ){
      /* Not quoted: it may hold a secret. */
      *pzErr = sqlite3_mprintf("api_fetch: option %s holds a line break", zKey);
      return SQLITE_ERROR;
    }
    if( zKey[1]=='a' && strchr(*pz, ':')==0 ){
      *pzErr = sqlite3_mprintf("api_fetch: option basic must be \"user:password\"");
      return SQLITE_ERROR;
    }
    return SQLITE_OK;
  }
  if( strcmp(zKey, "url_template")==0 ) return parse_string_option(v, &p->zUrlTemplate, pzErr);
  if( strcmp(zKey, "base_url")==0 ){
    int rc = parse_string_option(v, &p->zBaseUrl, pzErr);
    char *zWhy;
    if( rc ) return rc;
    rc = url_check(p->zBaseUrl, &zWhy);
    if( rc==SQLITE_ERROR ){
      *pzErr = sqlite3_mprintf("api_fetch: option base_url: %s", zWhy);
      sqlite3_free(zWhy);
    }
    return rc;
  }
  if( strcmp(zKey, "query")==0 ){
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
      {
        /* A call's parameter replaces its profile's of the same name. */
        int j;
        for(j=0; j<p->nQuery && strcmp(p->azQuery[j], q->string)!=0; j+=2){}
        if( j<p->nQuery ){
          sqlite3_free(p->azQuery[j+1]);
          p->azQuery[j+1] = zVal;
          continue;
        }
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
  if( strcmp(zKey, "profile")==0 ){
    const char *zJson;
    int rc;
    if( !cJSON_IsString(v) ){
      *pzErr = sqlite3_mprintf("api_fetch: option profile must be a string, got %s",
                               json_type_name(v));
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
    if( rc==SQLITE_OK && p->bFromFile ){
      /* A file may name a profile of the host's, but its credentials go only
      ** to the profile's own base_url origin, whatever URLs the file lists
      ** or base_url it sets: a file cannot send them elsewhere. */
      sqlite3_free(p->zCredOrigin);
      p->zCredOrigin = sqlite3_mprintf("%s", p->zBaseUrl ? p->zBaseUrl : "");
      if( p->zCredOrigin==0 ) rc = SQLITE_NOMEM;
    }
    return rc;
  }
  if( strcmp(zKey, "record_path")==0 ) return parse_record_path(p, v, pzErr);
  if( strcmp(zKey, "paginate")==0 ) return paginate_parse(&p->paginate, v, pzErr);
  *pzErr = sqlite3_mprintf(
      "api_fetch: unknown option \"%s\" (known: timeout_ms, connect_timeout_ms, "
      "deadline_ms, max_attempts, retry_base_ms, retry_max_ms, "
      "retry_after_max_ms, retry_unsafe, rate, burst, per_host, max_bytes, "
      "max_redirects, on_error, progress, user_agent, ca_file, headers, record_path, "
      "paginate, bearer, basic, url_template, base_url, query, profile)",
      zKey);
  return SQLITE_NOTFOUND;
}

int options_check(const Options *p, char **pzErr){
  if( p->retry_max_ms<p->retry_base_ms ){
    *pzErr = sqlite3_mprintf(
        "api_fetch: option retry_max_ms (%lld) is less than retry_base_ms (%lld)",
        p->retry_max_ms, p->retry_base_ms);
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

/* One option given as a CREATE VIRTUAL TABLE argument, key=value.  String
** options take the text as it is; the others read it as JSON (so 5000,
** true, '{"X-A": "1"}' and '["a","b"]' work) and fall back to a string,
** which then gets the usual "must be ..., got a string" message.  Returns
** SQLITE_NOTFOUND, with no message, for a key that is not an option. */
int options_set(Options *p, const char *zKey, const char *zValue, char **pzErr){
  static const char *const azString[] = { "user_agent", "ca_file", "on_error", 0 };
  cJSON *v = 0;
  int i, rc;
  for(i=0; azString[i] && strcmp(zKey, azString[i])!=0; i++){}
  if( azString[i]==0 && json_has_nul(zValue, strlen(zValue)) ){
    *pzErr = sqlite3_mprintf("api_fetch: argument %s holds \\u0000, a NUL character, "
                             "which no option can take", zKey);
    return SQLITE_ERROR;
  }
  if( azString[i]==0 ){
    /* cJSON says NULL for bad JSON and for out of memory alike; malloc
    ** sets ENOMEM.  Not JSON: the text as a string. */
    errno = 0;
    v = cJSON_ParseWithOpts(zValue, 0, 1);                       /* all of it */
    if( v==0 && errno==ENOMEM ) return SQLITE_NOMEM;
  }
  if( v==0 ) v = cJSON_CreateString(zValue);
  if( v==0 ) return SQLITE_NOMEM;
  v->string = (char*)zKey;
  rc = parse_one_option(p, v, pzErr);
  v->string = 0;
  cJSON_Delete(v);
  if( rc==SQLITE_NOTFOUND ){
    sqlite3_free(*pzErr);
    *pzErr = 0;
  }
  return rc;
}

int json_key_repeated(const cJSON *pObj, const cJSON *v){
  const cJSON *w;
  for(w=pObj->child; w!=v; w=w->next){
    if( strcmp(w->string, v->string)==0 ) return 1;
  }
  return 0;
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
                             pRoot ? json_type_name(pRoot) : "invalid JSON");
    cJSON_Delete(pRoot);
    return SQLITE_ERROR;
  }
  /* A profile first, wherever it is in the object: what is given here
  ** overrides it. */
  v = cJSON_GetObjectItemCaseSensitive(pRoot, "profile");
  if( v ){
    rc = parse_one_option(p, v, pzErr);
    if( rc ) goto done;
  }
  cJSON_ArrayForEach(v, pRoot){
    if( json_key_repeated(pRoot, v) ){
      *pzErr = sqlite3_mprintf("api_fetch: option %s is given twice", v->string);
      rc = SQLITE_ERROR;
      goto done;
    }
    if( strcmp(v->string, "profile")==0 ) continue;
    rc = parse_one_option(p, v, pzErr);
    if( rc==SQLITE_NOTFOUND ) rc = SQLITE_ERROR;
    if( rc ) goto done;
  }
  rc = options_check(p, pzErr);
done:
  cJSON_Delete(pRoot);
  if( rc==SQLITE_NOMEM && *pzErr==0 ) *pzErr = sqlite3_mprintf("api_fetch: out of memory");
  return rc;
}

/**************************************************************************
** Requests and url_list
*/
void request_clear(Request *p){
  sqlite3_free(p->zUrl);
  sqlite3_free(p->zMethod);
  sqlite3_free(p->pBody);
  curl_slist_free_all(p->pHeaders);
  sqlite3_free(p->pSeen);
  memset(p, 0, sizeof(*p));
}

int url_check(const char *zUrl, char **pzWhy){
  CURLU *h = curl_url();
  CURLUcode uc = CURLUE_OUT_OF_MEMORY;
  char *zScheme = 0;
  int rc = SQLITE_OK;
  *pzWhy = 0;
  /* Out of memory is never "fine": a URL not checked could be file://. */
  if( h ) uc = curl_url_set(h, CURLUPART_URL, zUrl, 0);
  if( uc==CURLUE_OK ) uc = curl_url_get(h, CURLUPART_SCHEME, &zScheme, 0);
  if( uc==CURLUE_OUT_OF_MEMORY ){
    rc = SQLITE_NOMEM;
  }else if( uc ){
    *pzWhy = sqlite3_mprintf("\"%s\" is not a valid URL: %s", zUrl, curl_url_strerror(uc));
    rc = *pzWhy ? SQLITE_ERROR : SQLITE_NOMEM;
  }else if( strcmp(zScheme, "http")!=0 && strcmp(zScheme, "https")!=0 ){
    *pzWhy = sqlite3_mprintf("\"%s\" has scheme \"%s\"; only http and https are allowed",
                             zUrl, zScheme);
    rc = *pzWhy ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  curl_free(zScheme);
  curl_url_cleanup(h);
  return rc;
}

static int has_header(struct curl_slist *p, const char *zLine){
  size_t n = strcspn(zLine, ":;");
  for(; p; p=p->next){
    if( strncasecmp(p->data, zLine, n)==0 && (p->data[n]==':' || p->data[n]==';') ){
      return 1;
    }
  }
  return 0;
}

/* Append a header line unless the request already has that header. */
static int add_header(Request *pReq, const char *zLine){
  struct curl_slist *pNew;
  if( has_header(pReq->pHeaders, zLine) ) return SQLITE_OK;
  pNew = curl_slist_append(pReq->pHeaders, zLine);
  if( pNew==0 ) return SQLITE_NOMEM;
  pReq->pHeaders = pNew;
  return SQLITE_OK;
}

/* Append the option headers to pReq, except where the request object set
** the same header itself. */
static int merge_headers(Request *pReq, const Options *pOpt){
  int i;
  for(i=0; i<pOpt->nHeader; i++){
    if( add_header(pReq, pOpt->azHeader[i]) ) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* zList names where the item came from: "url_list item" or "url_query row". */
static int item_error(char **pzErr, const char *zList, sqlite3_int64 i, char *zWhy){
  *pzErr = zWhy ? sqlite3_mprintf("api_fetch: %s %lld: %s", zList, i, zWhy) : 0;
  sqlite3_free(zWhy);
  return zWhy ? SQLITE_ERROR : SQLITE_NOMEM;
}

/* Turn one url_list JSON item (a string or a request object) into pReq.
** Called twice per item: once to validate, once to send. */
static int parse_item(JsonSpan v, const char *zList, sqlite3_int64 iItem, Request *pReq,
                      char **pzErr){
  int bNul = 0;                   /* A string held \u0000 (else NULL is out of memory,
                                  ** never a reason to skip the members after it) */
  const char *zBodyType = 0;      /* Content-Type implied by the body */
  memset(pReq, 0, sizeof(*pReq));
  pReq->iIndex = iItem;
  if( json_type(v)=='"' ){
    pReq->zUrl = json_string_decode(v, &bNul);
  }else if( json_type(v)=='{' ){
    size_t pos = 0;
    JsonSpan k, val;
    while( json_object_next(v, &pos, &k, &val) ){
      if( json_string_eq(k, "url", 3) ){
        if( json_type(val)!='"' ){
          return item_error(pzErr, zList, iItem, sqlite3_mprintf("\"url\" must be a string"));
        }
        sqlite3_free(pReq->zUrl);
        pReq->zUrl = json_string_decode(val, &bNul);
        if( pReq->zUrl==0 ){ if( !bNul ) return SQLITE_NOMEM; break; }
      }else if( json_string_eq(k, "method", 6) ){
        char *z;
        if( json_type(val)!='"' ){
          return item_error(pzErr, zList, iItem, sqlite3_mprintf("\"method\" must be a string"));
        }
        sqlite3_free(pReq->zMethod);
        pReq->zMethod = json_string_decode(val, &bNul);
        if( pReq->zMethod==0 ){ if( !bNul ) return SQLITE_NOMEM; break; }
        for(z=pReq->zMethod; *z; z++){
          if( *z>='a' && *z<='z' ) *z -= 'a'-'A';
          if( *z<'A' || *z>'Z' ){
            return item_error(pzErr, zList, iItem,
                sqlite3_mprintf("\"method\" \"%s\" is not an HTTP method", pReq->zMethod));
          }
        }
        if( pReq->zMethod[0]==0 ){
          return item_error(pzErr, zList, iItem, sqlite3_mprintf("\"method\" is empty"));
        }
      }else if( json_string_eq(k, "headers", 7) ){
        cJSON *pH;
        if( json_has_nul(val.z, val.n) ){
          return item_error(pzErr, zList, iItem, sqlite3_mprintf(
              "\"headers\" hold \\u0000, a NUL character"));
        }
        errno = 0;
        pH = cJSON_ParseWithLength(val.z, val.n);
        char **az = 0;
        int n = 0, i, rc;
        char zWhere[64];
        if( pH==0 && errno==ENOMEM ) return SQLITE_NOMEM;
        if( pH==0 ){
          /* json_validate accepted it; cJSON refuses a lone surrogate. */
          return item_error(pzErr, zList, iItem, sqlite3_mprintf(
              "\"headers\" holds a \\u escape that is not a character"));
        }
        sqlite3_snprintf(sizeof(zWhere), zWhere, "%s %lld", zList, iItem);
        rc = parse_headers(0, pH, zWhere, &az, &n, pzErr);
        cJSON_Delete(pH);
        if( rc ) return rc;
        for(i=0; i<n && rc==SQLITE_OK; i++){
          struct curl_slist *pNew = curl_slist_append(pReq->pHeaders, az[i]);
          if( pNew==0 ) rc = SQLITE_NOMEM; else pReq->pHeaders = pNew;
        }
        strlist_free(az, n);
        if( rc ) return rc;
      }else if( json_string_eq(k, "form", 4) ){
        /* An HTML form: application/x-www-form-urlencoded. */
        size_t fpos = 0;
        JsonSpan fk, fv;
        Buf b = {0, 0, 0, 0};
        if( json_type(val)!='{' ){
          return item_error(pzErr, zList, iItem, sqlite3_mprintf("\"form\" must be an object"));
        }
        while( json_object_next(val, &fpos, &fk, &fv) ){
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
            return item_error(pzErr, zList, iItem, sqlite3_mprintf(
                "\"form\" values must be strings, numbers or booleans"));
          }
          if( bNul ){
            sqlite3_free(zK); sqlite3_free(zV);
            buf_free(&b);
            return item_error(pzErr, zList, iItem, sqlite3_mprintf(
                "\"form\" holds a NUL character"));
          }
          eK = zK ? curl_easy_escape(0, zK, 0) : 0;
          eV = zV ? curl_easy_escape(0, zV, 0) : 0;
          if( b.n ) buf_append(&b, "&", 1);
          if( eK && eV ){
            buf_append(&b, eK, strlen(eK));
            buf_append(&b, "=", 1);
            buf_append(&b, eV, strlen(eV));
          }else{
            b.bOom = 1;
          }
          curl_free(eK); curl_free(eV);
          sqlite3_free(zK); sqlite3_free(zV);
        }
        if( b.bOom ){ buf_free(&b); return SQLITE_NOMEM; }
        sqlite3_free(pReq->pBody);
        pReq->pBody = b.z ? b.z : sqlite3_mprintf("");
        if( pReq->pBody==0 ) return SQLITE_NOMEM;
        pReq->nBody = b.n;
        zBodyType = "Content-Type: application/x-www-form-urlencoded";
      }else if( json_string_eq(k, "body", 4) ){
        /* A string is sent as it is; any other JSON value is sent as its
        ** own exact text (no re-encoding, so big integers survive) with
        ** Content-Type: application/json. */
        sqlite3_free(pReq->pBody);
        if( json_type(val)=='"' ){
          pReq->pBody = json_string_decode(val, &bNul);
          if( pReq->pBody==0 ){ if( !bNul ) return SQLITE_NOMEM; break; }
          pReq->nBody = strlen(pReq->pBody);
          zBodyType = "Content-Type: text/plain;charset=UTF-8";
        }else{
          pReq->pBody = sqlite3_malloc64(val.n+1);
          if( pReq->pBody==0 ) return SQLITE_NOMEM;
          memcpy(pReq->pBody, val.z, val.n);
          pReq->pBody[val.n] = 0;
          pReq->nBody = val.n;
          zBodyType = "Content-Type: application/json";
        }
      }else{
        char *zKey = json_string_decode(k, &bNul);
        char *zWhy;
        if( zKey==0 && !bNul ) return SQLITE_NOMEM;
        zWhy = sqlite3_mprintf(
            "unknown key \"%s\" (a request object has url, method, headers, body, form)",
            zKey ? zKey : "?");
        sqlite3_free(zKey);
        return item_error(pzErr, zList, iItem, zWhy);
      }
    }
    if( bNul ){
      return item_error(pzErr, zList, iItem, sqlite3_mprintf("a string holds a NUL character"));
    }
    /* Like fetch() in browsers: a string body is text, any other JSON value
    ** is JSON; a Content-Type the request gives itself wins (headers may
    ** come after body in the object, hence the check at the end). */
    if( zBodyType==0 && pReq->pBody==0 && pReq->zMethod
     && (strcmp(pReq->zMethod, "POST")==0 || strcmp(pReq->zMethod, "PUT")==0
         || strcmp(pReq->zMethod, "PATCH")==0) ){
      zBodyType = "Content-Type:";   /* no body: drop libcurl's form default */
    }
    if( zBodyType && add_header(pReq, zBodyType) ) return SQLITE_NOMEM;
    /* libcurl asks large bodies to wait for "100 Continue", which many
    ** servers never send: a one second stall per request.  Send at once. */
    if( pReq->pBody && add_header(pReq, "Expect:") ) return SQLITE_NOMEM;
    if( pReq->zUrl==0 ){
      return item_error(pzErr, zList, iItem, sqlite3_mprintf("request object has no \"url\""));
    }
  }else{
    static const char *const azName[] = { "a number", "an array", "a boolean", "null" };
    char t = json_type(v);
    const char *zType = t=='n' ? azName[0] : t=='[' ? azName[1]
                      : t=='z' ? azName[3] : azName[2];
    return item_error(pzErr, zList, iItem, sqlite3_mprintf(
        "got %s; expected a URL string or a request object", zType));
  }
  if( pReq->zUrl==0 ){
    if( bNul ) return item_error(pzErr, zList, iItem, sqlite3_mprintf("the URL holds a NUL character"));
    return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* Next line of a text url_list, trimmed; 0 at the end. */
static int next_line(UrlList *p, size_t *piStart, size_t *pnLen){
  while( p->pos<p->n ){
    size_t s = p->pos, e;
    const char *zNl = memchr(p->z+s, '\n', p->n-s);
    e = zNl ? (size_t)(zNl - p->z) : p->n;
    p->pos = zNl ? e+1 : p->n;
    while( s<e && (p->z[s]==' ' || p->z[s]=='\t' || p->z[s]=='\r') ) s++;
    while( e>s && (p->z[e-1]==' ' || p->z[e-1]=='\t' || p->z[e-1]=='\r') ) e--;
    if( e==s || p->z[s]=='#' ) continue;
    *piStart = s;
    *pnLen = e-s;
    return 1;
  }
  return 0;
}

/* url_template with {name} placeholders filled in by xValue, each value
** URL-encoded.  xValue returns NULL and sets *piWhy to a TEMPLATE_ code when
** there is no value to use.  Returns the URL, or NULL with *pzWhy (or OOM). */
static char *template_fill(const char *zTemplate,
                           char *(*xValue)(void*, const char*, int*), void *pCtx,
                           char **pzWhy){
  Buf b = {0, 0, 0, 0};
  const char *s = zTemplate;
  for(;;){
    const char *o = strchr(s, '{'), *c;
    char zName[128], *zVal, *zEsc;
    int bMissing = 0;
    if( o==0 ){ buf_append(&b, s, strlen(s)); break; }
    c = strchr(o, '}');
    if( c==0 || c-o-1<=0 || c-o-1>=(long)sizeof(zName) ){
      *pzWhy = sqlite3_mprintf("url_template has a \"{\" without a name and \"}\"");
      buf_free(&b);
      return 0;
    }
    buf_append(&b, s, (size_t)(o-s));
    memcpy(zName, o+1, (size_t)(c-o-1));
    zName[c-o-1] = 0;
    zVal = xValue(pCtx, zName, &bMissing);
    if( zVal==0 ){
      static const char *const azWhy[] = {
        0, "no value for {%s} of url_template",
        "the value for {%s} of url_template holds a NUL character",
        "the value for {%s} of url_template is an object or an array, not a scalar" };
      *pzWhy = bMissing ? sqlite3_mprintf(azWhy[bMissing], zName) : 0;
      buf_free(&b);
      return 0;
    }
    zEsc = curl_easy_escape(0, zVal, 0);
    sqlite3_free(zVal);
    if( zEsc==0 ){ buf_free(&b); return 0; }
    buf_append(&b, zEsc, strlen(zEsc));
    curl_free(zEsc);
    s = c + 1;
  }
  if( b.bOom ){ buf_free(&b); return 0; }
  return b.z;
}

/* A template value from a JSON object of parameters. */
static char *json_param(void *pCtx, const char *zName, int *pbMissing){
  JsonSpan v, *pObj = (JsonSpan*)pCtx;
  int bNul = 0;
  char *z;
  if( !json_object_get(*pObj, zName, &v) || json_type(v)=='z' ){
    *pbMissing = TEMPLATE_MISSING;
    return 0;
  }
  if( json_type(v)=='{' || json_type(v)=='[' ){
    *pbMissing = TEMPLATE_NOT_SCALAR;
    return 0;
  }
  if( json_type(v)=='"' ){
    z = json_string_decode(v, &bNul);
    if( z==0 && bNul ) *pbMissing = TEMPLATE_NUL;
    return z;
  }
  return sqlite3_mprintf("%.*s", (int)v.n, v.z);
}

/* The last steps of every request: base_url for a relative URL. */
static int request_resolve(Request *pReq, const Options *pOpt){
  if( pOpt->zBaseUrl && pReq->zUrl && !url_has_scheme(pReq->zUrl) ){
    char *z = url_resolve(pOpt->zBaseUrl, pReq->zUrl);
    if( z==0 ) return SQLITE_NOMEM;
    sqlite3_free(pReq->zUrl);
    pReq->zUrl = z;
  }
  return SQLITE_OK;
}

/* Option headers and query parameters onto a request about to be sent. */
static int request_finish(Request *pReq, const Options *pOpt){
  char *z;
  int bSame = pOpt->zCredOrigin ? url_same_origin(pReq->zUrl, pOpt->zCredOrigin) : 1;
  if( bSame<0 ) return SQLITE_NOMEM;
  if( !bSame ){
    pReq->bNoCredentials = 1;        /* see zCredOrigin: no bearer, basic, headers */
  }else if( merge_headers(pReq, pOpt) ){
    return SQLITE_NOMEM;
  }
  if( pOpt->nQuery<2 ) return SQLITE_OK;
  z = url_with_params(pReq->zUrl, (const char *const*)pOpt->azQuery, pOpt->nQuery/2);
  if( z==0 ) return SQLITE_NOMEM;
  sqlite3_free(pReq->zUrl);
  pReq->zUrl = z;
  return SQLITE_OK;
}

char *request_from_template(const Options *pOpt,
                            char *(*xValue)(void*, const char*, int*), void *pCtx,
                            char **pzWhy){
  return template_fill(pOpt->zUrlTemplate, xValue, pCtx, pzWhy);
}

static int read_item(UrlList *p, Request *pReq, int bCheck, char **pzErr){
  int rc;
  if( p->bJson ){
    JsonSpan arr = json_root(p->z, p->n), v;
    if( !json_array_next(arr, &p->pos, &v) ) return 0;
    if( p->pOpt->zUrlTemplate==0 ){
      rc = parse_item(v, "url_list item", p->nItem, pReq, pzErr);
    }else if( json_type(v)!='{' ){
      memset(pReq, 0, sizeof(*pReq));
      rc = item_error(pzErr, "url_list item", p->nItem, sqlite3_mprintf(
          "with url_template, each item is an object of parameters"));
    }else{
      char *zWhy = 0;
      memset(pReq, 0, sizeof(*pReq));
      pReq->iIndex = p->nItem;
      pReq->zUrl = template_fill(p->pOpt->zUrlTemplate, json_param, &v, &zWhy);
      rc = pReq->zUrl ? SQLITE_OK
         : zWhy ? item_error(pzErr, "url_list item", p->nItem, zWhy) : SQLITE_NOMEM;
    }
  }else{
    size_t s, len;
    if( !next_line(p, &s, &len) ) return 0;
    memset(pReq, 0, sizeof(*pReq));
    pReq->iIndex = p->nItem;
    if( memchr(p->z+s, 0, len) ){
      rc = item_error(pzErr, "url_list item", p->nItem,
                      sqlite3_mprintf("the URL holds a NUL character"));
    }else{
      pReq->zUrl = sqlite3_mprintf("%.*s", (int)len, p->z+s);
      rc = pReq->zUrl ? SQLITE_OK : SQLITE_NOMEM;
    }
  }
  if( rc==SQLITE_OK ) rc = request_resolve(pReq, p->pOpt);
  if( rc==SQLITE_OK && bCheck ){
    char *zWhy;
    rc = url_check(pReq->zUrl, &zWhy);
    if( rc==SQLITE_ERROR ) rc = item_error(pzErr, "url_list item", p->nItem, zWhy);
  }
  if( rc==SQLITE_OK && !bCheck ) rc = request_finish(pReq, p->pOpt);
  if( rc ){
    request_clear(pReq);
    if( rc==SQLITE_NOMEM && *pzErr==0 ) *pzErr = sqlite3_mprintf("api_fetch: out of memory");
    return -1;
  }
  p->nItem++;
  return 1;
}

int urllist_open(UrlList *p, char *z, size_t n, const Options *pOpt,
                 char **pzErr){
  size_t i;
  int r;
  memset(p, 0, sizeof(*p));
  p->z = z;
  p->n = n;
  p->pOpt = pOpt;
  i = json_skip_ws(z, n, 0);
  if( i<n && z[i]=='[' ){
    JsonError err;
    if( json_validate(z, n, APIFETCH_JSON_MAX_DEPTH, &err) ){
      *pzErr = sqlite3_mprintf(
          "api_fetch: url_list is not valid JSON: %s at byte %lld",
          err.zWhat, (sqlite3_int64)err.offset);
      return SQLITE_ERROR;
    }
    p->bJson = 1;
  }else if( i<n && (z[i]=='{' || z[i]=='"') ){
    *pzErr = sqlite3_mprintf(
        "api_fetch: url_list must be a JSON array or text with one URL a line, "
        "got a JSON %s", z[i]=='{' ? "object" : "string");
    return SQLITE_ERROR;
  }
  /* The validating pass: every item parsed and checked, nothing kept. */
  for(;;){
    Request req;
    r = read_item(p, &req, 1, pzErr);
    if( r<=0 ) break;
    request_clear(&req);
  }
  if( r<0 ) return SQLITE_ERROR;
  p->nTotal = p->nItem;
  p->nItem = 0;
  p->pos = 0;
  return SQLITE_OK;
}

int urllist_next(UrlList *p, Request *pReq, char **pzErr){
  return read_item(p, pReq, 0, pzErr);
}

void urllist_close(UrlList *p){
  sqlite3_free(p->z);
  memset(p, 0, sizeof(*p));
}

int request_from_text(const char *z, size_t n, sqlite3_int64 iIndex,
                      const Options *pOpt, Request *pReq, char **pzErr){
  size_t i = json_skip_ws(z, n, 0);
  int rc;
  char *zWhy;
  if( i<n && z[i]=='{' ){
    JsonError err;
    if( json_validate(z, n, APIFETCH_JSON_MAX_DEPTH, &err) ){
      *pzErr = sqlite3_mprintf("api_fetch: url_query row %lld: a request object that is "
                               "not valid JSON: %s at byte %lld", iIndex, err.zWhat,
                               (sqlite3_int64)err.offset);
      return SQLITE_ERROR;
    }
    rc = parse_item(json_root(z, n), "url_query row", iIndex, pReq, pzErr);
  }else{
    memset(pReq, 0, sizeof(*pReq));
    pReq->iIndex = iIndex;
    while( n>i && (z[n-1]==' ' || z[n-1]=='\t' || z[n-1]=='\r' || z[n-1]=='\n') ) n--;
    if( memchr(z+i, 0, n-i) ){
      *pzErr = sqlite3_mprintf("api_fetch: url_query row %lld: the URL holds a NUL character",
                               iIndex);
      return SQLITE_ERROR;
    }
    pReq->zUrl = sqlite3_mprintf("%.*s", (int)(n-i), z+i);
    rc = pReq->zUrl ? SQLITE_OK : SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK ) rc = request_resolve(pReq, pOpt);
  if( rc==SQLITE_OK && (rc = url_check(pReq->zUrl, &zWhy))==SQLITE_ERROR ){
    *pzErr = sqlite3_mprintf("api_fetch: url_query row %lld: %s", iIndex, zWhy);
    sqlite3_free(zWhy);
  }
  if( rc==SQLITE_OK ) rc = request_finish(pReq, pOpt);
  if( rc ){
    request_clear(pReq);
    if( *pzErr==0 ) *pzErr = sqlite3_mprintf("api_fetch: out of memory");
  }
  return rc;
}
