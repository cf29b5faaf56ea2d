/*
** scalar.c - JSON numbers and RFC 3339 timestamps, read and written the
** same whatever the process locale: what a value is (number_kind,
** string_class), its exact integer or double, a timestamp's UTC time.
** Pure: no I/O; infer.c decides types with it.
**
**   number_kind("9007199254740993", 16, &i, &r)    -> 'i', i exact
**   string_class("\"2024-03-10T12:00:00+02:00\"")  -> STR_TS
*/
#define _GNU_SOURCE     /* strtod_l, uselocale */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "apifetch.h"

static locale_t cLocale;
static pthread_once_t cLocaleOnce = PTHREAD_ONCE_INIT;
static void c_locale_init(void){ cLocale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

double parse_double(const char *z){
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
int parse_int64(const char *z, size_t n, sqlite3_int64 *pV){
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

/* Clinger's fast path (W. D. Clinger, "How to Read Floating Point Numbers
** Accurately", 1990): with at most 15 significant digits the digits are an
** exact double m, and 10^k for k <= 22 is exact too, so m * 10^e or
** m / 10^-e is one correctly rounded IEEE operation, the double strtod
** would return.  Most API reals ("6761.25", "0.5") are such; the rest go
** to strtod_l.  0 if z[0..n) (a JSON number) is not one. */
static int fast_double(const char *z, size_t n, double *pR){
  static const double aPow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
  sqlite3_uint64 m = 0;
  int nDigit = 0, e = 0, bNeg = z[0]=='-', bFrac = 0;
  size_t i = (size_t)bNeg;
  double r;
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD!=0
  /* x87 arithmetic rounds twice; only strtod is exact there. */
  return 0;
#endif
  for(; i<n; i++){
    char c = z[i];
    if( c=='.' ){ bFrac = 1; continue; }
    if( c<'0' || c>'9' ) break;
    if( m || c!='0' ){
      if( ++nDigit>15 ) return 0;
    }
    m = m*10 + (sqlite3_uint64)(c-'0');
    e -= bFrac;
  }
  if( i<n ){
    /* The exponent ('e' or 'E', sign, digits: is_json_number checked). */
    int bNegE = 0, x = 0;
    i++;
    if( z[i]=='+' || z[i]=='-' ){ bNegE = z[i]=='-'; i++; }
    for(; i<n; i++){
      if( x>1000 ) return 0;
      x = x*10 + (z[i]-'0');
    }
    e += bNegE ? -x : x;
  }
  if( e<-22 || e>22 ) return 0;
  r = (double)m;
  r = e<0 ? r/aPow10[-e] : r*aPow10[e];
  *pR = bNeg ? -r : r;
  return 1;
}

/* A number literal from the response: 'i' (fits int64), 'r' (a finite
** real), or 'b' (too big: an integer beyond 64 bits or a real that
** overflows a double; keep the text). */
char number_kind(const char *z, size_t n, sqlite3_int64 *pI, double *pR){
  int bInt;
  char buf[400];
  if( !is_json_number(z, n, &bInt) ) return 0;
  if( bInt ) return parse_int64(z, n, pI) ? 'i' : 'b';
  if( fast_double(z, n, pR) ) return 'r';
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
int parse_timestamp(const char *z, size_t n, sqlite3_int64 *pSecs,
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
size_t format_utc(char *zOut, sqlite3_int64 secs, const char *zFrac, size_t nFrac){
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

unsigned string_class(JsonSpan v){
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

