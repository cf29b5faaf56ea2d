/*
** fuzz_args.c - libFuzzer target for the argument parsers of api_fetch:
** options_parse (the options JSON), options_set + options_check (one
** CREATE VIRTUAL TABLE key=value), urllist_open/urllist_next (url_list,
** JSON array or one URL a line) and request_from_text (a url_query row).
**
** Built and run by `make fuzz` (clang -fsanitize=fuzzer,address,undefined).
**
** Input: up to three parts separated by the two bytes 0xFF 0xFF (never
** valid UTF-8, so they do not occur in meaningful text):
**   options text \xFF\xFF url_list text \xFF\xFF url_query row text
** With no separator the whole input is used for all three.  The options
** text is passed as a C string (as sqlite3_value_text gives it); url_list
** and the url_query row are passed with their length and may hold NULs,
** as sqlite3_value_bytes allows.  When the options parse, their headers
** are merged into the requests.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "apifetch.h"
#include "fuzz.h"

static void touch_str(const char *z){
  if( z ) touch(z, strlen(z) + 1);
}

static void read_request(const Request *r){
  const struct curl_slist *h;
  touch_str(r->zUrl);
  touch_str(r->zMethod);
  if( r->pBody ) touch(r->pBody, r->nBody);
  for(h=r->pHeaders; h; h=h->next) touch_str(h->data);
  gSink += (unsigned long long)r->iIndex;
}

static void read_options(const Options *o){
  int i;
  touch_str(o->user_agent);
  touch_str(o->ca_file);
  for(i=0; i<o->nHeader; i++) touch_str(o->azHeader[i]);
  for(i=0; i<o->recordPath.n; i++) touch_str(o->recordPath.az[i]);
}

/* The key of the option to try: every setting of aKnob[] (the one list,
** so a new option is fuzzed without a line here; settings that are not
** options exercise the refusal), or a name that is none. */
static const char *opt_key(unsigned h){
  static const char *const azNone[] = { "", "timeout", "no_such_option" };
  unsigned n = (unsigned)nKnob + (unsigned)(sizeof(azNone)/sizeof(azNone[0]));
  h %= n;
  return h<(unsigned)nKnob ? aKnob[h].zName : azNone[h - (unsigned)nKnob];
}

/* An exact-size sqlite3_malloc'd copy of z[0..n), NUL-terminated. */
static char *copy(const unsigned char *z, size_t n){
  char *p = sqlite3_malloc64(n + 1);
  if( p==0 ) abort();
  memcpy(p, z, n);
  p[n] = 0;
  return p;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size){
  const unsigned char *aPart[3];
  size_t nPart[3];
  int nFound = 0, i, rc;
  size_t start = 0, j;
  Options opt, opt2;
  char *zErr = 0;
  char *zOpt;
  unsigned h = 0;

  /* Split on \xFF\xFF. */
  for(j=0; j+1<size && nFound<2; j++){
    if( data[j]==0xFF && data[j+1]==0xFF ){
      aPart[nFound] = data + start;
      nPart[nFound] = j - start;
      nFound++;
      start = j + 2;
      j++;
    }
  }
  aPart[nFound] = data + start;
  nPart[nFound] = size - start;
  nFound++;
  for(i=nFound; i<3; i++){
    aPart[i] = data;
    nPart[i] = size;
  }

  /* options: the JSON object of the table-valued function. */
  zOpt = copy(aPart[0], nPart[0]);
  options_init(&opt);
  rc = options_parse(&opt, zOpt, &zErr);
  if( rc==SQLITE_OK ){
    if( zErr ) abort();                 /* no message on success */
    read_options(&opt);
  }else{
    touch_str(zErr);
    options_clear(&opt);                /* what an error leaves must free */
    options_init(&opt);
  }
  sqlite3_free(zErr);
  zErr = 0;

  /* One CREATE VIRTUAL TABLE option, key=value, with the same text. */
  for(j=0; j<nPart[0]; j++) h = h*31 + aPart[0][j];
  options_init(&opt2);
  rc = options_set(&opt2, opt_key((unsigned)h), zOpt, &zErr);
  if( rc==SQLITE_OK ) rc = options_check(&opt2, &zErr);
  if( rc==SQLITE_OK ) read_options(&opt2);
  touch_str(zErr);
  sqlite3_free(zErr);
  zErr = 0;
  options_clear(&opt2);
  sqlite3_free(zOpt);

  /* url_list: validated when opened, then streamed. */
  {
    UrlList list;
    char *z = copy(aPart[1], nPart[1]);
    rc = urllist_open(&list, z, nPart[1], &opt, &zErr);   /* takes z */
    if( rc==SQLITE_OK ){
      Request req;
      sqlite3_int64 nSeen = 0;
      while( (rc = urllist_next(&list, &req, &zErr))==1 ){
        if( req.zUrl==0 || req.iIndex!=nSeen ) abort();
        read_request(&req);
        request_clear(&req);
        nSeen++;
      }
      /* Every item was checked by urllist_open: none may fail now. */
      if( rc!=0 || nSeen!=list.nTotal ) abort();
    }else{
      touch_str(zErr);
    }
    sqlite3_free(zErr);
    zErr = 0;
    urllist_close(&list);
  }

  /* url_query: one row of the query's text. */
  {
    Request req;
    char *z = copy(aPart[2], nPart[2]);
    memset(&req, 0, sizeof(req));       /* not set on every error path */
    rc = request_from_text(z, nPart[2], 7, &opt, &req, &zErr);
    if( rc==SQLITE_OK ){
      if( req.zUrl==0 ) abort();
      read_request(&req);
    }else{
      touch_str(zErr);
    }
    request_clear(&req);
    sqlite3_free(zErr);
    zErr = 0;
    sqlite3_free(z);
  }

  options_clear(&opt);
  return 0;
}
