/*
** apifetch.c - entry point of the apifetch SQLite extension: concurrent
** HTTP fetching of JSON APIs from SQL, on libcurl's multi interface.
**
**   .load ./apifetch
**   SELECT api_fetch_version();
**   SELECT url, status, data FROM api_fetch('["http://127.0.0.1:8080/obj?id=1"]', 20);
**
** Registers the api_fetch table-valued function (vtab.c) and the scalar
** api_fetch_version().  sqlite3_apifetch_init is the only exported symbol.
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

__attribute__((visibility("default")))
int sqlite3_apifetch_init(sqlite3 *db, char **pzErrMsg,
                          const sqlite3_api_routines *pApi);
__attribute__((visibility("default")))
int sqlite3_apifetch_init(sqlite3 *db, char **pzErrMsg,
                          const sqlite3_api_routines *pApi){
  int rc;
#ifndef SQLITE_CORE
  SQLITE_EXTENSION_INIT2(pApi);
#else
  (void)pApi;
#endif
  /* Thread-safe since libcurl 7.84 and idempotent; the extension never
  ** calls curl_global_cleanup because it cannot know when it is unloaded. */
  if( curl_global_init(CURL_GLOBAL_DEFAULT)!=CURLE_OK ){
    *pzErrMsg = sqlite3_mprintf("apifetch: curl_global_init failed");
    return SQLITE_ERROR;
  }
  rc = sqlite3_create_function(db, "api_fetch_version", 0,
                               SQLITE_UTF8 | SQLITE_INNOCUOUS, 0, versionFunc, 0, 0);
  if( rc==SQLITE_OK ) rc = vtab_register(db, pzErrMsg);
  return rc;
}
