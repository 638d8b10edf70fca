"""Cancel, timeout and a killed worker: the run and all its processes end."""

import time
import unittest

from harness import TaskrelayTestCase, wait_for, zombie_children

TERMINAL = ("completed", "failed", "canceled")


class KillTest(TaskrelayTestCase):

    def _start_slow_task(self, server, **fields):
        task = self.assert_created(server.create_task("slow", **fields))
        server.wait_status(task["id"], "running")
        self.wait_file(f"slow-child1-{task['id']}")
        self.wait_file(f"slow-child2-{task['id']}")
        marked = wait_for(lambda: len(self.marked_pids()) >= 3 and self.marked_pids(), 10,
                          message="the program and its two children")
        self.assertGreaterEqual(len(marked), 3)
        return task

    def _assert_no_processes_left(self, worker):
        self.assert_no_run_processes(10)
        wait_for(lambda: not zombie_children(worker.process.pid), 10,
                 message="the worker to reap its children")
        health = wait_for(lambda: self._free_health(worker), 10, message="the slot to be free")
        self.assertEqual(health["running"], 0)

    def _free_health(self, worker):
        reply = worker.call("GET", "/health")
        return reply.json if reply.status == 200 and reply.json["status"] == "free" else None

    def test_cancel_kills_program_and_children(self):
        server = self.start_server(heartbeat_ms=1000)
        worker = self.start_worker(server, slots=1)
        task = self._start_slow_task(server)

        reply = server.api("POST", f"/api/v1/tasks/{task['id']}/cancel")
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(server.task(task["id"])["status"], "canceled")

        self._assert_no_processes_left(worker)
        final = server.task(task["id"])
        self.assertEqual(final["status"], "canceled")
        self.assertIsNotNone(final["finished_at"])
        self.assertEqual(server.events(task["id"])[-1]["type"], "canceled")

        again = server.api("POST", f"/api/v1/tasks/{task['id']}/cancel")
        self.assertEqual(again.status, 409, again)
        self.assertEqual(again.error_code(), "conflict")

    def test_cancel_pending_task(self):
        server = self.start_server(heartbeat_ms=1000)
        worker = self.start_worker(server, slots=1)
        busy = self._start_slow_task(server)

        waiting = self.assert_created(server.create_task("steps"))
        reply = server.api("POST", f"/api/v1/tasks/{waiting['id']}/cancel")
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(server.task(waiting["id"])["status"], "canceled")

        server.api("POST", f"/api/v1/tasks/{busy['id']}/cancel")
        self._assert_no_processes_left(worker)
        time.sleep(1.5)
        self.assertEqual(server.task(waiting["id"])["status"], "canceled")
        self.assertEqual(self.ledger_runs(waiting["id"]), [])

    def test_timeout_kills_program_and_children(self):
        server = self.start_server(heartbeat_ms=1000)
        worker = self.start_worker(server, slots=1)
        started = time.monotonic()
        task = self._start_slow_task(server, timeout_s=2)

        final = server.wait_status(task["id"], TERMINAL, timeout_s=20)
        elapsed_s = time.monotonic() - started
        self.assertEqual(final["status"], "failed")
        error = final["error"] or ""
        self.assertTrue("timed out" in error or "timeout" in error,
                        f"error does not mention the timeout: {error!r}")
        self.assertGreaterEqual(elapsed_s, 1.5)

        self._assert_no_processes_left(worker)
        self.assertEqual(server.events(task["id"])[-1]["type"], "failed")

    def test_killed_worker_task_lost(self):
        heartbeat_ms = 300
        server = self.start_server(heartbeat_ms=heartbeat_ms)
        worker = self.start_worker(server, slots=1, heartbeat_ms=heartbeat_ms)
        task = self._start_slow_task(server)

        worker.process.kill9()
        killed_at = time.monotonic()
        final = server.wait_status(task["id"], TERMINAL, timeout_s=20)
        elapsed_s = time.monotonic() - killed_at

        self.assertEqual(final["status"], "failed")
        self.assertIn("worker lost", final["error"] or "")
        # Offline means three missed heartbeats; the last one may have
        # arrived just before the kill, so two intervals is the floor.
        self.assertGreaterEqual(elapsed_s, 2 * heartbeat_ms / 1000)
        self.assertIn("lost", [e["type"] for e in server.events(task["id"])])
        self.assertEqual(server.worker_entry(worker.id)["status"], "offline")
        self.assertEqual(len(self.ledger_runs(task["id"])), 1)


if __name__ == "__main__":
    unittest.main()
