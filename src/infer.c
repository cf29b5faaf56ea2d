/*
** infer.c - the columns of a wide api_fetch table and the typed value of
** each flattened JSON value.
**
**   CREATE VIRTUAL TABLE temp.posts USING api_fetch(url_list='[...]');
**   PRAGMA table_info(posts);    -- id INTEGER, title TEXT, score REAL ...
**
** A Schema is an ordered list of named columns with a case-insensitive hash
** (SQLite column names ignore ASCII case).  It is either declared
** (columns='id INTEGER, ...') or grown from a sample: each flattened name
** not seen before becomes a column, in order of first appearance, and every
** value seen widens the column's type:
**
**   nothing but null     no declared type (values kept as they come)
**   booleans, integers   INTEGER            (true/false as 1/0)
**   ... and reals        REAL
**   integers > 64 bits   TEXT               (digit for digit)
**   arrays, objects      TEXT               (the JSON text)
**   strings              TEXT, except:
**     all RFC 3339 timestamps with an offset: normalised to UTC text
**       (or kept, or unix epoch numbers: option timestamps)
**     all numbers that print back exactly ("42", "-7", "2.5"; not "02134",
**       "12.50", "1e3"): INTEGER or REAL (option numeric_strings)
**
** Numbers are parsed from the response text, never through a double unless
** they are reals, so 9007199254740993 and 1234567890123456789 stay exact.
** A value that does not fit its column later on (drift) is returned as it
** is, never dropped, and counted as a mismatch.
**
** Names: the k-th value of one record that maps to an already used name
** (same letters ignoring ASCII case, or a hidden column's name) is named
** name_k, so {"a_b": 1, "a": {"b": 2}} gives a_b and a_b_2 where pandas
** keeps only one of them.
*/
#define _GNU_SOURCE     /* strtod_l, uselocale */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <assert.h>
#include <string.h>
#include "apifetch.h"

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

/* Append z[0..n) as a JSON string literal. */
void buf_append_json_string(Buf *b, const char *z, size_t n){
  static const char hex[] = "0123456789abcdef";
  size_t i;
  if( buf_reserve(b, n*6 + 2) ) return;
  b->z[b->n++] = '"';
  for(i=0; i<n; i++){
    unsigned char c = (unsigned char)z[i];
    if( c=='"' || c=='\\' ){
      b->z[b->n++] = '\\';
      b->z[b->n++] = (char)c;
    }else if( c<0x20 ){
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

void buf_free(Buf *b){
  sqlite3_free(b->z);
  memset(b, 0, sizeof(*b));
}

/**************************************************************************
** Numbers and timestamps, independent of the process locale
*/
static locale_t cLocale;
static pthread_once_t cLocaleOnce = PTHREAD_ONCE_INIT;
static void c_locale_init(void){ cLocale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

static double parse_double(const char *z){
  pthread_once(&cLocaleOnce, c_locale_init);
  return cLocale ? strtod_l(z, 0, cLocale) : strtod(z, 0);
}

/* Shortest "%.*g" text that reads back as d. */
static void format_double(char *zOut, size_t nOut, double d){
  locale_t old;
  int p;
  pthread_once(&cLocaleOnce, c_locale_init);
  old = cLocale ? uselocale(cLocale) : (locale_t)0;
  for(p=1; p<=17; p++){
    snprintf(zOut, nOut, "%.*g", p, d);
    if( parse_double(zOut)==d ) break;
  }
  if( old ) uselocale(old);
}

/* Is z[0..n) an RFC 8259 number?  Sets *pbInt if it has no fraction or
** exponent. */
static int is_json_number(const char *z, size_t n, int *pbInt){
  size_t i = 0;
  *pbInt = 1;
  if( i<n && z[i]=='-' ) i++;
  if( i>=n ) return 0;
  if( z[i]=='0' ){
    i++;
  }else if( z[i]>='1' && z[i]<='9' ){
    while( i<n && z[i]>='0' && z[i]<='9' ) i++;
  }else{
    return 0;
  }
  if( i<n && z[i]=='.' ){
    *pbInt = 0;
    i++;
    if( i>=n || z[i]<'0' || z[i]>'9' ) return 0;
    while( i<n && z[i]>='0' && z[i]<='9' ) i++;
  }
  if( i<n && (z[i]=='e' || z[i]=='E') ){
    *pbInt = 0;
    i++;
    if( i<n && (z[i]=='+' || z[i]=='-') ) i++;
    if( i>=n || z[i]<'0' || z[i]>'9' ) return 0;
    while( i<n && z[i]>='0' && z[i]<='9' ) i++;
  }
  return i==n;
}

/* An integer literal (as is_json_number saw it) into *pV; 0 if it does not
** fit in 64 bits. */
static int parse_int64(const char *z, size_t n, sqlite3_int64 *pV){
  int bNeg = z[0]=='-';
  size_t i = bNeg;
  sqlite3_uint64 v = 0, lim = bNeg ? (sqlite3_uint64)1<<63 : ((sqlite3_uint64)1<<63)-1;
  for(; i<n; i++){
    unsigned d = (unsigned)(z[i]-'0');
    if( v > (lim - d)/10 ) return 0;
    v = v*10 + d;
  }
  *pV = bNeg ? (sqlite3_int64)(0 - v) : (sqlite3_int64)v;
  return 1;
}

/* A number literal from the response: 'i' (fits int64), 'r' (a finite
** real), or 'b' (too big: an integer beyond 64 bits or a real that
** overflows a double; keep the text). */
static char number_kind(const char *z, size_t n, sqlite3_int64 *pI, double *pR){
  int bInt;
  char buf[400];
  if( !is_json_number(z, n, &bInt) ) return 0;
  if( bInt ) return parse_int64(z, n, pI) ? 'i' : 'b';
  if( n>=sizeof(buf) ) return 'b';
  memcpy(buf, z, n);
  buf[n] = 0;
  *pR = parse_double(buf);
  return isfinite(*pR) ? 'r' : 'b';
}

static int days_in_month(int y, int m){
  static const int a[] = { 31,28,31,30,31,30,31,31,30,31,30,31 };
  if( m==2 && (y%4==0 && (y%100!=0 || y%400==0)) ) return 29;
  return a[m-1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static sqlite3_int64 days_from_civil(sqlite3_int64 y, int m, int d){
  sqlite3_int64 era, yoe, doy, doe;
  y -= m<=2;
  era = (y>=0 ? y : y-399) / 400;
  yoe = y - era*400;
  doy = (153*(m + (m>2 ? -3 : 9)) + 2)/5 + d - 1;
  doe = yoe*365 + yoe/4 - yoe/100 + doy;
  return era*146097 + doe - 719468;
}

static void civil_from_days(sqlite3_int64 z, int *pY, int *pM, int *pD){
  sqlite3_int64 era, doe, yoe, y, doy, mp;
  z += 719468;
  era = (z>=0 ? z : z-146096) / 146097;
  doe = z - era*146097;
  yoe = (doe - doe/1460 + doe/36524 - doe/146096) / 365;
  y = yoe + era*400;
  doy = doe - (365*yoe + yoe/4 - yoe/100);
  mp = (5*doy + 2)/153;
  *pD = (int)(doy - (153*mp + 2)/5 + 1);
  *pM = (int)(mp<10 ? mp+3 : mp-9);
  *pY = (int)(y + (*pM<=2));
}

static int digits(const char *z, int n){
  int i, v = 0;
  for(i=0; i<n; i++){
    if( z[i]<'0' || z[i]>'9' ) return -1;
    v = v*10 + (z[i]-'0');
  }
  return v;
}

/* Parse an RFC 3339 timestamp with an offset: YYYY-MM-DD(T|t| )HH:MM:SS
** [.fraction](Z|z|+HH:MM|-HH:MM).  On success returns 1 with the UTC unix
** time in *pSecs and the fraction digits in z[*piFrac..+*pnFrac). */
static int parse_timestamp(const char *z, size_t n, sqlite3_int64 *pSecs,
                           size_t *piFrac, size_t *pnFrac){
  int y, mo, d, h, mi, s, oh = 0, om = 0, sign = 0;
  size_t i = 19, f;
  if( n<20 || z[4]!='-' || z[7]!='-' || z[13]!=':' || z[16]!=':'
   || (z[10]!='T' && z[10]!='t' && z[10]!=' ') ) return 0;
  y = digits(z, 4); mo = digits(z+5, 2); d = digits(z+8, 2);
  h = digits(z+11, 2); mi = digits(z+14, 2); s = digits(z+17, 2);
  if( y<0 || mo<1 || mo>12 || d<1 || d>days_in_month(y, mo)
   || h<0 || h>23 || mi<0 || mi>59 || s<0 || s>59 ) return 0;
  f = i;
  if( i<n && z[i]=='.' ){
    i++;
    f = i;
    while( i<n && z[i]>='0' && z[i]<='9' ) i++;
    if( i==f || i-f>9 ) return 0;
  }
  *piFrac = f;
  *pnFrac = i - f;
  if( i<n && (z[i]=='Z' || z[i]=='z') ){
    i++;
  }else if( i+6==n && (z[i]=='+' || z[i]=='-') && z[i+3]==':' ){
    sign = z[i]=='+' ? 1 : -1;
    oh = digits(z+i+1, 2);
    om = digits(z+i+4, 2);
    if( oh<0 || oh>23 || om<0 || om>59 ) return 0;
    i += 6;
  }else{
    return 0;
  }
  if( i!=n ) return 0;
  *pSecs = days_from_civil(y, mo, d)*86400 + h*3600 + mi*60 + s
           - sign*(oh*3600 + om*60);
  return 1;
}

/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" for a unix time; 0 if outside years 0-9999. */
static size_t format_utc(char *zOut, sqlite3_int64 secs, const char *zFrac, size_t nFrac){
  sqlite3_int64 days = secs>=0 ? secs/86400 : -((-secs+86399)/86400);
  int sod = (int)(secs - days*86400), y, m, d;
  size_t n;
  civil_from_days(days, &y, &m, &d);
  if( y<0 || y>9999 ) return 0;
  {
    static const char zPat[] = "0000-00-00T00:00:00";
    int a[6], k, p;
    a[0] = y; a[1] = m; a[2] = d; a[3] = sod/3600; a[4] = sod/60%60; a[5] = sod%60;
    memcpy(zOut, zPat, sizeof(zPat));
    for(k=0, p=0; k<6; k++){
      int w = k==0 ? 4 : 2, j;
      for(j=w-1; j>=0; j--){ zOut[p+j] = (char)('0' + a[k]%10); a[k] /= 10; }
      p += w + 1;
    }
    n = sizeof(zPat) - 1;
  }
  if( nFrac ){
    zOut[n++] = '.';
    memcpy(zOut+n, zFrac, nFrac);
    n += nFrac;
  }
  zOut[n++] = 'Z';
  zOut[n] = 0;
  return n;
}

/* What a string value could be converted to: STR_* bits. */
#define STR_INT     0x01     /* an integer that prints back exactly */
#define STR_REAL    0x02     /* a number (int or real) that prints back exactly */
#define STR_DEC     0x04     /* any finite JSON number ("12.50") */
#define STR_TS      0x08     /* an RFC 3339 timestamp with an offset */
#define STR_TSFRAC  0x10     /* ... with fractional seconds */

static unsigned string_class(JsonSpan v){
  const char *z = v.z + 1;
  size_t n = v.n - 2;
  unsigned c = 0;
  int bInt;
  if( n==0 || n>64 || memchr(z, '\\', n) ) return 0;
  if( is_json_number(z, n, &bInt) ){
    sqlite3_int64 i;
    double r;
    char buf[80], shortest[40];
    if( bInt ){
      if( parse_int64(z, n, &i) && !(n==2 && z[0]=='-' && z[1]=='0') ){
        c |= STR_INT | STR_REAL | STR_DEC;
      }
    }else{
      memcpy(buf, z, n);
      buf[n] = 0;
      r = parse_double(buf);
      if( isfinite(r) ){
        c |= STR_DEC;
        format_double(shortest, sizeof(shortest), r);
        if( strlen(shortest)==n && memcmp(shortest, z, n)==0 ) c |= STR_REAL;
      }
    }
  }else{
    sqlite3_int64 s;
    size_t iF, nF;
    if( parse_timestamp(z, n, &s, &iF, &nF) ){
      char out[48];
      c |= STR_TS;
      if( nF ) c |= STR_TSFRAC;
      if( format_utc(out, s, z+iF, nF)==0 ) c = 0;
    }
  }
  return c;
}

/**************************************************************************
** The schema
*/
#define SEEN_NULL   0x01
#define SEEN_BOOL   0x02
#define SEEN_INT    0x04
#define SEEN_REAL   0x08
#define SEEN_BIG    0x10
#define SEEN_STR    0x20
#define SEEN_JSON   0x40

#define HASH_EMPTY    (-1)
#define HASH_RESERVED (-2)

static unsigned name_hash(const char *z, size_t n){
  unsigned h = 2166136261u;
  size_t i;
  for(i=0; i<n; i++){
    unsigned char c = (unsigned char)z[i];
    if( c>='A' && c<='Z' ) c += 'a'-'A';
    h = (h ^ c) * 16777619u;
  }
  return h;
}

static int name_eq(const char *a, size_t na, const char *b, size_t nb){
  size_t i;
  if( na!=nb ) return 0;
  for(i=0; i<na; i++){
    unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
    if( x>='A' && x<='Z' ) x += 'a'-'A';
    if( y>='A' && y<='Z' ) y += 'a'-'A';
    if( x!=y ) return 0;
  }
  return 1;
}

/* Hash slots hold a column index, HASH_EMPTY, or HASH_RESERVED-k for the
** k-th reserved name. */
static int *hash_slot(Schema *s, const char *z, size_t n){
  unsigned mask = s->nHash - 1, h = name_hash(z, n) & mask;
  for(;;){
    int v = s->aHash[h];
    if( v==HASH_EMPTY ) return &s->aHash[h];
    if( v>=0 ){
      if( name_eq(s->aCol[v].zName, s->aCol[v].nName, z, n) ) return &s->aHash[h];
    }else{
      const char *zR = s->azReserved[HASH_RESERVED - v];
      if( name_eq(zR, strlen(zR), z, n) ) return &s->aHash[h];
    }
    h = (h+1) & mask;
  }
}

static int hash_rebuild(Schema *s, unsigned nHash){
  int *a = sqlite3_malloc64(sizeof(int)*nHash);
  int i;
  if( a==0 ) return SQLITE_NOMEM;
  sqlite3_free(s->aHash);
  s->aHash = a;
  s->nHash = nHash;
  for(i=0; i<(int)nHash; i++) a[i] = HASH_EMPTY;
  for(i=0; s->azReserved && s->azReserved[i]; i++){
    *hash_slot(s, s->azReserved[i], strlen(s->azReserved[i])) = HASH_RESERVED - i;
  }
  for(i=0; i<s->nCol; i++){
    *hash_slot(s, s->aCol[i].zName, s->aCol[i].nName) = i;
  }
  return SQLITE_OK;
}

int schema_init(Schema *s, const char *const *azReserved, int maxCol){
  int i, n = 0;
  memset(s, 0, sizeof(*s));
  s->azReserved = azReserved;
  s->maxCol = maxCol;
  while( azReserved[n] ) n++;
  s->aResMark = sqlite3_malloc64(sizeof(SuffixMark)*(size_t)(n ? n : 1));
  if( s->aResMark==0 ) return SQLITE_NOMEM;
  for(i=0; i<n; i++) s->aResMark[i].iStamp = -1;
  return hash_rebuild(s, 64);
}

void schema_clear(Schema *s){
  int i;
  for(i=0; i<s->nCol; i++) sqlite3_free(s->aCol[i].zName);
  sqlite3_free(s->aCol);
  sqlite3_free(s->aHash);
  sqlite3_free(s->aResMark);
  buf_free(&s->tmp);
  memset(s, 0, sizeof(*s));
}

/* Add a column.  Returns its index, -1 if the table is full or the name
** cannot be a column (it holds a NUL), or -2 on out-of-memory. */
int schema_add(Schema *s, const char *z, size_t n, int bMeta){
  Column *p;
  if( s->nCol>=s->maxCol || memchr(z, 0, n) ) return -1;
  if( s->nCol>=s->nAlloc ){
    int nNew = s->nAlloc ? s->nAlloc*2 : 16;
    Column *a = sqlite3_realloc64(s->aCol, sizeof(Column)*nNew);
    if( a==0 ) return -2;
    s->aCol = a;
    s->nAlloc = nNew;
  }
  p = &s->aCol[s->nCol];
  memset(p, 0, sizeof(*p));
  p->zName = sqlite3_malloc64(n+1);
  if( p->zName==0 ) return -2;
  memcpy(p->zName, z, n);
  p->zName[n] = 0;
  p->nName = n;
  p->bMeta = bMeta;
  p->strAll = ~0u;
  p->iStamp = -1;
  p->mark.iStamp = -1;
  s->nCol++;
  if( (unsigned)s->nCol*2 > s->nHash ){
    if( hash_rebuild(s, s->nHash*2) ){ s->nCol--; sqlite3_free(p->zName); return -2; }
  }else{
    *hash_slot(s, z, n) = s->nCol-1;
  }
  return s->nCol-1;
}

int schema_resolve(Schema *s, const char *z, size_t n, sqlite3_int64 iStamp,
                   const char **pzName, size_t *pnName){
  /* A name repeated in one record (duplicate keys, or keys that flatten to
  ** one name) tries name, name_2, name_3...; the suffixes already taken in
  ** this record are remembered for the name (on its column, or for a
  ** reserved name in aResMark), so that the Nth repeat does not try N
  ** names (a record of 200,000 "a" keys took 21 s). */
  int v = *hash_slot(s, z, n), k = 2;
  SuffixMark *pMark;
  /* The usual case, once per key of every record: the name itself. */
  if( v==HASH_EMPTY ){ *pzName = z; *pnName = n; return -1; }
  if( v>=0 && s->aCol[v].iStamp!=iStamp ){ s->aCol[v].iStamp = iStamp; return v; }
  pMark = v>=0 ? &s->aCol[v].mark : &s->aResMark[HASH_RESERVED - v];
  if( pMark->iStamp==iStamp ) k = pMark->nNext;
  for(; ; k++){
    const char *zCand;
    size_t nCand;
    char suffix[24];
    sqlite3_snprintf(sizeof(suffix), suffix, "_%d", k);
    s->tmp.n = 0;
    buf_append(&s->tmp, z, n);
    buf_append(&s->tmp, suffix, strlen(suffix));
    if( s->tmp.bOom ) return -2;
    zCand = s->tmp.z;
    nCand = s->tmp.n;
    v = *hash_slot(s, zCand, nCand);
    if( v==HASH_EMPTY ){
      /* Not taken: the caller may add it, so the next repeat starts here. */
      pMark->iStamp = iStamp;
      pMark->nNext = k;
      *pzName = zCand;
      *pnName = nCand;
      return -1;
    }
    if( v>=0 && s->aCol[v].iStamp!=iStamp ){
      s->aCol[v].iStamp = iStamp;
      pMark->iStamp = iStamp;
      pMark->nNext = k+1;
      return v;
    }
  }
}

void schema_observe(Column *p, JsonSpan v){
  sqlite3_int64 i;
  double r;
  switch( json_type(v) ){
    case 'z': p->seen |= SEEN_NULL; break;
    case 't': case 'f': p->seen |= SEEN_BOOL; break;
    case '[': case '{': p->seen |= SEEN_JSON; break;
    case '"': {
      unsigned c = string_class(v);
      p->seen |= SEEN_STR;
      p->strAll &= c;
      p->strAny |= c;
      break;
    }
    default:
      switch( number_kind(v.z, v.n, &i, &r) ){
        case 'i': p->seen |= SEEN_INT; break;
        case 'r': p->seen |= SEEN_REAL; break;
        default:  p->seen |= SEEN_BIG; break;
      }
  }
}

static void set_type(Column *p, int eType, int eConv){
  p->eType = eType;
  p->eConv = eConv;
}

/* Decide each column's type from what the sample showed, and put meta
** columns after record columns (json_normalize's order). */
int schema_finish(Schema *s, const TypeRules *r){
  int i, j;
  for(i=0; i<s->nCol; i++){
    Column *p = &s->aCol[i];
    unsigned nn = p->seen & ~SEEN_NULL;
    if( nn==0 ){
      set_type(p, TYPE_NONE, CONV_NATURAL);
    }else if( nn & SEEN_JSON ){
      set_type(p, TYPE_TEXT, CONV_NATURAL);
    }else if( nn & SEEN_STR ){
      if( nn==SEEN_STR && (p->strAll & STR_TS) && r->timestamps!=TS_KEEP ){
        if( r->timestamps==TS_EPOCH ){
          set_type(p, (p->strAny & STR_TSFRAC) ? TYPE_REAL : TYPE_INTEGER, CONV_TS_EPOCH);
        }else{
          set_type(p, TYPE_TEXT, CONV_TS_UTC);
        }
      }else if( r->numericStrings!=NUMSTR_NEVER && !(nn & (SEEN_BIG|SEEN_BOOL))
             && (p->strAll & (r->numericStrings==NUMSTR_DECIMAL ? STR_DEC : STR_REAL)) ){
        int bInt = (p->strAll & STR_INT) && !(nn & SEEN_REAL);
        set_type(p, bInt ? TYPE_INTEGER : TYPE_REAL, CONV_NUMERIC);
      }else{
        set_type(p, TYPE_TEXT, CONV_NATURAL);
      }
    }else if( nn & SEEN_BIG ){
      set_type(p, TYPE_TEXT, CONV_NATURAL);
    }else if( nn & SEEN_REAL ){
      set_type(p, TYPE_REAL, CONV_NUMERIC);
    }else{
      set_type(p, TYPE_INTEGER, CONV_NUMERIC);
    }
  }
  /* Stable partition: record columns, then meta columns. */
  for(i=0, j=0; i<s->nCol; i++){
    if( !s->aCol[i].bMeta ){
      Column c = s->aCol[i];
      memmove(&s->aCol[j+1], &s->aCol[j], sizeof(Column)*(size_t)(i-j));
      s->aCol[j++] = c;
    }
  }
  for(i=0; i<s->nCol; i++) s->aCol[i].iStamp = s->aCol[i].mark.iStamp = -1;
  for(i=0; s->azReserved[i]; i++) s->aResMark[i].iStamp = -1;
  return hash_rebuild(s, s->nHash);
}

/* Declared types. */
static const struct { const char *zName; int eType, eConv; } aDeclType[] = {
  { "INTEGER",   TYPE_INTEGER, CONV_NUMERIC },
  { "INT",       TYPE_INTEGER, CONV_NUMERIC },
  { "BOOLEAN",   TYPE_INTEGER, CONV_NUMERIC },
  { "REAL",      TYPE_REAL,    CONV_NUMERIC },
  { "FLOAT",     TYPE_REAL,    CONV_NUMERIC },
  { "DOUBLE",    TYPE_REAL,    CONV_NUMERIC },
  { "TEXT",      TYPE_TEXT,    CONV_NATURAL },
  { "JSON",      TYPE_TEXT,    CONV_JSON },
  { "TIMESTAMP", TYPE_TEXT,    CONV_TS_UTC },
  { "ANY",       TYPE_NONE,    CONV_NATURAL },
};

/* columns='id INTEGER, "full name" TEXT, created TIMESTAMP, raw'. */
int schema_declare(Schema *s, const char *z, const TypeRules *r, char **pzErr){
  size_t i = 0, n = strlen(z);
  while( 1 ){
    char *zName;
    size_t nName;
    char zType[16];
    size_t nType = 0, t;
    int iCol, k, bFound = 0;
    while( i<n && (z[i]==' ' || z[i]=='\t' || z[i]=='\n' || z[i]=='\r') ) i++;
    if( i>=n ){
      if( s->nCol==0 ){
        *pzErr = sqlite3_mprintf("api_fetch: columns is empty");
        return SQLITE_ERROR;
      }
      return SQLITE_OK;
    }
    /* The name: "quoted" (with "" for a quote), or up to a space or comma. */
    s->tmp.n = 0;
    if( z[i]=='"' ){
      for(i++; i<n; i++){
        if( z[i]=='"' ){
          if( i+1<n && z[i+1]=='"' ){ buf_append(&s->tmp, "\"", 1); i++; continue; }
          break;
        }
        buf_append(&s->tmp, z+i, 1);
      }
      if( i>=n ){
        *pzErr = sqlite3_mprintf("api_fetch: columns: unterminated quoted name");
        return SQLITE_ERROR;
      }
      i++;
    }else{
      size_t st = i;
      while( i<n && z[i]!=' ' && z[i]!='\t' && z[i]!=',' && z[i]!='\n' ) i++;
      buf_append(&s->tmp, z+st, i-st);
    }
    if( s->tmp.bOom ) return SQLITE_NOMEM;
    zName = s->tmp.z;
    nName = s->tmp.n;
    if( nName==0 ){
      *pzErr = sqlite3_mprintf("api_fetch: columns: a column has no name");
      return SQLITE_ERROR;
    }
    while( i<n && (z[i]==' ' || z[i]=='\t') ) i++;
    t = i;
    while( i<n && z[i]!=',' ) i++;
    nType = i - t;
    while( nType>0 && (z[t+nType-1]==' ' || z[t+nType-1]=='\t' || z[t+nType-1]=='\n'
                       || z[t+nType-1]=='\r') ) nType--;
    if( nType>=sizeof(zType) ) nType = sizeof(zType)-1;
    memcpy(zType, z+t, nType);
    zType[nType] = 0;
    if( *hash_slot(s, zName, nName)!=HASH_EMPTY ){
      *pzErr = sqlite3_mprintf("api_fetch: columns: \"%.*s\" is %s", (int)nName, zName,
          *hash_slot(s, zName, nName)>=0 ? "declared twice" : "the name of a hidden column");
      return SQLITE_ERROR;
    }
    iCol = schema_add(s, zName, nName, 0);
    if( iCol==-2 ) return SQLITE_NOMEM;
    if( iCol<0 ){
      *pzErr = sqlite3_mprintf("api_fetch: columns: too many columns (at most %d)", s->maxCol);
      return SQLITE_ERROR;
    }
    for(k=0; k<(int)(sizeof(aDeclType)/sizeof(aDeclType[0])); k++){
      if( nType==0 || sqlite3_stricmp(zType, aDeclType[k].zName)==0 ){
        Column *p = &s->aCol[iCol];
        if( nType==0 ){
          set_type(p, TYPE_NONE, CONV_NATURAL);
        }else if( aDeclType[k].eConv==CONV_TS_UTC && r->timestamps!=TS_UTC ){
          set_type(p, r->timestamps==TS_EPOCH ? TYPE_INTEGER : TYPE_TEXT,
                   r->timestamps==TS_EPOCH ? CONV_TS_EPOCH : CONV_TS_KEEP);
        }else{
          set_type(p, aDeclType[k].eType, aDeclType[k].eConv);
        }
        bFound = 1;
        break;
      }
    }
    if( !bFound ){
      *pzErr = sqlite3_mprintf(
          "api_fetch: columns: unknown type \"%s\" for column \"%s\" (known: "
          "INTEGER, INT, BOOLEAN, REAL, FLOAT, DOUBLE, TEXT, JSON, TIMESTAMP, ANY, "
          "or none)", zType, s->aCol[iCol].zName);
      return SQLITE_ERROR;
    }
    if( i<n ) i++;     /* the comma */
  }
}

const char *schema_type_name(const Column *p){
  switch( p->eType ){
    case TYPE_INTEGER: return "INTEGER";
    case TYPE_REAL:    return "REAL";
    case TYPE_TEXT:    return "TEXT";
    default:           return "";
  }
}

/**************************************************************************
** Values
*/

static void cell_text_span(Cell *c, const char *z, size_t n){
  c->eType = SQLITE_TEXT;
  c->z = z;
  c->n = n;
}

/* Copy text into the row's arena; the cell refers to it by offset, as the
** arena may move while the row is built. */
static void cell_text_arena(Cell *c, Buf *pArena, const char *z, size_t n){
  c->eType = SQLITE_TEXT;
  c->z = 0;
  c->off = pArena->n;
  c->n = n;
  buf_append(pArena, z, n);
}

static void cell_string(Cell *c, Buf *pArena, JsonSpan v){
  if( memchr(v.z+1, '\\', v.n-2)==0 ){
    cell_text_span(c, v.z+1, v.n-2);
  }else if( buf_reserve(pArena, v.n)==SQLITE_OK ){
    c->eType = SQLITE_TEXT;
    c->z = 0;
    c->off = pArena->n;
    c->n = json_string_decode_into(v, pArena->z + pArena->n);
    pArena->n += c->n;
  }
}

/* Convert string v for a numeric column.  Returns 1 if converted. */
/* An integer c in a REAL column becomes REAL, as pandas' float64 column
** does: exactly, up to 2^53.  Beyond, a double would change its digits, so
** the integer is kept and counted as a mismatch.  Returns 1 for that. */
static int integer_into_real(Cell *c){
  const sqlite3_int64 mx = (sqlite3_int64)1<<53;
  assert( c->eType==SQLITE_INTEGER );
  if( c->i<-mx || c->i>mx ) return 1;
  c->eType = SQLITE_FLOAT;
  c->r = (double)c->i;
  return 0;
}

static int string_to_number(const Column *p, const TypeRules *r, JsonSpan v, Cell *c){
  const char *z = v.z + 1;
  size_t n = v.n - 2;
  unsigned k;
  sqlite3_int64 i;
  double d;
  if( r->numericStrings==NUMSTR_NEVER ) return 0;
  k = string_class(v);
  if( (k & STR_INT) ){
    parse_int64(z, n, &i);
    c->eType = SQLITE_INTEGER;
    c->i = i;
    if( p->eType==TYPE_REAL ) return integer_into_real(c) ? 2 : 1;
    return 1;
  }
  if( k & (r->numericStrings==NUMSTR_DECIMAL ? STR_DEC : STR_REAL) ){
    if( number_kind(z, n, &i, &d)=='r' ){
      c->eType = SQLITE_FLOAT;
      c->r = d;
      return p->eType==TYPE_REAL ? 1 : 2;
    }
  }
  return 0;
}

int value_convert(const Column *p, const TypeRules *r, JsonSpan v, Cell *c, Buf *pArena){
  char t = json_type(v);
  int bNumCol = p->eType==TYPE_INTEGER || p->eType==TYPE_REAL;
  int bTsCol = p->eConv==CONV_TS_UTC || p->eConv==CONV_TS_EPOCH || p->eConv==CONV_TS_KEEP;
  memset(c, 0, sizeof(*c));
  if( t=='z' ){
    c->eType = SQLITE_NULL;
    return 0;
  }
  if( p->eConv==CONV_JSON ){
    cell_text_span(c, v.z, v.n);
    return 0;
  }
  switch( t ){
    case 't': case 'f':
      c->eType = SQLITE_INTEGER;
      c->i = t=='t';
      return bTsCol;
    case '[': case '{':
      cell_text_span(c, v.z, v.n);
      return bNumCol || bTsCol;
    case 'n': {
      char k = number_kind(v.z, v.n, &c->i, &c->r);
      if( k=='i' ){
        c->eType = SQLITE_INTEGER;
        if( p->eType==TYPE_REAL && !bTsCol ) return integer_into_real(c);
        return bTsCol;
      }
      if( k=='r' ){
        c->eType = SQLITE_FLOAT;
        return bTsCol || (p->eType==TYPE_INTEGER && p->eConv!=CONV_TS_EPOCH);
      }
      cell_text_span(c, v.z, v.n);          /* beyond 64 bits: exact text */
      return bNumCol || bTsCol;
    }
    default: {                              /* a string */
      if( bTsCol ){
        sqlite3_int64 s;
        size_t iF, nF;
        char out[48];
        size_t nOut;
        if( memchr(v.z+1, '\\', v.n-2)==0
         && parse_timestamp(v.z+1, v.n-2, &s, &iF, &nF) ){
          if( p->eConv==CONV_TS_KEEP ){
            cell_text_span(c, v.z+1, v.n-2);
            return 0;
          }
          if( p->eConv==CONV_TS_EPOCH ){
            if( nF==0 ){
              c->eType = SQLITE_INTEGER;
              c->i = s;
            }else{
              char frac[16] = "0.";
              memcpy(frac+2, v.z+1+iF, nF);
              frac[2+nF] = 0;
              c->eType = SQLITE_FLOAT;
              c->r = (double)s + parse_double(frac);
            }
            return 0;
          }
          nOut = format_utc(out, s, v.z+1+iF, nF);
          if( nOut ){
            cell_text_arena(c, pArena, out, nOut);
            return 0;
          }
        }
        cell_string(c, pArena, v);
        return 1;
      }
      if( bNumCol && p->eConv==CONV_NUMERIC ){
        int rc = string_to_number(p, r, v, c);
        if( rc==1 ) return 0;
        if( rc==2 ) return 1;               /* a real in an INTEGER column */
        cell_string(c, pArena, v);
        return 1;
      }
      cell_string(c, pArena, v);
      return 0;
    }
  }
}

/**************************************************************************
** Shaping records into rows: the flattener's values through the schema
*/

typedef struct ShapeCtx ShapeCtx;
struct ShapeCtx {
  Shape *s;
  Row *pRow;                /* NULL while learning the schema */
  sqlite3_int64 iStamp;     /* This record's number */
  int bMeta;                /* Emitting meta values */
};

static int shape_emit(void *pCtx, const char *zName, size_t nName, JsonSpan v){
  ShapeCtx *x = (ShapeCtx*)pCtx;
  Schema *s = &x->s->schema;
  Row *w = x->pRow;
  const char *zUse;
  size_t nUse;
  int i = schema_resolve(s, zName, nName, x->iStamp, &zUse, &nUse);
  if( i==-2 ) return SQLITE_NOMEM;
  if( w==0 ){
    /* Learning: a new name is a new column. */
    if( i==-1 ){
      i = schema_add(s, zUse, nUse, x->bMeta);
      if( i==-2 ) return SQLITE_NOMEM;
      if( i>=0 ) s->aCol[i].iStamp = x->iStamp;
    }
    if( i>=0 ) schema_observe(&s->aCol[i], v);
    return SQLITE_OK;
  }
  if( i>=0 ){
    if( value_convert(&s->aCol[i], &x->s->rules, v, &w->aCell[i], &w->arena) ){
      buf_append(&w->mism, w->nMismatch ? "," : "[", 1);
      buf_append_json_string(&w->mism, s->aCol[i].zName, s->aCol[i].nName);
      w->nMismatch++;
    }
  }else{
    buf_append(&w->extra, w->nExtra ? "," : "{", 1);
    buf_append_json_string(&w->extra, zUse, nUse);
    buf_append(&w->extra, ":", 1);
    buf_append(&w->extra, v.z, v.n);
    w->nExtra++;
  }
  return SQLITE_OK;
}

static int shape_run(Shape *s, RecordIter *it, JsonSpan rec, Flattener *f, Row *pRow){
  ShapeCtx x;
  int i, rc;
  x.s = s;
  x.pRow = pRow;
  x.iStamp = ++s->iStamp;
  x.bMeta = 0;
  f->zSep = s->zSep;
  f->nSep = strlen(s->zSep);
  f->maxLevel = s->maxLevel;
  f->xEmit = shape_emit;
  f->pCtx = &x;
  rc = flatten_record(f, s->zRecordPrefix, strlen(s->zRecordPrefix), rec);
  x.bMeta = 1;
  for(i=0; rc==SQLITE_OK && i<s->nMeta; i++){
    const MetaPath *m = &s->aMeta[i];
    JsonSpan v;
    if( records_meta(it, i, m->az, m->n, &v) ){
      rc = shape_emit(&x, m->zName, strlen(m->zName), v);
    }else if( pRow==0 ){
      /* A missing meta field is NULL, but still a column. */
      static const char zNull[] = "null";
      JsonSpan nul = { zNull, 4 };
      rc = shape_emit(&x, m->zName, strlen(m->zName), nul);
    }
  }
  return rc;
}

int shape_learn(Shape *s, RecordIter *it, JsonSpan rec){
  int rc = shape_run(s, it, rec, &s->learn, 0);
  return rc;
}

int shape_finish(Shape *s){
  flatten_clear(&s->learn);
  return schema_finish(&s->schema, &s->rules);
}

int shape_record(Shape *s, RecordIter *it, const JsonSpan *pRec, Row *w){
  int rc = SQLITE_OK;
  if( s->schema.nCol>0 ) memset(w->aCell, 0, sizeof(Cell)*(size_t)s->schema.nCol);
  w->arena.n = 0;
  w->extra.n = 0;
  w->mism.n = 0;
  w->nExtra = 0;
  w->nMismatch = 0;
  if( pRec==0 ) return SQLITE_OK;
  rc = shape_run(s, it, *pRec, &w->flat, w);
  if( w->nExtra ) buf_append(&w->extra, "}", 1);
  if( w->nMismatch ) buf_append(&w->mism, "]", 1);
  if( w->arena.bOom || w->extra.bOom || w->mism.bOom ) rc = SQLITE_NOMEM;
  return rc;
}

void shape_clear(Shape *s){
  int i, k;
  schema_clear(&s->schema);
  flatten_clear(&s->learn);
  sqlite3_free(s->zSep);
  for(i=0; i<s->nMeta; i++){
    for(k=0; k<s->aMeta[i].n; k++) sqlite3_free(s->aMeta[i].az[k]);
    sqlite3_free(s->aMeta[i].az);
    sqlite3_free(s->aMeta[i].zName);
  }
  sqlite3_free(s->aMeta);
  sqlite3_free(s->zRecordPrefix);
  memset(s, 0, sizeof(*s));
}

int row_init(Row *w, const Shape *s){
  memset(w, 0, sizeof(*w));
  w->aCell = sqlite3_malloc64(sizeof(Cell)*(size_t)(s->schema.nCol ? s->schema.nCol : 1));
  return w->aCell ? SQLITE_OK : SQLITE_NOMEM;
}

void row_clear(Row *w){
  sqlite3_free(w->aCell);
  buf_free(&w->arena);
  buf_free(&w->extra);
  buf_free(&w->mism);
  flatten_clear(&w->flat);
  memset(w, 0, sizeof(*w));
}
