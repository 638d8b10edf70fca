"""A task that runs three times longer than the server's dispatch timeout.

The server waits at most --dispatch-timeout-ms for the response to a push and
sends the same attempt again when the outcome is unknown. A run that simply
lasts longer than that timeout must not be pushed again, run again or end
with a second final status.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import TaskrelayTestCase  # noqa: E402

PROGRAMS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")
KINDS = {"ticker": os.path.join(PROGRAMS_DIR, "ticker.sh")}

HEARTBEAT_MS = 300
DISPATCH_TIMEOUT_MS = 5000
RUN_S = 15
TERMINAL = ("completed", "failed", "canceled")
# Event types that end a task. A "lost" event ends it unless a new attempt
# follows.
TERMINAL_EVENTS = ("completed", "failed", "canceled", "lost")


class AckTimeoutTest(TaskrelayTestCase):

    def test_long_run_after_dispatch_timeout_runs_once(self):
        server = self.start_server(heartbeat_ms=HEARTBEAT_MS,
                                   dispatch_timeout_ms=DISPATCH_TIMEOUT_MS)
        self.start_worker(server, kinds=KINDS, slots=1)

        task = self.assert_created(server.create_task("ticker", {"seconds": RUN_S}))
        task_id = task["id"]
        server.wait_status(task_id, ("running",) + TERMINAL, timeout_s=10)

        final = server.wait_status(task_id, TERMINAL, timeout_s=RUN_S + 20)
        self.assertEqual(final["status"], "completed", f"final task: {final}")
        self.assertEqual(final["attempt"], 1, "the task got a second attempt")
        self.assertEqual(final["progress"], 100)
        self.assertIsNone(final["error"], "a completed task carries an error")

        self.assertEqual(self.ledger_runs(task_id), [(str(task_id), "1", "ticker.sh")],
                         "the program did not run exactly once")

        events = server.events(task_id)
        types = [event["type"] for event in events]
        terminal = [event for event in events if event["type"] in TERMINAL_EVENTS]
        self.assertEqual(len(terminal), 1, f"terminal events: {terminal}")
        self.assertEqual(terminal[0]["type"], "completed", f"terminal events: {terminal}")
        self.assertEqual(events[-1]["type"], "completed", f"event types: {types}")
        self.assertEqual(types.count("dispatched"), 1, f"event types: {types}")
        self.assertEqual(types.count("started"), 1, f"event types: {types}")
        self.assertNotIn("requeued", types)
        self.assertEqual({event["attempt"] for event in events}, {1},
                         f"events of other attempts: {events}")


if __name__ == "__main__":
    unittest.main()
