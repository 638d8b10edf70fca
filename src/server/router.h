/* Maps each request's method and path to one handler. */
#ifndef TASKRELAY_ROUTER_H
#define TASKRELAY_ROUTER_H

#include "common/httpd.h"

/* The httpd handler of the server; app is the struct app. */
void router_handle(struct http_exchange *ex, void *app);
/* The httpd body-limit callback: artifact uploads may be larger. */
size_t router_body_limit(const char *method, const char *path, void *app);

#endif
