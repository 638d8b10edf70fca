"""Summaries of the repetitions: median, min and max per figure, the table
with the targets, and the JSON results file."""

import statistics

MIB = 1024

# (label, figure key, unit, target text, check); check(median) -> bool.
ROWS = [
    ("lifecycle, 1 sim worker x 4 slots", "throughput_w1_tasks_per_s", "tasks/s",
     ">= 7,000", lambda v: v >= 7000),
    ("lifecycle, 4 sim workers x 4 slots", "throughput_w4_tasks_per_s", "tasks/s",
     ">= 7,000", lambda v: v >= 7000),
    ("lifecycle, 16 sim workers x 4 slots", "throughput_w16_tasks_per_s", "tasks/s",
     ">= 7,000", lambda v: v >= 7000),
    ("server CPU per 1,000 tasks, 1 worker", "throughput_w1_cpu_s_per_1000", "s", "", None),
    ("server CPU per 1,000 tasks, 16 workers", "throughput_w16_cpu_s_per_1000", "s", "",
     None),
    ("load generator CPU per 1,000 tasks, 16 workers",
     "throughput_w16_loadgen_cpu_s_per_1000", "s", "", None),
    ("BullMQ no-op jobs", "bullmq_jobs_per_s", "jobs/s", "", None),
    ("taskrelay (16 workers) / BullMQ", "ratio_vs_bullmq", "x", ">= 3", lambda v: v >= 3),
    ("dispatch latency p50", "dispatch_p50_us", "us", "<= 500", lambda v: v <= 500),
    ("dispatch latency p99", "dispatch_p99_us", "us", "<= 2,000", lambda v: v <= 2000),
    ("dispatch latency max", "dispatch_max_us", "us", "", None),
    ("BullMQ dispatch latency p50", "bullmq_dispatch_p50_us", "us", "", None),
    ("BullMQ dispatch latency p99", "bullmq_dispatch_p99_us", "us", "", None),
    ("real worker, /bin/true, 2 slots", "real_true_tasks_per_s", "tasks/s", "", None),
    ("real worker, 4 progress steps", "real_steps_tasks_per_s", "tasks/s", "", None),
    ("fork+exec+wait /bin/true, 2 at once", "fork_floor_runs_per_s", "runs/s", "", None),
    ("real worker / fork+exec floor", "real_true_vs_floor", "x", ">= 0.90",
     lambda v: v >= 0.9),
    ("status reads (wrk)", "reads_per_s", "reads/s", ">= 20,000", lambda v: v >= 20000),
    ("SSE delivery p50, {sse_watchers:,} watchers", "sse_p50_us", "us", "", None),
    ("SSE delivery p99, {sse_watchers:,} watchers", "sse_p99_us", "us", "<= 50,000",
     lambda v: v <= 50000),
    ("server RSS idle", "server_idle_rss_kib", "KiB", "<= 16,384", lambda v: v <= 16 * MIB),
    ("worker RSS idle", "worker_idle_rss_kib", "KiB", "<= 8,192", lambda v: v <= 8 * MIB),
    ("server RSS, {stored_tasks:,} stored tasks", "stored_rss_kib", "KiB", "<= 65,536",
     lambda v: v <= 64 * MIB),
    ("server peak RSS, {stored_tasks:,} stored tasks", "stored_peak_rss_kib", "KiB", "", None),
]


def add_ratios(figures, largest_workers):
    """Add the per-repetition ratios, so each compares numbers from the same
    minute."""
    ours = figures.get(f"throughput_w{largest_workers}_tasks_per_s")
    peer = figures.get("bullmq_jobs_per_s")
    if ours and peer:
        figures["ratio_vs_bullmq"] = ours / peer


def summarize(runs):
    """Return {key: {"median", "min", "max", "count"}} over the runs."""
    keys = sorted({key for run in runs for key in run})
    summary = {}
    for key in keys:
        values = [run[key] for run in runs if isinstance(run.get(key), (int, float))]
        if values:
            summary[key] = {"median": statistics.median(values), "min": min(values),
                            "max": max(values), "count": len(values)}
    return summary


def target_rows(summary, config):
    """Return the table rows with the median checked against each target;
    labels name the counts from config."""
    rows = []
    for label, key, unit, target, check in ROWS:
        label = label.format(**config)
        if key not in summary:
            continue
        median = summary[key]["median"]
        rows.append({"label": label, "key": key, "unit": unit, "target": target,
                     "median": median, "min": summary[key]["min"],
                     "max": summary[key]["max"],
                     "met": None if check is None else bool(check(median))})
    return rows


def format_number(value):
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_table(rows):
    """Return the rows as a Markdown table."""
    lines = ["| figure | median | min | max | unit | target | met |",
             "|---|---:|---:|---:|---|---|---|"]
    for row in rows:
        met = "" if row["met"] is None else ("yes" if row["met"] else "no")
        lines.append(f"| {row['label']} | {format_number(row['median'])} | "
                     f"{format_number(row['min'])} | {format_number(row['max'])} | "
                     f"{row['unit']} | {row['target']} | {met} |")
    return "\n".join(lines)
