"""A worker agent killed with SIGKILL in the middle of a run.

In the first case the worker never comes back, and the server must give up
on the run after the offline threshold. In the second the worker restarts
on the same state directory. It must kill what the old process left behind
before it takes new work, and report the run as lost, which the server
retries when the task allows it.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import TaskrelayTestCase, kill_pids, process_state, wait_for  # noqa: E402

PROGRAMS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")
KINDS = {"ticker": os.path.join(PROGRAMS_DIR, "ticker.sh")}

TERMINAL = ("completed", "failed", "canceled")
# Event types that end a task. A "lost" event ends it unless a new attempt
# follows.
TERMINAL_EVENTS = ("completed", "failed", "canceled", "lost")


def is_gone(pid):
    """Return True when pid no longer runs. A zombie whose parent is outside
    the test counts as gone."""
    return process_state(pid)[0] in (None, "Z")


class WorkerCrashTest(TaskrelayTestCase):

    def start_pair(self, heartbeat_ms, slots):
        server = self.start_server(heartbeat_ms=heartbeat_ms)
        worker = self.start_worker(server, kinds=KINDS, slots=slots)
        return server, worker

    def program_pid(self, task_id, attempt=1):
        def read():
            try:
                return self.read_bytes(f"pid-{task_id}-{attempt}").strip()
            except FileNotFoundError:
                return None

        return int(wait_for(read, 10, message=f"pid file of task {task_id}"))

    def test_worker_gone_for_good_loses_task(self):
        heartbeat_ms = 300
        server, worker = self.start_pair(heartbeat_ms, slots=1)
        task = self.assert_created(server.create_task("ticker", {"seconds": 60}))
        task_id = task["id"]
        server.wait_status(task_id, ("running",) + TERMINAL, timeout_s=10)
        pid = self.program_pid(task_id)

        self.assertEqual(server.process.stop(), 0, "the server did not exit cleanly")
        worker.process.kill9()
        # The run's processes outlive the agent. The test kills them by pid,
        # as an operator would after the agent crashed.
        kill_pids(self.marked_pids())
        wait_for(lambda: is_gone(pid) and not self.marked_pids(), 10,
                 message=f"the run's processes to end (left: {self.marked_pids()})")

        self.start_server_again(server)
        restarted_at = time.monotonic()
        self.assertEqual(server.task(task_id)["status"], "running",
                         "the server gave up on the worker before the offline threshold")

        final = server.wait_status(task_id, TERMINAL, timeout_s=10)
        lost_after_s = time.monotonic() - restarted_at
        self.assertEqual(final["status"], "failed", f"final task: {final}")
        self.assertIn("worker lost", final["error"] or "", f"final task: {final}")
        self.assertEqual(final["attempt"], 1)
        self.assertGreaterEqual(lost_after_s, 0.5 * 3 * heartbeat_ms / 1000,
                                "the task was lost long before the offline threshold")

        events = server.events(task_id)
        terminal = [event for event in events if event["type"] in TERMINAL_EVENTS]
        self.assertEqual([(event["type"], event["attempt"]) for event in terminal],
                         [("lost", 1)], f"events: {events}")
        self.assertEqual(events[-1]["type"], "lost", f"events: {events}")
        self.assertEqual(self.ledger_runs(task_id), [(str(task_id), "1", "ticker.sh")])

        entry = server.wait_worker_status(worker.id, "offline", timeout_s=5)
        self.assertEqual(entry["status"], "offline")

        cancel = server.api("POST", f"/api/v1/tasks/{task_id}/cancel", {})
        self.assertEqual(cancel.status, 409, f"cancel of a failed task returned {cancel!r}")
        self.assertEqual(cancel.header("Content-Type").split(";")[0], "application/json")
        self.assertEqual(cancel.error_code(), "conflict", f"cancel returned {cancel!r}")
        self.assertTrue(cancel.error_message(), f"cancel returned {cancel!r}")

        self.assertTrue(server.process.alive(), "the server exited after the cancel")
        listing = server.api("GET", "/api/v1/tasks")
        self.assertEqual(listing.status, 200, f"GET /api/v1/tasks returned {listing!r}")
        self.assertEqual(server.task(task_id)["status"], "failed",
                         "the rejected cancel changed the task")

    def test_worker_restart_kills_leftover_run(self):
        # The restart takes well under the 3 s offline threshold of a 1 s
        # interval, so the runs end through the restarted worker's lost
        # reports. A shorter interval would race them against the threshold.
        server, worker = self.start_pair(1000, slots=2)
        plain = self.assert_created(server.create_task("ticker", {"seconds": 8}))
        retried = self.assert_created(server.create_task(
            "ticker", {"seconds": 8}, retry_on_loss=True, max_attempts=2))
        plain_id, retried_id = plain["id"], retried["id"]
        for task_id in (plain_id, retried_id):
            server.wait_status(task_id, ("running",) + TERMINAL, timeout_s=10)
        plain_pid = self.program_pid(plain_id)
        retried_pid = self.program_pid(retried_id)
        wait_for(lambda: os.path.exists(self.path(f"ticks-{retried_id}-1")), 5,
                 message="the first tick of the run")
        # The agent carries the marker too, because the harness puts it into
        # the worker's PATH. It is killed below and must not count.
        left_behind = set(self.marked_pids()) - {worker.process.pid}
        self.assertIn(plain_pid, left_behind)
        self.assertIn(retried_pid, left_behind)

        worker.process.kill9()
        self.assertFalse(is_gone(plain_pid), "the run died with the agent")
        self.assertFalse(is_gone(retried_pid), "the run died with the agent")

        self.restart_worker(worker)
        # GET /health returned 200, so the port is open and no leftover may
        # run any more.
        still_running = [pid for pid in left_behind if not is_gone(pid)]
        self.assertEqual(still_running, [],
                         "processes of the old runs still run after the restarted worker "
                         "opened its port")

        final = server.wait_status(plain_id, TERMINAL, timeout_s=15)
        self.assertEqual(final["status"], "failed", f"final task: {final}")
        self.assertEqual(final["attempt"], 1)
        error = final["error"] or ""
        self.assertTrue("worker restarted" in error or "worker lost" in error,
                        f"the error does not name the lost run: {error!r}")
        events = server.events(plain_id)
        terminal = [event for event in events if event["type"] in TERMINAL_EVENTS]
        self.assertEqual([(event["type"], event["attempt"]) for event in terminal],
                         [("lost", 1)], f"events: {events}")

        final = server.wait_status(retried_id, TERMINAL, timeout_s=30)
        self.assertEqual(final["status"], "completed", f"final task: {final}")
        self.assertEqual(final["attempt"], 2, f"final task: {final}")
        events = server.events(retried_id)
        types = [(event["type"], event["attempt"]) for event in events]
        self.assertIn(("lost", 1), types)
        self.assertIn(("requeued", 2), types)
        self.assertEqual([t for t in types if t[0] == "dispatched"],
                         [("dispatched", 1), ("dispatched", 2)], f"events: {types}")
        self.assertEqual([t for t in types if t[0] == "completed"], [("completed", 2)],
                         f"events: {types}")
        self.assertEqual(types[-1], ("completed", 2), f"events: {types}")

        self.assertEqual(self.ledger_runs(plain_id), [(str(plain_id), "1", "ticker.sh")])
        self.assertEqual(sorted(self.ledger_runs(retried_id)),
                         [(str(retried_id), "1", "ticker.sh"), (str(retried_id), "2", "ticker.sh")])
        self.assertTrue(worker.process.alive(), "the restarted worker exited")


if __name__ == "__main__":
    unittest.main()
