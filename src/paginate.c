/*
** paginate.c - following a collection across pages, for each starting URL.
**
**   SELECT * FROM api_fetch('["https://api.example.com/items"]', 10,
**     '{"paginate": {"type": "page", "total_pages": "meta.total_pages"}}');
**
** One row of aPageKind[] per kind of the option's "type" (its keys are rows
** of knobs.c, parsed by options.c, checked here):
**
**   page    ?page=1,2,3...     numbered: "param" (page), "start" (1),
**   offset  ?offset=0,N,2N...  "per_page" and "size_param"; the total is
**           learnt from the first page ("total_pages", "total_items",
**           "total_header" or "last_link"), then every other page is queued
**           at once and fetched concurrently; with no total, one page after
**           another until an empty one.
**   cursor  ?cursor=<value at "cursor_path" in the body>   chains: each page
**   next    the URL at "next_path" in the body              is asked for when
**   link    the Link header's rel="next" URL (RFC 8288)     the one before it
**   graphql Relay pageInfo {hasNextPage endCursor} at      has arrived; many
**           "page_info", the cursor into variables.after   chains (starting
**           of the JSON body                               URLs) run at once.
**
** "body_path" puts page, offset or cursor into the JSON request body
** instead of the URL (GraphQL variables, a search POST): the body is
** edited as text (json_set_path), the rest byte for byte; the URL, and
** so the origin and the credentials, stay those of the first page.
**
** Every kind stops at an empty page, at "max_pages", and when there is no
** next page; a chain also when its next page is one it has fetched.  A page
** that fails after its retries is an error row naming that page's URL; the
** chain it was on stops there.  A kind that reads a response header says
** so (zHeader), and the engine captures that header for it.
*/
#include <assert.h>
#include <string.h>
#include <strings.h>
#include "apifetch.h"

static const char *paginate_header(const Paginate *p, const Response *r, const char *zName);

/**************************************************************************
** Link headers and URLs
*/

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
** case; a second rel in one link is ignored, section 3.3), as written
** (the caller resolves it); NULL if none, or with *pbOom set on OOM. */
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
    for(; http_is_tchar((unsigned char)*s); s++) if( n+1<nOut ) zOut[n++] = *s;
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

static char *link_target(const char *zLink, const char *zRel, int *pbOom){
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
      for(; http_is_tchar((unsigned char)*s); s++) if( n+1<sizeof(zName) ) zName[n++] = *s;
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
      if( zRef==0 ) *pbOom = 1;
      return zRef;
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
** of their URLs and bodies (FNV-1a; 0 marks an empty slot), one
** allocation.  A page in the body (body_path) has the URL of the others. */
struct PageSeen {
  int nSlot;                     /* Slots in a[], a power of two */
  int nUsed;                     /* Hashes in a[] */
  sqlite3_uint64 a[1];           /* The slots (nSlot of them) */
};

static sqlite3_uint64 page_hash(const char *z, const char *pBody, size_t nBody){
  sqlite3_uint64 h = 14695981039346656037ULL;
  size_t i;
  for(; *z; z++){ h ^= (unsigned char)*z; h *= 1099511628211ULL; }
  h ^= 0xff; h *= 1099511628211ULL;          /* no URL byte: where the body starts */
  for(i=0; i<nBody; i++){ h ^= (unsigned char)pBody[i]; h *= 1099511628211ULL; }
  return h ? h : 1;
}

static void seen_put(PageSeen *p, sqlite3_uint64 h){
  int i = (int)(h & (sqlite3_uint64)(p->nSlot-1));
  while( p->a[i] && p->a[i]!=h ) i = (i+1) & (p->nSlot-1);
  if( p->a[i]==0 ){ p->a[i] = h; p->nUsed++; }
}

/* Add the page zUrl with body pBody to *pp (made if NULL).  0 if added, 1
** if it was there, -1 on OOM. */
static int seen_add(PageSeen **pp, const char *zUrl, const char *pBody, size_t nBody){
  sqlite3_uint64 h = page_hash(zUrl, pBody, nBody);
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

/* The value at path az of root: 1 if there is one.  A key missing on the
** way, or a value on the way that is not an object, is no value. */
static int path_get(JsonSpan root, char **az, int n, JsonSpan *pv){
  int i;
  *pv = root;
  for(i=0; i<n; i++){
    if( json_type(*pv)!='{' || !json_object_get(*pv, az[i], pv) ) return 0;
  }
  return 1;
}

/* "an object", "true"...: what a JSON value is, for messages. */
static const char *json_kind(JsonSpan v){
  switch( json_type(v) ){
    case '{': return "an object";
    case '[': return "an array";
    case '"': return "a string";
    case 'n': return "a number";
    case 't': return "true";
    case 'f': return "false";
    default:  return "null";
  }
}

/* Does the value at a next page's path say "no next page"?  Absent, null,
** false and "" do (docs/pagination.md); anything else names a page. */
static int path_ends(int bFound, JsonSpan v){
  char t = json_type(v);
  return !bFound || t=='z' || t=='f' || (t=='"' && v.n==2);
}

/* The text of a string at a path, decoded; NULL with *pzWhy if it holds a
** NUL, or on OOM.  zWhat names the path in the message. */
static char *path_string(JsonSpan v, const char *zWhat, char **pzWhy){
  int bNul = 0;
  char *z = json_string_decode(v, &bNul);
  if( bNul ) *pzWhy = sqlite3_mprintf("%s is a string holding a NUL character (\\u0000)", zWhat);
  return z;
}

/* The option and path of a next page, for messages: cursor_path "a.b". */
static char *path_label(const char *zOption, const KeyPath *k){
  Buf b = {0, 0, 0, 0};
  int i;
  buf_append(&b, zOption, strlen(zOption));
  buf_append(&b, STRCONST(" \""));
  for(i=0; i<k->n; i++){
    if( i ) buf_append(&b, STRCONST("."));
    buf_append(&b, k->az[i], strlen(k->az[i]));
  }
  buf_append(&b, STRCONST("\""));
  if( b.bOom ){ buf_free(&b); return 0; }
  return b.z;
}

static void pagegen_push(PageQueue *q, PageGen *g){
  g->pNext = 0;
  if( q->pLast ) q->pLast->pNext = g; else q->pFirst = g;
  q->pLast = g;
}

/* Queue the pages after r.  bEmpty: r had no records. */
/**************************************************************************
** The kinds
*/

/* A cursor found at zWhat: its JSON text (a string or a number), to be
** placed by place_value; NULL with *pzWhy if it cannot be (or on OOM). */
static char *cursor_value(JsonSpan v, const char *zWhat, char **pzWhy){
  if( json_type(v)!='n' && json_type(v)!='"' ){
    *pzWhy = sqlite3_mprintf("%s is %s, not a string or number", zWhat, json_kind(v));
    return 0;
  }
  if( json_has_nul(v.z, v.n) ){
    *pzWhy = sqlite3_mprintf("%s is a string holding a NUL character (\\u0000)", zWhat);
    return 0;
  }
  return sqlite3_mprintf("%.*s", (int)v.n, v.z);
}

/* Chains: the URL of the page after r into *pzNext, NULL for none; or why
** the page r names cannot be followed, into *pzWhy (see PageKind). */
static int cursor_next(const Paginate *p, const Response *r, JsonSpan root, char **pzNext,
                       char **pzWhy){
  JsonSpan v;
  int bFound = path_get(root, p->cursor.az, p->cursor.n, &v);
  char *zWhat, *zCursor = 0;
  *pzNext = *pzWhy = 0;
  if( path_ends(bFound, v) ) return SQLITE_OK;
  zWhat = path_label("cursor_path", &p->cursor);
  if( zWhat==0 ) return SQLITE_NOMEM;
  (void)r;
  zCursor = cursor_value(v, zWhat, pzWhy);
  sqlite3_free(zWhat);
  *pzNext = zCursor;
  return zCursor || *pzWhy ? SQLITE_OK : SQLITE_NOMEM;
}

/* GraphQL Relay (the Cursor Connections spec): the connection's pageInfo
** says hasNextPage, and endCursor is the "after" of the next page. */
static int graphql_next(const Paginate *p, const Response *r, JsonSpan root, char **pzNext,
                        char **pzWhy){
  JsonSpan info, more, v;
  char *zWhat, *zCursor;
  (void)r;
  *pzNext = *pzWhy = 0;
  if( path_ends(path_get(root, p->pageInfo.az, p->pageInfo.n, &info), info) ){
    return SQLITE_OK;
  }
  zWhat = path_label("page_info", &p->pageInfo);
  if( zWhat==0 ) return SQLITE_NOMEM;
  if( json_type(info)!='{' ){
    *pzWhy = sqlite3_mprintf("%s is %s, not an object", zWhat, json_kind(info));
  }else if( !json_object_get(info, "hasNextPage", &more)
         || json_type(more)=='f' || json_type(more)=='z' ){
    sqlite3_free(zWhat);
    return SQLITE_OK;                   /* hasNextPage false or not said: the last page */
  }else if( json_type(more)!='t' ){
    *pzWhy = sqlite3_mprintf("%s hasNextPage is %s, not true or false", zWhat, json_kind(more));
  }else if( path_ends(json_object_get(info, "endCursor", &v), v) ){
    *pzWhy = sqlite3_mprintf("%s has hasNextPage true and no endCursor", zWhat);
  }else if( (zCursor = sqlite3_mprintf("%s endCursor", zWhat))!=0 ){
    *pzNext = cursor_value(v, zCursor, pzWhy);
    sqlite3_free(zCursor);
  }
  sqlite3_free(zWhat);
  return *pzNext || *pzWhy ? SQLITE_OK : SQLITE_NOMEM;
}

/* A next page's URL, zRef as the response r gave it (what it is: zWhat),
** resolved against the URL r came from, after redirects (RFC 3986 section
** 5.1.3; RFC 8288 section 3.2 for Link), and checked like any URL. */
static int next_resolve(const Response *r, const char *zRef, const char *zWhat,
                        char **pzNext, char **pzWhy){
  char *zWhy = 0;
  int rc = url_resolve_check(response_url(r), zRef, pzNext, &zWhy);
  if( rc==SQLITE_ERROR ){
    *pzWhy = sqlite3_mprintf("%s: %s", zWhat, zWhy);
    rc = *pzWhy ? SQLITE_OK : SQLITE_NOMEM;
  }
  sqlite3_free(zWhy);
  return rc;
}

static int next_url_next(const Paginate *p, const Response *r, JsonSpan root, char **pzNext,
                         char **pzWhy){
  JsonSpan v;
  int bFound = path_get(root, p->next.az, p->next.n, &v), rc = SQLITE_OK;
  char *zWhat, *zRef;
  *pzNext = *pzWhy = 0;
  if( path_ends(bFound, v) ) return SQLITE_OK;
  zWhat = path_label("next_path", &p->next);
  if( zWhat==0 ) return SQLITE_NOMEM;
  if( json_type(v)!='"' ){
    *pzWhy = sqlite3_mprintf("%s is %s, not a URL string", zWhat, json_kind(v));
    rc = *pzWhy ? SQLITE_OK : SQLITE_NOMEM;
  }else if( (zRef = path_string(v, zWhat, pzWhy))!=0 ){
    rc = next_resolve(r, zRef, zWhat, pzNext, pzWhy);
    sqlite3_free(zRef);
  }else if( *pzWhy==0 ){
    rc = SQLITE_NOMEM;
  }
  sqlite3_free(zWhat);
  return rc;
}

static int link_next(const Paginate *p, const Response *r, JsonSpan root, char **pzNext,
                     char **pzWhy){
  const char *zLink = paginate_header(p, r, "Link");
  int bOom = 0, rc;
  char *zRef = zLink ? link_target(zLink, "next", &bOom) : 0;
  (void)root;
  *pzNext = *pzWhy = 0;
  if( zRef==0 ) return bOom ? SQLITE_NOMEM : SQLITE_OK;
  rc = next_resolve(r, zRef, "the Link header's rel=\"next\" target", pzNext, pzWhy);
  sqlite3_free(zRef);
  return rc;
}

static const char *numbered_check(const Paginate *p){
  if( p->pKind->iStep==0 && p->nPerPage<=0 ) return "paginate type \"offset\" needs per_page";
  if( p->zSizeParam && p->body.az ){
    return "paginate size_param puts per_page on the URL: with body_path, "
           "write the page size in the body";
  }
  if( p->totalItems.az && p->nPerPage<=0 ) return "paginate total_items needs per_page";
  if( p->zTotalHeader && p->nPerPage<=0 ) return "paginate total_header needs per_page";
  return 0;
}
static const char *cursor_check(const Paginate *p){
  return p->cursor.az ? 0 : "paginate type \"cursor\" needs cursor_path";
}
static const char *next_url_check(const Paginate *p){
  return p->next.az ? 0 : "paginate type \"next\" needs next_path";
}
static const char *graphql_check(const Paginate *p){
  return p->pageInfo.az ? 0 : "paginate type \"graphql\" needs page_info "
                              "(e.g. \"data.users.pageInfo\")";
}

/* One row per kind (struct PageKind in apifetch.h), its columns:
**
**  ,-- zName: the "type" users write
**  |         ,-- zParam: the default query parameter
**  |         |       ,-- iStart: the first page or offset
**  |         |       |  ,-- iStep: 1 a page, 0 per_page a page
**  |         |       |  |  ,-- zHeader: a header it always reads
**  |         |       |  |  |         ,-- xCheck: what it lacks, or 0
**  |         |       |  |  |         |               ,-- xNext: a chain's next page; 0: numbered
**  |         |       |  |  |         |               |              ,-- bValue: xNext gives a
**  |         |       |  |  |         |               |              |   value, not a URL
**  |         |       |  |  |         |               |              |  ,-- zBody: the value goes
**  |         |       |  |  |         |               |              |  |   in the body, at zBody.param
**  |         |       |  |  |         |               |              |  | */
static const PageKind aPageKind[] = {
  { "page",    "page",   1, 1, 0,      numbered_check, 0,             0, 0 },
  { "offset",  "offset", 0, 0, 0,      numbered_check, 0,             0, 0 },
  { "cursor",  "cursor", 0, 0, 0,      cursor_check,   cursor_next,   1, 0 },
  { "next",    0,        0, 0, 0,      next_url_check, next_url_next, 0, 0 },
  { "link",    0,        0, 0, "Link", 0,              link_next,     0, 0 },
  { "graphql", "after",  0, 0, 0,      graphql_check,  graphql_next,  1, "variables" },
};

const PageKind *paginate_kind(const char *zName){
  int i;
  for(i=0; i<ArraySize(aPageKind); i++){
    if( strcmp(aPageKind[i].zName, zName)==0 ) return &aPageKind[i];
  }
  return 0;
}

void paginate_clear(Paginate *p){
  sqlite3_free(p->zParam);
  sqlite3_free(p->zSizeParam);
  sqlite3_free(p->zTotalHeader);
  keypath_clear(&p->totalPages);
  keypath_clear(&p->totalItems);
  keypath_clear(&p->cursor);
  keypath_clear(&p->next);
  keypath_clear(&p->pageInfo);
  keypath_clear(&p->body);
  p->zParam = p->zSizeParam = p->zTotalHeader = 0;
  p->pKind = 0;
  p->nWant = 0;
}

/* After the keys are read (options.c): the kind's needs, its defaults, and
** the response headers the engine must keep for it. */
int paginate_check(Paginate *p, char **pzErr){
  const char *zWhy;
  if( p->pKind==0 ){
    /* The kinds named from their rows, so a new row is in the message. */
    sqlite3_str *pStr = sqlite3_str_new(0);
    int i, n = ArraySize(aPageKind);
    sqlite3_str_appendall(pStr, "api_fetch: paginate needs a type: ");
    for(i=0; i<n; i++){
      sqlite3_str_appendf(pStr, "%s\"%s\"", i==0 ? "" : i+1<n ? ", " : " or ",
                          aPageKind[i].zName);
    }
    *pzErr = sqlite3_str_finish(pStr);
    return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  zWhy = p->pKind->xCheck ? p->pKind->xCheck(p) : 0;
  if( zWhy ){
    *pzErr = sqlite3_mprintf("api_fetch: %s", zWhy);
    return SQLITE_ERROR;
  }
  if( p->zParam==0 && p->pKind->zParam ){
    p->zParam = sqlite3_mprintf("%s", p->pKind->zParam);
    if( p->zParam==0 ) return SQLITE_NOMEM;
  }
  if( p->iStart<0 ) p->iStart = p->pKind->iStart;
  if( p->body.az && p->pKind->zParam==0 ){
    *pzErr = sqlite3_mprintf("api_fetch: paginate body_path takes a page, offset or cursor; "
                             "type \"%s\" finds a URL", p->pKind->zName);
    return SQLITE_ERROR;
  }
  if( p->body.az==0 && p->pKind->zBody ){
    /* A GraphQL request names its cursor as a variable (GraphQL over
    ** HTTP: {"query": ..., "variables": {"after": ...}}): zBody.param. */
    char **az = sqlite3_malloc64(sizeof(char*)*2);
    if( az==0 ) return SQLITE_NOMEM;
    az[0] = sqlite3_mprintf("%s", p->pKind->zBody);
    az[1] = sqlite3_mprintf("%s", p->zParam);
    p->body.az = az;
    p->body.n = 2;
    if( az[0]==0 || az[1]==0 ) return SQLITE_NOMEM;      /* options_clear frees them */
  }
  p->nWant = 0;
  /* The header the kind always reads, Link for a rel="last" total, the
  ** total's header: each once. */
  if( p->pKind->zHeader ) p->azWant[p->nWant++] = p->pKind->zHeader;
  if( p->bLastLink && (p->nWant==0 || strcasecmp(p->azWant[0], "Link")!=0) ){
    p->azWant[p->nWant++] = "Link";
  }
  if( p->zTotalHeader ) p->azWant[p->nWant++] = p->zTotalHeader;
  assert( p->nWant<=(int)(sizeof(p->azWant)/sizeof(p->azWant[0])) );
  return SQLITE_OK;
}

/* The value of a header the kind asked the engine to keep, or NULL. */
static const char *paginate_header(const Paginate *p, const Response *r, const char *zName){
  int i;
  for(i=0; i<p->nWant && i<r->nHeader; i++){
    if( strcasecmp(p->azWant[i], zName)==0 ) return r->azHeader[i];
  }
  return 0;
}

/**************************************************************************
** Where a page's number, offset or cursor goes
*/

/* A URL made from zOld (freed): zNew, NULL for out of memory. */
static char *url_replace(char *zOld, char *zNew){
  sqlite3_free(zOld);
  return zNew;
}

/* The request body pBody[0..nBody) with zVal (JSON text) at body_path,
** into *pOut.  SQLITE_ERROR with why in *pzWhy if the body is not a JSON
** object that can take it (or there is none). */
static int body_set(const Paginate *p, const char *pBody, size_t nBody, const char *zVal,
                    Buf *pOut, char **pzWhy){
  JsonError err;
  int rc = pBody ? json_validate(pBody, nBody, APIFETCH_JSON_MAX_DEPTH, &err) : SQLITE_ERROR;
  *pzWhy = 0;
  if( rc==SQLITE_OK ) rc = json_set_path(pBody, nBody, p->body.az, p->body.n, zVal,
                                         strlen(zVal), pOut);
  if( rc==SQLITE_NOMEM || pOut->bOom ) return SQLITE_NOMEM;
  if( rc ){
    char *zWhat = path_label("body_path", &p->body);
    *pzWhy = zWhat ? sqlite3_mprintf("%s needs a request body that is a JSON object, "
                                     "with objects or null on the way", zWhat) : 0;
    sqlite3_free(zWhat);
    return *pzWhy ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* Put zVal (the JSON text of a string or number) into request q: at
** body_path in its JSON body, or as param on its URL (a string decoded).
** SQLITE_OK, SQLITE_NOMEM, or SQLITE_ERROR with why in *pzWhy. */
static int place_value(const Paginate *p, Request *q, const char *zVal, char **pzWhy){
  char *z = 0;
  *pzWhy = 0;
  if( p->body.az ){
    Buf b = {0, 0, 0, 0};
    int rc = body_set(p, q->pBody, q->nBody, zVal, &b, pzWhy);
    if( rc ){ buf_free(&b); return rc; }
    sqlite3_free(q->pBody);
    q->pBody = b.z;
    q->nBody = b.n;
    return SQLITE_OK;
  }
  if( zVal[0]=='"' ){
    JsonSpan v;
    int bNul = 0;
    v.z = zVal;
    v.n = strlen(zVal);
    z = json_string_decode(v, &bNul);          /* cursor_value refused a NUL */
    if( z==0 ) return SQLITE_NOMEM;
    zVal = z;
  }
  /* On the URL asked for, as each numbered page's number goes: each page
  ** is redirected as the first one was. */
  q->zUrl = url_replace(q->zUrl, url_with_param(q->zUrl, p->zParam, zVal));
  sqlite3_free(z);
  return q->zUrl ? SQLITE_OK : SQLITE_NOMEM;
}

/**************************************************************************
** Numbered pages
*/

/* Request q, a copy of a numbered collection's first page, made page
** iPage: its number on the URL or in the body, per_page on the URL. */
static int numbered_place(const Paginate *p, Request *q, sqlite3_int64 iPage, char **pzWhy){
  char zVal[32];
  sqlite3_int64 v = p->iStart + iPage*(p->pKind->iStep ? p->pKind->iStep : p->nPerPage);
  int rc;
  sqlite3_snprintf(sizeof(zVal), zVal, "%lld", v);
  rc = place_value(p, q, zVal, pzWhy);
  if( rc==SQLITE_OK && p->zSizeParam && p->nPerPage>0 ){
    assert( p->body.az==0 );                   /* numbered_check */
    sqlite3_snprintf(sizeof(zVal), zVal, "%lld", p->nPerPage);
    q->zUrl = url_replace(q->zUrl, url_with_param(q->zUrl, p->zSizeParam, zVal));
    if( q->zUrl==0 ) rc = SQLITE_NOMEM;
  }
  return rc;
}

/* The first page: numbered, page 0's number goes in; a body that must take
** a page or cursor and cannot makes the request an error row (zFail). */
int paginate_first(const Paginate *p, Request *pReq){
  char *zWhy = 0;
  int rc = SQLITE_OK;
  if( p->pKind==0 ) return SQLITE_OK;
  if( p->pKind->xNext==0 ){
    rc = numbered_place(p, pReq, 0, &zWhy);
  }else if( p->body.az ){
    /* A chain's first page is sent as it is, but its body must be able to
    ** take the next cursor: better an error row now than after page 0. */
    Buf b = {0, 0, 0, 0};
    rc = body_set(p, pReq->pBody, pReq->nBody, "null", &b, &zWhy);
    buf_free(&b);
  }
  if( rc==SQLITE_ERROR ){
    pReq->zFail = sqlite3_mprintf("pagination: %s", zWhy);
    sqlite3_free(zWhy);
    rc = pReq->zFail ? SQLITE_OK : SQLITE_NOMEM;
  }
  return rc;
}

/* How many pages the collection has, learnt from its first page r, or -1
** if it does not say; SQLITE_NOMEM as -2. */
static sqlite3_int64 numbered_total(const Paginate *p, const Response *r, JsonSpan root){
  sqlite3_int64 nPages = -1, nItems = -1;
  const char *zTotal = p->zTotalHeader ? paginate_header(p, r, p->zTotalHeader) : 0;
  const char *zLink = p->bLastLink ? paginate_header(p, r, "Link") : 0;
  if( p->totalPages.az ) nPages = path_int(root, p->totalPages.az, p->totalPages.n);
  if( nPages<0 && p->totalItems.az ) nItems = path_int(root, p->totalItems.az, p->totalItems.n);
  if( nPages<0 && nItems<0 && zTotal ){
    const char *s = zTotal;
    while( *s==' ' || *s=='\t' ) s++;
    if( *s>='0' && *s<='9' ) nItems = 0;
    for(; *s>='0' && *s<='9' && nItems<1000000000000LL; s++) nItems = nItems*10 + (*s-'0');
  }
  if( nItems>=0 && p->nPerPage>0 ) nPages = (nItems + p->nPerPage - 1)/p->nPerPage;
  if( nPages<0 && zLink ){
    int bOom = 0;
    char *zRef = link_target(zLink, "last", &bOom);
    char *zLast = zRef ? url_resolve_oom(response_url(r), zRef, &bOom) : 0;
    sqlite3_free(zRef);
    if( bOom ) return -2;           /* not: one page after another, one too many */
    if( zLast ){
      sqlite3_int64 v = url_param_int(zLast, p->zParam);
      if( v>=0 ) nPages = (v - p->iStart)/(p->pKind->iStep ? p->pKind->iStep : p->nPerPage) + 1;
      sqlite3_free(zLast);
    }
  }
  return nPages;
}

static int numbered_follow(const Paginate *p, const Response *r, JsonSpan root, PageQueue *q){
  sqlite3_int64 nPages = -1;
  PageGen *g;
  int rc;
  if( r->req.iPage==0 ){
    nPages = numbered_total(p, r, root);
    if( nPages==-2 ) return SQLITE_NOMEM;
  }else if( !r->req.bChain ){
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

/**************************************************************************
** Chains
*/
/* The page after r is named but cannot be followed (zWhy, taken over): it
** is still a page of the chain, whose row says why, so that the collection
** does not end there without a word.  It has the number the page would
** have had and the URL of r, the page that named it; the engine makes it
** an error row without sending anything (Request.zFail). */
static int chain_fail(Response *r, char *zWhy, PageQueue *q){
  PageGen *g = sqlite3_malloc(sizeof(*g));
  int rc = SQLITE_NOMEM;
  if( g ){
    memset(g, 0, sizeof(*g));
    rc = request_copy(&g->proto, &r->req);
  }
  if( rc==SQLITE_OK ){
    g->proto.zFail = sqlite3_mprintf("pagination: the next page cannot be followed: %s", zWhy);
    if( g->proto.zFail==0 ){ request_clear(&g->proto); rc = SQLITE_NOMEM; }
  }
  sqlite3_free(zWhy);
  if( rc ){ sqlite3_free(g); return rc; }
  g->proto.iPage = r->req.iPage + 1;
  g->iNext = g->iLast = g->proto.iPage;
  pagegen_push(q, g);
  return SQLITE_OK;
}

/* The chain's set of fetched pages, moved from r, with r's pages (the URL
** asked for and the one it came from, with its body) and pNext added: 0,
** 1 if pNext is one of them already (the chain ends), -1 on OOM. */
static int chain_seen(Response *r, const Request *pNext, PageSeen **ppSeen){
  const Request *q = &r->req;
  int rc = 0;
  *ppSeen = r->req.pSeen;
  r->req.pSeen = 0;
  if( *ppSeen==0 ) rc = seen_add(ppSeen, q->zUrl, q->pBody, q->nBody);
  if( rc>=0 && r->zFinalUrl ) rc = seen_add(ppSeen, r->zFinalUrl, q->pBody, q->nBody);
  if( rc>=0 ) rc = seen_add(ppSeen, pNext->zUrl, pNext->pBody, pNext->nBody);
  if( rc ){
    sqlite3_free(*ppSeen);
    *ppSeen = 0;
  }
  return rc;
}

/* Free a page not queued after all; rc passes through. */
static int pagegen_drop(PageGen *g, int rc){
  request_clear(&g->proto);
  sqlite3_free(g);
  return rc;
}

static int chain_follow(const Paginate *p, Response *r, JsonSpan root, PageQueue *q){
  PageSeen *pSeen;
  PageGen *g;
  char *zNext = 0, *zWhy = 0;
  int rc, bSame;
  rc = p->pKind->xNext(p, r, root, &zNext, &zWhy);
  if( rc ){ sqlite3_free(zNext); sqlite3_free(zWhy); return rc; }
  if( zWhy ) return chain_fail(r, zWhy, q);
  if( zNext==0 ) return SQLITE_OK;       /* r names no next page: the chain ends */
  g = sqlite3_malloc(sizeof(*g));
  if( g==0 ){ sqlite3_free(zNext); return SQLITE_NOMEM; }
  memset(g, 0, sizeof(*g));
  rc = request_copy(&g->proto, &r->req);
  if( rc==SQLITE_OK && p->pKind->bValue ){
    rc = place_value(p, &g->proto, zNext, &zWhy);      /* on the URL or in the body */
    sqlite3_free(zNext);
  }else if( rc==SQLITE_OK ){
    sqlite3_free(g->proto.zUrl);
    g->proto.zUrl = zNext;
  }else{
    sqlite3_free(zNext);
  }
  if( rc==SQLITE_ERROR ){
    pagegen_drop(g, SQLITE_OK);
    return chain_fail(r, zWhy, q);               /* the body cannot take it */
  }
  if( rc ) return pagegen_drop(g, rc);
  /* A chain that comes back to a page it has fetched (a -> b -> a) would
  ** go round until max_pages: it ends there.  The chain's set of pages
  ** travels with its request. */
  rc = chain_seen(r, &g->proto, &pSeen);
  if( rc ) return pagegen_drop(g, rc<0 ? SQLITE_NOMEM : SQLITE_OK);
  g->proto.pSeen = pSeen;
  /* Credentials belong to the origin asked for, not to where a redirect
  ** led: a next page resolved against a redirect's URL on another origin
  ** gets none.  Out of memory is not another origin: the page would lose
  ** its credentials.  (A page or cursor in the body keeps the URL.) */
  if( url_same_origin(g->proto.zUrl, r->req.zUrl, &bSame) ) return pagegen_drop(g, SQLITE_NOMEM);
  if( !bSame ){
    /* The server named another origin: it gets the request, not the
    ** credentials (bearer, basic, and headers, where API keys live). */
    curl_slist_free_all(g->proto.pHeaders);
    g->proto.pHeaders = 0;
    g->proto.bNoCredentials = 1;
  }
  g->proto.iPage = r->req.iPage + 1;
  g->iNext = g->iLast = g->proto.iPage;
  pagegen_push(q, g);
  return SQLITE_OK;
}

int paginate_follow(const Paginate *p, Response *r, JsonSpan root, int bEmpty, PageQueue *q){
  if( p->pKind==0 || r->zError || bEmpty ) return SQLITE_OK;
  if( r->req.iPage+1 >= p->nMaxPages ) return SQLITE_OK;
  return p->pKind->xNext ? chain_follow(p, r, root, q) : numbered_follow(p, r, root, q);
}

/* The next queued page request: 1, or 0 if none, or SQLITE_NOMEM as -1. */
int pagequeue_next(const Paginate *p, PageQueue *q, Request *pReq){
  PageGen *g = q->pFirst;
  int rc;
  if( g==0 ) return 0;
  if( g->bNumbered ){
    char *zWhy = 0;
    rc = request_copy(pReq, &g->proto);
    if( rc ) return -1;
    /* g->proto is page 0, whose body took its number: so do the others. */
    rc = numbered_place(p, pReq, g->iNext, &zWhy);
    assert( rc!=SQLITE_ERROR || zWhy );
    sqlite3_free(zWhy);
    if( rc ){ request_clear(pReq); return -1; }
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
