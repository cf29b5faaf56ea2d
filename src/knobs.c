/*
** knobs.c - every setting a user can turn, declared once: the options of
** api_fetch, the arguments of the wide face, the keys of the paginate
** option, the settings of api_fetch_config.  Name, kind, range, default,
** where it applies, one line of help.
**
**   SELECT name, applies, type, "default" FROM api_fetch_options;
**
** The parsers (options.c for options, arguments and paginate keys, guard.c
** for settings) read values into the field each row names; the "known: ..."
** lists and the "did you mean" hints of their errors, the defaults of
** options_init, and the api_fetch_options table (conn.c) all come from
** here.  Adding an option is a row here, a field in its struct, and, for a
** kind that is not a plain integer, number, boolean, word or text, a case
** in its parser (ARCHITECTURE.md).  The readers of plain kinds are here
** too; this file calls only the leaf helpers (util.c).
*/
#include <assert.h>
#include <stddef.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "apifetch.h"

#define OPT(f)  offsetof(Options, f), sizeof(((Options*)0)->f)
#define PAG(f)  offsetof(Options, paginate.f), sizeof(((Options*)0)->paginate.f)
#define CFG(f)  offsetof(Guard, f), sizeof(((Guard*)0)->f)
#define NONE    0, 0
#define BIG     ((sqlite3_int64)1<<53)

/* The columns of a row (struct Knob in apifetch.h), in order:
**
**   { zName, eKind, mFace, field, iMin, iMax, iDefault, zWords,
**     zType, zDefault, zAbout, eSpecial }
**       |      |      |      |     |     |      |        |
**       |      |      |      |     |     |      |        `-- KNOB_CHOICE: its words
**       |      |      |      |     |     |      `-- options_init's (KNOB_INT, _BOOL, _CHOICE)
**       |      |      |      |     `-----`-- the range (KNOB_INT, KNOB_REAL)
**       |      |      |      `-- OPT(f), PAG(f), CFG(f): offset and size; NONE
**       |      |      `-- KF_*: where it applies
**       |      `-- KNOB_*: how its value is read
**       `-- what the user writes
**   zType: the type api_fetch_options shows; zDefault: the default it shows
**   when iDefault does not say (0: iDefault says); zAbout: one line of help;
**   eSpecial: KS_*, the row of its reader, for KNOB_SPECIAL only.
*/
const Knob aKnob[] = {
  /* Arguments of CREATE VIRTUAL TABLE ... USING api_fetch(...) only. */
  { "url_list", KNOB_TEXT, KF_TABLE, OPT(zUrlList), 0, 0, 0, 0, "text", 0,
    "the URLs: a JSON array of URLs or request objects, or one URL a line", 0 },
  { "url_query", KNOB_TEXT, KF_TABLE, OPT(zUrlQuery), 0, 0, 0, 0, "text", 0,
    "instead of url_list: a SELECT whose rows give URLs or request objects", 0 },
  { "concurrency", KNOB_INT, KF_TABLE, OPT(concurrency), 1, APIFETCH_MAX_CONCURRENCY, 10, 0,
    "integer", 0, "transfers in flight at once (the function's second argument)", 0 },
  { "columns", KNOB_TEXT, KF_TABLE, OPT(zColumns), 0, 0, 0, 0, "text", "inferred",
    "declare the columns: 'id INTEGER, title TEXT, ...'", 0 },
  { "sample", KNOB_INT, KF_TABLE, OPT(nSample), 1, 100000, -1, 0, "integer",
    "concurrency, at least 10", "URLs fetched at CREATE to infer the columns", 0 },
  { "sep", KNOB_TEXT, KF_TABLE, OPT(zSep), 0, 0, 0, 0, "text", "_", "joins nested keys", 0 },
  { "max_level", KNOB_INT, KF_TABLE, OPT(maxLevel), 0, APIFETCH_JSON_MAX_DEPTH, -1, 0,
    "integer", "all", "levels of nested objects to flatten", 0 },
  { "meta", KNOB_TEXT, KF_TABLE, OPT(zMeta), 0, 0, 0, 0, "text", "none",
    "fields of the objects around the records, copied onto each: '[\"id\", [\"a\", \"b\"]]'", 0 },
  { "meta_prefix", KNOB_TEXT, KF_TABLE, OPT(zMetaPrefix), 0, 0, 0, 0, "text", "none",
    "prefix of meta column names", 0 },
  { "record_prefix", KNOB_TEXT, KF_TABLE, OPT(zRecordPrefix), 0, 0, 0, 0, "text", "none",
    "prefix of record column names", 0 },
  { "input_prefix", KNOB_TEXT, KF_TABLE, OPT(zInputPrefix), 0, 0, 0, 0, "text", "none",
    "the input each request carried (_input) as columns too, names with this prefix", 0 },
  { "timestamps", KNOB_CHOICE, KF_TABLE, OPT(eTimestamps), 0, 2, TS_UTC, "utc keep epoch",
    "'utc', 'keep' or 'epoch'", 0, "what RFC 3339 timestamps with an offset become", 0 },
  { "numeric_strings", KNOB_CHOICE, KF_TABLE, OPT(eNumericStrings), 0, 2, NUMSTR_EXACT,
    "never exact decimal", "'never', 'exact' or 'decimal'", 0,
    "which strings make a column numeric", 0 },
  { "on_mismatch", KNOB_CHOICE, KF_TABLE, OPT(eOnMismatch), 0, 2, MISMATCH_KEEP,
    "keep null reject", "'keep', 'null' or 'reject'", 0,
    "a value that does not fit its column's type: kept, NULL, or the record an error row", 0 },
  { "max_columns", KNOB_INT, KF_TABLE, OPT(maxColumns), 1, APIFETCH_MAX_COLUMNS, 1000, 0,
    "integer", 0, "data columns at most; keys beyond go to _extra", 0 },

  /* The options object of api_fetch(), and arguments of the wide face. */
  { "timeout_ms", KNOB_INT, KF_OPTION, OPT(timeout_ms), 1, 86400000, 30000, 0, "integer", 0,
    "total time limit of one attempt, its redirects included", 0 },
  { "connect_timeout_ms", KNOB_INT, KF_OPTION, OPT(connect_timeout_ms), 1, 3600000, 10000, 0,
    "integer", 0, "connect (and TLS handshake) time limit of one attempt", 0 },
  { "deadline_ms", KNOB_INT, KF_OPTION, OPT(deadline_ms), 0, 604800000, 0, 0, "integer",
    "0 (none)", "time limit of the whole query: what is not answered by then is an error row", 0 },
  { "max_attempts", KNOB_INT, KF_OPTION, OPT(max_attempts), 1, 100, 3, 0, "integer", 0,
    "attempts per request, the first included", 0 },
  { "retry_base_ms", KNOB_INT, KF_OPTION, OPT(retry_base_ms), 0, 3600000, 250, 0, "integer", 0,
    "backoff base: retry n waits a random time up to min(retry_max_ms, base * 2^(n-1))", 0 },
  { "retry_max_ms", KNOB_INT, KF_OPTION, OPT(retry_max_ms), 0, 3600000, 10000, 0, "integer", 0,
    "backoff cap", 0 },
  { "retry_after_max_ms", KNOB_INT, KF_OPTION, OPT(retry_after_max_ms), 0, 86400000, 60000, 0,
    "integer", 0, "the longest Retry-After honoured; a longer one ends the request", 0 },
  { "retry_unsafe", KNOB_BOOL, KF_OPTION, OPT(retry_unsafe), 0, 1, 0, 0, "boolean", 0,
    "also retry POST and PATCH, which are not idempotent", 0 },
  { "rate", KNOB_REAL, KF_OPTION, OPT(rate), 0, 1000000, 0, 0, "number", "0 (no limit)",
    "requests started per second, retries included (a token bucket)", 0 },
  { "burst", KNOB_INT, KF_OPTION, OPT(burst), 1, 1000000, 1, 0, "integer", 0,
    "requests that may start at once before rate applies", 0 },
  { "per_host", KNOB_INT, KF_OPTION, OPT(per_host), 0, APIFETCH_MAX_CONCURRENCY, 0, 0, "integer",
    "0 (no cap)", "connections to one host at most", 0 },
  { "adaptive", KNOB_BOOL, KF_OPTION, OPT(adaptive), 0, 1, 1, 0, "boolean", 0,
    "learn each host's limits: its rate-limit headers, a pace after 429s, a window", 0 },
  { "breaker", KNOB_INT, KF_OPTION, OPT(breaker), 0, 1000, 5, 0, "integer", 0,
    "consecutive failures that open a host's circuit; 0: never", 0 },
  { "breaker_cooldown_ms", KNOB_INT, KF_OPTION, OPT(breaker_cooldown_ms), 0, 86400000, 5000, 0,
    "integer", 0, "how long an open circuit ends requests before a probe", 0 },
  { "max_bytes", KNOB_INT, KF_OPTION, OPT(max_bytes), 1, (sqlite3_int64)1<<40, 64*1024*1024, 0,
    "integer", 0, "largest response body accepted, after decompression", 0 },
  { "max_redirects", KNOB_INT, KF_OPTION, OPT(max_redirects), 0, 50, 5, 0, "integer", 0,
    "redirects followed; 0: none, the 3xx is the answer", 0 },
  { "on_error", KNOB_CHOICE, KF_OPTION, OPT(on_error), 0, 2, -1, "row skip fail",
    "\"row\", \"skip\" or \"fail\"",
    "row; wide face: row if the query reads _error, else skip",
    "what a failed request gives: an error row, no row, or a failed statement", 0 },
  { "on_status", KNOB_SPECIAL, KF_OPTION, OPT(aOnCode), 0, 0, 0, 0,
    "object: status or class to \"data\", \"skip\", \"error\", \"fail\" or \"retry\"",
    "none: on_error", "per status (\"404\") or class (\"5xx\"): a row of data, no row, an "
    "error row, a failed statement, or retried", KS_ON_STATUS },
  { "response_headers", KNOB_BOOL, KF_OPTION, OPT(response_headers), 0, 1, 0, 0, "boolean", 0,
    "the final response's headers as a JSON object, in the column headers (_headers)", 0 },
  { "progress", KNOB_BOOL, KF_OPTION, OPT(progress), 0, 1, -1, 0, "boolean",
    "on if stderr is a terminal", "a progress line on stderr every half second", 0 },
  { "user_agent", KNOB_SPECIAL, KF_OPTION, OPT(user_agent), 0, 0, 0, 0, "text",
    "apifetch/" APIFETCH_VERSION, "the User-Agent header", KS_USER_AGENT },
  { "ca_file", KNOB_TEXT, KF_OPTION, OPT(ca_file), 0, 0, 0, 0, "text", "the system's store",
    "a PEM file of CA certificates to verify TLS against", 0 },
  { "cache", KNOB_SPECIAL, KF_OPTION, OPT(zCache), 0, 0, 0, 0, "text or null", "none",
    "keep responses in this SQLite file (or \":memory:\", for the connection's life)", KS_CACHE },
  { "cache_mode", KNOB_CHOICE, KF_OPTION, OPT(eCacheMode), 0, 3, CM_HTTP,
    "http ttl refresh offline", "\"http\", \"ttl\", \"refresh\" or \"offline\"", 0,
    "http: as the server's caching headers say; ttl: fresh for cache_ttl_ms whatever "
    "they say; refresh: always ask the server; offline: never", 0 },
  { "cache_ttl_ms", KNOB_INT, KF_OPTION, OPT(cacheTtlMs), 0, BIG, 3600000, 0, "integer", 0,
    "cache_mode ttl: how long a stored response is used without asking", 0 },
  { "cache_stale_ms", KNOB_INT, KF_OPTION, OPT(cacheStaleMs), 0, BIG, 0, 0, "integer", 0,
    "when a fetch fails, a stored copy stale by no more than this is given instead", 0 },
  { "cache_max_bytes", KNOB_INT, KF_OPTION, OPT(cacheMaxBytes), 0, BIG, (sqlite3_int64)1<<30,
    0, "integer", 0, "bodies the cache keeps at most; least recently used go first (0: no cap)",
    0 },
  { "cache_post", KNOB_BOOL, KF_OPTION, OPT(bCachePost), 0, 1, 0, 0, "boolean", 0,
    "a POST may be cached and answered from the cache, keyed by its body (GraphQL reads)", 0 },
  { "cache_statuses", KNOB_CHOICE, KF_OPTION, OPT(eCacheStatuses), 0, 1, CS_RFC, "rfc 2xx",
    "\"rfc\" or \"2xx\"", 0, "rfc: a 404, 410, 301... may be stored as RFC 9111 allows "
    "(never a 5xx but 501, nor a status retried); 2xx: only 2xx", 0 },
  { "request_log", KNOB_SPECIAL, KF_OPTION, OPT(zReqLog), 0, 0, 0, 0,
    "\"[schema.]table\", \"file:PATH\" or null", "none",
    "a row per attempt (URL, status, phase times, bytes, cache, error) into this table, "
    "made if missing, or into table api_requests of a file", KS_REQUEST_LOG },
  { "headers", KNOB_SPECIAL, KF_OPTION, OPT(azHeader), 0, 0, 0, 0, "object", "none",
    "headers sent with every request (values may be ${env:NAME})", KS_HEADERS },
  { "format", KNOB_CHOICE, KF_OPTION, OPT(eFormat), 0, 4, FMT_JSON, "json ndjson text blob auto",
    "\"json\", \"ndjson\", \"text\", \"blob\" or \"auto\"", 0,
    "how a body becomes records: JSON, a record a line (streamed), one TEXT or BLOB; "
    "auto: by Content-Type", 0 },
  { "record_path", KNOB_PATH, KF_OPTION, OPT(recordPath), 0, 0, 0, 0, "\"a.b\" or [\"a\", \"b\"]",
    "none", "where the array of records is in each response", 0 },
  { "paginate", KNOB_SPECIAL, KF_OPTION, OPT(paginate), 0, 0, 0, 0, "object", "none",
    "follow each URL's collection across pages (the paginate keys)", KS_PAGINATE },
  { "bearer", KNOB_SPECIAL, KF_OPTION, OPT(zBearer), 0, 0, 0, 0, "text", "none",
    "Authorization: Bearer ..., to the origin asked only (may be ${env:NAME})", KS_BEARER },
  { "basic", KNOB_SPECIAL, KF_OPTION, OPT(zBasic), 0, 0, 0, 0, "text", "none",
    "\"user:password\" for Basic auth, to the origin asked only (may be ${env:NAME})", KS_BASIC },
  { "oauth2", KNOB_SPECIAL, KF_OPTION, OPT(oauth2), 0, 0, 0, 0, "object", "none",
    "OAuth2 client credentials: {token_url, client_id, client_secret, scope, audience, "
    "auth}; the token is sent as a bearer, to the origin asked only", KS_OAUTH2 },
  { "proxy", KNOB_SPECIAL, KF_OPTION, OPT(zProxy), 0, 0, 0, 0, "text", "the environment's",
    "send requests through this http://, https://, socks5:// or socks5h:// proxy (may be "
    "${env:NAME}); \"\": none, whatever the environment says", KS_PROXY },
  { "no_proxy", KNOB_SPECIAL, KF_OPTION, OPT(zNoProxy), 0, 0, 0, 0, "text", "the environment's",
    "hosts reached without the proxy: comma-separated names, domains, addresses", KS_NO_PROXY },
  { "url_template", KNOB_TEXT, KF_OPTION, OPT(zUrlTemplate), 0, 0, 0, 0, "text", "none",
    "items are objects of parameters that fill its {name} placeholders", 0 },
  { "base_url", KNOB_SPECIAL, KF_OPTION, OPT(zBaseUrl), 0, 0, 0, 0, "text", "none",
    "relative URLs (no scheme) are resolved against it", KS_BASE_URL },
  { "query", KNOB_SPECIAL, KF_OPTION, OPT(azQuery), 0, 0, 0, 0, "object", "none",
    "parameters added to every URL (values may be ${env:NAME})", KS_QUERY },
  { "profile", KNOB_SPECIAL, KF_OPTION, NONE, 0, 0, 0, 0, "text", "none",
    "start from the options stored under this name (api_fetch_profile)", KS_PROFILE },
  { "shard", KNOB_SPECIAL, KF_OPTION, OPT(shard), 0, 0, 0, 0, "\"k/n\" or null", "none",
    "fetch only the starting URLs whose url_index % n is k, and their pages", KS_SHARD },

  /* The keys of the paginate option's object. */
  { "type", KNOB_SPECIAL, KF_PAGINATE, PAG(pKind), 0, 0, 0, 0,
    "\"page\", \"offset\", \"cursor\", \"next\", \"link\" or \"graphql\"", "required",
    "how the next page is found", KS_PAGE_TYPE },
  { "param", KNOB_TEXT, KF_PAGINATE, PAG(zParam), 0, 0, 0, 0, "text",
    "page, offset, cursor; graphql: after",
    "the query parameter that names the page (graphql: the variable)", 0 },
  { "start", KNOB_INT, KF_PAGINATE, PAG(iStart), 0, 1000000000000LL, -1, 0, "integer",
    "1 (page), 0 (offset)", "the first page number or offset", 0 },
  { "per_page", KNOB_INT, KF_PAGINATE, PAG(nPerPage), 0, 1000000000000LL, 0, 0, "integer",
    "none", "items a page", 0 },
  { "size_param", KNOB_TEXT, KF_PAGINATE, PAG(zSizeParam), 0, 0, 0, 0, "text", "none",
    "the query parameter that sends per_page", 0 },
  { "total_pages", KNOB_PATH, KF_PAGINATE, PAG(totalPages), 0, 0, 0, 0, "path", "none",
    "where the first page says how many pages there are", 0 },
  { "total_items", KNOB_PATH, KF_PAGINATE, PAG(totalItems), 0, 0, 0, 0, "path", "none",
    "where the first page says how many items there are (with per_page)", 0 },
  { "total_header", KNOB_TEXT, KF_PAGINATE, PAG(zTotalHeader), 0, 0, 0, 0, "text", "none",
    "the header that says how many items there are (with per_page)", 0 },
  { "last_link", KNOB_BOOL, KF_PAGINATE, PAG(bLastLink), 0, 1, 0, 0, "boolean", 0,
    "the Link header's rel=\"last\" URL gives the number of pages", 0 },
  { "cursor_path", KNOB_PATH, KF_PAGINATE, PAG(cursor), 0, 0, 0, 0, "path", "none",
    "where the body has the next cursor", 0 },
  { "next_path", KNOB_PATH, KF_PAGINATE, PAG(next), 0, 0, 0, 0, "path", "none",
    "where the body has the next page's URL", 0 },
  { "page_info", KNOB_PATH, KF_PAGINATE, PAG(pageInfo), 0, 0, 0, 0, "path", "none",
    "graphql: where the body has the Relay pageInfo {hasNextPage endCursor}", 0 },
  { "body_path", KNOB_PATH, KF_PAGINATE, PAG(body), 0, 0, 0, 0, "path",
    "none; graphql: variables.<param>",
    "where the page, offset or cursor goes in the JSON request body, not on the URL", 0 },
  { "max_pages", KNOB_INT, KF_PAGINATE, PAG(nMaxPages), 1, 1000000, 1000, 0, "integer", 0,
    "pages per starting URL at most", 0 },

  /* Settings of api_fetch_config() and APIFETCH_CONFIG. */
  { "disabled", KNOB_BOOL, KF_CONFIG, CFG(bDisabled), 0, 1, 0, 0, "boolean", 0,
    "api_fetch refuses to run on this connection", 0 },
  { "allow_hosts", KNOB_SPECIAL, KF_CONFIG, CFG(azAllowHost), 0, 0, 0, 0, "array", "null (any)",
    "the hosts that may be fetched: host (ports 80, 443), host:port, host:*", KS_ALLOW_HOSTS },
  { "block_private", KNOB_BOOL, KF_CONFIG, CFG(bBlockPrivate), 0, 1, 0, 0, "boolean", 0,
    "only globally reachable addresses may be connected to", 0 },
  { "max_requests", KNOB_INT, KF_CONFIG, CFG(maxRequests), 0, BIG, 0, 0, "integer",
    "0 (none)", "requests per statement, retries and redirects included", 0 },
  { "max_total_bytes", KNOB_INT, KF_CONFIG, CFG(maxTotalBytes), 0, BIG, 0, 0, "integer",
    "0 (none)", "body bytes per statement", 0 },
  { "max_query_ms", KNOB_INT, KF_CONFIG, CFG(maxQueryMs), 0, BIG, 0, 0, "integer", "0 (none)",
    "time per statement", 0 },
  { "max_concurrency", KNOB_INT, KF_CONFIG, CFG(maxConcurrency), 0, APIFETCH_MAX_CONCURRENCY,
    0, 0, "integer", "0 (no cap)", "transfers in flight at once in any query", 0 },
  { "allow_env", KNOB_SPECIAL, KF_CONFIG, CFG(azAllowEnv), 0, 0, 0, 0, "array",
    "null (any, none once locked)", "the environment variables ${env:NAME} may read",
    KS_ALLOW_ENV },
  { "ca_file", KNOB_SPECIAL, KF_CONFIG, CFG(zCaFile), 0, 0, 0, 0, "text", "null",
    "a CA file for queries that name none; once locked, queries may not name one", KS_CA_FILE },
  { "defaults", KNOB_SPECIAL, KF_CONFIG, NONE, 0, 0, 0, 0, "object", "none",
    "options every query starts from, like a profile (a cache, say); once locked, no "
    "query may name another cache", KS_DEFAULTS },
  { "profiles", KNOB_SPECIAL, KF_CONFIG, NONE, 0, 0, 0, 0, "object", "none",
    "named options objects: {\"name\": {options}, ...}", KS_PROFILES },
  { "lock", KNOB_BOOL, KF_CONFIG, CFG(bLocked), 0, 1, 0, 0, "boolean", 0,
    "no change from SQL on this connection any more, profiles included", 0 },
};
const int nKnob = ArraySize(aKnob);

const Knob *knob_find(const char *zName, int mFace){
  int i;
  for(i=0; i<nKnob; i++){
    if( (aKnob[i].mFace & mFace) && strcmp(aKnob[i].zName, zName)==0 ) return &aKnob[i];
  }
  return 0;
}

/* Levenshtein distance of a and b, at most 9 (enough to tell "close"). */
static int distance(const char *a, const char *b){
  int aRow[64], i, j, n = (int)strlen(b);
  if( n>=64 || strlen(a)>=64 ) return 9;
  for(j=0; j<=n; j++) aRow[j] = j;
  for(i=1; a[i-1]; i++){
    int prev = aRow[0];
    aRow[0] = i;
    for(j=1; j<=n; j++){
      int cur = aRow[j];
      int d = prev + (a[i-1]!=b[j-1]);
      if( aRow[j]+1<d ) d = aRow[j]+1;
      if( aRow[j-1]+1<d ) d = aRow[j-1]+1;
      aRow[j] = d;
      prev = cur;
    }
  }
  return aRow[n]>9 ? 9 : aRow[n];
}

/* The name of a knob of mFace close to zName (a typo), or NULL. */
static const char *knob_suggest(const char *zName, int mFace){
  const char *zBest = 0;
  int i, dBest = 3;                       /* closer than 3 edits, or a prefix */
  size_t n = strlen(zName);
  for(i=0; i<nKnob; i++){
    int d;
    if( (aKnob[i].mFace & mFace)==0 ) continue;
    d = distance(zName, aKnob[i].zName);
    if( n>=4 && strncmp(aKnob[i].zName, zName, n)==0 ) d = 1;   /* "timeout" */
    if( d<dBest ){ dBest = d; zBest = aKnob[i].zName; }
  }
  return zBest;
}

/* "a, b, c": the names of mFace (sqlite3_malloc'd). */
static char *knob_list(int mFace){
  char *z = sqlite3_mprintf("");
  int i;
  for(i=0; z && i<nKnob; i++){
    char *zNew;
    if( (aKnob[i].mFace & mFace)==0 ) continue;
    zNew = sqlite3_mprintf("%s%s%s", z, z[0] ? ", " : "", aKnob[i].zName);
    sqlite3_free(z);
    z = zNew;
  }
  return z;
}

char *knob_unknown(const char *zWhat, const char *zName, int mFace){
  const char *zNear = knob_suggest(zName, mFace);
  char *zKnown = knob_list(mFace), *z;
  if( zKnown==0 ) return 0;
  z = zNear ? sqlite3_mprintf("%s \"%s\"; did you mean \"%s\"? (known: %s)", zWhat, zName,
                              zNear, zKnown)
            : sqlite3_mprintf("%s \"%s\" (known: %s)", zWhat, zName, zKnown);
  sqlite3_free(zKnown);
  return z;
}

/**************************************************************************
** Reading a value into a knob's field.  zWhat names where it was given,
** for messages: "api_fetch: option", "api_fetch: paginate",
** "api_fetch_config:".
*/
static const char *json_kind(const cJSON *v){
  if( cJSON_IsString(v) ) return "a string";
  if( cJSON_IsNumber(v) ) return "a number";
  if( cJSON_IsBool(v) ) return "a boolean";
  if( cJSON_IsNull(v) ) return "null";
  if( cJSON_IsArray(v) ) return "an array";
  return "an object";
}
const char *knob_json_kind(const cJSON *v){ return json_kind(v); }

void knob_store_int(void *pBase, const Knob *k, sqlite3_int64 x){
  char *p = (char*)pBase + k->iOffset;
  assert( k->nSize==sizeof(int) || k->nSize==sizeof(sqlite3_int64) );
  if( k->nSize==sizeof(sqlite3_int64) ) *(sqlite3_int64*)p = x; else *(int*)p = (int)x;
}

/* "\"row\", \"skip\" or \"fail\"" from "row skip fail". */
static char *choice_list(const char *zWords){
  char *z = sqlite3_mprintf("");
  const char *s = zWords;
  while( z && *s ){
    size_t n = strcspn(s, " ");
    const char *zNext = s[n] ? s+n+1 : s+n;
    char *zNew = sqlite3_mprintf("%s%s\"%.*s\"", z, z[0]==0 ? "" : *zNext ? ", " : " or ",
                                 (int)n, s);
    sqlite3_free(z);
    z = zNew;
    s = zNext;
  }
  return z;
}

/* The index of zWord in the knob's words, or -1. */
int knob_choice(const Knob *k, const char *zWord){
  const char *s = k->zWords;
  int i = 0;
  while( *s ){
    size_t n = strcspn(s, " ");
    if( strlen(zWord)==n && strncmp(s, zWord, n)==0 ) return i;
    s += n + (s[n]!=0);
    i++;
  }
  return -1;
}

/* "data.items", or ["data", "items"] for keys that hold dots. */
static int knob_read_path(KeyPath *pPath, const Knob *k, const cJSON *v, const char *zWhat,
                          char **pzErr){
  KeyPath path = { 0, 0 };
  const cJSON *e;
  if( cJSON_IsString(v) ){
    int rc;
    if( v->valuestring[0]==0 ){ keypath_clear(pPath); return SQLITE_OK; }
    rc = path_split(v->valuestring, &path.az, &path.n);
    if( rc==SQLITE_ERROR ){
      *pzErr = sqlite3_mprintf("%s %s \"%s\" has an empty key", zWhat, k->zName,
                               v->valuestring);
    }
    if( rc ) return rc;
  }else if( cJSON_IsArray(v) ){
    path.az = sqlite3_malloc64(sizeof(char*)*(size_t)(cJSON_GetArraySize(v)+1));
    if( path.az==0 ) return SQLITE_NOMEM;
    cJSON_ArrayForEach(e, v){
      if( !cJSON_IsString(e) ){
        *pzErr = sqlite3_mprintf("%s %s item %d must be a string, got %s", zWhat,
                                 k->zName, path.n, json_kind(e));
        keypath_clear(&path);
        return SQLITE_ERROR;
      }
      path.az[path.n] = sqlite3_mprintf("%s", e->valuestring);
      if( path.az[path.n]==0 ){ keypath_clear(&path); return SQLITE_NOMEM; }
      path.n++;
    }
  }else{
    *pzErr = sqlite3_mprintf("%s %s must be a path such as \"data.items\" or an array of "
                             "keys, got %s", zWhat, k->zName, json_kind(v));
    return SQLITE_ERROR;
  }
  if( path.n>APIFETCH_MAX_PATH ){
    *pzErr = sqlite3_mprintf("%s %s has %d keys; at most %d", zWhat, k->zName, path.n,
                             APIFETCH_MAX_PATH);
    keypath_clear(&path);
    return SQLITE_ERROR;
  }
  keypath_clear(pPath);
  *pPath = path;
  return SQLITE_OK;
}

int knob_set_json(void *pBase, const Knob *k, const cJSON *v, const char *zWhat,
                  char **pzErr){
  char *pField = (char*)pBase + k->iOffset;
  double d = v->valuedouble;
  switch( k->eKind ){
    case KNOB_INT:
      if( cJSON_IsNumber(v) && (d<(double)k->iMin || d>(double)k->iMax) ){
        /* Checked as a double first: casting 1e300 to an integer is undefined. */
        *pzErr = sqlite3_mprintf("%s %s must be between %lld and %lld, got %g",
                                 zWhat, k->zName, k->iMin, k->iMax, d);
        return SQLITE_ERROR;
      }
      if( !cJSON_IsNumber(v) || d!=(double)(sqlite3_int64)d ){
        *pzErr = sqlite3_mprintf("%s %s must be an integer, got %s", zWhat, k->zName,
                                 cJSON_IsNumber(v) ? "a fraction" : json_kind(v));
        return SQLITE_ERROR;
      }
      knob_store_int(pBase, k, (sqlite3_int64)d);
      return SQLITE_OK;
    case KNOB_REAL:
      if( !cJSON_IsNumber(v) || d<(double)k->iMin || d>(double)k->iMax ){
        *pzErr = sqlite3_mprintf("%s %s must be a number between %lld and %lld, got %s",
                                 zWhat, k->zName, k->iMin, k->iMax,
                                 cJSON_IsNumber(v) ? "one out of range" : json_kind(v));
        return SQLITE_ERROR;
      }
      assert( k->nSize==sizeof(double) );
      *(double*)pField = d;
      return SQLITE_OK;
    case KNOB_BOOL:
      /* 0 and 1 too: what SQL's own booleans look like in JSON. */
      if( !cJSON_IsBool(v) && !(cJSON_IsNumber(v) && (d==0 || d==1)) ){
        *pzErr = sqlite3_mprintf("%s %s must be true or false, got %s", zWhat, k->zName,
                                 json_kind(v));
        return SQLITE_ERROR;
      }
      knob_store_int(pBase, k, cJSON_IsBool(v) ? cJSON_IsTrue(v) : d==1);
      return SQLITE_OK;
    case KNOB_CHOICE: {
      int i = cJSON_IsString(v) ? knob_choice(k, v->valuestring) : -1;
      char *zList;
      if( i>=0 ){ knob_store_int(pBase, k, i); return SQLITE_OK; }
      zList = choice_list(k->zWords);
      if( zList==0 ) return SQLITE_NOMEM;
      *pzErr = sqlite3_mprintf("%s %s must be %s, got %s%s%s", zWhat, k->zName, zList,
                               cJSON_IsString(v) ? "\"" : "",
                               cJSON_IsString(v) ? v->valuestring : json_kind(v),
                               cJSON_IsString(v) ? "\"" : "");
      sqlite3_free(zList);
      return SQLITE_ERROR;
    }
    case KNOB_TEXT: {
      char **pz = (char**)pField;
      if( !cJSON_IsString(v) ){
        *pzErr = sqlite3_mprintf("%s %s must be a string, got %s", zWhat, k->zName,
                                 json_kind(v));
        return SQLITE_ERROR;
      }
      sqlite3_free(*pz);
      *pz = sqlite3_mprintf("%s", v->valuestring);
      return *pz ? SQLITE_OK : SQLITE_NOMEM;
    }
    case KNOB_PATH:
      return knob_read_path((KeyPath*)pField, k, v, zWhat, pzErr);
  }
  assert( 0 );                    /* KNOB_SPECIAL is the owner's to read */
  return SQLITE_ERROR;
}

void knob_defaults(void *pBase, int mFace){
  int i;
  for(i=0; i<nKnob; i++){
    const Knob *k = &aKnob[i];
    if( (k->mFace & mFace)==0 || k->nSize==0 ) continue;
    if( k->eKind==KNOB_INT || k->eKind==KNOB_BOOL || k->eKind==KNOB_CHOICE ){
      knob_store_int(pBase, k, k->iDefault);
    }
  }
}
