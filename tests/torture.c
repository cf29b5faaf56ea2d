/*
** torture.c - allocation-failure torture test of apifetch, in the manner of
** SQLite's SQLITE_CONFIG_MALLOC fault injection and curl's `runtests.pl -t`.
**
**   make torture                      the full walk: every N, every query,
**                                     transient and persistent (long)
**   make torture TORTURE_SAMPLE=300   a seeded sample of 300 N per query and
**                                     mode (what CI runs; TORTURE_SEED=1)
**   ./tests/torture -l                list the queries
**   ./tests/torture -q NAME -n N -m p -v    one run, its output against the
**                                     reference (-x: no fork, for gdb)
**
** One counter is shared by the allocators of SQLite (SQLITE_CONFIG_MALLOC,
** set before sqlite3_initialize), cJSON (cJSON_InitHooks) and libcurl
** (curl_global_init_mem).  Run N of a query makes the Nth allocation fail,
** either transiently (only the Nth) or persistently (the Nth and every one
** after it); N walks from 1 until a run completes without reaching N.
** Counting starts at sqlite3_open: each run opens a connection, registers
** the extension with sqlite3_apifetch_init (so its failures are exercised
** too), runs the query's statements against tests/loopback.py and closes.
**
** Each run is a forked child with an alarm, so crashes and hangs are
** caught, and is classified against the reference run (no failure):
**
**   same result    what the reference gave
**   error row      the statements succeed; rows that differ carry an error
**                  where the reference had data (or a chain stopped there)
**   clean error    a statement fails with an error the reference did not have
**   wrong          a statement succeeds with a different result and no error
**   crash          a signal, or no orderly end
**   hang           the alarm (-t seconds) went off
**   leak           after sqlite3_close, blocks of any of the three allocators
**                  still live beyond the baseline taken before sqlite3_open
**                  (libcurl's global state is allocated before it), or
**                  sqlite3_close failed
**   secret shown   the test secret, or its URL-encoded form, appears in a
**                  row or an error message
**   init residue   sqlite3_apifetch_init failed but left functions or
**                  modules registered (SQLite then unloads the library and
**                  those point into unmapped code)
**
** A class higher in the list "crash, hang, secret shown, wrong, leak, init
** residue, clean error, error row, same result" wins.  No wrong result is
** excused as libcurl's: where libcurl 7.88.1 sends a request without its
** query string (a failed allocation it does not check), apifetch sees it
** and makes an error row (on_debug, src/transfer.c).  The exit status is 1
** if any run is a crash, hang, wrong, leak, secret shown or init residue
** (-k residue: report init residue without failing).
**
** A query's fetching statements put url_index, page and error first, so
** that rows can be matched by URL and page; other statements are compared
** exactly.  Text is normalised where libcurl reports timings ("after N ms").
*/
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cjson/cJSON.h>
#include "apifetch.h"

int sqlite3_apifetch_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

/* The test secret: its URL-encoded form differs from it, and its core
** SECRET_CORE is looked for in every output (raw, encoded or cut). */
#define SECRET_VALUE "tok/3f9a+7c1e="
#define SECRET_CORE  "3f9a"
/* -P: a secret that URL-encoding leaves as it is. */
#define SECRET_PLAIN "tok-3f9a-7c1e"
static const char *gSecretCore = SECRET_CORE;

/**************************************************************************
** The failing allocators.  Counters are atomic: libcurl's threaded
** resolver may allocate on its own thread (the queries use numeric
** addresses, which it resolves inline).
*/
enum { A_SQLITE, A_CJSON, A_CURL, A_COUNT };
static int gArmed;              /* Count and fail allocations now */
static long gCount;             /* Allocations counted since armed */
static long gFailAt;            /* N: the allocation to fail, 0 for none */
static int gPersist;            /* Fail every allocation after the Nth too */
static long gFailed;            /* Allocations made to fail */
static long gLive[A_COUNT];     /* Live blocks of each allocator */
static sqlite3_mem_methods gSqliteMem;   /* SQLite's own allocator */

/* Called at each injected failure: a place for a debugger's breakpoint,
**   gdb -batch -ex 'break torture_fault' -ex run -ex bt --args \
**       tests/torture -q NAME -n N -m t -x */
void torture_fault(void);
void __attribute__((noinline)) torture_fault(void){ __asm__ volatile(""); }

static int alloc_fails(void){
  long n;
  if( !__atomic_load_n(&gArmed, __ATOMIC_SEQ_CST) ) return 0;
  n = __atomic_add_fetch(&gCount, 1, __ATOMIC_SEQ_CST);
  if( gFailAt>0 && (n==gFailAt || (gPersist && n>gFailAt)) ){
    __atomic_add_fetch(&gFailed, 1, __ATOMIC_SEQ_CST);
    torture_fault();
    errno = ENOMEM;               /* as malloc does (POSIX) */
    return 1;
  }
  return 0;
}
static void live_add(int k, long d){ __atomic_add_fetch(&gLive[k], d, __ATOMIC_SEQ_CST); }

static void *sq_malloc(int n){
  void *p;
  if( alloc_fails() ) return 0;
  p = gSqliteMem.xMalloc(n);
  if( p ) live_add(A_SQLITE, 1);
  return p;
}
static void sq_free(void *p){
  if( p ) live_add(A_SQLITE, -1);
  gSqliteMem.xFree(p);
}
/* SQLite never asks to realloc NULL or to size 0 (sqlite3Realloc does that). */
static void *sq_realloc(void *p, int n){
  if( alloc_fails() ) return 0;
  return gSqliteMem.xRealloc(p, n);
}
static int sq_size(void *p){ return gSqliteMem.xSize(p); }
static int sq_roundup(int n){ return gSqliteMem.xRoundup(n); }
static int sq_init(void *p){ (void)p; return gSqliteMem.xInit(gSqliteMem.pAppData); }
static void sq_shutdown(void *p){ (void)p; gSqliteMem.xShutdown(gSqliteMem.pAppData); }

static void *cj_malloc(size_t n){
  void *p;
  if( alloc_fails() ) return 0;
  p = malloc(n);
  if( p ) live_add(A_CJSON, 1);
  return p;
}
static void cj_free(void *p){
  if( p ) live_add(A_CJSON, -1);
  free(p);
}

static void *cu_malloc(size_t n){
  void *p;
  if( alloc_fails() ) return 0;
  p = malloc(n);
  if( p ) live_add(A_CURL, 1);
  return p;
}
static void cu_free(void *p){
  if( p ) live_add(A_CURL, -1);
  free(p);
}
static void *cu_realloc(void *p, size_t n){
  void *q;
  if( p && n==0 ){ cu_free(p); return 0; }
  if( alloc_fails() ) return 0;
  q = realloc(p, n);
  if( q && !p ) live_add(A_CURL, 1);
  return q;
}
static char *cu_strdup(const char *z){
  char *p;
  if( alloc_fails() ) return 0;
  p = strdup(z);
  if( p ) live_add(A_CURL, 1);
  return p;
}
static void *cu_calloc(size_t n, size_t m){
  void *p;
  if( alloc_fails() ) return 0;
  p = calloc(n, m);
  if( p ) live_add(A_CURL, 1);
  return p;
}

static int install_allocators(void){
  static sqlite3_mem_methods m;
  cJSON_Hooks h;
  if( sqlite3_config(SQLITE_CONFIG_GETMALLOC, &gSqliteMem) ) return 1;
  m.xMalloc = sq_malloc;
  m.xFree = sq_free;
  m.xRealloc = sq_realloc;
  m.xSize = sq_size;
  m.xRoundup = sq_roundup;
  m.xInit = sq_init;
  m.xShutdown = sq_shutdown;
  m.pAppData = 0;
  /* Debian's SQLite is built with SQLITE_OMIT_LOOKASIDE: every one of its
  ** allocations comes here. */
  if( sqlite3_config(SQLITE_CONFIG_MALLOC, &m) ) return 1;
  if( sqlite3_initialize() ) return 1;
  h.malloc_fn = cj_malloc;
  h.free_fn = cj_free;
  cJSON_InitHooks(&h);
  if( curl_global_init_mem(CURL_GLOBAL_DEFAULT, cu_malloc, cu_free, cu_realloc,
                           cu_strdup, cu_calloc)!=CURLE_OK ) return 1;
  return 0;
}

/**************************************************************************
** Small helpers (the harness's own memory is libc's, never counted)
*/
typedef struct Str Str;
struct Str { char *z; size_t n, nAlloc; };

static void str_add(Str *s, const char *z, size_t n){
  if( s->n + n + 1 > s->nAlloc ){
    size_t nNew = s->nAlloc ? s->nAlloc*2 : 256;
    while( nNew < s->n + n + 1 ) nNew *= 2;
    s->z = realloc(s->z, nNew);
    if( s->z==0 ){ perror("torture: realloc"); _exit(3); }
    s->nAlloc = nNew;
  }
  memcpy(s->z + s->n, z, n);
  s->n += n;
  s->z[s->n] = 0;
}
static void str_addz(Str *s, const char *z){ str_add(s, z, strlen(z)); }
static void str_printf(Str *s, const char *zFmt, ...) __attribute__((format(printf, 2, 3)));
static void str_printf(Str *s, const char *zFmt, ...){
  char zBuf[512];
  va_list ap;
  int n;
  va_start(ap, zFmt);
  n = vsnprintf(zBuf, sizeof(zBuf), zFmt, ap);
  va_end(ap);
  if( n<0 ) return;
  str_add(s, zBuf, (size_t)n < sizeof(zBuf) ? (size_t)n : sizeof(zBuf)-1);
}

static char *xstrdup(const char *z){
  char *p = strdup(z);
  if( p==0 ){ perror("torture: strdup"); exit(3); }
  return p;
}

/* z with every occurrence of each azFrom[i] replaced by azTo[i]. */
static char *substitute(const char *z, const char *const *azFrom, const char *const *azTo, int n){
  Str s = {0, 0, 0};
  str_add(&s, "", 0);
  while( *z ){
    int i;
    for(i=0; i<n; i++){
      size_t k = strlen(azFrom[i]);
      if( strncmp(z, azFrom[i], k)==0 ){ str_addz(&s, azTo[i]); z += k; break; }
    }
    if( i==n ) str_add(&s, z++, 1);
  }
  return s.z;
}

static double now_s(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec/1e9;
}

/**************************************************************************
** The queries.  $B is the loopback server's base URL, $P its port, $D a
** base URL whose port refuses connections, $F a database file of the
** run's own, $C a cache file of the run's own (shown as "$C" in every
** output, so that runs compare).  The last statement of each
** starts with url_index, page, error (the wide face: _url_index, _page,
** _error) and orders by them.
**
** A query with a cache may have setup statements: they run before the
** counting starts, with no failure, on a connection of their own that is
** closed before the run's opens, so that every run starts from the same
** cache file (a warm one, say).  A run's cache file is removed before its
** setup and after it ends; after sqlite3_close the file (and its -wal
** and -journal) is searched for the test secret, which it must never
** hold: a run where it does shows the secret.
**
** bChain: the statements depend on each other (a later one reads what an
** earlier one stored in the cache).  A response that was an error row is
** not stored, so a later statement's difference is an error row too if an
** earlier statement of the run had an error row for the same key (for a
** statement that is not keyed, any error row).  Keys are url_index|page:
** a URL that a later statement reads back must be at the same index.
*/
#define FN_COLS "url_index, page, error, url, record_index, status, data"
#define FN_ORDER " ORDER BY url_index, page, record_index"
#define WIDE_ORDER " ORDER BY _url_index, _page, _record_index"
#define NO_SETUP { 0 }, 0              /* no setup, statements independent */
#define CACHE_COLS FN_COLS ", cache"
/* What api_fetch_cache shows that does not change with the clock. */
#define CACHE_LIST "host, url, final_url, method, status, content_type, size, fresh"
/* Credentials that must reach neither a row nor the cache file. */
#define CACHE_SECRET "'{\"cache\": \"$C\", \"bearer\": \"${env:APIFETCH_TEST_TOKEN}\", " \
  "\"headers\": {\"X-Key\": \"${env:APIFETCH_TEST_TOKEN}\"}, " \
  "\"query\": {\"token\": \"${env:APIFETCH_TEST_TOKEN}\"}, \"max_attempts\": 1}'"

typedef struct Case Case;
struct Case {
  const char *zName;
  int bSkip;                  /* on_error skip: a URL may vanish on error */
  const char *azSql[8];       /* Statements, NULL-terminated (7 at most) */
  const char *azSetup[4];     /* Run first, unarmed, on another connection */
  int bChain;                 /* Statements read what earlier ones stored */
};

static const Case aCase[] = {
  { "options_table", 0, {       /* defaults that api_fetch_options formats */
    "SELECT name, applies, type, \"default\" FROM api_fetch_options",
  }, NO_SETUP },
  { "fn_basic", 0, {
    "SELECT api_fetch_version()",
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/obj?id=1\", \"$B/array?n=3\"]', 1)" FN_ORDER,
  }, NO_SETUP },
  { "fn_text_list", 0, {
    "SELECT " FN_COLS " FROM api_fetch('# a list\n$B/obj?id=7\n\n  $B/array?n=2  \n', 1)" FN_ORDER,
  }, NO_SETUP },
  { "fn_post_json", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[{\"url\": \"$B/echo\", \"method\": \"POST\", "
      "\"headers\": {\"X-Trace\": \"42\"}, \"body\": {\"q\": \"sqlite\", \"n\": 12345678901234567890}}, "
      "{\"url\": \"$B/echo?x=1\", \"method\": \"post\", \"body\": \"plain \\u00e9 text\"}]', 1)" FN_ORDER,
  }, NO_SETUP },
  { "fn_form_put", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[{\"url\": \"$B/echo\", \"method\": \"PUT\", "
      "\"form\": {\"a\": \"x y&z\", \"b\": 2, \"c\": true}}, "
      "{\"url\": \"$B/echo\", \"method\": \"DELETE\"}, "
      "{\"url\": \"$B/array?n=2\", \"method\": \"HEAD\"}]', 1)" FN_ORDER,
  }, NO_SETUP },
  { "fn_headers", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/echo\"]', 1, "
      "'{\"headers\": {\"X-A\": \"1\", \"X-Empty\": \"\"}, \"user_agent\": \"torture/1\", "
      "\"basic\": \"user:pw\", \"ca_file\": \"/nonexistent/ca.pem\"}')" FN_ORDER,
  }, NO_SETUP },
  { "fn_errors", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/status/404\", \"$D/refused\", \"$B/text\", "
      "\"$B/obj?id=2\", \"$B/status/204\"]', 1, '{\"max_attempts\": 1}')" FN_ORDER,
  }, NO_SETUP },
  { "fn_bad_scheme", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/obj?id=1\", \"file:///etc/passwd\"]', 1)" FN_ORDER,
  }, NO_SETUP },
  { "fn_on_error_fail", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/obj?id=1\", \"$B/status/404\", \"$B/obj?id=3\"]', 1, "
      "'{\"on_error\": \"fail\"}')" FN_ORDER,
  }, NO_SETUP },
  { "fn_on_error_skip", 1, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/status/404\", \"$B/obj?id=1\", \"$D/x\"]', 1, "
      "'{\"on_error\": \"skip\", \"max_attempts\": 1}')" FN_ORDER,
  }, NO_SETUP },
  { "fn_record_path", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/wrap?n=3\", \"$B/wrap?n=0\", \"$B/obj?id=1\"]', 1, "
      "'{\"record_path\": [\"data\", \"items\"], \"max_attempts\": 1}')" FN_ORDER,
  }, NO_SETUP },
  { "fn_concurrent", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/obj?id=1\", \"$B/obj?id=2\", \"$B/array?n=2\", "
      "\"$B/status/404\", \"$B/obj?id=3\", \"$B/wrap?n=1\", \"$B/obj?id=4\", \"$B/obj?id=5\"]', 4, "
      "'{\"per_host\": 3}')" FN_ORDER,
  }, NO_SETUP },
  { "fn_concurrent_many", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/obj?id=1\", \"$B/obj?id=2\", \"$B/obj?id=3\", "
      "\"$B/obj?id=4\", \"$B/array?n=2\", \"$B/status/404\", \"$B/wrap?n=2\", \"$B/obj?id=5\", "
      "\"$B/obj?id=6\", \"$B/text\", \"$B/obj?id=7\", \"$B/obj?id=8\"]', 12)" FN_ORDER,
  }, NO_SETUP },
  { "fn_retry_redirect", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/status/503\", \"$B/redirect?to=/obj%3Fid%3D3\", "
      "\"$B/redirects?n=2\", \"$B/loop\", {\"url\": \"$B/status/503\", \"method\": \"POST\"}]', 2, "
      "'{\"max_attempts\": 3, \"retry_base_ms\": 1, \"retry_max_ms\": 2, \"max_redirects\": 3}')"
      FN_ORDER,
  }, NO_SETUP },
  { "redirect_credentials", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/redirect?to=/echo%3Fhop%3D1\", "
      "{\"url\": \"$B/redirect?to=/echo&code=307\", \"method\": \"PUT\", \"body\": \"b\"}]', 1, "
      "'{\"headers\": {\"X-Key\": \"k\"}, \"bearer\": \"tok\"}')" FN_ORDER,
  }, NO_SETUP },
  { "fn_limits", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/huge?mb=0.01\", \"$B/nested?depth=1200\", "
      "\"$B/bigstring?mb=0.001\", \"$B/html\"]', 1, '{\"max_bytes\": 5000, \"max_attempts\": 1}')"
      FN_ORDER,
  }, NO_SETUP },
  { "wide_sample", 0, {
    "CREATE VIRTUAL TABLE temp.w USING api_fetch(url_list='[\"$B/obj?id=1\", \"$B/obj?id=2\", "
      "\"$B/obj?id=3\", \"$B/status/404\"]', sample=2, concurrency=1)",
    "SELECT name, type FROM pragma_table_info('w')",
    "SELECT _url_index, _page, _error, *, _extra, _mismatches FROM temp.w" WIDE_ORDER,
  }, NO_SETUP },
  { "wide_columns", 0, {
    "CREATE VIRTUAL TABLE temp.d USING api_fetch(url_list='[\"$B/obj?id=1\", \"$B/obj?id=2\"]', "
      "columns='id INTEGER, title TEXT, author_name TEXT, tags JSON, done BOOLEAN', concurrency=2)",
    "SELECT _url_index, _page, _error, *, _extra, _mismatches FROM temp.d" WIDE_ORDER,
  }, NO_SETUP },
  { "wide_meta", 0, {
    "CREATE VIRTUAL TABLE temp.m USING api_fetch(url_list='[\"$B/wrap?n=2\", \"$B/wrap?n=3\"]', "
      "record_path='data.items', meta='[\"meta\"]', meta_prefix='m_', concurrency=1)",
    "SELECT _url_index, _page, _error, * FROM temp.m" WIDE_ORDER,
  }, NO_SETUP },
  { "wide_url_query", 0, {
    "CREATE TABLE ids(id INTEGER)",
    "INSERT INTO ids VALUES (1), (2), (3)",
    "CREATE VIRTUAL TABLE temp.q USING api_fetch(url_query='SELECT ''$B/obj?id='' || id FROM ids "
      "ORDER BY id', concurrency=2, sample=3)",
    "SELECT _url_index, _page, _error, id, title, author_geo_lat FROM temp.q" WIDE_ORDER,
  }, NO_SETUP },
  { "wide_url_query_objects", 0, {
    "CREATE TABLE ids(id INTEGER)",
    "INSERT INTO ids VALUES (1), (2)",
    "CREATE VIRTUAL TABLE temp.o USING api_fetch(url_query='SELECT json_object(''url'', "
      "''$B/echo?id='' || id, ''method'', ''PATCH'', ''headers'', json_object(''X-Id'', "
      "CAST(id AS TEXT)), ''body'', json_object(''id'', id)) FROM ids ORDER BY id', "
      "columns='method TEXT, body TEXT, \"headers_x-id\" TEXT', concurrency=1)",
    "SELECT _url_index, _page, _error, * FROM temp.o" WIDE_ORDER,
  }, NO_SETUP },
  { "wide_template", 0, {
    "CREATE TABLE p(id, tag)",
    "INSERT INTO p VALUES (1, 'a b'), (2, 'c/d')",
    "CREATE VIRTUAL TABLE temp.t USING api_fetch(url_template='$B/echo?id={id}&tag={tag}', "
      "url_query='SELECT id, tag FROM p ORDER BY id', columns='method TEXT, query_id TEXT, query_tag TEXT, query_k TEXT', "
      "query='{\"k\": \"v\"}', concurrency=1)",
    "SELECT _url_index, _page, _error, * FROM temp.t" WIDE_ORDER,
  }, NO_SETUP },
  { "guard_allow", 0, {
    "SELECT api_fetch_config('{\"allow_hosts\": [\"127.0.0.1:$P\"], \"max_requests\": 20, \"lock\": true}')",
    "SELECT api_fetch_config('{\"lock\": false}')",
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/obj?id=1\", \"http://localhost:$P/obj?id=2\"]', 1, "
      "'{\"max_attempts\": 1}')" FN_ORDER,
  }, NO_SETUP },
  { "guard_private", 0, {
    "SELECT api_fetch_config('{\"block_private\": true, \"allow_env\": [\"APIFETCH_TEST_TOKEN\"]}')",
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/obj?id=1\", \"$D/x\"]', 1)" FN_ORDER,
  }, NO_SETUP },
  { "guard_max_requests", 0, {
    "SELECT api_fetch_config('{\"max_requests\": 2, \"max_total_bytes\": 100000}')",
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/obj?id=1\", \"$B/obj?id=2\", \"$B/obj?id=3\"]', 1)" FN_ORDER,
  }, NO_SETUP },
  { "page_total", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/items?total=25\"]', 1, '{\"record_path\": \"data\", "
      "\"paginate\": {\"type\": \"page\", \"total_pages\": \"meta.total_pages\", \"per_page\": 10, "
      "\"size_param\": \"per_page\"}}')" FN_ORDER,
  }, NO_SETUP },
  { "page_total_c3", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/items?total=25&per_page=5\", \"$B/items?total=7&per_page=5\"]', 3, "
      "'{\"record_path\": \"data\", \"paginate\": {\"type\": \"offset\", \"per_page\": 5, "
      "\"size_param\": \"limit\", \"total_header\": \"X-Total-Count\"}}')" FN_ORDER,
  }, NO_SETUP },
  { "page_link", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/items?total=25&per_page=10\"]', 1, "
      "'{\"record_path\": \"data\", \"paginate\": {\"type\": \"link\"}}')" FN_ORDER,
  }, NO_SETUP },
  { "page_last_link", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/items?total=25&per_page=10\"]', 1, "
      "'{\"record_path\": \"data\", \"paginate\": {\"type\": \"page\", \"last_link\": true}}')" FN_ORDER,
  }, NO_SETUP },
  { "page_cursor", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/cursor?total=25&per=10\"]', 1, "
      "'{\"record_path\": \"items\", \"paginate\": {\"type\": \"cursor\", \"cursor_path\": \"next_cursor\"}}')"
      FN_ORDER,
  }, NO_SETUP },
  { "page_next", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/cursor?total=15&per=10\", \"$B/cursor?total=5&per=10\"]', 2, "
      "'{\"record_path\": \"items\", \"paginate\": {\"type\": \"next\", \"next_path\": \"links.next\"}}')"
      FN_ORDER,
  }, NO_SETUP },
  { "page_unfollowable", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/badnext?v=object\", \"$B/badnext?v=nul\", "
      "\"$B/badnext?v=false\"]', 2, "
      "'{\"record_path\": \"items\", \"paginate\": {\"type\": \"cursor\", \"cursor_path\": \"meta.next\"}}')"
      FN_ORDER,
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/badnext?v=ipv6\", \"$B/rbase/a/start\"]', 1, "
      "'{\"record_path\": \"items\", \"paginate\": {\"type\": \"link\"}}')" FN_ORDER,
  }, NO_SETUP },
  { "page_body", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[{\"url\": \"$B/relay?total=25\", \"method\": \"POST\", "
      "\"body\": {\"query\": \"q\", \"variables\": {\"first\": 10}}}]', 1, "
      "'{\"record_path\": \"data.items.edges\", "
      "\"paginate\": {\"type\": \"graphql\", \"page_info\": \"data.items.pageInfo\"}}')" FN_ORDER,
    "SELECT " FN_COLS " FROM api_fetch('[{\"url\": \"$B/search?total=25\", \"method\": \"POST\", "
      "\"body\": {\"q\": 1}}]', 2, '{\"record_path\": \"data\", \"paginate\": {\"type\": \"page\", "
      "\"body_path\": \"page\", \"total_pages\": \"meta.total_pages\"}}')" FN_ORDER,
  }, NO_SETUP },
  { "template_query", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[{\"id\": 1, \"q\": \"a b\"}, {\"id\": \"x/y\", \"q\": 2.5}]', 1, "
      "'{\"url_template\": \"$B/echo?id={id}&q={q}\", \"query\": {\"k\": \"v w\", \"n\": 5}}')" FN_ORDER,
  }, NO_SETUP },
  { "base_url_query", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"echo?a=1\", \"status/404?code=7\", \"items?total=3&per_page=2\"]', 1, "
      "'{\"base_url\": \"$B/\", \"query\": {\"b\": \"2\"}}')" FN_ORDER,
  }, NO_SETUP },
  { "profile", 0, {
    "SELECT api_fetch_profile('p', '{\"base_url\": \"$B/\", \"headers\": {\"X-P\": \"1\"}, "
      "\"query\": {\"z\": \"9\"}}')",
    "SELECT " FN_COLS " FROM api_fetch('[\"echo\", \"obj?id=4\"]', 1, "
      "'{\"profile\": \"p\", \"headers\": {\"X-Q\": \"2\"}}')" FN_ORDER,
  }, NO_SETUP },
  { "config_profiles", 0, {
    "SELECT api_fetch_config('{\"profiles\": {\"crm\": {\"base_url\": \"$B/\", "
      "\"headers\": {\"X-P\": \"1\"}, \"query\": {\"z\": \"9\"}}}, \"max_concurrency\": 2}')",
    "SELECT " FN_COLS " FROM api_fetch('[\"echo\", \"obj?id=2\", \"status/404\"]', 8, "
      "'{\"profile\": \"crm\"}')" FN_ORDER,
  }, NO_SETUP },
  { "file_table", 0, {
    "SELECT api_fetch_config('{\"profiles\": {\"crm\": {\"base_url\": \"$B/\", "
      "\"headers\": {\"X-P\": \"1\"}}}}')",
    "ATTACH '$F' AS f",
    "CREATE VIRTUAL TABLE f.w USING api_fetch(url_list='[\"echo?a=1\", \"$B/echo?a=2\", "
      "\"http://localhost:$P/echo?a=3\"]', profile='crm', "
      "columns='method TEXT, query_a TEXT, \"headers_x-p\" TEXT', concurrency=1)",
    "CREATE VIRTUAL TABLE f.q USING api_fetch(url_query='SELECT ''$B/obj?id='' || value "
      "FROM json_each(''[4, 5]'')', columns='id INTEGER, title TEXT', concurrency=1)",
    "SELECT _url_index, _page, _error, * FROM f.w" WIDE_ORDER,
    "SELECT _url_index, _page, _error, * FROM f.q" WIDE_ORDER,
  }, NO_SETUP },
  { "secret_bearer", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/obj?id=1\", \"$B/status/404\", \"$D/x\"]', 1, "
      "'{\"bearer\": \"${env:APIFETCH_TEST_TOKEN}\", \"query\": {\"token\": \"${env:APIFETCH_TEST_TOKEN}\"}, "
      "\"max_attempts\": 1}')" FN_ORDER,
  }, NO_SETUP },
  { "secret_fail", 0, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/status/404\", \"$B/obj?id=1\"]', 1, "
      "'{\"query\": {\"token\": \"${env:APIFETCH_TEST_TOKEN}\"}, \"on_error\": \"fail\"}')" FN_ORDER,
  }, NO_SETUP },
  { "secret_guard", 0, {
    "SELECT api_fetch_config('{\"allow_hosts\": [\"localhost:$P\"]}')",
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/obj?id=1\", \"http://localhost:$P/obj?id=2\"]', 1, "
      "'{\"query\": {\"token\": \"${env:APIFETCH_TEST_TOKEN}\"}, "
      "\"headers\": {\"X-Key\": \"${env:APIFETCH_TEST_TOKEN}\"}}')" FN_ORDER,
  }, NO_SETUP },
  { "secret_wide", 0, {
    "CREATE VIRTUAL TABLE temp.s USING api_fetch(url_list='[\"$B/obj?id=1\", \"$B/status/404\"]', "
      "query='{\"token\": \"${env:APIFETCH_TEST_TOKEN}\"}', bearer='${env:APIFETCH_TEST_TOKEN}', "
      "sample=1, concurrency=1)",
    "SELECT _url_index, _page, _error, _url, id, title FROM temp.s" WIDE_ORDER,
  }, NO_SETUP },
  { "secret_wide_refused", 0, {
    "SELECT api_fetch_config('{\"allow_hosts\": [\"localhost:$P\"]}')",
    "CREATE VIRTUAL TABLE temp.r USING api_fetch(url_list='[\"$B/obj?id=1\"]', "
      "query='{\"token\": \"${env:APIFETCH_TEST_TOKEN}\"}', sample=1)",
    "SELECT _url_index, _page, _error, _url FROM temp.r" WIDE_ORDER,
  }, NO_SETUP },

  /* The HTTP cache.  $C is a file of the run's own, made by the setup
  ** statements where a query needs a warm cache; CACHE_COLS adds the
  ** cache column, so that an answer from elsewhere (a miss for a hit, say)
  ** is a different row. */
  { "cache_cold_file", 0, {
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\", \"$B/cache?id=2&etag=e2\", "
      "\"$B/status/404\", \"$B/cache?id=3&lm=1000000000&cc=max-age=60\"]', 2, '{\"cache\": \"$C\"}')"
      FN_ORDER,
    "SELECT " CACHE_LIST " FROM api_fetch_cache('$C') ORDER BY url",
  }, { 0 }, 1 },
  { "cache_cold_memory", 0, {
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\", \"$B/cache?id=2&etag=e2\", "
      "\"$B/redirect?to=/cache%3Fid%3D4%26cc%3Dmax-age%3D3600\"]', 1, '{\"cache\": \":memory:\"}')" FN_ORDER,
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\", \"$B/cache?id=2&etag=e2\", "
      "\"$B/redirect?to=/cache%3Fid%3D4%26cc%3Dmax-age%3D3600\"]', 1, '{\"cache\": \":memory:\"}')" FN_ORDER,
    "SELECT " CACHE_LIST " FROM api_fetch_cache(':memory:') ORDER BY url",
  }, { 0 }, 1 },
  { "cache_warm", 0, {
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\", \"$B/cache?id=2&cc=max-age=3600\", "
      "\"$B/cache?id=8&cc=max-age=3600\", \"$B/obj?id=5\"]', 1, '{\"cache\": \"$C\"}')" FN_ORDER,
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/obj?id=5\", \"$B/cache?id=1&cc=max-age=3600\"]', 1, "
      "'{\"cache\": \"$C\", \"cache_mode\": \"ttl\"}')" FN_ORDER,
    "SELECT " CACHE_LIST " FROM api_fetch_cache('$C') ORDER BY url",
  }, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\", \"$B/cache?id=2&cc=max-age=3600\"]', 1, "
      "'{\"cache\": \"$C\"}')",
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/obj?id=5\"]', 1, '{\"cache\": \"$C\", \"cache_mode\": \"ttl\"}')",
  }, 1 },
  { "cache_revalidate", 0, {
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=4&etag=v4&cc=no-cache\", "
      "\"$B/cache?id=5&lm=1000000000&cc=max-age=0\", \"$B/cache?id=6&etag=v6\"]', 2, "
      "'{\"cache\": \"$C\"}')" FN_ORDER,
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=4&etag=v4&cc=no-cache\"]', 1, "
      "'{\"cache\": \"$C\", \"cache_mode\": \"refresh\"}')" FN_ORDER,
    "SELECT " CACHE_LIST " FROM api_fetch_cache('$C') ORDER BY url",
  }, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/cache?id=4&etag=v4&cc=no-cache\", "
      "\"$B/cache?id=5&lm=1000000000&cc=max-age=0\", \"$B/cache?id=6&etag=v6\"]', 1, "
      "'{\"cache\": \"$C\"}')",
  }, 1 },
  { "cache_stale_error", 0, {
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=6&etag=v6&cc=max-age=0&fail_conditional=503\", "
      "\"$B/cache?id=7&etag=v7&cc=max-age=0&fail_conditional=reset\", "
      "\"$B/cache?id=8&etag=v8&fail_conditional=503\"]', 2, "
      "'{\"cache\": \"$C\", \"cache_stale_ms\": 86400000, \"max_attempts\": 1}')" FN_ORDER,
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=6&etag=v6&cc=max-age=0&fail_conditional=503\", "
      "\"$B/cache?id=7&etag=v7&cc=max-age=0&fail_conditional=503\", "
      "\"$B/cache?id=8&etag=v8&fail_conditional=503\"]', 1, "
      "'{\"cache\": \"$C\", \"max_attempts\": 1}')" FN_ORDER,
  }, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/cache?id=6&etag=v6&cc=max-age=0&fail_conditional=503\", "
      "\"$B/cache?id=7&etag=v7&cc=max-age=0&fail_conditional=reset\"]', 1, '{\"cache\": \"$C\"}')",
  }, 1 },
  { "cache_offline", 0, {
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\", \"$B/cache?id=2&etag=e2\", "
      "\"$B/cache?id=9&cc=max-age=3600\", {\"url\": \"$B/cache?id=1&cc=max-age=3600\", \"method\": \"POST\"}]', 2, "
      "'{\"cache\": \"$C\", \"cache_mode\": \"offline\"}')" FN_ORDER,
  }, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\", \"$B/cache?id=2&etag=e2\"]', 1, "
      "'{\"cache\": \"$C\"}')",
  }, 0 },
  { "cache_wide", 0, {
    "CREATE VIRTUAL TABLE temp.c USING api_fetch(url_list='[\"$B/cache?id=1&cc=max-age=3600\", "
      "\"$B/cache?id=2&cc=max-age=3600\", \"$B/status/404\"]', cache='$C', "
      "columns='id INTEGER, title TEXT, etag TEXT', concurrency=1)",
    "SELECT _url_index, _page, _error, _cache, * FROM temp.c" WIDE_ORDER,
    "SELECT _url_index, _page, _error, _cache, id, title FROM temp.c" WIDE_ORDER,
    "CREATE VIRTUAL TABLE temp.s USING api_fetch(url_list='[\"$B/cache?id=3&cc=max-age=3600\"]', "
      "cache='$C', sample=1)",
    "SELECT _url_index, _page, _error, _cache, * FROM temp.s" WIDE_ORDER,
  }, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\"]', 1, '{\"cache\": \"$C\"}')",
  }, 1 },
  { "cache_prune", 0, {
    "SELECT " CACHE_LIST " FROM api_fetch_cache('$C') ORDER BY url",
    "SELECT api_fetch_cache_prune('$C', '{\"host\": \"localhost\"}')",
    "SELECT api_fetch_cache_prune('$C', '{\"stale\": true}')",
    "SELECT api_fetch_cache_prune('$C', '{}')",
    "SELECT api_fetch_cache_prune('$C', '{\"older_than_ms\": 86400000, \"host\": \"127.0.0.1\"}')",
    "SELECT " CACHE_LIST " FROM api_fetch_cache('$C') ORDER BY url",
    "SELECT api_fetch_cache_prune('$C', '{\"all\": true}')",
  }, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\", "
      "\"http://localhost:$P/cache?id=2&cc=max-age=3600\", \"$B/cache?id=3&etag=e3\"]', 1, "
      "'{\"cache\": \"$C\"}')",
  }, 0 },
  { "cache_defaults_lock", 0, {
    "SELECT api_fetch_config('{\"defaults\": {\"cache\": \"$C\", \"cache_stale_ms\": 1000}, \"lock\": true}')",
    "SELECT api_fetch_config()",
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\", "
      "\"$B/cache?id=2&cc=max-age=3600\"]', 1)" FN_ORDER,
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\"]', 1, "
      "'{\"cache\": \":memory:\"}')" FN_ORDER,
    "SELECT count(*) FROM api_fetch_cache(':memory:')",
    "SELECT " CACHE_LIST " FROM api_fetch_cache() ORDER BY url",
    "SELECT api_fetch_cache_prune(NULL, '{\"all\": true}')",
  }, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\"]', 1, '{\"cache\": \"$C\"}')",
  }, 1 },
  /* A cached answer passes the guard as a request would: under any
  ** allocation failure a refused URL is an error, never a hit (a guard
  ** failing open gives other rows than the reference: "wrong"). */
  { "cache_guard", 0, {
    "SELECT api_fetch_config('{\"allow_hosts\": [\"localhost:$P\"]}')",
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\", "
      "\"http://localhost:$P/cache?id=2&cc=max-age=3600\"]', 1, '{\"cache\": \"$C\"}')" FN_ORDER,
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\", "
      "\"http://localhost:$P/cache?id=2&cc=max-age=3600\"]', 1, "
      "'{\"cache\": \"$C\", \"cache_mode\": \"offline\"}')" FN_ORDER,
    "SELECT api_fetch_config('{\"allow_hosts\": null, \"block_private\": true}')",
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\", "
      "\"http://localhost:$P/cache?id=2&cc=max-age=3600\"]', 1, "
      "'{\"cache\": \"$C\", \"cache_mode\": \"offline\"}')" FN_ORDER,
  }, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\", "
      "\"http://localhost:$P/cache?id=2&cc=max-age=3600\"]', 1, '{\"cache\": \"$C\"}')",
  }, 1 },
  { "cache_secret", 0, {
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\", \"$B/cache?id=2&etag=e2\", "
      "\"$B/redirect?to=/cache%3Fid%3D3%26cc%3Dmax-age%3D3600\", \"$D/x\"]', 1, " CACHE_SECRET ")" FN_ORDER,
    "SELECT " CACHE_LIST " FROM api_fetch_cache('$C') ORDER BY url",
    "SELECT " CACHE_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\", \"$B/cache?id=2&etag=e2\", "
      "\"$B/redirect?to=/cache%3Fid%3D3%26cc%3Dmax-age%3D3600\"]', 1, " CACHE_SECRET ")" FN_ORDER,
  }, {
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/cache?id=1&cc=max-age=3600\"]', 1, " CACHE_SECRET ")",
  }, 1 },
  /* The features of issue 22 and after, each on the loopback server. */
  { "oauth2", 0, {              /* a token per connection, a 401's refresh, a failing endpoint */
    "SELECT url_index, page, error, status, data ->> 'id', data ->> 'token' LIKE 'tt-%' "
      "FROM api_fetch('[\"$B/oauth/api?realm=tt&id=1\", \"$B/oauth/api?realm=tt&id=2\"]', 2, "
      "'{\"oauth2\": {\"token_url\": \"$B/oauth/token?realm=tt\", \"client_id\": \"etl\", "
      "\"client_secret\": \"${env:APIFETCH_TEST_TOKEN}\", \"scope\": \"a b\"}, \"base_url\": \"$B/\", \"max_attempts\": 1}')"
      FN_ORDER,
    "SELECT url_index, page, error, status FROM api_fetch('[\"$B/oauth/revoke?realm=tt\"]')" FN_ORDER,
    "SELECT url_index, page, error, status, data ->> 'id', data ->> 'token' LIKE 'tt-%' "
      "FROM api_fetch('[\"$B/oauth/api?realm=tt&id=3\"]', 1, "
      "'{\"oauth2\": {\"token_url\": \"$B/oauth/token?realm=tt\", \"client_id\": \"etl\", "
      "\"client_secret\": \"${env:APIFETCH_TEST_TOKEN}\", \"scope\": \"a b\"}, \"base_url\": \"$B/\", \"max_attempts\": 1}')"
      FN_ORDER,
    "SELECT url_index, page, error, status FROM api_fetch('[\"$B/oauth/api?realm=tf&id=1\", "
      "\"$B/oauth/api?realm=tf&id=2\"]', 1, '{\"oauth2\": {\"token_url\": "
      "\"$B/oauth/token?realm=tf&fail=401\", \"client_id\": \"etl\", \"auth\": \"body\", "
      "\"client_secret\": \"${env:APIFETCH_TEST_TOKEN}\"}, \"base_url\": \"$B/\", \"max_attempts\": 1}')" FN_ORDER,
  }, NO_SETUP },
  { "proxy", 0, {               /* a proxy that refuses; none, and no_proxy */
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/obj?id=1\"]', 1, "
      "'{\"proxy\": \"$D\", \"max_attempts\": 1}')" FN_ORDER,
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/obj?id=2\", \"http://localhost:$P/obj?id=3\"]', 1, "
      "'{\"proxy\": \"socks5h://user:${env:APIFETCH_TEST_TOKEN}@127.0.0.1:1\", "
      "\"no_proxy\": \"127.0.0.1,localhost\", \"max_attempts\": 1}')" FN_ORDER,
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/obj?id=4\"]', 1, '{\"proxy\": \"\"}')" FN_ORDER,
  }, NO_SETUP },
  { "formats", 0, {             /* ndjson streamed, text in its charset, blob, auto */
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/ndjson?n=4&bad=2\", \"$B/ndjson?n=3&blank=1\"]', 2, "
      "'{\"format\": \"ndjson\", \"max_attempts\": 1}')" FN_ORDER,
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/html\", "
      "\"$B/raw?hex=636166e9&type=text/plain;charset=iso-8859-1\", "
      "\"$B/raw?hex=ff41&type=text/plain;charset=utf-8\"]', 1, '{\"format\": \"text\"}')" FN_ORDER,
    "SELECT url_index, page, error, typeof(data), hex(data), content_type FROM api_fetch("
      "'[\"$B/raw?hex=89504e47&type=image/png\", \"$B/obj?id=1\"]', 1, '{\"format\": \"blob\"}')"
      FN_ORDER,
    "SELECT url_index, page, error, record_index, typeof(data), content_type FROM api_fetch("
      "'[\"$B/obj\", \"$B/html\", \"$B/ndjson?n=2\", \"$B/raw?hex=89504e47&type=image/png\"]', 2, "
      "'{\"format\": \"auto\"}')" FN_ORDER,
  }, NO_SETUP },
  { "on_status", 0, {          /* fail: also on_error's, so that a failure with no status fails too */
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/status/404\", \"$B/status/400\", \"$B/status/410\", "
      "\"$B/status/500\", \"$B/obj?id=1\"]', 2, '{\"on_status\": {\"404\": \"data\", \"4xx\": \"skip\", "
      "\"410\": \"error\", \"500\": \"retry\"}, \"max_attempts\": 2, \"retry_base_ms\": 1, "
      "\"retry_max_ms\": 2}')" FN_ORDER,
    "SELECT " FN_COLS " FROM api_fetch('[\"$B/obj?id=2\", \"$B/status/409\"]', 1, "
      "'{\"on_status\": {\"409\": \"fail\"}, \"on_error\": \"fail\"}')" FN_ORDER,
  }, NO_SETUP },
  { "response_headers", 0, {    /* the headers as JSON, a secret echoed in one */
    "SELECT " FN_COLS ", headers FROM api_fetch('[\"$B/headers?id=r1\", \"$B/status/404\", "
      "\"$D/x\"]', 1, '{\"response_headers\": true, \"max_attempts\": 1, "
      "\"query\": {\"echo\": \"${env:APIFETCH_TEST_TOKEN}\"}}')" FN_ORDER,
  }, NO_SETUP },
  { "input_carry", 0, {         /* input on rows and pages, both faces */
    "SELECT " FN_COLS ", input FROM api_fetch('[{\"url\": \"$B/items?total=1\", \"input\": {\"sku\": \"A\"}}, "
      "{\"url\": \"$B/items?total=3&per_page=2\", \"input\": [1, 2]}]', 2, "
      "'{\"record_path\": \"data\", \"paginate\": {\"type\": \"link\"}}')" FN_ORDER,
    "CREATE TABLE o(id INTEGER, customer TEXT)",
    "INSERT INTO o VALUES (1, 'ann'), (2, 'bob')",
    "CREATE VIRTUAL TABLE temp.l USING api_fetch(input_prefix='order_', concurrency=2, "
      "url_query='SELECT ''$B/obj?id='' || id, id, customer FROM o ORDER BY id')",
    "SELECT _url_index, _page, _error, order_id, order_customer, title, _input FROM temp.l"
      WIDE_ORDER,
  }, NO_SETUP },
  { "create_func", 0, {         /* api_fetch_create, and a name it refuses */
    "CREATE TABLE ids(id INTEGER)",
    "INSERT INTO ids VALUES (1), (2)",
    "SELECT api_fetch_create('temp.c', json_object('url_query', "
      "'SELECT ''$B/obj?id='' || id FROM ids ORDER BY id', 'concurrency', 2, "
      "'headers', json_object('X-Note', 'it''s')))",
    "SELECT _url_index, _page, _error, id, title FROM temp.c" WIDE_ORDER,
  }, NO_SETUP },
  { "on_mismatch", 0, {         /* a value that does not fit its column: null, reject */
    "CREATE VIRTUAL TABLE temp.n USING api_fetch(url_list='[\"$B/obj?id=1\", \"$B/obj?id=2\"]', "
      "columns='id INTEGER, title INTEGER, done TEXT', on_mismatch='null', concurrency=1)",
    "SELECT _url_index, _page, _error, *, _mismatches FROM temp.n" WIDE_ORDER,
    "CREATE VIRTUAL TABLE temp.r USING api_fetch(url_list='[\"$B/obj?id=1\", \"$B/obj?id=2\"]', "
      "columns='id INTEGER, title INTEGER', on_mismatch='reject', concurrency=2)",
    "SELECT _url_index, _page, _error, *, _mismatches FROM temp.r" WIDE_ORDER,
  }, NO_SETUP },
};
#define N_CASE ((int)(sizeof(aCase)/sizeof(aCase[0])))

/* The statements of each case with $B, $P and $D filled in. */
static char *azSqlReal[N_CASE][8];
static char *azSetupReal[N_CASE][4];

/**************************************************************************
** The child: one run, its outcome written as lines to fd
**
**   S i                  statement i begins
**   R key \t err \t row  a row (key: url_index|page; err: 1 if error set)
**   E message            the statement failed
**   I names              init failed and left these registered
**   C rc                 what sqlite3_close returned
**   U                    the (first) failure was in libcurl's own curl_url_get
**   N count failed       allocations counted, and made to fail
**   L a b c              live blocks beyond the baseline, per allocator
**   X                    the end
*/
static int gOutFd = -1;
static Str gOut;                /* Output when not forked (-x) */

static void out_write(const char *z, size_t n){
  if( gOutFd<0 ){ str_add(&gOut, z, n); return; }
  while( n>0 ){
    ssize_t k = write(gOutFd, z, n);
    if( k<0 ){ if( errno==EINTR ) continue; _exit(4); }
    z += k;
    n -= (size_t)k;
  }
}

/* Escape z into s: no newlines or tabs, so a line is a record. */
static void add_escaped(Str *s, const char *z, size_t n){
  size_t i;
  for(i=0; i<n; i++){
    char c = z[i];
    if( c=='\n' ) str_add(s, "\\n", 2);
    else if( c=='\t' ) str_add(s, "\\t", 2);
    else if( c=='\r' ) str_add(s, "\\r", 2);
    else if( c=='\\' ) str_add(s, "\\\\", 2);
    else if( c==0 ) str_add(s, "\\0", 2);
    else str_add(s, &c, 1);
  }
}

/* $C of this run: its cache file (fixed width, so that its length, and
** with it the allocations, do not change from run to run). */
static char gzRunCache[80];
static void run_cache_name(void){
  /* In memory where there is a tmpfs: a run writes and syncs it, twice
  ** with a setup, and on a disk that is most of a run's time. */
  const char *zDir = access("/dev/shm", W_OK)==0 ? "/dev/shm" : "/tmp";
  snprintf(gzRunCache, sizeof(gzRunCache), "%s/apifetch-torture-%07d.cache", zDir, (int)getpid());
}
static void run_cache_remove(void){
  static const char *const azSuffix[] = { "", "-wal", "-shm", "-journal" };
  char z[100];
  int i;
  for(i=0; i<4; i++){
    snprintf(z, sizeof(z), "%s%s", gzRunCache, azSuffix[i]);
    unlink(z);
  }
}

/* libcurl says how long a connect took: "after 0 ms"; the run's cache
** file is "$C". */
static void add_normalised(Str *s, const char *z, size_t n){
  Str t = {0, 0, 0};
  size_t i = 0, nCache = strlen(gzRunCache);
  str_add(&t, "", 0);
  while( i<n ){
    if( nCache && i+nCache<=n && memcmp(z+i, gzRunCache, nCache)==0 ){
      str_addz(&t, "$C");
      i += nCache;
      continue;
    }
    if( i+6<=n && memcmp(z+i, "after ", 6)==0 && i+6<n && isdigit((unsigned char)z[i+6]) ){
      size_t j = i+6;
      while( j<n && isdigit((unsigned char)z[j]) ) j++;
      if( j+3<=n && memcmp(z+j, " ms", 3)==0 ){
        str_addz(&t, "after N");
        i = j;
        continue;
      }
    }
    str_add(&t, z+i, 1);
    i++;
  }
  add_escaped(s, t.z, t.n);
  free(t.z);
}

static void out_line(const char *zTag, const char *z){
  Str s = {0, 0, 0};
  str_addz(&s, zTag);
  str_add(&s, " ", 1);
  add_normalised(&s, z, strlen(z));
  str_add(&s, "\n", 1);
  out_write(s.z, s.n);
  free(s.z);
}

static void out_printf(const char *zFmt, ...) __attribute__((format(printf, 1, 2)));
static void out_printf(const char *zFmt, ...){
  char zBuf[256];
  va_list ap;
  int n;
  va_start(ap, zFmt);
  n = vsnprintf(zBuf, sizeof(zBuf), zFmt, ap);
  va_end(ap);
  if( n>0 ) out_write(zBuf, (size_t)n < sizeof(zBuf) ? (size_t)n : sizeof(zBuf)-1);
}

/* One value as text.  Returns 1 if it could not be read (out of memory). */
static int value_text(sqlite3_stmt *p, int i, Str *s){
  switch( sqlite3_column_type(p, i) ){
    case SQLITE_NULL: str_addz(s, "NULL"); return 0;
    case SQLITE_INTEGER: str_printf(s, "%lld", sqlite3_column_int64(p, i)); return 0;
    case SQLITE_FLOAT: str_printf(s, "%.17g", sqlite3_column_double(p, i)); return 0;
    case SQLITE_TEXT: {
      const unsigned char *z = sqlite3_column_text(p, i);
      if( z==0 ) return 1;
      str_add(s, "'", 1);
      str_add(s, (const char*)z, (size_t)sqlite3_column_bytes(p, i));
      str_add(s, "'", 1);
      return 0;
    }
    default: {
      const unsigned char *z = sqlite3_column_blob(p, i);
      int k, n = sqlite3_column_bytes(p, i);
      if( z==0 && n>0 ) return 1;
      str_add(s, "x'", 2);
      for(k=0; k<n; k++) str_printf(s, "%02x", z[k]);
      str_add(s, "'", 1);
      return 0;
    }
  }
}

static void run_statement(sqlite3 *db, const char *zSql){
  sqlite3_stmt *p = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &p, 0);
  if( rc!=SQLITE_OK ){
    out_line("E", sqlite3_errmsg(db));
    sqlite3_finalize(p);
    return;
  }
  while( (rc = sqlite3_step(p))==SQLITE_ROW ){
    Str row = {0, 0, 0}, key = {0, 0, 0}, line = {0, 0, 0};
    int i, n = sqlite3_column_count(p), bBad = 0, bErr;
    str_add(&row, "", 0);
    str_add(&key, "", 0);
    for(i=0; i<n; i++){
      if( i ) str_add(&row, "|", 1);
      bBad |= value_text(p, i, &row);
    }
    for(i=0; i<2 && i<n; i++){
      if( i ) str_add(&key, "|", 1);
      bBad |= value_text(p, i, &key);
    }
    bErr = n>2 && sqlite3_column_type(p, 2)!=SQLITE_NULL;
    if( bBad ){
      /* What an application reading this row would see: SQLITE_NOMEM. */
      free(row.z); free(key.z);
      sqlite3_finalize(p);
      out_line("E", "torture: out of memory reading a column");
      return;
    }
    str_addz(&line, "R ");
    add_normalised(&line, key.z, key.n);
    str_addz(&line, bErr ? "\t1\t" : "\t0\t");
    add_normalised(&line, row.z, row.n);
    str_add(&line, "\n", 1);
    out_write(line.z, line.n);
    free(row.z); free(key.z); free(line.z);
  }
  if( rc!=SQLITE_DONE ) out_line("E", sqlite3_errmsg(db));
  sqlite3_finalize(p);
}

/* After a failed sqlite3_apifetch_init: is anything of it still registered? */
static void check_residue(sqlite3 *db){
  static const char *const azProbe[] = {
    "SELECT api_fetch_version()", "SELECT api_fetch_config()",
    "SELECT api_fetch_profile('x', NULL)", "SELECT * FROM api_fetch_stats",
    "SELECT * FROM api_fetch('[]')", 0
  };
  Str s = {0, 0, 0};
  int i, bArmed = gArmed;
  __atomic_store_n(&gArmed, 0, __ATOMIC_SEQ_CST);
  str_add(&s, "", 0);
  for(i=0; azProbe[i]; i++){
    sqlite3_stmt *p = 0;
    if( sqlite3_prepare_v2(db, azProbe[i], -1, &p, 0)==SQLITE_OK && p ){
      if( s.n ) str_addz(&s, ", ");
      str_addz(&s, azProbe[i] + 7);
    }
    sqlite3_finalize(p);
  }
  if( s.n ) out_line("I", s.z);
  free(s.z);
  __atomic_store_n(&gArmed, bArmed, __ATOMIC_SEQ_CST);
}

/* The query's setup statements, unarmed, on a connection of their own.
** They must succeed: a run that does not start from the known state
** cannot be judged (exit status 5: classified a crash, with the reason on
** stderr). */
static char *azTemplate[N_CASE];   /* The setup's cache file, made once */

static void run_setup(int iCase){
  static const char *const azFrom[] = { "$C" };
  const char *azTo[1];
  sqlite3 *db = 0;
  char *zErr = 0;
  int i;
  if( azSetupReal[iCase][0]==0 ) return;
  if( azTemplate[iCase] ){
    /* A copy of what the setup made once for this query: the same file,
    ** in a fraction of the time. */
    FILE *in = fopen(azTemplate[iCase], "rb"), *out = fopen(gzRunCache, "wb");
    char buf[65536];
    size_t k;
    if( in==0 || out==0 ){
      fprintf(stderr, "torture: %s: setup: cannot copy %s\n", aCase[iCase].zName,
              azTemplate[iCase]);
      _exit(5);
    }
    while( (k = fread(buf, 1, sizeof(buf), in))>0 ) fwrite(buf, 1, k, out);
    fclose(in);
    if( fclose(out) ){ fprintf(stderr, "torture: cannot write %s\n", gzRunCache); _exit(5); }
    return;
  }
  azTo[0] = gzRunCache;
  if( sqlite3_open(":memory:", &db) || sqlite3_apifetch_init(db, &zErr, 0) ){
    fprintf(stderr, "torture: %s: setup: cannot open: %s\n", aCase[iCase].zName,
            zErr ? zErr : sqlite3_errmsg(db));
    _exit(5);
  }
  for(i=0; azSetupReal[iCase][i]; i++){
    char *zSql = substitute(azSetupReal[iCase][i], azFrom, azTo, 1);
    sqlite3_stmt *p = 0;
    int rc = sqlite3_prepare_v2(db, zSql, -1, &p, 0), bRowErr = 0;
    if( rc==SQLITE_OK ){
      while( (rc = sqlite3_step(p))==SQLITE_ROW ){
        /* A fetching setup statement has error third: it must be NULL. */
        if( sqlite3_column_count(p)>2 && sqlite3_column_type(p, 2)!=SQLITE_NULL ) bRowErr = 1;
      }
    }
    if( rc!=SQLITE_DONE || bRowErr ){
      fprintf(stderr, "torture: %s: setup statement %d failed: %s\n", aCase[iCase].zName, i,
              bRowErr ? "an error row" : sqlite3_errmsg(db));
      _exit(5);
    }
    sqlite3_finalize(p);
    free(zSql);
  }
  if( sqlite3_close(db) ){
    fprintf(stderr, "torture: %s: setup: cannot close\n", aCase[iCase].zName);
    _exit(5);
  }
}

/* After the run: does its cache file hold the test secret (raw, or in
** any form that keeps its core)?  An "F" line shows where, which the
** parent's check then finds. */
static void check_cache_file(void){
  static const char *const azSuffix[] = { "", "-wal", "-journal" };
  size_t nCore = strlen(gSecretCore);
  int i;
  for(i=0; i<3; i++){
    char zName[100], buf[65536];
    Str all = {0, 0, 0};
    FILE *f;
    size_t k;
    snprintf(zName, sizeof(zName), "%s%s", gzRunCache, azSuffix[i]);
    f = fopen(zName, "rb");
    if( f==0 ) continue;
    while( (k = fread(buf, 1, sizeof(buf), f))>0 ) str_add(&all, buf, k);
    fclose(f);
    for(k=0; k+nCore<=all.n; k++){
      if( memcmp(all.z+k, gSecretCore, nCore)==0 ){
        Str line = {0, 0, 0};
        size_t a = k>40 ? k-40 : 0, b = k+nCore+40<all.n ? k+nCore+40 : all.n, j;
        str_printf(&line, "F cache file%s holds the secret at byte %zu: ", azSuffix[i], k);
        for(j=a; j<b; j++){
          unsigned char c = (unsigned char)all.z[j];
          if( c>=32 && c<127 && c!='\\' ) str_add(&line, (const char*)&c, 1);
          else str_printf(&line, "\\x%02x", c);
        }
        str_add(&line, "\n", 1);
        out_write(line.z, line.n);
        free(line.z);
        break;
      }
    }
    free(all.z);
  }
}

/* Make the setup's cache file of query iCase once, in a child (the
** parent never runs SQL), for every run to copy; NULL if it has none. */
static char *make_template(int iCase){
  char zName[80];
  pid_t pid;
  int status = 0;
  if( azSetupReal[iCase][0]==0 ) return 0;
  snprintf(zName, sizeof(zName), "%s/apifetch-torture-%07d-%03d.tmpl",
           access("/dev/shm", W_OK)==0 ? "/dev/shm" : "/tmp", (int)getpid(), iCase);
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if( pid<0 ){ perror("torture: fork"); exit(3); }
  if( pid==0 ){
    snprintf(gzRunCache, sizeof(gzRunCache), "%s", zName);
    run_cache_remove();
    run_setup(iCase);
    _exit(0);
  }
  while( waitpid(pid, &status, 0)<0 && errno==EINTR ){}
  if( !WIFEXITED(status) || WEXITSTATUS(status)!=0 ){
    fprintf(stderr, "torture: %s: the setup failed\n", aCase[iCase].zName);
    exit(3);
  }
  return xstrdup(zName);
}

static void remove_templates(void){
  int i;
  for(i=0; i<N_CASE; i++){
    if( azTemplate[i] ){
      char z[100];
      unlink(azTemplate[i]);
      snprintf(z, sizeof(z), "%s-wal", azTemplate[i]); unlink(z);
      snprintf(z, sizeof(z), "%s-shm", azTemplate[i]); unlink(z);
      free(azTemplate[i]);
      azTemplate[i] = 0;
    }
  }
}

static void child_run(int iCase, long n, int bPersist){
  sqlite3 *db = 0;
  long aBase[A_COUNT];
  int i, rc;
  char *zErr = 0;
  run_cache_name();
  run_cache_remove();
  run_setup(iCase);
  for(i=0; i<A_COUNT; i++) aBase[i] = gLive[i];
  gCount = 0;
  gFailed = 0;
  gFailAt = n;
  gPersist = bPersist;
  __atomic_store_n(&gArmed, 1, __ATOMIC_SEQ_CST);
  out_write("S 0\n", 4);
  rc = sqlite3_open(":memory:", &db);
  if( rc!=SQLITE_OK ){
    out_line("E", db ? sqlite3_errmsg(db) : "sqlite3_open failed");
  }else{
    rc = sqlite3_apifetch_init(db, &zErr, 0);
    if( rc!=SQLITE_OK ){
      char zMsg[600];
      snprintf(zMsg, sizeof(zMsg), "sqlite3_apifetch_init: %d %s", rc, zErr ? zErr : "(no message)");
      out_line("E", zMsg);
      sqlite3_free(zErr);
      check_residue(db);
    }else{
      /* $F: a database file of this run's own; $C its cache file. */
      char zFile[64];
      static const char *const azFrom[] = { "$F", "$C" };
      const char *azTo[2];
      snprintf(zFile, sizeof(zFile), "/tmp/apifetch-torture-%d.db", (int)getpid());
      azTo[0] = zFile;
      azTo[1] = gzRunCache;
      unlink(zFile);
      for(i=0; azSqlReal[iCase][i]; i++){
        char *zSql = substitute(azSqlReal[iCase][i], azFrom, azTo, 2);
        out_printf("S %d\n", i+1);
        run_statement(db, zSql);
        free(zSql);
      }
    }
  }
  rc = sqlite3_close(db);
  __atomic_store_n(&gArmed, 0, __ATOMIC_SEQ_CST);
  {
    char zFile[64];
    snprintf(zFile, sizeof(zFile), "/tmp/apifetch-torture-%d.db", (int)getpid());
    unlink(zFile);
  }
  check_cache_file();
  run_cache_remove();
  out_printf("C %d\n", rc);
  out_printf("N %ld %ld\n", gCount, gFailed);
  out_printf("L %ld %ld %ld\n", gLive[0]-aBase[0], gLive[1]-aBase[1], gLive[2]-aBase[2]);
  out_write("X\n", 2);
}

/**************************************************************************
** Outcomes, parsed
*/
typedef struct Stmt Stmt;
struct Stmt {
  char **azRow;               /* Row texts */
  char **azKey;               /* Their keys */
  int *aErr;                  /* Their error flags */
  int nRow, nAlloc;
  char *zErr;                 /* Error message, or NULL */
};
typedef struct Outcome Outcome;
struct Outcome {
  Stmt aStmt[9];              /* 0: open + init; 1..: the statements */
  int nStmt;
  int bEnd;                   /* The X line came */
  int closeRc;
  long nCount, nFailed;
  long aLeak[A_COUNT];
  char *zResidue;
  int status;                 /* waitpid status */
  int bTimeout;               /* Killed by the parent's backstop */
  char *zRaw;                 /* The whole output */
};

static void outcome_clear(Outcome *o){
  int i, k;
  for(i=0; i<o->nStmt; i++){
    Stmt *s = &o->aStmt[i];
    for(k=0; k<s->nRow; k++){ free(s->azRow[k]); free(s->azKey[k]); }
    free(s->azRow); free(s->azKey); free(s->aErr); free(s->zErr);
  }
  free(o->zResidue);
  free(o->zRaw);
  memset(o, 0, sizeof(*o));
}

static void outcome_parse(Outcome *o, const char *z){
  Stmt *s = 0;
  o->zRaw = xstrdup(z);
  while( *z ){
    const char *e = strchr(z, '\n');
    size_t n = e ? (size_t)(e-z) : strlen(z);
    char *zLine = strndup(z, n);
    if( zLine==0 ){ perror("torture"); exit(3); }
    switch( zLine[0] ){
      case 'S':
        if( o->nStmt<9 ) s = &o->aStmt[o->nStmt++];
        break;
      case 'R':
        if( s && n>2 ){
          char *t1 = strchr(zLine+2, '\t'), *t2 = t1 ? strchr(t1+1, '\t') : 0;
          if( t1 && t2 ){
            if( s->nRow>=s->nAlloc ){
              s->nAlloc = s->nAlloc ? s->nAlloc*2 : 16;
              s->azRow = realloc(s->azRow, sizeof(char*)*(size_t)s->nAlloc);
              s->azKey = realloc(s->azKey, sizeof(char*)*(size_t)s->nAlloc);
              s->aErr = realloc(s->aErr, sizeof(int)*(size_t)s->nAlloc);
              if( !s->azRow || !s->azKey || !s->aErr ){ perror("torture"); exit(3); }
            }
            s->azKey[s->nRow] = strndup(zLine+2, (size_t)(t1-zLine-2));
            s->aErr[s->nRow] = t1[1]=='1';
            s->azRow[s->nRow] = xstrdup(t2+1);
            s->nRow++;
          }
        }
        break;
      case 'E': if( s && !s->zErr ) s->zErr = xstrdup(zLine + (n>2 ? 2 : n)); break;
      case 'I': free(o->zResidue); o->zResidue = xstrdup(zLine + (n>2 ? 2 : n)); break;
      case 'C': o->closeRc = atoi(zLine+2); break;
      case 'N': sscanf(zLine+2, "%ld %ld", &o->nCount, &o->nFailed); break;
      case 'L': sscanf(zLine+2, "%ld %ld %ld", &o->aLeak[0], &o->aLeak[1], &o->aLeak[2]); break;
      case 'X': o->bEnd = 1; break;
    }
    free(zLine);
    z += n + (e ? 1 : 0);
  }
}

/**************************************************************************
** Classification
*/
enum { K_SAME, K_ERROR_ROW, K_CLEAN_ERROR, K_RESIDUE, K_LEAK, K_WRONG,
       K_SECRET, K_HANG, K_CRASH, K_COUNT };
static const char *const azClass[K_COUNT] = {
  "same result", "error row", "clean error", "init residue",
  "leak", "wrong", "secret shown", "hang", "crash"
};
/* Classes that fail the run (init residue unless -k residue). */
static int gKeepResidue;
static int class_bad(int k){
  return k==K_CRASH || k==K_HANG || k==K_SECRET || k==K_WRONG || k==K_LEAK
      || (k==K_RESIDUE && !gKeepResidue);
}

static int same_str(const char *a, const char *b){
  if( a==0 || b==0 ) return a==b;
  return strcmp(a, b)==0;
}

/* Does a row key "u|p" have url_index u and a page below p? */
static void key_split(const char *z, char *zUrl, size_t nUrl, long *pPage){
  const char *bar = strchr(z, '|');
  size_t n = bar ? (size_t)(bar-z) : strlen(z);
  if( n>=nUrl ) n = nUrl-1;
  memcpy(zUrl, z, n);
  zUrl[n] = 0;
  *pPage = bar ? strtol(bar+1, 0, 10) : 0;
}

static int stmt_keyed(int iCase, int i);

/* bChain: did a keyed statement of run o (of case iCase) before iStmt
** have an error row with key zKey (NULL: any error row)? */
static int earlier_error(const Outcome *o, int iCase, int iStmt, const char *zKey){
  int i, k;
  if( o==0 ) return 0;
  for(i=1; i<iStmt && i<o->nStmt; i++){
    const Stmt *s = &o->aStmt[i];
    if( !stmt_keyed(iCase, i) ) continue;
    for(k=0; k<s->nRow; k++){
      if( s->aErr[k] && (zKey==0 || strcmp(s->azKey[k], zKey)==0) ) return 1;
    }
  }
  return 0;
}

/* The keyed comparison of the last statement.  Returns K_SAME,
** K_ERROR_ROW or K_WRONG, with a note.  pChain: the whole run, for a
** query whose statements depend on each other (NULL otherwise). */
static int compare_keyed(const Stmt *pRef, const Stmt *pRun, int bSkip, Str *pNote,
                         const Outcome *pChain, int iCase, int iStmt){
  int i, k, result = K_SAME;
  /* Keys of the run: each group must equal the reference's, or be error rows. */
  for(i=0; i<pRun->nRow; ){
    int j = i, bAllErr = 1, r0 = -1, r1, nRef = 0, bSame;
    while( j<pRun->nRow && strcmp(pRun->azKey[j], pRun->azKey[i])==0 ){
      if( !pRun->aErr[j] ) bAllErr = 0;
      j++;
    }
    for(k=0; k<pRef->nRow; k++){
      if( strcmp(pRef->azKey[k], pRun->azKey[i])==0 ){ if( r0<0 ) r0 = k; nRef++; }
    }
    r1 = r0 + nRef;
    bSame = nRef==j-i;
    for(k=0; bSame && k<nRef; k++) bSame = strcmp(pRef->azRow[r0+k], pRun->azRow[i+k])==0;
    if( !bSame ){
      if( !bAllErr && earlier_error(pChain, iCase, iStmt, pRun->azKey[i]) ){
        /* Not stored after an error row: fetched again, say. */
        if( result==K_SAME ){
          result = K_ERROR_ROW;
          str_printf(pNote, "rows for %s differ after an error row for it in an earlier "
                     "statement", pRun->azKey[i]);
        }
      }else if( bAllErr ){
        if( result==K_SAME ){
          result = K_ERROR_ROW;
          str_printf(pNote, "error row for %s: ", pRun->azKey[i]);
          str_addz(pNote, pRun->azRow[i]);
        }
      }else{
        str_printf(pNote, "rows for %s differ: got ", pRun->azKey[i]);
        for(k=i; k<j; k++){ str_addz(pNote, k>i ? " / " : ""); str_addz(pNote, pRun->azRow[k]); }
        str_addz(pNote, nRef ? "; reference " : "; reference has no such rows");
        for(k=r0; nRef && k<r1; k++){ str_addz(pNote, k>r0 ? " / " : ""); str_addz(pNote, pRef->azRow[k]); }
        return K_WRONG;
      }
    }
    i = j;
  }
  /* Keys of the reference the run lacks: only after an error row of the
  ** same URL on an earlier page (a chain stops there), or under skip. */
  for(k=0; k<pRef->nRow; k++){
    char zU[64], zU2[64];
    long pg, pg2;
    int bFound = 0, bExcused = bSkip;
    for(i=0; i<pRun->nRow && !bFound; i++) bFound = strcmp(pRun->azKey[i], pRef->azKey[k])==0;
    if( bFound ) continue;
    key_split(pRef->azKey[k], zU, sizeof(zU), &pg);
    for(i=0; i<pRun->nRow && !bExcused; i++){
      key_split(pRun->azKey[i], zU2, sizeof(zU2), &pg2);
      bExcused = pRun->aErr[i] && strcmp(zU, zU2)==0 && pg2<pg;
    }
    if( !bExcused ){
      str_printf(pNote, "rows for %s are missing (reference: ", pRef->azKey[k]);
      str_addz(pNote, pRef->azRow[k]);
      str_addz(pNote, ")");
      return K_WRONG;
    }
    if( result==K_SAME ){
      result = K_ERROR_ROW;
      str_printf(pNote, "no rows for %s after an error", pRef->azKey[k]);
    }
  }
  return result;
}

/* Is statement i (1-based; 0 is open and init) of case iCase keyed: does
** it start with url_index, page, error? */
static int stmt_keyed(int iCase, int i){
  const char *z = i>0 && i<=8 ? aCase[iCase].azSql[i-1] : 0;
  return z && (strncmp(z, "SELECT url_index, page, error", 29)==0
               || strncmp(z, "SELECT _url_index, _page, _error", 32)==0);
}

static int classify(const Outcome *pRef, const Outcome *pRun, int iCase, Str *pNote){
  int bSkip = aCase[iCase].bSkip;
  int i, k;
  if( WIFSIGNALED(pRun->status) ){
    int sig = WTERMSIG(pRun->status);
    if( sig==SIGALRM || pRun->bTimeout ){
      str_printf(pNote, "no end after the alarm");
      return K_HANG;
    }
    str_printf(pNote, "signal %d (%s)", sig, strsignal(sig));
    return K_CRASH;
  }
  if( !pRun->bEnd || WEXITSTATUS(pRun->status)!=0 ){
    str_printf(pNote, "exit status %d without an orderly end", WEXITSTATUS(pRun->status));
    return K_CRASH;
  }
  if( strstr(pRun->zRaw, gSecretCore) ){
    const char *z = strstr(pRun->zRaw, gSecretCore);
    const char *s = z, *e = z;
    while( s>pRun->zRaw && s[-1]!='\n' && z-s<200 ) s--;
    while( *e && *e!='\n' && e-z<200 ) e++;
    str_printf(pNote, "secret in: %.*s", (int)(e-s), s);
    return K_SECRET;
  }
  /* Statements: an error the reference did not have is a clean error; a
  ** success where the reference failed, or other rows, is wrong. */
  {
    int iNewErr = -1, iWrong = -1, r;
    for(i=0; i<pRun->nStmt; i++){
      const char *zRef = i<pRef->nStmt ? pRef->aStmt[i].zErr : 0;
      if( pRun->aStmt[i].zErr && !same_str(pRun->aStmt[i].zErr, zRef) ){
        if( iNewErr<0 ) iNewErr = i;
      }
    }
    if( iNewErr<0 ){
      for(i=0; i<pRef->nStmt; i++){
        if( i>=pRun->nStmt ){ if( iWrong<0 ) iWrong = i; continue; }
        if( pRef->aStmt[i].zErr && !pRun->aStmt[i].zErr && iWrong<0 ){
          iWrong = i;
          str_printf(pNote, "statement %d succeeded; reference failed: %s", i, pRef->aStmt[i].zErr);
        }
      }
    }
    r = K_SAME;
    if( iNewErr<0 && iWrong<0 ){
      for(i=0; i<pRef->nStmt && r!=K_WRONG; i++){
        const Stmt *a = &pRef->aStmt[i], *b = &pRun->aStmt[i];
        const Outcome *pChain = aCase[iCase].bChain ? pRun : 0;
        if( stmt_keyed(iCase, i) ){
          int c = compare_keyed(a, b, bSkip, pNote, pChain, iCase, i);
          if( c>r ) r = c;
        }else{
          int bSame = a->nRow==b->nRow;
          for(k=0; bSame && k<a->nRow; k++) bSame = strcmp(a->azRow[k], b->azRow[k])==0;
          if( !bSame && earlier_error(pChain, iCase, i, 0) ){
            if( r==K_SAME ){
              r = K_ERROR_ROW;
              str_printf(pNote, "statement %d differs after an error row in an earlier one", i);
            }
          }else if( !bSame ){
            r = K_WRONG;
            str_printf(pNote, "statement %d: got %d rows, first ", i, b->nRow);
            str_addz(pNote, b->nRow ? b->azRow[0] : "-");
            str_printf(pNote, "; reference %d rows, first ", a->nRow);
            str_addz(pNote, a->nRow ? a->azRow[0] : "-");
          }
        }
      }
    }else if( iWrong>=0 ){
      r = K_WRONG;
    }
    if( r==K_WRONG ) return K_WRONG;
    if( pRun->closeRc!=SQLITE_OK || pRun->aLeak[0] || pRun->aLeak[1] || pRun->aLeak[2] ){
      pNote->n = 0;
      if( pNote->z ) pNote->z[0] = 0;
      str_printf(pNote, "live blocks after close: sqlite %ld, cjson %ld, curl %ld; close rc %d",
                 pRun->aLeak[0], pRun->aLeak[1], pRun->aLeak[2], pRun->closeRc);
      return K_LEAK;
    }
    if( pRun->zResidue ){
      str_printf(pNote, "init failed (%s) but left registered: %s",
                 pRun->aStmt[0].zErr ? pRun->aStmt[0].zErr : "?", pRun->zResidue);
      return K_RESIDUE;
    }
    if( iNewErr>=0 ){
      pNote->n = 0;
      if( pNote->z ) pNote->z[0] = 0;
      str_printf(pNote, "statement %d: ", iNewErr);
      str_addz(pNote, pRun->aStmt[iNewErr].zErr);
      return K_CLEAN_ERROR;
    }
    return r;
  }
}

/**************************************************************************
** Running children
*/
static int gTimeout = 20;       /* Seconds a run may take */

typedef struct Job Job;
struct Job {
  pid_t pid;
  int fd;
  long n;                     /* N of this run (0: reference) */
  Str out;
  double tStart;
  int bKilled;
};

static int job_start(Job *j, int iCase, long n, int bPersist){
  int fds[2];
  pid_t pid;
  if( pipe(fds) ) return 1;
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if( pid<0 ){ close(fds[0]); close(fds[1]); return 1; }
  if( pid==0 ){
    int devnull = open("/dev/null", O_WRONLY);
    close(fds[0]);
    gOutFd = fds[1];
    signal(SIGPIPE, SIG_IGN);
    /* No progress lines: they depend on timing and on a terminal. */
    if( devnull>=0 && isatty(2) ) dup2(devnull, 2);
    alarm((unsigned)gTimeout);
    child_run(iCase, n, bPersist);
    _exit(0);
  }
  close(fds[1]);
  memset(j, 0, sizeof(*j));
  j->pid = pid;
  j->fd = fds[0];
  j->n = n;
  j->tStart = now_s();
  return 0;
}

/* Read what is there; returns 1 once the child is done and reaped. */
static int job_poll(Job *j, Outcome *o){
  char buf[8192];
  for(;;){
    ssize_t k = read(j->fd, buf, sizeof(buf));
    if( k>0 ){ str_add(&j->out, buf, (size_t)k); continue; }
    if( k<0 && errno==EINTR ) continue;
    if( k<0 && errno==EAGAIN ) break;
    if( k==0 ){
      int status = 0;
      close(j->fd);
      j->fd = -1;
      while( waitpid(j->pid, &status, 0)<0 && errno==EINTR ){}
      memset(o, 0, sizeof(*o));
      str_add(&j->out, "", 0);
      outcome_parse(o, j->out.z);
      o->status = status;
      o->bTimeout = j->bKilled;
      free(j->out.z);
      j->out.z = 0;
      return 1;
    }
    break;
  }
  if( !j->bKilled && now_s() - j->tStart > gTimeout + 10 ){
    kill(j->pid, SIGKILL);      /* the alarm did not work: a backstop */
    j->bKilled = 1;
  }
  return 0;
}

/* Run one case at N in the foreground and return its outcome. */
static void run_one(int iCase, long n, int bPersist, Outcome *o){
  Job j;
  if( job_start(&j, iCase, n, bPersist) ){ perror("torture: fork"); exit(3); }
  fcntl(j.fd, F_SETFL, fcntl(j.fd, F_GETFL) & ~O_NONBLOCK);
  while( !job_poll(&j, o) ){}
}

/**************************************************************************
** The walk
*/
typedef struct Tally Tally;
struct Tally {
  long a[2][K_COUNT];         /* [persistent][class] */
  long nRuns[2];
};

typedef struct Bad Bad;
struct Bad {
  int iCase, bPersist, k;
  long n;
  char *zNote;
};
static Bad *aBad;
static int nBad, nBadAlloc;
static FILE *gLog;              /* -o: every bad run, in full */
static int gVerbose;

/* Distinct clean-error messages, with counts (-v). */
typedef struct Msg Msg;
struct Msg { char *z; long n; int iCase, bPersist; long nFirst; };
static Msg *aMsg;
static int nMsg;

static void note_message(const char *z, int iCase, long nRun, int bPersist){
  int i;
  char *zCut = xstrdup(z), *p;
  if( (p = strstr(zCut, "statement "))==zCut && (p = strstr(zCut, ": "))!=0 ){
    memmove(zCut, p+2, strlen(p+2)+1);
  }
  for(i=0; i<nMsg; i++){
    if( strcmp(aMsg[i].z, zCut)==0 ){ aMsg[i].n++; free(zCut); return; }
  }
  aMsg = realloc(aMsg, sizeof(Msg)*(size_t)(nMsg+1));
  if( aMsg==0 ){ perror("torture"); exit(3); }
  aMsg[nMsg].z = zCut;
  aMsg[nMsg].n = 1;
  aMsg[nMsg].iCase = iCase;
  aMsg[nMsg].nFirst = nRun;
  aMsg[nMsg].bPersist = bPersist;
  nMsg++;
}

static void record(Tally *t, int iCase, long n, int bPersist, int k, const char *zNote){
  t->a[bPersist][k]++;
  t->nRuns[bPersist]++;
  if( k==K_CLEAN_ERROR ) note_message(zNote ? zNote : "", iCase, n, bPersist);
  if( class_bad(k) ){
    if( nBad>=nBadAlloc ){
      nBadAlloc = nBadAlloc ? nBadAlloc*2 : 64;
      aBad = realloc(aBad, sizeof(Bad)*(size_t)nBadAlloc);
      if( aBad==0 ){ perror("torture"); exit(3); }
    }
    aBad[nBad].iCase = iCase;
    aBad[nBad].bPersist = bPersist;
    aBad[nBad].k = k;
    aBad[nBad].n = n;
    aBad[nBad].zNote = xstrdup(zNote ? zNote : "");
    nBad++;
    if( gLog ){
      fprintf(gLog, "%-12s %-20s N=%-6ld %s  %s\n", azClass[k], aCase[iCase].zName, n,
              bPersist ? "persistent" : "transient", zNote ? zNote : "");
      fflush(gLog);
    }
  }
}

static uint64_t splitmix(uint64_t *p){
  uint64_t z = (*p += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z>>30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z>>27)) * 0x94D049BB133111EBull;
  return z ^ (z>>31);
}

/* Walk one case in one mode: every N until a run does not reach N, or the
** sampled N.  Up to nJob children at once. */
static void walk(Tally *t, int iCase, int bPersist, const Outcome *pRef, int nJob,
                 long nSample, uint64_t seed){
  Job *aJob = calloc((size_t)nJob, sizeof(Job));
  long *aN = 0, nN = 0, iNext = 0, nEnd = -1, next = 1;
  int nActive = 0, i;
  /* Results may come out of order; runs past the end are dropped. */
  typedef struct Res { long n; int k; char *zNote; } Res;
  Res *aRes = 0;
  long nRes = 0, nResAlloc = 0;
  if( aJob==0 ){ perror("torture"); exit(3); }
  if( nSample>0 ){
    /* nSample distinct N in [1, count of the reference], seeded. */
    long nMax = pRef->nCount, k;
    uint64_t s = seed ^ ((uint64_t)(iCase+1)*0x100000001B3ull) ^ (bPersist ? 0xABCDull : 0);
    if( nMax<1 ) nMax = 1;
    if( nSample>=nMax ){
      nN = nMax;
      aN = malloc(sizeof(long)*(size_t)nN);
      for(k=0; aN && k<nN; k++) aN[k] = k+1;
    }else{
      char *seen = calloc((size_t)nMax+1, 1);
      aN = malloc(sizeof(long)*(size_t)nSample);
      if( seen==0 || aN==0 ){ perror("torture"); exit(3); }
      while( nN<nSample ){
        long v = 1 + (long)(splitmix(&s) % (uint64_t)nMax);
        if( !seen[v] ){ seen[v] = 1; aN[nN++] = v; }
      }
      free(seen);
    }
    if( aN==0 ){ perror("torture"); exit(3); }
  }
  for(;;){
    /* Start runs while there are slots and N to try. */
    while( nActive<nJob ){
      long n;
      if( nSample>0 ){
        if( iNext>=nN ) break;
        n = aN[iNext++];
      }else{
        if( nEnd>=0 ) break;
        n = next++;
      }
      for(i=0; i<nJob && aJob[i].pid; i++){}
      if( job_start(&aJob[i], iCase, n, bPersist) ){ perror("torture: fork"); exit(3); }
      fcntl(aJob[i].fd, F_SETFL, fcntl(aJob[i].fd, F_GETFL) | O_NONBLOCK);
      nActive++;
    }
    if( nActive==0 ) break;
    {
      struct pollfd aPoll[64];
      int nPoll = 0;
      for(i=0; i<nJob; i++){
        if( aJob[i].pid ){ aPoll[nPoll].fd = aJob[i].fd; aPoll[nPoll].events = POLLIN; nPoll++; }
      }
      poll(aPoll, (nfds_t)nPoll, 500);
    }
    for(i=0; i<nJob; i++){
      Outcome o;
      if( aJob[i].pid==0 || !job_poll(&aJob[i], &o) ) continue;
      aJob[i].pid = 0;
      nActive--;
      if( o.nFailed==0 && o.bEnd ){
        /* N was never reached: the end of the walk (not a run that counts). */
        if( nSample<=0 && (nEnd<0 || aJob[i].n<nEnd) ) nEnd = aJob[i].n;
      }else{
        Str note = {0, 0, 0};
        int k;
        str_add(&note, "", 0);
        k = classify(pRef, &o, iCase, &note);
        if( nRes>=nResAlloc ){
          nResAlloc = nResAlloc ? nResAlloc*2 : 1024;
          aRes = realloc(aRes, sizeof(Res)*(size_t)nResAlloc);
          if( aRes==0 ){ perror("torture"); exit(3); }
        }
        aRes[nRes].n = aJob[i].n;
        aRes[nRes].k = k;
        aRes[nRes].zNote = note.z;
        nRes++;
      }
      outcome_clear(&o);
    }
  }
  for(i=0; i<nRes; i++){
    if( nEnd<0 || aRes[i].n<nEnd ){
      record(t, iCase, aRes[i].n, bPersist, aRes[i].k, aRes[i].zNote);
    }
    free(aRes[i].zNote);
  }
  free(aRes);
  free(aN);
  free(aJob);
}

/**************************************************************************
** The loopback server, and a port that refuses connections
*/
static pid_t gServerPid;

static void stop_server(void){
  if( gServerPid>0 ){
    int status;
    kill(gServerPid, SIGTERM);
    waitpid(gServerPid, &status, 0);
    gServerPid = 0;
  }
}

static void remove_templates(void);
static void on_signal(int sig){
  stop_server();
  remove_templates();
  signal(sig, SIG_DFL);
  raise(sig);
}

static int start_server(const char *zScript){
  int fds[2];
  char line[128];
  FILE *f;
  int port = 0;
  if( pipe(fds) ) return 0;
  gServerPid = fork();
  if( gServerPid<0 ) return 0;
  if( gServerPid==0 ){
    prctl(PR_SET_PDEATHSIG, SIGTERM);   /* also if the harness is killed (gdb) */
    close(fds[0]);
    dup2(fds[1], 1);
    close(fds[1]);
    execl("/usr/bin/python3", "python3", zScript, "--port", "0", (char*)0);
    _exit(127);
  }
  close(fds[1]);
  f = fdopen(fds[0], "r");
  if( f && fgets(line, sizeof(line), f) && sscanf(line, "PORT %d", &port)==1 ){
    return port;          /* f stays open: the server keeps its stdout */
  }
  stop_server();
  return 0;
}

/* A bound socket that does not listen: connections to it are refused. */
static int refusing_port(void){
  struct sockaddr_in a;
  socklen_t n = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if( fd<0 || bind(fd, (struct sockaddr*)&a, sizeof(a)) || getsockname(fd, (struct sockaddr*)&a, &n) ){
    return 0;
  }
  return ntohs(a.sin_port);      /* fd stays open for the whole walk */
}

/**************************************************************************
** main
*/
static void usage(void){
  fprintf(stderr,
    "usage: tests/torture [-s K] [-S seed] [-j jobs] [-t seconds] [-q name,...]\n"
    "                     [-m t|p] [-n N [-x]] [-o log] [-k residue] [-P] [-v] [-l]\n"
    "  -s K       K seeded N per query and mode instead of every N\n"
    "  -n N       one run at N (with -q and -m), shown against the reference\n"
    "  -x         with -n: in this process, no fork (for gdb)\n"
    "  -P         a plain secret, which URL-encoding does not change\n"
    "  -k residue report init residue (a known, separate fix) without failing\n");
  exit(2);
}

static void print_outcome(const char *zWhat, const Outcome *o){
  printf("---- %s (%ld allocations, %ld failed) ----\n%s", zWhat, o->nCount, o->nFailed,
         o->zRaw ? o->zRaw : "");
}

int main(int argc, char **argv){
  const char *zOnly = 0, *zMode = "tp", *zLog = 0;
  long nSample = 0, nOne = 0;
  uint64_t seed = 1;
  int nJob = 2, bNoFork = 0, bPlain = 0, i, port, deadPort, nCase = 0, rc = 0;
  char zBase[64], zDead[64], zPort[16];
  Tally t;
  double t0 = now_s();
  static int aRun[N_CASE];

  for(i=1; i<argc; i++){
    const char *a = argv[i];
    const char *v = i+1<argc ? argv[i+1] : 0;
    if( strcmp(a, "-s")==0 && v ){ nSample = atol(v); i++; }
    else if( strcmp(a, "-S")==0 && v ){ seed = strtoull(v, 0, 10); i++; }
    else if( strcmp(a, "-j")==0 && v ){ nJob = atoi(v); i++; }
    else if( strcmp(a, "-t")==0 && v ){ gTimeout = atoi(v); i++; }
    else if( strcmp(a, "-q")==0 && v ){ zOnly = v; i++; }
    else if( strcmp(a, "-m")==0 && v ){ zMode = v; i++; }
    else if( strcmp(a, "-n")==0 && v ){ nOne = atol(v); i++; }
    else if( strcmp(a, "-o")==0 && v ){ zLog = v; i++; }
    else if( strcmp(a, "-k")==0 && v && strcmp(v, "residue")==0 ){ gKeepResidue = 1; i++; }
    else if( strcmp(a, "-x")==0 ) bNoFork = 1;
    else if( strcmp(a, "-P")==0 ) bPlain = 1;
    else if( strcmp(a, "-v")==0 ) gVerbose = 1;
    else if( strcmp(a, "-l")==0 ){
      int k;
      for(k=0; k<N_CASE; k++) printf("%s\n", aCase[k].zName);
      return 0;
    }
    else usage();
  }
  if( nJob<1 ) nJob = 1;
  if( nJob>64 ) nJob = 64;
  if( gTimeout<1 ) gTimeout = 1;
  for(i=0; i<N_CASE; i++){
    if( zOnly ){
      const char *p = strstr(zOnly, aCase[i].zName);
      size_t n = strlen(aCase[i].zName);
      aRun[i] = p && (p==zOnly || p[-1]==',') && (p[n]==0 || p[n]==',');
    }else{
      aRun[i] = 1;
    }
    nCase += aRun[i];
  }
  if( nCase==0 ){ fprintf(stderr, "torture: no query named %s (-l lists them)\n", zOnly); return 2; }
  if( nOne>0 && (nCase!=1 || strlen(zMode)!=1) ){
    fprintf(stderr, "torture: -n needs one query (-q) and one mode (-m t or -m p)\n");
    return 2;
  }

  setenv("APIFETCH_TEST_TOKEN", bPlain ? SECRET_PLAIN : SECRET_VALUE, 1);
  unsetenv("APIFETCH_CONFIG");
  unsetenv("http_proxy"); unsetenv("https_proxy"); unsetenv("all_proxy");
  unsetenv("HTTP_PROXY"); unsetenv("HTTPS_PROXY"); unsetenv("ALL_PROXY");
  if( install_allocators() ){
    fprintf(stderr, "torture: cannot install the allocators\n");
    return 3;
  }
  {
    /* tests/loopback.py next to this program. */
    char zScript[4096];
    const char *zSlash = strrchr(argv[0], '/');
    snprintf(zScript, sizeof(zScript), "%.*sloopback.py",
             zSlash ? (int)(zSlash - argv[0] + 1) : 0, argv[0]);
    if( access(zScript, R_OK) ) snprintf(zScript, sizeof(zScript), "tests/loopback.py");
    port = start_server(zScript);
  }
  deadPort = refusing_port();
  if( port==0 || deadPort==0 ){
    fprintf(stderr, "torture: cannot start %s\n", port ? "a refusing port" : "tests/loopback.py");
    stop_server();
    return 3;
  }
  atexit(stop_server);
  atexit(remove_templates);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  snprintf(zBase, sizeof(zBase), "http://127.0.0.1:%d", port);
  snprintf(zDead, sizeof(zDead), "http://127.0.0.1:%d", deadPort);
  snprintf(zPort, sizeof(zPort), "%d", port);
  for(i=0; i<N_CASE; i++){
    static const char *const azFrom[] = { "$B", "$D", "$P" };
    const char *azTo[3];
    int k;
    azTo[0] = zBase; azTo[1] = zDead; azTo[2] = zPort;
    for(k=0; aCase[i].azSql[k]; k++) azSqlReal[i][k] = substitute(aCase[i].azSql[k], azFrom, azTo, 3);
    for(k=0; aCase[i].azSetup[k]; k++) azSetupReal[i][k] = substitute(aCase[i].azSetup[k], azFrom, azTo, 3);
  }
  if( zLog ){
    gLog = fopen(zLog, "w");
    if( gLog==0 ){ perror(zLog); return 3; }
  }

  if( nOne>0 ){
    /* One run, shown in full against the reference. */
    Outcome ref, run;
    Str note = {0, 0, 0};
    int bPersist = zMode[0]=='p', k;
    for(i=0; !aRun[i]; i++){}
    azTemplate[i] = make_template(i);
    run_one(i, 0, 0, &ref);
    if( bNoFork ){
      gOutFd = -1;
      child_run(i, nOne, bPersist);
      memset(&run, 0, sizeof(run));
      str_add(&gOut, "", 0);
      outcome_parse(&run, gOut.z);
    }else{
      run_one(i, nOne, bPersist, &run);
    }
    print_outcome("reference", &ref);
    print_outcome("run", &run);
    str_add(&note, "", 0);
    k = classify(&ref, &run, i, &note);
    printf("==== %s N=%ld %s: %s%s%s\n", aCase[i].zName, nOne,
           bPersist ? "persistent" : "transient", azClass[k], note.n ? ": " : "", note.z);
    return class_bad(k);
  }

  memset(&t, 0, sizeof(t));
  if( nSample>0 ){
    printf("apifetch torture: %d queries, %ld seeded N per query and mode (seed %llu), %d jobs\n",
           nCase, nSample, (unsigned long long)seed, nJob);
  }else{
    printf("apifetch torture: %d queries, every N, %d jobs\n", nCase, nJob);
  }
  printf("%-20s %8s %8s %8s %7s\n", "query", "allocs", "trans.", "persist.", "secs");
  fflush(stdout);
  for(i=0; i<N_CASE; i++){
    Outcome ref, ref2;
    Str note = {0, 0, 0};
    double tc = now_s();
    long before[2];
    if( !aRun[i] ) continue;
    azTemplate[i] = make_template(i);
    /* The reference, twice: a query whose result is not repeatable
    ** cannot be judged. */
    run_one(i, 0, 0, &ref);
    run_one(i, 0, 0, &ref2);
    str_add(&note, "", 0);
    if( !ref.bEnd || WIFSIGNALED(ref.status) || ref.nFailed || ref.aLeak[0] || ref.aLeak[1]
     || ref.aLeak[2] || ref.closeRc
     || (strstr(ref.zRaw, gSecretCore)==0 && classify(&ref, &ref2, i, &note)!=K_SAME) ){
      printf("%-20s reference run is not usable: %s\n", aCase[i].zName, note.z);
      print_outcome("reference", &ref);
      print_outcome("reference again", &ref2);
      rc = 1;
      outcome_clear(&ref); outcome_clear(&ref2); free(note.z);
      continue;
    }
    if( strstr(ref.zRaw, gSecretCore) ){
      /* Walked all the same: every run that shows it counts. */
      const char *z = strstr(ref.zRaw, gSecretCore), *s = z, *e = z;
      while( s>ref.zRaw && s[-1]!='\n' && z-s<200 ) s--;
      while( *e && *e!='\n' && e-z<200 ) e++;
      printf("%-20s the reference run shows the secret: %.*s\n", aCase[i].zName, (int)(e-s), s);
      rc = 1;
    }
    if( gVerbose ) print_outcome(aCase[i].zName, &ref);
    before[0] = t.nRuns[0];
    before[1] = t.nRuns[1];
    if( strchr(zMode, 't') ) walk(&t, i, 0, &ref, nJob, nSample, seed);
    if( strchr(zMode, 'p') ) walk(&t, i, 1, &ref, nJob, nSample, seed);
    printf("%-20s %8ld %8ld %8ld %7.1f\n", aCase[i].zName, ref.nCount, t.nRuns[0]-before[0],
           t.nRuns[1]-before[1], now_s()-tc);
    fflush(stdout);
    outcome_clear(&ref); outcome_clear(&ref2); free(note.z);
  }

  /* The bad runs, grouped by query, mode and class. */
  if( nBad ){
    int a;
    printf("\nbad runs (query, mode, class: count, N values; the first one's detail):\n");
    for(a=0; a<nBad; a++){
      int b, nSame = 0, bSeen = 0;
      for(b=0; b<a && !bSeen; b++){
        bSeen = aBad[b].iCase==aBad[a].iCase && aBad[b].bPersist==aBad[a].bPersist
             && aBad[b].k==aBad[a].k;
      }
      if( bSeen ) continue;
      printf("  %s %s %s:", aCase[aBad[a].iCase].zName,
             aBad[a].bPersist ? "persistent" : "transient", azClass[aBad[a].k]);
      for(b=a; b<nBad; b++){
        if( aBad[b].iCase==aBad[a].iCase && aBad[b].bPersist==aBad[a].bPersist
         && aBad[b].k==aBad[a].k ){
          if( nSame<12 ) printf("%s%ld", nSame ? "," : " N=", aBad[b].n);
          nSame++;
        }
      }
      if( nSame>12 ) printf(",... (%d runs)", nSame);
      printf("\n      %.400s\n", aBad[a].zNote);
    }
  }
  if( gVerbose && nMsg ){
    printf("\nclean errors by message:\n");
    for(i=0; i<nMsg; i++){
      printf("  %6ld  %.200s  [first: -q %s -n %ld -m %c]\n", aMsg[i].n, aMsg[i].z,
             aCase[aMsg[i].iCase].zName, aMsg[i].nFirst, aMsg[i].bPersist ? 'p' : 't');
    }
  }

  printf("\n%-20s %10s %10s\n", "class", "transient", "persistent");
  {
    static const int aOrder[] = { K_SAME, K_ERROR_ROW, K_CLEAN_ERROR, K_WRONG, K_CRASH,
                                  K_HANG, K_LEAK, K_SECRET, K_RESIDUE };
    for(i=0; i<K_COUNT; i++){
      int k = aOrder[i];
      printf("%-20s %10ld %10ld\n", azClass[k], t.a[0][k], t.a[1][k]);
      if( class_bad(k) && (t.a[0][k] || t.a[1][k]) ) rc = 1;
    }
  }
  printf("%-20s %10ld %10ld\n", "total runs", t.nRuns[0], t.nRuns[1]);
  printf("%ld runs in %.0f s: %s\n", t.nRuns[0]+t.nRuns[1], now_s()-t0, rc ? "FAILED" : "ok");
  if( gLog ) fclose(gLog);
  return rc;
}
