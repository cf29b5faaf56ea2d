/*
** fuzz_flatten.c - libFuzzer target for the wide face's response pipeline:
** json_validate -> records_begin/records_next -> shape_learn/shape_finish ->
** shape_record, in the order src/scan.c runs them (response_records,
** scan_sample, scan_row), plus schema_declare on text from the input.
**
** Built and run by `make fuzz` (clang -fsanitize=fuzzer,address,undefined).
**
** Input layout: 4 knob bytes, then the rest.
**
**   k0  bits 0-1  record_path length (0, 1, 2; 3 means 2)
**       bits 2-3  sep: "_", ".", "__", "_"
**       bits 4-5  max_level: -1, 0, 1, 2
**       bits 6-7  timestamps: TS_UTC, TS_KEEP, TS_EPOCH (3 means TS_UTC)
**   k1  bits 0-1  numeric_strings: NEVER, EXACT, DECIMAL (3 means EXACT)
**       bits 2-3  meta: none, or a meta path of 1, 2 or 3 keys
**       bit  4    record_prefix "" or "rec_"
**       bits 5-7  meta key 2
**   k2  bits 0-2  record_path key 0, bits 3-5 record_path key 1
**       bit  6    use the declared schema (if schema_declare accepted it)
**                 for the rows instead of the learned one
**   k3  bits 0-2  meta key 0, bits 3-5 meta key 1
**
** The rest: if it holds a NUL byte, the text before the first NUL is the
** columns declaration and the bytes after it the response body; otherwise
** the whole rest is both (schema_declare reads it as a C string).
** Keys are indices into azKey.  tests/fuzz_seeds.py writes seeds in this
** layout from tests/conformance/cases.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "apifetch.h"
#include "shape.h"
#include "fuzz.h"

static const char *const azKey[8] = {
  "data", "items", "a", "groups", "id", "info", "name", "tags"
};
static const char *const azSep[4] = { "_", ".", "__", "_" };
static const char *const azReserved[] = { "_url", "_extra", "_mismatches", 0 };

/* Read every cell of a row the way fetchColumn/result_cell would. */
static void read_row(const Shape *sh, const Row *w){
  int i;
  for(i=0; i<sh->schema.nCol; i++){
    const Cell *c = &w->aCell[i];
    switch( c->eType ){
      case SQLITE_INTEGER: gSink += (unsigned long long)c->i; break;
      case SQLITE_FLOAT:   gSink += (unsigned long long)(c->r != c->r); break;
      case SQLITE_TEXT:
        if( c->z ){
          touch(c->z, c->n);
        }else{
          if( c->off + c->n > w->arena.n ) abort();   /* must lie in the arena */
          touch(w->arena.z + c->off, c->n);
        }
        break;
      case 0: case SQLITE_NULL: break;
      default: abort();                                /* not an SQLITE_* type */
    }
  }
  if( w->extra.n ) touch(w->extra.z, w->extra.n + 1);  /* + the NUL */
  if( w->mism.n ) touch(w->mism.z, w->mism.n + 1);
}

/* Column names and types, as the CREATE TABLE statement is built. */
static void read_schema(const Schema *s){
  int i;
  for(i=0; i<s->nCol; i++){
    const char *zT = schema_type_name(&s->aCol[i]);
    touch(s->aCol[i].zName, s->aCol[i].nName + 1);
    touch(zT, strlen(zT));
  }
}

static int set_meta(Shape *sh, const char **azMeta, int nMeta){
  int k;
  MetaPath *m;
  Buf name = {0, 0, 0, 0};
  sh->aMeta = sqlite3_malloc(sizeof(MetaPath));
  if( sh->aMeta==0 ) return SQLITE_NOMEM;
  memset(sh->aMeta, 0, sizeof(MetaPath));
  sh->nMeta = 1;
  m = &sh->aMeta[0];
  m->az = sqlite3_malloc(sizeof(char*)*nMeta);
  if( m->az==0 ) return SQLITE_NOMEM;
  for(k=0; k<nMeta; k++){
    m->az[k] = sqlite3_mprintf("%s", azMeta[k]);
    if( m->az[k]==0 ) return SQLITE_NOMEM;
    m->n++;
    if( k ) buf_append(&name, sh->zSep, strlen(sh->zSep));
    buf_append(&name, azMeta[k], strlen(azMeta[k]));
  }
  if( name.bOom || name.z==0 ){ buf_free(&name); return SQLITE_NOMEM; }
  m->zName = name.z;
  return SQLITE_OK;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size){
  unsigned k0, k1, k2, k3;
  const unsigned char *pNul;
  char *zCols;                 /* NUL-terminated copy of the columns text */
  const char *zBody;           /* The response body (not NUL-terminated) */
  size_t nBody, nRest;
  char *azPath[2];
  int nPath, nMeta, bDeclared = 0, bDeclOwned = 1, bUseDeclared;
  const char *azMeta[3];
  TypeRules rules;
  Schema decl;
  char *zErr = 0;
  JsonError err;

  if( size<4 ) return 0;
  k0 = data[0]; k1 = data[1]; k2 = data[2]; k3 = data[3];
  data += 4; nRest = size - 4;

  nPath = k0 & 3; if( nPath==3 ) nPath = 2;
  azPath[0] = (char*)azKey[k2 & 7];
  azPath[1] = (char*)azKey[(k2>>3) & 7];
  rules.timestamps = (k0>>6) & 3; if( rules.timestamps==3 ) rules.timestamps = TS_UTC;
  rules.numericStrings = k1 & 3;
  if( rules.numericStrings==3 ) rules.numericStrings = NUMSTR_EXACT;
  nMeta = (k1>>2) & 3;
  azMeta[0] = azKey[k3 & 7];
  azMeta[1] = azKey[(k3>>3) & 7];
  azMeta[2] = azKey[(k1>>5) & 7];
  bUseDeclared = (k2>>6) & 1;

  pNul = memchr(data, 0, nRest);
  if( pNul ){
    size_t nCols = (size_t)(pNul - data);
    zCols = malloc(nCols + 1);
    memcpy(zCols, data, nCols);
    zCols[nCols] = 0;
    zBody = (const char*)pNul + 1;
    nBody = nRest - nCols - 1;
  }else{
    zCols = malloc(nRest + 1);
    memcpy(zCols, data, nRest);
    zCols[nRest] = 0;
    zBody = (const char*)data;
    nBody = nRest;
  }

  /* columns='...': a declared schema (wide_connect). */
  if( schema_init(&decl, azReserved, 1000)==SQLITE_OK ){
    if( schema_declare(&decl, zCols, &rules, &zErr)==SQLITE_OK ){
      read_schema(&decl);
      bDeclared = 1;
    }else if( zErr ){
      touch(zErr, strlen(zErr));
    }
    sqlite3_free(zErr);
    zErr = 0;
  }
  free(zCols);

  /* The body in a buffer of exactly its size, so reads past it are caught. */
  {
    char *zCopy = malloc(nBody ? nBody : 1);
    memcpy(zCopy, zBody, nBody);
    zBody = zCopy;
  }

  if( nBody>0 && json_validate(zBody, nBody, APIFETCH_JSON_MAX_DEPTH, &err)==0 ){
    RecordIter it;
    JsonSpan root = json_root(zBody, nBody), rec;
    if( records_begin(&it, root, azPath, nPath, &zErr)==0 ){
      Shape shape;
      Row row;
      int rc = SQLITE_OK;
      memset(&shape, 0, sizeof(shape));
      shape.rules = rules;
      shape.maxLevel = (int)((k0>>4) & 3) - 1;
      shape.zSep = sqlite3_mprintf("%s", azSep[(k0>>2) & 3]);
      shape.zRecordPrefix = sqlite3_mprintf("%s", (k1 & 0x10) ? "rec_" : "");
      if( shape.zSep==0 || shape.zRecordPrefix==0 ) rc = SQLITE_NOMEM;
      /* meta needs a record_path, as wide_connect insists. */
      if( rc==SQLITE_OK && nMeta>0 && nPath>0 ) rc = set_meta(&shape, azMeta, nMeta);

      if( rc==SQLITE_OK && bDeclared && bUseDeclared ){
        /* columns= given: no sampling, the declared schema as it is. */
        shape.schema = decl;
        bDeclOwned = 0;            /* now owned by shape */
      }else if( rc==SQLITE_OK ){
        rc = schema_init(&shape.schema, azReserved, 1000);
        /* scan_sample: learn from every record, then decide types. */
        while( rc==SQLITE_OK && records_next(&it, &rec) ){
          rc = shape_learn(&shape, &it, rec);
        }
        if( rc==SQLITE_OK ) rc = shape_finish(&shape);
        if( rc==SQLITE_OK ) read_schema(&shape.schema);
        /* The scan reads the response again from its first record. */
        if( rc==SQLITE_OK && records_begin(&it, root, azPath, nPath, &zErr) ){
          abort();                 /* it was accepted a moment ago */
        }
      }

      /* The scan: one row per record (scan_row). */
      if( rc==SQLITE_OK && row_init(&row, &shape)==SQLITE_OK ){
        while( records_next(&it, &rec) ){
          if( shape_record(&shape, &it, &rec, &row) ) break;
          read_row(&shape, &row);
        }
        /* An error row: all NULL. */
        if( shape_record(&shape, &it, 0, &row)==SQLITE_OK ) read_row(&shape, &row);
        row_clear(&row);
      }
      shape_clear(&shape);
    }else if( zErr ){
      touch(zErr, strlen(zErr));
    }
    sqlite3_free(zErr);
  }else if( nBody>0 ){
    if( err.offset>nBody || err.zWhat==0 ) abort();
    touch(err.zWhat, strlen(err.zWhat));
  }

  if( bDeclOwned ) schema_clear(&decl);
  free((void*)zBody);
  return 0;
}
