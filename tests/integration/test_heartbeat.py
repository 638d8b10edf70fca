"""Workers follow the heartbeat interval that the server hands out."""

import time
import unittest

from harness import TaskrelayTestCase

TERMINAL = ("completed", "failed", "canceled")


class HeartbeatTest(TaskrelayTestCase):

    def test_worker_adopts_server_interval(self):
        # The register reply carries heartbeat_interval_ms (docs/api.md). A
        # worker started without --heartbeat-ms must use it, because the
        # server counts missed intervals of that length.
        server = self.start_server(heartbeat_ms=300)
        worker = self.start_worker(server, slots=1, heartbeat_ms=None)

        task = self.assert_created(server.create_task("gated"))
        server.wait_status(task["id"], "running")
        first_beat = server.worker_entry(worker.id)["last_heartbeat_at"]

        time.sleep(3)
        self.assertEqual(server.task(task["id"])["status"], "running",
                         server.task(task["id"]).get("error"))
        entry = server.worker_entry(worker.id)
        self.assertEqual(entry["status"], "busy")
        self.assertGreater(entry["last_heartbeat_at"], first_beat)

        for step in (1, 2, 3, 4):
            self.release(f"go-{task['id']}-{step}")
        final = server.wait_status(task["id"], TERMINAL)
        self.assertEqual(final["status"], "completed", final.get("error"))
        self.assertEqual(len(self.ledger_runs(task["id"])), 1)


if __name__ == "__main__":
    unittest.main()
