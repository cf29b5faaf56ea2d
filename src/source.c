/*
** source.c - the stream of requests a scan sends: the items of url_list
** (URL strings and request objects, or one URL a line), or the rows of
** url_query (checked first when the table is stored in a file), filled into
** url_template, with base_url, query and the options' headers applied;
** then the pages that pagination finds on the way (paginate.c); and, for
** the wide face's first scan, the responses its CREATE sampled.
**
**   RequestStream s;
**   stream_open_list(&s, zList, nList, pOpt, &zErr);   -- checks every item first
**   while( stream_next(&s, &req, &zErr)==1 ){ ...; request_clear(&req); }
**   stream_close(&s);
**
** With the shard option ("k/n"), only the starting URLs whose url_index % n
** is k are given, and the pages found from them: the others are stepped
** over unread (no request is built, let alone sent), and url_index stays
** the item's number in the whole list, so that n shards' rows merge back
** into one list.  Every url_query row counts, as every url_list item does.
**
** url_list is not turned into an array of requests: it is validated in one
** pass when the scan starts (so a bad item fails the statement before any
** request is sent) and then read again one item at a time as the engine
** asks, so memory does not grow with the number of URLs.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "apifetch.h"

/* Append the option headers to pReq, except where the request object set
** the same header itself. */
static int merge_headers(Request *pReq, const Options *pOpt){
  int i;
  for(i=0; i<pOpt->nHeader; i++){
    if( request_add_header(pReq, pOpt->azHeader[i]) ) return SQLITE_NOMEM;
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

/* The query option's parameters onto a request's URL, replacing any of
** the same names. */
static int request_query(Request *pReq, const Options *pOpt){
  char *z;
  if( pOpt->nQuery<2 ) return SQLITE_OK;
  z = url_with_params(pReq->zUrl, (const char *const*)pOpt->azQuery, pOpt->nQuery/2);
  if( z==0 ) return SQLITE_NOMEM;
  sqlite3_free(pReq->zUrl);
  pReq->zUrl = z;
  return SQLITE_OK;
}

/* Option headers and query parameters onto a request about to be sent.
** Off the credentials' origin (zCredOrigin) neither: a profile's query
** values are credentials as much as its headers (an api_key), and they are
** merged into one list with the table's own. */
static int request_finish(Request *pReq, const Options *pOpt){
  int bSame = 1;
  if( pOpt->zCredOrigin && url_same_origin(pReq->zUrl, pOpt->zCredOrigin, &bSame) ){
    return SQLITE_NOMEM;
  }
  if( !bSame ){
    pReq->bNoCredentials = 1;        /* no bearer, basic, headers or query */
    return SQLITE_OK;
  }
  if( merge_headers(pReq, pOpt) ) return SQLITE_NOMEM;
  return request_query(pReq, pOpt);
}

/* The URL of url_template with {name} filled in by xValue (a sqlite3
** string, or NULL with *piWhy set to a TEMPLATE_ code); NULL with *pzWhy on error. */
static char *request_from_template(const Options *pOpt,
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
      rc = request_parse_item(v, "url_list item", p->nItem, pReq, pzErr);
    }else if( json_type(v)!='{' ){
      memset(pReq, 0, sizeof(*pReq));
      rc = request_item_error(pzErr, "url_list item", p->nItem, sqlite3_mprintf(
          "with url_template, each item is an object of parameters"));
    }else{
      char *zWhy = 0;
      memset(pReq, 0, sizeof(*pReq));
      pReq->iIndex = p->nItem;
      pReq->zUrl = template_fill(p->pOpt->zUrlTemplate, json_param, &v, &zWhy);
      rc = pReq->zUrl ? SQLITE_OK
         : zWhy ? request_item_error(pzErr, "url_list item", p->nItem, zWhy) : SQLITE_NOMEM;
      if( rc==SQLITE_OK && !bCheck ){
        /* The item's parameters are its input, carried to its rows. */
        pReq->zInput = sqlite3_mprintf("%.*s", (int)v.n, v.z);
        if( pReq->zInput==0 ) rc = SQLITE_NOMEM;
      }
    }
  }else{
    size_t s, len;
    if( !next_line(p, &s, &len) ) return 0;
    memset(pReq, 0, sizeof(*pReq));
    pReq->iIndex = p->nItem;
    if( memchr(p->z+s, 0, len) ){
      rc = request_item_error(pzErr, "url_list item", p->nItem,
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
    if( rc==SQLITE_ERROR ) rc = request_item_error(pzErr, "url_list item", p->nItem, zWhy);
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

/* Step over the next item unread (another shard's): 1, or 0 at the end.
** The validating pass has checked it already. */
static int urllist_skip(UrlList *p){
  if( p->bJson ){
    JsonSpan v;
    if( !json_array_next(json_root(p->z, p->n), &p->pos, &v) ) return 0;
  }else{
    size_t s, len;
    if( !next_line(p, &s, &len) ) return 0;
  }
  p->nItem++;
  return 1;
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
    rc = request_parse_item(json_root(z, n), "url_query row", iIndex, pReq, pzErr);
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

/**************************************************************************
** url_query
*/

/* A url_template value from the url_query row: the column of that name. */
static char *query_param(void *pCtx, const char *zName, int *pbMissing){
  sqlite3_stmt *p = (sqlite3_stmt*)pCtx;
  int i, n = sqlite3_column_count(p);
  for(i=0; i<n; i++){
    if( sqlite3_stricmp(sqlite3_column_name(p, i), zName)==0 ){
      const char *z = (const char*)sqlite3_column_text(p, i);
      if( z==0 ){
        *pbMissing = TEMPLATE_MISSING;
        return 0;
      }
      if( (int)strlen(z)!=sqlite3_column_bytes(p, i) ){   /* a blob or text with a NUL */
        *pbMissing = TEMPLATE_NUL;
        return 0;
      }
      return sqlite3_mprintf("%s", z);
    }
  }
  *pbMissing = TEMPLATE_MISSING;
  return 0;
}

/* The input a url_query row carries to its rows: a JSON object of its
** columns from iFirst on, by name (the first column, the URL, is already
** the url column).  NULL in *pz if there are none.  A BLOB has no JSON
** form (as for SQLite's json_object), so it is an error naming the column. */
static int query_input(RequestStream *s, int iFirst, char **pz, char **pzErr){
  sqlite3_stmt *p = s->pQuery;
  int i, n = sqlite3_column_count(p);
  Buf b = {0, 0, 0, 0};
  *pz = 0;
  if( iFirst>=n ) return SQLITE_OK;
  buf_append(&b, STRCONST("{"));
  for(i=iFirst; i<n; i++){
    const char *zName = sqlite3_column_name(p, i);
    if( zName==0 ){ buf_free(&b); return SQLITE_NOMEM; }
    if( i>iFirst ) buf_append(&b, STRCONST(","));
    buf_append_json_string(&b, zName, strlen(zName));
    buf_append(&b, STRCONST(":"));
    switch( sqlite3_column_type(p, i) ){
      case SQLITE_INTEGER: {
        char zNum[32];
        sqlite3_snprintf(sizeof(zNum), zNum, "%lld", sqlite3_column_int64(p, i));
        buf_append(&b, zNum, strlen(zNum));
        break;
      }
      case SQLITE_FLOAT: {
        double r = sqlite3_column_double(p, i);
        char zNum[40];
        /* JSON has no NaN or infinity: those are null, as in json_object. */
        if( r!=r || r>1.7976931348623157e308 || r< -1.7976931348623157e308 ){
          buf_append(&b, STRCONST("null"));
        }else{
          sqlite3_snprintf(sizeof(zNum), zNum, "%!.17g", r);
          buf_append(&b, zNum, strlen(zNum));
        }
        break;
      }
      case SQLITE_TEXT: {
        const char *z = (const char*)sqlite3_column_text(p, i);
        if( z==0 ){ buf_free(&b); return SQLITE_NOMEM; }
        buf_append_json_string(&b, z, (size_t)sqlite3_column_bytes(p, i));
        break;
      }
      case SQLITE_BLOB:
        buf_free(&b);
        *pzErr = sqlite3_mprintf("api_fetch: url_query row %lld: column \"%s\" is a blob, "
                                 "which the input carried to its rows (JSON) cannot hold; "
                                 "give hex(%s) or a text", s->nQueryRow, zName, zName);
        return SQLITE_ERROR;
      default:
        buf_append(&b, STRCONST("null"));
        break;
    }
  }
  buf_append(&b, STRCONST("}"));
  if( b.bOom ){ buf_free(&b); return SQLITE_NOMEM; }
  *pz = b.z;
  return SQLITE_OK;
}

/* Step url_query to its next row: 1 with a row, 0 at the end, -1 with
** *pzErr. */
static int query_step(RequestStream *s, char **pzErr){
  int rc;
  /* A url_query may read other wide tables, whose url_query may read
  ** others: a chain, bounded here, as a table that reads itself is refused
  ** by its scan.  Either would otherwise recurse until the stack ends. */
  if( *s->pnQueryDepth>=APIFETCH_MAX_QUERY_DEPTH ){
    *pzErr = sqlite3_mprintf("api_fetch: url_query reads wide tables whose url_query "
        "reads wide tables, more than %d deep", APIFETCH_MAX_QUERY_DEPTH);
    return -1;
  }
  (*s->pnQueryDepth)++;
  (*s->pbInQuery)++;
  rc = sqlite3_step(s->pQuery);
  (*s->pbInQuery)--;
  (*s->pnQueryDepth)--;
  if( rc==SQLITE_DONE ) return 0;
  if( rc!=SQLITE_ROW ){
    /* An error of a wide table the query reads is passed on as it is, and
    ** so is an interrupt, or a progress handler's stop, that came while the
    ** query ran: exactly SQLite's word, as engine_wait's (Datasette shows
    ** its "SQL Interrupted" page only for an error that reads so). */
    const char *zMsg = sqlite3_errmsg(s->db);
    *pzErr = strncmp(zMsg, "api_fetch: ", 11)==0 || (rc & 0xff)==SQLITE_INTERRUPT
           ? sqlite3_mprintf("%s", zMsg)
           : sqlite3_mprintf("api_fetch: url_query failed: %s", zMsg);
    return -1;
  }
  return 1;
}

/* One URL or request object per row of the query. */
static int query_next(RequestStream *s, Request *pReq, char **pzErr){
  int rc = query_step(s, pzErr);
  if( rc<=0 ) return rc;
  if( s->pOpt->zUrlTemplate==0 && sqlite3_column_type(s->pQuery, 0)==SQLITE_NULL ){
    *pzErr = sqlite3_mprintf("api_fetch: url_query row %lld is NULL, not a URL", s->nQueryRow);
    return -1;
  }
  if( s->pOpt->zUrlTemplate ){
    /* url_template: the row's columns, by name, fill the placeholders. */
    char *zWhy = 0;
    char *zUrl = request_from_template(s->pOpt, query_param, s->pQuery, &zWhy);
    if( zUrl==0 ){
      *pzErr = zWhy ? sqlite3_mprintf("api_fetch: url_query row %lld: %s", s->nQueryRow, zWhy)
                    : 0;
      sqlite3_free(zWhy);
      return -1;
    }
    rc = request_from_text(zUrl, strlen(zUrl), s->nQueryRow, s->pOpt, pReq, pzErr);
    sqlite3_free(zUrl);
    if( rc ) return -1;
  }else{
    const char *z = (const char*)sqlite3_column_text(s->pQuery, 0);
    int n = sqlite3_column_bytes(s->pQuery, 0);
    if( z==0 ){ *pzErr = 0; return -1; }
    if( request_from_text(z, (size_t)n, s->nQueryRow, s->pOpt, pReq, pzErr) ) return -1;
  }
  {
    /* With url_template every column is a parameter and all are carried;
    ** else the first is the URL and the others are.  A request object's
    ** own "input" is kept when the row has no other columns. */
    char *zInput = 0;
    rc = query_input(s, s->pOpt->zUrlTemplate ? 0 : 1, &zInput, pzErr);
    if( rc==SQLITE_OK && zInput && pReq->zInput ){
      sqlite3_free(zInput);
      *pzErr = sqlite3_mprintf("api_fetch: url_query row %lld: its request object has "
                               "\"input\" and the row has other columns; give one",
                               s->nQueryRow);
      rc = SQLITE_ERROR;
    }else if( zInput ){
      pReq->zInput = zInput;
    }
    if( rc ){
      request_clear(pReq);
      if( *pzErr==0 ) *pzErr = sqlite3_mprintf("api_fetch: out of memory");
      return -1;
    }
  }
  s->nQueryRow++;
  return 1;
}

/**************************************************************************
** The stream
*/

int stream_open_list(RequestStream *s, const Options *pOpt, const char *z, size_t n,
                     char **pzErr){
  /* url_list is read twice (checked, then streamed), so it keeps a copy:
  ** an SQL argument only lives until xFilter returns. */
  char *zCopy = sqlite3_malloc64((sqlite3_uint64)n + 1);
  memset(s, 0, sizeof(*s));
  s->pOpt = pOpt;
  s->nLeft = -1;
  if( zCopy==0 ) return SQLITE_NOMEM;
  memcpy(zCopy, z, n);
  zCopy[n] = 0;
  return urllist_open(&s->list, zCopy, n, pOpt, pzErr);
}

int stream_open_query(RequestStream *s, const Options *pOpt, const QuerySpec *q,
                      char **pzErr){
  const char *zTail = 0;
  int rc;
  memset(s, 0, sizeof(*s));
  s->pOpt = pOpt;
  s->nLeft = -1;
  s->db = q->db;
  s->pnQueryDepth = q->pnQueryDepth;
  s->pbInQuery = q->pbInQuery;
  s->xOwnTable = q->xOwnTable;
  s->pOwnCtx = q->pOwnCtx;
  rc = sqlite3_prepare_v3(s->db, q->zSql, -1, q->bFromFile ? SQLITE_PREPARE_FROM_DDL : 0,
                          &s->pQuery, &zTail);
  if( rc ){
    *pzErr = sqlite3_mprintf("api_fetch: url_query: %s", sqlite3_errmsg(s->db));
    return SQLITE_ERROR;
  }
  while( zTail && (*zTail==' ' || *zTail=='\t' || *zTail=='\n' || *zTail=='\r'
                   || *zTail==';') ) zTail++;
  if( s->pQuery==0 || (zTail && *zTail) ){
    *pzErr = sqlite3_mprintf("api_fetch: url_query must be exactly one SELECT statement");
    return SQLITE_ERROR;
  }
  if( !sqlite3_stmt_readonly(s->pQuery) ){
    *pzErr = sqlite3_mprintf("api_fetch: url_query must be a read-only statement");
    return SQLITE_ERROR;
  }
  if( q->bFromFile && sandbox_check(s->db, q->zSql, q->xOwnTable, q->pOwnCtx, pzErr) ){
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

/* Step over the starting URLs of other shards, up to the next of this
** one: 1, 0 at the end, -1 with *pzErr.  A url_query row is stepped, so
** that it counts, but not read: another shard's bad row is its error. */
static int stream_skip_others(RequestStream *s, char **pzErr){
  const Options *p = s->pOpt;
  if( p->shard.n<=1 ) return 1;
  assert( p->shard.k>=0 && p->shard.k<p->shard.n );
  for(;;){
    sqlite3_int64 i = s->pQuery ? s->nQueryRow : s->list.nItem;
    int r;
    if( i % p->shard.n==p->shard.k ) return 1;
    if( s->pQuery ){
      r = query_step(s, pzErr);
      if( r>0 ) s->nQueryRow++;
    }else{
      r = urllist_skip(&s->list);
    }
    if( r<=0 ) return r;
  }
}

/* The engine's requests: one read ahead, then pages found so far (so that
** a collection is finished before more starting URLs are begun), then the
** next starting URL. */
int stream_next(RequestStream *s, Request *pReq, char **pzErr){
  int r;
  if( s->bPending ){
    *pReq = s->pending;
    memset(&s->pending, 0, sizeof(s->pending));
    s->bPending = 0;
    return 1;
  }
  r = pagequeue_next(&s->pOpt->paginate, &s->pages, pReq);
  if( r>0 && !pReq->bNoCredentials && request_query(pReq, s->pOpt) ){
    /* A page the server named gets the query parameters too, as every URL
    ** does (not on another origin: they may be keys).  A page named by a
    ** cached response needs them: the cache stores its Link header with
    ** the profile's values redacted (cacheflow.c). */
    request_clear(pReq);
    r = -1;
  }
  if( r ){
    if( r<0 ) *pzErr = sqlite3_mprintf("api_fetch: out of memory");
    return r;
  }
  if( s->nLeft==0 || s->bEnd ) return 0;
  r = stream_skip_others(s, pzErr);
  if( r>0 ){
    r = s->pQuery ? query_next(s, pReq, pzErr) : urllist_next(&s->list, pReq, pzErr);
  }
  if( r==0 ) s->bEnd = 1;
  if( r>0 ){
    if( s->nLeft>0 ) s->nLeft--;
    pReq->azWant = s->pOpt->paginate.azWant;
    pReq->nWant = s->pOpt->paginate.nWant;
    if( paginate_first(&s->pOpt->paginate, pReq) ){
      request_clear(pReq);
      *pzErr = sqlite3_mprintf("api_fetch: out of memory");
      return -1;
    }
  }
  return r;
}

int stream_follow(RequestStream *s, Response *r, JsonSpan root, int bEmpty, int *pbMore){
  int rc = paginate_follow(&s->pOpt->paginate, r, root, bEmpty, &s->pages);
  *pbMore = s->pages.pFirst!=0;
  return rc;
}

/* The sampled responses a scan can give instead of fetching them: those
** that match the first requests of the stream.  They move from *ppSample
** to *ppGive; the first request that does not match is kept to be sent. */
int stream_replay(RequestStream *s, Response **ppSample, Response **ppGive, char **pzErr){
  Response **pp = ppSample, *pRest;
  while( *pp ){
    Request req;
    int r = stream_next(s, &req, pzErr);
    if( r<0 ) return SQLITE_ERROR;
    if( r==0 ) break;
    if( req.iIndex!=(*pp)->req.iIndex || strcmp(req.zUrl, (*pp)->req.zUrl)!=0
     || ((req.zMethod==0)!=((*pp)->req.zMethod==0))
     || (req.zMethod && strcmp(req.zMethod, (*pp)->req.zMethod)!=0) ){
      s->pending = req;
      s->bPending = 1;
      break;
    }
    request_clear(&req);
    pp = &(*pp)->pNext;
  }
  /* What matched is given first; the rest is dropped.  Nothing matched
  ** (pp is ppSample) gives nothing: cut the list first, then take it. */
  pRest = *pp;
  *pp = 0;
  *ppGive = *ppSample;
  *ppSample = pRest;
  while( *ppSample ){
    Response *r = *ppSample;
    *ppSample = r->pNext;
    response_free(r);
  }
  return SQLITE_OK;
}

sqlite3_int64 stream_total(const RequestStream *s){
  /* With url_query, or pages found on the way, the total is not known. */
  sqlite3_int64 n = s->pOpt->shard.n, k = s->pOpt->shard.k;
  if( s->pQuery || s->pOpt->paginate.pKind ) return -1;
  if( n<=1 ) return s->list.nTotal;
  return s->list.nTotal>k ? (s->list.nTotal - k - 1)/n + 1 : 0;    /* items k, k+n, ... */
}

void stream_close(RequestStream *s){
  if( s->bPending ) request_clear(&s->pending);
  pagequeue_clear(&s->pages);
  sqlite3_finalize(s->pQuery);
  urllist_close(&s->list);
  memset(s, 0, sizeof(*s));
}
