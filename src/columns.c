/*
** columns.c - api_fetch_columns(table): the columns of a wide api_fetch
** table, inferred or declared, as the text of a columns= argument.
**
**   .load ./apifetch
**   CREATE VIRTUAL TABLE temp.posts USING api_fetch(url_list='[...]');
**   SELECT api_fetch_columns('temp.posts');
**     -- id INTEGER, title TEXT, created TIMESTAMP, "full name" TEXT, x ANY
**   ATTACH 'posts.db' AS f;
**   CREATE VIRTUAL TABLE f.posts USING api_fetch(url_list='[...]',
**     columns='id INTEGER, title TEXT, created TIMESTAMP, "full name" TEXT, x ANY');
**
** A wide table stored in a database file must declare its columns (so
** that opening the file never fetches: vtab.c, wide_connect); this gives
** the declaration of the columns a table in temp inferred.  SQLite's own
** declared types (pragma_table_info) would not do: a timestamp column is
** declared TEXT there, so a table declared from them would stop
** normalising timestamps, and a column of nulls has no type at all.
**
** SQLITE_DIRECTONLY (apifetch.c): naming a table connects it, and a wide
** table in temp that a schema reset disconnected connects by fetching its
** sample.
*/
#include <string.h>
#include "apifetch.h"
#include "shape.h"

static void columns_error(sqlite3_context *ctx, char *z){
  if( z==0 ){
    sqlite3_result_error_nomem(ctx);
  }else{
    sqlite3_result_error(ctx, z, -1);
    sqlite3_free(z);
  }
}

/* Name SQL finds: is zSchema.zName (or zName alone) a table?  Preparing a
** statement that names it also connects a wide table that a schema reset
** disconnected.  SQLITE_OK, or an error with SQLite's own message. */
static int table_exists(sqlite3 *db, const char *zSchema, const char *zName, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  char *zSql = zSchema ? sqlite3_mprintf("SELECT 0 FROM \"%w\".\"%w\"", zSchema, zName)
                       : sqlite3_mprintf("SELECT 0 FROM \"%w\"", zName);
  int rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  sqlite3_finalize(pStmt);
  if( rc && rc!=SQLITE_NOMEM ){
    *pzErr = sqlite3_mprintf("api_fetch_columns: %s", sqlite3_errmsg(db));
  }
  return rc;
}

void columns_func(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Conn *pConn = (Conn*)sqlite3_user_data(ctx);
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  const char *zArg = (const char*)sqlite3_value_text(argv[0]);
  const char *zName = zArg, *zDot;
  char *zSchema = 0, *zErr = 0;
  const Schema *s;
  (void)argc;
  if( zArg==0 ){
    columns_error(ctx, sqlite3_value_type(argv[0])==SQLITE_NULL
        ? sqlite3_mprintf("api_fetch_columns: expected a table name, got NULL") : 0);
    return;
  }
  /* "schema.name" when the part before the first dot names a database of
  ** the connection, as SQL writes it; otherwise a name with a dot in it. */
  zDot = strchr(zArg, '.');
  if( zDot ){
    zSchema = sqlite3_mprintf("%.*s", (int)(zDot - zArg), zArg);
    if( zSchema==0 ){ sqlite3_result_error_nomem(ctx); return; }
    if( sqlite3_db_filename(db, zSchema) ){
      zName = zDot+1;
    }else{
      sqlite3_free(zSchema);
      zSchema = 0;
    }
  }
  if( table_exists(db, zSchema, zName, &zErr) ){
    columns_error(ctx, zErr);
  }else if( (s = vtab_wide_schema(pConn, zSchema, zName))==0 ){
    columns_error(ctx, sqlite3_mprintf("api_fetch_columns: %s is not a wide api_fetch "
                                       "table (CREATE VIRTUAL TABLE ... USING api_fetch(...))",
                                       zArg));
  }else{
    char *z = schema_columns(s);
    if( z==0 ){
      sqlite3_result_error_nomem(ctx);
    }else{
      sqlite3_result_text(ctx, z, -1, sqlite3_free);
    }
  }
  sqlite3_free(zSchema);
}
