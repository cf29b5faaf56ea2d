/*
** httpcache.c - what RFC 9111 (HTTP Caching) decides about one response,
** as pure functions with no I/O: what its header fields say about caching,
** whether it may be stored, how long it stays fresh, how old it is now,
** and whether it may stand in for an error.  The cache's flow in the
** engine (cacheflow.c) asks these; tests/unit.c calls them directly.
**
**   CacheInfo ci;
**   cacheinfo_parse(&ci, "max-age=60, must-revalidate", 0,
**                   "Sun, 06 Nov 1994 08:49:37 GMT", 0, 0, "\"v1\"", 0, 0);
**   cache_storable("GET", 200, &ci)                          -> 1
**   cache_freshness_lifetime(&ci, 200, tResponse, 86400)     -> 60
**   cache_current_age(&ci, tRequest, tResponse, tNow)        -> age in seconds
**   fresh while lifetime > age; else revalidate (If-None-Match: "v1")
**
** apifetch's cache is a private cache in RFC 9111's terms (section 1): its
** entries are keyed by the request's credentials and headers, so each is
** only ever given back to the same client identity that fetched it.  So
** s-maxage and proxy-revalidate (shared caches only) are not applied, and
** private does not stop storing.
**
** Where a header is malformed or says two things, the reading that keeps
** a response for less time wins (section 4.2.1: "the most restrictive
** directive should be honored", invalid freshness information is stale).
*/
#include <string.h>
#include <strings.h>
#include "apifetch.h"

/* A parsed Cache-Control or Pragma list member (RFC 9111 section 5.2:
** token [ "=" ( token / quoted-string ) ]). */
typedef struct CacheDirective CacheDirective;
struct CacheDirective {
  const char *zName;             /* Directive name (not NUL-terminated) */
  size_t nName;                  /* Its length */
  const char *zArg;              /* Argument, inside the quotes if quoted, or NULL */
  size_t nArg;                   /* Its length */
  int bBad;                      /* Something other than the grammar's was there */
};

/* RFC 9110 section 5.6.3: OWS is spaces and tabs. */
static const char *cache_skip_ows(const char *z){
  while( *z==' ' || *z=='\t' ) z++;
  return z;
}

/* Past the quoted-string that starts at z (on its '"'), or NULL if it does
** not end.  A backslash quotes the next character (RFC 9110 section 5.6.4). */
static const char *cache_skip_quoted(const char *z){
  for(z++; *z; z++){
    if( *z=='\\' ){
      if( z[1]==0 ) return 0;
      z++;
    }else if( *z=='"' ){
      return z+1;
    }
  }
  return 0;
}

/* The next member of a comma-separated list (RFC 9110 section 5.6.1:
** empty members and OWS around commas are allowed) into *pD.  Returns where
** to go on from, or NULL at the end.  A comma inside a quoted-string does
** not end a member: no-cache="Set-Cookie, Age" is one. */
static const char *cache_next_directive(const char *z, CacheDirective *pD){
  memset(pD, 0, sizeof(*pD));
  while( *z==',' || *z==' ' || *z=='\t' ) z++;
  if( *z==0 ) return 0;
  pD->zName = z;
  while( http_is_tchar((unsigned char)*z) ) z++;
  pD->nName = (size_t)(z - pD->zName);
  if( pD->nName==0 ) pD->bBad = 1;
  /* No space around '=': section 5.2's grammar has none, so a member
  ** with one is malformed (a max-age in it invalid: stale, 4.2.1), as
  ** the caches measured by the HTTP caching tests read it. */
  if( *z=='=' ){
    z++;
    if( *z=='"' ){
      const char *zEnd = cache_skip_quoted(z);
      if( zEnd==0 ){
        pD->bBad = 1;
        return z + strlen(z);
      }
      pD->zArg = z+1;
      pD->nArg = (size_t)(zEnd - 1 - pD->zArg);
      z = zEnd;
    }else{
      pD->zArg = z;
      while( http_is_tchar((unsigned char)*z) ) z++;
      pD->nArg = (size_t)(z - pD->zArg);
      if( pD->nArg==0 ) pD->bBad = 1;
    }
  }
  z = cache_skip_ows(z);
  /* Anything else before the next comma spoils the member; skip it, and
  ** the commas inside any quoted-string in it. */
  while( *z && *z!=',' ){
    pD->bBad = 1;
    if( *z=='"' ){
      const char *zEnd = cache_skip_quoted(z);
      if( zEnd==0 ) return z + strlen(z);
      z = zEnd;
    }else{
      z++;
    }
  }
  return z;
}

static int cache_directive_is(const CacheDirective *pD, const char *zName){
  size_t n = strlen(zName);
  return pD->nName==n && strncasecmp(pD->zName, zName, n)==0;
}

/* A delta-seconds argument (RFC 9111 section 1.2.2: 1*DIGIT, quoted or not
** per section 5.2), at most CACHE_DELTA_MAX; -1 if it is not one. */
static sqlite3_int64 cache_delta_seconds(const CacheDirective *pD){
  sqlite3_int64 v = 0;
  size_t i;
  if( pD->bBad || pD->zArg==0 || pD->nArg==0 ) return -1;
  for(i=0; i<pD->nArg; i++){
    char c = pD->zArg[i];
    if( c<'0' || c>'9' ) return -1;
    /* Section 1.2.2: a value too large to represent, or a calculation that
    ** overflows, is taken as 2^31. */
    if( v<CACHE_DELTA_MAX ) v = v*10 + (c - '0');
  }
  return v<CACHE_DELTA_MAX ? v : CACHE_DELTA_MAX;
}

/* Cache-Control (RFC 9111 section 5.2.2) into p.  Returns the number of
** directives seen, known or not. */
static int cache_parse_cache_control(CacheInfo *p, const char *z){
  CacheDirective d;
  int nDirective = 0;
  int bMaxAge = 0, bSMaxAge = 0, bStaleIfError = 0, bSwr = 0;   /* seen already */
  while( (z = cache_next_directive(z, &d))!=0 ){
    if( d.nName==0 ) continue;
    nDirective++;
    if( cache_directive_is(&d, "max-age") ){
      /* Section 4.2.1: invalid freshness information ("a max-age
      ** directive with non-integer content") is taken as stale, not as
      ** absent, which would let Expires or a heuristic stand instead.
      ** Given twice, "either the first occurrence should be used or the
      ** response should be considered stale": stale where they differ,
      ** the more restrictive of the two readings, whatever the order. */
      sqlite3_int64 v = cache_delta_seconds(&d);
      if( v<0 ) v = 0;
      p->maxAge = bMaxAge && v!=p->maxAge ? 0 : v;
      bMaxAge = 1;
    }else if( cache_directive_is(&d, "s-maxage") ){
      sqlite3_int64 v = cache_delta_seconds(&d);
      if( v<0 ) v = 0;
      p->sMaxAge = bSMaxAge && v!=p->sMaxAge ? 0 : v;
      bSMaxAge = 1;
    }else if( cache_directive_is(&d, "stale-if-error") ){
      /* RFC 5861 section 4.  Malformed, it grants nothing. */
      if( !bStaleIfError ){
        bStaleIfError = 1;
        p->staleIfError = cache_delta_seconds(&d);
      }
    }else if( cache_directive_is(&d, "stale-while-revalidate") ){
      /* RFC 5861 section 3; likewise.  cacheflow.c answers from the
      ** stale copy and revalidates in the background of the scan. */
      if( !bSwr ){
        bSwr = 1;
        p->staleWhileRevalidate = cache_delta_seconds(&d);
      }
    }else if( cache_directive_is(&d, "no-store") ){
      p->bNoStore = 1;               /* whatever follows it: most restrictive */
    }else if( cache_directive_is(&d, "no-cache") ){
      /* Section 5.2.2.4: the qualified form (no-cache="Set-Cookie") would
      ** let the response be reused without the fields it names.  Like most
      ** caches (the section's note says the special handling "is not widely
      ** implemented"), it is taken as the unqualified form: revalidate. */
      p->bNoCache = 1;
    }else if( cache_directive_is(&d, "must-revalidate") ){
      p->bMustRevalidate = 1;
    }else if( cache_directive_is(&d, "private") ){
      /* Section 5.2.2.7: binds shared caches only; any form. */
      p->bPrivate = 1;
    }else if( cache_directive_is(&d, "public") ){
      if( !d.bBad && d.zArg==0 ) p->bPublic = 1;
    }else if( cache_directive_is(&d, "immutable") ){
      /* RFC 8246: it lets a cache skip revalidating, so only if well formed. */
      if( !d.bBad && d.zArg==0 ) p->bImmutable = 1;
    }
    /* Anything else is ignored, as section 5.2.3 asks of directives a cache
    ** does not recognise: proxy-revalidate binds shared caches only;
    ** must-understand (5.2.2.3) would only let a cache ignore no-store,
    ** which this one never does. */
  }
  return nDirective;
}

/* An HTTP-date header: its unix time, or -1 if it is not a date.  Dates
** before 1970 become 0, so that -1 only ever means "none". */
static sqlite3_int64 cache_date(const char *z){
  sqlite3_int64 t;
  if( !policy_http_date(z, &t) ) return -1;
  return t<0 ? 0 : t;
}

/* Expires (section 5.3) as an IMF-fixdate, RFC 9110 section 5.6.7's
** preferred form and the only one it lets senders generate:
** "Sun, 06 Nov 1994 08:49:37 GMT", exactly so, OWS around it allowed.  Its
** unix time, 0 for one before 1970, or -1 if it is anything else.
**
** Stricter than policy_http_date, which takes the obsolete RFC 850 and
** asctime forms too, as RFC 9110 asks of a recipient of a date: those, a
** two-digit year, a missing comma, doubled spaces, a one-digit hour, a
** zone other than GMT, a second Expires line (joined after a comma) are
** read as "already expired".  Section 5.3 asks just that of invalid
** dates, the browsers measured by the HTTP caching tests do it, and it
** errs the cheap way: the cost is a revalidation, never a stale answer. */
static sqlite3_int64 cache_imf_fixdate(const char *z){
  static const char azDay[] = "MonTueWedThuFriSatSun";
  static const char azMon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  static const unsigned char aMonDays[] = {31,29,31,30,31,30,31,31,30,31,30,31};
  int i, d, mon, y, hh, mm, ss;
  sqlite3_int64 days;
  z = cache_skip_ows(z);
  if( strlen(z)<29 || *cache_skip_ows(z+29)!=0 ) return -1;
  /* "Www, DD Mmm YYYY HH:MM:SS GMT": the fixed characters, then digits. */
  if( z[3]!=',' || z[4]!=' ' || z[7]!=' ' || z[11]!=' ' || z[16]!=' '
   || z[19]!=':' || z[22]!=':' || z[25]!=' ' || memcmp(z+26, "GMT", 3)!=0 ){
    return -1;
  }
  /* A weekday name is required; that it is the date's is not checked. */
  for(i=0; i<7 && memcmp(z, azDay+3*i, 3)!=0; i++){}
  if( i==7 ) return -1;
  for(mon=0; mon<12 && memcmp(z+8, azMon+3*mon, 3)!=0; mon++){}
  if( mon==12 ) return -1;
  {
    static const unsigned char aDigit[] = {5,6,12,13,14,15,17,18,20,21,23,24};
    for(i=0; i<(int)sizeof(aDigit); i++){
      if( z[aDigit[i]]<'0' || z[aDigit[i]]>'9' ) return -1;
    }
  }
  d = (z[5]-'0')*10 + (z[6]-'0');
  y = (z[12]-'0')*1000 + (z[13]-'0')*100 + (z[14]-'0')*10 + (z[15]-'0');
  hh = (z[17]-'0')*10 + (z[18]-'0');
  mm = (z[20]-'0')*10 + (z[21]-'0');
  ss = (z[23]-'0')*10 + (z[24]-'0');
  if( d<1 || d>aMonDays[mon] || hh>23 || mm>59 || ss>60 ) return -1;
  if( mon==1 && d==29 && !(y%4==0 && (y%100!=0 || y%400==0)) ) return -1;
  if( y<1970 ) return 0;
  /* Days from 1970-01-01 to y-(mon+1)-d: the civil-calendar count with
  ** March as the year's first month, so that the leap day comes last. */
  {
    int yy = mon<2 ? y-1 : y;
    int era = yy/400, yoe = yy - era*400;
    int mp = (mon+10)%12;            /* March 0 ... February 11 */
    int doy = (153*mp + 2)/5 + d - 1;
    int doe = yoe*365 + yoe/4 - yoe/100 + doy;
    days = (sqlite3_int64)era*146097 + doe - 719468;
  }
  return days*86400 + hh*3600 + mm*60 + (ss>59 ? 59 : ss);
}

/* Does the comma-separated list z have a member zWord (case-insensitive)? */
static int cache_list_has(const char *z, const char *zWord){
  CacheDirective d;
  if( z==0 ) return 0;
  while( (z = cache_next_directive(z, &d))!=0 ){
    if( cache_directive_is(&d, zWord) ) return 1;
  }
  return 0;
}

void cacheinfo_parse(CacheInfo *p, const char *zCacheControl, const char *zExpires,
                     const char *zDate, const char *zAge, const char *zLastModified,
                     const char *zEtag, const char *zVary, const char *zPragma){
  int nDirective = 0;
  memset(p, 0, sizeof(*p));
  p->maxAge = p->sMaxAge = p->staleIfError = p->staleWhileRevalidate = -1;
  p->date = p->expires = p->lastModified = -1;
  if( zCacheControl ) nDirective = cache_parse_cache_control(p, zCacheControl);

  /* Section 5.4: Pragma: no-cache is HTTP/1.0's no-cache, and counts only
  ** where there is no Cache-Control.  Its meaning in a response was never
  ** specified; taking it as no-cache is the cautious reading. */
  if( nDirective==0 && cache_list_has(zPragma, "no-cache") ) p->bNoCache = 1;

  /* Section 5.3: an invalid Expires, "0" above all, means already expired.
  ** Valid is one IMF-fixdate and nothing else (cache_imf_fixdate). */
  if( zExpires ){
    p->expires = cache_imf_fixdate(zExpires);
    if( p->expires<0 ) p->expires = 0;
  }
  p->date = cache_date(zDate);
  p->lastModified = cache_date(zLastModified);

  /* Section 5.1: Age = delta-seconds.  Only the first of several field
  ** lines joined by commas counts; one that is not a non-negative integer
  ** ("abc", "-7200", "7200.0") is invalid, and "a cache SHOULD ignore the
  ** field": age 0, as if absent.  The response's own Date still ages it
  ** (cache_current_age takes the larger). */
  if( zAge ){
    const char *z = cache_skip_ows(zAge);
    sqlite3_int64 v = 0;
    int nDigit = 0;
    for(; *z>='0' && *z<='9'; z++, nDigit++){
      if( v<CACHE_DELTA_MAX ) v = v*10 + (*z - '0');
    }
    z = cache_skip_ows(z);
    if( nDigit==0 || (*z!=0 && *z!=',') ) v = 0;
    p->age = v<CACHE_DELTA_MAX ? v : CACHE_DELTA_MAX;
  }

  /* Section 4.3.1: an entity tag (weak ones too: If-None-Match compares
  ** weakly, RFC 9110 section 13.1.2) or a Last-Modified date, which
  ** If-Modified-Since needs to be a valid date (RFC 9110 section 13.1.3). */
  p->bHasValidator = (zEtag && *cache_skip_ows(zEtag)!=0) || p->lastModified>=0;

  /* Section 4.1: Vary: * never matches a later request. */
  p->bVaryStar = cache_list_has(zVary, "*");
}

void cache_request_parse(CacheRequest *p, const char *zCacheControl, const char *zPragma){
  CacheDirective d;
  const char *z = zCacheControl;
  int nDirective = 0;
  memset(p, 0, sizeof(*p));
  p->maxAge = p->maxStale = p->minFresh = -1;
  while( z && (z = cache_next_directive(z, &d))!=0 ){
    if( d.nName==0 ) continue;
    nDirective++;
    if( cache_directive_is(&d, "no-store") ){
      p->bNoStore = 1;
    }else if( cache_directive_is(&d, "no-cache") ){
      p->bNoCache = 1;
    }else if( cache_directive_is(&d, "only-if-cached") ){
      p->bOnlyIfCached = 1;
    }else if( cache_directive_is(&d, "max-age") ){
      /* 5.2.1.1; malformed, the restrictive reading: 0, ask the server.
      ** Given twice, the smaller. */
      sqlite3_int64 v = cache_delta_seconds(&d);
      if( v<0 ) v = 0;
      if( p->maxAge<0 || v<p->maxAge ) p->maxAge = v;
    }else if( cache_directive_is(&d, "max-stale") ){
      /* 5.2.1.2: without an argument, stale by any amount; malformed,
      ** no staleness at all (the restrictive reading). */
      sqlite3_int64 v = d.zArg==0 && !d.bBad ? CACHE_DELTA_MAX : cache_delta_seconds(&d);
      if( v>=0 && (p->maxStale<0 || v<p->maxStale) ) p->maxStale = v;
    }else if( cache_directive_is(&d, "min-fresh") ){
      /* 5.2.1.3; malformed, it asks nothing. */
      sqlite3_int64 v = cache_delta_seconds(&d);
      if( v>p->minFresh ) p->minFresh = v;
    }
  }
  /* Section 5.4: Pragma: no-cache where the request has no Cache-Control. */
  if( nDirective==0 && cache_list_has(zPragma, "no-cache") ) p->bNoCache = 1;
}

/* RFC 9110 section 15.1: status codes heuristically cacheable by default. */
int cache_status_heuristic(long status){
  switch( status ){
    case 200: case 203: case 204: case 206: case 300: case 301: case 308:
    case 404: case 405: case 410: case 414: case 501:
      return 1;
  }
  return 0;
}

int cache_storable(const char *zMethod, long status, const CacheInfo *p){
  /* Section 3: a method the cache understands: GET and HEAD.  A POST
  ** response may only ever answer a later GET or HEAD (RFC 9110 section
  ** 9.3.3), which a cache keyed by method and body never looks it up for. */
  if( zMethod && strcmp(zMethod, "GET")!=0 && strcmp(zMethod, "HEAD")!=0 ) return 0;
  /* A final status (RFC 9110 section 15: 1xx are interim, codes run to
  ** 599).  206 and 304 are understood only by a cache that combines
  ** ranges or updates a stored response (sections 3.3, 3.4, 4.3.4), not by
  ** one that stores whole new responses. */
  if( status<200 || status>599 || status==206 || status==304 ) return 0;
  if( p->bNoStore || p->bVaryStar ) return 0;
  /* Explicit freshness, a status cacheable by default, or marked
  ** cacheable: public, or private (the cache is not shared). */
  return p->maxAge>=0 || p->expires>=0 || p->bPublic || p->bPrivate
      || cache_status_heuristic(status);
}

/* a-b, or the int64 nearest to it where that would overflow: the times
** may have come back from a cache file, which is no more to be trusted
** than any other input. */
static sqlite3_int64 cache_sub(sqlite3_int64 a, sqlite3_int64 b){
  if( b<0 ? a>INT64_MAX+b : a<INT64_MIN+b ) return b<0 ? INT64_MAX : INT64_MIN;
  return a - b;
}

/* Seconds into [0, 2^31]: section 1.2.2 takes any calculation on
** delta-seconds that overflows as 2^31, and none is negative. */
static sqlite3_int64 cache_clamp(sqlite3_int64 v){
  return v<0 ? 0 : v>CACHE_DELTA_MAX ? CACHE_DELTA_MAX : v;
}

/* Section 6.6.1 of RFC 9110: a response without a Date is dated by the
** recipient when it arrives. */
static sqlite3_int64 cache_date_value(const CacheInfo *p, sqlite3_int64 responseTime){
  return p->date>=0 ? p->date : responseTime;
}

sqlite3_int64 cache_freshness_lifetime(const CacheInfo *p, long status,
                                       sqlite3_int64 responseTime,
                                       sqlite3_int64 heuristicCapS){
  sqlite3_int64 dateValue = cache_date_value(p, responseTime);
  sqlite3_int64 sinceModified;
  /* no-cache (section 5.2.2.4) leaves the lifetime as it is but forbids
  ** every use without validation; a lifetime of 0 says just that to a
  ** caller that compares it with the age.  Of no-store nothing is kept. */
  if( p->bNoCache || p->bNoStore ) return 0;
  /* Section 4.2.1, in its order.  s-maxage comes first only in a shared
  ** cache, which this one is not (see the top of the file). */
  if( p->maxAge>=0 ) return cache_clamp(p->maxAge);
  /* Expires minus Date: both by the origin's clock, so skew between it
  ** and ours does not matter.  An invalid Expires is 0, long past. */
  if( p->expires>=0 ) return cache_clamp(cache_sub(p->expires, dateValue));
  /* Section 4.2.2: a heuristic only for a status cacheable by default or a
  ** response marked cacheable, and only from Last-Modified: the "typical"
  ** 10% of the time since, capped.  RFC 7234 wanted a warning past 24
  ** hours, which is a fair cap. */
  if( heuristicCapS<=0 || p->lastModified<0 ) return 0;
  if( !cache_status_heuristic(status) && !p->bPublic && !p->bPrivate ) return 0;
  sinceModified = cache_clamp(cache_sub(dateValue, p->lastModified));
  return sinceModified/10 < heuristicCapS ? sinceModified/10 : cache_clamp(heuristicCapS);
}

sqlite3_int64 cache_current_age(const CacheInfo *p, sqlite3_int64 requestTime,
                                sqlite3_int64 responseTime, sqlite3_int64 now){
  /* Section 4.2.3, step by step.  apparent_age is what our clock says the
  ** trip from the origin took (0 if its clock is ahead of ours);
  ** corrected_age_value is what the caches on the way said (Age) plus the
  ** round trip, which Age cannot have counted.  Either may be low; the
  ** larger is taken. */
  sqlite3_int64 dateValue = cache_date_value(p, responseTime);
  sqlite3_int64 apparentAge = cache_clamp(cache_sub(responseTime, dateValue));
  sqlite3_int64 responseDelay = cache_clamp(cache_sub(responseTime, requestTime));
  sqlite3_int64 correctedAgeValue = cache_clamp(p->age) + responseDelay;
  sqlite3_int64 correctedInitialAge =
      apparentAge>correctedAgeValue ? apparentAge : correctedAgeValue;
  /* A clock that went back since the response came makes it no younger. */
  sqlite3_int64 residentTime = cache_clamp(cache_sub(now, responseTime));
  return cache_clamp(correctedInitialAge + residentTime);
}

int cache_stale_if_error(const CacheInfo *p, long status, sqlite3_int64 lifetime,
                         sqlite3_int64 currentAge, sqlite3_int64 clientStaleS){
  sqlite3_int64 allowed = p->staleIfError>clientStaleS ? p->staleIfError : clientStaleS;
  /* RFC 5861 section 4: an error is what would be a 500, 502, 503 or 504;
  ** no response at all (status 0) is one a gateway would give 502 or 504 for. */
  if( status!=0 && status!=500 && status!=502 && status!=503 && status!=504 ) return 0;
  if( lifetime>currentAge ) return 1;            /* still fresh (section 4.2) */
  /* Section 4.2.4: never stale where no-cache or must-revalidate forbid it
  ** (5.2.2.2 says so even of a cache cut off from the origin).  RFC 5861's
  ** "regardless of other freshness information" is about max-age and
  ** Expires, not these: the most restrictive directive wins (4.2.1). */
  if( p->bNoCache || p->bMustRevalidate || p->bNoStore ) return 0;
  if( allowed<0 ) return 0;
  return cache_sub(currentAge, lifetime) <= allowed;
}
