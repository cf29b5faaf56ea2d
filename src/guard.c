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
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
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

/* Does pOpt's proxy, under g's block_private, have libcurl resolve the
** target (socks5://, not socks5h://)? */
static int guard_proxy_resolves_here(const Guard *g, const Options *pOpt){
  return g && g->bBlockPrivate && pOpt->zProxy && !guard_proxy_refused(g, pOpt)
      && strncasecmp(pOpt->zProxy, "socks5://", 9)==0;
}

int guard_refuses(const Guard *g, const Options *pOpt, char **pzErr){
  if( g->bDisabled ){
    *pzErr = sqlite3_mprintf("api_fetch: fetching is disabled on this connection "
                             "(api_fetch_config)");
  }else if( g->bLocked && pOpt->ca_file ){
    *pzErr = sqlite3_mprintf("api_fetch: option ca_file is not allowed: the settings of "
        "this connection are locked (the host sets a CA file with api_fetch_config's ca_file)");
  }else if( guard_proxy_refused(g, pOpt) ){
    /* A proxy of the query's choosing would fetch what block_private
    ** refuses (the target is not resolved here) or carry the requests
    ** wherever it likes. */
    *pzErr = sqlite3_mprintf("api_fetch: option %s is not allowed: this connection is %s "
        "(only the host's proxy is used: a profile's or the defaults')",
        guard_proxy_refused(g, pOpt), g->bLocked ? "locked" : "under block_private");
  }else if( guard_proxy_resolves_here(g, pOpt) ){
    /* socks5:// has libcurl resolve the target and hand the proxy its
    ** address: block_private would judge only the proxy's (the open-socket
    ** callback's), never the target's.  socks5h:// leaves the name to the
    ** proxy, as an http proxy does.  (The URL is not quoted: it may hold
    ** the proxy's password.) */
    *pzErr = sqlite3_mprintf("api_fetch: a socks5:// proxy resolves the target here, where "
        "block_private cannot check the address: use socks5h:// (the proxy resolves it)");
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

/* A KNOB_SPECIAL setting into n, by its knob's eSpecial (profiles and
** defaults are conn.c's: it reads them before it calls guard_set). */
static int guard_set_special(Guard *n, const Knob *pKnob, const cJSON *v, char **pzErr){
  char **az = 0;
  int nAz = 0, iBad, rc;
  switch( pKnob->eSpecial ){
    case KS_ALLOW_HOSTS:
      rc = names_read(v, 1, "an array of host names, or null", &az, &nAz, pzErr);
      if( rc ) return rc;
      for(iBad=0; iBad<nAz && guard_host_entry_error(az[iBad])==0; iBad++){}
      if( iBad<nAz ){
        *pzErr = sqlite3_mprintf("api_fetch_config: allow_hosts entry \"%s\": %s "
            "(entries are host, host:port or host:*)", az[iBad], guard_host_entry_error(az[iBad]));
        strlist_free(az, nAz);
        return SQLITE_ERROR;
      }
      /* null: no list (NULL); []: a list that allows nothing. */
      strlist_free(n->azAllowHost, n->nAllowHost);
      n->azAllowHost = az;
      n->nAllowHost = nAz;
      return SQLITE_OK;
    case KS_ALLOW_ENV:
      rc = names_read(v, 0, "an array of variable names, or null", &az, &nAz, pzErr);
      if( rc ) return rc;
      strlist_free(n->azAllowEnv, n->nAllowEnv);
      n->azAllowEnv = az;
      n->nAllowEnv = nAz;
      return SQLITE_OK;
    case KS_CA_FILE:
      sqlite3_free(n->zCaFile);
      n->zCaFile = 0;
      if( cJSON_IsNull(v) ) return SQLITE_OK;
      if( !cJSON_IsString(v) || v->valuestring[0]==0 ){
        return bad(pzErr, pKnob->zName, "the path of a file of CA certificates, or null");
      }
      n->zCaFile = sqlite3_mprintf("%s", v->valuestring);
      return n->zCaFile ? SQLITE_OK : SQLITE_NOMEM;
    default:
      assert( pKnob->eSpecial==KS_PROFILES || pKnob->eSpecial==KS_DEFAULTS );
      return SQLITE_OK;
  }
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
    const Knob *pKnob = knob_find(k, KF_CONFIG);
    if( json_key_repeated(pRoot, v) ){
      *pzErr = sqlite3_mprintf("api_fetch_config: setting %s is given twice", k);
      rc = SQLITE_ERROR;
      break;
    }
    if( pKnob==0 ){
      char *z = knob_unknown("unknown setting", k, KF_CONFIG);
      *pzErr = z ? sqlite3_mprintf("api_fetch_config: %s", z) : 0;
      sqlite3_free(z);
      rc = *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
      break;
    }
    rc = pKnob->eKind==KNOB_SPECIAL ? guard_set_special(&n, pKnob, v, pzErr)
                                    : knob_set_json(&n, pKnob, v, "api_fetch_config:", pzErr);
    if( rc ) break;
  }
  if( rc ){
    guard_clear(&n);
    return rc;
  }
  n.iGen = g->iGen + 1;
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
     && cJSON_AddNumberToObject(o, "max_concurrency", (double)g->maxConcurrency)
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

/* block_private: only globally reachable addresses.  The rows are the
** IANA special-purpose address registries (iana-ipv4-special-registry,
** iana-ipv6-special-registry) plus multicast and, for IPv6, everything
** outside global unicast (2000::/3): an address in a row is refused with
** its reason unless the row says the registry marks it globally reachable
** (zWhy NULL).  The first matching row decides, so those exceptions come
** before the blocks that hold them.  A list of what is allowed, not of
** what is known to be bad: a new special-purpose block is refused until a
** row says otherwise. */
typedef struct AddrBlock AddrBlock;
struct AddrBlock {
  unsigned char a[16];           /* Prefix (the first 4 bytes for IPv4) */
  int nBits;                     /* Prefix length */
  const char *zWhy;              /* Why refused; NULL: globally reachable */
};

static const AddrBlock aV4Block[] = {
  { {192,0,0,9},     32, 0 },                       /* PCP anycast */
  { {192,0,0,10},    32, 0 },                       /* TURN anycast */
  { {0,0,0,0},        8, "an unspecified (\"this network\") address (0.0.0.0/8)" },
  { {10,0,0,0},       8, "a private address (10.0.0.0/8)" },
  { {100,64,0,0},    10, "a shared (carrier-grade NAT) address (100.64.0.0/10)" },
  { {127,0,0,0},      8, "a loopback address (127.0.0.0/8)" },
  { {169,254,0,0},   16, "a link-local address (169.254.0.0/16)" },
  { {172,16,0,0},    12, "a private address (172.16.0.0/12)" },
  { {192,0,0,0},     24, "an IETF protocol assignment (192.0.0.0/24)" },
  { {192,0,2,0},     24, "a documentation address (192.0.2.0/24)" },
  { {192,88,99,0},   24, "a deprecated 6to4 relay address (192.88.99.0/24)" },
  { {192,168,0,0},   16, "a private address (192.168.0.0/16)" },
  { {198,18,0,0},    15, "a benchmarking address (198.18.0.0/15)" },
  { {198,51,100,0},  24, "a documentation address (198.51.100.0/24)" },
  { {203,0,113,0},   24, "a documentation address (203.0.113.0/24)" },
  { {224,0,0,0},      4, "a multicast address (224.0.0.0/4)" },
  { {240,0,0,0},      4, "a reserved address (240.0.0.0/4)" },
};

#define V6(a,b,c,d,e,f,g,h) { (a)>>8,(a)&255,(b)>>8,(b)&255,(c)>>8,(c)&255,(d)>>8,(d)&255, \
                              (e)>>8,(e)&255,(f)>>8,(f)&255,(g)>>8,(g)&255,(h)>>8,(h)&255 }
static const AddrBlock aV6Block[] = {
  { V6(0x2001,0x1,0,0,0,0,0,0x1),  128, 0 },          /* PCP anycast */
  { V6(0x2001,0x1,0,0,0,0,0,0x2),  128, 0 },          /* TURN anycast */
  { V6(0x2001,0x1,0,0,0,0,0,0x3),  128, 0 },          /* DNS-SD SRP anycast */
  { V6(0x2001,0x3,0,0,0,0,0,0),     32, 0 },          /* AMT */
  { V6(0x2001,0x4,0x112,0,0,0,0,0), 48, 0 },          /* AS112-v6 */
  { V6(0x2001,0x20,0,0,0,0,0,0),    28, 0 },          /* ORCHIDv2 */
  { V6(0x2001,0x30,0,0,0,0,0,0),    28, 0 },          /* Drone Remote ID */
  { V6(0,0,0,0,0,0,0,0x1),         128, "a loopback address (::1)" },
  { V6(0,0,0,0,0,0,0,0),           128, "an unspecified address (::)" },
  { V6(0x64,0xff9b,0x1,0,0,0,0,0),  48, "a local-use IPv4/IPv6 translation address (64:ff9b:1::/48)" },
  { V6(0x100,0,0,0,0,0,0,0),        64, "a discard-only address (100::/64)" },
  { V6(0x100,0,0,0x1,0,0,0,0),      64, "a dummy address (100:0:0:1::/64)" },
  { V6(0x2001,0xdb8,0,0,0,0,0,0),   32, "a documentation address (2001:db8::/32)" },
  { V6(0x2001,0,0,0,0,0,0,0),       23, "an IETF protocol assignment (2001::/23)" },
  { V6(0x3fff,0,0,0,0,0,0,0),       20, "a documentation address (3fff::/20)" },
  { V6(0x5f00,0,0,0,0,0,0,0),       16, "a segment routing (SRv6) address (5f00::/16)" },
  { V6(0xfc00,0,0,0,0,0,0,0),        7, "a private (unique local) address (fc00::/7)" },
  { V6(0xfe80,0,0,0,0,0,0,0),       10, "a link-local address (fe80::/10)" },
  { V6(0xfec0,0,0,0,0,0,0,0),       10, "a site-local address (fec0::/10)" },
  { V6(0xff00,0,0,0,0,0,0,0),        8, "a multicast address (ff00::/8)" },
  { V6(0x2000,0,0,0,0,0,0,0),        3, 0 },          /* global unicast */
  { V6(0,0,0,0,0,0,0,0),             0, "not a global unicast address (outside 2000::/3)" },
};

static int prefix_match(const unsigned char *a, const unsigned char *p, int nBits){
  int nByte = nBits/8, nRest = nBits%8;
  if( memcmp(a, p, (size_t)nByte)!=0 ) return 0;
  return nRest==0 || ((a[nByte]^p[nByte]) & (0xFF00>>nRest) & 0xFF)==0;
}

static const char *block_refused(const AddrBlock *aBlock, int nBlock, const unsigned char *a){
  int i;
  for(i=0; i<nBlock; i++){
    if( prefix_match(a, aBlock[i].a, aBlock[i].nBits) ) return aBlock[i].zWhy;
  }
  return 0;
}
#define V4_REFUSED(a) block_refused(aV4Block, ArraySize(aV4Block), a)

const char *guard_address_refused(const Guard *g, const struct sockaddr *pAddr){
  if( g==0 || !g->bBlockPrivate ) return 0;
  if( pAddr->sa_family==AF_INET ){
    const struct sockaddr_in *p = (const struct sockaddr_in*)pAddr;
    const unsigned char *a = (const unsigned char*)&p->sin_addr;
    if( a[0]==255 && a[1]==255 && a[2]==255 && a[3]==255 ) return "a broadcast address";
    return V4_REFUSED(a);
  }
  if( pAddr->sa_family==AF_INET6 ){
    const unsigned char *a = ((const struct sockaddr_in6*)pAddr)->sin6_addr.s6_addr;
    static const unsigned char zero[16];
    /* IPv6 forms that carry an IPv4 address that the host, or a translator
    ** on the way, connects to: IPv4-mapped ::ffff:a.b.c.d, SIIT
    ** ::ffff:0:a.b.c.d, IPv4-compatible ::a.b.c.d (but :: and ::1), NAT64
    ** 64:ff9b::/96, 6to4 2002:aabb:ccdd::/48.  The IPv4 address decides. */
    if( memcmp(a, zero, 10)==0 && a[10]==0xff && a[11]==0xff ) return V4_REFUSED(a+12);
    if( memcmp(a, zero, 8)==0 && a[8]==0xff && a[9]==0xff && a[10]==0 && a[11]==0 ){
      return V4_REFUSED(a+12);
    }
    if( memcmp(a, zero, 12)==0 && !(memcmp(a+12, zero, 3)==0 && a[15]<=1) ){
      return V4_REFUSED(a+12);
    }
    if( a[0]==0 && a[1]==0x64 && a[2]==0xff && a[3]==0x9b && memcmp(a+4, zero, 8)==0 ){
      return V4_REFUSED(a+12);
    }
    if( a[0]==0x20 && a[1]==0x02 ) return V4_REFUSED(a+2);
    return block_refused(aV6Block, ArraySize(aV6Block), a);
  }
  return "not an IP address";
}

char *guard_address_refusal(const Guard *g, const struct sockaddr *pAddr, int *pbOom){
  const char *zWhy = guard_address_refused(g, pAddr);
  char zIp[INET6_ADDRSTRLEN] = "?";
  char *z;
  if( zWhy==0 ) return 0;
  if( pAddr->sa_family==AF_INET6 ){
    inet_ntop(AF_INET6, &((const struct sockaddr_in6*)pAddr)->sin6_addr, zIp, sizeof(zIp));
  }else if( pAddr->sa_family==AF_INET ){
    inet_ntop(AF_INET, &((const struct sockaddr_in*)pAddr)->sin_addr, zIp, sizeof(zIp));
  }
  z = sqlite3_mprintf("refused by block_private: %s is %s", zIp, zWhy);
  if( z==0 ) *pbOom = 1;
  return z;
}

char *guard_ip_refusal(const Guard *g, const char *zIp, int *pbOom){
  struct sockaddr_storage a;
  char *z;
  if( g==0 || !g->bBlockPrivate ) return 0;
  memset(&a, 0, sizeof(a));
  if( zIp && inet_pton(AF_INET, zIp, &((struct sockaddr_in*)&a)->sin_addr)==1 ){
    a.ss_family = AF_INET;
  }else if( zIp && inet_pton(AF_INET6, zIp, &((struct sockaddr_in6*)&a)->sin6_addr)==1 ){
    a.ss_family = AF_INET6;
  }else{
    /* Not known (a cache file is data: the column may hold anything), so
    ** not known to be allowed. */
    z = sqlite3_mprintf("refused by block_private: the address it came from (%s) is not "
                        "an IP address", zIp ? zIp : "none recorded");
    if( z==0 ) *pbOom = 1;
    return z;
  }
  return guard_address_refusal(g, (const struct sockaddr*)&a, pbOom);
}

/* allow_hosts entries: "host" (the default ports, 80 and 443), "host:port"
** or "host:*" (any port); an IPv6 address in brackets, "[::1]:8080".
** Does entry z allow host zHost (lower case, brackets kept) on port iPort? */
static int host_entry_allows(const char *z, const char *zHost, long iPort){
  const char *zColon = z[0]=='[' ? strstr(z, "]:") : strchr(z, ':');
  size_t nHost;
  if( z[0]=='[' && zColon ) zColon++;
  if( z[0]!='[' && zColon && strchr(zColon+1, ':') ) zColon = 0;   /* a bare IPv6 address */
  nHost = zColon ? (size_t)(zColon - z) : strlen(z);
  if( z[0]!='[' && strchr(z, ':') && zColon==0 ){
    /* "::1" means "[::1]" */
    size_t n = strlen(zHost);
    if( n!=nHost+2 || zHost[0]!='[' || strncmp(zHost+1, z, nHost)!=0 ) return 0;
  }else if( strlen(zHost)!=nHost || strncmp(zHost, z, nHost)!=0 ){
    return 0;
  }
  if( zColon==0 ) return iPort==80 || iPort==443;
  if( strcmp(zColon+1, "*")==0 ) return 1;
  return strtol(zColon+1, 0, 10)==iPort;
}

/* Is an allow_hosts entry well formed?  Returns NULL or why not. */
const char *guard_host_entry_error(const char *z){
  const char *zColon = z[0]=='[' ? strstr(z, "]:") : strchr(z, ':');
  const char *s;
  if( z[0]=='[' ){
    if( strchr(z, ']')==0 ) return "an IPv6 address needs its closing ]";
    if( zColon==0 ) return strchr(z, ']')[1] ? "text after ] must be :port" : 0;
    zColon++;
  }else if( zColon && strchr(zColon+1, ':') ){
    return 0;                      /* a bare IPv6 address */
  }
  if( zColon==0 ) return 0;
  if( zColon==z ) return "the host is missing";
  if( strcmp(zColon+1, "*")==0 ) return 0;
  for(s=zColon+1; *s; s++) if( *s<'0' || *s>'9' ) break;
  if( s==zColon+1 || *s || strtol(zColon+1, 0, 10)<1 || strtol(zColon+1, 0, 10)>65535 ){
    return "the port must be a number from 1 to 65535, or *";
  }
  return 0;
}

int guard_host_refused(const Guard *g, const char *zUrl, char **pzHostPort){
  CURLU *h;
  char *zHost = 0, *zPort = 0, *z;
  int i, bRefused = 1;
  if( pzHostPort ) *pzHostPort = 0;
  if( g==0 || g->azAllowHost==0 ) return 0;
  h = curl_url();
  if( h && curl_url_set(h, CURLUPART_URL, zUrl, 0)==CURLUE_OK
   && curl_url_get(h, CURLUPART_HOST, &zHost, 0)==CURLUE_OK
   && curl_url_get(h, CURLUPART_PORT, &zPort, CURLU_DEFAULT_PORT)==CURLUE_OK ){
    long iPort = strtol(zPort, 0, 10);
    for(z=zHost; *z; z++) if( *z>='A' && *z<='Z' ) *z += 'a'-'A';
    for(i=0; i<g->nAllowHost; i++){
      if( host_entry_allows(g->azAllowHost[i], zHost, iPort) ){ bRefused = 0; break; }
    }
    if( bRefused && pzHostPort ) *pzHostPort = sqlite3_mprintf("%s:%ld", zHost, iPort);
  }
  curl_free(zHost);
  curl_free(zPort);
  curl_url_cleanup(h);
  return bRefused;
}

char *guard_url_refusal(const Guard *g, const char *zUrl, const struct curl_slist *pHeaders,
                        int *pbOom){
  const struct curl_slist *l;
  char *z = 0, *zHostPort = 0;
  if( g==0 || g->azAllowHost==0 ) return 0;
  /* A Host header would reach another virtual host at an allowed address. */
  for(l=pHeaders; l; l=l->next){
    /* "Host:" with a value, or "Host;", which libcurl sends as an empty one. */
    if( strncasecmp(l->data, "host", 4)==0 && (l->data[4]==':' || l->data[4]==';') ){
      z = sqlite3_mprintf("refused by allow_hosts: a Host header is not allowed "
                          "(the host is the URL's)");
      if( z==0 ) *pbOom = 1;
      return z;
    }
  }
  if( zUrl && guard_host_refused(g, zUrl, &zHostPort) ){
    z = sqlite3_mprintf("refused by allow_hosts: %s is not allowed (%s)",
                        zHostPort ? zHostPort : "the host", zUrl);
    if( z==0 ) *pbOom = 1;
  }
  sqlite3_free(zHostPort);
  return z;
}

/**************************************************************************
** Proxies: which one a request goes through, and what block_private can
** check when one is in the way.  The proxy's address is the host's choice
** (a profile's or the defaults'), often a private one, so it is not
** checked; the target's is resolved by the proxy, not here, so only what
** the URL itself says can be: an IP address, or localhost.
*/

int guard_proxy_url_ok(const char *z){
  static const char *const azScheme[] = { "http://", "https://", "socks5://", "socks5h://" };
  int i;
  for(i=0; i<ArraySize(azScheme); i++){
    if( strncasecmp(z, azScheme[i], strlen(azScheme[i]))==0 ) return 1;
  }
  return z[0]==0;
}

const char *guard_proxy_refused(const Guard *g, const Options *pOpt){
  int bOwnProxy = pOpt->zProxy && !pOpt->bProxyHost;
  if( g==0 ) return 0;
  /* Locked, a query may not route around the host's proxy either (by
  ** "", none, or no_proxy): the host's proxy may be what filters its
  ** egress, in place of block_private. */
  if( g->bLocked && bOwnProxy ) return "proxy";
  if( g->bLocked && pOpt->bNoProxyOwn ) return "no_proxy";
  return g->bBlockPrivate && bOwnProxy && pOpt->zProxy[0] ? "proxy" : 0;
}

int guard_proxy_setup(CURL *h, const Guard *g, const Options *pOpt, int *pbProxied){
  int bBlock = g && g->bBlockPrivate;
  CURLcode cc = CURLE_OK;
  *pbProxied = 0;
  if( pOpt->zProxy && pOpt->zProxy[0] && !guard_proxy_refused(g, pOpt) ){
    cc = curl_easy_setopt(h, CURLOPT_PROXY, pOpt->zProxy);
    *pbProxied = 1;
  }else if( pOpt->zProxy || bBlock ){
    /* "" says no proxy; and under block_private none from the environment
    ** either, which the host may not have meant for this (the address
    ** checked would be the proxy's, which fetches whatever it is asked). */
    cc = curl_easy_setopt(h, CURLOPT_PROXY, "");
  }
  if( cc==CURLE_OK && bBlock && *pbProxied ){
    /* Everything through the host's proxy: a host in no_proxy would be
    ** connected to directly, on an address on_open_socket could not tell
    ** from the proxy's. */
    cc = curl_easy_setopt(h, CURLOPT_NOPROXY, "");
  }else if( cc==CURLE_OK && pOpt->zNoProxy ){
    cc = curl_easy_setopt(h, CURLOPT_NOPROXY, pOpt->zNoProxy);
  }
  return cc==CURLE_OK ? SQLITE_OK : SQLITE_NOMEM;
}

char *guard_proxied_refusal(const Guard *g, const char *zUrl, int *pbOom){
  CURLU *h;
  char *zHost = 0, *z = 0;
  size_t n;
  CURLUcode uc;
  if( g==0 || !g->bBlockPrivate || zUrl==0 ) return 0;
  h = curl_url();
  if( h==0 ){ *pbOom = 1; return 0; }
  if( curl_url_set(h, CURLUPART_URL, zUrl, 0)!=CURLUE_OK ){
    /* Not a URL libcurl takes: it sends nothing either. */
  }else if( (uc = curl_url_get(h, CURLUPART_HOST, &zHost, CURLU_PUNYCODE))!=CURLUE_OK ){
    /* The host as libcurl sends it: an international name goes by IDNA,
    ** which makes "127\u30020\u30020\u30021" (ideographic full stops)
    ** 127.0.0.1.  One that cannot be converted cannot be judged. */
    if( uc==CURLUE_OUT_OF_MEMORY ){
      *pbOom = 1;
    }else{
      z = sqlite3_mprintf("refused by block_private: the URL's host name cannot be put "
                          "in the form it would be sent in (IDNA), so it cannot be judged");
      if( z==0 ) *pbOom = 1;
    }
  }else{
    n = strlen(zHost);
    if( zHost[0]=='[' && n>=2 && zHost[n-1]==']' ){ zHost[n-1] = 0; memmove(zHost, zHost+1, n-1); }
    n = strlen(zHost);
    /* A name with trailing dots is the same name, absolute (RFC 1034
    ** section 3.1), and the proxy may resolve "localhost." or
    ** "169.254.169.254." as it would the name without them. */
    while( n>1 && zHost[n-1]=='.' ) zHost[--n] = 0;
    if( strcasecmp(zHost, "localhost")==0
     || (n>10 && strcasecmp(zHost+n-10, ".localhost")==0) ){
      z = sqlite3_mprintf("refused by block_private: %s is loopback (RFC 6761)", zHost);
      if( z==0 ) *pbOom = 1;
    }else{
      struct in6_addr a;
      if( inet_pton(AF_INET, zHost, &a)==1 || inet_pton(AF_INET6, zHost, &a)==1 ){
        z = guard_ip_refusal(g, zHost, pbOom);
      }
    }
  }
  curl_free(zHost);
  curl_url_cleanup(h);
  return z;
}
