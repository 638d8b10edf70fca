"""Idempotency keys, list filters and paging, retries and the compatibility API."""

import time
import unittest

from harness import TaskrelayTestCase, wait_for

TERMINAL = ("completed", "failed", "canceled")


class ApiTest(TaskrelayTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.start_server(heartbeat_ms=1000)
        self.worker = self.start_worker(self.server, slots=2)

    def test_idempotency_key_returns_same_task(self):
        first = self.server.create_task("ledger", {"order": 77}, idempotency_key="order-77")
        task = self.assert_created(first)

        again = self.server.create_task("ledger", {"order": 77}, idempotency_key="order-77")
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.json["id"], task["id"])

        different = self.server.create_task("ledger", {"order": 78}, idempotency_key="order-77")
        self.assertEqual(different.status, 200, different)
        self.assertEqual(different.json["id"], task["id"])
        self.assertEqual(different.json["payload"], {"order": 77})

        final = self.server.wait_status(task["id"], TERMINAL)
        self.assertEqual(final["status"], "completed")
        after_end = self.server.create_task("ledger", {"order": 77}, idempotency_key="order-77")
        self.assertEqual(after_end.status, 200, after_end)
        self.assertEqual(after_end.json["id"], task["id"])
        self.assertEqual(after_end.json["status"], "completed")

        time.sleep(1.5)
        self.assertEqual(self.ledger_runs(task["id"]), [(str(task["id"]), "1", "ledger.sh")])
        listed = self.server.api("GET", "/api/v1/tasks?kind=ledger").json["tasks"]
        self.assertEqual([t["id"] for t in listed], [task["id"]])

    def test_list_filters_and_paging(self):
        step_ids = [self.assert_created(self.server.create_task("steps"))["id"] for _ in range(5)]
        fail_ids = [self.assert_created(self.server.create_task("fail"))["id"] for _ in range(3)]
        for task_id in step_ids + fail_ids:
            self.server.wait_status(task_id, TERMINAL, timeout_s=60)

        failed = self.server.api("GET", "/api/v1/tasks?kind=fail").json
        self.assertEqual([t["id"] for t in failed["tasks"]], sorted(fail_ids, reverse=True))
        self.assertEqual(failed["counts"].get("failed"), 3)
        self.assertIsNone(failed["next_cursor"])

        by_status = self.server.api("GET", "/api/v1/tasks?status=completed&kind=steps").json
        self.assertEqual([t["id"] for t in by_status["tasks"]], sorted(step_ids, reverse=True))
        self.assertTrue(all(t["status"] == "completed" for t in by_status["tasks"]))

        none = self.server.api("GET", "/api/v1/tasks?status=failed&kind=steps").json
        self.assertEqual(none["tasks"], [])

        pages = []
        cursor = None
        for _ in range(10):
            path = "/api/v1/tasks?kind=steps&limit=2"
            if cursor:
                path += "&cursor=" + cursor
            reply = self.server.api("GET", path)
            self.assertEqual(reply.status, 200, reply)
            pages.append([t["id"] for t in reply.json["tasks"]])
            self.assertEqual(reply.json["counts"].get("completed"), 5)
            cursor = reply.json["next_cursor"]
            if cursor is None:
                break
        self.assertEqual([len(p) for p in pages], [2, 2, 1])
        flat = [task_id for page in pages for task_id in page]
        self.assertEqual(flat, sorted(step_ids, reverse=True))

        everything = self.server.api("GET", "/api/v1/tasks?limit=500").json
        self.assertEqual(sorted(t["id"] for t in everything["tasks"]),
                         sorted(step_ids + fail_ids))

        for bad in ("limit=0", "limit=501", "limit=abc", "status=bogus", "cursor=nonsense",
                    "cursor=-5", "cursor=%00nonsense"):
            with self.subTest(query=bad):
                reply = self.server.api("GET", "/api/v1/tasks?" + bad)
                self.assertEqual(reply.status, 400, reply)
                self.assertEqual(reply.error_code(), "invalid_field", reply)

    def test_retry_makes_new_attempt(self):
        task = self.assert_created(self.server.create_task("fail"))
        first = self.server.wait_status(task["id"], TERMINAL)
        self.assertEqual(first["status"], "failed")
        self.assertEqual(first["attempt"], 1)

        reply = self.server.api("POST", f"/api/v1/tasks/{task['id']}/retry")
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(reply.json["attempt"], 2)
        self.assertNotIn(reply.json["status"], TERMINAL)

        second = wait_for(lambda: self._terminal_attempt(task["id"], 2), 30,
                          message="attempt 2 to end")
        self.assertEqual(second["status"], "failed")
        self.assertEqual(self.ledger_runs(task["id"]),
                         [(str(task["id"]), "1", "fail.sh"), (str(task["id"]), "2", "fail.sh")])
        events = self.server.events(task["id"])
        self.assertIn("requeued", [e["type"] for e in events])
        self.assertEqual({e["attempt"] for e in events}, {1, 2})

        done = self.assert_created(self.server.create_task("steps"))
        self.server.wait_status(done["id"], TERMINAL)
        rejected = self.server.api("POST", f"/api/v1/tasks/{done['id']}/retry")
        self.assertEqual(rejected.status, 409, rejected)
        self.assertEqual(rejected.error_code(), "conflict")
        missing = self.server.api("POST", "/api/v1/tasks/99999999/retry")
        self.assertEqual(missing.status, 404, missing)

    def _terminal_attempt(self, task_id, attempt):
        task = self.server.task(task_id)
        return task if task["attempt"] == attempt and task["status"] in TERMINAL else None


class CompatibilityApiTest(TaskrelayTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.start_server(heartbeat_ms=1000)

    def test_compatibility_routes(self):
        fake = self.start_fake_worker(self.server, ["compat"])
        task = self.assert_created(self.server.create_task("compat", {"x": 1}))
        task_id = task["id"]
        wait_for(lambda: fake.executions(), 10, message="dispatch to the fake worker")
        pushed = fake.executions()[0]["body"]
        self.assertEqual(pushed["task_id"], task_id)
        self.assertEqual(pushed["attempt"], 1)
        self.assertEqual(pushed["kind"], "compat")
        self.assertEqual(pushed["payload"], {"x": 1})
        self.assertEqual(fake.executions()[0]["authorization"],
                         f"Bearer {self.server.worker_token}")

        start = fake.report(task_id, "start", {"attempt": 1, "seq": 1})
        self.assertEqual(start.status, 200, start)

        progress = self.server.as_worker("POST", f"/api/worker/tasks/{task_id}/progress",
                                         {"progress": 55, "message": "halfway",
                                          "worker_id": fake.id})
        self.assertEqual(progress.status, 200, progress)
        status = self.server.api("GET", f"/api/tasks/{task_id}/status")
        self.assertEqual(status.status, 200, status)
        self.assertEqual(status.json["task_id"], task_id)
        self.assertEqual(status.json["status"], "running")
        self.assertEqual(status.json["progress"], 55)
        self.assertEqual(status.json["message"], "halfway")
        self.assertIsNotNone(status.json["started_at"])
        self.assertIsNone(status.json["completed_at"])
        self.assertIsNotNone(status.json["updated_at"])

        complete = self.server.as_worker("POST", f"/api/worker/tasks/{task_id}/complete",
                                         {"status": "completed", "message": "all good",
                                          "worker_id": fake.id})
        self.assertEqual(complete.status, 200, complete)
        fake.forget(task_id)
        status = self.server.api("GET", f"/api/tasks/{task_id}/status").json
        self.assertEqual(status["status"], "completed")
        self.assertIsNotNone(status["completed_at"])
        self.assertEqual(self.server.task(task_id)["status"], "completed")

        failing = self.assert_created(self.server.create_task("compat"))
        wait_for(lambda: len(fake.executions()) == 2, 10, message="second dispatch")
        failed = self.server.as_worker("POST", f"/api/worker/tasks/{failing['id']}/complete",
                                       {"status": "failed", "message": "broke",
                                        "worker_id": fake.id})
        self.assertEqual(failed.status, 200, failed)
        final = self.server.task(failing["id"])
        self.assertEqual(final["status"], "failed")
        self.assertIn("broke", (final["error"] or "") + (final["message"] or ""))

        missing = self.server.api("GET", "/api/tasks/99999999/status")
        self.assertEqual(missing.status, 404, missing)


if __name__ == "__main__":
    unittest.main()
