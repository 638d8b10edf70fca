#include "server/auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"
#include "server/app.h"

#define SESSION_COOKIE "taskrelay_session"
#define SESSION_TTL_MS (12LL * 3600 * 1000)
#define SESSION_MAX 1024

struct session {
    char id[65];   /* hex, the cookie value */
    char csrf[65]; /* hex, sent back in X-CSRF-Token */
    int64_t expires_at;
};

/* NOTE: sessions live in memory, so a server restart signs everyone out. */
struct sessions {
    pthread_mutex_t lock;
    struct session items[SESSION_MAX];
    size_t count;
};

struct sessions *sessions_new(void)
{
    struct sessions *s = xcalloc(1, sizeof(*s));

    pthread_mutex_init(&s->lock, NULL);
    return s;
}

void sessions_free(struct sessions *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Copies the session's CSRF token into csrf when id is a live session.
 * Expired sessions are dropped on the way. */
static int session_lookup(struct sessions *s, const char *id, char csrf[65])
{
    int found = 0;
    int64_t now = now_ms();

    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->count; i++) {
        if (s->items[i].expires_at < now) {
            s->items[i--] = s->items[--s->count];
            continue;
        }
        if (token_equal(s->items[i].id, id)) {
            memcpy(csrf, s->items[i].csrf, 65);
            found = 1;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

static int session_create(struct sessions *s, struct session *out)
{
    if (random_hex(out->id, 32) < 0 || random_hex(out->csrf, 32) < 0)
        return -1;
    out->expires_at = now_ms() + SESSION_TTL_MS;
    pthread_mutex_lock(&s->lock);
    if (s->count == SESSION_MAX) {
        /* Drop the oldest, so a flood of sign-ins cannot grow memory. */
        memmove(&s->items[0], &s->items[1], (SESSION_MAX - 1) * sizeof(s->items[0]));
        s->count--;
    }
    s->items[s->count++] = *out;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static void session_delete(struct sessions *s, const char *id)
{
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->count; i++) {
        if (token_equal(s->items[i].id, id))
            s->items[i--] = s->items[--s->count];
    }
    pthread_mutex_unlock(&s->lock);
}

static const char *session_cookie(const struct http_exchange *ex)
{
    return MHD_lookup_connection_value(ex->connection, MHD_COOKIE_KIND, SESSION_COOKIE);
}

static int is_state_changing(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

int auth_require(struct app *app, struct http_exchange *ex, enum auth_role role)
{
    const char *token = http_bearer_token(ex);
    const char *expected = role == AUTH_WORKER ? app->config.worker_token : app->config.api_token;
    const char *cookie;
    char csrf[65];

    if (token) {
        if (token_equal(token, expected))
            return 0;
        http_reply_error(ex, 401, "unauthorized", "the bearer token is not valid for this route");
        return -1;
    }
    cookie = role == AUTH_CLIENT ? session_cookie(ex) : NULL;
    if (cookie && session_lookup(app->sessions, cookie, csrf)) {
        const char *sent = http_header(ex, "X-CSRF-Token");

        if (!is_state_changing(ex->method) || (sent && token_equal(sent, csrf)))
            return 0;
        http_reply_error(ex, 403, "csrf",
                         "missing or wrong X-CSRF-Token header: send the csrf_token from "
                         "GET /api/v1/session");
        return -1;
    }
    http_reply_error(ex, 401, "unauthorized",
                     role == AUTH_WORKER ? "send the worker token as 'Authorization: Bearer'"
                                         : "send the API token as 'Authorization: Bearer', "
                                           "or sign in");
    return -1;
}

static void sign_in(struct app *app, struct http_exchange *ex)
{
    char err[256];
    const char *token = NULL;
    json_t *body = json_parse_strict(ex->body, ex->body_len, err, sizeof(err));
    struct session session;
    char cookie[160];

    if (!body) {
        http_reply_error(ex, 400, "invalid_json", "%s", err);
        return;
    }
    if (json_field_string(body, "token", 1, 256, &token, err, sizeof(err)) != 0) {
        json_decref(body);
        http_reply_error(ex, 400, "invalid_field", "%s", err);
        return;
    }
    if (!token_equal(token, app->config.api_token)) {
        json_decref(body);
        log_warn("auth", "dashboard sign-in with a wrong token");
        http_reply_error(ex, 401, "unauthorized", "the token is not the server's API token");
        return;
    }
    json_decref(body);
    if (session_create(app->sessions, &session) < 0) {
        http_reply_error(ex, 500, "internal", "no random source to create a session");
        return;
    }
    snprintf(cookie, sizeof(cookie), SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict",
             session.id);
    http_reply_json(ex, 200, json_pack("{s:s}", "csrf_token", session.csrf));
    http_reply_header(ex, MHD_HTTP_HEADER_SET_COOKIE, cookie);
}

void api_session(struct app *app, struct http_exchange *ex)
{
    const char *cookie = session_cookie(ex);
    char csrf[65];

    if (strcmp(ex->method, "POST") == 0) {
        sign_in(app, ex);
        return;
    }
    if (!cookie || !session_lookup(app->sessions, cookie, csrf)) {
        http_reply_error(ex, 401, "unauthorized", "not signed in");
        return;
    }
    if (strcmp(ex->method, "GET") == 0) {
        http_reply_json(ex, 200, json_pack("{s:s}", "csrf_token", csrf));
        return;
    }
    if (strcmp(ex->method, "DELETE") == 0) {
        const char *sent = http_header(ex, "X-CSRF-Token");

        if (!sent || !token_equal(sent, csrf)) {
            http_reply_error(ex, 403, "csrf", "missing or wrong X-CSRF-Token header");
            return;
        }
        session_delete(app->sessions, cookie);
        http_reply_json(ex, 200, json_pack("{s:b}", "signed_out", 1));
        http_reply_header(ex, MHD_HTTP_HEADER_SET_COOKIE,
                          SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        return;
    }
    http_reply_error(ex, 405, "method_not_allowed", "use POST, GET or DELETE on /api/v1/session");
}
