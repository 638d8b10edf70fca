/* Bearer tokens and dashboard sessions. */
#ifndef TASKRELAY_AUTH_H
#define TASKRELAY_AUTH_H

#include "common/httpd.h"

struct app;
struct sessions;

enum auth_role { AUTH_CLIENT, AUTH_WORKER };

struct sessions *sessions_new(void);
void sessions_free(struct sessions *sessions);

/* Returns 0 when the request may go on. Otherwise it has already replied
 * 401 (no or wrong credentials) or 403 (a cookie session's state-changing
 * request without the matching X-CSRF-Token) and returns -1. Clients may
 * use the API token or a dashboard session; workers only the worker token. */
int auth_require(struct app *app, struct http_exchange *ex, enum auth_role role);

/* POST, GET and DELETE /api/v1/session. */
void api_session(struct app *app, struct http_exchange *ex);

#endif
