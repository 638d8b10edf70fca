/* The reports of a running task: progress from its progress pipe and live
 * output from output.log, each queued in the outbox with the next seq. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json_util.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/util.h"
#include "worker/supervisor_internal.h"

static const char log_cap_marker[] =
    "\n[taskrelay: output exceeded the 1 MiB live log limit; the rest is only in the worker's "
    "run directory]\n";

long long sup_next_seq(struct supervisor *sup, struct sup_run *run)
{
    char err[512];

    (void)sup;
    if (run->seq >= run->record.seq) {
        /* Recovery sends the lost report of a run with the reserved bound
         * plus one, so the bound is written before a report above the old
         * one is queued. Not synced: after a crash of the worker process
         * the page cache still has the bound. After a crash of the machine a
         * stale bound makes the server ignore the lost report, and the
         * server marks the run lost from the heartbeat instead. */
        run->record.seq = run->seq + RUN_SEQ_BLOCK;
        if (run_record_save(run->dir, &run->record, 0, err, sizeof(err)) < 0)
            log_error("worker", "cannot save run state task=%lld attempt=%d: %s", run->task_id,
                      run->attempt, err);
    }
    return ++run->seq;
}

void sup_report(struct supervisor *sup, struct sup_run *run, enum report_type type,
                json_t *body)
{
    struct report report = {
        .type = type,
        .task_id = run->task_id,
        .attempt = run->attempt,
        .seq = sup_next_seq(sup, run),
        .body = body,
    };
    char err[512];

    json_object_set_new(body, "worker_id", json_string(sup->config->worker_id));
    json_object_set_new(body, "attempt", json_integer(run->attempt));
    json_object_set_new(body, "seq", json_integer(report.seq));
    if (outbox_put(sup->outbox, &report, err, sizeof(err)) < 0)
        log_error("worker", "cannot queue %s report task=%lld attempt=%d: %s",
                  report_type_route(type), run->task_id, run->attempt, err);
    json_decref(body);
}

static void on_progress_line(const char *line, size_t len, int overlong, void *arg)
{
    struct sup_run *run = arg;
    struct progress_update update;
    char err[256];

    if (overlong) {
        snprintf(err, sizeof(err), "the line is longer than %d bytes", PROGRESS_LINE_MAX_LEN);
    } else if (progress_line_parse(line, len, &update, err, sizeof(err)) == 0) {
        run->progress_pending = 1;
        run->progress_percent = update.percent;
        free(run->progress_message);
        run->progress_message = update.message;
        return;
    }
    /* Only the first invalid line is logged; the finish logs the count. */
    if (run->invalid_progress_count++ == 0)
        log_warn("worker", "invalid progress line ignored task=%lld attempt=%d: %s",
                 run->task_id, run->attempt, err);
}

void sup_read_progress(struct supervisor *sup, struct sup_run *run)
{
    char buf[4096];
    ssize_t n;

    while ((n = read(run->progress_fd, buf, sizeof(buf))) > 0)
        progress_reader_feed(&run->reader, buf, (size_t)n, on_progress_line, run);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        /* Every writer closed the pipe. */
        progress_reader_finish(&run->reader, on_progress_line, run);
        close(run->progress_fd);
        run->progress_fd = -1;
    }
    sup_flush_progress(sup, run, 0);
}

void sup_flush_progress(struct supervisor *sup, struct sup_run *run, int force)
{
    int64_t now = mono_ms();
    json_t *body;

    if (!run->progress_pending)
        return;
    if (!force && now < sup_progress_next_ms(run))
        return;
    body = json_pack("{s:i, s:o}", "progress", run->progress_percent, "message",
                     json_string_or_null(run->progress_message));
    run->progress_pending = 0;
    if (run->progress_budget_at_ms < now)
        run->progress_budget_at_ms = now;
    run->progress_budget_at_ms += SUP_PROGRESS_INTERVAL_MS;
    sup_report(sup, run, REPORT_PROGRESS, body);
}

/* Returns how many of the len bytes end before an incomplete UTF-8
 * sequence at the end, which the next read completes. */
static size_t complete_utf8_prefix(const char *data, size_t len)
{
    for (size_t back = 1; back <= 4 && back <= len; back++) {
        unsigned char c = (unsigned char)data[len - back];
        size_t need;

        if (c < 0x80)
            return len;
        if ((c & 0xc0) == 0x80)
            continue;
        if (c >= 0xf0)
            need = 4;
        else if (c >= 0xe0)
            need = 3;
        else
            need = 2;
        return back < need ? len - back : len;
    }
    return len;
}

/* Reads the output that has not been sent yet, up to the live log limit. */
static int read_new_output(struct sup_run *run, int final, char **text, size_t *text_len,
                           size_t *consumed)
{
    struct stat st;
    size_t want;
    char *raw;
    ssize_t n;

    if (run->log_fd < 0 || fstat(run->log_fd, &st) < 0 || st.st_size <= run->log_read_offset)
        return 0;
    want = (size_t)(st.st_size - run->log_read_offset);
    if (want > LIMIT_LIVE_LOG_LEN)
        want = LIMIT_LIVE_LOG_LEN;
    raw = xmalloc(want);
    n = pread(run->log_fd, raw, want, run->log_read_offset);
    if (n <= 0) {
        free(raw);
        return 0;
    }
    *consumed = final ? (size_t)n : complete_utf8_prefix(raw, (size_t)n);
    if (*consumed == 0) {
        free(raw);
        return 0;
    }
    *text = utf8_sanitize(raw, *consumed, text_len);
    free(raw);
    return 1;
}

void sup_flush_log(struct supervisor *sup, struct sup_run *run, int final)
{
    size_t budget = LIMIT_LIVE_LOG_LEN - (sizeof(log_cap_marker) - 1);
    size_t text_len, consumed;
    char *text = NULL;
    long long offset = run->log_sent_len;
    json_t *body;

    run->log_flushed_at_ms = mono_ms();
    if (run->log_capped || !read_new_output(run, final, &text, &text_len, &consumed))
        return;

    run->log_read_offset += (off_t)consumed;
    if ((size_t)run->log_sent_len + text_len > budget) {
        struct strbuf capped;

        text_len = utf8_truncate(text, text_len, budget - (size_t)run->log_sent_len);
        strbuf_init(&capped);
        strbuf_append(&capped, text, text_len);
        strbuf_append(&capped, log_cap_marker, sizeof(log_cap_marker) - 1);
        free(text);
        text = capped.data;
        text_len = capped.len;
        run->log_capped = 1;
        log_info("worker", "live log limit reached task=%lld attempt=%d", run->task_id,
                 run->attempt);
    }
    run->log_sent_len += (long long)text_len;

    body = json_pack("{s:I, s:s%}", "offset", (json_int_t)offset, "text", text, text_len);
    free(text);
    sup_report(sup, run, REPORT_LOG, body);
}
