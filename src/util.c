/*
** util.c - helpers at the bottom of the extension: they call libcurl,
** SQLite's allocator and the C library, nothing of apifetch's above them.
**
**   url_same_origin("https://a.example/x", "https://A.example:443/y")  -> 1
**   url_has_scheme("items?next=https://x")                            -> 0
*/
#include <strings.h>
#include "apifetch.h"

int url_same_origin(const char *a, const char *b){
  static const CURLUPart aPart[] = { CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT };
  CURLU *ha = curl_url(), *hb = curl_url();
  CURLUcode uc = CURLUE_OUT_OF_MEMORY;
  int i, bSame = ha && hb && (uc = curl_url_set(ha, CURLUPART_URL, a, 0))==CURLUE_OK
                          && (uc = curl_url_set(hb, CURLUPART_URL, b, 0))==CURLUE_OK;
  for(i=0; bSame && i<3; i++){
    char *za = 0, *zb = 0;
    if( curl_url_get(ha, aPart[i], &za, CURLU_DEFAULT_PORT)==CURLUE_OUT_OF_MEMORY
     || curl_url_get(hb, aPart[i], &zb, CURLU_DEFAULT_PORT)==CURLUE_OUT_OF_MEMORY ){
      uc = CURLUE_OUT_OF_MEMORY;
    }
    bSame = za && zb && strcasecmp(za, zb)==0;
    curl_free(za);
    curl_free(zb);
  }
  curl_url_cleanup(ha);
  curl_url_cleanup(hb);
  /* Not 0: callers would take it for another origin and drop credentials. */
  return uc==CURLUE_OUT_OF_MEMORY ? -1 : bSame;
}

int url_has_scheme(const char *z){
  /* RFC 3986 section 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
  const char *s = z;
  if( !((*s>='a' && *s<='z') || (*s>='A' && *s<='Z')) ) return 0;
  for(s++; (*s>='a' && *s<='z') || (*s>='A' && *s<='Z') || (*s>='0' && *s<='9')
           || *s=='+' || *s=='-' || *s=='.'; s++){}
  return *s==':';
}
