/*
** bench_flatten.c - the speed of apifetch's per-response work (validate,
** find records, flatten, type) against parsing the same bytes with cJSON.
**
**   cc -O2 -DSQLITE_CORE -Isrc -o bench_flatten tests/bench_flatten.c \
**      src/json.c src/flatten.c src/infer.c -lsqlite3 -lcjson -lm -pthread
**   ./bench_flatten [-r R]
**
** Builds in memory a corpus shaped like the wide-table workload (W4): R
** responses (default 2000), each a JSON array of 100 records of about 300
** bytes, nested like a real API object, values varying per record (a
** fixed-seed PRNG, so every run sees the same bytes), 60 MB in all:
**
**   {"id": 1000001, "uuid": "<36 chars>", "name": "...", "active": true,
**    "score": 12.5, "created": "2024-03-10T12:00:00+02:00",
**    "address": {"city": "...", "geo": {"lat": 1.25, "lng": -3.5}},
**    "tags": ["a", "b"], "stats": {"views": 123, "likes": 4}}
**
** Then times, best of 3 passes over the whole corpus each:
**
**   (a) parse only: cJSON_ParseWithLength + cJSON_Delete per response;
**   (b) apifetch end to end, as src/scan.c does it per response
**       (response_records, scan_row): json_validate, records_begin, and
**       per record shape_record, then every cell read (integers, doubles
**       and text lengths summed, so nothing is optimised away).
**
** The Shape of (b) is learned once beforehand from the first response, as
** scan_sample does.  Prints MB/s (10^6 bytes) and records/s of both, the
** ratio b/a of the records/s, the columns and one sample row.  Exit status
** 0, or 1 on any error.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "apifetch.h"
#include "shape.h"

#define RECORDS_PER_RESPONSE 100
#define PASSES 3

/**************************************************************************
** The corpus
*/
typedef struct Corpus Corpus;
struct Corpus {
  char **az;          /* Response bodies (malloc'd, not NUL-terminated) */
  size_t *an;         /* Their lengths */
  int n;              /* Number of responses */
  size_t nByte;       /* Total bytes */
};

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void){           /* splitmix64 */
  uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static unsigned rnd_below(unsigned n){ return (unsigned)(rnd() % n); }

static const char *const azFirst[] = {
  "Ann", "Bob", "Chloé", "Dmitri", "Eve", "Farah", "Günter", "Hiro", "Ines",
  "Jamal", "Kateřina", "Liam", "Mei", "Noah", "Olga", "Pablo"
};
static const char *const azLast[] = {
  "Smith", "Okafor", "Müller", "Tanaka", "García", "Kowalski", "Nguyen",
  "O'Brien", "Rossi", "Haddad", "Johansson", "Dubois"
};
static const char *const azCity[] = {
  "Berlin", "Lagos", "São Paulo", "Tokyo", "Toronto", "Kraków", "Nairobi",
  "Melbourne", "Reykjavík", "Austin", "Lyon", "Chennai"
};
static const char *const azTag[] = {
  "admin", "beta", "vip", "new", "trial", "staff", "eu", "us", "apac", "legacy"
};
#define COUNT(a) ((unsigned)(sizeof(a)/sizeof(a[0])))

/* Append one record for id to p (enough room is guaranteed by the caller). */
static size_t write_record(char *p, long id){
  uint64_t u1 = rnd(), u2 = rnd();
  int y = 2019 + (int)rnd_below(6), mo = 1 + (int)rnd_below(12), d = 1 + (int)rnd_below(28);
  int oh = (int)rnd_below(12), nTag = 1 + (int)rnd_below(3), k;
  char zTags[96];
  size_t nT = 0;
  for(k=0; k<nTag; k++){
    nT += (size_t)sprintf(zTags+nT, "%s\"%s\"", k ? ", " : "", azTag[rnd_below(COUNT(azTag))]);
  }
  return (size_t)sprintf(p,
    "{\"id\": %ld, \"uuid\": \"%08x-%04x-4%03x-%04x-%012llx\", "
    "\"name\": \"%s %s\", \"active\": %s, \"score\": %u.%02u, "
    "\"created\": \"%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d\", "
    "\"address\": {\"city\": \"%s\", \"geo\": {\"lat\": %.4f, \"lng\": %.4f}}, "
    "\"tags\": [%s], \"stats\": {\"views\": %u, \"likes\": %u}}",
    id, (unsigned)(u1>>32), (unsigned)(u1>>16)&0xffff, (unsigned)u1&0xfff,
    0x8000u | ((unsigned)(u2>>48)&0x3fff), (unsigned long long)(u2 & 0xffffffffffffull),
    azFirst[rnd_below(COUNT(azFirst))], azLast[rnd_below(COUNT(azLast))],
    rnd_below(4) ? "true" : "false", rnd_below(100), rnd_below(100),
    y, mo, d, (int)rnd_below(24), (int)rnd_below(60), (int)rnd_below(60),
    rnd_below(2) ? '+' : '-', oh, rnd_below(2) ? 30 : 0,
    azCity[rnd_below(COUNT(azCity))],
    (double)rnd_below(1800000)/10000.0 - 90.0, (double)rnd_below(3600000)/10000.0 - 180.0,
    zTags, rnd_below(1000000), rnd_below(5000));
}

static int corpus_build(Corpus *c, int nResp){
  int i, k;
  long id = 1000000;
  memset(c, 0, sizeof(*c));
  c->az = calloc((size_t)nResp, sizeof(char*));
  c->an = calloc((size_t)nResp, sizeof(size_t));
  if( c->az==0 || c->an==0 ) return 1;
  c->n = nResp;
  for(i=0; i<nResp; i++){
    char *z = malloc(RECORDS_PER_RESPONSE*512 + 16);
    size_t n = 0;
    if( z==0 ) return 1;
    z[n++] = '[';
    for(k=0; k<RECORDS_PER_RESPONSE; k++){
      if( k ){ z[n++] = ','; z[n++] = '\n'; }
      n += write_record(z+n, ++id);
    }
    z[n++] = ']';
    c->az[i] = z;
    c->an[i] = n;
    c->nByte += n;
  }
  return 0;
}

static void corpus_free(Corpus *c){
  int i;
  for(i=0; i<c->n; i++) free(c->az[i]);
  free(c->az);
  free(c->an);
  memset(c, 0, sizeof(*c));
}

/**************************************************************************
** The two contenders
*/
static double now_s(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec/1e9;
}

/* (a): parse and free each response.  Returns records seen, -1 on error. */
static long pass_cjson(const Corpus *c){
  long nRec = 0;
  int i;
  for(i=0; i<c->n; i++){
    cJSON *p = cJSON_ParseWithLength(c->az[i], c->an[i]);
    if( p==0 ) return -1;
    nRec += cJSON_GetArraySize(p);
    cJSON_Delete(p);
  }
  return nRec;
}

/* What (b) reads from the cells, so the work cannot be optimised away. */
typedef struct Sums Sums;
struct Sums {
  sqlite3_int64 i;    /* Sum of integer cells */
  double r;           /* Sum of real cells */
  sqlite3_int64 n;    /* Sum of text lengths and first bytes */
  long nExtra;        /* Values that went to _extra */
  long nMismatch;     /* Values that did not fit their column */
};

static void read_row(const Shape *s, const Row *w, Sums *pSum){
  int j;
  for(j=0; j<s->schema.nCol; j++){
    const Cell *p = &w->aCell[j];
    switch( p->eType ){
      case SQLITE_INTEGER: pSum->i += p->i; break;
      case SQLITE_FLOAT:   pSum->r += p->r; break;
      case SQLITE_TEXT: {
        const char *z = p->z ? p->z : w->arena.z + p->off;
        pSum->n += (sqlite3_int64)p->n + (p->n ? (unsigned char)z[0] : 0);
        break;
      }
      default: break;
    }
  }
  pSum->n += (sqlite3_int64)w->extra.n + (sqlite3_int64)w->mism.n;
  pSum->nExtra += w->nExtra;
  pSum->nMismatch += w->nMismatch;
}

/* (b): every response as the extension handles it.  Returns records
** shaped, -1 on error. */
static long pass_apifetch(const Corpus *c, Shape *s, Row *w, Sums *pSum){
  long nRec = 0;
  int i;
  for(i=0; i<c->n; i++){
    JsonError err;
    RecordIter it;
    JsonSpan rec;
    char *zErr = 0;
    if( json_validate(c->az[i], c->an[i], APIFETCH_JSON_MAX_DEPTH, &err) ){
      fprintf(stderr, "bench_flatten: response %d: %s at byte %zu\n", i, err.zWhat, err.offset);
      return -1;
    }
    if( records_begin(&it, json_root(c->az[i], c->an[i]), NULL, 0, &zErr) ){
      fprintf(stderr, "bench_flatten: response %d: %s\n", i, zErr ? zErr : "out of memory");
      sqlite3_free(zErr);
      return -1;
    }
    while( records_next(&it, &rec) ){
      if( shape_record(s, &it, &rec, w) ){
        fprintf(stderr, "bench_flatten: response %d: shape_record failed\n", i);
        return -1;
      }
      read_row(s, w, pSum);
      nRec++;
    }
  }
  return nRec;
}

/* Learn the columns from the first response, as scan_sample does. */
static int learn_shape(const Corpus *c, Shape *s){
  static const char *const azReserved[] = { "_url", "_extra", 0 };
  JsonError err;
  RecordIter it;
  JsonSpan rec;
  char *zErr = 0;
  memset(s, 0, sizeof(*s));
  if( schema_init(&s->schema, azReserved, 1000) ) return 1;
  s->zSep = sqlite3_mprintf("_");
  s->zRecordPrefix = sqlite3_mprintf("");
  if( s->zSep==0 || s->zRecordPrefix==0 ) return 1;
  s->maxLevel = -1;
  s->rules.numericStrings = NUMSTR_EXACT;
  s->rules.timestamps = TS_UTC;
  if( json_validate(c->az[0], c->an[0], APIFETCH_JSON_MAX_DEPTH, &err) ){
    fprintf(stderr, "bench_flatten: response 0: %s at byte %zu\n", err.zWhat, err.offset);
    return 1;
  }
  if( records_begin(&it, json_root(c->az[0], c->an[0]), NULL, 0, &zErr) ){
    fprintf(stderr, "bench_flatten: response 0: %s\n", zErr ? zErr : "out of memory");
    sqlite3_free(zErr);
    return 1;
  }
  while( records_next(&it, &rec) ){
    if( shape_learn(s, &it, rec) ) return 1;
  }
  return shape_finish(s);
}

/* "columns: N: name TYPE, ..." and "sample row: name=value, ..." for the
** first record of the first response. */
static int print_shape(const Corpus *c, Shape *s, Row *w){
  RecordIter it;
  JsonSpan rec;
  char *zErr = 0;
  int j;
  printf("columns: %d:", s->schema.nCol);
  for(j=0; j<s->schema.nCol; j++){
    const char *zType = schema_type_name(&s->schema.aCol[j]);
    printf("%s %s%s%s", j ? "," : "", s->schema.aCol[j].zName, *zType ? " " : "", zType);
  }
  printf("\n");
  if( records_begin(&it, json_root(c->az[0], c->an[0]), NULL, 0, &zErr)
   || !records_next(&it, &rec) || shape_record(s, &it, &rec, w) ){
    sqlite3_free(zErr);
    return 1;
  }
  printf("sample row:");
  for(j=0; j<s->schema.nCol; j++){
    const Cell *p = &w->aCell[j];
    printf("%s %s=", j ? "," : "", s->schema.aCol[j].zName);
    switch( p->eType ){
      case SQLITE_INTEGER: printf("%lld", (long long)p->i); break;
      case SQLITE_FLOAT:   printf("%.15g", p->r); break;
      case SQLITE_TEXT:
        printf("'%.*s'", (int)p->n, p->z ? p->z : w->arena.z + p->off);
        break;
      default: printf("NULL"); break;
    }
  }
  if( w->nExtra ) printf(", _extra=%s", w->extra.z);
  if( w->nMismatch ) printf(", _mismatches=%s", w->mism.z);
  printf("\n");
  return 0;
}

static void report(const char *zLabel, const Corpus *c, long nRec, double t){
  printf("%s: %.1f MB/s, %.0f records/s (best of %d: %.3f s for %.1f MB, %ld records)\n",
         zLabel, (double)c->nByte/1e6/t, (double)nRec/t, PASSES, t,
         (double)c->nByte/1e6, nRec);
}

int main(int argc, char **argv){
  int nResp = 2000, i, rc = 1;
  Corpus c;
  Shape shape;
  Row row;
  Sums sum;
  double tA = 1e300, tB = 1e300;
  long nA = 0, nB = 0;

  for(i=1; i<argc; i++){
    if( strcmp(argv[i], "-r")==0 && i+1<argc && atoi(argv[i+1])>0 ){
      nResp = atoi(argv[++i]);
    }else{
      fprintf(stderr, "usage: %s [-r RESPONSES]   (default 2000, %d records each)\n",
              argv[0], RECORDS_PER_RESPONSE);
      return 2;
    }
  }
  memset(&shape, 0, sizeof(shape));
  memset(&row, 0, sizeof(row));
  memset(&sum, 0, sizeof(sum));
  if( corpus_build(&c, nResp) ){
    fprintf(stderr, "bench_flatten: out of memory building the corpus\n");
    goto done;
  }
  printf("corpus: %d responses x %d records = %ld records, %.1f MB "
         "(%.0f bytes a record)\n", c.n, RECORDS_PER_RESPONSE,
         (long)c.n*RECORDS_PER_RESPONSE, (double)c.nByte/1e6,
         (double)c.nByte/((double)c.n*RECORDS_PER_RESPONSE));
  if( learn_shape(&c, &shape) || row_init(&row, &shape) ){
    fprintf(stderr, "bench_flatten: learning the schema failed\n");
    goto done;
  }
  if( print_shape(&c, &shape, &row) ){
    fprintf(stderr, "bench_flatten: shaping the sample row failed\n");
    goto done;
  }

  for(i=0; i<PASSES; i++){
    double t0 = now_s(), t;
    long n = pass_cjson(&c);
    t = now_s() - t0;
    if( n<0 ){
      fprintf(stderr, "bench_flatten: cJSON could not parse a response\n");
      goto done;
    }
    if( t<tA ){ tA = t; nA = n; }
    memset(&sum, 0, sizeof(sum));
    t0 = now_s();
    n = pass_apifetch(&c, &shape, &row, &sum);
    t = now_s() - t0;
    if( n<0 ) goto done;
    if( t<tB ){ tB = t; nB = n; }
  }
  report("(a) parse only (cJSON_ParseWithLength + cJSON_Delete)", &c, nA, tA);
  report("(b) apifetch end to end (json_validate + records_begin + shape_record "
         "+ read every cell)", &c, nB, tB);
  printf("checksum: int %lld, real %.6g, text %lld, extra %ld, mismatches %ld\n",
         (long long)sum.i, sum.r, (long long)sum.n, sum.nExtra, sum.nMismatch);
  printf("ratio b/a (records/s): %.2f\n", ((double)nB/tB) / ((double)nA/tA));
  if( nA!=nB ){
    fprintf(stderr, "bench_flatten: (a) saw %ld records, (b) %ld\n", nA, nB);
    goto done;
  }
  rc = 0;

done:
  row_clear(&row);
  shape_clear(&shape);
  corpus_free(&c);
  sqlite3_shutdown();
  return rc;
}
