/*
** util.c - the leaf helpers: growable buffers, lists of strings, dotted
** paths, URLs, the clock.  They call libcurl, cJSON, SQLite's allocator and
** the C library, and nothing of apifetch's above them (as curl's
** lib/curlx/dynbuf.c is to the rest of curl).
**
**   Buf b = {0, 0, 0, 0};
**   buf_append(&b, STRCONST("abc"));      -- b.bOom says if any append failed
**   url_same_origin("https://a.example/x", "https://A.example:443/y", &b)  -> b 1
**   url_has_scheme("items?next=https://x")                            -> 0
**   url_with_param("http://h/p?a=1", "page", "2")   -> "http://h/p?a=1&page=2"
**   url_has_query("http://h/p?a=1#f")                                 -> 1
*/
#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <sys/resource.h>
#include <pthread.h>
#include "apifetch.h"

int url_same_origin(const char *a, const char *b, int *pbSame){
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
  /* Not "another origin": callers would drop credentials for want of memory. */
  *pbSame = bSame;
  return uc==CURLUE_OUT_OF_MEMORY ? SQLITE_NOMEM : SQLITE_OK;
}

int url_has_userinfo(const char *zUrl, int *pbHas){
  CURLU *h = curl_url();
  char *z = 0;
  CURLUcode uc = h ? curl_url_set(h, CURLUPART_URL, zUrl, 0) : CURLUE_OUT_OF_MEMORY;
  int bHas = 0;
  if( uc==CURLUE_OK ){
    uc = curl_url_get(h, CURLUPART_USER, &z, 0);
    bHas = uc==CURLUE_OK;
    curl_free(z);
  }
  curl_url_cleanup(h);
  *pbHas = bHas;
  return uc==CURLUE_OUT_OF_MEMORY ? SQLITE_NOMEM : SQLITE_OK;
}

char *url_strip_userinfo(const char *zUrl){
  CURLU *h = curl_url();
  char *z = 0, *zOut = 0;
  CURLUcode uc = h ? curl_url_set(h, CURLUPART_URL, zUrl, 0) : CURLUE_OUT_OF_MEMORY;
  if( uc==CURLUE_OK ){
    uc = curl_url_get(h, CURLUPART_USER, &z, 0);
    curl_free(z);
    z = 0;
    if( uc==CURLUE_NO_USER ){
      /* Untouched when it has none: libcurl would also normalise it. */
      zOut = sqlite3_mprintf("%s", zUrl);
    }else if( uc==CURLUE_OK ){
      uc = curl_url_set(h, CURLUPART_USER, 0, 0);
      if( uc==CURLUE_OK ) uc = curl_url_set(h, CURLUPART_PASSWORD, 0, 0);
      if( uc==CURLUE_OK ) uc = curl_url_get(h, CURLUPART_URL, &z, 0);
      if( uc==CURLUE_OK ) zOut = sqlite3_mprintf("%s", z);
      curl_free(z);
    }
  }else if( uc!=CURLUE_OUT_OF_MEMORY ){
    /* Not a URL libcurl can take apart, so not one it wrote credentials
    ** into: as it is (url_check says what is wrong with it). */
    zOut = sqlite3_mprintf("%s", zUrl);
  }
  curl_url_cleanup(h);
  return zOut;
}

int url_has_query(const char *zUrl){
  /* RFC 3986 section 3.4: the query starts at the first "?" and ends at a
  ** "#"; before either, a "?" also ends the authority, as libcurl reads it. */
  const char *z = zUrl + strcspn(zUrl, "?#");
  return z[0]=='?' && z[1]!=0 && z[1]!='#';
}

void request_target_scan(int *pState, const char *p, size_t n){
  size_t i;
  for(i=0; i<n && *pState<TARGET_QUERY; i++){
    char c = p[i];
    if( *pState==TARGET_METHOD ){
      if( c==' ' ) *pState = TARGET_IN;
      else if( c=='\r' || c=='\n' ) *pState = TARGET_NO_QUERY;
    }else if( c=='?' ){
      *pState = TARGET_QUERY;
    }else if( c==' ' || c=='\r' || c=='\n' ){
      *pState = TARGET_NO_QUERY;
    }
  }
}

int url_has_scheme(const char *z){
  /* RFC 3986 section 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
  const char *s = z;
  if( !((*s>='a' && *s<='z') || (*s>='A' && *s<='Z')) ) return 0;
  for(s++; (*s>='a' && *s<='z') || (*s>='A' && *s<='Z') || (*s>='0' && *s<='9')
           || *s=='+' || *s=='-' || *s=='.'; s++){}
  return *s==':';
}

/**************************************************************************
** Growable buffers
*/
int buf_reserve(Buf *b, size_t nMore){
  if( b->n + nMore + 1 > b->nAlloc ){
    size_t nNew = b->nAlloc ? b->nAlloc*2 : 512;
    char *z;
    while( nNew < b->n + nMore + 1 ) nNew *= 2;
    z = sqlite3_realloc64(b->z, nNew);
    if( z==0 ){ b->bOom = 1; return SQLITE_NOMEM; }
    b->z = z;
    b->nAlloc = nNew;
  }
  return SQLITE_OK;
}

void buf_append(Buf *b, const char *z, size_t n){
  if( buf_reserve(b, n) ) return;
  memcpy(b->z + b->n, z, n);
  b->n += n;
  b->z[b->n] = 0;
}

/* Is z[0..n) UTF-8 (RFC 3629: no overlongs, no surrogates, at most
** U+10FFFF)?  The offset of the first byte that is not, or n. */
size_t utf8_check(const unsigned char *z, size_t n){
  size_t i = 0;
  while( i<n ){
    unsigned c = z[i];
    size_t k, len;
    unsigned lo = 0x80, hi = 0xbf;
    if( c<0x80 ){ i++; continue; }
    if( c>=0xc2 && c<=0xdf ) len = 2;
    else if( c>=0xe0 && c<=0xef ){ len = 3; if( c==0xe0 ) lo = 0xa0; if( c==0xed ) hi = 0x9f; }
    else if( c>=0xf0 && c<=0xf4 ){ len = 4; if( c==0xf0 ) lo = 0x90; if( c==0xf4 ) hi = 0x8f; }
    else return i;
    if( i+len>n ) return i;
    for(k=1; k<len; k++){
      unsigned d = z[i+k];
      if( d<(k==1 ? lo : 0x80) || d>(k==1 ? hi : 0xbf) ) return i;
    }
    i += len;
  }
  return n;
}

/* Append z[0..n) as a JSON string literal: always valid UTF-8, whatever z
** holds.  Bytes that are not UTF-8 (a server's header value: RFC 9110
** section 5.5's obs-text) are read as ISO-8859-1, as Python's http.client
** and the Fetch standard read them, each byte its code point: SQLite would
** keep them in TEXT without a word, and Python's sqlite3 (so Datasette)
** could not read the row. */
void buf_append_json_string(Buf *b, const char *z, size_t n){
  static const char hex[] = "0123456789abcdef";
  int bLatin1 = utf8_check((const unsigned char*)z, n)<n;
  size_t i;
  if( buf_reserve(b, n*6 + 2) ) return;
  b->z[b->n++] = '"';
  for(i=0; i<n; i++){
    unsigned char c = (unsigned char)z[i];
    if( c=='"' || c=='\\' ){
      b->z[b->n++] = '\\';
      b->z[b->n++] = (char)c;
    }else if( c<0x20 || (bLatin1 && c>=0x80) ){
      memcpy(b->z + b->n, "\\u00", 4);
      b->z[b->n+4] = hex[c>>4];
      b->z[b->n+5] = hex[c&15];
      b->n += 6;
    }else{
      b->z[b->n++] = (char)c;
    }
  }
  b->z[b->n++] = '"';
  b->z[b->n] = 0;
}

/* A copy of z that is UTF-8 TEXT: as it is if it is that already, else
** each byte read as ISO-8859-1 (as buf_append_json_string does).  NULL on
** out of memory. */
char *text_utf8_dup(const char *z){
  size_t n = strlen(z), i, j = 0;
  char *zOut;
  if( utf8_check((const unsigned char*)z, n)==n ) return sqlite3_mprintf("%s", z);
  zOut = sqlite3_malloc64(n*2 + 1);
  if( zOut==0 ) return 0;
  for(i=0; i<n; i++){
    unsigned char c = (unsigned char)z[i];
    if( c<0x80 ){
      zOut[j++] = (char)c;
    }else{
      zOut[j++] = (char)(0xc0 | (c>>6));
      zOut[j++] = (char)(0x80 | (c&0x3f));
    }
  }
  zOut[j] = 0;
  return zOut;
}

/* One line of a block of header lines, for header_lines_json. */
typedef struct HeaderLine HeaderLine;
struct HeaderLine {
  char *zName;                    /* Lower-cased copy, NUL-terminated (in one allocation) */
  const char *zValue;             /* In the block; nValue bytes */
  size_t nValue;
  int i;                          /* Its place in the block: repeats keep their order */
};

static int header_line_cmp(const void *a, const void *b){
  const HeaderLine *x = a, *y = b;
  int c = strcmp(x->zName, y->zName);
  return c ? c : x->i - y->i;
}

/* Sorted, then grouped: n log n for a block of n lines, where looking up
** each name among those before it would be n squared, and a server picks n. */
char *header_lines_json(const char *zLines){
  HeaderLine *a;
  char *zNames;
  const char *z;
  size_t nLine = 0, nByte = strlen(zLines), k;
  int i, n = 0;
  Buf b = {0, 0, 0, 0};
  for(z=zLines; *z; z++) if( *z=='\n' ) nLine++;
  a = sqlite3_malloc64(sizeof(HeaderLine)*(nLine+1) + nByte + 1);
  if( a==0 ) return 0;
  zNames = (char*)&a[nLine+1];
  for(z=zLines; *z; ){
    size_t nThis = strcspn(z, "\r\n"), nName = strcspn(z, ":\r\n");
    if( nName<nThis && nName>0 ){
      a[n].zName = zNames;
      for(k=0; k<nName; k++) zNames[k] = (char)tolower((unsigned char)z[k]);
      zNames[nName] = 0;
      zNames += nName+1;
      a[n].zValue = z + nName + 1;
      a[n].nValue = nThis - nName - 1;
      if( a[n].nValue>0 && a[n].zValue[0]==' ' ){ a[n].zValue++; a[n].nValue--; }
      a[n].i = n;
      n++;
    }
    z += nThis;
    while( *z=='\r' || *z=='\n' ) z++;
  }
  assert( (size_t)n<=nLine+1 );
  qsort(a, (size_t)n, sizeof(a[0]), header_line_cmp);
  buf_append(&b, STRCONST("{"));
  for(i=0; i<n && !b.bOom; ){
    int j = i+1, bMany;
    while( j<n && strcmp(a[j].zName, a[i].zName)==0 ) j++;
    bMany = j-i>1;
    if( i ) buf_append(&b, STRCONST(","));
    buf_append_json_string(&b, a[i].zName, strlen(a[i].zName));
    buf_append(&b, bMany ? ":[" : ":", bMany ? 2 : 1);
    for(; i<j; i++){
      buf_append_json_string(&b, a[i].zValue, a[i].nValue);
      if( i+1<j ) buf_append(&b, STRCONST(","));
    }
    if( bMany ) buf_append(&b, STRCONST("]"));
  }
  buf_append(&b, STRCONST("}"));
  sqlite3_free(a);
  if( b.bOom ){ buf_free(&b); return 0; }
  return b.z;
}

void buf_free(Buf *b){
  sqlite3_free(b->z);
  memset(b, 0, sizeof(*b));
}

void strlist_free(char **az, int n){
  int i;
  /* NULL is an empty list whatever n says: a copy that failed for lack of
  ** memory leaves its count behind (guard_set's n = *g). */
  if( az==0 ) return;
  for(i=0; i<n; i++) sqlite3_free(az[i]);
  sqlite3_free(az);
}

int path_split(const char *z, char ***paz, int *pn){
  int n = 1, i;
  const char *s;
  char **az;
  for(s=z; *s; s++) if( *s=='.' ) n++;
  az = sqlite3_malloc64(sizeof(char*)*(size_t)n);
  if( az==0 ) return SQLITE_NOMEM;
  for(i=0; i<n; i++){
    const char *e = strchr(z, '.');
    size_t len = e ? (size_t)(e-z) : strlen(z);
    if( len==0 ){ strlist_free(az, i); return SQLITE_ERROR; }
    az[i] = sqlite3_mprintf("%.*s", (int)len, z);
    if( az[i]==0 ){ strlist_free(az, i); return SQLITE_NOMEM; }
    z += len + 1;
  }
  *paz = az;
  *pn = n;
  return SQLITE_OK;
}

int json_key_repeated(const cJSON *pObj, const cJSON *v){
  const cJSON *w;
  for(w=pObj->child; w!=v; w=w->next){
    if( strcmp(w->string, v->string)==0 ) return 1;
  }
  return 0;
}

/* Does this libcurl speak https?  Asked once: curl_version_info formats
** its TLS library's version on every call. */
static int bHttpsBuilt = 0;
static void https_built_now(void){
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  const char *const *az;
  for(az=v->protocols; az && *az; az++){
    if( strcmp(*az, "https")==0 ) bHttpsBuilt = 1;
  }
}

/* Characters of a plain URL's path and query: RFC 3986's unreserved and
** sub-delims, ":" "@" "/" "?".  Not "%" (libcurl 8 checks escapes in some
** places), "#", "\\", space, controls or bytes over 0x7f: URLs with those
** take libcurl's parser.  A bit per character (0-63, 64-127): a strchr
** per character cost a sixth of the parse it saves. */
static int url_plain_char(unsigned char c){
  static const unsigned long long aMask[2] = { 0xafffffd200000000ULL, 0x47fffffe87ffffffULL };
  return c<128 && (aMask[c>>6]>>(c&63) & 1);
}

/* Is z..zEnd an IPv4 address in the one form every parser reads alike:
** four decimal numbers 0-255, no leading zeros?  A host whose last label
** is a number is taken for an address (libcurl 8, WHATWG URL), and its
** other forms (hex, octal, fewer parts) are libcurl's to judge. */
static int ipv4_dotted(const char *z, const char *zEnd){
  int nPart = 0;
  while( z<zEnd ){
    int v = 0, nDigit = 0;
    for(; z<zEnd && *z>='0' && *z<='9'; z++, nDigit++){
      if( nDigit<3 ) v = v*10 + (*z - '0');      /* more is refused below: no overflow */
    }
    if( nDigit==0 || nDigit>3 || v>255 || (nDigit>1 && z[-nDigit]=='0') ) return 0;
    if( ++nPart>4 ) return 0;
    if( z<zEnd && *z++!='.' ) return 0;
  }
  return nPart==4;
}

int url_is_plain(const char *zUrl){
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  const char *z = zUrl, *zHost;
  long port = 0;
  if( strlen(zUrl)>APIFETCH_PLAIN_URL_MAX ) return 0;
  if( strncmp(z, "http://", 7)==0 ){
    z += 7;
  }else if( strncmp(z, "https://", 8)==0 ){
    pthread_once(&once, https_built_now);
    if( !bHttpsBuilt ) return 0;
    z += 8;
  }else{
    return 0;
  }
  /* The host: dot-separated labels of letters, digits and "-", each
  ** starting and ending with a letter or digit (RFC 1123 section 2.1) --
  ** a name, or an IPv4 address in dotted decimal. */
  zHost = z;
  for(;;){
    const char *zLabel = z;
    while( (*z>='a' && *z<='z') || (*z>='A' && *z<='Z') || (*z>='0' && *z<='9') || *z=='-' ){
      z++;
    }
    if( z==zLabel || zLabel[0]=='-' || z[-1]=='-' || z-zLabel>63 ) return 0;
    if( *z!='.' ) break;
    z++;
  }
  if( z-zHost>253 ) return 0;         /* RFC 1035 section 2.3.4 */
  if( z[-1]>='0' && z[-1]<='9' && !ipv4_dotted(zHost, z) ) return 0;
  if( *z==':' ){
    const char *zPort = ++z;
    if( *z<'1' || *z>'9' ) return 0;
    while( *z>='0' && *z<='9' && z-zPort<=5 ) port = port*10 + (*z++ - '0');
    if( port>65535 ) return 0;
  }
  if( *z!=0 && *z!='/' && *z!='?' ) return 0;
  for(; *z; z++){
    if( !url_plain_char((unsigned char)*z) ) return 0;
  }
  return 1;
}

int url_check(const char *zUrl, char **pzWhy){
  CURLU *h;
  CURLUcode uc = CURLUE_OUT_OF_MEMORY;
  char *zScheme = 0;
  int rc = SQLITE_OK;
  *pzWhy = 0;
  /* Most URLs are plain, and libcurl parses each again when it is
  ** fetched: a second parse here was 6% of a small request's instructions
  ** (callgrind, 2,000 small responses from nginx). */
  if( url_is_plain(zUrl) ) return SQLITE_OK;
  h = curl_url();
  /* Out of memory is never "fine": a URL not checked could be file://. */
  if( h ) uc = curl_url_set(h, CURLUPART_URL, zUrl, 0);
  if( uc==CURLUE_OK ) uc = curl_url_get(h, CURLUPART_SCHEME, &zScheme, 0);
  if( uc==CURLUE_OUT_OF_MEMORY ){
    rc = SQLITE_NOMEM;
  }else if( uc ){
    *pzWhy = sqlite3_mprintf("\"%s\" is not a valid URL: %s", zUrl, curl_url_strerror(uc));
    rc = *pzWhy ? SQLITE_ERROR : SQLITE_NOMEM;
  }else if( strcmp(zScheme, "http")!=0 && strcmp(zScheme, "https")!=0 ){
    *pzWhy = sqlite3_mprintf("\"%s\" has scheme \"%s\"; only http and https are allowed",
                             zUrl, zScheme);
    rc = *pzWhy ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  curl_free(zScheme);
  curl_url_cleanup(h);
  return rc;
}

/* zUrl with query parameter zName set to zValue (replacing any). */
char *url_with_params(const char *zUrl, const char *const *azPair, int nPair){
  CURLU *h = curl_url();
  char *zQuery = 0, *zOut = 0, *zNewUrl = 0;
  Buf q = {0, 0, 0, 0};
  CURLUcode uc;
  int i;
  if( h==0 ) return 0;
  if( curl_url_set(h, CURLUPART_URL, zUrl, 0)!=CURLUE_OK ) goto done;
  uc = curl_url_get(h, CURLUPART_QUERY, &zQuery, 0);
  if( uc!=CURLUE_OK && uc!=CURLUE_NO_QUERY ) goto done;  /* not: drop the URL's own */
  if( zQuery ){
    /* Keep the URL's parameters but those about to be set. */
    const char *s = zQuery;
    while( *s ){
      const char *e = strchr(s, '&');
      size_t len = e ? (size_t)(e-s) : strlen(s);
      int bKeep = len>0;
      for(i=0; i<nPair && bKeep; i++){
        size_t nName = strlen(azPair[2*i]);
        if( len>=nName && strncmp(s, azPair[2*i], nName)==0
         && (len==nName || s[nName]=='=') ) bKeep = 0;
      }
      if( bKeep ){
        if( q.n ) buf_append(&q, STRCONST("&"));
        buf_append(&q, s, len);
      }
      s += len + (e ? 1 : 0);
    }
  }
  for(i=0; i<nPair; i++){
    char *zEsc = curl_easy_escape(0, azPair[2*i+1], 0);
    if( zEsc==0 ) goto done;
    if( q.n ) buf_append(&q, STRCONST("&"));
    buf_append(&q, azPair[2*i], strlen(azPair[2*i]));
    buf_append(&q, STRCONST("="));
    buf_append(&q, zEsc, strlen(zEsc));
    curl_free(zEsc);
  }
  if( q.bOom ) goto done;
  if( curl_url_set(h, CURLUPART_QUERY, q.z, 0)!=CURLUE_OK ) goto done;
  if( curl_url_get(h, CURLUPART_URL, &zNewUrl, 0)!=CURLUE_OK ) goto done;
  zOut = sqlite3_mprintf("%s", zNewUrl);
done:
  curl_free(zQuery);
  curl_free(zNewUrl);
  buf_free(&q);
  curl_url_cleanup(h);
  return zOut;
}

char *url_with_param(const char *zUrl, const char *zName, const char *zValue){
  const char *az[2];
  az[0] = zName;
  az[1] = zValue;
  return url_with_params(zUrl, az, 1);
}

/* curl_url_set of zRef, a reference to resolve against the URL h holds.
** libcurl 7.88.1 reads that URL with a curl_url_get() whose failure (for
** want of memory, the only way it fails there) it ignores: it then parses
** zRef as a URL of its own, and a relative one fails with
** CURLUE_BAD_SCHEME, which callers would take for a bad reference and
** stop a chain of pages there without an error (make torture,
** page_last_link).  A scheme needs a ":" before the first "/", "?" or "#";
** without one, that code can only mean the hidden failure. */
static CURLUcode url_set_reference(CURLU *h, const char *zRef){
  CURLUcode uc = curl_url_set(h, CURLUPART_URL, zRef, 0);
  if( uc==CURLUE_BAD_SCHEME && zRef[strcspn(zRef, ":/?#")]!=':' ){
    uc = CURLUE_OUT_OF_MEMORY;
  }
  return uc;
}

/* zRef resolved against zBase (RFC 3986).  NULL if zRef is not a URL,
** or with *pbOom set if out of memory. */
char *url_resolve_oom(const char *zBase, const char *zRef, int *pbOom){
  CURLU *h = curl_url();
  char *z = 0, *zOut = 0;
  CURLUcode uc = CURLUE_OUT_OF_MEMORY;
  if( h && (uc = curl_url_set(h, CURLUPART_URL, zBase, 0))==CURLUE_OK
   && (uc = url_set_reference(h, zRef))==CURLUE_OK
   && (uc = curl_url_get(h, CURLUPART_URL, &z, 0))==CURLUE_OK ){
    zOut = sqlite3_mprintf("%s", z);
  }
  *pbOom = uc==CURLUE_OUT_OF_MEMORY || (uc==CURLUE_OK && zOut==0);
  curl_free(z);
  curl_url_cleanup(h);
  return zOut;
}

int url_resolve_check(const char *zBase, const char *zRef, char **pzOut, char **pzWhy){
  CURLU *h = curl_url();
  char *z = 0;
  CURLUcode uc = CURLUE_OUT_OF_MEMORY;
  int rc;
  *pzOut = *pzWhy = 0;
  if( h && (uc = curl_url_set(h, CURLUPART_URL, zBase, 0))==CURLUE_OK
   && (uc = url_set_reference(h, zRef))==CURLUE_OK ){
    uc = curl_url_get(h, CURLUPART_URL, &z, 0);
  }
  curl_url_cleanup(h);
  if( uc==CURLUE_OK ) *pzOut = sqlite3_mprintf("%s", z);
  curl_free(z);
  if( uc==CURLUE_OUT_OF_MEMORY || (uc==CURLUE_OK && *pzOut==0) ) return SQLITE_NOMEM;
  if( uc ){
    *pzWhy = sqlite3_mprintf("\"%s\" is not a valid URL: %s", zRef, curl_url_strerror(uc));
    return *pzWhy ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  rc = url_check(*pzOut, pzWhy);
  if( rc ){ sqlite3_free(*pzOut); *pzOut = 0; }
  return rc;
}

char *url_resolve(const char *zBase, const char *zRef){
  int bOom;
  return url_resolve_oom(zBase, zRef, &bOom);
}

int db_wal(sqlite3 *db, int busyMs){
  int rc, nWait = 0;
  while( (rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", 0, 0, 0))!=SQLITE_OK
      && (rc & 0xff)==SQLITE_BUSY && nWait<busyMs ){
    int ms = 1 + (nWait/8 < 20 ? nWait/8 : 20);
    sqlite3_sleep(ms);
    nWait += ms;
  }
  return rc;
}

sqlite3_int64 clock_ms(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (sqlite3_int64)ts.tv_sec*1000 + ts.tv_nsec/1000000;
}


void keypath_clear(KeyPath *p){
  strlist_free(p->az, p->n);
  p->az = 0;
  p->n = 0;
}

static void fds_raise_limit_now(void){
  struct rlimit rl;
  if( getrlimit(RLIMIT_NOFILE, &rl)==0 && rl.rlim_cur<rl.rlim_max ){
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);    /* where allowed; engine_window copes if not */
  }
}

void fds_raise_limit(void){
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, fds_raise_limit_now);
}

long fds_limit(void){
  struct rlimit rl;
  if( getrlimit(RLIMIT_NOFILE, &rl)!=0 || rl.rlim_cur==RLIM_INFINITY ) return -1;
  return (long)rl.rlim_cur;
}

/* File descriptors this process may still open: the soft limit less those
** open now (counted in /proc/self/fd), or -1 if that cannot be told. */
long fds_available(void){
  long nLimit = fds_limit(), nOpen = 0;
  DIR *d;
  if( nLimit<0 ) return -1;
  d = opendir("/proc/self/fd");
  if( d==0 ) return -1;
  while( readdir(d) ) nOpen++;
  closedir(d);
  return nLimit - (nOpen - 2);       /* "." and ".." */
}

int pos_connect(sqlite3 *db, void *pAux, const char *zDecl, sqlite3_vtab **ppVtab){
  PosTable *t;
  int rc = sqlite3_declare_vtab(db, zDecl);
  if( rc ) return rc;
  t = sqlite3_malloc(sizeof(*t));
  if( t==0 ) return SQLITE_NOMEM;
  memset(t, 0, sizeof(*t));
  t->pAux = pAux;
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  *ppVtab = &t->base;
  return SQLITE_OK;
}

int pos_disconnect(sqlite3_vtab *p){
  sqlite3_free(p);
  return SQLITE_OK;
}

int pos_open(sqlite3_vtab *p, sqlite3_vtab_cursor **pp){
  PosCursor *c = sqlite3_malloc(sizeof(*c));
  (void)p;
  if( c==0 ) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  *pp = &c->base;
  return SQLITE_OK;
}

int pos_close(sqlite3_vtab_cursor *c){
  sqlite3_free(c);
  return SQLITE_OK;
}

int pos_filter(sqlite3_vtab_cursor *c, int n, const char *z, int argc, sqlite3_value **argv){
  (void)n; (void)z; (void)argc; (void)argv;
  ((PosCursor*)c)->i = 0;
  return SQLITE_OK;
}

int pos_next(sqlite3_vtab_cursor *c){
  ((PosCursor*)c)->i++;
  return SQLITE_OK;
}

int pos_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *p){
  *p = ((PosCursor*)c)->i;
  return SQLITE_OK;
}

/**************************************************************************
** Secrets hidden in text (options_redact)
*/

/* strstr for a URL-encoded zEsc, whose %XX hex digits match in either
** case: they mean the same (RFC 3986 section 2.1), and libcurl 7.88's URL
** API writes them in lower case where curl_easy_escape wrote upper case. */
static char *find_escaped(const char *s, const char *zEsc){
  size_t n = strlen(zEsc), i;
  for(; *s; s++){
    for(i=0; i<n && s[i]; i++){
      char a = s[i], b = zEsc[i];
      if( (i>=1 && zEsc[i-1]=='%') || (i>=2 && zEsc[i-2]=='%') ){
        if( a>='A' && a<='F' ) a += 'a'-'A';
        if( b>='A' && b<='F' ) b += 'a'-'A';
      }
      if( a!=b ) break;
    }
    if( i==n ) return (char*)s;
  }
  return 0;
}

char *text_redact(char *zOut, const char *zValue, const char *zAfter){
  int k;
  for(k=0; k<2 && zOut; k++){
    char *zEsc = k ? curl_easy_escape(0, zValue, 0) : 0;
    char *zFind = (k==0 || zEsc) ? sqlite3_mprintf("%s%s", zAfter, k ? zEsc : zValue) : 0;
    char *hit;
    Buf b = {0, 0, 0, 0};
    const char *s = zOut;
    curl_free(zEsc);
    if( zFind==0 ){ sqlite3_free(zOut); return 0; }
    assert( zFind[0]!=0 );                      /* no "" is a secret */
    while( (hit = k ? find_escaped(s, zFind) : strstr(s, zFind))!=0 ){
      buf_append(&b, s, (size_t)(hit-s));
      buf_append(&b, zAfter, strlen(zAfter));
      buf_append(&b, STRCONST("[secret]"));
      s = hit + strlen(zFind);
    }
    if( s!=zOut ){
      buf_append(&b, s, strlen(s));
      sqlite3_free(zOut);
      zOut = b.bOom ? 0 : b.z;
      if( zOut==0 ) buf_free(&b);
    }else{
      buf_free(&b);
    }
    sqlite3_free(zFind);
  }
  return zOut;
}

/* RFC 9110 section 5.6.2: tchar, a character of a token (a method, a
** header name, a Cache-Control directive, a link-param). */
int http_is_tchar(int c){
  if( (c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9') ) return 1;
  return c>0 && c<128 && strchr("!#$%&'*+-.^_`|~", c)!=0;
}

