/* An incremental decoder of HTTP/1.1 chunked transfer coding (RFC 9112,
 * section 7.1), for responses read in pieces of any size. Trailers after
 * the last chunk are not expected on an endless stream and are skipped as
 * data. */
#ifndef TASKRELAY_BENCH_HTTP_CHUNKED_H
#define TASKRELAY_BENCH_HTTP_CHUNKED_H

#include <stddef.h>

enum http_chunked_state {
    HTTP_CHUNKED_SIZE,      /* reading hex digits of a chunk size */
    HTTP_CHUNKED_EXTENSION, /* skipping ";ext" up to the line feed */
    HTTP_CHUNKED_DATA,      /* inside a chunk's data */
    HTTP_CHUNKED_DATA_END,  /* skipping CR LF after the data */
    HTTP_CHUNKED_ERROR,
};

struct http_chunked {
    enum http_chunked_state state;
    size_t remaining_len; /* data bytes left in the current chunk */
    size_t size_digit_count;
};

/* Decodes len bytes of in; the data bytes are moved to the front of in,
 * and their count is returned. Returns -1 on a malformed size line. */
long http_chunked_decode(struct http_chunked *decoder, char *in, size_t len);

#endif
