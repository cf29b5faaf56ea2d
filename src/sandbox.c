/*
** sandbox.c - the url_query of a wide table stored in a database file: the
** check of what its compiled program may call and open, before it runs.
**
**   if( bFromFile && sandbox_check(db, zSql, xOwnTable, pCtx, &zErr) ) ...
**
** Apart from source.c, which runs the query, because it is a concern of
** its own (what a stranger's SQL may reach) and reads only SQLite.
*/
#include <stdlib.h>
#include <string.h>
#include "apifetch.h"

/* Such a query comes from whoever wrote the file, and runs when a user
** selects from the table, with the user's rights: it must not reach what
** SQLite keeps from schema code when trusted_schema is off (see "Defense
** Against The Dark Arts").  SQLite 3.52 has a prepare flag for exactly
** this (SQLITE_PREPARE_FROM_DDL, which source.c passes; older versions ignore it);
** on older versions, and as a stricter rule on all of them, the compiled
** program is read (EXPLAIN): every function it calls must be one of
** SQLite's built-ins or be declared innocuous, none DIRECTONLY (so no
** writefile, readfile, load_extension, edit, api_fetch_config), and every
** virtual table it opens must be an api_fetch table or json_each/json_tree.
** Anything the check cannot read is refused: it fails closed.
*/

/* Is function zName with nArg arguments allowed?  1 yes, 0 no, or an error. */
static int sandbox_function_ok(sqlite3 *db, const char *zName, int nArg){
  sqlite3_stmt *p = 0;
  int rc = sqlite3_prepare_v2(db,
      "SELECT builtin, flags FROM pragma_function_list WHERE name = ?1 COLLATE NOCASE "
      "AND narg IN (?2, -1) ORDER BY narg = ?2 DESC LIMIT 1", -1, &p, 0);
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(p, 1, zName, -1, SQLITE_STATIC);
    sqlite3_bind_int(p, 2, nArg);
    rc = sqlite3_step(p);
    if( rc==SQLITE_ROW ){
      int bBuiltin = sqlite3_column_int(p, 0);
      int flags = sqlite3_column_int(p, 1);
      rc = !(flags & SQLITE_DIRECTONLY) && (bBuiltin || (flags & SQLITE_INNOCUOUS));
    }else{
      rc = rc==SQLITE_DONE ? 0 : -rc;     /* not listed: refused */
    }
  }else{
    rc = -rc;
  }
  sqlite3_finalize(p);
  return rc;
}

/* The vtab pointers that EXPLAIN shows for json_each and json_tree on this
** connection (eponymous tables: one instance per connection). */
static int sandbox_json_vtabs(sqlite3 *db, unsigned long long *aOut){
  sqlite3_stmt *p = 0;
  int n = 0, rc = sqlite3_prepare_v2(db,
      "EXPLAIN SELECT 1 FROM json_each('[]'), json_tree('[]')", -1, &p, 0);
  while( rc==SQLITE_OK && sqlite3_step(p)==SQLITE_ROW ){
    const char *zOp = (const char*)sqlite3_column_text(p, 1);
    const char *zP4 = (const char*)sqlite3_column_text(p, 5);
    if( zOp && zP4 && strcmp(zOp, "VOpen")==0 && strncmp(zP4, "vtab:", 5)==0 && n<2 ){
      aOut[n++] = strtoull(zP4+5, 0, 16);
    }
  }
  sqlite3_finalize(p);
  return n;
}

int sandbox_check(sqlite3 *db, const char *zSql, int (*xOwnTable)(void*, unsigned long long),
                  void *pOwnCtx, char **pzErr){
  sqlite3_stmt *p = 0;
  char *zExplain = sqlite3_mprintf("EXPLAIN %s", zSql);
  unsigned long long aJson[2];
  int nJson = -1, rc;
  if( zExplain==0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zExplain, -1, &p, 0);
  sqlite3_free(zExplain);
  while( rc==SQLITE_OK && (rc = sqlite3_step(p))==SQLITE_ROW ){
    const char *zOp = (const char*)sqlite3_column_text(p, 1);
    const char *zP4 = (const char*)sqlite3_column_text(p, 5);
    rc = SQLITE_OK;
    if( zOp==0 ) continue;
    if( strcmp(zOp, "Function")==0 || strcmp(zOp, "PureFunc")==0
     || strncmp(zOp, "Agg", 3)==0 ){
      /* P4 is "name(nArg)" */
      const char *zParen = zP4 ? strrchr(zP4, '(') : 0;
      char *zName;
      int ok;
      if( zParen==0 || zParen==zP4 ){
        if( strcmp(zOp, "AggStep")!=0 && strncmp(zOp, "Agg", 3)==0 ) continue;  /* no P4 */
        *pzErr = sqlite3_mprintf("api_fetch: url_query of a table stored in a database "
                                 "file: cannot tell which function %s calls", zOp);
        rc = SQLITE_ERROR;
        break;
      }
      zName = sqlite3_mprintf("%.*s", (int)(zParen - zP4), zP4);
      if( zName==0 ){ rc = SQLITE_NOMEM; break; }
      ok = sandbox_function_ok(db, zName, atoi(zParen+1));
      if( ok<0 ){
        rc = -ok;
      }else if( !ok ){
        *pzErr = sqlite3_mprintf("api_fetch: url_query of a table stored in a database file "
            "may not call %s(): only SQLite's built-in functions and functions declared "
            "innocuous (a file's SQL runs with your rights; create the table in temp to run "
            "your own SQL)", zName);
        rc = SQLITE_ERROR;
      }
      sqlite3_free(zName);
      if( rc ) break;
    }else if( strcmp(zOp, "VOpen")==0 ){
      unsigned long long v = zP4 && strncmp(zP4, "vtab:", 5)==0 ? strtoull(zP4+5, 0, 16) : 0;
      int i;
      if( v && xOwnTable(pOwnCtx, v) ) continue;
      if( nJson<0 ) nJson = sandbox_json_vtabs(db, aJson);
      for(i=0; i<nJson && aJson[i]!=v; i++){}
      if( v && i<nJson ) continue;
      *pzErr = sqlite3_mprintf("api_fetch: url_query of a table stored in a database file "
          "may read no virtual table but api_fetch tables, json_each and json_tree (a file's "
          "SQL runs with your rights; create the table in temp to run your own SQL)");
      rc = SQLITE_ERROR;
      break;
    }
  }
  if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  if( rc && *pzErr==0 ){
    *pzErr = sqlite3_mprintf("api_fetch: url_query: %s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(p);
  return rc ? SQLITE_ERROR : SQLITE_OK;
}
