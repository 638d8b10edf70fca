/* Clocks and summaries shared by the load generator's phases. */
#ifndef TASKRELAY_BENCH_STATS_H
#define TASKRELAY_BENCH_STATS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Nanoseconds from an arbitrary start (CLOCK_MONOTONIC). */
int64_t bench_now_ns(void);

/* Latency summary in microseconds of count samples given in nanoseconds.
 * Sorts samples in place. Percentiles use the nearest-rank method. */
struct bench_latency {
    size_t count;
    double p50_us;
    double p99_us;
    double max_us;
    double mean_us;
};

void bench_latency_summarize(int64_t *samples_ns, size_t count, struct bench_latency *out);

/* Returns {"count", "p50_us", "p99_us", "max_us", "mean_us"}. */
json_t *bench_latency_json(const struct bench_latency *latency);

/* Reads utime + stime of a process from /proc/PID/stat, in seconds.
 * Returns -1 when the process does not exist. */
int bench_process_cpu_s(pid_t pid, double *out_s);

#endif
