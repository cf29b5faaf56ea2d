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
#include <stdlib.h>
#include <assert.h>
#include <string.h>
#include "apifetch.h"
#include "shape.h"

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
  int v, k = 2, g;
  SuffixMark *pMark;
  /* Records of one API mostly list their keys in one order, the order the
  ** columns were made in: try the column after the last one before hashing
  ** (an exact match is the column hash_slot would find, names being unique
  ** regardless of case).  Saves the hash of most keys of the wide face. */
  if( s->iGuessStamp!=iStamp ){ s->iGuessStamp = iStamp; s->iGuess = 0; }
  g = s->iGuess;
  if( g<s->nCol && s->aCol[g].nName==n && memcmp(s->aCol[g].zName, z, n)==0 ){
    v = g;
  }else{
    v = *hash_slot(s, z, n);
  }
  /* The usual case, once per key of every record: the name itself. */
  if( v==HASH_EMPTY ){ *pzName = z; *pnName = n; return -1; }
  if( v>=0 && s->aCol[v].iStamp!=iStamp ){
    s->aCol[v].iStamp = iStamp;
    s->iGuess = v+1;
    return v;
  }
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

/* A sampled value widens column p's kinds (SEEN_*). */
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

/* The type rules.  After the sample, each column takes the first rule in
** aTypeRule whose test fits the kinds of value it showed (nn: SEEN_* bits,
** null left out): its SQL type, and how its values are converted
** (value_convert).  A rule is a row and a test; the option words that
** steer them (timestamps, numeric_strings) are knobs of knobs.c. */
typedef struct TypeRule TypeRule;
struct TypeRule {
  const char *zWhat;              /* What the rule says, for the reader */
  /* Does it fit?  Then 1, with the SQL type in *peType. */
  int (*xFits)(const Column *p, unsigned nn, const TypeRules *r, int *peType);
  int eConv;                      /* CONV_*: how its values are converted */
};

static int fits_null(const Column *p, unsigned nn, const TypeRules *r, int *peType){
  (void)p; (void)r;
  *peType = TYPE_NONE;
  return nn==0;
}
static int fits_json(const Column *p, unsigned nn, const TypeRules *r, int *peType){
  (void)p; (void)r;
  *peType = TYPE_TEXT;
  return (nn & SEEN_JSON)!=0;
}
static int all_timestamps(const Column *p, unsigned nn){
  return nn==SEEN_STR && (p->strAll & STR_TS);
}
static int fits_ts_epoch(const Column *p, unsigned nn, const TypeRules *r, int *peType){
  *peType = (p->strAny & STR_TSFRAC) ? TYPE_REAL : TYPE_INTEGER;
  return all_timestamps(p, nn) && r->timestamps==TS_EPOCH;
}
static int fits_ts_utc(const Column *p, unsigned nn, const TypeRules *r, int *peType){
  *peType = TYPE_TEXT;
  return all_timestamps(p, nn) && r->timestamps==TS_UTC;
}
static int fits_numeric_strings(const Column *p, unsigned nn, const TypeRules *r, int *peType){
  *peType = (p->strAll & STR_INT) && !(nn & SEEN_REAL) ? TYPE_INTEGER : TYPE_REAL;
  return (nn & SEEN_STR) && r->numericStrings!=NUMSTR_NEVER && !(nn & (SEEN_BIG|SEEN_BOOL))
      && (p->strAll & (r->numericStrings==NUMSTR_DECIMAL ? STR_DEC : STR_REAL));
}
static int fits_text(const Column *p, unsigned nn, const TypeRules *r, int *peType){
  (void)p; (void)r;
  *peType = TYPE_TEXT;
  return (nn & (SEEN_STR|SEEN_BIG))!=0;
}
static int fits_real(const Column *p, unsigned nn, const TypeRules *r, int *peType){
  (void)p; (void)r;
  *peType = TYPE_REAL;
  return (nn & SEEN_REAL)!=0;
}
static int fits_integer(const Column *p, unsigned nn, const TypeRules *r, int *peType){
  (void)p; (void)nn; (void)r;
  *peType = TYPE_INTEGER;
  return 1;
}

static const TypeRule aTypeRule[] = {
  { "nothing but null: no declared type",                  fits_null,            CONV_NATURAL },
  { "arrays or objects: TEXT holding their JSON",          fits_json,            CONV_NATURAL },
  { "timestamps, timestamps=epoch: unix seconds",          fits_ts_epoch,        CONV_TS_EPOCH },
  { "timestamps, timestamps=utc: UTC text",                fits_ts_utc,          CONV_TS_UTC },
  { "numbers in strings, numeric_strings: INTEGER or REAL", fits_numeric_strings, CONV_NUMERIC },
  { "other strings, integers beyond 64 bits: TEXT",        fits_text,            CONV_NATURAL },
  { "reals (and integers with them): REAL",                fits_real,            CONV_NUMERIC },
  { "integers and booleans: INTEGER",                      fits_integer,         CONV_NUMERIC },
};

/* Decide each column's type from what the sample showed, and put meta
** columns after record columns (json_normalize's order). */
int schema_finish(Schema *s, const TypeRules *r){
  int i, j;
  for(i=0; i<s->nCol; i++){
    Column *p = &s->aCol[i];
    unsigned nn = p->seen & ~SEEN_NULL;
    int k, eType = TYPE_TEXT;
    for(k=0; !aTypeRule[k].xFits(p, nn, r, &eType); k++){
      assert( k+1<ArraySize(aTypeRule) );   /* the last fits all */
    }
    set_type(p, eType, aTypeRule[k].eConv);
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

/* "INTEGER, INT, ..., ANY": the words of aDeclType for an error message,
** so that a new row is named there too (sqlite3_malloc'd, NULL for out of
** memory). */
static char *decl_type_list(void){
  sqlite3_str *pStr = sqlite3_str_new(0);
  int k;
  for(k=0; k<ArraySize(aDeclType); k++){
    sqlite3_str_appendf(pStr, "%s%s", k ? ", " : "", aDeclType[k].zName);
  }
  return sqlite3_str_finish(pStr);
}

/* columns='id INTEGER, "full name" TEXT, created TIMESTAMP, raw'. */
int schema_declare(Schema *s, const char *z, const TypeRules *r, char **pzErr){
  size_t i = 0, n = strlen(z);
  while( 1 ){
    const char *zName;
    size_t nName;
    char zType[16];
    size_t nType = 0, t;
    int iCol, k, bFound = 0, bQuoted;
    while( i<n && (z[i]==' ' || z[i]=='\t' || z[i]=='\n' || z[i]=='\r') ) i++;
    if( i>=n ){
      if( s->nCol==0 ){
        *pzErr = sqlite3_mprintf("api_fetch: columns is empty");
        return SQLITE_ERROR;
      }
      return SQLITE_OK;
    }
    /* The name: "quoted" (with "" for a quote; "" alone is the empty name
    ** a JSON key "" gets, which api_fetch_columns writes so), or up to a
    ** space or comma. */
    s->tmp.n = 0;
    bQuoted = z[i]=='"';
    if( bQuoted ){
      for(i++; i<n; i++){
        if( z[i]=='"' ){
          if( i+1<n && z[i+1]=='"' ){ buf_append(&s->tmp, STRCONST("\"")); i++; continue; }
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
    zName = s->tmp.z ? s->tmp.z : "";
    nName = s->tmp.n;
    if( nName==0 && !bQuoted ){
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
    for(k=0; k<ArraySize(aDeclType); k++){
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
      char *zKnown = decl_type_list();
      if( zKnown==0 ) return SQLITE_NOMEM;
      *pzErr = sqlite3_mprintf("api_fetch: columns: unknown type \"%s\" for column \"%s\" "
                               "(known: %s, or none)", zType, s->aCol[iCol].zName, zKnown);
      sqlite3_free(zKnown);
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

/* The word of aDeclType that schema_declare turns back into p's type and
** conversion (with the same TypeRules): a timestamp column is TIMESTAMP,
** not the TEXT or INTEGER it is declared to SQLite as. */
static const char *schema_decl_word(const Column *p){
  switch( p->eConv ){
    case CONV_JSON:     return "JSON";
    case CONV_TS_UTC: case CONV_TS_EPOCH: case CONV_TS_KEEP: return "TIMESTAMP";
    default: break;
  }
  return p->eType==TYPE_NONE ? "ANY" : schema_type_name(p);
}

/* The schema's columns appended to b, ", " between them.  bDdl 0: as a
** columns= declaration that schema_declare reads back into the same columns,
** 'id INTEGER, "full name" TEXT, at TIMESTAMP, x ANY' (a name that is not a
** plain identifier quoted, "" for a quote, so the text is also valid SQL).
** bDdl 1: as the wide table's CREATE TABLE declares them to SQLite, every
** name quoted (a key may be a keyword: "order") and the SQLite type. */
void schema_append_columns(const Schema *s, Buf *b, int bDdl){
  int i;
  assert( s->nCol>0 );            /* a table has a column (schema_declare, sample) */
  for(i=0; i<s->nCol; i++){
    const Column *p = &s->aCol[i];
    const char *zWord = bDdl ? schema_type_name(p) : schema_decl_word(p);
    size_t j;
    int bPlain = !bDdl && p->nName>0 && !(p->zName[0]>='0' && p->zName[0]<='9');
    for(j=0; j<p->nName && bPlain; j++){
      char c = p->zName[j];
      bPlain = c=='_' || (c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9');
    }
    if( i>0 ) buf_append(b, STRCONST(", "));
    if( bPlain ){
      buf_append(b, p->zName, p->nName);
    }else{
      buf_append(b, STRCONST("\""));
      for(j=0; j<p->nName; j++){
        buf_append(b, p->zName+j, 1);
        if( p->zName[j]=='"' ) buf_append(b, STRCONST("\""));
      }
      buf_append(b, STRCONST("\""));
    }
    buf_append(b, STRCONST(" "));
    buf_append(b, zWord, strlen(zWord));
  }
}

char *schema_columns(const Schema *s){
  Buf b = {0, 0, 0, 0};
  schema_append_columns(s, &b, 0);
  if( b.bOom ){
    buf_free(&b);
    return 0;
  }
  return b.z;
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

/* Convert v for column p.  Returns 1 if v does not fit the column's type
** (it is then kept as it is), else 0. */
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
