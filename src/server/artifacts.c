/* Artifact files: uploaded by workers, kept under DATA_DIR/artifacts/ID/,
 * served to clients. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json_util.h"
#include "common/limits.h"
#include "common/log.h"
#include "server/api.h"
#include "server/app.h"
#include "server/store.h"

/* Returns 1 for 1-128 characters of [A-Za-z0-9._-] not starting with a
 * dot, so a name can never leave its folder. */
static int artifact_name_valid(const char *name)
{
    return name[0] != '.' && name_chars_valid(name, LIMIT_ARTIFACT_NAME_LEN);
}

static const char *content_type_of(const char *name)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".png", "image/png"},   {".jpg", "image/jpeg"},       {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},   {".webp", "image/webp"},      {".svg", "image/svg+xml"},
        {".pdf", "application/pdf"}, {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"}, {".log", "text/plain; charset=utf-8"},
        {".csv", "text/csv; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcasecmp(dot, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

static char *artifact_dir(struct app *app, long long id)
{
    return xasprintf("%s/artifacts/%lld", app->config.data_dir, id);
}

/* Writes len bytes to path through a temporary file, fsync and rename, so
 * a reader never sees half a file. */
static int write_file_atomic(const char *path, const char *data, size_t len)
{
    char *tmp = xasprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t done = 0;
    int rc = -1;

    if (fd < 0)
        goto out;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto out;
        done += (size_t)n;
    }
    if (fsync(fd) == 0 && close(fd) == 0) {
        fd = -1;
        rc = rename(tmp, path);
    }
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

void api_artifact_upload(struct app *app, struct http_exchange *ex, long long id)
{
    const char *name = http_query(ex, "name");
    const char *attempt_text = http_query(ex, "attempt");
    struct task_record task;
    int64_t attempt = 0;
    char *dir = NULL, *path = NULL;

    if (!name || !artifact_name_valid(name)) {
        http_reply_error(ex, 400, "invalid_field",
                         "query 'name' must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', "
                         "'-' and not start with a dot");
        return;
    }
    if (!attempt_text || parse_int64(attempt_text, 1, INT32_MAX, &attempt) < 0) {
        http_reply_error(ex, 400, "invalid_field", "query 'attempt' must be a positive integer");
        return;
    }
    if (app->store->ops->task_get(app->store, id, &task) != STORE_OK) {
        api_reply_task_not_found(ex, id);
        return;
    }
    if (task.attempt != attempt) {
        http_reply_error(ex, 409, "stale_attempt", "attempt %lld of task %lld is not current",
                         (long long)attempt, id);
        goto out;
    }
    if (task_status_is_terminal(task.status)) {
        http_reply_error(ex, 409, "conflict",
                         "task %lld already ended as %s: artifacts must come before the final "
                         "report",
                         id, task_status_name(task.status));
        goto out;
    }
    dir = artifact_dir(app, id);
    path = xasprintf("%s/%s", dir, name);
    if ((mkdir(dir, 0755) < 0 && errno != EEXIST) ||
        write_file_atomic(path, ex->body, ex->body_len) < 0) {
        log_error("api", "cannot store artifact task=%lld name=%s path=%s: %s", id, name, path,
                  strerror(errno));
        http_reply_error(ex, 500, "internal", "the artifact could not be stored; try again");
        goto out;
    }
    log_info("api", "artifact stored task=%lld attempt=%lld name=%s bytes=%zu", id,
             (long long)attempt, name, ex->body_len);
    http_reply_json(ex, 200, json_pack("{s:s, s:I}", "name", name, "size",
                                       (json_int_t)ex->body_len));
out:
    free(dir);
    free(path);
    task_record_clear(&task);
}

void api_artifact_list(struct app *app, struct http_exchange *ex, long long id)
{
    struct task_record task;
    char *dir;
    DIR *d;
    struct dirent *entry;
    json_t *list = json_array();

    if (app->store->ops->task_get(app->store, id, &task) != STORE_OK) {
        json_decref(list);
        api_reply_task_not_found(ex, id);
        return;
    }
    task_record_clear(&task);
    dir = artifact_dir(app, id);
    d = opendir(dir);
    while (d && (entry = readdir(d)) != NULL) {
        struct stat st;
        char *path;

        if (!artifact_name_valid(entry->d_name) || strstr(entry->d_name, ".tmp"))
            continue;
        path = xasprintf("%s/%s", dir, entry->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            char *url = xasprintf("/api/v1/tasks/%lld/artifacts/%s", id, entry->d_name);

            json_array_append_new(list, json_pack("{s:s, s:I, s:s, s:s}", "name", entry->d_name,
                                                  "size", (json_int_t)st.st_size, "url", url,
                                                  "content_type",
                                                  content_type_of(entry->d_name)));
            free(url);
        }
        free(path);
    }
    if (d)
        closedir(d);
    free(dir);
    http_reply_json(ex, 200, json_pack("{s:o}", "artifacts", list));
}

void api_artifact_get(struct app *app, struct http_exchange *ex, long long id,
                      const char *name)
{
    char *dir = artifact_dir(app, id);
    char *path = xasprintf("%s/%s", dir, name);
    struct stat st;
    int fd = -1;

    if (!artifact_name_valid(name) || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
        fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        http_reply_error(ex, 404, "not_found", "task %lld has no artifact '%s'", id, name);
    } else {
        /* MHD closes fd when the response is destroyed. */
        struct MHD_Response *response = MHD_create_response_from_fd((uint64_t)st.st_size, fd);

        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type_of(name));
        MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
        /* An uploaded SVG or HTML file must not run script on this origin. */
        MHD_add_response_header(response, "Content-Security-Policy", "sandbox");
        http_reply_response(ex, 200, response);
    }
    free(dir);
    free(path);
}
