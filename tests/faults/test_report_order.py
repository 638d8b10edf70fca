"""Reports that arrive out of order: the final report before start and progress."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import TaskrelayTestCase, wait_for  # noqa: E402


class ReportOrderTest(TaskrelayTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.start_server(heartbeat_ms=1000)
        self.fake = self.start_fake_worker(self.server, ["order"])

    def dispatched_task(self):
        task = self.assert_created(self.server.create_task("order"))
        wait_for(lambda: any(r["body"]["task_id"] == task["id"] for r in self.fake.executions()),
                 10, message=f"dispatch of task {task['id']}")
        return task["id"]

    def send(self, task_id, route, **fields):
        reply = self.fake.report(task_id, route, dict(attempt=1, **fields))
        self.assertEqual(reply.status, 200, f"{route}: {reply!r}")
        return reply.json

    def test_complete_before_start_and_progress(self):
        task_id = self.dispatched_task()

        self.send(task_id, "complete", seq=4, status="completed", error=None,
                  result={"ok": True}, log_tail="tail", exit_code=0, lost=False)
        late_start = self.send(task_id, "start", seq=1)
        late_progress = [self.send(task_id, "progress", seq=seq, progress=50 * (seq - 1),
                                   message=f"late {seq}") for seq in (2, 3)]
        duplicate = self.send(task_id, "complete", seq=4, status="failed", error="duplicate",
                              result=None, log_tail="", exit_code=1, lost=False)

        self.assertIs(late_start["accepted"], False)
        for reply in late_progress:
            self.assertIs(reply["accepted"], False)
        self.assertIs(duplicate["accepted"], False)

        final = self.server.task(task_id)
        self.assertEqual(final["status"], "completed")
        self.assertEqual(final["progress"], 100)
        self.assertEqual(final["result"], {"ok": True})
        self.assertIsNone(final["error"])
        self.assertIsNotNone(final["finished_at"])
        types = [e["type"] for e in self.server.events(task_id)]
        self.assertEqual(types, ["created", "dispatched", "completed"])
        self.assertEqual(len(self.fake.executions()), 1)

    def test_failed_before_progress(self):
        task_id = self.dispatched_task()

        self.send(task_id, "complete", seq=3, status="failed", error="exit status 3",
                  result=None, log_tail="boom", exit_code=3, lost=False)
        self.send(task_id, "start", seq=1)
        self.send(task_id, "progress", seq=2, progress=80, message="late")

        final = self.server.task(task_id)
        self.assertEqual(final["status"], "failed")
        self.assertEqual(final["error"], "exit status 3")
        self.assertNotEqual(final["message"], "late")
        types = [e["type"] for e in self.server.events(task_id)]
        self.assertEqual(types, ["created", "dispatched", "failed"])

    def test_progress_before_start(self):
        task_id = self.dispatched_task()

        self.send(task_id, "progress", seq=2, progress=30, message="early")
        self.send(task_id, "start", seq=1)
        self.send(task_id, "complete", seq=3, status="completed", error=None, result=None,
                  log_tail="", exit_code=0, lost=False)

        final = self.server.task(task_id)
        self.assertEqual(final["status"], "completed")
        self.assertEqual(final["progress"], 100)
        types = [e["type"] for e in self.server.events(task_id)]
        self.assertEqual(types[:2], ["created", "dispatched"])
        self.assertEqual(types[-1], "completed")
        self.assertEqual(types.count("completed"), 1)
        self.assertIn("progress", types)
        # The start report has the lower seq, so it arrived late and must
        # not be applied after the progress report.
        after_progress = types[types.index("progress") + 1:]
        self.assertNotIn("started", after_progress, types)

if __name__ == "__main__":
    unittest.main()
