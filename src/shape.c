/*
** shape.c - records shaped into the rows of a wide api_fetch table: each
** record flattened (flatten.c), every value through the schema's column
** and type (infer.c), meta paths added, the row's cells handed to xColumn.
**
**   shape_configure(&sh, &opt, azReserved, &zErr);   -- once per table
**   shape_learn(&sh, &it, rec); ... shape_finish(&sh);  -- from a sample,
**     or shape_declare(&sh, "id INTEGER, ...", &zErr)
**   row_init(&w, &sh);
**   shape_record(&sh, &it, &rec, &w); row_result(ctx, &w, iCol); ...
**   row_clear(&w); shape_clear(&sh);
**
** Learning and shaping run the same flattener over the same emitter
** (shape_emit), so a sampled record and a scanned one give the same names.
*/
#include <assert.h>
#include <string.h>
#include "apifetch.h"
#include "shape.h"

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
      if( w->nMismatch==0 ){
        w->iMismatch = i;
        w->mismatchVal = v;
      }
      /* on_mismatch 'null': the cell is NULL (a zeroed Cell), still listed. */
      if( x->s->eOnMismatch==MISMATCH_NULL ) memset(&w->aCell[i], 0, sizeof(Cell));
      buf_append(&w->mism, w->nMismatch ? "," : "[", 1);
      buf_append_json_string(&w->mism, s->aCol[i].zName, s->aCol[i].nName);
      w->nMismatch++;
    }
  }else{
    buf_append(&w->extra, w->nExtra ? "," : "{", 1);
    buf_append_json_string(&w->extra, zUse, nUse);
    buf_append(&w->extra, STRCONST(":"));
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
  if( rc==SQLITE_OK && s->zInputPrefix && it->input.n ){
    /* The parent's fields on each child record (dlt's include_from_parent):
    ** flattened and typed as meta fields are, under their own prefix. */
    rc = flatten_record(f, s->zInputPrefix, strlen(s->zInputPrefix), it->input);
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
  if( w->nExtra ) buf_append(&w->extra, STRCONST("}"));
  if( w->nMismatch ) buf_append(&w->mism, STRCONST("]"));
  if( w->arena.bOom || w->extra.bOom || w->mism.bOom ) rc = SQLITE_NOMEM;
  return rc;
}

/* meta='["id", ["groups", "name"]]' or meta='id' (one key): the meta
** paths, their column names prefixed with zPrefix. */
static int shape_set_meta(Shape *sh, const char *zVal, const char *zPrefix, char **pzErr){
  JsonError err;
  size_t n = strlen(zVal), pos = 0;
  JsonSpan arr, item;
  int nItem = 0;
  int bNul = 0;
  if( json_skip_ws(zVal, n, 0)>=n || zVal[json_skip_ws(zVal, n, 0)]!='[' ){
    /* A plain key. */
    sh->aMeta = sqlite3_malloc(sizeof(MetaPath));
    if( sh->aMeta==0 ) return SQLITE_NOMEM;
    sh->aMeta[0].az = sqlite3_malloc(sizeof(char*));
    if( sh->aMeta[0].az==0 ) return SQLITE_NOMEM;
    sh->aMeta[0].az[0] = sqlite3_mprintf("%s", zVal);
    sh->aMeta[0].n = 1;
    sh->aMeta[0].zName = sqlite3_mprintf("%s%s", zPrefix, zVal);
    sh->nMeta = 1;
    return (sh->aMeta[0].az[0] && sh->aMeta[0].zName) ? SQLITE_OK : SQLITE_NOMEM;
  }
  if( json_validate(zVal, n, 8, &err) ){
    *pzErr = sqlite3_mprintf("api_fetch: meta is not valid JSON: %s at byte %lld",
                             err.zWhat, (sqlite3_int64)err.offset);
    return SQLITE_ERROR;
  }
  arr = json_root(zVal, n);
  while( json_array_next(arr, &pos, &item) ) nItem++;
  sh->aMeta = sqlite3_malloc64(sizeof(MetaPath)*(size_t)(nItem ? nItem : 1));
  if( sh->aMeta==0 ) return SQLITE_NOMEM;
  memset(sh->aMeta, 0, sizeof(MetaPath)*(size_t)(nItem ? nItem : 1));
  pos = 0;
  while( json_array_next(arr, &pos, &item) ){
    MetaPath *m = &sh->aMeta[sh->nMeta++];
    Buf name = {0, 0, 0, 0};
    JsonSpan key;
    size_t p2 = 0;
    int nKey = 0;
    if( json_type(item)=='"' ){
      m->az = sqlite3_malloc(sizeof(char*));
      if( m->az==0 ) return SQLITE_NOMEM;
      m->az[0] = json_string_decode(item, &bNul);
      if( m->az[0]==0 ) goto bad_key;
      m->n = 1;
    }else if( json_type(item)=='[' ){
      while( json_array_next(item, &p2, &key) ) nKey++;
      if( nKey==0 || nKey>APIFETCH_MAX_PATH ){
        *pzErr = sqlite3_mprintf("api_fetch: meta item %d must have 1 to %d keys",
                                 sh->nMeta-1, APIFETCH_MAX_PATH);
        return SQLITE_ERROR;
      }
      m->az = sqlite3_malloc64(sizeof(char*)*(size_t)nKey);
      if( m->az==0 ) return SQLITE_NOMEM;
      p2 = 0;
      while( json_array_next(item, &p2, &key) ){
        if( json_type(key)!='"' ){
          *pzErr = sqlite3_mprintf("api_fetch: meta item %d must be a list of strings",
                                   sh->nMeta-1);
          return SQLITE_ERROR;
        }
        m->az[m->n] = json_string_decode(key, &bNul);
        if( m->az[m->n]==0 ) goto bad_key;
        m->n++;
      }
    }else{
      *pzErr = sqlite3_mprintf("api_fetch: meta item %d must be a key or a list of keys",
                               sh->nMeta-1);
      return SQLITE_ERROR;
    }
    buf_append(&name, zPrefix, strlen(zPrefix));
    for(nKey=0; nKey<m->n; nKey++){
      if( nKey ) buf_append(&name, sh->zSep, strlen(sh->zSep));
      buf_append(&name, m->az[nKey], strlen(m->az[nKey]));
    }
    if( name.bOom || name.z==0 ){ buf_free(&name); return SQLITE_NOMEM; }
    m->zName = name.z;
  }
  return SQLITE_OK;
bad_key:
  if( bNul ){
    *pzErr = sqlite3_mprintf("api_fetch: meta: a key holds a NUL character");
    return SQLITE_ERROR;
  }
  return SQLITE_NOMEM;
}

int shape_configure(Shape *sh, const Options *o, const char *const *azReserved,
                    char **pzErr){
  sh->rules.numericStrings = o->eNumericStrings;
  sh->rules.timestamps = o->eTimestamps;
  sh->maxLevel = o->maxLevel;
  sh->eOnMismatch = o->eOnMismatch;
  sh->zSep = sqlite3_mprintf("%s", o->zSep ? o->zSep : "_");
  sh->zRecordPrefix = sqlite3_mprintf("%s", o->zRecordPrefix ? o->zRecordPrefix : "");
  if( sh->zSep==0 || sh->zRecordPrefix==0 ) return SQLITE_NOMEM;
  if( o->zInputPrefix ){
    sh->zInputPrefix = sqlite3_mprintf("%s", o->zInputPrefix);
    if( sh->zInputPrefix==0 ) return SQLITE_NOMEM;
  }
  if( o->zMeta ){
    int rc = shape_set_meta(sh, o->zMeta, o->zMetaPrefix ? o->zMetaPrefix : "", pzErr);
    if( rc ) return rc;
  }
  return schema_init(&sh->schema, azReserved, o->maxColumns);
}

int shape_column_count(const Shape *sh){
  return sh->schema.nCol;
}

int shape_declare(Shape *sh, const char *zColumns, char **pzErr){
  return schema_declare(&sh->schema, zColumns, &sh->rules, pzErr);
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
  sqlite3_free(s->zInputPrefix);
  memset(s, 0, sizeof(*s));
}

/* Column iCol of row w as the result of ctx; a NULL cell leaves it NULL.
** Text is copied (SQLITE_TRANSIENT): the row is reused for the next. */
void row_result(sqlite3_context *ctx, const Row *w, int iCol){
  const Cell *p = &w->aCell[iCol];
  switch( p->eType ){
    case SQLITE_INTEGER: sqlite3_result_int64(ctx, p->i); break;
    case SQLITE_FLOAT:   sqlite3_result_double(ctx, p->r); break;
    case SQLITE_TEXT:
      sqlite3_result_text64(ctx, p->z ? p->z : w->arena.z + p->off, p->n,
                            SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
    default: break;
  }
}

/* _extra (bMismatches 0) or _mismatches (1) of row w, NULL if empty. */
void row_result_json(sqlite3_context *ctx, const Row *w, int bMismatches){
  const Buf *b = bMismatches ? &w->mism : &w->extra;
  if( b->n ) sqlite3_result_text64(ctx, b->z, b->n, SQLITE_TRANSIENT, SQLITE_UTF8);
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
