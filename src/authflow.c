/*
** authflow.c - OAuth2 in the engine's flow, as cacheflow.c is the cache's:
** the token an attempt sends (fetched once for the whole window, bound to
** the API's origin), and a 401 that asks for a new one once.  The token
** endpoint itself is oauth.c's; the engine (engine.c) calls these two.
*/
#include <assert.h>
#include <string.h>
#include "apifetch.h"
#include "engine_int.h"

/* The connection's OAuth2 tokens (keep.c holds them between statements). */
static OAuthToken **authflow_tokens(Engine *e){
  return e->pKeep ? &e->pKeep->pTokens : &e->pOwnTokens;
}

/* oauth2: the token t's attempt is to send, into e->zToken.  Fetched here,
** synchronously, when there is none or it is due: the window waits, so
** that a scan's requests, however many are in flight, share one fetch.  A
** token endpoint that failed is every request's error row (*pzRow) for
** the rest of the scan, without asking it again each time.  A request off
** the token's origin (oauth2_origin) goes without it, and gets the API's
** 401 as its row: the token is the API's, whatever host a url_list or a
** url_query built from data names.  The wait is the engine's all the same:
** an interrupt ends the statement as engine_wait would (SQLITE_INTERRUPT,
** *pzErr), and the deadline coming first sets *pbLate (no token, no row:
** the caller expires the scan). */
int authflow_token(Engine *e, Transfer *t, char **pzRow, int *pbLate, char **pzErr){
  const OAuth2 *p = &e->pOpt->oauth2;
  const char *zOrigin;
  TokenStop stop;
  OAuthToken *pTok = 0;
  int nSent = 0, rc, bSame = 0;
  *pzRow = 0;
  *pbLate = 0;
  t->bNoToken = 0;
  if( p->zTokenUrl==0 || t->req.bNoCredentials ) return SQLITE_OK;   /* none sent */
  zOrigin = oauth2_origin(p, e->pOpt->zBaseUrl);
  assert( zOrigin );                           /* else scan_open refused the query */
  if( zOrigin && url_same_origin(t->req.zUrl, zOrigin, &bSame) ) return SQLITE_NOMEM;
  if( !bSame ){
    t->bNoToken = 1;
    return SQLITE_OK;
  }
  if( e->zOAuthFail==0 ){
    stop.xCancelled = e->src.xCancelled;
    stop.pCtx = e->src.pCtx;
    stop.ptCheck = &e->pBudget->tCancelCheck;
    stop.tDeadline = e->tDeadline;
    rc = oauth2_token(authflow_tokens(e), p, e->pOpt, e->pGuard, &stop, &pTok, &e->zOAuthFail,
                      &nSent);
    e->pBudget->nRequests += nSent;
    if( rc==SQLITE_INTERRUPT ){
      /* SQLite's own word, as engine_wait's. */
      *pzErr = sqlite3_mprintf("interrupted");
      return *pzErr ? rc : SQLITE_NOMEM;
    }
    if( rc ) return rc;
    if( pTok==0 && e->zOAuthFail==0 ){ *pbLate = 1; return SQLITE_OK; }
  }
  if( pTok==0 ){
    assert( e->zOAuthFail );
    *pzRow = sqlite3_mprintf("%s", e->zOAuthFail);
    return *pzRow ? SQLITE_OK : SQLITE_NOMEM;
  }
  if( e->zToken==0 || e->iTokenGen!=pTok->iGen ){
    sqlite3_free(e->zToken);
    e->zToken = sqlite3_mprintf("%s", pTok->zToken);
    if( e->zToken==0 ) return SQLITE_NOMEM;
    e->iTokenGen = pTok->iGen;
  }
  t->iTokenGen = pTok->iGen;
  return SQLITE_OK;
}

/* oauth2 and a 401 (RFC 6750 section 3.1, invalid_token: expired or
** revoked before its expires_in): once per request, a new token and the
** attempt again, at once.  Is t's attempt to be made again so? */
int authflow_reauth(Engine *e, Transfer *t, CURLcode cc, long status){
  if( cc!=CURLE_OK || status!=401 || e->pOpt->oauth2.zTokenUrl==0 || t->bReauth
   || t->bRefused || t->bHopForeign || t->req.bNoCredentials || t->bNoToken ){
    return 0;
  }
  t->bReauth = 1;
  oauth2_token_stale(*authflow_tokens(e), &e->pOpt->oauth2, t->iTokenGen);
  return 1;
}

