"""2,000 short tasks over two workers while the server is killed with SIGKILL
and restarted three times.

Several threads create the tasks, each with its own idempotency key, and
repeat a create that got no response with the same key, so a 201 lost in a
crash cannot create a second task. The kill moments come from a seeded
random generator; the seed is printed, and TASKRELAY_FAULT_SEED replays
it. At the end every acknowledged task must be listed, completed, and run
exactly once.
"""

import collections
import http.client
import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import TaskrelayTestCase  # noqa: E402

PROGRAMS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")
KINDS = {"quick": os.path.join(PROGRAMS_DIR, "quick.sh")}

TASK_COUNT = 2000
SUBMIT_THREADS = 8
WORKER_COUNT = 2
SLOTS = 2
CRASH_COUNT = 3
# The whole scenario stops after this many seconds and asserts what it has.
HARD_CAP_S = 240
# A 1 s interval (offline after 3 s) keeps a heartbeat delayed by the load
# from taking a worker offline, which is not what this scenario is about.
HEARTBEAT_MS = 1000
CREATE_TIMEOUT_S = 10
# Maximum wait of a crash for its point of progress.
CRASH_WAIT_S = 60
TERMINAL = ("completed", "failed", "canceled")


class Submitter:
    """Creates one task per idempotency key from several threads.

    A create without a response (connection refused or reset while the
    server is down) and a 503 are repeated with the same key until deadline.
    """

    def __init__(self, server, keys, deadline):
        self.server = server
        self.deadline = deadline
        self.lock = threading.Lock()
        self.pending_keys = list(keys)
        self.ids_by_key = collections.defaultdict(set)
        self.created_ids = set()
        self.unexpected = []
        self.retries = 0

    def next_key(self):
        with self.lock:
            return self.pending_keys.pop() if self.pending_keys else None

    def create(self, key):
        body = {"kind": "quick", "idempotency_key": key}
        while time.monotonic() < self.deadline:
            try:
                reply = self.server.api("POST", "/api/v1/tasks", body,
                                        timeout_s=CREATE_TIMEOUT_S)
            except (OSError, http.client.HTTPException):
                reply = None
            if reply is not None and reply.status in (200, 201):
                with self.lock:
                    self.ids_by_key[key].add(reply.json["id"])
                    if reply.status == 201:
                        self.created_ids.add(reply.json["id"])
                return
            if reply is not None and reply.status != 503:
                with self.lock:
                    self.unexpected.append((key, reply.status, reply.body[:200]))
                return
            with self.lock:
                self.retries += 1
            time.sleep(0.1)

    def run_thread(self):
        key = self.next_key()
        while key is not None and time.monotonic() < self.deadline:
            self.create(key)
            key = self.next_key()


class RestartLoadTest(TaskrelayTestCase):

    def run_count(self):
        """Return the number of lines in the ledger so far."""
        try:
            with open(self.path("ledger"), "rb") as f:
                return f.read().count(b"\n")
        except FileNotFoundError:
            return 0

    def crash_server(self, server, submitter, rng, log, errors):
        """Kill the server CRASH_COUNT times at seeded moments and restart it
        on the same port after a seeded pause.

        The moments are seeded points of progress rather than of time, so
        they fall into the load on fast and slow machines alike. The first
        crash comes after a number of acknowledged creates, the later ones
        after a number of runs. A crash whose point is not reached within
        CRASH_WAIT_S happens anyway.
        """
        points = [("creates", rng.randrange(200, TASK_COUNT - 200)),
                  ("runs", rng.randrange(200, TASK_COUNT // 2)),
                  ("runs", rng.randrange(TASK_COUNT // 2, TASK_COUNT - 200))]
        progress = {"creates": lambda: len(submitter.ids_by_key), "runs": self.run_count}
        try:
            for crash, (measure, point) in enumerate(points[:CRASH_COUNT]):
                wait_until = time.monotonic() + CRASH_WAIT_S
                while progress[measure]() < point and time.monotonic() < wait_until:
                    time.sleep(0.01)
                server.process.kill9()
                down_s = rng.uniform(0.5, 3.0)
                log.append(f"crash {crash + 1} (point: {point} {measure}): killed after "
                           f"{len(submitter.ids_by_key)} acknowledged creates and "
                           f"{self.run_count()} runs, down for {down_s:.1f} s")
                time.sleep(down_s)
                self.start_server_again(server)
        except Exception as exc:  # reported by the main thread
            errors.append(exc)

    def list_tasks(self, server):
        """Return every task of kind quick, through all pages."""
        tasks = []
        cursor = None
        while True:
            path = "/api/v1/tasks?kind=quick&limit=500"
            if cursor:
                path += f"&cursor={cursor}"
            reply = server.api("GET", path)
            self.assertEqual(reply.status, 200, f"GET {path} returned {reply!r}")
            tasks += reply.json["tasks"]
            cursor = reply.json["next_cursor"]
            if not cursor:
                return tasks

    @staticmethod
    def unfinished_count(server):
        """Return the number of tasks not yet terminal, or None when the request
        failed."""
        try:
            reply = server.api("GET", "/api/v1/tasks?kind=quick&limit=1", timeout_s=5)
        except (OSError, http.client.HTTPException):
            return None
        if reply.status != 200:
            return None
        counts = reply.json["counts"]
        return sum(count for status, count in counts.items() if status not in TERMINAL)

    def test_crashes_under_load_lose_and_repeat_nothing(self):
        seed = int(os.environ.get("TASKRELAY_FAULT_SEED") or random.SystemRandom().randrange(2**32))
        sys.stderr.write(f"\nrestart load seed {seed} (replay with TASKRELAY_FAULT_SEED={seed})\n")
        rng = random.Random(seed)
        started_at = time.monotonic()
        deadline = started_at + HARD_CAP_S

        server = self.start_server(heartbeat_ms=HEARTBEAT_MS)
        for _ in range(WORKER_COUNT):
            self.start_worker(server, kinds=KINDS, slots=SLOTS)

        keys = [f"load-{seed}-{index}" for index in range(TASK_COUNT)]
        submitter = Submitter(server, keys, deadline)
        crash_log, crash_errors = [], []
        threads = [threading.Thread(target=submitter.run_thread, daemon=True)
                   for _ in range(SUBMIT_THREADS)]
        threads.append(threading.Thread(target=self.crash_server,
                                        args=(server, submitter, rng, crash_log, crash_errors),
                                        daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.assertEqual(crash_errors, [], "restarting the server failed")
        self.assertFalse(any(thread.is_alive() for thread in threads),
                         "submission or crash threads still ran at the hard cap")

        while time.monotonic() < deadline and self.unfinished_count(server) != 0:
            time.sleep(0.5)
        sys.stderr.write("; ".join(crash_log) + f"; {submitter.retries} create retries; "
                         f"{time.monotonic() - started_at:.0f} s\n")

        self.assertEqual(len(crash_log), CRASH_COUNT, f"crashes: {crash_log}")
        self.assertEqual(submitter.unexpected, [], "creates returned an unexpected status")
        unacknowledged = [key for key in keys if not submitter.ids_by_key.get(key)]
        self.assertEqual(unacknowledged[:10], [],
                         f"{len(unacknowledged)} creates never acknowledged before the cap")
        split_keys = {key: ids for key, ids in submitter.ids_by_key.items() if len(ids) > 1}
        self.assertEqual(split_keys, {}, "one idempotency key returned several task ids")

        tasks = self.list_tasks(server)
        listed_ids = [task["id"] for task in tasks]
        self.assertEqual(len(listed_ids), len(set(listed_ids)), "a task is listed twice")
        self.assertEqual(len(tasks), TASK_COUNT, "the server holds a different number of tasks "
                                                 "than idempotency keys were sent")
        acknowledged_ids = {task_id for ids in submitter.ids_by_key.values() for task_id in ids}
        missing = sorted(acknowledged_ids - set(listed_ids))
        self.assertEqual(missing[:20], [], f"{len(missing)} acknowledged tasks are not listed")
        missing_created = sorted(submitter.created_ids - set(listed_ids))
        self.assertEqual(missing_created[:20], [],
                         f"{len(missing_created)} tasks created with 201 are not listed")
        keys_listed = collections.Counter(task["idempotency_key"] for task in tasks)
        self.assertEqual([key for key, count in keys_listed.items() if count > 1], [],
                         "an idempotency key created several tasks")

        not_completed = [(task["id"], task["status"], task["error"]) for task in tasks
                         if task["status"] != "completed"]
        self.assertEqual(not_completed[:10], [],
                         f"{len(not_completed)} tasks did not complete by the cap")
        retried = [(task["id"], task["attempt"]) for task in tasks if task["attempt"] != 1]
        self.assertEqual(retried[:10], [], f"{len(retried)} tasks got a second attempt")

        runs = collections.Counter(int(entry[0]) for entry in self.ledger())
        twice = sorted(task_id for task_id, count in runs.items() if count > 1)
        self.assertEqual(twice[:20], [], f"{len(twice)} tasks ran more than once")
        never = sorted(task_id for task_id in listed_ids if runs[task_id] == 0)
        self.assertEqual(never[:20], [], f"{len(never)} listed tasks never ran")
        unknown = sorted(set(runs) - set(listed_ids))
        self.assertEqual(unknown, [], "the ledger names tasks the server does not list")


if __name__ == "__main__":
    unittest.main()
