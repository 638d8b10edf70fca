/* The dashboard files, compiled in from web/ by cmake/embed_web.cmake. */
#ifndef TASKRELAY_WEB_ASSETS_H
#define TASKRELAY_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *name; /* file name under web/, e.g. "app.js" */
    const unsigned char *data;
    size_t size;
};

/* Terminated by an entry whose name is NULL. */
extern const struct web_asset web_assets[];

#endif
