/*
** create.c - api_fetch_create(name, arguments): a wide api_fetch table made
** from a JSON object of its arguments, for hosts that can bind values but
** not CREATE VIRTUAL TABLE arguments (an SQLite rule: module arguments are
** tokens of the statement, never parameters).
**
**   .load ./apifetch
**   SELECT api_fetch_create('temp.posts', json_object(
**     'url_query', 'SELECT ''https://api.example.com/posts/'' || id FROM ids',
**     'concurrency', 20, 'paginate', json_object('type', 'page')));
**     -- "temp"."posts"
**
** and from Python, every value bound:
**
**   conn.execute("SELECT api_fetch_create(?, ?)", ("temp.posts", json.dumps(args)))
**
** It writes the statement itself, so that no caller formats SQL by hand:
** the name "schema.table" (the schema only when the part before the first
** dot names a database of the connection, as api_fetch_columns reads it)
** quoted as identifiers; each key checked against the arguments the wide
** face knows (aKnob[]), so a key never reaches the SQL unchecked; each value
** a string literal, quotes doubled, which the wide face's argument reader
** (options.c) dequotes: a JSON string as its text, a number or boolean as
** written, an object or array as its JSON text.  Then the statement runs on
** the connection, with its authorizer and limits, and fails with the wide
** face's own message (which names the argument) if an argument is wrong.
**
** No more than plain CREATE VIRTUAL TABLE can do: SQLITE_DIRECTONLY
** (apifetch.c), so a view, trigger or stored url_query cannot call it; and
** refused on a connection whose settings are locked, as api_fetch_cache
** and api_fetch_profile are: that is a host (the Datasette plugin) that
** runs SQL from others, whose SELECT-only rule would otherwise be a way
** around to DDL.
*/
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "apifetch.h"

static void create_error(sqlite3_context *ctx, char *z){
  if( z==0 ){
    sqlite3_result_error_nomem(ctx);
  }else{
    sqlite3_result_error(ctx, z, -1);
    sqlite3_free(z);
  }
}

/* "key='value'" for one member of the arguments object, appended to b.
** SQLITE_OK, or an error with *pzErr naming the key. */
static int create_arg(Buf *b, const cJSON *v, char **pzErr){
  const char *zKey = v->string;
  const char *p;
  char *zVal = 0, *zLit;
  for(p=zKey; *p; p++){
    /* Every known name is of these; anything else is not one, and the
    ** key is written into the statement as it is. */
    if( !((*p>='a' && *p<='z') || (*p>='0' && *p<='9') || *p=='_') ) break;
  }
  if( *p || zKey[0]==0 || knob_find(zKey, KF_OPTION|KF_TABLE)==0 ){
    char *z = knob_unknown("unknown argument", zKey, KF_OPTION|KF_TABLE);
    *pzErr = z ? sqlite3_mprintf("api_fetch_create: %s", z) : 0;
    sqlite3_free(z);
    return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  if( cJSON_IsString(v) ){
    zVal = sqlite3_mprintf("%s", v->valuestring);
  }else if( cJSON_IsBool(v) ){
    zVal = sqlite3_mprintf("%s", cJSON_IsTrue(v) ? "true" : "false");
  }else if( cJSON_IsNumber(v) || cJSON_IsObject(v) || cJSON_IsArray(v) ){
    char *zJson = cJSON_PrintUnformatted(v);
    if( zJson ){ zVal = sqlite3_mprintf("%s", zJson); cJSON_free(zJson); }
  }else{
    *pzErr = sqlite3_mprintf("api_fetch_create: argument %s is null; leave it out for "
                             "its default", zKey);
    return SQLITE_ERROR;
  }
  if( zVal==0 ) return SQLITE_NOMEM;
  zLit = sqlite3_mprintf("%s%s=%Q", b->n>0 ? ", " : "", zKey, zVal);
  sqlite3_free(zVal);
  if( zLit==0 ) return SQLITE_NOMEM;
  buf_append(b, zLit, strlen(zLit));
  sqlite3_free(zLit);
  return b->bOom ? SQLITE_NOMEM : SQLITE_OK;
}

/* The CREATE VIRTUAL TABLE statement for zArgs (a JSON object) into *pzSql,
** and the quoted name into *pzName. */
static int create_sql(sqlite3 *db, const char *zName, const char *zArgs, size_t nArgs,
                      char **pzSql, char **pzName, char **pzErr){
  cJSON *pRoot, *v;
  Buf b = {0, 0, 0, 0};
  const char *zDot = strchr(zName, '.');
  char *zSchema = 0;
  int rc = SQLITE_OK;
  if( json_has_nul(zArgs, nArgs) || strlen(zArgs)!=nArgs ){
    *pzErr = sqlite3_mprintf("api_fetch_create: the arguments hold \\u0000, a NUL character");
    return SQLITE_ERROR;
  }
  errno = 0;
  pRoot = cJSON_ParseWithOpts(zArgs, 0, 1);          /* nothing may follow the object */
  if( pRoot==0 && errno==ENOMEM ) return SQLITE_NOMEM;
  if( pRoot==0 || !cJSON_IsObject(pRoot) ){
    *pzErr = sqlite3_mprintf("api_fetch_create: the arguments must be a JSON object, got %s",
                             pRoot ? knob_json_kind(pRoot) : "invalid JSON");
    cJSON_Delete(pRoot);
    return SQLITE_ERROR;
  }
  cJSON_ArrayForEach(v, pRoot){
    if( json_key_repeated(pRoot, v) ){
      *pzErr = sqlite3_mprintf("api_fetch_create: argument %s is given twice", v->string);
      rc = SQLITE_ERROR;
    }else{
      rc = create_arg(&b, v, pzErr);
    }
    if( rc ) break;
  }
  cJSON_Delete(pRoot);
  if( rc ){ buf_free(&b); return rc; }
  if( zDot ){
    zSchema = sqlite3_mprintf("%.*s", (int)(zDot - zName), zName);
    if( zSchema==0 ){ buf_free(&b); return SQLITE_NOMEM; }
    /* -1: no such schema (temp has no file name until first used, so
    ** sqlite3_db_filename cannot tell). */
    if( sqlite3_txn_state(db, zSchema)>=0 ){
      zName = zDot+1;
    }else{
      sqlite3_free(zSchema);
      zSchema = 0;
    }
  }
  *pzName = zSchema ? sqlite3_mprintf("\"%w\".\"%w\"", zSchema, zName)
                    : sqlite3_mprintf("\"%w\"", zName);
  *pzSql = *pzName ? sqlite3_mprintf("CREATE VIRTUAL TABLE %s USING api_fetch(%s)",
                                     *pzName, b.z ? b.z : "") : 0;
  sqlite3_free(zSchema);
  buf_free(&b);
  return *pzSql ? SQLITE_OK : SQLITE_NOMEM;
}

void create_func(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Conn *pConn = (Conn*)sqlite3_user_data(ctx);
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  const char *zName = (const char*)sqlite3_value_text(argv[0]);
  const char *zArgs = (const char*)sqlite3_value_text(argv[1]);
  char *zSql = 0, *zQuoted = 0, *zErr = 0;
  int rc;
  (void)argc;
  if( pConn->guard.bLocked ){
    create_error(ctx, sqlite3_mprintf("api_fetch_create: the settings of this connection are "
        "locked: its SQL may come from others (a Datasette query), and making tables is "
        "the host's, with CREATE VIRTUAL TABLE"));
    return;
  }
  if( zName==0 || zName[0]==0 || zArgs==0 ){
    create_error(ctx, (zName==0 && sqlite3_value_type(argv[0])!=SQLITE_NULL)
                      || (zArgs==0 && sqlite3_value_type(argv[1])!=SQLITE_NULL) ? 0
        : sqlite3_mprintf("api_fetch_create: expected a table name and a JSON object of "
                          "arguments: api_fetch_create('temp.posts', '{\"url_list\": ...}')"));
    return;
  }
  rc = create_sql(db, zName, zArgs, (size_t)sqlite3_value_bytes(argv[1]), &zSql, &zQuoted,
                  &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3_exec(db, zSql, 0, 0, 0);
    if( rc ){
      /* The wide face's own message says which argument; others say where. */
      const char *zMsg = sqlite3_errmsg(db);
      zErr = strncmp(zMsg, "api_fetch: ", 11)==0
           ? sqlite3_mprintf("api_fetch_create: %s", zMsg+11)
           : sqlite3_mprintf("api_fetch_create: %s: %s", zQuoted, zMsg);
    }
  }
  if( rc ){
    create_error(ctx, zErr);
  }else{
    sqlite3_result_text(ctx, zQuoted, -1, sqlite3_free);
    zQuoted = 0;
  }
  sqlite3_free(zSql);
  sqlite3_free(zQuoted);
}
