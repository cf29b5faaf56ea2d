/*
** apifetch.c - entry point of the apifetch SQLite extension: concurrent
** HTTP fetching of JSON APIs from SQL, on libcurl's multi interface.
**
**   .load ./apifetch
**   SELECT api_fetch_version();
**   SELECT url, status, data FROM api_fetch('["http://127.0.0.1:8080/obj?id=1"]', 20);
**
** The SQL surface is the two tables below, registered by
** sqlite3_apifetch_init; it and sqlite3_extension_init, the same entry
** point under SQLite's default name, are the only exported symbols.  Every
** function and module but api_fetch_version shares the connection's Conn
** (conn.c).
*/
#include <cjson/cJSON.h>
#include "apifetch.h"
#ifndef SQLITE_CORE
SQLITE_EXTENSION_INIT1
#endif

/* api_fetch_version(): "apifetch 0.2.0 (abc1234), libcurl 7.88.1, cJSON 1.7.15",
** the commit only in a build from a git checkout. */
#ifndef APIFETCH_VERSION
# error "APIFETCH_VERSION is set by the Makefile from the file VERSION"
#endif
#ifdef APIFETCH_COMMIT
# define APIFETCH_BUILD APIFETCH_VERSION " (" APIFETCH_COMMIT ")"
#else
# define APIFETCH_BUILD APIFETCH_VERSION
#endif
static void versionFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  curl_version_info_data *d = curl_version_info(CURLVERSION_NOW);
  char *z = sqlite3_mprintf("apifetch %s, libcurl %s, cJSON %s",
                            APIFETCH_BUILD, d->version, cJSON_Version());
  (void)argc; (void)argv;
  if( z==0 ){ sqlite3_result_error_nomem(ctx); return; }
  sqlite3_result_text(ctx, z, -1, sqlite3_free);
}

/* The functions.  DIRECTONLY: not from a view, a trigger or a schema, and
** (by apifetch's own check, vtab.c) not from a url_query stored in a file;
** they change the connection's settings.  INNOCUOUS: no side effects. */
static const struct {
  const char *zName;
  int nArg;
  int eFlags;
  int bConn;                     /* Its user data is the Conn */
  void (*xFunc)(sqlite3_context*, int, sqlite3_value**);
} aFunc[] = {
  { "api_fetch_version", 0, SQLITE_UTF8|SQLITE_INNOCUOUS,  0, versionFunc },
  { "api_fetch_config",  0, SQLITE_UTF8|SQLITE_DIRECTONLY, 1, conn_config_func },
  { "api_fetch_config",  1, SQLITE_UTF8|SQLITE_DIRECTONLY, 1, conn_config_func },
  { "api_fetch_profile", 2, SQLITE_UTF8|SQLITE_DIRECTONLY, 1, conn_profile_func },
  { "api_fetch_cache_prune", 2, SQLITE_UTF8|SQLITE_DIRECTONLY, 1, cachesql_prune_func },
  /* DIRECTONLY: naming a wide table connects it, and a table in temp
  ** connects by fetching its sample. */
  { "api_fetch_columns", 1, SQLITE_UTF8|SQLITE_DIRECTONLY, 1, columns_func },
  /* DIRECTONLY: it runs a CREATE, and a CREATE fetches its sample. */
  { "api_fetch_create", 2, SQLITE_UTF8|SQLITE_DIRECTONLY, 1, create_func },
};

/* The modules.  api_fetch is both a table-valued function (eponymous) and
** the wide face (CREATE VIRTUAL TABLE); each table sets its own risk with
** sqlite3_vtab_config (api_fetch: DIRECTONLY; api_fetch_stats: INNOCUOUS). */
static const struct {
  const char *zName;
  sqlite3_module *pModule;
} aModule[] = {
  { "api_fetch",       &vtab_fetch_module },
  { "api_fetch_stats", &conn_stats_module },
  { "api_fetch_options", &conn_options_module },
  { "api_fetch_cache", &cachesql_module },
  { "api_fetch_host_stats", &hoststats_module },
};


/* Drop the first nFunc functions and nModule modules of the tables (after
** a registration failed: none may be left behind, since SQLite unloads
** the library of a failed load and they would call into unmapped code). */
static void unregister(sqlite3 *db, int nFunc, int nModule){
  int i;
  for(i=0; i<nFunc; i++){
    sqlite3_create_function_v2(db, aFunc[i].zName, aFunc[i].nArg, aFunc[i].eFlags,
                               0, 0, 0, 0, 0);
  }
  for(i=0; i<nModule; i++) sqlite3_create_module_v2(db, aModule[i].zName, 0, 0, 0);
}

__attribute__((visibility("default")))
int sqlite3_apifetch_init(sqlite3 *db, char **pzErrMsg,
                          const sqlite3_api_routines *pApi);
__attribute__((visibility("default")))
int sqlite3_apifetch_init(sqlite3 *db, char **pzErrMsg,
                          const sqlite3_api_routines *pApi){
  Conn *pConn = 0;
  int rc, i, j = 0;
#ifndef SQLITE_CORE
  SQLITE_EXTENSION_INIT2(pApi);
#else
  (void)pApi;
#endif
  /* Everything that can fail before anything is registered. */
  /* Thread-safe since libcurl 7.84 and idempotent; the extension never
  ** calls curl_global_cleanup because it cannot know when it is unloaded. */
  if( curl_global_init(CURL_GLOBAL_DEFAULT)!=CURLE_OK ){
    *pzErrMsg = sqlite3_mprintf("apifetch: curl_global_init failed");
    return SQLITE_ERROR;
  }
  fds_raise_limit();
  rc = conn_attach(db, &pConn, pzErrMsg);
  if( rc ) return rc;

  /* Each registration holds a reference to the Conn, given back by its
  ** destructor, which SQLite also calls when the registration fails. */
  for(i=0; rc==SQLITE_OK && i<ArraySize(aFunc); i++){
    if( aFunc[i].bConn ) conn_ref(pConn);
    rc = sqlite3_create_function_v2(db, aFunc[i].zName, aFunc[i].nArg, aFunc[i].eFlags,
                                    aFunc[i].bConn ? pConn : 0, aFunc[i].xFunc, 0, 0,
                                    aFunc[i].bConn ? conn_release : 0);
  }
  for(j=0; rc==SQLITE_OK && j<ArraySize(aModule); j++){
    conn_ref(pConn);
    rc = sqlite3_create_module_v2(db, aModule[j].zName, aModule[j].pModule, pConn,
                                  conn_release);
  }
  if( rc ){
    unregister(db, i, j);
    if( *pzErrMsg==0 ) *pzErrMsg = sqlite3_mprintf("apifetch: registering its functions "
                                                   "failed: %s", sqlite3_errstr(rc));
  }
  conn_release(pConn);
  return rc;
}

/* The same entry point under the name sqlite3_load_extension() tries first
** when it is given none.  Its second guess, sqlite3_X_init with X the
** letters of the file name, finds sqlite3_apifetch_init only for a file
** named apifetch*: the .deb's libsqlite3_mod_apifetch.so, given by its path
** (Datasette, better-sqlite3, `.load /usr/lib/.../libsqlite3_mod_apifetch.so`),
** would ask for sqlite3_sqlitemodapifetch_init.  With this one, any file
** name loads (tests/py/load_names.py). */
__attribute__((visibility("default")))
int sqlite3_extension_init(sqlite3 *db, char **pzErrMsg,
                           const sqlite3_api_routines *pApi);
__attribute__((visibility("default")))
int sqlite3_extension_init(sqlite3 *db, char **pzErrMsg,
                           const sqlite3_api_routines *pApi){
  return sqlite3_apifetch_init(db, pzErrMsg, pApi);
}
