/*
** flatten.c - the records a response holds, and each record flattened into
** (column name, value) pairs the way pandas.json_normalize does it.
**
**   {"id": 7, "user": {"name": "ann", "geo": {"lat": 1.5}}, "tags": ["x"]}
**     -> id = 7, tags = ["x"], user_name = "ann", user_geo_lat = 1.5
**
** Records: with no record_path a top-level array gives one record per
** element and anything else one record.  A record_path of k keys walks k
** levels; at each level an object is taken as it is and an array stands
** for each of its elements, so ["groups", "items"] finds the items of every
** group.  That is json_normalize's rule; like it, a final null is zero
** records, and a missing key or a value of the wrong kind is an error (the
** whole response gives one error row instead of half its records).
**
** Flattening, in json_normalize's order: the top-level members that stay
** whole (scalars, arrays, objects at max_level) first, in document order;
** then each top-level object, depth first, its keys joined with sep.  An
** empty object has no members, so it gives no column.  An object whose
** name is already over APIFETCH_MAX_NAME bytes stays whole (JSON text), so
** that a deep chain of long keys cannot make names, and the output, grow
** with the square of the input.  Nothing is copied:
** values are spans of the response text.
*/
#include <string.h>
#include <assert.h>
#include "apifetch.h"
#include "shape.h"

/**************************************************************************
** Records
*/

static const char *kind_name(JsonSpan v){
  switch( json_type(v) ){
    case '{': return "an object";
    case '[': return "an array";
    case '"': return "a string";
    case 'n': return "a number";
    case 'z': return "null";
    default:  return "a boolean";
  }
}

/* Next object at level k: 1 with it in p->aObj[k], 0 at the end, -1 with
** *pzErr on a structural problem. */
static int next_object(RecordIter *p, int k, char **pzErr){
  for(;;){
    JsonSpan e;
    if( p->aState[k]==1 ){                 /* an object not yet returned */
      p->aState[k] = 2;
      p->aObj[k] = p->aCont[k];
      return 1;
    }
    if( p->aState[k]==3 ){                 /* iterating an array */
      if( json_array_next(p->aCont[k], &p->aPos[k], &e) ){
        if( json_type(e)!='{' ){
          if( pzErr ){
            *pzErr = k==0
              ? sqlite3_mprintf("record_path: an element of the top-level array is %s, "
                                "not an object", kind_name(e))
              : sqlite3_mprintf("record_path: an element of \"%s\" is %s, not an object",
                                p->azPath[k-1], kind_name(e));
          }
          return -1;
        }
        p->aObj[k] = e;
        return 1;
      }
    }
    /* Level k is used up: the next object one level up gives a new one. */
    if( k==0 ) return 0;
    {
      int rc = next_object(p, k-1, pzErr);
      JsonSpan v;
      if( rc<=0 ) return rc;
      if( !json_object_get(p->aObj[k-1], p->azPath[k-1], &v) ){
        if( pzErr ) *pzErr = sqlite3_mprintf("record_path: key \"%s\" not found",
                                             p->azPath[k-1]);
        return -1;
      }
      if( json_type(v)!='{' && json_type(v)!='[' ){
        if( pzErr ) *pzErr = sqlite3_mprintf(
            "record_path: \"%s\" is %s, not an object or array",
            p->azPath[k-1], kind_name(v));
        return -1;
      }
      p->aCont[k] = v;
      p->aPos[k] = 0;
      p->aState[k] = json_type(v)=='{' ? 1 : 3;
    }
  }
}

/* Next record, or 0 at the end, -1 on error (pzErr may be NULL once the
** response has been checked). */
static int next_record(RecordIter *p, JsonSpan *pRec, char **pzErr){
  int last = p->nPath - 1;
  if( p->nPath==0 ){
    if( p->bSingle ){
      p->bSingle = 0;
      *pRec = p->root;
      return 1;
    }
    if( json_type(p->root)!='[' ) return 0;
    return json_array_next(p->root, &p->finalPos, pRec);
  }
  for(;;){
    int rc;
    JsonSpan v;
    if( p->bFinal && json_array_next(p->final, &p->finalPos, pRec) ) return 1;
    p->bFinal = 0;
    rc = next_object(p, last, pzErr);
    if( rc<=0 ) return rc;
    if( !json_object_get(p->aObj[last], p->azPath[last], &v) ){
      if( pzErr ) *pzErr = sqlite3_mprintf("record_path: key \"%s\" not found",
                                           p->azPath[last]);
      return -1;
    }
    if( json_type(v)=='z' ) continue;      /* null: no records here */
    if( json_type(v)!='[' ){
      if( pzErr ) *pzErr = sqlite3_mprintf("record_path: \"%s\" is %s, not an array",
                                           p->azPath[last], kind_name(v));
      return -1;
    }
    p->final = v;
    p->finalPos = 0;
    p->bFinal = 1;
  }
}

static void records_start(RecordIter *p, JsonSpan root, char **azPath, int nPath){
  assert( nPath>=0 && nPath<=APIFETCH_MAX_PATH );
  memset(p, 0, sizeof(*p));
  p->root = root;
  p->azPath = azPath;
  p->nPath = nPath;
  if( nPath==0 ){
    p->bSingle = json_type(root)!='[';
  }else{
    p->aCont[0] = root;
    p->aState[0] = json_type(root)=='[' ? 3 : json_type(root)=='{' ? 1 : 0;
  }
}

int records_begin(RecordIter *p, JsonSpan root, char **azPath, int nPath,
                  char **pzErr){
  JsonSpan rec;
  int rc;
  *pzErr = 0;
  if( nPath>0 && json_type(root)!='{' && json_type(root)!='[' ){
    *pzErr = sqlite3_mprintf("record_path: the response is %s, not an object or array",
                             kind_name(root));
    return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  records_start(p, root, azPath, nPath);
  if( nPath==0 ) return SQLITE_OK;   /* every value is records: nothing to check */
  /* Walk once to find any problem before a row is returned. */
  while( (rc = next_record(p, &rec, pzErr))==1 ){}
  if( rc<0 ) return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
  records_start(p, root, azPath, nPath);
  return SQLITE_OK;
}

int records_next(RecordIter *p, JsonSpan *pRec){
  int rc = next_record(p, pRec, 0);
  /* records_begin walked the same records and found no error: the span
  ** is the same memory, unchanged, so none can appear now. */
  assert( rc>=0 );
  return rc==1;
}

/* A meta field of the current record, by json_normalize's rule: a path of
** L keys with L < nPath names key path[L-1] of the object at level L-1;
** a longer one is a path into the object that holds the records. */
int records_meta(RecordIter *p, int iMeta, char **azMeta, int nMeta, JsonSpan *pVal){
  JsonSpan v, obj;
  int i, level, bFound = 1;
  if( p->nPath==0 || nMeta==0 ) return 0;
  level = nMeta < p->nPath ? nMeta-1 : p->nPath-1;
  obj = p->aObj[level];
  /* Every record of one enclosing object has the same meta value: look it
  ** up once per object, not once per record (that was quadratic). */
  if( iMeta<APIFETCH_META_CACHE && p->aMetaObj[iMeta].z==obj.z && obj.z ){
    *pVal = p->aMetaVal[iMeta];
    return p->aMetaFound[iMeta];
  }
  if( nMeta < p->nPath ){
    bFound = json_object_get(obj, azMeta[nMeta-1], &v);
  }else{
    v = obj;
    for(i=level; i<nMeta && bFound; i++){
      bFound = json_type(v)=='{' && json_object_get(v, azMeta[i], &v);
    }
  }
  if( iMeta<APIFETCH_META_CACHE ){
    p->aMetaObj[iMeta] = obj;
    p->aMetaVal[iMeta] = v;
    p->aMetaFound[iMeta] = bFound;
  }
  *pVal = v;
  return bFound;
}

/**************************************************************************
** Flattening
*/

static int name_reserve(Flattener *f, size_t n){
  if( n>f->nAlloc ){
    size_t nNew = f->nAlloc ? f->nAlloc*2 : 256;
    char *z;
    while( nNew<n ) nNew *= 2;
    z = sqlite3_realloc64(f->zName, nNew);
    if( z==0 ) return SQLITE_NOMEM;
    f->zName = z;
    f->nAlloc = nNew;
  }
  return SQLITE_OK;
}

/* Append sep (unless at the start) and the decoded key to the name at
** f->zName[0..n).  Returns the new length, or NAME_OOM. */
#define NAME_OOM ((size_t)-1)
static size_t name_push(Flattener *f, size_t n, size_t nBase, JsonSpan key){
  size_t need = n + f->nSep + key.n;
  if( name_reserve(f, need) ) return NAME_OOM;
  if( n>nBase ){
    memcpy(f->zName+n, f->zSep, f->nSep);
    n += f->nSep;
  }
  return n + json_string_decode_into(key, f->zName+n);
}

static int expands(const Flattener *f, JsonSpan v, int level){
  return json_type(v)=='{' && (f->maxLevel<0 || level<f->maxLevel);
}

/* Flatten the members of object obj at nesting `level`, names starting
** with f->zName[0..n) (nBase bytes of it being the record prefix). */
static int flatten_object(Flattener *f, JsonSpan obj, size_t n, size_t nBase,
                          int level){
  size_t pos = 0, iDefer = f->nDefer;
  JsonSpan k, v;
  int rc;
  while( json_object_next(obj, &pos, &k, &v) ){
    size_t m;
    if( expands(f, v, level) ){
      if( level==0 ){
        /* json_normalize puts a record's nested objects after its other
        ** top-level values: keep them for a second round. */
        if( f->nDefer>=f->nDeferAlloc ){
          size_t nNew = f->nDeferAlloc ? f->nDeferAlloc*2 : 16;
          JsonSpan *a = sqlite3_realloc64(f->aDefer, sizeof(JsonSpan)*2*nNew);
          if( a==0 ) return SQLITE_NOMEM;
          f->aDefer = a;
          f->nDeferAlloc = nNew;
        }
        f->aDefer[2*f->nDefer] = k;
        f->aDefer[2*f->nDefer+1] = v;
        f->nDefer++;
        continue;
      }
      m = name_push(f, n, nBase, k);
      if( m==NAME_OOM ) return SQLITE_NOMEM;
      rc = m - nBase > APIFETCH_MAX_NAME ? f->xEmit(f->pCtx, f->zName, m, v)
                                         : flatten_object(f, v, m, nBase, level+1);
    }else{
      m = name_push(f, n, nBase, k);
      if( m==NAME_OOM ) return SQLITE_NOMEM;
      rc = f->xEmit(f->pCtx, f->zName, m, v);
    }
    if( rc ) return rc;
  }
  if( level==0 ){
    size_t i;
    for(i=iDefer; i<f->nDefer; i++){
      size_t m = name_push(f, n, nBase, f->aDefer[2*i]);
      if( m==NAME_OOM ) return SQLITE_NOMEM;
      rc = m - nBase > APIFETCH_MAX_NAME ? f->xEmit(f->pCtx, f->zName, m, f->aDefer[2*i+1])
                                         : flatten_object(f, f->aDefer[2*i+1], m, nBase, 1);
      if( rc ) return rc;
    }
    f->nDefer = iDefer;
  }
  return SQLITE_OK;
}

int flatten_record(Flattener *f, const char *zPrefix, size_t nPrefix, JsonSpan rec){
  if( name_reserve(f, nPrefix+8) ) return SQLITE_NOMEM;
  memcpy(f->zName, zPrefix, nPrefix);
  if( json_type(rec)!='{' ){
    /* A scalar or array record: one column, "value". */
    memcpy(f->zName+nPrefix, "value", 5);
    return f->xEmit(f->pCtx, f->zName, nPrefix+5, rec);
  }
  return flatten_object(f, rec, nPrefix, nPrefix, 0);
}

void flatten_clear(Flattener *f){
  sqlite3_free(f->zName);
  sqlite3_free(f->aDefer);
  f->zName = 0;
  f->nAlloc = 0;
  f->aDefer = 0;
  f->nDefer = f->nDeferAlloc = 0;
}
