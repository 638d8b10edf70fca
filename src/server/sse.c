/* Server-Sent Events. Each stream first replays, from the store, every
 * task that changed after the client's Last-Event-ID (its newest state
 * once), then relays live events from the hub. Event ids are task event
 * seqs, which only grow, so a reconnecting client misses nothing.
 *
 * Each HTTP thread serves many connections, so a stream must not wait in
 * one. With nothing to send it suspends its connection and parks in the
 * hub, which resumes the connection when there is something. */
#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/log.h"
#include "server/api.h"
#include "server/app.h"
#include "server/hub.h"
#include "server/render.h"

/* How many changed tasks one replay sends at most; a client further
 * behind gets a "reset" event and reloads. */
#define REPLAY_LIMIT 10000
/* Concurrent requests publish their task events in the order their
 * threads run, not in seq order, so events a few hundred seqs apart may
 * arrive swapped. A resumed stream therefore replays from this many seqs
 * before its Last-Event-ID; the client gets some states twice, which
 * only repeats what it shows. */
#define REPLAY_MARGIN 1024
/* The stream of all tasks remembers the newest seq it sent for this many
 * recent tasks, so an older event of a task arriving late is not sent
 * after a newer one. */
#define SENT_SLOTS 256

struct sent_seq {
    int64_t task_id;
    int64_t seq;
};

struct sse_stream {
    struct app *app;
    struct MHD_Connection *connection;
    struct hub_parker parker;
    int64_t last_send_ms; /* mono_ms() of the last bytes handed to MHD */
    int64_t task_id; /* 0 = all tasks and workers */
    uint64_t hub_position;
    int64_t last_seq; /* highest task event seq sent */
    struct sent_seq *sent; /* SENT_SLOTS entries by task id; all-tasks streams only */
    int started;
    struct strbuf pending; /* formatted bytes not yet handed to MHD */
    size_t pending_off;
};

static void append_event(struct strbuf *out, const char *type, int64_t id, const char *data)
{
    strbuf_appendf(out, "event: %s\n", type);
    if (id > 0)
        strbuf_appendf(out, "id: %lld\n", (long long)id);
    /* Compact JSON has no raw newlines, so one data line carries it. */
    strbuf_appendf(out, "data: %s\n\n", data);
}

static void append_task(struct sse_stream *s, const struct task_record *task, int64_t seq)
{
    json_t *json = render_task_summary(task);
    char *text = json_to_text(json);

    append_event(&s->pending, "task", seq, text);
    free(text);
    json_decref(json);
}

/* Returns 1 when the stream already sent seq or a newer event of the task,
 * and otherwise records seq as sent. */
static int already_sent(struct sse_stream *s, int64_t task_id, int64_t seq)
{
    struct sent_seq *slot;

    if (!s->sent)
        return seq <= s->last_seq;
    slot = &s->sent[(uint64_t)task_id % SENT_SLOTS];
    if (slot->task_id == task_id && seq <= slot->seq)
        return 1;
    slot->task_id = task_id;
    slot->seq = seq;
    return 0;
}

static void note_sent(struct sse_stream *s, int64_t seq)
{
    if (seq > s->last_seq)
        s->last_seq = seq;
}

/* Sends the current state of every task changed after seq from_seq. */
static void replay_changes(struct sse_stream *s, int64_t from_seq)
{
    struct store *store = s->app->store;
    struct task_change *changes = NULL;
    size_t count = 0;

    if (from_seq < 0)
        from_seq = 0;
    if (store->ops->changes_since(store, from_seq, s->task_id, REPLAY_LIMIT, &changes,
                                  &count) != STORE_OK) {
        free(changes);
        return;
    }
    if (count == REPLAY_LIMIT) {
        strbuf_appendf(&s->pending, "event: reset\ndata: {}\n\n");
        store->ops->last_seq(store, &s->last_seq);
        free(changes);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        struct task_record task;

        if (store->ops->task_get(store, changes[i].task_id, &task) != STORE_OK)
            continue;
        if (s->sent)
            already_sent(s, changes[i].task_id, changes[i].seq);
        append_task(s, &task, changes[i].seq);
        task_record_clear(&task);
        note_sent(s, changes[i].seq);
    }
    free(changes);
}

static void send_workers(struct sse_stream *s)
{
    struct store *store = s->app->store;
    struct worker_record *workers = NULL;
    size_t count = 0;

    store->ops->worker_list(store, &workers, &count);
    for (size_t i = 0; i < count; i++) {
        json_t *json = render_worker(&workers[i], NULL, 0);
        char *text = json_to_text(json);

        append_event(&s->pending, "worker", 0, text);
        free(text);
        json_decref(json);
    }
    store_free_workers(workers, count);
}

static void start_stream(struct sse_stream *s)
{
    /* The hub position is taken before the replay, so an event that
     * happens during the replay is relayed afterwards rather than lost. */
    s->hub_position = hub_position(s->app->hub);
    strbuf_appendf(&s->pending, "retry: 2000\n\n");
    if (s->task_id == 0) {
        send_workers(s);
        if (s->last_seq == 0) {
            /* A new stream of all tasks starts from now, with no history. */
            s->app->store->ops->last_seq(s->app->store, &s->last_seq);
            return;
        }
    }
    replay_changes(s, s->last_seq > 0 ? s->last_seq - REPLAY_MARGIN : 0);
}

static void relay_events(struct sse_stream *s, struct hub_event *events, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        struct hub_event *e = &events[i];

        if (s->task_id && e->task_id != s->task_id)
            continue;
        if (e->type == HUB_TASK) {
            if (already_sent(s, e->task_id, e->seq))
                continue;
            note_sent(s, e->seq);
            append_event(&s->pending, "task", e->seq, e->data);
        } else if (e->type == HUB_WORKER && s->task_id == 0) {
            append_event(&s->pending, "worker", 0, e->data);
        } else if (e->type == HUB_LOG && s->task_id != 0) {
            append_event(&s->pending, "log", 0, e->data);
        }
    }
}

/* Appends what there is to send without waiting. Returns -1 once the
 * hub is closed. */
static int fill_pending(struct sse_stream *s)
{
    struct hub_event *events = NULL;
    size_t count = 0;
    int overrun = 0;

    if (!s->started) {
        s->started = 1;
        start_stream(s);
        return 0;
    }
    if (hub_take(s->app->hub, &s->hub_position, s->task_id, &events, &count, &overrun) < 0)
        return -1;
    if (overrun)
        replay_changes(s, s->last_seq - REPLAY_MARGIN);
    relay_events(s, events, count);
    hub_events_free(events, count);
    if (s->pending.len == 0 && mono_ms() - s->last_send_ms >= SSE_KEEPALIVE_MS)
        strbuf_appendf(&s->pending, ": keepalive\n\n");
    return 0;
}

static void resume_stream(void *ctx)
{
    struct sse_stream *s = ctx;

    MHD_resume_connection(s->connection);
}

/* Suspends the connection until the hub has something for this stream.
 * The suspension comes first, so a wake right after parking finds a
 * suspended connection to resume.
 * NOTE: libmicrohttpd does not watch a suspended connection, so a client
 * that went away keeps its connection open until the next event or keepalive
 * (up to 15 s) finds it closed. */
static void park_stream(struct sse_stream *s)
{
    MHD_suspend_connection(s->connection);
    if (hub_park(s->app->hub, &s->parker, s->hub_position) != 0)
        MHD_resume_connection(s->connection);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct sse_stream *s = cls;
    size_t n;

    if (s->pending_off >= s->pending.len) {
        strbuf_reset(&s->pending);
        s->pending_off = 0;
        if (s->app->stopping || fill_pending(s) < 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (s->pending.len == 0) {
            park_stream(s);
            return 0;
        }
    }
    n = s->pending.len - s->pending_off;
    if (n > max)
        n = max;
    memcpy(buf, s->pending.data + s->pending_off, n);
    s->pending_off += n;
    s->last_send_ms = mono_ms();
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    struct sse_stream *s = cls;

    hub_unpark(s->app->hub, &s->parker);
    hub_reader_remove(s->app->hub);
    strbuf_free(&s->pending);
    free(s->sent);
    free(s);
}

void api_stream(struct app *app, struct http_exchange *ex, long long task_id)
{
    const char *last_id = http_header(ex, "Last-Event-ID");
    struct sse_stream *s;
    struct MHD_Response *response;
    int64_t seq = 0, newest = 0;

    if (!last_id)
        last_id = http_query(ex, "last_event_id");
    if (last_id && *last_id && parse_int64(last_id, 0, INT64_MAX, &seq) < 0) {
        http_reply_error(ex, 400, "invalid_field",
                         "Last-Event-ID '%s' is not an event id: reconnect without it", last_id);
        return;
    }
    /* An id from before a database reset would hold back every event. */
    app->store->ops->last_seq(app->store, &newest);
    if (seq > newest)
        seq = newest;
    if (task_id) {
        struct task_record task;

        if (app->store->ops->task_get(app->store, task_id, &task) != STORE_OK) {
            api_reply_task_not_found(ex, task_id);
            return;
        }
        task_record_clear(&task);
    }
    s = xcalloc(1, sizeof(*s));
    hub_reader_add(app->hub);
    s->app = app;
    s->connection = ex->connection;
    s->parker.wake = resume_stream;
    s->parker.ctx = s;
    s->parker.task_id = task_id;
    s->last_send_ms = mono_ms();
    s->task_id = task_id;
    s->last_seq = seq;
    if (task_id == 0)
        s->sent = xcalloc(SENT_SLOTS, sizeof(*s->sent));
    strbuf_init(&s->pending);
    response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, sse_read, s,
                                                 sse_free);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(response, "X-Accel-Buffering", "no");
    http_reply_response(ex, 200, response);
}
