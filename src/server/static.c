/* The dashboard: files compiled in from web/. /static/NAME serves one;
 * any other page path serves index.html, whose script routes on the URL. */
#include <string.h>
#include <strings.h>

#include "server/api.h"
#include "server/web_assets.h"

static const char *content_type_of(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (!dot)
        return "application/octet-stream";
    if (strcasecmp(dot, ".html") == 0)
        return "text/html; charset=utf-8";
    if (strcasecmp(dot, ".js") == 0 || strcasecmp(dot, ".mjs") == 0)
        return "text/javascript; charset=utf-8";
    if (strcasecmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (strcasecmp(dot, ".svg") == 0)
        return "image/svg+xml";
    if (strcasecmp(dot, ".png") == 0)
        return "image/png";
    if (strcasecmp(dot, ".ico") == 0)
        return "image/x-icon";
    if (strcasecmp(dot, ".txt") == 0)
        return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

static const struct web_asset *find_asset(const char *name)
{
    for (const struct web_asset *a = web_assets; a->name; a++) {
        if (strcmp(a->name, name) == 0)
            return a;
    }
    return NULL;
}

void serve_static(struct http_exchange *ex)
{
    const char *name = "index.html";
    const struct web_asset *asset;

    if (strncmp(ex->path, "/static/", 8) == 0)
        name = ex->path + 8;
    asset = find_asset(name);
    if (!asset) {
        http_reply_error(ex, 404, "not_found", "no file '%s' in the dashboard", name);
        return;
    }
    http_reply_bytes(ex, 200, content_type_of(name), asset->data, asset->size);
    http_reply_header(ex, "X-Content-Type-Options", "nosniff");
    http_reply_header(ex, "X-Frame-Options", "DENY");
    http_reply_header(ex, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
}
