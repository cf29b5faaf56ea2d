/*
** chunk.c - the engine's done queue, the responses waiting to be read; and
** a streamed body (format ndjson): a body of one JSON text a line need not
** sit in memory whole, so it is queued in parts as it arrives, each part a
** Response of its own with whole lines.
**
**   on_body (transfer.c)    first bytes: chunk_decide; then, with a part's
**                           worth of bytes in, chunk_cut queues the whole
**                           lines as a part and keeps the rest
**   while a part waits      on_body answers CURL_WRITEFUNC_PAUSE: libcurl
**                           holds what comes and stops reading the socket
**                           (TCP and HTTP/2 flow control push back)
**   done_pop                gives the part to the scan (engine_next), and
**                           lets the transfer go on (curl_easy_pause)
**   transfer_finish         the last part, with the rest: chunk_finish
**
** So memory per slot is bounded by APIFETCH_PART_BYTES, twice (a part
** waiting, one filling), not by the body; max_bytes still bounds the whole
** body.  The parts of one body keep their order: the done queue is a FIFO
** and the transfer sends nothing more until its part is taken.
**
** What a streamed body cannot do, and why:
**   retry      a failure after a part was given is the response's error,
**              after a last part of the whole lines that came (chunk_flush),
**              saying how many lines were given; a second attempt would give
**              those lines twice (engine.c, retry_delay)
**   cache      a body given in parts is not stored (it is not in memory
**              whole to store); one that fits in one part is, as any other
**   pages      read from the last part only: its headers (Link), never a
**              body path (an NDJSON body has no root object)
**   sample     CREATE's sample (src.bFirstPart) reads the first part only:
**              the transfer then ends (bEnough), its host not blamed
*/
#include <assert.h>
#include <string.h>
#include "apifetch.h"
#include "engine_int.h"

/**************************************************************************
** The done queue: responses waiting to be read, oldest first.  Here, not
** in engine.c, because libcurl's write callback (on_body, chunk_cut) queues
** the parts of a streamed body.
*/
/* r, a part, was taken from the queue: its transfer may go on. */
static void chunk_taken(Engine *e, Response *r){
  Transfer *t;
  assert( r->bMore && r->iSlot>=0 && r->iSlot<e->nXfer );
  t = &e->aXfer[r->iSlot];
  /* The slot may have ended since (a timeout while paused) and even taken
  ** another request: then this part is no longer what holds it. */
  if( t->pPartOut!=r ) return;
  t->pPartOut = 0;
  assert( t->state==T_RUNNING && t->easy );
  /* May call on_body at once with what libcurl held, and cut the next part. */
  curl_easy_pause(t->easy, CURLPAUSE_CONT);
}

/* A part of a streamed body (r->bMore) is held by its running slot, not
** by an idle one: counted apart, so that engine_fill still starts work. */
void done_push(Engine *e, Response *r){
  if( r->bMore ) e->nPart++; else e->nDone++;
  r->pNext = 0;
  if( e->pDoneLast ) e->pDoneLast->pNext = r; else e->pDone = r;
  e->pDoneLast = r;
}

Response *done_pop(Engine *e){
  Response *r = e->pDone;
  assert( r && (r->bMore ? e->nPart : e->nDone)>0 );
  e->pDone = r->pNext;
  if( r->bMore ) e->nPart--; else e->nDone--;
  if( e->pDone==0 ) e->pDoneLast = 0;
  r->pNext = 0;
  if( r->bMore ) chunk_taken(e, r);
  return r;
}

/**************************************************************************
** A streamed body
*/
void chunk_decide(Transfer *t){
  Engine *e = t->pEngine;
  long status = 0;
  char *zType = 0;
  t->eStream = STREAM_NO;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  /* Only a success's body is records; a redirect's or an error's is not,
  ** nor one whose status on_status names skip, error, fail or retry: that
  ** is one verdict for the response (scan.c), which a part cannot be given
  ** before, and a retry needs that nothing was given. */
  if( status<200 || status>299 ) return;
  if( onstatus_action(e->pOpt, status)!=STATUS_DEFAULT
   && onstatus_action(e->pOpt, status)!=STATUS_DATA ){
    return;
  }
  curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &zType);
  if( format_of(e->pOpt->eFormat, t->req.iFormat, zType)==FMT_NDJSON ){
    t->eStream = STREAM_YES;
  }
}

int chunk_cut(Transfer *t){
  assert( t->pPartOut==0 );
  return chunk_flush(t);
}

int chunk_flush(Transfer *t){
  Engine *e = t->pEngine;
  const char *zLast = 0, *p, *pEnd = t->pBody + t->nBody;
  sqlite3_int64 nLine = 0;
  size_t nPart, nRest;
  char *zType = 0, *pRest;
  long status = 0;
  Request q;
  Response *r;
  assert( t->eStream==STREAM_YES );
  assert( t->nNoLine<=t->nBody );
  /* Only what came since the last look: a line of max_bytes is then looked
  ** through once, not once per piece (which grew with its square: 5 s of
  ** CPU for a 60 MB line, tests/py/ndjson_long_line.py). */
  p = t->pBody + t->nNoLine;
  while( p<pEnd && (p = memchr(p, '\n', (size_t)(pEnd - p)))!=0 ){
    zLast = p++;
    nLine++;
  }
  if( zLast==0 ){                      /* one long line so far: wait for its end */
    t->nNoLine = t->nBody;
    return SQLITE_OK;
  }
  nPart = (size_t)(zLast - t->pBody) + 1;
  nRest = t->nBody - nPart;
  /* The part takes the buffer; the few bytes after its last line start a
  ** new one, as big, so that the next part need not grow it. */
  pRest = sqlite3_malloc64(t->nAlloc);
  if( pRest==0 || request_copy(&q, &t->req) ){ sqlite3_free(pRest); return SQLITE_NOMEM; }
  r = response_new(&q);
  if( r==0 ){ sqlite3_free(pRest); return SQLITE_NOMEM; }
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &zType);
  if( zType && (r->zContentType = text_utf8_dup(zType))==0 ){
    sqlite3_free(pRest);
    response_free(r);
    return SQLITE_NOMEM;
  }
  /* response_headers: every row of the response has its headers, those
  ** of the parts before the last too (they all came before the body). */
  if( e->pOpt->response_headers ){
    int bOom = 0;
    char *zLines = cacheflow_header_lines(t->easy, e->pOpt, &bOom);
    if( zLines && (r->zHeaders = header_lines_json(zLines))==0 ) bOom = 1;
    sqlite3_free(zLines);
    if( bOom ){
      sqlite3_free(pRest);
      response_free(r);
      return SQLITE_NOMEM;
    }
  }
  memcpy(pRest, t->pBody + nPart, nRest);
  pRest[nRest] = 0;
  r->pBody = t->pBody;
  r->nBody = nPart;
  r->pBody[nPart] = 0;
  t->pBody = pRest;
  t->nBody = nRest;
  t->nNoLine = nRest;                  /* what follows the last line's end */
  r->status = status;
  r->nAttempt = t->nAttempt;
  r->nRequest = t->nRequest;
  r->elapsed_ms = clock_ms() - t->tFirst;
  r->eCache = e->pCache ? CACHE_MISS : CACHE_NONE;   /* fetched, and not to be kept */
  r->bMore = 1;
  r->iSlot = (int)(t - e->aXfer);
  r->iLine = t->nLinesOut;
  t->nLinesOut += nLine;
  t->nBytesOut += (sqlite3_int64)nPart;
  t->pPartOut = r;
  done_push(e, r);
  if( e->src.bFirstPart ) t->bEnough = 1;    /* on_body ends the transfer */
  return SQLITE_OK;
}

void chunk_finish(Transfer *t, Response *r){
  r->iLine = t->nLinesOut;
  t->pPartOut = 0;
}
