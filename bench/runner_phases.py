"""The phases of one benchmark repetition. Each starts the processes it
needs, runs bounded in count and time, stops them and returns a flat dict
of figures."""

import json
import os
import random
import re
import subprocess

from runner_procs import Redis, Server, Worker, raise_fd_limit, rss_kib

BENCH_KIND = "bench.noop"


def run_loadgen(ctx, phase, args, timeout_s):
    """Run one taskrelay-bench phase and return its JSON result."""
    cmd = [ctx.loadgen, phase, "--timeout-s", str(timeout_s)] + [str(a) for a in args]
    done = subprocess.run(cmd, env=ctx.tokens.env(), capture_output=True, text=True,
                          timeout=timeout_s + 60, preexec_fn=raise_fd_limit, check=False)
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {}
    if done.returncode != 0:
        raise RuntimeError(f"taskrelay-bench {phase} failed: "
                           f"{result.get('error') or done.stderr.strip()}")
    return result


def phase_throughput(ctx, folder):
    """Lifecycle throughput with 1, 4 and 16 simulated workers."""
    figures = {}
    for workers in ctx.config["throughput_workers"]:
        server = Server(ctx.binary, os.path.join(folder, f"throughput-{workers}"), ctx.tokens)
        try:
            result = run_loadgen(ctx, "throughput", [
                "--server", server.url, "--workers", workers, "--slots", ctx.config["slots"],
                "--creators", ctx.config["creators"], "--tasks", ctx.config["throughput_tasks"],
                "--server-pid", server.proc.pid], ctx.config["timeout_s"])
        finally:
            server.stop()
        figures[f"throughput_w{workers}_tasks_per_s"] = result["tasks_per_s"]
        figures[f"throughput_w{workers}_cpu_s_per_1000"] = result["server_cpu_s_per_1000"]
        figures[f"throughput_w{workers}_loadgen_cpu_s_per_1000"] = \
            result["loadgen_cpu_s_per_1000"]
        figures[f"throughput_w{workers}_report_errors"] = result["report_errors"]
    return figures


def phase_latency(ctx, folder):
    """Create-to-/execute latency with idle simulated workers."""
    server = Server(ctx.binary, os.path.join(folder, "latency"), ctx.tokens)
    try:
        result = run_loadgen(ctx, "latency", [
            "--server", server.url, "--workers", 1, "--slots", ctx.config["slots"],
            "--tasks", ctx.config["latency_tasks"]], ctx.config["timeout_s"])
    finally:
        server.stop()
    return {"dispatch_p50_us": result["dispatch"]["p50_us"],
            "dispatch_p99_us": result["dispatch"]["p99_us"],
            "dispatch_max_us": result["dispatch"]["max_us"],
            "dispatch_count": result["dispatch"]["count"],
            "create_ack_p50_us": result["create_ack"]["p50_us"]}


def phase_real_worker(ctx, folder):
    """The real worker with 2 slots, beside the fork+exec floor of /bin/true,
    and the idle RSS of a fresh server and worker."""
    folder = os.path.join(folder, "real-worker")
    server = Server(ctx.binary, folder, ctx.tokens)
    worker = None
    figures = {}
    try:
        figures["server_idle_rss_kib"] = rss_kib(server.proc.pid)[0]
        worker = Worker(ctx.binary, os.path.join(folder, "worker"), server, "bench-real", 2,
                        [("true", "/bin/true"), ("steps", ctx.steps_program)])
        figures["worker_idle_rss_kib"] = rss_kib(worker.proc.pid)[0]
        for kind, count in (("true", ctx.config["real_true_tasks"]),
                            ("steps", ctx.config["real_steps_tasks"])):
            result = run_loadgen(ctx, "drive", [
                "--server", server.url, "--kind", kind, "--creators", 2, "--tasks", count],
                ctx.config["timeout_s"])
            figures[f"real_{kind}_tasks_per_s"] = result["tasks_per_s"]
            figures[f"real_{kind}_failed"] = result["failed"]
    finally:
        if worker:
            worker.stop()
        server.stop()

    floor = run_loadgen(ctx, "fork", ["--parallel", 2, "--tasks", ctx.config["fork_runs"]],
                        ctx.config["timeout_s"])
    figures["fork_floor_runs_per_s"] = floor["runs_per_s"]
    figures["real_true_vs_floor"] = figures["real_true_tasks_per_s"] / floor["runs_per_s"]
    return figures


def phase_reads(ctx, folder):
    """Status reads per second with wrk against GET /api/v1/tasks/{id}."""
    server = Server(ctx.binary, os.path.join(folder, "reads"), ctx.tokens, kinds=[BENCH_KIND])
    try:
        task = server.request("POST", "/api/v1/tasks", {"kind": BENCH_KIND})
        # NOTE: wrk takes the header on its command line, so the throwaway
        # API token of this run shows in the process list while it runs.
        done = subprocess.run(
            ["wrk", "-t2", f"-c{ctx.config['wrk_connections']}",
             f"-d{ctx.config['wrk_seconds']}s", "-H",
             f"Authorization: Bearer {ctx.tokens.api}",
             f"{server.url}/api/v1/tasks/{task['id']}"],
            capture_output=True, text=True, timeout=ctx.config["wrk_seconds"] + 60, check=True)
    finally:
        server.stop()
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done.stdout)
    if not rate:
        raise RuntimeError(f"cannot read wrk's output: {done.stdout}")
    return {"reads_per_s": float(rate.group(1)),
            "reads_non_2xx": int(errors.group(1)) if errors else 0}


def phase_sse(ctx, folder):
    """Progress-to-delivery latency at many stream watchers."""
    server = Server(ctx.binary, os.path.join(folder, "sse"), ctx.tokens)
    try:
        result = run_loadgen(ctx, "sse", [
            "--server", server.url, "--tasks", ctx.config["sse_tasks"],
            "--watchers", ctx.config["sse_watchers"], "--rounds", ctx.config["sse_rounds"]],
            ctx.config["timeout_s"])
        rss = rss_kib(server.proc.pid)[1]
    finally:
        server.stop()
    return {"sse_p50_us": result["delivery"]["p50_us"],
            "sse_p99_us": result["delivery"]["p99_us"],
            "sse_missing": result["missing"],
            "sse_failed_watchers": result["failed_watchers"],
            "sse_server_peak_rss_kib": rss}


def phase_peer(ctx, folder):
    """BullMQ on Redis (appendfsync always): throughput and dispatch latency."""
    redis = Redis(os.path.join(folder, "redis"))
    try:
        done = subprocess.run(
            ["node", os.path.join(ctx.peer_dir, "bullmq_bench.mjs"), str(redis.port),
             str(ctx.config["throughput_tasks"]), str(ctx.config["latency_tasks"]),
             str(ctx.config["creators"]), str(ctx.config["peer_concurrency"])],
            capture_output=True, text=True, timeout=360, check=False)
    finally:
        redis.stop()
    if done.returncode != 0:
        raise RuntimeError(f"bullmq_bench.mjs failed: {done.stderr.strip()[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"bullmq_jobs_per_s": result["throughput"]["jobs_per_s"],
            "bullmq_dispatch_p50_us": result["latency"]["dispatch"]["p50_us"],
            "bullmq_dispatch_p99_us": result["latency"]["dispatch"]["p99_us"]}


FILL_SQL = """
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {count})
INSERT INTO tasks (kind, payload, status, progress, message, worker_id, attempt,
                   report_seq, created_at, dispatched_at, started_at, finished_at,
                   updated_at)
SELECT 'bench.fill', '{{"n":' || n || '}}', 'completed', 100, 'done', 'bench-fill', 1, 3,
       {t0} + n, {t0} + n, {t0} + n, {t0} + n, {t0} + n
FROM seq;
INSERT INTO task_events (task_id, attempt, type, status, progress, message, worker_id, at)
SELECT id, 1, 'completed', 'completed', 100, 'done', 'bench-fill', finished_at FROM tasks;
COMMIT;
"""


def fill_store(ctx, folder, count):
    """Create a store with the server's schema, then insert count completed
    tasks and one event each with the sqlite3 CLI. Returns the db path."""
    server = Server(ctx.binary, os.path.join(folder, "fill-schema"), ctx.tokens)
    db_path = server.db_path
    server.stop()
    subprocess.run(["sqlite3", db_path],
                   input=FILL_SQL.format(count=count, t0=1_780_000_000_000), text=True,
                   capture_output=True, timeout=1800, check=True)
    return db_path


def phase_stored(ctx, folder):
    """Server RSS with many stored tasks, after listing and reading them."""
    count = ctx.config["stored_tasks"]
    db_path = fill_store(ctx, folder, count)
    server = Server(ctx.binary, os.path.join(folder, "stored"), ctx.tokens, db_path=db_path)
    try:
        start_rss = rss_kib(server.proc.pid)[0]
        cursor = None
        for _ in range(20):
            page = server.request("GET", "/api/v1/tasks?limit=500" +
                                  (f"&cursor={cursor}" if cursor else ""))
            cursor = page["next_cursor"]
        server.request("GET", "/api/v1/tasks?status=completed&kind=bench.fill&limit=500")
        picker = random.Random(7)
        for _ in range(1000):
            server.request("GET", f"/api/v1/tasks/{picker.randint(1, count)}")
        rss, hwm = rss_kib(server.proc.pid)
    finally:
        server.stop()
    return {"stored_tasks": count, "stored_start_rss_kib": start_rss,
            "stored_rss_kib": rss, "stored_peak_rss_kib": hwm}
