#include "bench_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least fraction of all samples
 * at or below it. */
static int64_t nearest_rank(const int64_t *sorted, size_t count, double fraction)
{
    size_t rank = (size_t)(fraction * (double)count + 0.999999);

    if (rank < 1)
        rank = 1;
    if (rank > count)
        rank = count;
    return sorted[rank - 1];
}

void bench_latency_summarize(int64_t *samples_ns, size_t count, struct bench_latency *out)
{
    double sum_ns = 0;

    memset(out, 0, sizeof(*out));
    out->count = count;
    if (count == 0)
        return;

    qsort(samples_ns, count, sizeof(*samples_ns), compare_int64);
    for (size_t i = 0; i < count; i++)
        sum_ns += (double)samples_ns[i];

    out->p50_us = (double)nearest_rank(samples_ns, count, 0.50) / 1000.0;
    out->p99_us = (double)nearest_rank(samples_ns, count, 0.99) / 1000.0;
    out->max_us = (double)samples_ns[count - 1] / 1000.0;
    out->mean_us = sum_ns / (double)count / 1000.0;
}

json_t *bench_latency_json(const struct bench_latency *latency)
{
    return json_pack("{s:I, s:f, s:f, s:f, s:f}", "count", (json_int_t)latency->count,
                     "p50_us", latency->p50_us, "p99_us", latency->p99_us, "max_us",
                     latency->max_us, "mean_us", latency->mean_us);
}

int bench_process_cpu_s(pid_t pid, double *out_s)
{
    char path[64];
    char line[2048];
    FILE *file;
    char *fields;
    unsigned long utime = 0;
    unsigned long stime = 0;
    int rc = -1;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    file = fopen(path, "r");
    if (!file)
        return -1;
    if (!fgets(line, sizeof(line), file))
        goto out;

    /* The command name in brackets may contain spaces, so fields are
     * counted from the last ')': state is field 3, utime 14, stime 15. */
    fields = strrchr(line, ')');
    if (!fields)
        goto out;
    if (sscanf(fields + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
               &stime) != 2)
        goto out;
    *out_s = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
    rc = 0;
out:
    fclose(file);
    return rc;
}
