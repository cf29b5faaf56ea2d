/*
** bench_libcurl.c - make bench's "libcurl" peers: the least a client of
** this machine's libcurl can spend on a list of URLs, so that apifetch's
** requests/s can be read against what its HTTP library allows.
**
**   tests/bench_libcurl URLS.txt C fresh|reuse [--http2] [--cacert FILE]
**
** One URL a line; C transfers at a time on one multi handle driven by
** curl_multi_perform and curl_multi_poll (what apifetch's engine does for a
** window of at most 64); TLS sessions shared (a share handle, as apifetch);
** bodies counted and dropped; no headers of its own, no rows, no SQLite.
**
**   fresh   a new easy handle for every transfer: what apifetch must do on
**           libcurl before 8.1.0 (src/transfer.c, transfer_setup: curl
**           issue 11101, a double free when a handle is used again)
**   reuse   each easy handle used again with only a new CURLOPT_URL: the
**           floor on this libcurl, safe only from 8.1.0
**
** Prints "N done, F failed, B bytes"; exits 1 if any transfer failed or its
** status was not 200.
*/
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Floor Floor;
struct Floor {
  int bFresh, bHttp2;
  const char *zCa;
  CURLSH *share;
  size_t nByte;
};

static size_t on_body(char *p, size_t sz, size_t n, void *pArg){
  (void)p;
  ((Floor*)pArg)->nByte += sz*n;
  return sz*n;
}

/* The options every transfer has (set again on a fresh handle). */
static CURL *floor_handle(Floor *f){
  CURL *h = curl_easy_init();
  if( h==0 ) return 0;
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
  curl_easy_setopt(h, CURLOPT_SHARE, f->share);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if( f->bHttp2 ){
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
  }else{
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  }
  if( f->zCa ) curl_easy_setopt(h, CURLOPT_CAINFO, f->zCa);
  return h;
}

static char **read_lines(const char *zPath, size_t *pn){
  FILE *in = fopen(zPath, "r");
  char **a = 0, line[8192];
  size_t n = 0, cap = 0;
  if( in==0 ){ perror(zPath); exit(2); }
  while( fgets(line, sizeof(line), in) ){
    line[strcspn(line, "\r\n")] = 0;
    if( line[0]==0 ) continue;
    if( n==cap ){
      cap = cap ? 2*cap : 1024;
      if( (a = realloc(a, cap*sizeof(*a)))==0 ){ perror("realloc"); exit(2); }
    }
    if( (a[n++] = strdup(line))==0 ){ perror("strdup"); exit(2); }
  }
  fclose(in);
  *pn = n;
  return a;
}

int main(int argc, char **argv){
  Floor f;
  CURLM *m;
  char **azUrl;
  size_t nUrl, iNext = 0, nDone = 0, nFail = 0, i;
  int c, k;
  if( argc<4 || (c = atoi(argv[2]))<1
   || (strcmp(argv[3], "fresh")!=0 && strcmp(argv[3], "reuse")!=0) ){
    fprintf(stderr, "usage: %s URLS.txt C fresh|reuse [--http2] [--cacert FILE]\n", argv[0]);
    return 2;
  }
  memset(&f, 0, sizeof(f));
  f.bFresh = strcmp(argv[3], "fresh")==0;
  for(k=4; k<argc; k++){
    if( strcmp(argv[k], "--http2")==0 ) f.bHttp2 = 1;
    else if( strcmp(argv[k], "--cacert")==0 && k+1<argc ) f.zCa = argv[++k];
    else{ fprintf(stderr, "%s: unknown argument %s\n", argv[0], argv[k]); return 2; }
  }
  azUrl = read_lines(argv[1], &nUrl);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  f.share = curl_share_init();
  curl_share_setopt(f.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt(f.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  m = curl_multi_init();
  for(k=0; k<c && iNext<nUrl; k++){
    CURL *h = floor_handle(&f);
    if( h==0 ){ fprintf(stderr, "curl_easy_init failed\n"); return 2; }
    curl_easy_setopt(h, CURLOPT_URL, azUrl[iNext++]);
    curl_multi_add_handle(m, h);
  }
  while( nDone<nUrl ){
    CURLMsg *msg;
    int nRun, nQ;
    if( curl_multi_perform(m, &nRun)!=CURLM_OK ){ fprintf(stderr, "multi failed\n"); return 2; }
    while( (msg = curl_multi_info_read(m, &nQ))!=0 ){
      CURL *h = msg->easy_handle;
      long st = 0;
      if( msg->msg!=CURLMSG_DONE ) continue;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
      if( msg->data.result!=CURLE_OK || st!=200 ){
        if( nFail++<5 ){
          fprintf(stderr, "failed: %s (status %ld)\n", curl_easy_strerror(msg->data.result), st);
        }
      }
      nDone++;
      curl_multi_remove_handle(m, h);
      if( iNext<nUrl ){
        if( f.bFresh ){
          curl_easy_cleanup(h);
          if( (h = floor_handle(&f))==0 ){ fprintf(stderr, "curl_easy_init failed\n"); return 2; }
        }
        curl_easy_setopt(h, CURLOPT_URL, azUrl[iNext++]);
        curl_multi_add_handle(m, h);
      }else{
        curl_easy_cleanup(h);
      }
    }
    if( nDone<nUrl ) curl_multi_poll(m, 0, 0, 1000, 0);
  }
  printf("%zu done, %zu failed, %zu bytes\n", nDone, nFail, f.nByte);
  curl_multi_cleanup(m);
  curl_share_cleanup(f.share);
  curl_global_cleanup();
  for(i=0; i<nUrl; i++) free(azUrl[i]);
  free(azUrl);
  return nFail!=0;
}
