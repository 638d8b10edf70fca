#!/usr/bin/env python3
"""Run the taskrelay benchmark: every phase of docs/benchmarks.md, repeated,
with the median, min and max per figure printed as a table and written as
JSON. Run it through bench/run.sh, which installs the tools and builds."""

import argparse
import datetime
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import runner_phases
import runner_report

FULL_CONFIG = {
    "throughput_workers": [1, 4, 16], "slots": 4, "creators": 8,
    "throughput_tasks": 3000, "latency_tasks": 2000,
    "real_true_tasks": 1000, "real_steps_tasks": 300, "fork_runs": 2000,
    "wrk_connections": 32, "wrk_seconds": 5,
    "sse_tasks": 10, "sse_watchers": 1000, "sse_rounds": 20,
    "peer_concurrency": 16, "stored_tasks": 1_000_000, "timeout_s": 180,
}

# A few seconds in all: proves that every phase still runs, measures nothing.
SMOKE_CONFIG = {
    "throughput_workers": [1, 4], "slots": 2, "creators": 2,
    "throughput_tasks": 100, "latency_tasks": 50,
    "real_true_tasks": 20, "real_steps_tasks": 5, "fork_runs": 50,
    "wrk_connections": 4, "wrk_seconds": 1,
    "sse_tasks": 2, "sse_watchers": 20, "sse_rounds": 3,
    "peer_concurrency": 4, "stored_tasks": 2000, "timeout_s": 60,
}

REPEATED_PHASES = ["throughput", "latency", "real_worker", "reads", "sse", "peer"]


class Tokens:
    """Throwaway tokens of one benchmark run."""

    def __init__(self):
        self.api = secrets.token_hex(24)
        self.worker = secrets.token_hex(24)

    def env(self):
        env = dict(os.environ)
        env["TASKRELAY_API_TOKEN"] = self.api
        env["TASKRELAY_WORKER_TOKEN"] = self.worker
        return env


class Context:
    def __init__(self, args, config):
        bench_dir = os.path.dirname(os.path.abspath(__file__))
        self.binary = os.path.join(args.build_dir, "taskrelay")
        self.loadgen = os.path.join(args.build_dir, "bench", "taskrelay-bench")
        self.steps_program = os.path.join(bench_dir, "steps.sh")
        self.peer_dir = os.path.join(bench_dir, "peer")
        self.config = config
        self.tokens = Tokens()


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build-dir", default="build",
                        help="folder with taskrelay and bench/taskrelay-bench (default build)")
    parser.add_argument("--runs", type=int, default=3,
                        help="repetitions of each phase; the table shows their median")
    parser.add_argument("--smoke", action="store_true",
                        help="one repetition with tiny counts, to check that the harness works")
    parser.add_argument("--skip", default="",
                        help="comma-separated phases to leave out: " +
                        ", ".join(REPEATED_PHASES + ["stored"]))
    parser.add_argument("--out", help="results file (default bench/results/DATE-HOST.json)")
    args = parser.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    args.skip = {name for name in args.skip.split(",") if name}
    unknown = args.skip - set(REPEATED_PHASES + ["stored"])
    if unknown:
        parser.error(f"unknown phase in --skip: {', '.join(sorted(unknown))}")
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, not {args.runs}")
    return args


def machine_info():
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=False).stdout.strip()
    return {"host": platform.node(), "kernel": platform.release(), "cpu": cpu,
            "cpus": os.cpu_count(), "commit": commit,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def missing_tools(ctx):
    """Return the phases whose outside tools are not installed."""
    missing = set()
    if not shutil.which("wrk"):
        missing.add("reads")
    if not (shutil.which("redis-server") and shutil.which("node") and
            os.path.isdir(os.path.join(ctx.peer_dir, "node_modules", "bullmq"))):
        missing.add("peer")
    if not shutil.which("sqlite3"):
        missing.add("stored")
    return missing


def run_phase(ctx, name, folder, figures, errors):
    """Run one phase; a failure is recorded and the other phases still run."""
    started = time.monotonic()
    print(f"  {name} ...", end="", flush=True, file=sys.stderr)
    try:
        figures.update(getattr(runner_phases, f"phase_{name}")(ctx, folder))
        print(f" {time.monotonic() - started:.1f} s", file=sys.stderr)
    except Exception as error:  # noqa: BLE001 - every failure is reported, the run goes on
        print(f" failed: {error}", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        errors.append(f"{name}: {error}")


def main():
    args = parse_args()
    config = SMOKE_CONFIG if args.smoke else FULL_CONFIG
    runs = 1 if args.smoke else args.runs
    ctx = Context(args, config)
    largest_workers = config["throughput_workers"][-1]
    if args.smoke:
        # CI machines may lack wrk, Redis or the npm packages; the smoke
        # run checks the harness itself and leaves those phases out.
        for name in sorted(missing_tools(ctx) - args.skip):
            print(f"smoke run: leaving out {name}, its tools are not installed",
                  file=sys.stderr)
            args.skip.add(name)
    work_dir = tempfile.mkdtemp(prefix="taskrelay-bench-")
    repetitions, errors = [], []
    stored = {}

    try:
        for index in range(runs):
            print(f"repetition {index + 1} of {runs}", file=sys.stderr)
            figures = {}
            for name in REPEATED_PHASES:
                if name not in args.skip:
                    run_phase(ctx, name, os.path.join(work_dir, f"run{index}"), figures,
                              errors)
            runner_report.add_ratios(figures, largest_workers)
            repetitions.append(figures)
        if "stored" not in args.skip:
            print("stored tasks (once)", file=sys.stderr)
            run_phase(ctx, "stored", os.path.join(work_dir, "stored"), stored, errors)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)

    summary = runner_report.summarize([{**run, **stored} for run in repetitions])
    rows = runner_report.target_rows(summary, config)
    print(runner_report.format_table(rows))
    results = {"machine": machine_info(), "smoke": args.smoke, "config": config,
               "repetitions": repetitions, "stored": stored, "summary": summary,
               "targets": rows, "errors": errors}

    out = args.out
    if not out:
        bench_dir = os.path.dirname(os.path.abspath(__file__))
        stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
        out = os.path.join(bench_dir, "results", f"{stamp}-{platform.node()}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8") as results_file:
        json.dump(results, results_file, indent=1)
        results_file.write("\n")
    print(f"results written to {out}", file=sys.stderr)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
