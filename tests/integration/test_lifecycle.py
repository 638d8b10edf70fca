"""A task's life from creation to its end, seen through the API and SSE."""

import unittest

from harness import SseReader, TaskrelayTestCase, wait_for

TERMINAL = ("completed", "failed", "canceled")


class LifecycleTest(TaskrelayTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.start_server(heartbeat_ms=1000)
        self.worker = self.start_worker(self.server, slots=1)

    def test_progress_events_in_order(self):
        stream = SseReader(self.server.url + "/api/v1/stream", self.server.api_token)
        self.addCleanup(stream.close)
        self.assertEqual(stream.status, 200)
        self.assertTrue(stream.content_type.startswith("text/event-stream"), stream.content_type)

        reply = self.server.create_task("steps", {"note": "four steps"})
        task = self.assert_created(reply)
        task_id = task["id"]
        self.assertEqual(reply.header("Location"), f"/api/v1/tasks/{task_id}")
        self.assertEqual(task["kind"], "steps")
        self.assertEqual(task["payload"], {"note": "four steps"})
        self.assertIn(task["status"], ("pending", "dispatched"))
        self.assertEqual(task["attempt"], 1)

        seen = []
        stream.wait_event(lambda e: e["event"] == "task" and isinstance(e["data"], dict)
                          and e["data"].get("id") == task_id
                          and e["data"].get("status") in TERMINAL, 30, seen)
        final = self.server.task(task_id)
        self.assertEqual(final["status"], "completed")
        self.assertEqual(final["progress"], 100)
        self.assertEqual(final["worker_id"], self.worker.id)
        self.assertEqual(final["attempt"], 1)
        self.assertIsNone(final["error"])
        self.assertIsNotNone(final["started_at"])
        self.assertIsNotNone(final["finished_at"])
        self.assertLessEqual(final["started_at"], final["finished_at"])

        events = self.server.events(task_id)
        self.assertEqual([e["type"] for e in events],
                         ["created", "dispatched", "started", "progress", "progress",
                          "progress", "progress", "completed"])
        progress_events = [e for e in events if e["type"] == "progress"]
        self.assertEqual([e["progress"] for e in progress_events], [10, 40, 70, 100])
        self.assertEqual([e["message"] for e in progress_events],
                         ["step 1", "step 2", "step 3", "done"])
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, sorted(set(seqs)), "event seq must strictly grow")
        self.assertTrue(all(e["task_id"] == task_id for e in events))
        self.assertTrue(all(e["attempt"] == 1 for e in events))
        times = [e["at"] for e in events]
        self.assertEqual(times, sorted(times), "event times must not go back")
        self.assertEqual(events[-1]["status"], "completed")

        task_events = [e for e in seen if e["event"] == "task" and e["data"].get("id") == task_id]
        sse_progress = [e["data"]["progress"] for e in task_events
                        if e["data"]["status"] == "running"]
        for value in (10, 40, 70):
            self.assertIn(value, sse_progress, f"SSE progress values {sse_progress}")
        self.assertEqual(sse_progress, sorted(sse_progress), "SSE progress went back")
        sse_ids = [int(e["id"]) for e in task_events]
        self.assertEqual(sse_ids, sorted(set(sse_ids)), "SSE ids must strictly grow")
        self.assertEqual(task_events[-1]["data"]["status"], "completed")
        self.assertEqual(sse_ids[-1], events[-1]["seq"])

        log = wait_for(lambda: self._log_if_contains(task_id, "steps: almost done"), 10,
                       message="task log with the program's stderr")
        self.assertIn("steps: starting", log)

    def _log_if_contains(self, task_id, text):
        reply = self.server.api("GET", f"/api/v1/tasks/{task_id}/log")
        self.assertEqual(reply.status, 200)
        self.assertTrue(reply.header("Content-Type").startswith("text/plain"))
        body = reply.body.decode("utf-8")
        return body if text in body else None

    def test_task_stream_replays_and_sends_log(self):
        task = self.assert_created(self.server.create_task("steps"))
        task_id = task["id"]
        stream = SseReader(self.server.url + f"/api/v1/tasks/{task_id}/stream",
                           self.server.api_token, last_event_id=0)
        self.addCleanup(stream.close)
        self.assertEqual(stream.status, 200)

        seen = []
        stream.wait_event(lambda e: e["event"] == "task" and e["data"].get("status") == "completed",
                          30, seen)
        self.assertTrue(all(e["data"].get("id") == task_id for e in seen if e["event"] == "task"),
                        "a task stream sent another task's change")
        wait_for(lambda: self._stream_has_log(stream, seen, "steps: starting"), 10,
                 message="a log event with the program's output")

    def _stream_has_log(self, stream, seen, text):
        while not stream.events.empty():
            seen.append(stream.events.get())
        for event in seen:
            if event["event"] == "log" and text in event["data"].get("text", ""):
                self.assertEqual(event["data"]["attempt"], 1)
                self.assertIsInstance(event["data"]["offset"], int)
                return True
        return False

    def test_failing_program_ends_failed(self):
        task = self.assert_created(self.server.create_task("fail"))
        final = self.server.wait_status(task["id"], TERMINAL)
        self.assertEqual(final["status"], "failed")
        self.assertIn("fail.sh: disk quota exceeded on /data/out", final["error"] or "")
        self.assertIsNotNone(final["finished_at"])
        events = self.server.events(task["id"])
        self.assertEqual(events[-1]["type"], "failed")
        self.assertEqual(len(self.ledger_runs(task["id"])), 1)

    def test_program_starts_with_default_signals(self):
        # The worker ignores SIGPIPE and blocks SIGCHLD, SIGTERM and SIGINT;
        # none of that may reach a task program.
        task = self.assert_created(self.server.create_task("signals"))
        final = self.server.wait_status(task["id"], TERMINAL)
        self.assertEqual(final["status"], "completed")
        lines = dict(line.split(":", 1) for line in (final["log_tail"] or "").split("\n")
                     if ":" in line)
        self.assertEqual(int(lines["SigIgn"].strip(), 16), 0, final["log_tail"])
        self.assertEqual(int(lines["SigBlk"].strip(), 16), 0, final["log_tail"])

    def test_status_read_after_each_step(self):
        task = self.assert_created(self.server.create_task("gated"))
        task_id = task["id"]
        self.server.wait_status(task_id, "running")

        for step in (1, 2, 3):
            self.release(f"go-{task_id}-{step}")
            expected = step * 30
            current = wait_for(lambda: self._task_at(task_id, expected), 10,
                               message=f"progress {expected} after step {step}")
            self.assertEqual(current["status"], "running")
            self.assertEqual(current["message"], f"step {step}")

            compat = self.server.api("GET", f"/api/tasks/{task_id}/status")
            self.assertEqual(compat.status, 200, compat)
            self.assertEqual(compat.json["task_id"], task_id)
            self.assertEqual(compat.json["status"], "running")
            self.assertEqual(compat.json["progress"], expected)
            self.assertEqual(compat.json["message"], f"step {step}")
            self.assertIsNotNone(compat.json["started_at"])
            self.assertIsNone(compat.json["completed_at"])

        self.release(f"go-{task_id}-4")
        final = self.server.wait_status(task_id, TERMINAL)
        self.assertEqual(final["status"], "completed")
        self.assertEqual(final["progress"], 100)
        compat = self.server.api("GET", f"/api/tasks/{task_id}/status")
        self.assertEqual(compat.json["status"], "completed")
        self.assertEqual(compat.json["progress"], 100)
        self.assertIsNotNone(compat.json["completed_at"])

    def _task_at(self, task_id, progress):
        task = self.server.task(task_id)
        return task if task["progress"] == progress else None


if __name__ == "__main__":
    unittest.main()
