"""A program that exits by itself and leaves processes behind."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import (KIND_PROGRAMS, TaskrelayTestCase, process_state, wait_for,  # noqa: E402
                     zombie_children)

TERMINAL = ("completed", "failed", "canceled")


class ExitLeavesOrphansTest(TaskrelayTestCase):

    def test_leftovers_killed_before_finish(self):
        server = self.start_server(heartbeat_ms=1000)
        kinds = dict(KIND_PROGRAMS, orphans="orphans.sh")
        worker = self.start_worker(server, slots=1, kinds=kinds)

        task_id = self.assert_created(server.create_task("orphans"))["id"]
        final = server.wait_status(task_id, TERMINAL, timeout_s=20)
        self.assertEqual(final["status"], "completed", final.get("error"))

        # The complete report goes out only once no process of the run is
        # left, so both must be gone by the time the task is terminal.
        member = int(self.read_bytes(f"member-{task_id}").strip())
        grandchild = int(self.read_bytes(f"grandchild-{task_id}").strip())
        self.assertIsNone(process_state(member)[0], "the group member is still alive")
        self.assertIsNone(process_state(grandchild)[0], "the setsid grandchild is still alive")
        self.assert_no_run_processes(1)
        wait_for(lambda: not zombie_children(worker.process.pid), 5,
                 message="no zombie under the worker")

        after = self.assert_created(server.create_task("steps"))
        self.assertEqual(server.wait_status(after["id"], TERMINAL)["status"], "completed")
        self.assertEqual(self.ledger(), [(str(task_id), "1", "orphans.sh"),
                                         (str(after["id"]), "1", "steps.sh")])


if __name__ == "__main__":
    unittest.main()
