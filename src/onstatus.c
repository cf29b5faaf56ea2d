/*
** onstatus.c - the on_status option: what a response of each final status
** gives, where on_error treats every failure alike.
**
**   SELECT * FROM api_fetch(:urls, 20, '{"on_status": {"404": "data",
**       "4xx": "error", "409": "retry", "5xx": "fail"}}');
**
** A key is a status, 100 to 599, or a class, "1xx" to "5xx"; an exact code
** wins over its class.  The words:
**
**   data    the body is parsed as records, as a 200's (a 404 whose body is
**           the answer); engine.c keeps the body instead of an error
**   skip    no row
**   error   an error row, whatever on_error says
**   fail    the statement fails
**   retry   retried as a 503 is (backoff, max_attempts, Retry-After), the
**           decision being policy_status_retryable's; when the attempts
**           run out, what on_error says
**
** What is not named, and a failure with no status (a refused connection,
** a timeout), follows on_error, so that without on_status every row is as
** it was.  The action is of the final answer: a status retried by default
** (408, 425, 429, 5xx) is retried first whatever it names.  scan.c applies
** skip, error and fail.
*/
#include <string.h>
#include <cjson/cJSON.h>
#include "apifetch.h"

/* The words, in STATUS_* order from STATUS_DATA. */
static const char *const azAction[] = { "data", "skip", "error", "fail", "retry" };
_Static_assert(ArraySize(azAction)==STATUS_RETRY, "azAction[] has a word per STATUS_*");

/* Key z as a status (100..599: *pCode) or a class ("4xx": *pClass 1..5).
** 0 if it is neither. */
static int status_key(const char *z, int *pCode, int *pClass){
  *pCode = *pClass = 0;
  if( strlen(z)!=3 || z[0]<'1' || z[0]>'5' ) return 0;
  if( (z[1]=='x' || z[1]=='X') && (z[2]=='x' || z[2]=='X') ){
    *pClass = z[0]-'0';
    return 1;
  }
  if( z[1]<'0' || z[1]>'9' || z[2]<'0' || z[2]>'9' ) return 0;
  *pCode = (z[0]-'0')*100 + (z[1]-'0')*10 + (z[2]-'0');
  return 1;
}

int onstatus_set(Options *p, const Knob *k, const cJSON *v, char **pzErr){
  const cJSON *m;
  memset(p->aOnCode, 0, sizeof(p->aOnCode));
  memset(p->aOnClass, 0, sizeof(p->aOnClass));
  if( cJSON_IsNull(v) ) return SQLITE_OK;          /* over a profile's */
  if( !cJSON_IsObject(v) ){
    *pzErr = sqlite3_mprintf("api_fetch: option %s must be an object such as "
                             "{\"404\": \"data\", \"5xx\": \"fail\"}, got %s", k->zName,
                             knob_json_kind(v));
    return SQLITE_ERROR;
  }
  for(m=v->child; m; m=m->next){
    int iCode, iClass, i;
    if( !status_key(m->string, &iCode, &iClass) ){
      *pzErr = sqlite3_mprintf("api_fetch: option %s: key \"%.40s\" is neither a status "
                               "(100 to 599) nor a class (\"1xx\" to \"5xx\")", k->zName,
                               m->string);
      return SQLITE_ERROR;
    }
    if( json_key_repeated(v, m) ){
      *pzErr = sqlite3_mprintf("api_fetch: option %s: key \"%s\" is given twice", k->zName,
                               m->string);
      return SQLITE_ERROR;
    }
    for(i=0; i<ArraySize(azAction); i++){
      if( cJSON_IsString(m) && strcmp(m->valuestring, azAction[i])==0 ) break;
    }
    if( i==ArraySize(azAction) ){
      char *zGot = cJSON_IsString(m) ? sqlite3_mprintf("\"%.40s\"", m->valuestring)
                                     : sqlite3_mprintf("%s", knob_json_kind(m));
      if( zGot==0 ) return SQLITE_NOMEM;
      *pzErr = sqlite3_mprintf("api_fetch: option %s: \"%s\" must be \"data\", \"skip\", "
                               "\"error\", \"fail\" or \"retry\", got %s", k->zName,
                               m->string, zGot);
      sqlite3_free(zGot);
      return SQLITE_ERROR;
    }
    if( iCode ){
      p->aOnCode[iCode-100] = (unsigned char)(STATUS_DATA + i);
    }else{
      p->aOnClass[iClass-1] = (unsigned char)(STATUS_DATA + i);
    }
  }
  return SQLITE_OK;
}

int onstatus_action(const Options *p, long status){
  if( status<100 || status>599 ) return STATUS_DEFAULT;
  if( p->aOnCode[status-100] ) return p->aOnCode[status-100];
  return p->aOnClass[status/100-1];
}
