/*
** sockets.c - the engine's sockets: libcurl's socket interface
** (curl_multi_socket_action) over one epoll set, so that a turn of the
** engine costs what is ready, not the size of the window.
**
**   sockets_open(&e->sock, e->multi);          -- engine_new
**   rc = sockets_act(&e->sock, e->multi, &zErr);   -- where curl_multi_perform was
**   rc = sockets_wait(&e->sock, ms, &zErr);        -- where curl_multi_poll was
**   sockets_close(&e->sock, e->multi);         -- engine_free, before the
**                                                 multi handle is kept or closed
**
** Why not curl_multi_perform and curl_multi_poll: in libcurl 7.88 (Debian
** 12) curl_multi_perform visits every easy handle of the multi handle on
** each call, and curl_multi_poll gives the kernel every socket on each
** call, so at concurrency 10,000 a turn did the work of 10,000 transfers to
** settle the few that were ready.  Measured (2026-12-06, 100,000 URLs from
** a loopback nginx, 2 cores): 20.8k requests/s at concurrency 50 but 8.2k
** at 10,000.  Here libcurl says which sockets to watch and for what
** (on_socket), the kernel says which are ready (epoll_wait), and
** curl_multi_socket_action moves only the transfers on those sockets, and
** those whose timer is due (curl_multi_timeout says 0: handles just added,
** timeouts, retries of a connect).  As curl's docs/examples/multi-event.c,
** with epoll and without an event library.
**
** Level-triggered: a socket that still has data after its turn is ready
** again at the next epoll_wait, so a batch may stop at SOCKETS_BATCH
** events without losing any.
**
** But not for a small window: at concurrency 50 the socket interface cost
** a quarter more CPU than curl_multi_perform + curl_multi_poll (make bench
** W3, 2026-12-06: 0.58 s against 0.47 s for 20,000 small files; its
** epoll_wait and curl_multi_timeout every turn, and libcurl's own socket
** bookkeeping), where perform's walk over every transfer is cheap.  So a
** window of at most APIFETCH_KEEP_MAX_CONNS uses perform and poll (bPoll),
** and a larger one the socket interface.  The two never share a multi
** handle: a larger window takes a fresh one and does not keep it (keep.c),
** so libcurl's record of which sockets it asked to be watched is always
** the one this mode made.
*/
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <assert.h>
#include "apifetch.h"
#include "engine_int.h"

/* libcurl wants socket s watched for `what` (CURL_POLL_IN, _OUT, _INOUT),
** or no longer (CURL_POLL_REMOVE).  A socket new to libcurl's table (no
** pSockp yet) is added to the set, then marked with curl_multi_assign; one
** already in it is changed: a syscall each, not a failed one first. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *pArg, void *pSockp){
  Sockets *p = (Sockets*)pArg;
  struct epoll_event ev;
  (void)easy; (void)pSockp;
  if( what==CURL_POLL_REMOVE ){
    /* It may be closed already, which took it out of the set: no matter. */
    epoll_ctl(p->fd, EPOLL_CTL_DEL, s, 0);
    return 0;
  }
  memset(&ev, 0, sizeof(ev));
  ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
  ev.data.fd = s;
  if( epoll_ctl(p->fd, pSockp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev)!=0 ){
    /* Still in the set from before libcurl last forgot it (EEXIST), or
    ** closed meanwhile, which took it out (ENOENT): the other call. */
    int op = errno==EEXIST ? EPOLL_CTL_MOD : errno==ENOENT ? EPOLL_CTL_ADD : -1;
    if( op<0 || epoll_ctl(p->fd, op, s, &ev)!=0 ){
      /* Not watched, its transfer would wait for ever: the statement fails. */
      if( p->errWatch==0 ) p->errWatch = errno;
      return -1;
    }
  }
  if( pSockp==0 ) curl_multi_assign(p->multi, s, p);    /* any non-NULL */
  return 0;
}

int sockets_open(Sockets *p, CURLM *multi, int bPoll){
  p->multi = multi;
  p->nReady = 0;
  p->errWatch = 0;
  p->bPoll = bPoll;
  p->fd = -1;
  if( bPoll ) return SQLITE_OK;
  p->fd = epoll_create1(EPOLL_CLOEXEC);
  if( p->fd<0 ) return SQLITE_ERROR;
  if( curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket)
   || curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, p) ){
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

/* A kept multi handle outlives this engine: it must not call back into a
** freed Sockets.  Its idle connections have no sockets watched (libcurl
** says REMOVE when a socket's last transfer leaves it), so the next
** statement's set starts empty and gets the sockets its transfers use. */
void sockets_close(Sockets *p, CURLM *multi){
  if( multi && !p->bPoll ){
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, (curl_socket_callback)0);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, (void*)0);
  }
  if( p->fd>=0 ) close(p->fd);
  p->fd = -1;
  p->nReady = 0;
}

static int sockets_error(const char *zWhat, int err, char **pzErr){
  *pzErr = sqlite3_mprintf("api_fetch: %s failed: %s", zWhat, strerror(err));
  return SQLITE_ERROR;
}

/* Move on every transfer that can move now: those on the sockets ready
** (from sockets_wait, or asked of the kernel now without waiting) and those
** whose timer is due.  What replaces one curl_multi_perform. */
int sockets_act(Sockets *p, CURLM *multi, char **pzErr){
  CURLMcode mc = CURLM_OK;
  long tmo = -1;
  int i, nRun;
  if( p->bPoll ){
    mc = curl_multi_perform(multi, &nRun);
  }else if( p->nReady==0 ){
    int n = epoll_wait(p->fd, p->aReady, ArraySize(p->aReady), 0);
    if( n<0 && errno!=EINTR ) return sockets_error("epoll_wait", errno, pzErr);
    p->nReady = n>0 ? n : 0;
  }
  for(i=0; i<p->nReady && mc==CURLM_OK; i++){
    uint32_t ev = p->aReady[i].events;
    int f = 0;
    if( ev & (EPOLLIN|EPOLLHUP) ) f |= CURL_CSELECT_IN;
    if( ev & EPOLLOUT ) f |= CURL_CSELECT_OUT;
    if( ev & EPOLLERR ) f |= CURL_CSELECT_ERR;
    /* A socket closed by an earlier action of this batch is one libcurl no
    ** longer knows, and ignores. */
    mc = curl_multi_socket_action(multi, p->aReady[i].data.fd, f, &nRun);
  }
  p->nReady = 0;
  if( !p->bPoll && mc==CURLM_OK && curl_multi_timeout(multi, &tmo)==CURLM_OK && tmo==0 ){
    mc = curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &nRun);
  }
  if( p->errWatch ) return sockets_error("epoll_ctl", p->errWatch, pzErr);
  if( mc!=CURLM_OK ){
    *pzErr = sqlite3_mprintf("api_fetch: libcurl multi error: %s", curl_multi_strerror(mc));
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

/* Sleep up to ms, or until a watched socket is ready (kept for sockets_act). */
int sockets_wait(Sockets *p, int ms, char **pzErr){
  int n;
  if( p->bPoll ){
    CURLMcode mc = curl_multi_poll(p->multi, 0, 0, ms, 0);
    if( mc==CURLM_OK ) return SQLITE_OK;
    *pzErr = sqlite3_mprintf("api_fetch: libcurl multi error: %s", curl_multi_strerror(mc));
    return SQLITE_ERROR;
  }
  if( p->nReady>0 ) return SQLITE_OK;       /* not yet acted on: no sleep */
  n = epoll_wait(p->fd, p->aReady, ArraySize(p->aReady), ms);
  if( n<0 && errno!=EINTR ) return sockets_error("epoll_wait", errno, pzErr);
  p->nReady = n>0 ? n : 0;
  return SQLITE_OK;
}
