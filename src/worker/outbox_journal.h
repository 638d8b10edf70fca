/* The outbox's files, internal to the outbox. Reports are appended as
 * records to segment files named seg-ID.log after the id of their first
 * record. A record is a fixed-width header line "#ID LEN HASH\n", LEN bytes
 * of report text and a newline; HASH is the FNV-1a 64 hash of the text in
 * hex, so a record torn by a crash or power loss is recognized. The file
 * "acked" contains the highest id the server acknowledged, with every
 * lower id also acknowledged. */
#ifndef TASKRELAY_OUTBOX_JOURNAL_H
#define TASKRELAY_OUTBOX_JOURNAL_H

#include <stddef.h>
#include <sys/types.h>

/* Larger than any report: a log chunk is at most 1 MiB of text, which JSON
 * escaping can grow up to six times. */
#define OUTBOX_RECORD_MAX_LEN (8 * 1024 * 1024)
#define OUTBOX_HEADER_LEN 50

/* Writes the record header of text into header, which has room for
 * OUTBOX_HEADER_LEN bytes and a terminating NUL. */
void outbox_journal_header(char *header, unsigned long long id, const char *text, size_t len);

/* Called for each whole record of a segment, in file order; body_offset
 * is where its text starts in the file. */
typedef void (*outbox_record_fn)(unsigned long long id, off_t body_offset, size_t body_len,
                                 void *arg);

/* Reads the segment open on fd and calls fn for each whole record. Sets
 * *torn to 1 when the file ends in bytes that are not a whole record,
 * which are ignored. Returns -1 with a message in err when the file cannot
 * be read. */
int outbox_journal_scan(int fd, const char *path, outbox_record_fn fn, void *arg, int *torn,
                        char *err, size_t err_len);

/* Opens (creating) the acknowledged-id file of dir and reads its id into
 * *acked_id, 0 when there is none yet. Returns the descriptor, or -1 with
 * a message in err. */
int outbox_journal_open_mark(const char *dir, unsigned long long *acked_id, char *err,
                             size_t err_len);
/* Overwrites the acknowledged id in place. Not synced: after a power loss
 * the server may get reports again that it acknowledged, and it ignores
 * them by their seq. */
int outbox_journal_write_mark(int fd, unsigned long long acked_id);

#endif
