/*
** formats.c - how a response body becomes records: the format option.
**
**   json     the body is one JSON text (record_path, arrays: flatten.c)
**   ndjson   one JSON text a line (JSON Lines, NDJSON, RFC 7464 sequences):
**            streamed in parts by chunk.c, each line a record here
**   text     the body as one TEXT value, converted to UTF-8 from its charset
**   blob     the bytes as they came, one BLOB
**   auto     one of those four, from the Content-Type (format_auto)
**
** No I/O: the engine (chunk.c) asks format_of whether to stream, the scan
** (scan.c) which records a response gives.
*/
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <iconv.h>
#include <assert.h>
#include "apifetch.h"

/**************************************************************************
** The format of a response
*/

/* Is media type zType[0..nType) (its parameters cut off) zWant, in any
** case; does it end with zSuffix ("+json")? */
static int type_is(const char *zType, size_t nType, const char *zWant){
  return strlen(zWant)==nType && strncasecmp(zType, zWant, nType)==0;
}
static int type_ends(const char *zType, size_t nType, const char *zSuffix){
  size_t n = strlen(zSuffix);
  return nType>n && strncasecmp(zType+nType-n, zSuffix, n)==0;
}

/* auto's map, which docs/reference.md repeats: the NDJSON types first (a
** "+json" suffix would take application/json-seq otherwise); a type it does
** not know, or none, gives the bytes untouched (blob) rather than a guess. */
int format_auto(const char *zContentType){
  static const char *const azNdjson[] = {
    "application/x-ndjson", "application/ndjson", "application/jsonl",
    "application/x-jsonlines", "application/jsonlines", "application/json-seq",
  };
  const char *z = zContentType;
  size_t n;
  int i;
  if( z==0 ) return FMT_BLOB;
  z += strspn(z, " \t");
  n = strcspn(z, "; \t");
  for(i=0; i<ArraySize(azNdjson); i++){
    if( type_is(z, n, azNdjson[i]) ) return FMT_NDJSON;
  }
  if( type_is(z, n, "application/json") || type_ends(z, n, "+json") ) return FMT_JSON;
  if( (n>5 && strncasecmp(z, "text/", 5)==0) || type_is(z, n, "application/xml")
   || type_ends(z, n, "+xml") ){
    return FMT_TEXT;
  }
  return FMT_BLOB;
}

int format_of(int eFormat, int iFormat, const char *zContentType){
  int e = iFormat ? iFormat-1 : eFormat;
  assert( e>=FMT_JSON && e<=FMT_AUTO );
  return e==FMT_AUTO ? format_auto(zContentType) : e;
}

/**************************************************************************
** NDJSON lines
*/
void lines_begin(LineIter *p, const char *z, size_t n, sqlite3_int64 iLineBase){
  p->z = z;
  p->n = n;
  p->pos = 0;
  p->iLine = iLineBase;
}

/* White space around a line (JSON's, and RFC 7464's record separator
** 0x1E, which starts each text of a sequence). */
static int line_space(char c){
  return c==' ' || c=='\t' || c=='\r' || c=='\n' || c==0x1e;
}

int lines_next(LineIter *p, JsonSpan *pLine){
  while( p->pos<p->n ){
    const char *zStart = p->z + p->pos;
    const char *zEnd = memchr(zStart, '\n', p->n - p->pos);
    size_t nLine = zEnd ? (size_t)(zEnd - zStart) : p->n - p->pos;
    p->pos += nLine + (zEnd!=0);
    p->iLine++;
    while( nLine>0 && line_space(zStart[0]) ){ zStart++; nLine--; }
    while( nLine>0 && line_space(zStart[nLine-1]) ) nLine--;
    if( nLine>0 ){
      pLine->z = zStart;
      pLine->n = nLine;
      return 1;
    }
  }
  return 0;
}

/**************************************************************************
** Text and its charset
*/

/* The charset parameter of a Content-Type into zOut (at most nOut-1
** bytes, quotes dropped); 0 if there is none. */
static int type_charset(const char *zType, char *zOut, size_t nOut){
  const char *z = zType;
  while( z && (z = strchr(z, ';'))!=0 ){
    size_t n;
    z++;
    z += strspn(z, " \t");
    if( strncasecmp(z, "charset=", 8)!=0 ) continue;
    z += 8;
    if( *z=='"' ) z++;
    n = strcspn(z, "\"; \t");
    if( n==0 || n>=nOut ) n = n==0 ? 0 : nOut-1;
    memcpy(zOut, z, n);
    zOut[n] = 0;
    return n>0;
  }
  return 0;
}

/* z[0..n) from charset zSet into UTF-8 with iconv (glibc's, part of libc). */
static int text_convert(const char *z, size_t n, const char *zSet, char **pzOut,
                        size_t *pnOut, char **pzWhy){
  iconv_t cd = iconv_open("UTF-8", zSet);
  size_t nIn = n, nAlloc = n*2 + 16, nLeft;
  char *zIn = (char*)z, *zOut, *zBuf;
  if( cd==(iconv_t)-1 ){
    *pzWhy = sqlite3_mprintf("format text: charset \"%s\" is not one this host can "
                             "convert (iconv)", zSet);
    return *pzWhy ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  zBuf = sqlite3_malloc64(nAlloc);
  zOut = zBuf;
  nLeft = nAlloc - 1;
  while( zBuf && nIn>0 ){
    if( iconv(cd, &zIn, &nIn, &zOut, &nLeft)!=(size_t)-1 ) break;
    if( errno==E2BIG ){
      size_t nUsed = (size_t)(zOut - zBuf);
      char *zNew = sqlite3_realloc64(zBuf, nAlloc*2);
      if( zNew==0 ){ sqlite3_free(zBuf); zBuf = 0; break; }
      zBuf = zNew;
      nAlloc *= 2;
      zOut = zBuf + nUsed;
      nLeft = nAlloc - 1 - nUsed;
      continue;
    }
    *pzWhy = sqlite3_mprintf("format text: the body is not valid %s (at byte %lld)",
                             zSet, (sqlite3_int64)(zIn - z));
    iconv_close(cd);
    sqlite3_free(zBuf);
    return *pzWhy ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  iconv_close(cd);
  if( zBuf==0 ) return SQLITE_NOMEM;
  *zOut = 0;
  *pzOut = zBuf;
  *pnOut = (size_t)(zOut - zBuf);
  return SQLITE_OK;
}

int format_text(const char *z, size_t n, const char *zContentType, char **pzOut,
                size_t *pnOut, char **pzWhy){
  char zSet[64];
  *pzOut = 0;
  *pnOut = 0;
  *pzWhy = 0;
  if( type_charset(zContentType, zSet, sizeof(zSet))
   && strcasecmp(zSet, "utf-8")!=0 && strcasecmp(zSet, "utf8")!=0
   && strcasecmp(zSet, "us-ascii")!=0 ){
    return text_convert(z, n, zSet, pzOut, pnOut, pzWhy);
  }
  /* UTF-8 as it is, said or not (RFC 8259 and most APIs' default), but
  ** checked: SQLite would hand invalid bytes on as TEXT without a word. */
  {
    size_t iBad = utf8_check((const unsigned char*)z, n);
    if( iBad<n ){
      *pzWhy = sqlite3_mprintf("format text: the body is not valid UTF-8 (at byte %lld); "
                               "format blob gives its bytes", (sqlite3_int64)iBad);
      return *pzWhy ? SQLITE_ERROR : SQLITE_NOMEM;
    }
  }
  return SQLITE_OK;
}
