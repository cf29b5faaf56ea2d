/*
** unit.c - direct tests of apifetch's pure functions (no network): the JSON
** scanner and records, retry policy, Retry-After, the token bucket, option
** and url_list parsing.  Built by `make tests/unit` against the real SQLite
** library; run by tests/run.py, which counts each "PASS name" / "FAIL name"
** line as one test.
*/
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "apifetch.h"

static int nFail;           /* Failed checks in the current test */

#define CHECK(cond) do{ if(!(cond)){ \
  printf("  check failed at line %d: %s\n", __LINE__, #cond); nFail++; } }while(0)

static void run(const char *zName, void (*x)(void)){
  nFail = 0;
  x();
  printf("%s %s\n", nFail ? "FAIL" : "PASS", zName);
}

static int valid(const char *z){
  JsonError e;
  return json_validate(z, strlen(z), APIFETCH_JSON_MAX_DEPTH, &e)==0;
}

static const char *why(const char *z){
  JsonError e;
  if( json_validate(z, strlen(z), APIFETCH_JSON_MAX_DEPTH, &e)==0 ) return "ok";
  return e.zWhat;
}

static void test_json_validate(void){
  static const char *azGood[] = {
    "0", "-0", "1.5e-3", "-12.25E+10", "\"\"", "true", "false", "null",
    "[]", "{}", " [ 1 , 2 ] ", "{\"a\":[{\"b\":null}]}",
    "\"\\u00e9\\n\\\"\\/\"", "\"h\xC3\xA9llo \xF0\x9F\x98\x80\"",
    "\xEF\xBB\xBF{}", "[[[[[[[[[[]]]]]]]]]]", "{\"a\":1,\"a\":2}",
  };
  static const char *azBad[] = {
    "", " ", "01", "1.", ".5", "-", "1e", "+1", "[1,]", "[,1]", "{\"a\"}",
    "{\"a\":}", "{a:1}", "[1 2]", "{\"a\":1,}", "\"abc", "\"\\x\"",
    "\"\\u12G4\"", "tru", "nul", "[1]]", "[1] x", "\"\x01\"", "NaN",
    "\"\xC0\xAF\"", "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\"\xFF\"",
    "\"\xE2\x82\"", "{\"a\":1", "[",
  };
  size_t i;
  for(i=0; i<sizeof(azGood)/sizeof(azGood[0]); i++){
    if( !valid(azGood[i]) ){ printf("  should be valid: %s (%s)\n", azGood[i], why(azGood[i])); nFail++; }
  }
  for(i=0; i<sizeof(azBad)/sizeof(azBad[0]); i++){
    if( valid(azBad[i]) ){ printf("  should be invalid: %s\n", azBad[i]); nFail++; }
  }
  CHECK( strcmp(why("[1,]"), "expected a JSON value")==0 );
  CHECK( strcmp(why("\"\xFF\""), "invalid UTF-8")==0 );
  CHECK( strcmp(why("[1] x"), "trailing characters after JSON")==0 );
}

/* 100,000 levels of nesting: rejected by depth, without deep recursion. */
static void test_json_deep(void){
  size_t n = 200000, i;
  char *z = malloc(n+1);
  JsonError e;
  for(i=0; i<n/2; i++){ z[i] = '['; z[n-1-i] = ']'; }
  z[n] = 0;
  CHECK( json_validate(z, n, APIFETCH_JSON_MAX_DEPTH, &e)==1 );
  CHECK( strcmp(e.zWhat, "nested too deeply")==0 );
  CHECK( e.offset==APIFETCH_JSON_MAX_DEPTH );
  /* Exactly the limit is fine. */
  CHECK( json_validate(z + n/2 - 1000, 2000, 1000, &e)==0 );
  free(z);
}

static int count_records(const char *z, const char *zPath, char *zOut, size_t nOut){
  RecordIter it;
  JsonSpan rec;
  char *az[4];
  char buf[64];
  int nPath = 0, n = 0;
  char *zWhy = 0;
  if( zPath ){
    char *p;
    strcpy(buf, zPath);
    az[nPath++] = buf;
    for(p=buf; *p; p++) if( *p=='.' ){ *p = 0; az[nPath++] = p+1; }
  }
  if( records_begin(&it, json_root(z, strlen(z)), az, nPath, &zWhy) ){
    snprintf(zOut, nOut, "error: %s", zWhy ? zWhy : "?");
    sqlite3_free(zWhy);
    return -1;
  }
  zOut[0] = 0;
  while( records_next(&it, &rec) ){
    size_t len = strlen(zOut);
    snprintf(zOut+len, nOut-len, "%s%.*s", n ? "|" : "", (int)rec.n, rec.z);
    n++;
  }
  return n;
}

static void test_records(void){
  char out[256];
  CHECK( count_records("[1, {\"a\": 2} ,\"x\"]", 0, out, sizeof(out))==3 );
  CHECK( strcmp(out, "1|{\"a\": 2}|\"x\"")==0 );
  CHECK( count_records(" {\"a\":1} ", 0, out, sizeof(out))==1 && strcmp(out, "{\"a\":1}")==0 );
  CHECK( count_records("[]", 0, out, sizeof(out))==0 );
  CHECK( count_records("42", 0, out, sizeof(out))==1 && strcmp(out, "42")==0 );
  CHECK( count_records("{\"data\":{\"items\":[{\"id\":1},{\"id\":2}]}}", "data.items", out, sizeof(out))==2 );
  CHECK( strcmp(out, "{\"id\":1}|{\"id\":2}")==0 );
  CHECK( count_records("{\"data\":{\"items\":null}}", "data.items", out, sizeof(out))==0 );
  CHECK( count_records("{\"data\":{\"items\":{}}}", "data.items", out, sizeof(out))==-1 );
  CHECK( strstr(out, "record_path: \"items\" is an object, not an array")!=0 );
  CHECK( count_records("{\"data\":{}}", "data.items", out, sizeof(out))==-1 );
  CHECK( strstr(out, "not found")!=0 );
  /* A top-level array: the path is followed in each element. */
  CHECK( count_records("[{\"r\":[1,2]},{\"r\":[]},{\"r\":[3]}]", "r", out, sizeof(out))==3 );
  CHECK( strcmp(out, "1|2|3")==0 );
  CHECK( count_records("[{\"r\":[1]},{\"x\":1}]", "r", out, sizeof(out))==-1 );
  CHECK( strstr(out, "record_path: key \"r\" not found")!=0 );
  /* Through an array on the way: the items of every group (json_normalize). */
  CHECK( count_records("{\"g\":[{\"i\":[1,2]},{\"i\":null},{\"i\":[3]}]}", "g.i", out, sizeof(out))==3 );
  CHECK( strcmp(out, "1|2|3")==0 );
  CHECK( count_records("{\"g\":[{\"i\":[1]},4]}", "g.i", out, sizeof(out))==-1 );
  CHECK( strstr(out, "an element of \"g\" is a number, not an object")!=0 );
  CHECK( count_records("{\"g\":null}", "g.i", out, sizeof(out))==-1 );
  CHECK( strstr(out, "\"g\" is null, not an object or array")!=0 );
  /* Escaped keys match their decoded form; the last duplicate wins. */
  CHECK( count_records("{\"d\\u0061ta\":[7]}", "data", out, sizeof(out))==1 );
  CHECK( count_records("{\"a\":[1],\"a\":[2,3]}", "a", out, sizeof(out))==2 );
  /* Exact numbers: the span is the original text. */
  CHECK( count_records("[9007199254740993, 1234567890123456789012]", 0, out, sizeof(out))==2 );
  CHECK( strcmp(out, "9007199254740993|1234567890123456789012")==0 );
}

static void test_string_decode(void){
  const char *z = "\"a\\u00e9\\ud83d\\ude00\\n\\\\\"";
  JsonSpan s = { z, strlen(z) };
  int bNul;
  char *d = json_string_decode(s, &bNul);
  CHECK( d && strcmp(d, "a\xC3\xA9\xF0\x9F\x98\x80\n\\")==0 );
  sqlite3_free(d);
  s.z = "\"x\\u0000y\""; s.n = strlen(s.z);
  d = json_string_decode(s, &bNul);
  CHECK( d==0 && bNul==1 );
  CHECK( json_string_eq((JsonSpan){"\"\\u0061b\"", 9}, "ab", 2) );
  CHECK( !json_string_eq((JsonSpan){"\"\\u0061b\"", 9}, "abc", 3) );
  CHECK( !json_string_eq((JsonSpan){"\"ab\"", 4}, "a", 1) );
}

static void test_policy_retryable(void){
  static const long aYes[] = { 408, 425, 429, 500, 502, 503, 504 };
  static const long aNo[] = { 200, 301, 400, 401, 403, 404, 409, 422, 501, 505 };
  size_t i;
  for(i=0; i<sizeof(aYes)/sizeof(aYes[0]); i++) CHECK( policy_status_retryable(aYes[i]) );
  for(i=0; i<sizeof(aNo)/sizeof(aNo[0]); i++) CHECK( !policy_status_retryable(aNo[i]) );
  CHECK( policy_curlcode_retryable(CURLE_COULDNT_CONNECT) );
  CHECK( policy_curlcode_retryable(CURLE_OPERATION_TIMEDOUT) );
  CHECK( policy_curlcode_retryable(CURLE_RECV_ERROR) );
  CHECK( policy_curlcode_retryable(CURLE_PARTIAL_FILE) );
  CHECK( !policy_curlcode_retryable(CURLE_PEER_FAILED_VERIFICATION) );
  CHECK( !policy_curlcode_retryable(CURLE_UNSUPPORTED_PROTOCOL) );
  CHECK( !policy_curlcode_retryable(CURLE_FILESIZE_EXCEEDED) );
  CHECK( !policy_curlcode_retryable(CURLE_TOO_MANY_REDIRECTS) );
  CHECK( policy_method_idempotent(0) );
  CHECK( policy_method_idempotent("GET") && policy_method_idempotent("PUT")
         && policy_method_idempotent("DELETE") && policy_method_idempotent("HEAD") );
  CHECK( !policy_method_idempotent("POST") && !policy_method_idempotent("PATCH") );
  CHECK( policy_curlcode_unsent(CURLE_COULDNT_CONNECT) );
  CHECK( !policy_curlcode_unsent(CURLE_RECV_ERROR) );
}

static void test_policy_backoff(void){
  uint64_t s = 12345;
  int retry, k;
  sqlite3_int64 maxSeen[6] = {0};
  for(retry=1; retry<=5; retry++){
    sqlite3_int64 ceiling = 100LL << (retry-1);
    if( ceiling>1000 ) ceiling = 1000;
    for(k=0; k<2000; k++){
      sqlite3_int64 d = policy_backoff_ms(retry, 100, 1000, policy_random(&s));
      CHECK( d>=0 && d<=ceiling );
      if( d>maxSeen[retry] ) maxSeen[retry] = d;
    }
    /* Full jitter spreads over the whole range [0, ceiling]. */
    CHECK( maxSeen[retry] > ceiling*9/10 );
  }
  CHECK( policy_backoff_ms(60, 100, 5000, ~0ull) <= 5000 );   /* no overflow */
  CHECK( policy_backoff_ms(1, 0, 0, 77)==0 );
}

static void test_retry_after(void){
  sqlite3_int64 now = 784111777;   /* Sun, 06 Nov 1994 08:49:37 GMT */
  CHECK( policy_retry_after_ms("120", now)==120000 );
  CHECK( policy_retry_after_ms(" 0 ", now)==0 );
  CHECK( policy_retry_after_ms("Sun, 06 Nov 1994 08:49:47 GMT", now)==10000 );
  CHECK( policy_retry_after_ms("Sunday, 06-Nov-94 08:49:57 GMT", now)==20000 ); /* RFC 850 */
  CHECK( policy_retry_after_ms("Sun Nov  6 08:50:37 1994", now)==60000 );      /* asctime */
  CHECK( policy_retry_after_ms("Sun, 06 Nov 1994 08:00:00 GMT", now)==0 );     /* past */
  CHECK( policy_retry_after_ms("-5", now)==-1 );
  CHECK( policy_retry_after_ms("12abc", now)==-1 );
  CHECK( policy_retry_after_ms("soon", now)==-1 );
  CHECK( policy_retry_after_ms("", now)==-1 );
  CHECK( policy_retry_after_ms("99999999999999999999", now)>=1000000000LL*1000 );
}

static void test_bucket(void){
  TokenBucket b;
  int i, nTaken = 0;
  sqlite3_int64 t;
  bucket_init(&b, 10, 3, 1000);           /* 10/s, burst 3 */
  for(i=0; i<3; i++) CHECK( bucket_take(&b, 1000)==0 );
  CHECK( bucket_take(&b, 1000)==100 );    /* next token in 100 ms */
  CHECK( bucket_take(&b, 1050)==50 );
  CHECK( bucket_take(&b, 1100)==0 );
  /* Over 10 s at most burst + rate*10 tokens. */
  bucket_init(&b, 10, 3, 0);
  for(t=0; t<=10000; t++) while( bucket_take(&b, t)==0 ) nTaken++;
  CHECK( nTaken==3+100 );
  bucket_init(&b, 0, 1, 0);
  for(i=0; i<1000; i++) CHECK( bucket_take(&b, 0)==0 );   /* unlimited */
  /* A rate near 0 waits (about forever), it does not turn the limit off. */
  bucket_init(&b, 1e-300, 1, 0);
  CHECK( bucket_take(&b, 0)==0 );
  CHECK( bucket_take(&b, 0)>=1000000000000LL );
}

static int opt_error(const char *zJson, const char *zExpect){
  Options o;
  char *zErr = 0;
  int ok;
  options_init(&o);
  ok = options_parse(&o, zJson, &zErr)!=SQLITE_OK && zErr && strstr(zErr, zExpect);
  if( !ok ) printf("  options %s: got \"%s\", expected \"%s\"\n", zJson, zErr ? zErr : "no error", zExpect);
  sqlite3_free(zErr);
  options_clear(&o);
  return ok;
}

static void test_options(void){
  Options o;
  char *zErr = 0;
  options_init(&o);
  CHECK( options_parse(&o, "{\"timeout_ms\":500,\"rate\":2.5,\"on_error\":\"skip\","
         "\"record_path\":\"a.b\",\"headers\":{\"X-A\":\"1\",\"X-E\":\"\"},"
         "\"retry_unsafe\":true}", &zErr)==SQLITE_OK );
  CHECK( o.timeout_ms==500 && o.rate==2.5 && o.on_error==ON_ERROR_SKIP && o.retry_unsafe );
  CHECK( o.nRecordPath==2 && strcmp(o.azRecordPath[1], "b")==0 );
  CHECK( o.nHeader==2 && strcmp(o.azHeader[0], "X-A: 1")==0 && strcmp(o.azHeader[1], "X-E;")==0 );
  options_clear(&o);
  CHECK( opt_error("[1]", "options must be a JSON object, got an array") );
  CHECK( opt_error("{", "options must be a JSON object, got invalid JSON") );
  CHECK( opt_error("{\"nope\":1}", "unknown option \"nope\"") );
  CHECK( opt_error("{\"timeout_ms\":\"5\"}", "option timeout_ms must be an integer, got a string") );
  CHECK( opt_error("{\"timeout_ms\":1.5}", "option timeout_ms must be an integer, got a fraction") );
  CHECK( opt_error("{\"timeout_ms\":0}", "option timeout_ms must be between 1 and") );
  CHECK( opt_error("{\"max_attempts\":1000}", "option max_attempts must be between 1 and 100, got 1000") );
  CHECK( opt_error("{\"on_error\":\"ignore\"}", "on_error must be \"row\", \"skip\" or \"fail\", got \"ignore\"") );
  CHECK( opt_error("{\"rate\":-1}", "option rate must be a number") );
  CHECK( opt_error("{\"headers\":[1]}", "option headers must be an object") );
  CHECK( opt_error("{\"headers\":{\"X\":1}}", "header \"X\" must be a string") );
  CHECK( opt_error("{\"headers\":{\"X\":\"a\\r\\nEvil: 1\"}}", "is not a valid header") );
  CHECK( opt_error("{\"headers\":{\"Bad Name\":\"1\"}}", "is not a valid header") );
  CHECK( opt_error("{\"record_path\":\"a..b\"}", "record_path \"a..b\" has an empty key") );
  CHECK( opt_error("{\"record_path\":5}", "record_path must be a string or an array") );
  CHECK( opt_error("{\"retry_unsafe\":1}", "retry_unsafe must be true or false") );
  CHECK( opt_error("{\"timeout_ms\":1,\"timeout_ms\":2}", "option timeout_ms is given twice") );
  CHECK( opt_error("{\"retry_base_ms\":500,\"retry_max_ms\":100}", "retry_max_ms (100) is less than retry_base_ms (500)") );
}

static int list_error(const char *zList, const char *zExpect){
  UrlList l;
  Options o;
  char *zErr = 0;
  int ok;
  options_init(&o);
  ok = urllist_open(&l, sqlite3_mprintf("%s", zList), strlen(zList), &o, &zErr)!=SQLITE_OK
       && zErr && strstr(zErr, zExpect);
  if( !ok ) printf("  url_list %s: got \"%s\", expected \"%s\"\n", zList, zErr ? zErr : "no error", zExpect);
  sqlite3_free(zErr);
  urllist_close(&l);
  return ok;
}

static void test_urllist(void){
  UrlList l;
  Options o;
  Request r;
  char *zErr = 0;
  const char *z = "[\"http://a/1\", {\"url\":\"https://b/2\",\"method\":\"post\","
                  "\"headers\":{\"X-T\":\"r\"},\"body\":{\"n\":12345678901234567890}}]";
  options_init(&o);
  o.azHeader = sqlite3_malloc(2*sizeof(char*));
  o.azHeader[0] = sqlite3_mprintf("X-T: o");
  o.azHeader[1] = sqlite3_mprintf("X-O: o");
  o.nHeader = 2;
  CHECK( urllist_open(&l, sqlite3_mprintf("%s", z), strlen(z), &o, &zErr)==SQLITE_OK );
  CHECK( l.nTotal==2 );
  CHECK( urllist_next(&l, &r, &zErr)==1 && strcmp(r.zUrl, "http://a/1")==0 && r.iIndex==0 );
  CHECK( r.pHeaders && strcmp(r.pHeaders->data, "X-T: o")==0 );
  request_clear(&r);
  CHECK( urllist_next(&l, &r, &zErr)==1 && strcmp(r.zUrl, "https://b/2")==0 && r.iIndex==1 );
  CHECK( strcmp(r.zMethod, "POST")==0 );
  CHECK( r.pBody && strcmp(r.pBody, "{\"n\":12345678901234567890}")==0 );
  /* The request's own X-T wins over the option's; X-O is added. */
  {
    struct curl_slist *h;
    int nT = 0, nO = 0, nCT = 0;
    for(h=r.pHeaders; h; h=h->next){
      if( strncmp(h->data, "X-T:", 4)==0 ){ nT++; CHECK( strcmp(h->data, "X-T: r")==0 ); }
      if( strncmp(h->data, "X-O:", 4)==0 ) nO++;
      if( strcmp(h->data, "Content-Type: application/json")==0 ) nCT++;
    }
    CHECK( nT==1 && nO==1 && nCT==1 );
  }
  request_clear(&r);
  CHECK( urllist_next(&l, &r, &zErr)==0 );
  urllist_close(&l);
  options_clear(&o);

  options_init(&o);
  z = "\n  http://a/1  \r\n# comment\n\nhttps://b/2";
  CHECK( urllist_open(&l, sqlite3_mprintf("%s", z), strlen(z), &o, &zErr)==SQLITE_OK );
  CHECK( l.nTotal==2 );
  CHECK( urllist_next(&l, &r, &zErr)==1 && strcmp(r.zUrl, "http://a/1")==0 );
  request_clear(&r);
  CHECK( urllist_next(&l, &r, &zErr)==1 && strcmp(r.zUrl, "https://b/2")==0 && r.iIndex==1 );
  request_clear(&r);
  urllist_close(&l);
  options_clear(&o);

  CHECK( list_error("[\"http://a\", 3]", "url_list item 1: got a number") );
  CHECK( list_error("[null]", "url_list item 0: got null") );
  CHECK( list_error("[\"http://a\",", "url_list is not valid JSON") );
  CHECK( list_error("{\"url\":\"http://a\"}", "got a JSON object") );
  CHECK( list_error("[\"file:///etc/passwd\"]", "has scheme \"file\"; only http and https") );
  CHECK( list_error("[\"http://a b\"]", "is not a valid URL") );
  CHECK( list_error("not a url", "is not a valid URL") );
  CHECK( list_error("[{\"url\":\"http://a\",\"verb\":\"GET\"}]", "unknown key \"verb\"") );
  CHECK( list_error("[{\"method\":\"GET\"}]", "request object has no \"url\"") );
  CHECK( list_error("[{\"url\":5}]", "\"url\" must be a string") );
  CHECK( list_error("[{\"url\":\"http://a\",\"method\":\"G T\"}]", "is not an HTTP method") );
  CHECK( list_error("[\"http://a/\\u0000\"]", "NUL character") );
  CHECK( list_error("[{\"url\":\"http://a\",\"headers\":{\"A\":\"x\\ny\"}}]", "not a valid header") );
}

/* One record's key through the schema: the column it lands in, added if new. */
static const char *resolve_add(Schema *s, const char *zKey, sqlite3_int64 iStamp){
  const char *zName;
  size_t nName;
  int i = schema_resolve(s, zKey, strlen(zKey), iStamp, &zName, &nName);
  if( i==-1 ){
    i = schema_add(s, zName, nName, 0);
    if( i>=0 ) s->aCol[i].iStamp = iStamp;
  }
  return i>=0 ? s->aCol[i].zName : "?";
}

/* A name repeated in a record takes name_2, name_3, ... skipping names the
** record has already used (also as keys of their own); the next record
** starts again from the name. */
static void test_schema_repeats(void){
  static const char *const azReserved[] = { "_url", 0 };
  Schema s;
  int i;
  CHECK( schema_init(&s, azReserved, 1000)==SQLITE_OK );
  CHECK( strcmp(resolve_add(&s, "a", 1), "a")==0 );
  CHECK( strcmp(resolve_add(&s, "a", 1), "a_2")==0 );
  CHECK( strcmp(resolve_add(&s, "a_2", 1), "a_2_2")==0 );
  CHECK( strcmp(resolve_add(&s, "a", 1), "a_3")==0 );
  CHECK( strcmp(resolve_add(&s, "a_3", 2), "a_3")==0 );   /* a new record */
  CHECK( strcmp(resolve_add(&s, "a", 2), "a")==0 );
  CHECK( strcmp(resolve_add(&s, "a", 2), "a_2")==0 );
  CHECK( strcmp(resolve_add(&s, "a", 2), "a_4")==0 );      /* a_3 is taken */
  /* Many repeats: each finds its own column, in order. */
  for(i=0; i<500; i++){
    char zWant[16];
    sqlite3_snprintf(sizeof(zWant), zWant, i ? "b_%d" : "b", i+1);
    CHECK( strcmp(resolve_add(&s, "b", 3), zWant)==0 );
  }
  /* A reserved name is never a column: its repeats start at _2. */
  CHECK( strcmp(resolve_add(&s, "_url", 4), "_url_2")==0 );
  CHECK( strcmp(resolve_add(&s, "_url", 4), "_url_3")==0 );
  CHECK( strcmp(resolve_add(&s, "_url", 5), "_url_2")==0 );
  schema_clear(&s);
}

/* block_private on IPv6 forms that carry an IPv4 address. */
static int v6_refused(const char *zAddr){
  Guard g;
  struct sockaddr_in6 a;
  memset(&g, 0, sizeof(g));
  g.bBlockPrivate = 1;
  memset(&a, 0, sizeof(a));
  a.sin6_family = AF_INET6;
  if( inet_pton(AF_INET6, zAddr, &a.sin6_addr)!=1 ) return -1;
  return guard_address_refused(&g, (const struct sockaddr*)&a)!=0;
}

static int v4_refused(const char *zAddr){
  Guard g;
  struct sockaddr_in a;
  memset(&g, 0, sizeof(g));
  g.bBlockPrivate = 1;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  if( inet_pton(AF_INET, zAddr, &a.sin_addr)!=1 ) return -1;
  return guard_address_refused(&g, (const struct sockaddr*)&a)!=0;
}

/* block_private allows only globally reachable addresses (the IANA
** special-purpose registries); these were missed by the old deny list. */
static void test_block_private_v4(void){
  static const char *azRefused[] = {
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
    "100.64.0.1", "169.254.169.254", "0.0.0.0", "0.1.2.3", "192.0.0.1", "192.0.0.8",
    "192.0.0.170", "192.0.2.5", "192.88.99.1", "198.18.0.1", "198.19.255.255",
    "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1",
    "255.255.255.255",
  };
  static const char *azAllowed[] = {
    "8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "172.15.255.255",
    "100.128.0.1", "198.20.0.1", "192.0.0.9", "192.0.0.10", "192.0.1.1", "223.255.255.255",
  };
  size_t i;
  for(i=0; i<sizeof(azRefused)/sizeof(azRefused[0]); i++){
    if( v4_refused(azRefused[i])!=1 ){ printf("  should be refused: %s\n", azRefused[i]); nFail++; }
  }
  for(i=0; i<sizeof(azAllowed)/sizeof(azAllowed[0]); i++){
    if( v4_refused(azAllowed[i])!=0 ){ printf("  should be allowed: %s\n", azAllowed[i]); nFail++; }
  }
}

static void test_block_private_v6(void){
  CHECK( v6_refused("::1")==1 );
  CHECK( v6_refused("::ffff:127.0.0.1")==1 );
  CHECK( v6_refused("::127.0.0.1")==1 );              /* IPv4-compatible */
  CHECK( v6_refused("::ffff:0:10.0.0.1")==1 );        /* SIIT */
  CHECK( v6_refused("64:ff9b::a9fe:a9fe")==1 );       /* NAT64 to 169.254.169.254 */
  CHECK( v6_refused("2002:7f00:1::")==1 );            /* 6to4 of 127.0.0.1 */
  CHECK( v6_refused("fe80::1")==1 );
  CHECK( v6_refused("fd00::1")==1 );
  CHECK( v6_refused("64:ff9b::808:808")==0 );         /* NAT64 to 8.8.8.8 */
  CHECK( v6_refused("2002:808:808::")==0 );
  CHECK( v6_refused("2606:4700::1111")==0 );
  /* special-purpose blocks the old deny list missed */
  CHECK( v6_refused("64:ff9b:1::1")==1 );             /* local-use NAT64 */
  CHECK( v6_refused("fec0::1")==1 );                  /* site-local */
  CHECK( v6_refused("100::1")==1 );                   /* discard-only */
  CHECK( v6_refused("2001:db8::1")==1 );              /* documentation */
  CHECK( v6_refused("2001:2::1")==1 );                /* benchmarking */
  CHECK( v6_refused("2001::1")==1 );                  /* Teredo */
  CHECK( v6_refused("3fff::1")==1 );
  CHECK( v6_refused("5f00::1")==1 );
  CHECK( v6_refused("::")==1 );
  CHECK( v6_refused("::2")==1 );                      /* IPv4-compatible 0.0.0.2 */
  CHECK( v6_refused("4000::1")==1 );                  /* outside 2000::/3 */
  CHECK( v6_refused("::ffff:198.18.0.1")==1 );
  CHECK( v6_refused("2001:4:112::1")==0 );            /* AS112, globally reachable */
  CHECK( v6_refused("2001:1::1")==0 );                /* PCP anycast */
  CHECK( v6_refused("2001:1::4")==1 );
  CHECK( v6_refused("::ffff:8.8.8.8")==0 );
}

/* allow_hosts: host (ports 80 and 443), host:port, host:*, [v6]:port. */
static int host_refused(const char *zEntry, const char *zUrl){
  Guard g;
  char *az[1];
  char *zWhere = 0;
  int r;
  memset(&g, 0, sizeof(g));
  az[0] = (char*)zEntry;
  g.azAllowHost = az;
  g.nAllowHost = 1;
  r = guard_host_refused(&g, zUrl, &zWhere);
  sqlite3_free(zWhere);
  return r;
}

static void test_allow_hosts_ports(void){
  CHECK( host_refused("api.example.com", "https://api.example.com/x")==0 );
  CHECK( host_refused("api.example.com", "http://API.example.com/x")==0 );
  CHECK( host_refused("api.example.com", "https://api.example.com:8443/x")==1 );
  CHECK( host_refused("api.example.com", "http://api.example.com:22/")==1 );
  CHECK( host_refused("api.example.com:8443", "https://api.example.com:8443/x")==0 );
  CHECK( host_refused("api.example.com:8443", "https://api.example.com/x")==1 );
  CHECK( host_refused("api.example.com:*", "http://api.example.com:1/x")==0 );
  CHECK( host_refused("127.0.0.1:8080", "http://127.0.0.1:8080/")==0 );
  CHECK( host_refused("127.0.0.1:8080", "http://127.0.0.1:8081/")==1 );
  CHECK( host_refused("[::1]:8080", "http://[::1]:8080/")==0 );
  CHECK( host_refused("::1", "http://[::1]/")==0 );
  CHECK( host_refused("::1", "http://[::1]:8080/")==1 );
  CHECK( host_refused("api.example.com", "https://api.example.com.evil/x")==1 );
  CHECK( guard_host_entry_error("a.example:99999")!=0 );
  CHECK( guard_host_entry_error("a.example:x")!=0 );
  CHECK( guard_host_entry_error(":80")!=0 );
  CHECK( guard_host_entry_error("[::1")!=0 );
  CHECK( guard_host_entry_error("[::1]:443")==0 );
  CHECK( guard_host_entry_error("a.example:*")==0 );
}

int main(void){
  sqlite3_initialize();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  run("json_validate", test_json_validate);
  run("json_deep_nesting", test_json_deep);
  run("records", test_records);
  run("string_decode", test_string_decode);
  run("policy_retryable", test_policy_retryable);
  run("policy_backoff", test_policy_backoff);
  run("retry_after", test_retry_after);
  run("token_bucket", test_bucket);
  run("options", test_options);
  run("url_list", test_urllist);
  run("schema_repeats", test_schema_repeats);
  run("block_private_v4", test_block_private_v4);
  run("block_private_v6", test_block_private_v6);
  run("allow_hosts_ports", test_allow_hosts_ports);
  curl_global_cleanup();
  return 0;
}
