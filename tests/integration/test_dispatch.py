"""Push dispatch to a busy worker and repeated /execute of one task."""

import time
import unittest

from harness import TaskrelayTestCase, task_id_of, wait_for

TERMINAL = ("completed", "failed", "canceled")

# A task id the server never created, for /execute requests sent by the test.
UNKNOWN_TASK_ID = 987654


class BusyWorkerTest(TaskrelayTestCase):

    def test_busy_worker_leaves_task_pending(self):
        server = self.start_server(heartbeat_ms=500)
        worker = self.start_worker(server, slots=1)

        first = self.assert_created(server.create_task("gated"))
        server.wait_status(first["id"], "running")

        rejected = worker.execute(UNKNOWN_TASK_ID, "steps")
        self.assertEqual(rejected.status, 503, rejected)
        self.assertIs(rejected.json["success"], False)
        self.assertEqual(rejected.json["message"], "Worker is busy")
        self.assertEqual(task_id_of(rejected.json["current_task"]), first["id"])

        health = worker.call("GET", "/health")
        self.assertEqual(health.status, 200, health)
        self.assertEqual(health.json["status"], "busy")
        self.assertEqual(health.json["worker_id"], worker.id)
        self.assertEqual(task_id_of(health.json["current_task"]), first["id"])
        self.assertEqual(health.json["slots"], 1)
        self.assertEqual(health.json["running"], 1)

        second = self.assert_created(server.create_task("steps"))
        statuses = []
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            statuses.append(server.task(second["id"])["status"])
            time.sleep(0.1)
        self.assertTrue(set(statuses) <= {"pending", "dispatched"},
                        f"second task left pending while the only slot was taken: {statuses}")
        self.assertEqual(statuses[-1], "pending")
        self.assertEqual(self.ledger_runs(second["id"]), [])
        self.assertEqual(self.ledger_runs(UNKNOWN_TASK_ID), [])

        for step in (1, 2, 3, 4):
            self.release(f"go-{first['id']}-{step}")
        self.assertEqual(server.wait_status(first["id"], TERMINAL)["status"], "completed")
        final = server.wait_status(second["id"], TERMINAL, timeout_s=30)
        self.assertEqual(final["status"], "completed")
        self.assertEqual(final["worker_id"], worker.id)
        self.assertEqual(len(self.ledger_runs(second["id"])), 1)
        self.assertEqual(self.ledger_runs(UNKNOWN_TASK_ID), [])


class RepeatedExecuteTest(TaskrelayTestCase):

    def test_repeated_execute_runs_once(self):
        server = self.start_server(heartbeat_ms=1000)
        worker = self.start_worker(server, slots=2)

        task = self.assert_created(server.create_task("ledger", {"n": 1}))
        task_id = task["id"]
        server.wait_status(task_id, ("dispatched", "running"))

        replies = [worker.execute(task_id, "ledger", attempt=1, payload={"n": 1})
                   for _ in range(2)]
        for reply in replies:
            self.assertEqual(reply.status, 200, reply)
            self.assertIs(reply.json["success"], True)
            self.assertEqual(reply.json["task_id"], task_id)
            self.assertEqual(reply.json["worker_id"], worker.id)

        final = server.wait_status(task_id, TERMINAL)
        self.assertEqual(final["status"], "completed")

        after_end = worker.execute(task_id, "ledger", attempt=1, payload={"n": 1})
        self.assertEqual(after_end.status, 200, after_end)
        self.assertIs(after_end.json["success"], True)

        # Give a wrongly started second run time to reach the ledger.
        time.sleep(1.5)
        self.assertEqual(self.ledger_runs(task_id), [(str(task_id), "1", "ledger.sh")])

        runs = worker.call("GET", "/tasks")
        self.assertEqual(runs.status, 200, runs)
        matching = [r for r in runs.json["runs"] if r["task_id"] == task_id]
        self.assertLessEqual(len(matching), 1, runs.json)
        wait_for(lambda: worker.call("GET", "/health").json["running"] == 0, 10,
                 message="worker to report no running task")

    def test_older_attempt_rejected(self):
        server = self.start_server(heartbeat_ms=1000)
        worker = self.start_worker(server, slots=2)

        first = worker.execute(UNKNOWN_TASK_ID, "ledger", attempt=2)
        self.assertEqual(first.status, 200, first)
        older = worker.execute(UNKNOWN_TASK_ID, "ledger", attempt=1)
        self.assertEqual(older.status, 409, older)
        wrong_kind = worker.execute(UNKNOWN_TASK_ID + 1, "no-such-kind")
        self.assertEqual(wrong_kind.status, 422, wrong_kind)

        time.sleep(1.5)
        self.assertEqual(self.ledger_runs(UNKNOWN_TASK_ID), [(str(UNKNOWN_TASK_ID), "2", "ledger.sh")])
        self.assertEqual(self.ledger_runs(UNKNOWN_TASK_ID + 1), [])


if __name__ == "__main__":
    unittest.main()
