/*
** engine_int.h - the engine row's own header: the structs and calls that
** engine.c (the scheduler), slot.c (its slots), sockets.c (their
** sockets), hostlimit.c (per host), transfer.c (one transfer), chunk.c (a
** streamed body), authflow.c (OAuth2's token in the flow) and cacheflow.c
** (the cache in the engine's flow) share, and no other file sees.  The rest of
** the extension holds an Engine by pointer and goes through the engine_*
** functions in apifetch.h.  tests/py/layers.py checks that only those three
** files include this.
*/
#ifndef APIFETCH_ENGINE_INT_H
#define APIFETCH_ENGINE_INT_H
#include <sys/epoll.h>
#include "apifetch.h"
#include "cache.h"

typedef struct Transfer Transfer;

/* The sockets of the engine's transfers, watched with epoll (sockets.c). */
#define SOCKETS_BATCH 2048    /* ready sockets acted on in one turn, at most */
typedef struct Sockets Sockets;
struct Sockets {
  int fd;                   /* The epoll set, or -1 */
  CURLM *multi;             /* The multi handle whose sockets these are */
  struct epoll_event aReady[SOCKETS_BATCH];   /* Ready, not yet acted on */
  int nReady;               /* Entries in aReady */
  int errWatch;             /* errno of a socket that could not be watched */
  int bPoll;                /* A small window: curl_multi_perform and _poll */
};

/* A slot's states; slot.c's slot_state() is the only writer of
** Transfer.state and says which moves there are. */
enum { T_IDLE = 0, T_RUNNING = 1, T_WAITING = 2 };

struct Transfer {
  Engine *pEngine;          /* The engine this slot belongs to */
  CURL *easy;               /* Easy handle of the current attempt, or NULL */
  int state;                /* T_IDLE, T_RUNNING or T_WAITING */
  Request req;              /* The request being worked on */
  int nAttempt;             /* Attempts started for req */
  sqlite3_int64 tFirst;     /* When the first attempt started, ms */
  sqlite3_int64 tDue;       /* T_WAITING: when to try again, ms */
  int iHeap;                /* T_WAITING: its index in Engine.apHeap */
  int iHost;                /* Its request's host in Engine.hosts */
  char *pBody;              /* Response body so far */
  size_t nBody;             /* Bytes in pBody */
  size_t nAlloc;            /* Bytes allocated for pBody */
  int bTooBig;              /* Body went over max_bytes */
  int bOom;                 /* The body could not be kept: out of memory */
  int bRefused;             /* The guard refused an address or host: no retry */
  int bProxied;             /* Sent through the options' proxy (guard_proxy_setup) */
  unsigned iTokenGen;       /* oauth2: the token its attempt sends (OAuthToken.iGen) */
  int bReauth;              /* oauth2: a 401 has had its one new token and retry */
  int bBackground;          /* A revalidation whose URL was answered already
                            ** (stale-while-revalidate): its response only
                            ** updates the cache and gives no row; one attempt */
  int bNoToken;             /* oauth2: req is off the token's origin: sent without it */
  int eTarget;              /* request_target_scan's state for the request sent
                            ** (only watched when its URL has a query) */
  int nRequest;             /* Requests sent for req: attempts and redirects */
  sqlite3_int64 tAttempt;   /* When this attempt (its first request) started */
  /* Where the redirects of this attempt have led (see redirect_follow);
  ** every new attempt starts again from req as it was asked. */
  char *zHopUrl;            /* The URL now, or NULL for req.zUrl */
  int nRedirect;            /* Redirects followed in this attempt */
  int bHopGet;              /* A redirect turned the request into a GET */
  int bHopForeign;          /* A redirect left req's origin: no credentials */
  struct curl_slist *pHopHeaders;  /* req's headers as a hop may send them */
  char *zNote;              /* Why a retry was not made, for the error text */
  char zErr[CURL_ERROR_SIZE];   /* libcurl's detail for the last failure */
  /* With a cache: the stored response req may be answered from, after a
  ** 304 or on an error (owned), or NULL; and req's key. */
  Cached *pCached;
  unsigned char aKey[CACHE_KEY_SIZE];
  struct curl_slist *pCondHeaders;  /* The headers sent, If-None-Match added */
  /* A streamed body (chunk.c), in parts of whole lines */
  int eStream;              /* STREAM_*: decided at the first bytes of a response */
  sqlite3_int64 nBytesOut;  /* Body bytes given in parts so far */
  sqlite3_int64 nLinesOut;  /* Lines given in parts so far */
  size_t nNoLine;           /* pBody[0..nNoLine) is known to hold no newline:
                            ** a long line is looked through once, not at
                            ** every piece that adds to it (chunk_flush) */
  Response *pPartOut;       /* A part in the done queue, not yet read: the
                            ** transfer is paused until it is, or NULL */
  int bEnough;              /* Its first part is all src.bFirstPart wants: it
                            ** ends, no failure of its host's */
};
enum { STREAM_UNDECIDED = 0, STREAM_NO, STREAM_YES };
/* A streamed body is cut into parts of about this many bytes (whole lines:
** a longer line waits whole, up to max_bytes).  Memory per slot is then
** two parts (one waiting to be read, one filling), not the body. */
#define APIFETCH_PART_BYTES (128*1024)

struct Engine {
  const Options *pOpt;      /* Options (owned by the caller) */
  const Guard *pGuard;      /* Connection limits (owned by the caller), or NULL */
  Budget *pBudget;          /* What the limits are counted against (shared) */
  int bOverBytes;           /* max_total_bytes was passed */
  int bOverRequests;        /* max_requests was passed by a redirect */
  const char *zDeadline;    /* "deadline_ms" or "max_query_ms" */
  sqlite3_int64 deadlineMs; /* Its value */
  RequestSource src;        /* Where requests come from */
  int bSrcDone;             /* src has no more requests */
  Request pending;          /* Taken from src but not yet started */
  int bPending;             /* pending is valid */
  CURLM *multi;             /* One multi handle: one connection cache */
  CURLSH *share;            /* DNS and TLS session cache for the handles */
  Sockets sock;             /* multi's sockets, watched (sockets.c) */
  Keep *pKeep;              /* Where multi and share came from (keep.c), or NULL */
  int bKept;                /* They are pKeep's: given back, not closed */
  int bTainted;             /* A transfer failed or met a bogus version: keep
                            ** nothing (transfer_result) */
  Transfer *aXfer;          /* The window: nXfer slots */
  int nXfer;                /* Slots: concurrency, unless capped (engine_window) */
  char zCapped[120];        /* What capped it, or "" (engine_window) */
  Transfer **apIdle;        /* Stack of idle slots */
  int nIdle;                /* Entries in apIdle */
  int nDone;                /* Responses in pDone: each still holds its slot's share
                            ** of the window, so memory stays bounded by it */
  Transfer **apHeap;        /* Min-heap of T_WAITING slots by tDue */
  int nHeap;                /* Entries in apHeap */
  int nRunning;             /* Slots in T_RUNNING */
  Response *pDone;          /* Completed responses, oldest first */
  Response *pDoneLast;      /* Last entry of pDone */
  int nPart;                /* Parts of streamed bodies in pDone (chunk.c): held by
                            ** their running slots, not by idle ones as nDone */
  TokenBucket bucket;       /* The `rate` limit */
  HostTable hosts;          /* What is learnt of each host (hostlimit.c) */
  uint64_t rnd;             /* PRNG state for jitter */
  sqlite3_int64 tDeadline;  /* Whole-query deadline, ms, or 0 */
  int bExpired;             /* The deadline has passed */
  char *zExpired;           /* Error text once expired */
  sqlite3_int64 tRateBlocked;   /* Since when a start waits for a token, or 0 */
  sqlite3_int64 rateWaitMs;     /* Total of those waits */
  CacheStore *pCache;       /* The cache (owned by the Conn), or NULL */
  struct curl_slist *pDefaultHeaders;  /* User-Agent and Accept-Encoding as
                            ** libcurl writes them, for requests without
                            ** headers of their own (transfer_default_headers) */
  char *zFail;              /* Why the statement fails, set deep in a callee */
  char *zToken;             /* oauth2: the token requests send now (a copy), or NULL */
  unsigned iTokenGen;       /* ... its OAuthToken.iGen */
  char *zOAuthFail;         /* oauth2: why the token endpoint failed, every request's
                            ** error row for the rest of the scan */
  OAuthToken *pOwnTokens;   /* oauth2: the tokens, without a Keep to hold them */
  Cached *pPendCached;      /* pending's stored response, if any (owned) */
  unsigned char aPendKey[CACHE_KEY_SIZE];   /* pending's key, with a cache */
  int bPendBackground;      /* pending is a background revalidation (Transfer) */
#ifdef APIFETCH_DEBUG
  int bTrace;               /* APIFETCH_TRACE is set: slot moves to stderr */
#endif
};

/* slot.c: move t to state eNew (T_IDLE, T_RUNNING, T_WAITING), between the
** idle stack, curl and the retry heap (by tDue); the only writer of
** t->state.  slot_check asserts that the counts match the states. */
void slot_state(Engine *e, Transfer *t, int eNew);
void slot_check(const Engine *e);

/* sockets.c: watch multi's sockets with epoll (SQLITE_ERROR: no epoll
** set); act on what is ready, instead of curl_multi_perform; sleep until
** something is, instead of curl_multi_poll; stop before multi is kept. */
int sockets_open(Sockets *p, CURLM *multi, int bPoll);
int sockets_act(Sockets *p, CURLM *multi, char **pzErr);
int sockets_wait(Sockets *p, int ms, char **pzErr);
void sockets_close(Sockets *p, CURLM *multi);

/* chunk.c: the done queue.  Queue r, a response or a part of a streamed
** body (r->bMore); take the oldest (there is one; a part's transfer then
** goes on). */
void done_push(Engine *e, Response *r);
Response *done_pop(Engine *e);

/* chunk.c: t's first bytes of a response came: stream its body or not */
void chunk_decide(Transfer *t);
/* t streams and has a part's worth: cut whole lines off as a part, queued
** (t is paused while it waits).  SQLITE_OK or SQLITE_NOMEM. */
int chunk_cut(Transfer *t);
/* The same whatever waits: a streamed transfer that failed gives the whole
** lines it has before its error. */
int chunk_flush(Transfer *t);
/* t's response (its final part) is made: the rest of what chunk.c knows. */
void chunk_finish(Transfer *t, Response *r);

/* hostlimit.c: may an attempt for host iHost start now?  0: yes (counted
** against its budget); >0: not before that many ms; -1: its circuit is open,
** the request ends now (host_open_text says why). */
sqlite3_int64 host_admit(Engine *e, int iHost, sqlite3_int64 now);
/* t's request (a new attempt if bAttempt, else a redirect hop) was sent. */
void host_started(Engine *e, Transfer *t, int bAttempt);
/* t's attempt ended (cc, status): learn from it; 1 if it opened the circuit. */
int host_attempt_done(Engine *e, Transfer *t, CURLcode cc, long status, sqlite3_int64 now);
int host_open(const Engine *e, int iHost);
char *host_open_text(const Engine *e, int iHost);

/* transfer.c: a fresh easy handle for t's next request (or redirect hop) */
int transfer_setup(Engine *e, Transfer *t);
/* transfer.c: the header lines libcurl writes for the options' user agent
** and the encodings it decodes, made once (NULL: none, or *pbOom) */
struct curl_slist *transfer_default_headers(const Options *o, int *pbOom);
/* response header zName of t's last response, lines joined ("" absent: NULL) */
char *header_value(CURL *h, const char *zName, int *pbOom);
/* the headers a redirect hop may send (transfer.c), and back to the start */
int hop_headers(Transfer *t);
void hop_reset(Transfer *t);
/* libcurl's result for t's attempt as the engine is to take it: status
** and code, corrected where libcurl got it wrong without saying */
CURLcode transfer_result(Transfer *t, CURLcode cc, long *pStatus);
/* why an attempt failed, for the error row (NULL: it did not) */
char *failure_text(Engine *e, Transfer *t, CURLcode cc, long status);

/* transfer.c: tell the source (src.xAttempt, which the caller checked is
** set) that t's attempt or redirect hop ended so; zError, if not NULL,
** says why instead of libcurl (the deadline).  An error of the statement
** comes with e->zFail set. */
int transfer_report(Engine *e, Transfer *t, CURLcode cc, long status, const char *zError);
/* The same for a response made without a request: a cache hit, a page
** that cannot be followed (iAttempt 0). */
int answer_report(Engine *e, const Response *r, char **pzErr);

/* authflow.c: oauth2's token for t's attempt into e->zToken (fetched once
** for the window; none for a request off the API's origin, t->bNoToken):
** *pzRow an error row (the token endpoint failed), *pbLate the deadline
** came first; SQLITE_INTERRUPT with *pzErr, or SQLITE_NOMEM.  And a 401:
** is t's attempt to be made again, once, with a new token? */
int authflow_token(Engine *e, Transfer *t, char **pzRow, int *pbLate, char **pzErr);
int authflow_reauth(Engine *e, Transfer *t, CURLcode cc, long status);

/* cacheflow.c - the cache in the engine's flow; the engine queues the
** responses these make and frees their slots.  Before e->pending is
** started: answer it from the cache (*ppResp; e->pending taken), or not,
** with e->pPendCached set to any entry to revalidate or fall back on. */
int cacheflow_lookup(Engine *e, Response **ppResp, char **pzErr);
/* The headers of t's request with its validators added (t->pCondHeaders),
** or pBase when it has none; NULL with *pbOom on out of memory. */
struct curl_slist *cacheflow_conditional(Transfer *t, struct curl_slist *pBase, int *pbOom);
/* A 304 answered t's conditional request: the stored response, renewed. */
int cacheflow_revalidated(Engine *e, Transfer *t, Response **ppResp, char **pzErr);
/* t failed with status (0: no response): its stored response instead,
** marked stale, if the policy allows (*ppResp), else *ppResp NULL. */
int cacheflow_stale(Engine *e, Transfer *t, long status, Response **ppResp);
/* r, t's successful response, is stored if the policy allows (r holds
** the request now: t->req is empty). */
int cacheflow_store(Engine *e, Transfer *t, Response *r, char **pzErr);
/* r, t's HTTP error row (a 404), is stored with t's body if the policy
** allows (cache_statuses); the row keeps no body. */
int cacheflow_store_error(Engine *e, Transfer *t, Response *r, char **pzErr);
/* A hop of an unsafe method answered status: forget what is stored for its
** URLs (RFC 9111 section 4.4). */
int cacheflow_invalidate(Engine *e, Transfer *t, long status, char **pzErr);
/* Forget t's entry (a new request takes the slot). */
void cacheflow_release(Transfer *t);
/* The header lines of h's last response as the cache keeps them, for
** response_headers (Response.zHeaders): NULL if it had none, or with
** *pbOom on out of memory. */
char *cacheflow_header_lines(CURL *h, const Options *o, int *pbOom);

#endif /* APIFETCH_ENGINE_INT_H */
