/*
** keep.c - what a SQLite connection keeps of libcurl between its
** statements: the multi handle (its connection cache: open TCP and TLS
** connections, HTTP/2 ones with their streams) and a share handle (the DNS
** cache and the TLS session cache).  Without it every statement started
** from nothing and paid a TCP and a TLS handshake per connection again
** (issue 20: 200 statements of 5 URLs over HTTPS cost 23x the same URLs in
** one statement over HTTP/1.1, 8x over HTTP/2).
**
**   SELECT * FROM api_fetch('["https://api.example.com/a"]');
**   SELECT * FROM api_fetch('["https://api.example.com/b"]');  -- same connection
**
** The engine takes the handles from its caller (engine_new) and gives them
** back when it is freed:
**
**   keep_take(&conn->keep, &conn->guard, &multi, &share, &bKept);
**   ... the statement's transfers run on multi ...
**   keep_give(&conn->keep, multi, share, bKept, nWindow, bDrop);
**
** Why a kept multi handle and not a share handle with CURL_LOCK_DATA_CONNECT
** (checked against curl's CURLSHOPT_SHARE documentation and issues):
**   - the multi handle is where libcurl keeps connections for its easy
**     handles anyway, and where HTTP/2 multiplexing works: a shared
**     connection gets more streams only from the multi handle that holds it;
**   - a shared connection cache is a known bug in libcurl ("A shared
**     connection cache is not thread-safe", KNOWN_BUGS; curl issues 9404,
**     13840), and from 8.13 a shared cache makes the multi handle's
**     CURLMOPT_MAX_HOST_CONNECTIONS, our per_host, silently not apply (curl
**     issue 22265): the per-host cap must keep working on a newer libcurl.
** The share handle stays for DNS and TLS sessions: the engine makes a fresh
** easy handle for every attempt (transfer.c says why), and an easy handle
** alone would take its TLS sessions with it; a connection closed for being
** idle then resumes its TLS session instead of a full handshake.
**
** Bounded, released, safe:
**   - idle: handles given back more than APIFETCH_KEEP_IDLE_MS before the
**     next statement are closed then and made afresh (under nginx's default
**     keepalive_timeout of 75 s, so a kept connection is seldom one the
**     server has already closed); libcurl's own CURLOPT_MAXAGE_CONN (118 s)
**     applies within a statement;
**   - count: a statement's multi handle keeps up to its window of idle
**     connections (CURLMOPT_MAXCONNECTS, engine.c); one whose window was
**     over APIFETCH_KEEP_MAX_CONNS is closed when the statement ends rather
**     than kept, so that between statements a connection holds at most that
**     many sockets (file descriptors the next window would go without);
**   - released in keep_clear, from the Conn's destructor (conn_release);
**   - threads: one Keep per Conn, and a Conn is used by one thread at a
**     time (SQLite's own rule for a connection), so no lock: libcurl's
**     handles are never used by two threads at once.  Two scans of one
**     statement (a join) would share a multi handle's messages: the second
**     takes fresh handles of its own, not kept (bTaken);
**   - the guard: a connection is checked when it is made (block_private on
**     the address, allow_hosts before DNS and at connect, transfer.c), and
**     allow_hosts again before every request, reused connection or not
**     (CURLOPT_PREREQFUNCTION).  A reused connection is not connected again,
**     so block_private, ca_file or any other setting changed since it was
**     made would not be checked on it: the handles are dropped, every
**     connection closed and the DNS cache emptied, whenever the settings
**     changed (Guard.iGen differs from the one they were made under).
**     Options of the query itself (ca_file, proxy, credentials) need no
**     such care: libcurl reuses a connection only for a transfer whose TLS
**     and proxy settings match the ones it was made with.
*/
#include <assert.h>
#include <string.h>
#include "apifetch.h"

/* Close the kept handles, if any. */
static void keep_drop(Keep *k){
  if( k->multi ) curl_multi_cleanup(k->multi);
  if( k->share ) curl_share_cleanup(k->share);
  k->multi = 0;
  k->share = 0;
}

/* A multi handle and a share handle for DNS and TLS sessions, or
** SQLITE_NOMEM (both NULL). */
static int keep_make(CURLM **pMulti, CURLSH **pShare){
  CURLM *m = curl_multi_init();
  CURLSH *s = curl_share_init();
  /* Checked like every option (the TLS session cache is allocated here). */
  if( m==0 || s==0
   || curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS)
   || curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) ){
    if( m ) curl_multi_cleanup(m);
    if( s ) curl_share_cleanup(s);
    *pMulti = 0;
    *pShare = 0;
    return SQLITE_NOMEM;
  }
  *pMulti = m;
  *pShare = s;
  return SQLITE_OK;
}

int keep_take(Keep *k, const Guard *g, CURLM **pMulti, CURLSH **pShare, int *pbKept){
  unsigned iGen = g ? g->iGen : 0;
  *pbKept = 0;
  if( k==0 || k->bTaken ) return keep_make(pMulti, pShare);
  if( k->multi && (k->iGen!=iGen || clock_ms() - k->tIdle > APIFETCH_KEEP_IDLE_MS) ){
    if( k->iGen!=iGen ){
      /* Tokens got under other settings (another allow_hosts, say) too. */
      oauth2_tokens_free(k->pTokens);
      k->pTokens = 0;
    }
    keep_drop(k);
  }
  if( k->multi==0 ){
    int rc = keep_make(&k->multi, &k->share);
    if( rc ) return rc;
    k->iGen = iGen;
  }
  assert( k->multi && k->share );
  k->bTaken = 1;
  *pMulti = k->multi;
  *pShare = k->share;
  *pbKept = 1;
  return SQLITE_OK;
}

void keep_give(Keep *k, CURLM *multi, CURLSH *share, int bKept, int nWindow, int bDrop){
  if( !bKept ){
    if( multi ) curl_multi_cleanup(multi);
    if( share ) curl_share_cleanup(share);
    return;
  }
  assert( k && k->bTaken && k->multi==multi && k->share==share );
  k->bTaken = 0;
  k->tIdle = clock_ms();
  if( bDrop || nWindow>APIFETCH_KEEP_MAX_CONNS ) keep_drop(k);
}

void keep_clear(Keep *k){
  assert( k->bTaken==0 );
  keep_drop(k);
  oauth2_tokens_free(k->pTokens);
  k->pTokens = 0;
}
