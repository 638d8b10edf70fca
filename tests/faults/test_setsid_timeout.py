"""A timed-out task whose grandchild escaped into its own session."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import TaskrelayTestCase, process_state, wait_for, zombie_children  # noqa: E402

TERMINAL = ("completed", "failed", "canceled")


def session_id(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
        stat = f.read()
    return int(stat[stat.rfind(")") + 2:].split()[3])


class SetsidTimeoutTest(TaskrelayTestCase):

    def test_timeout_kills_escaped_grandchild(self):
        server = self.start_server(heartbeat_ms=1000)
        worker = self.start_worker(server, slots=1)

        created_at = time.monotonic()
        task = self.assert_created(server.create_task("setsid", timeout_s=5))
        task_id = task["id"]
        self.wait_file(f"grandchild-{task_id}")
        grandchild = int(wait_for(lambda: self.read_bytes(f"grandchild-{task_id}").strip(), 5,
                                  message="grandchild pid"))
        self.assertIn(process_state(grandchild)[0], ("S", "R"))
        self.assertEqual(session_id(grandchild), grandchild,
                         "the grandchild did not become a session leader")
        self.assertNotEqual(session_id(grandchild), session_id(worker.process.pid))
        self.assertIn(grandchild, self.marked_pids())

        final = server.wait_status(task_id, TERMINAL, timeout_s=25)
        elapsed_s = time.monotonic() - created_at
        self.assertEqual(final["status"], "failed")
        error = final["error"] or ""
        self.assertTrue("timed out" in error or "timeout" in error, error)
        self.assertGreaterEqual(elapsed_s, 4.5)

        self.assert_no_run_processes(10)
        wait_for(lambda: process_state(grandchild)[0] is None, 5,
                 message="the setsid grandchild to be gone and reaped")
        wait_for(lambda: not zombie_children(worker.process.pid), 5,
                 message="no zombie under the worker")

        after = self.assert_created(server.create_task("steps"))
        self.assertEqual(server.wait_status(after["id"], TERMINAL)["status"], "completed")
        self.assertEqual(self.ledger(), [(str(task_id), "1", "setsid.sh"),
                                         (str(after["id"]), "1", "steps.sh")])


if __name__ == "__main__":
    unittest.main()
