/*
** json.c - a strict, non-recursive JSON scanner for response bodies and
** url_list: validation, then spans of the text (flatten.c finds a
** response's records with them).
**
** apifetch never builds a tree of a response.  json_validate() checks the
** whole body once (RFC 8259 grammar, well-formed UTF-8, bounded nesting)
** with an explicit stack, so a body nested 100,000 deep costs a small array,
** not the C stack.  After that, records are byte spans of the original text:
** the `data` column is the server's own bytes, so numbers keep every digit
** (9007199254740993 stays 9007199254740993, which no double can hold).
**
**   JsonSpan root, v;  size_t pos = 0;
**   if( json_validate(z, n, APIFETCH_JSON_MAX_DEPTH, &err)==SQLITE_OK ){
**     root = json_root(z, n);
**     while( json_array_next(root, &pos, &v) ){ ... v.z[0..v.n) ... }
**   }
**
** Seen from SQL as the `data` column of:
**   SELECT data FROM api_fetch('["http://127.0.0.1:8080/array?n=3"]');
*/
#include <assert.h>
#include <string.h>
#include "apifetch.h"

static int is_ws(char c){ return c==' ' || c=='\t' || c=='\n' || c=='\r'; }
static int is_digit(char c){ return c>='0' && c<='9'; }

size_t json_skip_ws(const char *z, size_t n, size_t i){
  while( i<n && is_ws(z[i]) ) i++;
  return i;
}

/* Length of the well-formed UTF-8 sequence at z[0..n), or 0 (RFC 3629:
** no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *z, size_t n){
  unsigned char c = z[0];
  if( c<0x80 ) return 1;
  if( c>=0xC2 && c<=0xDF ){
    return (n>=2 && (z[1]&0xC0)==0x80) ? 2 : 0;
  }
  if( c>=0xE0 && c<=0xEF ){
    unsigned char lo = c==0xE0 ? 0xA0 : 0x80;
    unsigned char hi = c==0xED ? 0x9F : 0xBF;
    return (n>=3 && z[1]>=lo && z[1]<=hi && (z[2]&0xC0)==0x80) ? 3 : 0;
  }
  if( c>=0xF0 && c<=0xF4 ){
    unsigned char lo = c==0xF0 ? 0x90 : 0x80;
    unsigned char hi = c==0xF4 ? 0x8F : 0xBF;
    return (n>=4 && z[1]>=lo && z[1]<=hi && (z[2]&0xC0)==0x80
            && (z[3]&0xC0)==0x80) ? 4 : 0;
  }
  return 0;
}

/* Offset of the first byte of z[0..n) that is not well-formed UTF-8, or n
** if all of it is (a BLOB accepted as text is checked so). */
size_t json_utf8_prefix(const char *z, size_t n){
  size_t i = 0;
  while( i<n ){
    size_t len = utf8_len((const unsigned char*)z+i, n-i);
    if( len==0 ) break;
    i += len;
  }
  return i;
}

static int hex_val(char c){
  if( c>='0' && c<='9' ) return c-'0';
  if( c>='a' && c<='f' ) return c-'a'+10;
  if( c>='A' && c<='F' ) return c-'A'+10;
  return -1;
}

/* 1 for the bytes a string holds as they are and needs no look at: ASCII
** from space up, but for '"' and '\\'. */
static const unsigned char aPlain[256] = {
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  1,1,0,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,0,1,1,1,
  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
};

/* Scan the string literal whose opening quote is at z[*pi].  On success
** *pi is just past the closing quote. */
static int scan_string(const char *z, size_t n, size_t *pi, JsonError *pErr){
  size_t i = *pi + 1;
  while( i<n ){
    unsigned char c;
    /* Most of a body is plain ASCII text: step over it in a tight loop. */
    while( i<n && aPlain[(unsigned char)z[i]] ) i++;
    if( i>=n ) break;
    c = (unsigned char)z[i];
    if( c=='"' ){ *pi = i+1; return 0; }
    if( c=='\\' ){
      if( i+1>=n ) break;
      switch( z[i+1] ){
        case '"': case '\\': case '/': case 'b': case 'f':
        case 'n': case 'r': case 't':
          i += 2;
          break;
        case 'u': {
          int k;
          for(k=2; k<6; k++){
            if( i+k>=n || hex_val(z[i+k])<0 ){
              pErr->offset = i; pErr->zWhat = "bad \\u escape in string";
              return 1;
            }
          }
          i += 6;
          break;
        }
        default:
          pErr->offset = i; pErr->zWhat = "bad escape in string";
          return 1;
      }
    }else if( c<0x20 ){
      pErr->offset = i; pErr->zWhat = "control character in string";
      return 1;
    }else{
      size_t len = utf8_len((const unsigned char*)z+i, n-i);
      if( len==0 ){
        pErr->offset = i; pErr->zWhat = "invalid UTF-8";
        return 1;
      }
      i += len;
    }
  }
  pErr->offset = n; pErr->zWhat = "unterminated string";
  return 1;
}

static int scan_number(const char *z, size_t n, size_t *pi, JsonError *pErr){
  size_t i = *pi;
  if( i<n && z[i]=='-' ) i++;
  if( i<n && z[i]=='0' ){
    i++;
  }else if( i<n && is_digit(z[i]) ){
    while( i<n && is_digit(z[i]) ) i++;
  }else{
    goto bad;
  }
  if( i<n && z[i]=='.' ){
    i++;
    if( i>=n || !is_digit(z[i]) ) goto bad;
    while( i<n && is_digit(z[i]) ) i++;
  }
  if( i<n && (z[i]=='e' || z[i]=='E') ){
    i++;
    if( i<n && (z[i]=='+' || z[i]=='-') ) i++;
    if( i>=n || !is_digit(z[i]) ) goto bad;
    while( i<n && is_digit(z[i]) ) i++;
  }
  *pi = i;
  return 0;
bad:
  pErr->offset = i; pErr->zWhat = "malformed number";
  return 1;
}

static int scan_literal(const char *z, size_t n, size_t *pi, const char *zLit,
                        JsonError *pErr){
  size_t len = strlen(zLit);
  if( n-*pi<len || memcmp(z+*pi, zLit, len)!=0 ){
    pErr->offset = *pi; pErr->zWhat = "expected a JSON value";
    return 1;
  }
  *pi += len;
  return 0;
}

int json_validate(const char *z, size_t n, int maxDepth, JsonError *pErr){
  unsigned char aSmall[64];     /* Container stack: '{' or '[' per level */
  unsigned char *aStack = aSmall;
  int nDepth = 0;
  int rc = SQLITE_ERROR;
  size_t i = 0;

  /* A UTF-8 byte order mark is tolerated (RFC 8259 section 8.1). */
  if( n>=3 && memcmp(z, "\xEF\xBB\xBF", 3)==0 ) i = 3;
  i = json_skip_ws(z, n, i);
  if( i>=n ){ pErr->offset = i; pErr->zWhat = "empty document"; goto done; }

  for(;;){
    /* Here: at the start of a value. */
    i = json_skip_ws(z, n, i);
    if( i>=n ){ pErr->offset = i; pErr->zWhat = "unexpected end of input"; goto done; }
    switch( z[i] ){
      case '{':
      case '[':
        if( nDepth>=maxDepth ){
          pErr->offset = i; pErr->zWhat = "nested too deeply";
          goto done;
        }
        if( nDepth==(int)sizeof(aSmall) && aStack==aSmall ){
          /* Deeper than most documents ever go: the full stack, once.  Not
          ** before: NDJSON validates a line at a time, a million a body. */
          aStack = sqlite3_malloc(maxDepth);
          if( aStack==0 ){
            pErr->offset = i; pErr->zWhat = "out of memory";
            return SQLITE_NOMEM;
          }
          memcpy(aStack, aSmall, sizeof(aSmall));
        }
        aStack[nDepth++] = (unsigned char)z[i];
        i = json_skip_ws(z, n, i+1);
        if( i<n && z[i]==(aStack[nDepth-1]=='{' ? '}' : ']') ){
          nDepth--;
          i++;
          goto after_value;
        }
        if( aStack[nDepth-1]=='{' ) goto member_key;
        continue;
      case '"':
        if( scan_string(z, n, &i, pErr) ) goto done;
        goto after_value;
      case 't': if( scan_literal(z, n, &i, "true", pErr) ) goto done;  goto after_value;
      case 'f': if( scan_literal(z, n, &i, "false", pErr) ) goto done; goto after_value;
      case 'n': if( scan_literal(z, n, &i, "null", pErr) ) goto done;  goto after_value;
      default:
        if( z[i]=='-' || is_digit(z[i]) ){
          if( scan_number(z, n, &i, pErr) ) goto done;
          goto after_value;
        }
        pErr->offset = i; pErr->zWhat = "expected a JSON value";
        goto done;
    }

  member_key:
    if( i>=n || z[i]!='"' ){
      pErr->offset = i; pErr->zWhat = "expected a string key";
      goto done;
    }
    if( scan_string(z, n, &i, pErr) ) goto done;
    i = json_skip_ws(z, n, i);
    if( i>=n || z[i]!=':' ){
      pErr->offset = i; pErr->zWhat = "expected ':' after key";
      goto done;
    }
    i++;
    continue;

  after_value:
    i = json_skip_ws(z, n, i);
    while( nDepth>0 ){
      char close = aStack[nDepth-1]=='{' ? '}' : ']';
      if( i<n && z[i]==',' ){
        i = json_skip_ws(z, n, i+1);
        break;
      }
      if( i<n && z[i]==close ){
        nDepth--;
        i = json_skip_ws(z, n, i+1);
        continue;
      }
      pErr->offset = i;
      pErr->zWhat = close=='}' ? "expected ',' or '}'" : "expected ',' or ']'";
      goto done;
    }
    if( nDepth==0 ){
      if( i<n ){ pErr->offset = i; pErr->zWhat = "trailing characters after JSON"; goto done; }
      rc = SQLITE_OK;
      goto done;
    }
    if( aStack[nDepth-1]=='{' ) goto member_key;
  }

done:
  if( aStack!=aSmall ) sqlite3_free(aStack);
  return rc;
}

/* Bytes json_skip_value() must look at: 1 quote, 2 open, 3 close, 4 the
** end of a number or literal; 0 for everything else. */
static const unsigned char aSkipClass[256] = {
  ['"'] = 1, ['{'] = 2, ['['] = 2, ['}'] = 3, [']'] = 3,
};

/* Index of the quote that closes the string whose body starts at z[i]. */
static size_t string_end(const char *z, size_t n, size_t i){
  for(;;){
    const char *q = memchr(z+i, '"', n-i);
    size_t k;
    if( q==0 ) return n;
    k = (size_t)(q - z);
    /* Escaped if preceded by an odd number of backslashes. */
    {
      size_t b = k;
      while( b>i && z[b-1]=='\\' ) b--;
      if( ((k-b)&1)==0 ) return k;
    }
    i = k+1;
  }
}

/* Skip the (validated) value starting at z[i]; return the index after it. */
static size_t json_skip_value(const char *z, size_t n, size_t i){
  size_t depth = 0;
  char c;
  assert( i<n );                  /* a value starts here: validated text */
  c = z[i];
  if( c=='"' ) return string_end(z, n, i+1) + 1;
  if( c!='{' && c!='[' ){
    while( i<n && !is_ws(z[i]) && z[i]!=',' && z[i]!=']' && z[i]!='}' ) i++;
    return i;
  }
  /* A container: only quotes and brackets matter inside it. */
  while( i<n ){
    switch( aSkipClass[(unsigned char)z[i]] ){
      case 0: i++; break;
      case 1: i = string_end(z, n, i+1) + 1; break;
      case 2: depth++; i++; break;
      default:
        i++;
        if( --depth==0 ) return i;
        break;
    }
  }
  return i;
}

JsonSpan json_root(const char *z, size_t n){
  JsonSpan s;
  size_t i = 0, e;
  if( n>=3 && memcmp(z, "\xEF\xBB\xBF", 3)==0 ) i = 3;
  i = json_skip_ws(z, n, i);
  /* The text is one valid value, so it ends where trailing space starts:
  ** no need to walk it (url_list items call this once each). */
  e = n;
  while( e>i && is_ws(z[e-1]) ) e--;
  s.z = z+i;
  s.n = e-i;
  return s;
}

char json_type(JsonSpan v){
  char c = v.n ? v.z[0] : 0;
  if( c=='-' || is_digit(c) ) return 'n';
  if( c=='n' ) return 'z';
  return c;
}

int json_array_next(JsonSpan arr, size_t *pPos, JsonSpan *pElem){
  size_t i = *pPos==0 ? 1 : *pPos, e;
  assert( arr.n>=2 && arr.z[0]=='[' && arr.z[arr.n-1]==']' );
  i = json_skip_ws(arr.z, arr.n, i);
  if( i<arr.n && arr.z[i]==',' ) i = json_skip_ws(arr.z, arr.n, i+1);
  if( i>=arr.n || arr.z[i]==']' ){ *pPos = arr.n; return 0; }
  e = json_skip_value(arr.z, arr.n, i);
  pElem->z = arr.z+i;
  pElem->n = e-i;
  *pPos = e;
  return 1;
}

int json_object_next(JsonSpan obj, size_t *pPos, JsonSpan *pKey, JsonSpan *pVal){
  size_t i = *pPos==0 ? 1 : *pPos, e;
  assert( obj.n>=2 && obj.z[0]=='{' && obj.z[obj.n-1]=='}' );
  i = json_skip_ws(obj.z, obj.n, i);
  if( i<obj.n && obj.z[i]==',' ) i = json_skip_ws(obj.z, obj.n, i+1);
  if( i>=obj.n || obj.z[i]=='}' ){ *pPos = obj.n; return 0; }
  e = json_skip_value(obj.z, obj.n, i);
  assert( obj.z[i]=='"' );                 /* a member's name is a string */
  pKey->z = obj.z+i;
  pKey->n = e-i;
  i = json_skip_ws(obj.z, obj.n, e);
  assert( i<obj.n && obj.z[i]==':' );
  i = json_skip_ws(obj.z, obj.n, i+1);     /* past ':' */
  e = json_skip_value(obj.z, obj.n, i);
  pVal->z = obj.z+i;
  pVal->n = e-i;
  *pPos = e;
  return 1;
}

/* Decode the escape at s[i] (s[i]=='\\'); write UTF-8 to aOut, return the
** number of bytes written and advance *pi past the escape. */
static int decode_escape(const char *s, size_t n, size_t *pi, char *aOut){
  size_t i = *pi;
  unsigned cp;
  char c;
  assert( i+1<n && s[i]=='\\' );   /* validated: an escape is complete */
  c = s[i+1];
  switch( c ){
    case 'b': aOut[0] = '\b'; *pi = i+2; return 1;
    case 'f': aOut[0] = '\f'; *pi = i+2; return 1;
    case 'n': aOut[0] = '\n'; *pi = i+2; return 1;
    case 'r': aOut[0] = '\r'; *pi = i+2; return 1;
    case 't': aOut[0] = '\t'; *pi = i+2; return 1;
    case 'u': break;
    default:  aOut[0] = c;    *pi = i+2; return 1;
  }
  cp = (unsigned)(hex_val(s[i+2])<<12 | hex_val(s[i+3])<<8
                  | hex_val(s[i+4])<<4 | hex_val(s[i+5]));
  i += 6;
  if( cp>=0xD800 && cp<=0xDBFF && i+5<n && s[i]=='\\' && s[i+1]=='u' ){
    unsigned lo = (unsigned)(hex_val(s[i+2])<<12 | hex_val(s[i+3])<<8
                             | hex_val(s[i+4])<<4 | hex_val(s[i+5]));
    if( lo>=0xDC00 && lo<=0xDFFF ){
      cp = 0x10000 + ((cp-0xD800)<<10) + (lo-0xDC00);
      i += 6;
    }
  }
  if( cp>=0xD800 && cp<=0xDFFF ) cp = 0xFFFD;   /* lone surrogate */
  *pi = i;
  if( cp<0x80 ){ aOut[0] = (char)cp; return 1; }
  if( cp<0x800 ){
    aOut[0] = (char)(0xC0 | cp>>6);
    aOut[1] = (char)(0x80 | (cp&0x3F));
    return 2;
  }
  if( cp<0x10000 ){
    aOut[0] = (char)(0xE0 | cp>>12);
    aOut[1] = (char)(0x80 | ((cp>>6)&0x3F));
    aOut[2] = (char)(0x80 | (cp&0x3F));
    return 3;
  }
  aOut[0] = (char)(0xF0 | cp>>18);
  aOut[1] = (char)(0x80 | ((cp>>12)&0x3F));
  aOut[2] = (char)(0x80 | ((cp>>6)&0x3F));
  aOut[3] = (char)(0x80 | (cp&0x3F));
  return 4;
}

int json_string_eq(JsonSpan str, const char *zKey, size_t nKey){
  const char *s = str.z + 1;
  size_t n = str.n - 2, i = 0, k = 0;
  assert( str.n>=2 && str.z[0]=='"' && str.z[str.n-1]=='"' );
  if( memchr(s, '\\', n)==0 ) return n==nKey && memcmp(s, zKey, n)==0;
  while( i<n ){
    if( s[i]=='\\' ){
      char a[4];
      int m = decode_escape(s, n, &i, a);
      if( k+m>nKey || memcmp(zKey+k, a, m)!=0 ) return 0;
      k += m;
    }else{
      if( k>=nKey || zKey[k]!=s[i] ) return 0;
      k++; i++;
    }
  }
  return k==nKey;
}

size_t json_string_decode_into(JsonSpan str, char *zOut){
  const char *s = str.z + 1;
  size_t n = str.n - 2, i = 0, k = 0;
  assert( str.n>=2 && str.z[0]=='"' && str.z[str.n-1]=='"' );
  if( memchr(s, '\\', n)==0 ){
    memcpy(zOut, s, n);
    return n;
  }
  while( i<n ){
    if( s[i]=='\\' ){
      k += decode_escape(s, n, &i, zOut+k);
    }else{
      zOut[k++] = s[i++];
    }
  }
  return k;
}

int json_has_nul(const char *z, size_t n){
  size_t i;
  for(i=0; i+1<n; i++){
    if( z[i]!='\\' ) continue;
    if( z[i+1]=='u' && i+5<n && memcmp(z+i+2, "0000", 4)==0 ) return 1;
    i++;                               /* skip the escaped character */
  }
  return 0;
}

char *json_string_decode(JsonSpan str, int *pbNul){
  const char *s = str.z + 1;
  size_t n = str.n - 2, i = 0, k = 0;
  char *zOut = sqlite3_malloc64(n+1);   /* decoding never grows the text */
  assert( str.n>=2 && str.z[0]=='"' && str.z[str.n-1]=='"' );
  *pbNul = 0;
  if( zOut==0 ) return 0;
  while( i<n ){
    if( s[i]=='\\' ){
      int m = decode_escape(s, n, &i, zOut+k);
      if( m==1 && zOut[k]==0 ){ *pbNul = 1; sqlite3_free(zOut); return 0; }
      k += m;
    }else{
      zOut[k++] = s[i++];
    }
  }
  zOut[k] = 0;
  return zOut;
}

int json_object_get(JsonSpan obj, const char *zKey, JsonSpan *pVal){
  size_t pos = 0, nKey = strlen(zKey);
  JsonSpan k, v;
  int bFound = 0;
  /* RFC 8259 leaves duplicate names undefined; like SQLite's ->> we take
  ** the last one, which is also what JavaScript and Python do. */
  while( json_object_next(obj, &pos, &k, &v) ){
    if( json_string_eq(k, zKey, nKey) ){ *pVal = v; bFound = 1; }
  }
  return bFound;
}

/* "k1":{"k2":...val}: keys az[iFrom..nKey) around the value, for
** json_set_path. */
static void json_nested(Buf *pOut, char **az, int iFrom, int nKey, const char *zVal,
                        size_t nVal){
  int j;
  for(j=iFrom; j<nKey; j++){
    buf_append_json_string(pOut, az[j], strlen(az[j]));
    buf_append(pOut, STRCONST(":"));
    if( j+1<nKey ) buf_append(pOut, STRCONST("{"));
  }
  buf_append(pOut, zVal, nVal);
  for(j=iFrom; j+1<nKey; j++) buf_append(pOut, STRCONST("}"));
}

/* The JSON text z[0..n) (an object) with the value at path az[0..nKey)
** set to zVal[0..nVal) (JSON text), appended to *pOut: the rest byte for
** byte, so that big numbers elsewhere in it survive.  A missing key is
** added as its object's first member, with the objects on the way to it;
** a null on the way becomes such an object.  SQLITE_ERROR (nothing
** appended) if the root, or a value on the way, is neither an object nor
** null.  z is text json_validate accepted. */
int json_set_path(const char *z, size_t n, char **az, int nKey, const char *zVal,
                  size_t nVal, Buf *pOut){
  JsonSpan cur = json_root(z, n), v, k;
  size_t iAt, pos = 0;
  int i;
  assert( nKey>0 );
  if( json_type(cur)!='{' ) return SQLITE_ERROR;
  for(i=0; i<nKey; i++){
    if( !json_object_get(cur, az[i], &v) ){
      /* Missing: "az[i]":... goes first in cur, after its "{". */
      int bMembers = json_object_next(cur, &pos, &k, &v);
      iAt = (size_t)(cur.z - z) + 1;
      buf_append(pOut, z, iAt);
      json_nested(pOut, az, i, nKey, zVal, nVal);
      if( bMembers ) buf_append(pOut, STRCONST(","));
      buf_append(pOut, z + iAt, n - iAt);
      return SQLITE_OK;
    }
    if( i+1<nKey && json_type(v)=='z' ){
      /* A null on the way: an object holding the rest of the path. */
      iAt = (size_t)(v.z - z);
      buf_append(pOut, z, iAt);
      buf_append(pOut, STRCONST("{"));
      json_nested(pOut, az, i+1, nKey, zVal, nVal);
      buf_append(pOut, STRCONST("}"));
      buf_append(pOut, z + iAt + v.n, n - iAt - v.n);
      return SQLITE_OK;
    }
    if( i+1<nKey && json_type(v)!='{' ) return SQLITE_ERROR;
    cur = v;
  }
  iAt = (size_t)(cur.z - z);                    /* the value at the path: replaced */
  buf_append(pOut, z, iAt);
  buf_append(pOut, zVal, nVal);
  buf_append(pOut, z + iAt + cur.n, n - iAt - cur.n);
  return SQLITE_OK;
}
