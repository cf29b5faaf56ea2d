/*
** unit.c - direct tests of apifetch's pure functions (no network): the JSON
** scanner and records, retry policy, Retry-After and HTTP-dates, the token
** bucket, option and url_list parsing, the query check of a request line,
** SHA-256 and the HTTP cache's RFC 9111 decisions.  Built by `make tests/unit` against the real SQLite
** library; run by tests/run.py, which counts each "PASS name" / "FAIL name"
** line as one test.
*/
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "apifetch.h"
#include "shape.h"

static int nFail;           /* Failed checks in the current test */

#define CHECK(cond) do{ if(!(cond)){ \
  printf("  check failed at line %d: %s\n", __LINE__, #cond); nFail++; } }while(0)

static int nFailedTests;     /* Tests with a failed check: the exit status */

static void run(const char *zName, void (*x)(void)){
  nFail = 0;
  x();
  printf("%s %s\n", nFail ? "FAIL" : "PASS", zName);
  if( nFail ) nFailedTests++;
}

/* A check that fails on purpose, run only when APIFETCH_UNIT_SELFTEST is
** set: tests/py/harness.py uses it to see that a failing check makes this
** program exit non-zero and the runner count a failure. */
static void test_selftest_fails(void){
  CHECK( getenv("APIFETCH_UNIT_SELFTEST")==0 );
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
/* json_set_path: the body of a paginated POST, the rest byte for byte. */
static const char *set_path(const char *z, const char *zPath, const char *zVal){
  static char out[256];
  char **az = 0;
  int n = 0, rc;
  Buf b = {0, 0, 0, 0};
  if( path_split(zPath, &az, &n) ) return "split";
  rc = json_set_path(z, strlen(z), az, n, zVal, strlen(zVal), &b);
  strlist_free(az, n);
  sqlite3_snprintf(sizeof(out), out, "%s", rc ? "error" : b.z ? b.z : "");
  buf_free(&b);
  return out;
}
static void test_json_set_path(void){
  CHECK( strcmp(set_path("{\"a\": 1}", "a", "2"), "{\"a\": 2}")==0 );
  CHECK( strcmp(set_path("{\"big\": 9007199254740993}", "page", "0"),
                "{\"page\":0,\"big\": 9007199254740993}")==0 );
  CHECK( strcmp(set_path("{}", "variables.after", "\"c\""),
                "{\"variables\":{\"after\":\"c\"}}")==0 );
  CHECK( strcmp(set_path("{\"query\":\"q\",\"variables\":{\"first\":2,\"after\":null}}",
                         "variables.after", "\"x\""),
                "{\"query\":\"q\",\"variables\":{\"first\":2,\"after\":\"x\"}}")==0 );
  CHECK( strcmp(set_path("{\"variables\": null}", "variables.after", "3"),
                "{\"variables\": {\"after\":3}}")==0 );
  CHECK( strcmp(set_path("{\"variables\": {}}", "variables.a.b", "3"),
                "{\"variables\": {\"a\":{\"b\":3}}}")==0 );
  CHECK( strcmp(set_path("{\"variables\": 5}", "variables.after", "3"), "error")==0 );
  CHECK( strcmp(set_path("[1]", "page", "3"), "error")==0 );
}

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
  for(i=0; i<sizeof(aYes)/sizeof(aYes[0]); i++){
    CHECK( policy_status_retryable(aYes[i], STATUS_DEFAULT) );
    /* on_status only adds: a 503 named "fail" is still retried first. */
    CHECK( policy_status_retryable(aYes[i], STATUS_FAIL) );
  }
  for(i=0; i<sizeof(aNo)/sizeof(aNo[0]); i++){
    CHECK( !policy_status_retryable(aNo[i], STATUS_DEFAULT) );
    CHECK( !policy_status_retryable(aNo[i], STATUS_DATA) );
    CHECK( policy_status_retryable(aNo[i], STATUS_RETRY) );
  }
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

/* Rate-limit fields: a response's headers as name, value pairs. */
static const char *rl_header(void *pCtx, const char *zName){
  const char *const *az = pCtx;
  for(; az[0]; az+=2) if( sqlite3_stricmp(az[0], zName)==0 ) return az[1];
  return 0;
}

static void test_ratelimit(void){
  static const char *aGithub[] = { "X-RateLimit-Limit", "5000", "X-RateLimit-Remaining", "42",
                                   "X-RateLimit-Reset", "1700000030", 0 };
  static const char *aIetf[] = { "RateLimit", "\"default\";r=7;t=12",
                                 "RateLimit-Policy", "\"default\";q=100;w=60", 0 };
  static const char *aIetfTwo[] = { "RateLimit", "\"a;r=1\";r=3; t=2, \"b\";r=0;t=9", 0 };
  static const char *aDraft[] = { "RateLimit-Limit", "10", "RateLimit-Remaining", "0",
                                  "RateLimit-Reset", "3", 0 };
  static const char *aNone[] = { "Retry-After", "5", 0 };
  static const char *aBad[] = { "X-RateLimit-Remaining", "many", "X-RateLimit-Reset", "1", 0 };
  const sqlite3_int64 now = 1700000000000LL + 250;
  RateLimit r;
  CHECK( policy_ratelimit(rl_header, (void*)aGithub, now, &r)==1 );
  CHECK( r.remaining==42 && r.limit==5000 && r.resetMs==29750 && r.windowMs==-1 );
  CHECK( policy_ratelimit(rl_header, (void*)aIetf, now, &r)==1 );
  CHECK( r.remaining==7 && r.limit==100 && r.resetMs==12000 && r.windowMs==60000 );
  CHECK( policy_ratelimit(rl_header, (void*)aIetfTwo, now, &r)==1 );   /* first item only */
  CHECK( r.remaining==3 && r.resetMs==2000 && r.limit==-1 );
  CHECK( policy_ratelimit(rl_header, (void*)aDraft, now, &r)==1 );
  CHECK( r.remaining==0 && r.limit==10 && r.resetMs==3000 );
  CHECK( policy_ratelimit(rl_header, (void*)aNone, now, &r)==0 );
  CHECK( r.remaining==-1 && r.resetMs==-1 );
  CHECK( policy_ratelimit(rl_header, (void*)aBad, now, &r)==0 );
  CHECK( r.resetMs==0 );                        /* a reset in the past: now */
}

/* The three HTTP-date forms of RFC 9110 section 5.6.7, and what is not one. */
static void test_http_date(void){
  sqlite3_int64 t = -1;
  CHECK( policy_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t)==1 && t==784111777 );
  t = -1;
  CHECK( policy_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t)==1 && t==784111777 );
  t = -1;
  CHECK( policy_http_date("Sun Nov  6 08:49:37 1994", &t)==1 && t==784111777 );
  t = -1;
  CHECK( policy_http_date(" \tThu, 01 Jan 1970 00:00:10 GMT", &t)==1 && t==10 );
  t = -1;
  CHECK( policy_http_date("Fri, 31 Dec 9999 23:59:59 GMT", &t)==1 && t==253402300799LL );
  /* Not dates: *pEpoch is left alone. */
  t = 42;
  CHECK( policy_http_date(0, &t)==0 );
  CHECK( policy_http_date("", &t)==0 );
  CHECK( policy_http_date("0", &t)==0 );           /* Expires: 0 (RFC 9111 5.3) */
  CHECK( policy_http_date("-1", &t)==0 );
  CHECK( policy_http_date("20240101", &t)==0 );    /* curl_getdate() would take it */
  CHECK( policy_http_date("soon", &t)==0 );
  CHECK( policy_http_date("Sun, 32 Nov 1994 08:49:37 GMT", &t)==0 );
  CHECK( t==42 );
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
  /* A token given back can be taken again, but the burst stays the cap. */
  CHECK( bucket_take(&b, 1100)==100 );
  bucket_refund(&b);
  CHECK( bucket_take(&b, 1100)==0 );
  bucket_refund(&b); bucket_refund(&b); bucket_refund(&b); bucket_refund(&b);
  for(i=0; i<3; i++) CHECK( bucket_take(&b, 1100)==0 );
  CHECK( bucket_take(&b, 1100)>0 );
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
  CHECK( o.recordPath.n==2 && strcmp(o.recordPath.az[1], "b")==0 );
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
  CHECK( opt_error("{\"record_path\":5}", "record_path must be a path such as") );
  CHECK( opt_error("{\"retry_unsafe\":\"yes\"}", "retry_unsafe must be true or false") );
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
  CHECK( list_error("[{\"url\":\"http://a\",\"method\":\"GET(\"}]", "is not an HTTP method") );
  CHECK( list_error("[{\"url\":\"http://a\",\"method\":\"G\\r\\nX: y\"}]", "is not an HTTP method") );
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

/* schema_columns gives the text that schema_declare reads back into the
** same columns: every type word, and names quoted only where needed. */
static void test_schema_columns(void){
  static const char *const azReserved[] = { "_url", 0 };
  static const char zDecl[] = "id INTEGER, \"full name\" TEXT, \"q\"\"x\" REAL, at TIMESTAMP, "
                              "raw JSON, \"1st\" ANY, ok INTEGER, \"\" TEXT";
  TypeRules r;
  Schema s, s2;
  char *zErr = 0, *z, *z2;
  memset(&r, 0, sizeof(r));
  r.timestamps = TS_UTC;
  CHECK( schema_init(&s, azReserved, 1000)==SQLITE_OK );
  CHECK( schema_init(&s2, azReserved, 1000)==SQLITE_OK );
  CHECK( schema_declare(&s, "id INT, \"full name\" TEXT, \"q\"\"x\" DOUBLE, at TIMESTAMP, "
                            "raw JSON, \"1st\", ok BOOLEAN, \"\" TEXT", &r, &zErr)==SQLITE_OK );
  z = schema_columns(&s);
  CHECK( z && strcmp(z, zDecl)==0 );
  CHECK( z && schema_declare(&s2, z, &r, &zErr)==SQLITE_OK );
  z2 = schema_columns(&s2);
  CHECK( z2 && strcmp(z2, zDecl)==0 );
  sqlite3_free(z);
  sqlite3_free(z2);
  sqlite3_free(zErr);
  schema_clear(&s);
  schema_clear(&s2);
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

/* The refusals the transfer and the cache share, word for word: an
** address as libcurl gives it (CURLINFO_PRIMARY_IP, kept with a cache
** entry), and a URL with its headers. */
static int refusal_is(char *z, const char *zWant){
  int r = zWant ? z!=0 && strcmp(z, zWant)==0 : z==0;
  if( !r ) fprintf(stderr, "    got: %s\n", z ? z : "(none)");
  sqlite3_free(z);
  return r;
}

static void test_guard_refusals(void){
  Guard g;
  char *az[1];
  struct curl_slist *pHost = curl_slist_append(0, "Host: internal.example");
  int bOom = 0;
  memset(&g, 0, sizeof(g));
  CHECK( refusal_is(guard_ip_refusal(&g, "127.0.0.1", &bOom), 0) );
  CHECK( refusal_is(guard_ip_refusal(0, 0, &bOom), 0) );
  g.bBlockPrivate = 1;
  CHECK( refusal_is(guard_ip_refusal(&g, "127.0.0.1", &bOom),
                    "refused by block_private: 127.0.0.1 is a loopback address (127.0.0.0/8)") );
  CHECK( refusal_is(guard_ip_refusal(&g, "::1", &bOom),
                    "refused by block_private: ::1 is a loopback address (::1)") );
  CHECK( refusal_is(guard_ip_refusal(&g, "::ffff:10.0.0.1", &bOom),
                    "refused by block_private: ::ffff:10.0.0.1 is a private address (10.0.0.0/8)") );
  CHECK( refusal_is(guard_ip_refusal(&g, "8.8.8.8", &bOom), 0) );
  CHECK( refusal_is(guard_ip_refusal(&g, "2606:4700::1111", &bOom), 0) );
  CHECK( refusal_is(guard_ip_refusal(&g, "fe80::1%eth0", &bOom), "refused by block_private: "
                    "the address it came from (fe80::1%eth0) is not an IP address") );
  CHECK( refusal_is(guard_ip_refusal(&g, 0, &bOom), "refused by block_private: "
                    "the address it came from (none recorded) is not an IP address") );
  az[0] = "api.example.com";
  g.azAllowHost = az;
  g.nAllowHost = 1;
  CHECK( refusal_is(guard_url_refusal(&g, "https://api.example.com/x", 0, &bOom), 0) );
  CHECK( refusal_is(guard_url_refusal(&g, "https://api.example.com:8443/x", 0, &bOom),
                    "refused by allow_hosts: api.example.com:8443 is not allowed "
                    "(https://api.example.com:8443/x)") );
  CHECK( refusal_is(guard_url_refusal(&g, "https://api.example.com/x", pHost, &bOom),
                    "refused by allow_hosts: a Host header is not allowed (the host is the URL's)") );
  CHECK( refusal_is(guard_url_refusal(&g, 0, 0, &bOom), 0) );
  CHECK( bOom==0 );
  curl_slist_free_all(pHost);
}

/* SHA-256 of z[0..n) as lower-case hex, in one update. */
static void sha256_hex(const void *z, size_t n, char zHex[65]){
  Sha256 s;
  unsigned char a[SHA256_SIZE];
  int i;
  sha256_init(&s);
  sha256_update(&s, z, n);
  sha256_final(&s, a);
  for(i=0; i<SHA256_SIZE; i++) sprintf(zHex + 2*i, "%02x", a[i]);
}

/* The example messages of FIPS 180-4 (NIST's SHA256.pdf, SHA2_Additional). */
static void test_sha256_vectors(void){
  char zHex[65];
  Sha256 s;
  unsigned char a[SHA256_SIZE], aChunk[1000];
  int i;
  sha256_hex("", 0, zHex);
  CHECK( strcmp(zHex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")==0 );
  sha256_hex(0, 0, zHex);       /* no bytes, no pointer */
  CHECK( strcmp(zHex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")==0 );
  sha256_hex("abc", 3, zHex);
  CHECK( strcmp(zHex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")==0 );
  sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, zHex);   /* 448 bits */
  CHECK( strcmp(zHex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")==0 );
  sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
             "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112, zHex);        /* 896 bits */
  CHECK( strcmp(zHex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")==0 );
  /* One million 'a', a thousand at a time. */
  memset(aChunk, 'a', sizeof(aChunk));
  sha256_init(&s);
  for(i=0; i<1000; i++) sha256_update(&s, aChunk, sizeof(aChunk));
  sha256_final(&s, a);
  for(i=0; i<SHA256_SIZE; i++) sprintf(zHex + 2*i, "%02x", a[i]);
  CHECK( strcmp(zHex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")==0 );
}

/* Any split into updates gives the digest of the whole; and every length
** across the padding's boundaries (55, 56, 63, 64, 119, 120, 128 bytes...)
** is right.  Expected values from Python's hashlib. */
static void test_sha256_splits(void){
  unsigned char m[200], aWhole[SHA256_SIZE], a[SHA256_SIZE];
  char zHex[65];
  Sha256 s, all;
  size_t i, j, k;
  for(i=0; i<sizeof(m); i++) m[i] = (unsigned char)(i*7 + 3);
  sha256_hex(m, sizeof(m), zHex);
  CHECK( strcmp(zHex, "2c7e18c942ef065b526a2d4e5546283749cd3ddfb51d8fc71f42717363685f46")==0 );
  sha256_init(&s);
  sha256_update(&s, m, sizeof(m));
  sha256_final(&s, aWhole);
  for(i=0; i<=sizeof(m); i++){
    sha256_init(&s);
    sha256_update(&s, m, i);
    sha256_update(&s, m+i, sizeof(m)-i);
    sha256_final(&s, a);
    if( memcmp(a, aWhole, sizeof(a))!=0 ){ printf("  split at %d differs\n", (int)i); nFail++; }
  }
  /* Three pieces, every pair of cut points, empty updates between. */
  for(i=0; i<=sizeof(m); i+=3){
    for(j=i; j<=sizeof(m); j+=5){
      sha256_init(&s);
      sha256_update(&s, m, i);
      sha256_update(&s, 0, 0);
      sha256_update(&s, m+i, j-i);
      sha256_update(&s, m+j, sizeof(m)-j);
      sha256_final(&s, a);
      if( memcmp(a, aWhole, sizeof(a))!=0 ){ printf("  cuts %d %d differ\n", (int)i, (int)j); nFail++; }
    }
  }
  /* A byte at a time. */
  sha256_init(&s);
  for(i=0; i<sizeof(m); i++) sha256_update(&s, m+i, 1);
  sha256_final(&s, a);
  CHECK( memcmp(a, aWhole, sizeof(a))==0 );
  /* The digest of the digests of m[0..n) for n = 0..200. */
  sha256_init(&all);
  for(k=0; k<=sizeof(m); k++){
    sha256_init(&s);
    sha256_update(&s, m, k);
    sha256_final(&s, a);
    sha256_update(&all, a, sizeof(a));
  }
  sha256_final(&all, a);
  for(i=0; i<SHA256_SIZE; i++) sprintf(zHex + 2*i, "%02x", a[i]);
  CHECK( strcmp(zHex, "3275febb4612d86d586eb9f11cd21e648a9fc7d95e0f6b8d362786e28c9c5b79")==0 );
  /* final wipes what it held of the message. */
  sha256_init(&s);
  sha256_update(&s, "secret", 6);
  sha256_final(&s, a);
  CHECK( s.nBuf==0 && s.nBytes==0 && memchr(s.buf, 's', sizeof(s.buf))==0 );
}

/* A CacheInfo from a Cache-Control value alone. */
static CacheInfo cc(const char *zCacheControl){
  CacheInfo ci;
  cacheinfo_parse(&ci, zCacheControl, 0, 0, 0, 0, 0, 0, 0);
  return ci;
}

/* RFC 9111 section 5.2: Cache-Control as servers write it, and as they
** should not. */
static void test_cache_control(void){
  CacheInfo ci;
  ci = cc("max-age=60");
  CHECK( ci.maxAge==60 && ci.sMaxAge==-1 && ci.staleIfError==-1 );
  CHECK( !ci.bNoStore && !ci.bNoCache && !ci.bPrivate && !ci.bPublic );
  CHECK( !ci.bMustRevalidate && !ci.bImmutable && !ci.bVaryStar && !ci.bHasValidator );
  CHECK( ci.date==-1 && ci.expires==-1 && ci.lastModified==-1 && ci.age==0 );
  /* Names are case-insensitive; arguments may be quoted (section 5.2). */
  ci = cc("MAX-AGE=60, No-Store, Must-Revalidate");
  CHECK( ci.maxAge==60 && ci.bNoStore && ci.bMustRevalidate );
  CHECK( cc("max-age=\"120\"").maxAge==120 );
  /* Spaces around '=' are outside section 5.2's grammar: invalid, stale. */
  CHECK( cc("max-age = 30").maxAge==0 );
  CHECK( cc("max-age =30").maxAge==0 );
  CHECK( cc("max-age= 30").maxAge==0 );
  CHECK( cc("max-age=30 ").maxAge==30 );
  CHECK( cc("max-age=3600a").maxAge==0 );
  CHECK( cc("max-age=0").maxAge==0 );
  CHECK( cc("no-cache").maxAge==-1 );
  /* Malformed numbers are invalid freshness information: stale (4.2.1). */
  CHECK( cc("max-age=abc").maxAge==0 );
  CHECK( cc("max-age=-5").maxAge==0 );
  CHECK( cc("max-age=1.5").maxAge==0 );
  CHECK( cc("max-age=1e3").maxAge==0 );
  CHECK( cc("max-age").maxAge==0 );
  CHECK( cc("max-age=").maxAge==0 );
  CHECK( cc("max-age=\"\"").maxAge==0 );
  CHECK( cc("max-age=\"60").maxAge==0 );           /* quote never closed */
  CHECK( cc("max-age=60;public").maxAge==0 );
  CHECK( cc("max-age=\" 60\"").maxAge==0 );
  /* Too large for anyone: 2^31 (section 1.2.2). */
  CHECK( cc("max-age=99999999999999999999999").maxAge==CACHE_DELTA_MAX );
  CHECK( cc("max-age=2147483647").maxAge==2147483647LL );
  /* The first of two counts (4.2.1), even when it is the bad one. */
  /* Given twice and differing: stale, in either order (4.2.1). */
  CHECK( cc("max-age=5, max-age=10").maxAge==0 );
  CHECK( cc("max-age=1800, max-age=0").maxAge==0 );
  CHECK( cc("max-age=0, max-age=1800").maxAge==0 );
  CHECK( cc("max-age=60, max-age=60").maxAge==60 );
  CHECK( cc("max-age=abc, max-age=10").maxAge==0 );
  CHECK( cc("stale-if-error=10, stale-if-error=99").staleIfError==10 );
  /* Several field lines joined with ", " (RFC 9110 section 5.3). */
  ci = cc("public, max-age=5, no-cache, private");
  CHECK( ci.bPublic && ci.maxAge==5 && ci.bNoCache && ci.bPrivate );
  /* Empty list members are allowed (RFC 9110 section 5.6.1). */
  CHECK( cc(" , ,max-age=3,, ").maxAge==3 );
  CHECK( cc("").maxAge==-1 );
  /* The field-names form of no-cache: taken as plain no-cache.  A comma in
  ** a quoted-string does not end the member; a \" does not end the string. */
  ci = cc("no-cache=\"Set-Cookie, Set-Cookie2\", max-age=60");
  CHECK( ci.bNoCache && ci.maxAge==60 );
  ci = cc("private=\"a, max-age=5\", max-age=60");
  CHECK( ci.bPrivate && ci.maxAge==60 );
  ci = cc("no-cache=\"a\\\", max-age=1\", max-age=9");
  CHECK( ci.bNoCache && ci.maxAge==9 );
  CHECK( cc("no-cache=Set-Cookie").bNoCache );    /* token form, tolerated */
  /* no-store with max-age: no-store stands (and storing is refused). */
  ci = cc("max-age=3600, no-store");
  CHECK( ci.bNoStore && ci.maxAge==3600 );
  CHECK( cc("no-store junk").bNoStore );            /* restrictive: kept */
  CHECK( cc("no-store=1").bNoStore );
  /* Unknown directives are ignored, their arguments whatever they hold. */
  ci = cc("foo, bar=\"x,y,max-age=1\", baz=1, max-age=7, proxy-revalidate, must-understand");
  CHECK( ci.maxAge==7 && !ci.bNoCache && !ci.bNoStore && !ci.bMustRevalidate );
  CHECK( cc("max-agent=5").maxAge==-1 );
  CHECK( cc("x-max-age=5").maxAge==-1 );
  /* s-maxage is read but, a private cache, not used (see freshness). */
  ci = cc("s-maxage=600");
  CHECK( ci.sMaxAge==600 && ci.maxAge==-1 );
  /* stale-if-error (RFC 5861); malformed grants nothing. */
  CHECK( cc("max-age=60, stale-if-error=300").staleIfError==300 );
  CHECK( cc("stale-if-error=soon").staleIfError==-1 );
  CHECK( cc("stale-if-error").staleIfError==-1 );
  /* immutable (RFC 8246), only when well formed. */
  ci = cc("max-age=31536000, immutable");
  CHECK( ci.bImmutable && ci.maxAge==31536000 );
  CHECK( !cc("immutable=1").bImmutable );
  CHECK( !cc("public=yes").bPublic );
}

/* The other header fields cacheinfo_parse reads. */
static void test_cache_fields(void){
  CacheInfo ci;
  const char *zT = "Sun, 06 Nov 1994 08:49:37 GMT";    /* 784111777 */
  cacheinfo_parse(&ci, 0, zT, zT, "  12 ", zT, 0, 0, 0);
  CHECK( ci.expires==784111777 && ci.date==784111777 && ci.lastModified==784111777 );
  CHECK( ci.age==12 && ci.bHasValidator );
  /* Section 5.3: an invalid Expires is already expired: 0, not absent. */
  cacheinfo_parse(&ci, 0, "0", 0, 0, 0, 0, 0, 0);
  CHECK( ci.expires==0 );
  cacheinfo_parse(&ci, 0, "-1", 0, 0, 0, 0, 0, 0);
  CHECK( ci.expires==0 );
  cacheinfo_parse(&ci, 0, "", 0, 0, 0, 0, 0, 0);
  CHECK( ci.expires==0 );
  cacheinfo_parse(&ci, 0, "Mon, 01 Jan 1900 00:00:00 GMT", 0, 0, 0, 0, 0, 0);
  CHECK( ci.expires==0 );
  /* Expires is an IMF-fixdate or already expired (5.3). */
  {
    static const char *const azBad[] = {
      "Sun, 06 Nov 94 08:49:37 GMT",          /* two-digit year */
      "Sunday, 06-Nov-94 08:49:37 GMT",       /* RFC 850 */
      "Sun Nov  6 08:49:37 1994",             /* asctime */
      "Sun 06 Nov 1994 08:49:37 GMT",         /* no comma */
      "Sun,  06 Nov 1994 08:49:37 GMT",       /* doubled space */
      "Sun, 06-Nov-1994 08:49:37 GMT",        /* dashes */
      "Sun, 06 Nov 1994 8:49:37 GMT",         /* one-digit hour */
      "Sun, 06 Nov 1994 08:49:37 UTC",        /* not GMT */
      "Sun, 06 Nov 1994 08:49:37 +0000",
      "Sun, 06 nov 1994 08:49:37 GMT",        /* names are case-sensitive */
      "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
      "Sun, 31 Nov 1994 08:49:37 GMT",        /* no such day */
      "Thu, 29 Feb 2001 08:49:37 GMT",
      "Sun, 06 Nov 1994 24:00:00 GMT",
      "Xyz, 06 Nov 1994 08:49:37 GMT",
    };
    int i;
    for(i=0; i<(int)ArraySize(azBad); i++){
      cacheinfo_parse(&ci, 0, azBad[i], 0, 0, 0, 0, 0, 0);
      CHECK( ci.expires==0 );
    }
    cacheinfo_parse(&ci, 0, "  Sun, 06 Nov 1994 08:49:37 GMT ", 0, 0, 0, 0, 0, 0);
    CHECK( ci.expires==784111777 );
    cacheinfo_parse(&ci, 0, "Tue, 29 Feb 2028 23:59:59 GMT", 0, 0, 0, 0, 0, 0);
    CHECK( ci.expires==1835481599 );
    cacheinfo_parse(&ci, 0, "Thu, 01 Jan 1970 00:00:00 GMT", 0, 0, 0, 0, 0, 0);
    CHECK( ci.expires==0 );
    /* Date and Last-Modified keep the obsolete forms (RFC 9110 5.6.7). */
    cacheinfo_parse(&ci, 0, 0, "Sunday, 06-Nov-94 08:49:37 GMT", 0, 0, 0, 0, 0);
    CHECK( ci.date==784111777 );
  }
  /* An invalid Date or Last-Modified is absent. */
  cacheinfo_parse(&ci, 0, 0, "yesterday", 0, "20240101", 0, 0, 0);
  CHECK( ci.date==-1 && ci.lastModified==-1 && !ci.bHasValidator );
  /* Age: the first of several lines; an invalid one is ignored (5.1). */
  cacheinfo_parse(&ci, 0, 0, 0, "12, 30", 0, 0, 0, 0);
  CHECK( ci.age==12 );
  cacheinfo_parse(&ci, 0, 0, 0, "abc", 0, 0, 0, 0);
  CHECK( ci.age==0 );
  cacheinfo_parse(&ci, 0, 0, 0, "-7200", 0, 0, 0, 0);
  CHECK( ci.age==0 );
  cacheinfo_parse(&ci, 0, 0, 0, "7200.0", 0, 0, 0, 0);
  CHECK( ci.age==0 );
  cacheinfo_parse(&ci, 0, 0, 0, "1.5", 0, 0, 0, 0);
  CHECK( ci.age==0 );
  cacheinfo_parse(&ci, 0, 0, 0, "99999999999999999999999", 0, 0, 0, 0);
  CHECK( ci.age==CACHE_DELTA_MAX );
  /* Validators: strong or weak ETag, or a valid Last-Modified. */
  cacheinfo_parse(&ci, 0, 0, 0, 0, 0, "\"v1\"", 0, 0);
  CHECK( ci.bHasValidator );
  cacheinfo_parse(&ci, 0, 0, 0, 0, 0, "W/\"v1\"", 0, 0);
  CHECK( ci.bHasValidator );
  cacheinfo_parse(&ci, 0, 0, 0, 0, 0, "  ", 0, 0);
  CHECK( !ci.bHasValidator );
  /* Vary: a member "*", and only that. */
  cacheinfo_parse(&ci, 0, 0, 0, 0, 0, 0, "Accept-Encoding", 0);
  CHECK( !ci.bVaryStar );
  cacheinfo_parse(&ci, 0, 0, 0, 0, 0, 0, "Accept, *", 0);
  CHECK( ci.bVaryStar );
  cacheinfo_parse(&ci, 0, 0, 0, 0, 0, 0, " * ", 0);
  CHECK( ci.bVaryStar );
  cacheinfo_parse(&ci, 0, 0, 0, 0, 0, 0, "X-*", 0);
  CHECK( !ci.bVaryStar );
  /* Pragma: no-cache only where there is no Cache-Control (5.4). */
  cacheinfo_parse(&ci, 0, 0, 0, 0, 0, 0, 0, "no-cache");
  CHECK( ci.bNoCache );
  cacheinfo_parse(&ci, 0, 0, 0, 0, 0, 0, 0, "x-foo=1, No-Cache");
  CHECK( ci.bNoCache );
  cacheinfo_parse(&ci, "max-age=60", 0, 0, 0, 0, 0, 0, "no-cache");
  CHECK( !ci.bNoCache && ci.maxAge==60 );
  cacheinfo_parse(&ci, "", 0, 0, 0, 0, 0, 0, "no-cache");
  CHECK( ci.bNoCache );
  cacheinfo_parse(&ci, 0, 0, 0, 0, 0, 0, 0, "no-cache-please");
  CHECK( !ci.bNoCache );
}

/* Section 3: what may be stored. */
static void test_cache_storable(void){
  CacheInfo none = cc(0), ci;
  CHECK( cache_storable("GET", 200, &none) );
  CHECK( cache_storable(0, 200, &none) );             /* NULL is GET */
  CHECK( cache_storable("HEAD", 200, &none) );
  ci = cc("max-age=60");
  CHECK( !cache_storable("POST", 200, &ci) );
  CHECK( !cache_storable("PUT", 200, &ci) );
  CHECK( !cache_storable("get", 200, &ci) );          /* methods are case-sensitive */
  /* 206 needs ranges combined, 304 updates a stored response; 1xx are not
  ** final; 600 is no status. */
  CHECK( !cache_storable("GET", 206, &ci) );
  CHECK( !cache_storable("GET", 304, &ci) );
  CHECK( !cache_storable("GET", 100, &ci) );
  CHECK( !cache_storable("GET", 0, &ci) );
  CHECK( !cache_storable("GET", 600, &ci) );
  /* Cacheable by default (RFC 9110 section 15.1), with nothing said... */
  CHECK( cache_storable("GET", 404, &none) );
  CHECK( cache_storable("GET", 410, &none) );
  CHECK( cache_storable("GET", 301, &none) );
  CHECK( cache_storable("GET", 501, &none) );
  /* ... and not, unless explicitly so. */
  CHECK( !cache_storable("GET", 500, &none) );
  CHECK( !cache_storable("GET", 302, &none) );
  CHECK( !cache_storable("GET", 201, &none) );
  CHECK( cache_storable("GET", 500, &ci) );
  ci = cc("public");
  CHECK( cache_storable("GET", 302, &ci) );
  ci = cc("private");
  CHECK( cache_storable("GET", 302, &ci) );
  cacheinfo_parse(&ci, 0, "0", 0, 0, 0, 0, 0, 0);     /* invalid Expires: present */
  CHECK( cache_storable("GET", 302, &ci) );
  /* A validator alone does not make a response storable (section 3). */
  cacheinfo_parse(&ci, 0, 0, 0, 0, "Sun, 06 Nov 1994 08:49:37 GMT", "\"v\"", 0, 0);
  CHECK( ci.bHasValidator && !cache_storable("GET", 307, &ci) );
  CHECK( cache_storable("GET", 200, &ci) );
  /* no-store wins over max-age; Vary: * never matches, so is not kept. */
  ci = cc("max-age=3600, no-store");
  CHECK( !cache_storable("GET", 200, &ci) );
  cacheinfo_parse(&ci, "max-age=3600", 0, 0, 0, 0, 0, "*", 0);
  CHECK( !cache_storable("GET", 200, &ci) );
  /* no-cache is stored, to be revalidated at each use. */
  ci = cc("no-cache");
  CHECK( cache_storable("GET", 200, &ci) );
}

/* Section 4.2.1 and 4.2.2: how long a response stays fresh. */
static void test_cache_freshness(void){
  const sqlite3_int64 T = 784111777;
  const char *zT = "Sun, 06 Nov 1994 08:49:37 GMT";
  const char *zT1h = "Sun, 06 Nov 1994 09:49:37 GMT";       /* T + 3600 */
  const char *zT10m = "Sun, 06 Nov 1994 08:59:37 GMT";      /* T + 600 */
  const char *zTm10d = "Thu, 27 Oct 1994 08:49:37 GMT";     /* T - 864000 */
  const char *zTm1000 = "Sun, 06 Nov 1994 08:32:57 GMT";    /* T - 1000 */
  CacheInfo ci;
  /* max-age first; Expires is then ignored (5.3). */
  cacheinfo_parse(&ci, "max-age=60", zT1h, zT, 0, 0, 0, 0, 0);
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==60 );
  /* A malformed max-age is stale, not a reason to read Expires instead. */
  cacheinfo_parse(&ci, "max-age=sixty", zT1h, zT, 0, 0, 0, 0, 0);
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==0 );
  /* Expires - Date, by the origin's clock whatever ours says. */
  cacheinfo_parse(&ci, 0, zT1h, zT, 0, 0, 0, 0, 0);
  CHECK( cache_freshness_lifetime(&ci, 200, T+500, 86400)==3600 );
  cacheinfo_parse(&ci, 0, zT, zT1h, 0, 0, 0, 0, 0);             /* in the past */
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==0 );
  /* Expires: 0 is expired, even with Last-Modified for a heuristic. */
  cacheinfo_parse(&ci, 0, "0", zT, 0, zTm10d, 0, 0, 0);
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==0 );
  /* No Date: the time the response came stands for it. */
  cacheinfo_parse(&ci, 0, zT10m, 0, 0, 0, 0, 0, 0);
  CHECK( cache_freshness_lifetime(&ci, 200, T+100, 86400)==500 );
  /* s-maxage is for shared caches: not this one. */
  cacheinfo_parse(&ci, "s-maxage=600, max-age=60", 0, zT, 0, 0, 0, 0, 0);
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==60 );
  cacheinfo_parse(&ci, "s-maxage=600", 0, zT, 0, 0, 0, 0, 0);
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==0 );
  /* no-cache: revalidate every time, whatever else is said. */
  cacheinfo_parse(&ci, "no-cache, max-age=60", zT1h, zT, 0, zTm10d, 0, 0, 0);
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==0 );
  cacheinfo_parse(&ci, 0, zT1h, zT, 0, 0, 0, 0, "no-cache");
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==0 );
  /* immutable does not lengthen the lifetime. */
  cacheinfo_parse(&ci, "max-age=60, immutable", 0, zT, 0, 0, 0, 0, 0);
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==60 && ci.bImmutable );
  /* The heuristic: 10% of Date - Last-Modified, capped. */
  cacheinfo_parse(&ci, 0, 0, zT, 0, zTm1000, 0, 0, 0);
  CHECK( cache_freshness_lifetime(&ci, 200, T+5, 86400)==100 );
  CHECK( cache_freshness_lifetime(&ci, 404, T, 86400)==100 );
  CHECK( cache_freshness_lifetime(&ci, 500, T, 86400)==0 );     /* not by default */
  CHECK( cache_freshness_lifetime(&ci, 200, T, 0)==0 );         /* heuristics off */
  CHECK( cache_freshness_lifetime(&ci, 200, T, 50)==50 );
  cacheinfo_parse(&ci, 0, 0, zT, 0, zTm10d, 0, 0, 0);
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==86400 );
  CHECK( cache_freshness_lifetime(&ci, 200, T, 3600)==3600 );
  CHECK( cache_freshness_lifetime(&ci, 200, T, 1000000)==86400 );
  cacheinfo_parse(&ci, "public", 0, zT, 0, zTm1000, 0, 0, 0);
  CHECK( cache_freshness_lifetime(&ci, 500, T, 86400)==100 );   /* marked cacheable */
  cacheinfo_parse(&ci, 0, 0, 0, 0, zTm1000, 0, 0, 0);           /* no Date */
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==100 );
  cacheinfo_parse(&ci, 0, 0, zTm1000, 0, zT, 0, 0, 0);          /* modified after Date */
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==0 );
  cacheinfo_parse(&ci, 0, 0, zT, 0, 0, "\"v\"", 0, 0);          /* nothing to go on */
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==0 );
  /* Held to 2^31. */
  ci = cc("max-age=99999999999");
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==CACHE_DELTA_MAX );
  cacheinfo_parse(&ci, 0, "Fri, 31 Dec 9999 23:59:59 GMT", zT, 0, 0, 0, 0, 0);
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==CACHE_DELTA_MAX );
  /* Values from a hostile cache file: no overflow, still in range. */
  ci = cc(0);
  ci.date = INT64_MAX; ci.expires = INT64_MAX; ci.lastModified = INT64_MIN;
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==0 );
  ci.expires = -1;                                     /* any negative date is absent */
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==0 );
  ci.lastModified = 0;
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==86400 );
  ci.date = -1; ci.lastModified = 0;
  CHECK( cache_freshness_lifetime(&ci, 200, INT64_MIN, 86400)==0 );
  ci.maxAge = -7;                                      /* any negative is absent */
  ci.expires = 5; ci.date = 0;
  CHECK( cache_freshness_lifetime(&ci, 200, T, 86400)==5 );
}

/* Section 4.2.3: the age of a response now. */
static void test_cache_age(void){
  const sqlite3_int64 T = 784111777;
  const char *zT = "Sun, 06 Nov 1994 08:49:37 GMT";
  const char *zTp300 = "Sun, 06 Nov 1994 08:54:37 GMT";
  const char *zTm300 = "Sun, 06 Nov 1994 08:44:37 GMT";
  const char *zTm20 = "Sun, 06 Nov 1994 08:49:17 GMT";
  CacheInfo ci;
  /* No Age, Date as it came: the round trip (2 s) plus the time since. */
  cacheinfo_parse(&ci, 0, 0, zT, 0, 0, 0, 0, 0);
  CHECK( cache_current_age(&ci, T-2, T, T)==2 );
  CHECK( cache_current_age(&ci, T-2, T, T+10)==12 );
  /* corrected_age_value = Age + response_delay. */
  cacheinfo_parse(&ci, 0, 0, zT, "100", 0, 0, 0, 0);
  CHECK( cache_current_age(&ci, T, T+1, T+1)==101 );
  CHECK( cache_current_age(&ci, T, T+1, T+61)==161 );
  /* The origin's clock 300 s ahead of ours: apparent_age is 0, not -300. */
  cacheinfo_parse(&ci, 0, 0, zTp300, 0, 0, 0, 0, 0);
  CHECK( cache_current_age(&ci, T-1, T, T)==1 );
  /* 300 s behind (or the response held up on the way): apparent_age wins. */
  cacheinfo_parse(&ci, 0, 0, zTm300, 0, 0, 0, 0, 0);
  CHECK( cache_current_age(&ci, T-1, T, T+5)==305 );
  /* Age beats apparent_age when larger. */
  cacheinfo_parse(&ci, 0, 0, zTm20, "50", 0, 0, 0, 0);
  CHECK( cache_current_age(&ci, T-5, T, T)==55 );
  /* No Date: dated when it came, so apparent_age is 0. */
  cacheinfo_parse(&ci, 0, 0, 0, "7", 0, 0, 0, 0);
  CHECK( cache_current_age(&ci, T-3, T, T+10)==20 );
  /* Clocks that went back make nothing younger than it came. */
  cacheinfo_parse(&ci, 0, 0, zT, "7", 0, 0, 0, 0);
  CHECK( cache_current_age(&ci, T, T, T-100)==7 );
  CHECK( cache_current_age(&ci, T+50, T, T)==7 );
  /* Malformed Age: ignored (5.1), so only the time it was held counts. */
  cacheinfo_parse(&ci, 0, 0, zT, "soon", 0, 0, 0, 0);
  CHECK( cache_current_age(&ci, T, T, T+1000)==1000 );
  /* Fresh while lifetime > age: max-age=60 with Age: 30. */
  cacheinfo_parse(&ci, "max-age=60", 0, zT, "30", 0, 0, 0, 0);
  CHECK( cache_freshness_lifetime(&ci, 200, T, 0) > cache_current_age(&ci, T, T, T+29) );
  CHECK( !(cache_freshness_lifetime(&ci, 200, T, 0) > cache_current_age(&ci, T, T, T+30)) );
  /* Hostile times: no overflow, and the answer in [0, 2^31]. */
  ci = cc(0);
  ci.date = INT64_MIN; ci.age = INT64_MAX;
  CHECK( cache_current_age(&ci, INT64_MIN, INT64_MAX, INT64_MAX)==CACHE_DELTA_MAX );
  ci.date = INT64_MAX; ci.age = INT64_MIN;
  CHECK( cache_current_age(&ci, INT64_MAX, INT64_MIN, INT64_MIN)==0 );
}

/* RFC 5861 section 4 within RFC 9111 section 4.2.4: a stale response in
** place of an error. */
static void test_cache_stale_if_error(void){
  CacheInfo ci = cc("max-age=60, stale-if-error=300");
  CHECK( cache_stale_if_error(&ci, 503, 60, 100, -1) );
  CHECK( cache_stale_if_error(&ci, 500, 60, 100, -1) );
  CHECK( cache_stale_if_error(&ci, 502, 60, 100, -1) );
  CHECK( cache_stale_if_error(&ci, 504, 60, 100, -1) );
  CHECK( cache_stale_if_error(&ci, 0, 60, 100, -1) );      /* no response */
  CHECK( !cache_stale_if_error(&ci, 404, 60, 100, -1) );   /* not an error */
  CHECK( !cache_stale_if_error(&ci, 429, 60, 100, -1) );
  CHECK( cache_stale_if_error(&ci, 503, 60, 360, -1) );    /* stale by 300 */
  CHECK( !cache_stale_if_error(&ci, 503, 60, 361, -1) );
  CHECK( cache_stale_if_error(&ci, 503, 60, 30, -1) );     /* fresh still */
  /* must-revalidate and no-cache forbid it (4.2.4), stale-if-error or not. */
  ci = cc("max-age=60, stale-if-error=300, must-revalidate");
  CHECK( !cache_stale_if_error(&ci, 503, 60, 100, 3600) );
  CHECK( cache_stale_if_error(&ci, 503, 60, 30, -1) );     /* fresh is fresh */
  ci = cc("no-cache, stale-if-error=300");
  CHECK( !cache_stale_if_error(&ci, 503, 0, 1, 3600) );
  /* Without stale-if-error, only the caller's own allowance. */
  ci = cc("max-age=60");
  CHECK( !cache_stale_if_error(&ci, 503, 60, 100, -1) );
  CHECK( cache_stale_if_error(&ci, 503, 60, 100, 3600) );
  CHECK( !cache_stale_if_error(&ci, 503, 60, 100, 10) );
  CHECK( cache_stale_if_error(&ci, 503, 60, 100, 40) );
  ci = cc("max-age=60, stale-if-error=ever");
  CHECK( !cache_stale_if_error(&ci, 503, 60, 100, -1) );
  /* The larger of the two allowances. */
  ci = cc("max-age=60, stale-if-error=10");
  CHECK( cache_stale_if_error(&ci, 503, 60, 100, 50) );
}

/* number_kind's reals are the doubles strtod gives, bit for bit, whether
** they take the fast path (<= 15 digits, |exponent| <= 22) or not: 300,000
** generated literals around both edges, and the edges themselves. */
static void test_number_reals(void){
  static const char *const azEdge[] = {
    "0.1", "-0.0", "0.0", "6761.25", "123456789012345.6", "1234567890123456.7",
    "1e22", "1e23", "1e-22", "1e-23", "9007199254740993.0", "0.000000000000000000001",
    "4.9e-324", "2.2250738585072014e-308", "1.7976931348623157e308", "1E+05",
    "-12.5e-3", "100000000000000000000000.0", "0.30000000000000004",
  };
  unsigned x = 12345;
  int i, nBad = 0, nFast = 0;
  for(i=0; i<(int)(sizeof(azEdge)/sizeof(azEdge[0])) + 300000; i++){
    char z[64];
    sqlite3_int64 iv;
    double r = 0, want;
    if( i<(int)(sizeof(azEdge)/sizeof(azEdge[0])) ){
      sqlite3_snprintf(sizeof(z), z, "%s", azEdge[i]);
    }else{
      /* 1..18 digits, a point somewhere inside, an exponent half the time. */
      int nDig, k, p, m = 0;
      x = x*1103515245u + 12345u; nDig = 1 + (int)((x>>16)%18);
      x = x*1103515245u + 12345u; p = 1 + (int)((x>>16)%(unsigned)nDig);
      if( (x>>8)&1 ) z[m++] = '-';
      for(k=0; k<nDig; k++){
        x = x*1103515245u + 12345u;
        z[m++] = (char)('0' + (k==0 && nDig>1 ? 1 + (x>>16)%9 : (x>>16)%10));
        if( k+1==p ) z[m++] = '.', z[m++] = (char)('0' + (x>>20)%10);
      }
      x = x*1103515245u + 12345u;
      z[m] = 0;
      if( (x>>16)&1 ){
        sqlite3_snprintf(20, z+m, "e%d", (int)((x>>17)%61) - 30);
      }
    }
    if( number_kind(z, strlen(z), &iv, &r)!='r' ) continue;
    want = strtod(z, 0);
    if( memcmp(&r, &want, sizeof(r))!=0 ){
      if( nBad++<5 ) printf("  %s: %.17g, strtod %.17g\n", z, r, want);
    }
    nFast++;
  }
  CHECK( nBad==0 );
  CHECK( nFast>250000 );
}

/* The headers a paginator asks the engine to keep: a kind's own header (a
** new row of aPageKind[] may read any), Link for rel="last" once, and the
** total's header, in that order.  Before, the kind's header was taken to
** be Link whatever it said. */
static void test_paginate_wants(void){
  static const PageKind xNext = { "xnext", 0, 0, 0, "X-Next-Page", 0, 0, 0, 0 };
  Paginate p;
  char *zErr = 0;
  memset(&p, 0, sizeof(p));
  p.pKind = &xNext;
  p.bLastLink = 1;
  p.zTotalHeader = sqlite3_mprintf("X-Total-Count");
  CHECK( paginate_check(&p, &zErr)==SQLITE_OK );
  CHECK( p.nWant==3 );
  CHECK( p.nWant==3 && strcmp(p.azWant[0], "X-Next-Page")==0 && strcmp(p.azWant[1], "Link")==0
         && strcmp(p.azWant[2], "X-Total-Count")==0 );
  paginate_clear(&p);
  /* The link kind with rel="last": Link once. */
  memset(&p, 0, sizeof(p));
  p.pKind = paginate_kind("link");
  p.bLastLink = 1;
  CHECK( paginate_check(&p, &zErr)==SQLITE_OK );
  CHECK( p.nWant==1 && strcmp(p.azWant[0], "Link")==0 );
  paginate_clear(&p);
  sqlite3_free(zErr);
}

/* url_strip_userinfo: the user and password go, nothing else changes, and
** what libcurl cannot parse comes back as it is (a redirect's garbage
** Location must reach url_check's refusal, not look like out of memory). */
static void test_url_strip_userinfo(void){
  static const char *const az[][2] = {
    { "http://u:p@h.example/a?b=1", "http://h.example/a?b=1" },
    { "http://u@h.example:8080/x", "http://h.example:8080/x" },
    { "http://h.example/a?b=1#f", "http://h.example/a?b=1#f" },
    { "http://h.example/a b", "http://h.example/a b" },
    { "ht!tp://\x01garbage", "ht!tp://\x01garbage" },
    { "", "" },
  };
  int i;
  for(i=0; i<(int)(sizeof(az)/sizeof(az[0])); i++){
    char *z = url_strip_userinfo(az[i][0]);
    CHECK( z!=0 && strcmp(z, az[i][1])==0 );
    if( z && strcmp(z, az[i][1])!=0 ) printf("  %s -> %s\n", az[i][0], z);
    sqlite3_free(z);
  }
}

/* url_has_query and request_target_scan: the two halves of the check that
** libcurl 7.88 sent the query it was asked for (on_debug, transfer.c).  The
** request head is scanned in every split into two pieces, as libcurl may
** show a partly sent head in more than one CURLINFO_HEADER_OUT call. */
static int target_state(const char *z, size_t nFirst){
  int eState = TARGET_METHOD;
  request_target_scan(&eState, z, nFirst);
  request_target_scan(&eState, z+nFirst, strlen(z)-nFirst);
  return eState;
}
static void test_request_target(void){
  static const struct { const char *zUrl; int bQuery; } aUrl[] = {
    { "http://h.example/p?a=1", 1 },
    { "http://h.example?a=1", 1 },          /* "?" ends the authority too */
    { "https://h.example:8443/p/q?x#frag", 1 },
    { "http://h.example/p", 0 },
    { "http://h.example/p?", 0 },           /* empty: nothing to lose */
    { "http://h.example/p?#f", 0 },
    { "http://h.example/p#f?a=1", 0 },      /* a "?" in the fragment */
    { "", 0 },
  };
  static const struct { const char *zHead; int eEnd; } aHead[] = {
    { "GET /p?a=1 HTTP/1.1\r\nHost: h\r\n\r\n", TARGET_QUERY },
    { "GET /p HTTP/1.1\r\nHost: h\r\nX-Q: a?b\r\n\r\n", TARGET_NO_QUERY },
    { "GET /conn?a=1&b=2 HTTP/2\r\nHost: h\r\n\r\n", TARGET_QUERY },
    { "POST / HTTP/1.1\r\n\r\n", TARGET_NO_QUERY },
    { "GET http://h.example/p?a=1 HTTP/1.1\r\n\r\n", TARGET_QUERY },   /* to a proxy */
    { "GET http://h.example/p HTTP/1.1\r\n\r\n", TARGET_NO_QUERY },
    { "GET\r\n", TARGET_NO_QUERY },
    { "GET /p?a", TARGET_QUERY },
    { "GET /p", TARGET_IN },                /* not all sent yet: no verdict */
    { "", TARGET_METHOD },
  };
  int i;
  size_t k;
  for(i=0; i<(int)(sizeof(aUrl)/sizeof(aUrl[0])); i++){
    CHECK( url_has_query(aUrl[i].zUrl)==aUrl[i].bQuery );
    if( url_has_query(aUrl[i].zUrl)!=aUrl[i].bQuery ) printf("  url %s\n", aUrl[i].zUrl);
  }
  for(i=0; i<(int)(sizeof(aHead)/sizeof(aHead[0])); i++){
    for(k=0; k<=strlen(aHead[i].zHead); k++){
      int e = target_state(aHead[i].zHead, k);
      CHECK( e==aHead[i].eEnd );
      if( e!=aHead[i].eEnd ) printf("  head %d split at %d: %d\n", i, (int)k, e);
    }
  }
}

/* header_lines_json: lower-case sorted names, repeats as arrays in order,
** values escaped, folded and malformed lines (no colon) left out. */
static void test_header_lines_json(void){
  static const struct { const char *zIn, *zOut; } a[] = {
    { "", "{}" },
    { "Content-Type: application/json\r\n", "{\"content-type\":\"application/json\"}" },
    { "X-B: 1\r\nX-A: \"q\"\\\r\nx-b: 2\r\nX-B: 3\r\n",
      "{\"x-a\":\"\\\"q\\\"\\\\\",\"x-b\":[\"1\",\"2\",\"3\"]}" },
    { "Empty:\r\nno colon\r\nA:  spaced \r\n", "{\"a\":\" spaced \",\"empty\":\"\"}" },
  };
  int i;
  for(i=0; i<(int)(sizeof(a)/sizeof(a[0])); i++){
    char *z = header_lines_json(a[i].zIn);
    CHECK( z && strcmp(z, a[i].zOut)==0 );
    if( z && strcmp(z, a[i].zOut)!=0 ) printf("  case %d: %s\n", i, z);
    sqlite3_free(z);
  }
}

/* on_status: an exact code wins over its class; nothing named: default. */
static void test_onstatus(void){
  Options o;
  char *zErr = 0;
  options_init(&o);
  CHECK( options_parse(&o, "{\"on_status\": {\"4xx\": \"skip\", \"404\": \"data\", "
                       "\"409\": \"retry\", \"5XX\": \"fail\"}}", &zErr)==SQLITE_OK );
  CHECK( onstatus_action(&o, 404)==STATUS_DATA );
  CHECK( onstatus_action(&o, 410)==STATUS_SKIP );
  CHECK( onstatus_action(&o, 409)==STATUS_RETRY );
  CHECK( onstatus_action(&o, 599)==STATUS_FAIL );
  CHECK( onstatus_action(&o, 200)==STATUS_DEFAULT );
  CHECK( onstatus_action(&o, 0)==STATUS_DEFAULT );
  CHECK( onstatus_action(&o, 600)==STATUS_DEFAULT );
  CHECK( options_parse(&o, "{\"on_status\": null}", &zErr)==SQLITE_OK );
  CHECK( onstatus_action(&o, 404)==STATUS_DEFAULT );
  sqlite3_free(zErr);
  options_clear(&o);
}

/* formats.c: auto's map, NDJSON lines, text charsets (no I/O). */
static void test_formats(void){
  LineIter it;
  JsonSpan v;
  char *zOut = 0, *zWhy = 0;
  size_t n = 0;
  static const char zLines[] = "{\"a\":1}\r\n\n  \n\x1e[2]\n{\"b\"";
  CHECK( format_auto("application/x-ndjson")==FMT_NDJSON );
  CHECK( format_auto("Application/JSON-Seq; charset=utf-8")==FMT_NDJSON );
  CHECK( format_auto("application/jsonl")==FMT_NDJSON );
  CHECK( format_auto("application/json")==FMT_JSON );
  CHECK( format_auto("application/problem+json")==FMT_JSON );
  CHECK( format_auto("text/csv; charset=utf-8")==FMT_TEXT );
  CHECK( format_auto("application/atom+xml")==FMT_TEXT );
  CHECK( format_auto("image/png")==FMT_BLOB );
  CHECK( format_auto(0)==FMT_BLOB );
  CHECK( format_of(FMT_AUTO, 0, "text/html")==FMT_TEXT );
  CHECK( format_of(FMT_AUTO, 1+FMT_BLOB, "text/html")==FMT_BLOB );
  CHECK( format_of(FMT_NDJSON, 0, "text/html")==FMT_NDJSON );
  /* Blank lines are numbered but skipped; the last line needs no newline. */
  lines_begin(&it, zLines, sizeof(zLines)-1, 10);
  CHECK( lines_next(&it, &v) && it.iLine==11 && v.n==7 && memcmp(v.z, "{\"a\":1}", 7)==0 );
  CHECK( lines_next(&it, &v) && it.iLine==14 && v.n==3 && memcmp(v.z, "[2]", 3)==0 );
  CHECK( lines_next(&it, &v) && it.iLine==15 && v.n==4 );
  CHECK( !lines_next(&it, &v) );
  /* Text: UTF-8 as it is, checked; Latin-1 converted; the unknown named. */
  CHECK( format_text("caf\xc3\xa9", 5, "text/plain", &zOut, &n, &zWhy)==SQLITE_OK && zOut==0 );
  CHECK( format_text("\xed\xa0\x80", 3, 0, &zOut, &n, &zWhy)==SQLITE_ERROR
         && strstr(zWhy, "not valid UTF-8 (at byte 0)")!=0 );
  sqlite3_free(zWhy);
  CHECK( format_text("\xc0\xaf", 2, 0, &zOut, &n, &zWhy)==SQLITE_ERROR );   /* overlong */
  sqlite3_free(zWhy);
  CHECK( format_text("caf\xe9", 4, "text/plain; charset=\"ISO-8859-1\"", &zOut, &n, &zWhy)
         ==SQLITE_OK && n==5 && memcmp(zOut, "caf\xc3\xa9", 5)==0 );
  sqlite3_free(zOut);
  CHECK( format_text("a", 1, "text/plain;charset=no-such-set", &zOut, &n, &zWhy)==SQLITE_ERROR
         && strstr(zWhy, "\"no-such-set\"")!=0 );
  sqlite3_free(zWhy);
}

/* libcurl's allocations, counted: the unit tests give libcurl these
** (curl_global_init_mem) so that a test can see what a call cost it. */
static long nCurlAlloc;
static void *count_malloc(size_t n){ nCurlAlloc++; return malloc(n); }
static void count_free(void *p){ free(p); }
static void *count_realloc(void *p, size_t n){ nCurlAlloc++; return realloc(p, n); }
static char *count_strdup(const char *z){ nCurlAlloc++; return strdup(z); }
static void *count_calloc(size_t n, size_t m){ nCurlAlloc++; return calloc(n, m); }

/* url_check of a plain URL: no parse by libcurl (which parses it again when
** it is fetched; the second parse was 6% of a small request's instructions),
** and a URL it is not sure of goes to libcurl's parser as before. */
static void test_url_check_plain(void){
  static const char *const azPlain[] = {
    "http://127.0.0.1:8080/w3/17.json", "https://api.example.com/v1/items?page=2&q=a,b",
    "http://h.example", "http://h.example?x=1", "https://a-b.c.example:443/p/;x=1/~u/",
  };
  static const char *const azBad[] = {
    "ftp://h.example/", "http://", "http://h.example/a b", "http://h.example:99999/", "file:///etc/passwd",
  };
  int i;
  for(i=0; i<(int)(sizeof(azPlain)/sizeof(azPlain[0])); i++){
    char *zWhy = 0;
    long n0 = nCurlAlloc;
    CHECK( url_check(azPlain[i], &zWhy)==SQLITE_OK && zWhy==0 );
    CHECK( nCurlAlloc==n0 );
    if( nCurlAlloc!=n0 ) printf("  %s: %ld libcurl allocations\n", azPlain[i], nCurlAlloc-n0);
  }
  for(i=0; i<(int)(sizeof(azBad)/sizeof(azBad[0])); i++){
    char *zWhy = 0;
    CHECK( url_check(azBad[i], &zWhy)==SQLITE_ERROR && zWhy!=0 );
    sqlite3_free(zWhy);
  }
}

/* url_is_plain says yes only where libcurl's parser agrees: the cases
** near its edges, then random strings over URL characters (a fixed seed),
** each that url_is_plain takes set into a CURLU with the scheme it says. */
static int curl_takes(const char *z){
  CURLU *h = curl_url();
  char *zScheme = 0;
  int bOk = h && curl_url_set(h, CURLUPART_URL, z, 0)==CURLUE_OK
         && curl_url_get(h, CURLUPART_SCHEME, &zScheme, 0)==CURLUE_OK
         && (strcmp(zScheme, "http")==0 || strcmp(zScheme, "https")==0);
  curl_free(zScheme);
  curl_url_cleanup(h);
  return bOk;
}
static void test_url_is_plain(void){
  static const struct { const char *z; int bPlain; } a[] = {
    { "http://127.0.0.1:8080/w3/17.json", 1 }, { "https://h.example/a?b=c&d=e,f", 1 },
    { "http://h.example:65535", 1 }, { "http://a-1.b2.example/(x)*'!$+;=:@/", 1 },
    { "http://h.example/%20", 0 },    { "http://[::1]/", 0 },      { "http://u@h.example/", 0 },
    { "HTTP://h.example/", 0 },       { "http://1.2.3.999/", 0 },  { "http://0x7f.1/", 0 },
    { "http://01.2.3.4/", 0 },        { "http://1.2.3/", 0 },      { "http://h.example./", 0 },
    { "http://1.2.3.7777777777777777777777/", 0 },  /* found by make fuzz: an int overflow */
    { "http://h.example:0/", 0 },     { "http://h.example:/", 0 }, { "http://h.example:65536/", 0 },
    { "http://h.example/#f", 0 },     { "http://h.example/a b", 0 }, { "http://-h.example/", 0 },
    { "http://h-.example/", 0 },      { "http://a..b/", 0 },       { "http:///p", 0 },
    { "http://", 0 },                 { "ftp://h.example/", 0 },   { "http://h.example\\p", 0 },
    { "http://h.example/\x7f", 0 },   { "http://h.example/\xc3\xa9", 0 }, { "", 0 },
  };
  static const char azPrefix[][9] = { "http://", "https://" };
  static const char zGood[] = "ab9Z0.-.-:/?=&1";       /* mostly: the edges come often */
  static const char zAny[] = "aZ09-._~!$&'()*+,;=:@/?#%[] \\\x01\x7f\xc3";
  unsigned x = 20261206;
  int i, j, nPlain = 0;
  for(i=0; i<(int)(sizeof(a)/sizeof(a[0])); i++){
    CHECK( url_is_plain(a[i].z)==a[i].bPlain );
    if( url_is_plain(a[i].z)!=a[i].bPlain ) printf("  %s\n", a[i].z);
    if( a[i].bPlain ) CHECK( curl_takes(a[i].z) );
  }
  for(i=0; i<50000; i++){
    char z[40];
    int n = (int)strlen(azPrefix[i&1]), nLen;
    memcpy(z, azPrefix[i&1], n);
    x = x*1103515245u + 12345u;
    nLen = n + (int)((x>>16) % (sizeof(z)-n));
    for(j=n; j<nLen; j++){
      x = x*1103515245u + 12345u;
      z[j] = (x>>16)%16 ? zGood[(x>>20) % (sizeof(zGood)-1)] : zAny[(x>>20) % (sizeof(zAny)-1)];
    }
    z[j] = 0;
    if( url_is_plain(z) ){
      nPlain++;
      CHECK( curl_takes(z) );
      if( !curl_takes(z) ) printf("  libcurl refuses %s\n", z);
    }
  }
  CHECK( nPlain>1000 );       /* the generator reaches the fast path */
}

int main(void){
  sqlite3_initialize();
  curl_global_init_mem(CURL_GLOBAL_DEFAULT, count_malloc, count_free, count_realloc,
                       count_strdup, count_calloc);
  run("json_validate", test_json_validate);
  run("json_deep_nesting", test_json_deep);
  run("json_set_path", test_json_set_path);
  run("records", test_records);
  run("string_decode", test_string_decode);
  run("policy_retryable", test_policy_retryable);
  run("policy_backoff", test_policy_backoff);
  run("retry_after", test_retry_after);
  run("ratelimit", test_ratelimit);
  run("http_date", test_http_date);
  run("token_bucket", test_bucket);
  run("header_lines_json", test_header_lines_json);
  run("onstatus", test_onstatus);
  run("options", test_options);
  run("url_list", test_urllist);
  run("schema_repeats", test_schema_repeats);
  run("schema_columns", test_schema_columns);
  run("number_reals", test_number_reals);
  run("paginate_wants", test_paginate_wants);
  run("url_strip_userinfo", test_url_strip_userinfo);
  run("request_target", test_request_target);
  run("url_check_plain", test_url_check_plain);
  run("url_is_plain", test_url_is_plain);
  run("block_private_v4", test_block_private_v4);
  run("block_private_v6", test_block_private_v6);
  run("allow_hosts_ports", test_allow_hosts_ports);
  run("guard_refusals", test_guard_refusals);
  run("sha256_vectors", test_sha256_vectors);
  run("sha256_splits", test_sha256_splits);
  run("cache_control", test_cache_control);
  run("cache_fields", test_cache_fields);
  run("cache_storable", test_cache_storable);
  run("cache_freshness", test_cache_freshness);
  run("cache_age", test_cache_age);
  run("cache_stale_if_error", test_cache_stale_if_error);
  run("formats", test_formats);
  if( getenv("APIFETCH_UNIT_SELFTEST") ) run("selftest_fails", test_selftest_fails);
  curl_global_cleanup();
  return nFailedTests ? 1 : 0;
}
