#include "worker/outbox_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

#define MARK_LEN 21 /* 20 digits and a newline */

static uint64_t fnv1a_64(const char *data, size_t len)
{
    uint64_t hash = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < len; i++) {
        hash ^= (unsigned char)data[i];
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

void outbox_journal_header(char *header, unsigned long long id, const char *text, size_t len)
{
    snprintf(header, OUTBOX_HEADER_LEN + 1, "#%020llu %010zu %016llx\n", id, len,
             (unsigned long long)fnv1a_64(text, len));
}

static int read_whole(int fd, const char *path, struct strbuf *out, char *err, size_t err_len)
{
    char chunk[65536];
    off_t offset = 0;
    ssize_t n;

    while ((n = pread(fd, chunk, sizeof(chunk), offset)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, err_len, "cannot read '%s': %s", path, strerror(errno));
            return -1;
        }
        strbuf_append(out, chunk, (size_t)n);
        offset += n;
    }
    return 0;
}

/* Parses the record at data[0..len); returns its total length, or 0 when
 * it is not a whole, intact record. */
static size_t parse_record(const char *data, size_t len, unsigned long long *id,
                           size_t *body_len)
{
    char header[OUTBOX_HEADER_LEN + 1];
    unsigned long long hash;
    char *end;

    if (len < OUTBOX_HEADER_LEN || data[0] != '#' || data[OUTBOX_HEADER_LEN - 1] != '\n')
        return 0;
    memcpy(header, data, OUTBOX_HEADER_LEN);
    header[OUTBOX_HEADER_LEN] = '\0';
    *id = strtoull(header + 1, &end, 10);
    if (end != header + 21 || *end != ' ')
        return 0;
    *body_len = (size_t)strtoull(end + 1, &end, 10);
    if (end != header + 32 || *end != ' ' || *body_len > OUTBOX_RECORD_MAX_LEN)
        return 0;
    hash = strtoull(end + 1, &end, 16);
    if (end != header + 49)
        return 0;
    if (len - OUTBOX_HEADER_LEN < *body_len + 1 || data[OUTBOX_HEADER_LEN + *body_len] != '\n')
        return 0;
    if (fnv1a_64(data + OUTBOX_HEADER_LEN, *body_len) != hash)
        return 0;
    return OUTBOX_HEADER_LEN + *body_len + 1;
}

int outbox_journal_scan(int fd, const char *path, outbox_record_fn fn, void *arg, int *torn,
                        char *err, size_t err_len)
{
    struct strbuf data;
    size_t offset = 0;

    *torn = 0;
    strbuf_init(&data);
    if (read_whole(fd, path, &data, err, err_len) < 0) {
        strbuf_free(&data);
        return -1;
    }
    while (offset < data.len) {
        unsigned long long id;
        size_t body_len;
        size_t record_len = parse_record(data.data + offset, data.len - offset, &id, &body_len);

        if (record_len == 0) {
            *torn = 1;
            break;
        }
        fn(id, (off_t)(offset + OUTBOX_HEADER_LEN), body_len, arg);
        offset += record_len;
    }
    strbuf_free(&data);
    return 0;
}

int outbox_journal_open_mark(const char *dir, unsigned long long *acked_id, char *err,
                             size_t err_len)
{
    char *path = xasprintf("%s/acked", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    char text[MARK_LEN + 1];
    ssize_t n;

    *acked_id = 0;
    if (fd < 0) {
        snprintf(err, err_len, "cannot open '%s': %s", path, strerror(errno));
        free(path);
        return -1;
    }
    /* A missing or torn mark counts as nothing acknowledged: the server
     * ignores the reports it gets again. */
    n = pread(fd, text, MARK_LEN, 0);
    if (n == MARK_LEN && text[MARK_LEN - 1] == '\n') {
        text[MARK_LEN] = '\0';
        *acked_id = strtoull(text, NULL, 10);
    }
    free(path);
    return fd;
}

int outbox_journal_write_mark(int fd, unsigned long long acked_id)
{
    char text[MARK_LEN + 1];

    snprintf(text, sizeof(text), "%020llu\n", acked_id);
    return pwrite(fd, text, MARK_LEN, 0) == MARK_LEN ? 0 : -1;
}
