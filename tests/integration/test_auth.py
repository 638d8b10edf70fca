"""Every route group rejects a missing or wrong bearer token with 401."""

import unittest

from harness import TaskrelayTestCase, request

TERMINAL = ("completed", "failed", "canceled")


class AuthTest(TaskrelayTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.start_server(heartbeat_ms=1000)
        self.worker = self.start_worker(self.server, slots=1)
        task = self.assert_created(self.server.create_task("steps"))
        self.task_id = task["id"]
        self.server.wait_status(self.task_id, TERMINAL)

    def api_routes(self):
        t = self.task_id
        return [
            ("GET", "/api/v1/tasks", None),
            ("POST", "/api/v1/tasks", {"kind": "steps"}),
            ("GET", f"/api/v1/tasks/{t}", None),
            ("GET", f"/api/v1/tasks/{t}/events", None),
            ("GET", f"/api/v1/tasks/{t}/log", None),
            ("GET", f"/api/v1/tasks/{t}/artifacts", None),
            ("POST", f"/api/v1/tasks/{t}/cancel", {}),
            ("POST", f"/api/v1/tasks/{t}/retry", {}),
            ("GET", "/api/v1/workers", None),
            ("GET", "/api/v1/kinds", None),
            ("GET", "/api/v1/stream", None),
            ("GET", f"/api/v1/tasks/{t}/stream", None),
            ("GET", f"/api/tasks/{t}/status", None),
        ]

    def worker_routes(self):
        t = self.task_id
        w = self.worker.id
        report = {"worker_id": w, "attempt": 1, "seq": 99}
        return [
            ("POST", "/api/v1/workers/register",
             {"worker_id": "intruder", "url": "http://127.0.0.1:9/", "slots": 1,
              "kinds": ["steps"], "version": "x"}),
            ("POST", f"/api/v1/workers/{w}/heartbeat", {"slots": 1, "free_slots": 1, "runs": []}),
            ("POST", f"/api/v1/tasks/{t}/start", report),
            ("POST", f"/api/v1/tasks/{t}/progress", dict(report, progress=5, message="x")),
            ("POST", f"/api/v1/tasks/{t}/log", {"worker_id": w, "attempt": 1, "offset": 0,
                                                "text": "x"}),
            ("POST", f"/api/v1/tasks/{t}/complete", dict(report, status="completed")),
            ("POST", f"/api/v1/tasks/{t}/artifacts?attempt=1&name=x.txt", b"data"),
            ("POST", f"/api/worker/tasks/{t}/progress", {"progress": 5, "message": "x",
                                                         "worker_id": w}),
            ("POST", f"/api/worker/tasks/{t}/complete", {"status": "completed",
                                                         "message": "x", "worker_id": w}),
        ]

    def agent_routes(self):
        return [
            ("POST", "/execute", {"task_id": 555, "kind": "steps", "attempt": 1,
                                  "payload": {}, "timeout_s": 0}),
            ("GET", "/health", None),
            ("GET", "/tasks", None),
            ("POST", "/tasks/555/cancel", {}),
        ]

    def assert_unauthorized(self, base_url, routes, token, headers=None):
        for method, path, body in routes:
            with self.subTest(method=method, path=path, token=token, headers=headers):
                reply = request(method, base_url + path, token, body, headers)
                self.assertEqual(reply.status, 401, reply)
                self.assertEqual(reply.error_code(), "unauthorized", reply)

    def bad_credentials(self):
        return [
            (None, None),
            ("wrong-" + self.server.api_token, None),
            ("", None),
            (None, {"Authorization": "Basic " + self.server.api_token}),
            (None, {"Authorization": self.server.api_token}),
        ]

    def test_api_routes_need_api_token(self):
        for token, headers in self.bad_credentials():
            self.assert_unauthorized(self.server.url, self.api_routes(), token, headers)
        self.assert_unauthorized(self.server.url, self.api_routes(), self.server.worker_token)

    def test_worker_routes_need_worker_token(self):
        for token, headers in self.bad_credentials():
            self.assert_unauthorized(self.server.url, self.worker_routes(), token, headers)
        self.assert_unauthorized(self.server.url, self.worker_routes(), self.server.api_token)

    def test_agent_routes_need_worker_token(self):
        for token, headers in self.bad_credentials():
            self.assert_unauthorized(self.worker.url, self.agent_routes(), token, headers)
        self.assert_unauthorized(self.worker.url, self.agent_routes(), self.server.api_token)
        self.assertEqual(self.ledger_runs(555), [])

    def test_rejected_requests_change_nothing(self):
        before = self.server.task(self.task_id)
        events_before = self.server.events(self.task_id)
        for token, headers in self.bad_credentials():
            for routes in (self.api_routes(), self.worker_routes()):
                for method, path, body in routes:
                    if method == "POST":
                        request(method, self.server.url + path, token, body, headers)
        self.assertEqual(self.server.task(self.task_id), before)
        self.assertEqual(self.server.events(self.task_id), events_before)
        workers = self.server.api("GET", "/api/v1/workers").json["workers"]
        self.assertNotIn("intruder", [w["id"] for w in workers])

    def test_tokens_never_logged(self):
        request("GET", self.server.url + "/api/v1/tasks", "wrong-token-value")
        for process in self.processes:
            text = process.log_text()
            with self.subTest(process=process.name):
                self.assertNotIn(self.server.api_token, text)
                self.assertNotIn(self.server.worker_token, text)
                self.assertNotIn("wrong-token-value", text)


if __name__ == "__main__":
    unittest.main()
