#include "http_chunked.h"

#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Consumes one byte of a size line. */
static void size_byte(struct http_chunked *d, char c)
{
    int digit = hex_value(c);

    if (d->state == HTTP_CHUNKED_SIZE && digit >= 0) {
        /* 15 hex digits are far beyond any real chunk; more is garbage. */
        if (++d->size_digit_count > 15) {
            d->state = HTTP_CHUNKED_ERROR;
            return;
        }
        d->remaining_len = d->remaining_len * 16 + (size_t)digit;
        return;
    }
    if (c == '\n') {
        if (d->size_digit_count == 0) {
            d->state = HTTP_CHUNKED_ERROR;
            return;
        }
        d->state = d->remaining_len > 0 ? HTTP_CHUNKED_DATA : HTTP_CHUNKED_DATA_END;
        d->size_digit_count = 0;
        return;
    }
    if (c == ';' || c == '\r' || c == ' ' || c == '\t' || d->state == HTTP_CHUNKED_EXTENSION) {
        d->state = HTTP_CHUNKED_EXTENSION;
        return;
    }
    d->state = HTTP_CHUNKED_ERROR;
}

long http_chunked_decode(struct http_chunked *d, char *in, size_t len)
{
    size_t out_len = 0;
    size_t i = 0;

    while (i < len) {
        switch (d->state) {
        case HTTP_CHUNKED_SIZE:
        case HTTP_CHUNKED_EXTENSION:
            size_byte(d, in[i++]);
            break;
        case HTTP_CHUNKED_DATA: {
            size_t n = len - i < d->remaining_len ? len - i : d->remaining_len;

            memmove(in + out_len, in + i, n);
            out_len += n;
            i += n;
            d->remaining_len -= n;
            if (d->remaining_len == 0)
                d->state = HTTP_CHUNKED_DATA_END;
            break;
        }
        case HTTP_CHUNKED_DATA_END:
            /* CR LF ends the data; the LF starts the next size line. */
            if (in[i++] == '\n') {
                d->state = HTTP_CHUNKED_SIZE;
                d->remaining_len = 0;
            }
            break;
        case HTTP_CHUNKED_ERROR:
            return -1;
        }
    }
    return d->state == HTTP_CHUNKED_ERROR ? -1 : (long)out_len;
}
