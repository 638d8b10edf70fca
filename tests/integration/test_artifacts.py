"""Artifacts and result.json written by a task program reach the API intact."""

import unittest

from harness import TaskrelayTestCase, sha256_hex

TERMINAL = ("completed", "failed", "canceled")


class ArtifactTest(TaskrelayTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.start_server(heartbeat_ms=1000)
        self.worker = self.start_worker(self.server, slots=1)

    def test_artifacts_and_result(self):
        task = self.assert_created(self.server.create_task("artifact"))
        task_id = task["id"]
        final = self.server.wait_status(task_id, TERMINAL)
        self.assertEqual(final["status"], "completed", final)
        self.assertEqual(final["result"],
                         {"answer": 42, "text": "caf\u00e9 \U0001F680", "list": [1, 2, 3]})

        listing = self.server.api("GET", f"/api/v1/tasks/{task_id}/artifacts")
        self.assertEqual(listing.status, 200, listing)
        by_name = {a["name"]: a for a in listing.json["artifacts"]}
        self.assertEqual(sorted(by_name), ["blob.bin", "report.txt"])
        self.assertEqual(by_name["blob.bin"]["size"], 300000)
        self.assertEqual(by_name["report.txt"]["size"], len(b"line one\nline two\n"))
        self.assertEqual(by_name["blob.bin"]["url"],
                         f"/api/v1/tasks/{task_id}/artifacts/blob.bin")

        expected = self.read_bytes(f"artifact-{task_id}.bin")
        blob = self.server.api("GET", f"/api/v1/tasks/{task_id}/artifacts/blob.bin")
        self.assertEqual(blob.status, 200, blob)
        self.assertEqual(len(blob.body), len(expected))
        self.assertEqual(sha256_hex(blob.body), sha256_hex(expected))
        self.assertEqual(blob.header("Content-Type"), "application/octet-stream")

        report = self.server.api("GET", f"/api/v1/tasks/{task_id}/artifacts/report.txt")
        self.assertEqual(report.status, 200, report)
        self.assertEqual(report.body, b"line one\nline two\n")
        self.assertTrue(report.header("Content-Type").startswith("text/plain"),
                        report.header("Content-Type"))

    def test_missing_and_unsafe_names(self):
        task = self.assert_created(self.server.create_task("artifact"))
        self.server.wait_status(task["id"], TERMINAL)
        base = f"/api/v1/tasks/{task['id']}/artifacts/"

        missing = self.server.api("GET", base + "nothing.bin")
        self.assertEqual(missing.status, 404, missing)
        self.assertEqual(missing.error_code(), "not_found")
        for name in ("..%2F..%2Fserver.db", "%2Fetc%2Fpasswd", ".hidden", "..", "a%00b"):
            with self.subTest(name=name):
                reply = self.server.api("GET", base + name)
                self.assertIn(reply.status, (400, 404), reply)
        no_task = self.server.api("GET", "/api/v1/tasks/99999999/artifacts")
        self.assertEqual(no_task.status, 404, no_task)


if __name__ == "__main__":
    unittest.main()
