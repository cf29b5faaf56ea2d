/*
** shape.h - records and shapes: the records of a response and flattening
** one (flatten.c), and the columns, type rules and typed rows of the wide
** face (infer.c).  Included by those two and by the files above that shape
** rows: scan.c, vtab.c, columns.c.
*/
#ifndef APIFETCH_SHAPE_H
#define APIFETCH_SHAPE_H
#include "apifetch.h"

/**************************************************************************
** flatten.c - records of a response, and flattening a record
*/
#define APIFETCH_META_CACHE 16    /* meta fields remembered per object */
#define APIFETCH_MAX_NAME 256     /* Longer joined names are not expanded further */

typedef struct RecordIter RecordIter;
struct RecordIter {
  JsonSpan root;                  /* The whole response document */
  char **azPath;                  /* record_path keys (not owned) */
  int nPath;                      /* Number of keys in azPath */
  int bSingle;                    /* No path, root not an array: one record */
  JsonSpan aCont[APIFETCH_MAX_PATH];  /* Object or array at each level */
  size_t aPos[APIFETCH_MAX_PATH];     /* Position in aCont[k] if an array */
  int aState[APIFETCH_MAX_PATH];      /* 0 done, 1 object due, 2 object given, 3 array */
  JsonSpan aObj[APIFETCH_MAX_PATH];   /* Current object at each level */
  JsonSpan aMetaObj[APIFETCH_META_CACHE];  /* Object a meta field was last read from */
  JsonSpan aMetaVal[APIFETCH_META_CACHE];  /* ... and what was found there */
  int aMetaFound[APIFETCH_META_CACHE];
  JsonSpan final;                 /* The array whose elements are records */
  size_t finalPos;                /* Position in final (or in root, no path) */
  int bFinal;                     /* final is set */
  JsonSpan input;                 /* The input its request carried (n 0: none) */
};

/* Prepare to iterate the records of root.  SQLITE_OK, SQLITE_ERROR with a
** sqlite3_malloc'd reason in *pzErr, or SQLITE_NOMEM. */
int records_begin(RecordIter *p, JsonSpan root, char **azPath, int nPath,
                  char **pzErr);
int records_next(RecordIter *p, JsonSpan *pRec);
/* The meta field azMeta (json_normalize's meta path rule) for the current
** record.  Returns 1 if found.  iMeta numbers the meta fields, so that a
** field read once per enclosing object is not looked up for every record. */
int records_meta(RecordIter *p, int iMeta, char **azMeta, int nMeta, JsonSpan *pVal);

typedef struct Flattener Flattener;
struct Flattener {
  const char *zSep;               /* Separator between joined keys */
  size_t nSep;                    /* Its length */
  int maxLevel;                   /* Levels of objects to expand, -1 for all */
  int (*xEmit)(void *pCtx, const char *zName, size_t nName, JsonSpan v);
  void *pCtx;                     /* First argument of xEmit */
  char *zName;                    /* Name buffer (owned) */
  size_t nAlloc;                  /* Its size */
  JsonSpan *aDefer;               /* (key, value) of top-level objects, for later */
  size_t nDefer, nDeferAlloc;     /* Pairs in aDefer, pairs allocated */
};
/* Call f->xEmit for every (name, value) of rec, names starting zPrefix.
** A record that is not an object gives one value named "value". */
int flatten_record(Flattener *f, const char *zPrefix, size_t nPrefix, JsonSpan rec);
void flatten_clear(Flattener *f);

/**************************************************************************
** infer.c - columns, type inference and typed values of the wide face
*/
enum { TYPE_NONE, TYPE_INTEGER, TYPE_REAL, TYPE_TEXT };      /* declared type */
enum { CONV_NATURAL, CONV_NUMERIC, CONV_JSON,                /* conversions */
       CONV_TS_UTC, CONV_TS_EPOCH, CONV_TS_KEEP };

typedef struct TypeRules TypeRules;
struct TypeRules {
  int numericStrings;             /* NUMSTR_*: which strings become numbers */
  int timestamps;                 /* TS_*: what becomes of timestamps */
};

/* Where a name repeated within one record has got to: the record, and
** the first suffix (name_N) not yet taken in it. */
typedef struct SuffixMark SuffixMark;
struct SuffixMark {
  sqlite3_int64 iStamp;
  int nNext;
};

typedef struct Column Column;
struct Column {
  char *zName;                    /* Column name (owned) */
  size_t nName;                   /* Its length */
  int bMeta;                      /* Filled from a meta path */
  unsigned seen;                  /* SEEN_* bits: kinds of value sampled */
  unsigned strAll;                /* STR_* bits every sampled string had */
  unsigned strAny;                /* STR_* bits some sampled string had */
  int eType;                      /* TYPE_* */
  int eConv;                      /* CONV_* */
  sqlite3_int64 iStamp;           /* Record that last gave this column a value */
  SuffixMark mark;                /* Repeats of this name (schema_resolve) */
};

struct Schema {
  Column *aCol;                   /* Columns, in table order */
  int nCol, nAlloc;
  int *aHash;                     /* Open addressing: name -> column */
  unsigned nHash;                 /* Slots, a power of two */
  const char *const *azReserved;  /* Names data columns may not take */
  SuffixMark *aResMark;           /* Repeats of each reserved name */
  int maxCol;                     /* Most columns allowed */
  Buf tmp;                        /* Scratch for candidate names */
  int iGuess;                     /* Column the next name likely is */
  sqlite3_int64 iGuessStamp;      /* The record iGuess is for */
};
int schema_init(Schema *s, const char *const *azReserved, int maxCol);
void schema_clear(Schema *s);
/* Column index for name z in the record numbered iStamp (a name already
** used in that record becomes name_2, name_3, ...), or -1 with the name
** to use in *pzName (valid until the next call), or -2 on out-of-memory. */
int schema_resolve(Schema *s, const char *z, size_t n, sqlite3_int64 iStamp,
                   const char **pzName, size_t *pnName);
int schema_add(Schema *s, const char *z, size_t n, int bMeta);
int schema_declare(Schema *s, const char *zColumns, const TypeRules *r, char **pzErr);
/* Learning from a sample (shape.c): each value widens its column's kinds;
** schema_finish() decides the types and puts meta columns last. */
void schema_observe(Column *p, JsonSpan v);
int schema_finish(Schema *s, const TypeRules *r);
const char *schema_type_name(const Column *p);
/* The columns= declaration of s (api_fetch_columns), sqlite3_malloc'd;
** schema_append_columns() appends it, or with bDdl the CREATE TABLE's. */
char *schema_columns(const Schema *s);
void schema_append_columns(const Schema *s, Buf *b, int bDdl);

/* A typed value: an SQLITE_* type and the value.  Text is z[0..n) or, if
** z is NULL, bytes off..off+n of the row's arena. */
typedef struct Cell Cell;
struct Cell {
  int eType;
  sqlite3_int64 i;
  double r;
  const char *z;
  size_t off, n;
};
/* v converted for column p into c (text in *pArena): 1 if it does not fit
** the column's type (then kept as it is: a mismatch), else 0. */
int value_convert(const Column *p, const TypeRules *r, JsonSpan v, Cell *c, Buf *pArena);

/* Shaping records into rows (infer.c): a Schema plus the flattening
** rules of one wide table. */
typedef struct MetaPath MetaPath;
struct MetaPath {
  char **az;                      /* Keys */
  int n;                          /* Number of keys */
  char *zName;                    /* Column name: meta_prefix + keys joined by sep */
};

struct Shape {
  Schema schema;                  /* The data columns */
  TypeRules rules;                /* Type rules */
  char *zSep;                     /* Separator for joined keys (owned) */
  int maxLevel;                   /* Object levels to flatten, -1 for all */
  MetaPath *aMeta;                /* meta paths (owned) */
  int nMeta;
  char *zRecordPrefix;            /* Prefix of record column names (owned) */
  char *zInputPrefix;             /* Prefix of the carried input's columns, or
                                  ** NULL for none (owned; input_prefix) */
  sqlite3_int64 iStamp;           /* Records shaped so far */
  int eOnMismatch;                /* MISMATCH_*: what a value that does not fit
                                  ** its column's type becomes (on_mismatch) */
  Flattener learn;                /* Flattener used while learning */
};

/* One row: a cell per column, and the _extra and _mismatches JSON. */
struct Row {
  Cell *aCell;                    /* One per column */
  Buf arena;                      /* Text the cells refer to by offset */
  Buf extra;                      /* {"name": value, ...} of unknown keys, or empty */
  Buf mism;                       /* ["column", ...] of values that did not fit */
  int nExtra;                     /* Values in extra */
  int nMismatch;                  /* Names in mism */
  int iMismatch;                  /* Column of the first of them, if any */
  JsonSpan mismatchVal;           /* ... and its value (in the response body) */
  Flattener flat;
};

/* A wide table's shape from its options (separator, levels, meta paths,
** type rules); data columns may not take the names of azReserved, a NULL-
** terminated list that must outlive the shape.  shape_declare(): its
** columns from a columns= declaration instead of learning them. */
int shape_configure(Shape *sh, const Options *o, const char *const *azReserved,
                    char **pzErr);
int shape_declare(Shape *sh, const char *zColumns, char **pzErr);
int shape_column_count(const Shape *sh);
/* Learn columns and types from record rec of iterator it (the iterator
** gives meta fields); shape_finish() decides the types. */
int shape_learn(Shape *s, RecordIter *it, JsonSpan rec);
int shape_finish(Shape *s);
/* Fill row w from *pRec (an all-NULL row if pRec is NULL). */
int shape_record(Shape *s, RecordIter *it, const JsonSpan *pRec, Row *w);
void shape_clear(Shape *s);
int row_init(Row *w, const Shape *s);
void row_clear(Row *w);
/* Column iCol of w, or its _extra / _mismatches (bMismatches), as the
** result of ctx (xColumn). */
void row_result(sqlite3_context *ctx, const Row *w, int iCol);
void row_result_json(sqlite3_context *ctx, const Row *w, int bMismatches);

#endif /* APIFETCH_SHAPE_H */
