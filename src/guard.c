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

/* A deep copy of a list of names (NULL stays NULL). */
static int names_copy(char **az, int n, char ***paz){
  char **azNew;
  int i;
  *paz = 0;
  if( az==0 ) return SQLITE_OK;
  azNew = sqlite3_malloc64(sizeof(char*)*(size_t)(n+1));
  if( azNew==0 ) return SQLITE_NOMEM;
  for(i=0; i<n; i++){
    azNew[i] = sqlite3_mprintf("%s", az[i]);
    if( azNew[i]==0 ){ strlist_free(azNew, i); return SQLITE_NOMEM; }
  }
  *paz = azNew;
  return SQLITE_OK;
}

int guard_set(const Guard *g, const cJSON *pRoot, Guard *pNew, char **pzErr){
  const cJSON *v;
  Guard n = *g;                   /* the new settings: g's, deep-copied below */
  int rc = SQLITE_OK;
  n.azAllowHost = 0;
  n.azAllowEnv = 0;
  n.zCaFile = 0;
  memset(pNew, 0, sizeof(*pNew));
  if( names_copy(g->azAllowHost, g->nAllowHost, &n.azAllowHost)
   || names_copy(g->azAllowEnv, g->nAllowEnv, &n.azAllowEnv)
   || (g->zCaFile && (n.zCaFile = sqlite3_mprintf("%s", g->zCaFile))==0) ){
    guard_clear(&n);
    return SQLITE_NOMEM;
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
      char **az = 0;
      int nAz = 0;
      rc = names_read(v, 1, "an array of host names, or null", &az, &nAz, pzErr);
      if( rc ) break;
      /* null: no list (NULL); []: a list that allows nothing. */
      strlist_free(n.azAllowHost, n.nAllowHost);
      n.azAllowHost = az;
      n.nAllowHost = nAz;
    }else if( strcmp(k, "allow_env")==0 ){
      char **az = 0;
      int nAz = 0;
      rc = names_read(v, 0, "an array of variable names, or null", &az, &nAz, pzErr);
      if( rc ) break;
      strlist_free(n.azAllowEnv, n.nAllowEnv);
      n.azAllowEnv = az;
      n.nAllowEnv = nAz;
    }else if( strcmp(k, "ca_file")==0 ){
      sqlite3_free(n.zCaFile);
      n.zCaFile = 0;
      if( cJSON_IsNull(v) ) continue;
      if( !cJSON_IsString(v) || v->valuestring[0]==0 ){
        rc = bad(pzErr, k, "the path of a file of CA certificates, or null");
        break;
      }
      n.zCaFile = sqlite3_mprintf("%s", v->valuestring);
      if( n.zCaFile==0 ){ rc = SQLITE_NOMEM; break; }
    }else if( strcmp(k, "profiles")==0 ){
      /* conn.c's */
    }else{
      *pzErr = sqlite3_mprintf("api_fetch_config: unknown setting \"%s\" (known: disabled, "
          "allow_hosts, block_private, max_requests, max_total_bytes, max_query_ms, allow_env, "
          "ca_file, profiles, lock)", k);
      rc = SQLITE_ERROR;
      break;
    }
  }
  if( rc ){
    guard_clear(&n);
    return rc;
  }
  *pNew = n;
  return SQLITE_OK;
}

void guard_replace(Guard *g, Guard *pNew){
  int nDepth = g->nQueryDepth;
  guard_clear(g);
  *g = *pNew;
  g->nQueryDepth = nDepth;
  memset(pNew, 0, sizeof(*pNew));
}

/* A list setting as names_read reads it: null, or an array of names. */
static int names_describe(cJSON *o, const char *zKey, char **az, int n){
  cJSON *a, *pStr;
  int i;
  if( az==0 ) return cJSON_AddNullToObject(o, zKey)!=0;
  a = cJSON_AddArrayToObject(o, zKey);
  for(i=0; a && i<n; i++){
    pStr = cJSON_CreateString(az[i]);
    if( pStr==0 || !cJSON_AddItemToArray(a, pStr) ){ cJSON_Delete(pStr); return 0; }
  }
  return a!=0;
}

cJSON *guard_describe(const Guard *g){
  cJSON *o = cJSON_CreateObject();
  int bOk;
  if( o==0 ) return 0;
  /* Each Add returns NULL when it cannot allocate: an incomplete answer
  ** would misstate the limits, so it is no answer. */
  bOk = cJSON_AddBoolToObject(o, "disabled", g->bDisabled)
     && names_describe(o, "allow_hosts", g->azAllowHost, g->nAllowHost)
     && cJSON_AddBoolToObject(o, "block_private", g->bBlockPrivate)
     && cJSON_AddNumberToObject(o, "max_requests", (double)g->maxRequests)
     && cJSON_AddNumberToObject(o, "max_total_bytes", (double)g->maxTotalBytes)
     && cJSON_AddNumberToObject(o, "max_query_ms", (double)g->maxQueryMs)
     && names_describe(o, "allow_env", g->azAllowEnv, g->nAllowEnv)
     && (g->zCaFile ? cJSON_AddStringToObject(o, "ca_file", g->zCaFile)!=0
                    : cJSON_AddNullToObject(o, "ca_file")!=0)
     && cJSON_AddBoolToObject(o, "lock", g->bLocked);
  if( !bOk ){
    cJSON_Delete(o);
    return 0;
  }
  return o;
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
