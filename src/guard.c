/*
** guard.c - limits on what a connection may fetch, for Datasette instances
** and other places where the SQL comes from someone else.
**
**   APIFETCH_CONFIG='{"allow_hosts": ["api.example.com"], "block_private": true,
**                     "max_requests": 1000, "lock": true}' datasette ...
**   SELECT api_fetch_config();                      -- the settings in force
**   SELECT api_fetch_config('{"max_requests": 50}'); -- change them (until locked)
**
**   disabled        true: api_fetch refuses to run on this connection
**   allow_hosts     only these host names (exact, case-insensitive), also
**                   after redirects
**   block_private   refuse loopback, private, link-local, multicast and
**                   unspecified addresses, checked on the address about to
**                   be connected to, so DNS answers and redirects cannot
**                   get around it
**   max_requests, max_total_bytes, max_query_ms
**                   per query: requests (retries included), body bytes,
**                   and time (as deadline_ms)
**   allow_env       the environment variables ${env:NAME} may read; null:
**                   any until locked, none once locked
**   ca_file         a CA bundle to trust, for queries that name none; once
**                   locked, a query may not name its own (SQL from someone
**                   else does not get to make libcurl read files)
**   lock            true: no further change from SQL on this connection
**
** The settings of a connection are read once, when the extension is
** loaded into it; the function is SQLITE_DIRECTONLY, so a view or trigger
** cannot call it.
*/
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <cjson/cJSON.h>
#include "apifetch.h"

int guard_env_refused(const Guard *g, const char *zName){
  int i;
  if( g==0 ) return 0;
  if( g->azAllowEnv==0 ) return g->bLocked;
  for(i=0; i<g->nAllowEnv; i++){
    if( strcmp(g->azAllowEnv[i], zName)==0 ) return 0;
  }
  return 1;
}

int guard_refuses(const Guard *g, const Options *pOpt, char **pzErr){
  if( g->bDisabled ){
    *pzErr = sqlite3_mprintf("api_fetch: fetching is disabled on this connection "
                             "(api_fetch_config)");
  }else if( g->bLocked && pOpt->ca_file ){
    *pzErr = sqlite3_mprintf("api_fetch: option ca_file is not allowed: the settings of "
        "this connection are locked (the host sets a CA file with api_fetch_config's ca_file)");
  }else{
    return SQLITE_OK;
  }
  return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;   /* refused either way */
}

static int bad(char **pzErr, const char *zKey, const char *zWant){
  *pzErr = sqlite3_mprintf("api_fetch_config: %s must be %s", zKey, zWant);
  return SQLITE_ERROR;
}

void guard_clear(Guard *g){
  strlist_free(g->azAllowHost, g->nAllowHost);
  strlist_free(g->azAllowEnv, g->nAllowEnv);
  sqlite3_free(g->zCaFile);
  memset(g, 0, sizeof(*g));
}

/* A setting that is null or an array of non-empty names (lower-cased if
** bLower): *paz is NULL for null, else a list of *pn names (maybe 0). */
static int names_read(const cJSON *v, int bLower, const char *zWant, char ***paz, int *pn,
                      char **pzErr){
  const cJSON *h;
  char **az;
  int i = 0;
  *paz = 0;
  *pn = 0;
  if( cJSON_IsNull(v) ) return SQLITE_OK;
  if( !cJSON_IsArray(v) ) return bad(pzErr, v->string, zWant);
  az = sqlite3_malloc64(sizeof(char*)*(size_t)(cJSON_GetArraySize(v)+1));
  if( az==0 ) return SQLITE_NOMEM;
  cJSON_ArrayForEach(h, v){
    char *z;
    if( !cJSON_IsString(h) || h->valuestring[0]==0 ){
      strlist_free(az, i);
      return bad(pzErr, v->string, zWant);
    }
    z = az[i] = sqlite3_mprintf("%s", h->valuestring);
    if( z==0 ){ strlist_free(az, i); return SQLITE_NOMEM; }
    i++;
    for(; bLower && *z; z++) if( *z>='A' && *z<='Z' ) *z += 'a'-'A';
  }
  *paz = az;
  *pn = i;
  return SQLITE_OK;
}

int guard_set(Guard *g, const char *zJson, char **pzErr){
  cJSON *pRoot, *v;
  Guard n = *g;                   /* the new settings, applied at the end */
  char **azHost = 0, **azEnv = 0;
  char *zCaFile = 0;
  int nHost = 0, nEnv = 0, bHost = 0, bEnv = 0, bCaFile = 0, rc = SQLITE_OK;
  if( json_has_nul(zJson, strlen(zJson)) ){
    *pzErr = sqlite3_mprintf("api_fetch_config: the settings hold \\u0000, a NUL character");
    return SQLITE_ERROR;
  }
  pRoot = cJSON_ParseWithOpts(zJson, 0, 1);
  if( pRoot==0 || !cJSON_IsObject(pRoot) ){
    cJSON_Delete(pRoot);
    *pzErr = sqlite3_mprintf("api_fetch_config: the settings must be a JSON object");
    return SQLITE_ERROR;
  }
  if( g->bLocked ){
    cJSON_Delete(pRoot);
    *pzErr = sqlite3_mprintf("api_fetch_config: the settings of this connection are locked");
    return SQLITE_ERROR;
  }
  cJSON_ArrayForEach(v, pRoot){
    const char *k = v->string;
    if( json_key_repeated(pRoot, v) ){
      *pzErr = sqlite3_mprintf("api_fetch_config: setting %s is given twice", k);
      rc = SQLITE_ERROR;
      break;
    }
    if( strcmp(k, "disabled")==0 || strcmp(k, "block_private")==0 || strcmp(k, "lock")==0 ){
      if( !cJSON_IsBool(v) ){ rc = bad(pzErr, k, "true or false"); break; }
      if( k[0]=='d' ) n.bDisabled = cJSON_IsTrue(v);
      else if( k[0]=='b' ) n.bBlockPrivate = cJSON_IsTrue(v);
      else n.bLocked = cJSON_IsTrue(v);
    }else if( strcmp(k, "max_requests")==0 || strcmp(k, "max_total_bytes")==0
           || strcmp(k, "max_query_ms")==0 ){
      double d = v->valuedouble;
      if( !cJSON_IsNumber(v) || d<0 || d>9e15 || d!=(double)(sqlite3_int64)d ){
        rc = bad(pzErr, k, "a whole number, 0 for no limit");
        break;
      }
      if( k[4]=='r' ) n.maxRequests = (sqlite3_int64)d;
      else if( k[4]=='t' ) n.maxTotalBytes = (sqlite3_int64)d;
      else n.maxQueryMs = (sqlite3_int64)d;
    }else if( strcmp(k, "allow_hosts")==0 ){
      bHost = 1;
      if( (rc = names_read(v, 1, "an array of host names, or null", &azHost, &nHost, pzErr))!=0 ) break;
    }else if( strcmp(k, "allow_env")==0 ){
      bEnv = 1;
      if( (rc = names_read(v, 0, "an array of variable names, or null", &azEnv, &nEnv, pzErr))!=0 ) break;
    }else if( strcmp(k, "ca_file")==0 ){
      sqlite3_free(zCaFile);
      zCaFile = 0;
      bCaFile = 1;
      if( cJSON_IsNull(v) ) continue;
      if( !cJSON_IsString(v) || v->valuestring[0]==0 ){
        rc = bad(pzErr, k, "the path of a file of CA certificates, or null");
        break;
      }
      zCaFile = sqlite3_mprintf("%s", v->valuestring);
      if( zCaFile==0 ){ rc = SQLITE_NOMEM; break; }
    }else{
      *pzErr = sqlite3_mprintf("api_fetch_config: unknown setting \"%s\" (known: disabled, "
          "allow_hosts, block_private, max_requests, max_total_bytes, max_query_ms, allow_env, "
          "ca_file, lock)", k);
      rc = SQLITE_ERROR;
      break;
    }
  }
  cJSON_Delete(pRoot);
  if( rc ){
    strlist_free(azHost, nHost);
    strlist_free(azEnv, nEnv);
    sqlite3_free(zCaFile);
    return rc;
  }
  if( bCaFile ){
    sqlite3_free(g->zCaFile);
    n.zCaFile = zCaFile;
  }
  /* null: no list (NULL); []: a list that allows nothing. */
  if( bHost ){
    strlist_free(g->azAllowHost, g->nAllowHost);
    n.azAllowHost = azHost;
    n.nAllowHost = nHost;
  }
  if( bEnv ){
    strlist_free(g->azAllowEnv, g->nAllowEnv);
    n.azAllowEnv = azEnv;
    n.nAllowEnv = nEnv;
  }
  *g = n;
  return SQLITE_OK;
}

/* A list setting as names_read reads it: null, or an array of names. */
static int names_describe(cJSON *o, const char *zKey, char **az, int n){
  cJSON *a;
  int i;
  if( az==0 ) return cJSON_AddNullToObject(o, zKey)!=0;
  a = cJSON_AddArrayToObject(o, zKey);
  for(i=0; a && i<n; i++){
    if( !cJSON_AddItemToArray(a, cJSON_CreateString(az[i])) ) return 0;
  }
  return a!=0;
}

char *guard_describe(const Guard *g){
  cJSON *o = cJSON_CreateObject();
  char *zJson, *z;
  int ok;                         /* every setting made it (else: out of memory) */
  if( o==0 ) return 0;
  ok = cJSON_AddBoolToObject(o, "disabled", g->bDisabled)
    && names_describe(o, "allow_hosts", g->azAllowHost, g->nAllowHost)
    && cJSON_AddBoolToObject(o, "block_private", g->bBlockPrivate)
    && cJSON_AddNumberToObject(o, "max_requests", (double)g->maxRequests)
    && cJSON_AddNumberToObject(o, "max_total_bytes", (double)g->maxTotalBytes)
    && cJSON_AddNumberToObject(o, "max_query_ms", (double)g->maxQueryMs)
    && names_describe(o, "allow_env", g->azAllowEnv, g->nAllowEnv)
    && (g->zCaFile ? cJSON_AddStringToObject(o, "ca_file", g->zCaFile)
                   : cJSON_AddNullToObject(o, "ca_file"))
    && cJSON_AddBoolToObject(o, "lock", g->bLocked);
  zJson = ok ? cJSON_PrintUnformatted(o) : 0;
  cJSON_Delete(o);
  if( zJson==0 ) return 0;
  z = sqlite3_mprintf("%s", zJson);
  cJSON_free(zJson);
  return z;
}

static const char *v4_refused(const unsigned char *a){
  if( a[0]==127 ) return "a loopback address";
  if( a[0]==10 || (a[0]==172 && (a[1]&0xF0)==16) || (a[0]==192 && a[1]==168) ){
    return "a private address";
  }
  if( a[0]==100 && (a[1]&0xC0)==64 ) return "a shared (carrier-grade NAT) address";
  if( a[0]==169 && a[1]==254 ) return "a link-local address";
  if( a[0]==0 ) return "an unspecified address";
  if( a[0]>=224 ) return "a multicast or reserved address";
  return 0;
}

const char *guard_address_refused(const Guard *g, const struct sockaddr *pAddr){
  if( g==0 || !g->bBlockPrivate ) return 0;
  if( pAddr->sa_family==AF_INET ){
    const struct sockaddr_in *p = (const struct sockaddr_in*)pAddr;
    return v4_refused((const unsigned char*)&p->sin_addr);
  }
  if( pAddr->sa_family==AF_INET6 ){
    const unsigned char *a = ((const struct sockaddr_in6*)pAddr)->sin6_addr.s6_addr;
    static const unsigned char zero[16], v4mapped[12] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff};
    if( memcmp(a, zero, 15)==0 && (a[15]==0 || a[15]==1) ){
      return a[15] ? "a loopback address" : "an unspecified address";
    }
    if( memcmp(a, v4mapped, 12)==0 ) return v4_refused(a+12);
    /* IPv6 forms that carry an IPv4 address a translator may connect to:
    ** IPv4-compatible ::a.b.c.d, SIIT ::ffff:0:a.b.c.d, NAT64 64:ff9b::/96,
    ** 6to4 2002:aabb:ccdd::/48. */
    if( memcmp(a, zero, 12)==0 ) return v4_refused(a+12);
    if( memcmp(a, zero, 8)==0 && a[8]==0xff && a[9]==0xff && a[10]==0 && a[11]==0 ){
      return v4_refused(a+12);
    }
    if( a[0]==0 && a[1]==0x64 && a[2]==0xff && a[3]==0x9b && memcmp(a+4, zero, 8)==0 ){
      return v4_refused(a+12);
    }
    if( a[0]==0x20 && a[1]==0x02 ) return v4_refused(a+2);
    if( (a[0]&0xFE)==0xFC ) return "a private (unique local) address";
    if( a[0]==0xFE && (a[1]&0xC0)==0x80 ) return "a link-local address";
    if( a[0]==0xFF ) return "a multicast address";
    return 0;
  }
  return "not an IP address";
}

int guard_host_refused(const Guard *g, const char *zUrl){
  CURLU *h;
  char *zHost = 0;
  int i, bRefused = 1;
  if( g==0 || g->azAllowHost==0 ) return 0;
  h = curl_url();
  if( h && curl_url_set(h, CURLUPART_URL, zUrl, 0)==CURLUE_OK
   && curl_url_get(h, CURLUPART_HOST, &zHost, 0)==CURLUE_OK ){
    for(i=0; i<g->nAllowHost; i++){
      if( strcasecmp(zHost, g->azAllowHost[i])==0 ){ bRefused = 0; break; }
    }
  }
  curl_free(zHost);
  curl_url_cleanup(h);
  return bRefused;
}

/* api_fetch_config([settings]): apply settings (unless locked), return the
** settings in force as JSON. */
static void configFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Guard *g = (Guard*)sqlite3_user_data(ctx);
  char *z;
  if( argc==1 && sqlite3_value_type(argv[0])!=SQLITE_NULL ){
    char *zErr = 0;
    int rc;
    if( g->nQueryDepth>0 ){
      /* SQLITE_DIRECTONLY keeps views and triggers out; a url_query, which
      ** may be stored in someone else's database file, is kept out here. */
      sqlite3_result_error(ctx, "api_fetch_config: not allowed inside a url_query", -1);
      return;
    }
    rc = guard_set(g, (const char*)sqlite3_value_text(argv[0]), &zErr);
    if( rc ){
      if( zErr ){
        sqlite3_result_error(ctx, zErr, -1);
        sqlite3_free(zErr);
      }else{
        sqlite3_result_error_nomem(ctx);
      }
      return;
    }
  }
  z = guard_describe(g);
  if( z==0 ){ sqlite3_result_error_nomem(ctx); return; }
  sqlite3_result_text(ctx, z, -1, sqlite3_free);
}

/* Register api_fetch_config(), after applying APIFETCH_CONFIG to g.  A
** host that asked for limits must not get a connection without them, so a
** bad APIFETCH_CONFIG fails the load. */
int guard_register(sqlite3 *db, Guard *g, char **pzErr){
  const char *zEnv = getenv("APIFETCH_CONFIG");
  int rc;
  if( zEnv && zEnv[0] ){
    char *zErr = 0;
    rc = guard_set(g, zEnv, &zErr);
    if( rc ){
      *pzErr = sqlite3_mprintf("apifetch: APIFETCH_CONFIG: %s",
                               zErr ? zErr : "out of memory");
      sqlite3_free(zErr);
      return SQLITE_ERROR;
    }
  }
  rc = sqlite3_create_function_v2(db, "api_fetch_config", 0,
         SQLITE_UTF8 | SQLITE_DIRECTONLY, g, configFunc, 0, 0, 0);
  if( rc==SQLITE_OK ){
    rc = sqlite3_create_function_v2(db, "api_fetch_config", 1,
           SQLITE_UTF8 | SQLITE_DIRECTONLY, g, configFunc, 0, 0, 0);
  }
  return rc;
}
