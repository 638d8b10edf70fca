"""The server dies or stops while a real worker runs a task, and comes back
on the same port and database.

The worker keeps the run going and its reports in its on-disk outbox while
the server is away. Afterwards the task must not have been pushed or run a
second time, and its final status must arrive exactly once.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import TaskrelayTestCase, process_state, wait_for  # noqa: E402

PROGRAMS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")
KINDS = {"ticker": os.path.join(PROGRAMS_DIR, "ticker.sh")}

HEARTBEAT_MS = 300
TERMINAL = ("completed", "failed", "canceled")
# Event types that end a task. A "lost" event ends it unless a new attempt
# follows.
TERMINAL_EVENTS = ("completed", "failed", "canceled", "lost")


class ServerCrashTest(TaskrelayTestCase):

    def start_pair(self):
        server = self.start_server(heartbeat_ms=HEARTBEAT_MS)
        worker = self.start_worker(server, kinds=KINDS, slots=1)
        return server, worker

    def ticks(self, task_id, attempt=1):
        """Return the ticks the ticker program reached, in order."""
        try:
            with open(self.path(f"ticks-{task_id}-{attempt}"), encoding="ascii") as f:
                return [int(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def program_pid(self, task_id, attempt=1):
        return int(wait_for(lambda: self.read_pid_file(task_id, attempt), 10,
                            message=f"pid file of task {task_id}"))

    def read_pid_file(self, task_id, attempt):
        try:
            return self.read_bytes(f"pid-{task_id}-{attempt}").strip()
        except FileNotFoundError:
            return None

    @staticmethod
    def finished_runs(worker):
        """Return the worker's runs once none of them is active, else None."""
        runs = worker.call("GET", "/tasks").json["runs"]
        return runs if all(run["state"] == "finished" for run in runs) else None

    def assert_single_completed_run(self, server, task_id, final):
        self.assertEqual(final["status"], "completed", f"final task: {final}")
        self.assertEqual(final["attempt"], 1, "the task got a second attempt")
        self.assertEqual(final["progress"], 100)
        self.assertEqual(self.ledger_runs(task_id), [(str(task_id), "1", "ticker.sh")],
                         "the program did not run exactly once")

        events = server.events(task_id)
        types = [event["type"] for event in events]
        terminal = [event for event in events if event["type"] in TERMINAL_EVENTS]
        self.assertEqual(len(terminal), 1, f"terminal events: {terminal}")
        self.assertEqual(terminal[0]["type"], "completed", f"terminal events: {terminal}")
        self.assertEqual(types.count("completed"), 1, f"event types: {types}")
        self.assertEqual(events[-1]["type"], "completed", f"event types: {types}")
        dispatched = [event for event in events if event["type"] == "dispatched"]
        self.assertEqual(len(dispatched), 1, f"event types: {types}")
        self.assertEqual(dispatched[0]["attempt"], 1)
        self.assertNotIn("requeued", types)
        self.assertEqual({event["attempt"] for event in events}, {1},
                         f"events of other attempts: {events}")
        seqs = [event["seq"] for event in events]
        self.assertEqual(seqs, sorted(set(seqs)), "event seq does not only grow")
        return events

    def test_kill9_mid_run_resumes_without_redispatch(self):
        server, worker = self.start_pair()
        task = self.assert_created(server.create_task("ticker", {"seconds": 30}))
        task_id = task["id"]
        server.wait_status(task_id, ("running",) + TERMINAL, timeout_s=10)
        started_at = time.monotonic()
        pid = self.program_pid(task_id)

        time.sleep(max(0.0, started_at + 10 - time.monotonic()))
        before = server.events(task_id)
        self.assertIn("progress", [event["type"] for event in before],
                      f"no progress in the first 10 s: {before}")
        server.process.kill9()
        time.sleep(10)
        self.assertIn(process_state(pid)[0], ("S", "R"),
                      "the task program died with the server")

        self.start_server_again(server)
        restart_tick = max(self.ticks(task_id), default=0)
        self.assertLess(restart_tick, 30, "the program finished before the server came back")
        self.assertTrue(worker.process.alive(), "the worker exited while the server was down")

        final = server.wait_status(task_id, TERMINAL, timeout_s=40)
        events = self.assert_single_completed_run(server, task_id, final)

        # A tick the program reached after the restart shows up as a progress
        # event, so progress reports flow to the new server process.
        later_ticks = [event for event in events if event["type"] == "progress"
                       and (event["message"] or "").startswith("tick ")
                       and int(event["message"].split()[1]) > restart_tick]
        self.assertTrue(later_ticks, f"no progress event after tick {restart_tick} "
                                     f"(the last tick before the restart): {events}")
        self.assertTrue(worker.process.alive(), "the worker exited")

    def test_sigterm_while_run_finishes_delivers_once(self):
        server, worker = self.start_pair()
        task = self.assert_created(server.create_task("ticker", {"seconds": 10}))
        task_id = task["id"]
        server.wait_status(task_id, ("running",) + TERMINAL, timeout_s=10)
        pid = self.program_pid(task_id)
        wait_for(lambda: len(self.ticks(task_id)) >= 2, 10, message="two ticks of the program")

        stopped_at = time.monotonic()
        exit_status = server.process.stop()
        self.assertEqual(exit_status, 0, "the server did not exit cleanly after SIGTERM")

        # The program ends while the server is down; the worker keeps the
        # complete report and lists the run as finished.
        wait_for(lambda: process_state(pid)[0] is None, 20,
                 message=f"the task program (pid {pid}) to end")
        self.assertEqual(self.ticks(task_id), list(range(1, 11)))
        runs = wait_for(lambda: self.finished_runs(worker), 10,
                        message="the worker to record the run as finished")
        self.assertEqual([(run["task_id"], run["attempt"], run["state"]) for run in runs],
                         [(task_id, 1, "finished")], f"worker runs: {runs}")

        time.sleep(max(0.0, stopped_at + 60 - time.monotonic()))
        self.assertTrue(worker.process.alive(), "the worker exited while the server was down")
        self.start_server_again(server)

        final = server.wait_status(task_id, TERMINAL, timeout_s=30)
        self.assert_single_completed_run(server, task_id, final)
        wait_for(lambda: worker.call("GET", "/tasks").json["runs"] == [], 15,
                 message="the worker to drop the acknowledged run")
        self.assertTrue(worker.process.alive(), "the worker exited")
        entry = server.wait_worker_status(worker.id, ("online", "busy"), timeout_s=5)
        self.assertEqual(entry["running"], 0, f"worker entry: {entry}")


if __name__ == "__main__":
    unittest.main()
