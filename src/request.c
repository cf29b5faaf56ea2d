/*
** request.c - the values that flow through the layers: a Request (what to
** ask, made by source.c and paginate.c, sent by engine.c) and a Response
** (what came back, read by vtab.c).  Making, clearing, copying, freeing.
**
**   Request copy;
**   if( request_copy(&copy, &r->req)==SQLITE_OK ){ ...; request_clear(&copy); }
*/
#include <string.h>
#include <strings.h>
#include "apifetch.h"

/**************************************************************************
** Requests and url_list
*/
void request_clear(Request *p){
  sqlite3_free(p->zUrl);
  sqlite3_free(p->zMethod);
  sqlite3_free(p->pBody);
  curl_slist_free_all(p->pHeaders);
  sqlite3_free(p->pSeen);
  sqlite3_free(p->zFail);
  sqlite3_free(p->zInput);
  memset(p, 0, sizeof(*p));
}

int request_copy(Request *pTo, const Request *p){
  struct curl_slist *h;
  memset(pTo, 0, sizeof(*pTo));
  pTo->iIndex = p->iIndex;
  pTo->iPage = p->iPage;
  pTo->bNoCredentials = p->bNoCredentials;
  pTo->azWant = p->azWant;
  pTo->nWant = p->nWant;
  pTo->iFormat = p->iFormat;
  pTo->zUrl = sqlite3_mprintf("%s", p->zUrl);
  if( p->zMethod ) pTo->zMethod = sqlite3_mprintf("%s", p->zMethod);
  if( p->zFail ) pTo->zFail = sqlite3_mprintf("%s", p->zFail);
  if( p->zInput ) pTo->zInput = sqlite3_mprintf("%s", p->zInput);   /* pages carry it */
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
  if( pTo->zUrl==0 || (p->zMethod && pTo->zMethod==0) || (p->pBody && pTo->pBody==0)
   || (p->zFail && pTo->zFail==0) || (p->zInput && pTo->zInput==0) ){
    request_clear(pTo);
    return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* The one constructor of a Response: to request q, which it takes over (q
** is left empty), every other field zero, for the caller to fill.  NULL on
** out of memory, q cleared all the same: whichever way it goes, the caller
** has nothing of q's left to free. */
Response *response_new(Request *q){
  Response *r = sqlite3_malloc64(sizeof(*r));
  if( r==0 ){
    request_clear(q);
    return 0;
  }
  memset(r, 0, sizeof(*r));
  r->req = *q;
  memset(q, 0, sizeof(*q));
  return r;
}

void response_free(Response *p){
  if( p==0 ) return;
  request_clear(&p->req);
  sqlite3_free(p->zError);
  sqlite3_free(p->zFinalUrl);
  sqlite3_free(p->zContentType);
  sqlite3_free(p->pBody);
  if( p->azHeader ) strlist_free(p->azHeader, p->nHeader);
  sqlite3_free(p->zHeaders);
  sqlite3_free(p);
}

const char *response_url(const Response *r){
  return r->zFinalUrl ? r->zFinalUrl : r->req.zUrl;
}

/* Does list p have a header of zLine's name (zLine is "Name: value", or
** "Name;" for an empty one)? */
static int has_header(struct curl_slist *p, const char *zLine){
  size_t n = strcspn(zLine, ":;");
  for(; p; p=p->next){
    if( strncasecmp(p->data, zLine, n)==0 && (p->data[n]==':' || p->data[n]==';') ){
      return 1;
    }
  }
  return 0;
}

int request_add_header(Request *pReq, const char *zLine){
  struct curl_slist *pNew;
  if( has_header(pReq->pHeaders, zLine) ) return SQLITE_OK;
  pNew = curl_slist_append(pReq->pHeaders, zLine);
  if( pNew==0 ) return SQLITE_NOMEM;
  pReq->pHeaders = pNew;
  return SQLITE_OK;
}
