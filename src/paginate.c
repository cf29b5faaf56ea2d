/*
** paginate.c - following a collection across pages, for each starting URL.
**
**   SELECT * FROM api_fetch('["https://api.example.com/items"]', 10,
**     '{"paginate": {"type": "page", "total_pages": "meta.total_pages"}}');
**
** Kinds (option paginate, an object):
**
**   page    ?page=1,2,3...   "param" (page), "start" (1), "per_page" and
**   offset  ?offset=0,N,2N.. "size_param" (sent with per_page); "param"
**                            (offset), "per_page" (required)
**           The total is learnt from the first page: "total_pages" or
**           "total_items" (JSON paths), "total_header" (e.g.
**           X-Total-Count, items), or "last_link": true (the Link header's
**           rel="last" URL).  Then every other page is queued at once and
**           fetched concurrently.  With no total, pages are fetched one
**           after another until an empty page.
**   cursor  ?cursor=<value at "cursor_path" in the body>
**   next    the URL at "next_path" in the body (relative URLs resolved)
**   link    the Link header's rel="next" URL (RFC 8288)
**           These are chains: each page is requested when the one before
**           it has arrived; many chains (starting URLs) run at once.
**
** Every kind stops at an empty page, at "max_pages" (default 1000) pages,
** and when there is no next page.  A page that fails after its retries is
** an error row naming that page's URL; the chain it was on stops there.
*/
#include <assert.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>
#include "apifetch.h"

/**************************************************************************
** Options
*/
void paginate_clear(Paginate *p){
  sqlite3_free(p->zParam);
  sqlite3_free(p->zSizeParam);
  sqlite3_free(p->zTotalHeader);
  strlist_free(p->azTotalPages, p->nTotalPages);
  strlist_free(p->azTotalItems, p->nTotalItems);
  strlist_free(p->azCursor, p->nCursor);
  strlist_free(p->azNext, p->nNext);
  memset(p, 0, sizeof(*p));
}

int paginate_parse(Paginate *p, const cJSON *v, char **pzErr){
  static const char *const azType[] = { "page", "offset", "cursor", "next", "link", 0 };
  const cJSON *k;
  int i;
  paginate_clear(p);
  p->nMaxPages = 1000;
  if( cJSON_IsNull(v) ) return SQLITE_OK;      /* null: no pagination (over a profile's) */
  if( !cJSON_IsObject(v) ){
    *pzErr = sqlite3_mprintf("api_fetch: option paginate must be an object such as "
                             "{\"type\": \"page\", \"total_pages\": \"meta.total_pages\"}");
    return SQLITE_ERROR;
  }
  cJSON_ArrayForEach(k, v){
    const char *n = k->string;
    int rc = SQLITE_OK;
    if( strcmp(n, "type")==0 ){
      for(i=0; azType[i] && !(cJSON_IsString(k) && strcmp(k->valuestring, azType[i])==0); i++){}
      if( azType[i]==0 ){
        *pzErr = sqlite3_mprintf("api_fetch: paginate type must be \"page\", \"offset\", "
                                 "\"cursor\", \"next\" or \"link\"");
        return SQLITE_ERROR;
      }
      p->eType = PAGE_NUMBER + i;
    }else if( strcmp(n, "param")==0 || strcmp(n, "size_param")==0
           || strcmp(n, "total_header")==0 ){
      char **pz = n[0]=='p' ? &p->zParam : n[0]=='s' ? &p->zSizeParam : &p->zTotalHeader;
      if( !cJSON_IsString(k) || k->valuestring[0]==0 ) goto want_string;
      sqlite3_free(*pz);
      *pz = sqlite3_mprintf("%s", k->valuestring);
      if( *pz==0 ) return SQLITE_NOMEM;
      if( pz==&p->zTotalHeader ) p->nTotalHeader = strlen(*pz);
    }else if( strcmp(n, "total_pages")==0 || strcmp(n, "total_items")==0
           || strcmp(n, "cursor_path")==0 || strcmp(n, "next_path")==0 ){
      char ***paz = n[0]=='t' ? (n[6]=='p' ? &p->azTotalPages : &p->azTotalItems)
                  : n[0]=='c' ? &p->azCursor : &p->azNext;
      int *pn = n[0]=='t' ? (n[6]=='p' ? &p->nTotalPages : &p->nTotalItems)
              : n[0]=='c' ? &p->nCursor : &p->nNext;
      if( !cJSON_IsString(k) ) goto want_string;
      strlist_free(*paz, *pn);
      *paz = 0; *pn = 0;
      rc = path_split(k->valuestring, paz, pn);
      if( rc==SQLITE_NOMEM ) return rc;
      if( rc || *pn>APIFETCH_MAX_PATH ) goto want_string;
    }else if( strcmp(n, "start")==0 || strcmp(n, "per_page")==0 || strcmp(n, "max_pages")==0 ){
      double d = k->valuedouble;
      if( !cJSON_IsNumber(k) || d<0 || d>1e12 || d!=(double)(sqlite3_int64)d ){
        *pzErr = sqlite3_mprintf("api_fetch: paginate %s must be a whole number", n);
        return SQLITE_ERROR;
      }
      if( n[0]=='m' && d<1 ){
        *pzErr = sqlite3_mprintf("api_fetch: paginate max_pages must be at least 1 "
                                 "(the first page is always fetched)");
        return SQLITE_ERROR;
      }
      if( n[0]=='s' ) p->iStart = (sqlite3_int64)d, p->bStart = 1;
      else if( n[0]=='p' ) p->nPerPage = (sqlite3_int64)d;
      else p->nMaxPages = (int)(d>1000000 ? 1000000 : d);
    }else if( strcmp(n, "last_link")==0 ){
      if( !cJSON_IsBool(k) ){
        *pzErr = sqlite3_mprintf("api_fetch: paginate last_link must be true or false");
        return SQLITE_ERROR;
      }
      p->bLastLink = cJSON_IsTrue(k);
    }else{
      *pzErr = sqlite3_mprintf("api_fetch: unknown paginate key \"%s\" (known: type, param, "
          "start, per_page, size_param, total_pages, total_items, total_header, last_link, "
          "cursor_path, next_path, max_pages)", n);
      return SQLITE_ERROR;
    }
    continue;
  want_string:
    *pzErr = sqlite3_mprintf("api_fetch: paginate %s must be a non-empty string%s", n,
        (n[0]=='t' && n[6]!='h') || n[0]=='c' || n[0]=='n' ? " (a path such as \"meta.total\")" : "");
    return SQLITE_ERROR;
  }
  if( p->eType==PAGE_NONE ){
    *pzErr = sqlite3_mprintf("api_fetch: paginate needs a type: \"page\", \"offset\", "
                             "\"cursor\", \"next\" or \"link\"");
    return SQLITE_ERROR;
  }
  if( p->zParam==0 && (p->eType==PAGE_NUMBER || p->eType==PAGE_OFFSET || p->eType==PAGE_CURSOR) ){
    p->zParam = sqlite3_mprintf("%s", p->eType==PAGE_NUMBER ? "page"
                                      : p->eType==PAGE_OFFSET ? "offset" : "cursor");
    if( p->zParam==0 ) return SQLITE_NOMEM;
  }
  if( !p->bStart ) p->iStart = p->eType==PAGE_NUMBER ? 1 : 0;
  if( p->eType==PAGE_OFFSET && p->nPerPage<=0 ){
    *pzErr = sqlite3_mprintf("api_fetch: paginate type \"offset\" needs per_page");
    return SQLITE_ERROR;
  }
  if( p->eType==PAGE_CURSOR && p->azCursor==0 ){
    *pzErr = sqlite3_mprintf("api_fetch: paginate type \"cursor\" needs cursor_path");
    return SQLITE_ERROR;
  }
  if( p->eType==PAGE_NEXT_URL && p->azNext==0 ){
    *pzErr = sqlite3_mprintf("api_fetch: paginate type \"next\" needs next_path");
    return SQLITE_ERROR;
  }
  if( p->azTotalItems && p->nPerPage<=0 ){
    *pzErr = sqlite3_mprintf("api_fetch: paginate total_items needs per_page");
    return SQLITE_ERROR;
  }
  if( p->zTotalHeader && p->nPerPage<=0 ){
    *pzErr = sqlite3_mprintf("api_fetch: paginate total_header needs per_page");
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

/**************************************************************************
** URLs
*/

/* zUrl with query parameter zName set to zValue (replacing any). */
char *url_with_params(const char *zUrl, const char *const *azPair, int nPair){
  CURLU *h = curl_url();
  char *zQuery = 0, *zOut = 0, *zNewUrl = 0;
  Buf q = {0, 0, 0, 0};
  CURLUcode uc;
  int i;
  if( h==0 ) return 0;
  if( curl_url_set(h, CURLUPART_URL, zUrl, 0)!=CURLUE_OK ) goto done;
  uc = curl_url_get(h, CURLUPART_QUERY, &zQuery, 0);
  if( uc!=CURLUE_OK && uc!=CURLUE_NO_QUERY ) goto done;  /* not: drop the URL's own */
  if( zQuery ){
    /* Keep the URL's parameters but those about to be set. */
    const char *s = zQuery;
    while( *s ){
      const char *e = strchr(s, '&');
      size_t len = e ? (size_t)(e-s) : strlen(s);
      int bKeep = len>0;
      for(i=0; i<nPair && bKeep; i++){
        size_t nName = strlen(azPair[2*i]);
        if( len>=nName && strncmp(s, azPair[2*i], nName)==0
         && (len==nName || s[nName]=='=') ) bKeep = 0;
      }
      if( bKeep ){
        if( q.n ) buf_append(&q, "&", 1);
        buf_append(&q, s, len);
      }
      s += len + (e ? 1 : 0);
    }
  }
  for(i=0; i<nPair; i++){
    char *zEsc = curl_easy_escape(0, azPair[2*i+1], 0);
    if( zEsc==0 ) goto done;
    if( q.n ) buf_append(&q, "&", 1);
    buf_append(&q, azPair[2*i], strlen(azPair[2*i]));
    buf_append(&q, "=", 1);
    buf_append(&q, zEsc, strlen(zEsc));
    curl_free(zEsc);
  }
  if( q.bOom ) goto done;
  if( curl_url_set(h, CURLUPART_QUERY, q.z, 0)!=CURLUE_OK ) goto done;
  if( curl_url_get(h, CURLUPART_URL, &zNewUrl, 0)!=CURLUE_OK ) goto done;
  zOut = sqlite3_mprintf("%s", zNewUrl);
done:
  curl_free(zQuery);
  curl_free(zNewUrl);
  buf_free(&q);
  curl_url_cleanup(h);
  return zOut;
}

char *url_with_param(const char *zUrl, const char *zName, const char *zValue){
  const char *az[2];
  az[0] = zName;
  az[1] = zValue;
  return url_with_params(zUrl, az, 1);
}

/* zRef resolved against zBase (RFC 3986).  NULL if zRef is not a URL,
** or with *pbOom set if out of memory. */
static char *resolve(const char *zBase, const char *zRef, int *pbOom){
  CURLU *h = curl_url();
  char *z = 0, *zOut = 0;
  CURLUcode uc = CURLUE_OUT_OF_MEMORY;
  if( h && (uc = curl_url_set(h, CURLUPART_URL, zBase, 0))==CURLUE_OK
   && (uc = curl_url_set(h, CURLUPART_URL, zRef, 0))==CURLUE_OK
   && (uc = curl_url_get(h, CURLUPART_URL, &z, 0))==CURLUE_OK ){
    zOut = sqlite3_mprintf("%s", z);
  }
  *pbOom = uc==CURLUE_OUT_OF_MEMORY || (uc==CURLUE_OK && zOut==0);
  curl_free(z);
  curl_url_cleanup(h);
  return zOut;
}

char *url_resolve(const char *zBase, const char *zRef){
  int bOom;
  return resolve(zBase, zRef, &bOom);
}

/* The value of query parameter zName in zUrl, as a number, or -1. */
static sqlite3_int64 url_param_int(const char *zUrl, const char *zName){
  const char *q = strchr(zUrl, '?');
  size_t n = strlen(zName);
  while( q && *q ){
    q++;
    if( strncmp(q, zName, n)==0 && q[n]=='=' ){
      sqlite3_int64 v = 0;
      const char *s = q + n + 1;
      if( *s<'0' || *s>'9' ) return -1;
      for(; *s>='0' && *s<='9' && v<1000000000000LL; s++) v = v*10 + (*s-'0');
      return v;
    }
    q = strchr(q, '&');
  }
  return -1;
}

/* The Link header (RFC 8288 section 3):
**
**   Link       = #link-value
**   link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
**   link-param = token BWS [ "=" BWS ( token / quoted-string ) ]
**
** Several headers arrive joined by ", ".  The target of the first link
** whose rel holds zRel (rel is a space-separated list, compared without
** case; a second rel in one link is ignored, section 3.3), resolved
** against zBase; NULL if none, or with *pbOom set on OOM. */
static int is_tchar(char c){
  return (c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9')
      || (c && strchr("!#$%&'*+-.^_`|~", c)!=0);
}
static const char *skip_ows(const char *s){
  while( *s==' ' || *s=='\t' ) s++;
  return s;
}

/* A token or quoted-string at s: decoded into zOut (at most nOut-1 bytes
** kept, the rest read and dropped).  Returns the end of the value. */
static const char *param_value(const char *s, char *zOut, size_t nOut){
  size_t n = 0;
  if( *s=='"' ){
    for(s++; *s && *s!='"'; s++){
      if( *s=='\\' && s[1] ) s++;                 /* quoted-pair */
      if( n+1<nOut ) zOut[n++] = *s;
    }
    if( *s=='"' ) s++;
  }else{
    for(; is_tchar(*s); s++) if( n+1<nOut ) zOut[n++] = *s;
  }
  zOut[n] = 0;
  return s;
}

/* Does the space-separated list zList hold zRel (without case)? */
static int rel_has(const char *zList, const char *zRel){
  size_t nRel = strlen(zRel);
  const char *s = zList;
  while( *s ){
    const char *e;
    while( *s==' ' || *s=='\t' ) s++;
    for(e=s; *e && *e!=' ' && *e!='\t'; e++){}
    if( (size_t)(e-s)==nRel && strncasecmp(s, zRel, nRel)==0 ) return 1;
    s = e;
  }
  return 0;
}

static char *link_url(const char *zLink, const char *zRel, const char *zBase, int *pbOom){
  const char *s = zLink;
  *pbOom = 0;
  for(;;){
    const char *zTarget, *zEnd;
    int bRelSeen = 0, bMatch = 0;
    while( *s==',' || *s==' ' || *s=='\t' ) s++;
    if( *s==0 ) return 0;
    if( *s!='<' || (zEnd = strchr(s, '>'))==0 ){
      /* Not a link-value: skip to the next one, past quoted strings. */
      while( *s && *s!=',' ){
        if( *s=='"' ){ char z[2]; s = param_value(s, z, sizeof(z)); }else s++;
      }
      continue;
    }
    zTarget = s + 1;
    s = zEnd + 1;
    for(;;){
      char zName[16], zVal[256];
      size_t n = 0;
      s = skip_ows(s);
      if( *s!=';' ) break;
      s = skip_ows(s+1);
      for(; is_tchar(*s); s++) if( n+1<sizeof(zName) ) zName[n++] = *s;
      zName[n] = 0;
      s = skip_ows(s);
      zVal[0] = 0;
      if( *s=='=' ) s = param_value(skip_ows(s+1), zVal, sizeof(zVal));
      if( strcasecmp(zName, "rel")==0 && !bRelSeen ){
        bRelSeen = 1;
        bMatch = rel_has(zVal, zRel);
      }
    }
    if( bMatch ){
      char *zRef = sqlite3_mprintf("%.*s", (int)(zEnd - zTarget), zTarget);
      char *zOut = zRef ? resolve(zBase, zRef, pbOom) : 0;
      if( zRef==0 ) *pbOom = 1;
      sqlite3_free(zRef);
      return zOut;
    }
    /* On to the next link-value: past what is left of this one. */
    while( *s && *s!=',' ){
      if( *s=='"' ){ char z[2]; s = param_value(s, z, sizeof(z)); }else s++;
    }
  }
}

/**************************************************************************
** Following pages
*/

/* The pages a chain has fetched: an open-addressing set of 64-bit hashes
** of their URLs (FNV-1a; 0 marks an empty slot), one allocation. */
struct PageSeen {
  int nSlot;                     /* Slots in a[], a power of two */
  int nUsed;                     /* Hashes in a[] */
  sqlite3_uint64 a[1];           /* The slots (nSlot of them) */
};

static sqlite3_uint64 url_hash(const char *z){
  sqlite3_uint64 h = 14695981039346656037ULL;
  for(; *z; z++){ h ^= (unsigned char)*z; h *= 1099511628211ULL; }
  return h ? h : 1;
}

static void seen_put(PageSeen *p, sqlite3_uint64 h){
  int i = (int)(h & (sqlite3_uint64)(p->nSlot-1));
  while( p->a[i] && p->a[i]!=h ) i = (i+1) & (p->nSlot-1);
  if( p->a[i]==0 ){ p->a[i] = h; p->nUsed++; }
}

/* Add zUrl to *pp (made if NULL).  0 if added, 1 if it was there, -1 on OOM. */
static int seen_add(PageSeen **pp, const char *zUrl){
  sqlite3_uint64 h = url_hash(zUrl);
  PageSeen *p = *pp;
  int i;
  if( p ){
    for(i=(int)(h & (sqlite3_uint64)(p->nSlot-1)); p->a[i]; i=(i+1) & (p->nSlot-1)){
      if( p->a[i]==h ) return 1;
    }
  }
  if( p==0 || (p->nUsed+1)*2 > p->nSlot ){
    int nSlot = p ? p->nSlot*2 : 8;
    PageSeen *pNew = sqlite3_malloc64(sizeof(PageSeen) + sizeof(sqlite3_uint64)*(size_t)(nSlot-1));
    if( pNew==0 ) return -1;
    memset(pNew, 0, sizeof(PageSeen) + sizeof(sqlite3_uint64)*(size_t)(nSlot-1));
    pNew->nSlot = nSlot;
    for(i=0; p && i<p->nSlot; i++) if( p->a[i] ) seen_put(pNew, p->a[i]);
    sqlite3_free(p);
    *pp = p = pNew;
  }
  seen_put(p, h);
  assert( p->nUsed*2 <= p->nSlot );
  return 0;
}

static int request_copy(Request *pTo, const Request *p){
  struct curl_slist *h;
  memset(pTo, 0, sizeof(*pTo));
  pTo->iIndex = p->iIndex;
  pTo->iPage = p->iPage;
  pTo->bNoCredentials = p->bNoCredentials;
  pTo->zUrl = sqlite3_mprintf("%s", p->zUrl);
  if( p->zMethod ) pTo->zMethod = sqlite3_mprintf("%s", p->zMethod);
  if( p->pBody ){
    pTo->pBody = sqlite3_malloc64(p->nBody+1);
    if( pTo->pBody ){ memcpy(pTo->pBody, p->pBody, p->nBody); pTo->pBody[p->nBody] = 0; }
    pTo->nBody = p->nBody;
  }
  for(h=p->pHeaders; h; h=h->next){
    struct curl_slist *pNew = curl_slist_append(pTo->pHeaders, h->data);
    if( pNew==0 ){ request_clear(pTo); return SQLITE_NOMEM; }
    pTo->pHeaders = pNew;
  }
  if( pTo->zUrl==0 || (p->zMethod && pTo->zMethod==0) || (p->pBody && pTo->pBody==0) ){
    request_clear(pTo);
    return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

static int is_numbered(const Paginate *p){
  return p->eType==PAGE_NUMBER || p->eType==PAGE_OFFSET;
}

/* The URL of page iPage of a numbered collection whose first page is zUrl. */
static char *numbered_url(const Paginate *p, const char *zUrl, sqlite3_int64 iPage){
  char zVal[32], *z, *z2;
  sqlite3_int64 v = p->iStart + iPage*(p->eType==PAGE_OFFSET ? p->nPerPage : 1);
  sqlite3_snprintf(sizeof(zVal), zVal, "%lld", v);
  z = url_with_param(zUrl, p->zParam, zVal);
  if( z && p->zSizeParam && p->nPerPage>0 ){
    sqlite3_snprintf(sizeof(zVal), zVal, "%lld", p->nPerPage);
    z2 = url_with_param(z, p->zSizeParam, zVal);
    sqlite3_free(z);
    z = z2;
  }
  return z;
}

int paginate_first(const Paginate *p, Request *pReq){
  char *z;
  if( !is_numbered(p) ) return SQLITE_OK;
  z = numbered_url(p, pReq->zUrl, 0);
  if( z==0 ) return SQLITE_NOMEM;
  sqlite3_free(pReq->zUrl);
  pReq->zUrl = z;
  return SQLITE_OK;
}

/* A JSON value at path az as an integer (a number or a numeric string). */
static sqlite3_int64 path_int(JsonSpan root, char **az, int n){
  JsonSpan v = root;
  int i;
  sqlite3_int64 x = 0;
  const char *s, *e;
  for(i=0; i<n; i++){
    if( json_type(v)!='{' || !json_object_get(v, az[i], &v) ) return -1;
  }
  s = v.z; e = v.z + v.n;
  if( json_type(v)=='"' ){ s++; e--; }
  else if( json_type(v)!='n' ) return -1;
  if( s>=e ) return -1;
  for(; s<e; s++){
    if( *s=='.' ) break;            /* 3.0 is 3 */
    if( *s<'0' || *s>'9' || x>1000000000000LL ) return -1;
    x = x*10 + (*s-'0');
  }
  return x;
}

/* A JSON value at path az as text (a string decoded, or a number), or NULL
** (with *pbOom set if out of memory). */
static char *path_text(JsonSpan root, char **az, int n, int *pbOom){
  JsonSpan v = root;
  int i, bNul = 0;
  *pbOom = 0;
  for(i=0; i<n; i++){
    if( json_type(v)!='{' || !json_object_get(v, az[i], &v) ) return 0;
  }
  if( json_type(v)=='"' ){
    char *z = json_string_decode(v, &bNul);
    if( z==0 && !bNul ) *pbOom = 1;
    if( z && z[0]==0 ){ sqlite3_free(z); z = 0; }
    return z;
  }
  if( json_type(v)=='n' ){
    char *z = sqlite3_mprintf("%.*s", (int)v.n, v.z);
    if( z==0 ) *pbOom = 1;
    return z;
  }
  return 0;
}

static void pagegen_push(PageQueue *q, PageGen *g){
  g->pNext = 0;
  if( q->pLast ) q->pLast->pNext = g; else q->pFirst = g;
  q->pLast = g;
}

/* Queue the pages after r.  bEmpty: r had no records. */
int paginate_follow(const Paginate *p, Response *r, JsonSpan root, int bEmpty,
                    PageQueue *q){
  PageSeen *pSeen;
  PageGen *g;
  sqlite3_int64 nPages = -1;
  char *zNext = 0;
  int rc, bSame;
  int bOom = 0;                   /* out of memory, not the end of the collection */
  if( p->eType==PAGE_NONE || r->zError || bEmpty ) return SQLITE_OK;
  if( r->req.iPage+1 >= p->nMaxPages ) return SQLITE_OK;

  if( is_numbered(p) ){
    if( r->req.iPage==0 ){
      /* Learn the number of pages from the first one. */
      sqlite3_int64 nItems = -1;
      if( p->azTotalPages ) nPages = path_int(root, p->azTotalPages, p->nTotalPages);
      if( nPages<0 && p->azTotalItems ) nItems = path_int(root, p->azTotalItems, p->nTotalItems);
      if( nPages<0 && nItems<0 && p->zTotalHeader && r->zTotal ){
        const char *s = r->zTotal;
        nItems = 0;
        for(; *s>='0' && *s<='9' && nItems<1000000000000LL; s++) nItems = nItems*10 + (*s-'0');
      }
      if( nItems>=0 && p->nPerPage>0 ) nPages = (nItems + p->nPerPage - 1)/p->nPerPage;
      if( nPages<0 && p->bLastLink && r->zLink ){
        char *zLast = link_url(r->zLink, "last", r->req.zUrl, &bOom);
        if( bOom ) return SQLITE_NOMEM;     /* not: one page after another, one too many */
        if( zLast ){
          sqlite3_int64 v = url_param_int(zLast, p->zParam);
          if( v>=0 ){
            nPages = (v - p->iStart)/(p->eType==PAGE_OFFSET ? p->nPerPage : 1) + 1;
          }
          sqlite3_free(zLast);
        }
      }
    }
    else if( !r->req.bChain ){
      return SQLITE_OK;             /* fanned out from page 0: nothing to add */
    }
    if( nPages>=0 ){
      if( nPages>p->nMaxPages ) nPages = p->nMaxPages;
      if( nPages<=1 ) return SQLITE_OK;
    }
    g = sqlite3_malloc(sizeof(*g));
    if( g==0 ) return SQLITE_NOMEM;
    memset(g, 0, sizeof(*g));
    rc = request_copy(&g->proto, &r->req);
    if( rc ){ sqlite3_free(g); return rc; }
    /* With a total: all the other pages, fetched concurrently.  Without:
    ** the next page only, until one is empty. */
    g->iNext = r->req.iPage + 1;
    g->iLast = nPages>=0 ? nPages - 1 : r->req.iPage + 1;
    g->bNumbered = 1;
    g->bChain = nPages<0;
    pagegen_push(q, g);
    return SQLITE_OK;
  }

  if( p->eType==PAGE_CURSOR ){
    char *zCursor = path_text(root, p->azCursor, p->nCursor, &bOom);
    if( zCursor==0 ) return bOom ? SQLITE_NOMEM : SQLITE_OK;
    zNext = url_with_param(r->req.zUrl, p->zParam, zCursor);
    sqlite3_free(zCursor);
    bOom = zNext==0;                     /* the page's own URL parses */
  }else if( p->eType==PAGE_NEXT_URL ){
    char *zRef = path_text(root, p->azNext, p->nNext, &bOom);
    if( zRef==0 ) return bOom ? SQLITE_NOMEM : SQLITE_OK;
    zNext = resolve(r->req.zUrl, zRef, &bOom);
    sqlite3_free(zRef);
  }else if( p->eType==PAGE_LINK ){
    if( r->zLink==0 ) return SQLITE_OK;
    zNext = link_url(r->zLink, "next", r->req.zUrl, &bOom);
  }
  if( bOom ) return SQLITE_NOMEM;
  if( zNext==0 ) return SQLITE_OK;       /* not a URL libcurl can use: stop */
  /* A chain that comes back to a page it has fetched (a -> b -> a) would
  ** go round until max_pages: it ends there.  The chain's set of pages
  ** travels with its request. */
  pSeen = r->req.pSeen;
  r->req.pSeen = 0;
  rc = pSeen ? 0 : seen_add(&pSeen, r->req.zUrl);
  if( rc==0 ) rc = seen_add(&pSeen, zNext);
  if( rc ){
    sqlite3_free(pSeen);
    sqlite3_free(zNext);
    return rc<0 ? SQLITE_NOMEM : SQLITE_OK;
  }
  /* Out of memory (-1) is not another origin: the page would lose its credentials. */
  bSame = url_same_origin(zNext, r->req.zUrl);
  g = bSame<0 ? 0 : sqlite3_malloc(sizeof(*g));
  if( g==0 ){ sqlite3_free(pSeen); sqlite3_free(zNext); return SQLITE_NOMEM; }
  memset(g, 0, sizeof(*g));
  rc = request_copy(&g->proto, &r->req);
  if( rc ){ sqlite3_free(pSeen); sqlite3_free(g); sqlite3_free(zNext); return rc; }
  g->proto.pSeen = pSeen;
  if( !bSame ){
    /* The server named another origin: it gets the request, not the
    ** credentials (bearer, basic, and headers, where API keys live). */
    curl_slist_free_all(g->proto.pHeaders);
    g->proto.pHeaders = 0;
    g->proto.bNoCredentials = 1;
  }
  sqlite3_free(g->proto.zUrl);
  g->proto.zUrl = zNext;
  g->proto.iPage = r->req.iPage + 1;
  g->iNext = g->iLast = g->proto.iPage;
  pagegen_push(q, g);
  return SQLITE_OK;
}

/* The next queued page request: 1, or 0 if none, or SQLITE_NOMEM as -1. */
int pagequeue_next(const Paginate *p, PageQueue *q, Request *pReq){
  PageGen *g = q->pFirst;
  int rc;
  if( g==0 ) return 0;
  if( g->bNumbered ){
    char *z;
    rc = request_copy(pReq, &g->proto);
    if( rc ) return -1;
    z = numbered_url(p, g->proto.zUrl, g->iNext);
    if( z==0 ){ request_clear(pReq); return -1; }
    sqlite3_free(pReq->zUrl);
    pReq->zUrl = z;
    pReq->iPage = (int)g->iNext;
    pReq->bChain = g->bChain;
    g->iNext++;
    if( g->iNext<=g->iLast ) return 1;
  }else{
    *pReq = g->proto;
    memset(&g->proto, 0, sizeof(g->proto));
  }
  q->pFirst = g->pNext;
  if( q->pFirst==0 ) q->pLast = 0;
  request_clear(&g->proto);
  sqlite3_free(g);
  return 1;
}

void pagequeue_clear(PageQueue *q){
  while( q->pFirst ){
    PageGen *g = q->pFirst;
    q->pFirst = g->pNext;
    request_clear(&g->proto);
    sqlite3_free(g);
  }
  q->pLast = 0;
}
